#!/usr/bin/env python3
"""idle_latency.py - mail arrival to acknowledgement sent, for `make bench`.

    idle_latency.py MAILDIR SINKDIR N [OWNER [GAP]]

With s48d running (IMAP IDLE on the mailbox whose maildir is MAILDIR, SMTP
to an smtp-sink writing one file per message into SINKDIR), delivers N
generated citizen mails one at a time the way a local delivery agent does
(write into tmp/, rename into new/, files owned by OWNER) and waits for the
acknowledgement to that citizen to arrive at the sink, then waits GAP seconds (default 0.25) so that the
next mail finds s48d idle again, as real mail does.  Prints
"p50=X ms p90=Y ms p99=Z ms max=W ms (N mails)"; exits 1 if an
acknowledgement did not arrive within 15 s.
"""
import os
import pwd
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_mail  # noqa: E402


def pct(xs, p):
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


def main():
    if len(sys.argv) < 4:
        print(__doc__.splitlines()[2].strip(), file=sys.stderr)
        return 64
    maildir, sink, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    uid = gid = None
    gap = float(sys.argv[5]) if len(sys.argv) > 5 else 0.25
    if len(sys.argv) > 4 and os.geteuid() == 0:
        pw = pwd.getpwnam(sys.argv[4])
        uid, gid = pw.pw_uid, pw.pw_gid
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(maildir, sub), exist_ok=True)
    seen = set(os.listdir(sink))
    import random
    rnd = random.Random(4848)
    lat = []
    base = 900000
    for k in range(n):
        i = base + k
        data = gen_mail.message(i, rnd, int(time.time()))
        addr = b"gradjanin%d@example.net" % i
        name = "%d.M%dP%d.s48idle,S=%d" % (int(time.time()), i, os.getpid(), len(data))
        tmp = os.path.join(maildir, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(data)
        if uid is not None:
            os.chown(tmp, uid, gid)
        t0 = time.monotonic()
        os.rename(tmp, os.path.join(maildir, "new", name))
        found = False
        while not found:
            if time.monotonic() - t0 > 15:
                print("idle_latency: no acknowledgement for mail %d within 15 s" % k,
                      file=sys.stderr)
                return 1
            for f in os.listdir(sink):
                if f in seen:
                    continue
                try:
                    with open(os.path.join(sink, f), "rb") as fh:
                        body = fh.read()
                except OSError:
                    continue
                end = body.find(b"\n\n")
                if end < 0:
                    continue                # headers not complete yet
                seen.add(f)
                head = body[:end]
                if b"\nAuto-Submitted: auto-replied" in head and addr in head:
                    found = True            # (else a department mail)
            if not found:
                time.sleep(0.001)
        lat.append((time.monotonic() - t0) * 1000.0)
        time.sleep(gap)
    print("p50=%.1f ms p90=%.1f ms p99=%.1f ms max=%.1f ms (%d mails)" % (
        pct(lat, 50), pct(lat, 90), pct(lat, 99), max(lat), len(lat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
