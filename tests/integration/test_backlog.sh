#!/bin/sh
# First run against a full mailbox: mail older than imap.ack_max_age_days
# becomes tickets without an acknowledgement, warning or escalation (and
# `s48ctl list --overdue` shows them); recent mail is acknowledged.  On later
# runs even old mail is acknowledged again (the first run is over).
set -u
. "$(dirname "$0")/../lib/tap.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/e2e.sh"
e2e_start
md="$T/e2e/dovecot/mail/$DOVECOT_USER"
mkdir -p "$md/new" "$md/cur" "$md/tmp"
# Dovecot's INTERNALDATE of a maildir message is its file's mtime
put() { # name days-old from subject
	f="$md/new/$(date +%s).$1.s48test"
	printf 'From: %s\nTo: prijave@example.org\nSubject: %s\nMessage-ID: <%s@backlog.example>\nDate: %s\n\nNe radi rasveta u ulici.\n' \
		"$2" "$3" "$1" "$(LC_ALL=C date -R -d "-$4 days")" >"$f"
	touch -d "-$4 days" "$f"
	[ "$(id -u)" = 0 ] && chown nobody "$f"
}
put old1 old1@example.net "Stara prijava 1" 30
put old2 old2@example.net "Stara prijava 2" 10
put new1 new1@example.net "Nova prijava" 1
[ "$(id -u)" = 0 ] && chown -R nobody "$md"
"$S48D" -c "$CONF" --once 2>"$T/run1.log"
is "first run exits 0" "$?" 0
is "three tickets" "$("$S48CTL" -c "$CONF" list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 3
acks() { "$S48CTL" -c "$CONF" outbox --json | python3 -c 'import json,sys; print(" ".join(sorted(r["to"] for r in json.load(sys.stdin) if r["kind"] == "email_ack")))'; }
is "only the recent mail is acknowledged" "$(acks)" "new1@example.net"
over=$("$S48CTL" -c "$CONF" list --overdue --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
is "list --overdue shows the two old ones" "$over" 2
"$S48D" -c "$CONF" --once 2>"$T/run2.log"
python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from outbox where kind in (\"warning\", \"escalation\")").fetchone()[0])' \
	"$T/e2e/s48.db" >"$T/esc"
is "no warning or escalation for backlog tickets" "$(cat "$T/esc")" 0
put old3 old3@example.net "Stara prijava 3" 30
chown -R nobody "$md" 2>/dev/null
"$S48D" -c "$CONF" --once 2>"$T/run3.log"
is "after the first run, old mail is acknowledged" "$(acks)" "new1@example.net old3@example.net"
