#!/bin/sh
# Faults (issue 6.2): with s48d in loop mode (poll_interval 1,
# S48_BACKOFF_SCALE=0.01 so retries take a second instead of minutes):
#  - the IMAP server stops and starts again: s48d keeps running, reconnects,
#    loses nothing;
#  - the SMS gateway answers 500, times out (sms.timeout 1), sends garbage,
#    fails every other request: s48d logs it, keeps running, and once the
#    fault clears nothing is lost or duplicated;
#  - the SMTP server is down, then up: outbox rows go back to pending with a
#    reason and a later next_at, then are sent;
#  - --once exits 75 when a source or a sender cannot be reached and still
#    processes what it reached.
set -u
. "$(dirname "$0")/../lib/tap.sh"
tmpdir_setup
. "$S48_TOP/tests/lib/s48d.sh"
s48d_e2e
sed -i 's/ timeout = 5; };/ timeout = 1; };/' "$CONF"
grep -q 'timeout = 1;' "$CONF" || diag "could not set sms.timeout = 1"
export S48_BACKOFF_SCALE=0.01
SINK_PORT=$(cat "$E/smtp/smtp-sink.port")

n_mail=0; n_sms=0
mail() { # N: N new reports by email
	_i=0; _files=""
	mkdir -p "$T/m"
	while [ $_i -lt "$1" ]; do
		n_mail=$((n_mail + 1)); _i=$((_i + 1))
		printf 'From: f%s@example.net\r\nTo: prijave@example.org\r\nSubject: Kvar %s\r\nMessage-ID: <fault.%s.%s@example.net>\r\n\r\nCuri voda iz cevi, prijava %s.\r\n' \
			"$n_mail" "$n_mail" "$n_mail" "$$" "$n_mail" >"$T/m/$n_mail.eml"
		_files="$_files $T/m/$n_mail.eml"
	done
	if [ "${IMAP_DOWN:-0}" = 1 ]; then
		# doveadm needs the server's auth: drop the files into the maildir
		for _f in $_files; do
			cp "$_f" "$E/dovecot/mail/$DOVECOT_USER/new/$(date +%s).M${_f##*/}P$$.s48fault"
		done
		[ "$(id -u)" = 0 ] && chown -R nobody "$E/dovecot/mail/$DOVECOT_USER/new"
		return 0
	fi
	# shellcheck disable=SC2086
	dovecot_deliver "$E/dovecot" "$DOVECOT_USER" $_files >/dev/null 2>&1 || diag "delivery failed"
}
sms() { # N: N new reports by SMS
	_i=0; _msgs=""
	while [ $_i -lt "$1" ]; do
		n_sms=$((n_sms + 1)); _i=$((_i + 1))
		_msgs="$_msgs${_msgs:+,}{\"from\": \"38165$(printf %07d $n_sms)\", \"text\": \"Ne radi rasveta, poruka $n_sms\"}"
	done
	sms_sim_call POST /_sim/inbound "{\"messages\": [$_msgs]}" >/dev/null
}
n_raw() { sql "SELECT count(*) FROM raw_messages WHERE source_key LIKE '$1:%'"; }
all_in() { [ "$(n_raw imap)" = "$n_mail" ] && [ "$(n_raw sms)" = "$n_sms" ]; }
no_dups() {
	is "$1: every message once" "$(n_raw imap):$(n_raw sms)" "$n_mail:$n_sms"
	is "$1: one ticket each" "$(sql 'SELECT count(*) FROM tickets')" $((n_mail + n_sms))
}
arrives() { # SECONDS DESCRIPTION: every message recorded within SECONDS
	ok_if "$2" wait_until "$1" all_in
}
set_fault() { sms_sim_call POST /_sim/fault "$1" >/dev/null; }
sim_stat() { sms_sim_call GET /_sim/stats | python3 -c "import json,sys; print(json.load(sys.stdin).get('$1', 0))"; }

log=$T/s48d.log
s48d_start "$log"
mail 5; sms 5
arrives 20 "baseline: everything arrives"

# --- IMAP server stopped and restarted ---
dovecot_stop "$E/dovecot"
wait_until 10 grep -q 'imap.*\(connect\|IDLE\|idle\|lost\|refused\|closed\)' "$log"
IMAP_DOWN=1; mail 5; IMAP_DOWN=0   # arrives while the server is down
sleep 2
ok_if "IMAP down: s48d keeps running" s48d_alive
ok_if "IMAP down: the failure is logged" grep -qiE 'imap.*(connect|refused|lost|idle)' "$log"
dovecot -c "$DOVECOT_CONF" 2>>"$E/dovecot/dovecot.log"
arrives 30 "IMAP back: the mail that came meanwhile is processed"
no_dups "IMAP restart"

# --- SMS gateway faults ---
for mode in 500 timeout garbage every_other; do
	before=$(grep -c 'sms' "$log")
	faulted0=$(sim_stat faulted)
	case $mode in
	timeout) set_fault '{"mode": "timeout", "delay": 3}' ;;
	*) set_fault "{\"mode\": \"$mode\"}" ;;
	esac
	sms 4
	mail 1
	wait_until 15 sh -c "[ \$(curl -s http://127.0.0.1:$SMS_SIM_PORT/_sim/stats | python3 -c 'import json,sys; print(json.load(sys.stdin).get(\"faulted\", 0))') -ge $((faulted0 + 2)) ]"
	ok_if "gateway $mode: the simulator saw faulted requests" [ "$(sim_stat faulted)" -ge $((faulted0 + 2)) ]
	ok_if "gateway $mode: s48d keeps running" s48d_alive
	ok_if "gateway $mode: logged" [ "$(grep -c 'sms' "$log")" -gt "$before" ]
	set_fault '{"mode": "none"}'
	arrives 40 "gateway $mode cleared: everything arrives"
	no_dups "gateway $mode"
done
ok_if "the timeout was reported as such" grep -q 'timeout after 1 s' "$log"
ok_if "the consumed pull was reconciled from the gateway's log" grep -q 'reconciliation: .* [1-9][0-9]* recovered' "$log"
pend() { [ "$(sql "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')")" = 0 ]; }
ok_if "every SMS reply sent after the faults" wait_until 30 pend
is "no outbox row failed" "$(sql "SELECT count(*) FROM outbox WHERE status = 'failed'")" 0

# --- SMTP down, then up ---
smtp_sink_stop "$E/smtp"
mails_before=$(sink_count)
mail 3
retried() {
	[ "$(sql "SELECT count(*) FROM outbox WHERE channel = 'email' AND status = 'pending' AND attempts >= 1 AND reason <> ''")" -ge 3 ]
}
ok_if "SMTP down: email rows back to pending with attempts and a reason" wait_until 20 retried
"$S48CTL" -c "$CONF" outbox --json >"$T/outbox-down.json"
ok_if "s48ctl outbox shows the reason and a later next_at" python3 - "$T/outbox-down.json" <<'PY'
import json, sys, time
rows = [r for r in json.load(open(sys.argv[1])) if r["status"] == "pending" and r["attempts"] >= 1]
sys.exit(0 if rows and all(r["reason"] and r["next_at"] for r in rows) else 1)
PY
ok_if "SMTP down: logged as a temporary failure" grep -q 'temporary failure' "$log"
ok_if "SMTP down: s48d keeps running" s48d_alive
is "SMTP down: nothing reached the sink" "$(sink_count)" "$mails_before"
# the sink again, on its old port
(
	cd "$E/smtp" || exit 1
	u=""; [ "$(id -u)" = 0 ] && u="-u nobody"
	# shellcheck disable=SC2086
	exec /usr/sbin/smtp-sink -a $u -d "$E/smtp/mail/%Y%m%d%H/%M." "127.0.0.1:$SINK_PORT" 64 \
		>>"$E/smtp/smtp-sink.log" 2>&1
) &
echo $! >"$E/smtp/smtp-sink.pid"
ok_if "SMTP back: every row sent" wait_until 40 pend
is "SMTP back: no row failed" "$(sql "SELECT count(*) FROM outbox WHERE status = 'failed'")" 0
ok_if "SMTP back: the sink got the held mail" [ "$(sink_count)" -gt "$mails_before" ]
ok_if "rows that waited record more than one attempt" \
	[ "$(sql "SELECT count(*) FROM outbox WHERE channel = 'email' AND attempts >= 2 AND status = 'sent'")" -ge 3 ]
no_dups "SMTP outage"
s48d_term 5
is "s48d stops cleanly after all faults" "$?" 0

# --- SMTP down does not hold up SMS replies (real backoff here) ---
smtp_sink_stop "$E/smtp"
s48d_start "$T/hold.log" S48_BACKOFF_SCALE=1
mail 3
email_failing() {
	[ "$(sql "SELECT count(*) FROM outbox WHERE channel = 'email' AND status = 'pending' AND attempts >= 1 AND next_at > strftime('%s', 'now')")" -ge 3 ]
}
ok_if "SMTP down: email rows wait (real backoff)" wait_until 20 email_failing
sms 1
num=+38165$(printf %07d "$n_sms")
t0=$(date +%s)
sms_acked() { [ "$(sql "SELECT count(*) FROM outbox WHERE recipient = '$num' AND kind = 'sms_ack' AND status = 'sent'")" = 1 ]; }
wait_until 25 sms_acked
el=$(( $(date +%s) - t0 ))
ok_if "SMTP down: an SMS report is still acknowledged within 5 s (${el}s)" [ "$el" -le 5 ]
is "SMTP down: no email row failed for good" "$(sql "SELECT count(*) FROM outbox WHERE status = 'failed'")" 0
is "SMTP down: untried email rows were not counted as attempts" \
	"$(sql "SELECT count(*) FROM outbox WHERE channel = 'email' AND status = 'pending' AND attempts > 1")" 0
s48d_term 5

# --- --once: exit 75 when something is unreachable, the rest processed ---
smtp_sink_stop "$E/smtp"
mail 2; sms 2
"$S48D" -c "$CONF" --once 2>"$T/once-smtp.log"
is "--once with SMTP down exits 75" "$?" 75
arrives 1 "--once with SMTP down still ingested mail and SMS"
ok_if "--once with SMTP down: the replies wait in the outbox, tried once with a reason" \
	[ "$(sql "SELECT count(*) FROM outbox WHERE channel = 'email' AND status = 'pending' AND attempts = 1 AND reason <> ''")" -ge 1 ]
is "--once with SMTP down: no email row sent or failed meanwhile" \
	"$(sql "SELECT count(*) FROM outbox WHERE channel = 'email' AND status IN ('sending', 'failed')")" 0
set_fault '{"mode": "500"}'
mail 2; sms 2
"$S48D" -c "$CONF" --once 2>"$T/once-sms.log"
is "--once with the gateway failing exits 75" "$?" 75
is "--once with the gateway failing: the mail is in" "$(n_raw imap)" "$n_mail"
n_sms=$((n_sms - 2))   # those two wait in the gateway's queue (a 500 dequeues nothing)
set_fault '{"mode": "none"}'
dovecot_stop "$E/dovecot"
sms 2
n_sms=$((n_sms + 2))
"$S48D" -c "$CONF" --once 2>"$T/once-imap.log"
is "--once with IMAP down exits 75" "$?" 75
arrives 1 "--once with IMAP down: the SMS are in"
