/*
 * ctl_common.c - what every s48ctl verb shares: error and usage output,
 * opening the database on demand, time formatting, JSON printing.
 */
#include "ctl.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "normalize.h"
#include "router.h"
#include "sla.h"
#include "store.h"
#include "util.h"

static const struct {
	const char *verb, *synopsis;
} ctl_synopses[] = {
	{ "list", "list [--status S] [--dept ID] [--overdue] [--json]" },
	{ "show", "show N [--json]" },
	{ "status", "status N STATUS [--note TEXT] [--by NAME]" },
	{ "assign", "assign N DEPT [--note TEXT] [--by NAME]" },
	{ "note", "note N TEXT [--public] [--by NAME]" },
	{ "stats", "stats [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--json]" },
	{ "outbox", "outbox [--failed] [--json] | outbox retry ID" },
	{ "export", "export --format csv|json [--since YYYY-MM-DD]" },
	{ "new", "new --from PHONE_OR_EMAIL [--subject S] [--json] TEXT" },
	{ "route", "route TEXT" },
	{ "attachment", "attachment N INDEX [-o FILE]" },
	{ "backup", "backup FILE" },
};

const char *
ctl_synopsis(const char *verb)
{
	size_t i;

	for (i = 0; i < sizeof(ctl_synopses) / sizeof(ctl_synopses[0]); i++)
		if (strcmp(ctl_synopses[i].verb, verb) == 0)
			return ctl_synopses[i].synopsis;
	return "";
}

int
ctl_error(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("s48ctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int
ctl_usage(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fputs("s48ctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (usage: s48ctl [-c FILE] %s)\n", ctl_synopsis(verb));
	return CTL_EXIT_USAGE;
}

int
ctl_store(struct ctl *c)
{
	const char *err = NULL;
	int rc;

	if (c->st)
		return 0;
	/* a database it creates is owner-only (store_open) */
	rc = store_open(c->cfg->database, &c->st, &err);
	if (rc < 0)
		return ctl_error(CTL_EXIT_IO, "database: %s", err);
	return 0;
}

const struct router *
ctl_router(struct ctl *c)
{
	if (c->rt == NULL)
		c->rt = router_new(c->cfg);
	return c->rt;
}

long
ctl_parse_id(const char *s)
{
	char *end;
	long v;

	if (s == NULL || *s < '0' || *s > '9')
		return 0;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v <= 0 || v > 999999999999L)
		return 0;
	return v;
}

const char *
ctl_default_by(void)
{
	const char *u = getenv("SUDO_USER");

	if (u == NULL || *u == '\0')
		u = getenv("USER");
	if (u == NULL || *u == '\0')
		u = "s48ctl";
	return u;
}

json_t *
ctl_json_text(const char *s)
{
	json_t *j;
	char *fixed;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) != NULL)
		return j;
	/* not valid UTF-8 (an old row, a gateway's bytes): repaired, never dropped */
	fixed = norm_utf8_repair(s, strlen(s));
	j = json_string(fixed);
	free(fixed);
	return j ? j : json_string("");
}

char *
ctl_tty_text(const char *s, int keep_nl)
{
	unsigned char *p, *q;
	char *out;

	if (s == NULL)
		return xstrdup("");
	out = norm_utf8_repair(s, strlen(s));
	for (p = q = (unsigned char *)out; *p; p++) {
		if (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F) {
			*q++ = '?';     /* C1 control, e.g. U+009B (CSI) */
			p++;
		} else if (*p == 0xE2 && ((p[1] == 0x80 && p[2] >= 0xAA && p[2] <= 0xAE) ||
		    (p[1] == 0x81 && p[2] >= 0xA6 && p[2] <= 0xA9))) {
			/* U+202A..U+202E, U+2066..U+2069: bidirectional embeddings,
			 * overrides and isolates would reorder what follows on the
			 * line ("Trojan Source"): a subject could show another
			 * ticket's status or date in a table */
			*q++ = '?';
			p += 2;
		} else if ((*p < 0x20 && *p != '\t' && !(keep_nl && *p == '\n')) || *p == 0x7F) {
			*q++ = '?';     /* ESC, BEL, CR, backspace ... */
		} else {
			*q++ = *p;
		}
	}
	*q = '\0';
	return out;
}

json_t *
ctl_json_time(time_t t)
{
	char iso[32];

	if (t == 0)
		return json_null();
	util_iso8601(t, iso);
	return json_string(iso);
}

/*
 * Jansson writes UTF-8 as it is, C1 controls and bidirectional controls
 * too: U+009B is a CSI to many terminals, U+202E reverses what follows, and
 * `s48ctl show N --json` is read on terminals.  They are written as \u
 * escapes instead (JSON strings are the only place they can be; the value
 * a program reads is the same).  A sequence cut between two calls waits in
 * carry.
 */
struct ctl_json_out {
	FILE *fp;
	unsigned char carry[2];
	size_t ncarry;
};

static int
ctl_json_put(const char *buf, size_t size, void *data)
{
	struct ctl_json_out *o = data;
	unsigned char *all = xmalloc(size + 2);
	size_t n = o->ncarry + size, i, from = 0;

	memcpy(all, o->carry, o->ncarry);
	memcpy(all + o->ncarry, buf, size);
	o->ncarry = 0;
	for (i = 0; i < n; i++) {
		unsigned cp = 0, len = 0;

		if (all[i] != 0xC2 && all[i] != 0xE2)
			continue;
		if (i + 1 >= n || (all[i] == 0xE2 && i + 2 >= n &&
		    (all[i + 1] == 0x80 || all[i + 1] == 0x81))) {
			/* maybe the start of one: decide with the next bytes */
			o->ncarry = n - i;
			memcpy(o->carry, all + i, o->ncarry);
			n = i;
			break;
		}
		if (all[i] == 0xC2 && all[i + 1] >= 0x80 && all[i + 1] <= 0x9F) {
			cp = all[i + 1];
			len = 2;
		} else if (all[i] == 0xE2 && ((all[i + 1] == 0x80 && all[i + 2] >= 0xAA &&
		    all[i + 2] <= 0xAE) || (all[i + 1] == 0x81 && all[i + 2] >= 0xA6 &&
		    all[i + 2] <= 0xA9))) {
			cp = 0x2000 | ((unsigned)(all[i + 1] & 0x3F) << 6) | (all[i + 2] & 0x3F);
			len = 3;
		}
		if (len == 0)
			continue;
		fwrite(all + from, 1, i - from, o->fp);
		fprintf(o->fp, "\\u%04x", cp);
		i += len - 1;
		from = i + 1;
	}
	if (n > from)
		fwrite(all + from, 1, n - from, o->fp);
	free(all);
	return ferror(o->fp) ? -1 : 0;
}

/*
 * The JSON arrays of `list --json`, `outbox --json` and `export --format
 * json`, written a row at a time (a year or five of tickets made 200 MB of
 * jansson objects for 100,000 rows as one array): the bytes ctl_json_print
 * would write for the whole array, escapes included.  Each element is
 * dumped as at the top level, one more indentation level added after each
 * line break (a line break in a JSON string is written "\n", so every raw
 * one is the dump's own).
 */
static int
ctl_json_put_indented(const char *buf, size_t size, void *data)
{
	const char *nl;

	while (size > 0 && (nl = memchr(buf, '\n', size)) != NULL) {
		if (ctl_json_put(buf, (size_t)(nl - buf) + 1, data) < 0 ||
		    ctl_json_put("  ", 2, data) < 0)
			return -1;
		size -= (size_t)(nl - buf) + 1;
		buf = nl + 1;
	}
	return size > 0 ? ctl_json_put(buf, size, data) : 0;
}

/* j through the escaping writer to fp (one level in when indented), what a
 * cut sequence left waiting included; frees j.  0, or -1 (writing failed). */
static int
ctl_json_dump(json_t *j, FILE *fp, int indented)
{
	struct ctl_json_out o = { fp, { 0, 0 }, 0 };
	int rc = json_dump_callback(j, indented ? ctl_json_put_indented : ctl_json_put, &o,
	    JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (o.ncarry > 0)
		fwrite(o.carry, 1, o.ncarry, fp);
	json_decref(j);
	return rc == 0 ? 0 : -1;
}

int
ctl_json_print(json_t *j)
{
	int rc = ctl_json_dump(j, stdout, 0);

	fputc('\n', stdout);
	return rc == 0 ? CTL_EXIT_OK : ctl_error(CTL_EXIT_IO, "writing JSON failed");
}

void
ctl_json_array_begin(struct ctl_json_array *a, FILE *f)
{
	memset(a, 0, sizeof(*a));
	a->f = f;
}

void
ctl_json_array_add(struct ctl_json_array *a, json_t *o)
{
	fputs(a->n++ == 0 ? "[\n  " : ",\n  ", a->f);
	if (ctl_json_dump(o, a->f, 1) < 0)
		a->err = 1;
}

int
ctl_json_array_end(struct ctl_json_array *a)
{
	fputs(a->n == 0 ? "[]\n" : "\n]\n", a->f);
	if (a->err || fflush(a->f) != 0 || ferror(a->f))
		return ctl_error(CTL_EXIT_IO, "writing JSON failed");
	return CTL_EXIT_OK;
}

void
ctl_local_time(time_t t, char out[32])
{
	struct tm tm;

	if (t == 0 || localtime_r(&t, &tm) == NULL) {
		util_strlcpy(out, "-", 32);
		return;
	}
	strftime(out, 32, "%Y-%m-%d %H:%M", &tm);
}

int
ctl_day_bound(const char *ymd, int until, time_t *t_r)
{
	time_t start, next;

	if (ymd == NULL || strlen(ymd) != 10 || sla_local_day(ymd, &start, &next) < 0)
		return -1;
	*t_r = until ? next : start;
	return 0;
}

const char *
ctl_col(sqlite3_stmt *s, int i)
{
	const char *v = (const char *)sqlite3_column_text(s, i);

	return v ? v : "";
}

void
ctl_getopt_reset(void)
{
	optind = 0;
	opterr = 0;
}

/* Whether a is the text of an argument rather than an option: "-" alone,
 * or '-' and then neither a letter nor a second '-'. */
static int
ctl_is_text(const char *a)
{
	unsigned char c = (unsigned char)a[1];

	return a[0] != '-' || c == '\0' ||
	    (c != '-' && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')));
}

/* Whether the long option "--name" or "--name=value" in a takes the next
 * argument as its value. */
static int
ctl_takes_next(const char *a, const struct option *opts)
{
	size_t n;

	if (a[0] != '-' || a[1] != '-' || strchr(a, '=') != NULL)
		return 0;
	n = strlen(a + 2);
	for (; opts->name != NULL; opts++)
		if (opts->has_arg == required_argument && strncmp(opts->name, a + 2, n) == 0 &&
		    n > 0)
			return 1;      /* getopt_long takes unambiguous abbreviations too */
	return 0;
}

int
ctl_text_args(int *argc_r, char **argv, const struct option *opts)
{
	int argc = *argc_r, i, nopt = 1, npos = 0, rest = 0;
	char **pos;

	if (argc < 2)
		return argc;
	pos = xcalloc((size_t)argc, sizeof(*pos));
	for (i = 1; i < argc; i++) {
		if (rest || ctl_is_text(argv[i])) {
			pos[npos++] = argv[i];
		} else if (strcmp(argv[i], "--") == 0) {
			rest = 1;
		} else {
			argv[nopt++] = argv[i];
			if (ctl_takes_next(argv[i], opts) && i + 1 < argc)
				argv[nopt++] = argv[++i];
		}
	}
	memcpy(argv + nopt, pos, (size_t)npos * sizeof(*pos));
	free(pos);
	*argc_r = nopt + npos;
	return nopt;
}

int
ctl_bad_option(const char *verb, int argc, char **argv)
{
	const char *opt = (optind > 0 && optind <= argc) ? argv[optind - 1] : "?";

	return ctl_usage(verb, "bad option or missing argument: %s", opt);
}
