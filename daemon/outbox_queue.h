/*
 * outbox_queue.h - putting a message into the outbox (SPEC section 5).
 *
 * outbox_queue() inserts one row in the caller's transaction with a fresh
 * Message-ID ("s48.<random>.<time>.<counter>@<domain of smtp.from>", stored
 * WITHOUT <>),
 * and decides at once what cannot be sent:
 *   suppressed "STOP"                 SMS to a number in sms_optout (except
 *                                     kinds stop_confirm / start_confirm)
 *   suppressed "number cannot take SMS"  phone_normalize() is not MOBILE
 *   suppressed "daily cap"            an auto row when limits.auto_replies_per_day
 *                                     non-suppressed auto rows to that recipient
 *                                     were already queued since local midnight
 *   failed "channel not configured"   the smtp / sms group is absent
 * otherwise pending with next_at = now.  Department rows (auto = 0) are
 * never capped.
 */
#ifndef S48_OUTBOX_QUEUE_H
#define S48_OUTBOX_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct store;
struct s48_config;

struct outbox_msg {
	long ticket_id;                 /* 0 = not about a ticket (NULL in the row) */
	const char *channel;            /* "sms" | "email" */
	const char *recipient;          /* E.164 number or email address */
	const char *kind;               /* sms_ack, email_ack, sms_status, dept_new, ... */
	const char *subject;            /* email only; NULL for SMS */
	const char *body;               /* final text; SMS: already through
	                                   tmpl_render_sms / sms_prepare */
	const char *in_reply_to;        /* without <>, or NULL */
	const char *references;         /* space-separated ids without <>, or NULL */
	int tag_token;                  /* dept mail: the stored subject carries no tag;
	                                   the sender prepends "[TAG #N/TOKEN] " */
	int with_attachments;           /* dept mail: attach the ticket's attachments */
	int is_auto;                    /* counts toward limits.auto_replies_per_day */
	const char *message_id;         /* NULL: a fresh one is generated (the usual);
	                                   else this one (from outbox_new_message_id) */
	time_t now;                     /* created_at / next_at and the daily cap's
	                                   day; 0 = store_now() */
};

/* Row status after outbox_queue() */
enum outbox_status {
	OUTBOX_PENDING, OUTBOX_SENDING, OUTBOX_SENT, OUTBOX_FAILED, OUTBOX_SUPPRESSED
};

/*
 * Insert m.  Returns 0 with *id_r (may be NULL) and *status_r (may be NULL),
 * or -1 with *error_r (storage error; EINVAL-like errors for a bad channel or
 * an empty recipient are -1 too).
 */
int outbox_queue(struct store *st, const struct s48_config *cfg, const struct outbox_msg *m,
    int64_t *id_r, enum outbox_status *status_r, const char **error_r);

/* "pending" "sending" "sent" "failed" "suppressed" */
const char *outbox_status_name(enum outbox_status s);

/* A fresh Message-ID without <> for the domain of cfg->smtp.from (or
 * "localhost"); out of at least 128 bytes. */
void outbox_new_message_id(const struct s48_config *cfg, char *out, size_t outsz);
/* The same with the time part given (now: what util_now() would say). */
void outbox_new_message_id_at(const struct s48_config *cfg, time_t now, char *out,
    size_t outsz);

#endif
