#!/bin/sh
# s48d under systemd's watchdog (WatchdogSec=60 in conf/s48d.service) with
# a backlog: one round of the loop ingests everything waiting and then sends
# all it queued.  8,000 SMS are ~24,000 outbox rows: tens of seconds in one
# round here, minutes by SMTP to a remote relay; the loop's one ping per
# round let systemd kill s48d in the middle, and again after each restart.
# While the database is making progress s48d pings at least every ~1 s.
set -u
. "$(dirname "$0")/../lib/tap.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/s48d.sh"
. "$S48_TOP/tests/lib/smtp_sink.sh"
. "$S48_TOP/tests/lib/sms_sim.sh"
if ! grep -q sd_notify "$S48_TOP/daemon/daemon_loop.c" || ! pkg-config --exists libsystemd; then
	skip "watchdog during a backlog" "built without libsystemd"; echo "1..1"; exit 0
fi
S48D=$S48_BIN/s48d
N=${WATCHDOG_SMS:-8000}
smtp_sink_start "$T/smtp" >/dev/null || { echo "not ok 1 - smtp-sink started"; exit 1; }
at_exit "smtp_sink_stop $T/smtp"
sms_sim_start "$T/sms" || { echo "not ok 1 - simulator started"; exit 1; }
at_exit "sms_sim_stop $T/sms"
MKCONF_SMS_URL=$SMS_SIM_URL MKCONF_SMTP_URL="smtp://127.0.0.1:$SMTP_SINK_PORT" mkconf "$T"
printf 's48-test-key\n' >"$T/sms.key"; chmod 600 "$T/sms.key"
CONF=$T/s48.conf
"$PY" -c 'import json, sys
print(json.dumps({"messages": [{"from": "+38164%07d" % k, "text": "Pukla cev u ulici broj %d" % k}
  for k in range(int(sys.argv[1]))]}))' "$N" >"$T/backlog.json"
curl -sS -X POST -H 'Content-Type: application/json' --data-binary @"$T/backlog.json" \
	"$SMS_SIM_URL/_sim/inbound" >/dev/null

"$PY" "$S48_TOP/tests/lib/notify_listen.py" "$T/notify.sock" "$T/notify.log" 300 &
LPID=$!
at_exit "kill $LPID 2>/dev/null"
wait_until 10 test -S "$T/notify.sock"
s48d_start "$T/s48d.log" NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=60000000
wait_until 10 grep -qs 's48d started' "$T/s48d.log"
done_all() {
	[ "$(sql "SELECT count(*) FROM raw_messages")" -ge "$N" ] &&
	[ "$(sql "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')")" -eq 0 ]
}
wait_until 240 done_all
ok_if "the backlog of $N SMS stored and answered" done_all
s48d_term 5
is "s48d stops with 0" "$?" 0
wait "$LPID"
# the work: from READY=1 to the last ping before STOPPING=1
gap=$(awk '$2 == "READY=1" { on = 1; p = $1; next }
	on && ($2 == "WATCHDOG=1" || $2 == "STOPPING=1") { d = $1 - p; if (d > m) m = d; p = $1 }
	END { printf "%.1f", m }' "$T/notify.log")
diag "longest time without a ping while working: $gap s"
ok_if "a ping at least every 3 s through the backlog ($gap s)" \
	awk -v g="$gap" 'BEGIN { exit !(g > 0 && g <= 3) }'
is "every ping a WATCHDOG=1 or the states (no other message)" \
	"$(grep -vc ' WATCHDOG=1$\| READY=1$\| STOPPING=1$\| RELOADING=1$' "$T/notify.log")" 0
echo "1..$_tap_n"
