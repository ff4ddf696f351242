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
