#!/bin/sh
# After an unclean stop s48d reconciles Infobip's destructive pull from the
# non-destructive log.  A failing log endpoint must not stop new reports:
# they are pulled and ticketed, and the reconciliation is retried later.
set -u
. "$(dirname "$0")/../lib/tap.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/e2e.sh"
. "$S48_TOP/tests/lib/db.sh"
e2e_start
db="$T/e2e/s48.db"
DB=$db

"$S48D" -c "$CONF" --once 2>"$T/run0.log"
is "empty first run" "$?" 0
# as if the last run had been killed
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("update source_state set value=1 where key=\"daemon.running\""); c.commit()' "$db"
sms_sim_call POST /_sim/fault '{"mode": "500", "only": "infobip_logs"}' >/dev/null
e2e_sms "381641112222" "Pukla cev u Njegosevoj"
"$S48D" -c "$CONF" --once 2>"$T/run1.log"
is "--once reports the unread log as a temporary failure" "$?" 75
ok_if "the failed reconciliation is logged" grep -q 'reconciliation failed' "$T/run1.log"
is "the new SMS became a ticket all the same" "$(q 'select count(*) from tickets')" 1

sms_sim_call POST /_sim/fault '{"mode": "none"}' >/dev/null
"$S48D" -c "$CONF" --once 2>"$T/run2.log"
is "next run exits 0" "$?" 0
ok_if "the reconciliation ran on the next poll" grep -q 'reconciliation:' "$T/run2.log"
is "nothing duplicated by it" "$(q 'select count(*) from tickets')" 1
is "one raw message" "$(q 'select count(*) from raw_messages')" 1

# A pull whose answer was lost (consumed at the gateway, never recorded) held
# a report and its repeat within 10 minutes: the reconciliation records both,
# the repeat with the first one's ticket, and counts both as recovered (the
# repeat is a "duplicate" in the summary, but not one already recorded).
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("update source_state set value=1 where key=\"daemon.running\""); c.commit()' "$db"
e2e_sms "381641113333" "Ne radi rasveta u Zmaj Jovinoj"
e2e_sms "381641113333" "Ne radi rasveta u Zmaj Jovinoj"
curl -s -H "Authorization: App s48-test-key" "$SMS_SIM_URL/sms/1/inbox/reports?limit=10" >"$T/consumed.json"
is "the gateway handed both out (the lost pull)" "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["results"]))' "$T/consumed.json")" 2
"$S48D" -c "$CONF" --once 2>"$T/run3.log"
is "run after the lost pull exits 0" "$?" 0
ok_if "both consumed messages counted as recovered (3 in the log, 1 known)" \
    grep -q "reconciliation: 3 in the gateway's log, 2 recovered" "$T/run3.log"
is "the report and its repeat recorded" "$(q 'select count(*) from raw_messages')" 3
is "one ticket for the two" "$(q 'select count(*) from tickets')" 2
