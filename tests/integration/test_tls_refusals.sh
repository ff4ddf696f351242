#!/bin/sh
# test_tls_refusals.sh - s48d against TLS servers on loopback whose
# certificate is signed by the configured ca_file but has EXPIRED, or is for
# another host, over IMAP (implicit TLS and STARTTLS) and SMTP (smtps:// and
# STARTTLS): refused before any credential or message is sent.  The same
# server with a valid certificate from the same CA is the control: there
# LOGIN / MAIL FROM does arrive.  (A self-signed certificate without
# ca_file, a wrong name for implicit TLS and a server without STARTTLS are
# in test_intake_imap, test_notifier_smtp and test_gateway_http.)
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$S48_TOP/tests/lib/mkconf.sh"
tmpdir_setup
S48D="$S48_BIN/s48d"; S48CTL="$S48_BIN/s48ctl"

# ---- a CA, a valid and an expired leaf for localhost -------------------------
P="$T/pki"
mkdir -p "$P/new"
: >"$P/index.txt"; echo 01 >"$P/serial"
cat >"$P/ca.cnf" <<EOF
[ ca ]
default_ca = d
[ d ]
database = $P/index.txt
new_certs_dir = $P/new
serial = $P/serial
default_md = sha256
policy = p
copy_extensions = copy
unique_subject = no
[ p ]
commonName = supplied
EOF
if ! { openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=s48-test-ca \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	-keyout "$P/ca.key" -out "$P/ca.pem" &&
    openssl req -newkey rsa:2048 -nodes -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost -keyout "$P/leaf.key" -out "$P/leaf.csr" &&
    openssl ca -batch -notext -config "$P/ca.cnf" -cert "$P/ca.pem" -keyfile "$P/ca.key" \
	-in "$P/leaf.csr" -out "$P/valid.pem" -days 5 &&
    openssl ca -batch -notext -config "$P/ca.cnf" -cert "$P/ca.pem" -keyfile "$P/ca.key" \
	-in "$P/leaf.csr" -out "$P/expired.pem" \
	-startdate 20200101000000Z -enddate 20200201000000Z; } >"$T/pki.log" 2>&1; then
	echo "not ok 1 - test certificates made (see openssl output)"; cat "$T/pki.log"; exit 1
fi
ok_if "the expired certificate is expired" sh -c \
	"! openssl x509 -checkend 0 -noout -in '$P/expired.pem' >/dev/null"

# ---- a TLS server speaking just enough IMAP or SMTP ------------------------
cat >"$T/tls_server.py" <<'PY'
import socket, ssl, sys, threading
mode, cert, key, portfile, logfile = sys.argv[1:6]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(8)
open(portfile, "w").write(str(srv.getsockname()[1]))
lock = threading.Lock()
def log(s):
    with lock:
        with open(logfile, "a") as f:
            f.write(s + "\n")
def lines(c):
    buf = b""
    while True:
        d = c.recv(4096)
        if not d:
            return
        buf += d
        while b"\n" in buf:
            l, buf = buf.split(b"\n", 1)
            yield l.rstrip(b"\r")
def wrap(c):
    try:
        t = ctx.wrap_socket(c, server_side=True)
    except (ssl.SSLError, OSError) as e:
        log("HANDSHAKE FAILED %s" % e.__class__.__name__)
        return None
    log("HANDSHAKE OK")
    return t
def imap(c, tls):
    c.sendall(b"* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] ready\r\n")
    it = lines(c)
    for l in it:
        tag, _, rest = l.partition(b" ")
        cmd = rest.split(b" ")[0].upper()
        log("C: " + cmd.decode(errors="replace"))
        if cmd == b"STARTTLS" and not tls:
            c.sendall(tag + b" OK begin TLS\r\n")
            c = wrap(c)
            if c is None:
                return
            tls = True
            it = lines(c)
            return imap_after(c, it)
        elif cmd == b"CAPABILITY":
            c.sendall(b"* CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN\r\n" + tag + b" OK\r\n")
        elif cmd == b"LOGOUT":
            c.sendall(b"* BYE\r\n" + tag + b" OK\r\n")
            return
        else:
            c.sendall(tag + b" NO not here\r\n")
def imap_after(c, it):
    for l in it:
        tag, _, rest = l.partition(b" ")
        cmd = rest.split(b" ")[0].upper()
        log("C: " + cmd.decode(errors="replace"))
        if cmd == b"CAPABILITY":
            c.sendall(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag + b" OK\r\n")
        elif cmd == b"LOGOUT":
            c.sendall(b"* BYE\r\n" + tag + b" OK\r\n")
            return
        else:
            c.sendall(tag + b" NO not here\r\n")
def smtp(c, tls):
    c.sendall(b"220 localhost ESMTP test\r\n")
    smtp_loop(c, tls)
def smtp_loop(c, tls):
    it = lines(c)
    data = False
    for l in it:
        if data:
            if l == b".":
                data = False
                c.sendall(b"250 2.0.0 queued\r\n")
            continue
        cmd = l.split(b" ")[0].split(b":")[0].upper()
        log("C: " + l.split(b":")[0].decode(errors="replace").upper())
        if cmd in (b"EHLO", b"HELO"):
            c.sendall(b"250-localhost\r\n" + (b"250 8BITMIME\r\n" if tls else
                      b"250-8BITMIME\r\n250 STARTTLS\r\n"))
        elif cmd == b"STARTTLS" and not tls:
            c.sendall(b"220 2.0.0 go ahead\r\n")
            c = wrap(c)
            if c is None:
                return
            return smtp_loop(c, True)
        elif cmd == b"QUIT":
            c.sendall(b"221 bye\r\n")
            return
        elif cmd == b"DATA":
            data = True
            c.sendall(b"354 go\r\n")
        else:
            c.sendall(b"250 ok\r\n")
def serve(c):
    try:
        if mode in ("imaps", "smtps"):
            c = wrap(c)
            if c is None:
                return
            if mode == "imaps":
                c.sendall(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n")
                imap_after(c, lines(c))
            else:
                smtp(c, True)
        elif mode == "imap":
            imap(c, False)
        else:
            smtp(c, False)
    except (OSError, ssl.SSLError) as e:
        log("CLOSED %s" % e.__class__.__name__)
    finally:
        c.close()
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY

n=0
# start MODE CERT: a server; sets SRV_PORT and SRV_LOG
start() {
	n=$((n + 1))
	SRV_LOG="$T/srv$n.log"; : >"$SRV_LOG"
	rm -f "$T/srv$n.port"
	python3 "$T/tls_server.py" "$1" "$P/$2.pem" "$P/leaf.key" "$T/srv$n.port" "$SRV_LOG" \
		>"$T/srv$n.err" 2>&1 &
	echo $! >"$T/srv$n.pid"
	at_exit "kill $! 2>/dev/null"
	i=0
	while [ ! -s "$T/srv$n.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	SRV_PORT=$(cat "$T/srv$n.port")
}

# imap CASE MODE(imaps|imap) TLS(implicit|starttls) CERT HOST EXPECT(accept|refuse)
imap_case() {
	start "$2" "$4"
	d="$T/imap$n"
	MKCONF_SMS=0 MKCONF_SMTP=0 mkconf "$d"
	printf 'pw\n' >"$d/imap.pass"; chmod 600 "$d/imap.pass"
	cat >>"$d/s48.conf" <<EOF
imap = { host = "$5"; port = $SRV_PORT; tls = "$3"; ca_file = "$P/ca.pem";
  user = "s48"; password_file = "imap.pass"; mailbox = "INBOX"; idle = false; };
EOF
	"$S48D" -c "$d/s48.conf" --once >"$d/s48d.log" 2>&1
	rc=$?
	if [ "$6" = accept ]; then
		ok_if "$1: LOGIN sent" grep -q '^C: LOGIN' "$SRV_LOG"
	else
		is "$1: s48d --once exits 75" "$rc" 75
		ok_if "$1: no LOGIN (no password) sent" sh -c "! grep -q '^C: LOGIN' '$SRV_LOG'"
		ok_if "$1: the log says why" grep -qiE "$7" "$d/s48d.log"
	fi
}

# smtp CASE MODE(smtps|smtp) CERT HOST EXPECT [WHY]
smtp_case() {
	start "$2" "$3"
	d="$T/smtp$n"
	scheme=smtp; [ "$2" = smtps ] && scheme=smtps
	MKCONF_SMS=0 MKCONF_SMTP=0 mkconf "$d"
	cat >>"$d/s48.conf" <<EOF
smtp = { url = "$scheme://$4:$SRV_PORT"; tls = "required"; ca_file = "$P/ca.pem";
  from = "Sistem 48 <prijave@example.org>"; };
EOF
	"$S48CTL" -c "$d/s48.conf" new --from jovana@example.net "Ne radi rasveta" >/dev/null
	"$S48D" -c "$d/s48.conf" --once >"$d/s48d.log" 2>&1
	rc=$?
	if [ "$5" = accept ]; then
		ok_if "$1: MAIL FROM sent" grep -q '^C: MAIL FROM' "$SRV_LOG"
	else
		is "$1: s48d --once exits 75" "$rc" 75
		ok_if "$1: no MAIL FROM (no message) sent" sh -c "! grep -q '^C: MAIL' '$SRV_LOG'"
		ok_if "$1: the outbox row says why" sh -c \
			"'$S48CTL' -c '$d/s48.conf' outbox | grep -qiE '$6'"
	fi
}

imap_case "imaps, valid (control)" imaps implicit valid localhost accept
imap_case "imaps, expired" imaps implicit expired localhost refuse "expired"
imap_case "imap STARTTLS, valid (control)" imap starttls valid localhost accept
imap_case "imap STARTTLS, expired" imap starttls expired localhost refuse "expired"
imap_case "imap STARTTLS, wrong host" imap starttls valid 127.0.0.1 refuse "not for host"
smtp_case "smtps, valid (control)" smtps valid localhost accept
smtp_case "smtps, expired" smtps expired localhost refuse "certificate|TLS"
smtp_case "smtp STARTTLS, valid (control)" smtp valid localhost accept
smtp_case "smtp STARTTLS, expired" smtp expired localhost refuse "certificate|TLS"
smtp_case "smtp STARTTLS, wrong host" smtp valid 127.0.0.1 refuse "certificate|TLS"
