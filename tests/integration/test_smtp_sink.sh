#!/bin/sh
# test_smtp_sink.sh - the smtp-sink harness (tests/lib/smtp_sink.sh) and the
# TLS relay (tests/sim/tls_relay.py) that other tests rely on, driven with
# the curl command-line tool: start, capture, count, smtps://, stop.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/smtp_sink.sh"

tmpdir_setup
echo "1..13"
at_exit "smtp_sink_stop '$T/sink'"

if ! command -v curl >/dev/null 2>&1; then
	for i in 1 2 3 4 5 6 7 8 9 10 11 12; do skip "harness check $i" "curl command not installed"; done
	exit 0
fi

port_open() {
	/usr/bin/python3 -c 'import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
except OSError:
    sys.exit(1)' "$1"
}

printf 'From: prijave@example.org\r\nTo: jovana@example.net\r\nSubject: test\r\n\r\n.tacka\r\nkraj\r\n' >"$T/msg"
send() { # url [curl options]
	_u=$1; shift
	curl -s -S --max-time 10 "$_u" --mail-from prijave@example.org \
		--mail-rcpt jovana@example.net -T "$T/msg" "$@" 2>>"$T/curl.err"
}

smtp_sink_start "$T/sink"
ok_if "sink started, port exported" test -n "$SMTP_SINK_PORT"
ok_if "sink listens on its port" port_open "$SMTP_SINK_PORT"
is "port file" "$(cat "$T/sink/smtp-sink.port")" "$SMTP_SINK_PORT"
is "nothing captured yet" "$(smtp_sink_count "$T/sink")" 0

send "smtp://127.0.0.1:$SMTP_SINK_PORT"
is "one message captured" "$(smtp_sink_count "$T/sink")" 1
f=$(find "$T/sink/mail" -type f | head -n 1)
ok_if "captured file has the envelope and un-stuffed body" \
	sh -c "grep -q '^X-Rcpt-Args: <jovana@example.net>' '$f' && grep -q '^\.tacka\$' '$f'"

smtp_sink_tls_start "$T/sink"
ok_if "TLS relay started" test -n "$SMTP_TLS_PORT"
send "smtps://localhost:$SMTP_TLS_PORT" --cacert "$SMTP_TLS_CA"
is "smtps:// with the CA reaches the sink" "$(smtp_sink_count "$T/sink")" 2
send "smtps://localhost:$SMTP_TLS_PORT"
is "smtps:// without the CA is refused" "$(smtp_sink_count "$T/sink")" 2

# standalone form, with a fault option
p2=$(sh "$S48_TOP/tests/lib/smtp_sink.sh" start "$T/sink2" -f RCPT)
at_exit "sh '$S48_TOP/tests/lib/smtp_sink.sh' stop '$T/sink2'"
send "smtp://127.0.0.1:$p2"
is "curl sees the rejection" "$?" 55
# the sink opens its dump file at MAIL and removes it after the rejected
# transaction: on a loaded machine that can come a moment after curl returns
i=0
while [ "$(sh "$S48_TOP/tests/lib/smtp_sink.sh" count "$T/sink2")" != 0 ] && [ $i -lt 30 ]; do
	sleep 0.1; i=$((i + 1))
done
is "standalone sink with -f RCPT rejects" "$(sh "$S48_TOP/tests/lib/smtp_sink.sh" count "$T/sink2")" 0

pid=$(cat "$T/sink/smtp-sink.pid")
smtp_sink_stop "$T/sink"
ok_if "stop removes the pid files" sh -c "test ! -f '$T/sink/smtp-sink.pid' && test ! -f '$T/sink/tls-relay.pid'"
ok_if "stopped sink no longer answers" sh -c "! /usr/bin/python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", $SMTP_SINK_PORT), 1).close()' 2>/dev/null"
diag "sink pid was $pid"
