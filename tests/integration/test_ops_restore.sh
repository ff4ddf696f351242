#!/bin/sh
# Restoring a backup (README "Restoring a backup"): `s48ctl backup` while
# s48d runs, more reports arrive, s48d is stopped, the backup is put in
# place, s48d starts.  SMS that came after the backup are recovered from the
# gateway's log (the backup says s48d was running); mail moved to
# processed_mailbox since is not read again, and s48d says so in one line;
# the ticket numbers given since the backup are not given again (a
# department's old mail for one carries a valid token).  The README's remedy,
# moving that mail back to INBOX, makes it tickets, and the mail the backup
# already holds is recognised (same bytes) and not made a ticket twice.
set -u
. "$(dirname "$0")/../lib/tap.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/s48d.sh"
s48d_e2e
tickets() { sql 'SELECT count(*) FROM tickets'; }
at_least() { [ "$(tickets)" -ge "$1" ]; }
idle() { [ "$(sql "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')")" -eq 0 ]; }

s48d_start "$T/d1.log"
wait_until 10 grep -qs 's48d started' "$T/d1.log"
for i in 1 2 3; do
	e2e_mail "$E" "a$i@example.net" "Curi voda $i" "Puca cev u ulici broj $i."
	e2e_sms "+38164100000$i" "Rupa na putu kod broja $i"
done
wait_until 30 at_least 6; wait_until 30 idle
"$S48CTL" -c "$CONF" backup "$T/backup.db" >/dev/null
is "backup while s48d runs: exit 0" "$?" 0
for i in 4 5; do
	e2e_mail "$E" "a$i@example.net" "Curi voda $i" "Puca cev u ulici broj $i."
	e2e_sms "+38164100000$i" "Rupa na putu kod broja $i"
done
wait_until 30 at_least 10; wait_until 30 idle
is "ten tickets before the restore" "$(tickets)" 10
s48d_term 5
is "s48d stopped: exit 0" "$?" 0
ok_if "a clean stop leaves no -wal beside the database" [ ! -e "$E/s48.db-wal" ]

cp "$T/backup.db" "$E/s48.db"
rm -f "$E/s48.db-wal" "$E/s48.db-shm"
s48d_start "$T/d2.log"
wait_until 10 grep -qs 's48d started' "$T/d2.log"
wait_until 30 at_least 8; wait_until 30 idle
ok_if "restored: s48d names the numbers given before" \
	grep -q "its last ticket is 6, but tickets up to 10 were given before (a backup put in place?): numbers 7-10 are not given again, the next ticket is 11" "$T/d2.log"
is "restored: the reports since are numbered from 11, none 7-10 again" \
	"$(sql "SELECT group_concat(id, ' ') FROM (SELECT id FROM tickets WHERE id > 6 ORDER BY id)")" "11 12"
is "restored: the SMS after the backup recovered from the gateway's log" \
	"$(sql "SELECT count(*) FROM tickets WHERE channel = 'sms'")" 5
is "restored: the mail after the backup is in Processed, not read again" \
	"$(sql "SELECT count(*) FROM tickets WHERE channel = 'email'")" 3

# the remedy: every mail of Processed back to INBOX
_dc_doveadm "$E/dovecot" move -u "$DOVECOT_USER" INBOX mailbox Processed all >/dev/null 2>&1
wait_until 30 at_least 10; sleep 2; wait_until 30 idle
is "moved back: the two lost mails are tickets" \
	"$(sql "SELECT count(*) FROM tickets WHERE channel = 'email'")" 5
is "moved back: each citizen's mail is one ticket (the three the backup holds not again)" \
	"$(sql "SELECT count(DISTINCT reporter) || '/' || count(*) FROM tickets WHERE channel = 'email'")" 5/5
is "moved back: ten reports made tickets, each once" \
	"$(sql "SELECT count(*) FROM raw_messages WHERE outcome = 'ticket'")" 10
s48d_term 5
s48d_start "$T/d3.log"
wait_until 10 grep -qs 's48d started' "$T/d3.log"
sleep 1
is "numbers past the old highest again: no warning on the next start" \
	"$(grep -c 'given before' "$T/d3.log")" 0
is "and the numbering goes on from the highest" \
	"$(sql "SELECT max(id) FROM tickets")" 14
s48d_term_within "after the restore" 5

# Replies pending in a backup and sent after it was taken: clerks change two
# tickets while s48d is stopped (a status mail and a status SMS queued), the
# backup is taken, s48d sends both, the backup is put back.  The ledger
# (DATABASE.sent-log) names both: recorded as sent at the start, each
# citizen gets the reply once.
"$S48CTL" -c "$CONF" status 13 in_progress --note "Ekipa je na terenu." >/dev/null
"$S48CTL" -c "$CONF" status 11 in_progress --note "Ekipa je na terenu." >/dev/null
is "two status replies pending before the backup" \
	"$(sql "SELECT count(*) FROM outbox WHERE status = 'pending' AND ticket_id IN (11, 13)")" 2
"$S48CTL" -c "$CONF" backup "$T/backup2.db" >/dev/null
mails_before=$(sink_count); sms_before=$(sms_sent_count)
s48d_start "$T/d4.log"
wait_until 10 grep -qs 's48d started' "$T/d4.log"
wait_until 30 idle
is "the status mail sent once" "$(( $(sink_count) - mails_before ))" 1
is "the status SMS sent once" "$(( $(sms_sent_count) - sms_before ))" 1
s48d_term 5
cp "$T/backup2.db" "$E/s48.db"
rm -f "$E/s48.db-wal" "$E/s48.db-shm"
is "the backup has both pending" \
	"$(sql "SELECT count(*) FROM outbox WHERE status = 'pending' AND ticket_id IN (11, 13)")" 2
s48d_start "$T/d5.log"
wait_until 10 grep -qs 's48d started' "$T/d5.log"
sleep 2; wait_until 30 idle
is "restored: the status mail not sent again" "$(( $(sink_count) - mails_before ))" 1
is "restored: the status SMS not sent again" "$(( $(sms_sent_count) - sms_before ))" 1
ok_if "restored: s48d says the sent-log had them" \
	grep -q "outbox: 2 messages sent after the backup this database was restored from was taken recorded as sent, not sent again" "$T/d5.log"
is "restored: both rows sent, with the reason" \
	"$(sql "SELECT count(*) FROM outbox WHERE status = 'sent' AND ticket_id IN (11, 13) AND reason LIKE 'sent after the backup%'")" 2
ok_if "restored: the ticket's history says so" \
	sh -c "'$S48CTL' -c '$CONF' show 13 --json | grep -q 'was sent after the backup this database was restored from: not sent again'"
s48d_term_within "after the second restore" 5
echo "1..$_tap_n"
