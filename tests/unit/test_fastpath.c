/*
 * test_fastpath.c - what was changed for speed (BENCHMARKS.md) keeps the
 * behaviour: migrations 002 (CHECK constraints without a temporary b-tree,
 * partial indexes, dropped indexes) and 003 (fewer index entries per
 * message; every look-up still indexed) on new and on version-1 databases, the
 * statement cache's hash, and the local-time caches of sla.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "sla.h"
#include "store.h"
#include "util.h"

#include "store_test.h"

struct fx {
	char dir[64];
	char path[128];
	struct store *st;
};

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));

	ts_tmpdir(f->dir, sizeof(f->dir), "fastpath");
	snprintf(f->path, sizeof(f->path), "%s/s48.db", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(&f->st);
	if (ts_rmtree(f->dir) < 0)
		return -1;
	free(f);
	return 0;
}

static void
open_store(struct fx *f)
{
	ts_open(f->path, &f->st);
}

/* sqlite3_exec result code of sql on st (no rows expected). */
static int
exec_rc(struct store *st, const char *sql)
{
	return sqlite3_exec(store_db(st), sql, NULL, NULL, NULL);
}

/* The whole EXPLAIN (or EXPLAIN QUERY PLAN) listing of sql as one string. */
static char *
explain(struct store *st, const char *prefix, const char *sql)
{
	char *q = xasprintf("%s %s", prefix, sql);
	struct buf b;
	sqlite3_stmt *s;
	int i;

	buf_init(&b, 1 << 20);
	assert_int_equal(sqlite3_prepare_v2(store_db(st), q, -1, &s, NULL), SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW) {
		for (i = 0; i < sqlite3_column_count(s); i++) {
			const char *v = (const char *)sqlite3_column_text(s, i);

			buf_appends(&b, v ? v : "");
			buf_appends(&b, " ");
		}
		buf_appends(&b, "\n");
	}
	sqlite3_finalize(s);
	free(q);
	buf_appendc(&b, '\0');
	return b.data;
}

static const char ticket_insert[] =
    "INSERT INTO tickets(status, channel, reporter, department, subject, text, created_at, "
    "due_at, updated_at) VALUES(?1, 'sms', '+381641112222', 'water', '', '', 1, 2, 1)";
static const char outbox_insert[] =
    "INSERT INTO outbox(ticket_id, channel, recipient, kind, message_id, status, next_at, "
    "created_at, updated_at) VALUES(NULL, 'sms', '+381641112222', 'sms_ack', ?2, ?1, 1, 1, 1)";

/* Insert a ticket / outbox row with status s: the sqlite3_step result. */
static int
insert_status(struct store *st, const char *sql, const char *s, int n)
{
	sqlite3_stmt *stmt = store_prepare(st, sql);
	char id[32];
	int rc;

	assert_non_null(stmt);
	snprintf(id, sizeof(id), "m%d", n);
	sqlite3_bind_text(stmt, 1, s, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return rc;
}

static void
check_constraints(struct store *st)
{
	static const char *const good_t[] = { "open", "in_progress", "resolved", "rejected" };
	static const char *const bad_t[] = { "closed", "OPEN", "", "open " };
	static const char *const good_o[] = { "pending", "sending", "sent", "failed", "suppressed" };
	static const char *const bad_o[] = { "done", "Sent", "" };
	size_t i;
	int n = 0;

	for (i = 0; i < sizeof(good_t) / sizeof(good_t[0]); i++)
		assert_int_equal(insert_status(st, ticket_insert, good_t[i], n++), SQLITE_DONE);
	for (i = 0; i < sizeof(bad_t) / sizeof(bad_t[0]); i++)
		assert_int_equal(insert_status(st, ticket_insert, bad_t[i], n++),
		    SQLITE_CONSTRAINT_CHECK);
	for (i = 0; i < sizeof(good_o) / sizeof(good_o[0]); i++)
		assert_int_equal(insert_status(st, outbox_insert, good_o[i], n++), SQLITE_DONE);
	for (i = 0; i < sizeof(bad_o) / sizeof(bad_o[0]); i++)
		assert_int_equal(insert_status(st, outbox_insert, bad_o[i], n++),
		    SQLITE_CONSTRAINT_CHECK);
	/* an UPDATE is checked as well */
	assert_int_equal(exec_rc(st, "UPDATE tickets SET status = 'bogus' WHERE id = 1"),
	    SQLITE_CONSTRAINT_CHECK);
	assert_int_equal(exec_rc(st, "UPDATE outbox SET status = 'bogus' WHERE id = 1"),
	    SQLITE_CONSTRAINT_CHECK);
}

/* Inserts build no temporary b-tree; look-ups use the (partial) indexes. */
static void
check_plans(struct store *st)
{
	static const struct {
		const char *sql, *index;
	} lookups[] = {
		{ "SELECT ticket_id, max(at) FROM messages WHERE norm_hash = ?1 AND direction = 'in'",
		  "messages_norm_hash" },
		{ "SELECT id FROM raw_messages WHERE alt_key = ?1 LIMIT 1", "raw_messages_alt_key" },
		{ "SELECT ticket_id FROM messages WHERE message_id = ?1 AND direction = 'in'",
		  "messages_message_id" },
		/* 004: keyed by UTC day first (outbox_queue.c's OUTBOX_CAP_COUNT) */
		{ "SELECT count(*) FROM outbox WHERE created_at / 86400 = nullif(?4, ?3) "
		  "AND recipient = ?1 AND created_at >= ?2 AND auto = 1 AND status <> 'suppressed'",
		  "outbox_auto" },
		/* 003: email rows only (tickets_find_by_message_id) */
		{ "SELECT ticket_id FROM outbox WHERE message_id = ?1 AND channel = 'email' "
		  "AND ticket_id IS NOT NULL LIMIT 1", "outbox_message_id" },
		/* outbox_queue's look-ups for an automatic SMS, in one statement */
		{ "SELECT EXISTS(SELECT 1 FROM sms_optout WHERE number = ?1), (SELECT count(*) "
		  "FROM outbox WHERE created_at / 86400 = ?3 AND recipient = ?1 AND "
		  "created_at >= ?2 AND auto = 1 AND status <> 'suppressed')", "outbox_auto" },
		{ "SELECT EXISTS(SELECT 1 FROM sms_optout WHERE number = ?1), (SELECT count(*) "
		  "FROM outbox WHERE created_at / 86400 = ?3 AND recipient = ?1 AND "
		  "created_at >= ?2 AND auto = 1 AND status <> 'suppressed')", "sqlite_autoindex_sms_optout_1" },
		{ "SELECT id FROM raw_messages WHERE source_key = ?1",
		  "sqlite_autoindex_raw_messages_1" },
		{ "SELECT id FROM tickets WHERE reporter = ?1 AND channel = 'sms' "
		  "ORDER BY created_at DESC, id DESC LIMIT 1", "tickets_reporter" },
		/* sla_watch.c's two queries (escalation, warning), re-arming included */
		{ "SELECT id FROM tickets WHERE status IN ('open', 'in_progress') AND backlog = 0 "
		  "AND due_at <= ?1 AND (escalated_at IS NULL OR (updated_at >= escalated_at AND "
		  "EXISTS (SELECT 1 FROM events e WHERE e.ticket_id = tickets.id AND "
		  "(e.kind = 'status' AND e.to_value = 'open' AND e.from_value IN ('resolved', "
		  "'rejected')) AND e.id > (SELECT coalesce(max(n.id), 0) FROM events n WHERE "
		  "n.ticket_id = tickets.id AND n.kind = 'escalation'))))", "tickets_status_due" },
		{ "SELECT id FROM tickets WHERE status IN ('open', 'in_progress') AND backlog = 0 "
		  "AND due_at <= ?1 AND (escalated_at IS NULL OR (updated_at >= escalated_at AND "
		  "EXISTS (SELECT 1 FROM events e WHERE e.ticket_id = tickets.id AND "
		  "(e.kind = 'status' AND e.to_value = 'open' AND e.from_value IN ('resolved', "
		  "'rejected')) AND e.id > (SELECT coalesce(max(n.id), 0) FROM events n WHERE "
		  "n.ticket_id = tickets.id AND n.kind = 'escalation'))))", "events_ticket" },
		{ "SELECT id FROM tickets WHERE status IN ('open', 'in_progress') AND backlog = 0 "
		  "AND warn_at IS NOT NULL AND warn_at <= ?1 AND due_at > ?1 AND (warned_at IS NULL "
		  "OR (updated_at >= warned_at AND EXISTS (SELECT 1 FROM events e WHERE "
		  "e.ticket_id = tickets.id AND ((e.kind = 'status' AND e.to_value = 'open' AND "
		  "e.from_value IN ('resolved', 'rejected')) OR e.kind = 'assign') AND e.id > "
		  "(SELECT coalesce(max(n.id), 0) FROM events n WHERE n.ticket_id = tickets.id AND "
		  "n.kind = 'warning'))))", "tickets_status_due" },
		{ "SELECT id FROM tickets WHERE created_at >= ?1 AND created_at < ?2",
		  "tickets_created" },
		{ "SELECT idx FROM attachments WHERE ticket_id = ?1 ORDER BY idx",
		  "sqlite_autoindex_attachments_1" },
		{ "SELECT at FROM events WHERE ticket_id = ?1 ORDER BY id", "events_ticket" },
		{ "SELECT at FROM messages WHERE ticket_id = ?1 ORDER BY at", "messages_ticket" },
	};
	char *e;
	size_t i;

	e = explain(st, "EXPLAIN", ticket_insert);
	assert_null(strstr(e, "OpenEphemeral"));
	assert_non_null(strstr(e, "IdxInsert"));        /* the listing is real */
	free(e);
	e = explain(st, "EXPLAIN", outbox_insert);
	assert_null(strstr(e, "OpenEphemeral"));
	free(e);
	e = explain(st, "EXPLAIN", "UPDATE tickets SET status = ?1 WHERE id = ?2");
	assert_null(strstr(e, "OpenEphemeral"));
	free(e);
	for (i = 0; i < sizeof(lookups) / sizeof(lookups[0]); i++) {
		e = explain(st, "EXPLAIN QUERY PLAN", lookups[i].sql);
		if (strstr(e, lookups[i].index) == NULL)
			fail_msg("%s: plan without %s:\n%s", lookups[i].sql, lookups[i].index, e);
		free(e);
	}
}

static long long
one_int(struct store *st, const char *sql)
{
	sqlite3_stmt *s;
	long long v = -1;

	assert_int_equal(sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static void
test_new_database(void **state)
{
	struct fx *f = *state;

	open_store(f);
	assert_int_equal(store_schema_version(f->st), (int)schema_migrations_count);
	check_constraints(f->st);
	check_plans(f->st);
	assert_int_equal(one_int(f->st, "SELECT count(*) FROM sqlite_master WHERE name IN "
	    "('outbox_recipient', 'raw_messages_ticket', 'tickets_department')"), 0);
}

/* A database made by version 1 of the schema, with rows, migrates. */
static void
test_migrate_from_version_1(void **state)
{
	struct fx *f = *state;
	sqlite3 *db;
	char *err = NULL, *e;

	assert_true(schema_migrations_count >= 2);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	if (sqlite3_exec(db, schema_migrations[0], NULL, NULL, &err) != SQLITE_OK)
		fail_msg("001: %s", err);
	assert_int_equal(sqlite3_exec(db,
	    "PRAGMA user_version = 1;"
	    "INSERT INTO raw_messages(source, source_key, alt_key, received_at) "
	    " VALUES('imap', 'imap:INBOX:1:1', 'sha256:ab', 1), ('sms', 'sms:x:1', NULL, 1);"
	    "INSERT INTO tickets(status, channel, reporter, department, created_at, due_at, "
	    " updated_at) VALUES('resolved', 'sms', '+381641112222', 'water', 1, 2, 1);"
	    "INSERT INTO messages(ticket_id, direction, channel, at, norm_hash, message_id) "
	    " VALUES(1, 'in', 'sms', 1, 'h1', NULL), (1, 'out', 'sms', 2, NULL, 'm1');"
	    "INSERT INTO outbox(ticket_id, channel, recipient, kind, message_id, status, "
	    " next_at, created_at, updated_at) VALUES(1, 'sms', '+381641112222', 'sms_ack', "
	    " 'm1', 'suppressed', 1, 1, 1);", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	open_store(f);
	assert_int_equal(store_schema_version(f->st), (int)schema_migrations_count);
	e = explain(f->st, "PRAGMA", "integrity_check");
	assert_string_equal(e, "ok \n");
	free(e);
	assert_int_equal(one_int(f->st, "SELECT count(*) FROM tickets WHERE status = 'resolved'"),
	    1);
	assert_int_equal(one_int(f->st, "SELECT count(*) FROM messages WHERE norm_hash = 'h1'"),
	    1);
	assert_int_equal(one_int(f->st, "SELECT id FROM raw_messages WHERE alt_key = 'sha256:ab'"),
	    1);
	assert_int_equal(one_int(f->st, "SELECT count(*) FROM sqlite_master WHERE name IN "
	    "('outbox_recipient', 'raw_messages_ticket', 'tickets_department')"), 0);
	/* the old SMS row is kept, just not indexed by its Message-ID */
	assert_int_equal(one_int(f->st, "SELECT count(*) FROM outbox WHERE message_id = 'm1'"), 1);
	check_constraints(f->st);
	check_plans(f->st);
	/* and a second connection opened afterwards sees the same schema */
	store_close(&f->st);
	open_store(f);
	check_plans(f->st);
}

/* Many statements, some with equal length and equal ends: each text gets
 * its own statement back, every time. */
static void
test_statement_cache_hash(void **state)
{
	struct fx *f = *state;
	char sql[200][96];
	sqlite3_stmt *first[200];
	int i, round;

	open_store(f);
	for (i = 0; i < 200; i++) {
		/* same length, same first and last 16 bytes for groups of 10 */
		snprintf(sql[i], sizeof(sql[i]), "SELECT %03d + 0 AS v, %03d AS w FROM (SELECT 1) -- pad",
		    i / 10, i);
		if (i % 2)
			snprintf(sql[i], sizeof(sql[i]), "SELECT %d", i);
	}
	for (round = 0; round < 3; round++) {
		for (i = 0; i < 200; i++) {
			sqlite3_stmt *s = store_prepare(f->st, sql[i]);

			assert_non_null(s);
			if (round == 0)
				first[i] = s;
			else
				assert_ptr_equal(s, first[i]);
			assert_int_equal(sqlite3_step(s), SQLITE_ROW);
			if (i % 2)
				assert_int_equal(sqlite3_column_int(s, 0), i);
			else
				assert_int_equal(sqlite3_column_int(s, 1), i);
			sqlite3_reset(s);
		}
	}
}

static time_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return timegm(&tm);
}

/* The remembered minute / day never gives a stale answer. */
static void
test_sla_local_caches(void **state)
{
	static const struct {
		const char *zone;
		int y, mo, d, h, mi, s;
		const char *local, *date;
	} cases[] = {
		{ "Europe/Belgrade", 2026, 11, 26, 14, 0, 0, "26.11.2026. 15:00", "2026-11-26" },
		{ "Europe/Belgrade", 2026, 11, 26, 14, 0, 59, "26.11.2026. 15:00", "2026-11-26" },
		{ "Europe/Belgrade", 2026, 11, 26, 14, 1, 0, "26.11.2026. 15:01", "2026-11-26" },
		{ "Europe/Belgrade", 2026, 11, 26, 22, 59, 59, "26.11.2026. 23:59", "2026-11-26" },
		{ "Europe/Belgrade", 2026, 11, 26, 23, 0, 0, "27.11.2026. 00:00", "2026-11-27" },
		/* DST ends 2026-10-25 01:00 UTC: 02:59 CEST, then 02:00 CET */
		{ "Europe/Belgrade", 2026, 10, 25, 0, 59, 30, "25.10.2026. 02:59", "2026-10-25" },
		{ "Europe/Belgrade", 2026, 10, 25, 1, 0, 0, "25.10.2026. 02:00", "2026-10-25" },
		/* the same instant in another zone: the cache is per zone */
		{ "UTC", 2026, 10, 25, 1, 0, 0, "25.10.2026. 01:00", "2026-10-25" },
		{ "America/St_Johns", 2026, 11, 26, 14, 0, 0, "26.11.2026. 10:30", "2026-11-26" },
		{ "Europe/Belgrade", 2026, 11, 26, 14, 0, 0, "26.11.2026. 15:00", "2026-11-26" },
	};
	char out[32], date[16];
	time_t a, b, a2, b2;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		time_t t = utc(cases[i].y, cases[i].mo, cases[i].d, cases[i].h, cases[i].mi,
		    cases[i].s);

		sla_use_timezone(cases[i].zone);
		sla_format_local(t, out, sizeof(out));
		assert_string_equal(out, cases[i].local);
		sla_format_local(t, out, sizeof(out));          /* from the cache */
		assert_string_equal(out, cases[i].local);
		sla_local_date(t, date, sizeof(date));
		assert_string_equal(date, cases[i].date);
	}
	/* a short buffer is cut like snprintf would */
	sla_use_timezone("Europe/Belgrade");
	sla_format_local(utc(2026, 11, 26, 14, 0, 0), out, 6);
	assert_string_equal(out, "26.11");
	/* local days: remembered, and recomputed for another zone */
	assert_int_equal(sla_local_day("2026-11-26", &a, &b), 0);
	assert_int_equal(a, utc(2026, 11, 25, 23, 0, 0));
	assert_int_equal(b, utc(2026, 11, 26, 23, 0, 0));
	assert_int_equal(sla_local_day("2026-11-26", &a2, &b2), 0);
	assert_int_equal(a2, a);
	assert_int_equal(b2, b);
	assert_int_equal(sla_local_day("2026-10-25", &a, &b), 0);
	assert_int_equal(b - a, 25 * 3600);             /* the DST day */
	sla_use_timezone("UTC");
	assert_int_equal(sla_local_day("2026-11-26", &a, &b), 0);
	assert_int_equal(a, utc(2026, 11, 26, 0, 0, 0));
	assert_int_equal(sla_local_day("2026-02-30", &a, &b), -1);
	sla_use_timezone("Europe/Belgrade");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_from_version_1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_statement_cache_hash, setup, teardown),
		cmocka_unit_test(test_sla_local_caches),
	};

	log_init("test_fastpath", LOG_LEVEL_WARN, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
