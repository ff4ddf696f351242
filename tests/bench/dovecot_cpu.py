#!/usr/bin/env python3
"""dovecot_cpu.py - Dovecot's own CPU time per mail for each kind of command
s48d sends, on a mailbox of N mails (run by tests/bench/run-bench.sh).

    dovecot_cpu.py HOST PORT USER PASSWORD MASTER_PID N [PROCESSED]

Each command runs in a session of its own (LOGIN, SELECT INBOX, the
commands, LOGOUT).  Dovecot runs a session in an imap process that ends with
it; once it has ended, the master's CPU time plus its reaped children's
(/proc/PID/stat utime + stime + cutime + cstime) has grown by what the
session cost Dovecot.  A tick is 10 ms: 1 us per mail at 10,000 mails.

The commands, in the order s48d uses them in a poll, with its batch sizes:
the listing FETCH n:m (UID RFC822.SIZE), the mails' UID FETCH set (UID
INTERNALDATE BODY.PEEK[]<0.max>) by 1,000, and the acknowledgement: UID STORE
+FLAGS.SILENT (\\Seen) by 1,000, or UID MOVE to PROCESSED by 1,000.  Also the
raw fetch (UID FETCH 1:* BODY.PEEK[]) for comparison.  The first session
after a mailbox is filled also syncs Dovecot's index with the maildir; it
is measured first, as "login (first sync)".

Output: one line per command, "dovecot_cpu KEY US_PER_MAIL WALL_S  what".
Python standard library only.
"""
import imaplib
import os
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 7:
        sys.stderr.write(__doc__)
        return 64
    host, port, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    pid, n = int(sys.argv[5]), int(sys.argv[6])
    processed = sys.argv[7] if len(sys.argv) > 7 else ""
    tck = os.sysconf("SC_CLK_TCK")

    def ticks():
        # the session's imap process must have ended (and been reaped)
        for _ in range(60):
            r = subprocess.run(["pgrep", "-P", str(pid), "-x", "imap"],
                               capture_output=True)
            if r.returncode != 0:
                break
            time.sleep(0.05)
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[11:15])

    def sets(m, k):
        # runs of k UIDs of what is in the mailbox (UIDs go on from mail
        # that was there before)
        typ, data = m.uid("SEARCH", "ALL")
        if typ != "OK":
            raise SystemExit("UID SEARCH refused")
        uids = [int(u) for u in data[0].split()]
        return ["%d:%d" % (uids[i], uids[min(i + k, len(uids)) - 1])
                for i in range(0, len(uids), k)]

    def session(fn):
        t0 = ticks()
        w0 = time.monotonic()
        m = imaplib.IMAP4(host, port)
        m.login(user, pw)
        m.select("INBOX")
        fn(m)
        m.logout()
        wall = time.monotonic() - w0
        return (ticks() - t0) / tck * 1e6 / n, wall

    def each(m, cmd, k, *args):
        for s in sets(m, k):
            typ, _ = m.uid(cmd, s, *args)
            if typ != "OK":
                raise SystemExit("UID %s %s refused" % (cmd, s))

    cases = [
        ("login", "login (first sync)", lambda m: None),
        ("raw", "raw fetch: UID FETCH 1:* BODY.PEEK[]",
         lambda m: m.uid("FETCH", "1:*", "BODY.PEEK[]")),
        ("list", "listing: FETCH 1:* (UID RFC822.SIZE)",
         lambda m: m.fetch("1:*", "(UID RFC822.SIZE)")),
        ("fetch", "mails: UID FETCH by 1,000 (UID INTERNALDATE BODY.PEEK[]<0.10485760>)",
         lambda m: each(m, "FETCH", 1000, "(UID INTERNALDATE BODY.PEEK[]<0.10485760>)")),
        ("fetch_nodate", "the same without INTERNALDATE",
         lambda m: each(m, "FETCH", 1000, "(UID BODY.PEEK[]<0.10485760>)")),
        ("seen", "\\Seen mode: UID STORE by 1,000 +FLAGS.SILENT (\\Seen)",
         lambda m: each(m, "STORE", 1000, "+FLAGS.SILENT", "(\\Seen)")),
    ]
    if processed:
        cases.append(("move", "MOVE mode: UID MOVE by 1,000",
                      lambda m: each(m, "MOVE", 1000, processed)))
    if processed:
        m = imaplib.IMAP4(host, port)
        m.login(user, pw)
        m.create(processed)
        m.logout()
    for key, what, fn in cases:
        us, wall = session(fn)
        print("dovecot_cpu %s %.1f %.3f  %s" % (key, us, wall, what))
    return 0


if __name__ == "__main__":
    sys.exit(main())
