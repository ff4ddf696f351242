#!/bin/sh
# Crash safety (issue 6.1): reports arrive by email and SMS in waves while
# s48d (loop mode, poll_interval 1) is killed with SIGKILL at random moments:
# during ingestion, during the outbox run, and while idle.  After a final
# clean run: every message has exactly one raw_messages row and one outcome
# (ticket, append or command), every acknowledgement reached the sink or the
# simulator, no outbox row is pending or sending, and duplicate sends are at
# most one per kill.  Knobs: CRASH_KILLS (default 15), CRASH_MESSAGES
# (default 300, half email, half SMS), CRASH_SEED (random seed).
set -u
. "$(dirname "$0")/../lib/tap.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/s48d.sh"
s48d_e2e

KILLS=${CRASH_KILLS:-15}
MESSAGES=${CRASH_MESSAGES:-300}
SEED=${CRASH_SEED:-$$}
diag "kills=$KILLS messages=$MESSAGES seed=$SEED"
# messages per wave (one wave before each kill), half of them email
per_wave=$(( (MESSAGES + KILLS - 1) / KILLS ))
mail_per_wave=$(( per_wave / 2 ))
sms_per_wave=$(( per_wave - mail_per_wave ))

rnd() { # MIN_MS MAX_MS -> seconds with a fraction (deterministic per SEED+counter)
	_rnd_n=$(( ${_rnd_n:-0} + 1 ))
	python3 -c 'import random,sys; r=random.Random(int(sys.argv[1])*1000+int(sys.argv[2]))
print("%.3f" % (r.randint(int(sys.argv[3]), int(sys.argv[4])) / 1000.0))' "$SEED" "$_rnd_n" "$1" "$2"
}

# wave K: mail_per_wave emails and sms_per_wave SMS; from wave 2 on one of
# the emails is a citizen's reply to an earlier ticket, one SMS is "#N text"
# from an earlier SMS reporter and one is "STATUS N".  expected.txt
# collects one line per message: its kind (ticket, append, command).
wave() { # K
	_k=$1
	mkdir -p "$T/wave$_k"
	python3 - "$T/wave$_k" "$_k" "$mail_per_wave" "$sms_per_wave" "$E/s48.db" \
		>>"$T/expected.txt" <<'PY'
import json, os, sqlite3, sys, time
d, k, nm, ns, db = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
problems = ["curi voda iz cevi", "ne radi ulicna rasveta", "rupa na kolovozu",
            "zapusen slivnik", "pukla cev kod hidranta", "ne svetli sijalica na banderi"]
mail_reply = sms_append = sms_status = None
if k > 1 and os.path.exists(db):
    c = sqlite3.connect(db, timeout=10)
    r = c.execute("SELECT id, reporter, subject FROM tickets WHERE channel = 'email' "
                  "ORDER BY id DESC LIMIT 1").fetchone()
    if r: mail_reply = r
    r = c.execute("SELECT id, reporter FROM tickets WHERE channel = 'sms' "
                  "ORDER BY id DESC LIMIT 1").fetchone()
    if r: sms_append = sms_status = r
    c.close()
now = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
for i in range(nm):
    frm = "gradjanin.%d.%d@example.org" % (k, i)
    subj = "Prijava %d/%d: %s" % (k, i, problems[(k + i) % len(problems)])
    body = "Postovani, u ulici broj %d (talas %d) %s. Molim da se popravi.\n" % (
        i + 1, k, problems[(k + i) % len(problems)])
    extra = ""
    kind = "ticket"
    if i == 0 and mail_reply:
        frm = mail_reply[1]
        subj = "Re: [S48 #%d] %s" % (mail_reply[0], mail_reply[2])
        body = "I dalje isto, talas %d.\n\n> stari citat\n" % k
        kind = "append"
    msg = ("From: %s\r\nTo: prijave@example.org\r\nSubject: %s\r\nDate: %s\r\n"
           "Message-ID: <crash.%d.%d.%d@citizen.example>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n"
           "\r\n%s" % (frm, subj, now, os.getpid(), k, i, body.replace("\n", "\r\n")))
    with open(os.path.join(d, "m%03d.eml" % i), "w") as f:
        f.write(msg)
    print("email " + kind)
sms = []
for i in range(ns):
    frm = "38164%03d%04d" % (k, i)
    text = "Talas %d poruka %d: %s" % (k, i, problems[(k * 7 + i) % len(problems)])
    kind = "ticket"
    if i == 0 and sms_append:
        frm = sms_append[1].lstrip("+")
        text = "#%d jos uvek isto (talas %d)" % (sms_append[0], k)
        kind = "append"
    elif i == 1 and sms_status:
        frm = sms_status[1].lstrip("+")
        text = "STATUS %d" % sms_status[0]
        kind = "command"
    sms.append({"from": frm, "text": text})
    print("sms " + kind)
with open(os.path.join(d, "sms.json"), "w") as f:
    json.dump({"messages": sms}, f)
PY
	dovecot_deliver "$E/dovecot" "$DOVECOT_USER" "$T/wave$_k"/m*.eml >/dev/null 2>&1 ||
		diag "wave $_k: delivery failed"
	sms_sim_call POST /_sim/inbound "$(cat "$T/wave$_k/sms.json")" >/dev/null
}

pull_consumed() { # the simulator has handed out its queue and is holding the answer
	sms_sim_call GET /_sim/stats | python3 -c 'import json,sys; d=json.load(sys.stdin)
sys.exit(0 if d.get("faulted", 0) >= 1 and d["queued"] == 0 else 1)'
}
# watch_sending PIDFILE OUT &: SIGKILL the PID written to PIDFILE the moment an
# outbox row is "sending"; writes "hit" or (after 10 s) "miss" to OUT.
# Started before s48d so that it does not miss a short outbox run.
watch_sending() {
	"$PY" - "$E/s48.db" "$1" >"$2" <<'PY'
import os, signal, sqlite3, sys, time
db, pidfile = sys.argv[1], sys.argv[2]
end = time.time() + 10
c = sqlite3.connect(db, timeout=5)
c.execute("SELECT count(*) FROM outbox").fetchone()
open(pidfile + ".ready", "w").close()
pid = None
while time.time() < end:
    if pid is None:
        try:
            pid = int(open(pidfile).read())
        except (OSError, ValueError):
            pass
    try:
        n = c.execute("SELECT count(*) FROM outbox WHERE status = 'sending'").fetchone()[0]
    except sqlite3.OperationalError:
        n = 0
    if n and pid:
        os.kill(pid, signal.SIGKILL)
        print("hit")
        sys.exit(0)
print("miss")
PY
}
log_has() { grep -qE "$2" "$1" 2>/dev/null; }
outbox_sent_in() { # LOG N: at least N "sent" lines
	[ "$(grep -c 'outbox [0-9]*: .* sent' "$1" 2>/dev/null)" -ge "$2" ]
}

: >"$T/expected.txt"
: >"$T/sending-kills.txt"
kills=0
modes=""
k=1
while [ $k -le "$KILLS" ]; do
	wave $k
	log=$T/run.$k.log
	if [ $k -eq 1 ]; then
		# the first pull is answered late: kill s48d after the gateway handed
		# the SMS out (destructive) and before they were committed
		sms_sim_call POST /_sim/fault '{"mode": "timeout", "count": 1, "delay": 4}' >/dev/null
	fi
	rm -f "$T/s48d.pid" "$T/s48d.pid.ready"
	watcher=""
	if [ $((k % 3)) = 1 ] && [ $k -gt 1 ]; then
		watch_sending "$T/s48d.pid" "$T/watch.out" &
		watcher=$!
		wait_until 10 test -f "$T/s48d.pid.ready"
	fi
	s48d_start "$log"
	echo "$S48D_PID" >"$T/s48d.pid"
	case $((k % 3)) in
	0)	# while ingesting or just after: a random moment early in the run
		sleep "$(rnd 20 600)"; mode=early ;;
	1)	if [ $k -eq 1 ]; then
			wait_until 20 pull_consumed
			sleep 0.2; mode=mid-pull
		else
		# during the outbox run, the moment a row is marked "sending"
		# (the SMTP or gateway call in flight)
		wait "$watcher"
		cat "$T/watch.out" >>"$T/sending-kills.txt"
		if grep -q hit "$T/watch.out"; then
			s48d_kill9
			kills=$((kills + 1))
		fi
		mode=outbox
		fi ;;
	2)	# anywhere, up to two poll intervals
		sleep "$(rnd 100 2500)"; mode=late ;;
	esac
	if [ -z "$S48D_PID" ]; then
		modes="$modes $mode"  # killed by the watcher
	elif s48d_alive; then
		s48d_kill9
		kills=$((kills + 1))
		[ "$mode" = mid-pull ] &&
			pulled_lost=$(sql "SELECT count(*) FROM raw_messages WHERE source_key LIKE 'sms:%'")
		modes="$modes $mode"
	else
		echo "not ok - run $k: s48d stopped by itself"; tail -5 "$log" | sed 's/^/#   /'
		exit 1
	fi
	k=$((k + 1))
done
diag "kill moments:$modes"
recovered=$(grep -l "interrupted by the last stop" "$T"/run.*.log "$T"/final.log 2>/dev/null | wc -l)
diag "outbox kills that saw a row sending: $(grep -c hit "$T/sending-kills.txt") of $(wc -l <"$T/sending-kills.txt"); starts that found rows left sending: $recovered"
ok_if "some kill left an outbox row \"sending\" and the next start recovered it" [ "$recovered" -ge 1 ]
ok_if "s48d killed $KILLS times" [ "$kills" -ge "$KILLS" ]
is "the killed pull had consumed wave 1's SMS without committing them" "${pulled_lost:-x}" 0

# the final clean runs: loop mode until everything is in and sent, then SIGTERM
expected_raw=$(wc -l <"$T/expected.txt" | tr -d ' ')
s48d_start "$T/final.log"
settled() {
	[ "$(sql 'SELECT count(*) FROM raw_messages')" -ge "$expected_raw" ] 2>/dev/null &&
	[ "$(sql "SELECT count(*) FROM outbox WHERE status IN ('pending','sending')")" -eq 0 ] 2>/dev/null
}
wait_until 30 grep -qs 's48d started' "$T/final.log"
sleep 1   # one full round at least (the database may already be settled)
wait_until 90 settled || diag "not settled after 90 s"
s48d_term 5
is "final run stops cleanly" "$?" 0
ok_if "the last run left daemon.running = 0" \
	[ "$(sql "SELECT value FROM source_state WHERE key = 'daemon.running'")" = 0 ]
ok_if "the final log reports reconciliation of the unclean stop" \
	grep -q 'did not stop cleanly' "$T/final.log"
ok_if "the run after the mid-pull kill recovered SMS from the gateway's log" \
	grep -qE 'reconciliation: [0-9]+ in the gateway.s log, [1-9][0-9]* recovered' "$T/run.2.log"

# figures
n_mail=$(grep -c '^email' "$T/expected.txt"); n_sms=$(grep -c '^sms' "$T/expected.txt")
exp_tickets=$(grep -c ' ticket$' "$T/expected.txt")
exp_appends=$(grep -c ' append$' "$T/expected.txt")
exp_cmds=$(grep -c ' command$' "$T/expected.txt")
is "raw_messages: one row per email" "$(sql "SELECT count(*) FROM raw_messages WHERE source_key LIKE 'imap:%'")" "$n_mail"
is "raw_messages: one row per SMS" "$(sql "SELECT count(*) FROM raw_messages WHERE source_key LIKE 'sms:%'")" "$n_sms"
is "no raw message without an outcome" "$(sql "SELECT count(*) FROM raw_messages WHERE outcome IS NULL OR outcome NOT IN ('ticket','append','command')")" 0
is "tickets: one per new report" "$(sql 'SELECT count(*) FROM tickets')" "$exp_tickets"
is "outcome ticket = tickets" "$(sql "SELECT count(*) FROM raw_messages WHERE outcome = 'ticket'")" "$exp_tickets"
is "outcome append (replies, #N texts)" "$(sql "SELECT count(*) FROM raw_messages WHERE outcome = 'append'")" "$exp_appends"
is "outcome command (STATUS)" "$(sql "SELECT count(*) FROM raw_messages WHERE outcome = 'command'")" "$exp_cmds"
is "every ticket has exactly one inbound creating message" \
	"$(sql "SELECT count(*) FROM tickets t WHERE (SELECT count(*) FROM raw_messages r WHERE r.ticket_id = t.id AND r.outcome = 'ticket') <> 1")" 0
is "every email ticket has one distinct citizen Message-ID" \
	"$(sql "SELECT count(*) - count(DISTINCT message_id) FROM tickets WHERE channel = 'email'")" 0
is "INBOX empty" "$(dovecot_count "$E/dovecot" "$DOVECOT_USER" INBOX ALL)" 0
is "every email in Processed once" "$(dovecot_count "$E/dovecot" "$DOVECOT_USER" Processed ALL)" "$n_mail"
is "no outbox row pending or sending" "$(sql "SELECT count(*) FROM outbox WHERE status IN ('pending','sending')")" 0
is "no outbox row failed" "$(sql "SELECT count(*) FROM outbox WHERE status = 'failed'")" 0
is "one acknowledgement row per ticket" \
	"$(sql "SELECT count(*) FROM tickets t WHERE (SELECT count(*) FROM outbox o WHERE o.ticket_id = t.id AND o.kind IN ('email_ack', 'sms_ack')) <> 1")" 0

# what the sink and the simulator saw against the outbox
sql -json "SELECT id, channel, recipient, kind, body, message_id, status FROM outbox" >"$T/outbox.json"
sms_sim_call GET /_sim/sent >"$T/sent.json"
python3 - "$T/outbox.json" "$T/sent.json" "$E/smtp/mail" >"$T/delivery.txt" <<'PY'
import collections, json, os, re, sys
rows = json.load(open(sys.argv[1]))
sent_sms = json.load(open(sys.argv[2]))
mails = collections.Counter()
for root, _, files in os.walk(sys.argv[3]):
    for f in files:
        with open(os.path.join(root, f), "rb") as fh:
            m = re.search(rb"^Message-I[Dd]:\s*<?([^>\s]+)>?", fh.read(), re.M | re.I)
            mails[m.group(1).decode() if m else "?"] += 1
sms = collections.Counter((m["to"].lstrip("+"), m["text"]) for m in sent_sms)
missing_ack = missing = 0
want_sms = collections.Counter()
dup_mail = 0
for r in rows:
    if r["status"] != "sent":
        continue
    if r["channel"] == "email":
        got = mails.get(r["message_id"].strip("<>"), 0)
        dup_mail += max(0, got - 1)
    else:
        key = (r["recipient"].lstrip("+"), r["body"])
        want_sms[key] += 1
        got = sms.get(key, 0)
    if got == 0:
        missing += 1
        if r["kind"].endswith("_ack"):
            missing_ack += 1
dup_sms = sum(max(0, sms[k] - want_sms[k]) for k in sms)
unknown = sum(sms[k] for k in sms if k not in want_sms)
print(missing_ack, missing, dup_mail, dup_sms, unknown, sum(mails.values()), len(sent_sms))
PY
read missing_ack missing dup_mail dup_sms unknown n_mails n_smss <"$T/delivery.txt"
is "every acknowledgement reached the sink or the simulator" "$missing_ack" 0
is "every sent row reached the sink or the simulator" "$missing" 0
is "no SMS sent that the outbox does not know" "$unknown" 0
dups=$((dup_mail + dup_sms))
ok_if "duplicate sends ($dups) at most the number of kills ($kills)" [ "$dups" -le "$kills" ]
diag "kills=$kills messages=$expected_raw (email $n_mail, sms $n_sms) tickets=$(sql 'SELECT count(*) FROM tickets') appends=$exp_appends commands=$exp_cmds mails=$n_mails sms_sent=$n_smss duplicate sends=$dups (email $dup_mail, sms $dup_sms)"

# idempotence: one more --once changes nothing
before=$(sql 'SELECT count(*) FROM raw_messages'):$(sql 'SELECT count(*) FROM outbox')
"$S48D" -c "$CONF" --once 2>"$T/again.log"
is "a further --once exits 0" "$?" 0
is "a further --once changes nothing" \
	"$(sql 'SELECT count(*) FROM raw_messages'):$(sql 'SELECT count(*) FROM outbox')" "$before"
