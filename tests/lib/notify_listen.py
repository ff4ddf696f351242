"""tests/lib/notify_listen.py SOCKET LOG SECONDS - what systemd's notify
socket would receive from s48d: binds the datagram socket SOCKET and writes
each line it gets to LOG as "MONOTONIC_SECONDS LINE" (two decimals), until
STOPPING=1 or SECONDS have passed.  Standard library only."""
import socket
import sys
import time


def main():
    path, log_path, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(0.5)
    end = time.time() + seconds
    with open(log_path, "w", buffering=1) as log:
        while time.time() < end:
            try:
                data = s.recv(4096).decode()
            except socket.timeout:
                continue
            for line in data.split("\n"):
                if line:
                    log.write("%.2f %s\n" % (time.monotonic(), line))
                if line == "STOPPING=1":
                    return


main()
