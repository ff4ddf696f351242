# tests/lib/s48d.sh - run s48d in the background for integration tests (sourced
# after tests/lib/tap.sh; sources tests/lib/e2e.sh).
#   s48d_start LOG [ENV=VALUE...]  s48d -c $CONF in loop mode, stderr to LOG;
#                                  S48D_PID is its PID (stopped at exit)
#   s48d_kill9                     SIGKILL it and reap it
#   s48d_term [SECONDS]            SIGTERM; waits; returns s48d's exit status
#                                  (124 if it did not stop in time: then killed)
#   s48d_term_within WHAT SECONDS  s48d_term 5 as two TAP checks: "WHAT: exit 0"
#                                  and "WHAT: stopped within SECONDS s"
#   s48d_alive                     is it running (not a zombie)?
#   wait_until SECONDS CMD...      poll CMD every 0.05 s until true; 1 on timeout
#   sql QUERY                      sqlite3 on the test database (busy timeout)
#   sink_count                     files captured by smtp-sink so far
#   sms_sent_count                 messages the simulator has sent
#   s48_free_port                  a port nobody listens on right now
#   s48_sink_and_sim               S48D, S48CTL set; an smtp-sink in $T/smtp and
#                                  the SMS simulator in $T/sms started (stopped
#                                  at exit), without Dovecot; else "not ok 1"
#   s48d_e2e                       E=$T/e2e: e2e_start (tests/lib/e2e.sh) and
#                                  $S48D built, else "not ok 1" and exit 1
#   PY                             python3 for helpers that must start quickly
#                                  (the system one starts in 40 ms, a pyenv shim
#                                  in 300)
. "$S48_TOP/tests/lib/e2e.sh"
S48D_PID=""
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi

s48d_alive() {
	[ -n "$S48D_PID" ] && [ -d "/proc/$S48D_PID" ] || return 1
	_s48d_st=$(sed 's/^.*) //' "/proc/$S48D_PID/stat" 2>/dev/null | cut -c1)
	[ -n "$_s48d_st" ] && [ "$_s48d_st" != Z ]
}

s48d_start() { # LOG [VAR=VALUE...]
	_s48d_log=$1; shift
	env "$@" "$S48D" -c "$CONF" 2>>"$_s48d_log" &
	S48D_PID=$!
	if [ -z "${_s48d_exit_set:-}" ]; then
		_s48d_exit_set=1
		at_exit 's48d_kill9'
	fi
}

s48d_kill9() {
	[ -n "$S48D_PID" ] || return 0
	kill -KILL "$S48D_PID" 2>/dev/null
	wait "$S48D_PID" 2>/dev/null
	S48D_PID=""
	return 0
}

s48d_term() { # [SECONDS]
	[ -n "$S48D_PID" ] || return 0
	kill -TERM "$S48D_PID" 2>/dev/null
	_s48d_i=0; _s48d_max=$(( ${1:-5} * 20 ))
	while s48d_alive && [ $_s48d_i -lt $_s48d_max ]; do
		sleep 0.05; _s48d_i=$((_s48d_i + 1))
	done
	if s48d_alive; then
		s48d_kill9
		return 124
	fi
	wait "$S48D_PID"
	_s48d_rc=$?
	S48D_PID=""
	return $_s48d_rc
}

s48d_term_within() { # WHAT SECONDS
	_tw_t0=$(date +%s%N)
	s48d_term 5
	_tw_rc=$?
	_tw_ms=$(( ($(date +%s%N) - _tw_t0) / 1000000 ))
	_tw_max=$(awk -v s="$2" 'BEGIN { printf "%d", s * 1000 }')
	is "$1: exit 0" "$_tw_rc" 0
	ok_if "$1: stopped within $2 s ($_tw_ms ms)" [ "$_tw_ms" -le "$_tw_max" ]
}

wait_until() { # SECONDS CMD...
	_wu_max=$(( $1 * 20 )); shift
	_wu_i=0
	while ! "$@"; do
		_wu_i=$((_wu_i + 1))
		[ $_wu_i -ge $_wu_max ] && return 1
		sleep 0.05
	done
	return 0
}

sql() {
	sqlite3 -cmd '.timeout 5000' "$(dirname "$CONF")/s48.db" "$@"
}

sink_count() { find "$(dirname "$CONF")/smtp/mail" -type f 2>/dev/null | wc -l | tr -d ' '; }

sms_sent_count() {
	sms_sim_call GET /_sim/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["sent"])'
}

s48_free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

s48_sink_and_sim() {
	S48D=$S48_BIN/s48d; S48CTL=$S48_BIN/s48ctl
	[ -x "$S48D" ] || { echo "not ok 1 - $S48D built"; exit 1; }
	smtp_sink_start "$T/smtp" >/dev/null || { echo "not ok 1 - smtp-sink started"; exit 1; }
	at_exit "smtp_sink_stop $T/smtp"
	sms_sim_start "$T/sms" || { echo "not ok 1 - simulator started"; exit 1; }
	at_exit "sms_sim_stop $T/sms"
}

s48_sms_conf() { # DIR: DIR/s48.conf with smtp (the sink) and sms (the simulator) of
	# s48_sink_and_sim, its DIR/sms.key; CONF set
	MKCONF_SMS_URL=$SMS_SIM_URL MKCONF_SMTP_URL="smtp://127.0.0.1:$SMTP_SINK_PORT" mkconf "$1"
	printf 's48-test-key\n' >"$1/sms.key"; chmod 600 "$1/sms.key"
	CONF=$1/s48.conf
}

s48d_e2e() {
	E=$T/e2e
	e2e_start
	[ -x "$S48D" ] || { echo "not ok 1 - $S48D built"; exit 1; }
}
