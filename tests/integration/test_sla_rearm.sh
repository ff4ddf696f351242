#!/bin/sh
# test_sla_rearm.sh - the SLA notices after a reopen and a reassignment,
# driven by S48_NOW with s48ctl and s48d --once (no sources; the SMTP relay
# is a closed port, so the rows stay pending and are counted as queued).
# Wall time, sla.hours 48, warn_hours 8: warn_at = 40 h, due_at = 48 h.
#  - a reopen (resolved/rejected -> open) re-arms the warning and the
#    escalation, once each per reopen; due_at is kept;
#  - in_progress -> open is no reopen; a note re-arms nothing;
#  - an assignment re-arms the warning for the department that now holds
#    the ticket; the escalation goes to that department;
#  - all of it also when the clock stepped back between the notice and the
#    reopen (updated_at earlier than warned_at / escalated_at).
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$S48_TOP/tests/lib/mkconf.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/sla_clock.sh"
sla_clock_setup MKCONF_SMS=0 MKCONF_SMTP_URL=smtp://127.0.0.1:9
# notices TICKET KIND -> recipients in queue order, space-separated
notices() {
	sql "SELECT coalesce(group_concat(recipient, ' '), '') FROM (SELECT recipient FROM outbox WHERE ticket_id = $1 AND kind = '$2' ORDER BY id)"
}

for n in 1 2 3 4 5; do
	ctl 0 new --from "06411100$n" "Pukla cev broj $n"
done
is "five tickets for water" "$(sql "SELECT count(*) FROM tickets WHERE department = 'water'")" 5
is "due 48 h after creation" "$(sql "SELECT DISTINCT due_at - created_at FROM tickets")" $((48 * H))

ctl 10 status 2 resolved --by t        # #2: resolved before any notice
ctl 20 status 5 in_progress --by t     # #5: in progress when warned
once 41
is "41 h: warnings for the four open tickets" \
	"$(sql "SELECT group_concat(ticket_id, ' ') FROM (SELECT ticket_id FROM outbox WHERE kind = 'warning' ORDER BY ticket_id)")" "1 3 4 5"

# #1: resolved after the warning, reopened before due_at: warned again
ctl 42 status 1 resolved --by t
ctl 42 assign 4 lighting --by t        # #4: reassigned after the warning
ctl 43 status 5 open --by t            # #5: in_progress -> open is no reopen
ctl 45 status 1 open --note "opet curi" --by t
once 45
is "45 h: the reopened ticket is warned again" "$(notices 1 warning)" \
	"vodovod@jkp.example.org vodovod@jkp.example.org"
is "45 h: the second warning says when it was reopened" \
	"$(sql "SELECT count(*) FROM outbox WHERE ticket_id = 1 AND kind = 'warning' AND body LIKE '%Ponovo otvorena: 26.11.2026. 08:00%'")" 1
is "45 h: the first warning does not (it was not reopened then)" \
	"$(sql "SELECT count(*) FROM outbox WHERE ticket_id = 1 AND kind = 'warning' AND body LIKE '%Ponovo otvorena%'")" 1
is "45 h: the reassigned ticket's new department is warned" "$(notices 4 warning)" \
	"vodovod@jkp.example.org rasveta@jkp.example.org"
is "45 h: in_progress -> open re-arms nothing" "$(notices 5 warning)" "vodovod@jkp.example.org"
is "45 h: nothing for the ticket resolved early" "$(notices 2 warning)" ""
once 46
is "46 h: no warning repeated" "$(sql "SELECT count(*) FROM outbox WHERE kind = 'warning'")" 6
is "46 h: no escalation before due_at" "$(sql "SELECT count(*) FROM outbox WHERE kind = 'escalation'")" 0

once 49
is "49 h: #1 escalated once (reopened before due)" "$(notices 1 escalation)" \
	"vodovod@jkp.example.org direktor@jkp.example.org"
is "49 h: #4 escalated to the department that holds it" "$(notices 4 escalation)" \
	"rasveta@jkp.example.org direktor@jkp.example.org"
is "49 h: #3 and #5 escalated" "$(notices 3 escalation)|$(notices 5 escalation)" \
	"vodovod@jkp.example.org direktor@jkp.example.org|vodovod@jkp.example.org direktor@jkp.example.org"

# #3: escalated, resolved, reopened after due_at: escalated again, once
ctl 50 status 3 resolved --by t
ctl 50 note 5 "ekipa na terenu" --by t  # a note after the escalation
ctl 55 status 3 open --by t
once 55
is "55 h: the ticket reopened past due_at is escalated again" "$(notices 3 escalation)" \
	"vodovod@jkp.example.org direktor@jkp.example.org vodovod@jkp.example.org direktor@jkp.example.org"
is "55 h: reopened past due_at: no warning (due_at has passed)" "$(notices 3 warning)" \
	"vodovod@jkp.example.org"
is "55 h: a note re-arms nothing" "$(notices 5 escalation)" \
	"vodovod@jkp.example.org direktor@jkp.example.org"
once 56
once 70
is "56-70 h: nothing repeated" "$(sql "SELECT count(*) FROM outbox WHERE kind = 'escalation'")" 10
# #2: resolved in time, reopened after due_at: overdue, escalated once
ctl 71 status 2 open --by t
once 71
once 72
is "71 h: #2 reopened past due_at: one escalation" "$(notices 2 escalation)" \
	"vodovod@jkp.example.org direktor@jkp.example.org"
is "due_at is kept by a reopen" "$(sql "SELECT DISTINCT due_at - created_at FROM tickets")" $((48 * H))
# a second reopen of #3: a second re-escalation, still once
ctl 73 status 3 rejected --by t
ctl 74 status 3 open --by t
once 74
once 75
is "74 h: each reopen re-arms once" "$(sql "SELECT count(*) FROM outbox WHERE ticket_id = 3 AND kind = 'escalation'")" 6
is "never to a citizen" "$(sql "SELECT count(*) FROM outbox WHERE kind IN ('warning', 'escalation') AND recipient LIKE '+38164%'")" 0
is "escalation events: one per escalation" "$(sql "SELECT count(*) FROM events WHERE kind = 'escalation'")" 7
S48_NOW=$((N0 + 75 * H)) "$CTL" -c "$CONF" list --overdue --json >"$T/overdue.json"
is "list --overdue: the open tickets past due_at" \
	"$(python3 -c 'import json,sys; print(" ".join(str(t["id"]) for t in json.load(open(sys.argv[1]))))' "$T/overdue.json")" "1 2 3 4 5"

# The clock steps back an hour after a notice, and the ticket is reopened
# within that hour: its updated_at is before the notice's time, yet the
# reopen came after it (the events say so).  #6 is reopened and checked at
# once, #8 checked only after the clock has passed the notice's time again,
# #7 reopened past due_at after its escalation.
for n in 6 7 8; do
	ctl 100 new --from "06411100$n" "Pukla cev broj $n"
done
once 141
is "141 h: #6-#8 warned" "$(notices 6 warning)|$(notices 7 warning)|$(notices 8 warning)" \
	"vodovod@jkp.example.org|vodovod@jkp.example.org|vodovod@jkp.example.org"
ctl 140 status 6 resolved --by t
ctl 140 status 6 open --by t
once 140
is "clock back 1 h: #6 reopened after its warning is warned again" "$(notices 6 warning)" \
	"vodovod@jkp.example.org vodovod@jkp.example.org"
ctl 140 status 8 rejected --by t
ctl 140 status 8 open --by t
once 142
is "clock back 1 h: #8 reopened then, checked after the clock passed its warning: warned again" \
	"$(notices 8 warning)" "vodovod@jkp.example.org vodovod@jkp.example.org"
is "clock back 1 h: #6 not warned a third time, #7 not again" \
	"$(notices 6 warning)|$(notices 7 warning)" \
	"vodovod@jkp.example.org vodovod@jkp.example.org|vodovod@jkp.example.org"
once 149
is "149 h: #6-#8 escalated once each" \
	"$(sql "SELECT count(*) FROM outbox WHERE ticket_id IN (6, 7, 8) AND kind = 'escalation'")" 6
ctl 148 status 7 resolved --by t
ctl 148 status 7 open --by t
once 148
is "clock back 1 h: #7 reopened past due_at after its escalation is escalated again" \
	"$(notices 7 escalation)" \
	"vodovod@jkp.example.org direktor@jkp.example.org vodovod@jkp.example.org direktor@jkp.example.org"
once 150
is "150 h: nothing repeated" \
	"$(sql "SELECT count(*) FROM outbox WHERE ticket_id IN (6, 7, 8) AND kind IN ('warning', 'escalation')")" 13
