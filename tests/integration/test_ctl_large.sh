#!/bin/sh
# test_ctl_large.sh - s48ctl on years of tickets: 50,000 tickets and 100,000
# outbox rows (written with SQL into a database s48ctl made).  `list --json`,
# `outbox --json` and `export --format json` print as they read, so their
# memory stays flat (before: the whole array as jansson objects, ~100 MB for
# these rows); every row is in the output, which parses as JSON; the other
# verbs answer within a few seconds.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$S48_TOP/tests/lib/mkconf.sh"
tmpdir_setup
CTL="$S48_BIN/s48ctl"
[ -x "$CTL" ] || { skip "s48ctl" "not built ($CTL)"; exit 0; }
mkconf "$T/c"
C="-c $T/c/s48.conf"
export S48_NOW=1795514400          # 2026-11-24T10:00:00Z
N=${CTL_LARGE_N:-50000}

"$CTL" $C new --from "+381641112222" "Pukla cev" >/dev/null
is "s48ctl made the database" "$?" 0
python3 - "$T/c/s48.db" "$N" <<'EOF'
import sqlite3, sys
db, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
text = "Ulicna rasveta ne radi vec tri dana, molimo da se popravi. " * 4
c.execute("""WITH RECURSIVE k(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM k WHERE i < ?)
  INSERT INTO tickets(id, status, channel, reporter, department, subject, text, created_at,
    due_at, updated_at)
  SELECT i, CASE i % 4 WHEN 0 THEN 'open' WHEN 1 THEN 'in_progress' WHEN 2 THEN 'resolved'
    ELSE 'rejected' END, 'email', 'gradjanin' || i || '@example.net',
    CASE i % 3 WHEN 0 THEN 'water' WHEN 1 THEN 'lighting' ELSE 'dispatch' END,
    'Ne radi rasveta ' || i, ?, 1795514400 - i * 600, 1795514400 - i * 600 + 172800,
    1795514400 - i * 600 FROM k""", (n, text))
c.execute("""WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?)
  INSERT INTO outbox(ticket_id, channel, recipient, kind, subject, body, message_id, status,
    next_at, created_at, updated_at)
  SELECT (i % ?) + 1, 'email', 'gradjanin' || i || '@example.net', 'email_ack', 'Re: x', ?,
    'm' || i || '@s48.example', 'sent', 0, 1795514400, 1795514400 FROM k""", (2 * n, n, text))
c.commit()
EOF
is "$N tickets written" "$(python3 -c "import sqlite3; print(sqlite3.connect('$T/c/s48.db').execute('SELECT count(*) FROM tickets').fetchone()[0])")" "$N"

# VERB... : stdout to $T/out; sets rc, kb (peak RSS) and secs
measure() {
	/usr/bin/time -f '%M %e' -o "$T/time" "$CTL" $C "$@" >"$T/out" 2>"$T/err"
	rc=$?
	kb=$(cut -d' ' -f1 "$T/time" | tail -1)
	secs=$(cut -d' ' -f2 "$T/time" | tail -1)
}
count_json() { python3 -c "import json; print(len(json.load(open('$T/out'))))"; }
# without the streaming, list --json of 50,000 tickets peaked at ~100 MB
for verb in "list --json" "outbox --json" "export --format json"; do
	measure $verb
	is "$verb: exit 0" "$rc" 0
	case $verb in
	outbox*) want=$(python3 -c "import sqlite3; print(sqlite3.connect('$T/c/s48.db').execute('SELECT count(*) FROM outbox').fetchone()[0])") ;;
	*) want=$N ;;
	esac
	is "$verb: every row, valid JSON" "$(count_json)" "$want"
	if sanitized "$CTL"; then
		skip "$verb: peak RSS $kb kB stays under 30 MB" "a sanitizer build"
	else
		ok_if "$verb: peak RSS $kb kB stays under 30 MB" [ "$kb" -lt 30720 ]
	fi
	diag "$verb: $secs s, $kb kB, $(wc -c <"$T/out" | tr -d ' ') bytes"
done
measure list --json --status resolved --dept water
is "list --json with filters: exit 0" "$rc" 0
is "list --json with filters: the matching rows" "$(python3 -c "
import json; j = json.load(open('$T/out'))
print(len(j), all(t['status'] == 'resolved' and t['department'] == 'water' for t in j))")" \
	"$(python3 -c "print(len([i for i in range(2, $N + 1) if i % 4 == 2 and i % 3 == 0]), True)")"
measure list --json --status resolved --dept nowhere
is "list --json, unknown department: exit 2, nothing on stdout" "$rc:$(wc -c <"$T/out" | tr -d ' ')" "2:0"
measure list --json --since-typo
is "list --json, bad option: exit 64, nothing on stdout" "$rc:$(wc -c <"$T/out" | tr -d ' ')" "64:0"
measure list --json --overdue
is "list --json --overdue: open and in progress past due_at" "$(count_json)" \
	"$(python3 -c "print(len([i for i in range(2, $N + 1) if i % 4 in (0, 1) and i * 600 > 172800]))")"
measure list --json --status resolved --overdue
is "list --json, nothing matches: an empty array" "$(head -c 100 "$T/out")" "[]"
for verb in "list" "stats --json" "export --format csv" "show 25000 --json"; do
	measure $verb
	is "$verb: exit 0" "$rc" 0
	ok_if "$verb: within 10 s ($secs s)" awk -v s="$secs" 'BEGIN { exit !(s < 10) }'
done
# a full disk: writing the JSON fails, exit 74 (not 0 with half an array)
if [ -w /dev/full ]; then
	"$CTL" $C list --json >/dev/full 2>"$T/err"
	is "list --json to a full disk: exit 74" "$?" 74
	ok_if "it says writing failed" grep -q 'writing JSON failed' "$T/err"
	"$CTL" $C export --format csv >/dev/full 2>"$T/err"
	is "export csv to a full disk: exit 74" "$?" 74
else
	skip "list --json to a full disk" "no /dev/full"
	skip "it says writing failed" "no /dev/full"
	skip "export csv to a full disk" "no /dev/full"
fi
