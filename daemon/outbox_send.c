/* outbox_send.c - delivering pending outbox rows by SMTP or the SMS gateway. */
#include "outbox_send.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "mail_compose.h"
#include "notifier_smtp.h"
#include "sms_gateway.h"
#include "store.h"
#include "util.h"

#define MAIL_MAX_BYTES (64u * 1024 * 1024)
#define TRANSPORT_GIVE_UP 3

struct row {
	long long id;
	long ticket_id;
	char *channel, *recipient, *kind, *subject, *body, *in_reply_to, *references;
	char *message_id;
	int tag_token, with_attachments, attempts;
};

static void
row_free(struct row *r)
{
	free(r->channel);
	free(r->recipient);
	free(r->kind);
	free(r->subject);
	free(r->body);
	free(r->in_reply_to);
	free(r->references);
	free(r->message_id);
	memset(r, 0, sizeof(*r));
}

double
outbox_backoff_scale(void)
{
	static double scale = -1;

	if (scale < 0) {
		const char *e = getenv("S48_BACKOFF_SCALE");
		double v = e != NULL && *e != '\0' ? strtod(e, NULL) : 1.0;

		scale = v > 0 && v <= 1 ? v : 1.0;
	}
	return scale;
}

long
outbox_backoff(int attempts)
{
	long d = 30;
	int i;

	for (i = 1; i < attempts && d < 3600; i++)
		d *= 2;
	if (d > 3600)
		d = 3600;
	/* +-10 % jitter so rows that failed together do not retry together */
	d += (long)(((double)random() / RAND_MAX - 0.5) * 0.2 * (double)d);
	d = (long)((double)d * outbox_backoff_scale());
	return d < 1 ? 1 : d;
}

int
outbox_recover(struct store *st, const char **error_r)
{
	sqlite3_stmt *s = store_prepare(st,
	    "UPDATE outbox SET status = 'pending', next_at = ?1, updated_at = ?1, "
	    "reason = 'interrupted by a restart' WHERE status = 'sending'");

	if (s == NULL) {
		*error_r = store_errmsg(st);
		return -1;
	}
	sqlite3_bind_int64(s, 1, (sqlite3_int64)store_now());
	if (sqlite3_step(s) != SQLITE_DONE) {
		*error_r = store_errmsg(st);
		return -1;
	}
	return store_changes(st);
}

time_t
outbox_next_due(struct store *st)
{
	sqlite3_stmt *s = store_prepare(st,
	    "SELECT min(next_at) FROM outbox WHERE status = 'pending'");
	time_t t = 0;

	if (s != NULL && sqlite3_step(s) == SQLITE_ROW &&
	    sqlite3_column_type(s, 0) != SQLITE_NULL)
		t = (time_t)sqlite3_column_int64(s, 0);
	if (s != NULL)
		sqlite3_reset(s);
	return t;
}

/* Mark the row "sending" and count the attempt; 1 if we own it now. */
static int
claim(struct store *st, long long id)
{
	sqlite3_stmt *s = store_prepare(st,
	    "UPDATE outbox SET status = 'sending', attempts = attempts + 1, updated_at = ?2 "
	    "WHERE id = ?1 AND status = 'pending'");

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)store_now());
	if (sqlite3_step(s) != SQLITE_DONE)
		return -1;
	return store_changes(st) == 1;
}

static int
finish(struct store *st, long long id, const char *status, time_t next_at, const char *reason)
{
	sqlite3_stmt *s = store_prepare(st,
	    "UPDATE outbox SET status = ?2, next_at = ?3, reason = ?4, updated_at = ?5, "
	    "sent_at = CASE WHEN ?2 = 'sent' THEN ?5 ELSE sent_at END WHERE id = ?1");
	time_t now = store_now();

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)(next_at ? next_at : now));
	sqlite3_bind_text(s, 4, reason, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)now);
	return sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
}

/* The ticket's kept attachments for a department mail. */
static int
load_attachments(struct store *st, long ticket, struct mail_attachment **att_r, size_t *n_r,
    unsigned char ***blobs_r)
{
	sqlite3_stmt *s = store_prepare(st,
	    "SELECT filename, content_type, content FROM attachments "
	    "WHERE ticket_id = ?1 AND omitted = 0 AND content IS NOT NULL ORDER BY idx");
	struct mail_attachment *att = NULL;
	unsigned char **blobs = NULL;
	size_t n = 0;
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, ticket);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		size_t len = (size_t)sqlite3_column_bytes(s, 2);
		const void *p = sqlite3_column_blob(s, 2);

		att = xrealloc(att, (n + 1) * sizeof(*att));
		blobs = xrealloc(blobs, (n + 1) * 3 * sizeof(*blobs));
		blobs[3 * n] = (unsigned char *)store_col_dup(s, 0);
		blobs[3 * n + 1] = (unsigned char *)store_col_dup(s, 1);
		blobs[3 * n + 2] = xmalloc(len ? len : 1);
		if (len)
			memcpy(blobs[3 * n + 2], p, len);
		att[n].filename = (const char *)blobs[3 * n];
		att[n].content_type = (const char *)blobs[3 * n + 1];
		att[n].data = blobs[3 * n + 2];
		att[n].size = len;
		n++;
	}
	sqlite3_reset(s);
	*att_r = att;
	*n_r = n;
	*blobs_r = blobs;
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Citizens' replies are auto-replied; department and staff mail auto-generated. */
static int
is_citizen_reply(const char *kind)
{
	return strncmp(kind, "dept_", 5) != 0 && strcmp(kind, "warning") != 0 &&
	    strcmp(kind, "escalation") != 0 && strcmp(kind, "alert") != 0;
}

/*
 * Threading ids come from citizens' mail clients: keep only those the
 * composer accepts, so a broken Message-ID costs the threading, not the
 * reply.  Returns a new string (caller frees) or NULL when none is left.
 */
static char *
valid_ids(const char *ids)
{
	struct buf b;
	char *copy, *tok, *save = NULL;

	if (ids == NULL)
		return NULL;
	buf_init(&b, 64 * 1024);
	copy = xstrdup(ids);
	for (tok = strtok_r(copy, " ,\t", &save); tok != NULL; tok = strtok_r(NULL, " ,\t", &save)) {
		size_t l = strlen(tok);

		if (tok[0] == '<' && l > 2 && tok[l - 1] == '>') {
			tok[l - 1] = '\0';
			tok++;
		}
		if (!mail_msgid_ok(tok))
			continue;
		if (b.len > 0)
			buf_appendc(&b, ' ');
		buf_appends(&b, tok);
	}
	free(copy);
	if (b.len == 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b, NULL);
}

static int
send_email(struct store *st, const struct s48_config *cfg, const struct row *r, char **reason_r)
{
	struct mail_out m;
	struct mail_attachment *att = NULL;
	unsigned char **blobs = NULL;
	size_t n_att = 0, i;
	struct buf out;
	char *subject = NULL, *irt = valid_ids(r->in_reply_to), *refs = valid_ids(r->references);
	const char *err;
	int res;

	memset(&m, 0, sizeof(m));
	if (r->tag_token && r->ticket_id > 0) {
		char tok[17];

		util_staff_token(cfg->secret ? cfg->secret : "", r->ticket_id, tok);
		subject = xasprintf("[%s #%ld/%s] %s", cfg->ticket_tag, r->ticket_id, tok,
		    r->subject ? r->subject : "");
	}
	if (r->with_attachments && r->ticket_id > 0 &&
	    load_attachments(st, r->ticket_id, &att, &n_att, &blobs) < 0) {
		*reason_r = xstrdup("could not read the ticket's attachments");
		res = NOTIFY_TEMPFAIL;
		goto done;
	}
	m.from = cfg->smtp.from;
	m.to = r->recipient;
	m.subject = subject ? subject : r->subject;
	m.body = r->body;
	m.message_id = r->message_id;
	m.in_reply_to = irt;
	m.references = refs;
	m.auto_replied = is_citizen_reply(r->kind);
	m.att = att;
	m.n_att = n_att;
	m.date = store_now();
	buf_init(&out, MAIL_MAX_BYTES);
	if (mail_compose(&m, &out, &err) < 0) {
		*reason_r = xasprintf("message not composed: %s", err);
		res = NOTIFY_PERMFAIL;
	} else {
		res = notifier_smtp_send(&cfg->smtp, r->recipient, out.data, out.len, reason_r);
	}
	buf_free(&out);
done:
	for (i = 0; i < 3 * n_att; i++)
		free(blobs[i]);
	free(blobs);
	free(att);
	free(subject);
	free(irt);
	free(refs);
	return res;
}

/*
 * The transport of channel failed TRANSPORT_GIVE_UP times in a row: the rows
 * of that channel not tried in this run wait one backoff step (not counted as
 * an attempt), so the loop neither spins on them nor holds up the other
 * channel.  0 or -1.
 */
static int
defer_channel(struct store *st, const char *channel)
{
	sqlite3_stmt *s = store_prepare(st,
	    "UPDATE outbox SET next_at = ?2 WHERE status = 'pending' AND channel = ?1 "
	    "AND next_at <= ?3");
	time_t now = store_now();

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, channel, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)(now + outbox_backoff(1)));
	sqlite3_bind_int64(s, 3, (sqlite3_int64)now);
	return sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
}

static void
optout(struct store *st, const char *number)
{
	sqlite3_stmt *s = store_prepare(st,
	    "INSERT OR IGNORE INTO sms_optout(number, at) VALUES (?1, ?2)");

	if (s == NULL)
		return;
	sqlite3_bind_text(s, 1, number, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)store_now());
	(void)sqlite3_step(s);
}

/*
 * Due rows after the key (*next_at, *id) in (next_at, id) order, at most
 * max; the key moves to the last row loaded.  Rows a run has passed over
 * (tried, deferred, or skipped for a transport that is down) sort before
 * the key or are no longer due, so paging this way ends.
 */
static int
load_rows(struct store *st, time_t now, long long *next_at, long long *id, size_t max,
    struct row **rows_r, size_t *n_r)
{
	sqlite3_stmt *s = store_prepare(st,
	    "SELECT id, coalesce(ticket_id, 0), channel, recipient, kind, subject, body, "
	    "in_reply_to, references_hdr, message_id, tag_token, with_attachments, attempts, "
	    "next_at FROM outbox WHERE status = 'pending' AND next_at <= ?1 AND next_at >= ?2 "
	    "AND (next_at > ?2 OR id > ?3) ORDER BY next_at, id LIMIT ?4");
	struct row *rows;
	size_t n = 0;
	int rc = SQLITE_DONE;

	*rows_r = NULL;
	*n_r = 0;
	if (s == NULL)
		return -1;
	rows = xcalloc(max, sizeof(*rows));
	sqlite3_bind_int64(s, 1, (sqlite3_int64)now);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)*next_at);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)*id);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)max);
	while (n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct row *r = &rows[n++];

		r->id = sqlite3_column_int64(s, 0);
		r->ticket_id = (long)sqlite3_column_int64(s, 1);
		r->channel = store_col_dup(s, 2);
		r->recipient = store_col_dup(s, 3);
		r->kind = store_col_dup(s, 4);
		r->subject = store_col_dup(s, 5);
		r->body = store_col_dup(s, 6);
		r->in_reply_to = store_col_dup(s, 7);
		r->references = store_col_dup(s, 8);
		r->message_id = store_col_dup(s, 9);
		r->tag_token = sqlite3_column_int(s, 10);
		r->with_attachments = sqlite3_column_int(s, 11);
		r->attempts = sqlite3_column_int(s, 12);
		*next_at = sqlite3_column_int64(s, 13);
		*id = r->id;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		while (n > 0)
			row_free(&rows[--n]);
		free(rows);
		return -1;
	}
	*rows_r = rows;
	*n_r = n;
	return 0;
}

/* Rows are loaded OUTBOX_CHUNK at a time: memory stays flat whatever the backlog. */
#define OUTBOX_CHUNK 256

int
outbox_send_due(struct store *st, const struct s48_config *cfg, struct sms_gateway *gw,
    int max_rows, struct outbox_run *run, const char **error_r)
{
	struct row *rows = NULL;
	size_t n = 0, i, left = max_rows > 0 ? (size_t)max_rows : (size_t)-1;
	long long key_next = -1, key_id = 0;
	time_t now = store_now();
	int smtp_fail = 0, sms_fail = 0, rc = -1, started = 0;
	char logbuf[64];

	memset(run, 0, sizeof(*run));
next_chunk:
	if (load_rows(st, now, &key_next, &key_id, left < OUTBOX_CHUNK ? left : OUTBOX_CHUNK,
	    &rows, &n) < 0) {
		*error_r = store_errmsg(st);
		if (!started)
			return -1;
		goto fail;
	}
	if (n == 0 && !started) {
		free(rows);
		return 0;
	}
	left -= n;
	if (!started) {
		/* Process crashes lose nothing at NORMAL in WAL mode; see the header. */
		(void)store_exec(st, "PRAGMA synchronous = NORMAL", NULL);
		started = 1;
	}
	for (i = 0; i < n && !s48_stop_requested; i++) {
		struct row *r = &rows[i];
		int is_sms = strcmp(r->channel, "sms") == 0, res, stopped = 0, c;
		char *reason = NULL;

		if ((is_sms && sms_fail >= TRANSPORT_GIVE_UP) ||
		    (!is_sms && smtp_fail >= TRANSPORT_GIVE_UP))
			continue;       /* transport down: leave it due for the next run */
		if ((c = claim(st, r->id)) < 0)
			goto fail;
		if (c == 0)
			continue;       /* s48ctl changed it meanwhile */
		r->attempts++;
		if (is_sms && (!cfg->sms.enabled || gw == NULL)) {
			res = NOTIFY_PERMFAIL;
			reason = xstrdup("channel not configured: sms");
		} else if (!is_sms && !cfg->smtp.enabled) {
			res = NOTIFY_PERMFAIL;
			reason = xstrdup("channel not configured: smtp");
		} else if (is_sms) {
			res = sms_gateway_send(gw, r->recipient, r->body ? r->body : "", &reason,
			    &stopped);
		} else {
			res = send_email(st, cfg, r, &reason);
		}
		if (reason == NULL)
			reason = xstrdup("");
		if (res == NOTIFY_OK) {
			if (finish(st, r->id, "sent", 0, reason) < 0)
				goto fail_reason;
			run->sent++;
			if (is_sms) {
				run->sms_ok = 1;
				sms_fail = 0;
			} else {
				run->smtp_ok = 1;
				smtp_fail = 0;
			}
			log_info("outbox %lld: %s %s to %s sent", r->id, r->channel, r->kind,
			    log_mask(r->recipient, logbuf, sizeof(logbuf)));
		} else if (res == NOTIFY_TEMPFAIL && r->attempts < cfg->outbox_max_attempts) {
			time_t next = store_now() + outbox_backoff(r->attempts);

			if (finish(st, r->id, "pending", next, reason) < 0)
				goto fail_reason;
			run->retried++;
			if (is_sms) {
				run->sms_unreachable = 1;
				sms_fail++;
			} else {
				run->smtp_unreachable = 1;
				smtp_fail++;
			}
			log_warnx("outbox %lld: %s %s to %s: temporary failure (attempt %d): %s",
			    r->id, r->channel, r->kind, log_mask(r->recipient, logbuf, sizeof(logbuf)),
			    r->attempts, reason);
		} else {
			char *why = res == NOTIFY_TEMPFAIL ?
			    xasprintf("gave up after %d attempts: %s", r->attempts, reason) :
			    xstrdup(reason);

			if (finish(st, r->id, "failed", 0, why) < 0) {
				free(why);
				goto fail_reason;
			}
			run->failed++;
			log_warnx("outbox %lld: %s %s to %s failed: %s", r->id, r->channel, r->kind,
			    log_mask(r->recipient, logbuf, sizeof(logbuf)), why);
			free(why);
			if (stopped)
				optout(st, r->recipient);
		}
		free(reason);
		continue;
fail_reason:
		free(reason);
		goto fail;
	}
	if (n > 0 && left > 0 && !s48_stop_requested) {
		for (i = 0; i < n; i++)
			row_free(&rows[i]);
		free(rows);
		rows = NULL;
		n = 0;
		goto next_chunk;
	}
	if ((smtp_fail >= TRANSPORT_GIVE_UP && defer_channel(st, "email") < 0) ||
	    (sms_fail >= TRANSPORT_GIVE_UP && defer_channel(st, "sms") < 0))
		goto fail;
	rc = 0;
	goto done;
fail:
	*error_r = store_errmsg(st);
done:
	(void)store_exec(st, "PRAGMA synchronous = FULL", NULL);
	for (i = 0; i < n; i++)
		row_free(&rows[i]);
	free(rows);
	notifier_smtp_close();
	return rc;
}
