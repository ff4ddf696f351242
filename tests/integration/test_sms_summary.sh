#!/bin/sh
# s48d's summary line of an SMS pull ("sms: N messages: N new tickets, N
# appended, N duplicates, N other"): the same text from the same number
# within 10 minutes (SPEC 3: the same ticket, recorded, not acknowledged
# again) is a duplicate, like a message the gateway hands out twice; "#N
# text" from the ticket's reporter is appended; STATUS is other.
set -u
. "$(dirname "$0")/../lib/tap.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/s48d.sh"
s48_sink_and_sim
s48_sms_conf "$T"

inject() { # FROM TEXT...: one pull's messages, in order
	"$PY" -c 'import json,sys
a = sys.argv[1:]
print(json.dumps({"messages": [{"from": a[i], "text": a[i + 1]} for i in range(0, len(a), 2)]}))' "$@" \
		>"$T/inject.json"
	sms_sim_call POST /_sim/inbound "$(cat "$T/inject.json")" >/dev/null
}
summary() { # LOG -> the sms summary lines, without the time stamp
	grep -o 'sms: [0-9]* messages: .*' "$1"
}

# a first start reads the whole log: one quiet run first
"$S48D" -c "$CONF" --once 2>"$T/run0.log"
is "first run exits 0" "$?" 0

inject +381641110001 "Pukla cev kod skole" +381641110001 "  PUKLA ćev kod škole! " \
	+381641110002 "Ne radi rasveta u parku"
"$S48D" -c "$CONF" --once 2>"$T/run1.log"
is "one pull: exit 0" "$?" 0
is "the same text within 10 minutes is counted as a duplicate" "$(summary "$T/run1.log")" \
	"sms: 3 messages: 2 new tickets, 0 appended, 1 duplicates, 0 other"
is "two tickets" "$(sql "SELECT count(*) FROM tickets")" 2
is "one acknowledgement for the repeated report" \
	"$(sql "SELECT count(*) FROM outbox WHERE recipient = '+381641110001' AND kind = 'sms_ack'")" 1

id1=$(sql "SELECT id FROM tickets WHERE reporter = '+381641110001'")
inject +381641110001 "#$id1 i dalje curi" +381641110002 "STATUS"
"$S48D" -c "$CONF" --once 2>"$T/run2.log"
is "#N text from the reporter is appended, STATUS is other" "$(summary "$T/run2.log")" \
	"sms: 2 messages: 0 new tickets, 1 appended, 0 duplicates, 1 other"

# the gateway hands every message out twice, and a citizen repeats himself
sms_sim_call POST /_sim/fault '{"mode": "duplicate", "count": 1}' >/dev/null
inject +381641110003 "Rupa na putu kod mosta" +381641110003 "Rupa na putu kod mosta"
"$S48D" -c "$CONF" --once 2>"$T/run3.log"
is "handed out twice and repeated: three duplicates of four" "$(summary "$T/run3.log")" \
	"sms: 4 messages: 1 new tickets, 0 appended, 3 duplicates, 0 other"
is "the repeated report is one ticket" \
	"$(sql "SELECT count(*) FROM tickets WHERE reporter = '+381641110003'")" 1
