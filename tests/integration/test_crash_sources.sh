#!/bin/sh
# Kill -9 loop over the source modes test_crash.sh does not take: IMAP in
# \Seen mode (no processed_mailbox: a UID cursor) with the twilio profile
# (a non-destructive list read by pages down to a mark), and IMAP in MOVE
# mode with the generic profile (a cursor), while mail and SMS keep
# arriving.  s48d (loop mode, poll_interval 1) is killed at random moments;
# after a final clean run every message is recorded once, every report is
# one ticket acknowledged once, in \Seen mode every mail is \Seen and in
# MOVE mode every mail is in Processed once.  Knobs: CRASH_SRC_KILLS
# (default 8 per mode), CRASH_SRC_SEED.
set -u
. "$(dirname "$0")/../lib/tap.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/s48d.sh"

KILLS=${CRASH_SRC_KILLS:-8}
SEED=${CRASH_SRC_SEED:-$$}
diag "kills=$KILLS seed=$SEED"

rnd() { # MIN_MS MAX_MS -> seconds with a fraction (deterministic per SEED+counter)
	_rnd_n=$(( ${_rnd_n:-0} + 1 ))
	"$PY" -c 'import random,sys; r=random.Random(int(sys.argv[1])*1000+int(sys.argv[2]))
print("%.3f" % (r.randint(int(sys.argv[3]), int(sys.argv[4])) / 1000.0))' "$SEED" "$_rnd_n" "$1" "$2"
}

# mails TAG N: N distinct reports straight into the INBOX maildir (Dovecot
# picks them up at its next sync, as new mail arriving while s48d works)
mails() {
	_md=$E/dovecot/mail/$DOVECOT_USER
	mkdir -p "$_md/new"
	"$PY" - "$_md/tmp" "$_md/new" "$1" "$2" <<'PY'
import os, sys, time
tmp, new, tag, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
os.makedirs(tmp, exist_ok=True)
now = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
for i in range(n):
    msg = ("From: gradjanin.%s.%d@example.org\r\nTo: prijave@example.org\r\n"
           "Subject: Prijava %s/%d: curi voda\r\nDate: %s\r\n"
           "Message-ID: <src.%s.%d.%d@example.org>\r\n\r\n"
           "Curi voda iz cevi u ulici broj %d (%s).\r\n") % (tag, i, tag, i, now, tag, i,
                                                            os.getpid(), i, tag)
    name = "%d.M%dP%d.s48src%s" % (time.time(), i, os.getpid(), tag)
    with open(os.path.join(tmp, name), "w") as f:
        f.write(msg)
    os.rename(os.path.join(tmp, name), os.path.join(new, name))
PY
	[ "$(id -u)" = 0 ] && chown -R "$(_dc_owner):$(_dc_group)" "$_md"
	n_mail=$((n_mail + $2))
}

# sms TAG N: N reports from distinct numbers
sms() {
	"$PY" - "$1" "$2" "$n_sms" >"$T/sms.json" <<'PY'
import json, sys
tag, n, base = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
print(json.dumps({"messages": [{"from": "38165%07d" % (base + i),
                                "text": "Ne radi rasveta %s %d" % (tag, i)} for i in range(n)]}))
PY
	sms_sim_call POST /_sim/inbound "$(cat "$T/sms.json")" >/dev/null
	n_sms=$((n_sms + $2))
}

run_mode() { # NAME PROFILE seen|move
	name=$1
	E=$T/$1
	e2e_setup "$E" "$2" || { echo "not ok - $name: servers started"; return; }
	if [ "$3" = seen ]; then
		sed -i 's/ processed_mailbox = "Processed";//' "$CONF"
	fi
	# small pages and batches: kills land between them
	sed -i 's/ first_run_days = 2;/ first_run_days = 2; batch = 20;/' "$CONF"
	n_mail=0; n_sms=0; kills=0
	mails "${name}0" 300
	sms "${name}0" 150
	k=1
	while [ $k -le "$KILLS" ]; do
		s48d_start "$E/run.$k.log"
		sleep "$(rnd 50 900)"
		mails "$name$k" 40
		sms "$name$k" 25
		sleep "$(rnd 50 1500)"
		if s48d_alive; then
			s48d_kill9
			kills=$((kills + 1))
		else
			diag "$name run $k: s48d stopped by itself"
			tail -3 "$E/run.$k.log" | sed 's/^/#   /'
		fi
		k=$((k + 1))
	done
	ok_if "$name: s48d killed $KILLS times" [ "$kills" -ge "$KILLS" ]
	s48d_start "$E/final.log"
	settled() {
		[ "$(sql "SELECT count(*) FROM raw_messages")" -ge $((n_mail + n_sms)) ] &&
		[ "$(sql "SELECT count(*) FROM outbox WHERE status IN ('pending','sending')")" -eq 0 ]
	} 2>/dev/null
	wait_until 90 settled || diag "$name: not settled after 90 s"
	sleep 2         # one more round: nothing further may come
	s48d_term 5
	is "$name: final run stops cleanly" "$?" 0
	is "$name: one raw message per mail" \
		"$(sql "SELECT count(*) FROM raw_messages WHERE source_key LIKE 'imap:%'")" "$n_mail"
	is "$name: one raw message per SMS" \
		"$(sql "SELECT count(*) FROM raw_messages WHERE source_key LIKE 'sms:%'")" "$n_sms"
	is "$name: one ticket per report" "$(sql 'SELECT count(*) FROM tickets')" $((n_mail + n_sms))
	is "$name: every raw message made a ticket" \
		"$(sql "SELECT count(*) FROM raw_messages WHERE outcome <> 'ticket'")" 0
	is "$name: one acknowledgement row per ticket" \
		"$(sql "SELECT count(*) FROM tickets t WHERE (SELECT count(*) FROM outbox o WHERE o.ticket_id = t.id AND o.kind IN ('email_ack', 'sms_ack')) <> 1")" 0
	is "$name: no outbox row failed or waiting" \
		"$(sql "SELECT count(*) FROM outbox WHERE status <> 'sent'")" 0
	if [ "$3" = seen ]; then
		is "$name: every mail still in INBOX" \
			"$(dovecot_count "$E/dovecot" "$DOVECOT_USER" INBOX ALL)" "$n_mail"
		is "$name: every mail \\Seen" \
			"$(dovecot_count "$E/dovecot" "$DOVECOT_USER" INBOX SEEN)" "$n_mail"
	else
		is "$name: INBOX empty" "$(dovecot_count "$E/dovecot" "$DOVECOT_USER" INBOX ALL)" 0
		is "$name: every mail in Processed once" \
			"$(dovecot_count "$E/dovecot" "$DOVECOT_USER" Processed ALL)" "$n_mail"
	fi
	# the citizens' side: each SMS reporter got one acknowledgement (a kill
	# while a send was in flight may repeat one: at most one per kill)
	sms_sim_call GET /_sim/sent >"$E/sent.json"
	acks=$("$PY" -c '
import collections, json, sys
c = collections.Counter(m["to"].lstrip("+") for m in json.load(open(sys.argv[1]))
                        if "primljena" in m["text"] and m["to"].lstrip("+").startswith("38165"))
print(len(c), sum(v - 1 for v in c.values()))' "$E/sent.json")
	set -- $acks
	is "$name: every SMS reporter acknowledged" "$1" "$n_sms"
	ok_if "$name: repeated SMS acknowledgements ($2) at most the kills ($kills)" [ "$2" -le "$kills" ]
	diag "$name: mails=$n_mail sms=$n_sms kills=$kills"
	s48d_kill9
	e2e_stop "$E"
}

run_mode seen-twilio twilio seen
run_mode move-generic generic move
