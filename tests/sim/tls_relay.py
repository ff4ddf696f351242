#!/usr/bin/env python3
"""tls_relay.py - implicit-TLS front for a plaintext test server (smtp-sink
has no TLS): accepts TLS on 127.0.0.1:<free port> with the given
certificate and key and relays the bytes to 127.0.0.1:<target-port>.

    tls_relay.py --cert CERT --key KEY --target-port N [--port P]
                 [--port-file FILE] [--pid-file FILE]
    tls_relay.py --plain --max-conns N --target-port N ...

--plain relays without TLS; --max-conns N answers a connection beyond N
open ones with "421 4.7.0 Too many concurrent connections" and closes it,
as relays that limit each client do (Office 365 allows three).

Prints the port it listens on (and writes it to --port-file, atomically).
A client that refuses the certificate just ends its connection; the relay
keeps serving.  Standard library only.  Stops on SIGTERM/SIGINT.
"""
import argparse
import os
import signal
import socket
import ssl
import sys
import threading


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (dst, src):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


active = 0
active_lock = threading.Lock()


def serve_one(ctx, raw, target_port, max_conns=0):
    global active
    tls = up = None
    with active_lock:
        refuse = max_conns > 0 and active >= max_conns
        if not refuse:
            active += 1
    if refuse:
        try:
            raw.sendall(b"421 4.7.0 Too many concurrent connections\r\n")
            raw.close()
        except OSError:
            pass
        return
    try:
        raw.settimeout(10)
        tls = ctx.wrap_socket(raw, server_side=True) if ctx is not None else raw
        tls.settimeout(None)
        up = socket.create_connection(("127.0.0.1", target_port), 10)
        up.settimeout(None)
        t = threading.Thread(target=pump, args=(up, tls), daemon=True)
        t.start()
        pump(tls, up)
        t.join(5)
    except (OSError, ssl.SSLError) as e:
        print("tls_relay: connection: %s" % e, file=sys.stderr, flush=True)
    finally:
        for s in (tls, up, raw):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass
        with active_lock:
            active -= 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--plain", action="store_true")
    ap.add_argument("--max-conns", type=int, default=0)
    ap.add_argument("--target-port", type=int, required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--pid-file")
    a = ap.parse_args()

    ctx = None
    if not a.plain:
        if not a.cert or not a.key:
            ap.error("--cert and --key are required without --plain")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)

    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.port))
    ls.listen(64)
    port = ls.getsockname()[1]

    def stop(signum, frame):
        os._exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    if a.pid_file:
        with open(a.pid_file + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(a.pid_file + ".tmp", a.pid_file)
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.rename(a.port_file + ".tmp", a.port_file)
    print(port, flush=True)

    while True:
        try:
            raw, _ = ls.accept()
        except OSError:
            continue
        threading.Thread(target=serve_one, args=(ctx, raw, a.target_port, a.max_conns),
                         daemon=True).start()


if __name__ == "__main__":
    main()
