/*
 * outbox_test.h - shared by test_outbox_batch.c and test_outbox_chunks.c: a
 * configuration and database in a test directory, pending email rows (one,
 * or n in one transaction), and counting outbox rows.
 * Header-only (static inline) because every test file is its own program;
 * builds on store_test.h.
 */
#ifndef S48_OUTBOX_TEST_H
#define S48_OUTBOX_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "config.h"
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

#endif
