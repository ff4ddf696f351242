#!/bin/sh
# test_sms_sim.sh - the SMS gateway simulator itself (tests/sim/sms_gateway.py):
# auth per profile, Twilio's "+" pitfall, destructive Infobip pull, faults,
# and its --state file surviving a restart.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$S48_TOP/tests/lib/sms_sim.sh"
tmpdir_setup
if ! command -v curl >/dev/null 2>&1; then
	echo "1..1"; skip "simulator" "curl is not installed"; exit 0
fi
echo "1..15"
at_exit "sms_sim_stop $T"
ok_if "simulator starts on a free port" sms_sim_start "$T" --state "$T/state.json"
U=$SMS_SIM_URL
KEY=s48-test-key
AC=AC00000000000000000000000000000048

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

sms_sim_call POST /_sim/inbound '{"from":"+381641234567","text":"Pukla cev","count":3}' >/dev/null
is "infobip without the App key: 401" "$(code "$U/sms/1/inbox/reports")" 401
is "twilio with a wrong token: 401" \
	"$(code -u "$AC:nope" "$U/2010-04-01/Accounts/$AC/Messages.json")" 401
is "generic with the bearer key: 200" \
	"$(code -H "Authorization: Bearer $KEY" "$U/generic/inbox?after=0")" 200

tw() { curl -s -u "$AC:$KEY" "$U/2010-04-01/Accounts/$AC/Messages.json?$1"; }
n_enc=$(tw 'To=%2B381601234567&PageSize=50' | grep -o '"sid"' | wc -l)
n_raw=$(tw 'To=+381601234567&PageSize=50' | grep -o '"sid"' | wc -l)
is "twilio: To=%2B... lists the messages" "$n_enc" 3
is "twilio: an unencoded + is a space and matches nothing" "$n_raw" 0
ok_if "twilio: pages carry a next_page_uri" \
	sh -c "curl -s -u '$AC:$KEY' '$U/2010-04-01/Accounts/$AC/Messages.json?To=%2B381601234567&PageSize=2' | grep -q 'PageToken=PA'"

ib() { curl -s -H "Authorization: App $KEY" "$U/sms/1/inbox/reports?limit=$1"; }
r1=$(ib 2)
ok_if "infobip: the first pull says one more is pending" \
	sh -c "echo '$r1' | grep -q '\"pendingMessageCount\":1'"
ok_if "infobip: numbers come without +" sh -c "echo '$r1' | grep -q '\"from\":\"381641234567\"'"

# the simulator restarts: the undelivered message is still queued
port=$SMS_SIM_PORT
sms_sim_stop "$T"
sms_sim_start "$T" --state "$T/state.json" --port "$port"
r2=$(ib 10)
is "after a restart the queue is intact" \
	"$(echo "$r2" | grep -o '"messageId"' | wc -l)" 1
is "...and nothing is handed out twice" "$(ib 10 | grep -o '"messageId"' | wc -l)" 0

sms_sim_call POST /_sim/fault '{"mode":"every_other"}' >/dev/null
a=$(code -H "Authorization: App $KEY" "$U/sms/1/inbox/reports")
b=$(code -H "Authorization: App $KEY" "$U/sms/1/inbox/reports")
is "every_other: 500 then 200" "$a $b" "500 200"
sms_sim_call POST /_sim/fault '{"mode":"garbage","count":1}' >/dev/null
ok_if "garbage: not JSON" sh -c "! curl -s -H 'Authorization: App $KEY' '$U/sms/1/inbox/reports' | python3 -c 'import json,sys; json.load(sys.stdin)' 2>/dev/null"
is "a fault with a count ends by itself" "$(code -H "Authorization: App $KEY" "$U/sms/1/inbox/reports")" 200
is "unknown fault modes are refused" \
	"$(code -X POST -d '{"mode":"meltdown"}' "$U/_sim/fault")" 400
