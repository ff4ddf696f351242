# tests/lib/e2e.sh - a whole s48 installation on loopback for integration tests
# and the demo (sourced): private Dovecot, smtp-sink, SMS gateway simulator,
# and a config pointing s48 at them.
#   e2e_setup DIR [PROFILE]   starts the three servers under DIR, writes
#                             DIR/s48.conf (imap processed_mailbox "Processed",
#                             smtp tls none, sms PROFILE default infobip);
#                             exports S48D S48CTL CONF; registers cleanup
#                             with at_exit (tests/lib/tap.sh) when present.
#                             E2E_DEPARTMENTS=example: the departments of
#                             conf/s48.conf.example.
#   e2e_start                 e2e_setup "$T/e2e" (after tmpdir_setup), or
#                             "not ok 1" and exit 1
#   e2e_mail DIR FROM SUBJECT BODY [HEADERS]   deliver one plain UTF-8 mail
#                             (E2E_MSGID: its Message-ID header value)
#   e2e_sms FROM TEXT                          inject one inbound SMS
#   e2e_sent_sms                               JSON list the simulator sent
#   e2e_sink_files DIR                         the files smtp-sink saved
. "$S48_TOP/tests/lib/dovecot.sh"
. "$S48_TOP/tests/lib/smtp_sink.sh"
. "$S48_TOP/tests/lib/sms_sim.sh"
. "$S48_TOP/tests/lib/mkconf.sh"

e2e_stop() {
	dovecot_stop "$1/dovecot" >/dev/null 2>&1
	smtp_sink_stop "$1/smtp" >/dev/null 2>&1
	sms_sim_stop "$1/sms" >/dev/null 2>&1
}

e2e_setup() {
	_e=$1; _profile=${2:-infobip}
	mkdir -p "$_e"
	dovecot_start "$_e/dovecot" >/dev/null || { echo "e2e: dovecot did not start" >&2; return 1; }
	smtp_sink_start "$_e/smtp" >/dev/null || { echo "e2e: smtp-sink did not start" >&2; return 1; }
	sms_sim_start "$_e/sms" ${SMS_SIM_ARGS:-} || { echo "e2e: simulator did not start" >&2; return 1; }
	if command -v at_exit >/dev/null 2>&1; then at_exit "e2e_stop $_e"; fi
	MKCONF_SMS=0 MKCONF_SMTP_URL="smtp://127.0.0.1:$SMTP_SINK_PORT" mkconf "$_e"
	printf '%s\n' "$DOVECOT_PASS" >"$_e/imap.pass"; chmod 600 "$_e/imap.pass"
	printf 's48-test-key\n' >"$_e/sms.key"; chmod 600 "$_e/sms.key"
	sed -i 's/^poll_interval = 60;/poll_interval = 1;/' "$_e/s48.conf"
	if [ "$_profile" = twilio ]; then
		_smsconf="profile = \"twilio\"; account = \"AC00000000000000000000000000000048\";"
	elif [ "$_profile" = generic ]; then
		_smsconf="profile = \"generic\"; generic = { pull_url = \"$SMS_SIM_URL/generic/inbox?after={cursor}\"; auth_header = \"Authorization: Bearer {key}\"; messages_path = \"messages\"; id_path = \"id\"; from_path = \"from\"; text_path = \"text\"; time_path = \"received\"; cursor_path = \"next\"; ack_url = \"\"; send_url = \"$SMS_SIM_URL/generic/send\"; "'send_body = "{\"to\": {to}, \"text\": {text}}"; };'
	else
		_smsconf="profile = \"infobip\";"
	fi
	cat >>"$_e/s48.conf" <<CONF
imap = { host = "127.0.0.1"; port = $DOVECOT_PORT; tls = "none"; user = "$DOVECOT_USER";
  password_file = "imap.pass"; mailbox = "INBOX"; processed_mailbox = "Processed";
  idle = true; ack_max_age_days = 7; };
sms = { $_smsconf base_url = "$SMS_SIM_URL"; api_key_file = "sms.key";
  number = "+381601234567"; ascii = true; max_segments = 2; first_run_days = 2; timeout = 5; };
CONF
	if [ "${E2E_DEPARTMENTS:-}" = example ]; then
		# the departments of conf/s48.conf.example instead of mkconf's three
		python3 - "$_e/s48.conf" "$S48_TOP/conf/s48.conf.example" <<'PY'
import re, sys
conf, example = sys.argv[1], sys.argv[2]
block = re.search(r"^departments = \(.*?^\);", open(example).read(), re.S | re.M).group(0)
text = open(conf).read()
text = re.sub(r"^departments = \(.*?^\);", lambda m: block, text, flags=re.S | re.M)
open(conf, "w").write(text)
PY
	fi
	CONF=$_e/s48.conf
	S48D="$S48_BIN/s48d"; S48CTL="$S48_BIN/s48ctl"
	export CONF S48D S48CTL
}

e2e_start() {
	e2e_setup "$T/e2e" || { echo "not ok 1 - servers started"; exit 1; }
}

_e2e_n=0
e2e_mail() { # DIR FROM SUBJECT BODY [EXTRA-HEADER-LINES]
	_e2e_n=$((_e2e_n + 1))
	_f=$1/mail.$_e2e_n.eml
	{
		printf 'From: %s\r\nTo: prijave@example.org\r\n' "$2"
		printf 'Subject: %s\r\n' "$3"
		printf 'Date: %s\r\n' "$(LC_ALL=C date -R)"
		if [ -n "${E2E_MSGID:-}" ]; then printf 'Message-ID: %s\r\n' "$E2E_MSGID"
		else printf 'Message-ID: <e2e.%s.%s@citizen.example>\r\n' "$_e2e_n" "$$"; fi
		printf 'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n'
		printf 'Content-Transfer-Encoding: 8bit\r\n'
		[ -n "${5:-}" ] && printf '%s\r\n' "$5"
		printf '\r\n%s\r\n' "$4"
	} >"$_f"
	dovecot_deliver "$1/dovecot" "$DOVECOT_USER" "$_f"
}

e2e_sms() { # FROM TEXT
	python3 -c 'import json,sys; print(json.dumps({"from": sys.argv[1], "text": sys.argv[2]}))' \
		"$1" "$2" >"${T:-/tmp}/sms.json"
	sms_sim_call POST /_sim/inbound "$(cat "${T:-/tmp}/sms.json")" >/dev/null
}

e2e_sent_sms() { sms_sim_call GET /_sim/sent; }
e2e_sink_files() { find "$1/smtp/mail" -type f 2>/dev/null | sort; }
