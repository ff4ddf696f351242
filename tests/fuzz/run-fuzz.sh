#!/bin/sh
# run-fuzz.sh - build every libFuzzer target (tests/fuzz/fuzz_*.c) with
# clang-14 under ASan+UBSan and run each for SECONDS.  `make fuzz` runs it.
#
#   sh tests/fuzz/run-fuzz.sh SECONDS [TARGET...]      (TARGET: fuzz_mime ...)
#
# The project's library (daemon/ parsers/ notifiers/ without the two mains,
# plus the embedded schema) is built by the Makefile into build-fuzz/ with
# -fsanitize=fuzzer-no-link,address,undefined; each target links against it.
# Each target runs on a scratch corpus tests/fuzz/corpus-run/<target>/
# (git-ignored, kept between runs so campaigns add up) seeded from
# tests/fuzz/seeds/<name>/ (and tests/corpus/email for the mail targets).
# Prints "fuzz_X: N execs in S s, 0 crashes" per target.  A crash, leak,
# timeout or sanitizer report stops that target; its input is kept as
# tests/fuzz/corpus-run/crashes/<target>-crash-<sha1> and the script exits 1
# after running the others.  Replay: build-fuzz/fuzz/<target> FILE.
# Env: FUZZ_BUILD (default build-fuzz), FUZZ_ARGS (extra libFuzzer flags).
set -u
cd "$(dirname "$0")/../.." || exit 2

SECONDS_EACH=${1:-60}
[ $# -gt 0 ] && shift
B=${FUZZ_BUILD:-build-fuzz}
CLANG=${CLANG:-clang-14}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
PKGS="libetpan gmime-3.0 gnutls libcurl sqlite3 libconfig jansson libytnef"
RUN=tests/fuzz/corpus-run
export LSAN_OPTIONS="suppressions=$(pwd)/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "run-fuzz: $CLANG not found (make deps installs clang-14 and libclang-rt-14-dev)" >&2
	exit 2
fi

mkdir -p "$RUN/crashes" "$B"
# One build at a time in $B (two campaigns may run side by side).
if command -v flock >/dev/null 2>&1; then
	exec 9>"$B/.fuzz-build.lock"
	lock() { flock 9; }
	unlock() { flock -u 9; }
else
	lock() { :; }
	unlock() { :; }
fi

# The library, through the Makefile's own rules (flags, pkg-config, schema).
lock
if ! make --no-print-directory -s BUILD="$B" CC="$CLANG" OPT="-g -O1 -fno-omit-frame-pointer" \
	SAN="-fsanitize=fuzzer-no-link $SAN" "$B/libs48.a" >"$RUN/build.log" 2>&1; then
	cat "$RUN/build.log" >&2
	echo "run-fuzz: building $B/libs48.a failed" >&2
	exit 2
fi
unlock

PKG_CFLAGS=$(pkg-config --cflags $PKGS | sed 's/-I/-isystem /g')
PKG_LIBS=$(pkg-config --libs $PKGS | tr ' ' '\n' | grep -v '^-specs=' | tr '\n' ' ')
SYSTEMD_LIBS=$(pkg-config --libs libsystemd 2>/dev/null || true)

if [ $# -gt 0 ]; then
	TARGETS="$*"
else
	TARGETS=$(for f in tests/fuzz/fuzz_*.c; do basename "$f" .c; done)
fi

mkdir -p "$B/fuzz" "$RUN/crashes"
status=0
for t in $TARGETS; do
	src=tests/fuzz/$t.c
	bin=$B/fuzz/$t
	if [ ! -f "$src" ]; then
		echo "run-fuzz: no $src" >&2
		status=2
		continue
	fi
	lock
	if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ] || [ "$B/libs48.a" -nt "$bin" ]; then
		# shellcheck disable=SC2086
		if ! $CLANG -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
			-fsanitize=fuzzer $SAN -Idaemon -Iparsers -Inotifiers -I"$B" \
			$PKG_CFLAGS "$src" "$B/libs48.a" $PKG_LIBS $SYSTEMD_LIBS -lm -o "$bin"; then
			echo "run-fuzz: building $t failed" >&2
			status=2
			unlock
			continue
		fi
	fi
	unlock
	name=${t#fuzz_}
	max_len=4096
	extra=""
	extra_flags=""
	asan_opts=${ASAN_OPTIONS:-}
	case $name in
	mime|ingest|mime_diff) max_len=65536; extra=tests/corpus/email ;;
	imap_fetch) max_len=8192 ;;
	# libetpan (Debian's, uninstrumented) leaks parts of responses on many
	# parse error paths (lsan.supp has one example): leaks off for it.
	imap_response) max_len=8192; extra_flags=-detect_leaks=0; asan_opts=detect_leaks=0 ;;
	config) max_len=8192 ;;
	esac
	dict=""
	[ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"
	corpus=$RUN/$name
	mkdir -p "$corpus"
	for d in "tests/fuzz/seeds/$name" $extra; do
		[ -d "$d" ] && find "$d" -maxdepth 1 -type f ! -name '*.tsv' ! -name '*.py' \
			-exec cp -p {} "$corpus/" \;
	done
	log=$RUN/$t.log
	start=$(date +%s)
	# shellcheck disable=SC2086
	ASAN_OPTIONS=$asan_opts "$bin" -max_total_time="$SECONDS_EACH" -max_len=$max_len -timeout=20 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$RUN/crashes/$t-" $dict $extra_flags ${FUZZ_ARGS:-} \
		"$corpus" >"$log" 2>&1
	rc=$?
	end=$(date +%s)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	[ -n "$execs" ] || execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
	[ -n "$execs" ] || execs=0
	if [ $rc -eq 0 ]; then
		echo "$t: $execs execs in $((end - start)) s, 0 crashes"
	else
		status=1
		echo "$t: $execs execs in $((end - start)) s, 1 crash (exit $rc)"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|artifact_prefix|Test unit written)' \
			"$log" | head -n 8 | sed 's/^/  /'
		echo "  log: $log"
	fi
done
exit $status
