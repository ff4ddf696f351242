#!/bin/sh
# test_dovecot_harness.sh - tests/lib/dovecot.sh itself: start (plain,
# STARTTLS, imaps with the "localhost" certificate), deliver, fill, uidnext,
# the standalone form, stop (nothing left listening), and the fetch rate of
# imap_fetch_bench on 2,000 generated messages.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/dovecot.sh"
tmpdir_setup
at_exit 'dovecot_stop "$T/dc"'

if ! command -v dovecot >/dev/null 2>&1; then
	skip "dovecot harness" "dovecot not installed (make deps)"
	exit 0
fi

ok_if "dovecot_start" dovecot_start "$T/dc"
ok_if "pid file names a live process" kill -0 "$(cat "$DOVECOT_PIDFILE")"
is "variables written to dovecot.env" \
	"$(sed -n "s/^DOVECOT_PORT='\(.*\)'$/\1/p" "$T/dc/dovecot.env")" "$DOVECOT_PORT"

imap_list() { # curl options...
	curl -s --max-time 10 "$@" -u "$DOVECOT_USER:$DOVECOT_PASS" 2>/dev/null | tr -d '\r'
}
is "plain IMAP login" "$(imap_list "imap://127.0.0.1:$DOVECOT_PORT/")" \
	'* LIST (\HasNoChildren) "." INBOX'
is "STARTTLS with the CA" \
	"$(imap_list --ssl-reqd --cacert "$DOVECOT_CA" "imap://localhost:$DOVECOT_PORT/")" \
	'* LIST (\HasNoChildren) "." INBOX'
is "imaps with the CA" \
	"$(imap_list --cacert "$DOVECOT_CA" "imaps://localhost:$DOVECOT_IMAPS_PORT/")" \
	'* LIST (\HasNoChildren) "." INBOX'
ok_if "imaps without the CA is refused" \
	sh -c "! curl -s --max-time 10 'imaps://localhost:$DOVECOT_IMAPS_PORT/' -u x:y"
ok_if "imaps by address is a name mismatch" \
	sh -c "! curl -s --max-time 10 --cacert '$DOVECOT_CA' 'imaps://127.0.0.1:$DOVECOT_IMAPS_PORT/' -u x:y"

# deliver: one (doveadm save) and several (one import)
for i in 1 2 3 4 5 6; do
	printf 'From: jovana@example.org\nSubject: kvar %d\n\nNe radi svetlo %d.\n' "$i" "$i" >"$T/m$i.eml"
done
ok_if "deliver one" dovecot_deliver "$T/dc" "$DOVECOT_USER" "$T/m1.eml"
ok_if "deliver five" dovecot_deliver "$T/dc" "$DOVECOT_USER" "$T/m2.eml" "$T/m3.eml" \
	"$T/m4.eml" "$T/m5.eml" "$T/m6.eml"
is "uidnext after 6 deliveries" "$(dovecot_uidnext "$T/dc" "$DOVECOT_USER")" 7
is "count" "$(dovecot_count "$T/dc" "$DOVECOT_USER" INBOX)" 6

# fill: bulk into the second user's INBOX
start=$(date +%s)
ok_if "fill 2000" dovecot_fill "$T/dc" "$DOVECOT_USER2" 2000
is "uidnext after fill" "$(dovecot_uidnext "$T/dc" "$DOVECOT_USER2")" 2001
diag "fill 2000 took $(( $(date +%s) - start )) s"

bench=$S48_BIN/tools/imap_fetch_bench
if [ -x "$bench" ]; then
	out=$("$bench" 127.0.0.1 "$DOVECOT_PORT" "$DOVECOT_USER2" "$DOVECOT_PASS2")
	echo "$out" | sed 's/^/# /'
	ok_if "raw fetch read 2000" sh -c "echo '$out' | grep -q '^imap raw fetch: 2000 msgs'"
	ok_if "intake fetch read 2000" sh -c "echo '$out' | grep -q '^imap intake fetch: 2000 msgs'"
else
	skip "raw fetch read 2000" "no $bench (make tests-build)"
	skip "intake fetch read 2000" "no $bench"
fi

# the standalone form, on a second instance
env2=$(sh "$S48_TOP/tests/lib/dovecot.sh" start "$T/dc2")
ok_if "standalone start prints assignments" \
	sh -c "echo \"\$1\" | grep -q \"^DOVECOT_IMAPS_PORT='[0-9]*'\$\"" _ "$env2"
pid2=$(cat "$T/dc2/run/master.pid")
sh "$S48_TOP/tests/lib/dovecot.sh" stop "$T/dc2"
ok_if "standalone stop" sh -c "! [ -f '$T/dc2/run/master.pid' ]"

pid=$(cat "$DOVECOT_PIDFILE")
port=$DOVECOT_PORT
dovecot_stop "$T/dc"
ok_if "stopped: master gone" sh -c "! { [ -d /proc/$pid ] && ! grep -q ') Z' /proc/$pid/stat; }"
ok_if "stopped: second master gone" sh -c "! { [ -d /proc/$pid2 ] && ! grep -q ') Z' /proc/$pid2/stat; }"
ok_if "stopped: port closed" sh -c "! curl -s --max-time 5 'imap://127.0.0.1:$port/' -u x:y"
echo "1..$_tap_n"
