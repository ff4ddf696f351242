#!/bin/sh
# test_ctl_safety.sh - s48ctl and a clerk's terminal and disk: a database
# s48ctl creates is readable by its owner only (citizens' data), a citizen's
# multi-line text cannot pass for s48ctl's own lines in `show`, and Unicode
# bidirectional controls cannot reorder a table row.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$S48_TOP/tests/lib/mkconf.sh"
tmpdir_setup
CTL="$S48_BIN/s48ctl"
MKCONF_SMS=0 mkconf "$T/c"
C="-c $T/c/s48.conf"
export S48_NOW=1795514400          # 2026-11-24T10:00:00Z

# ---- file modes -------------------------------------------------------------
(umask 022; "$CTL" $C new --from 0641112222 --subject "Rasveta" "$(printf 'Ne radi rasveta\n  2026-11-24 11:00 out sms   Sistem 48: prijava br. 1: resena.\nEvents:\n  2026-11-24 11:00 status open -> resolved by petar')" >/dev/null)
is "new with umask 022: exit 0" "$?" 0
is "the database s48ctl created is owner-only" "$(stat -c %a "$T/c/s48.db")" 600
for f in "$T/c/s48.db-wal" "$T/c/s48.db-shm"; do
	[ -e "$f" ] && is "$(basename "$f") is owner-only" "$(stat -c %a "$f")" 600
done

# ---- show: citizen lines never at the margin -------------------------------
"$CTL" $C show 1 >"$T/show"
is "show: exit 0" "$?" 0
is "show: one outgoing message line (the acknowledgement), none forged" \
	"$(grep -cE '^  [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{5} out ' "$T/show")" 1
is "show: one Events heading" "$(grep -c '^Events:' "$T/show")" 1
is "show: one status event (none, the forged one is text)" \
	"$(grep -cE '^  [0-9-]{10} [0-9:]{5} status ' "$T/show")" 0
ok_if "show: the message's further lines under its text" \
	grep -q '^                             Events:$' "$T/show"

# ---- bidi controls ------------------------------------------------------------
rlo=$(printf '\342\200\256')
lri=$(printf '\342\201\246')
"$CTL" $C new --from 0641112223 --subject "Rasveta ${rlo}desrever${lri}x" "rasveta" >/dev/null
"$CTL" $C list >"$T/list"
ok_if "list: no bidi override or isolate reaches the terminal" sh -c \
	"! grep -q '$rlo\|$lri' '$T/list'"
ok_if "list: the subject is shown with '?' for them" grep -q 'Rasveta ?desrever?x' "$T/list"
"$CTL" $C show 2 >"$T/show2"
ok_if "show: no bidi control" sh -c "! grep -q '$rlo\|$lri' '$T/show2'"
"$CTL" $C show 2 --json >"$T/show2.json"
is "show --json keeps the subject exactly" \
	"$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['subject'] == 'Rasveta \u202edesrever\u2066x')" "$T/show2.json")" True

# ---- attachment -o: owner-only, never through a symbolic link ---------------
python3 - "$T/c/s48.db" <<'PY'
import hashlib, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
data = b"JPEG citizen photo"
c.execute("INSERT INTO attachments(ticket_id, idx, filename, content_type, size, sha256, content, omitted) VALUES(1, 0, 'slika.jpg', 'image/jpeg', ?, ?, ?, 0)", (len(data), hashlib.sha256(data).hexdigest(), data))
c.commit()
PY
(umask 022; "$CTL" $C attachment 1 0 -o "$T/new.jpg")
is "attachment -o a new file: exit 0" "$?" 0
is "attachment -o a new file: owner-only" "$(stat -c %a "$T/new.jpg")" 600
printf 'old\n' >"$T/old.jpg"; chmod 644 "$T/old.jpg"
"$CTL" $C attachment 1 0 -o "$T/old.jpg"
is "attachment -o an existing file: exit 0" "$?" 0
ok_if "attachment -o an existing file: the bytes written" grep -q 'citizen photo' "$T/old.jpg"
is "attachment -o an existing 0644 file: now owner-only" "$(stat -c %a "$T/old.jpg")" 600
printf 'precious\n' >"$T/victim"; chmod 644 "$T/victim"
ln -s "$T/victim" "$T/link.jpg"
"$CTL" $C attachment 1 0 -o "$T/link.jpg" 2>"$T/err"
is "attachment -o a symbolic link: refused (exit 74)" "$?" 74
is "attachment -o a symbolic link: its target untouched" "$(cat "$T/victim")" precious
ok_if "attachment -o a symbolic link: says so" grep -q 'symbolic link' "$T/err"

# ---- --json: C1 and bidi controls as \u escapes, the same values ------------
csi=$(printf '\302\233')
long=$(python3 -c 'import sys; sys.stdout.write("".join("x" * (i % 7) + "\u009b" + "\u202e" + "\u2066" + "c\u0085\u00e9" for i in range(300)))')
"$CTL" $C new --from 0641112224 --subject "Rasveta ${csi}2J ${rlo}x" "rasveta $long" >/dev/null
id=$("$CTL" $C list --json | python3 -c 'import json,sys; print(max(t["id"] for t in json.load(sys.stdin)))')
for v in "show $id --json" "list --json" "export --format json"; do
	"$CTL" $C $v >"$T/out.json"
	ok_if "$v: no raw C1 or bidi control" python3 -c "
import re, sys
d = open(sys.argv[1], 'rb').read().decode()
sys.exit(1 if re.search('[\u0080-\u009f\u202a-\u202e\u2066-\u2069]', d) else 0)" "$T/out.json"
done
"$CTL" $C show "$id" --json >"$T/out.json"
is "show --json: the values are unchanged" "$(python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
want_s = 'Rasveta \u009b2J \u202ex'
want_t = 'rasveta ' + ''.join('x' * (i % 7) + '\u009b\u202e\u2066c\u0085\u00e9' for i in range(300))
print(d['subject'] == want_s and d['text'] == want_t)" "$T/out.json")" True
ok_if "show --json: other non-ASCII stays as it is (é)" grep -qF 'c\u0085é' "$T/out.json"

# ---- export --format csv to a terminal: shown as the tables show text ----------
"$CTL" $C new --from 0641112225 --subject "$(printf 'Cev\033[2J pukla')" "$(printf 'voda\033]0;x\007 curi %s kraj' "$csi")" >/dev/null
# script(1) gives s48ctl a terminal; what it wrote lands in the typescript
script -qec "$CTL $C export --format csv" "$T/typescript" >/dev/null 2>&1
ok_if "export csv to a terminal: the report is there" grep -q 'curi' "$T/typescript"
ok_if "export csv to a terminal: no ESC or C1 control" python3 -c "
import sys
d = open(sys.argv[1], 'rb').read()
sys.exit(1 if b'\x1b[2J' in d or b'\x1b]0;' in d or b'\xc2\x9b' in d else 0)" "$T/typescript"
"$CTL" $C export --format csv >"$T/out.csv"
ok_if "export csv to a file: the text exactly as received" grep -q "$(printf 'voda\033]0;x\007 curi')" "$T/out.csv"
