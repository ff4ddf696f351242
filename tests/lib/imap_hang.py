#!/usr/bin/env python3
"""tests/lib/imap_hang.py - an IMAP "server" on 127.0.0.1 that stops answering
at a chosen point, for the tests of a stop during a connect or login
(tests/integration/test_imap_stop.sh).  Python standard library only.

    imap_hang.py PORTFILE LOGFILE MODE [UPSTREAM_PORT FORWARD_N]

Listens on a free port, writes it to PORTFILE, then serves every connection
by MODE:
    silent    accept and never send a byte (also a TLS handshake that never
              completes: the ClientHello is read and left unanswered)
    greeting  send a greeting, answer nothing
    login     greeting, answer LOGIN with OK, then nothing (CAPABILITY hangs)
    starttls  greeting, answer STARTTLS with OK, then nothing (the TLS
              handshake hangs)
    backlog   never accept, with the listen queue kept full: a TCP connect
              hangs (its SYN is dropped)
    freeze    pass every connection through to UPSTREAM_PORT, logging the
              client's command names, until a file PORTFILE.freeze exists:
              from then on nothing is passed on (a server that stops
              answering in the middle of a session)
    slowack   pass every connection through to UPSTREAM_PORT, holding each
              UID MOVE and UID STORE command FORWARD_N milliseconds before
              passing it on (a server slow to acknowledge, as Dovecot is
              with a large mailbox); logs "conn N slow: MOVE|STORE"
With UPSTREAM_PORT and FORWARD_N the first FORWARD_N connections are passed
through to 127.0.0.1:UPSTREAM_PORT untouched (a proxy in front of Dovecot),
and only the later ones get MODE.  LOGFILE gets one line per event:
"conn N forwarded", "conn N MODE", "conn N line: <command name>",
"conn N frozen".
Runs until killed.
"""
import os
import socket
import sys
import threading

LOCK = threading.Lock()


def log(path, text):
    with LOCK:
        with open(path, "a") as f:
            f.write(text + "\n")


def chunks(sock):
    """what sock receives, until the peer closes it"""
    while True:
        data = sock.recv(65536)
        if not data:
            return
        yield data


def shut(*socks):
    """both directions of each socket closed (the other pipe ends too)"""
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def pipe(src, dst, freeze=None, n=0, logfile=None):
    """src -> dst until either ends; with freeze (a path), nothing more is
    passed on once that file exists; with logfile, the command name of every
    line is logged (the client's side)"""
    frozen = False
    buf = b""
    try:
        for data in chunks(src):
            if freeze is not None and os.path.exists(freeze):
                if not frozen and logfile is not None:
                    log(logfile, "conn %d frozen" % n)
                frozen = True
                continue
            if logfile is not None:
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    log(logfile, "conn %d line: %s" %
                        (n, command_name(line.decode("latin-1"))))
                buf = buf[-4096:]
            dst.sendall(data)
    except OSError:
        pass
    shut(src, dst)


def pipe_slow_acks(src, dst, delay, n, logfile):
    """src -> dst line by line (s48 sends no literals); UID MOVE and UID
    STORE lines are held delay seconds"""
    buf = b""
    try:
        for data in chunks(src):
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                words = line.decode("latin-1").split()
                if len(words) > 2 and words[1].upper() == "UID" and \
                        words[2].upper() in ("MOVE", "STORE"):
                    log(logfile, "conn %d slow: %s" % (n, words[2].upper()))
                    threading.Event().wait(delay)
                dst.sendall(line + b"\n")
    except OSError:
        pass
    shut(src, dst)


def forward(conn, upstream_port, freeze=None, n=0, logfile=None):
    up = socket.create_connection(("127.0.0.1", upstream_port))
    threading.Thread(target=pipe, args=(conn, up, freeze, n, logfile),
                     daemon=True).start()
    threading.Thread(target=pipe, args=(up, conn, freeze, n), daemon=True).start()


def command_name(line):
    """'a1 LOGIN user pw' -> 'LOGIN' (the password is not logged)"""
    words = line.split()
    return words[1].upper() if len(words) > 1 else ""


def hang(conn, n, mode, logfile):
    log(logfile, "conn %d %s" % (n, mode))
    answering = False
    quiet = mode == "silent"      # what comes is read and dropped
    try:
        if mode in ("greeting", "login", "starttls"):
            conn.sendall(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] hang ready\r\n")
        buf = b""
        answering = mode in ("login", "starttls")
        while True:
            data = conn.recv(4096)
            if not data:
                break
            if quiet:
                continue
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                text = line.decode("latin-1").strip()
                name = command_name(text)
                log(logfile, "conn %d line: %s" % (n, name))
                if not answering:
                    continue
                tag = text.split()[0] if text else "*"
                if mode == "login" and name == "LOGIN":
                    conn.sendall(("%s OK logged in\r\n" % tag).encode())
                    answering = False
                elif mode == "starttls" and name == "STARTTLS":
                    conn.sendall(("%s OK begin TLS\r\n" % tag).encode())
                    answering = False
                    quiet = True         # what follows is TLS: not lines
                    break
    except OSError:
        pass
    conn.close()


def main():
    portfile, logfile, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    upstream = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    forward_n = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    fillers = []
    if mode == "backlog":
        srv.listen(0)
        # connections the server never accepts fill its queue: a further
        # SYN is dropped and the client's connect waits
        for _ in range(2):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.setblocking(False)
            try:
                c.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            fillers.append(c)
    else:
        srv.listen(16)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(portfile + ".tmp", portfile)
    if mode == "backlog":
        log(logfile, "backlog full")
        threading.Event().wait()
    n = 0
    while True:
        conn, _ = srv.accept()
        n += 1
        if mode == "freeze":
            log(logfile, "conn %d forwarded" % n)
            forward(conn, upstream, portfile + ".freeze", n, logfile)
        elif mode == "slowack":
            log(logfile, "conn %d forwarded" % n)
            up = socket.create_connection(("127.0.0.1", upstream))
            threading.Thread(target=pipe_slow_acks,
                             args=(conn, up, forward_n / 1000.0, n, logfile),
                             daemon=True).start()
            threading.Thread(target=pipe, args=(up, conn), daemon=True).start()
        elif n <= forward_n:
            log(logfile, "conn %d forwarded" % n)
            forward(conn, upstream)
        else:
            threading.Thread(target=hang, args=(conn, n, mode, logfile),
                             daemon=True).start()


if __name__ == "__main__":
    main()
