# tests/lib/sla_clock.sh - s48ctl and s48d --once on a clock the test moves
# (sourced after tap.sh and mkconf.sh, after tmpdir_setup).
#   sla_clock_setup [VAR=VALUE...]  mkconf "$T/c" with those variables set
#                       (e.g. MKCONF_SMS=0); sets CTL S48D CONF, N0 (Tuesday
#                       2026-11-24T10:00:00Z) and H; skips the test when the
#                       programs are not built
#   ctl HOURS ARGS...   s48ctl at N0 + HOURS hours (output to $T/ctl.log)
#   once HOURS          s48d --once at N0 + HOURS hours (log $T/s48d.log)
#   sql QUERY           the values of QUERY's rows joined by '|'
sla_clock_setup() {
	CTL="$S48_BIN/s48ctl"
	S48D="$S48_BIN/s48d"
	if [ ! -x "$CTL" ] || [ ! -x "$S48D" ]; then
		skip "s48ctl and s48d" "not built ($S48_BIN)"
		exit 0
	fi
	env "$@" sh -c '. "$S48_TOP/tests/lib/mkconf.sh"; mkconf "$0"' "$T/c"
	CONF="$T/c/s48.conf"
	N0=1795514400          # 2026-11-24T10:00:00Z, a Tuesday
	H=3600
	unset S48_NOW
}
ctl() { # HOURS ARGS...
	_h=$1; shift
	S48_NOW=$((N0 + _h * H)) "$CTL" -c "$CONF" "$@" >>"$T/ctl.log" 2>&1
}
once() { # HOURS
	S48_NOW=$((N0 + $1 * H)) "$S48D" -c "$CONF" --once 2>>"$T/s48d.log"
}
sql() {
	python3 -c "import sqlite3,sys; c=sqlite3.connect('$T/c/s48.db'); r=c.execute(sys.argv[1]).fetchall(); print('|'.join(str(x) for row in r for x in row))" "$1"
}
