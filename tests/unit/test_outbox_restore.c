/*
 * test_outbox_restore.c - a backup put in place (README "Restoring a
 * backup") against a real smtp-sink: the rows the backup holds pending that
 * were sent after it was taken are found in the ledger "<db>.sent-log" and
 * recorded as sent at the restart (reason, a note event on the ticket), not
 * sent again; rows the backup has that were never sent, and rows queued
 * after the restore under ids the old file had used for other messages, are
 * sent once.  The ledger is begun anew past 4 MB and its previous part is
 * still read.  An older s48's crash journal "<db>.sent" is read once at the
 * start and removed.  A start on a full sent-log (60,000 lines, 1,000 rows
 * to recover) is timed and looks up the pending and sending rows only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "config.h"
#include "log.h"
#include "notifier_smtp.h"
#include "outbox_send.h"
#include "store.h"
#include "util.h"

#include "outbox_test.h"

static char topdir[4096];

struct fx {
	char dir[64];
	struct s48_config *cfg;
	struct store *st;
	int port;
};

/* every row of tag (ot_add_rows) delivered exactly once */
static void
assert_each_once(struct fx *f, const char *tag, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		char mark[64];
		int c;

		snprintf(mark, sizeof(mark), "mark-%s-%d-end", tag, i);
		c = ot_sink_count(f->dir, "sink", mark);
		if (c != 1)
			fail_msg("%s delivered %d times", mark, c);
	}
}

/* one pass of outbox_send_due, which must succeed and send sent rows */
static void
send_due(struct fx *f, long sent)
{
	struct outbox_run run_;
	const char *err = NULL;

	assert_int_equal(outbox_send_due(f->st, f->cfg, NULL, 0, &run_, &err), 0);
	assert_int_equal(run_.sent, sent);
}

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	char url[64];

	ts_tmpdir(f->dir, sizeof(f->dir), "outrestore");
	chmod(f->dir, 0755);
	s48_stop_requested = 0;
	f->port = ot_sink_start(topdir, f->dir, "sink", "");
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", f->port);
	ot_open(f->dir, url, &f->cfg, &f->st);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	notifier_smtp_close();
	store_close(&f->st);
	config_free(&f->cfg);
	ot_sink_stop(topdir, f->dir, "sink");
	if (getenv("S48_KEEP") == NULL)
		ts_rmtree(f->dir);
	free(f);
	return 0;
}

/* the database as it is now -> DIR/backup.db (SQLite online backup, as
 * `s48ctl backup` takes it while s48d runs) */
static void
take_backup(struct fx *f)
{
	char path[128];
	sqlite3 *to;
	sqlite3_backup *b;

	snprintf(path, sizeof(path), "%s/backup.db", f->dir);
	assert_int_equal(sqlite3_open(path, &to), SQLITE_OK);
	b = sqlite3_backup_init(to, "main", store_db(f->st), "main");
	assert_non_null(b);
	assert_int_equal(sqlite3_backup_step(b, -1), SQLITE_DONE);
	assert_int_equal(sqlite3_backup_finish(b), SQLITE_OK);
	assert_int_equal(sqlite3_close(to), SQLITE_OK);
}

/* s48d stopped, the backup put in place (its -wal and -shm removed, the
 * lock file and ledger stay), the database opened again */
static void
restore_backup(struct fx *f)
{
	store_close(&f->st);
	assert_int_equal(ot_run("cd '%s' && cp backup.db s48.db && rm -f s48.db-wal s48.db-shm",
	    f->dir), 0);
	ts_open(f->cfg->database, &f->st);
}

/* a ticket (id) for rows that belong to one */
static void
add_ticket(struct store *st, long id)
{
	char *q = xasprintf("INSERT INTO tickets(id, channel, reporter, department, created_at, "
	    "due_at, updated_at) VALUES (%ld, 'email', 'gradjanin@example.net', 'water', 1, 2, 1)",
	    id);
	const char *err = NULL;

	assert_int_equal(store_exec(st, q, &err), 0);
	free(q);
}

static long long
events_like(struct store *st, const char *like)
{
	return ts_qint(store_db(st), "SELECT count(*) FROM events WHERE kind = 'note' AND "
	    "by = 's48d' AND note LIKE ?1", like, NULL);
}

/*
 * Rows "a" sent before the backup, "b" pending in it and sent after it, "c"
 * queued and sent after it, "w" pending in it and not due yet (never sent).
 * After the restore, "n" rows are queued before the start under the ids
 * "c" had in the old file.  The start records "b" as sent (each with an
 * event on its ticket), and the pass sends "w" and "n" only: every message
 * once.
 */
static void
test_restore(void **state)
{
	struct fx *f = *state;
	const char *err = NULL;
	time_t now = store_now();
	long long c_min, c_max;

	add_ticket(f->st, 1);
	ot_add_rows(f->st, "a", 4, now - 2, 1);
	send_due(f, 4);
	ot_add_rows(f->st, "b", 6, now - 2, 1);
	assert_int_equal(store_exec(f->st, "UPDATE outbox SET ticket_id = 1 WHERE message_id "
	    "LIKE 'b.%'", &err), 0);
	ot_add_rows(f->st, "w", 2, now + 3600, 1);
	take_backup(f);
	send_due(f, 6);
	ot_add_rows(f->st, "c", 3, now - 2, 1);
	c_min = ts_qint(store_db(f->st), "SELECT min(id) FROM outbox WHERE message_id LIKE 'c.%'",
	    NULL, NULL);
	c_max = ts_qint(store_db(f->st), "SELECT max(id) FROM outbox WHERE message_id LIKE 'c.%'",
	    NULL, NULL);
	send_due(f, 3);
	assert_each_once(f, "b", 6);

	restore_backup(f);
	assert_int_equal(ot_count(f->st, "status = 'pending' AND message_id LIKE 'b.%'"), 6);
	/* queued after the restore: the ids "c" had, other messages */
	ot_add_rows(f->st, "n", 3, now - 2, 1);
	assert_int_equal(ts_qint(store_db(f->st), "SELECT min(id) FROM outbox WHERE message_id "
	    "LIKE 'n.%'", NULL, NULL), c_min);
	assert_int_equal(ts_qint(store_db(f->st), "SELECT max(id) FROM outbox WHERE message_id "
	    "LIKE 'n.%'", NULL, NULL), c_max);
	assert_int_equal(outbox_recover(f->st, &err), 0);
	assert_int_equal(ot_count(f->st, "status = 'sent' AND message_id LIKE 'b.%' AND attempts "
	    "= 1 AND sent_at IS NOT NULL AND reason LIKE 'sent after the backup%'"), 6);
	assert_int_equal(events_like(f->st, "outbox % (email_ack) was sent after the backup%"), 6);
	assert_int_equal(ot_count(f->st, "status = 'pending' AND (message_id LIKE 'n.%' OR "
	    "message_id LIKE 'w.%')"), 5);
	/* again: nothing more to record */
	assert_int_equal(outbox_recover(f->st, &err), 0);
	assert_int_equal(events_like(f->st, "outbox %"), 6);
	assert_int_equal(store_exec(f->st, "UPDATE outbox SET next_at = 0 WHERE message_id LIKE "
	    "'w.%'", &err), 0);
	send_due(f, 5);
	assert_int_equal(ot_count(f->st, "status <> 'sent'"), 0);
	assert_each_once(f, "a", 4);
	assert_each_once(f, "b", 6);
	assert_each_once(f, "c", 3);
	assert_each_once(f, "n", 3);
	assert_each_once(f, "w", 2);
}

/*
 * A backup taken while rows were claimed (sending): those the ledger lists
 * are sent, the others go back to pending and are sent once.
 */
static void
test_restore_sending(void **state)
{
	struct fx *f = *state;
	const char *err = NULL;

	ot_add_rows(f->st, "s", 5, store_now() - 2, 1);
	assert_int_equal(store_exec(f->st, "UPDATE outbox SET status = 'sending'", &err), 0);
	take_backup(f);
	assert_int_equal(store_exec(f->st, "UPDATE outbox SET status = 'pending' WHERE "
	    "message_id <> 's.4@example.org'", &err), 0);
	send_due(f, 4);
	restore_backup(f);
	assert_int_equal(outbox_recover(f->st, &err), 1);
	assert_int_equal(ot_count(f->st, "status = 'sent' AND reason LIKE 'sent after the backup%'"),
	    4);
	assert_int_equal(ot_count(f->st, "status = 'pending' AND message_id = 's.4@example.org'"),
	    1);
	/* rows without a ticket: no event */
	assert_int_equal(events_like(f->st, "%"), 0);
	send_due(f, 1);
	assert_each_once(f, "s", 5);
}

/*
 * A ledger past 4 MB becomes "<db>.sent-log.1" at the next pass and a new
 * one is begun; a restore still finds the rows of both; lines that are not
 * the ledger's (garbage, a line cut short) are passed over.
 */
static void
test_ledger_rotation(void **state)
{
	struct fx *f = *state;
	const char *err = NULL;
	char *path = outbox_ledger_path(f->st), *old = xasprintf("%s.1", path);
	struct stat sb;
	FILE *fp;
	long i;

	assert_non_null(path);
	ot_add_rows(f->st, "p", 3, store_now() - 2, 1);
	ot_add_rows(f->st, "q", 3, store_now() + 3600, 1);
	take_backup(f);
	send_due(f, 3);
	/* the ledger grown past 4 MB with lines of other rows */
	fp = fopen(path, "a");
	assert_non_null(fp);
	for (i = 0; i < 100000; i++)
		fprintf(fp, "%ld 1 s48.0000000000000000.%lx.%lx@example.org\n", 1000000 + i, i, i);
	fputs("not a line of the ledger\n12 34\n7", fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size > 4 * 1024 * 1024);
	assert_int_equal(store_exec(f->st, "UPDATE outbox SET next_at = 0 WHERE message_id LIKE "
	    "'q.%'", &err), 0);
	send_due(f, 3);
	assert_int_equal(stat(old, &sb), 0);
	assert_true(sb.st_size > 4 * 1024 * 1024);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size > 0 && sb.st_size < 1024);
	assert_int_equal(sb.st_mode & 0777, 0600);
	restore_backup(f);
	assert_int_equal(outbox_recover(f->st, &err), 0);
	assert_int_equal(ot_count(f->st, "status = 'sent' AND reason LIKE 'sent after the backup%'"),
	    6);
	send_due(f, 0);
	assert_each_once(f, "p", 3);
	assert_each_once(f, "q", 3);
	free(old);
	free(path);
}

/*
 * A database upgraded from an s48 that kept a crash journal "<db>.sent"
 * (one id a line, emptied after each commit) and was killed before the
 * commit: the rows it lists that are still sending are recorded as sent
 * (the crash's reason), the rest of sending goes back to pending, lines
 * that are not ids and ids of rows not sending change nothing, and the
 * journal is removed; the next start finds none.  Every message once.
 */
static void
test_old_journal(void **state)
{
	struct fx *f = *state;
	const char *err = NULL;
	char *journal = xasprintf("%s.sent", f->cfg->database);
	struct stat sb;
	FILE *fp;
	long long id0;

	ot_add_rows(f->st, "o", 6, store_now() - 2, 1);
	id0 = ts_qint(store_db(f->st), "SELECT min(id) FROM outbox", NULL, NULL);
	/* o.0..o.3 were accepted (sent below, as the old s48 did), o.4 and o.5
	 * were claimed; o.5 stays pending in the journal's eyes */
	send_due(f, 6);
	assert_int_equal(store_exec(f->st, "UPDATE outbox SET status = 'sending', attempts = 0, "
	    "sent_at = NULL, reason = NULL WHERE message_id <> 'o.5@example.org'", &err), 0);
	assert_int_equal(store_exec(f->st, "UPDATE outbox SET status = 'pending', attempts = 0, "
	    "sent_at = NULL, reason = NULL WHERE message_id = 'o.5@example.org'", &err), 0);
	/* the old s48 kept no sent-log: nothing else names them */
	assert_int_equal(ot_run("rm -f '%s.sent-log'", f->cfg->database), 0);
	fp = fopen(journal, "w");
	assert_non_null(fp);
	fprintf(fp, "%lld\n%lld\nx17\n%lld\n%lld\n%lld\n999999\n12", id0, id0 + 1, id0 + 2,
	    id0 + 3, id0 + 5);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(outbox_recover(f->st, &err), 1);
	assert_int_equal(ot_count(f->st, "status = 'sent' AND reason = 'accepted before a stop, "
	    "recorded at the restart' AND attempts = 1 AND sent_at IS NOT NULL"), 4);
	assert_int_equal(ot_count(f->st, "status = 'pending' AND message_id = 'o.4@example.org' "
	    "AND reason = 'interrupted by a restart'"), 1);
	assert_int_equal(ot_count(f->st, "status = 'pending' AND message_id = 'o.5@example.org'"),
	    1);
	assert_int_equal(stat(journal, &sb), -1);
	assert_int_equal(outbox_recover(f->st, &err), 0);
	assert_int_equal(ot_count(f->st, "status = 'sent'"), 4);
	send_due(f, 2);
	/* o.0..o.3 went out once above, o.4 and o.5 twice (sent above, then
	 * again: this test set them back by hand) */
	assert_int_equal(ot_sink_count(f->dir, "sink", "mark-o-"), 8);
	assert_int_equal(ot_count(f->st, "status <> 'sent'"), 0);
	/* no journal is made again */
	assert_int_equal(stat(journal, &sb), -1);
	free(journal);
}

/*
 * Recovery reads the last 8 MB of a part of the sent-log, whole lines: a
 * file grown past that (a pass that sent more than 4 MB of lines before the
 * next rotation) keeps its newest lines.  Two pending rows, one named by the
 * first line of a 9 MB file, one by its last: the last one is recorded as
 * sent, the first one is beyond the bound and is sent.
 */
static void
test_ledger_bound(void **state)
{
	struct fx *f = *state;
	const char *err = NULL;
	char *path = outbox_ledger_path(f->st);
	long long id0;
	FILE *fp;
	long i;

	ot_add_rows(f->st, "g", 2, store_now() - 2, 1);
	id0 = ts_qint(store_db(f->st), "SELECT min(id) FROM outbox", NULL, NULL);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "%lld 7 g.0@example.org\n", id0);
	for (i = 0; i < 200000; i++)
		fprintf(fp, "%ld 1 s48.0000000000000000.%lx.%lx@example.org\n", 1000000 + i, i, i);
	fprintf(fp, "%lld 8 g.1@example.org\n", id0 + 1);
	assert_true(ftell(fp) > 9L * 1024 * 1024);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(outbox_recover(f->st, &err), 0);
	assert_int_equal(ot_count(f->st, "status = 'sent' AND sent_at = 8 AND message_id = "
	    "'g.1@example.org' AND reason LIKE 'sent after the backup%'"), 1);
	assert_int_equal(ot_count(f->st, "status = 'pending' AND message_id = 'g.0@example.org'"),
	    1);
	send_due(f, 1);
	assert_int_equal(ot_sink_count(f->dir, "sink", "mark-g-0-end"), 1);
	free(path);
}

/*
 * What tells a crash from a restored backup for a row left "sending": a
 * line after the sent-log's last "committed" (accepted, not recorded) is a
 * crash; a line before it (recorded, in a database the backup replaced) is
 * a restore.  A row named by both (its line lost in flight, sent again)
 * was accepted before the crash.  Lines naming another Message-ID (a row
 * queued later under the same id) change nothing.
 */
static void
test_crash_or_restore(void **state)
{
	struct fx *f = *state;
	const char *err = NULL;
	char *path = outbox_ledger_path(f->st);
	long long id0;
	FILE *fp;

	ot_add_rows(f->st, "t", 5, store_now() + 3600, 1);
	id0 = ts_qint(store_db(f->st), "SELECT min(id) FROM outbox", NULL, NULL);
	assert_int_equal(store_exec(f->st, "UPDATE outbox SET status = 'sending'", &err), 0);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "%lld 11 t.0@example.org\n%lld 12 t.1@example.org\n"
	    "%lld 13 other.2@example.org\ncommitted 14\n"
	    "%lld 15 t.1@example.org\n%lld 16 t.2@example.org\n%lld 17 other.3@example.org\n",
	    id0, id0 + 1, id0 + 2, id0 + 1, id0 + 2, id0 + 3);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(outbox_recover(f->st, &err), 2);
	assert_int_equal(ot_count(f->st, "status = 'sent' AND sent_at = 11 AND message_id = "
	    "'t.0@example.org' AND reason LIKE 'sent after the backup%'"), 1);
	assert_int_equal(ot_count(f->st, "status = 'sent' AND message_id IN ('t.1@example.org', "
	    "'t.2@example.org') AND reason = 'accepted before a stop, recorded at the restart'"),
	    2);
	assert_int_equal(ot_count(f->st, "status = 'pending' AND message_id IN "
	    "('t.3@example.org', 't.4@example.org') AND reason = 'interrupted by a restart'"), 2);
	free(path);
}

static int
count_stmt(unsigned type, void *arg, void *p, void *x)
{
	(void)type;
	(void)p;
	(void)x;
	(*(long *)arg)++;
	return 0;
}

/*
 * A start on a full sent-log: 60,000 lines naming 60,000 rows of which
 * 58,999 are sent, 500 pending (a restored backup: named before the last
 * "committed") and 500 sending (named after it: a crash), and the oldest
 * row waits for a retry under a new Message-ID (not named: the ids of the
 * rows to look at span the whole log).  Both kinds are recorded, and the
 * lines are not looked up one by one: a few statements besides one UPDATE
 * (crash) or SELECT and UPDATE (backup) per row.
 */
static void
test_recover_full_log(void **state)
{
	enum { ROWS = 60000, PENDING = 500, SENDING = 500 };
	struct fx *f = *state;
	const char *err = NULL;
	char *path = outbox_ledger_path(f->st);
	struct timespec t0, t1;
	sqlite3_stmt *s;
	long stmts = 0, ms;
	FILE *fp;
	int i, back;

	ot_add_rows(f->st, "f", ROWS, store_now() + 3600, 1);
	assert_int_equal(store_exec(f->st, "UPDATE outbox SET status = 'sent', sent_at = 1",
	    &err), 0);
	fp = fopen(path, "w");
	assert_non_null(fp);
	/* the rows in id order: the last PENDING + SENDING are the ones left */
	s = store_prepare(f->st, "SELECT id, message_id FROM outbox ORDER BY id");
	assert_non_null(s);
	for (i = 0; sqlite3_step(s) == SQLITE_ROW; i++) {
		if (i == ROWS - SENDING)
			fputs("committed 5\n", fp);
		fprintf(fp, "%lld %d %s\n", (long long)sqlite3_column_int64(s, 0), 1000 + i,
		    (const char *)sqlite3_column_text(s, 1));
	}
	sqlite3_reset(s);
	assert_int_equal(i, ROWS);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(store_exec(f->st, "UPDATE outbox SET status = 'pending', sent_at = NULL "
	    "WHERE id IN (SELECT id FROM outbox ORDER BY id DESC LIMIT 1000)", &err), 0);
	assert_int_equal(store_exec(f->st, "UPDATE outbox SET status = 'sending' WHERE id IN "
	    "(SELECT id FROM outbox ORDER BY id DESC LIMIT 500)", &err), 0);
	assert_int_equal(store_exec(f->st, "UPDATE outbox SET status = 'pending', message_id = "
	    "'retry.' || message_id WHERE id = (SELECT min(id) FROM outbox)", &err), 0);
	sqlite3_trace_v2(store_db(f->st), SQLITE_TRACE_STMT, count_stmt, &stmts);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	back = outbox_recover(f->st, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	sqlite3_trace_v2(store_db(f->st), 0, NULL, NULL);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	print_message("# recovery on a sent-log of %d lines, %d rows to record: %ld ms, %ld "
	    "statements\n", ROWS, PENDING + SENDING, ms, stmts);
	assert_int_equal(back, 0);
	assert_int_equal(ot_count(f->st, "status = 'sent' AND reason = 'accepted before a stop, "
	    "recorded at the restart'"), SENDING);
	assert_int_equal(ot_count(f->st, "status = 'sent' AND reason LIKE 'sent after the "
	    "backup%'"), PENDING);
	assert_int_equal(ot_count(f->st, "status <> 'sent'"), 1);
	assert_int_equal(ot_count(f->st, "status = 'pending' AND message_id LIKE 'retry.%'"), 1);
	assert_int_equal(ot_count(f->st, "reason LIKE 'accepted before%' AND sent_at < 1000 + "
	    "59500"), 0);
	assert_true(stmts <= SENDING + 2 * PENDING + 20);
	assert_true(ms < 10000);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_sending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ledger_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ledger_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_or_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_journal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_full_log, setup, teardown),
	};

	if (ot_find_top(topdir) != 0)
		return 1;
	log_init("test_outbox_restore", LOG_LEVEL_ERR, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
