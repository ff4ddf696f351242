/*
 * tickets.c - ticket actions inside the caller's transaction: create,
 * append, status, assign, note; each writes its events, the citizen's reply
 * and the department's notification as outbox rows.  Also the look-ups.
 */
#include "tickets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "config.h"
#include "mime.h"
#include "outbox_queue.h"
#include "router.h"
#include "sla.h"
#include "store.h"
#include "templates.h"
#include "util.h"

#define TK_BODY_MAX (64u * 1024 * 1024)

static const char *const tk_statuses[] = { "open", "in_progress", "resolved", "rejected" };

int
tickets_status_valid(const char *s)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; i < sizeof(tk_statuses) / sizeof(tk_statuses[0]); i++)
		if (strcmp(s, tk_statuses[i]) == 0)
			return 1;
	return 0;
}

int
tickets_transition_allowed(const char *from, const char *to)
{
	if (!tickets_status_valid(from) || !tickets_status_valid(to) || strcmp(from, to) == 0)
		return 0;
	if (strcmp(from, "open") == 0)
		return 1;                       /* -> in_progress | resolved | rejected */
	if (strcmp(from, "in_progress") == 0)
		return 1;                       /* -> resolved | rejected | open */
	return strcmp(to, "open") == 0;         /* resolved | rejected -> open */
}

int
tickets_is_overdue(const struct ticket *t, time_t now)
{
	return (strcmp(t->status, "open") == 0 || strcmp(t->status, "in_progress") == 0) &&
	    now > t->due_at;
}

/* Length in bytes of the UTF-8 sequence starting with c (1 for invalid). */
static size_t
tk_u8len(unsigned char c)
{
	if (c >= 0xf0 && c < 0xf8)
		return 4;
	if (c >= 0xe0)
		return c < 0xf0 ? 3 : 1;
	if (c >= 0xc0)
		return 2;
	return 1;
}

char *
tickets_sms_subject(const char *text)
{
	const char *p, *end, *cut, *last_space = NULL;
	size_t chars = 0;

	if (text == NULL)
		return xstrdup("");
	while (*text == ' ' || *text == '\t' || *text == '\r' || *text == '\n')
		text++;
	end = text + strcspn(text, "\r\n");
	for (p = text; p < end && chars < 60; chars++) {
		size_t l = tk_u8len((unsigned char)*p);

		if (*p == ' ' || *p == '\t')
			last_space = p;
		while (l-- > 0 && p < end && *p)
			p++;
	}
	if (p >= end)
		cut = end;                      /* the whole line fits */
	else if (*p == ' ' || *p == '\t')
		cut = p;                        /* a word ends exactly at 60 */
	else if (last_space != NULL)
		cut = last_space;
	else
		cut = p;                        /* one long word: cut inside it */
	while (cut > text && (cut[-1] == ' ' || cut[-1] == '\t'))
		cut--;
	return xstrndup(text, (size_t)(cut - text));
}

/* ---- rows ---------------------------------------------------------------- */

static int
tk_db_fail(const struct tickets_ctx *c, const char **error_r)
{
	if (error_r)
		*error_r = store_errmsg(c->st);
	return -1;
}

static void
tk_bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

static int
tk_step_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
tk_event(const struct tickets_ctx *c, long id, time_t at, const char *kind, const char *from,
    const char *to, const char *by, const char *note, int is_public)
{
	/* every parameter bound below: the last use's values are not cleared */
	sqlite3_stmt *s = store_prepare_all(c->st,
	    "INSERT INTO events(ticket_id, at, kind, from_value, to_value, by, note, public) "
	    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)at);
	sqlite3_bind_text(s, 3, kind, -1, SQLITE_STATIC);
	tk_bind_text(s, 4, from);
	tk_bind_text(s, 5, to);
	tk_bind_text(s, 6, by);
	tk_bind_text(s, 7, note);
	sqlite3_bind_int(s, 8, is_public != 0);
	return tk_step_done(s);
}

static int
tk_message(const struct tickets_ctx *c, long id, const char *dir, const char *channel,
    time_t at, const char *text, int64_t raw_id, const char *message_id, const char *norm_hash)
{
	/* every parameter bound below: the last use's values are not cleared */
	sqlite3_stmt *s = store_prepare_all(c->st,
	    "INSERT INTO messages(ticket_id, direction, channel, at, text, raw_id, message_id, "
	    "norm_hash) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, dir, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, channel, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)at);
	sqlite3_bind_text(s, 5, text ? text : "", -1, SQLITE_STATIC);
	if (raw_id > 0)
		sqlite3_bind_int64(s, 6, raw_id);
	else
		sqlite3_bind_null(s, 6);
	tk_bind_text(s, 7, message_id && message_id[0] ? message_id : NULL);
	tk_bind_text(s, 8, norm_hash);
	return tk_step_done(s);
}

static int
tk_attachments(const struct tickets_ctx *c, long id, int64_t raw_id,
    const struct mime_attachment *att, size_t n)
{
	sqlite3_stmt *s;
	long idx = 0;
	size_t i;

	if (n == 0)
		return 0;
	s = store_prepare(c->st,
	    "SELECT coalesce(max(idx) + 1, 0) FROM attachments WHERE ticket_id = ?1");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	if (sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_reset(s);
		return -1;
	}
	idx = (long)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	s = store_prepare(c->st,
	    "INSERT INTO attachments(ticket_id, raw_id, idx, filename, content_type, size, "
	    "sha256, content, omitted) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
	if (s == NULL)
		return -1;
	for (i = 0; i < n; i++, idx++) {
		const struct mime_attachment *a = &att[i];
		int omitted = a->omitted || a->data == NULL;

		sqlite3_bind_int64(s, 1, id);
		if (raw_id > 0)
			sqlite3_bind_int64(s, 2, raw_id);
		else
			sqlite3_bind_null(s, 2);
		sqlite3_bind_int64(s, 3, idx);
		sqlite3_bind_text(s, 4, a->filename && a->filename[0] ? a->filename : "attachment",
		    -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 5, a->content_type && a->content_type[0] ? a->content_type :
		    "application/octet-stream", -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 6, (sqlite3_int64)a->size);
		if (omitted) {
			sqlite3_bind_text(s, 7, "", -1, SQLITE_STATIC);
		} else if (a->sha256[0] == '\0') {
			char hex[65];

			util_sha256_hex(a->data, a->size, hex);
			sqlite3_bind_text(s, 7, hex, -1, SQLITE_TRANSIENT);
		} else {
			sqlite3_bind_text(s, 7, a->sha256, -1, SQLITE_STATIC);
		}
		if (omitted)
			sqlite3_bind_null(s, 8);
		else
			sqlite3_bind_blob64(s, 8, a->data, (sqlite3_uint64)a->size, SQLITE_STATIC);
		sqlite3_bind_int(s, 9, omitted);
		if (tk_step_done(s) < 0)
			return -1;
	}
	return 0;
}

/* ---- replies and notifications ------------------------------------------ */

/*
 * What replies and notifications need of a ticket: borrowed strings (of a
 * struct ticket, or of tickets_create's input: no copies) and its local
 * times, formatted once.
 */
struct tk_view {
	long id;
	const char *status, *channel, *reporter, *department, *subject, *text, *message_id;
	time_t created_at, due_at;
	int is_sms;
	char created[32], due[32];
};

static void
tk_view_times(struct tk_view *v)
{
	sla_format_local(v->created_at, v->created, sizeof(v->created));
	sla_format_local(v->due_at, v->due, sizeof(v->due));
}

static void
tk_view_of(const struct ticket *t, struct tk_view *v)
{
	memset(v, 0, sizeof(*v));
	v->id = t->id;
	v->status = t->status;
	v->channel = t->channel;
	v->reporter = t->reporter;
	v->department = t->department;
	v->subject = t->subject;
	v->text = t->text;
	v->message_id = t->message_id;
	v->created_at = t->created_at;
	v->due_at = t->due_at;
	v->is_sms = strcmp(t->channel, "sms") == 0;
	tk_view_times(v);
}

static const char *
tk_dept_name(const struct s48_config *cfg, const char *id)
{
	const struct cfg_department *d = config_dept(cfg, id, NULL);

	return d ? d->name : id;
}

static int
tk_sms_segments(const struct s48_config *cfg)
{
	return cfg->sms.max_segments > 0 ? cfg->sms.max_segments : 2;
}

/*
 * The new ticket's number: NULL (SQLite's next rowid) unless source_state
 * "tickets.floor" is above every number in the table.  s48d sets the floor
 * when it starts on a restored backup that knows fewer tickets than were
 * given (daemon_loop.c): the numbers given since the backup are never given
 * again to other reports (a department's old mail for one carries a valid
 * token).  One primary-key look-up per ticket.
 */
#define TICKETS_NEXT_ID "(SELECT f FROM (SELECT CAST(value AS INTEGER) AS f FROM source_state " \
	"WHERE key = 'tickets.floor') WHERE f > coalesce((SELECT max(id) FROM tickets), 0))"

/* Template variables of t (strings borrowed from t and the config). */
static void
tk_vars(const struct tickets_ctx *c, const struct tk_view *t, const char *dept, const char *note,
    struct tmpl_vars *v)
{
	memset(v, 0, sizeof(*v));
	v->id = t->id;
	v->status = config_status_label(c->cfg, t->status);
	v->department = tk_dept_name(c->cfg, dept ? dept : t->department);
	v->note = note;
	v->created = t->created;
	v->due = t->due;
	/* a report of a photo alone: the citizen's quoted text would be a
	 * lone "> " */
	v->text = t->text != NULL && t->text[strspn(t->text, " \t\r\n")] != '\0' ? t->text :
	    "(poruka bez teksta)";
}

/* The decimal n in tmp (no printf: this runs for every new ticket). */
static const char *
tk_ltoa(long n, char tmp[24])
{
	size_t i = 23;
	unsigned long u = n < 0 ? 0UL - (unsigned long)n : (unsigned long)n;

	tmp[i] = '\0';
	do {
		tmp[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (n < 0)
		tmp[--i] = '-';
	return tmp + i;
}

/* The dept mail's footer, after the attachment list. */
#define TK_DEPT_FOOTER_LEN 220

/*
 * Append the n strings of parts to b with one allocation (room is made for
 * the attachment list and the footer that follow too).
 */
static void
tk_join(struct buf *b, const char *const *parts, size_t n)
{
	size_t len[32], total = TK_DEPT_FOOTER_LEN + 256, i;
	char *p;

	for (i = 0; i < n && i < 32; i++) {
		len[i] = strlen(parts[i]);
		total += len[i];
	}
	total += b->len;
	if (b->cap < total + 1) {
		b->data = xrealloc(b->data, total + 1);
		b->cap = total + 1;
	}
	p = b->data + b->len;
	for (i = 0; i < n && i < 32; i++) {
		memcpy(p, parts[i], len[i]);
		p += len[i];
	}
	*p = '\0';
	b->len = (size_t)(p - b->data);
}

/* "Re: [TAG #N] subject" (or without the subject when it is empty).  Caller frees. */
static char *
tk_reply_subject(const struct s48_config *cfg, const struct tk_view *t)
{
	struct buf b;
	char num[24];

	buf_init(&b, TK_BODY_MAX);
	buf_appends(&b, "Re: [");
	buf_appends(&b, cfg->ticket_tag);
	buf_appends(&b, " #");
	buf_appends(&b, tk_ltoa(t->id, num));
	buf_appendc(&b, ']');
	if (t->subject && t->subject[0]) {
		buf_appendc(&b, ' ');
		buf_appends(&b, t->subject);
	}
	return buf_steal(&b, NULL);
}

/*
 * Reply to the citizen on the ticket's channel: "<channel>_<what>" kind,
 * rendered from sms_tmpl / email_tmpl, also recorded as an outbound message
 * (an email's with its Message-ID, the one replies name; an SMS has none
 * anyone could name).  A reporter without an address (email without '@')
 * gets nothing.  now: the rows' time.
 */
static int
tk_reply(const struct tickets_ctx *c, const struct tk_view *t, const char *what,
    const char *sms_tmpl, const char *email_tmpl, const struct tmpl_vars *v, int is_auto,
    time_t now, const char **error_r)
{
	const struct s48_config *cfg = c->cfg;
	struct outbox_msg m;
	char kind[40], msgid[128];
	char *body = NULL, *subject = NULL;
	size_t cl = strlen(t->channel), wl = strlen(what);
	int rc = -1;

	if (!t->is_sms && strchr(t->reporter, '@') == NULL)
		return 0;
	if (t->reporter[0] == '\0')
		return 0;
	if (cl + 1 + wl >= sizeof(kind)) {
		if (error_r)
			*error_r = "reply kind too long";
		return -1;
	}
	memcpy(kind, t->channel, cl);
	kind[cl] = '_';
	memcpy(kind + cl + 1, what, wl + 1);
	outbox_new_message_id_at(cfg, now, msgid, sizeof(msgid));
	memset(&m, 0, sizeof(m));
	m.ticket_id = t->id;
	m.channel = t->channel;
	m.recipient = t->reporter;
	m.kind = kind;
	m.is_auto = is_auto;
	m.message_id = msgid;
	m.now = now;
	if (t->is_sms) {
		body = tmpl_render_sms(sms_tmpl, v, cfg->sms.ascii, tk_sms_segments(cfg));
	} else {
		body = tmpl_render(email_tmpl, v);
		subject = tk_reply_subject(cfg, t);
		m.subject = subject;
		m.in_reply_to = t->message_id;
		m.references = t->message_id;
	}
	m.body = body;
	if (outbox_queue(c->st, cfg, &m, NULL, NULL, error_r) < 0)
		goto out;
	if (tk_message(c, t->id, "out", t->channel, now, body, 0, t->is_sms ? NULL : msgid,
	    NULL) < 0) {
		tk_db_fail(c, error_r);
		goto out;
	}
	rc = 0;
out:
	free(body);
	free(subject);
	return rc;
}

/* Append the ticket's attachment list to b ("" when none). */
static int
tk_list_attachments(const struct tickets_ctx *c, long id, struct buf *b)
{
	sqlite3_stmt *s = store_prepare(c->st,
	    "SELECT idx, filename, content_type, size, omitted FROM attachments "
	    "WHERE ticket_id = ?1 ORDER BY idx");
	int rc, first = 1;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (first)
			buf_appends(b, "\nPrilozi:\n");
		first = 0;
		buf_appendf(b, "  %d. %s (%s, %lld B)%s\n", sqlite3_column_int(s, 0),
		    (const char *)sqlite3_column_text(s, 1),
		    (const char *)sqlite3_column_text(s, 2),
		    (long long)sqlite3_column_int64(s, 3),
		    sqlite3_column_int(s, 4) ? " - izostavljen (prevelik)" : "");
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* flags of tk_notify_dept */
#define TK_N_ATTACH   0x01      /* the mails carry the ticket's attachments */
#define TK_N_NO_ATT   0x02      /* the caller knows the ticket has none: no list */
#define TK_N_SMS      0x04      /* also a short SMS to the department's `sms` numbers */

/*
 * Tell department dept about ticket t: one email per address (tag_token,
 * subject without tag: the sender prepends "[TAG #N/TOKEN] ") and, with
 * TK_N_SMS, a short SMS per `sms` number.  heading: first body line; text:
 * the text to show (the report, or the appended message); note: an extra
 * paragraph or NULL.  now: the rows' time.
 */
static int
tk_notify_dept(const struct tickets_ctx *c, const struct tk_view *t, const char *dept,
    const char *kind, const char *heading, const char *text, const char *note, int flags,
    time_t now, const char **error_r)
{
	const struct s48_config *cfg = c->cfg;
	const struct cfg_department *d = config_dept(cfg, dept, NULL);
	struct outbox_msg m;
	struct buf b;
	size_t i;
	int rc = -1;

	if (d == NULL)
		return 0;
	buf_init(&b, TK_BODY_MAX);
	if (d->email.n > 0) {
		char num[24];
		const char *parts[32];
		size_t n = 0;

		/* one allocation for the whole body: a printf per line was a
		 * tenth of a ticket's cost */
		parts[n++] = heading;
		parts[n++] = "\n\nPrijava br.: ";
		parts[n++] = tk_ltoa(t->id, num);
		parts[n++] = "\nSluzba: ";
		parts[n++] = d->name;
		parts[n++] = " (";
		parts[n++] = d->id;
		parts[n++] = ")\nStanje: ";
		parts[n++] = config_status_label(cfg, t->status);
		parts[n++] = "\nPrijavio: ";
		parts[n++] = t->reporter;
		parts[n++] = t->is_sms ? " (SMS)\nPrimljena: " : " (e-posta)\nPrimljena: ";
		parts[n++] = t->created;
		parts[n++] = "\nRok: ";
		parts[n++] = t->due;
		parts[n++] = "\n";
		if (t->subject && t->subject[0]) {
			parts[n++] = "Predmet: ";
			parts[n++] = t->subject;
			parts[n++] = "\n";
		}
		if (note && note[0]) {
			parts[n++] = "Napomena: ";
			parts[n++] = note;
			parts[n++] = "\n";
		}
		parts[n++] = "\n";
		parts[n++] = text && strlen(text) < TK_BODY_MAX / 2 ? text :
		    text ? "(tekst je predugacak za ovu poruku)" : "";
		parts[n++] = "\n";
		tk_join(&b, parts, n);
		if (!(flags & TK_N_NO_ATT) && tk_list_attachments(c, t->id, &b) < 0) {
			tk_db_fail(c, error_r);
			goto out;
		}
		buf_appends(&b, "\n-- \nOdgovorite na ovu poruku; prvi red moze biti komanda:\n"
		    "#in_progress [napomena], #resolved [napomena], #rejected razlog, "
		    "#open [napomena], #assign SLUZBA, #note tekst (interna beleska).\n"
		    "Ostali tekst postaje interna beleska.\n");
		for (i = 0; i < d->email.n; i++) {
			memset(&m, 0, sizeof(m));
			m.ticket_id = t->id;
			m.channel = "email";
			m.recipient = d->email.v[i];
			m.kind = kind;
			m.subject = t->subject && t->subject[0] ? t->subject : heading;
			m.body = b.data;
			m.tag_token = 1;
			m.with_attachments = (flags & TK_N_ATTACH) != 0;
			m.now = now;
			if (outbox_queue(c->st, cfg, &m, NULL, NULL, error_r) < 0)
				goto out;
		}
	}
	if ((flags & TK_N_SMS) && d->sms.n > 0) {
		struct tmpl_vars v;
		char *body;

		tk_vars(c, t, dept, NULL, &v);
		/* the due time before the text: the text may be shortened, and
		 * "...voda Rok: ..." ran a sentence into the next */
		body = tmpl_render_sms("S48 prijava br. {id} ({department}), rok {due}: {text}", &v,
		    cfg->sms.ascii, tk_sms_segments(cfg));
		for (i = 0; i < d->sms.n; i++) {
			memset(&m, 0, sizeof(m));
			m.ticket_id = t->id;
			m.channel = "sms";
			m.recipient = d->sms.v[i];
			m.kind = kind;
			m.body = body;
			m.now = now;
			if (outbox_queue(c->st, cfg, &m, NULL, NULL, error_r) < 0) {
				free(body);
				goto out;
			}
		}
		free(body);
	}
	rc = 0;
out:
	buf_free(&b);
	return rc;
}

/* ---- look-ups ------------------------------------------------------------ */

int
tickets_get(struct store *st, long id, struct ticket **t_r, const char **error_r)
{
	sqlite3_stmt *s = store_prepare(st,
	    "SELECT id, status, channel, reporter, department, subject, text, message_id, "
	    "created_at, due_at, coalesce(warn_at, 0), updated_at, coalesce(resolved_at, 0), "
	    "coalesce(warned_at, 0), coalesce(escalated_at, 0), backlog "
	    "FROM tickets WHERE id = ?1");
	struct ticket *t;
	int rc;

	*t_r = NULL;
	if (s == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(s);
		if (error_r)
			*error_r = "no such ticket";
		return TICKETS_ENOENT;
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		goto fail;
	}
	t = xcalloc(1, sizeof(*t));
	t->id = (long)sqlite3_column_int64(s, 0);
	t->status = store_col_dup(s, 1);
	t->channel = store_col_dup(s, 2);
	t->reporter = store_col_dup(s, 3);
	t->department = store_col_dup(s, 4);
	t->subject = store_col_dup(s, 5);
	t->text = store_col_dup(s, 6);
	t->message_id = store_col_dup(s, 7);
	t->created_at = (time_t)sqlite3_column_int64(s, 8);
	t->due_at = (time_t)sqlite3_column_int64(s, 9);
	t->warn_at = (time_t)sqlite3_column_int64(s, 10);
	t->updated_at = (time_t)sqlite3_column_int64(s, 11);
	t->resolved_at = (time_t)sqlite3_column_int64(s, 12);
	t->warned_at = (time_t)sqlite3_column_int64(s, 13);
	t->escalated_at = (time_t)sqlite3_column_int64(s, 14);
	t->backlog = sqlite3_column_int(s, 15);
	sqlite3_reset(s);
	if (t->subject == NULL)
		t->subject = xstrdup("");
	if (t->text == NULL)
		t->text = xstrdup("");
	*t_r = t;
	return 0;
fail:
	if (error_r)
		*error_r = store_errmsg(st);
	return -1;
}

void
tickets_free(struct ticket **tp)
{
	struct ticket *t = *tp;

	if (t == NULL)
		return;
	free(t->status);
	free(t->channel);
	free(t->reporter);
	free(t->department);
	free(t->subject);
	free(t->text);
	free(t->message_id);
	free(t);
	*tp = NULL;
}

/* Run s (parameters bound) expecting one integer: 0 / ENOENT / -1. */
/* A look-up found no row (rc SQLITE_DONE: TICKETS_ENOENT) or failed (-1);
 * s is reset. */
static int
tk_no_row(struct store *st, sqlite3_stmt *s, int rc, const char **error_r)
{
	sqlite3_reset(s);
	if (rc == SQLITE_DONE) {
		if (error_r)
			*error_r = "no such ticket";
		return TICKETS_ENOENT;
	}
	if (error_r)
		*error_r = store_errmsg(st);
	return -1;
}

static int
tk_one_id(struct store *st, sqlite3_stmt *s, long *id_r, const char **error_r)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW) {
		*id_r = (long)sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		return 0;
	}
	return tk_no_row(st, s, rc, error_r);
}

int
tickets_latest_by_reporter(struct store *st, const char *reporter, long *id_r,
    const char **error_r)
{
	sqlite3_stmt *s = store_prepare(st,
	    "SELECT id FROM tickets WHERE reporter = ?1 AND channel = 'sms' "
	    "ORDER BY created_at DESC, id DESC LIMIT 1");

	if (s == NULL) {
		if (error_r)
			*error_r = store_errmsg(st);
		return -1;
	}
	sqlite3_bind_text(s, 1, reporter, -1, SQLITE_STATIC);
	return tk_one_id(st, s, id_r, error_r);
}

int
tickets_find_by_message_id(struct store *st, const char *msgid, long *id_r,
    const char **error_r)
{
	sqlite3_stmt *s;

	if (msgid == NULL || msgid[0] == '\0') {
		if (error_r)
			*error_r = "no such ticket";
		return TICKETS_ENOENT;
	}
	s = store_prepare(st,
	    "SELECT ticket_id FROM messages WHERE message_id = ?1 AND direction = 'in' "
	    "UNION ALL SELECT ticket_id FROM outbox WHERE message_id = ?1 AND channel = 'email' "
	    "AND ticket_id IS NOT NULL LIMIT 1");
	if (s == NULL) {
		if (error_r)
			*error_r = store_errmsg(st);
		return -1;
	}
	sqlite3_bind_text(s, 1, msgid, -1, SQLITE_STATIC);
	return tk_one_id(st, s, id_r, error_r);
}

int
tickets_reporter_of(struct store *st, long id, char **reporter_r, char **channel_r,
    const char **error_r)
{
	sqlite3_stmt *s = store_prepare(st, "SELECT reporter, channel FROM tickets WHERE id = ?1");
	int rc;

	*reporter_r = NULL;
	if (channel_r)
		*channel_r = NULL;
	if (s == NULL) {
		if (error_r)
			*error_r = store_errmsg(st);
		return -1;
	}
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*reporter_r = store_col_dup(s, 0);
		if (channel_r)
			*channel_r = store_col_dup(s, 1);
		sqlite3_reset(s);
		return 0;
	}
	return tk_no_row(st, s, rc, error_r);
}

/* ---- actions ------------------------------------------------------------- */

int
tickets_create(const struct tickets_ctx *c, const struct tickets_input *in, long *id_r,
    const char **error_r)
{
	const struct s48_config *cfg = c->cfg;
	const struct cfg_department *d = NULL;
	struct tk_view t;
	struct tmpl_vars v;
	sqlite3_stmt *s;
	char mask[64];
	char *subject = NULL;
	time_t warn, now;
	int is_sms, backlog = (in->flags & TICKETS_F_BACKLOG) != 0, rc = -1;

	*id_r = 0;
	if (in->channel && strcmp(in->channel, "sms") == 0)
		is_sms = 1;
	else if (in->channel && strcmp(in->channel, "email") == 0)
		is_sms = 0;
	else {
		if (error_r)
			*error_r = "channel must be sms or email";
		return TICKETS_EREFUSED;
	}
	if (in->department) {
		d = config_dept(cfg, in->department, NULL);
		if (d == NULL) {
			if (error_r)
				*error_r = "unknown department";
			return TICKETS_EREFUSED;
		}
	} else if (c->rt) {
		struct router_result res;

		router_route(c->rt, is_sms ? NULL : in->subject, in->text, &res);
		d = &cfg->depts[res.dept];
		router_result_free(&res);
	} else {
		d = &cfg->depts[cfg->default_dept];
	}

	/* the input's strings as they are: nothing of them is copied */
	memset(&t, 0, sizeof(t));
	if (is_sms && in->subject == NULL)
		t.subject = subject = tickets_sms_subject(in->text);
	else
		t.subject = in->subject ? in->subject : "";
	t.is_sms = is_sms;
	t.status = "open";
	t.channel = is_sms ? "sms" : "email";
	t.reporter = in->reporter ? in->reporter : "";
	t.department = d->id;
	t.text = in->text ? in->text : "";
	t.message_id = in->message_id && in->message_id[0] ? in->message_id : NULL;
	now = in->now ? in->now : store_now();
	/* the source's time (INTERNALDATE, the gateway's receivedAt), never
	 * ahead of ours: a gateway that gives local time without a zone, or a
	 * clock that runs fast, would date the ticket and its due time hours
	 * ahead */
	t.created_at = in->at && in->at < now ? in->at : now;
	t.due_at = sla_due(&cfg->sla, t.created_at);
	warn = backlog ? 0 : sla_warn_at(&cfg->sla, t.created_at, t.due_at);

	/* every parameter bound below: the last use's values are not cleared */
	s = store_prepare_all(c->st,
	    "INSERT INTO tickets(id, status, channel, reporter, department, subject, text, "
	    "created_at, due_at, warn_at, updated_at, backlog, message_id) "
	    "VALUES(" TICKETS_NEXT_ID ", 'open', ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?6, ?9, ?10)");
	if (s == NULL)
		goto fail_db;
	sqlite3_bind_text(s, 1, t.channel, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, t.reporter, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, t.department, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, t.subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, t.text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)t.created_at);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)t.due_at);
	if (warn > 0)
		sqlite3_bind_int64(s, 8, (sqlite3_int64)warn);
	else
		sqlite3_bind_null(s, 8);
	sqlite3_bind_int(s, 9, backlog);
	tk_bind_text(s, 10, t.message_id);
	if (tk_step_done(s) < 0)
		goto fail_db;
	t.id = (long)store_last_id(c->st);

	if (tk_message(c, t.id, "in", t.channel, t.created_at, t.text, in->raw_id, t.message_id,
	    in->norm_hash) < 0 ||
	    tk_attachments(c, t.id, in->raw_id, in->att, in->n_att) < 0 ||
	    tk_event(c, t.id, t.created_at, "created", NULL, t.department,
	    in->by ? in->by : t.reporter, NULL, 0) < 0)
		goto fail_db;

	tk_view_times(&t);
	if (!backlog && !(in->flags & TICKETS_F_NO_ACK)) {
		tk_vars(c, &t, NULL, NULL, &v);
		if (tk_reply(c, &t, "ack", cfg->templates.sms_ack, cfg->templates.email_ack, &v,
		    (in->flags & TICKETS_F_AUTO) != 0, now, error_r) < 0)
			goto out;
	}
	/* also for the first run's old mail (backlog): the department's mail
	 * carries the token its staff answer with, though the citizen is not
	 * acknowledged so late */
	if (tk_notify_dept(c, &t, t.department, "dept_new", "Nova prijava", t.text, NULL,
	    TK_N_ATTACH | TK_N_SMS | (in->n_att == 0 ? TK_N_NO_ATT : 0), now, error_r) < 0)
		goto out;

	if (log_get_level() >= LOG_LEVEL_INFO)
		log_info("ticket %ld: new %s report from %s -> %s, due %s%s", t.id, t.channel,
		    log_mask(t.reporter, mask, sizeof(mask)), t.department, t.due,
		    backlog ? " (backlog, not acknowledged)" : "");
	*id_r = t.id;
	rc = 0;
	goto out;
fail_db:
	tk_db_fail(c, error_r);
out:
	free(subject);
	return rc;
}

int
tickets_append(const struct tickets_ctx *c, long id, const struct tickets_input *in,
    const char **error_r)
{
	struct ticket *t = NULL;
	struct tk_view tv;
	sqlite3_stmt *s;
	time_t now = in->now ? in->now : store_now();
	time_t at = in->at && in->at < now ? in->at : now;   /* as in tickets_create */
	int rc;

	rc = tickets_get(c->st, id, &t, error_r);
	if (rc != 0)
		return rc;
	rc = -1;
	if (tk_message(c, id, "in", in->channel ? in->channel : t->channel, at, in->text,
	    in->raw_id, in->message_id, in->norm_hash) < 0 ||
	    tk_attachments(c, id, in->raw_id, in->att, in->n_att) < 0 ||
	    tk_event(c, id, at, "message", NULL, NULL, in->by ? in->by : t->reporter, NULL, 0) < 0)
		goto fail_db;
	s = store_prepare(c->st, "UPDATE tickets SET updated_at = max(updated_at, ?2) WHERE id = ?1");
	if (s == NULL)
		goto fail_db;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)at);
	if (tk_step_done(s) < 0)
		goto fail_db;
	if (!(in->flags & TICKETS_F_QUIET)) {
		tk_view_of(t, &tv);
		if (tk_notify_dept(c, &tv, t->department, "dept_append", "Nova poruka uz prijavu",
		    in->text, NULL, in->n_att > 0 ? TK_N_ATTACH : 0, now, error_r) < 0)
			goto out;
	}
	rc = 0;
	goto out;
fail_db:
	tk_db_fail(c, error_r);
out:
	tickets_free(&t);
	return rc;
}

/* "ticket N: [what ]FROM -> TO by BY" at info; BY (a clerk's name, a staff
 * member's address or number) with addresses and numbers masked, as the
 * staff command that caused it is logged */
static void
tk_log_by(long id, const char *from, const char *to, const char *what, const char *by)
{
	char *m;

	if (log_get_level() < LOG_LEVEL_INFO)
		return;
	m = log_mask_text(by ? by : "?");
	log_info("ticket %ld: %s%s -> %s by %s", id, what, from, to, m);
	free(m);
}

int
tickets_set_status(const struct tickets_ctx *c, long id, const char *status,
    const char *note, const char *by, const char **error_r)
{
	static _Thread_local char err[96];
	struct ticket *t = NULL;
	struct tk_view tv;
	struct tmpl_vars v;
	sqlite3_stmt *s;
	char *old = NULL;
	time_t now = store_now();
	int rc, closing;

	if (!tickets_status_valid(status)) {
		snprintf(err, sizeof(err), "unknown status %.40s", status ? status : "");
		if (error_r)
			*error_r = err;
		return TICKETS_EREFUSED;
	}
	if (note && note[0] == '\0')
		note = NULL;
	rc = tickets_get(c->st, id, &t, error_r);
	if (rc != 0)
		return rc;
	if (!tickets_transition_allowed(t->status, status)) {
		snprintf(err, sizeof(err), "%s -> %s is not allowed", t->status, status);
		if (error_r)
			*error_r = err;
		rc = TICKETS_EREFUSED;
		goto out;
	}
	rc = -1;
	closing = strcmp(status, "resolved") == 0 || strcmp(status, "rejected") == 0;
	/* a notice given after now (the clock stepped back since) counts as
	 * given now: sla_watch.c looks at the events of a ticket changed at or
	 * after its last notice only (updated_at >= warned_at), and this change
	 * comes after that notice whatever the clock says */
	s = store_prepare(c->st,
	    "UPDATE tickets SET status = ?2, updated_at = ?3, resolved_at = ?4, "
	    "warned_at = min(warned_at, ?3), escalated_at = min(escalated_at, ?3) WHERE id = ?1");
	if (s == NULL)
		goto fail_db;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)now);
	if (closing)
		sqlite3_bind_int64(s, 4, (sqlite3_int64)now);
	if (tk_step_done(s) < 0)
		goto fail_db;
	if (tk_event(c, id, now, "status", t->status, status, by, note, note != NULL) < 0)
		goto fail_db;
	old = t->status;
	t->status = xstrdup(status);
	tk_view_of(t, &tv);
	tk_vars(c, &tv, NULL, note, &v);
	if (tk_reply(c, &tv, "status", c->cfg->templates.sms_status,
	    c->cfg->templates.email_status, &v, 0, now, error_r) < 0)
		goto out;
	tk_log_by(id, old, status, "", by);
	rc = 0;
	goto out;
fail_db:
	tk_db_fail(c, error_r);
out:
	free(old);
	tickets_free(&t);
	return rc;
}

int
tickets_assign(const struct tickets_ctx *c, long id, const char *dept, const char *note,
    const char *by, const char **error_r)
{
	static _Thread_local char err[128];
	const struct cfg_department *d = dept ? config_dept(c->cfg, dept, NULL) : NULL;
	struct ticket *t = NULL;
	struct tk_view tv;
	struct tmpl_vars v;
	sqlite3_stmt *s;
	char *msg = NULL, *old = NULL;
	time_t now = store_now();
	int rc;

	if (d == NULL) {
		snprintf(err, sizeof(err), "unknown department %.60s", dept ? dept : "");
		if (error_r)
			*error_r = err;
		return TICKETS_EREFUSED;
	}
	if (note && note[0] == '\0')
		note = NULL;
	rc = tickets_get(c->st, id, &t, error_r);
	if (rc != 0)
		return rc;
	if (strcmp(t->department, d->id) == 0) {
		snprintf(err, sizeof(err), "ticket %ld is already assigned to %.60s", id, d->id);
		if (error_r)
			*error_r = err;
		rc = TICKETS_EREFUSED;
		goto out;
	}
	rc = -1;
	/* notice times after now: as in tickets_set_status */
	s = store_prepare(c->st, "UPDATE tickets SET department = ?2, updated_at = ?3, "
	    "warned_at = min(warned_at, ?3), escalated_at = min(escalated_at, ?3) WHERE id = ?1");
	if (s == NULL)
		goto fail_db;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, d->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)now);
	if (tk_step_done(s) < 0)
		goto fail_db;
	if (tk_event(c, id, now, "assign", t->department, d->id, by, note, 0) < 0)
		goto fail_db;
	old = t->department;
	t->department = xstrdup(d->id);
	msg = xasprintf("Prijava je prosledjena sluzbi: %s.", d->name);
	tk_view_of(t, &tv);
	tk_vars(c, &tv, NULL, msg, &v);
	if (tk_reply(c, &tv, "assign", c->cfg->templates.sms_status,
	    c->cfg->templates.email_status, &v, 0, now, error_r) < 0)
		goto out;
	if (tk_notify_dept(c, &tv, d->id, "dept_assign", "Prijava je dodeljena vasoj sluzbi",
	    t->text, note, TK_N_ATTACH | TK_N_SMS, now, error_r) < 0)
		goto out;
	tk_log_by(id, old, d->id, "assigned ", by);
	rc = 0;
	goto out;
fail_db:
	tk_db_fail(c, error_r);
out:
	free(msg);
	free(old);
	tickets_free(&t);
	return rc;
}

int
tickets_note(const struct tickets_ctx *c, long id, const char *text, int is_public,
    const char *by, const char **error_r)
{
	struct ticket *t = NULL;
	struct tk_view tv;
	struct tmpl_vars v;
	sqlite3_stmt *s;
	time_t now = store_now();
	int rc;

	if (text == NULL || text[strspn(text, " \t\r\n")] == '\0') {
		if (error_r)
			*error_r = "empty note";
		return TICKETS_EREFUSED;
	}
	rc = tickets_get(c->st, id, &t, error_r);
	if (rc != 0)
		return rc;
	rc = -1;
	if (tk_event(c, id, now, "note", NULL, NULL, by, text, is_public) < 0)
		goto fail_db;
	s = store_prepare(c->st, "UPDATE tickets SET updated_at = ?2 WHERE id = ?1");
	if (s == NULL)
		goto fail_db;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)now);
	if (tk_step_done(s) < 0)
		goto fail_db;
	if (is_public) {
		tk_view_of(t, &tv);
		tk_vars(c, &tv, NULL, text, &v);
		if (tk_reply(c, &tv, "note", c->cfg->templates.sms_status,
		    c->cfg->templates.email_status, &v, 0, now, error_r) < 0)
			goto out;
	}
	rc = 0;
	goto out;
fail_db:
	tk_db_fail(c, error_r);
out:
	tickets_free(&t);
	return rc;
}
