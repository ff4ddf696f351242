/*
 * imap_pump.h - fetch the next batch while the current one is ingested, and
 * acknowledge (MOVE or \Seen) committed batches behind it, on a thread that
 * owns the IMAP session for the length of one poll.
 *
 * Without it a poll is FETCH, ingest, commit, MOVE, FETCH... and Dovecot
 * and s48d wait for each other.  With it, Dovecot hands out batch k+1 and
 * moves batch k-1 while s48d parses and stores batch k.  The order of the
 * guarantees is unchanged: a batch is acknowledged only after the caller
 * says it is committed (imap_pump_ack), and one command acknowledges it.
 *
 * One batch is fetched ahead at most, and only while the batches not yet
 * committed hold less than IMAP_PUMP_AHEAD_BYTES (large mail goes back to
 * one batch at a time, so memory stays about what it was).
 *
 * Acknowledgements are gathered: committed UIDs (4 bytes each) wait until
 * enough of them are due, the mailbox is drained, or the poll ends, and then
 * go out as ONE command of at most IMAP_PUMP_ACK_MAX UIDs.  Dovecot's cost
 * of a MOVE or STORE command grows with the size of the mailbox (it rewrites
 * its index): with 100,000 mails in INBOX, moving them 1,000 at a time cost
 * it 318 us per mail, 10,000 at a time 92 us.  The bound: libetpan keeps
 * the whole answer in memory, one "* N EXPUNGE" per mail moved (16,384 of
 * them peaked at 1.7 MB; 4,096 stay under 0.5 MB).  A crash before the
 * command only means the committed mails are fetched again and recognised
 * as duplicates.  The fetch cursor (the highest UID fetched) keeps a new
 * listing from handing out mail whose acknowledgement is still gathered.
 *
 * A second session: Dovecot serves one session's commands one after the
 * other, so a MOVE of 4,096 mails (~0.3 s here) held up the next FETCH and
 * with it the whole pipeline.  A second thread logs in on a second session
 * (same mailbox) as soon as the listing shows enough for a command after
 * the first batch (or when a command is due while more is
 * to be fetched), and sends the commands while the first session goes on
 * fetching.  With it a command is due from IMAP_PUMP_ACK_EARLY UIDs (or a
 * tenth of the mailbox, up to IMAP_PUMP_ACK_MAX: with 100,000 mails in it,
 * commands of 1,000 cost Dovecot more than the overlap saved), so Dovecot
 * starts moving after the first batch and stays busy: while a
 * command is in flight the next ones gather, so commands grow to
 * IMAP_PUMP_ACK_MAX by themselves when the server is slow (a large
 * mailbox).  Once nothing more is to be fetched, the first session takes
 * a share of what is due whenever the second is busy (half each, at least
 * what makes a command due), when the mailbox held at most
 * IMAP_PUMP_SHARE_MAX mails: Dovecot then moves on both at once (here, all
 * of 10,000 mails in 1,000s: 0.43 s on two sessions, 0.58 s on one; of
 * 40,000 in 4,000s: 2.6 s, 3.2 s), but in a larger mailbox each session
 * pays for taking the other's expunges into its view (of 100,000 in 4,096s:
 * 17.3 s on two, 12.2 s on one).  The fetch
 * session's listing notices the expunges (its check of the message before
 * each window, imap_intake_fetch) and finds its place again.  A poll that
 * drains the mailbox before anything is due (the usual small poll)
 * acknowledges on its one session as before.  A refused second login (a
 * server's limit on connections) is logged once per poll and the fetch
 * session acknowledges, as with one session, in commands of at least
 * IMAP_PUMP_ACK_MIN (each holds up the fetching).  The second session ends
 * (LOGOUT) with the poll.  A stop request ends its connect or login at
 * once (intake_imap.h): what is committed then goes on the fetching one.
 *
 * When a session fails (a dropped connection, a NO), what was committed
 * is still acknowledged in that poll, so that a hiccup during a large
 * backlog does not make the next poll fetch a queue's worth again: the
 * UIDs of a failed command go back to the queue (sending a MOVE or STORE
 * again over mail the server did act on is harmless); a failed second
 * session logs in once more (same account, TLS and login), and if that
 * fails too, or a stop was requested, the fetching session takes the queue
 * (as with one session).  When the fetching session fails, the poll ends
 * (imap_pump_next: -1) and the second session still acknowledges
 * everything committed before the pump ends; it logs in for that if it had
 * not yet.  Only when no session is left are committed UIDs given up
 * (logged; they come again next poll and are recognised as duplicates).
 * Each second session's UIDVALIDITY must be the fetching session's: if it
 * changed, nothing more is acknowledged on any session (logged) and the
 * poll fails, so that the next one rescans.  A UID that was not committed
 * is never acknowledged, and a stop still ends the pump within the grace.
 *
 * The threads block all signals; they keep going to the caller's thread.
 */
#ifndef S48_IMAP_PUMP_H
#define S48_IMAP_PUMP_H

#include <stddef.h>
#include <stdint.h>

#include "intake_imap.h"

#define IMAP_PUMP_AHEAD_BYTES (8u * 1024 * 1024)
#define IMAP_PUMP_ACK_MIN 4096       /* due on the fetching session alone */
#define IMAP_PUMP_ACK_EARLY 1000     /* due with a second session */
#define IMAP_PUMP_ACK_MAX 4096       /* UIDs per command at most */
#define IMAP_PUMP_SHARE_MAX 40000    /* the end shared by both sessions up to */

struct imap_pump;

/*
 * Start pumping ii (connected, mailbox selected; the pump uses it alone
 * until imap_pump_finish).  ack_cfg: the account for the second session
 * (see above; kept by the caller until imap_pump_finish), or NULL to
 * acknowledge on ii alone.  sync_db: a database whose WAL is made durable
 * (store_wal_sync) before each acknowledgement, for batches committed
 * with ingest_ctx.defer_sync; NULL: none (kept by the caller until
 * imap_pump_finish).  after_uid: fetch messages with a higher UID
 * (the \Seen mode's cursor; 0 in MOVE mode, where whatever is still in the
 * mailbox is due).  Each fetch then asks for UIDs above the last one
 * fetched.  batch_size: messages per FETCH.  Returns 0, or -1 with *error_r
 * (caller frees).
 */
int imap_pump_start(struct imap_intake *ii, const struct cfg_imap *ack_cfg,
    const char *sync_db, uint32_t after_uid, size_t batch_size, struct imap_pump **p_r,
    char **error_r);

/*
 * The next batch, in UID order: 1 with *msgs_r and *n_r (the caller owns them:
 * imap_intake_free_msgs), 0 when the mailbox is drained or
 * s48_stop_requested is set, -1 on an IMAP error (*error_r, caller frees;
 * the session is then broken: close it after imap_pump_finish).
 */
int imap_pump_next(struct imap_pump *p, struct imap_msg **msgs_r, size_t *n_r,
    char **error_r);

/*
 * The batch of n messages (bytes of raw in all) is committed: its uids
 * (copied) are acknowledged with the next command (see above).  Every batch
 * handed out by imap_pump_next must come back here or be given up with
 * imap_pump_drop.
 */
void imap_pump_ack(struct imap_pump *p, const uint32_t *uids, size_t n, size_t bytes);

/* The batch of `bytes` was not committed: fetch no more, hand out no more
 * (imap_pump_next returns 0, also with a batch already fetched ahead),
 * acknowledge nothing of it (its messages come again next poll). */
void imap_pump_drop(struct imap_pump *p, size_t bytes);

/*
 * Acknowledge what is still queued, stop the threads, free *p (NULL after).
 * Returns 0 (also when the second session failed but everything committed
 * was acknowledged on another), or -1 with *error_r when a fetch or an
 * acknowledgement on the fetching session failed (the session is broken:
 * close it), committed UIDs could not be acknowledged, the UIDVALIDITY
 * changed, or a stop cut a command short.  NULL is fine (returns 0).
 */
int imap_pump_finish(struct imap_pump **p, char **error_r);

#endif
