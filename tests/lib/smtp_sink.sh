# tests/lib/smtp_sink.sh - a private Postfix smtp-sink (and an optional TLS
# relay in front of it) for tests.  Source it, or run it:
#
#   smtp_sink_start DIR [extra smtp-sink args]
#       starts smtp-sink on 127.0.0.1:<free port>, one file per message under
#       DIR/mail/ (strftime template, LF line ends, dot-unstuffed, sink's own
#       X-Client-Addr/X-Mail-Args/X-Rcpt-Args/Received lines first), AUTH not
#       announced (-a) unless SMTP_SINK_AUTH=1 (the sink then answers any AUTH
#       with 250, which libcurl calls "Login denied"), "-u nobody" as root.  Writes DIR/smtp-sink.pid
#       and DIR/smtp-sink.port, exports SMTP_SINK_PORT.
#   smtp_sink_tls_start DIR
#       a self-signed localhost certificate (DIR/tls/cert.pem, key.pem) and
#       tests/sim/tls_relay.py on a free port relaying to the sink (smtps://
#       tests).  Writes DIR/tls-relay.pid and DIR/tls-relay.port, exports
#       SMTP_TLS_PORT and SMTP_TLS_CA (the certificate, to use as ca_file).
#   smtp_sink_stop DIR        stops both (by their PID files only)
#   smtp_sink_count DIR       number of messages captured so far
#
#   sh tests/lib/smtp_sink.sh start DIR [args]   prints the port
#   sh tests/lib/smtp_sink.sh tls DIR            prints the relay's port
#   sh tests/lib/smtp_sink.sh stop DIR
#   sh tests/lib/smtp_sink.sh count DIR

_smtp_sink_top=${S48_TOP:-$(cd "$(dirname "$0")/../.." 2>/dev/null && pwd)}

# the system python starts in 40 ms, a pyenv shim in 300
if [ -x /usr/bin/python3 ]; then _smtp_sink_py=/usr/bin/python3; else _smtp_sink_py=python3; fi

# a TCP port nobody listens on right now
_smtp_sink_free_port() {
	"$_smtp_sink_py" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# wait until 127.0.0.1:PORT accepts connections (max ~5 s)
_smtp_sink_wait_port() {
	"$_smtp_sink_py" -c 'import socket, sys, time
port = int(sys.argv[1])
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)' "$1"
}

# stop the process in PIDFILE, waiting (max ~5 s) until it is gone or a zombie
_smtp_sink_kill() {
	[ -f "$1" ] || return 0
	_ss_pid=$(cat "$1")
	rm -f "$1"
	[ -n "$_ss_pid" ] || return 0
	kill "$_ss_pid" 2>/dev/null || return 0
	_ss_i=0
	while [ $_ss_i -lt 100 ] && kill -0 "$_ss_pid" 2>/dev/null; do
		# PID 1 may reap late: a zombie counts as stopped
		if [ -r "/proc/$_ss_pid/stat" ] && awk '{ exit !($3 == "Z") }' "/proc/$_ss_pid/stat" 2>/dev/null; then
			break
		fi
		sleep 0.05
		_ss_i=$((_ss_i + 1))
	done
	if kill -0 "$_ss_pid" 2>/dev/null && ! awk '{ exit !($3 == "Z") }' "/proc/$_ss_pid/stat" 2>/dev/null; then
		kill -9 "$_ss_pid" 2>/dev/null
	fi
	return 0
}

smtp_sink_start() {
	_ss_dir=$1
	shift
	_ss_sink=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)
	if [ ! -x "$_ss_sink" ]; then
		echo "smtp_sink_start: smtp-sink not installed (package postfix)" >&2
		return 1
	fi
	mkdir -p "$_ss_dir/mail" || return 1
	_ss_auth=-a
	[ "${SMTP_SINK_AUTH:-0}" = 1 ] && _ss_auth=""
	_ss_user=""
	if [ "$(id -u)" = 0 ]; then
		# the sink writes as nobody: it must reach and write DIR/mail
		_ss_user="-u nobody"
		chmod o+x "$_ss_dir"
		chown nobody "$_ss_dir/mail"
	fi
	_ss_tries=0
	while :; do
		_ss_port=$(_smtp_sink_free_port) || return 1
		# shellcheck disable=SC2086
		"$_ss_sink" $_ss_auth $_ss_user -d "$_ss_dir/mail/%Y%m%d%H/%M." "$@" "127.0.0.1:$_ss_port" 64 \
			>>"$_ss_dir/smtp-sink.log" 2>&1 &
		echo $! >"$_ss_dir/smtp-sink.pid"
		if _smtp_sink_wait_port "$_ss_port"; then
			break
		fi
		_smtp_sink_kill "$_ss_dir/smtp-sink.pid"
		_ss_tries=$((_ss_tries + 1))
		if [ $_ss_tries -ge 3 ]; then
			echo "smtp_sink_start: smtp-sink did not start, see $_ss_dir/smtp-sink.log" >&2
			return 1
		fi
	done
	echo "$_ss_port" >"$_ss_dir/smtp-sink.port"
	SMTP_SINK_PORT=$_ss_port
	export SMTP_SINK_PORT
}

smtp_sink_tls_start() {
	_ss_dir=$1
	[ -f "$_ss_dir/smtp-sink.port" ] || { echo "smtp_sink_tls_start: start the sink first" >&2; return 1; }
	mkdir -p "$_ss_dir/tls" || return 1
	if [ ! -f "$_ss_dir/tls/cert.pem" ]; then
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
			-addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
			-keyout "$_ss_dir/tls/key.pem" -out "$_ss_dir/tls/cert.pem" \
			>"$_ss_dir/tls/openssl.log" 2>&1 || { cat "$_ss_dir/tls/openssl.log" >&2; return 1; }
	fi
	rm -f "$_ss_dir/tls-relay.port"
	"$_smtp_sink_py" "$_smtp_sink_top/tests/sim/tls_relay.py" --cert "$_ss_dir/tls/cert.pem" \
		--key "$_ss_dir/tls/key.pem" --target-port "$(cat "$_ss_dir/smtp-sink.port")" \
		--port-file "$_ss_dir/tls-relay.port" >>"$_ss_dir/tls-relay.log" 2>&1 &
	echo $! >"$_ss_dir/tls-relay.pid"
	_ss_i=0
	while [ ! -s "$_ss_dir/tls-relay.port" ]; do
		_ss_i=$((_ss_i + 1))
		if [ $_ss_i -gt 100 ] || ! kill -0 "$(cat "$_ss_dir/tls-relay.pid")" 2>/dev/null; then
			echo "smtp_sink_tls_start: relay did not start, see $_ss_dir/tls-relay.log" >&2
			return 1
		fi
		sleep 0.05
	done
	SMTP_TLS_PORT=$(cat "$_ss_dir/tls-relay.port")
	SMTP_TLS_CA="$_ss_dir/tls/cert.pem"
	export SMTP_TLS_PORT SMTP_TLS_CA
}

smtp_sink_stop() {
	_smtp_sink_kill "$1/tls-relay.pid"
	_smtp_sink_kill "$1/smtp-sink.pid"
}

smtp_sink_count() {
	if [ -d "$1/mail" ]; then
		find "$1/mail" -type f | wc -l | tr -d ' '
	else
		echo 0
	fi
}

# standalone use
case "${0##*/}" in
smtp_sink.sh)
	_ss_cmd=${1:-}
	[ $# -ge 2 ] || { echo "usage: $0 start|tls|stop|count DIR [smtp-sink args]" >&2; exit 64; }
	shift
	case "$_ss_cmd" in
	start) smtp_sink_start "$@" && echo "$SMTP_SINK_PORT" ;;
	tls) smtp_sink_tls_start "$1" && echo "$SMTP_TLS_PORT" ;;
	stop) smtp_sink_stop "$1" ;;
	count) smtp_sink_count "$1" ;;
	*) echo "usage: $0 start|tls|stop|count DIR [smtp-sink args]" >&2; exit 64 ;;
	esac
	;;
esac
