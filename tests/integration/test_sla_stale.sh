#!/bin/sh
# test_sla_stale.sh - a department's SLA warning that waits in the outbox (the
# relay down) while its ticket is resolved is suppressed when its turn comes,
# not sent asking for work already done; an escalation that waited is still
# sent (the deadline was missed); a warning of a ticket still open is sent.
# Wall time, sla.hours 48, warn_hours 8: warn_at = 40 h, due_at = 48 h.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$S48_TOP/tests/lib/mkconf.sh"
. "$S48_TOP/tests/lib/smtp_sink.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/sla_clock.sh"
sla_clock_setup MKCONF_SMS=0 MKCONF_SMTP_URL=smtp://127.0.0.1:9
row() { # TICKET KIND -> status of its first row ("|reason" when suppressed)
	sql "SELECT status || CASE status WHEN 'suppressed' THEN '|' || reason ELSE '' END FROM outbox WHERE ticket_id = $1 AND kind = '$2' ORDER BY id LIMIT 1"
}

ctl 0 new --from 0641110001 "Pukla cev broj 1"      # resolved while its warning waits
ctl 0 new --from 0641110002 "Pukla cev broj 2"      # still open: its warning goes
ctl 0 new --from 0641110003 "Pukla cev broj 3"      # resolved while its escalation waits
once 41                                             # warnings queued, the relay down
once 49                                             # escalations queued, the relay down
is "three warnings wait" "$(sql "SELECT count(*) FROM outbox WHERE kind = 'warning' AND status = 'pending'")" 3
ctl 50 status 1 resolved --note "zamenjena cev"
ctl 50 status 3 resolved --note "zamenjena cev"

smtp_sink_start "$T/smtp" >/dev/null || { echo "not ok - smtp-sink started"; exit 1; }
at_exit "smtp_sink_stop '$T/smtp'"
sed -i "s|smtp://127.0.0.1:9|smtp://127.0.0.1:$SMTP_SINK_PORT|" "$CONF"
once 80                                             # past every backoff: all due
is "ticket 1's warning suppressed with the reason" "$(row 1 warning)" \
	"suppressed|ticket closed before the warning was sent"
is "ticket 2's warning sent" "$(row 2 warning)" "sent"
is "ticket 3's escalation still sent" "$(row 3 escalation)" "sent"
is "no warning or escalation left waiting" "$(sql "SELECT count(*) FROM outbox WHERE kind IN ('warning', 'escalation') AND status IN ('pending', 'sending')")" 0
ok_if "the suppression is logged" grep -q 'warning for ticket 1 suppressed' "$T/s48d.log"
