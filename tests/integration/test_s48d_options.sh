#!/bin/sh
# test_s48d_options.sh - s48d's command line against SPEC section 1 and the
# configuration checks of section 6 that only a start of the daemon meets:
# usage errors (64), --check-config agreeing with what a start refuses
# (an empty secret file, 78 both ways), tls = "none" off loopback, and
# --once's exit code when a sender cannot be reached (75).
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$S48_TOP/tests/lib/mkconf.sh"
tmpdir_setup
S48D="$S48_BIN/s48d"
CTL="$S48_BIN/s48ctl"
if [ ! -x "$S48D" ] || [ ! -x "$CTL" ]; then
	skip "s48d" "not built ($S48D)"
	exit 0
fi
# run CMD...: stdout -> $T/out, stderr -> $T/err, exit code -> $rc
run() { "$@" >"$T/out" 2>"$T/err"; rc=$?; }

# nothing listens on port 1: the SMTP relay cannot be reached
MKCONF_SMS=0 MKCONF_SMTP_URL=smtp://127.0.0.1:1 mkconf "$T/c"
C="$T/c/s48.conf"

# ---- usage --------------------------------------------------------------------
for args in "--bogus" "-c" "--once extra" "-x"; do
	# shellcheck disable=SC2086
	run "$S48D" $args
	is "s48d $args: exit 64" "$rc" 64
done
run "$S48D" --help
is "--help: exit 0 with the synopsis on stdout" "$rc:$(grep -c 'check-config' "$T/out")" 0:1

# ---- --check-config and what a start refuses ----------------------------------
run "$S48D" -c "$C" --check-config
is "--check-config: exit 0" "$rc" 0
is "--check-config: 'config OK' first" "$(head -1 "$T/out")" "config OK"
ok_if "--check-config: the channel left out is named off" grep -q "^sms: off" "$T/out"

# `install -m 600 /dev/null secret`, the first step of the example's recipe
: >"$T/c/secret"
run "$S48D" -c "$C" --check-config
is "--check-config with an empty secret file: exit 78" "$rc" 78
is "--check-config with an empty secret file: FILE:LINE: KEY names it" \
    "$(grep -c "^$C:2: secret_file: $T/c/secret is empty" "$T/err")" 1
is "--check-config with an empty secret file: no 'config OK'" "$(grep -c 'config OK' "$T/out")" 0
run timeout 20 "$S48D" -c "$C" --once
is "a start with the empty secret file: exit 78 as the check said" "$rc" 78
printf '\n' >"$T/c/secret"
run "$S48D" -c "$C" --check-config
is "--check-config with a secret of one newline: exit 78" "$rc" 78
printf 'test-secret\n' >"$T/c/secret"
chmod 640 "$T/c/secret"
run "$S48D" -c "$C" --check-config
is "--check-config with a group-readable secret: exit 78" "$rc" 78
ok_if "--check-config with a group-readable secret: says so" grep -q "secret_file: .*group or others" "$T/err"
chmod 600 "$T/c/secret"

# tls = "none" sends the login in clear: loopback only (SPEC 6)
sed "s|smtp://127.0.0.1:1|smtp://mail.example.org:25|" "$C" >"$T/c/remote.conf"
run "$S48D" -c "$T/c/remote.conf" --check-config
is "smtp tls none to a remote relay: exit 78" "$rc" 78
ok_if "smtp tls none to a remote relay: FILE:LINE: smtp.tls" grep -q "^$T/c/remote.conf:[0-9]*: smtp.tls: " "$T/err"
run "$CTL" -c "$T/c/remote.conf" list
is "s48ctl refuses the same config (78, one line)" "$rc/$(wc -l <"$T/err" | tr -d ' ')" 78/1

# ---- a database that cannot be opened: 78, as a restart will not help (SPEC 1)
printf 'not a database, just text\n' >"$T/c/bad.db"
sed "s|^database *=.*|database = \"$T/c/bad.db\";|" "$C" >"$T/c/baddb.conf"
run timeout 20 "$S48D" -c "$T/c/baddb.conf" --once
is "a file that is not a database: exit 78" "$rc" 78
ok_if "a file that is not a database: the log names it" grep -q "database $T/c/bad.db: .*not started" "$T/err"
is "a file that is not a database: left as it was" "$(cat "$T/c/bad.db")" "not a database, just text"
sed "s|^database *=.*|database = \"$T/nodir/s48.db\";|" "$C" >"$T/c/nodir.conf"
run timeout 20 "$S48D" -c "$T/c/nodir.conf" --once
is "a database in a directory that is not there: exit 78" "$rc" 78

# ---- --once ---------------------------------------------------------------------
run timeout 30 "$S48D" -c "$C" --once
is "--once with nothing to send: exit 0" "$rc" 0
"$CTL" -c "$C" new --from ana@example.org "Pukla cev" >/dev/null
run timeout 30 "$S48D" -c "$C" --once
is "--once with the SMTP relay unreachable: exit 75" "$rc" 75
is "--once: the email rows stay pending for the next try" \
    "$("$CTL" -c "$C" outbox --json | python3 -c "import json,sys; print(sorted(set((r['channel'], r['status'], r['attempts']) for r in json.load(sys.stdin) if r['channel'] == 'email')))")" "[('email', 'pending', 1)]"

# ---- a database s48d creates: owner only, whatever the umask ----------------------
sed "s|^database *=.*|database = \"$T/fresh/s48.db\";|" "$C" >"$T/c/fresh.conf"
mkdir -p "$T/fresh"
( umask 022; timeout 30 "$S48D" -c "$T/c/fresh.conf" --once >/dev/null 2>&1 )
is "a database s48d creates under umask 022 is 0600" "$(stat -c %a "$T/fresh/s48.db" 2>&1)" 600
ok_if "so are its -wal and -shm, if left" sh -c 'for f in "$1"-wal "$1"-shm; do
	[ ! -e "$f" ] || [ "$(stat -c %a "$f")" = 600 ] || exit 1; done' - "$T/fresh/s48.db"
chmod 640 "$T/fresh/s48.db"
( umask 022; timeout 30 "$S48D" -c "$T/c/fresh.conf" --once >/dev/null 2>&1 )
is "an existing database keeps its mode" "$(stat -c %a "$T/fresh/s48.db")" 640

echo "1..$_tap_n"
