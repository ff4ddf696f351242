#!/bin/sh
# s48d under valgrind (issue 6.6): loop mode over ~1,000 messages (email by
# dovecot_fill, SMS by the simulator's count option), every reply sent, then
# SIGTERM: no memory error and no definite leak (valgrind --error-exitcode=9).
# Skipped for sanitizer builds (valgrind and ASan do not mix).
# Knobs: VALGRIND_MESSAGES (default 1000, half email, half SMS).
set -u
. "$(dirname "$0")/../lib/tap.sh"
case "${S48_BUILD:-build}" in
*asan*|*tsan*|*msan*)
	skip "s48d under valgrind" "$S48_BUILD is a sanitizer build (valgrind and ASan do not mix)"
	exit 0 ;;
esac
if ! command -v valgrind >/dev/null 2>&1; then
	skip "s48d under valgrind" "valgrind is not installed"
	exit 0
fi
tmpdir_setup
. "$S48_TOP/tests/lib/s48d.sh"
s48d_e2e
if ldd "$S48D" 2>/dev/null | grep -q 'lib[atm]san'; then
	skip "s48d under valgrind" "$S48D is built with a sanitizer"
	exit 0
fi
N=${VALGRIND_MESSAGES:-1000}
n_mail=$((N / 2)); n_sms=$((N - n_mail))

dovecot_fill "$E/dovecot" "$DOVECOT_USER" "$n_mail" >/dev/null
sms_sim_call POST /_sim/inbound \
	"{\"from\": \"381641234000\", \"text\": \"Ne radi rasveta u ulici\", \"count\": $n_sms}" >/dev/null

supp=""
[ -f "$S48_TOP/tests/valgrind.supp" ] && supp="--suppressions=$S48_TOP/tests/valgrind.supp"
start=$(date +%s)
# shellcheck disable=SC2086
valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=9 \
	--show-leak-kinds=definite --track-origins=yes --num-callers=30 $supp \
	--log-file="$T/valgrind.log" "$S48D" -c "$CONF" 2>"$T/s48d.log" &
S48D_PID=$!
at_exit 's48d_kill9'
done_all() {
	[ "$(sql 'SELECT count(*) FROM raw_messages' 2>/dev/null)" = "$N" ] &&
	[ "$(sql "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')" 2>/dev/null)" = 0 ]
}
wait_until 600 done_all
ok_if "all $N messages recorded and every reply sent under valgrind" done_all
el=$(( $(date +%s) - start ))
s48d_term 60
rc=$?
is "s48d under valgrind: exit status (9 = valgrind found errors)" "$rc" 0
errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$T/valgrind.log" | tail -1)
definite=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$T/valgrind.log" | tail -1)
is "valgrind: no errors" "${errs:-?}" 0
ok_if "valgrind: nothing definitely lost (${definite:-0} bytes)" [ "${definite:-0}" = 0 ]
if [ "${errs:-?}" != 0 ]; then
	grep -E '^==[0-9]+== ([A-Z]|   (at|by) )' "$T/valgrind.log" | head -60 | sed 's/^/# /'
fi
diag "valgrind: messages=$N (email $n_mail, sms $n_sms) tickets=$(sql 'SELECT count(*) FROM tickets') outbox sent=$(sql "SELECT count(*) FROM outbox WHERE status = 'sent'") in ${el}s; errors=${errs:-?} definitely lost=${definite:-0} bytes"
