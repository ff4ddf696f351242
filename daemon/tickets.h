/*
 * tickets.h - ticket actions (SPEC section 2 and 5): create, append,
 * status, assign, note, and look-ups.
 *
 * Every action runs INSIDE a transaction the caller opened (store_begin, or
 * a savepoint within one) and writes, in that transaction, the ticket rows,
 * the events and the outbox rows (rendered templates) for the citizen and
 * the department; nothing is sent here (the outbox sender does that after
 * the commit).  On -1 the caller must roll back (the action may have
 * written part of its rows).
 *
 * Return codes (same numbers as s48ctl's exit codes where they meet):
 *   0                 success
 *   TICKETS_ENOENT    no such ticket
 *   TICKETS_EREFUSED  refused (transition not allowed, unknown department or
 *                     status, same department); *error_r says why, e.g.
 *                     "open -> open is not allowed"
 *   -1                storage (SQLite) error, *error_r says what
 * *error_r: static, or owned by the store and valid until the next call on
 * it (error_r may be NULL).
 */
#ifndef S48_TICKETS_H
#define S48_TICKETS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct store;
struct s48_config;
struct router;
struct mime_attachment;

#define TICKETS_ENOENT   1
#define TICKETS_EREFUSED 2

struct tickets_ctx {
	struct store *st;
	const struct s48_config *cfg;
	const struct router *rt;        /* for tickets_create with department NULL;
	                                   may be NULL (then NULL department -> default) */
};

/* flags of struct tickets_input */
#define TICKETS_F_BACKLOG  0x01     /* first-run backlog: no acknowledgement, and
	                                   never warned or escalated (tickets.backlog=1) */
#define TICKETS_F_AUTO     0x02     /* caused by an inbound message: the citizen's
	                                   acknowledgement counts toward the daily cap */
#define TICKETS_F_NO_ACK   0x04     /* no acknowledgement to the citizen (e.g. no
	                                   usable sender address) */
#define TICKETS_F_QUIET    0x08     /* append only: do not tell the department */

/* Input of tickets_create() and tickets_append(). */
struct tickets_input {
	const char *channel;            /* "sms" | "email" */
	const char *reporter;           /* E.164 or lower-cased email (create) */
	const char *subject;            /* email subject; NULL for SMS: derived from
	                                   the text (tickets_sms_subject) */
	const char *text;               /* the report / appended text (UTF-8) */
	const char *department;         /* create: department id, NULL = route with
	                                   ctx->rt (email: subject + text, SMS: text) */
	time_t at;                      /* created_at / message time; 0 or later
	                                   than now: now */
	const char *message_id;         /* the citizen's Message-ID without <>, or NULL */
	int64_t raw_id;                 /* raw_messages.id, 0 = none (e.g. s48ctl new) */
	const char *norm_hash;          /* messages.norm_hash (SMS duplicate check), or NULL */
	const char *by;                 /* events.by; NULL = the reporter */
	int flags;                      /* TICKETS_F_* */
	const struct mime_attachment *att;   /* kept in attachments (data NULL or
	                                        omitted: metadata only) */
	size_t n_att;
	time_t now;                     /* time of the rows written now (outbox rows,
	                                   replies); 0 = store_now().  The ingest
	                                   passes its batch's time. */
};

/*
 * New ticket: routes (if department is NULL), computes due_at/warn_at with
 * sla_due/sla_warn_at, writes tickets, messages (in), attachments, event
 * "created", the citizen's acknowledgement (sms_ack / email_ack with subject
 * "Re: [TAG #N] subject" and In-Reply-To/References to message_id) unless
 * BACKLOG/NO_ACK, and the department's notification (kind dept_new: one email
 * per address with tag_token and attachments, one short SMS per `sms`
 * number).  Logs one info line (reporter masked).
 * Returns 0 and *id_r; TICKETS_EREFUSED for an unknown department or bad
 * channel; -1 on a storage error.
 */
int tickets_create(const struct tickets_ctx *c, const struct tickets_input *in, long *id_r,
    const char **error_r);

/*
 * Add an inbound message to ticket id (messages, attachments, event
 * "message") and, unless TICKETS_F_QUIET, tell the department (email rows of
 * kind dept_append; with_attachments when the message brought any).
 * in->reporter/subject/department are ignored.  Attachments without a
 * sha256 get one computed here.
 * Returns 0, TICKETS_ENOENT or -1.
 */
int tickets_append(const struct tickets_ctx *c, long id, const struct tickets_input *in,
    const char **error_r);

/*
 * Change the status (SPEC section 2 transitions only; the same status is
 * refused).  Sets/clears resolved_at, updates updated_at, writes event
 * "status" (from, to, by, note; public when note is given), and queues the
 * reply to the citizen on their channel (sms_status / email_status with
 * {note}).  Staff changes are never capped.
 * Returns 0, TICKETS_ENOENT, TICKETS_EREFUSED ("unknown status X",
 * "open -> open is not allowed") or -1.
 */
int tickets_set_status(const struct tickets_ctx *c, long id, const char *status,
    const char *note, const char *by, const char **error_r);

/*
 * Move to department dept (an id of the config).  Unknown or the same
 * department: TICKETS_EREFUSED.  Event "assign" (from, to, by, note), the
 * citizen told the new department's NAME (kind sms_assign / email_assign),
 * the new department notified (kind dept_assign, like dept_new).
 */
int tickets_assign(const struct tickets_ctx *c, long id, const char *dept, const char *note,
    const char *by, const char **error_r);

/*
 * Event "note"; is_public: also sent to the citizen (sms_note /
 * email_note, rendered with the *_status template and the note).
 * Empty text: TICKETS_EREFUSED.
 */
int tickets_note(const struct tickets_ctx *c, long id, const char *text, int is_public,
    const char *by, const char **error_r);

/* A ticket row; strings owned by the struct, free with tickets_free(). */
struct ticket {
	long id;
	char *status;
	char *channel;
	char *reporter;
	char *department;
	char *subject;
	char *text;
	char *message_id;               /* the citizen's first Message-ID, may be NULL */
	time_t created_at, due_at, warn_at, updated_at;
	time_t resolved_at, warned_at, escalated_at;   /* 0 = not set */
	int backlog;
};

/* 0 and *t_r, TICKETS_ENOENT, or -1. */
int tickets_get(struct store *st, long id, struct ticket **t_r, const char **error_r);
void tickets_free(struct ticket **t);

/* The SMS reporter's newest SMS ticket (STATUS without a number): 0 and
 * *id_r, TICKETS_ENOENT, or -1. */
int tickets_latest_by_reporter(struct store *st, const char *reporter, long *id_r,
    const char **error_r);
/*
 * The ticket a Message-ID (without <>) belongs to: an inbound message of
 * it, or an email outbox row's message_id (our replies, whose outbound
 * message rows carry the same id; SMS rows have ids no one can name).
 * 0 and *id_r, TICKETS_ENOENT, or -1.
 */
int tickets_find_by_message_id(struct store *st, const char *msgid, long *id_r,
    const char **error_r);
/* Ticket id's reporter (caller frees) and, if channel_r, its channel (caller
 * frees).  0, TICKETS_ENOENT or -1. */
int tickets_reporter_of(struct store *st, long id, char **reporter_r, char **channel_r,
    const char **error_r);

/* 1 if s is one of open, in_progress, resolved, rejected. */
int tickets_status_valid(const char *s);
/* 1 if from -> to is an allowed change (SPEC section 2), else 0. */
int tickets_transition_allowed(const char *from, const char *to);
/* 1 if the ticket is open or in_progress and now > due_at. */
int tickets_is_overdue(const struct ticket *t, time_t now);

/*
 * SMS subject: the first line of text, at most 60 characters (UTF-8
 * characters, not bytes), cut at a word when longer.  Caller frees.
 */
char *tickets_sms_subject(const char *text);

#endif
