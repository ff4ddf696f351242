/* sla_watch.c - warnings before due_at and escalations at due_at. */
#include "sla_watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "outbox_queue.h"
#include "phone.h"
#include "sla.h"
#include "store.h"
#include "templates.h"
#include "util.h"

/* tickets read into memory per pass (and list) of sla_watch_run */
#define COLLECT_MAX 10000

struct due_ticket {
	long id;
	char *department, *subject, *text;
	time_t created_at, due_at;
	time_t reopened_at;             /* the last reopen, 0 if none */
	char *status;
};

/*
 * A notice's subject as an SMS, made the way every SMS of s48 is
 * (tmpl_render_sms): transliterated to GSM-7 with sms.ascii, and kept within
 * sms.max_segments (cut at a word, "..." appended).  Caller frees.
 */
static char *
notice_sms(const struct s48_config *cfg, const char *subject)
{
	struct tmpl_vars v;

	memset(&v, 0, sizeof(v));
	v.note = subject;
	return tmpl_render_sms("{note}", &v, cfg->sms.ascii,
	    cfg->sms.max_segments > 0 ? cfg->sms.max_segments : 2);
}

int
sla_watch_notify_escalation(struct store *st, const struct s48_config *cfg,
    long ticket_id, const char *kind, const char *subject, const char *body,
    const char *avoid_channel, const char **error_r)
{
	struct outbox_msg m;
	char *text = NULL;
	size_t i;
	int n = 0;

	for (i = 0; i < cfg->escalation.n; i++) {
		const char *to = cfg->escalation.v[i];
		char e164[32];
		int is_mail = strchr(to, '@') != NULL;

		memset(&m, 0, sizeof(m));
		m.ticket_id = ticket_id;
		m.kind = kind;
		if (is_mail) {
			m.channel = "email";
			m.recipient = to;
			m.subject = subject;
			m.body = body;
			m.tag_token = ticket_id > 0;
		} else {
			if (phone_normalize(to, cfg->sms.country_code ? cfg->sms.country_code : "381",
			    e164, sizeof(e164)) != PHONE_MOBILE)
				continue;
			if (text == NULL)
				text = notice_sms(cfg, subject);
			m.channel = "sms";
			m.recipient = e164;
			m.body = text;
		}
		if (avoid_channel != NULL && strcmp(avoid_channel, m.channel) == 0)
			continue;
		if (outbox_queue(st, cfg, &m, NULL, NULL, error_r) < 0) {
			n = -1;
			break;
		}
		n++;
	}
	free(text);
	return n;
}

/*
 * The notice to the department: by its email addresses; a department with
 * none (reached by its `sms` numbers only) gets the subject line by SMS
 * (notice_sms), so its warning is not lost.  0 or -1.
 */
static int
notify_dept(struct store *st, const struct s48_config *cfg, const struct due_ticket *t,
    const char *kind, const char *subject, const char *body, const char **error_r)
{
	const struct cfg_department *d = config_dept(cfg, t->department, NULL);
	const struct strlist *to;
	struct outbox_msg m;
	char *text = NULL;
	size_t i;
	int by_sms, r = 0;

	if (d == NULL)
		return 0;
	by_sms = d->email.n == 0;
	to = by_sms ? &d->sms : &d->email;
	if (by_sms)
		text = notice_sms(cfg, subject);
	for (i = 0; i < to->n && r == 0; i++) {
		memset(&m, 0, sizeof(m));
		m.ticket_id = t->id;
		m.kind = kind;
		m.recipient = to->v[i];
		m.channel = by_sms ? "sms" : "email";
		m.subject = by_sms ? NULL : subject;
		m.body = by_sms ? text : body;
		m.tag_token = !by_sms;
		r = outbox_queue(st, cfg, &m, NULL, NULL, error_r);
	}
	free(text);
	return r < 0 ? -1 : 0;
}

static int
mark(struct store *st, long id, const char *column, const char *event, time_t now)
{
	sqlite3_stmt *s;

	s = store_prepare(st, strcmp(column, "warned_at") == 0 ?
	    "UPDATE tickets SET warned_at = ?2 WHERE id = ?1" :
	    "UPDATE tickets SET escalated_at = ?2 WHERE id = ?1");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)now);
	if (sqlite3_step(s) != SQLITE_DONE)
		return -1;
	s = store_prepare(st,
	    "INSERT INTO events(ticket_id, at, kind, by, public) VALUES (?1, ?2, ?3, 's48d', 0)");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)now);
	sqlite3_bind_text(s, 3, event, -1, SQLITE_STATIC);
	return sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
}

static int
collect(struct store *st, const char *sql, time_t now, struct due_ticket **v_r, size_t *n_r)
{
	sqlite3_stmt *s = store_prepare(st, sql);
	struct due_ticket *v = NULL;
	size_t n = 0;
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)now);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < COLLECT_MAX) {
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n].id = (long)sqlite3_column_int64(s, 0);
		v[n].department = store_col_dup(s, 1);
		v[n].subject = store_col_dup(s, 2);
		v[n].text = store_col_dup(s, 3);
		v[n].created_at = (time_t)sqlite3_column_int64(s, 4);
		v[n].due_at = (time_t)sqlite3_column_int64(s, 5);
		v[n].status = store_col_dup(s, 6);
		v[n].reopened_at = (time_t)sqlite3_column_int64(s, 7);
		n++;
	}
	sqlite3_reset(s);
	*v_r = v;
	*n_r = n;
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static void
free_due(struct due_ticket **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free((*v)[i].department);
		free((*v)[i].subject);
		free((*v)[i].text);
		free((*v)[i].status);
	}
	free(*v);
	*v = NULL;
}

/*
 * The warning (escalate = 0) or the escalation of ticket t: to the
 * department, escalations also to the escalation addresses; then the ticket
 * remembers it (warned_at / escalated_at) with an event.  0 or -1.
 */
static int
notice(struct store *st, const struct s48_config *cfg, const struct due_ticket *t,
    int escalate, time_t now, const char **error_r)
{
	const char *kind = escalate ? "escalation" : "warning";
	const struct cfg_department *d = config_dept(cfg, t->department, NULL);
	char due[32], created[32], reopened[64], *subj, *body;
	int r;

	sla_format_local(t->due_at, due, sizeof(due));
	sla_format_local(t->created_at, created, sizeof(created));
	reopened[0] = '\0';
	if (t->reopened_at > 0) {
		char when[32];

		sla_format_local(t->reopened_at, when, sizeof(when));
		snprintf(reopened, sizeof(reopened), "Ponovo otvorena: %s\n", when);
	}
	if (escalate)
		subj = xasprintf("Eskalacija: prijava br. %ld nije resena u roku (%s)", t->id, due);
	else
		subj = xasprintf("Upozorenje: rok za prijavu br. %ld istice %s", t->id, due);
	body = xasprintf("Prijava br. %ld, sluzba %s, %s.\nPrimljena: %s\n%sRok: %s\n"
	    "Stanje: %s\nPredmet: %s\n\n%s\n", t->id, d != NULL ? d->name : t->department,
	    escalate ? "nije resena u roku" : "jos nije resena", created, reopened, due,
	    config_status_label(cfg, t->status), t->subject, t->text);
	r = notify_dept(st, cfg, t, kind, subj, body, error_r);
	/* the escalation addresses always; the warning too when no department
	 * can be told (its id left the config, or it has no email and no sms):
	 * that nobody holds the ticket is what they are there for */
	if (r == 0 && (escalate || d == NULL || (d->email.n == 0 && d->sms.n == 0)) &&
	    sla_watch_notify_escalation(st, cfg, t->id, kind, subj, body, NULL, error_r) < 0)
		r = -1;
	free(subj);
	free(body);
	if (r < 0 || mark(st, t->id, escalate ? "escalated_at" : "warned_at", kind, now) < 0)
		return -1;
	log_info("ticket %ld: %s to %s, due %s", t->id, kind, t->department, due);
	return 0;
}

/*
 * A reopen (resolved or rejected -> open) re-arms both notices: the ticket
 * keeps its due_at (created_at + sla.hours, what the citizen was told), so a
 * ticket reopened before due_at is warned again when warn_at comes (at once
 * if it has passed) and escalated at due_at, and one reopened after due_at
 * is escalated at the next check.  An assignment to another department
 * re-arms the warning only: the department that now holds the ticket is
 * warned (the escalation addresses already know of an escalated one).
 * The order is that of the events (ids), so a reopen in the same second as
 * a notice still counts; updated_at (set by every reopen and assignment,
 * not by a notice) keeps the events out of the check for the many tickets
 * nobody touched since their notice.  A change after a notice passes that
 * check also when the clock stepped back in between: tickets.c brings a
 * notice time later than the change's down to it.
 */
#define REOPEN_EVENT "(e.kind = 'status' AND e.to_value = 'open' AND " \
	"e.from_value IN ('resolved', 'rejected'))"
#define AFTER_LAST(notice) "e.id > (SELECT coalesce(max(n.id), 0) FROM events n " \
	"WHERE n.ticket_id = tickets.id AND n.kind = '" notice "')"

#define SELECT_COLS "SELECT id, department, subject, text, created_at, due_at, status, " \
	"(SELECT max(e.at) FROM events e WHERE e.ticket_id = tickets.id AND " REOPEN_EVENT ") " \
	"FROM tickets "

/* One transaction of at most COLLECT_MAX warnings and COLLECT_MAX
 * escalations; *more_r = 1 when either list was cut there. */
static int
sla_watch_pass(struct store *st, const struct s48_config *cfg, int *more_r,
    const char **error_r)
{
	struct due_ticket *warn = NULL, *esc = NULL;
	size_t n_warn = 0, n_esc = 0, i;
	time_t now = store_now();
	int count = -1;

	/* a failed step (collect, mark) sets no message: store_errmsg below */
	*error_r = NULL;
	if (store_begin(st, error_r) < 0)
		return -1;
	/* sla.warn_hours = 0 (perhaps set by a reload): no warnings, also
	 * none for the tickets that got a warn_at before */
	if ((cfg->sla.warn_hours > 0 && collect(st, SELECT_COLS
	    "WHERE status IN ('open', 'in_progress') AND backlog = 0 AND warn_at IS NOT NULL "
	    "AND warn_at <= ?1 AND due_at > ?1 AND (warned_at IS NULL OR "
	    "(updated_at >= warned_at AND EXISTS (SELECT 1 FROM events e "
	    "WHERE e.ticket_id = tickets.id AND (" REOPEN_EVENT " OR e.kind = 'assign') "
	    "AND " AFTER_LAST("warning") ")))", now, &warn, &n_warn) < 0) ||
	    collect(st, SELECT_COLS
	    "WHERE status IN ('open', 'in_progress') AND backlog = 0 AND due_at <= ?1 "
	    "AND (escalated_at IS NULL OR (updated_at >= escalated_at AND EXISTS ("
	    "SELECT 1 FROM events e WHERE e.ticket_id = tickets.id AND " REOPEN_EVENT " "
	    "AND " AFTER_LAST("escalation") ")))", now, &esc, &n_esc) < 0)
		goto fail;
	for (i = 0; i < n_warn; i++)
		if (notice(st, cfg, &warn[i], 0, now, error_r) < 0)
			goto fail;
	for (i = 0; i < n_esc; i++)
		if (notice(st, cfg, &esc[i], 1, now, error_r) < 0)
			goto fail;
	if (store_commit(st, error_r) < 0)
		goto out;
	count = (int)(n_warn + n_esc);
	*more_r = n_warn == COLLECT_MAX || n_esc == COLLECT_MAX;
	goto out;
fail:
	if (*error_r == NULL)
		*error_r = store_errmsg(st);
	store_rollback(st);
out:
	free_due(&warn, n_warn);
	free_due(&esc, n_esc);
	return count;
}

int
sla_watch_run(struct store *st, const struct s48_config *cfg, const char **error_r)
{
	int total = 0, n, more;

	/* passes until all that is due is queued (a pass's notices are marked,
	 * so the next one finds the rest): a first check over a long outage
	 * or `--once` must not leave tickets for a check that never comes */
	do {
		more = 0;
		n = sla_watch_pass(st, cfg, &more, error_r);
		if (n < 0)
			return -1;
		total += n;
	} while (more && n > 0);
	return total;
}
