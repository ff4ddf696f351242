#!/bin/sh
# Run every unit suite (cmocka, TAP output) and every integration script
# (tests/integration/test_*.sh, TAP output) and end with one line:
#   N passed, N failed, N skipped
# A suite that dies without reporting (crash, sanitizer abort) counts as failed.
# Environment: S48_BUILD (build dir, default build), S48_TESTS (a glob filter).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
BUILD=${S48_BUILD:-build}
export S48_BUILD="$BUILD" S48_BIN="$top/$BUILD" S48_TOP="$top"
export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
filter=${S48_TESTS:-*}
passed=0 failed=0 skipped=0
logdir="$top/$BUILD/test-logs"
mkdir -p "$logdir"

run_one() { # name command...
	name=$1; shift
	log="$logdir/$name.log"
	mkdir -p "$(dirname "$log")"
	start=$(date +%s)
	"$@" >"$log" 2>&1
	rc=$?
	p=$(grep -E '^ok ' "$log" | grep -vc '# *SKIP')
	s=$(grep -cE '^ok .*# *SKIP' "$log")
	f=$(grep -cE '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc" >>"$log"
	elif [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then
		f=1
		echo "not ok - $name reported no test at all" >>"$log"
	fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	el=$(( $(date +%s) - start ))
	if [ "$f" -gt 0 ]; then
		printf 'FAIL %-32s %3d passed %3d failed  (%ss) log: %s\n' "$name" "$p" "$f" "$el" "$log"
		grep -E '^not ok |ERROR|error:|Sanitizer|runtime error' "$log" | head -20 | sed 's/^/     /'
	else
		printf 'ok   %-32s %3d passed %3d skipped (%ss)\n' "$name" "$p" "$s" "$el"
	fi
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	case "$n" in $filter) ;; *) continue ;; esac
	run_one "unit/$n" "$t"
done
if [ "${S48_INTEGRATION:-1}" = 1 ]; then
	for t in tests/integration/test_*.sh; do
		[ -f "$t" ] || continue
		n=$(basename "$t" .sh)
		case "$n" in $filter) ;; *) continue ;; esac
		run_one "integration/$n" sh "$t"
	done
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
