#!/bin/sh
# test_privacy_logs.sh - what s48d prints at log.level "info" during a whole
# flow with hostile input: email and SMS reports, STATUS, STOP, an empty SMS,
# staff SMS commands, a report with CR/LF and ESC in its subject, s48ctl
# changes, and an SMS gateway that refuses a number quoting it (Twilio's
# 21211 "The 'To' number +381... is not a valid phone number.").  No citizen
# phone number, email address or report text may appear, and every line is
# one log line of s48d's own shape.
set -u
. "$(dirname "$0")/../lib/tap.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/e2e.sh"
e2e_start

b64() { printf '%s' "$1" | base64 | tr -d '\n'; }

# reports: a hostile subject (an encoded CR LF, ESC) and display name
e2e_mail "$T/e2e" "=?utf-8?b?$(b64 "$(printf 'Jovana\r\nBcc: x@evil.example')")?= <jovana.jovanovic@example.net>" \
	"=?utf-8?b?$(b64 "$(printf 'Voda curi\r\n2026-01-01T00:00:00Z s48d[info]: forged\033[2J')")?=" \
	"Pukla cev ispred zgrade tajnitekst1, zovite 0641119999."
e2e_sms "381641112222" "Pukla cev kod hidranta tajnitekst2"
e2e_sms "381641112222" "STATUS 2"
e2e_sms "381649998888" "STOP"
e2e_sms "381647776666" ""
e2e_sms "381631112223" "#2 in_progress ekipa izasla"
e2e_sms "381631112223" "#1 resolved tajnitekst3"
"$S48D" -c "$CONF" --once >"$T/log" 2>&1
is "first run exits 0" "$?" 0
"$S48CTL" -c "$CONF" new --from +381645557777 "Rupa na putu tajnitekst4" >>"$T/ctl" 2>&1
"$S48CTL" -c "$CONF" new --from mila.milic@example.com "Rupa tajnitekst5" >>"$T/ctl" 2>&1
"$S48CTL" -c "$CONF" status 2 resolved --note "tajnitekst6" --by petar >>"$T/ctl" 2>&1
# a staff reply whose refused command carries an escape sequence (the
# refusal's reason quotes it into the log)
tok=$(python3 -c 'import hmac, hashlib; print(hmac.new(b"test-secret", b"1", hashlib.sha256).hexdigest()[:16])')
e2e_mail "$T/e2e" "vodovod@jkp.example.org" "Re: [S48 #1/$tok] Voda curi" \
	"$(printf '#assign x\033[2J\033]0;title\007y')"
"$S48D" -c "$CONF" --once >>"$T/log" 2>&1
is "second run exits 0" "$?" 0
ok_if "the refused staff command was logged" grep -q 'refused: unknown department x?\[2J?\]0;title?y' "$T/log"

# a gateway that quotes the number it refuses
cat >"$T/echo_gw.py" <<'PY'
import json, sys, urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def answer(self, code, obj):
        b = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def do_GET(self):
        self.answer(200, {"messages": [], "next_page_uri": None})
    def do_POST(self):
        f = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        self.answer(400, {"code": 21211, "status": 400, "message":
            "The 'To' number %s is not a valid phone number." % f["To"][0]})
s = HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
python3 "$T/echo_gw.py" "$T/echo.port" &
echo $! >"$T/echo.pid"
at_exit "kill \$(cat '$T/echo.pid') 2>/dev/null"
i=0
while [ ! -s "$T/echo.port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
sed -i -e "s|profile = \"infobip\";|profile = \"twilio\"; account = \"AC00000000000000000000000000000048\";|" \
	-e "s|base_url = \"[^\"]*\"|base_url = \"http://127.0.0.1:$(cat "$T/echo.port")\"|" "$CONF"
"$S48CTL" -c "$CONF" new --from +381641113333 "Rupa tajnitekst7" >>"$T/ctl" 2>&1
"$S48D" -c "$CONF" --once >>"$T/log" 2>&1
ok_if "the gateway's refusal was logged" grep -q "is not a valid phone number" "$T/log"
is "the refusal is kept whole on the outbox row (for s48ctl)" \
	"$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT count(*) FROM outbox WHERE status = 'failed' AND reason LIKE '%+381641113333 is not%'\").fetchone()[0])" "$T/e2e/s48.db")" 1

diag "$(wc -l <"$T/log") log lines"
# the staff member's number either ("ticket 2: open -> in_progress by ...")
ok_if "the staff SMS commands were logged" grep -q 'ticket 2: open -> in_progress by +38163\*\*\*2223' "$T/log"
ok_if "no staff number '631112223' in the logs" sh -c "! grep -q '631112223' '$T/log'"
for secret in 641112222 649998888 647776666 645557777 641113333 641119999 \
    jovana.jovanovic mila.milic x@evil.example tajnitekst; do
	ok_if "no '$secret' in the logs" sh -c "! grep -q '$secret' '$T/log'"
done
ok_if "masked contacts are logged" grep -q '+38164\*\*\*3333' "$T/log"
ok_if "every line is one of s48d's log lines" sh -c \
	"! grep -avE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z s48d\[(info|warning|error)\]: ' '$T/log'"
ok_if "no control character in the logs" sh -c "! tr -d '\n\t' <'$T/log' | grep -aq '[[:cntrl:]]'"
ok_if "s48ctl printed nothing but its results" sh -c "! grep -qv '^ticket [0-9]*: ' '$T/ctl'"
