# tests/lib/tap.sh - TAP helpers for integration scripts (sourced).
#   ok_if "description" test-command...   prints "ok N - d" or "not ok N - d"
#   is "description" GOT EXPECTED
#   skip "description" "reason"
#   sanitized BINARY: true when BINARY is built with ASan/TSan/MSan
#   tmpdir_setup: makes $T (removed on exit) and installs the EXIT trap that
#   runs every function registered with at_exit.
_tap_n=0
ok_if() {
	_d=$1; shift
	_tap_n=$((_tap_n + 1))
	if "$@"; then echo "ok $_tap_n - $_d"; else echo "not ok $_tap_n - $_d"; fi
}
is() {
	_tap_n=$((_tap_n + 1))
	if [ "$2" = "$3" ]; then echo "ok $_tap_n - $1"
	else echo "not ok $_tap_n - $1"; echo "#   got:      '$2'"; echo "#   expected: '$3'"; fi
}
skip() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1 # SKIP $2"
}
diag() { echo "# $*"; }
# sanitized BINARY: built with AddressSanitizer (or TSan/MSan), whose shadow
# memory and quarantine make its RSS no measure of ours
sanitized() { ldd "$1" 2>/dev/null | grep -q 'lib[atm]san'; }
_at_exit_cmds=""
at_exit() { _at_exit_cmds="$1; $_at_exit_cmds"; }
_run_at_exit() { eval "$_at_exit_cmds"; [ -n "${T:-}" ] && [ -z "${S48_KEEP:-}" ] && rm -rf "$T"; }
tmpdir_setup() {
	T=$(mktemp -d /tmp/s48test.XXXXXX)
	chmod 755 "$T"
	trap '_run_at_exit' EXIT
	trap 'exit 130' INT TERM
}
S48_BIN=${S48_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build}
S48_TOP=${S48_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
