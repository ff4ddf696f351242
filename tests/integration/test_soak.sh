#!/bin/sh
# s48d as a long-running service: SOAK_CYCLES (default 30) rounds of mail and
# SMS reports, a SIGHUP every round, a lost IMAP session (doveadm kick) every
# 5th, a failing gateway pull every 7th and a clerk's status change every 3rd.
# Nothing may accumulate from round to round: open file descriptors, threads,
# resident memory (a service runs for months; a descriptor lost per reload or
# per reconnect ends it with EMFILE).  Every report is a ticket exactly once
# and every acknowledgement and status reply is sent.
set -u
. "$(dirname "$0")/../lib/tap.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/s48d.sh"
s48d_e2e
CYCLES=${SOAK_CYCLES:-30}
WARM=5

fds() { ls "/proc/$S48D_PID/fd" 2>/dev/null | wc -l | tr -d ' '; }
fd_list() { # what each descriptor is, sockets by their local and peer ports
	for f in /proc/$S48D_PID/fd/*; do
		l=$(readlink "$f")
		case $l in
		socket:*) ino=${l#socket:[}; ino=${ino%]}
			l="tcp $(awk -v i="$ino" '$10 == i { print $2, $3, $4 }' /proc/net/tcp)" ;;
		esac
		echo "${f##*/} $l"
	done
}
threads() { awk '/^Threads:/ { print $2 }' "/proc/$S48D_PID/status"; }
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$S48D_PID/status"; }
tickets() { sql "SELECT count(*) FROM tickets"; }
unsent() { sql "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')"; }
quiet() { [ "$(tickets)" -ge "$1" ] && [ "$(unsent)" -eq 0 ]; }

log=$T/s48d.log
s48d_start "$log"
wait_until 10 grep -qs 's48d started' "$log"
ok_if "s48d started" s48d_alive

i=1; want=0; late=0
while [ $i -le "$CYCLES" ]; do
	e2e_mail "$E" "soak$i.a@example.net" "Curi voda $i" "Puca cev u ulici broj $i, voda curi."
	e2e_mail "$E" "soak$i.b@example.net" "Ne radi rasveta $i" "Ulicna rasveta ne radi kod broja $i."
	e2e_sms "+38164100$(printf %04d $i)" "Kontejner prepun kod zgrade $i"
	e2e_sms "+38165100$(printf %04d $i)" "Rupa na putu kod broja $i"
	want=$((want + 4))
	kill -HUP "$S48D_PID"
	[ $((i % 5)) -eq 0 ] && _dc_doveadm "$E/dovecot" kick "$DOVECOT_USER" >/dev/null 2>&1
	[ $((i % 7)) -eq 0 ] && sms_sim_call POST /_sim/fault '{"mode": "500", "count": 2, "only": "infobip_pull"}' >/dev/null
	if [ $((i % 3)) -eq 0 ]; then
		n=$(sql "SELECT min(id) FROM tickets WHERE status = 'open'")
		[ -n "$n" ] && "$S48CTL" -c "$CONF" status "$n" in_progress --note "ekipa izlazi $i" >/dev/null
	fi
	# a gateway fault or a lost session may hold a round back: that is retried
	# on the next poll (poll_interval 1), so wait a little longer then
	wait_until 20 quiet "$want" || late=$((late + 1))
	if [ $i -eq $WARM ]; then
		fd0=$(fds); th0=$(threads); rss0=$(rss); fd_list >"$T/fd0"
	fi
	i=$((i + 1))
done
wait_until 30 quiet "$want"
fd1=$(fds); th1=$(threads); rss1=$(rss); fd_list >"$T/fd1"
[ "$fd1" -le "$fd0" ] || diff "$T/fd0" "$T/fd1" | sed 's/^/# /'
diag "after round $WARM: $fd0 descriptors, $th0 threads, $rss0 kB; after round $CYCLES: $fd1, $th1, $rss1 kB ($late rounds waited > 20 s)"

ok_if "s48d still runs after $CYCLES rounds" s48d_alive
is "every report is a ticket, once" "$(tickets)" "$want"
is "no raw message lost or recorded twice" \
	"$(sql "SELECT count(*) FROM raw_messages WHERE outcome = 'ticket'")" "$want"
is "every outbox row sent" \
	"$(sql "SELECT count(*) FROM outbox WHERE status <> 'sent'")" 0
is "each ticket acknowledged once" \
	"$(sql "SELECT count(*) FROM (SELECT ticket_id FROM outbox WHERE kind IN ('email_ack', 'sms_ack') GROUP BY ticket_id HAVING count(*) = 1)")" "$want"
# a connection to a server may be open or closed at the moment of looking
# (one more or less); a leak per round, reload, reconnect or gateway fault
# would be 4 to 25 more
ok_if "open descriptors do not grow ($fd0 -> $fd1)" [ "$fd1" -le $((fd0 + 2)) ]
is "threads do not grow" "$th1" "$th0"
# RSS moves by a page or two with the heap; 1 MB over 25 rounds would be a leak
# of 40 kB a round
if sanitized "$S48D"; then
	skip "resident memory does not grow by 1 MB ($rss0 -> $rss1 kB)" "a sanitizer build"
else
	ok_if "resident memory does not grow by 1 MB ($rss0 -> $rss1 kB)" [ "$rss1" -le $((rss0 + 1024)) ]
fi
s48d_term_within "SIGTERM after the soak" 5
