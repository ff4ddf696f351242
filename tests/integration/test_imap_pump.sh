#!/bin/sh
# The IMAP pump (daemon/imap_pump.c) fetches the next batch while s48d
# stores the current one and moves committed batches behind it.  Over
# several batches (IMAP_BATCH is 1,000) nothing may be fetched twice: the
# s48d log must count no duplicates, every mail must become exactly one
# ticket and end up moved (MOVE mode) or \Seen (cursor mode), and SIGTERM in
# the middle of a long poll must stop s48d quickly without a duplicate
# ticket afterwards.
set -u
. "$(dirname "$0")/../lib/tap.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/s48d.sh"
. "$S48_TOP/tests/lib/db.sh"
e2e_start
DC=$T/e2e/dovecot
DB=$T/e2e/s48.db
# "imap: 2600 messages: 2600 new tickets, 0 appended, 0 duplicates, 0 other"
stat_of() { # LOG FIELD(messages|new|duplicates)
	sed -n 's/.*imap: \([0-9]*\) messages: \([0-9]*\) new tickets, [0-9]* appended, \([0-9]*\) duplicates.*/\1 \2 \3/p' "$1" |
		awk -v f="$2" '{ m += $1; t += $2; d += $3 } END { print (f == "messages" ? m : f == "new" ? t : d) + 0 }'
}
# N more mails, then s48d --once with CONF: exit 0, N new tickets, none twice
fill_run() { # LABEL CONF N LOG
	dovecot_fill "$DC" "$DOVECOT_USER" "$3" 400 || { echo "not ok - mails filled"; exit 1; }
	"$S48D" -c "$2" --once 2>"$4"
	is "$1: --once exits 0" "$?" 0
	is "$1: $3 new tickets" "$(stat_of "$4" new)" "$3"
	is "$1: no message fetched twice" "$(stat_of "$4" duplicates)" 0
}
cp "$CONF" "$T/e2e/move.conf"
sed 's/ processed_mailbox = "Processed";//' "$CONF" >"$T/e2e/seen.conf"

# --- cursor (\Seen) mode, 2,600 mails = three batches ---
dovecot_fill "$DC" "$DOVECOT_USER" 2600 600 || { echo "not ok 1 - mails filled"; exit 1; }
"$S48D" -c "$T/e2e/seen.conf" --once 2>"$T/seen.log"
is "seen mode: --once exits 0" "$?" 0
is "seen mode: 2600 tickets" "$(q 'select count(*) from tickets')" 2600
is "seen mode: the log counts 2600 messages" "$(stat_of "$T/seen.log" messages)" 2600
is "seen mode: no message fetched twice (0 duplicates)" "$(stat_of "$T/seen.log" duplicates)" 0
is "seen mode: every mail is \\Seen" "$(dovecot_count "$DC" "$DOVECOT_USER" INBOX SEEN)" 2600
is "seen mode: the cursor is the last UID" \
	"$(q "select value from source_state where key = 'imap.INBOX.last_uid'")" \
	"$(( $(dovecot_uidnext "$DC" "$DOVECOT_USER" INBOX) - 1 ))"

# --- MOVE mode: the same mails are known (duplicates) and are moved ---
"$S48D" -c "$T/e2e/move.conf" --once 2>"$T/move1.log"
is "move mode: --once exits 0" "$?" 0
is "move mode: known mails come once each as duplicates" "$(stat_of "$T/move1.log" duplicates)" 2600
is "move mode: no new ticket for them" "$(q 'select count(*) from tickets')" 2600
is "move mode: INBOX is empty" "$(dovecot_count "$DC" "$DOVECOT_USER" INBOX)" 0
is "move mode: Processed holds them" "$(dovecot_count "$DC" "$DOVECOT_USER" Processed)" 2600

dovecot_fill "$DC" "$DOVECOT_USER" 2600 600 || { echo "not ok - mails filled"; exit 1; }
"$S48D" -c "$T/e2e/move.conf" --once 2>"$T/move2.log"
is "move mode: --once exits 0 (second fill)" "$?" 0
is "move mode: 2600 new tickets" "$(stat_of "$T/move2.log" new)" 2600
is "move mode: no message fetched twice (0 duplicates)" "$(stat_of "$T/move2.log" duplicates)" 0
is "move mode: INBOX is empty again" "$(dovecot_count "$DC" "$DOVECOT_USER" INBOX)" 0
is "move mode: Processed holds all 5200" "$(dovecot_count "$DC" "$DOVECOT_USER" Processed)" 5200
"$S48D" -c "$T/e2e/move.conf" --once 2>"$T/move3.log"
is "a further run finds nothing" "$(stat_of "$T/move3.log" messages)" 0

# --- acknowledgements gathered: 20,000 mails (five listing windows) ---
# committed UIDs wait for IMAP_PUMP_ACK_EARLY (1,000) while a second session
# can take them (IMAP_PUMP_ACK_MIN, 4,096, on the fetching one), and go out
# as one command of at most IMAP_PUMP_ACK_MAX (4,096) whenever that session
# is free, so that Dovecot moves while s48d fetches; none is fetched twice
sed 's/level = "info"/level = "debug"/' "$T/e2e/move.conf" >"$T/e2e/debug.conf"
fill_run gathered "$T/e2e/debug.conf" 20000 "$T/gather.log"
acks() { sed -n 's/.*acknowledging \([0-9]*\) messages in one command.*/\1/p' "$1"; }
# how many mails the commands in LOG acknowledged
acked() { acks "$1" | awk '{ s += $1 } END { print s + 0 }'; }
# commands in LOG sent before its last fetch on another session than the second
early_off_second() {
	awk '/imap: fetched [0-9]+ messages/ { before += n; n = 0; next }
		/acknowledging [0-9]* messages in one command/ { n += !/\(second session\)/ }
		END { print before + 0 }' "$1"
}
is "gathered: the commands acknowledge 20000 mails" "$(acked "$T/gather.log")" 20000
n_acks=$(acks "$T/gather.log" | wc -l)
ok_if "gathered: in 5 or more commands ($n_acks)" [ "$n_acks" -ge 5 ]
is "gathered: none over 4096" "$(acks "$T/gather.log" | awk '$1 > 4096' | wc -l)" 0
is "gathered: INBOX is empty" "$(dovecot_count "$DC" "$DOVECOT_USER" INBOX)" 0
# the commands due while more was to be fetched went on a second session
# (a second thread), so that Dovecot moved one batch while handing out the next
is "gathered: every command before the last fetch on the second session" \
	"$(early_off_second "$T/gather.log")" 0
ok_if "gathered: mail was fetched after the first command went out" \
	awk '/acknowledging [0-9]+ messages in one command \(second session\)/ { a = 1 } a && /imap: fetched [0-9]+ messages/ { f = 1 } END { exit !f }' "$T/gather.log"

# --- a server slow to acknowledge (each UID MOVE held 700 ms by a proxy):
# once everything is fetched, the fetching session moves a share of what
# is committed beside the second session, so both work to the end ---
"$PY" "$S48_TOP/tests/lib/imap_hang.py" "$T/slow.port" "$T/slow.proxy" slowack "$DOVECOT_PORT" 700 &
slow_pid=$!
wait_until 10 test -s "$T/slow.port"
sed "s/port = $DOVECOT_PORT;/port = $(cat "$T/slow.port");/" "$T/e2e/debug.conf" >"$T/e2e/slow.conf"
fill_run slow "$T/e2e/slow.conf" 6000 "$T/slow.log"
kill "$slow_pid" 2>/dev/null
is "slow: the commands acknowledge 6000 mails" "$(acked "$T/slow.log")" 6000
ok_if "slow: the proxy held the MOVEs ($(grep -c 'slow: MOVE' "$T/slow.proxy"))" [ "$(grep -c 'slow: MOVE' "$T/slow.proxy")" -ge 2 ]
ok_if "slow: the fetching session moved beside the second" \
	grep -q 'acknowledging [0-9]* messages in one command (fetching session, beside the second)' "$T/slow.log"
is "slow: every command before the last fetch on the second session" \
	"$(early_off_second "$T/slow.log")" 0
is "slow: INBOX is empty" "$(dovecot_count "$DC" "$DOVECOT_USER" INBOX)" 0
is "slow: every mail one ticket" "$(q 'select count(*) from tickets')" "$(q 'select count(*) from raw_messages')"

# --- SIGTERM in the middle of a long poll ---
dovecot_fill "$DC" "$DOVECOT_USER" 6000 600 || { echo "not ok - mails filled"; exit 1; }
before=$(q 'select count(*) from tickets')
"$S48D" -c "$T/e2e/move.conf" 2>"$T/term.log" &
pid=$!
tickets_over() { [ "$(q 'select count(*) from tickets' 2>/dev/null || echo 0)" -gt "$1" ]; }
# (a count above the tickets before, not a constant: a constant below it
# sent the SIGTERM before s48d had set up its signal handlers)
wait_until 20 tickets_over $((before + 400))
t0=$(date +%s%N)
kill -TERM "$pid"
wait "$pid"
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
is "SIGTERM mid-poll: exit status 0" "$rc" 0
ok_if "SIGTERM mid-poll: stopped within 5 s (${ms} ms)" [ "$ms" -le 5000 ]
"$S48D" -c "$T/e2e/move.conf" --once 2>"$T/term2.log"
ok_if "the SIGTERM came mid-poll: the restart found mail left ($(stat_of "$T/term2.log" new) new)" \
	[ "$(stat_of "$T/term2.log" new)" -gt 0 ]
is "after the restart: no mail fetched twice" "$(stat_of "$T/term2.log" duplicates)" 0
is "after the restart: every mail is one ticket" "$(q 'select count(*) from tickets')" $((before + 6000))
is "after the restart: one raw row per mail" "$(q 'select count(*) from raw_messages')" $((before + 6000))
is "after the restart: INBOX is empty" "$(dovecot_count "$DC" "$DOVECOT_USER" INBOX)" 0

# --- group commit: the batches are committed without an fsync each, and
# the WAL is made durable before every acknowledgement, by the thread that
# sends it (daemon/store.h).  strace shows the order: each UID MOVE comes
# after an fdatasync of s48.db-wal on the same thread since its last one ---
if command -v strace >/dev/null 2>&1 && strace -f -o /dev/null true 2>/dev/null; then
	dovecot_fill "$DC" "$DOVECOT_USER" 5000 400 || { echo "not ok - mails filled"; exit 1; }
	# (LeakSanitizer stops the threads with ptrace at exit, which it
	# cannot under strace: no leak check in this run of an ASan build)
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		strace -f -y -s 40 -e trace=fdatasync,sendto -o "$T/gc.trace" \
		"$S48D" -c "$T/e2e/move.conf" --once 2>"$T/gc.log"
	is "group commit: --once exits 0" "$?" 0
	is "group commit: 5000 new tickets" "$(stat_of "$T/gc.log" new)" 5000
	is "group commit: INBOX is empty" "$(dovecot_count "$DC" "$DOVECOT_USER" INBOX)" 0
	moves=$(grep -c 'sendto(.*UID MOVE' "$T/gc.trace")
	ok_if "group commit: the mails were moved in more than one command ($moves)" [ "$moves" -ge 2 ]
	is "group commit: every UID MOVE follows an fdatasync of the WAL on its thread" \
		"$(awk '/fdatasync\(.*s48\.db-wal>/ { synced[$1] = 1 }
			/sendto\(.*UID MOVE/ { n++; if (synced[$1]) ok++; synced[$1] = 0 }
			END { print ok + 0 "/" n + 0 }' "$T/gc.trace")" "$moves/$moves"
else
	skip "group commit: fdatasync before UID MOVE" "strace cannot trace here"
fi

# --- over TLS (imaps, the server's certificate checked against its CA):
# the second session is a second verified TLS session on its own thread ---
sed -e "s|host = \"127.0.0.1\"; port = $DOVECOT_PORT; tls = \"none\";|host = \"localhost\"; port = $DOVECOT_IMAPS_PORT; tls = \"implicit\"; ca_file = \"$DOVECOT_CA\";|" \
	"$T/e2e/debug.conf" >"$T/e2e/tls.conf"
ok_if "tls: the config points at the imaps port" grep -q "tls = \"implicit\"" "$T/e2e/tls.conf"
fill_run tls "$T/e2e/tls.conf" 9000 "$T/tls.log"
ok_if "tls: commands went on the second session" \
	grep -q 'acknowledging [0-9]* messages in one command (second session)' "$T/tls.log"
is "tls: the commands acknowledge 9000 mails" "$(acked "$T/tls.log")" 9000
is "tls: INBOX is empty" "$(dovecot_count "$DC" "$DOVECOT_USER" INBOX)" 0

# --- the acknowledging session dies in the middle of a MOVE: the UIDs of
# that command go back to the queue and a new session moves them and the
# rest, so INBOX is empty after that ONE run, with no mail lost and no
# ticket twice (a MOVE sent again over mail already moved is harmless) ---
printf 'verbose_proctitle = yes\n' >>"$DC/dovecot.conf"
doveadm -c "$DC/dovecot.conf" reload
sleep 1
dovecot_fill "$DC" "$DOVECOT_USER" 12000 400 || { echo "not ok - mails filled"; exit 1; }
before=$(q 'select count(*) from tickets')
"$S48D" -c "$T/e2e/debug.conf" --once 2>"$T/kill.log" &
pid=$!
# Dovecot's process title shows the command it is on
# ("dovecot-INSTANCE/imap [user ip UID MOVE]"; this test's instance only)
inst=$(sed -n 's/^instance_name = //p' "$DC/dovecot.conf")
wait_until 30 sh -c "ps -eo args | grep -q '^dovecot-$inst/imap \\[.* UID MOVE\\]'"
found=$?
mover=$(ps -eo pid,args | awk -v p="dovecot-$inst/imap" '$2 == p && / UID MOVE\]/ { print $1; exit }')
[ -n "$mover" ] && kill -KILL "$mover"
wait "$pid"
rc=$?
ok_if "ack session killed: a MOVE was in flight on it (pid ${mover:-none})" [ "$found" = 0 ] && [ -n "$mover" ]
# (the fetching session moves too at the very end, beside the second: if
# the kill hit it there, the poll fails, and the second session still
# moves what is committed)
ok_if "ack session killed: the poll succeeds on a new session (exit $rc)" \
	sh -c "{ [ $rc = 0 ] && grep -q 'acknowledging session failed.*go on a new one' '$T/kill.log'; } ||
		{ [ $rc = 75 ] && grep -q 'acknowledging on the fetching session failed' '$T/kill.log'; }"
ok_if "ack session killed: the log names the MOVE" grep -q 'UID MOVE' "$T/kill.log"
is "ack session killed: INBOX is empty after that one run" "$(dovecot_count "$DC" "$DOVECOT_USER" INBOX)" 0
is "ack session killed: every mail is one ticket" "$(( $(q 'select count(*) from tickets') - before ))" 12000
is "ack session killed: the run fetched each mail once" "$(stat_of "$T/kill.log" new):$(stat_of "$T/kill.log" duplicates)" "12000:0"
"$S48D" -c "$T/e2e/move.conf" --once 2>"$T/kill2.log"
is "ack session killed: the next run exits 0" "$?" 0
is "ack session killed: the next run fetches nothing again" "$(stat_of "$T/kill2.log" messages)" 0

# --- \Seen mode over more than one command: the second session flags ---
sed 's/level = "info"/level = "debug"/' "$T/e2e/seen.conf" >"$T/e2e/seen-debug.conf"
fill_run "seen, 9000" "$T/e2e/seen-debug.conf" 9000 "$T/seen2.log"
is "seen, 9000: every mail is \\Seen" "$(dovecot_count "$DC" "$DOVECOT_USER" INBOX SEEN)" 9000
ok_if "seen, 9000: flagged by the second session" \
	grep -q 'acknowledging [0-9]* messages in one command (second session)' "$T/seen2.log"
is "seen, 9000: the commands flag 9000 mails" "$(acked "$T/seen2.log")" 9000
is "seen, 9000: the cursor is the last UID" \
	"$(q "select value from source_state where key = 'imap.INBOX.last_uid'")" \
	"$(( $(dovecot_uidnext "$DC" "$DOVECOT_USER" INBOX) - 1 ))"

# --- a server that allows one session per user: the fetching session
# acknowledges, as before the second session existed.  INBOX still holds
# the 9,000 \Seen mails (known: duplicates) and gets 9,000 new ones ---
printf 'protocol imap {\n  mail_max_userip_connections = 1\n}\n' >>"$DC/dovecot.conf"
doveadm -c "$DC/dovecot.conf" reload
sleep 1
dovecot_fill "$DC" "$DOVECOT_USER" 9000 400 || { echo "not ok - mails filled"; exit 1; }
"$S48D" -c "$T/e2e/debug.conf" --once 2>"$T/one.log"
is "one session allowed: --once exits 0" "$?" 0
ok_if "one session allowed: the refused login is logged" \
	grep -q 'no second session for acknowledgements (.*): acknowledging on the fetching one' "$T/one.log"
is "one session allowed: 9000 new tickets" "$(stat_of "$T/one.log" new)" 9000
is "one session allowed: the \\Seen ones once each, as duplicates" "$(stat_of "$T/one.log" duplicates)" 9000
is "one session allowed: the fetching session moved all 18000" \
	"$(sed -n 's/.*acknowledging \([0-9]*\) messages in one command$/\1/p' "$T/one.log" | tr '\n' ' ')" \
	"4096 4096 4096 4096 1616 "
is "one session allowed: INBOX is empty" "$(dovecot_count "$DC" "$DOVECOT_USER" INBOX)" 0
