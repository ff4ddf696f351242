/*
 * ctl_tickets.c - s48ctl verbs about single tickets: list, show, status,
 * assign, note, new, route, attachment.
 */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "normalize.h"
#include "phone.h"
#include "router.h"
#include "sla.h"
#include "store.h"
#include "tickets.h"
#include "util.h"

#define CTL_TEXT_MAX (1024 * 1024)

/* Join argv[from..argc) with spaces into a new string (NULL if none). */
static char *
ctl_join(int argc, char **argv, int from)
{
	struct buf b;
	int i;

	if (from >= argc)
		return NULL;
	buf_init(&b, CTL_TEXT_MAX);
	for (i = from; i < argc; i++) {
		if (i > from && buf_appendc(&b, ' ') < 0)
			break;
		if (buf_appends(&b, argv[i]) < 0)
			break;
	}
	return buf_steal(&b, NULL);
}

/*
 * The ticket number argument s of cmd: *id_r and 0, or the exit code.  A
 * number that can name no ticket ("0", or past the largest) is "no such
 * ticket" (SPEC 2: exit 1) like any number not given; what is not a number
 * is a usage error (64).
 */
static int
ticket_arg(const char *cmd, const char *s, long *id_r)
{
	if ((*id_r = ctl_parse_id(s)) > 0)
		return 0;
	if (s != NULL && *s != '\0' && strspn(s, "0123456789") == strlen(s))
		return ctl_error(CTL_EXIT_NOENT, "no such ticket: %s", s);
	return ctl_usage(cmd, "not a ticket number: %s", s);
}

/* Map a tickets_* return code to an exit code, printing the error. */
static int
ctl_tickets_rc(int rc, long id, const char *err)
{
	switch (rc) {
	case 0:
		return CTL_EXIT_OK;
	case TICKETS_ENOENT:
		return ctl_error(CTL_EXIT_NOENT, "no such ticket: %ld", id);
	case TICKETS_EREFUSED:
		return ctl_error(CTL_EXIT_REFUSED, "ticket %ld: %s", id, err ? err : "refused");
	default:
		return ctl_error(CTL_EXIT_IO, "database: %s", err ? err : "error");
	}
}

/* ---- list ---------------------------------------------------------------- */

int
ctl_cmd_list(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "status", required_argument, NULL, 's' },
		{ "dept", required_argument, NULL, 'd' },
		{ "overdue", no_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *status = NULL, *dept = NULL;
	int overdue = 0, as_json = 0, ch, rc;
	time_t now = store_now();
	sqlite3_stmt *s;
	struct ctl_json_array arr;

	ctl_getopt_reset();
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's': status = optarg; break;
		case 'd': dept = optarg; break;
		case 'o': overdue = 1; break;
		case 'j': as_json = 1; break;
		default: return ctl_bad_option("list", argc, argv);
		}
	}
	if (optind < argc)
		return ctl_usage("list", "unexpected argument %s", argv[optind]);
	if (status && !tickets_status_valid(status))
		return ctl_error(CTL_EXIT_REFUSED, "unknown status %s", status);
	if (dept && config_dept(c->cfg, dept, NULL) == NULL) {
		/* a department taken out of the config still names its old
		 * tickets: they must stay findable (to reassign them) */
		s = store_prepare(c->st, "SELECT 1 FROM tickets WHERE department = ?1 LIMIT 1");
		if (s == NULL)
			return ctl_error(CTL_EXIT_IO, "database: %s", store_errmsg(c->st));
		sqlite3_bind_text(s, 1, dept, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc == SQLITE_DONE)
			return ctl_error(CTL_EXIT_REFUSED, "unknown department %s", dept);
		if (rc != SQLITE_ROW)
			return ctl_error(CTL_EXIT_IO, "database: %s", store_errmsg(c->st));
	}
	s = store_prepare(c->st,
	    "SELECT id, status, channel, department, subject, created_at, due_at, reporter, "
	    "updated_at, coalesce(resolved_at, 0) FROM tickets "
	    "WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR department = ?2) "
	    "AND (?3 = 0 OR (status IN ('open', 'in_progress') AND due_at < ?4)) ORDER BY id");
	if (s == NULL)
		return ctl_error(CTL_EXIT_IO, "database: %s", store_errmsg(c->st));
	if (status)
		sqlite3_bind_text(s, 1, status, -1, SQLITE_STATIC);
	if (dept)
		sqlite3_bind_text(s, 2, dept, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, overdue);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)now);
	if (as_json)
		ctl_json_array_begin(&arr, stdout);
	else
		printf("%6s  %-11s  %-5s  %-12s  %-16s  %-17s  %s\n", "ID", "STATUS", "VIA", "DEPT",
		    "CREATED", "DUE", "SUBJECT");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *st = ctl_col(s, 1);
		time_t due = (time_t)sqlite3_column_int64(s, 6);
		int od = (strcmp(st, "open") == 0 || strcmp(st, "in_progress") == 0) && now > due;

		if (as_json) {
			json_t *o = json_object();

			json_object_set_new(o, "id", json_integer(sqlite3_column_int64(s, 0)));
			json_object_set_new(o, "status", ctl_json_text(st));
			json_object_set_new(o, "channel", ctl_json_text(ctl_col(s, 2)));
			json_object_set_new(o, "department", ctl_json_text(ctl_col(s, 3)));
			json_object_set_new(o, "subject", ctl_json_text(ctl_col(s, 4)));
			json_object_set_new(o, "reporter", ctl_json_text(ctl_col(s, 7)));
			json_object_set_new(o, "created_at",
			    ctl_json_time((time_t)sqlite3_column_int64(s, 5)));
			json_object_set_new(o, "due_at", ctl_json_time(due));
			json_object_set_new(o, "updated_at",
			    ctl_json_time((time_t)sqlite3_column_int64(s, 8)));
			json_object_set_new(o, "resolved_at",
			    ctl_json_time((time_t)sqlite3_column_int64(s, 9)));
			json_object_set_new(o, "overdue", json_boolean(od));
			ctl_json_array_add(&arr, o);
		} else {
			char cr[32], du[32], *dp = ctl_tty_text(ctl_col(s, 3), 0);
			char *subj = ctl_tty_text(ctl_col(s, 4), 0);

			ctl_local_time((time_t)sqlite3_column_int64(s, 5), cr);
			ctl_local_time(due, du);
			printf("%6lld  %-11s  %-5s  %-12s  %-16s  %-16s%s  %s\n",
			    (long long)sqlite3_column_int64(s, 0), st, ctl_col(s, 2), dp,
			    cr, du, od ? "!" : " ", subj);
			free(dp);
			free(subj);
		}
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return ctl_error(CTL_EXIT_IO, "database: %s", store_errmsg(c->st));
	return as_json ? ctl_json_array_end(&arr) : CTL_EXIT_OK;
}

/* ---- show ---------------------------------------------------------------- */

static json_t *
ctl_json_str_or_null(sqlite3_stmt *s, int i)
{
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return json_null();
	return ctl_json_text(ctl_col(s, i));
}

json_t *
ctl_ticket_json(struct ctl *c, long id, int *rc_r)
{
	const struct cfg_department *d;
	struct ticket *t = NULL;
	const char *err = NULL;
	sqlite3_stmt *s;
	json_t *o, *arr;
	int rc;

	rc = tickets_get(c->st, id, &t, &err);
	if (rc != 0) {
		*rc_r = ctl_tickets_rc(rc, id, err);
		return NULL;
	}
	d = config_dept(c->cfg, t->department, NULL);
	o = json_object();
	json_object_set_new(o, "id", json_integer(t->id));
	json_object_set_new(o, "status", ctl_json_text(t->status));
	json_object_set_new(o, "channel", ctl_json_text(t->channel));
	json_object_set_new(o, "reporter", ctl_json_text(t->reporter));
	json_object_set_new(o, "department", ctl_json_text(t->department));
	json_object_set_new(o, "department_name", ctl_json_text(d ? d->name : t->department));
	json_object_set_new(o, "subject", ctl_json_text(t->subject));
	json_object_set_new(o, "text", ctl_json_text(t->text));
	json_object_set_new(o, "created_at", ctl_json_time(t->created_at));
	json_object_set_new(o, "due_at", ctl_json_time(t->due_at));
	json_object_set_new(o, "updated_at", ctl_json_time(t->updated_at));
	json_object_set_new(o, "resolved_at", ctl_json_time(t->resolved_at));
	json_object_set_new(o, "overdue", json_boolean(tickets_is_overdue(t, store_now())));
	json_object_set_new(o, "backlog", json_boolean(t->backlog));
	json_object_set_new(o, "message_id", t->message_id ? ctl_json_text(t->message_id) :
	    json_null());
	tickets_free(&t);

	arr = json_array();
	s = store_prepare(c->st, "SELECT direction, channel, at, text FROM messages "
	    "WHERE ticket_id = ?1 ORDER BY at, id");
	if (s == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		json_t *m = json_object();

		json_object_set_new(m, "direction", ctl_json_text(ctl_col(s, 0)));
		json_object_set_new(m, "channel", ctl_json_text(ctl_col(s, 1)));
		json_object_set_new(m, "at", ctl_json_time((time_t)sqlite3_column_int64(s, 2)));
		json_object_set_new(m, "text", ctl_json_text(ctl_col(s, 3)));
		json_array_append_new(arr, m);
	}
	sqlite3_reset(s);
	json_object_set_new(o, "messages", arr);
	if (rc != SQLITE_DONE)
		goto fail;

	arr = json_array();
	s = store_prepare(c->st, "SELECT at, kind, from_value, to_value, by, note, public "
	    "FROM events WHERE ticket_id = ?1 ORDER BY id");
	if (s == NULL)
		goto fail_arr;
	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		json_t *e = json_object();

		json_object_set_new(e, "at", ctl_json_time((time_t)sqlite3_column_int64(s, 0)));
		json_object_set_new(e, "kind", ctl_json_text(ctl_col(s, 1)));
		json_object_set_new(e, "from", ctl_json_str_or_null(s, 2));
		json_object_set_new(e, "to", ctl_json_str_or_null(s, 3));
		json_object_set_new(e, "by", ctl_json_str_or_null(s, 4));
		json_object_set_new(e, "note", ctl_json_str_or_null(s, 5));
		json_object_set_new(e, "public", json_boolean(sqlite3_column_int(s, 6)));
		json_array_append_new(arr, e);
	}
	sqlite3_reset(s);
	json_object_set_new(o, "events", arr);
	if (rc != SQLITE_DONE)
		goto fail;

	arr = json_array();
	s = store_prepare(c->st, "SELECT idx, filename, content_type, size, sha256, omitted "
	    "FROM attachments WHERE ticket_id = ?1 ORDER BY idx");
	if (s == NULL)
		goto fail_arr;
	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		json_t *a = json_object();

		json_object_set_new(a, "index", json_integer(sqlite3_column_int(s, 0)));
		json_object_set_new(a, "filename", ctl_json_text(ctl_col(s, 1)));
		json_object_set_new(a, "content_type", ctl_json_text(ctl_col(s, 2)));
		json_object_set_new(a, "size", json_integer(sqlite3_column_int64(s, 3)));
		json_object_set_new(a, "sha256", ctl_json_text(ctl_col(s, 4)));
		json_object_set_new(a, "omitted", json_boolean(sqlite3_column_int(s, 5)));
		json_array_append_new(arr, a);
	}
	sqlite3_reset(s);
	json_object_set_new(o, "attachments", arr);
	if (rc != SQLITE_DONE)
		goto fail;
	return o;
fail_arr:
	json_decref(arr);
fail:
	json_decref(o);
	*rc_r = ctl_error(CTL_EXIT_IO, "database: %s", store_errmsg(c->st));
	return NULL;
}

/*
 * Print text made safe for a terminal, its first line after first (printed
 * by the caller when NULL) and every further line after indent, so that no
 * line of a citizen's text starts at the margin where it could pass for a
 * line of s48ctl's own ("  2026-11-24 10:00 out sms ..." under Messages).
 */
static void
ctl_print_indented(const char *text, const char *first, const char *indent)
{
	char *safe = ctl_tty_text(text, 1);
	const char *p = safe;
	int line = 0;

	while (*p) {
		size_t n = strcspn(p, "\n");

		printf("%s%.*s\n", line == 0 && first != NULL ? first : line == 0 ? "" : indent,
		    (int)n, p);
		line++;
		p += n;
		if (*p == '\n')
			p++;
	}
	if (line == 0 && first == NULL)
		printf("\n");          /* an empty message still ends its line */
	free(safe);
}

static time_t
ctl_json_get_time(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v ? util_parse_iso8601(v) : 0;
}

/* The string o[key] made safe for a terminal (one line), NULL if absent or null.
 * Kept in one of a few slots so a printf can take several; freed by the next
 * use of the slot and by ctl_show_str(NULL, NULL). */
static const char *
ctl_show_str(json_t *o, const char *key)
{
	static char *slot[6];
	static size_t next;
	const char *v;
	size_t i;

	if (o == NULL) {
		for (i = 0; i < sizeof(slot) / sizeof(slot[0]); i++) {
			free(slot[i]);
			slot[i] = NULL;
		}
		return NULL;
	}
	if ((v = json_string_value(json_object_get(o, key))) == NULL)
		return NULL;
	i = next++ % (sizeof(slot) / sizeof(slot[0]));
	free(slot[i]);
	slot[i] = ctl_tty_text(v, 0);
	return slot[i];
}

/* ctl_show_str() or "" */
static const char *
ctl_show_s(json_t *o, const char *key)
{
	const char *v = ctl_show_str(o, key);

	return v ? v : "";
}

static void
ctl_show_human(json_t *o)
{
	char a[32], b[32], u[32];
	size_t i;
	json_t *x;

	printf("Ticket #%lld  [%s]%s\n", (long long)json_integer_value(json_object_get(o, "id")),
	    ctl_show_s(o, "status"),
	    json_is_true(json_object_get(o, "overdue")) ? "  OVERDUE" : "");
	printf("Department: %s (%s)\n", ctl_show_s(o, "department"),
	    ctl_show_s(o, "department_name"));
	printf("Reporter:   %s (%s)\n", ctl_show_s(o, "reporter"), ctl_show_s(o, "channel"));
	printf("Subject:    %s\n", ctl_show_s(o, "subject"));
	ctl_local_time(ctl_json_get_time(o, "created_at"), a);
	ctl_local_time(ctl_json_get_time(o, "due_at"), b);
	ctl_local_time(ctl_json_get_time(o, "updated_at"), u);
	printf("Created:    %s   Due: %s   Updated: %s\n", a, b, u);
	ctl_local_time(ctl_json_get_time(o, "resolved_at"), a);
	printf("Resolved:   %s\n\nText:\n", a);
	ctl_print_indented(json_string_value(json_object_get(o, "text")), "  ", "  ");
	printf("\nMessages:\n");
	json_array_foreach(json_object_get(o, "messages"), i, x) {
		ctl_local_time(ctl_json_get_time(x, "at"), a);
		/* the prefix is 29 columns wide: further lines start under the text */
		printf("  %s %-3s %-5s ", a, ctl_show_s(x, "direction"), ctl_show_s(x, "channel"));
		ctl_print_indented(json_string_value(json_object_get(x, "text")), NULL,
		    "                             ");
	}
	printf("\nEvents:\n");
	json_array_foreach(json_object_get(o, "events"), i, x) {
		const char *f = ctl_show_str(x, "from");
		const char *t = ctl_show_str(x, "to");
		const char *by = ctl_show_str(x, "by");
		const char *note = ctl_show_str(x, "note");

		ctl_local_time(ctl_json_get_time(x, "at"), a);
		printf("  %s %s", a, ctl_show_s(x, "kind"));
		if (f)
			printf(" %s ->", f);
		if (t)
			printf(" %s", t);
		if (by)
			printf(" by %s", by);
		if (note)
			printf(": %s%s", note, json_is_true(json_object_get(x, "public")) ?
			    " (public)" : "");
		printf("\n");
	}
	if (json_array_size(json_object_get(o, "attachments")) > 0) {
		printf("\nAttachments:\n");
		json_array_foreach(json_object_get(o, "attachments"), i, x) {
			printf("  %lld. %s (%s, %lld B)%s\n",
			    (long long)json_integer_value(json_object_get(x, "index")),
			    ctl_show_s(x, "filename"), ctl_show_s(x, "content_type"),
			    (long long)json_integer_value(json_object_get(x, "size")),
			    json_is_true(json_object_get(x, "omitted")) ? " omitted" : "");
		}
	}
	ctl_show_str(NULL, NULL);
}

int
ctl_cmd_show(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int as_json = 0, ch, rc = 0;
	long id;
	json_t *o;

	ctl_getopt_reset();
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'j')
			return ctl_bad_option("show", argc, argv);
		as_json = 1;
	}
	if (argc - optind != 1)
		return ctl_usage("show", "expected one ticket number");
	if ((rc = ticket_arg("show", argv[optind], &id)) != 0)
		return rc;
	if ((o = ctl_ticket_json(c, id, &rc)) == NULL)
		return rc;
	if (as_json)
		return ctl_json_print(o);
	ctl_show_human(o);
	json_decref(o);
	return CTL_EXIT_OK;
}

/* ---- status / assign / note ---------------------------------------------- */

enum ctl_action { CTL_STATUS, CTL_ASSIGN, CTL_NOTE };

static int
ctl_action(struct ctl *c, enum ctl_action what, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "note", required_argument, NULL, 'n' },
		{ "by", required_argument, NULL, 'b' },
		{ "public", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *verb = what == CTL_STATUS ? "status" : what == CTL_ASSIGN ? "assign" : "note";
	const char *note = NULL, *by = NULL, *err = NULL;
	struct tickets_ctx tc;
	char *text = NULL;
	int is_public = 0, ch, rc, nopt;
	long id;

	ctl_getopt_reset();
	nopt = ctl_text_args(&argc, argv, opts);
	while ((ch = getopt_long(nopt, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			if (what == CTL_NOTE)
				return ctl_bad_option(verb, argc, argv);
			note = optarg;
			break;
		case 'b': by = optarg; break;
		case 'p':
			if (what != CTL_NOTE)
				return ctl_bad_option(verb, argc, argv);
			is_public = 1;
			break;
		default: return ctl_bad_option(verb, argc, argv);
		}
	}
	if (what == CTL_NOTE ? argc - optind < 2 : argc - optind != 2)
		return ctl_usage(verb, "wrong number of arguments");
	if ((rc = ticket_arg(verb, argv[optind], &id)) != 0)
		return rc;
	if (by == NULL || *by == '\0')
		by = ctl_default_by();
	tc.st = c->st;
	tc.cfg = c->cfg;
	tc.rt = NULL;
	if (store_begin(c->st, &err) < 0)
		return ctl_error(CTL_EXIT_IO, "database: %s", err);
	switch (what) {
	case CTL_STATUS:
		rc = tickets_set_status(&tc, id, argv[optind + 1], note, by, &err);
		break;
	case CTL_ASSIGN:
		rc = tickets_assign(&tc, id, argv[optind + 1], note, by, &err);
		break;
	default:
		text = ctl_join(argc, argv, optind + 1);
		rc = tickets_note(&tc, id, text, is_public, by, &err);
		break;
	}
	if (rc == 0 && store_commit(c->st, &err) < 0)
		rc = -1;
	if (rc != 0)
		store_rollback(c->st);
	free(text);
	if (rc != 0)
		return ctl_tickets_rc(rc, id, err);
	if (what == CTL_STATUS)
		printf("ticket %ld: %s\n", id, argv[optind + 1]);
	else if (what == CTL_ASSIGN)
		printf("ticket %ld: assigned to %s\n", id, argv[optind + 1]);
	else
		printf("ticket %ld: %s note added\n", id, is_public ? "public" : "internal");
	return CTL_EXIT_OK;
}

int
ctl_cmd_status(struct ctl *c, int argc, char **argv)
{
	return ctl_action(c, CTL_STATUS, argc, argv);
}

int
ctl_cmd_assign(struct ctl *c, int argc, char **argv)
{
	return ctl_action(c, CTL_ASSIGN, argc, argv);
}

int
ctl_cmd_note(struct ctl *c, int argc, char **argv)
{
	return ctl_action(c, CTL_NOTE, argc, argv);
}

/* ---- new ----------------------------------------------------------------- */

/* A plausible addr-spec: one '@', non-empty local part and a dotted domain,
 * no spaces, controls or specials that would need quoting. */
static int
ctl_email_ok(const char *a)
{
	const char *at = strchr(a, '@'), *p;

	if (at == NULL || at == a || strchr(at + 1, '@') != NULL || strlen(a) > 254)
		return 0;
	if (strchr(at + 1, '.') == NULL || at[1] == '.' || a[strlen(a) - 1] == '.')
		return 0;
	for (p = a; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || strchr("<>()[]\\,;:\"", *p))
			return 0;
	return 1;
}

int
ctl_cmd_new(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "subject", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct tickets_input in;
	struct tickets_ctx tc;
	const char *from = NULL, *subject = NULL, *err = NULL;
	char reporter[300], due[32], *text = NULL;
	int as_json = 0, ch, rc, nopt;
	long id = 0;

	ctl_getopt_reset();
	nopt = ctl_text_args(&argc, argv, opts);
	while ((ch = getopt_long(nopt, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'f': from = optarg; break;
		case 's': subject = optarg; break;
		case 'j': as_json = 1; break;
		default: return ctl_bad_option("new", argc, argv);
		}
	}
	if (from == NULL || *from == '\0')
		return ctl_usage("new", "--from is required");
	text = ctl_join(argc, argv, optind);
	if (text == NULL || text[strspn(text, " \t\r\n")] == '\0') {
		free(text);
		return ctl_usage("new", "the report TEXT is required");
	}
	memset(&in, 0, sizeof(in));
	if (strchr(from, '@') != NULL) {
		util_strlcpy(reporter, from, sizeof(reporter));
		util_lower_ascii(reporter);
		if (!ctl_email_ok(reporter)) {
			free(text);
			return ctl_error(CTL_EXIT_REFUSED, "not an email address: %s", from);
		}
		in.channel = "email";
	} else {
		const char *cc = c->cfg->sms.country_code ? c->cfg->sms.country_code : "381";
		enum phone_kind k = phone_normalize(from, cc, reporter, sizeof(reporter));

		if (k != PHONE_MOBILE && k != PHONE_FIXED) {
			free(text);
			return ctl_error(CTL_EXIT_REFUSED, "not a phone number or email address: %s",
			    from);
		}
		in.channel = "sms";
	}
	in.reporter = reporter;
	in.subject = subject;
	in.text = text;
	in.by = ctl_default_by();
	tc.st = c->st;
	tc.cfg = c->cfg;
	tc.rt = ctl_router(c);
	if (store_begin(c->st, &err) < 0) {
		free(text);
		return ctl_error(CTL_EXIT_IO, "database: %s", err);
	}
	rc = tickets_create(&tc, &in, &id, &err);
	if (rc == 0 && store_commit(c->st, &err) < 0)
		rc = -1;
	if (rc != 0)
		store_rollback(c->st);
	free(text);
	if (rc != 0) {
		if (rc == TICKETS_EREFUSED)
			return ctl_error(CTL_EXIT_REFUSED, "%s", err);
		return ctl_tickets_rc(rc, id, err);
	}
	if (as_json) {
		json_t *o = ctl_ticket_json(c, id, &rc);

		return o ? ctl_json_print(o) : rc;
	} else {
		struct ticket *t = NULL;

		if ((rc = tickets_get(c->st, id, &t, &err)) != 0)
			return ctl_tickets_rc(rc, id, err);
		sla_format_local(t->due_at, due, sizeof(due));
		printf("ticket %ld: %s, due %s\n", id, t->department, due);
		tickets_free(&t);
	}
	return CTL_EXIT_OK;
}

/* ---- route --------------------------------------------------------------- */

int
ctl_cmd_route(struct ctl *c, int argc, char **argv)
{
	struct router_result res;
	const struct cfg_department *d;
	char *text;
	size_t i, k;

	if (argc > 1 && strcmp(argv[1], "--") == 0) {
		argc--;
		argv++;
	}
	if (argc < 2)
		return ctl_usage("route", "the TEXT to route is required");
	text = ctl_join(argc, argv, 1);
	router_route(ctl_router(c), NULL, text, &res);
	d = &c->cfg->depts[res.dept];
	if (res.score > 0)
		printf("department: %s (%s), score %d\n", d->id, d->name, res.score);
	else
		printf("department: %s (%s), default: no keyword matched\n", d->id, d->name);
	for (i = 0; i < res.n_scores; i++) {
		const struct router_dept_score *sc = &res.scores[i];

		printf("  %-12s score %d:", c->cfg->depts[sc->dept].id, sc->score);
		for (k = 0; k < sc->n_matched; k++)
			printf("%s %s", k ? "," : "", sc->matched[k]);
		printf("\n");
	}
	router_result_free(&res);
	free(text);
	return CTL_EXIT_OK;
}

/* ---- attachment ---------------------------------------------------------- */

static int
ctl_write_all(int fd, const void *p, size_t n)
{
	const char *q = p;

	while (n > 0) {
		ssize_t w = write(fd, q, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		q += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Valid UTF-8 without control characters other than TAB, LF and CR before LF. */
static int
ctl_is_plain_text(const char *p, size_t n)
{
	size_t i;

	if (p == NULL || !norm_utf8_valid(p, n))
		return p == NULL;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];

		if ((ch < 0x20 && ch != '\t' && ch != '\n' &&
		    !(ch == '\r' && i + 1 < n && p[i + 1] == '\n')) || ch == 0x7F ||
		    (ch == 0xC2 && i + 1 < n && (unsigned char)p[i + 1] >= 0x80 &&
		    (unsigned char)p[i + 1] <= 0x9F))
			return 0;
	}
	return 1;
}

int
ctl_cmd_attachment(struct ctl *c, int argc, char **argv)
{
	const char *out = NULL, *err = NULL;
	char *rep = NULL;
	sqlite3_stmt *s;
	long id, idx;
	int ch, rc, fd;

	ctl_getopt_reset();
	while ((ch = getopt(argc, argv, "o:")) != -1) {
		if (ch != 'o')
			return ctl_bad_option("attachment", argc, argv);
		out = optarg;
	}
	if (argc - optind != 2)
		return ctl_usage("attachment", "expected a ticket number and an index");
	if (strcmp(argv[optind + 1], "0") == 0)
		idx = 0;
	else if ((idx = ctl_parse_id(argv[optind + 1])) == 0)
		return ctl_usage("attachment", "not an index: %s", argv[optind + 1]);
	/* after the usage checks: "no such ticket" is no usage error */
	if ((rc = ticket_arg("attachment", argv[optind], &id)) != 0)
		return rc;
	if ((rc = tickets_reporter_of(c->st, id, &rep, NULL, &err)) != 0)
		return ctl_tickets_rc(rc, id, err);
	free(rep);
	s = store_prepare(c->st, "SELECT content, omitted FROM attachments "
	    "WHERE ticket_id = ?1 AND idx = ?2");
	if (s == NULL)
		return ctl_error(CTL_EXIT_IO, "database: %s", store_errmsg(c->st));
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, idx);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(s);
		return ctl_error(CTL_EXIT_NOENT, "ticket %ld has no attachment %ld", id, idx);
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		return ctl_error(CTL_EXIT_IO, "database: %s", store_errmsg(c->st));
	}
	if (sqlite3_column_int(s, 1) || sqlite3_column_type(s, 0) == SQLITE_NULL) {
		sqlite3_reset(s);
		return ctl_error(CTL_EXIT_NOENT, "attachment %ld of ticket %ld was not kept "
		    "(message too large)", idx, id);
	}
	if (out) {
		/* a citizen's file: never through a symbolic link (one planted in
		 * /tmp would have s48ctl, often root, overwrite its target), and
		 * not left readable by others in a file that existed */
		struct stat sb;

		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0) {
			sqlite3_reset(s);
			return ctl_error(CTL_EXIT_IO, "%s: %s", out, errno == ELOOP ?
			    "is a symbolic link; give the file itself" : strerror(errno));
		}
		if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 077) != 0)
			(void)fchmod(fd, sb.st_mode & 0700);
	} else {
		const char *blob = sqlite3_column_blob(s, 0);
		size_t n = (size_t)sqlite3_column_bytes(s, 0);

		/* a citizen's file on a clerk's terminal: plain text only (bytes
		 * of an image or escape sequences could take the terminal over) */
		if (isatty(STDOUT_FILENO) && !ctl_is_plain_text(blob, n)) {
			sqlite3_reset(s);
			return ctl_usage("attachment", "attachment %ld of ticket %ld is not plain "
			    "text: give -o FILE or redirect stdout", idx, id);
		}
		fflush(stdout);
		fd = STDOUT_FILENO;
	}
	rc = ctl_write_all(fd, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0));
	sqlite3_reset(s);
	if (out && close(fd) < 0)
		rc = -1;
	if (rc < 0)
		return ctl_error(CTL_EXIT_IO, "%s: %s", out ? out : "stdout", strerror(errno));
	return CTL_EXIT_OK;
}
