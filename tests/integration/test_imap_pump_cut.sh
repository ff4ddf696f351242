#!/bin/sh
# One of the IMAP pump's two sessions (daemon/imap_pump.c) lost in the
# middle of a poll of 3,000 mails (three batches): a relay in front of
# Dovecot (tests/lib/imap_cut.py) cuts one connection at one command --
# connection 0 is the fetching session, 1 the acknowledging one.
#  - the acknowledging session cut: a new session acknowledges what was
#    queued, so after that ONE run every mail is \Seen (or moved), the
#    run exits 0 and the \Seen mark (imap.INBOX.seen) is the last UID;
#  - the fetching session cut at its third batch: the run fails (75), the
#    acknowledging session still flags the two batches committed, the mark
#    stays where it was (it only moves past UIDs whose \Seen command went
#    out: every UID up to it is \Seen), and the next run repairs and
#    fetches the rest without recording anything twice.
set -u
. "$(dirname "$0")/../lib/tap.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/s48d.sh"
. "$S48_TOP/tests/lib/db.sh"
e2e_start
DC=$T/e2e/dovecot
DB=$T/e2e/s48.db
sed 's/ processed_mailbox = "Processed";//' "$CONF" >"$T/e2e/seen.conf"
cp "$CONF" "$T/e2e/move.conf"

# a relay with RULEs (imap_cut.py), and NAME.conf (from BASE.conf) through it
relay() { # NAME BASE RULE...
	_name=$1; _base=$2; shift 2
	"$PY" "$S48_TOP/tests/lib/imap_cut.py" "$T/$_name.port" "$T/$_name.relay" \
		"$DOVECOT_PORT" "$@" &
	_pid=$!
	at_exit "kill $_pid 2>/dev/null"
	wait_until 10 test -s "$T/$_name.port"
	sed "s/port = $DOVECOT_PORT;/port = $(cat "$T/$_name.port");/" "$T/e2e/$_base.conf" \
		>"$T/e2e/$_name.conf"
}
mark_uid() { q "select value from source_state where key = 'imap.INBOX.seen'" | cut -d: -f2; }
last_uid() { q "select value from source_state where key = 'imap.INBOX.last_uid'"; }
seen() { dovecot_count "$DC" "$DOVECOT_USER" INBOX SEEN; }
# \Seen mails with a UID up to the mark (all of them, by the invariant)
seen_upto_mark() {
	_m=$(mark_uid)
	if [ "${_m:-0}" -eq 0 ]; then echo 0; else
		dovecot_count "$DC" "$DOVECOT_USER" INBOX SEEN UID "1:$_m"; fi
}

# --- \Seen mode, the acknowledging session cut at its first UID STORE ---
dovecot_fill "$DC" "$DOVECOT_USER" 3000 400 || { echo "not ok 1 - mails filled"; exit 1; }
relay ackcut seen "1:1:before:UID STORE"
"$S48D" -c "$T/e2e/ackcut.conf" --once 2>"$T/ackcut.log"
is "ack session cut: --once exits 0" "$?" 0
ok_if "ack session cut: the relay cut it" grep -q 'conn 1 cut at UID STORE' "$T/ackcut.relay"
ok_if "ack session cut: logged, the queue on a new session" \
	grep -q 'acknowledging session failed.*go on a new one' "$T/ackcut.log"
is "ack session cut: 3000 tickets" "$(q 'select count(*) from tickets')" 3000
is "ack session cut: every mail \\Seen after that one run" "$(seen)" 3000
is "ack session cut: the mark is the last UID" "$(mark_uid)" "$(last_uid)"
is "ack session cut: last UID is UIDNEXT - 1" "$(last_uid)" \
	"$(( $(dovecot_uidnext "$DC" "$DOVECOT_USER" INBOX) - 1 ))"

# --- \Seen mode, the fetching session cut at its third UID FETCH ---
dovecot_fill "$DC" "$DOVECOT_USER" 3000 400 || { echo "not ok - mails filled"; exit 1; }
relay fetchcut seen "0:3:before:UID FETCH"
"$S48D" -c "$T/e2e/fetchcut.conf" --once 2>"$T/fetchcut.log"
is "fetch session cut: --once exits 75 (tempfail)" "$?" 75
ok_if "fetch session cut: the relay cut it" grep -q 'conn 0 cut at UID FETCH' "$T/fetchcut.relay"
is "fetch session cut: two more batches recorded" "$(q 'select count(*) from tickets')" 5000
is "fetch session cut: both committed batches \\Seen all the same" "$(seen)" 5000
is "fetch session cut: the mark did not move" "$(mark_uid)" 3000
is "fetch session cut: every UID up to the mark \\Seen" "$(seen_upto_mark)" "$(mark_uid)"
"$S48D" -c "$T/e2e/seen.conf" --once 2>"$T/after.log"
is "the next run exits 0" "$?" 0
ok_if "it sets \\Seen again on the committed UIDs" grep -q 'Seen set on UIDs 3001:5000' "$T/after.log"
is "every mail one ticket" "$(q 'select count(*) from tickets'):$(q 'select count(*) from raw_messages')" \
	"6000:6000"
is "every mail \\Seen" "$(seen)" 6000
is "the mark is the last UID" "$(mark_uid)" "$(last_uid)"

# --- MOVE mode, the acknowledging session's UID MOVE done, its answer lost:
# the new session sends it again (harmless) ---
"$S48D" -c "$T/e2e/move.conf" --once 2>"$T/move0.log"
is "move mode: the 6000 known mails moved first" "$(dovecot_count "$DC" "$DOVECOT_USER" Processed)" 6000
dovecot_fill "$DC" "$DOVECOT_USER" 3000 400 || { echo "not ok - mails filled"; exit 1; }
relay movecut move "1:1:after:UID MOVE"
"$S48D" -c "$T/e2e/movecut.conf" --once 2>"$T/movecut.log"
is "move session cut: --once exits 0" "$?" 0
ok_if "move session cut: the relay cut it" grep -q 'conn 1 cut at UID MOVE' "$T/movecut.relay"
is "move session cut: INBOX empty after that one run" "$(dovecot_count "$DC" "$DOVECOT_USER" INBOX)" 0
is "move session cut: Processed holds all 9000" "$(dovecot_count "$DC" "$DOVECOT_USER" Processed)" 9000
is "move session cut: every mail one ticket" \
	"$(q 'select count(*) from tickets'):$(q 'select count(*) from raw_messages')" "9000:9000"
