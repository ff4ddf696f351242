#!/bin/sh
# make demo: the whole job on this machine, in under a minute, cleaning up.
# A private Dovecot (IMAP), the SMS gateway simulator and smtp-sink on
# loopback; Serbian reports by email and SMS (Latin, Cyrillic, without
# diacritics); s48d takes them in; a table of tickets and of the replies;
# then a clerk resolves one with s48ctl and the citizen's reply leaves on
# the channel they used.
set -u
S48_TOP=$(cd "$(dirname "$0")/.." && pwd)
S48_BIN=${S48_BIN:-$S48_TOP/build}
export S48_TOP S48_BIN
T=$(mktemp -d /tmp/s48demo.XXXXXX)
chmod 755 "$T"
cleanup() { e2e_stop "$T/e2e" 2>/dev/null; [ -n "${S48_KEEP:-}" ] || rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
. "$S48_TOP/tests/lib/e2e.sh"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Starting a private Dovecot, smtp-sink and the SMS gateway simulator on 127.0.0.1"
E2E_DEPARTMENTS=example e2e_setup "$T/e2e" || exit 1
echo "IMAP 127.0.0.1:$DOVECOT_PORT  SMTP 127.0.0.1:$SMTP_SINK_PORT  SMS gateway $SMS_SIM_URL"
"$S48D" -c "$CONF" --check-config | sed 's/^/  /'

say "Citizens report problems"
e2e_mail "$T/e2e" "Jovana Jovanović <jovana@example.net>" "Ne radi ulična rasveta" \
	"Poštovani, u Ulici kralja Petra kod broja 12 ne radi ulična rasveta već tri noći. Mračno je i opasno."
e2e_mail "$T/e2e" "Марко Марковић <marko@example.net>" "=?UTF-8?B?0J/Rg9C60LvQsCDRhtC10LIg0YMg0IrQtdCz0L7RiNC10LLQvtGY?=" \
	"Добар дан, пукла је цев у Његошевој улици, вода тече по тротоару од јутрос."
e2e_mail "$T/e2e" "ana@example.net" "Kontejner" "Kontejner u Cara Dusana nije praznjen nedelju dana."
e2e_sms "381641112222" "Pukla cev kod hidranta u Zmaj Jovinoj 4, voda shiklja"
e2e_sms "0651234567" "Ne radi sijalica na banderi ispred Bulevara oslobodjenja 20"
e2e_sms "381631234567" "Пас луталица у парку код школе"
echo "3 emails delivered to the IMAP mailbox, 3 SMS waiting at the gateway"

say "s48d takes them in (s48d --once)"
"$S48D" -c "$CONF" --once 2>&1 | sed 's/^/  /'

say "Tickets (s48ctl list)"
"$S48CTL" -c "$CONF" list

say "Replies and notifications sent (s48ctl outbox)"
"$S48CTL" -c "$CONF" outbox | head -30

say "An SMS acknowledgement as the citizen's phone received it"
e2e_sent_sms | python3 -c 'import json,sys
for m in json.load(sys.stdin):
    if m["to"].endswith("641112222"): print("  to", m["to"] + ":", m["text"])'

say "A clerk resolves ticket 4 (s48ctl status 4 resolved --note ...)"
"$S48CTL" -c "$CONF" status 4 resolved --note "Zamenjen ventil na hidrantu, voda zatvorena." --by "Petar"
say "A clerk starts work on ticket 1 (email)"
"$S48CTL" -c "$CONF" status 1 in_progress --note "Ekipa izlazi na teren danas." --by "Milan"
"$S48D" -c "$CONF" --once 2>&1 | grep -i outbox | sed 's/^/  /'

say "The SMS citizen's phone now shows"
e2e_sent_sms | python3 -c 'import json,sys
ms=[m for m in json.load(sys.stdin) if m["to"].endswith("641112222")]
print("  to", ms[-1]["to"] + ":", ms[-1]["text"])'
say "The email citizen's mailbox now holds"
f=$(grep -l '^To: jovana@example.net' $(e2e_sink_files "$T/e2e") | xargs ls -t | head -1)
grep -E '^(From|To|Subject|In-Reply-To|Auto-Submitted):' "$f" | sed 's/^/  /'

say "Ticket 4 in full (s48ctl show 4)"
"$S48CTL" -c "$CONF" show 4

say "Statistics (s48ctl stats)"
"$S48CTL" -c "$CONF" stats
echo
echo "Demo done; servers stopped and $T removed."
