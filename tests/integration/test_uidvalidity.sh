#!/bin/sh
# Without processed_mailbox s48d sets \Seen and keeps a UID cursor.  When the
# server changes UIDVALIDITY (here: Dovecot's uidlist removed, as after a
# mailbox rebuild), every UID is void: s48d rescans the mailbox and
# recognises what it already has by content, so no duplicate ticket.
set -u
. "$(dirname "$0")/../lib/tap.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/e2e.sh"
. "$S48_TOP/tests/lib/db.sh"
e2e_start
sed -i 's/ processed_mailbox = "Processed";//' "$CONF"
DB="$T/e2e/s48.db"

e2e_mail "$T/e2e" "a@example.net" "Rasveta" "Ne radi rasveta u Njegosevoj."
e2e_mail "$T/e2e" "b@example.net" "Cev" "Pukla cev u Cara Dusana."
"$S48D" -c "$CONF" --once 2>"$T/run1.log"
is "two tickets" "$(q 'select count(*) from tickets')" 2
is "mail stays in INBOX, marked seen" "$(dovecot_count "$T/e2e/dovecot" "$DOVECOT_USER" INBOX SEEN)" 2
uv1=$(q "select value from source_state where key = 'imap.INBOX.uidvalidity'")

# Dovecot assigns a new UIDVALIDITY when its uidlist is gone
"$S48D" -c "$CONF" --once 2>/dev/null
find "$T/e2e/dovecot/mail/$DOVECOT_USER" -name 'dovecot-uidlist' -delete
find "$T/e2e/dovecot/mail/$DOVECOT_USER" -name 'dovecot.index*' -delete
sleep 1
e2e_mail "$T/e2e" "c@example.net" "Kontejner" "Pun kontejner."
"$S48D" -c "$CONF" --once 2>"$T/run2.log"
uv2=$(q "select value from source_state where key = 'imap.INBOX.uidvalidity'")
ok_if "UIDVALIDITY changed ($uv1 -> $uv2)" [ "$uv1" != "$uv2" ]
ok_if "the change is logged" grep -q 'UIDVALIDITY changed' "$T/run2.log"
is "rescan: only the new message became a ticket" "$(q 'select count(*) from tickets')" 3
is "known messages recorded as duplicates, not again" "$(q 'select count(*) from raw_messages')" 3
"$S48D" -c "$CONF" --once 2>"$T/run3.log"
is "a further run adds nothing" "$(q 'select count(*) from raw_messages')" 3
