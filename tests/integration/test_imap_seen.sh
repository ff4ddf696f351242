#!/bin/sh
# IMAP without processed_mailbox (\Seen mode, a UID cursor) against Dovecot:
#  - s48d dies between the commit of a batch and its \Seen command
#    (S48_TEST_EXIT_BEFORE_ACK): the cursor has passed the mail, so the next
#    run marks it \Seen without fetching it again (it stayed unread for
#    ever before: a clerk would take it for mail s48 did not record);
#  - mail a clerk marks unread again after s48 recorded it stays unread and
#    is not recorded again;
#  - a message larger than max_message_bytes becomes a ticket from its
#    first max_message_bytes and is marked \Seen.
set -u
. "$(dirname "$0")/../lib/tap.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/e2e.sh"
. "$S48_TOP/tests/lib/db.sh"
e2e_start
sed -i 's/ processed_mailbox = "Processed";/ max_message_bytes = 20000;/' "$CONF"
DB="$T/e2e/s48.db"
D="$T/e2e/dovecot"
seen() { dovecot_count "$D" "$DOVECOT_USER" INBOX SEEN; }
unseen() { dovecot_count "$D" "$DOVECOT_USER" INBOX UNSEEN; }

e2e_mail "$T/e2e" "a@example.net" "Rasveta" "Ne radi rasveta u Njegosevoj."
e2e_mail "$T/e2e" "b@example.net" "Cev" "Pukla cev u Cara Dusana."
S48_TEST_EXIT_BEFORE_ACK=1 "$S48D" -c "$CONF" --once 2>"$T/run1.log"
is "killed between the commit and \\Seen" "$?" 99
is "both recorded" "$(q 'select count(*) from tickets')" 2
is "neither marked yet" "$(seen)" 0
"$S48D" -c "$CONF" --once 2>"$T/run2.log"
is "the next run exits 0" "$?" 0
is "the next run marks them \\Seen" "$(seen)" 2
ok_if "and says so" grep -q 'Seen set on UIDs 1:2' "$T/run2.log"
is "nothing recorded twice" "$(q 'select count(*) from raw_messages')" 2

# a clerk marks the first one unread again: s48 leaves it so
doveadm -c "$D/dovecot.conf" flags remove -u "$DOVECOT_USER" '\Seen' mailbox INBOX uid 1
is "the clerk's unread mail" "$(unseen)" 1
e2e_mail "$T/e2e" "c@example.net" "Kontejner" "Pun kontejner u Zmaj Jovinoj."
"$S48D" -c "$CONF" --once 2>"$T/run3.log"
is "new mail: a third ticket" "$(q 'select count(*) from tickets')" 3
is "new mail marked \\Seen, the clerk's unread one left unread" "$(unseen)" 1
ok_if "no repair logged when nothing was interrupted" sh -c "! grep -q 'Seen set on' '$T/run3.log'"
"$S48D" -c "$CONF" --once 2>"$T/run4.log"
is "a further run: still unread, nothing recorded again" \
	"$(unseen):$(q 'select count(*) from raw_messages')" "1:3"

# larger than max_message_bytes (20000)
big=$(python3 -c 'print("Pukla cev kod skole. " * 2000)')
e2e_mail "$T/e2e" "d@example.net" "Velika poruka" "$big"
"$S48D" -c "$CONF" --once 2>"$T/run5.log"
is "a large message becomes a ticket" "$(q 'select count(*) from tickets')" 4
is "it is kept truncated, with its full size" \
	"$(q "select truncated || ':' || (size > 20000) || ':' || (length(bytes) <= 20000) from raw_messages order by id desc limit 1")" "1:1:1"
is "and marked \\Seen like the rest" "$(unseen)" 1
