/*
 * outbox_send.h - delivering the outbox (SPEC section 5), s48d only.
 *
 * Each due row goes pending -> sending -> sent, or back to pending with
 * exponential backoff and jitter (30 s doubling, capped at 1 h) on a
 * temporary failure, or failed after outbox.max_attempts or at once on a
 * permanent failure, always with a reason.  Emails are sent on up to
 * smtp.connections connections at once (one at a time until the relay has
 * accepted one in the run, and after a transport failure; one recipient's
 * in order), SMS one by one.  Rows are claimed (-> sending)
 * up to 64 in one transaction, and their outcomes written in one
 * transaction per batch (or per 100 ms); an attempt is counted when its
 * outcome is written.  A send cut short by a stop (s48_stop_requested set
 * while it ran) goes back to pending, due at once, without counting an
 * attempt.  Claimed rows not tried (a stop, a transport that is down) go
 * back to pending as they were.
 *
 * Crashes and restores: every message the server accepted is appended to
 * the sent-log "<database>.sent-log" ("ID TIME MESSAGE-ID", one write(2))
 * before anything else is done with its outcome, and a line "committed
 * TIME" follows once the outcomes are committed.  The sent-log is never
 * emptied (rotated past 4 MB to ".sent-log.1"; both are read, the last
 * 8 MB of each).  At start (outbox_recover) a row left in sending by a crash
 * that the lines after the last "committed" name (id and Message-ID both)
 * is recorded as sent, and any other row left in sending goes back to
 * pending; so a kill can cause at most one duplicate per SMTP connection
 * (smtp.connections) and one SMS: a message in flight between the server's
 * final reply and the sent-log write (a pass that fails on the database
 * reads the ends of the emails in flight first, so that costs none).  A
 * backup put in place has its
 * pending (or sending) rows of that time: those the sent-log names were
 * sent after the backup was taken and are recorded as sent instead of being
 * sent again, with a note on the ticket.  When the sent-log cannot be
 * opened or written, each accepted message is committed at once.  An older
 * s48's crash journal "<database>.sent" (ids) is read once at start and
 * removed.  Only one process may send from a database (s48d's lock file).
 *
 * Status writes during a run use synchronous=NORMAL (WAL) and the sent-log
 * is not fsync'ed: both survive a crash of the process, and only a power
 * loss could undo one (then messages of the last batch are sent twice).
 * Ingestion commits stay FULL.
 */
#ifndef S48_OUTBOX_SEND_H
#define S48_OUTBOX_SEND_H

#include <time.h>

struct store;
struct s48_config;
struct sms_gateway;

struct outbox_run {
	int sent, retried, failed, suppressed;
	int smtp_unreachable;       /* a temporary failure of the SMTP transport */
	int sms_unreachable;        /* a temporary failure of the SMS gateway */
	int smtp_ok, sms_ok;        /* at least one send succeeded */
};

/* For s48d's start, in one transaction: rows an older s48's crash journal
 * "<database>.sent" lists that are still "sending" -> "sent" (the journal
 * is then removed); rows "sending" that the sent-log's lines after its last
 * "committed" name by id and Message-ID (accepted before a crash) -> "sent"
 * with the reason "accepted before a stop, recorded at the restart"
 * (logged at info); other rows "pending" or "sending" that the sent-log
 * names (a backup put in place that was taken before they were sent) ->
 * "sent" with a reason saying so and a "note" event on their ticket (logged
 * as a warning); every other "sending" row -> "pending" (due now).  Only
 * rows pending or sending are looked up, in one statement.  Returns the
 * number of rows put back to pending, or -1 with *error_r. */
int outbox_recover(struct store *st, const char **error_r);

/* The sent-log of accepted sends, kept across commits and restores
 * ("<path>.sent-log", its previous part "<path>.sent-log.1"), or NULL for
 * a database without a file.  Caller frees. */
char *outbox_ledger_path(struct store *st);

/*
 * Try every due row once (next_at <= now), oldest first, at most max_rows
 * (0 = no limit).  gw may be NULL when SMS is off.  A channel whose
 * transport failed three times in a row is left for the next run: its
 * untried due rows wait one backoff step (next_at moved, attempts and
 * reason unchanged), so a server that is down neither holds up the loop
 * nor the other channel, and the loop does not spin on it.  Stops early when
 * s48_stop_requested is set.  Returns 0, or -1 on a storage error (rows it
 * left claimed are recovered by the next call, like outbox_recover does).
 */
int outbox_send_due(struct store *st, const struct s48_config *cfg, struct sms_gateway *gw,
    int max_rows, struct outbox_run *run, const char **error_r);

/* Earliest next_at of a pending row, or 0 if none. */
time_t outbox_next_due(struct store *st);

/* Backoff after attempt number `attempts` (1-based): 30 s * 2^(attempts-1),
 * at most 3600 s, with +-10 % jitter, times outbox_backoff_scale(), at
 * least 1 s. */
long outbox_backoff(int attempts);

/*
 * Test knob: the factor in (0, 1] from the environment variable
 * S48_BACKOFF_SCALE (e.g. 0.01), 1 when unset or invalid.  It shortens every
 * retry wait of s48d (outbox backoff, the pause after a transport failed,
 * source reconnects) so fault tests run in seconds; not for production use.
 */
double outbox_backoff_scale(void);

#endif
