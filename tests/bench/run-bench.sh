#!/bin/sh
# tests/bench/run-bench.sh - `make bench`: s48's figures in one run, against
# private servers on 127.0.0.1 (Dovecot, smtp-sink, the SMS simulator):
#
#   email ingest     N generated citizen mails (tests/bench/gen_mail.py) in
#                    a private Dovecot, `s48d --once` without smtp/sms:
#                    messages/s, moving them to Processed, and again in
#                    \Seen mode (no processed_mailbox); then end to end with
#                    an smtp-sink (acknowledgements and department mails sent)
#   mdbox            the raw fetch and both ingest modes again on a Dovecot
#                    that stores mail as mdbox instead of maildir
#   raw limit        UID FETCH 1:* BODY.PEEK[] of the same mailbox
#                    (tests/tools/imap_fetch_bench -r), best of 3; the
#                    ratio ingest / raw
#   SMS ingest       N inbound SMS from the simulator through `s48d --once`
#                    (sending refused by the simulator, so this is ingest
#                    alone): messages/s and HTTP requests
#   instructions     per message, callgrind on bench_instr (a fixed corpus
#                    of 1,000 generated mails and 1,000 SMS)
#   peak RSS         of s48d --once for N and for NBIG mails
#   router           10,000 keywords (bench_router)
#   IDLE latency     mail arrival (s48d idle) -> acknowledgement at the sink,
#                    p50/p99 over 200 mails, s48d running with IMAP IDLE
#   years of tickets s48ctl's lists, stats, show, export and new on a
#                    database of NDB tickets (tests/bench/gen_db.py), then
#                    N mails ingested into it (\Seen mode)
#
# Environment: S48_BUILD (default build), BENCH_N (10000), BENCH_NBIG
# (100000; 0 skips it), BENCH_IDLE_N (200; 0 skips), BENCH_DB_TICKETS
# (1000000; 0 skips the database of years), BENCH_MDBOX (1; 0 skips
# the runs on Dovecot's mdbox format), BENCH_KEEP=1 keeps the
# temporary directory.  Output: one "name: value" line per figure, then the
# same as key=value lines under "# summary" for BENCHMARKS.md.
set -u
S48_TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${S48_BUILD:-build}
case "$BUILD" in /*) S48_BIN=$BUILD ;; *) S48_BIN=$S48_TOP/$BUILD ;; esac
export S48_TOP S48_BIN
N=${BENCH_N:-10000}
NBIG=${BENCH_NBIG:-100000}
IDLE_N=${BENCH_IDLE_N:-200}
NDB=${BENCH_DB_TICKETS:-1000000}
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

for f in "$S48_BIN/s48d" "$S48_BIN/tools/imap_fetch_bench" "$S48_BIN/bench/bench_router" \
    "$S48_BIN/bench/bench_instr"; do
	[ -x "$f" ] || { echo "run-bench: $f missing (make bench-build)" >&2; exit 1; }
done

. "$S48_TOP/tests/lib/dovecot.sh"
. "$S48_TOP/tests/lib/sms_sim.sh"
. "$S48_TOP/tests/lib/mkconf.sh"

T=$(mktemp -d /tmp/s48bench.XXXXXX)
chmod 755 "$T"
SINK_PID=""
S48D_BG=""
cleanup() {
	[ -n "$S48D_BG" ] && kill -KILL "$S48D_BG" 2>/dev/null
	[ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null
	dovecot_stop "$T/dc" >/dev/null 2>&1
	dovecot_stop "$T/dcm" >/dev/null 2>&1
	sms_sim_stop "$T/sms" >/dev/null 2>&1
	if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "# kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SUMMARY=""
fig() { # KEY "human line"
	printf '%s\n' "$2"
	SUMMARY="$SUMMARY$1=$3
"
}
now_ns() { date +%s%N; }
rate() { # COUNT NS
	awk -v n="$1" -v ns="$2" 'BEGIN { printf "%.0f", (ns > 0 ? n / (ns / 1e9) : 0) }'
}
secs() { awk -v ns="$1" 'BEGIN { printf "%.3f", ns / 1e9 }'; }
die() { echo "run-bench: $*" >&2; exit 1; }

# ---- the machine -------------------------------------------------------
echo "# s48 bench $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n)"
echo "# cpu: $(nproc) x $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)," \
	"mem $(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo)," \
	"load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# dovecot $(dovecot --version 2>/dev/null | cut -d' ' -f1), sqlite $(sqlite3 --version 2>/dev/null | cut -d' ' -f1), build $BUILD"

# ---- a private Dovecot, the corpus -------------------------------------
dovecot_start "$T/dc" >/dev/null || die "dovecot did not start"
# Fill USER's INBOX with N generated mails (message numbers from START) and
# let Dovecot give them UIDs.
fill() { # USER N START
	_md=$DOVECOT_DIR/mail/$1
	$PY "$S48_TOP/tests/bench/gen_mail.py" --start "$3" "$_md" "$2" >/dev/null || return 1
	[ "$(id -u)" = 0 ] && chown -R "$(_dc_owner):$(_dc_group)" "$_md"
	_dc_doveadm "$DOVECOT_DIR" force-resync -u "$1" INBOX || return 1
	dovecot_uidnext "$DOVECOT_DIR" "$1" INBOX >/dev/null
}
fill "$DOVECOT_USER" "$N" 1 || die "filling the mailbox failed"
printf '%s\n' "$DOVECOT_PASS" >"$T/imap.pass"; chmod 600 "$T/imap.pass"
printf '%s\n' "$DOVECOT_PASS2" >"$T/imap2.pass"; chmod 600 "$T/imap2.pass"

# ---- raw limit ------------------------------------------------------------
best=0
for i in 1 2 3; do
	r=$("$S48_BIN/tools/imap_fetch_bench" -r 127.0.0.1 "$DOVECOT_PORT" "$DOVECOT_USER" \
	    "$DOVECOT_PASS" | sed -n 's/.* = \([0-9]*\) msgs\/s.*/\1/p')
	[ -n "$r" ] && [ "$r" -gt "$best" ] && best=$r
done
RAW=$best
fig raw_fetch "imap raw fetch (UID FETCH 1:* BODY.PEEK[], best of 3): $RAW msgs/s" "$RAW"

# ---- what acknowledging costs Dovecot ------------------------------------
# s48d must fetch AND acknowledge every mail (MOVE to processed_mailbox, or
# \Seen).  The same N mails in the second user's INBOX: one raw fetch, then
# in the same session one UID STORE over all (\Seen mode); again, then one
# UID MOVE over all.  fetch + acknowledgement is Dovecot's own time per mail
# in each mode, the limit for a client that uses one session.  s48d
# acknowledges on a second session while the first one fetches
# (daemon/imap_pump.h): Dovecot then works on both at once, and the longer
# of the two is the limit (given a CPU for each Dovecot process; this
# machine's CPUs are shared with s48d's own threads).
fill "$DOVECOT_USER2" "$N" 1 || die "filling the second mailbox failed"
"$S48_BIN/tools/imap_fetch_bench" -r -a 'CREATE Measured' 127.0.0.1 "$DOVECOT_PORT" \
    "$DOVECOT_USER2" "$DOVECOT_PASS2" >/dev/null
ackrun() { # CMD -> "fetch_s ack_s"
	"$S48_BIN/tools/imap_fetch_bench" -r -a "$1" 127.0.0.1 "$DOVECOT_PORT" "$DOVECOT_USER2" \
	    "$DOVECOT_PASS2" | awk '/raw fetch/ { f = $7 } /^imap ack/ { a = $(NF - 1) } END { print f, a }'
}
lim1() { awk -v n="$N" -v f="$1" -v a="$2" 'BEGIN { printf "%.0f", (f + a > 0 ? n / (f + a) : 0) }'; }
lim2() { awk -v n="$N" -v f="$1" -v a="$2" 'BEGIN { m = f > a ? f : a; printf "%.0f", (m > 0 ? n / m : 0) }'; }
set -- $(ackrun 'UID STORE 1:* +FLAGS.SILENT (\Seen)')
LIM_SEEN=$(lim1 "$1" "$2")
fig limit_seen "Dovecot limit, \\Seen mode, one session (fetch $1 s + one UID STORE over all $2 s): $LIM_SEEN msgs/s" "$LIM_SEEN"
LIM_SEEN2=$(lim2 "$1" "$2")
fig limit_seen2 "Dovecot limit, \\Seen mode, two sessions (the longer of the two): $LIM_SEEN2 msgs/s" "$LIM_SEEN2"
set -- $(ackrun 'UID MOVE 1:* Measured')
LIM_MOVE=$(lim1 "$1" "$2")
fig limit_move "Dovecot limit, MOVE mode, one session (fetch $1 s + one UID MOVE over all $2 s): $LIM_MOVE msgs/s" "$LIM_MOVE"
LIM_MOVE2=$(lim2 "$1" "$2")
fig limit_move2 "Dovecot limit, MOVE mode, two sessions (the longer of the two): $LIM_MOVE2 msgs/s" "$LIM_MOVE2"

# a config for s48d in DIR reading USER's INBOX (password file PASSFILE)
imap_conf() { # DIR USER PASSFILE [MKCONF env...]
	_d=$1 _u=$2 _p=$3; shift 3
	mkdir -p "$_d"
	env "$@" sh -c '. "$S48_TOP/tests/lib/mkconf.sh"; mkconf "$0"' "$_d"
	sed -i 's/level = "info"/level = "warn"/' "$_d/s48.conf"
	cat >>"$_d/s48.conf" <<CONF
imap = { host = "127.0.0.1"; port = $DOVECOT_PORT; tls = "none"; user = "$_u";
  password_file = "$_p"; mailbox = "INBOX"; processed_mailbox = "Processed";
  idle = true; ack_max_age_days = 7; };
CONF
}
tickets() { sqlite3 -cmd '.timeout 5000' "$1/s48.db" "SELECT count(*) FROM tickets"; }
# CPU time of Dovecot's processes in ticks: the master's own and what it
# reaped of its children (imap, imap-login, auth...).  An imap process ends
# with its session, so after s48d exits, once none is left, the difference
# of two readings is what Dovecot spent on s48d's sessions.
DC_PID=$(cat "$DOVECOT_DIR/run/master.pid" 2>/dev/null)
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
dc_ticks() {
	_n=0
	# imap processes of the sessions just closed, up to 2 s to end
	while [ "$_n" -lt 20 ] && pgrep -P "$DC_PID" -x imap >/dev/null 2>&1; do
		sleep 0.1; _n=$((_n + 1))
	done
	awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$DC_PID/stat" 2>/dev/null || echo 0
}
# s48d --once on DIR/s48.conf; sets ELAPSED (ns), RSS (kB) and CPU_US (user +
# system CPU of s48d, microseconds).  Exit codes other than 0 and OKRC are
# reported.
once() { # DIR [OKRC]
	_t0=$(now_ns)
	/usr/bin/time -f '%M %U %S' -o "$1/rss" "$S48_BIN/s48d" -c "$1/s48.conf" --once 2>"$1/s48d.log"
	_rc=$?
	ELAPSED=$(( $(now_ns) - _t0 ))
	RSS=$(tail -1 "$1/rss" | cut -d' ' -f1)
	CPU_US=$(tail -1 "$1/rss" | awk '{ printf "%.0f", ($2 + $3) * 1e6 }')
	[ $_rc = 0 ] || [ $_rc = "${2:-0}" ] || echo "# s48d --once exited $_rc (see $1/s48d.log)" >&2
}

# ---- email ingest in \Seen mode: no processed_mailbox -----------------------
# Messages stay in INBOX (flagged \Seen, a UID cursor), so the run below,
# on a new database, ingests the same mailbox again, moving it to Processed:
# the difference between the two is Dovecot's MOVE.
imap_conf "$T/mail3" "$DOVECOT_USER" "$T/imap.pass" MKCONF_SMTP=0 MKCONF_SMS=0
sed -i 's/ processed_mailbox = "Processed";//' "$T/mail3/s48.conf"
dcs0=$(dc_ticks)
once "$T/mail3"
dcs1=$(dc_ticks)
CPU_SEEN=$(awk -v c="$CPU_US" -v n="$N" 'BEGIN { printf "%.1f", c / n }')
got=$(tickets "$T/mail3")
SEEN=$(rate "$N" "$ELAPSED")
ELAPSED_SEEN=$ELAPSED
got_seen=$got

# ---- email ingest alone ---------------------------------------------------
imap_conf "$T/mail1" "$DOVECOT_USER" "$T/imap.pass" MKCONF_SMTP=0 MKCONF_SMS=0
dc0=$(dc_ticks)
once "$T/mail1"
dc1=$(dc_ticks)
got=$(tickets "$T/mail1")
[ "$got" = "$N" ] || echo "# email ingest: $got tickets for $N mails" >&2
ING=$(rate "$N" "$ELAPSED")
RSS_N=$RSS
CPU_ING=$(awk -v c="$CPU_US" -v n="$N" 'BEGIN { printf "%.1f", c / n }')
fig email_ingest "email ingest (s48d --once, no smtp/sms, moved to Processed): $N mails in $(secs "$ELAPSED") s = $ING msgs/s, $got tickets" "$ING"
fig ingest_raw_ratio "email ingest / raw fetch: $(awk -v a="$ING" -v b="$RAW" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" \
	"$(awk -v a="$ING" -v b="$RAW" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
fig ingest_move_ratio "email ingest / Dovecot's MOVE-mode limit with two sessions: $(awk -v a="$ING" -v b="$LIM_MOVE2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" \
	"$(awk -v a="$ING" -v b="$LIM_MOVE2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
fig email_cpu "CPU of s48d per mail in that run (user + system, all threads): $CPU_ING us" "$CPU_ING"
# The physical limit: both programs' CPU per mail against the CPUs there
# are, the most this machine could ingest if nothing ever waited.
DC_ING=$(awk -v a="$dc0" -v b="$dc1" -v t="$CLK_TCK" -v n="$N" 'BEGIN { printf "%.1f", (b - a) / t * 1e6 / n }')
fig dovecot_cpu "CPU of Dovecot per mail in that run (its processes, user + system): $DC_ING us" "$DC_ING"
CEIL=$(awk -v s="$CPU_ING" -v d="$DC_ING" -v c="$(nproc)" 'BEGIN { printf "%.0f", (s + d > 0 ? c * 1e6 / (s + d) : 0) }')
fig cpu_ceiling "CPU ceiling for that work: $(nproc) CPUs / ($CPU_ING + $DC_ING us per mail) = $CEIL msgs/s; half the raw fetch = $((RAW / 2)) msgs/s" "$CEIL"
DC_SEEN=$(awk -v a="$dcs0" -v b="$dcs1" -v t="$CLK_TCK" -v n="$N" 'BEGIN { printf "%.1f", (b - a) / t * 1e6 / n }')
CEIL_SEEN=$(awk -v s="$CPU_SEEN" -v d="$DC_SEEN" -v c="$(nproc)" 'BEGIN { printf "%.0f", (s + d > 0 ? c * 1e6 / (s + d) : 0) }')
fig email_ingest_seen "email ingest, \\Seen mode (no processed_mailbox, nothing moved): $N mails in $(secs "$ELAPSED_SEEN") s = $SEEN msgs/s, $got_seen tickets (ingest / raw $(awk -v a="$SEEN" -v b="$RAW" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'))" "$SEEN"
fig cpu_ceiling_seen "CPU ceiling, \\Seen mode: $(nproc) CPUs / ($CPU_SEEN us of s48d + $DC_SEEN us of Dovecot per mail) = $CEIL_SEEN msgs/s" "$CEIL_SEEN"

# ---- email end to end with an SMTP sink ------------------------------------
# Our own sink without -d: writing 2N files would measure the disk, not s48.
SINK_PORT=$(_dc_free_port)
sink_user=""
[ "$(id -u)" = 0 ] && sink_user="-u nobody"
# shellcheck disable=SC2086
/usr/sbin/smtp-sink -a $sink_user "127.0.0.1:$SINK_PORT" 256 >"$T/sink.log" 2>&1 &
SINK_PID=$!
$PY -c 'import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close(); sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)' "$SINK_PORT" || die "smtp-sink did not start"
fill "$DOVECOT_USER2" "$N" 1 || die "filling the second mailbox failed"
imap_conf "$T/mail2" "$DOVECOT_USER2" "$T/imap2.pass" MKCONF_SMS=0 \
	MKCONF_SMTP_URL="smtp://127.0.0.1:$SINK_PORT"
once "$T/mail2"
sent=$(sqlite3 -cmd '.timeout 5000' "$T/mail2/s48.db" \
	"SELECT count(*) FROM outbox WHERE status = 'sent' AND channel = 'email'")
E2E=$(rate "$N" "$ELAPSED")
fig email_e2e "email end to end (ingest + $sent mails sent to smtp-sink on smtp.connections = 4, the default): $N mails in $(secs "$ELAPSED") s = $E2E msgs/s" "$E2E"
RSS_E2E=$RSS

# ---- Dovecot's CPU per mail, command by command ------------------------------
# N mails again in the second user's INBOX (emptied by the run above); each
# kind of s48d's commands in a session of its own (tests/bench/dovecot_cpu.py).  With maildir,
# \Seen renames each mail's file (flags live in its name) and MOVE links it
# into the other folder and unlinks it: Dovecot's share of the machine.
fill "$DOVECOT_USER2" "$N" $((N + 1)) || die "filling the second mailbox failed"
dccpu=$($PY "$S48_TOP/tests/bench/dovecot_cpu.py" 127.0.0.1 "$DOVECOT_PORT" "$DOVECOT_USER2" \
    "$DOVECOT_PASS2" "$DC_PID" "$N" Measured2 2>&1)
dcv() { printf '%s\n' "$dccpu" | awk -v k="$1" '$1 == "dovecot_cpu" && $2 == k { print $3 }'; }
printf '%s\n' "$dccpu" | awk '$1 == "dovecot_cpu" { l = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ [^ ]+  /, "", l);
    printf "Dovecot CPU per mail, %s: %s us (%s s)\n", l, $3, $4 }'
DCL=$(dcv list) DCF=$(dcv fetch) DCS=$(dcv seen) DCM=$(dcv move)
DC_ALONE_SEEN=$(awk -v a="$DCL" -v b="$DCF" -v c="$DCS" -v n="$(nproc)" 'BEGIN { t = a + b + c; printf "%.0f", (t > 0 ? n * 1e6 / t : 0) }')
DC_ALONE_MOVE=$(awk -v a="$DCL" -v b="$DCF" -v c="$DCM" -v n="$(nproc)" 'BEGIN { t = a + b + c; printf "%.0f", (t > 0 ? n * 1e6 / t : 0) }')
fig dovecot_alone_seen "Dovecot alone on all $(nproc) CPUs, \\Seen mode (listing + fetch + STORE): $DC_ALONE_SEEN msgs/s at most, for a client that cost nothing" "$DC_ALONE_SEEN"
fig dovecot_alone_move "Dovecot alone on all $(nproc) CPUs, MOVE mode (listing + fetch + MOVE): $DC_ALONE_MOVE msgs/s at most; half the raw fetch = $((RAW / 2)) msgs/s" "$DC_ALONE_MOVE"

# ---- the same with Dovecot's mdbox format -------------------------------------
# maildir keeps a mail's flags in its file's name and a folder as a directory,
# so \Seen renames every file and MOVE links and unlinks it.  mdbox keeps
# mails in large files and flags and folders in its indexes: acknowledging is
# cheap, and so is the raw fetch.  The same N mails (doveadm import) in a
# second private Dovecot: raw fetch, \Seen mode, MOVE mode; the CPU of both
# programs per mail and the ceiling on this machine's CPUs.
if [ "${BENCH_MDBOX:-1}" = 1 ]; then
	DOVECOT_MAIL_FORMAT=mdbox dovecot_start "$T/dcm" >/dev/null || die "the mdbox dovecot did not start"
	MD_PORT=$DOVECOT_PORT
	$PY "$S48_TOP/tests/bench/gen_mail.py" "$T/mdsrc" "$N" >/dev/null || die "gen_mail failed"
	[ "$(id -u)" = 0 ] && chown -R "$(_dc_owner):$(_dc_group)" "$T/mdsrc"
	_dc_doveadm "$T/dcm" import -u "$DOVECOT_USER" "maildir:$T/mdsrc" "" all ||
		die "doveadm import into mdbox failed"
	DC_PID_MAILDIR=$DC_PID
	DC_PID=$(cat "$T/dcm/run/master.pid")
	best=0
	for i in 1 2 3; do
		m0=$(dc_ticks)
		r=$("$S48_BIN/tools/imap_fetch_bench" -r 127.0.0.1 "$MD_PORT" "$DOVECOT_USER" \
		    "$DOVECOT_PASS" | sed -n 's/.* = \([0-9]*\) msgs\/s.*/\1/p')
		m1=$(dc_ticks)
		[ -n "$r" ] && [ "$r" -gt "$best" ] && best=$r
	done
	MD_RAW=$best
	MD_DC_RAW=$(awk -v a="$m0" -v b="$m1" -v t="$CLK_TCK" -v n="$N" 'BEGIN { printf "%.1f", (b - a) / t * 1e6 / n }')
	fig mdbox_raw_fetch "mdbox: raw fetch, best of 3: $MD_RAW msgs/s (Dovecot $MD_DC_RAW us per mail)" "$MD_RAW"
	# s48d in DIR on the mdbox INBOX, \Seen or MOVE mode -> "rate s48d_us dovecot_us ceiling"
	md_run() { # DIR seen|move
		imap_conf "$1" "$DOVECOT_USER" "$T/imap.pass" MKCONF_SMTP=0 MKCONF_SMS=0
		sed -i "s/port = $DOVECOT_PORT;/port = $MD_PORT;/" "$1/s48.conf"
		[ "$2" = seen ] && sed -i 's/ processed_mailbox = "Processed";//' "$1/s48.conf"
		_m0=$(dc_ticks)
		once "$1"
		_m1=$(dc_ticks)
		[ "$(tickets "$1")" = "$N" ] || echo "# mdbox $2: $(tickets "$1") tickets for $N mails" >&2
		awk -v n="$N" -v ns="$ELAPSED" -v c="$CPU_US" -v a="$_m0" -v b="$_m1" -v t="$CLK_TCK" \
		    -v p="$(nproc)" 'BEGIN { s = c / n; d = (b - a) / t * 1e6 / n;
		    printf "%.0f %.1f %.1f %.0f\n", n / (ns / 1e9), s, d, p * 1e6 / (s + d) }'
	}
	set -- $(md_run "$T/md-seen" seen)
	fig mdbox_ingest_seen "mdbox: email ingest, \\Seen mode: $1 msgs/s (ingest / raw $(awk -v a="$1" -v b="$MD_RAW" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')); CPU per mail s48d $2 us, Dovecot $3 us; ceiling $4 msgs/s" "$1"
	set -- $(md_run "$T/md-move" move)
	fig mdbox_ingest_move "mdbox: email ingest, MOVE mode: $1 msgs/s (ingest / raw $(awk -v a="$1" -v b="$MD_RAW" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')); CPU per mail s48d $2 us, Dovecot $3 us; ceiling $4 msgs/s" "$1"
	DC_PID=$DC_PID_MAILDIR
	dovecot_stop "$T/dcm" >/dev/null 2>&1
	. "$T/dc/dovecot.env"
fi

# ---- SMS ingest -----------------------------------------------------------
sms_sim_start "$T/sms" >/dev/null || die "SMS simulator did not start"
$PY - "$N" >"$T/sms.json" <<'EOF'
import json, sys
n = int(sys.argv[1])
texts = ["Pukla cev u ulici Kneza Milosa broj %d, voda curi", "Ne radi rasveta u Takovskoj %d",
         "Велика рупа на коловозу код броја %d", "Zapušen slivnik ispred broja %d",
         "Kontejner nije ispražnjen, Dunavska %d"]
print(json.dumps({"messages": [{"from": "38164%07d" % i, "text": texts[i % 5] % i}
                               for i in range(n)]}))
EOF
sms_sim_call POST /_sim/inbound "@$T/sms.json" >/dev/null || die "SMS injection failed"
# sending refused: every reply stays pending, this run is the ingest alone
sms_sim_call POST /_sim/fault '{"mode": "500", "only": "infobip_send"}' >/dev/null
mkdir -p "$T/sms1"
MKCONF_SMTP=0 MKCONF_SMS=0 mkconf "$T/sms1"
sed -i 's/level = "info"/level = "warn"/' "$T/sms1/s48.conf"
printf 's48-test-key\n' >"$T/sms1/sms.key"; chmod 600 "$T/sms1/sms.key"
cat >>"$T/sms1/s48.conf" <<CONF
sms = { profile = "infobip"; base_url = "$SMS_SIM_URL"; api_key_file = "sms.key";
  number = "+381601234567"; ascii = true; max_segments = 2; first_run_days = 2; timeout = 10; };
CONF
once "$T/sms1" 75
got=$(tickets "$T/sms1")
stats=$(sms_sim_call GET /_sim/stats)
pulls=$(printf '%s' "$stats" | $PY -c 'import json,sys; print(json.load(sys.stdin).get("infobip_pull", 0))')
reqs=$(printf '%s' "$stats" | $PY -c 'import json,sys; print(json.load(sys.stdin).get("requests", 0))')
SMS=$(rate "$N" "$ELAPSED")
fig sms_ingest "SMS ingest (s48d --once, infobip pull, batch 100): $N SMS in $(secs "$ELAPSED") s = $SMS msgs/s, $got tickets, $reqs HTTP requests ($pulls pulls)" "$SMS"
fig sms_requests "SMS HTTP requests for $N messages: $reqs" "$reqs"

# ---- instructions per message (callgrind) -----------------------------------
if command -v valgrind >/dev/null 2>&1; then
	$PY "$S48_TOP/tests/bench/gen_mail.py" --eml "$T/corpus" 1000 >/dev/null
	(cd "$T" && valgrind --tool=callgrind --callgrind-out-file="$T/cg.out" \
	    "$S48_BIN/bench/bench_instr" "$T/corpus" 1000 >"$T/instr.log" 2>&1)
	ism=$(sed -n 's/^totals: //p' "$T/cg.out.1" 2>/dev/null)
	iem=$(sed -n 's/^totals: //p' "$T/cg.out.2" 2>/dev/null)
	ISMS=$(awk -v t="${ism:-0}" 'BEGIN { printf "%.0f", t / 1000 }')
	IEM=$(awk -v t="${iem:-0}" 'BEGIN { printf "%.0f", t / 1000 }')
	fig instr_sms "instructions per SMS (parse + route + store, callgrind, 1,000 SMS): $ISMS" "$ISMS"
	fig instr_email "instructions per email (parse + route + store, callgrind, 1,000 mails): $IEM" "$IEM"
else
	echo "instructions per message: valgrind not installed (scripts/deps.sh)"
fi

# ---- peak RSS -----------------------------------------------------------------
fig rss_n "peak RSS of s48d --once, $N mails: $RSS_N kB" "$RSS_N"
fig rss_e2e "peak RSS of s48d --once end to end (also sending $sent mails): $RSS_E2E kB" "$RSS_E2E"
if [ "$NBIG" -gt 0 ]; then
	fill "$DOVECOT_USER" "$NBIG" $((N + 1)) || die "filling $NBIG mails failed"
	imap_conf "$T/big" "$DOVECOT_USER" "$T/imap.pass" MKCONF_SMTP=0 MKCONF_SMS=0
	once "$T/big"
	got=$(tickets "$T/big")
	fig rss_big "peak RSS of s48d --once, $NBIG mails: $RSS kB ($got tickets, $(rate "$NBIG" "$ELAPSED") msgs/s)" "$RSS"
	fig email_ingest_big "email ingest, $NBIG mails: $(rate "$NBIG" "$ELAPSED") msgs/s, CPU of s48d $(awk -v c="$CPU_US" -v n="$NBIG" 'BEGIN { printf "%.1f", c / n }') us per mail" "$(rate "$NBIG" "$ELAPSED")"
fi

# ---- a database of years: s48ctl, then ingest, on NDB tickets ------------------
if [ "$NDB" -gt 0 ]; then
	imap_conf "$T/years" "$DOVECOT_USER" "$T/imap.pass" MKCONF_SMTP=0 MKCONF_SMS=0
	sed -i 's/ processed_mailbox = "Processed";//' "$T/years/s48.conf"
	YC="$S48_BIN/s48ctl -c $T/years/s48.conf"
	$YC new --from +381641234567 "curi voda" >/dev/null 2>&1 || die "s48ctl new failed"
	$PY "$S48_TOP/tests/bench/gen_db.py" "$T/years/s48.db" "$NDB" || die "gen_db.py failed"
	sync
	dbmb=$(du -m "$T/years/s48.db" | cut -f1)
	month=$(date +%Y-%m-01)
	ydb="" # "label=seconds/kB, ..." for the summary
	ytime() { # LABEL CMD...: wall seconds and peak RSS of CMD, output discarded
		_l=$1; shift
		/usr/bin/time -f '%e %M' -o "$T/years/t" "$@" >/dev/null 2>"$T/years/err" ||
			echo "# $_l exited non-zero: $(head -c 300 "$T/years/err")" >&2
		read -r _s _k <"$T/years/t"
		printf '  %-48s %6s s  %6s kB\n' "$_l" "$_s" "$_k"
		ydb="$ydb${ydb:+, }$_l=${_s}s"
	}
	echo "a database of $NDB tickets over three years ($dbmb MB; tests/bench/gen_db.py):"
	ytime "s48ctl list --overdue" $YC list --overdue
	ytime "s48ctl list --status open --json" $YC list --status open --json
	ytime "s48ctl list (every ticket)" $YC list
	ytime "s48ctl stats (three years)" $YC stats
	ytime "s48ctl stats --since $month" $YC stats --since "$month"
	ytime "s48ctl show $((NDB / 2))" $YC show $((NDB / 2))
	ytime "s48ctl export --format csv --since $month" $YC export --format csv --since "$month"
	ytime "s48ctl new" $YC new --from +381641234567 "ne radi svetlo"
	SUMMARY="${SUMMARY}years_db=$NDB tickets, $dbmb MB: $ydb
"
	# the same N mails as the \Seen-mode run above, into this database
	fill "$DOVECOT_USER" "$N" $((N + NBIG + 1)) || die "filling the mailbox failed"
	once "$T/years"
	got=$(( $(tickets "$T/years") - NDB - 2 ))
	cpu=$(awk -v c="$CPU_US" -v n="$N" 'BEGIN { printf "%.1f", c / n }')
	fig email_ingest_years "email ingest, \\Seen mode, into that database: $N mails in $(secs "$ELAPSED") s = $(rate "$N" "$ELAPSED") msgs/s, $got tickets, CPU of s48d $cpu us per mail (a new database: $CPU_SEEN), peak RSS $RSS kB" "$(rate "$N" "$ELAPSED")"
	rm -rf "$T/years"
fi

# ---- router ---------------------------------------------------------------------
"$S48_BIN/bench/bench_router" 2>&1 | sed -n 's/^router: /router: /p' | while IFS= read -r l; do echo "$l"; done
ROUTER=$("$S48_BIN/bench/bench_router" 20000 2>&1 | sed -n 's/.*1 kB message: \([0-9]*\) routes.*/\1/p')
SUMMARY="${SUMMARY}router_routes=$ROUTER
"

# ---- IDLE: arrival -> acknowledgement ------------------------------------------------
if [ "$IDLE_N" -gt 0 ]; then
	kill "$SINK_PID" 2>/dev/null
	SINK_PID=""
	mkdir -p "$T/idlesink"
	[ "$(id -u)" = 0 ] && { chmod o+x "$T"; chown nobody "$T/idlesink"; }
	SINK_PORT=$(_dc_free_port)
	# shellcheck disable=SC2086
	/usr/sbin/smtp-sink -a $sink_user -d "$T/idlesink/%M." "127.0.0.1:$SINK_PORT" 64 \
		>"$T/sink2.log" 2>&1 &
	SINK_PID=$!
	imap_conf "$T/idle" "$DOVECOT_USER2" "$T/imap2.pass" MKCONF_SMS=0 \
		MKCONF_SMTP_URL="smtp://127.0.0.1:$SINK_PORT"
	sed -i 's/^poll_interval = 60;/poll_interval = 300;/' "$T/idle/s48.conf"
	"$S48_BIN/s48d" -c "$T/idle/s48.conf" 2>"$T/idle/s48d.log" &
	S48D_BG=$!
	sleep 1
	lat=$($PY "$S48_TOP/tests/bench/idle_latency.py" "$DOVECOT_DIR/mail/$DOVECOT_USER2" \
	    "$T/idlesink" "$IDLE_N" "$(_dc_owner)")
	kill -TERM "$S48D_BG" 2>/dev/null
	wait "$S48D_BG" 2>/dev/null
	S48D_BG=""
	p50=$(printf '%s\n' "$lat" | sed -n 's/.*p50=\([0-9.]*\).*/\1/p')
	p99=$(printf '%s\n' "$lat" | sed -n 's/.*p99=\([0-9.]*\).*/\1/p')
	fig idle_latency "IDLE arrival -> acknowledgement at the sink ($IDLE_N mails one by one, s48d idle at each arrival): $lat" \
		"p50=${p50}ms p99=${p99}ms"
fi

echo "# summary"
printf '%s' "$SUMMARY"
