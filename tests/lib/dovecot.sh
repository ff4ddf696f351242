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
	_d=$1; shift
	doveadm -c "$_d/dovecot.conf" "$@"
}

dovecot_start() { # DIR
	mkdir -p "$1" && _d=$(cd "$1" && pwd) || return 1
	_u=$(_dc_owner); _g=$(_dc_group)
	_p=$(_dc_free_port); _ps=$(_dc_free_port)
	while [ "$_ps" = "$_p" ]; do _ps=$(_dc_free_port); done
	mkdir -p "$_d/run" "$_d/state" "$_d/mail" "$_d/home" || return 1
	chmod 755 "$_d"
	# self-signed certificates: "localhost" (the server's) and an unrelated one
	if [ ! -f "$_d/cert.pem" ]; then
		openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=localhost" \
			-addext "subjectAltName=DNS:localhost" \
			-keyout "$_d/key.pem" -out "$_d/cert.pem" >/dev/null 2>&1 || return 1
		openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=wrong.example" \
			-addext "subjectAltName=DNS:wrong.example" \
			-keyout "$_d/wrong-key.pem" -out "$_d/wrong-cert.pem" >/dev/null 2>&1 || return 1
	fi
	chmod 644 "$_d/cert.pem" "$_d/wrong-cert.pem"
	chmod 600 "$_d/key.pem"
	cat >"$_d/passwd" <<EOF
citizen:{PLAIN}citizen-pass
prijave:{PLAIN}prijave-pass
EOF
	cat >"$_d/dovecot.conf" <<EOF
# private test instance (tests/lib/dovecot.sh)
instance_name = s48test-$_p
base_dir = $_d/run
state_dir = $_d/state
log_path = $_d/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = yes
ssl_cert = <$_d/cert.pem
ssl_key = <$_d/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:$_d/mail/%u
mail_home = $_d/home/%u
default_internal_user = $_u
default_internal_group = $_g
default_login_user = $_u
first_valid_uid = 0
first_valid_gid = 0
mailbox_idle_check_interval = 1 secs
imap_idle_notify_interval = 1 mins
passdb {
  driver = passwd-file
  args = $_d/passwd
}
userdb {
  driver = static
  args = uid=$_u gid=$_g home=$_d/home/%u
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $_p
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $_ps
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
		chown -R "$_u:$_g" "$_d/mail" "$_d/home"
	fi
	rm -f "$_d/run/master.pid"
	if ! dovecot -c "$_d/dovecot.conf" 2>>"$_d/dovecot.log"; then
		echo "dovecot_start: dovecot failed, see $_d/dovecot.log" >&2
		return 1
	fi
	# wait until both ports accept connections
	_i=0
	while [ $_i -lt 100 ]; do
		if python3 - "$_p" "$_ps" <<'EOF' 2>/dev/null
import socket, sys
for p in sys.argv[1:]:
    socket.create_connection(("127.0.0.1", int(p)), 1).close()
EOF
		then break; fi
		_i=$((_i + 1)); sleep 0.1
	done
	if [ $_i -ge 100 ]; then
		echo "dovecot_start: not listening, see $_d/dovecot.log" >&2
		dovecot_stop "$_d"
		return 1
	fi
	DOVECOT_DIR=$_d
	DOVECOT_PORT=$_p
	DOVECOT_IMAPS_PORT=$_ps
	DOVECOT_CA=$_d/cert.pem
	DOVECOT_CA_WRONG=$_d/wrong-cert.pem
	DOVECOT_USER=prijave
	DOVECOT_PASS=prijave-pass
	DOVECOT_USER2=citizen
	DOVECOT_PASS2=citizen-pass
	DOVECOT_PIDFILE=$_d/run/master.pid
	DOVECOT_CONF=$_d/dovecot.conf
	export DOVECOT_DIR DOVECOT_PORT DOVECOT_IMAPS_PORT DOVECOT_CA DOVECOT_CA_WRONG \
		DOVECOT_USER DOVECOT_PASS DOVECOT_USER2 DOVECOT_PASS2 DOVECOT_PIDFILE DOVECOT_CONF
	for _v in DOVECOT_DIR DOVECOT_PORT DOVECOT_IMAPS_PORT DOVECOT_CA DOVECOT_CA_WRONG \
		DOVECOT_USER DOVECOT_PASS DOVECOT_USER2 DOVECOT_PASS2 DOVECOT_PIDFILE DOVECOT_CONF; do
		eval "echo \"$_v='\$$_v'\""
	done >"$_d/dovecot.env"
	return 0
}

# Is PID alive (and not a zombie waiting for a late reaper)?
_dc_alive() {
	[ -d "/proc/$1" ] || return 1
	_st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$_st" ] && [ "$_st" != Z ]
}

dovecot_stop() { # DIR
	_d=$1
	_pf=$_d/run/master.pid
	[ -f "$_pf" ] || return 0
	_pid=$(cat "$_pf")
	case "$_pid" in ''|*[!0-9]*) return 0 ;; esac
	# its children (imap sessions) outlive the master otherwise
	_kids=""
	for _s in /proc/[0-9]*/stat; do
		_pp=$(sed 's/^.*) //' "$_s" 2>/dev/null | cut -d' ' -f2)
		[ "$_pp" = "$_pid" ] && _kids="$_kids ${_s#/proc/}" 
	done
	_kids=$(echo "$_kids" | sed 's|/stat||g')
	kill -TERM "$_pid" 2>/dev/null
	_i=0
	while _dc_alive "$_pid" && [ $_i -lt 100 ]; do
		_i=$((_i + 1)); sleep 0.05
	done
	if _dc_alive "$_pid"; then
		kill -KILL "$_pid" 2>/dev/null
	fi
	for _k in $_kids; do
		_dc_alive "$_k" && kill -TERM "$_k" 2>/dev/null
	done
	for _k in $_kids; do
		_i=0
		while _dc_alive "$_k" && [ $_i -lt 40 ]; do
			_i=$((_i + 1)); sleep 0.05
		done
	done
	rm -f "$_pf"
	return 0
}

# Deliver message files to USER's INBOX: doveadm save for a few (into
# $DOVECOT_MAILBOX when set, which must exist), a staging maildir and one
# doveadm import for many (always INBOX).
dovecot_deliver() { # DIR USER FILE...
	_d=$1; _user=$2; shift 2
	if [ $# -le 4 ]; then
		for _f in "$@"; do
			_dc_doveadm "$_d" save -u "$_user" -m "${DOVECOT_MAILBOX:-INBOX}" <"$_f" || return 1
		done
		return 0
	fi
	_st=$_d/staging.$$
	rm -rf "$_st"; mkdir -p "$_st/cur" "$_st/new" "$_st/tmp"
	_n=0
	for _f in "$@"; do
		_n=$((_n + 1))
		cp "$_f" "$_st/cur/$(date +%s).M${_n}P$$.s48deliver:2," || return 1
	done
	[ "$(id -u)" = 0 ] && chown -R "$(_dc_owner):$(_dc_group)" "$_st"
	chmod -R a+rX "$_st"
	_dc_doveadm "$_d" import -u "$_user" "maildir:$_st" "" all || { rm -rf "$_st"; return 1; }
	rm -rf "$_st"
}

# N generated ~SIZE-byte (default 1200) messages straight into USER's INBOX
# maildir, then a resync so that every one has a UID.
dovecot_fill() { # DIR USER N [SIZE]
	_d=$1; _user=$2; _n=$3; _size=${4:-1200}
	_md=$_d/mail/$_user
	mkdir -p "$_md/cur" "$_md/new" "$_md/tmp"
	python3 - "$_md/new" "$_n" "$_size" <<'EOF' || return 1
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
	[ "$(id -u)" = 0 ] && chown -R "$(_dc_owner):$(_dc_group)" "$_md"
	_dc_doveadm "$_d" force-resync -u "$_user" INBOX || return 1
	dovecot_uidnext "$_d" "$_user" INBOX >/dev/null
}

# Print the mailbox's UIDNEXT (also forces Dovecot to assign UIDs).
dovecot_uidnext() { # DIR USER [MAILBOX]
	_dc_doveadm "$1" -f flow mailbox status -u "$2" uidnext "${3:-INBOX}" |
		sed 's/.*uidnext=//'
}

# Count messages in MAILBOX matching a doveadm search query (default all).
dovecot_count() { # DIR USER MAILBOX [QUERY...]
	_d=$1; _user=$2; _mb=$3; shift 3
	[ $# -eq 0 ] && set -- all
	_dc_doveadm "$_d" search -u "$_user" mailbox "$_mb" "$@" 2>/dev/null | wc -l
}

# Run as a command?
case "$(basename -- "$0")" in
dovecot.sh)
	_cmd=${1:-}
	[ $# -gt 0 ] && shift
	case "$_cmd" in
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
