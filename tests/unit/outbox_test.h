/*
 * outbox_test.h - shared by test_outbox_batch.c, test_outbox_chunks.c,
 * test_outbox_restore.c and test_notifier_smtp.c: a configuration and
 * database in a test directory, pending email rows (one, or n in one
 * transaction), counting outbox rows, and running a shell command, above all
 * a real smtp-sink (tests/lib/smtp_sink.sh) in a directory of its own.
 * Header-only (static inline) because every test file is its own program;
 * builds on store_test.h.
 */
#ifndef S48_OUTBOX_TEST_H
#define S48_OUTBOX_TEST_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <sqlite3.h>

#include "config.h"
#include "log.h"
#include "store.h"
#include "util.h"

#include "store_test.h"

/*
 * DIR/s48.conf (one department, water) and DIR/secret, loaded into *cfg_r,
 * and the database opened into *st_r.  smtp_url: NULL for no smtp group.
 */
static inline void
ot_open(const char *dir, const char *smtp_url, struct s48_config **cfg_r,
    struct store **st_r)
{
	char *conf;

	conf = xasprintf("database = \"s48.db\";\nsecret_file = \"secret\";\n"
	    "log = { level = \"err\"; target = \"stderr\"; };\n%s%s%s"
	    "departments = ( { id = \"water\"; name = \"Vodovod\"; email = [\"v@example.org\"];"
	    " keywords = [\"voda\"]; } );\ndefault_department = \"water\";\n",
	    smtp_url ? "smtp = { url = \"" : "", smtp_url ? smtp_url : "",
	    smtp_url ? "\"; tls = \"none\"; from = \"S48 <prijave@example.org>\"; };\n" : "");
	ts_config_open(dir, "secret\n", conf, cfg_r, st_r);
	free(conf);
}

/* one pending email acknowledgement (subject "Prijava") due at next_at;
 * message_id: NULL for body + "@example.org" */
static inline void
ot_add_email(struct store *st, const char *to, const char *body, const char *message_id,
    time_t next_at)
{
	sqlite3_stmt *s = store_prepare(st,
	    "INSERT INTO outbox(channel, recipient, kind, subject, body, message_id, status, "
	    "next_at, created_at, updated_at) VALUES('email', ?1, 'email_ack', 'Prijava', ?2, "
	    "coalesce(?3, ?2 || '@example.org'), 'pending', ?4, ?4, ?4)");

	assert_non_null(s);
	sqlite3_bind_text(s, 1, to, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, body, -1, SQLITE_TRANSIENT);
	if (message_id != NULL)
		sqlite3_bind_text(s, 3, message_id, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, 3);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)next_at);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_reset(s);
}

/*
 * n pending email rows in one transaction: row i to
 * "gradjanin<i>@example.net", body "mark-<tag>-<i>-end" (a mark to find in
 * what a sink received), message_id "<tag>.<i>@example.org", due at
 * first_due + i % spread (spread 1: all at first_due).
 */
static inline void
ot_add_rows(struct store *st, const char *tag, int n, time_t first_due, int spread)
{
	int i;

	assert_true(spread >= 1);
	assert_int_equal(store_begin(st, NULL), 0);
	for (i = 0; i < n; i++) {
		char to[64], body[64], id[64];

		snprintf(to, sizeof(to), "gradjanin%d@example.net", i);
		snprintf(body, sizeof(body), "mark-%s-%d-end", tag, i);
		snprintf(id, sizeof(id), "%s.%d@example.org", tag, i);
		ot_add_email(st, to, body, id, first_due + i % spread);
	}
	assert_int_equal(store_commit(st, NULL), 0);
}

/* SELECT count(*) FROM outbox WHERE where */
static inline long long
ot_count(struct store *st, const char *where)
{
	char *q = xasprintf("SELECT count(*) FROM outbox WHERE %s", where);
	long long v = ts_qint(store_db(st), q, NULL, NULL);

	free(q);
	return v;
}

/* the shell command fmt... (sh -c): its exit status, or -1 when it did not
 * exit */
static inline int
ot_run(const char *fmt, ...) S48_PRINTF(1, 2);

static inline int
ot_run(const char *fmt, ...)
{
	va_list ap;
	char cmd[8192];
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* topdir (PATH_MAX bytes) := the repository root, $S48_TOP or ".", made
 * absolute: 0, or -1 */
static inline int
ot_find_top(char *topdir)
{
	const char *top = getenv("S48_TOP");

	if (top == NULL || top[0] == '\0')
		top = ".";
	return realpath(top, topdir) == NULL ? -1 : 0;
}

/* the number in DIR/FILE (a port file), or -1 with *error_r set */
static inline int
ot_read_port(const char *dir, const char *file, const char **error_r)
{
	char path[4400], *data = NULL;
	size_t len;
	int port;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (util_read_file(path, 64, &data, &len, error_r) < 0)
		return -1;
	port = atoi(data);
	free(data);
	return port;
}

/* an smtp-sink started in DIR/NAME with extra smtp-sink args ("" for none),
 * top the repository root; its port */
static inline int
ot_sink_start(const char *top, const char *dir, const char *name, const char *args)
{
	const char *err = NULL;
	char file[128];
	int port;

	if (ot_run("sh '%s/tests/lib/smtp_sink.sh' start '%s/%s' %s >/dev/null", top, dir, name,
	    args) != 0) {
		if (*args != '\0')
			fail_msg("cannot start smtp-sink %s", args);
		fail_msg("cannot start smtp-sink");
	}
	snprintf(file, sizeof(file), "%s/smtp-sink.port", name);
	port = ot_read_port(dir, file, &err);
	if (port < 0)
		fail_msg("%s/%s: %s", dir, file, err);
	return port;
}

/* the smtp-sink in DIR/NAME stopped */
static inline void
ot_sink_stop(const char *top, const char *dir, const char *name)
{
	ot_run("sh '%s/tests/lib/smtp_sink.sh' stop '%s/%s'", top, dir, name);
}

/* every smtp-sink in a directory of DIR stopped (a teardown's sweep, also
 * of those a test that failed half-way left) */
static inline void
ot_sinks_stop_all(const char *top, const char *dir)
{
	ot_run("for d in '%s'/*/; do sh '%s/tests/lib/smtp_sink.sh' stop \"$d\"; done", dir, top);
}

/* messages the sink in DIR/NAME captured whose text contains what
 * (grep -F), or -1 */
static inline int
ot_sink_count(const char *dir, const char *name, const char *what)
{
	char cmd[512], line[64];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "grep -rlF -- '%s' '%s/%s/mail' 2>/dev/null | wc -l", what,
	    dir, name);
	p = popen(cmd, "r");
	if (p != NULL && fgets(line, sizeof(line), p) != NULL)
		n = atoi(line);
	if (p != NULL)
		pclose(p);
	return n;
}

#endif
