#!/bin/sh
# test_sla_config.sh - SLA notices against the configuration, driven by
# S48_NOW with s48ctl and s48d --once (no sources reachable; rows are
# counted as queued):
#  - a department with `sms` numbers and no `email` gets its warning and
#    escalation by SMS (before, they went nowhere and the ticket was marked
#    warned); the escalation addresses still get theirs by email;
#  - sla.warn_hours changed to 0 (as a reload would): no more warnings, also
#    for tickets created before; escalations go on;
#  - sla.hours changed: tickets keep the due_at they were given (and told
#    the citizen); new tickets get the new one;
#  - a ticket whose department left the config: its warning goes to the
#    escalation addresses (before, to nobody).
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$S48_TOP/tests/lib/mkconf.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/sla_clock.sh"
sla_clock_setup MKCONF_SMTP_URL=smtp://127.0.0.1:9
# lighting is reached by SMS only
sed -i 's|{ id = "lighting"; name = "Javna rasveta"; email = \["rasveta@jkp.example.org"\];|{ id = "lighting"; name = "Javna rasveta"; sms = ["+381601115555"];|' "$CONF"
notices() { # TICKET KIND -> "channel:recipient ..." in queue order
	sql "SELECT coalesce(group_concat(v, ' '), '') FROM (SELECT channel || ':' || recipient AS v FROM outbox WHERE ticket_id = $1 AND kind = '$2' ORDER BY id)"
}

ok_if "the config with an SMS-only department is valid" sh -c '"$1" -c "$2" --check-config >/dev/null' - "$S48D" "$CONF"
ctl 0 new --from 0641110001 "Ne radi sijalica u parku"
ctl 0 new --from 0641110002 "Pukla cev u ulici"
is "ticket 1 is lighting's, 2 water's" "$(sql "SELECT group_concat(department, ' ') FROM (SELECT department FROM tickets ORDER BY id)")" "lighting water"
is "lighting hears of the new ticket by SMS" "$(notices 1 dept_new)" "sms:+381601115555"
once 41
is "41 h: the SMS-only department is warned by SMS" "$(notices 1 warning)" "sms:+381601115555"
is "41 h: the warning SMS names the ticket and the due time" \
	"$(sql "SELECT body FROM outbox WHERE ticket_id = 1 AND kind = 'warning'")" \
	"Upozorenje: rok za prijavu br. 1 istice 26.11.2026. 11:00"
is "41 h: water is warned by email as before" "$(notices 2 warning)" "email:vodovod@jkp.example.org"
once 49
is "49 h: the escalation: SMS to the department, email to the director" "$(notices 1 escalation)" \
	"sms:+381601115555 email:direktor@jkp.example.org"

# warn_hours = 0 from now on: tickets created before have a warn_at
sed -i 's/warn_hours = 8;/warn_hours = 0;/' "$CONF"
ok_if "warn_hours = 0 is valid" sh -c '"$1" -c "$2" --check-config >/dev/null' - "$S48D" "$CONF"
ctl 50 new --from 0641110003 "Pukla cev opet"
sed -i 's/warn_hours = 0;/warn_hours = 8;/' "$CONF"
ctl 50 new --from 0641110004 "Pukla cev ponovo"
sed -i 's/warn_hours = 8;/warn_hours = 0;/' "$CONF"
is "ticket 4 has a warn_at (created with warn_hours 8)" "$(sql "SELECT warn_at IS NOT NULL FROM tickets WHERE id = 4")" 1
once 91
is "91 h with warn_hours = 0: no warning, even for a ticket given a warn_at" \
	"$(notices 3 warning)|$(notices 4 warning)" "|"
once 99
is "99 h: escalations go on" "$(notices 4 escalation)" \
	"email:vodovod@jkp.example.org email:direktor@jkp.example.org"

# sla.hours 48 -> 24: due_at of existing tickets kept, new ones 24 h
sed -i 's/sla = { hours = 48;/sla = { hours = 24;/' "$CONF"
ctl 100 new --from 0641110005 "Pukla cev kod skole"
is "existing tickets keep their due_at" "$(sql "SELECT group_concat(due_at - created_at, ' ') FROM (SELECT due_at, created_at FROM tickets WHERE id < 5 ORDER BY id)")" \
	"$((48 * H)) $((48 * H)) $((48 * H)) $((48 * H))"
is "a new ticket gets the new sla.hours" "$(sql "SELECT due_at - created_at FROM tickets WHERE id = 5")" $((24 * H))

# lighting renamed "lights" in the config: ticket 6, still lighting's, has
# no department to warn: the warning goes to the escalation addresses
sed -i 's/warn_hours = 0;/warn_hours = 8;/' "$CONF"
ctl 110 new --from 0641110006 "Ne radi sijalica kod skole"
is "ticket 6 is lighting's" "$(sql "SELECT department FROM tickets WHERE id = 6")" lighting
sed -i 's/{ id = "lighting";/{ id = "lights";/' "$CONF"
ok_if "the renamed config is valid" sh -c '"$1" -c "$2" --check-config >/dev/null' - "$S48D" "$CONF"
once 127
is "127 h: the warning of a ticket of a department no longer configured goes to the escalation address" \
	"$(notices 6 warning)" "email:direktor@jkp.example.org"
once 135
is "135 h: its escalation goes there once" "$(notices 6 escalation)" "email:direktor@jkp.example.org"
