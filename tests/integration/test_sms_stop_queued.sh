#!/bin/sh
# STOP holds back SMS queued before it (SPEC 3: "no more SMS to this number
# until it sends START"): a report and its STOP in one pull, and a reply
# waiting for a retry while the gateway failed when the STOP came.  The
# rows end `suppressed` with reason STOP, the gateway never gets them, the
# STOP confirmation still goes out, and after START replies flow again.
set -u
. "$(dirname "$0")/../lib/tap.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/s48d.sh"
s48d_e2e

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
sent_to() { # NUMBER (without +): texts the simulator sent there, one a line
	e2e_sent_sms | python3 -c 'import json,sys
for m in json.load(sys.stdin):
    if m["to"].lstrip("+") == sys.argv[1]: print(m["text"])' "$1"
}
row() { # NUMBER KIND -> "status reason" of its newest row
	sql "SELECT status || ' ' || coalesce(reason, '') FROM outbox WHERE recipient = '$1' AND kind = '$2' ORDER BY id DESC LIMIT 1"
}

# 1. the report and STOP arrive in the same pull
e2e_sms "381641230001" "Pukla cev u Njegosevoj ulici"
e2e_sms "381641230001" "STOP"
"$S48D" -c "$CONF" --once 2>>"$T/run1.log"
is "first run exits 0" "$?" 0
is "the report is a ticket" "$(sql "SELECT count(*) FROM tickets WHERE reporter = '+381641230001'")" 1
is "its acknowledgement, queued before the STOP, is suppressed" \
	"$(row +381641230001 sms_ack)" "suppressed STOP"
is "the STOP is confirmed" "$(row +381641230001 stop_confirm | cut -d' ' -f1)" "sent"
is "the number got only the STOP confirmation" "$(sent_to 381641230001 | wc -l | tr -d ' ')" 1
sent_to 381641230001 | grep -q 'vise necete primati'
is "the confirmation text" "$?" 0

# 2. a status reply waits for a retry (the gateway failed), then STOP comes
e2e_sms "381641230002" "Ne radi rasveta u parku"
"$S48D" -c "$CONF" --once 2>>"$T/run2.log"
id2=$(sql "SELECT id FROM tickets WHERE reporter = '+381641230002'")
ok_if "second reporter's ticket ($id2)" [ -n "$id2" ]
sms_sim_call POST /_sim/fault '{"only": "infobip_send", "mode": "500", "count": 50}' >/dev/null
"$S48CTL" -c "$CONF" status "$id2" in_progress --note "ekipa na terenu" --by ana >/dev/null
"$S48D" -c "$CONF" --once 2>>"$T/run3.log"
is "the status reply waits for a retry" "$(row +381641230002 sms_status | cut -d' ' -f1)" "pending"
sms_sim_call POST /_sim/fault '{"mode": "none"}' >/dev/null
e2e_sms "381641230002" "stop"
# past the backoff: the waiting row is due again
S48_NOW=$(( $(date +%s) + 7200 )) "$S48D" -c "$CONF" --once 2>>"$T/run4.log"
is "the waiting status reply is suppressed by the STOP" "$(row +381641230002 sms_status)" "suppressed STOP"
e2e_sent_sms >"$T/sent4.json"
ok_if "the simulator's sent list is readable" grep -q '"to"' "$T/sent4.json"
ok_if "the gateway never sent the note" sh -c "! grep -q 'ekipa na terenu' '$T/sent4.json'"
is "the STOP is confirmed" "$(row +381641230002 stop_confirm | cut -d' ' -f1)" "sent"
ok_if "the suppression is logged" grep -q 'suppressed: STOP since it was queued' "$T/run4.log"

# 3. START: replies flow again, email is untouched
e2e_sms "381641230002" "START"
"$S48D" -c "$CONF" --once 2>>"$T/run5.log"
"$S48CTL" -c "$CONF" status "$id2" resolved --note "zamenjena sijalica" --by ana >/dev/null
"$S48D" -c "$CONF" --once 2>>"$T/run6.log"
is "after START the next status reply is sent" "$(row +381641230002 sms_status | cut -d' ' -f1)" "sent"
sent_to 381641230002 | grep -q 'zamenjena sijalica'
is "...and reached the phone" "$?" 0
is "no row is left sending" "$(sql "SELECT count(*) FROM outbox WHERE status = 'sending'")" 0
