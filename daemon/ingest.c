/*
 * ingest.c - the batch pipeline: one transaction per batch (a savepoint per
 * item only when a decision has to be undone, see ingest_batch); each item
 * is looked up by its source key (and alt key), its raw
 * bytes recorded first, then the channel's decision (ingest_email.c,
 * ingest_sms.c) runs and raw_messages gets the outcome.  Cursors given by
 * the intake are written in the same transaction, so acknowledging the
 * source after a successful commit can never lose or duplicate a report.
 */
#include "ingest.h"
#include "ingest_p.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "commands.h"
#include "config.h"
#include "log.h"
#include "mime.h"
#include "normalize.h"
#include "outbox_queue.h"
#include "store.h"
#include "templates.h"
#include "tickets.h"
#include "util.h"

int ingest_test_fail_at = -1;
int ingest_test_refuse_at = -1;

static const char *const outcome_names[] = {
	[INGEST_DUPLICATE] = "duplicate",
	[INGEST_TICKET] = "ticket",
	[INGEST_APPEND] = "append",
	[INGEST_COMMAND] = "command",
	[INGEST_STAFF] = "staff",
	[INGEST_IGNORED] = "ignored",
	[INGEST_RECORDED] = "recorded",
};

const char *
ingest_outcome_name(int outcome)
{
	if (outcome < 0 || (size_t)outcome >= sizeof(outcome_names) / sizeof(outcome_names[0]))
		return "unknown";
	return outcome_names[outcome];
}

int
ingest_in_list(char *const *list, size_t n, const char *needle)
{
	size_t i;

	if (needle == NULL || *needle == '\0')
		return 0;
	for (i = 0; i < n; i++)
		if (list[i] != NULL && strcasecmp(list[i], needle) == 0)
			return 1;
	return 0;
}

int
ingest_ct_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char d = 0;

	if (la != lb)
		return 0;
	for (i = 0; i < la; i++)
		d |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return d == 0;
}

int
ingest_queue_sms(struct ingest_run *r, long ticket_id, const char *to, const char *kind,
    const char *text, int prepared, int is_auto, const char **error_r)
{
	const struct s48_config *cfg = r->ctx->cfg;
	struct outbox_msg m;
	char *body = prepared ? NULL : sms_prepare(text, cfg->sms.ascii);
	int rc;

	memset(&m, 0, sizeof(m));
	m.ticket_id = ticket_id;
	m.channel = "sms";
	m.recipient = to;
	m.kind = kind;
	m.body = prepared ? text : body;
	m.is_auto = is_auto;
	m.now = r->now;
	rc = outbox_queue(r->ctx->st, cfg, &m, NULL, NULL, error_r);
	free(body);
	return rc == 0 ? 0 : -1;
}

int
ingest_queue_email(struct ingest_run *r, long ticket_id, const char *to, const char *kind,
    const char *subject, const char *body, const char *in_reply_to, int is_auto,
    const char **error_r)
{
	struct outbox_msg m;

	memset(&m, 0, sizeof(m));
	m.ticket_id = ticket_id;
	m.channel = "email";
	m.recipient = to;
	m.kind = kind;
	m.subject = subject;
	m.body = body;
	m.in_reply_to = in_reply_to;
	m.references = in_reply_to;
	m.is_auto = is_auto;
	m.now = r->now;
	return outbox_queue(r->ctx->st, r->ctx->cfg, &m, NULL, NULL, error_r) == 0 ? 0 : -1;
}

int
ingest_apply_staff(struct ingest_run *r, long id, const struct staff_cmd *cmd, const char *by,
    const char **error_r)
{
	const char *arg = cmd->arg != NULL && cmd->arg[0] != '\0' ? cmd->arg : NULL;
	const char *err = NULL;
	int rc;

	if (store_savepoint(r->ctx->st, "ingest_staff", error_r) < 0)
		return -1;
	switch (cmd->kind) {
	case STAFF_CMD_STATUS:
		rc = tickets_set_status(&r->tc, id, cmd->status, arg, by, &err);
		break;
	case STAFF_CMD_ASSIGN:
		rc = arg == NULL ? (err = "#assign needs a department", TICKETS_EREFUSED) :
		    tickets_assign(&r->tc, id, arg, NULL, by, &err);
		break;
	case STAFF_CMD_NOTE:
		rc = arg == NULL ? (err = "#note needs a text", TICKETS_EREFUSED) :
		    tickets_note(&r->tc, id, arg, 0, by, &err);
		break;
	case STAFF_CMD_INVALID:
		rc = TICKETS_EREFUSED;
		err = arg != NULL ? arg : "not a command";
		break;
	case STAFF_CMD_NONE:
	default:
		rc = TICKETS_EREFUSED;
		err = "not a command";
		break;
	}
	if (rc == 0) {
		if (store_release(r->ctx->st, "ingest_staff", error_r) < 0)
			return -1;
		return 0;
	}
	/* Refused or failed: nothing of it may stay. */
	if (store_rollback_to(r->ctx->st, "ingest_staff", NULL) < 0 && rc != -1) {
		*error_r = store_errmsg(r->ctx->st);
		return -1;
	}
	*error_r = err != NULL ? err : "failed";
	return rc;
}

/* ---- raw_messages ---------------------------------------------------- */

static const char SQL_FIND_ALT[] =
    "SELECT id FROM raw_messages WHERE alt_key = ?1 LIMIT 1";
/* a source key seen before inserts nothing: the look-up for it is the
 * unique index's own check, not a SELECT of its own */
static const char SQL_INSERT_RAW[] =
    "INSERT INTO raw_messages (source, source_key, alt_key, received_at, size, truncated,"
    " bytes, outcome, ticket_id, sender, sent_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
    " ?10, ?11) ON CONFLICT(source_key) DO NOTHING";
static const char SQL_NEXT_TICKET[] =
    "SELECT coalesce(max(id), 0) + 1 FROM tickets";
static const char SQL_UPDATE_RAW[] =
    "UPDATE raw_messages SET outcome = ?2, ticket_id = ?3, sender = ?4, sent_at = ?5,"
    " note = ?6 WHERE id = ?1";

static int
sql_fail(struct ingest_run *r, const char **error_r)
{
	*error_r = store_errmsg(r->ctx->st);
	return -1;
}

/*
 * SAVEPOINT / RELEASE of the per-item savepoint as cached prepared
 * statements: sqlite3_exec would parse them again for every message.
 * (ROLLBACK TO is rare and goes through store_rollback_to.)
 */
static int
item_sp(struct ingest_run *r, const char *sql, const char **error_r)
{
	sqlite3_stmt *s = store_prepare(r->ctx->st, sql);
	int rc;

	if (s == NULL)
		return sql_fail(r, error_r);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		*error_r = sqlite3_errmsg(store_db(r->ctx->st));
		return -1;
	}
	return 0;
}
#define ITEM_SAVEPOINT "SAVEPOINT ingest_item"
#define ITEM_RELEASE "RELEASE ingest_item"

/* 1 if key is in raw_messages (sql: a look-up by alt_key), 0 if not, -1 on
 * error. */
static int
raw_seen(struct ingest_run *r, const char *sql, const char *key, const char **error_r)
{
	sqlite3_stmt *s = store_prepare(r->ctx->st, sql);
	int rc;

	if (s == NULL)
		return sql_fail(r, error_r);
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc != SQLITE_DONE)
		return sql_fail(r, error_r);
	return 0;
}

/*
 * What the raw row of a message will most likely say once decided: a new
 * ticket, the next ticket id, the sender and date the decision will record.
 * Written with the raw bytes; when the decision says the same (the common
 * case), the row needs no second write.
 */
struct raw_guess {
	long ticket_id;                 /* 0: no guess (the columns stay NULL) */
	char *sender;
	time_t sent_at;
};

static void
guess_clear(struct raw_guess *g)
{
	free(g->sender);
	memset(g, 0, sizeof(*g));
}

/* 1 if res is what g guessed (then the raw row is already right). */
static int
guess_right(const struct raw_guess *g, const struct ingest_result *res)
{
	if (g->ticket_id <= 0 || res->outcome != INGEST_TICKET || res->ticket_id != g->ticket_id ||
	    res->note != NULL || (res->sent_at > 0 ? res->sent_at : 0) != g->sent_at)
		return 0;
	if (res->sender == NULL || g->sender == NULL)
		return res->sender == g->sender;
	return strcmp(res->sender, g->sender) == 0;
}

/* The raw row of it (with g's guess, or NULL): 0 and *id_r, 1 when its
 * source key is already recorded (nothing inserted), -1 on error. */
static int
raw_insert(struct ingest_run *r, const struct ingest_item *it, const struct raw_guess *g,
    int64_t *id_r, const char **error_r)
{
	/* every parameter bound below: the last use's values are not cleared */
	sqlite3_stmt *s = store_prepare_all(r->ctx->st, SQL_INSERT_RAW);
	const char *colon = strchr(it->source_key, ':');
	const char *deflt = it->channel == INGEST_SMS ? "sms" : "imap";
	size_t size = it->truncated && it->full_size > it->raw_len ? it->full_size : it->raw_len;
	int rc;

	if (s == NULL)
		return sql_fail(r, error_r);
	if (colon != NULL && colon != it->source_key && colon - it->source_key < 32)
		sqlite3_bind_text(s, 1, it->source_key, (int)(colon - it->source_key),
		    SQLITE_STATIC);
	else
		sqlite3_bind_text(s, 1, deflt, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, it->source_key, -1, SQLITE_STATIC);
	if (it->alt_key != NULL && it->alt_key[0] != '\0')
		sqlite3_bind_text(s, 3, it->alt_key, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 3);
	sqlite3_bind_int64(s, 4, it->received_at != 0 ? it->received_at : r->now);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)size);
	sqlite3_bind_int(s, 6, it->truncated ? 1 : 0);
	if (it->raw != NULL)
		sqlite3_bind_blob64(s, 7, it->raw, it->raw_len, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 7);
	if (g != NULL && g->ticket_id > 0) {
		sqlite3_bind_text(s, 8, ingest_outcome_name(INGEST_TICKET), -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 9, g->ticket_id);
		if (g->sender != NULL)
			sqlite3_bind_text(s, 10, g->sender, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(s, 10);
		if (g->sent_at > 0)
			sqlite3_bind_int64(s, 11, g->sent_at);
		else
			sqlite3_bind_null(s, 11);
	} else {
		sqlite3_bind_null(s, 8);
		sqlite3_bind_null(s, 9);
		sqlite3_bind_null(s, 10);
		sqlite3_bind_null(s, 11);
	}
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return sql_fail(r, error_r);
	if (store_changes(r->ctx->st) == 0)
		return 1;
	*id_r = store_last_id(r->ctx->st);
	return 0;
}

static int
raw_update(struct ingest_run *r, int64_t raw_id, const struct ingest_result *res,
    const char **error_r)
{
	sqlite3_stmt *s = store_prepare(r->ctx->st, SQL_UPDATE_RAW);
	int rc;

	if (s == NULL)
		return sql_fail(r, error_r);
	sqlite3_bind_int64(s, 1, raw_id);
	sqlite3_bind_text(s, 2, ingest_outcome_name(res->outcome), -1, SQLITE_STATIC);
	if (res->ticket_id > 0)
		sqlite3_bind_int64(s, 3, res->ticket_id);
	if (res->sender != NULL)
		sqlite3_bind_text(s, 4, res->sender, -1, SQLITE_STATIC);
	if (res->sent_at > 0)
		sqlite3_bind_int64(s, 5, res->sent_at);
	if (res->note != NULL)
		sqlite3_bind_text(s, 6, res->note, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return sql_fail(r, error_r);
	return 0;
}

static void
result_clear(struct ingest_result *res)
{
	free(res->sender);
	free(res->note);
	memset(res, 0, sizeof(*res));
}

/*
 * Last resort when a decision failed for a reason in the message: a plain
 * ticket (default department, no reply) so the report is not lost.
 */
static int
fallback_ticket(struct ingest_run *r, struct ingest_item *it, int64_t raw_id,
    const char *why, struct ingest_result *res, const char **error_r)
{
	const struct s48_config *cfg = r->ctx->cfg;
	struct tickets_input in;
	struct mime_message *m = NULL;
	char *text = NULL;
	long id = 0;
	int rc;

	memset(&in, 0, sizeof(in));
	if (it->channel == INGEST_SMS) {
		in.channel = "sms";
		text = it->sms_text != NULL ?
		    norm_utf8_repair(it->sms_text, strlen(it->sms_text)) : xstrdup("");
	} else {
		/* What could be read: subject and text, not the attachments. */
		in.channel = "email";
		m = mime_parse(it->raw != NULL ? it->raw : (const unsigned char *)"", it->raw_len,
		    it->truncated, 0);
		text = xstrdup(m->text != NULL ? m->text : "");
		in.subject = m->subject;
		in.message_id = m->message_id;
	}
	in.reporter = res->sender != NULL ? res->sender :
	    (it->channel == INGEST_SMS ? "unknown" : "unknown@invalid");
	in.text = text;
	in.department = cfg->depts[cfg->default_dept].id;
	in.at = it->received_at != 0 ? it->received_at : r->now;
	in.raw_id = raw_id;
	in.now = r->now;
	in.flags = TICKETS_F_NO_ACK | (it->backlog ? TICKETS_F_BACKLOG : 0);
	rc = tickets_create(&r->tc, &in, &id, error_r);
	free(text);
	mime_message_free(&m);
	if (rc != 0)
		return rc == -1 ? -1 : 1;
	res->outcome = INGEST_TICKET;
	res->ticket_id = id;
	free(res->note);
	res->note = xstrdup(why);
	return 0;
}

/*
 * One item.  With r->savepoints, inside its own savepoint; without (the fast
 * path), a decision refused for a reason in the message returns 1 and the
 * caller redoes the batch with savepoints.  0, 1, or -1 (storage error: the
 * batch fails).
 */
static int
ingest_one(struct ingest_run *r, struct ingest_item *it, size_t idx, const char **error_r)
{
	struct store *st = r->ctx->st;
	struct ingest_result res;
	struct raw_guess g;
	struct mime_message *m = NULL;
	int64_t raw_id = 0;
	const char *why = NULL;
	char *why_copy = NULL;
	int rc;

	memset(&res, 0, sizeof(res));
	memset(&g, 0, sizeof(g));
	it->outcome = INGEST_DUPLICATE;
	it->ticket_id = 0;
	if (it->source_key == NULL || it->source_key[0] == '\0') {
		*error_r = "ingest item without a source key";
		return -1;
	}
	if (it->alt_key != NULL && it->alt_key[0] != '\0' &&
	    (rc = raw_seen(r, SQL_FIND_ALT, it->alt_key, error_r)) != 0)
		return rc < 0 ? -1 : 0;

	if (r->savepoints && item_sp(r, ITEM_SAVEPOINT, error_r) < 0)
		return -1;
	/* the guess: most messages are new reports */
	g.ticket_id = r->next_ticket;
	r->cur_dept = -1;
	if (it->channel == INGEST_SMS) {
		g.sender = ingest_sms_sender(r->ctx->cfg, it);
		g.sent_at = it->received_at > 0 ? it->received_at : 0;
	} else {
		mime_init();
		m = ingest_prefetch_take(r->pf, r->ctx->cfg, it, r->cur, &r->cur_dept);
		g.sender = m->from_addr != NULL ? xstrdup(m->from_addr) : NULL;
		g.sent_at = m->date > 0 ? m->date : 0;
	}
	if ((rc = raw_insert(r, it, &g, &raw_id, error_r)) < 0)
		goto fail;
	if (rc > 0) {
		/* recorded before: nothing done (DUPLICATE) */
		if (r->savepoints && item_sp(r, ITEM_RELEASE, error_r) < 0)
			goto fail;
		mime_message_free(&m);
		guess_clear(&g);
		return 0;
	}
	if (ingest_test_fail_at >= 0 && (size_t)ingest_test_fail_at == idx) {
		*error_r = "disk I/O error (ingest_test_fail_at)";
		goto fail;
	}
	if (it->channel == INGEST_SMS) {
		rc = ingest_sms_decide(r, it, raw_id, &res, &why);
	} else {
		rc = ingest_email_decide(r, it, m, raw_id, &res, &why);
		m = NULL;
	}
	if (rc < 0) {
		*error_r = why;
		goto fail;
	}
	if (rc == 0 && ingest_test_refuse_at >= 0 && (size_t)ingest_test_refuse_at == idx) {
		rc = 1;
		why = "refused (ingest_test_refuse_at)";
	}
	if (rc > 0 && !r->savepoints) {
		log_debug("ingest %s: %s; batch redone with savepoints", it->source_key,
		    why != NULL ? why : "refused");
		result_clear(&res);
		guess_clear(&g);
		return 1;
	}
	if (rc > 0) {
		/* Undo the partial decision, keep the raw bytes, make a ticket. */
		char *sender = res.sender;

		why_copy = xstrdup(why != NULL ? why : "unknown error");
		res.sender = NULL;
		result_clear(&res);
		res.sender = sender;
		if (store_rollback_to(st, "ingest_item", error_r) < 0 ||
		    item_sp(r, ITEM_SAVEPOINT, error_r) < 0)
			goto fail;
		guess_clear(&g);
		if (raw_insert(r, it, NULL, &raw_id, error_r) != 0) {
			if (*error_r == NULL)
				*error_r = "raw message recorded twice";
			goto fail;
		}
		log_warnx("ingest %s: %s; kept as a plain ticket", it->source_key, why_copy);
		rc = fallback_ticket(r, it, raw_id, why_copy, &res, &why);
		if (rc < 0) {
			*error_r = why;
			goto fail;
		}
		if (rc > 0) {
			res.outcome = INGEST_RECORDED;
			free(res.note);
			res.note = xasprintf("%s; %s", why_copy, why != NULL ? why : "");
		}
	}
	if (!guess_right(&g, &res) && raw_update(r, raw_id, &res, error_r) < 0)
		goto fail;
	if (r->savepoints && item_sp(r, ITEM_RELEASE, error_r) < 0)
		goto fail;
	/* a new ticket took the next id; rows undone by a savepoint may have
	 * freed ids again: then the next guess is wrong and corrected above */
	if (res.outcome == INGEST_TICKET && res.ticket_id >= r->next_ticket && r->next_ticket > 0)
		r->next_ticket = res.ticket_id + 1;
	it->outcome = res.outcome;
	it->ticket_id = res.ticket_id;
	log_debug("ingest %s: %s #%ld", it->source_key, ingest_outcome_name(res.outcome),
	    res.ticket_id);
	free(why_copy);
	result_clear(&res);
	guess_clear(&g);
	return 0;
fail:
	free(why_copy);
	result_clear(&res);
	guess_clear(&g);
	mime_message_free(&m);
	if (*error_r == NULL)
		*error_r = "storage error";
	return -1;
}

/* r->next_ticket: the id SQLite gives the next ticket row (the largest + 1),
 * read once per transaction (the write lock is held, no one else adds any). */
static int
next_ticket(struct ingest_run *r, const char **error_r)
{
	sqlite3_stmt *s = store_prepare(r->ctx->st, SQL_NEXT_TICKET);
	int rc;

	r->next_ticket = 0;
	if (s == NULL)
		return sql_fail(r, error_r);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		r->next_ticket = (long)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		return sql_fail(r, error_r);
	return 0;
}

static int
ingest_batch_txn(struct ingest_ctx *ctx, struct ingest_item *items, size_t n,
    const char *const *state_keys, const char *const *state_values, size_t n_state,
    const char **error_r)
{
	static char errbuf[512];
	struct ingest_run r;
	const char *err = NULL;
	size_t i;
	int rc;

	*error_r = NULL;
	memset(&r, 0, sizeof(r));
	r.ctx = ctx;
	r.tc.st = ctx->st;
	r.tc.cfg = ctx->cfg;
	r.tc.rt = ctx->rt;
	r.now = store_now();
	if (n == 0 && n_state == 0)
		return 0;
	/*
	 * Fast path first: no per-item savepoints (they cost about a fifth of
	 * the batch: every page an item touches is copied to the statement
	 * journal).  Only a decision refused for a reason in the message needs
	 * its rows undone; then the whole transaction is rolled back and the
	 * batch redone with a savepoint per item, giving exactly what the
	 * savepoint-per-item run would have given from the start.
	 */
	r.savepoints = 0;
again:
	if (store_begin(ctx->st, &err) < 0) {
		snprintf(errbuf, sizeof(errbuf), "begin: %s", err != NULL ? err : "?");
		*error_r = errbuf;
		return -1;
	}
	if (next_ticket(&r, &err) < 0) {
		snprintf(errbuf, sizeof(errbuf), "next ticket: %s", err != NULL ? err : "?");
		store_rollback(ctx->st);
		*error_r = errbuf;
		return -1;
	}
	r.pf = ingest_prefetch_start(ctx->cfg, ctx->rt, items, n);
	for (i = 0; i < n; i++) {
		err = NULL;
		r.cur = i;
		rc = ingest_one(&r, &items[i], i, &err);
		ingest_prefetch_done(r.pf, i);
		if (rc > 0 && !r.savepoints) {
			ingest_prefetch_stop(&r.pf);
			store_rollback(ctx->st);
			r.savepoints = 1;
			goto again;
		}
		if (rc < 0) {
			snprintf(errbuf, sizeof(errbuf), "%s: %s", items[i].source_key != NULL ?
			    items[i].source_key : "(no key)", err != NULL ? err : "storage error");
			goto fail;
		}
	}
	ingest_prefetch_stop(&r.pf);
	for (i = 0; i < n_state; i++) {
		err = NULL;
		if (store_state_set(ctx->st, state_keys[i], state_values[i], &err) < 0) {
			snprintf(errbuf, sizeof(errbuf), "source state %s: %s", state_keys[i],
			    err != NULL ? err : "?");
			goto fail;
		}
	}
	err = NULL;
	if (store_commit(ctx->st, &err) < 0) {
		snprintf(errbuf, sizeof(errbuf), "commit: %s", err != NULL ? err : "?");
		*error_r = errbuf;
		for (i = 0; i < n; i++) {
			items[i].outcome = INGEST_DUPLICATE;
			items[i].ticket_id = 0;
		}
		return -1;
	}
	return 0;
fail:
	ingest_prefetch_stop(&r.pf);
	store_rollback(ctx->st);
	for (i = 0; i < n; i++) {
		items[i].outcome = INGEST_DUPLICATE;
		items[i].ticket_id = 0;
	}
	*error_r = errbuf;
	return -1;
}

int
ingest_batch(struct ingest_ctx *ctx, struct ingest_item *items, size_t n,
    const char *const *state_keys, const char *const *state_values, size_t n_state,
    const char **error_r)
{
	const char *err = NULL;
	int rc;

	if (!ctx->defer_sync || (n == 0 && n_state == 0))
		return ingest_batch_txn(ctx, items, n, state_keys, state_values, n_state, error_r);
	/* group commit (store.h): this one transaction without an fsync, every
	 * other commit on the connection with one */
	if (store_exec(ctx->st, "PRAGMA synchronous = NORMAL", &err) < 0) {
		*error_r = err;
		return -1;
	}
	rc = ingest_batch_txn(ctx, items, n, state_keys, state_values, n_state, error_r);
	if (store_exec(ctx->st, "PRAGMA synchronous = FULL", &err) < 0)
		log_warnx("store: cannot set synchronous = FULL again: %s", err);
	return rc;
}
