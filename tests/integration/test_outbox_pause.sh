#!/bin/sh
# The outbox after a database error (s48d in loop mode, poll_interval 1):
# the loop pauses the outbox (min(poll_interval, 5 s)) instead of trying
# again at once, logs one warning per streak of failures (further passes at
# debug level) and one line when it works again, and SIGTERM still stops it
# at once.  The error: a trigger that refuses every outbox status change,
# so each pass fails at once (without the pause: a hot loop).  A database
# locked by another connection fails only after the busy timeout (10 s),
# which throttles the loop by itself, and the other parts of the loop wait
# on the same lock first: test_outbox_batch covers the outbox pass on a
# locked database.
set -u
. "$(dirname "$0")/../lib/tap.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/s48d.sh"
s48d_e2e
sed -i 's/level = "info"/level = "debug"/' "$CONF"
grep -q 'level = "debug"' "$CONF" || { echo "not ok 1 - debug log level set"; exit 1; }

block() {
	sql "CREATE TRIGGER test_block BEFORE UPDATE OF status ON outbox
	     BEGIN SELECT RAISE(ABORT, 'test: outbox blocked'); END;"
}
unblock() { sql "DROP TRIGGER IF EXISTS test_block"; }
pending() { sql "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')"; }
none_pending() { [ "$(pending)" -eq 0 ]; }
count_in() { # LOG REGEX
	grep -cE "$2" "$1" 2>/dev/null || true
}
ticket_of() { [ "$(sql "SELECT count(*) FROM tickets WHERE reporter = '$1'")" -eq 1 ]; }
acked() { grep -rqs "^To: $1" "$E/smtp/mail"; }
warned_more() { [ "$(count_in "$log" 'warn.*outbox: .*test: outbox blocked')" -gt "$1" ]; }

log=$T/s48d.log
s48d_start "$log"
wait_until 10 grep -qs 's48d started' "$log"
ok_if "s48d started" s48d_alive
e2e_mail "$E" "prvi@example.net" "Curi voda" "Curi voda iz cevi u ulici."
ok_if "before: a report is acknowledged" wait_until 10 acked prvi@example.net
# and its other rows (the department's notice) sent too: a row still
# 'sending' when the trigger comes stays so until it goes (its end is a
# status change), and was counted below as claimed while blocked
ok_if "before: all its outbox rows are sent" wait_until 10 none_pending

# --- a trigger refuses every claim: the outbox pauses, the loop does not spin
block
e2e_mail "$E" "drugi@example.net" "Curi voda" "Curi voda i ovde."
ok_if "the blocked report is a ticket" wait_until 10 ticket_of drugi@example.net
ok_if "the outbox pass fails" wait_until 10 grep -qs 'outbox: .*test: outbox blocked' "$log"
sleep 4
warns=$(count_in "$log" 'warn.*outbox: .*test: outbox blocked')
passes=$(count_in "$log" 'outbox: pass [0-9]+ failed again')
diag "blocked for 4 s: $warns warning(s), $passes further failed passes logged at debug level"
is "one warning for the streak" "$warns" 1
ok_if "the outbox was tried again while blocked ($passes passes)" [ "$passes" -ge 2 ]
# every failed pass logs one line (warning or debug): a hot loop logs thousands
all=$(count_in "$log" 'outbox: .*test: outbox blocked')
ok_if "but paused between passes, no hot loop ($all failed passes in ~4 s, pause 1 s)" [ "$all" -le 9 ]
is "nothing of the blocked ticket left claimed" "$(sql "SELECT count(*) FROM outbox WHERE status = 'sending'")" 0
ok_if "the sources are still polled meanwhile" s48d_alive
e2e_mail "$E" "treci@example.net" "Rupa" "Rupa na kolovozu."
ok_if "a report during the pause is still ingested" wait_until 10 ticket_of treci@example.net
unblock
ok_if "after the block: everything is sent" wait_until 10 none_pending
ok_if "the blocked citizens got their acknowledgements" \
	sh -c "grep -rqs '^To: drugi@example.net' '$E/smtp/mail' && grep -rqs '^To: treci@example.net' '$E/smtp/mail'"
ok_if "one line says the outbox works again" wait_until 5 grep -qs 'outbox: the database works again after [0-9]* failed passes' "$log"
n=$(sed -n 's/.*the database works again after \([0-9]*\) failed passes.*/\1/p' "$log" | head -1)
passes=$(count_in "$log" 'outbox: pass [0-9]+ failed again')
is "its count is the passes of the streak" "${n:-x}" "$((passes + 1))"

# --- SIGTERM while the outbox pauses: immediate
block
before=$(count_in "$log" 'warn.*outbox: .*test: outbox blocked')
e2e_mail "$E" "peti@example.net" "Slivnik" "Zapusen slivnik."
ok_if "a new streak warns again" wait_until 10 warned_more "$before"
sleep 0.3
s48d_term_within "SIGTERM during the pause" 1.5
unblock
"$S48D" -c "$CONF" --once 2>"$T/once.log"
is "--once afterwards exits 0" "$?" 0
is "nothing pending or sending at the end" "$(pending)" 0
ok_if "the last citizen got the acknowledgement" acked peti@example.net
