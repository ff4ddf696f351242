#!/bin/sh
# tests/lib/mkconf.sh - write a test s48.conf (SPEC section 6) into a directory.
#
#   sh tests/lib/mkconf.sh DIR            -> DIR/s48.conf, DIR/secret (0600), DIR/sms.key (0600)
#   . tests/lib/mkconf.sh; mkconf DIR     (sourced: the same as a function)
#
# The database is DIR/s48.db.  Three departments as in the SPEC example
# (water, lighting, dispatch = default); water has an `sms` number and a staff
# phone.  Environment knobs (all optional):
#   MKCONF_SMTP=0        leave the smtp group out (email channel off)
#   MKCONF_SMS=0         leave the sms group out (SMS channel off)
#   MKCONF_SMTP_URL=...  default smtp://127.0.0.1:2525 (tls = "none")
#   MKCONF_SMS_URL=...   default http://127.0.0.1:9 (infobip profile)
#   MKCONF_IMAP_PORT=N   add an imap group (tls none, user s48, password "pw")
#   MKCONF_CAP=N         limits.auto_replies_per_day (default 10)
#   MKCONF_CALENDAR=1    working calendar Mon-Fri 07:00-15:00 (default: wall time)
#   MKCONF_TZ=ZONE       sla.timezone (default Europe/Belgrade)
#   MKCONF_EXTRA='...'   appended verbatim (e.g. templates = { ... };)

mkconf() {
	_d=$1
	mkdir -p "$_d"
	printf 'test-secret\n' >"$_d/secret"
	chmod 600 "$_d/secret"
	printf 'test-key\n' >"$_d/sms.key"
	chmod 600 "$_d/sms.key"
	{
		echo "database = \"$_d/s48.db\";"
		echo "secret_file = \"secret\";"
		echo 'poll_interval = 60;'
		echo 'ticket_tag = "S48";'
		echo 'log = { level = "info"; target = "stderr"; };'
		if [ -n "${MKCONF_IMAP_PORT:-}" ]; then
			echo "imap = { host = \"127.0.0.1\"; port = $MKCONF_IMAP_PORT; tls = \"none\";"
			echo '  user = "s48"; password = "pw"; mailbox = "INBOX"; };'
		fi
		if [ "${MKCONF_SMTP:-1}" != 0 ]; then
			echo "smtp = { url = \"${MKCONF_SMTP_URL:-smtp://127.0.0.1:2525}\"; tls = \"none\";"
			echo '  from = "Sistem 48 <prijave@example.org>"; };'
		fi
		if [ "${MKCONF_SMS:-1}" != 0 ]; then
			echo "sms = { profile = \"infobip\"; base_url = \"${MKCONF_SMS_URL:-http://127.0.0.1:9}\";"
			echo '  api_key_file = "sms.key"; number = "+381641234567"; ascii = true; max_segments = 2; };'
		fi
		cat <<'CONF'
departments = (
  { id = "water"; name = "Vodovod i kanalizacija";
    email = ["vodovod@jkp.example.org"]; staff_emails = ["petar.petrovic@jkp.example.org"];
    sms = ["+381601112233"]; staff_phones = ["+381631112223"];
    keywords = ["voda", "vodovod*", "cev", "cevi", "cijev*", "kanalizacij*", "slivnik*", "hidrant*"]; },
  { id = "lighting"; name = "Javna rasveta"; email = ["rasveta@jkp.example.org"];
    keywords = ["rasvet*", "sijalic*", "svetiljk*", "lampa", "bandera"]; },
  { id = "dispatch"; name = "Dispecerski centar"; email = ["dispecer@jkp.example.org"]; keywords = []; }
);
default_department = "dispatch";
escalation = ["direktor@jkp.example.org"];
outbox = { max_attempts = 8; };
CONF
		echo "limits = { auto_replies_per_day = ${MKCONF_CAP:-10}; };"
		if [ "${MKCONF_CALENDAR:-0}" = 1 ]; then
			echo "sla = { hours = 48; working_days = [1, 2, 3, 4, 5]; working_hours = \"07:00-15:00\";"
			echo "  holidays = [\"2027-01-01\", \"2027-01-07\"]; warn_hours = 8; timezone = \"${MKCONF_TZ:-Europe/Belgrade}\"; };"
		else
			echo "sla = { hours = 48; warn_hours = 8; timezone = \"${MKCONF_TZ:-Europe/Belgrade}\"; };"
		fi
		[ -n "${MKCONF_EXTRA:-}" ] && printf '%s\n' "$MKCONF_EXTRA"
	} >"$_d/s48.conf"
	return 0
}

case "${0##*/}" in
mkconf.sh)
	[ $# -eq 1 ] || { echo "usage: mkconf.sh DIR" >&2; exit 64; }
	mkconf "$1"
	;;
esac
