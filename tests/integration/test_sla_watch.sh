#!/bin/sh
# The SLA clock and source alerts (issue 6.4 and 6.5), driven by S48_NOW:
# s48d --once moved past warn_at gives one warning to the department, past
# due_at one escalation to the department and the escalation address; none
# repeated by further runs, none for backlog or resolved tickets, never to
# the citizen; s48ctl list --overdue shows the overdue ones.  A source
# failing for over an hour gives exactly one alert to the escalation address
# and one recovery notice when it works again (SMTP's by email too).
set -u
. "$(dirname "$0")/../lib/tap.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/s48d.sh"
s48d_e2e

H=3600
NOW0=$(date +%s)
once() { # HOURS-AFTER-NOW0 LOG: s48d --once at that time; its exit status
	S48_NOW=$((NOW0 + $1 * H)) "$S48D" -c "$CONF" --once 2>>"$T/$2.log"
}
ctl() { # HOURS ARGS...
	_h=$1; shift
	S48_NOW=$((NOW0 + _h * H)) "$S48CTL" -c "$CONF" "$@"
}
rows() { # WHERE -> count of outbox rows
	sql "SELECT count(*) FROM outbox WHERE $1"
}

# a backlog mail: ten days old, found on the first run
python3 - "$E/dovecot/mail/$DOVECOT_USER/new" <<'PY'
import os, sys, time
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
old = time.time() - 10 * 86400
p = os.path.join(d, "%d.M1P1.s48old" % old)
with open(p, "w") as f:
    f.write("From: stari@example.net\nTo: prijave@example.org\nSubject: Stara prijava: rupa\n"
            "Date: %s\nMessage-ID: <old.1@example.net>\n\nRupa na putu, stara prijava.\n"
            % time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(old)))
os.utime(p, (old, old))
PY
[ "$(id -u)" = 0 ] && chown -R nobody "$E/dovecot/mail"
doveadm -c "$DOVECOT_CONF" force-resync -u "$DOVECOT_USER" INBOX

# tickets at NOW0: email (water), SMS (lighting), one resolved at once
e2e_mail "$E" "gradjanka@example.net" "Curi voda" "Curi voda iz cevi u dvoristu."
e2e_sms "381641110001" "Ne radi rasveta u parku"
e2e_sms "381641110002" "Pukla cev kod skole"
once 0 run0
is "first run exits 0" "$?" 0
is "four tickets" "$(sql 'SELECT count(*) FROM tickets')" 4
backlog=$(sql "SELECT id FROM tickets WHERE backlog = 1")
email_t=$(sql "SELECT id FROM tickets WHERE reporter = 'gradjanka@example.net'")
sms_t=$(sql "SELECT id FROM tickets WHERE reporter = '+381641110001'")
res_t=$(sql "SELECT id FROM tickets WHERE reporter = '+381641110002'")
ok_if "the ten-day-old mail is a backlog ticket ($backlog)" [ -n "$backlog" ]
is "the backlog ticket got no acknowledgement" "$(rows "ticket_id = '$backlog' AND kind LIKE '%ack'")" 0
ctl 1 status "$res_t" resolved --note "popravljeno" --by test >/dev/null
is "ticket $res_t resolved" "$?" 0
due=$(sql "SELECT due_at - created_at FROM tickets WHERE id = $email_t")
is "due 48 wall-clock hours after creation" "$due" $((48 * H))
once 1 run1

# before warn_at (due - 8 h = 40 h): nothing
once 39 run39
is "39 h: no warning yet" "$(rows "kind IN ('warning', 'escalation')")" 0
# past warn_at
once 41 run41
is "41 h: exit 0" "$?" 0
is "41 h: one warning per open ticket (2)" "$(rows "kind = 'warning'")" 2
is "41 h: the email ticket's warning goes to its department" \
	"$(sql "SELECT group_concat(recipient) FROM outbox WHERE kind = 'warning' AND ticket_id = $email_t")" \
	"vodovod@jkp.example.org"
is "41 h: the SMS ticket's warning goes to its department" \
	"$(sql "SELECT group_concat(recipient) FROM outbox WHERE kind = 'warning' AND ticket_id = $sms_t")" \
	"rasveta@jkp.example.org"
is "41 h: no warning for the resolved ticket" "$(rows "kind = 'warning' AND ticket_id = $res_t")" 0
is "41 h: no warning for the backlog ticket" "$(rows "kind = 'warning' AND ticket_id = $backlog")" 0
is "41 h: no escalation yet" "$(rows "kind = 'escalation'")" 0
is "41 h: warnings sent" "$(rows "kind = 'warning' AND status = 'sent'")" 2
ok_if "41 h: the sink has the warning for ticket $email_t" sh -c \
	"grep -rls 'Upozorenje: rok za prijavu br. $email_t ' '$E/smtp/mail' | xargs grep -l '^To: vodovod@jkp.example.org' | grep -q ."
is "41 h: the warning names the department by its name, not its id" \
	"$(sql "SELECT count(*) FROM outbox WHERE kind = 'warning' AND ticket_id = $email_t AND body LIKE '%sluzba Vodovod i kanalizacija,%'")" 1
once 42 run42
once 43 run43
is "42-43 h: the warnings are not repeated" "$(rows "kind = 'warning'")" 2
is "warning events recorded once each" "$(sql "SELECT count(*) FROM events WHERE kind = 'warning'")" 2

# past due_at
once 49 run49
is "49 h: exit 0" "$?" 0
is "49 h: escalations to the department and the escalation address (2 tickets x 2)" \
	"$(rows "kind = 'escalation'")" 4
is "49 h: the email ticket's escalation recipients" \
	"$(sql "SELECT group_concat(recipient, ' ') FROM (SELECT recipient FROM outbox WHERE kind = 'escalation' AND ticket_id = $email_t ORDER BY recipient)")" \
	"direktor@jkp.example.org vodovod@jkp.example.org"
is "49 h: no escalation for the resolved ticket" "$(rows "kind = 'escalation' AND ticket_id = $res_t")" 0
is "49 h: no escalation for the backlog ticket" "$(rows "kind = 'escalation' AND ticket_id = $backlog")" 0
is "49 h: no new warning" "$(rows "kind = 'warning'")" 2
is "49 h: escalations sent" "$(rows "kind = 'escalation' AND status = 'sent'")" 4
ok_if "49 h: the director got 'Eskalacija' for ticket $sms_t" sh -c \
	"grep -rls 'Eskalacija: prijava br. $sms_t ' '$E/smtp/mail' | xargs grep -l '^To: direktor@jkp.example.org' | grep -q ."
is "49 h: the escalation names the department by its name" \
	"$(sql "SELECT count(*) FROM outbox WHERE kind = 'escalation' AND ticket_id = $email_t AND body LIKE 'Prijava br. $email_t, sluzba Vodovod i kanalizacija, nije resena u roku.%'")" 2
once 50 run50
once 72 run72
is "50-72 h: escalations not repeated" "$(rows "kind = 'escalation'")" 4
# a restart in loop mode does not repeat them either
# (a loop's pull comes after the previous round's SLA pass and outbox run:
# two pulls after the start, one round at least is over; waited for, not
# slept, a loaded machine took longer than any fixed sleep)
pulls() { sms_sim_call GET /_sim/stats | $PY -c 'import json,sys; print(json.load(sys.stdin).get("infobip_pull", 0))'; }
pulls0=$(pulls)
pulled_twice() { [ "$(pulls)" -ge $((pulls0 + 2)) ]; }
S48_NOW=$((NOW0 + 73 * H)) s48d_start "$T/loop73.log" S48_NOW=$((NOW0 + 73 * H))
ok_if "loop-mode restart at 73 h: a whole round done (two pulls)" wait_until 30 pulled_twice
s48d_term 5
is "loop-mode restart at 73 h: stops with 0" "$?" 0
# a pull cut short by that stop once left health.sms-gateway.since = 73 h,
# and the gateway failure at 80 h below was dated 7 h early
is "loop-mode restart at 73 h: no source failure recorded by the stop" \
	"$(sql "SELECT count(*) FROM source_state WHERE key LIKE 'health.%'")" 0
is "loop-mode restart at 73 h: nothing repeated" "$(rows "kind IN ('warning', 'escalation')")" 6
is "never to a citizen" \
	"$(rows "kind IN ('warning', 'escalation') AND recipient IN ('gradjanka@example.net', '+381641110001', '+381641110002', 'stari@example.net')")" 0
ok_if "no warning or escalation mail to the citizen at the sink" sh -c \
	"! grep -rls '^To: gradjanka@example.net' '$E/smtp/mail' | xargs grep -lE 'Upozorenje|Eskalacija' | grep -q ."
e2e_sent_sms >"$T/sent.json"
ok_if "the simulator's sent list is readable" grep -q '"to"' "$T/sent.json"
ok_if "no warning or escalation by SMS" sh -c "! grep -qE 'Upozorenje|Eskalacija' '$T/sent.json'"

# s48ctl list --overdue at 49 h
ctl 49 list --overdue --json >"$T/overdue.json"
is "list --overdue shows the open, escalated and backlog tickets" \
	"$(python3 -c 'import json,sys; print(" ".join(str(t["id"]) for t in sorted(json.load(open(sys.argv[1])), key=lambda t: t["id"])))' "$T/overdue.json")" \
	"$(printf '%s\n' "$backlog" "$email_t" "$sms_t" | sort -n | tr '\n' ' ' | sed 's/ $//')"
ok_if "every listed ticket says overdue" python3 -c 'import json,sys; sys.exit(0 if all(t["overdue"] for t in json.load(open(sys.argv[1]))) else 1)' "$T/overdue.json"
ctl 20 list --overdue --json >"$T/overdue20.json"
is "at 20 h only the backlog ticket is overdue" \
	"$(python3 -c 'import json,sys; print(" ".join(str(t["id"]) for t in json.load(open(sys.argv[1]))))' "$T/overdue20.json")" "$backlog"

# --- source alerts: the SMS gateway fails for over an hour ---
alerts() { rows "kind = 'alert'"; }
base=$(alerts)
is "no alert so far" "$base" 0
sms_sim_call POST /_sim/fault '{"mode": "500"}' >/dev/null
once 80 health80
is "gateway answering 500: --once exits 75" "$?" 75
ok_if "the failure is logged" grep -q 'sms' "$T/health80.log"
is "failure recorded in source_state" \
	"$(sql "SELECT value FROM source_state WHERE key = 'health.sms-gateway.since'")" $((NOW0 + 80 * H))
S48_NOW=$((NOW0 + 80 * H + 1800)) "$S48D" -c "$CONF" --once 2>>"$T/health80b.log"
is "30 min of failure: no alert yet" "$(alerts)" 0
S48_NOW=$((NOW0 + 80 * H + 3700)) "$S48D" -c "$CONF" --once 2>>"$T/health81.log"
is "over an hour of failure: one alert" "$(alerts)" 1
is "the alert goes to the escalation address" \
	"$(sql "SELECT recipient || ' ' || status FROM outbox WHERE kind = 'alert'")" "direktor@jkp.example.org sent"
ok_if "the alert names the gateway" sh -c \
	"grep -rls '^To: direktor@jkp.example.org' '$E/smtp/mail' | xargs grep -l 'sms-gateway ne radi' | grep -q ."
once 82 health82
once 83 health83
is "the failure goes on: still one alert" "$(alerts)" 1
sms_sim_call POST /_sim/fault '{"mode": "none"}' >/dev/null
once 84 health84
is "the gateway works again: exit 0" "$?" 0
is "one recovery notice" "$(alerts)" 2
ok_if "the recovery notice says it works again" sh -c \
	"grep -rls '^To: direktor@jkp.example.org' '$E/smtp/mail' | xargs grep -l 'sms-gateway radi ponovo' | grep -q ."
once 85 health85
once 86 health86
is "no further notices" "$(alerts)" 2
is "health state cleared" "$(sql "SELECT count(*) FROM source_state WHERE key LIKE 'health.%'")" 0
# a short failure (under an hour) gives neither alert nor recovery notice
sms_sim_call POST /_sim/fault '{"mode": "500"}' >/dev/null
once 87 health87
sms_sim_call POST /_sim/fault '{"mode": "none"}' >/dev/null
S48_NOW=$((NOW0 + 87 * H + 600)) "$S48D" -c "$CONF" --once 2>>"$T/health87b.log"
is "a 10-minute failure: no alert, no recovery notice" "$(alerts)" 2

# --- SMTP down for over an hour: the alert takes the channel that works ---
sed -i 's/^escalation = \["direktor@jkp.example.org"\];/escalation = ["direktor@jkp.example.org", "+381641234999"];/' "$CONF"
ok_if "escalation has a phone number too" grep -q '"+381641234999"' "$CONF"
smtp_sink_stop "$E/smtp"
e2e_mail "$E" "kasno@example.net" "Curi voda" "Curi voda u podrumu."
once 90 smtp90
is "SMTP down: --once exits 75" "$?" 75
S48_NOW=$((NOW0 + 90 * H + 3700)) "$S48D" -c "$CONF" --once 2>>"$T/smtp91.log"
is "SMTP down over an hour: one alert, by SMS only" \
	"$(sql "SELECT channel || ' ' || recipient FROM outbox WHERE kind = 'alert' AND id > (SELECT max(id) FROM outbox WHERE kind = 'alert' AND channel = 'email')")" \
	"sms +381641234999"
S48_NOW=$((NOW0 + 92 * H)) "$S48D" -c "$CONF" --once 2>>"$T/smtp92.log"
e2e_sent_sms >"$T/sent2.json"
ok_if "the SMS alert reached the director's phone (queued after the outbox run, sent by the next)" python3 -c 'import json,sys
sys.exit(0 if any(m["to"].lstrip("+") == "381641234999" and "smtp ne radi" in m["text"] for m in json.load(open(sys.argv[1]))) else 1)' "$T/sent2.json"
is "SMTP still down: no second alert" "$(rows "kind = 'alert' AND channel = 'sms'")" 1

# --- IMAP down for over an hour ---
dovecot_stop "$E/dovecot"
base=$(alerts)
once 100 imap100
S48_NOW=$((NOW0 + 100 * H + 3700)) "$S48D" -c "$CONF" --once 2>>"$T/imap101.log"
is "IMAP down over an hour: alerts queued (email and SMS)" "$(alerts)" $((base + 2))
ok_if "the IMAP alert names imap" sh -c "[ \"\$(sqlite3 '$E/s48.db' \"SELECT count(*) FROM outbox WHERE kind = 'alert' AND subject LIKE '%imap ne radi%'\")\" -ge 1 ]"
S48_NOW=$((NOW0 + 102 * H)) "$S48D" -c "$CONF" --once 2>>"$T/imap102.log"
is "IMAP still down: no more alerts" "$(alerts)" $((base + 2))

# --- SMTP works again: the recovery notice goes by email too ---
smtp_sink_start "$E/smtp" >/dev/null
sed -i "s|smtp://127.0.0.1:[0-9]*|smtp://127.0.0.1:$SMTP_SINK_PORT|" "$CONF"
base=$(rows "kind = 'alert' AND coalesce(subject, body) LIKE '%smtp radi ponovo%'")
is "no SMTP recovery notice while it was down" "$base" 0
S48_NOW=$((NOW0 + 103 * H)) "$S48D" -c "$CONF" --once 2>>"$T/smtp103.log"
is "SMTP works again: one recovery notice by email and one by SMS" \
	"$(sql "SELECT group_concat(channel, ' ') FROM (SELECT channel FROM outbox WHERE kind = 'alert' AND coalesce(subject, body) LIKE '%smtp radi ponovo%' ORDER BY channel)")" "email sms"
S48_NOW=$((NOW0 + 104 * H)) "$S48D" -c "$CONF" --once 2>>"$T/smtp104.log"
ok_if "the director's mailbox has 'smtp radi ponovo'" sh -c \
	"grep -rls '^To: direktor@jkp.example.org' '$E/smtp/mail' | xargs grep -l 'smtp radi ponovo' | grep -q ."
is "no second SMTP recovery notice" "$(rows "kind = 'alert' AND coalesce(subject, body) LIKE '%smtp radi ponovo%'")" 2
