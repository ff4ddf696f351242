/* test_store.c - store: migrations, reopen, transactions and savepoints,
 * statement cache, source state, online backup under concurrent writes,
 * SQLite's memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

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

	ts_tmpdir(f->dir, sizeof(f->dir), "store");
	ts_open_in(f->dir, f->path, sizeof(f->path), &f->st);
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

/* One integer from sql with an optional text parameter ?1. */
static long long
qint(struct store *st, const char *sql, const char *p1)
{
	return ts_qint(store_db(st), sql, p1, NULL);
}

static void
test_migrations(void **state)
{
	struct fx *f = *state;
	static const char *const tables[] = { "raw_messages", "tickets", "messages", "events",
		"attachments", "outbox", "source_state", "sms_optout" };
	size_t i;

	assert_true(schema_migrations_count >= 1);
	assert_int_equal(store_schema_version(f->st), (int)schema_migrations_count);
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		assert_int_equal(qint(f->st,
		    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
		    tables[i]), 1);
	assert_int_equal(qint(f->st, "SELECT count(*) FROM pragma_journal_mode() "
	    "WHERE journal_mode = 'wal'", NULL), 1);
	assert_int_equal(qint(f->st, "PRAGMA foreign_keys", NULL), 1);
	assert_int_equal(qint(f->st, "PRAGMA synchronous", NULL), 2);   /* FULL */
	/* CHECK constraints on tickets */
	assert_int_equal(store_exec(f->st, "INSERT INTO tickets(status, channel, reporter, "
	    "department, created_at, due_at, updated_at) VALUES('bogus', 'sms', 'x', 'd', 1, 2, 1)",
	    NULL), -1);
	assert_int_equal(store_exec(f->st, "INSERT INTO tickets(status, channel, reporter, "
	    "department, created_at, due_at, updated_at) VALUES('open', 'fax', 'x', 'd', 1, 2, 1)",
	    NULL), -1);
	/* source_key is unique */
	assert_int_equal(store_exec(f->st, "INSERT INTO raw_messages(source, source_key, "
	    "received_at) VALUES('sms', 'k1', 1)", NULL), 0);
	assert_int_equal(store_exec(f->st, "INSERT INTO raw_messages(source, source_key, "
	    "received_at) VALUES('sms', 'k1', 2)", NULL), -1);
}

static void
test_reopen_idempotent(void **state)
{
	struct fx *f = *state;
	const char *err = NULL;
	int round;

	assert_int_equal(store_state_set(f->st, "cursor", "42", &err), 0);
	for (round = 0; round < 3; round++) {
		char *v = NULL;

		store_close(&f->st);
		assert_null(f->st);
		assert_int_equal(store_open(f->path, &f->st, &err), 0);
		assert_int_equal(store_schema_version(f->st), (int)schema_migrations_count);
		assert_int_equal(store_state_get(f->st, "cursor", &v, &err), 0);
		assert_string_equal(v, "42");
		free(v);
		assert_int_equal(qint(f->st, "SELECT count(*) FROM source_state", NULL), 1);
	}
}

static void
test_newer_schema_refused(void **state)
{
	struct fx *f = *state;
	struct store *st2 = NULL;
	const char *err = NULL;

	assert_int_equal(store_exec(f->st, "PRAGMA user_version = 999", &err), 0);
	assert_int_equal(store_open(f->path, &st2, &err), -1);
	assert_null(st2);
	assert_non_null(strstr(err, "newer"));
}

static void
test_open_error(void **state)
{
	struct store *st2 = NULL;
	const char *err = NULL;

	(void)state;
	assert_int_equal(store_open("/nonexistent-dir/x/s48.db", &st2, &err), -1);
	assert_null(st2);
	assert_non_null(err);
	assert_non_null(strstr(err, "/nonexistent-dir/x/s48.db"));
}

/*
 * A new database gets 8 KB pages; one created before with 4 KB pages
 * (schema version 0, as an old s48 left it before its first migration)
 * keeps them through store_open, its migrations and a reopen.
 */
static void
test_page_size(void **state)
{
	struct fx *f = *state;
	struct store *st2 = NULL;
	const char *err = NULL;
	char old[160];
	sqlite3 *db = NULL;
	int round;

	assert_int_equal(qint(f->st, "PRAGMA page_size", NULL), 8192);
	snprintf(old, sizeof(old), "%s/old.db", f->dir);
	assert_int_equal(sqlite3_open(old, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; "
	    "CREATE TABLE keep_me(x); INSERT INTO keep_me VALUES(42)", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	for (round = 0; round < 2; round++) {
		assert_int_equal(store_open(old, &st2, &err), 0);
		assert_int_equal(qint(st2, "PRAGMA page_size", NULL), 4096);
		assert_int_equal(store_schema_version(st2), (int)schema_migrations_count);
		assert_int_equal(qint(st2, "SELECT x FROM keep_me", NULL), 42);
		assert_int_equal(store_state_set(st2, "k", "v", &err), 0);
		store_close(&st2);
	}
}

static void
test_savepoints(void **state)
{
	struct fx *f = *state;
	const char *err = NULL;

	assert_int_equal(store_begin(f->st, &err), 0);
	assert_true(store_in_transaction(f->st));
	assert_int_equal(store_state_set(f->st, "a", "1", &err), 0);
	assert_int_equal(store_savepoint(f->st, "item", &err), 0);
	assert_int_equal(store_state_set(f->st, "b", "2", &err), 0);
	assert_int_equal(store_state_set(f->st, "a", "changed", &err), 0);
	assert_int_equal(store_rollback_to(f->st, "item", &err), 0);
	/* released: a second rollback_to the same name fails */
	assert_int_equal(store_rollback_to(f->st, "item", &err), -1);
	assert_int_equal(store_savepoint(f->st, "item2", &err), 0);
	assert_int_equal(store_state_set(f->st, "c", "3", &err), 0);
	assert_int_equal(store_release(f->st, "item2", &err), 0);
	assert_int_equal(store_commit(f->st, &err), 0);
	assert_false(store_in_transaction(f->st));
	assert_int_equal(qint(f->st, "SELECT count(*) FROM source_state WHERE key = 'b'", NULL), 0);
	assert_int_equal(qint(f->st, "SELECT count(*) FROM source_state WHERE key = 'c'", NULL), 1);
	assert_int_equal(qint(f->st, "SELECT count(*) FROM source_state WHERE key = 'a' "
	    "AND value = '1'", NULL), 1);

	/* a whole transaction rolled back leaves nothing */
	assert_int_equal(store_begin(f->st, &err), 0);
	assert_int_equal(store_state_set(f->st, "d", "4", &err), 0);
	assert_int_equal(store_savepoint(f->st, "x", &err), 0);
	assert_int_equal(store_state_set(f->st, "e", "5", &err), 0);
	assert_int_equal(store_release(f->st, "x", &err), 0);
	store_rollback(f->st);
	assert_int_equal(qint(f->st, "SELECT count(*) FROM source_state WHERE key IN ('d', 'e')",
	    NULL), 0);
	/* bad names are refused before reaching SQL */
	assert_int_equal(store_savepoint(f->st, "x; DROP TABLE tickets", &err), -1);
	assert_int_equal(store_savepoint(f->st, "1abc", &err), -1);
	assert_int_equal(store_savepoint(f->st, "", &err), -1);
	assert_int_equal(qint(f->st, "SELECT count(*) FROM sqlite_master WHERE name = 'tickets'",
	    NULL), 1);
}

static void
test_state(void **state)
{
	struct fx *f = *state;
	const char *err = NULL;
	char *v = (char *)1;

	assert_int_equal(store_state_get(f->st, "missing", &v, &err), 1);
	assert_null(v);
	assert_int_equal(store_state_set(f->st, "imap:uidvalidity", "1234", &err), 0);
	assert_int_equal(store_state_set(f->st, "imap:uidvalidity", "5678", &err), 0);
	assert_int_equal(store_state_get(f->st, "imap:uidvalidity", &v, &err), 0);
	assert_string_equal(v, "5678");
	free(v);
	assert_int_equal(store_state_set(f->st, "empty", "", &err), 0);
	assert_int_equal(store_state_get(f->st, "empty", &v, &err), 0);
	assert_string_equal(v, "");
	free(v);
	assert_int_equal(store_state_del(f->st, "imap:uidvalidity", &err), 0);
	assert_int_equal(store_state_del(f->st, "imap:uidvalidity", &err), 0);
	assert_int_equal(store_state_get(f->st, "imap:uidvalidity", &v, &err), 1);
}

static void
test_prepare_cache(void **state)
{
	struct fx *f = *state;
	sqlite3_stmt *a, *b, *c;
	char sql[96];
	int i;

	a = store_prepare(f->st, "SELECT ?1 + 1");
	assert_non_null(a);
	sqlite3_bind_int(a, 1, 41);
	assert_int_equal(sqlite3_step(a), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(a, 0), 42);
	/* same text, another buffer: the same statement, reset and unbound */
	snprintf(sql, sizeof(sql), "SELECT ?1 + %d", 1);
	b = store_prepare(f->st, sql);
	assert_ptr_equal(a, b);
	assert_int_equal(sqlite3_step(b), SQLITE_ROW);
	assert_int_equal(sqlite3_column_type(b, 0), SQLITE_NULL);   /* bindings cleared */
	sqlite3_reset(b);
	c = store_prepare(f->st, "SELECT ?1 + 2");
	assert_non_null(c);
	assert_ptr_not_equal(a, c);
	assert_null(store_prepare(f->st, "SELEKT nonsense"));
	assert_non_null(store_errmsg(f->st));
	/* a statement being stepped stays valid while hundreds of others are
	 * prepared (the cache grows, it never evicts) */
	a = store_prepare(f->st, "WITH RECURSIVE n(value) AS (SELECT 1 UNION ALL "
	    "SELECT value + 1 FROM n WHERE value < 3) SELECT value FROM n");
	assert_non_null(a);
	assert_int_equal(sqlite3_step(a), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(a, 0), 1);
	/* more distinct statements than the initial cache slots */
	for (i = 0; i < 300; i++) {
		sqlite3_stmt *s;

		snprintf(sql, sizeof(sql), "SELECT %d", i);
		s = store_prepare(f->st, sql);
		assert_non_null(s);
		assert_int_equal(sqlite3_step(s), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(s, 0), i);
		sqlite3_reset(s);
	}
	assert_int_equal(sqlite3_step(a), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(a, 0), 2);
	sqlite3_reset(a);
	a = store_prepare(f->st, "SELECT ?1 + 1");
	sqlite3_bind_int(a, 1, 1);
	assert_int_equal(sqlite3_step(a), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(a, 0), 2);
	sqlite3_reset(a);
}

/* Child: insert rows through its own connection until killed or count reached. */
static void
writer_child(const char *path, const char *flag)
{
	struct store *st = NULL;
	const char *err = NULL;
	int i;

	if (store_open(path, &st, &err) < 0)
		_exit(2);
	for (i = 0; i < 400; i++) {
		char key[32];

		snprintf(key, sizeof(key), "w%d", i);
		if (store_begin(st, &err) < 0 ||
		    store_exec(st, "INSERT INTO raw_messages(source, source_key, received_at, bytes) "
		    "VALUES('sms', 'w' || (SELECT count(*) FROM raw_messages) || '-' || random(), 1, "
		    "zeroblob(2000))", &err) < 0 ||
		    store_commit(st, &err) < 0)
			_exit(3);
		if (i == 20) {
			FILE *fp = fopen(flag, "w");

			if (fp)
				fclose(fp);
		}
	}
	store_close(&st);
	_exit(0);
}

static void
test_backup_while_writing(void **state)
{
	struct fx *f = *state;
	const char *err = NULL;
	char bpath[160], flag[160];
	sqlite3 *b = NULL;
	sqlite3_stmt *s;
	pid_t pid;
	int status, i;

	/* some data first: 3000 rows of 2 kB = 6 MB */
	assert_int_equal(store_begin(f->st, &err), 0);
	assert_int_equal(store_exec(f->st,
	    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
	    "INSERT INTO raw_messages(source, source_key, received_at, bytes) "
	    "SELECT 'imap', 'k' || i, i, zeroblob(2000) FROM n", &err), 0);
	assert_int_equal(store_commit(f->st, &err), 0);

	snprintf(bpath, sizeof(bpath), "%s/backup.db", f->dir);
	snprintf(flag, sizeof(flag), "%s/writing", f->dir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		writer_child(f->path, flag);
	for (i = 0; i < 500 && access(flag, F_OK) != 0; i++)
		usleep(10000);
	assert_int_equal(access(flag, F_OK), 0);      /* the writer is writing now */
	if (store_backup(f->st, bpath, &err) < 0)
		fail_msg("backup: %s", err);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	assert_int_equal(sqlite3_open_v2(bpath, &b, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(b, "PRAGMA integrity_check", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "ok");
	sqlite3_finalize(s);
	assert_int_equal(sqlite3_prepare_v2(b, "SELECT count(*) FROM raw_messages", -1, &s, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_true(sqlite3_column_int(s, 0) >= 3000);
	assert_true(sqlite3_column_int(s, 0) <= 3400);
	sqlite3_finalize(s);
	assert_int_equal(sqlite3_prepare_v2(b, "PRAGMA user_version", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), (int)schema_migrations_count);
	sqlite3_finalize(s);
	sqlite3_close(b);
	/* the live database has every row of the writer */
	assert_int_equal(qint(f->st, "SELECT count(*) FROM raw_messages", NULL), 3400);

	/* a backup inside a transaction is refused; an unwritable target fails */
	assert_int_equal(store_begin(f->st, &err), 0);
	assert_int_equal(store_backup(f->st, bpath, &err), -1);
	store_rollback(f->st);
	assert_int_equal(store_backup(f->st, "/nonexistent-dir/b.db", &err), -1);
}

static void
test_concurrent_writers_wait(void **state)
{
	struct fx *f = *state;
	struct store *st2 = NULL;
	const char *err = NULL;

	time_t t0;

	/* opening and reading while another connection holds a write
	 * transaction does not wait for it (no lock taken when up to date) */
	assert_int_equal(store_begin(f->st, &err), 0);
	t0 = time(NULL);
	assert_int_equal(store_open(f->path, &st2, &err), 0);
	assert_true(time(NULL) - t0 < 2);
	assert_int_equal(store_state_set(f->st, "x", "1", &err), 0);
	assert_int_equal(qint(st2, "SELECT count(*) FROM source_state", NULL), 0);
	assert_int_equal(store_commit(f->st, &err), 0);
	assert_int_equal(qint(st2, "SELECT count(*) FROM source_state", NULL), 1);
	store_close(&st2);
}

/*
 * SQLite's memory (store.c keeps small blocks on per-thread lists once a
 * store was opened): every size gets at least what it asked for, keeps its
 * bytes through realloc, and a lot of rows written and read back in many
 * statements come out intact.
 */
static void
test_sqlite_memory(void **state)
{
	static const int sizes[] = { 1, 7, 63, 64, 65, 200, 511, 512, 513, 1023, 1024, 1025,
		4096, 70000 };
	struct fx *f = *state;
	const char *err = NULL;
	unsigned char *p[sizeof(sizes) / sizeof(sizes[0])];
	sqlite3_stmt *s;
	size_t i;
	int j, round;

	for (round = 0; round < 3; round++) {
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			p[i] = sqlite3_malloc(sizes[i]);
			assert_non_null(p[i]);
			assert_true(sqlite3_msize(p[i]) >= (sqlite3_uint64)sizes[i]);
			memset(p[i], (int)(i + 1), (size_t)sizes[i]);
		}
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			int grow = sizes[i] * 3 + 5;

			for (j = 0; j < sizes[i]; j++)
				assert_int_equal(p[i][j], (int)(i + 1));
			p[i] = sqlite3_realloc(p[i], grow);
			assert_non_null(p[i]);
			assert_true(sqlite3_msize(p[i]) >= (sqlite3_uint64)grow);
			for (j = 0; j < sizes[i]; j++)
				assert_int_equal(p[i][j], (int)(i + 1));
			p[i] = sqlite3_realloc(p[i], 1);
			assert_non_null(p[i]);
			assert_int_equal(p[i][0], (int)(i + 1));
		}
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			sqlite3_free(p[i]);
	}
	sqlite3_free(NULL);
	assert_int_equal(store_begin(f->st, &err), 0);
	for (j = 0; j < 3000; j++) {
		char key[32], val[1200];

		snprintf(key, sizeof(key), "k%d", j);
		memset(val, 'a' + j % 26, (size_t)(j % 1100) + 1);
		val[j % 1100 + 1] = '\0';
		assert_int_equal(store_state_set(f->st, key, val, &err), 0);
	}
	assert_int_equal(store_commit(f->st, &err), 0);
	assert_int_equal(sqlite3_prepare_v2(store_db(f->st), "SELECT key, value FROM source_state",
	    -1, &s, NULL), SQLITE_OK);
	j = 0;
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(s, 0);
		const char *v = (const char *)sqlite3_column_text(s, 1);
		int n = atoi(k + 1);

		assert_int_equal((int)strlen(v), n % 1100 + 1);
		assert_int_equal(v[0], 'a' + n % 26);
		assert_int_equal(v[strlen(v) - 1], 'a' + n % 26);
		j++;
	}
	sqlite3_finalize(s);
	assert_int_equal(j, 3000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_migrations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_page_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_savepoints, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prepare_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backup_while_writing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_writers_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sqlite_memory, setup, teardown),
	};

	log_init("test_store", LOG_LEVEL_WARN, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
