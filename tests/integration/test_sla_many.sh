#!/bin/sh
# test_sla_many.sh - one SLA check with more tickets due than it reads into
# memory at once (10,000): `s48d --once` after a long outage queues every
# escalation (and every warning), not only the first 10,000, each once.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$S48_TOP/tests/lib/mkconf.sh"
tmpdir_setup
S48D="$S48_BIN/s48d"
CTL="$S48_BIN/s48ctl"
[ -x "$S48D" ] || { skip "s48d" "not built"; exit 0; }
MKCONF_SMTP=0 MKCONF_SMS=0 mkconf "$T/c" >/dev/null
CONF=$T/c/s48.conf
NOW0=1795514400                    # 2026-11-24T10:00:00Z
N=${SLA_MANY_N:-12500}

S48_NOW=$NOW0 "$CTL" -c "$CONF" new --from "+381641112222" "Pukla cev" >/dev/null
is "s48ctl made the database" "$?" 0
# N tickets overdue (due an hour ago) and N due in 4 hours (warning time)
python3 - "$T/c/s48.db" "$N" "$NOW0" <<'EOF'
import sqlite3, sys
db, n, now = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = sqlite3.connect(db)
c.execute("""WITH RECURSIVE k(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM k WHERE i < ?)
  INSERT INTO tickets(id, status, channel, reporter, department, subject, text, created_at,
    due_at, warn_at, updated_at)
  SELECT i, 'open', 'sms', '+38164' || (1000000 + i), 'water', 'Curi voda ' || i, 'Curi voda',
    ?1 - 49 * 3600, CASE WHEN i % 2 = 0 THEN ?2 - 3600 ELSE ?2 + 4 * 3600 END,
    CASE WHEN i % 2 = 0 THEN ?2 - 9 * 3600 ELSE ?2 - 4 * 3600 END, ?2 - 49 * 3600 FROM k""",
    (2 * n + 1, now))
c.commit()
EOF
q() { python3 -c "import sqlite3,sys; print(sqlite3.connect('$T/c/s48.db').execute(sys.argv[1]).fetchone()[0])" "$1"; }
is "$((2 * N)) tickets written" "$(q "SELECT count(*) FROM tickets WHERE id > 1")" $((2 * N))

S48_NOW=$NOW0 "$S48D" -c "$CONF" --once 2>"$T/once.log"
is "s48d --once: exit 0" "$?" 0
is "every overdue ticket escalated" "$(q "SELECT count(*) FROM tickets WHERE escalated_at IS NOT NULL")" "$N"
is "every ticket in its warning time warned" "$(q "SELECT count(*) FROM tickets WHERE warned_at IS NOT NULL AND escalated_at IS NULL")" "$N"
is "one escalation event each" "$(q "SELECT count(*) FROM (SELECT ticket_id FROM events WHERE kind = 'escalation' GROUP BY ticket_id HAVING count(*) = 1)")" "$N"
S48_NOW=$((NOW0 + 60)) "$S48D" -c "$CONF" --once 2>>"$T/once.log"
is "a second check queues nothing more" "$(q "SELECT count(*) FROM events WHERE kind IN ('escalation', 'warning')")" $((2 * N))
