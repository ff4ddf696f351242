/*
 * ingest_p.h - private to ingest.c, ingest_email.c and ingest_sms.c: the
 * per-batch state, the per-item decision result and the reply helpers.
 */
#ifndef S48_INGEST_P_H
#define S48_INGEST_P_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ingest.h"
#include "mime.h"
#include "tickets.h"

struct ingest_prefetch;
struct router;

/* State of one ingest_batch() call. */
struct ingest_run {
	struct ingest_ctx *ctx;
	struct tickets_ctx tc;
	time_t now;
	size_t cur;                     /* index of the item being decided */
	int savepoints;                 /* a savepoint per item (see ingest_batch) */
	struct ingest_prefetch *pf;     /* emails parsed ahead, or NULL */
	int cur_dept;                   /* the current email's route from the
	                                   prefetch (cfg->depts index), -1 none */
	long next_ticket;               /* id the next new ticket will get (the
	                                   table's largest + 1), 0 = unknown */
};

/* The subject and text a new ticket of email m is made from and routed by
 * (never NULL): the parse thread routes them ahead, ingest_email_decide
 * passes them to tickets_create, and both must agree.  The subject is m's,
 * without reply prefixes and our "[TAG #N]" when it starts with them (tag:
 * the config's ticket_tag): the new ticket has a number of its own. */
const char *ingest_email_subject(const char *tag, const struct mime_message *m);

static inline const char *
ingest_email_text(const struct mime_message *m)
{
	return m->text != NULL ? m->text : "";
}

/*
 * Emails of a batch parsed ahead on a second thread while the main thread
 * does the SQL work (mime_parse is a large part of an email's cost, and it
 * needs no database).  At most a few messages are parsed ahead.
 * ingest_prefetch_start: NULL when the batch has fewer than two emails (or no
 * thread could be started); items must stay valid until _stop.
 * ingest_prefetch_take: item idx's parsed message (parsed now if the thread
 * has not got to it); the caller owns it.  pf may be NULL.  *dept_r: the
 * department router_route gives the message's subject and text (rt of
 * _start), or -1 when it was not routed ahead (parsed now, or no router).
 * ingest_prefetch_done: item idx is finished (frees an unused parse).
 * ingest_prefetch_stop: joins the thread, frees what is left, NULLs *pf.
 */
struct ingest_prefetch *ingest_prefetch_start(const struct s48_config *cfg,
    const struct router *rt, const struct ingest_item *items, size_t n);
struct mime_message *ingest_prefetch_take(struct ingest_prefetch *pf, const struct s48_config *cfg,
    const struct ingest_item *it, size_t idx, int *dept_r);
void ingest_prefetch_done(struct ingest_prefetch *pf, size_t idx);
void ingest_prefetch_stop(struct ingest_prefetch **pf);

/* What a decision did with one item (strings owned, freed by ingest.c). */
struct ingest_result {
	int outcome;             /* enum ingest_outcome */
	long ticket_id;
	char *sender;            /* raw_messages.sender, or NULL */
	time_t sent_at;          /* raw_messages.sent_at, 0 = NULL */
	char *note;              /* raw_messages.note, or NULL */
};

/*
 * Decisions.  Return 0 (res filled), -1 storage error (*error_r; the batch
 * fails), or 1: the decision could not be made for a reason in the message
 * (*error_r says what); ingest.c then rolls the item back and makes a plain
 * ticket of it (ingest_fallback_ticket).  ingest_email_decide takes m (the
 * item's parse, from ingest_prefetch_take) and frees it.
 */
int ingest_email_decide(struct ingest_run *r, struct ingest_item *it, struct mime_message *m,
    int64_t raw_id, struct ingest_result *res, const char **error_r);
int ingest_sms_decide(struct ingest_run *r, struct ingest_item *it, int64_t raw_id,
    struct ingest_result *res, const char **error_r);

/* An SMS item's sender as raw_messages records it (what ingest_sms_decide
 * puts into res->sender).  Caller frees. */
char *ingest_sms_sender(const struct s48_config *cfg, const struct ingest_item *it);

/*
 * Queue a reply.  SMS text goes through sms_prepare (cfg->sms.ascii) unless
 * prepared is set (already from tmpl_render_sms).  ticket_id 0 = none.
 * 0 or -1 (storage error).
 */
int ingest_queue_sms(struct ingest_run *r, long ticket_id, const char *to, const char *kind,
    const char *text, int prepared, int is_auto, const char **error_r);
int ingest_queue_email(struct ingest_run *r, long ticket_id, const char *to, const char *kind,
    const char *subject, const char *body, const char *in_reply_to, int is_auto,
    const char **error_r);

/* 1 if needle (ASCII, lower case) equals one of list's entries ignoring ASCII case. */
int ingest_in_list(char *const *list, size_t n, const char *needle);

/* Constant-time comparison of two NUL-terminated strings: 1 if equal. */
int ingest_ct_equal(const char *a, const char *b);

/* Apply a staff command (parsed by parsers/commands.h) to ticket id in the
 * caller's transaction: 0 applied, TICKETS_ENOENT / TICKETS_EREFUSED (with
 * *error_r, nothing changed), -1 storage error. */
struct staff_cmd;
int ingest_apply_staff(struct ingest_run *r, long id, const struct staff_cmd *cmd,
    const char *by, const char **error_r);

#endif
