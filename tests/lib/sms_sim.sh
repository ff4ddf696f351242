# tests/lib/sms_sim.sh - start and stop the SMS gateway simulator (sourced,
# or run: sh tests/lib/sms_sim.sh start|stop DIR [simulator args]).
#   sms_sim_start DIR [args]  starts tests/sim/sms_gateway.py on a free port
#                             with --port-file DIR/sms_sim.port, its PID in
#                             DIR/sms_sim.pid, log DIR/sms_sim.log; exports
#                             SMS_SIM_PORT and SMS_SIM_URL.  Pass --state FILE
#                             to keep its queue across restarts.
#   sms_sim_stop DIR          stops it by its PID (never by name)
#   sms_sim_call METHOD PATH [JSON]   a control API call (curl), prints the answer
# Defaults of the simulator: key "s48-test-key", Twilio account
# "AC00000000000000000000000000000048", our number "+381601234567".
_sms_sim_top=${S48_TOP:-$(cd "$(dirname "${0:-.}")/../.." 2>/dev/null && pwd)}
[ -f "$_sms_sim_top/tests/sim/sms_gateway.py" ] || _sms_sim_top=$(pwd)

sms_sim_start() {
	_smsd=$1; shift
	mkdir -p "$_smsd"
	rm -f "$_smsd/sms_sim.port"
	python3 "$_sms_sim_top/tests/sim/sms_gateway.py" --port-file "$_smsd/sms_sim.port" "$@" \
		>>"$_smsd/sms_sim.log" 2>&1 &
	echo $! >"$_smsd/sms_sim.pid"
	_smsi=0
	while [ ! -s "$_smsd/sms_sim.port" ]; do
		_smsi=$((_smsi + 1))
		if [ "$_smsi" -gt 100 ] || ! kill -0 "$(cat "$_smsd/sms_sim.pid")" 2>/dev/null; then
			echo "sms_sim: simulator did not start (see $_smsd/sms_sim.log)" >&2
			return 1
		fi
		sleep 0.1
	done
	SMS_SIM_PORT=$(cat "$_smsd/sms_sim.port")
	SMS_SIM_URL="http://127.0.0.1:$SMS_SIM_PORT"
	export SMS_SIM_PORT SMS_SIM_URL
}

sms_sim_stop() {
	_smsd=$1
	[ -f "$_smsd/sms_sim.pid" ] || return 0
	_smsp=$(cat "$_smsd/sms_sim.pid")
	kill "$_smsp" 2>/dev/null
	_smsi=0
	# PID 1 may reap late: a zombie ("Z") counts as stopped
	while kill -0 "$_smsp" 2>/dev/null; do
		_smsst=$(awk '{print $3}' "/proc/$_smsp/stat" 2>/dev/null)
		[ "$_smsst" = Z ] && break
		_smsi=$((_smsi + 1))
		if [ "$_smsi" -gt 50 ]; then kill -9 "$_smsp" 2>/dev/null; break; fi
		sleep 0.1
	done
	rm -f "$_smsd/sms_sim.pid"
}

sms_sim_call() {
	if [ $# -ge 3 ]; then
		curl -sS -X "$1" -H 'Content-Type: application/json' --data-binary "$3" \
			"http://127.0.0.1:$SMS_SIM_PORT$2"
	else
		curl -sS -X "$1" "http://127.0.0.1:$SMS_SIM_PORT$2"
	fi
}

# standalone use
case "${0##*/}" in
sms_sim.sh)
	case "${1:-}" in
	start) shift; _dir=$1; shift; sms_sim_start "$_dir" "$@" && echo "$SMS_SIM_PORT" ;;
	stop) sms_sim_stop "$2" ;;
	*) echo "usage: sh tests/lib/sms_sim.sh start|stop DIR [simulator args]" >&2; exit 2 ;;
	esac
	;;
esac
