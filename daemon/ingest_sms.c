/*
 * ingest_sms.c - what an inbound SMS means (SPEC section 3): records for
 * alphanumeric senders and short codes, staff "#N STATUS [note]" from a
 * department's staff phone, the citizen commands STATUS / STOP / START and
 * the help reply, "#N text" appends, the 10-minute duplicate rule and new
 * tickets.
 */
#include "ingest_p.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "log.h"
#include "normalize.h"
#include "phone.h"
#include "sla.h"
#include "store.h"
#include "templates.h"
#include "tickets.h"
#include "util.h"

/* The same normalised text from the same number within this many seconds is
 * the same report. */
#define SMS_DUP_WINDOW 600

/* max() picks the newest match's row (SQLite's bare-column rule) without the
 * temporary B-tree an ORDER BY would need; no match gives one row of NULLs. */
static const char SQL_DUP[] =
    "SELECT ticket_id, max(at) FROM messages WHERE norm_hash = ?1 AND direction = 'in'"
    " AND at BETWEEN ?2 AND ?3";
static const char SQL_OPTOUT_ADD[] =
    "INSERT OR IGNORE INTO sms_optout (number, at) VALUES (?1, ?2)";
static const char SQL_OPTOUT_DEL[] =
    "DELETE FROM sms_optout WHERE number = ?1";

static int
sql_fail(struct ingest_run *r, const char **error_r)
{
	*error_r = store_errmsg(r->ctx->st);
	return -1;
}

/* Run a one-number statement, return sqlite3_changes() or -1. */
static int
optout_change(struct ingest_run *r, const char *sql, const char *number, time_t at,
    const char **error_r)
{
	sqlite3_stmt *s = store_prepare(r->ctx->st, sql);
	int rc;

	if (s == NULL)
		return sql_fail(r, error_r);
	sqlite3_bind_text(s, 1, number, -1, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(s) >= 2)
		sqlite3_bind_int64(s, 2, at);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE)
		return sql_fail(r, error_r);
	return store_changes(r->ctx->st);
}

/* Ticket of an earlier message with this hash near at: 1 and *id_r, 0, -1. */
static int
find_dup(struct ingest_run *r, const char *hash, time_t at, long *id_r, const char **error_r)
{
	sqlite3_stmt *s = store_prepare(r->ctx->st, SQL_DUP);
	int rc;

	if (s == NULL)
		return sql_fail(r, error_r);
	sqlite3_bind_text(s, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, at - SMS_DUP_WINDOW);
	sqlite3_bind_int64(s, 3, at + SMS_DUP_WINDOW);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
		*id_r = (long)sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		return 1;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sql_fail(r, error_r);
	return 0;
}

/* sha256 over "number \n normalised text": the duplicate key. */
static void
norm_hash(const char *number, const char *text, char out[65])
{
	char *n = norm_text(text, strlen(text));
	size_t nl = strlen(number), tl = strlen(n);
	char *k = xmalloc(nl + 1 + tl + 1);

	memcpy(k, number, nl);
	k[nl] = '\n';
	memcpy(k + nl + 1, n, tl + 1);
	util_sha256_hex(k, nl + 1 + tl, out);
	free(k);
	free(n);
}

static char *
trim_dup(const char *s)
{
	const char *e;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		e--;
	return xstrndup(s, (size_t)(e - s));
}

static int
reply(struct ingest_run *r, long ticket_id, const char *to, const char *kind, int is_auto,
    const char **error_r, const char *fmt, ...) S48_PRINTF(7, 8);

static int
reply(struct ingest_run *r, long ticket_id, const char *to, const char *kind, int is_auto,
    const char **error_r, const char *fmt, ...)
{
	va_list ap;
	char *text, *fixed;
	int rc;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		fatalx("out of memory");
	va_end(ap);
	/* a bounded %.Ns may have cut a UTF-8 sequence */
	fixed = norm_utf8_repair(text, strlen(text));
	rc = ingest_queue_sms(r, ticket_id, to, kind, fixed, 0, is_auto, error_r);
	free(fixed);
	free(text);
	return rc;
}

/*
 * Why a staff phone's command for ticket t was refused, in the staff's
 * language (tickets' own reasons are for the log and s48ctl): the status
 * labels and department names, not the ids.  Caller frees.
 */
static char *
staff_refusal(const struct s48_config *cfg, const struct ticket *t,
    const struct staff_cmd *sc, const char *err)
{
	const struct cfg_department *d;

	switch (sc->kind) {
	case STAFF_CMD_STATUS:
		if (strcmp(t->status, sc->status) == 0)
			return xasprintf("vec je %s.", config_status_label(cfg, t->status));
		return xasprintf("promena %s -> %s nije dozvoljena.",
		    config_status_label(cfg, t->status), config_status_label(cfg, sc->status));
	case STAFF_CMD_ASSIGN:
		if (sc->arg == NULL || sc->arg[0] == '\0')
			return xstrdup("navedite sluzbu, npr. #12 assign lighting.");
		d = config_dept(cfg, sc->arg, NULL);
		if (d == NULL)
			return xasprintf("nepoznata sluzba %.40s.", sc->arg);
		if (strcmp(d->id, t->department) == 0)
			return xasprintf("vec pripada sluzbi %s.", d->name);
		break;
	default:
		break;
	}
	return xstrdup(err != NULL ? err : "odbijeno.");
}

/* A staff phone's command.  0 or -1. */
static int
staff_sms(struct ingest_run *r, const char *num, const struct staff_cmd *sc,
    struct ingest_result *res, const char **error_r)
{
	const struct s48_config *cfg = r->ctx->cfg;
	const struct cfg_department *d;
	struct ticket *t = NULL;
	const char *err = NULL;
	char mask[64];
	long id = sc->ticket;
	int rc;

	res->outcome = INGEST_STAFF;
	if (sc->kind == STAFF_CMD_INVALID || id <= 0) {
		res->note = xasprintf("staff command refused: %s",
		    sc->arg != NULL ? sc->arg : "no ticket number");
		return reply(r, 0, num, "staff_reply", 1, error_r,
		    "Sistem 48: komanda nije prepoznata (%.60s). Primer: #12 resolved napomena",
		    sc->arg != NULL ? sc->arg : "nema broja prijave");
	}
	rc = tickets_get(r->ctx->st, id, &t, &err);
	if (rc == -1) {
		*error_r = err;
		return -1;
	}
	if (rc == TICKETS_ENOENT) {
		res->note = xasprintf("staff command for unknown ticket %ld", id);
		return reply(r, 0, num, "staff_reply", 1, error_r,
		    "Sistem 48: prijava br. %ld ne postoji.", id);
	}
	d = config_dept(cfg, t->department, NULL);
	if (d == NULL || !ingest_in_list(d->staff_phones.v, d->staff_phones.n, num)) {
		log_info("ingest: staff SMS from %s for ticket %ld of %s refused: not that "
		    "department", log_mask(num, mask, sizeof(mask)), id, t->department);
		res->note = xasprintf("staff command refused: ticket %ld is not of the "
		    "sender's department", id);
		res->ticket_id = id;
		tickets_free(&t);
		return reply(r, 0, num, "staff_reply", 1, error_r,
		    "Sistem 48: prijava br. %ld nije u nadleznosti vaseg odeljenja.", id);
	}
	res->ticket_id = id;
	rc = ingest_apply_staff(r, id, sc, num, &err);
	if (rc == -1) {
		tickets_free(&t);
		*error_r = err;
		return -1;
	}
	if (rc != 0) {
		char *why = staff_refusal(cfg, t, sc, err);

		res->note = xasprintf("staff command refused: %s", err);
		tickets_free(&t);
		rc = reply(r, id, num, "staff_reply", 1, error_r,
		    "Sistem 48: prijava br. %ld nije promenjena: %.100s", id, why);
		free(why);
		return rc;
	}
	log_info("ingest: staff SMS from %s: ticket %ld %s %s",
	    log_mask(num, mask, sizeof(mask)), id,
	    sc->kind == STAFF_CMD_STATUS ? "status" : sc->kind == STAFF_CMD_ASSIGN ?
	    "assigned to" : "note", sc->kind == STAFF_CMD_STATUS ? sc->status :
	    sc->kind == STAFF_CMD_ASSIGN && sc->arg != NULL ? sc->arg : "added");
	tickets_free(&t);
	switch (sc->kind) {
	case STAFF_CMD_STATUS:
		return reply(r, id, num, "staff_reply", 0, error_r,
		    "Sistem 48: prijava br. %ld: %s.", id, config_status_label(cfg, sc->status));
	case STAFF_CMD_ASSIGN:
		d = config_dept(cfg, sc->arg, NULL);
		return reply(r, id, num, "staff_reply", 0, error_r,
		    "Sistem 48: prijava br. %ld premestena: %s.", id, d != NULL ? d->name : sc->arg);
	default:
		return reply(r, id, num, "staff_reply", 0, error_r,
		    "Sistem 48: prijava br. %ld: napomena zabelezena.", id);
	}
}

/*
 * Is a staff phone's "#N ..." the citizen's "#N text" (SPEC 3) instead?  The
 * staff rule covers "#N STATUS [note]" for a ticket of the sender's
 * department; "#N text" from ticket N's reporter adds to it.  A number that
 * is both (a foreman who once reported a leak himself) writing to the
 * ticket he reported is its reporter when the message is no staff command
 * (no command word after "#N") or the ticket is another department's;
 * a command for his own department's ticket stays a command.  1 yes, 0 no
 * (a staff command or refusal as before), -1 with *error_r.
 */
static int
staff_as_reporter(struct ingest_run *r, const char *num, const struct staff_cmd *sc,
    const char **error_r)
{
	const struct cfg_department *d;
	struct ticket *t = NULL;
	const char *err = NULL;
	int rc, yes;

	if (sc->ticket <= 0)
		return 0;
	rc = tickets_get(r->ctx->st, sc->ticket, &t, &err);
	if (rc == -1) {
		*error_r = err;
		return -1;
	}
	if (rc != 0)
		return 0;
	yes = t->reporter != NULL && strcmp(t->reporter, num) == 0;
	if (yes && sc->kind != STAFF_CMD_INVALID) {
		/* a command word: his own department's ticket keeps it a command */
		d = config_dept(r->ctx->cfg, t->department, NULL);
		yes = d == NULL || !ingest_in_list(d->staff_phones.v, d->staff_phones.n, num);
	}
	tickets_free(&t);
	return yes;
}

/* STATUS [N]: the public facts of a ticket, never its reporter or text. */
static int
status_query(struct ingest_run *r, const char *num, long id, struct ingest_result *res,
    const char **error_r)
{
	const struct s48_config *cfg = r->ctx->cfg;
	const struct cfg_department *d;
	struct tmpl_vars v;
	struct ticket *t = NULL;
	const char *err = NULL;
	char created[32], due[32];
	char *text;
	int rc;

	res->outcome = INGEST_COMMAND;
	if (id <= 0) {
		rc = tickets_latest_by_reporter(r->ctx->st, num, &id, &err);
		if (rc == -1) {
			*error_r = err;
			return -1;
		}
		if (rc != 0) {
			res->note = xstrdup("STATUS: the sender has no ticket");
			return reply(r, 0, num, "sms_query", 1, error_r,
			    "Sistem 48: sa ovog broja nema prijava. Za stanje prijave posaljite "
			    "STATUS i broj prijave.");
		}
	}
	rc = tickets_get(r->ctx->st, id, &t, &err);
	if (rc == -1) {
		*error_r = err;
		return -1;
	}
	if (rc != 0) {
		res->note = xasprintf("STATUS: no ticket %ld", id);
		return reply(r, 0, num, "sms_query", 1, error_r,
		    "Sistem 48: prijava br. %ld ne postoji.", id);
	}
	d = config_dept(cfg, t->department, NULL);
	sla_format_local(t->created_at, created, sizeof(created));
	sla_format_local(t->due_at, due, sizeof(due));
	memset(&v, 0, sizeof(v));
	v.id = id;
	v.status = config_status_label(cfg, t->status);
	v.department = d != NULL ? d->name : t->department;
	v.created = created;
	v.due = due;
	text = tmpl_render_sms(cfg->templates.sms_query, &v, cfg->sms.ascii,
	    cfg->sms.max_segments);
	res->ticket_id = id;
	/* A stranger's question is not part of the ticket's history. */
	rc = ingest_queue_sms(r, strcmp(t->reporter, num) == 0 ? id : 0, num, "sms_query",
	    text, 1, 1, error_r);
	free(text);
	tickets_free(&t);
	return rc;
}

/* The sender as recorded: into num (E.164 when it is a number); *rec_r is
 * num, or the sender as received when it is no number at all.  Its kind. */
static enum phone_kind
sms_sender(const struct s48_config *cfg, const struct ingest_item *it, char num[64],
    const char **rec_r)
{
	const char *cc = cfg->sms.country_code != NULL ? cfg->sms.country_code : "381";
	const char *from = it->sms_from != NULL ? it->sms_from : "";
	enum phone_kind kind = phone_normalize(from, cc, num, 64);

	*rec_r = kind == PHONE_INVALID ? from : num;
	return kind;
}

char *
ingest_sms_sender(const struct s48_config *cfg, const struct ingest_item *it)
{
	char num[64];
	const char *rec;

	sms_sender(cfg, it, num, &rec);
	return xstrndup(rec, 64);
}

int
ingest_sms_decide(struct ingest_run *r, struct ingest_item *it, int64_t raw_id,
    struct ingest_result *res, const char **error_r)
{
	const struct s48_config *cfg = r->ctx->cfg;
	const char *rec;
	const char *raw_text = it->sms_text != NULL ? it->sms_text : "";
	time_t at = it->received_at != 0 ? it->received_at : r->now;
	struct tickets_input in;
	struct sms_cmd c;
	struct staff_cmd sc;
	enum phone_kind kind;
	char num[64], hash[65], mask[64];
	char *text = NULL, *body = NULL;
	const char *err = NULL;
	size_t i;
	int is_staff = 0, rc = 0;
	long id = 0;

	memset(&c, 0, sizeof(c));
	memset(&sc, 0, sizeof(sc));
	kind = sms_sender(cfg, it, num, &rec);
	res->sender = xstrndup(rec, 64);
	res->sent_at = it->received_at;
	if (kind == PHONE_ALPHA || kind == PHONE_SHORTCODE || kind == PHONE_INVALID) {
		res->outcome = INGEST_RECORDED;
		res->note = xasprintf("sender is %s: recorded only", phone_kind_name(kind));
		log_info("ingest %s: SMS from %s sender recorded only", it->source_key,
		    phone_kind_name(kind));
		return 0;
	}
	if (it->record_only) {
		res->outcome = INGEST_RECORDED;
		res->note = xstrdup("first run: older than sms.first_run_days, recorded only");
		return 0;
	}
	text = norm_utf8_repair(raw_text, strlen(raw_text));

	for (i = 0; i < cfg->n_depts && !is_staff; i++)
		is_staff = ingest_in_list(cfg->depts[i].staff_phones.v,
		    cfg->depts[i].staff_phones.n, num);
	if (is_staff) {
		cmd_parse_staff_sms(text, &sc);
		if (sc.kind != STAFF_CMD_NONE) {
			rc = staff_as_reporter(r, num, &sc, error_r);
			if (rc == 0) {
				rc = staff_sms(r, num, &sc, res, error_r);
				goto done;
			}
			if (rc < 0)
				goto done;
			/* the reporter's "#N text" (or "#N" asking): below */
			rc = 0;
		}
		/* Not a command: the staff member reports like a citizen. */
	}

	cmd_parse_sms(text, &c);
	switch (c.kind) {
	case SMS_CMD_EMPTY: {
		struct tmpl_vars v;

		memset(&v, 0, sizeof(v));
		res->outcome = INGEST_COMMAND;
		res->note = xstrdup("empty: help sent");
		body = tmpl_render_sms(cfg->templates.sms_help, &v, cfg->sms.ascii,
		    cfg->sms.max_segments);
		rc = ingest_queue_sms(r, 0, num, "sms_help", body, 1, 1, error_r);
		goto done;
	}
	case SMS_CMD_STATUS:
		rc = status_query(r, num, c.ticket, res, error_r);
		goto done;
	case SMS_CMD_STOP:
		res->outcome = INGEST_COMMAND;
		if ((rc = optout_change(r, SQL_OPTOUT_ADD, num, at, error_r)) < 0)
			goto done;
		if (rc == 0) {
			res->note = xstrdup("STOP: already stopped");
			goto done;
		}
		res->note = xstrdup("STOP");
		log_info("ingest: %s sent STOP", log_mask(num, mask, sizeof(mask)));
		rc = reply(r, 0, num, "stop_confirm", 0, error_r,
		    "Sistem 48: vise necete primati SMS poruke. Za ponovno ukljucenje "
		    "posaljite START.");
		goto done;
	case SMS_CMD_START:
		res->outcome = INGEST_COMMAND;
		if ((rc = optout_change(r, SQL_OPTOUT_DEL, num, at, error_r)) < 0)
			goto done;
		if (rc == 0) {
			res->note = xstrdup("START: was not stopped");
			goto done;
		}
		res->note = xstrdup("START");
		log_info("ingest: %s sent START", log_mask(num, mask, sizeof(mask)));
		rc = reply(r, 0, num, "start_confirm", 0, error_r,
		    "Sistem 48: ponovo cete primati SMS poruke.");
		goto done;
	case SMS_CMD_APPEND: {
		char *rep = NULL;

		rc = tickets_reporter_of(r->ctx->st, c.ticket, &rep, NULL, &err);
		if (rc == -1) {
			*error_r = err;
			goto done;
		}
		if (rc == 0 && strcmp(rep, num) == 0) {
			free(rep);
			memset(&in, 0, sizeof(in));
			in.channel = "sms";
			in.text = c.text != NULL ? c.text : "";
			in.at = at;
			in.raw_id = raw_id;
			in.now = r->now;
			rc = tickets_append(&r->tc, c.ticket, &in, &err);
			if (rc != 0) {
				*error_r = err;
				rc = rc == -1 ? -1 : 1;
				goto done;
			}
			res->outcome = INGEST_APPEND;
			res->ticket_id = c.ticket;
			goto done;
		}
		free(rep);
		/* Someone else's number, or no such ticket: a new report of the whole text. */
		break;
	}
	case SMS_CMD_TEXT:
	default:
		break;
	}

	/* A report. */
	body = trim_dup(text);
	norm_hash(num, body, hash);
	rc = find_dup(r, hash, at, &id, error_r);
	if (rc < 0)
		goto done;
	memset(&in, 0, sizeof(in));
	in.channel = "sms";
	in.reporter = num;
	in.text = body;
	in.at = at;
	in.raw_id = raw_id;
	in.now = r->now;
	in.norm_hash = hash;
	if (rc == 1) {
		/* Sent again within 10 minutes: recorded, not acknowledged again,
		 * the department is not told twice. */
		in.flags = TICKETS_F_QUIET;
		rc = tickets_append(&r->tc, id, &in, &err);
		if (rc != 0) {
			*error_r = err;
			rc = rc == -1 ? -1 : 1;
			goto done;
		}
		/* a duplicate for the counts and the raw row (outcome
		 * "duplicate", the ticket and this note), though its text is
		 * kept with the ticket */
		res->outcome = INGEST_DUPLICATE;
		res->ticket_id = id;
		res->note = xstrdup("same text within 10 minutes");
		goto done;
	}
	in.flags = TICKETS_F_AUTO;
	rc = tickets_create(&r->tc, &in, &id, &err);
	if (rc != 0) {
		*error_r = err;
		rc = rc == -1 ? -1 : 1;
		goto done;
	}
	res->outcome = INGEST_TICKET;
	res->ticket_id = id;
done:
	free(text);
	free(body);
	sms_cmd_free(&c);
	staff_cmd_free(&sc);
	return rc < 0 ? -1 : rc > 0 ? 1 : 0;
}
