/*
 * ctl_report.c - s48ctl verbs over many rows: stats, outbox (list and
 * retry), export (CSV with BOM / JSON), backup.
 */
#include "ctl.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "normalize.h"
#include "outbox_queue.h"
#include "sla.h"
#include "store.h"
#include "tickets.h"
#include "util.h"

/* ---- stats --------------------------------------------------------------- */

struct ctl_stat {
	const char *id;
	const char *name;
	char *own_id;           /* a department only in the database: id owned here */
	long received, open, in_progress, resolved, rejected, overdue;
	long within_sla;
	double *hours;          /* hours to resolve of each resolved ticket */
	size_t n_hours, cap_hours;
};

static void
ctl_stat_add(struct ctl_stat *s, const char *status, time_t created, time_t due,
    time_t resolved, time_t now)
{
	s->received++;
	if (strcmp(status, "open") == 0)
		s->open++;
	else if (strcmp(status, "in_progress") == 0)
		s->in_progress++;
	else if (strcmp(status, "resolved") == 0)
		s->resolved++;
	else if (strcmp(status, "rejected") == 0)
		s->rejected++;
	if ((strcmp(status, "open") == 0 || strcmp(status, "in_progress") == 0) && now > due)
		s->overdue++;
	if (strcmp(status, "resolved") == 0 && resolved > 0) {
		if (s->n_hours == s->cap_hours) {
			s->cap_hours = s->cap_hours ? 2 * s->cap_hours : 16;
			s->hours = xrealloc(s->hours, s->cap_hours * sizeof(*s->hours));
		}
		s->hours[s->n_hours++] = (double)(resolved - created) / 3600.0;
		if (resolved <= due)
			s->within_sla++;
	}
}

static int
ctl_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
ctl_round1(double v)
{
	return round(v * 10.0) / 10.0;
}

static json_t *
ctl_stat_json(struct ctl_stat *s)
{
	json_t *o = json_object();

	if (s->id)
		json_object_set_new(o, "id", ctl_json_text(s->id));
	if (s->name)
		json_object_set_new(o, "name", ctl_json_text(s->name));
	json_object_set_new(o, "received", json_integer(s->received));
	json_object_set_new(o, "open", json_integer(s->open));
	json_object_set_new(o, "in_progress", json_integer(s->in_progress));
	json_object_set_new(o, "resolved", json_integer(s->resolved));
	json_object_set_new(o, "rejected", json_integer(s->rejected));
	json_object_set_new(o, "overdue", json_integer(s->overdue));
	if (s->n_hours == 0) {
		json_object_set_new(o, "median_hours_to_resolve", json_null());
		json_object_set_new(o, "resolved_within_sla_pct", json_null());
	} else {
		double med;

		qsort(s->hours, s->n_hours, sizeof(*s->hours), ctl_cmp_double);
		med = s->n_hours % 2 ? s->hours[s->n_hours / 2] :
		    (s->hours[s->n_hours / 2 - 1] + s->hours[s->n_hours / 2]) / 2.0;
		json_object_set_new(o, "median_hours_to_resolve", json_real(ctl_round1(med)));
		json_object_set_new(o, "resolved_within_sla_pct",
		    json_real(ctl_round1(100.0 * (double)s->within_sla / (double)s->n_hours)));
	}
	return o;
}

static void
ctl_stat_print(json_t *o, const char *label)
{
	json_t *m = json_object_get(o, "median_hours_to_resolve");
	json_t *p = json_object_get(o, "resolved_within_sla_pct");
	char med[32], pct[32], *safe = ctl_tty_text(label, 0);

	if (json_is_null(m))
		util_strlcpy(med, "-", sizeof(med));
	else
		snprintf(med, sizeof(med), "%.1f", json_real_value(m));
	if (json_is_null(p))
		util_strlcpy(pct, "-", sizeof(pct));
	else
		snprintf(pct, sizeof(pct), "%.1f%%", json_real_value(p));
	printf("%-14s %8lld %6lld %11lld %8lld %8lld %7lld %10s %8s\n", safe,
	    (long long)json_integer_value(json_object_get(o, "received")),
	    (long long)json_integer_value(json_object_get(o, "open")),
	    (long long)json_integer_value(json_object_get(o, "in_progress")),
	    (long long)json_integer_value(json_object_get(o, "resolved")),
	    (long long)json_integer_value(json_object_get(o, "rejected")),
	    (long long)json_integer_value(json_object_get(o, "overdue")), med, pct);
	free(safe);
}

int
ctl_cmd_stats(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *since_s = NULL, *until_s = NULL;
	time_t since = 0, until = (time_t)INT64_MAX / 2, now = store_now();
	struct ctl_stat *st = NULL, total;
	size_t n_st, i;
	sqlite3_stmt *s;
	json_t *root, *arr;
	int as_json = 0, ch, rc, code = CTL_EXIT_OK;

	ctl_getopt_reset();
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's': since_s = optarg; break;
		case 'u': until_s = optarg; break;
		case 'j': as_json = 1; break;
		default: return ctl_bad_option("stats", argc, argv);
		}
	}
	if (optind < argc)
		return ctl_usage("stats", "unexpected argument %s", argv[optind]);
	if (since_s && ctl_day_bound(since_s, 0, &since) < 0)
		return ctl_usage("stats", "--since: not a date YYYY-MM-DD: %s", since_s);
	if (until_s && ctl_day_bound(until_s, 1, &until) < 0)
		return ctl_usage("stats", "--until: not a date YYYY-MM-DD: %s", until_s);
	/* both inclusive: an empty range is a typo, not a period without tickets */
	if (since_s && until_s && since >= until)
		return ctl_usage("stats", "--since %s is after --until %s", since_s, until_s);

	/* one slot per configured department, in config order; departments
	 * found only in the database (removed from the config) are added */
	n_st = c->cfg->n_depts;
	st = xcalloc(n_st + 1, sizeof(*st));
	for (i = 0; i < n_st; i++) {
		st[i].id = c->cfg->depts[i].id;
		st[i].name = c->cfg->depts[i].name;
	}
	memset(&total, 0, sizeof(total));
	s = store_prepare(c->st, "SELECT department, status, created_at, due_at, "
	    "coalesce(resolved_at, 0) FROM tickets WHERE created_at >= ?1 AND created_at < ?2");
	if (s == NULL) {
		code = ctl_error(CTL_EXIT_IO, "database: %s", store_errmsg(c->st));
		goto out;
	}
	sqlite3_bind_int64(s, 1, (sqlite3_int64)since);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)until);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *dept = ctl_col(s, 0), *status = ctl_col(s, 1);
		time_t cr = (time_t)sqlite3_column_int64(s, 2), due = (time_t)sqlite3_column_int64(s, 3);
		time_t res = (time_t)sqlite3_column_int64(s, 4);

		for (i = 0; i < n_st; i++)
			if (strcmp(st[i].id, dept) == 0)
				break;
		if (i == n_st) {
			st = xrealloc(st, (n_st + 2) * sizeof(*st));
			memset(&st[n_st], 0, 2 * sizeof(*st));
			st[n_st].own_id = xstrdup(dept);
			st[n_st].id = st[n_st].own_id;
			n_st++;
		}
		ctl_stat_add(&st[i], status, cr, due, res, now);
		ctl_stat_add(&total, status, cr, due, res, now);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		code = ctl_error(CTL_EXIT_IO, "database: %s", store_errmsg(c->st));
		goto out;
	}
	root = json_object();
	arr = json_array();
	for (i = 0; i < n_st; i++)
		json_array_append_new(arr, ctl_stat_json(&st[i]));
	json_object_set_new(root, "departments", arr);
	json_object_set_new(root, "total", ctl_stat_json(&total));
	json_object_set_new(root, "since", since_s ? ctl_json_text(since_s) : json_null());
	json_object_set_new(root, "until", until_s ? ctl_json_text(until_s) : json_null());
	if (as_json) {
		code = ctl_json_print(root);
	} else {
		json_t *x;

		printf("%-14s %8s %6s %11s %8s %8s %7s %10s %8s\n", "DEPARTMENT", "RECEIVED",
		    "OPEN", "IN_PROGRESS", "RESOLVED", "REJECTED", "OVERDUE", "MEDIAN_H", "IN_SLA");
		json_array_foreach(arr, i, x)
			ctl_stat_print(x, json_string_value(json_object_get(x, "id")));
		ctl_stat_print(json_object_get(root, "total"), "total");
		json_decref(root);
	}
out:
	for (i = 0; i < n_st; i++) {
		free(st[i].hours);
		free(st[i].own_id);
	}
	free(st);
	free(total.hours);
	return code;
}

/* ---- outbox -------------------------------------------------------------- */

static int
ctl_outbox_retry(struct ctl *c, int argc, char **argv)
{
	const char *err = NULL;
	sqlite3_stmt *s;
	char *status = NULL;
	long id;
	int rc;

	if (argc != 3)
		return ctl_usage("outbox", "retry takes one outbox ID");
	if ((id = ctl_parse_id(argv[2])) == 0)
		return ctl_usage("outbox", "not an outbox ID: %s", argv[2]);
	if (store_begin(c->st, &err) < 0)
		return ctl_error(CTL_EXIT_IO, "database: %s", err);
	s = store_prepare(c->st, "SELECT status FROM outbox WHERE id = ?1");
	if (s == NULL)
		goto fail_db;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		status = xstrdup(ctl_col(s, 0));
	sqlite3_reset(s);
	if (rc == SQLITE_DONE) {
		store_rollback(c->st);
		return ctl_error(CTL_EXIT_NOENT, "no such outbox entry: %ld", id);
	}
	if (rc != SQLITE_ROW)
		goto fail_db;
	if (strcmp(status, "failed") != 0 && strcmp(status, "suppressed") != 0) {
		store_rollback(c->st);
		rc = ctl_error(CTL_EXIT_REFUSED, "outbox entry %ld is %s: only failed or suppressed "
		    "entries are retried", id, status);
		free(status);
		return rc;
	}
	s = store_prepare(c->st, "UPDATE outbox SET status = 'pending', attempts = 0, "
	    "next_at = ?2, reason = NULL, updated_at = ?2 WHERE id = ?1");
	if (s == NULL)
		goto fail_db;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)store_now());
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE || store_commit(c->st, &err) < 0)
		goto fail_db;
	printf("outbox %ld: %s -> pending\n", id, status);
	free(status);
	return CTL_EXIT_OK;
fail_db:
	free(status);
	rc = ctl_error(CTL_EXIT_IO, "database: %s", store_errmsg(c->st));
	store_rollback(c->st);
	return rc;
}

int
ctl_cmd_outbox(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "failed", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int failed = 0, as_json = 0, ch, rc;
	sqlite3_stmt *s;
	struct ctl_json_array arr;

	if (argc >= 2 && strcmp(argv[1], "retry") == 0)
		return ctl_outbox_retry(c, argc, argv);
	ctl_getopt_reset();
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'f': failed = 1; break;
		case 'j': as_json = 1; break;
		default: return ctl_bad_option("outbox", argc, argv);
		}
	}
	if (optind < argc)
		return ctl_usage("outbox", "unexpected argument %s", argv[optind]);
	s = store_prepare(c->st, "SELECT id, ticket_id, channel, recipient, kind, status, "
	    "attempts, next_at, reason, created_at, coalesce(sent_at, 0) FROM outbox "
	    "WHERE ?1 = 0 OR status = 'failed' ORDER BY id DESC");
	if (s == NULL)
		return ctl_error(CTL_EXIT_IO, "database: %s", store_errmsg(c->st));
	sqlite3_bind_int(s, 1, failed);
	if (as_json)
		ctl_json_array_begin(&arr, stdout);
	else
		printf("%6s  %6s  %-5s  %-28s  %-13s  %-10s  %3s  %-16s  %s\n", "ID", "TICKET", "VIA",
		    "TO", "KIND", "STATUS", "TRY", "NEXT", "REASON");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int has_ticket = sqlite3_column_type(s, 1) != SQLITE_NULL;

		if (as_json) {
			json_t *o = json_object();

			json_object_set_new(o, "id", json_integer(sqlite3_column_int64(s, 0)));
			json_object_set_new(o, "ticket", has_ticket ?
			    json_integer(sqlite3_column_int64(s, 1)) : json_null());
			json_object_set_new(o, "channel", ctl_json_text(ctl_col(s, 2)));
			json_object_set_new(o, "to", ctl_json_text(ctl_col(s, 3)));
			json_object_set_new(o, "kind", ctl_json_text(ctl_col(s, 4)));
			json_object_set_new(o, "status", ctl_json_text(ctl_col(s, 5)));
			json_object_set_new(o, "attempts", json_integer(sqlite3_column_int(s, 6)));
			json_object_set_new(o, "next_at",
			    ctl_json_time((time_t)sqlite3_column_int64(s, 7)));
			json_object_set_new(o, "reason", sqlite3_column_type(s, 8) == SQLITE_NULL ?
			    json_null() : ctl_json_text(ctl_col(s, 8)));
			json_object_set_new(o, "created_at",
			    ctl_json_time((time_t)sqlite3_column_int64(s, 9)));
			json_object_set_new(o, "sent_at",
			    ctl_json_time((time_t)sqlite3_column_int64(s, 10)));
			ctl_json_array_add(&arr, o);
		} else {
			char next[32], tk[24], *to = ctl_tty_text(ctl_col(s, 3), 0);
			char *reason = ctl_tty_text(ctl_col(s, 8), 0);

			ctl_local_time((time_t)sqlite3_column_int64(s, 7), next);
			if (has_ticket)
				snprintf(tk, sizeof(tk), "%lld", (long long)sqlite3_column_int64(s, 1));
			else
				util_strlcpy(tk, "-", sizeof(tk));
			printf("%6lld  %6s  %-5s  %-28s  %-13s  %-10s  %3d  %-16s  %s\n",
			    (long long)sqlite3_column_int64(s, 0), tk, ctl_col(s, 2), to,
			    ctl_col(s, 4), ctl_col(s, 5), sqlite3_column_int(s, 6), next, reason);
			free(to);
			free(reason);
		}
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return ctl_error(CTL_EXIT_IO, "database: %s", store_errmsg(c->st));
	return as_json ? ctl_json_array_end(&arr) : CTL_EXIT_OK;
}

/* ---- export -------------------------------------------------------------- */

/* A field a spreadsheet would take for a formula: starts with = + - @ TAB or
 * CR, and is not just a phone number ("+381641112222" is harmless). */
static int
ctl_csv_formula(const char *v)
{
	if (*v == '\0' || strchr("=+-@\t\r", *v) == NULL)
		return 0;
	return !(*v == '+' && v[1] != '\0' && strspn(v + 1, "0123456789") == strlen(v + 1));
}

/* One CSV field, RFC 4180: quoted when it holds a comma, quote, CR or LF.
 * Invalid UTF-8 is repaired (the file is declared UTF-8 by its BOM), and text
 * a spreadsheet would run as a formula (a citizen's "=HYPERLINK(...)") gets a
 * leading ' so it is shown as text (OWASP's advice on CSV injection). */
static int csv_to_tty;     /* export's stdout is a terminal: see ctl_cmd_export */

static void
ctl_csv_field(FILE *fp, const char *v, int last)
{
	char *fixed = NULL;
	const char *p;

	if (csv_to_tty)
		v = fixed = ctl_tty_text(v, 1);
	else if (!norm_utf8_valid(v, strlen(v)))
		v = fixed = norm_utf8_repair(v, strlen(v));
	if (ctl_csv_formula(v) || strpbrk(v, ",\"\r\n") != NULL) {
		fputc('"', fp);
		if (ctl_csv_formula(v))
			fputc('\'', fp);
		for (p = v; *p; p++) {
			if (*p == '"')
				fputc('"', fp);
			fputc(*p, fp);
		}
		fputc('"', fp);
	} else {
		fputs(v, fp);
	}
	fputs(last ? "\r\n" : ",", fp);
	free(fixed);
}

int
ctl_cmd_export(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "since", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const cols[] = { "id", "status", "channel", "reporter", "department",
		"subject", "text", "created_at", "due_at", "updated_at", "resolved_at", "overdue" };
	const size_t n_cols = sizeof(cols) / sizeof(cols[0]);
	const char *format = NULL, *since_s = NULL;
	time_t since = 0, now = store_now();
	sqlite3_stmt *s;
	struct ctl_json_array arr;
	int csv, ch, rc;
	size_t i;

	ctl_getopt_reset();
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'f': format = optarg; break;
		case 's': since_s = optarg; break;
		default: return ctl_bad_option("export", argc, argv);
		}
	}
	if (optind < argc)
		return ctl_usage("export", "unexpected argument %s", argv[optind]);
	if (format == NULL)
		return ctl_usage("export", "--format is required");
	if (strcmp(format, "csv") == 0)
		csv = 1;
	else if (strcmp(format, "json") == 0)
		csv = 0;
	else
		return ctl_usage("export", "--format must be csv or json, not %s", format);
	if (since_s && ctl_day_bound(since_s, 0, &since) < 0)
		return ctl_usage("export", "--since: not a date YYYY-MM-DD: %s", since_s);
	s = store_prepare(c->st, "SELECT id, status, channel, reporter, department, subject, "
	    "text, created_at, due_at, updated_at, coalesce(resolved_at, 0) FROM tickets "
	    "WHERE created_at >= ?1 ORDER BY id");
	if (s == NULL)
		return ctl_error(CTL_EXIT_IO, "database: %s", store_errmsg(c->st));
	sqlite3_bind_int64(s, 1, (sqlite3_int64)since);
	if (csv) {
		/* to a terminal (not a file or a pipe) the fields are shown as the
		 * tables show text: no citizen's escape sequence reaches it */
		csv_to_tty = isatty(STDOUT_FILENO);
		fputs("\xEF\xBB\xBF", stdout);
		for (i = 0; i < n_cols; i++)
			ctl_csv_field(stdout, cols[i], i + 1 == n_cols);
	} else {
		ctl_json_array_begin(&arr, stdout);
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *status = ctl_col(s, 1);
		time_t due = (time_t)sqlite3_column_int64(s, 8);
		int od = (strcmp(status, "open") == 0 || strcmp(status, "in_progress") == 0) &&
		    now > due;

		if (csv) {
			char num[24], t[32];

			snprintf(num, sizeof(num), "%lld", (long long)sqlite3_column_int64(s, 0));
			ctl_csv_field(stdout, num, 0);
			for (i = 1; i <= 6; i++)
				ctl_csv_field(stdout, ctl_col(s, (int)i), 0);
			for (i = 7; i <= 10; i++) {
				util_iso8601((time_t)sqlite3_column_int64(s, (int)i), t);
				ctl_csv_field(stdout, t, 0);
			}
			ctl_csv_field(stdout, od ? "true" : "false", 1);
		} else {
			json_t *o = json_object();

			json_object_set_new(o, "id", json_integer(sqlite3_column_int64(s, 0)));
			for (i = 1; i <= 6; i++)
				json_object_set_new(o, cols[i], ctl_json_text(ctl_col(s, (int)i)));
			for (i = 7; i <= 10; i++)
				json_object_set_new(o, cols[i],
				    ctl_json_time((time_t)sqlite3_column_int64(s, (int)i)));
			json_object_set_new(o, "overdue", json_boolean(od));
			ctl_json_array_add(&arr, o);
		}
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return ctl_error(CTL_EXIT_IO, "database: %s", store_errmsg(c->st));
	return csv ? CTL_EXIT_OK : ctl_json_array_end(&arr);
}

/* ---- backup -------------------------------------------------------------- */

/* path with its directory resolved (the file itself need not exist), or NULL */
static char *
ctl_resolved(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir, *real, *out;

	if (slash == NULL)
		dir = xstrdup(".");
	else if (slash == path)
		dir = xstrdup("/");
	else
		dir = xstrndup(path, (size_t)(slash - path));
	real = realpath(dir, NULL);
	free(dir);
	if (real == NULL)
		return NULL;
	out = xasprintf("%s/%s", real, slash ? slash + 1 : path);
	free(real);
	return out;
}

/* Is FILE the database itself or one of the files next to it that the store
 * and the daemon use?  The copy is renamed over FILE: over the live database
 * it would cut off every connection's later writes (s48d keeps writing to the
 * replaced file), over its WAL it would corrupt it.  ".sent" is an older
 * s48's crash journal, read (and removed) by s48d's next start: a copy over
 * it would lose it there. */
static int
ctl_backup_clobbers(const char *db, const char *file)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal", ".lock", ".sent",
	    ".sent-log", ".sent-log.1" };
	struct stat a, b;
	char *rdb = NULL, *rfile = NULL;
	size_t i;
	int hit = 0;

	if (stat(db, &a) == 0 && stat(file, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino)
		return 1;
	if ((rdb = ctl_resolved(db)) == NULL || (rfile = ctl_resolved(file)) == NULL)
		goto out;
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]) && !hit; i++) {
		size_t n = strlen(rdb);

		hit = strncmp(rfile, rdb, n) == 0 && strcmp(rfile + n, suffixes[i]) == 0;
	}
out:
	free(rdb);
	free(rfile);
	return hit;
}

int
ctl_cmd_backup(struct ctl *c, int argc, char **argv)
{
	const char *err = NULL;
	struct stat sb;
	mode_t old_mask = 0;
	int rc, masked = 0;

	if (argc != 2 || argv[1][0] == '\0' || argv[1][0] == '-')
		return ctl_usage("backup", "expected one FILE");
	if (ctl_backup_clobbers(c->cfg->database, argv[1]))
		return ctl_error(CTL_EXIT_REFUSED, "backup: %s is the database or one of its files; "
		    "give another FILE", argv[1]);
	/* the copy holds the same citizens' numbers and addresses: it is made
	 * no more readable than the database (the umask narrows the new file) */
	if (stat(c->cfg->database, &sb) == 0) {
		old_mask = umask(0);
		umask(old_mask | (~sb.st_mode & 0777));
		masked = 1;
	}
	rc = store_backup(c->st, argv[1], &err);
	if (masked)
		umask(old_mask);
	if (rc < 0)
		return ctl_error(CTL_EXIT_IO, "%s", err);
	printf("backup written to %s\n", argv[1]);
	return CTL_EXIT_OK;
}
