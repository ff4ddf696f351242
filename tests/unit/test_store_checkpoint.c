/* test_store_checkpoint.c - store's background checkpointer: the WAL stays
 * bounded under back-to-back commits, the pages reach the database file
 * (and the WAL is emptied at close even with another connection open),
 * commits are visible at once, close while a checkpoint runs, a reader
 * holding a snapshot, and no thread unless asked for one. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
	char wal[140];
	struct store *st;
	unsigned seed;
	long page;                      /* the database's page size */
	long rows;                      /* rows committed so far */
};

static int
first_int(sqlite3 *db, const char *sql)
{
	return (int)ts_qint(db, sql, NULL, NULL);
}

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	const char *err = NULL;

	ts_tmpdir(f->dir, sizeof(f->dir), "ckpt");
	ts_open_in(f->dir, f->path, sizeof(f->path), &f->st);
	snprintf(f->wal, sizeof(f->wal), "%s-wal", f->path);
	assert_int_equal(store_exec(f->st, "CREATE TABLE t(id INTEGER PRIMARY KEY, "
	    "k TEXT UNIQUE NOT NULL, v BLOB NOT NULL)", &err), 0);
	f->seed = 12345;
	f->page = first_int(store_db(f->st), "PRAGMA page_size");
	assert_true(f->page >= 1024);
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

static unsigned
rnd(struct fx *f)
{
	f->seed = f->seed * 1103515245u + 12345u;
	return f->seed >> 8;
}

/* One transaction of n rows: random keys (pages all over the index) and
 * 1,500-byte values: with 8 KB pages about n / 5 table pages and up to
 * n / 5 index pages are written. */
static void
commit_rows(struct fx *f, int n)
{
	sqlite3_stmt *s;
	const char *err = NULL;
	unsigned char v[1500];
	int i;

	assert_int_equal(store_begin(f->st, &err), 0);
	s = store_prepare(f->st, "INSERT INTO t(k, v) VALUES(?1, ?2)");
	assert_non_null(s);
	for (i = 0; i < n; i++) {
		char k[40];

		snprintf(k, sizeof(k), "%08x-%08x-%ld", rnd(f), rnd(f), f->rows + i);
		memset(v, (int)(rnd(f) & 0xff), sizeof(v));
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, k, -1, SQLITE_TRANSIENT);
		sqlite3_bind_blob(s, 2, v, (int)sizeof(v), SQLITE_STATIC);
		assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	}
	sqlite3_reset(s);
	if (store_commit(f->st, &err) < 0)
		fail_msg("commit: %s", err);
	f->rows += n;
}

/* Frames the WAL file has room for (it is overwritten from its start
 * after a restart, never shrunk until the TRUNCATE at close). */
static long
wal_frames(const struct fx *f)
{
	struct stat sb;

	if (stat(f->wal, &sb) < 0)
		return -1;
	if (sb.st_size < 32)
		return 0;
	return (long)((sb.st_size - 32) / (f->page + 24));
}

static sqlite3 *
open_raw(const struct fx *f)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	return db;
}

static long long
raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	long long v = -1;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static int
n_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* `PRAGMA wal_checkpoint` from db: column 1 (frames in the WAL). */
static long long
wal_left(sqlite3 *db)
{
	sqlite3_stmt *s;
	long long v = -1;

	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA wal_checkpoint", -1, &s, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 0);          /* not busy */
	v = sqlite3_column_int64(s, 1);
	sqlite3_finalize(s);
	return v;
}

/*
 * Back-to-back commits of ~55 pages with the thread waking at 100 frames:
 * the thread runs, the WAL never holds much more than the bound (4 x 100
 * frames) plus a commit, every row arrives, and once the store is closed
 * the WAL is gone and the database file holds everything.
 */
static void
test_wal_bounded(void **state)
{
	struct fx *f = *state;
	struct store_ckpt_stats cs;
	const char *err = NULL;
	long max = 0, w;
	sqlite3 *db;
	int i;

	assert_int_equal(store_start_checkpointer(f->st, 100, &err), 0);
	assert_int_equal(store_checkpointer_stats(f->st, &cs), 0);
	assert_int_equal(cs.frames, 100);
	assert_int_equal(cs.wait_frames, 100 * STORE_CKPT_WAIT);
	for (i = 0; i < 120; i++) {
		commit_rows(f, 100);
		if ((w = wal_frames(f)) > max)
			max = w;
	}
	assert_int_equal(store_checkpointer_stats(f->st, &cs), 0);
	print_message("# WAL at most %ld frames; %lu requests, %lu runs, %lu commits waited\n",
	    max, cs.requests, cs.runs, cs.writer_waits);
	assert_true(cs.requests > 0);
	assert_true(cs.runs > 0);
	assert_int_equal(cs.failed, 0);
	/* the bound (a small multiple of the threshold), plus the commit that
	 * crossed it (~100 frames) */
	assert_true(cs.wait_frames <= 8 * cs.frames);
	assert_true(max <= cs.wait_frames + 180);
	store_close(&f->st);
	w = wal_frames(f);
	assert_true(w <= 0);
	db = open_raw(f);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM t"), f->rows);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM pragma_integrity_check "
	    "WHERE integrity_check = 'ok'"), 1);
	assert_int_equal(wal_left(db), 0);
	sqlite3_close(db);
}

/*
 * The thread copies: one commit past the threshold (but under the bound,
 * so the writer does not wait) and the thread's run soon reports the
 * frames it found and copied into the database file.  The first commit
 * after the store was opened counts too: the thread's connection has its
 * WAL open from the start.
 */
static void
test_thread_copies(void **state)
{
	struct fx *f = *state;
	struct store_ckpt_stats cs;
	const char *err = NULL;
	double t0;

	assert_int_equal(store_start_checkpointer(f->st, 50, &err), 0);
	commit_rows(f, 300);
	assert_int_equal(store_checkpointer_stats(f->st, &cs), 0);
	assert_int_equal(cs.requests, 1);
	assert_int_equal(cs.writer_waits, 0);
	t0 = now_s();
	do {
		usleep(2000);
		assert_int_equal(store_checkpointer_stats(f->st, &cs), 0);
	} while (cs.runs == 0 && now_s() - t0 < 10);
	assert_int_equal(cs.runs, 1);
	assert_int_equal(cs.failed, 0);
	assert_true(cs.last_log >= 50);
	assert_int_equal(cs.last_copied, cs.last_log);
}

/*
 * Another connection keeps the file open (SQLite's own checkpoint at the
 * last close does not happen): store_close's TRUNCATE still copies every
 * frame and empties the WAL; the other connection then reads it all from
 * the database file.  A commit is visible to it as soon as it returns.
 */
static void
test_close_truncates_and_visible(void **state)
{
	struct fx *f = *state;
	const char *err = NULL;
	sqlite3 *other;
	int i;

	assert_int_equal(store_start_checkpointer(f->st, 100, &err), 0);
	other = open_raw(f);
	for (i = 0; i < 40; i++) {
		commit_rows(f, 1 + i * 7);
		assert_int_equal(raw_int(other, "SELECT count(*) FROM t"), f->rows);
	}
	assert_true(wal_frames(f) > 0);
	store_close(&f->st);
	assert_int_equal(wal_frames(f), 0);
	assert_int_equal(wal_left(other), 0);
	assert_int_equal(raw_int(other, "SELECT count(*) FROM t"), f->rows);
	assert_int_equal(raw_int(other, "SELECT count(*) FROM pragma_integrity_check "
	    "WHERE integrity_check = 'ok'"), 1);
	sqlite3_close(other);
}

/*
 * Close right after a commit that woke the thread for ~1,000 pages: the
 * close waits for the run (or finds it not begun), the final checkpoint
 * empties the WAL, nothing is lost.  Repeated, so that some closes fall in
 * the middle of a run.
 */
static void
test_close_while_running(void **state)
{
	struct fx *f = *state;
	const char *err = NULL;
	int round, overlapped = 0;

	for (round = 0; round < 8; round++) {
		struct store_ckpt_stats cs;
		sqlite3 *db;

		assert_int_equal(store_start_checkpointer(f->st, 200, &err), 0);
		commit_rows(f, 2000);   /* 400-800 frames: wakes the thread, no wait */
		assert_int_equal(store_checkpointer_stats(f->st, &cs), 0);
		assert_int_equal(cs.requests, 1);
		assert_int_equal(cs.writer_waits, 0);
		overlapped += cs.runs == 0;
		store_close(&f->st);
		assert_true(wal_frames(f) <= 0);
		db = open_raw(f);
		assert_int_equal(raw_int(db, "SELECT count(*) FROM t"), f->rows);
		sqlite3_close(db);
		assert_int_equal(store_open(f->path, &f->st, &err), 0);
	}
	print_message("# %d of 8 closes came before the run had ended\n", overlapped);
}

/*
 * A reader holds a snapshot across many commits: no commit waits for it
 * (each is far under the 10 s busy timeout), the reader keeps its view,
 * the WAL grows past the bound while it cannot be started over; one commit
 * after the reader ends, the WAL file stops growing.
 */
static void
test_reader_snapshot(void **state)
{
	struct fx *f = *state;
	struct store_ckpt_stats cs;
	const char *err = NULL;
	sqlite3 *reader;
	long held, grown, after = 0, w;
	long long seen;
	double worst = 0;
	int i;

	assert_int_equal(store_start_checkpointer(f->st, 100, &err), 0);
	commit_rows(f, 50);
	reader = open_raw(f);
	assert_int_equal(sqlite3_exec(reader, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	seen = raw_int(reader, "SELECT count(*) FROM t");
	assert_int_equal(seen, f->rows);
	for (i = 0; i < 40; i++) {
		double t0 = now_s(), dt;

		commit_rows(f, 100);
		dt = now_s() - t0;
		if (dt > worst)
			worst = dt;
	}
	assert_true(worst < 3.0);
	assert_int_equal(raw_int(reader, "SELECT count(*) FROM t"), seen);
	held = wal_frames(f);
	assert_int_equal(store_checkpointer_stats(f->st, &cs), 0);
	assert_true(held > cs.wait_frames);
	assert_true(cs.writer_waits > 0);
	assert_int_equal(sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	/* the first commit still appends (its transaction began with frames
	 * not yet copied), then waits for a run; the next ones start over */
	commit_rows(f, 100);
	grown = wal_frames(f);
	assert_true(grown >= held);
	for (i = 0; i < 40; i++) {
		commit_rows(f, 100);
		if ((w = wal_frames(f)) > after)
			after = w;
	}
	print_message("# WAL %ld frames while the reader held it, %ld after one more commit, "
	    "%ld after 40 more; slowest commit %.3f s\n", held, grown, after, worst);
	assert_true(after == grown);
	assert_int_equal(raw_int(reader, "SELECT count(*) FROM t"), f->rows);
	sqlite3_close(reader);
}

/*
 * store_open starts no thread (s48ctl); store_start_checkpointer starts
 * exactly one, store_close ends it.  Refused twice and inside a
 * transaction; statistics only with a checkpointer.
 */
static void
test_thread_only_when_asked(void **state)
{
	struct fx *f = *state;
	struct store_ckpt_stats cs;
	struct store *st2 = NULL;
	const char *err = NULL;
	int before = n_threads();

	assert_int_equal(store_open(f->path, &st2, &err), 0);
	assert_int_equal(n_threads(), before);
	assert_int_equal(store_checkpointer_stats(st2, &cs), -1);
	assert_int_equal(store_begin(st2, &err), 0);
	assert_int_equal(store_start_checkpointer(st2, 0, &err), -1);
	assert_non_null(strstr(err, "transaction"));
	store_rollback(st2);
	assert_int_equal(n_threads(), before);
	assert_int_equal(store_start_checkpointer(st2, 0, &err), 0);
	assert_int_equal(n_threads(), before + 1);
	assert_int_equal(store_checkpointer_stats(st2, &cs), 0);
	assert_int_equal(cs.frames, STORE_CKPT_FRAMES);
	assert_int_equal(store_start_checkpointer(st2, 0, &err), -1);
	assert_non_null(strstr(err, "already"));
	assert_int_equal(n_threads(), before + 1);
	store_close(&st2);
	assert_null(st2);
	assert_int_equal(n_threads(), before);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_wal_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thread_copies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_truncates_and_visible, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_while_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thread_only_when_asked, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
