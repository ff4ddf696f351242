#!/bin/sh
# s48d at run time (issue 6.3): IMAP IDLE latency (a new mail is a ticket and
# its acknowledgement is at the sink within 2 s, poll_interval 60), SIGTERM
# (exit 0 within 5 s, daemon.running "0"), SIGHUP with an invalid config
# (logged, old config kept) and with a valid one (new keyword routes the next
# message), the lock against a second s48d, --check-config, --version, a bad
# option, and an outbox row left "sending" sent again after a restart.
# Knob: RUNTIME_IDLE_MESSAGES (default 10).
set -u
. "$(dirname "$0")/../lib/tap.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/s48d.sh"
s48d_e2e
sed -i 's/^poll_interval = 1;/poll_interval = 60;/' "$CONF"
N_IDLE=${RUNTIME_IDLE_MESSAGES:-10}

# --- options ---
out=$("$S48D" --version); rc=$?
is "--version exits 0" "$rc" 0
ok_if "--version prints the name and a version ($out)" sh -c "echo '$out' | grep -qE '^s48d [0-9]+\.[0-9]+'"
"$S48D" --no-such-option >/dev/null 2>"$T/usage.err"
is "bad option exits 64" "$?" 64
ok_if "bad option prints the usage" grep -q 'usage: s48d' "$T/usage.err"
"$S48D" -c "$CONF" extra-argument >/dev/null 2>&1
is "stray argument exits 64" "$?" 64
out=$("$S48D" -c "$CONF" --check-config 2>&1); rc=$?
is "--check-config on a good config exits 0" "$rc" 0
is "--check-config prints 'config OK' first" "$(echo "$out" | head -1)" "config OK"
cp "$CONF" "$E/bad.conf"
printf 'no_such_key = 1;\ndefault_department = "nowhere";\n' >>"$E/bad.conf"
sed -i '/^default_department = "dispatch";/d' "$E/bad.conf"
out=$("$S48D" -c "$E/bad.conf" --check-config 2>&1); rc=$?
is "--check-config on a bad config exits 78" "$rc" 78
ok_if "it names the unknown key with file and line" sh -c "echo '$out' | grep -q 'bad.conf:[0-9]*:.*no_such_key'"
ok_if "it names the undefined default department" sh -c "echo '$out' | grep -q 'nowhere'"
ok_if "it does not say config OK" sh -c "! echo '$out' | grep -q 'config OK'"
"$S48D" -c "$E/missing.conf" --check-config >/dev/null 2>&1
is "--check-config on a missing file exits 78" "$?" 78
"$S48D" -c "$E/bad.conf" --once >/dev/null 2>&1
is "running with a bad config exits 78" "$?" 78

# --- IDLE latency ---
log=$T/s48d.log
s48d_start "$log"
wait_until 10 grep -qs 's48d started' "$log"
ok_if "s48d started" s48d_alive
# stdout goes nowhere: a library printing on bad input (libytnef) must not
# put a citizen's words into the journal
wait_until 5 sh -c "[ \"\$(readlink /proc/$S48D_PID/fd/1)\" = /dev/null ]"
is "s48d's stdout is /dev/null" "$(readlink "/proc/$S48D_PID/fd/1")" /dev/null
# the first poll (empty mailbox) is over and IDLE is running
sleep 1.5
ack_for() { grep -rqs "^To: $1" "$E/smtp/mail"; }
: >"$T/latency"
i=1
while [ $i -le "$N_IDLE" ]; do
	t0=$(date +%s%N)
	e2e_mail "$E" "idle$i@example.net" "Ne radi rasveta $i" "Ulicna rasveta ne radi, broj $i."
	if wait_until 10 ack_for "idle$i@example.net"; then
		echo $(( ($(date +%s%N) - t0) / 1000000 )) >>"$T/latency"
	else
		echo 99999 >>"$T/latency"
	fi
	sleep 0.2
	i=$((i + 1))
done
p50=$(sort -n "$T/latency" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
max=$(sort -n "$T/latency" | tail -1)
diag "IDLE: mail to acknowledgement at the sink over $N_IDLE messages: p50 ${p50} ms, max ${max} ms"
ok_if "every IDLE message acknowledged within 2 s (max $max ms)" [ "$max" -le 2000 ]
is "each IDLE mail became a ticket" "$(sql "SELECT count(*) FROM tickets WHERE reporter LIKE 'idle%@example.net'")" "$N_IDLE"
ok_if "no poll happened in between (poll_interval 60): IDLE did the work" \
	[ "$(grep -c 'imap: 1 messages' "$log")" -ge "$N_IDLE" ]

# --- lock: a second s48d on the same database refuses ---
"$S48D" -c "$CONF" --once 2>"$T/second.log"
rc=$?
ok_if "a second s48d refuses to run (exit $rc)" [ "$rc" -ne 0 ]
ok_if "it says another s48d is running" grep -q 'another s48d is running' "$T/second.log"
ok_if "the first one still runs" s48d_alive

# --- SIGHUP ---
route_of() { # REPORTER -> department of its ticket
	sql "SELECT department FROM tickets WHERE reporter = '$1'"
}
cp "$CONF" "$E/good.conf"
printf 'departments = ( broken\n' >>"$CONF"
kill -HUP "$S48D_PID"
# s48d sits in IMAP IDLE: the signal must wake it, not the next mail
ok_if "SIGHUP with an invalid config is logged within 3 s while idle" \
	wait_until 3 grep -q 'reload: .*invalid, keeping the running configuration' "$log"
# the error itself, FILE:LINE on a line of its own beginning with "reload: "
ok_if "the reload's error names the file and line on a log line of its own" \
	grep -q "reload: $CONF:[0-9]*: " "$log"
ok_if "s48d still runs after the invalid reload" s48d_alive
e2e_mail "$E" "hup1@example.net" "Semafor ne radi" "Semafor na raskrsnici ne radi, ni rasveta."
wait_until 10 ack_for hup1@example.net
is "still routing with the old config (rasveta -> lighting)" "$(route_of hup1@example.net)" lighting
e2e_mail "$E" "hup2@example.net" "Semafor" "Semafor na uglu stalno trepce."
wait_until 10 ack_for hup2@example.net
is "'semafor' is not a keyword yet (default department)" "$(route_of hup2@example.net)" dispatch
# a valid config adding a keyword to lighting
sed 's/keywords = \["rasvet\*", /keywords = ["semafor*", "rasvet*", /' "$E/good.conf" >"$CONF"
ok_if "the new config is valid" sh -c "'$S48D' -c '$CONF' --check-config >/dev/null"
sleep 1
kill -HUP "$S48D_PID"
ok_if "SIGHUP with a valid config is logged as reloaded within 3 s" \
	wait_until 3 grep -q 'reload: .*: 3 departments' "$log"
e2e_mail "$E" "hup3@example.net" "Semafor" "Semafor na uglu stalno trepce."
wait_until 10 ack_for hup3@example.net
is "after the reload 'semafor' routes to lighting" "$(route_of hup3@example.net)" lighting
ok_if "s48d still runs after the reload" s48d_alive

# --- SIGTERM ---
s48d_term_within "SIGTERM" 5
is "daemon.running is 0 after SIGTERM" "$(sql "SELECT value FROM source_state WHERE key = 'daemon.running'")" 0
ok_if "no warning about an unclean stop on the next start" sh -c \
	"'$S48D' -c '$CONF' --once 2>'$T/after-term.log'; ! grep -q 'did not stop cleanly' '$T/after-term.log'"
# SIGINT behaves the same
s48d_start "$T/int.log"
wait_until 10 grep -qs 's48d started' "$T/int.log"
sleep 0.5
kill -INT "$S48D_PID"
wait_until 5 sh -c "! kill -0 $S48D_PID 2>/dev/null || grep -q ' Z' /proc/$S48D_PID/stat 2>/dev/null"
wait "$S48D_PID"
is "SIGINT: exit status 0" "$?" 0
S48D_PID=""

# SIGTERM while the gateway holds a pull's answer (it has dequeued the SMS):
# s48d still stops within 5 s, and the SMS is recovered on the next start
sed -i -e 's/ timeout = 5; };/ timeout = 20; };/' -e 's/^poll_interval = 60;/poll_interval = 1;/' "$CONF"
s48d_start "$T/term-pull.log"
wait_until 10 grep -qs 's48d started' "$T/term-pull.log"
sleep 1
sms_sim_call POST /_sim/fault '{"mode": "timeout", "delay": 15}' >/dev/null
e2e_sms 381641119999 "Rupa na putu kod pijace"
pull_held() {
	sms_sim_call GET /_sim/stats | python3 -c 'import json,sys; d=json.load(sys.stdin)
sys.exit(0 if d.get("faulted", 0) >= 1 and d["queued"] == 0 else 1)'
}
ok_if "the gateway handed out the SMS and holds the answer" wait_until 10 pull_held
s48d_term_within "SIGTERM during a held pull" 5
# the pull was cut short by the stop, not by the gateway: no failure of the
# gateway's recorded (else its "failing since" stayed, and an outage hours
# later was alerted on at once, dated from this stop)
is "a pull cut short by the stop is no gateway failure (no health state)" \
	"$(sql "SELECT count(*) FROM source_state WHERE key LIKE 'health.%'")" 0
sms_sim_call POST /_sim/fault '{"mode": "none"}' >/dev/null
"$S48D" -c "$CONF" --once 2>"$T/after-pull.log"
is "the SMS of the interrupted pull is recovered on the next start" \
	"$(sql "SELECT count(*) FROM raw_messages WHERE sender = '+381641119999' OR source_key IN (SELECT source_key FROM raw_messages r JOIN tickets t ON t.id = r.ticket_id WHERE t.reporter = '+381641119999')")" 1

# SIGTERM while the SMTP server delays its answer to DATA: s48d still stops
# within 5 s, the interrupted row waits as pending and is sent later
sink_port=$(cat "$E/smtp/smtp-sink.port")
restart_sink() { # [smtp-sink options]: the sink again on its port
	smtp_sink_stop "$E/smtp"
	(
		u=""; [ "$(id -u)" = 0 ] && u="-u nobody"
		# shellcheck disable=SC2086
		exec /usr/sbin/smtp-sink -a $u "$@" -d "$E/smtp/mail/%Y%m%d%H/%M." \
			"127.0.0.1:$sink_port" 64 >>"$E/smtp/smtp-sink.log" 2>&1
	) &
	echo $! >"$E/smtp/smtp-sink.pid"
	wait_until 5 sh -c "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", $sink_port), 1).close()' 2>/dev/null"
}
restart_sink -w 30
s48d_start "$T/term-smtp.log"
wait_until 10 grep -qs 's48d started' "$T/term-smtp.log"
e2e_mail "$E" "spor@example.net" "Ne radi rasveta" "Rasveta ne radi ni danas."
claimed() { [ "$(sql "SELECT count(*) FROM outbox o JOIN tickets t ON t.id = o.ticket_id WHERE t.reporter = 'spor@example.net' AND o.status = 'sending'")" -ge 1 ]; }
ok_if "an email to the slow server is in flight" wait_until 15 claimed
sleep 1
s48d_term_within "SIGTERM during a slow SMTP send" 5
is "a send cut short by the stop is no SMTP failure (no health state)" \
	"$(sql "SELECT count(*) FROM source_state WHERE key LIKE 'health.%'")" 0
is "the interrupted row is pending again, none left sending" \
	"$(sql "SELECT count(*) FROM outbox WHERE status = 'sending'")" 0
# a send cut short by the stop is no attempt and waits no backoff
ok_if "its reason is recorded, no attempt counted" [ -n "$(sql "SELECT reason FROM outbox o JOIN tickets t ON t.id = o.ticket_id WHERE t.reporter = 'spor@example.net' AND o.attempts = 0 AND o.status = 'pending' AND o.reason LIKE 'interrupted by a stop%' LIMIT 1")" ]
restart_sink
# due again at once (S48_NOW ahead would also pass any backoff)
S48_NOW=$(( $(date +%s) + 60 )) "$S48D" -c "$CONF" --once 2>"$T/after-smtp.log"
ok_if "the citizen's acknowledgement is sent after its backoff" sh -c "grep -rqs '^To: spor@example.net' '$E/smtp/mail'"

# --- a row left "sending" by a crash is sent again after a restart ---
tid=$(sql "SELECT id FROM tickets WHERE reporter = 'hup1@example.net'")
"$S48CTL" -c "$CONF" note "$tid" --public --by test "Ekipa je na terenu." >/dev/null
row=$(sql "SELECT max(id) FROM outbox WHERE ticket_id = $tid AND status = 'pending'")
ok_if "a public note queued a reply (row $row)" [ -n "$row" ]
sql "UPDATE outbox SET status = 'sending', attempts = attempts + 1 WHERE id = $row"
mid=$(sql "SELECT message_id FROM outbox WHERE id = $row" | tr -d '<>')
"$S48D" -c "$CONF" --once 2>"$T/resend.log"
is "--once after the crash exits 0" "$?" 0
ok_if "the start logs the interrupted row" grep -q '1 messages interrupted by the last stop' "$T/resend.log"
is "the row is sent" "$(sql "SELECT status FROM outbox WHERE id = $row")" sent
ok_if "the sink got it" sh -c "grep -rqs 'Message-I[Dd]: <$mid>' '$E/smtp/mail'"
ok_if "the citizen got the note" sh -c "grep -rls '^To: hup1@example.net' '$E/smtp/mail' | xargs grep -l 'Ekipa je na terenu' | grep -q ."
