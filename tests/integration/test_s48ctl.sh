#!/bin/sh
# test_s48ctl.sh - every s48ctl verb against a temp config and database:
# outputs (JSON parsed back with python3 and checked field by field, CSV
# with BOM and RFC 4180 quoting), exit codes 0/1/2/64/78, the outbox rows
# the verbs queue, stats over local-date ranges, backup while writing.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$S48_TOP/tests/lib/mkconf.sh"
tmpdir_setup
CTL="$S48_BIN/s48ctl"
if [ ! -x "$CTL" ]; then
	skip "s48ctl" "not built ($CTL)"
	exit 0
fi
mkconf "$T/c"
C="-c $T/c/s48.conf"
export S48_NOW=1795514400          # 2026-11-24T10:00:00Z (11:00 in Belgrade), a Tuesday
export USER=tester
unset SUDO_USER

# run CMD...: stdout -> $T/out, stderr -> $T/err, exit code -> $rc
run() { "$@" >"$T/out" 2>"$T/err"; rc=$?; }
# py EXPR: evaluate EXPR with j = the JSON in $T/out
py() { python3 -c "import json,sys; j=json.load(open('$T/out')); print($1)"; }
lines() { wc -l <"$1" | tr -d ' '; }
sql() { python3 -c "import sqlite3,sys; c=sqlite3.connect('$T/c/s48.db'); r=c.execute(sys.argv[1]).fetchall(); c.commit(); print('|'.join(str(x) for row in r for x in row))" "$1"; }

# ---- new ------------------------------------------------------------------
run "$CTL" $C new --from "064 111 2222" "Pukla cev u ulici Njegoseva"
is "new sms: exit 0" "$rc" 0
is "new sms: output" "$(cat "$T/out")" "ticket 1: water, due 26.11.2026. 11:00"
is "new sms: E.164 reporter" "$(sql "SELECT reporter, channel FROM tickets WHERE id = 1")" "+381641112222|sms"
is "new sms: ack queued, not automatic" "$(sql "SELECT count(*) FROM outbox WHERE ticket_id = 1 AND kind = 'sms_ack' AND status = 'pending' AND auto = 0")" 1
is "new sms: department mail + sms" "$(sql "SELECT count(*) FROM outbox WHERE ticket_id = 1 AND kind = 'dept_new'")" 2

run "$CTL" $C new --from Ana.Petrovic@Example.ORG --subject "Ne radi svetiljka" --json "Kod skole ne radi lampa, a ni bandera"
is "new email --json: exit 0" "$rc" 0
is "new --json: id" "$(py "j['id']")" 2
is "new --json: channel" "$(py "j['channel']")" email
is "new --json: reporter lower-cased" "$(py "j['reporter']")" ana.petrovic@example.org
is "new --json: department" "$(py "j['department']")" lighting
is "new --json: subject" "$(py "j['subject']")" "Ne radi svetiljka"
is "new --json: created_at" "$(py "j['created_at']")" 2026-11-24T10:00:00Z
is "new --json: due_at" "$(py "j['due_at']")" 2026-11-26T10:00:00Z
is "new --json: resolved_at null" "$(py "j['resolved_at'] is None")" True
is "new --json: overdue false" "$(py "j['overdue'] is False")" True
is "new --json: messages (in, out)" "$(py "','.join(m['direction'] for m in j['messages'])")" "in,out"
is "new --json: ack names the ticket and department" "$(py "' 2' in j['messages'][1]['text'] and 'Javna rasveta' in j['messages'][1]['text']")" True
is "new --json: created event fields" "$(py "(j['events'][0]['kind'], j['events'][0]['to'], j['events'][0]['by'], j['events'][0]['from'], j['events'][0]['note'])")" "('created', 'lighting', 'tester', None, None)"
is "new --json: no attachments" "$(py "j['attachments']")" "[]"
is "new email: ack subject" "$(sql "SELECT subject FROM outbox WHERE ticket_id = 2 AND kind = 'email_ack'")" "Re: [S48 #2] Ne radi svetiljka"

run "$CTL" $C new --from 011/123-4567 "Rupa na putu"
is "new landline: ticket created" "$rc" 0
is "new landline: ack suppressed" "$(sql "SELECT status || ':' || reason FROM outbox WHERE ticket_id = 3 AND kind = 'sms_ack'")" "suppressed:number cannot take SMS"
run "$CTL" $C new --from "not a number" "x"
is "new with a bad --from: exit 2" "$rc" 2
is "new with a bad --from: one line on stderr" "$(lines "$T/err")" 1
run "$CTL" $C new --from 0641112222
is "new without TEXT: exit 64" "$rc" 64
run "$CTL" $C new "text only"
is "new without --from: exit 64" "$rc" 64

# ---- list -----------------------------------------------------------------
run "$CTL" $C list --json
is "list --json: exit 0" "$rc" 0
is "list --json: three tickets" "$(py "len(j)")" 3
is "list --json: fields" "$(py "sorted(k for k in j[0] if k in ('id','status','channel','department','subject','created_at','due_at','overdue'))")" "['channel', 'created_at', 'department', 'due_at', 'id', 'overdue', 'status', 'subject']"
is "list --json: first row" "$(py "(j[0]['id'], j[0]['status'], j[0]['channel'], j[0]['department'], j[0]['due_at'], j[0]['overdue'])")" "(1, 'open', 'sms', 'water', '2026-11-26T10:00:00Z', False)"
run "$CTL" $C list --dept lighting --json
is "list --dept: filtered" "$(py "[t['id'] for t in j]")" "[2]"
run "$CTL" $C list --dept nope
is "list --dept unknown: exit 2" "$rc" 2
run "$CTL" $C list --status bogus
is "list --status unknown: exit 2" "$rc" 2
run "$CTL" $C list --overdue --json
is "list --overdue: none yet" "$(py "len(j)")" 0
run env S48_NOW=1795700000 "$CTL" $C list --overdue --json
is "list --overdue: all three after the due time" "$(py "[t['id'] for t in j if t['overdue']]")" "[1, 2, 3]"
run "$CTL" $C list
is "list: table has a header and three rows" "$(lines "$T/out")" 4
run "$CTL" $C list --bogus
is "list --bogus: exit 64" "$rc" 64
# a department taken out of the config: its old tickets stay findable
python3 - "$T/c/s48.conf" "$T/nolight.conf" <<'PY'
import re, sys
s = open(sys.argv[1]).read()
s2 = re.sub(r'  \{ id = "lighting";.*?\},\n', '', s, flags=re.S)
assert s2 != s
open(sys.argv[2], 'w').write(s2)
PY
run "$CTL" -c "$T/nolight.conf" list --dept lighting --json
is "list --dept of a department no longer configured: exit 0" "$rc" 0
is "list --dept of a department no longer configured: its tickets" "$(py "[t['id'] for t in j]")" "[2]"
run "$CTL" -c "$T/nolight.conf" list --dept nope
is "list --dept neither configured nor in the database: exit 2" "$rc" 2

# ---- status / assign / note ----------------------------------------------
run "$CTL" $C status 1 in_progress --note "Ekipa je izasla" --by petar
is "status: exit 0" "$rc" 0
run "$CTL" $C show 1 --json
is "status: ticket updated" "$(py "j['status']")" in_progress
is "status: event" "$(py "[(e['kind'], e['from'], e['to'], e['by'], e['note']) for e in j['events'] if e['kind'] == 'status']")" "[('status', 'open', 'in_progress', 'petar', 'Ekipa je izasla')]"
is "status: citizen told with the note" "$(sql "SELECT count(*) FROM outbox WHERE ticket_id = 1 AND kind = 'sms_status' AND body LIKE '%Ekipa je izasla%'")" 1
run "$CTL" $C status 1 in_progress
is "status to the same status: exit 2" "$rc" 2
is "status refused: message" "$(cat "$T/err")" "s48ctl: ticket 1: in_progress -> in_progress is not allowed"
run "$CTL" $C status 1 closed
is "status unknown: exit 2" "$rc" 2
run "$CTL" $C status 99 resolved
is "status of a missing ticket: exit 1" "$rc" 1
is "status missing: one line" "$(lines "$T/err")" 1
run "$CTL" $C status abc resolved
is "status with a bad number: exit 64" "$rc" 64
run "$CTL" $C status 1
is "status without STATUS: exit 64" "$rc" 64
run "$CTL" $C status 3 rejected
run "$CTL" $C status 3 in_progress
is "rejected -> in_progress refused" "$rc" 2
run "$CTL" $C status 3 open --note "ponovo"
is "rejected -> open (reopen) allowed" "$rc" 0
is "reopen clears resolved_at" "$(sql "SELECT resolved_at IS NULL FROM tickets WHERE id = 3")" 1

run "$CTL" $C assign 1 lighting --note "nije cev nego lampa" --by petar
is "assign: exit 0" "$rc" 0
is "assign: department" "$(sql "SELECT department FROM tickets WHERE id = 1")" lighting
is "assign: citizen told the department name" "$(sql "SELECT count(*) FROM outbox WHERE ticket_id = 1 AND kind = 'sms_assign' AND body LIKE '%Javna rasveta%'")" 1
is "assign: new department notified" "$(sql "SELECT recipient FROM outbox WHERE ticket_id = 1 AND kind = 'dept_assign'")" rasveta@jkp.example.org
run "$CTL" $C assign 1 lighting
is "assign to the same department: exit 2" "$rc" 2
run "$CTL" $C assign 1 nope
is "assign to an unknown department: exit 2" "$rc" 2
run "$CTL" $C assign 42 water
is "assign a missing ticket: exit 1" "$rc" 1

run "$CTL" $C note 1 interna beleska --by petar
is "note: exit 0" "$rc" 0
run "$CTL" $C note 1 --public "Sutra menjamo sijalicu"
is "note --public: exit 0" "$rc" 0
run "$CTL" $C show 1 --json
is "notes: events" "$(py "[(e['note'], e['public']) for e in j['events'] if e['kind'] == 'note']")" "[('interna beleska', False), ('Sutra menjamo sijalicu', True)]"
is "note --public reaches the citizen only" "$(sql "SELECT count(*) || ':' || max(body LIKE '%Sutra menjamo%') FROM outbox WHERE ticket_id = 1 AND kind = 'sms_note'")" "1:1"
run "$CTL" $C note 77 x
is "note on a missing ticket: exit 1" "$rc" 1
# a TEXT that begins with '-' and a digit or a space is text, not an option
run "$CTL" $C note 1 "-3 stepena, cev je pukla" --by petar
is "note '-3 ...': exit 0" "$rc" 0
run "$CTL" $C note 1 -- --public
is "note -- --public: exit 0 (text after --)" "$rc" 0
run "$CTL" $C status 1 open --note "-2 C, ponovo otvoreno"
is "status --note '-2 ...': exit 0" "$rc" 0
run "$CTL" $C show 1 --json
is "texts beginning with '-' kept" "$(py "[(e['note'], e['public']) for e in j['events'] if e['note'] and e['note'][0] == '-']")" "[('-3 stepena, cev je pukla', False), ('--public', False), ('-2 C, ponovo otvoreno', True)]"
run "$CTL" $C status 1 in_progress
run "$CTL" $C note 1 --pubic "x"
is "a mistyped option is still refused: exit 64" "$rc" 64
is "a mistyped option: named" "$(cat "$T/err")" "s48ctl: bad option or missing argument: --pubic (usage: s48ctl [-c FILE] note N TEXT [--public] [--by NAME])"
run "$CTL" $C note 1 -x
is "an unknown short option is refused: exit 64" "$rc" 64

# ---- show -----------------------------------------------------------------
run "$CTL" $C show 1
is "show: exit 0" "$rc" 0
ok_if "show: human output names the ticket" grep -q "Ticket #1" "$T/out"
run "$CTL" $C show 1000 --json
is "show missing: exit 1" "$rc" 1
is "show missing: stderr" "$(cat "$T/err")" "s48ctl: no such ticket: 1000"
is "show missing: nothing on stdout" "$(lines "$T/out")" 0
run "$CTL" $C show
is "show without N: exit 64" "$rc" 64
# a number that can name no ticket is "no such ticket" (SPEC: 1); what is
# not a number is usage (64)
while read -r args want msg; do
	args=$(printf '%s' "$args" | tr '_' ' ')
	# shellcheck disable=SC2086
	run "$CTL" $C $args
	is "$args: exit $want" "$rc" "$want"
	is "$args: stderr" "$(head -n 1 "$T/err" | sed 's/ (usage: .*//')" "$(printf '%s' "$msg" | tr '_' ' ')"
done <<'CASES'
show_0 1 s48ctl:_no_such_ticket:_0
show_00 1 s48ctl:_no_such_ticket:_00
show_9999999999999 1 s48ctl:_no_such_ticket:_9999999999999
status_0_resolved 1 s48ctl:_no_such_ticket:_0
note_0_tekst 1 s48ctl:_no_such_ticket:_0
attachment_0_1 1 s48ctl:_no_such_ticket:_0
show_x1 64 s48ctl:_not_a_ticket_number:_x1
show_1x 64 s48ctl:_not_a_ticket_number:_1x
attachment_0_x 64 s48ctl:_not_an_index:_x
CASES

# ---- attachments (rows as the daemon stores them) -------------------------
printf 'PNG\000\001binary' >"$T/a.bin"
python3 - "$T/c/s48.db" "$T/a.bin" <<'PY'
import hashlib, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
data = open(sys.argv[2], 'rb').read()
c.execute("INSERT INTO attachments(ticket_id, idx, filename, content_type, size, sha256, content, omitted) VALUES(1, 0, 'slika.png', 'image/png', ?, ?, ?, 0)", (len(data), hashlib.sha256(data).hexdigest(), data))
c.execute("INSERT INTO attachments(ticket_id, idx, filename, content_type, size, sha256, content, omitted) VALUES(1, 1, 'film.mp4', 'video/mp4', 99999999, '', NULL, 1)")
c.commit()
PY
run "$CTL" $C show 1 --json
is "show: attachments" "$(py "[(a['filename'], a['content_type'], a['size']) for a in j['attachments']]")" "[('slika.png', 'image/png', 11), ('film.mp4', 'video/mp4', 99999999)]"
is "show: attachment sha256" "$(py "j['attachments'][0]['sha256']")" "$(sha256sum "$T/a.bin" | cut -d' ' -f1)"
run "$CTL" $C attachment 1 0 -o "$T/got.bin"
is "attachment -o: exit 0" "$rc" 0
ok_if "attachment -o: same bytes" cmp -s "$T/a.bin" "$T/got.bin"
"$CTL" $C attachment 1 0 >"$T/stdout.bin"
ok_if "attachment to stdout: same bytes" cmp -s "$T/a.bin" "$T/stdout.bin"
run "$CTL" $C attachment 1 1
is "attachment omitted: exit 1" "$rc" 1
run "$CTL" $C attachment 1 7
is "attachment missing index: exit 1" "$rc" 1
run "$CTL" $C attachment 99 0
is "attachment of a missing ticket: exit 1" "$rc" 1
run "$CTL" $C attachment 1
is "attachment without INDEX: exit 64" "$rc" 64
# on a terminal: plain text is shown, other bytes are refused (they could
# take the clerk's terminal over); a pipe or -o gets every byte as before
on_tty() { python3 -c '
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = b""
while True:
    try:
        d = os.read(fd, 4096)
    except OSError:
        break
    if not d:
        break
    out += d
_, st = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.WEXITSTATUS(st))' "$@"; }
python3 - "$T/c/s48.db" <<'PY'
import hashlib, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for idx, data in ((2, "Adresa: Njegoševa 5\r\nulaz B\n".encode()), (3, b"x\x1b]0;pwned\x07y\n")):
    c.execute("INSERT INTO attachments(ticket_id, idx, filename, content_type, size, sha256, content, omitted) VALUES(1, ?, 'a.txt', 'text/plain', ?, ?, ?, 0)", (idx, len(data), hashlib.sha256(data).hexdigest(), data))
c.commit()
PY
on_tty "$CTL" $C attachment 1 0 >"$T/tty.out"
is "attachment of binary bytes to a terminal: exit 64" "$?" 64
ok_if "attachment to a terminal: the bytes are not written" sh -c "! grep -q binary '$T/tty.out'"
ok_if "attachment to a terminal: says to use -o" grep -q "give -o FILE" "$T/tty.out"
on_tty "$CTL" $C attachment 1 3 >"$T/tty.out"
is "attachment with escape sequences to a terminal: exit 64" "$?" 64
on_tty "$CTL" $C attachment 1 2 >"$T/tty.out"
is "plain-text attachment to a terminal: exit 0" "$?" 0
ok_if "plain-text attachment to a terminal: shown" grep -q "Adresa: Njegoševa 5" "$T/tty.out"
"$CTL" $C attachment 1 3 >"$T/pipe.out"
is "the same attachment to a pipe: every byte" "$(od -An -tx1 "$T/pipe.out" | tr -d ' \n')" "781b5d303b70776e656407790a"
python3 - "$T/c/s48.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("DELETE FROM attachments WHERE ticket_id = 1 AND idx IN (2, 3)")
c.commit()
PY

# ---- text that is not valid UTF-8 (e.g. a gateway's raw bytes) still shows --
python3 - "$T/c/s48.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE messages SET text = CAST(X'4375726920766f6461ff21' AS TEXT) WHERE ticket_id = 2 AND direction = 'in'")
c.commit()
PY
run "$CTL" $C show 2 --json
is "show with invalid UTF-8: exit 0" "$rc" 0
is "show with invalid UTF-8: repaired, not dropped" "$(py "j['messages'][0]['text']")" "Curi voda�!"

# ---- route ----------------------------------------------------------------
run "$CTL" $C route "Pukla cev, ne radi sijalica"
is "route: exit 0" "$rc" 0
is "route: tie goes to the first department" "$(head -1 "$T/out")" "department: water (Vodovod i kanalizacija), score 1"
ok_if "route: water's keyword listed" grep -q "water .*score 1: cev" "$T/out"
ok_if "route: lighting's keyword listed" grep -q "lighting .*score 1: sijalic\\*" "$T/out"
run "$CTL" $C route "nista"
ok_if "route: no match -> default" grep -q "^department: dispatch" "$T/out"
run "$CTL" $C route
is "route without TEXT: exit 64" "$rc" 64

# ---- stats with local dates -----------------------------------------------
# ticket 4 on 2026-11-20 (Friday) 23:30 UTC = 2026-11-21 00:30 local
S48_NOW=1795217400 "$CTL" $C new --from 0641112222 "Curi voda" >/dev/null
# ticket 5 on 2026-11-24, resolved 3 hours later; ticket 6 resolved 5 hours later
"$CTL" $C new --from 0641112222 "Voda u podrumu" >/dev/null
"$CTL" $C new --from 0641112222 "Hidrant curi" >/dev/null
S48_NOW=$((S48_NOW + 3 * 3600)) "$CTL" $C status 5 resolved >/dev/null
S48_NOW=$((S48_NOW + 5 * 3600)) "$CTL" $C status 6 resolved >/dev/null
run "$CTL" $C stats --since 2026-11-24 --until 2026-11-24 --json
is "stats: exit 0" "$rc" 0
is "stats: water on 2026-11-24" "$(py "[(d['received'], d['open'], d['in_progress'], d['resolved'], d['rejected'], d['overdue'], d['median_hours_to_resolve'], d['resolved_within_sla_pct']) for d in j['departments'] if d['id'] == 'water']")" "[(2, 0, 0, 2, 0, 0, 4.0, 100.0)]"
is "stats: lighting has no resolved ticket -> nulls" "$(py "[(d['received'], d['median_hours_to_resolve'], d['resolved_within_sla_pct']) for d in j['departments'] if d['id'] == 'lighting']")" "[(2, None, None)]"
is "stats: total" "$(py "(j['total']['received'], j['total']['open'], j['total']['in_progress'], j['total']['resolved'], j['total']['median_hours_to_resolve'])")" "(5, 2, 1, 2, 4.0)"
run "$CTL" $C stats --since 2026-11-21 --until 2026-11-21 --json
is "stats: 00:30 local on the 21st counts for the 21st" "$(py "j['total']['received']")" 1
run "$CTL" $C stats --until 2026-11-20 --json
is "stats: nothing up to the 20th (local)" "$(py "j['total']['received']")" 0
run "$CTL" $C stats --json
is "stats: everything without dates" "$(py "j['total']['received']")" 6
run "$CTL" $C stats
is "stats: table" "$(grep -c '^total' "$T/out")" 1
run "$CTL" $C stats --since 2026-13-01
is "stats with a bad date: exit 64" "$rc" 64
run "$CTL" $C stats --since 2026-11-25 --until 2026-11-24 --json
is "stats --since after --until: exit 64, not an empty period" "$rc" 64
is "stats --since after --until: one line naming both" "$(cat "$T/err" | grep -c 'since 2026-11-25 is after --until 2026-11-24')" 1
is "stats --since after --until: nothing on stdout" "$(lines "$T/out")" 0

# ---- outbox ---------------------------------------------------------------
run "$CTL" $C outbox --json
is "outbox --json: exit 0" "$rc" 0
is "outbox --json: newest first" "$(py "all(j[i]['id'] > j[i+1]['id'] for i in range(len(j)-1)) and len(j) > 10")" True
is "outbox --json: fields" "$(py "sorted(k for k in j[0] if k in ('id','ticket','channel','to','kind','status','attempts','next_at','reason'))")" "['attempts', 'channel', 'id', 'kind', 'next_at', 'reason', 'status', 'ticket', 'to']"
is "outbox --json: landline row" "$(py "[(r['ticket'], r['to'], r['status'], r['reason'], r['attempts']) for r in j if r['kind'] == 'sms_ack' and r['ticket'] == 3]")" "[(3, '+381111234567', 'suppressed', 'number cannot take SMS', 0)]"
run "$CTL" $C outbox --failed --json
is "outbox --failed: none yet" "$(py "len(j)")" 0
# the same database with a config that has no smtp group: email rows fail at once
MKCONF_SMTP=0 mkconf "$T/nosmtp"
sed -i "s|^database = .*|database = \"$T/c/s48.db\";|" "$T/nosmtp/s48.conf"
run "$CTL" -c "$T/nosmtp/s48.conf" new --from jovan@example.org "Pukla cev"
is "new with the email channel off: exit 0" "$rc" 0
run "$CTL" $C outbox --failed --json
is "outbox --failed: the failed rows only" "$(py "sorted(set((r['status'], r['reason']) for r in j))")" "[('failed', 'channel not configured')]"
is "outbox --failed: ack + department mail" "$(py "sorted(r['kind'] for r in j)")" "['dept_new', 'email_ack']"
fid=$(py "j[0]['id']")
run "$CTL" $C outbox retry "$fid"
is "outbox retry: exit 0" "$rc" 0
is "outbox retry: pending, attempts 0, no reason" "$(sql "SELECT status || ':' || attempts || ':' || coalesce(reason, '-') FROM outbox WHERE id = $fid")" "pending:0:-"
run "$CTL" $C outbox retry "$fid"
is "outbox retry of a pending row: exit 2" "$rc" 2
run "$CTL" $C outbox retry 99999
is "outbox retry of a missing row: exit 1" "$rc" 1
run "$CTL" $C outbox retry
is "outbox retry without ID: exit 64" "$rc" 64
sid=$(sql "SELECT id FROM outbox WHERE status = 'suppressed' LIMIT 1")
run "$CTL" $C outbox retry "$sid"
is "outbox retry of a suppressed row: exit 0" "$rc" 0
run "$CTL" $C outbox
is "outbox: table lists every row" "$(lines "$T/out")" "$(( $(sql "SELECT count(*) FROM outbox") + 1 ))"

# ---- export ---------------------------------------------------------------
"$CTL" $C new --from 0641112222 "$(printf 'Rekao je "hitno", molim\ndrugi red')" >/dev/null
run "$CTL" $C export --format csv
is "export csv: exit 0" "$rc" 0
is "export csv: UTF-8 BOM" "$(head -c 3 "$T/out" | od -An -tx1 | tr -d ' ')" efbbbf
is "export csv: CRLF rows" "$(head -1 "$T/out" | od -An -c | tr -s ' ' | grep -c '\\r \\n')" 1
is "export csv: quoting round-trips" "$(python3 -c "
import csv, io
data = open('$T/out', encoding='utf-8-sig', newline='').read()
rows = list(csv.DictReader(io.StringIO(data, newline='')))
r = rows[-1]
print(len(rows), r['id'], repr(r['text']), r['created_at'], r['resolved_at'] == '')")" "8 8 'Rekao je \"hitno\", molim\\ndrugi red' 2026-11-24T10:00:00Z True"
ok_if "export csv: a quote is doubled inside quotes" grep -q '"Rekao je ""hitno"", molim' "$T/out"
run "$CTL" $C export --format json
is "export json: all tickets" "$(py "[t['id'] for t in j]")" "[1, 2, 3, 4, 5, 6, 7, 8]"
is "export json: resolved_at" "$(py "j[4]['resolved_at']")" 2026-11-24T13:00:00Z
run "$CTL" $C export --format json --since 2026-11-22
is "export --since" "$(py "[t['id'] for t in j]")" "[1, 2, 3, 5, 6, 7, 8]"
run "$CTL" $C export --format xml
is "export with a bad format: exit 64" "$rc" 64
run "$CTL" $C export
is "export without --format: exit 64" "$rc" 64

# ---- backup while another process writes ----------------------------------
( i=0; while [ $i -lt 30 ]; do "$CTL" $C note 2 "zapis $i" >/dev/null 2>&1; i=$((i + 1)); done ) &
wpid=$!
run "$CTL" $C backup "$T/backup.db"
is "backup: exit 0" "$rc" 0
wait $wpid
is "backup: consistent copy" "$(python3 -c "
import sqlite3
c = sqlite3.connect('$T/backup.db')
print(c.execute('PRAGMA integrity_check').fetchone()[0], c.execute('SELECT count(*) FROM tickets').fetchone()[0])")" "ok 8"
run "$CTL" $C backup /nonexistent-dir/b.db
is "backup to an unwritable path: non-zero" "$([ "$rc" -ne 0 ] && echo yes)" yes
run "$CTL" $C backup
is "backup without FILE: exit 64" "$rc" 64
# the copy is renamed over FILE: over the live database s48d would go on
# writing to the replaced file (every later change lost), over its WAL the
# database would be corrupted
cksum_db() { cat "$T/c/s48.db" "$T/c/s48.db-wal" 2>/dev/null | cksum; }
before=$(cksum_db)
run "$CTL" $C backup "$T/c/s48.db"
is "backup onto the database itself: refused (exit 2)" "$rc" 2
is "backup onto the database: one line on stderr" "$(lines "$T/err")" 1
run "$CTL" $C backup "$T/c/../c/s48.db-wal"
is "backup onto the database's WAL: refused" "$rc" 2
ln "$T/c/s48.db" "$T/hardlink.db"
run "$CTL" $C backup "$T/c/s48.db.sent-log"
is "backup onto the database's sent-log: refused" "$rc" 2
run "$CTL" $C backup "$T/c/s48.db.sent-log.1"
is "backup onto the database's older sent-log: refused" "$rc" 2
run "$CTL" $C backup "$T/c/s48.db.sent"
is "backup onto an older s48's crash journal (DATABASE.sent): refused" "$rc" 2
run "$CTL" $C backup "$T/hardlink.db"
is "backup onto a hard link of the database: refused" "$rc" 2
rm -f "$T/hardlink.db"
is "refused backups left the database alone" "$(cksum_db)" "$before"
# the copy holds every reporter's number and address: no more readable than the database
chmod 600 "$T/c/s48.db"
( umask 022; "$CTL" $C backup "$T/private.db" >/dev/null 2>&1 )
is "backup of a 0600 database is 0600 (umask 022)" "$(stat -c %a "$T/private.db")" 600
chmod 640 "$T/c/s48.db"
( umask 022; "$CTL" $C backup "$T/private.db" >/dev/null 2>&1 )
is "backup of a 0640 database is 0640" "$(stat -c %a "$T/private.db")" 640
( umask 077; "$CTL" $C backup "$T/private.db" >/dev/null 2>&1 )
is "backup: a narrower umask is kept" "$(stat -c %a "$T/private.db")" 600
# the temporary copy is created exclusively under a name nobody can guess (a
# file or link planted at FILE.tmp<pid> received the citizens' data before)
if command -v strace >/dev/null 2>&1; then
	strace -f -e trace=openat -o "$T/backup.strace" "$CTL" $C backup "$T/private.db" >/dev/null 2>&1
	ok_if "backup: the temporary copy is created with O_EXCL" \
		grep -q "private.db.tmp[A-Za-z0-9]\{6\}\", O_RDWR|O_CREAT|O_EXCL" "$T/backup.strace"
	ok_if "backup: no temporary file left" sh -c '! ls "$1".tmp* >/dev/null 2>&1' - "$T/private.db"
else
	skip "backup: the temporary copy is created with O_EXCL" "no strace"
	skip "backup: no temporary file left" "no strace"
fi
chmod 644 "$T/c/s48.db"

# ---- citizen text with control characters ----------------------------------
# an SMS or mail can carry ESC sequences; the tables and `show` must not send
# them to a clerk's terminal (JSON escapes them anyway)
"$CTL" $C new --from 0641112222 --subject "$(printf 'Cev\033[2J pukla')" \
    "$(printf 'voda\033]0;x\007 curi\302\233 31m\rkraj\ndrugi red')" >/dev/null
esc_id=$(sql "SELECT max(id) FROM tickets")
has_ctl() { python3 -c "import sys; d=open(sys.argv[1],'rb').read(); print(any(b < 32 and b not in (9, 10) or b == 127 for b in d) or b'\xc2\x9b' in d)" "$1"; }
run "$CTL" $C show "$esc_id"
is "show with control characters: exit 0" "$rc" 0
is "show: no control characters reach the terminal" "$(has_ctl "$T/out")" False
ok_if "show: the text is still readable" grep -q "voda?]0;x? curi? 31m?kraj" "$T/out"
ok_if "show: its second line indented" grep -q "^  drugi red" "$T/out"
run "$CTL" $C list
is "list: no control characters" "$(has_ctl "$T/out")" False
ok_if "list: subject shown" grep -q "Cev?\[2J pukla" "$T/out"
run "$CTL" $C show "$esc_id" --json
is "show --json keeps the text exactly" "$(py "j['subject'] == 'Cev\x1b[2J pukla' and j['text'].startswith('voda\x1b]0;x\x07')")" True
python3 - "$T/c/s48.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE outbox SET reason = 'smtp: 550 ' || char(27) || '[31mno' WHERE id = (SELECT max(id) FROM outbox)")
c.commit()
PY
run "$CTL" $C outbox
is "outbox table: no control characters" "$(has_ctl "$T/out")" False

# ---- export CSV: invalid UTF-8 and formula-like fields ---------------------
"$CTL" $C new --from "064 111 2222" --subject "=HYPERLINK(\"http://x.example\",\"klik\")" -- "-2+3 @SUM(A1) +381 voda" >/dev/null
f_id=$(sql "SELECT max(id) FROM tickets")
python3 - "$T/c/s48.db" "$esc_id" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE tickets SET subject = CAST(X'4375726920766f6461ff21' AS TEXT) WHERE id = ?", (int(sys.argv[2]),))
c.commit()
PY
run "$CTL" $C export --format csv
is "export csv with invalid UTF-8 in a row: exit 0" "$rc" 0
is "export csv: strict UTF-8 after the BOM, bad bytes repaired" "$(python3 -c "
import csv, io
data = open('$T/out', 'rb').read()[3:].decode('utf-8')
rows = {r['id']: r for r in csv.DictReader(io.StringIO(data, newline=''))}
print(rows['$esc_id']['subject'])")" "Curi voda�!"
is "export csv: formula-like fields start with ' (read as text)" "$(python3 -c "
import csv, io
data = open('$T/out', encoding='utf-8-sig', newline='').read()
r = {r['id']: r for r in csv.DictReader(io.StringIO(data, newline=''))}['$f_id']
print(r['subject'], '|', r['text'], '|', r['reporter'])")" "'=HYPERLINK(\"http://x.example\",\"klik\") | '-2+3 @SUM(A1) +381 voda | +381641112222"
run "$CTL" $C export --format json
is "export json: the same fields untouched" "$(py "[(t['subject'], t['text']) for t in j if t['id'] == $f_id]")" "[('=HYPERLINK(\"http://x.example\",\"klik\")', '-2+3 @SUM(A1) +381 voda')]"

# ---- usage and configuration errors ---------------------------------------
run "$CTL" $C
is "no command: exit 64" "$rc" 64
is "no command: one line on stderr" "$(lines "$T/err")" 1
run "$CTL" $C frobnicate
is "unknown command: exit 64" "$rc" 64
is "unknown command: one line naming it and the commands" "$(grep -c '^s48ctl: unknown command frobnicate (commands: list show .* backup; ' "$T/err")/$(lines "$T/err")" 1/1
run "$CTL" --frobnicate list
is "unknown global option: exit 64, one line" "$rc/$(lines "$T/err")" 64/1
run "$CTL" -c
is "-c without FILE: exit 64, one line" "$rc/$(lines "$T/err")" 64/1
ok_if "-c without FILE: says so" grep -q '^s48ctl: -c needs a FILE' "$T/err"
run "$CTL" -c "$T/missing.conf" list
is "missing config: exit 78" "$rc" 78
is "missing config: one line" "$(lines "$T/err")" 1
printf 'database = "x.db";\nbogus_key = 1;\ndefault_department = "nope";\n' >"$T/bad.conf"
run "$CTL" -c "$T/bad.conf" list
is "invalid config: exit 78" "$rc" 78
is "invalid config: errors on one line" "$(lines "$T/err")" 1
is "invalid config: every error, joined with '; '" "$(cat "$T/err")" "s48ctl: $T/bad.conf:2: bogus_key: unknown key; $T/bad.conf:1: secret_file: missing (required); $T/bad.conf:1: departments: missing (at least one department is required)"
run "$CTL" -c "$T/c" list
is "a directory as config: exit 78" "$rc" 78
is "a directory as config: says so" "$(cat "$T/err")" "s48ctl: $T/c: cannot read: Is a directory"
run env S48_CONFIG="$T/c/s48.conf" "$CTL" list --json
is "S48_CONFIG is used without -c" "$rc" 0
run "$CTL" --help
is "--help: exit 0" "$rc" 0

# ---- a report TEXT that begins with '-' (last: it adds a ticket) ----------
run "$CTL" $C new --from +381641112233 "-5 stepena a voda curi iz hidranta"
is "new '-5 ...': exit 0" "$rc" 0
ok_if "new '-5 ...': routed to water" grep -q '^ticket [0-9]*: water, due ' "$T/out"
run "$CTL" $C new --from +381641112233 --subject "-x" -- "-minus"
is "new -- '-minus': exit 0" "$rc" 0
is "new -- '-minus': the text and subject stored" "$(sql "SELECT subject || '|' || (SELECT text FROM messages WHERE ticket_id = tickets.id AND direction = 'in') FROM tickets ORDER BY id DESC LIMIT 1")" "-x|-minus"

echo "1..$_tap_n"
