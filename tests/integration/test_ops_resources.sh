#!/bin/sh
# An operator's year, the resources side: the wall clock stepping back, a
# database this user cannot write, the WAL after a long reader, the disk
# full, the config's directory gone at SIGHUP.  s48d logs one clear line
# and recovers, without losing a report; where a restart cannot help it
# exits 78 (the unit does not restart on it).
set -u
. "$(dirname "$0")/../lib/tap.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/s48d.sh"
s48_sink_and_sim

newconf() { # DIR: a config with smtp (sink) and sms (simulator); CONF set
	MKCONF_SMS_URL=$SMS_SIM_URL MKCONF_SMTP_URL="smtp://127.0.0.1:$SMTP_SINK_PORT" mkconf "$1"
	printf 's48-test-key\n' >"$1/sms.key"; chmod 600 "$1/sms.key"
	sed -i 's/^poll_interval = 60;/poll_interval = 1;/' "$1/s48.conf"
	CONF=$1/s48.conf
}
inject() { # N TAG: N SMS reports from distinct numbers, one request
	"$PY" -c 'import json,sys
n, tag = int(sys.argv[1]), sys.argv[2]
print(json.dumps({"messages": [{"from": "+38164%07d" % (hash(tag) % 1000 * 10000 + k),
  "text": ("Pukla cev u ulici %s broj %d, voda curi. " % (tag, k)) * 4} for k in range(n)]}))' "$1" "$2" >"$T/inject.json"
	curl -sS -X POST -H 'Content-Type: application/json' --data-binary @"$T/inject.json" \
		"$SMS_SIM_URL/_sim/inbound" >/dev/null
}
raw() { sqlite3 -cmd '.timeout 5000' "$(dirname "$CONF")/s48.db" 'SELECT count(*) FROM raw_messages'; }
raw_at_least() { [ "$(raw)" -ge "$1" ]; }

# ---- s48ctl on a database that is not there: only `new` creates it --------
newconf "$T/none"
for verb in "list" "stats" "show 1" "status 1 resolved" "backup $T/none/b.db"; do
	# shellcheck disable=SC2086
	"$S48CTL" -c "$CONF" $verb >/dev/null 2>"$T/none.err"
	is "no database: s48ctl $verb exits 74" "$?" 74
done
is "no database: one line naming it" \
	"$(wc -l <"$T/none.err" | tr -d ' '):$(grep -c "database $T/none/s48.db does not exist" "$T/none.err")" 1:1
ok_if "no database: none was made" [ ! -e "$T/none/s48.db" ]
"$S48CTL" -c "$CONF" new --from ana@example.org "Pukla cev" >/dev/null
is "no database: s48ctl new makes it" "$?" 0
"$S48CTL" -c "$CONF" list >/dev/null
is "then s48ctl list works" "$?" 0

# ---- the clock went back: what was queued before is sent now, one line -----
newconf "$T/clk"
N0=$(date +%s)
S48_NOW=$N0 "$S48CTL" -c "$CONF" new --from ana@example.org "Pukla cev" >/dev/null
for step in 86400:in_progress 600:open; do
	back=${step%:*}
	sent0=$(smtp_sink_count "$T/smtp")
	S48_NOW=$N0 "$S48CTL" -c "$CONF" status 1 "${step#*:}" --note "idemo $back" >/dev/null
	S48_NOW=$((N0 - back)) timeout 30 "$S48D" -c "$CONF" --once 2>"$T/clk.log"
	is "clock $back s back: --once exits 0" "$?" 0
	is "clock $back s back: nothing left waiting" \
		"$(sql "SELECT count(*) FROM outbox WHERE status = 'pending'")" 0
	ok_if "clock $back s back: the mail queued before was sent" \
		[ "$(smtp_sink_count "$T/smtp")" -gt "$sent0" ]
	is "clock $back s back: one warning line" \
		"$(grep -c "clock: the system time went back $back s" "$T/clk.log")" 1
	N0=$((N0 - back))
done
# a retry's wait is kept: a row that failed at N0 with 30 min to wait (a new
# Message-ID: the server never accepted it, else DATABASE.sent-log names it
# and the start records it as sent, as after a restored backup)
sql "UPDATE outbox SET status = 'pending', attempts = 1, updated_at = $N0, next_at = $((N0 + 1800)), message_id = 'retry.' || message_id WHERE id = 1"
S48_NOW=$((N0 - 7200)) timeout 30 "$S48D" -c "$CONF" --once 2>"$T/clk.log"
is "clock back 2 h: a retry waits its 30 min from now" \
	"$(sql "SELECT next_at - $((N0 - 7200)) FROM outbox WHERE id = 1")" 1800
S48_NOW=$((N0 - 7200)) timeout 30 "$S48D" -c "$CONF" --once 2>"$T/clk.log"
is "clock steady: no warning the second time" "$(grep -c 'clock:' "$T/clk.log")" 0

# ---- a database this user cannot write: 78 and what to fix ----------------
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	newconf "$T/ro"
	"$S48CTL" -c "$CONF" new --from +381641112233 "Pukla cev" >/dev/null
	chown -R nobody "$T/ro"
	# the programs where nobody can run them: a checkout may sit in a
	# directory only its owner can enter (CI's clean clone in mktemp -d)
	mkdir -p "$T/bin" && cp "$S48D" "$S48CTL" "$T/bin/" && chmod 755 "$T/bin" "$T/bin"/*
	S48D=$T/bin/s48d; S48CTL=$T/bin/s48ctl
	asnobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
	chmod 400 "$T/ro/s48.db"
	asnobody timeout 30 "$S48D" -c "$CONF" --once 2>"$T/ro.log"
	is "read-only database file: exit 78 (a restart will not help)" "$?" 78
	ok_if "read-only database file: the line names it" \
		grep -q "database $T/ro/s48.db: $T/ro/s48.db: not writable for this user (uid 65534): not started" "$T/ro.log"
	asnobody "$S48CTL" -c "$CONF" list >/dev/null 2>&1
	is "read-only database file: s48ctl list still works" "$?" 0
	asnobody "$S48CTL" -c "$CONF" status 1 resolved >/dev/null 2>&1
	is "read-only database file: s48ctl status exits 74" "$?" 74
	chmod 600 "$T/ro/s48.db"
	# the -shm SQLite made for the read-only file took its mode (0400)
	if [ -e "$T/ro/s48.db-shm" ] && [ "$(stat -c %a "$T/ro/s48.db-shm")" = 400 ]; then
		asnobody timeout 30 "$S48D" -c "$CONF" --once 2>"$T/ro.log"
		is "file fixed, -shm still read-only: exit 78" "$?" 78
		ok_if "file fixed, -shm still read-only: the line names the -shm" \
			grep -q "$T/ro/s48.db-shm: not writable" "$T/ro.log"
		chmod 600 "$T/ro/s48.db-shm"
	fi
	rm -f "$T/ro/s48.db.lock"
	chmod 500 "$T/ro"
	asnobody timeout 30 "$S48D" -c "$CONF" --once 2>"$T/ro.log"
	is "directory not writable: exit 78" "$?" 78
	ok_if "directory not writable: the line says why" grep -q "s48.db.lock: Permission denied: not started" "$T/ro.log"
	chmod 700 "$T/ro"
	asnobody timeout 30 "$S48D" -c "$CONF" --once 2>"$T/ro.log"
	is "all writable again: exit 0" "$?" 0
else
	skip "read-only database cases" "need root and setpriv"
fi

# ---- the WAL after a long reader: it grows, then the file shrinks --------
newconf "$T/wal"
"$S48CTL" -c "$CONF" new --from +381641112233 "Pukla cev" >/dev/null
s48d_start "$T/wal.log"
wait_until 10 grep -qs 's48d started' "$T/wal.log"
"$PY" - "$T/wal/s48.db" "$T/wal/reader" <<'PY' &
import os, sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN")
c.execute("SELECT count(*) FROM tickets").fetchone()
open(sys.argv[2], "w").close()
while os.path.exists(sys.argv[2]):
    time.sleep(0.05)
c.execute("COMMIT")
PY
RPID=$!
wait_until 10 test -e "$T/wal/reader"
want=0
for r in 1 2 3 4 5 6; do
	inject 1000 "w$r"; want=$((want + 1000))
	wait_until 60 raw_at_least "$want"
done
big=$(stat -c %s "$T/wal/s48.db-wal")
ok_if "a reader's snapshot: the writer went on ($(raw) of $want stored, -wal $big bytes)" \
	[ "$(raw)" -ge "$want" ]
rm -f "$T/wal/reader"; wait "$RPID"
inject 5 "after"; want=$((want + 5))
wait_until 30 raw_at_least "$want"
sleep 2
small=$(stat -c %s "$T/wal/s48.db-wal")
shrank() { [ "$big" -gt 67108864 ] && [ "$small" -le 67108864 ]; }
ok_if "the -wal file shrinks once the reader is gone ($big -> $small bytes)" shrank
s48d_term_within "after the WAL test" 5

# ---- the disk full: nothing lost once there is room ----------------------
if [ "$(id -u)" = 0 ] && mkdir "$T/full" && mount -t tmpfs -o size=3m tmpfs "$T/full" 2>/dev/null; then
	at_exit "umount $T/full"
	# a simulator of its own: the reconciliation after the failed commit
	# reads the gateway's log, which would hold the WAL test's messages
	sms_sim_stop "$T/sms"
	sms_sim_start "$T/sms2" || { echo "not ok - second simulator"; exit 1; }
	at_exit "sms_sim_stop $T/sms2"
	newconf "$T/fullc"
	sed -i "s|^database = .*|database = \"$T/full/s48.db\";|" "$CONF"
	s48d_start "$T/full.log"
	wait_until 10 grep -qs 's48d started' "$T/full.log"
	want=0
	for r in 1 2 3 4 5 6 7 8; do inject 200 "f$r"; want=$((want + 200)); sleep 1; done
	ok_if "disk full: s48d still runs" s48d_alive
	ok_if "disk full: said so in the log" grep -q 'database or disk is full' "$T/full.log"
	"$S48CTL" -c "$CONF" list >/dev/null 2>&1
	is "disk full: s48ctl list works" "$?" 0
	mount -o remount,size=64m "$T/full"
	CONF_DB=$T/full/s48.db
	wait_until 60 sh -c "[ \$(sqlite3 -cmd '.timeout 5000' $CONF_DB 'SELECT count(*) FROM raw_messages') -ge $want ]"
	is "disk full: every report stored once there is room" \
		"$(sqlite3 -cmd '.timeout 5000' "$CONF_DB" "SELECT count(*) FROM raw_messages WHERE source_key LIKE 'sms:%'")" "$want"
	s48d_term_within "after the disk was full" 5
else
	skip "disk full" "need root and a tmpfs mount"
fi

# ---- the config's directory gone at SIGHUP: the running config is kept ---
newconf "$T/hup/etc"
s48d_start "$T/hup.log"
wait_until 10 grep -qs 's48d started' "$T/hup.log"
mv "$T/hup/etc" "$T/hup/etc.gone"
kill -HUP "$S48D_PID"
wait_until 10 grep -qs 'keeping the running configuration' "$T/hup.log"
ok_if "config directory gone at SIGHUP: reported" grep -q "reload: .*cannot read" "$T/hup.log"
ok_if "config directory gone at SIGHUP: still running" s48d_alive
mv "$T/hup/etc.gone" "$T/hup/etc"
kill -HUP "$S48D_PID"
wait_until 10 grep -qs 'reload: .*3 departments' "$T/hup.log"
ok_if "config directory back: reloaded" grep -q 'reload: .*3 departments' "$T/hup.log"
s48d_term_within "after the reloads" 5
echo "1..$_tap_n"
