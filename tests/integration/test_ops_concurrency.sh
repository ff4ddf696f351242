#!/bin/sh
# SPEC 1: "s48d and s48ctl may run at the same time on the same database".
# s48d ingests thousands of SMS while three clerks run s48ctl status,
# assign, note, new, list, stats, export and backup in loops (three
# writers besides s48d).  No clerk sees "database is locked" (exit 74),
# every exit code is right (0, or 2 for a refused transition), no clerk's
# change is lost beside s48d's batches, every report is stored once, and
# every backup taken meanwhile is a whole database.
set -u
. "$(dirname "$0")/../lib/tap.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/s48d.sh"
s48_sink_and_sim
s48_sms_conf "$T"
sed -i 's/^poll_interval = 60;/poll_interval = 1;/' "$T/s48.conf"
SECS=${CONC_SECONDS:-15}
ROUNDS=${CONC_ROUNDS:-6}       # of 500 reports each

"$S48CTL" -c "$CONF" new --from +381641000000 "Pukla cev" >/dev/null
s48d_start "$T/s48d.log"
wait_until 10 grep -qs 's48d started' "$T/s48d.log"

inject() { # ROUND
	"$PY" -c 'import json,sys
r = int(sys.argv[1])
print(json.dumps({"messages": [{"from": "+38164%07d" % (r * 1000 + k),
  "text": "Pukla cev u ulici %d broj %d" % (r, k)} for k in range(500)]}))' "$1" >"$T/inject.json"
	curl -sS -X POST -H 'Content-Type: application/json' --data-binary @"$T/inject.json" \
		"$SMS_SIM_URL/_sim/inbound" >/dev/null
}
# after the first round, its citizens add to their tickets ("#N text"), the
# tickets the clerks are changing at the same time
first40() { [ "$(sql "SELECT count(*) FROM tickets WHERE channel = 'sms' AND id BETWEEN 2 AND 41")" = 40 ]; }
appends() {
	wait_until 30 first40
	sql "SELECT id || ' ' || reporter FROM tickets WHERE channel = 'sms' AND id BETWEEN 2 AND 41" |
	"$PY" -c 'import json, sys
print(json.dumps({"messages": [{"from": l.split()[1], "text": "#%s i dalje curi" % l.split()[0]}
  for l in sys.stdin if l.strip()]}))' >"$T/appends.json"
	curl -sS -X POST -H 'Content-Type: application/json' --data-binary @"$T/appends.json" \
		"$SMS_SIM_URL/_sim/inbound" >/dev/null
}
(r=1; while [ $r -le "$ROUNDS" ]; do
	inject $r
	[ $r = 2 ] && appends
	r=$((r + 1)); sleep 1
done) &
INJ=$!

clerk() { # NAME: commands for SECS seconds; one line each in $T/clerk.log
	j=0; end=$(( $(date +%s) + SECS ))
	while [ "$(date +%s)" -lt "$end" ]; do
		j=$((j + 1))
		max=$(sql 'SELECT max(id) FROM tickets')
		n=$(( (j * 7 + ${#1} * 131) % max + 1 ))
		case $((j % 9)) in
		0) set -- "$1" status "$n" in_progress --note "$1-$j" --by "$1" ;;
		1) set -- "$1" note "$n" "$1-$j" --by "$1" ;;
		2) set -- "$1" assign "$n" lighting --note "$1-$j" --by "$1" ;;
		3) set -- "$1" list --status open ;;
		4) set -- "$1" stats --json ;;
		5) set -- "$1" export --format json ;;
		6) set -- "$1" new --from "+38165$(printf %07d $j)" "Rupa na putu $1-$j" ;;
		7) set -- "$1" backup "$T/backup.$1.db" ;;
		8) set -- "$1" status "$n" resolved --note "$1-$j" --by "$1" ;;
		esac
		who=$1; shift
		t0=$(date +%s%N)
		"$S48CTL" -c "$CONF" "$@" >"$T/out.$who" 2>"$T/err.$who"
		rc=$?
		ms=$(( ($(date +%s%N) - t0) / 1000000 ))
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$who" "$rc" "$ms" "$1" "$j" "$(head -c 200 "$T/err.$who")" \
			>>"$T/clerk.log"
		set -- "$who"
	done
}
clerk ana & C1=$!
clerk bojan & C2=$!
clerk vesna & C3=$!
wait $C1 $C2 $C3
wait $INJ
want=$((ROUNDS * 500 + 40))
stored() { [ "$(sql "SELECT count(*) FROM raw_messages WHERE source = 'sms'")" -ge "$want" ]; }
wait_until 60 stored

total=$(wc -l <"$T/clerk.log" | tr -d ' ')
diag "$total clerk commands; exit codes: $(cut -f2 "$T/clerk.log" | sort | uniq -c | tr '\n' ' ')"
ok_if "the clerks ran commands ($total)" [ "$total" -ge 30 ]
is "no clerk saw a database error (exit 74)" "$(awk -F'\t' '$2 == 74' "$T/clerk.log" | wc -l | tr -d ' ')" 0
is "no 'locked' or 'busy' message" "$(grep -ci 'locked\|busy' "$T/clerk.log")" 0
is "exit codes are 0, or 2 for a refused change" \
	"$(awk -F'\t' '$2 != 0 && $2 != 2' "$T/clerk.log" | wc -l | tr -d ' ')" 0
is "each 2 is a refused transition or assignment, told in one line" \
	"$(awk -F'\t' '$2 == 2 && $6 !~ /is not allowed|already assigned/' "$T/clerk.log" | wc -l | tr -d ' ')" 0
is "only changes were refused (never a read, new or backup)" \
	"$(awk -F'\t' '$2 != 0 && $4 != "status" && $4 != "assign"' "$T/clerk.log" | wc -l | tr -d ' ')" 0
slow=$(awk -F'\t' '$4 != "export" && $4 != "backup" && $3 > 9000' "$T/clerk.log" | wc -l | tr -d ' ')
is "no command waited out the busy timeout (10 s)" "$slow" 0

# every change a clerk was told was made is in the database, with its note
lost=0; checked=0
while IFS="$(printf '\t')" read -r who rc ms verb j err; do
	[ "$rc" = 0 ] || continue
	case $verb in
	status) kind=status ;; assign) kind=assign ;; note) kind=note ;; *) continue ;;
	esac
	checked=$((checked + 1))
	[ "$(sql "SELECT count(*) FROM events WHERE kind = '$kind' AND by = '$who' AND note = '$who-$j'")" = 1 ] ||
		lost=$((lost + 1))
done <"$T/clerk.log"
ok_if "clerks' changes checked ($checked)" [ "$checked" -ge 5 ]
is "no clerk's change lost" "$lost" 0
news=$(awk -F'\t' '$4 == "new" && $2 == 0' "$T/clerk.log" | wc -l | tr -d ' ')
is "every report stored once" "$(sql "SELECT count(*) FROM raw_messages WHERE source = 'sms'")" "$want"
is "every report and every clerk's new one is a ticket" "$(sql 'SELECT count(*) FROM tickets')" \
	"$((want - 40 + 1 + news))"
is "every citizen's addition is on their ticket, beside the clerks' changes" \
	"$(sql "SELECT count(*) FROM messages WHERE direction = 'in' AND ticket_id BETWEEN 2 AND 41 AND text LIKE '%i dalje curi%'")" 40
is "every status in the tickets matches its last status event" "$(sql "SELECT count(*) FROM tickets t
	WHERE t.status <> coalesce((SELECT e.to_value FROM events e WHERE e.ticket_id = t.id AND e.kind = 'status'
	ORDER BY e.id DESC LIMIT 1), 'open')")" 0
bad=0
for b in "$T"/backup.*.db; do
	[ -f "$b" ] || continue
	[ "$(sqlite3 "$b" 'PRAGMA integrity_check')" = ok ] || bad=$((bad + 1))
	[ "$(sqlite3 "$b" 'PRAGMA user_version')" = "$(sql 'PRAGMA user_version')" ] || bad=$((bad + 1))
done
is "every backup taken meanwhile is a whole database" "$bad" 0
is "s48d logged no warning" "$(grep -c '\[warning\]' "$T/s48d.log")" 0
s48d_term_within "after the clerks" 5
echo "1..$_tap_n"
