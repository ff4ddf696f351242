#!/usr/bin/env python3
"""tests/lib/imap_cut.py - a TCP relay on 127.0.0.1 in front of an IMAP
server that cuts ONE chosen connection at ONE chosen command, for the tests
of a session lost in the middle of a poll (tests/integration/
test_imap_pump_cut.sh).  It works the same as root and not (doveadm kick
would end every session of the user).  Python standard library only.

    imap_cut.py PORTFILE LOGFILE UPSTREAM_PORT RULE...

RULE is CONN:NTH:ACTION:TEXT -- on connection CONN (0 is the first
accepted), at the NTH (1 = first) client write containing TEXT (e.g.
"UID STORE"), ACTION:
    before   close both sides; the command never reaches the server
    after    pass the command on, wait 0.4 s, close both sides (the server
             acted, its answer is lost)
Listens on a free port, writes it to PORTFILE, then relays.  LOGFILE gets
"conn N open" and "conn N cut at TEXT" lines.  Runs until killed.
"""
import os
import socket
import sys
import threading
import time

LOCK = threading.Lock()


def log(path, line):
    with LOCK:
        with open(path, "a") as f:
            f.write(line + "\n")


def pump(src, dst, stop):
    try:
        while not stop.is_set():
            b = src.recv(65536)
            if not b:
                break
            dst.sendall(b)
    except OSError:
        pass
    stop.set()
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve(n, client, upstream_port, rules, logfile):
    try:
        server = socket.create_connection(("127.0.0.1", upstream_port))
    except OSError:
        client.close()
        return
    log(logfile, "conn %d open" % n)
    stop = threading.Event()
    back = threading.Thread(target=pump, args=(server, client, stop), daemon=True)
    back.start()
    seen = [0] * len(rules)
    tail = b""
    try:
        while not stop.is_set():
            b = client.recv(65536)
            if not b:
                break
            scan = tail + b
            cut = None
            for i, (conn, nth, action, text) in enumerate(rules):
                if conn != n:
                    continue
                at = scan.find(text)
                if at < 0 or at + len(text) <= len(tail):
                    continue
                seen[i] += 1
                if seen[i] == nth:
                    cut = (action, text)
                    break
            if cut is not None:
                if cut[0] == "after":
                    server.sendall(b)
                    time.sleep(0.4)
                log(logfile, "conn %d cut at %s" % (n, cut[1].decode()))
                break
            server.sendall(b)
            tail = scan[-32:]
    except OSError:
        pass
    stop.set()
    for s in (client, server):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()


def main():
    portfile, logfile, upstream = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rules = []
    for r in sys.argv[4:]:
        conn, nth, action, text = r.split(":", 3)
        rules.append((int(conn), int(nth), action, text.encode()))
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(portfile + ".tmp", portfile)
    n = 0
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(n, c, upstream, rules, logfile),
                         daemon=True).start()
        n += 1


if __name__ == "__main__":
    main()
