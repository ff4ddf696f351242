# tests/lib/dovecot.sh - a private Dovecot IMAP server on 127.0.0.1 for tests.
#
# Sourced by integration scripts, or run as a command:
#   sh tests/lib/dovecot.sh start DIR        prints DOVECOT_* shell assignments
#   sh tests/lib/dovecot.sh stop DIR
#   sh tests/lib/dovecot.sh deliver DIR USER FILE...   (to $DOVECOT_MAILBOX, default INBOX)
#   sh tests/lib/dovecot.sh fill DIR USER N [SIZE]
#   sh tests/lib/dovecot.sh uidnext DIR USER [MAILBOX]
#   sh tests/lib/dovecot.sh count DIR USER MAILBOX [SEARCH...]
#
# dovecot_start DIR: config, certificates, users and maildirs under DIR; an
# imap (plain + STARTTLS) and an imaps listener on free ports.  Exports
# DOVECOT_PORT DOVECOT_IMAPS_PORT DOVECOT_CA DOVECOT_CA_WRONG DOVECOT_USER
# DOVECOT_PASS DOVECOT_USER2 DOVECOT_PASS2 DOVECOT_PIDFILE DOVECOT_CONF, and
# writes them to DIR/dovecot.env.  The certificate is for "localhost" only
# (connecting to 127.0.0.1 by address is a host-name mismatch);
# DOVECOT_CA_WRONG is an unrelated self-signed certificate.
# DOVECOT_MAIL_FORMAT (default maildir) picks the storage format, e.g. mdbox
# for the bench; dovecot_deliver/dovecot_fill write maildir files and need
# the default (with another format, put mail in with doveadm import).
#
# Dovecot will not run mail processes as root: as root every process runs as
# "nobody" (DIR is handed to it); as another user, as that user.

_dc_free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

_dc_owner() { # the user mail processes run as
	if [ "$(id -u)" = 0 ]; then echo nobody; else id -un; fi
}
_dc_group() {
	if [ "$(id -u)" = 0 ]; then id -gn nobody; else id -gn; fi
}

# doveadm as the right user, with our config
_dc_doveadm() { # DIR args...
	_dc_d=$1; shift
	doveadm -c "$_dc_d/dovecot.conf" "$@"
}

dovecot_start() { # DIR
	mkdir -p "$1" && _dc_d=$(cd "$1" && pwd) || return 1
	_dc_u=$(_dc_owner); _dc_g=$(_dc_group)
	_dc_p=$(_dc_free_port); _dc_ps=$(_dc_free_port)
	while [ "$_dc_ps" = "$_dc_p" ]; do _dc_ps=$(_dc_free_port); done
	mkdir -p "$_dc_d/run" "$_dc_d/state" "$_dc_d/mail" "$_dc_d/home" || return 1
	chmod 755 "$_dc_d"
	# self-signed certificates: "localhost" (the server's) and an unrelated one
	if [ ! -f "$_dc_d/cert.pem" ]; then
		openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=localhost" \
			-addext "subjectAltName=DNS:localhost" \
			-keyout "$_dc_d/key.pem" -out "$_dc_d/cert.pem" >/dev/null 2>&1 || return 1
		openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=wrong.example" \
			-addext "subjectAltName=DNS:wrong.example" \
			-keyout "$_dc_d/wrong-key.pem" -out "$_dc_d/wrong-cert.pem" >/dev/null 2>&1 || return 1
	fi
	chmod 644 "$_dc_d/cert.pem" "$_dc_d/wrong-cert.pem"
	chmod 600 "$_dc_d/key.pem"
	cat >"$_dc_d/passwd" <<EOF
citizen:{PLAIN}citizen-pass
prijave:{PLAIN}prijave-pass
EOF
	cat >"$_dc_d/dovecot.conf" <<EOF
# private test instance (tests/lib/dovecot.sh)
instance_name = s48test-$_dc_p
base_dir = $_dc_d/run
state_dir = $_dc_d/state
log_path = $_dc_d/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = yes
ssl_cert = <$_dc_d/cert.pem
ssl_key = <$_dc_d/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = ${DOVECOT_MAIL_FORMAT:-maildir}:$_dc_d/mail/%u
mail_home = $_dc_d/home/%u
default_internal_user = $_dc_u
default_internal_group = $_dc_g
default_login_user = $_dc_u
first_valid_uid = 0
first_valid_gid = 0
mailbox_idle_check_interval = 1 secs
imap_idle_notify_interval = 1 mins
passdb {
  driver = passwd-file
  args = $_dc_d/passwd
}
userdb {
  driver = static
  args = uid=$_dc_u gid=$_dc_g home=$_dc_d/home/%u
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $_dc_p
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $_dc_ps
    ssl = yes
  }
}
service pop3-login {
  chroot =
}
service anvil {
  chroot =
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service ipc {
  chroot =
}
EOF
	if [ "$(id -u)" = 0 ]; then
		chown -R "$_dc_u:$_dc_g" "$_dc_d/mail" "$_dc_d/home"
	fi
	rm -f "$_dc_d/run/master.pid"
	if ! dovecot -c "$_dc_d/dovecot.conf" 2>>"$_dc_d/dovecot.log"; then
		echo "dovecot_start: dovecot failed, see $_dc_d/dovecot.log" >&2
		return 1
	fi
	# wait until both ports accept connections
	_dc_i=0
	while [ $_dc_i -lt 100 ]; do
		if python3 - "$_dc_p" "$_dc_ps" <<'EOF' 2>/dev/null
import socket, sys
for p in sys.argv[1:]:
    socket.create_connection(("127.0.0.1", int(p)), 1).close()
EOF
		then break; fi
		_dc_i=$((_dc_i + 1)); sleep 0.1
	done
	if [ $_dc_i -ge 100 ]; then
		echo "dovecot_start: not listening, see $_dc_d/dovecot.log" >&2
		dovecot_stop "$_dc_d"
		return 1
	fi
	DOVECOT_DIR=$_dc_d
	DOVECOT_PORT=$_dc_p
	DOVECOT_IMAPS_PORT=$_dc_ps
	DOVECOT_CA=$_dc_d/cert.pem
	DOVECOT_CA_WRONG=$_dc_d/wrong-cert.pem
	DOVECOT_USER=prijave
	DOVECOT_PASS=prijave-pass
	DOVECOT_USER2=citizen
	DOVECOT_PASS2=citizen-pass
	DOVECOT_PIDFILE=$_dc_d/run/master.pid
	DOVECOT_CONF=$_dc_d/dovecot.conf
	export DOVECOT_DIR DOVECOT_PORT DOVECOT_IMAPS_PORT DOVECOT_CA DOVECOT_CA_WRONG \
		DOVECOT_USER DOVECOT_PASS DOVECOT_USER2 DOVECOT_PASS2 DOVECOT_PIDFILE DOVECOT_CONF
	for _dc_v in DOVECOT_DIR DOVECOT_PORT DOVECOT_IMAPS_PORT DOVECOT_CA DOVECOT_CA_WRONG \
		DOVECOT_USER DOVECOT_PASS DOVECOT_USER2 DOVECOT_PASS2 DOVECOT_PIDFILE DOVECOT_CONF; do
		eval "echo \"$_dc_v='\$$_dc_v'\""
	done >"$_dc_d/dovecot.env"
	return 0
}

# Is PID alive (and not a zombie waiting for a late reaper)?
_dc_alive() {
	[ -d "/proc/$1" ] || return 1
	_dc_st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$_dc_st" ] && [ "$_dc_st" != Z ]
}

dovecot_stop() { # DIR
	_dc_d=$1
	_dc_pf=$_dc_d/run/master.pid
	[ -f "$_dc_pf" ] || return 0
	_dc_pid=$(cat "$_dc_pf")
	case "$_dc_pid" in ''|*[!0-9]*) return 0 ;; esac
	# its children (imap sessions) outlive the master otherwise
	_dc_kids=""
	for _dc_s in /proc/[0-9]*/stat; do
		_dc_pp=$(sed 's/^.*) //' "$_dc_s" 2>/dev/null | cut -d' ' -f2)
		[ "$_dc_pp" = "$_dc_pid" ] && _dc_kids="$_dc_kids ${_dc_s#/proc/}" 
	done
	_dc_kids=$(echo "$_dc_kids" | sed 's|/stat||g')
	kill -TERM "$_dc_pid" 2>/dev/null
	_dc_i=0
	while _dc_alive "$_dc_pid" && [ $_dc_i -lt 100 ]; do
		_dc_i=$((_dc_i + 1)); sleep 0.05
	done
	if _dc_alive "$_dc_pid"; then
		kill -KILL "$_dc_pid" 2>/dev/null
	fi
	for _dc_k in $_dc_kids; do
		_dc_alive "$_dc_k" && kill -TERM "$_dc_k" 2>/dev/null
	done
	for _dc_k in $_dc_kids; do
		_dc_i=0
		while _dc_alive "$_dc_k" && [ $_dc_i -lt 40 ]; do
			_dc_i=$((_dc_i + 1)); sleep 0.05
		done
	done
	rm -f "$_dc_pf"
	return 0
}

# Deliver message files to USER's INBOX: doveadm save for a few (into
# $DOVECOT_MAILBOX when set, which must exist), a staging maildir and one
# doveadm import for many (always INBOX).
dovecot_deliver() { # DIR USER FILE...
	_dc_d=$1; _dc_user=$2; shift 2
	if [ $# -le 4 ]; then
		for _dc_f in "$@"; do
			_dc_doveadm "$_dc_d" save -u "$_dc_user" -m "${DOVECOT_MAILBOX:-INBOX}" <"$_dc_f" || return 1
		done
		return 0
	fi
	_dc_st=$_dc_d/staging.$$
	rm -rf "$_dc_st"; mkdir -p "$_dc_st/cur" "$_dc_st/new" "$_dc_st/tmp"
	_dc_n=0
	for _dc_f in "$@"; do
		_dc_n=$((_dc_n + 1))
		cp "$_dc_f" "$_dc_st/cur/$(date +%s).M${_dc_n}P$$.s48deliver:2," || return 1
	done
	[ "$(id -u)" = 0 ] && chown -R "$(_dc_owner):$(_dc_group)" "$_dc_st"
	chmod -R a+rX "$_dc_st"
	_dc_doveadm "$_dc_d" import -u "$_dc_user" "maildir:$_dc_st" "" all || { rm -rf "$_dc_st"; return 1; }
	rm -rf "$_dc_st"
}

# N generated ~SIZE-byte (default 1200) messages straight into USER's INBOX
# maildir, then a resync so that every one has a UID.
dovecot_fill() { # DIR USER N [SIZE]
	_dc_d=$1; _dc_user=$2; _dc_n=$3; _dc_size=${4:-1200}
	_dc_md=$_dc_d/mail/$_dc_user
	mkdir -p "$_dc_md/cur" "$_dc_md/new" "$_dc_md/tmp"
	python3 - "$_dc_md/new" "$_dc_n" "$_dc_size" <<'EOF' || return 1
import os, sys, time
d, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
now = int(time.time())
streets = ["Kralja Petra", "Njegoseva", "Bulevar oslobodjenja", "Cara Dusana", "Zmaj Jovina"]
problems = ["curi voda iz cevi", "ne radi ulicna rasveta", "rupa na kolovozu",
            "zapusen slivnik", "pukla cev kod hidranta"]
for i in range(1, n + 1):
    head = ("From: Gradjanin %d <gradjanin%d@example.org>\n"
            "To: prijave@example.org\n"
            "Subject: Prijava %d: %s\n"
            "Date: %s\n"
            "Message-ID: <fill.%d.%d@example.org>\n"
            "MIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=utf-8\n"
            "Content-Transfer-Encoding: 8bit\n\n") % (
        i, i, i, problems[i % 5],
        time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(now - n + i)), now, i)
    body = "Postovani, u ulici %s broj %d %s vec tri dana. Molim da se to popravi.\n" % (
        streets[i % 5], i % 120 + 1, problems[i % 5])
    text = head + body
    while len(text.encode()) < size:
        text += "Hvala unapred, srdacan pozdrav iz mesne zajednice.\n"
    data = text.encode()
    name = "%d.M%dP%d.s48fill,S=%d" % (now, i, os.getpid(), len(data))
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
EOF
	[ "$(id -u)" = 0 ] && chown -R "$(_dc_owner):$(_dc_group)" "$_dc_md"
	_dc_doveadm "$_dc_d" force-resync -u "$_dc_user" INBOX || return 1
	dovecot_uidnext "$_dc_d" "$_dc_user" INBOX >/dev/null
}

# Print the mailbox's UIDNEXT (also forces Dovecot to assign UIDs).
dovecot_uidnext() { # DIR USER [MAILBOX]
	_dc_doveadm "$1" -f flow mailbox status -u "$2" uidnext "${3:-INBOX}" |
		sed 's/.*uidnext=//'
}

# Count messages in MAILBOX matching a doveadm search query (default all).
dovecot_count() { # DIR USER MAILBOX [QUERY...]
	_dc_d=$1; _dc_user=$2; _dc_mb=$3; shift 3
	[ $# -eq 0 ] && set -- all
	_dc_doveadm "$_dc_d" search -u "$_dc_user" mailbox "$_dc_mb" "$@" 2>/dev/null | wc -l
}

# Run as a command?
case "$(basename -- "$0")" in
dovecot.sh)
	_dc_cmd=${1:-}
	[ $# -gt 0 ] && shift
	case "$_dc_cmd" in
	start)
		dovecot_start "$@" >/dev/null || exit 1
		cat "$DOVECOT_DIR/dovecot.env"
		;;
	stop) dovecot_stop "$@" ;;
	deliver) dovecot_deliver "$@" ;;
	fill) dovecot_fill "$@" ;;
	uidnext) dovecot_uidnext "$@" ;;
	count) dovecot_count "$@" ;;
	*)
		echo "usage: sh tests/lib/dovecot.sh start|stop|deliver|fill|uidnext|count DIR ..." >&2
		exit 64
		;;
	esac
	;;
esac
