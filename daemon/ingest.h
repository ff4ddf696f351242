/*
 * ingest.h - the batch ingestion pipeline (SPEC sections 3 and 5): a batch of
 * source messages (IMAP mail, gateway SMS) becomes raw_messages rows, tickets,
 * appends, staff commands, events and outbox rows in ONE SQLite transaction.
 *
 * The caller (an intake) acknowledges its source (IMAP move / \Seen, gateway
 * cursor or ack) only after ingest_batch() returned 0: the commit is durable
 * (synchronous=FULL), so a crash at any point loses no report, and the unique
 * source_key makes a re-delivered message a DUPLICATE, never a second ticket.
 *
 * Decisions per item:
 *   email: automatic mail -> IGNORED (recorded); staff reply "[TAG #N/TOKEN]"
 *          from an allowed sender -> STAFF; "[TAG #N]" or In-Reply-To /
 *          References naming ticket N, from N's reporter -> APPEND; else a
 *          new TICKET (also when nothing could be parsed: reporter
 *          "unknown@invalid" when there is no usable From; then no
 *          acknowledgement is queued).
 *   sms:   alpha / short code / invalid sender, or record_only -> RECORDED;
 *          a department staff phone -> STAFF ("#N STATUS [note]");
 *          STATUS / STOP / START / empty -> COMMAND (a reply, no ticket);
 *          "#N text" from N's reporter -> APPEND; the same normalised text
 *          from the same number within 10 minutes -> APPEND (recorded against
 *          that ticket, not acknowledged again); anything else -> TICKET.
 */
#ifndef S48_INGEST_H
#define S48_INGEST_H

#include <stddef.h>
#include <time.h>

struct store;
struct s48_config;
struct router;

enum ingest_channel { INGEST_EMAIL, INGEST_SMS };

struct ingest_item {
	/* in */
	enum ingest_channel channel;
	const char *source_key;          /* unique per source message, e.g.
	                                    "imap:INBOX:UIDVALIDITY:UID",
	                                    "sms:infobip:MESSAGEID" */
	const char *alt_key;             /* optional 2nd key (email: Message-ID +
	                                    body sha256) to recognise a message
	                                    re-seen after a UIDVALIDITY change;
	                                    NULL = none */
	const unsigned char *raw;        /* raw message (SMS: the gateway's JSON object) */
	size_t raw_len;
	int truncated;                   /* email fetched partially (over max bytes) */
	size_t full_size;                /* its full size when truncated */
	time_t received_at;              /* INTERNALDATE / receivedAt; 0 = now */
	int backlog;                     /* email first run, older than
	                                    ack_max_age_days: ticket, no ack, no
	                                    warning/escalation */
	int record_only;                 /* SMS first run older than first_run_days */
	const char *sms_from;            /* SMS: sender as received */
	const char *sms_text;            /* SMS: text (may be invalid UTF-8) */
	/* out */
	int outcome;                     /* enum ingest_outcome */
	long ticket_id;                  /* ticket created/appended/commanded; 0 if none */
};

enum ingest_outcome {
	INGEST_DUPLICATE,   /* source key (or alt key) already recorded: nothing done
	                     * (ticket_id 0); or an SMS repeating its sender's text
	                     * within 10 minutes: recorded with its ticket, not
	                     * acknowledged again (ticket_id set) */
	INGEST_TICKET,      /* a new ticket */
	INGEST_APPEND,      /* added to an existing ticket */
	INGEST_COMMAND,     /* citizen SMS command (STATUS, STOP, START, help) */
	INGEST_STAFF,       /* staff command (email reply or SMS), applied or refused */
	INGEST_IGNORED,     /* automatic mail, our own mail, bad staff token */
	INGEST_RECORDED,    /* recorded only (alpha sender, short code, old SMS) */
};

/* Borrowed pointers; all must outlive the ingest_batch() call. */
struct ingest_ctx {
	struct store *st;
	const struct s48_config *cfg;
	const struct router *rt;
	/* 1: commit the batch with synchronous = NORMAL, without waiting for
	 * the disk; the caller then calls store_wal_sync before it
	 * acknowledges the source (store.h, group commit).  0: FULL. */
	int defer_sync;
};

/*
 * One transaction for the whole batch; each item's decision is isolated: if
 * one is refused for a reason in the message after writing rows, the batch
 * is redone with a savepoint per item and that item becomes a plain ticket
 * (the common case runs without savepoints, which cost ~20%).  state_keys /
 * state_values (n_state may be 0) are written to source_state in the same
 * transaction (cursors).  Fills each item's outcome and ticket_id.
 * Returns 0 (committed, durable), or -1 with *error_r (static or valid until
 * the next call): nothing of the batch is kept (the caller must NOT
 * acknowledge the source).  Only storage errors fail a batch; a message
 * that cannot be understood still becomes a ticket.
 */
int ingest_batch(struct ingest_ctx *ctx, struct ingest_item *items, size_t n,
    const char *const *state_keys, const char *const *state_values, size_t n_state,
    const char **error_r);

/* "duplicate" "ticket" "append" "command" "staff" "ignored" "recorded";
 * "unknown" for anything else.  Also the value of raw_messages.outcome. */
const char *ingest_outcome_name(int outcome);

/* Test hook: when >= 0, item number ingest_test_fail_at (0-based) of the
 * next batches fails as an SQLite error would (the whole batch is rolled
 * back).  -1 (default) disables it. */
extern int ingest_test_fail_at;
/* Test hook: when >= 0, the decision for item number ingest_test_refuse_at
 * fails after it wrote its rows, as a message-caused refusal would: the
 * item's rows are undone and it becomes a plain ticket (default department,
 * no reply).  -1 (default) disables it. */
extern int ingest_test_refuse_at;

#endif
