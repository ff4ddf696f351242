#!/usr/bin/env python3
"""gen_db.py DB N - fill an s48 database (schema made by s48ctl) with N
tickets spread over the last three years, as a large city's would hold:
every ticket with its raw message (~1 kB), its inbound message, its
"created" event, a "status"
event when resolved, its acknowledgement and its department mail in the
outbox (both sent).  Tickets older than a week are resolved; the last
week's are open, in progress or resolved at random (seeded: the same
database every run).  Used by tests/bench/run-bench.sh ("a database of
years").  Standard library only."""
import hashlib
import random
import sqlite3
import sys
import time


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: gen_db.py DB N")
    path, n = sys.argv[1], int(sys.argv[2])
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous = OFF")
    first = db.execute("SELECT coalesce(max(id), 0) + 1 FROM tickets").fetchone()[0]
    depts = [r[0] for r in db.execute("SELECT DISTINCT department FROM tickets")] or ["water"]
    now = int(time.time())
    start = now - 3 * 365 * 86400
    rnd = random.Random(48)

    def rows():
        for k in range(n):
            t = start + (now - start) * k // n
            if t < now - 7 * 86400:
                status = "resolved"
            else:
                status = rnd.choice(["open", "in_progress", "resolved"])
            sms = k % 2 == 0
            reporter = ("+38164%07d" % rnd.randrange(10 ** 7) if sms
                        else "gradjanin%d@example.org" % rnd.randrange(10 ** 6))
            yield (first + k, status, "sms" if sms else "email", reporter,
                   depts[k % len(depts)], "Prijava %d" % k,
                   "Curi voda iz cevi u ulici br. %d, molim hitno" % k,
                   t, t + 172800, t + 150000, t + 3600,
                   t + 86400 if status == "resolved" else None)

    db.executemany("INSERT INTO tickets(id, status, channel, reporter, department, subject, "
                   "text, created_at, due_at, warn_at, updated_at, resolved_at) "
                   "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows())
    # the raw message (~1 kB, as a short SMS or a small mail), keyed as
    # s48d keys it: source key by UID, alt_key the sha256 of the bytes;
    # the inbound message row with its Message-ID (email) or duplicate
    # hash (SMS): the look-ups whose indexes take random keys
    body = "x" * 900

    def raws():
        for k in range(n):
            tid = first + k
            h = hashlib.sha256(b"%d" % tid).hexdigest()
            yield (tid, "imap:INBOX:1:%d" % tid if k % 2 else "sms:infobip:%d" % tid,
                   "sha256:" + h, tid, body + h)

    db.executemany("INSERT INTO raw_messages(id, source, source_key, alt_key, received_at, "
                   "size, bytes, outcome, ticket_id) SELECT ?1, 'bench', ?2, ?3, created_at, "
                   "length(?5), CAST(?5 AS BLOB), 'ticket', id FROM tickets WHERE id = ?4",
                   raws())
    db.execute("INSERT INTO messages(ticket_id, direction, channel, at, text, raw_id, "
               "message_id, norm_hash) SELECT id, 'in', channel, created_at, text, id, "
               "CASE WHEN channel = 'email' THEN substr(alt_key, 8, 24) || '@mail.example.org' END, "
               "CASE WHEN channel = 'sms' THEN substr(alt_key, 8) END "
               "FROM tickets JOIN raw_messages USING (id) WHERE tickets.id >= ?", (first,))
    db.execute("INSERT INTO events(ticket_id, at, kind, to_value, by) "
               "SELECT id, created_at, 'created', department, 's48d' FROM tickets "
               "WHERE id >= ?", (first,))
    db.execute("INSERT INTO events(ticket_id, at, kind, from_value, to_value, by, public) "
               "SELECT id, resolved_at, 'status', 'open', 'resolved', 'petar', 1 FROM tickets "
               "WHERE id >= ? AND resolved_at IS NOT NULL", (first,))
    for kind, to, auto in (("ack", "reporter", 1), ("dept_new", "'vodovod@jkp.example.org'", 0)):
        db.execute("INSERT INTO outbox(ticket_id, channel, recipient, kind, body, message_id, "
                   "auto, status, next_at, created_at, updated_at, sent_at) "
                   "SELECT id, CASE WHEN ? = 'ack' THEN channel ELSE 'email' END, " + to + ", ?, "
                   "'Sistem 48: prijava primljena', ? || '.' || id || '@bench', ?, 'sent', "
                   "created_at, created_at, created_at, created_at FROM tickets WHERE id >= ?",
                   (kind, kind, kind, auto, first))
    db.commit()
    db.close()


if __name__ == "__main__":
    main()
