#!/bin/sh
# s48d's schedule on the monotonic clock: with poll_interval = 2 the SMS
# pulls are 2.0 s +- 0.15 s apart (never less; more only by a loaded
# machine's delays, at most 1 s), also when the first poll starts late in a
# wall-clock second (whole seconds of time() made the second pull come 2 s
# minus about that fraction after the first: 1.6 s when it was 0.58 s in),
# and when the wait between polls is IMAP IDLE (woken once by new mail, which
# does not move the next scheduled poll).
# The pulls are counted by a small HTTP server (the "generic" SMS profile)
# that writes the monotonic and wall time of each request.
set -u
. "$(dirname "$0")/../lib/tap.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/s48d.sh"
S48D="$S48_BIN/s48d"
[ -x "$S48D" ] || { echo "not ok 1 - $S48D built"; exit 1; }
N_PULLS=5
LO=1850 HI=2150            # ms: 2 s +- 0.15 s
LATE=3000                  # ms: 2 s + 1 s, a pull late by load, not skipped

cat >"$T/pulls.py" <<'PY'
# Answers every GET with an empty generic inbox; one line per request to the
# log: "<monotonic s> <wall s>".  Prints its port to the port file.
import http.server, sys, time
log, port_file = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        mono, wall = time.monotonic(), time.time()
        with open(log, "a") as f:
            f.write("%.4f %.4f\n" % (mono, wall))
        body = b'{"messages": [], "next": "0"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(port_file + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
import os
os.rename(port_file + ".tmp", port_file)
s.serve_forever()
PY
$PY "$T/pulls.py" "$T/pulls.log" "$T/pulls.port" 2>"$T/pulls.err" &
PULLS_PID=$!
at_exit "kill $PULLS_PID 2>/dev/null"
wait_until 10 test -s "$T/pulls.port" || { echo "not ok 1 - pull server started"; exit 1; }
PORT=$(cat "$T/pulls.port")

# DIR [IMAP-LINE]: a config with only the generic SMS source (and IMAP)
conf() {
	MKCONF_SMTP=0 MKCONF_SMS=0 mkconf "$1"
	sed -i 's/^poll_interval = 60;/poll_interval = 2;/' "$1/s48.conf"
	cat >>"$1/s48.conf" <<CONF
sms = { profile = "generic"; base_url = "http://127.0.0.1:$PORT"; api_key_file = "sms.key";
  number = "+381601234567"; timeout = 5;
  generic = { pull_url = "http://127.0.0.1:$PORT/inbox?after={cursor}";
    auth_header = "Authorization: Bearer {key}"; messages_path = "messages"; id_path = "id";
    from_path = "from"; text_path = "text"; time_path = "received"; cursor_path = "next";
    ack_url = ""; send_url = "http://127.0.0.1:$PORT/send";
    send_body = "{\"to\": {to}, \"text\": {text}}"; }; };
CONF
	[ -n "${2:-}" ] && printf '%s\n' "$2" >>"$1/s48.conf"
	CONF=$1/s48.conf
}

# wait until the wall clock is 0.55-0.60 s into its second: s48d's first
# pull comes 0.4 s or more into it if s48d starts within 0.4 s
late_in_second() {
	$PY -c 'import time
while not 0.55 <= time.time() % 1 < 0.60:
    time.sleep(0.005)'
}

# WHAT: N_PULLS pulls in the log, each gap within LO..HI ms
check_gaps() {
	wait_until 20 sh -c "[ \$(wc -l <'$T/pulls.log') -ge $N_PULLS ]"
	gaps=$(head -n "$N_PULLS" "$T/pulls.log" | awk 'NR > 1 { printf "%s%d", sep, ($1 - p) * 1000 + 0.5; sep = " " } { p = $1 }')
	diag "$1: gaps between pulls (ms): $gaps"
	is "$1: $N_PULLS pulls" "$(head -n "$N_PULLS" "$T/pulls.log" | wc -l | tr -d ' ')" "$N_PULLS"
	# A pull cannot come before the one before it ended plus 2 s, so no gap
	# is under 2 s but by a fault of the schedule (the old one's 1.2 s); a
	# loaded machine only adds to a gap (the round's IMAP poll and commit, a
	# process not scheduled: 2210 ms once with ASan at load 13), so the
	# schedule's own precision is in the shortest gap, and a gap a second
	# late is a fault again, not load
	early=$(echo "$gaps" | tr ' ' '\n' | awk -v lo=$LO '$1 < lo' | tr '\n' ' ')
	is "$1: no gap under 2 s - 0.15 s (under: '$early')" "$early" ""
	short=$(echo "$gaps" | tr ' ' '\n' | sort -n | head -1)
	ok_if "$1: the shortest gap is 2 s +- 0.15 s (${short:-none} ms)" \
		awk -v g="${short:-0}" -v lo=$LO -v hi=$HI 'BEGIN { exit !(g >= lo && g <= hi) }'
	late=$(echo "$gaps" | tr ' ' '\n' | awk -v m=$LATE '$1 > m' | tr '\n' ' ')
	is "$1: no gap over 2 s + 1 s (over: '$late')" "$late" ""
}

# --- 1: sleeps between polls, the first poll late in its second ---
# (s48d started 0.55 s into a second pulls in the same second if it starts
# within 0.4 s: not always so with ASan on a loaded machine, which once took
# about 0.5 s; then it is stopped and started again, at most 5 times)
conf "$T/a"
try=0
while :; do
	try=$((try + 1))
	: >"$T/pulls.log"
	late_in_second
	s48d_start "$T/a.log"
	wait_until 10 test -s "$T/pulls.log"
	frac=$(head -1 "$T/pulls.log" | awk '{ printf "%.3f", $2 - int($2) }')
	diag "start $try: the first pull came $frac s into its second"
	awk -v f="$frac" 'BEGIN { exit !(f >= 0.4) }' && break
	[ $try -ge 5 ] && break
	s48d_term 5
done
ok_if "the first pull came late in its second ($frac s; what made the old schedule early)" \
	awk -v f="$frac" 'BEGIN { exit !(f >= 0.4) }'
check_gaps "sleeping"
s48d_term_within "sleeping: SIGTERM" 5

# --- 2: IMAP IDLE between polls, woken once by new mail ---
if dovecot_start "$T/dovecot" >/dev/null; then
	at_exit "dovecot_stop $T/dovecot"
	printf '%s\n' "$DOVECOT_PASS" >"$T/imap.pass"; chmod 600 "$T/imap.pass"
	conf "$T/b" "imap = { host = \"127.0.0.1\"; port = $DOVECOT_PORT; tls = \"none\"; user = \"$DOVECOT_USER\";
  password_file = \"$T/imap.pass\"; mailbox = \"INBOX\"; idle = true; };"
	: >"$T/pulls.log"
	late_in_second
	s48d_start "$T/b.log"
	wait_until 10 sh -c "[ \$(wc -l <'$T/pulls.log') -ge 2 ]"
	sleep 0.3               # IDLE runs: the poll after the second pull is over
	t0=$(date +%s%N)
	e2e_mail "$T" "idle@example.net" "Ne radi rasveta" "Ulicna rasveta ne radi."
	wait_until 5 sh -c "[ \"\$(sqlite3 -cmd '.timeout 5000' '$T/b/s48.db' \"SELECT count(*) FROM tickets\")\" = 1 ]"
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	ok_if "idle: the mail became a ticket before the next poll ($ms ms)" [ "$ms" -lt 1200 ]
	check_gaps "idle"
	s48d_term_within "idle: SIGTERM" 5
else
	skip "idle: the mail became a ticket before the next poll" "dovecot did not start"
	skip "idle: $N_PULLS pulls" "dovecot did not start"
	skip "idle: no gap under 2 s - 0.15 s" "dovecot did not start"
	skip "idle: the shortest gap is 2 s +- 0.15 s" "dovecot did not start"
	skip "idle: no gap over 2 s + 1 s" "dovecot did not start"
	skip "idle: SIGTERM: exit 0" "dovecot did not start"
	skip "idle: SIGTERM: stopped within 5 s" "dovecot did not start"
fi
