#!/bin/sh
# The email corpus (tests/corpus/email, EXPECTED.tsv) through a real Dovecot
# and s48d: each message gives the expected ticket, append or ignore, with
# its department and decoded text.  Then: a second run creates nothing, and
# a run killed between the commit and the IMAP move leaves no duplicate.
set -u
. "$(dirname "$0")/../lib/tap.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/dovecot.sh"
. "$S48_TOP/tests/lib/smtp_sink.sh"
. "$S48_TOP/tests/lib/db.sh"
C="$S48_TOP/tests/corpus/email"
dovecot_start "$T/dovecot" >/dev/null || { echo "not ok 1 - dovecot started"; exit 1; }
at_exit "dovecot_stop $T/dovecot"
smtp_sink_start "$T/smtp" >/dev/null || { echo "not ok 1 - smtp-sink started"; exit 1; }
at_exit "smtp_sink_stop $T/smtp"

mkdir -p "$T/conf"
sed -e "s|smtp://127.0.0.1:1|smtp://127.0.0.1:$SMTP_SINK_PORT|" -e 's/level = "warn"/level = "info"/' \
	"$C/s48.conf" >"$T/conf/s48.conf"
printf 'corpus-secret\n' >"$T/conf/secret"; chmod 600 "$T/conf/secret"
printf '%s\n' "$DOVECOT_PASS" >"$T/conf/imap.pass"; chmod 600 "$T/conf/imap.pass"
cat >>"$T/conf/s48.conf" <<CONF
imap = { host = "127.0.0.1"; port = $DOVECOT_PORT; tls = "none"; user = "$DOVECOT_USER";
  password_file = "imap.pass"; mailbox = "INBOX"; processed_mailbox = "Processed"; };
CONF
CONF="$T/conf/s48.conf"; DB="$T/conf/s48.db"

# one by one, so UIDs follow file order (the replies name tickets by number)
files=$(awk -F'\t' '!/^#/ && NF >= 2 { print $1 }' "$C/EXPECTED.tsv")
n=0
for f in $files; do
	dovecot_deliver "$T/dovecot" "$DOVECOT_USER" "$C/$f" || echo "# could not deliver $f"
	n=$((n + 1))
done
diag "$n corpus messages delivered"
"$S48_BIN/s48d" -c "$CONF" --once 2>"$T/run1.log"
is "s48d --once over the corpus exits 0" "$?" 0

python3 - "$DB" "$C/EXPECTED.tsv" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = []
for line in open(sys.argv[2], encoding="utf-8"):
    if line.startswith("#") or not line.strip():
        continue
    f, outcome, dept, sub = (line.rstrip("\n").split("\t") + ["-"] * 4)[:4]
    rows.append((f, outcome, dept, sub))
raw = db.execute("select id, source_key, outcome, ticket_id from raw_messages").fetchall()
raw.sort(key=lambda r: int(r[1].rsplit(":", 1)[1]))
print("# raw messages: %d, expected: %d" % (len(raw), len(rows)))
n = 0
if len(raw) != len(rows):
    print("not ok - one raw message per corpus file (%d vs %d)" % (len(raw), len(rows)))
    sys.exit(0)
ticket_of = {}
for (f, outcome, dept, sub), (rid, key, got, tid) in zip(rows, raw):
    n += 1
    why = []
    if outcome == "ticket":
        if got != "ticket":
            why.append("outcome %s" % got)
        ticket_of[f] = tid
    elif outcome.startswith("append:"):
        if got != "append":
            why.append("outcome %s" % got)
        elif tid != ticket_of.get(outcome[7:]):
            why.append("appended to #%s, not #%s" % (tid, ticket_of.get(outcome[7:])))
    elif outcome == "ignore":
        if got not in ("ignored",):
            why.append("outcome %s" % got)
    if tid and dept != "-":
        d = db.execute("select department from tickets where id = ?", (tid,)).fetchone()
        if not d or d[0] != dept:
            why.append("department %s" % (d and d[0]))
    if tid and sub != "-":
        texts = [r[0] for r in db.execute("select text from messages where raw_id = ?", (rid,))]
        texts += [r[0] for r in db.execute("select text from tickets where id = ?", (tid,))]
        if not any(sub in t for t in texts):
            why.append("text lacks %r" % sub)
    print("%s %d - %s: %s%s" % ("not ok" if why else "ok", n, f, outcome,
                                 (" (" + ", ".join(why) + ")") if why else ""))
PY
_tap_n=$((_tap_n + n))
is "INBOX is empty" "$(dovecot_count "$T/dovecot" "$DOVECOT_USER" INBOX ALL)" 0
is "every message moved to Processed" "$(dovecot_count "$T/dovecot" "$DOVECOT_USER" Processed ALL)" "$n"
tickets=$(q 'select count(*) from tickets')
"$S48_BIN/s48d" -c "$CONF" --once 2>"$T/run2.log"
is "a second run adds no raw message" "$(q 'select count(*) from raw_messages')" "$n"
is "a second run adds no ticket" "$(q 'select count(*) from tickets')" "$tickets"

# killed between the commit and the move: the messages stay in INBOX, the
# next run recognises them, moves them, and creates nothing twice
for f in 01-latin-diacritics-water.eml 02-latin-ascii-lighting.eml; do
	sed "s/^Message-ID: <\\(.*\\)>/Message-ID: <again.\\1>/I" "$C/$f" >"$T/again-$f"
	dovecot_deliver "$T/dovecot" "$DOVECOT_USER" "$T/again-$f"
done
S48_TEST_EXIT_BEFORE_ACK=1 "$S48_BIN/s48d" -c "$CONF" --once 2>"$T/run3.log"
is "the run died between commit and move" "$?" 99
is "its two messages are committed" "$(q 'select count(*) from tickets')" "$((tickets + 2))"
is "and still in INBOX" "$(dovecot_count "$T/dovecot" "$DOVECOT_USER" INBOX ALL)" 2
"$S48_BIN/s48d" -c "$CONF" --once 2>"$T/run4.log"
is "the next run creates no duplicate ticket" "$(q 'select count(*) from tickets')" "$((tickets + 2))"
is "and moves them" "$(dovecot_count "$T/dovecot" "$DOVECOT_USER" INBOX ALL)" 0
is "one raw row each" "$(q 'select count(*) from raw_messages')" "$((n + 2))"
