#!/bin/sh
# A stop (SIGTERM) must not wait for an IMAP server that accepts but does not
# answer while s48d connects or logs in (daemon/imap_net.c,
# daemon/intake_imap.c, daemon/imap_pump.c): the network timeout is 60 s, an
# operator's `systemctl stop` must end within seconds.  tests/lib/imap_hang.py
# plays the server that hangs: at the TCP connect (a full listen queue), at
# the greeting, at the answer to LOGIN, after LOGIN, in the TLS handshake
# (implicit TLS and after STARTTLS); a silent DNS server (in a private mount
# namespace's resolv.conf) hangs the name lookup; a proxy in front of Dovecot
# that freezes makes a session stop answering when the stop ends IDLE or
# sends LOGOUT.  For the second session (the one that acknowledges while the
# first fetches, imap_pump.h) the proxy passes the first connection through
# to Dovecot and hangs the second.
# Each case: SIGTERM about 1 s into the hang, s48d exits 0 within 5 s, the
# stop is logged as such and not recorded as a failure of the server
# (health), and nothing committed stays unacknowledged.
set -u
. "$(dirname "$0")/../lib/tap.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/s48d.sh"
. "$S48_TOP/tests/lib/db.sh"
s48d_e2e
DC=$T/e2e/dovecot
DB=$T/e2e/s48.db
stat_of() { # LOG FIELD(messages|new|duplicates)
	sed -n 's/.*imap: \([0-9]*\) messages: \([0-9]*\) new tickets, [0-9]* appended, \([0-9]*\) duplicates.*/\1 \2 \3/p' "$1" |
		awk -v f="$2" '{ m += $1; t += $2; d += $3 } END { print (f == "messages" ? m : f == "new" ? t : d) + 0 }'
}

HANG_PID=""
hang_stop() {
	[ -n "$HANG_PID" ] || return 0
	kill "$HANG_PID" 2>/dev/null
	wait "$HANG_PID" 2>/dev/null
	HANG_PID=""
}
at_exit hang_stop
hang_n=0
hang_start() { # MODE [UPSTREAM_PORT FORWARD_N] -> HANG_PORT HANG_LOG
	hang_n=$((hang_n + 1))
	HANG_LOG=$T/hang$hang_n.log
	: >"$HANG_LOG"
	"$PY" "$S48_TOP/tests/lib/imap_hang.py" "$T/hang$hang_n.port" "$HANG_LOG" "$@" &
	HANG_PID=$!
	wait_until 10 test -s "$T/hang$hang_n.port" || { echo "not ok - imap_hang.py started"; exit 1; }
	HANG_PORT=$(cat "$T/hang$hang_n.port")
}
# the e2e config with its imap group pointed at PORT (plain, or implicit TLS
# to "localhost" with the test CA), log level LEVEL
conf_to() { # OUT PORT none|implicit LEVEL
	if [ "$3" = implicit ]; then
		_to="host = \"localhost\"; port = $2; tls = \"implicit\"; ca_file = \"$DOVECOT_CA\";"
	else
		_to="host = \"127.0.0.1\"; port = $2; tls = \"none\";"
	fi
	sed -e "s|host = \"127.0.0.1\"; port = $DOVECOT_PORT; tls = \"none\";|$_to|" \
		-e "s/level = \"info\"/level = \"$4\"/" "$CONF" >"$1"
	grep -q "port = $2;" "$1" || { echo "not ok - $1 points at port $2"; exit 1; }
}
health_rows() { q "select count(*) from source_state where key like 'health.imap.%'"; }

# SIGTERM about 1 s into the hang; exit status 0 within 5 s (124: still
# running after 5 s, then killed)
term_case() { # NAME
	sleep 1
	s48d_term_within "$1" 5
}

# --- the fetching session: s48d's first connect of its first poll ---
# CASE MODE TLS WAIT-FOR (a line of the server's log; "" = none) LOG-TEXT
hang_case() {
	_name=$1; _mode=$2; _tls=$3; _wait=$4; _said=$5
	hang_start "$_mode"
	conf_to "$T/e2e/hang.conf" "$HANG_PORT" "$_tls" info
	CONF_SAVED=$CONF; CONF=$T/e2e/hang.conf
	s48d_start "$T/$_name.log"
	if [ -n "$_wait" ]; then
		ok_if "$_name: s48d got as far as the hang ($_wait)" \
			wait_until 15 grep -q "$_wait" "$HANG_LOG"
	else
		ok_if "$_name: s48d is running" s48d_alive
	fi
	term_case "$_name"
	ok_if "$_name: the log says the connect was given up for the stop" \
		grep -q "stopped while connecting (.*$_said" "$T/$_name.log"
	ok_if "$_name: no warning logged about IMAP" sh -c "! grep -q 'warning\]: imap' '$T/$_name.log'"
	CONF=$CONF_SAVED
	hang_stop
	is "$_name: no IMAP failure recorded (health)" "$(health_rows)" 0
	is "$_name: daemon.running is 0" "$(q "select value from source_state where key = 'daemon.running'")" 0
}

hang_case connect backlog none "" "connect: stopped"
hang_case greeting silent none "conn 1 silent" "connection lost or timed out"
hang_case login greeting none "conn 1 line: LOGIN" "login as"
hang_case after-login login none "conn 1 line: CAPABILITY" "CAPABILITY"
hang_case tls-handshake silent implicit "conn 1 silent" "TLS handshake stopped"
# the name lookup: a DNS server that never answers, made the resolver's
# only one in a private mount namespace (root and unshare needed)
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	printf 'nameserver 127.9.9.9\noptions timeout:30 attempts:1\n' >"$T/resolv.conf"
	"$PY" -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.9.9.9", 53))
open(sys.argv[1] + ".tmp", "w").close()
__import__("os").rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    s.recvfrom(4096)
    open(sys.argv[1], "a").write("query\n")' "$T/dns.log" &
	DNS_PID=$!
	at_exit "kill $DNS_PID 2>/dev/null"
	wait_until 10 test -e "$T/dns.log"
	sed -e "s|host = \"127.0.0.1\"; port = $DOVECOT_PORT;|host = \"imap.s48-test.invalid\"; port = $DOVECOT_PORT;|" \
		"$CONF" >"$T/e2e/dns.conf"
	# unshare and sh exec: S48D_PID is s48d's
	unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf && exec "$2" -c "$3"' sh \
		"$T/resolv.conf" "$S48D" "$T/e2e/dns.conf" 2>"$T/dns-s48d.log" &
	S48D_PID=$!
	ok_if "dns: s48d asked the silent DNS server" wait_until 15 grep -q query "$T/dns.log"
	term_case dns
	ok_if "dns: the log says the connect was given up for the stop" \
		grep -q "stopped while connecting (imap imap.s48-test.invalid:$DOVECOT_PORT: connect: stopped)" \
		"$T/dns-s48d.log"
	kill "$DNS_PID" 2>/dev/null
else
	for _c in "asked the silent DNS server" "exit 0" "stopped within 5 s" \
	    "the log says the connect was given up for the stop"; do
		skip "dns: $_c" "needs root and unshare -m"
	done
fi

# STARTTLS: s48d's config says tls = "starttls"
hang_start starttls
conf_to "$T/e2e/hang.conf" "$HANG_PORT" none info
sed -i "s|port = $HANG_PORT; tls = \"none\";|port = $HANG_PORT; tls = \"starttls\"; ca_file = \"$DOVECOT_CA\";|" "$T/e2e/hang.conf"
CONF_SAVED=$CONF; CONF=$T/e2e/hang.conf
s48d_start "$T/starttls.log"
ok_if "starttls: s48d got as far as the hang (STARTTLS answered)" \
	wait_until 15 grep -q "conn 1 line: STARTTLS" "$HANG_LOG"
term_case starttls
ok_if "starttls: the log says the connect was given up for the stop" \
	grep -q "stopped while connecting (.*TLS handshake stopped" "$T/starttls.log"
CONF=$CONF_SAVED
hang_stop

# --- a session that stops answering after its poll, through a proxy that
# freezes: the stop ends IDLE, and its DONE gets no answer; or (idle off)
# the LOGOUT at the end gets none.  poll_interval 60: no poll under way ---
frozen_case() { # NAME IDLE(true|false) WAIT-FOR(a command s48d sent)
	_name=$1
	hang_start freeze "$DOVECOT_PORT"
	conf_to "$T/e2e/frozen.conf" "$HANG_PORT" none info
	sed -i -e 's/^poll_interval = 1;/poll_interval = 60;/' -e "s/idle = true;/idle = $2;/" \
		"$T/e2e/frozen.conf"
	CONF_SAVED=$CONF; CONF=$T/e2e/frozen.conf
	s48d_start "$T/$_name.log"
	ok_if "$_name: s48d got as far as $3" wait_until 15 grep -q "conn 1 line: $3" "$HANG_LOG"
	sleep 0.5
	touch "$T/hang$hang_n.port.freeze"
	term_case "$_name"
	ok_if "$_name: its command after the stop got no answer" grep -q "conn 1 frozen" "$HANG_LOG"
	ok_if "$_name: no warning logged about IMAP" sh -c "! grep -q 'warning\]: imap' '$T/$_name.log'"
	CONF=$CONF_SAVED
	hang_stop
	is "$_name: no IMAP failure recorded (health)" "$(health_rows)" 0
}
frozen_case idle-done true IDLE
frozen_case logout false NOOP

# --- the second session: a proxy passes the fetching session through to
# Dovecot and hangs the acknowledging one; 6,000 mails make a command due
# (IMAP_PUMP_ACK_MIN) while more is to be fetched.  The committed mails are
# then acknowledged on the fetching session: nothing comes twice ---
# CASE MODE DOVECOT-PORT TLS WAIT-FOR
second_case() {
	_name=$1; _mode=$2; _up=$3; _tls=$4; _wait=$5
	dovecot_fill "$DC" "$DOVECOT_USER" 6000 400 || { echo "not ok - mails filled"; exit 1; }
	before=$(q 'select count(*) from tickets')
	hang_start "$_mode" "$_up" 1
	conf_to "$T/e2e/second.conf" "$HANG_PORT" "$_tls" debug
	CONF_SAVED=$CONF; CONF=$T/e2e/second.conf
	s48d_start "$T/$_name.log"
	ok_if "$_name: the second session hangs ($_wait)" wait_until 30 grep -q "$_wait" "$HANG_LOG"
	ok_if "$_name: the first one was passed through to Dovecot" grep -q "conn 1 forwarded" "$HANG_LOG"
	term_case "$_name"
	ok_if "$_name: the log says the second login was given up for the stop" \
		grep -q "no second session for acknowledgements (stopped while connecting" "$T/$_name.log"
	ok_if "$_name: the fetching session acknowledged instead" \
		grep -q "acknowledging [0-9]* messages in one command$" "$T/$_name.log"
	CONF=$CONF_SAVED
	hang_stop
	is "$_name: no IMAP failure recorded (health)" "$(health_rows)" 0
	"$S48D" -c "$CONF" --once 2>"$T/$_name-after.log"
	is "$_name: the next run (straight to Dovecot) exits 0" "$?" 0
	is "$_name: nothing committed came again (0 duplicates)" "$(stat_of "$T/$_name-after.log" duplicates)" 0
	is "$_name: every mail is one ticket" "$(( $(q 'select count(*) from tickets') - before ))" 6000
	is "$_name: INBOX is empty" "$(dovecot_count "$DC" "$DOVECOT_USER" INBOX)" 0
}

second_case second-greeting silent "$DOVECOT_PORT" none "conn 2 silent"
second_case second-login greeting "$DOVECOT_PORT" none "conn 2 line: LOGIN"
second_case second-tls silent "$DOVECOT_IMAPS_PORT" implicit "conn 2 silent"
