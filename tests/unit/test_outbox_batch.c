/*
 * test_outbox_batch.c - outbox_send_due() against a real smtp-sink
 * (tests/lib/smtp_sink.sh): rows claimed and recorded a batch at a time
 * (counted with a commit hook), every row delivered exactly once; accepted
 * sends whose outcome could not be committed (a failed commit, a SIGKILL
 * just before the commit) are found in the sent-log after its last
 * "committed" line and recorded as sent, not sent again, emails in flight
 * when a commit fails included (a kill repeats at most those in flight, one
 * per connection); without a sent-log each accepted message is committed at
 * once; a database locked by another connection fails the pass cleanly and the next pass sends; a send cut short by a stop
 * goes back to pending without an attempt or a backoff; emails go out on
 * smtp.connections connections at once, one recipient's in order, and a
 * relay that is down is tried three times, not once per connection.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
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

/* the number a shell command prints first, or -1 */
static long long
cmd_number(const char *cmd)
{
	char line[64];
	FILE *p = popen(cmd, "r");
	long long n = -1;

	if (p != NULL && fgets(line, sizeof(line), p) != NULL)
		n = atoll(line);
	if (p != NULL)
		pclose(p);
	return n;
}

static void
open_fx(struct fx *f, int port)
{
	char url[64];

	snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", port);
	ot_open(f->dir, url, &f->cfg, &f->st);
}

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/s48-outbatch.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	chmod(f->dir, 0755);
	s48_stop_requested = 0;
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
	ot_sinks_stop_all(topdir, f->dir);
	if (getenv("S48_KEEP") == NULL)
		ot_run("rm -rf '%s'", f->dir);
	free(f);
	s48_stop_requested = 0;
	return 0;
}

/* n pending email rows of tag (ot_add_rows), all due 2 s ago */
static void
add_rows(struct store *st, const char *tag, int n)
{
	ot_add_rows(st, tag, n, store_now() - 2, 1);
}

/* every row of tag delivered exactly once */
static void
assert_each_once(struct fx *f, const char *sink, const char *tag, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		char mark[64];
		int c;

		snprintf(mark, sizeof(mark), "mark-%s-%d-end", tag, i);
		c = ot_sink_count(f->dir, sink, mark);
		if (c != 1)
			fail_msg("%s delivered %d times", mark, c);
	}
}

static int commits;

static int
commit_hook(void *arg)
{
	(void)arg;
	commits++;
	return 0;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Table of backlog sizes: every row sent once, in about two commits per 64
 * rows (claim + outcomes; one more per 100 ms a batch took), attempts 1. */
static void
test_batched(void **state)
{
	static const int sizes[] = { 1, 63, 64, 65, 200 };
	struct fx *f = *state;
	struct outbox_run run;
	const char *err = NULL;
	size_t k;
	int total = 0;

	f->port = ot_sink_start(topdir, f->dir, "sink", "");
	open_fx(f, f->port);
	sqlite3_commit_hook(store_db(f->st), commit_hook, NULL);
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		char tag[16];
		long long t0, ms;
		int batches = (sizes[k] + 63) / 64, limit;

		snprintf(tag, sizeof(tag), "b%zu", k);
		add_rows(f->st, tag, sizes[k]);
		total += sizes[k];
		commits = 0;
		t0 = now_ms();
		assert_int_equal(outbox_send_due(f->st, f->cfg, NULL, 0, &run, &err), 0);
		ms = now_ms() - t0;
		assert_int_equal(run.sent, sizes[k]);
		assert_int_equal(run.retried + run.failed, 0);
		assert_true(run.smtp_ok);
		/* one per-row commit each would be 2 * sizes[k] */
		limit = 2 * batches + (int)(ms / 100) + 1;
		if (commits > limit)
			fail_msg("%d rows: %d commits (at most %d expected, %lld ms)", sizes[k],
			    commits, limit, ms);
		assert_true(commits >= 2 * batches);
		assert_int_equal(ot_count(f->st, "status = 'sent' AND attempts = 1 AND sent_at IS NOT "
		    "NULL"), total);
		assert_int_equal(ot_count(f->st, "status <> 'sent'"), 0);
		assert_each_once(f, "sink", tag, sizes[k]);
	}
	/* nothing due: no transaction at all */
	commits = 0;
	assert_int_equal(outbox_send_due(f->st, f->cfg, NULL, 0, &run, &err), 0);
	assert_int_equal(run.sent + run.retried + run.failed, 0);
	assert_int_equal(commits, 0);
	sqlite3_commit_hook(store_db(f->st), NULL, NULL);
}

/* the sent-log's lines of accepted sends after its last "committed" line:
 * those not recorded in the database yet */
static int
unrecorded_lines(struct store *st)
{
	char *path = outbox_ledger_path(st), *data = NULL, *p, *nl;
	const char *err;
	size_t len;
	int n = 0;

	assert_non_null(path);
	if (util_read_file(path, 16 << 20, &data, &len, &err) == 0) {
		for (p = data; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
			if (strncmp(p, "committed ", 10) == 0)
				n = 0;
			else if (*p >= '1' && *p <= '9')
				n++;
		}
		free(data);
	}
	free(path);
	return n;
}

/*
 * The outcomes cannot be committed (a trigger refuses 'sent'), as if the
 * process had died before the commit: the pass fails, the accepted sends
 * are in the sent-log, after its last "committed" line.  The next pass (or the restart) records them as sent
 * without sending them again and sends the rest: each message once.
 */
static void
test_unrecorded(void **state)
{
	static const struct {
		const char *tag;
		int rows, restart;   /* restart: outbox_recover() as s48d's start does */
	} cases[] = {
		{ "j1", 10, 0 }, { "j2", 100, 0 }, { "j3", 10, 1 }, { "j4", 130, 1 },
	};
	struct fx *f = *state;
	struct outbox_run run;
	const char *err = NULL;
	size_t k;

	f->port = ot_sink_start(topdir, f->dir, "sink", "");
	open_fx(f, f->port);
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char like[64];
		int logged, delivered, recovered;
		long long prev_sent = ot_count(f->st, "status = 'sent'");

		add_rows(f->st, cases[k].tag, cases[k].rows);
		assert_int_equal(store_exec(f->st, "CREATE TEMP TRIGGER no_sent BEFORE UPDATE OF status "
		    "ON outbox WHEN NEW.status = 'sent' BEGIN SELECT RAISE(ABORT, 'test: no sent'); "
		    "END", &err), 0);
		err = NULL;
		assert_int_equal(outbox_send_due(f->st, f->cfg, NULL, 0, &run, &err), -1);
		assert_non_null(err);
		assert_non_null(strstr(err, "test: no sent"));
		snprintf(like, sizeof(like), "mark-%s-", cases[k].tag);
		delivered = ot_sink_count(f->dir, "sink", like);
		logged = unrecorded_lines(f->st);
		assert_true(delivered >= 1);
		assert_int_equal(logged, delivered);
		/* nothing recorded: the delivered rows are still claimed */
		assert_true(ot_count(f->st, "status = 'sending'") >= delivered);
		assert_int_equal(ot_count(f->st, "status = 'sent'"), prev_sent);
		assert_int_equal(store_exec(f->st, "DROP TRIGGER no_sent", &err), 0);
		if (cases[k].restart) {
			int back = outbox_recover(f->st, &err);

			assert_int_equal(back, ot_count(f->st, "status = 'pending' AND reason = "
			    "'interrupted by a restart'"));
			assert_int_equal(ot_count(f->st, "status = 'sending'"), 0);
		}
		assert_int_equal(outbox_send_due(f->st, f->cfg, NULL, 0, &run, &err), 0);
		assert_int_equal(run.sent, cases[k].rows - delivered);
		recovered = (int)ot_count(f->st, "reason = 'accepted before a stop, recorded at the "
		    "restart' AND status = 'sent' AND attempts = 1");
		assert_int_equal(recovered, delivered);
		assert_int_equal(ot_count(f->st, "status <> 'sent'"), 0);
		assert_int_equal(unrecorded_lines(f->st), 0);
		assert_each_once(f, "sink", cases[k].tag, cases[k].rows);
		assert_int_equal(store_exec(f->st, "UPDATE outbox SET reason = 'old' WHERE reason "
		    "LIKE 'accepted before%'", &err), 0);
	}
}

/*
 * The commit of outcomes fails while emails are in flight on the other
 * connections (a relay that answers after 1 s: the commit comes 100 ms
 * after the first outcome): the pass reads their ends before it returns
 * and puts the accepted ones in the sent-log, so the next pass records
 * them as sent instead of sending them again.
 */
static void
test_unrecorded_in_flight(void **state)
{
	struct fx *f = *state;
	struct outbox_run run;
	const char *err = NULL;
	int delivered;

	f->port = ot_sink_start(topdir, f->dir, "slow", "-w 1");
	open_fx(f, f->port);
	f->cfg->smtp.connections = 4;
	add_rows(f->st, "i", 8);
	assert_int_equal(store_exec(f->st, "CREATE TEMP TRIGGER no_sent BEFORE UPDATE OF status "
	    "ON outbox WHEN NEW.status = 'sent' BEGIN SELECT RAISE(ABORT, 'test: no sent'); END",
	    &err), 0);
	assert_int_equal(outbox_send_due(f->st, f->cfg, NULL, 0, &run, &err), -1);
	delivered = ot_sink_count(f->dir, "slow", "mark-i-");
	print_message("# %d accepted when the commit failed\n", delivered);
	assert_true(delivered >= 2);
	assert_int_equal(unrecorded_lines(f->st), delivered);
	assert_int_equal(store_exec(f->st, "DROP TRIGGER no_sent", &err), 0);
	assert_int_equal(outbox_send_due(f->st, f->cfg, NULL, 0, &run, &err), 0);
	assert_int_equal(run.sent, 8 - delivered);
	assert_int_equal(ot_count(f->st, "status = 'sent' AND reason = 'accepted before a stop, "
	    "recorded at the restart'"), delivered);
	assert_each_once(f, "slow", "i", 8);
}

/*
 * s48d killed (SIGKILL) between the server's acceptance of messages and
 * the commit of their outcomes, on 1 and 4 SMTP connections: the start
 * (outbox_recover) finds them after the sent-log's last "committed" line
 * and records them as sent; the rest go back to pending and are sent once.
 * The real smtp-sink counts every copy: only an email in flight when the
 * kill came (accepted, its reply not yet read) goes out twice, one per
 * connection at most.
 */
static int
kill_at_outcomes(void *arg)
{
	/* the first commit after the sent-log got lines: the outcomes' */
	if (unrecorded_lines(arg) > 0)
		raise(SIGKILL);
	return 0;
}

struct kill_case {
	const char *tag;
	int rows, conns;
};

/* the cases against a smtp-sink started as sink with sink_opts */
static void
killed(struct fx *f, const char *sink, const char *sink_opts, const struct kill_case *cases,
    size_t n)
{
	struct outbox_run run;
	const char *err = NULL;
	size_t k;

	f->port = ot_sink_start(topdir, f->dir, sink, sink_opts);
	open_fx(f, f->port);
	for (k = 0; k < n; k++) {
		char like[64];
		int delivered, logged, claimed, status, back, i;
		pid_t pid;

		add_rows(f->st, cases[k].tag, cases[k].rows);
		f->cfg->smtp.connections = cases[k].conns;
		store_close(&f->st);
		fflush(NULL);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct store *st = NULL;

			if (store_open(f->cfg->database, &st, &err) < 0)
				_exit(2);
			sqlite3_commit_hook(store_db(st), kill_at_outcomes, st);
			(void)outbox_send_due(st, f->cfg, NULL, 0, &run, &err);
			_exit(3);       /* not killed: the test fails */
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGKILL);
		ts_open(f->cfg->database, &f->st);
		snprintf(like, sizeof(like), "mark-%s-", cases[k].tag);
		delivered = ot_sink_count(f->dir, sink, like);
		/* emails in flight when the kill came may have been accepted
		 * without reaching the sent-log: one per connection at most */
		logged = unrecorded_lines(f->st);
		assert_true(logged >= 1);
		assert_true(delivered >= logged && delivered - logged <= cases[k].conns);
		claimed = cases[k].rows < 64 ? cases[k].rows : 64;
		assert_int_equal(ot_count(f->st, "status = 'sending'"), claimed);
		back = outbox_recover(f->st, &err);
		assert_int_equal(back + logged, claimed);
		assert_int_equal(ot_count(f->st, "reason = 'accepted before a stop, recorded at the "
		    "restart' AND status = 'sent' AND attempts = 1 AND sent_at IS NOT NULL"),
		    logged);
		assert_int_equal(ot_count(f->st, "status = 'sending'"), 0);
		assert_int_equal(unrecorded_lines(f->st), 0);
		assert_int_equal(outbox_send_due(f->st, f->cfg, NULL, 0, &run, &err), 0);
		assert_int_equal(run.sent, cases[k].rows - logged);
		assert_int_equal(ot_count(f->st, "status <> 'sent'"), 0);
		/* every message at least once, the unlogged ones of the kill twice */
		assert_int_equal(ot_sink_count(f->dir, sink, like), cases[k].rows + delivered - logged);
		for (i = 0; i < cases[k].rows; i++) {
			char mark[64];
			int c;

			snprintf(mark, sizeof(mark), "mark-%s-%d-end", cases[k].tag, i);
			c = ot_sink_count(f->dir, sink, mark);
			if (c < 1 || c > 2)
				fail_msg("%s delivered %d times", mark, c);
		}
		print_message("# %s: %d accepted before the kill on %d connection(s), %d of them "
		    "in the sent-log\n", cases[k].tag, delivered, cases[k].conns, logged);
		assert_int_equal(store_exec(f->st, "UPDATE outbox SET reason = 'old' WHERE reason "
		    "LIKE 'accepted before%'", &err), 0);
	}
}

static void
test_killed(void **state)
{
	static const struct kill_case cases[] = {
		{ "k1", 10, 1 }, { "k2", 40, 4 }, { "k3", 100, 4 },
	};

	killed(*state, "sink", "", cases, sizeof(cases) / sizeof(cases[0]));
}

/* A relay that answers after 1 s: the kill comes at the commit 100 ms after
 * the first outcome, with emails in flight on the other connections. */
static void
test_killed_in_flight(void **state)
{
	static const struct kill_case cases[] = { { "k4", 8, 4 } };

	killed(*state, "slow", "-w 1", cases, 1);
}

/*
 * No sent-log (a directory is in its place): every accepted message is
 * committed before the next send, so a failure to record costs at most the
 * one message in flight.
 */
static void
test_no_sentlog(void **state)
{
	struct fx *f = *state;
	struct outbox_run run;
	const char *err = NULL;
	char *path;

	f->port = ot_sink_start(topdir, f->dir, "sink", "");
	open_fx(f, f->port);
	path = outbox_ledger_path(f->st);
	assert_int_equal(mkdir(path, 0700), 0);
	add_rows(f->st, "n", 10);
	sqlite3_commit_hook(store_db(f->st), commit_hook, NULL);
	commits = 0;
	assert_int_equal(outbox_send_due(f->st, f->cfg, NULL, 0, &run, &err), 0);
	assert_int_equal(run.sent, 10);
	assert_true(commits >= 1 + 10);
	sqlite3_commit_hook(store_db(f->st), NULL, NULL);
	assert_each_once(f, "sink", "n", 10);
	/* recording refused: the pass stops after the first accepted message */
	add_rows(f->st, "m", 10);
	assert_int_equal(store_exec(f->st, "CREATE TEMP TRIGGER no_sent BEFORE UPDATE OF status "
	    "ON outbox WHEN NEW.status = 'sent' BEGIN SELECT RAISE(ABORT, 'test: no sent'); END",
	    &err), 0);
	assert_int_equal(outbox_send_due(f->st, f->cfg, NULL, 0, &run, &err), -1);
	assert_int_equal(ot_sink_count(f->dir, "sink", "mark-m-"), 1);
	assert_int_equal(store_exec(f->st, "DROP TRIGGER no_sent", &err), 0);
	assert_int_equal(outbox_send_due(f->st, f->cfg, NULL, 0, &run, &err), 0);
	assert_int_equal(run.sent, 10);
	assert_int_equal(ot_count(f->st, "status <> 'sent'"), 0);
	/* the inherent window: that one message went out twice */
	assert_int_equal(ot_sink_count(f->dir, "sink", "mark-m-"), 11);
	assert_int_equal(ot_sink_count(f->dir, "sink", "mark-m-0-end"), 2);
	rmdir(path);
	free(path);
}

/* Another connection holds the write lock: the pass fails without leaving
 * a row claimed or sending anything; once the lock is gone everything goes. */
static void
test_locked(void **state)
{
	struct fx *f = *state;
	struct outbox_run run;
	const char *err = NULL;
	sqlite3 *other;
	char path[128];

	f->port = ot_sink_start(topdir, f->dir, "sink", "");
	open_fx(f, f->port);
	add_rows(f->st, "l", 70);
	sqlite3_busy_timeout(store_db(f->st), 100);
	snprintf(path, sizeof(path), "%s/s48.db", f->dir);
	assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
	err = NULL;
	assert_int_equal(outbox_send_due(f->st, f->cfg, NULL, 0, &run, &err), -1);
	assert_non_null(err);
	assert_non_null(strstr(err, "locked"));
	assert_int_equal(run.sent + run.retried + run.failed, 0);
	assert_int_equal(ot_sink_count(f->dir, "sink", "mark-l-"), 0);
	/* again while locked: the same, nothing half done */
	assert_int_equal(outbox_send_due(f->st, f->cfg, NULL, 0, &run, &err), -1);
	assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(ot_count(f->st, "status = 'pending' AND attempts = 0"), 70);
	assert_int_equal(outbox_send_due(f->st, f->cfg, NULL, 0, &run, &err), 0);
	assert_int_equal(run.sent, 70);
	assert_int_equal(ot_count(f->st, "status = 'sent' AND attempts = 1"), 70);
	assert_each_once(f, "sink", "l", 70);
	sqlite3_close(other);
}

static void
on_alarm(int sig)
{
	(void)sig;
	s48_stop_requested = 1;
}

/* A stop while the server sits on DATA (smtp-sink -w): the send is cut
 * short, the row is pending again with no attempt counted and due at once,
 * the rows not tried are untouched; later all are sent once. */
static void
test_stop_interrupts(void **state)
{
	struct fx *f = *state;
	struct outbox_run run;
	struct sigaction sa;
	struct itimerval it;
	const char *err = NULL;
	time_t before;
	long long t0;
	int port;

	port = ot_sink_start(topdir, f->dir, "slow", "-w 20");
	f->port = ot_sink_start(topdir, f->dir, "sink", "");
	open_fx(f, port);
	add_rows(f->st, "s", 5);
	/* an earlier failure's reason and attempt stay as they were */
	assert_int_equal(store_exec(f->st, "UPDATE outbox SET attempts = 2, reason = 'earlier' "
	    "WHERE body = 'mark-s-3-end'", &err), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	memset(&it, 0, sizeof(it));
	it.it_value.tv_usec = 400 * 1000;
	before = store_now();
	t0 = now_ms();
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	assert_int_equal(outbox_send_due(f->st, f->cfg, NULL, 0, &run, &err), 0);
	assert_true(now_ms() - t0 < 5000);
	assert_true(s48_stop_requested);
	assert_int_equal(run.sent + run.retried + run.failed, 0);
	assert_false(run.smtp_unreachable);
	assert_int_equal(ot_count(f->st, "status = 'pending'"), 5);
	assert_int_equal(ot_count(f->st, "status = 'pending' AND attempts = 0 AND reason LIKE "
	    "'interrupted by a stop%' AND body = 'mark-s-0-end'"), 1);
	{
		char *w = xasprintf("body = 'mark-s-0-end' AND next_at <= %lld",
		    (long long)store_now());

		assert_int_equal(ot_count(f->st, w), 1);   /* no backoff */
		free(w);
		w = xasprintf("body = 'mark-s-0-end' AND next_at >= %lld", (long long)before - 1);
		assert_int_equal(ot_count(f->st, w), 1);
		free(w);
	}
	assert_int_equal(ot_count(f->st, "reason IS NULL AND attempts = 0"), 3);
	assert_int_equal(ot_count(f->st, "reason = 'earlier' AND attempts = 2"), 1);
	assert_int_equal(ot_sink_count(f->dir, "slow", "mark-s-"), 0);
	ot_sink_stop(topdir, f->dir, "slow");
	/* the next run (another server now) sends every row once */
	s48_stop_requested = 0;
	free(f->cfg->smtp.url);
	f->cfg->smtp.url = xasprintf("smtp://127.0.0.1:%d", f->port);
	assert_int_equal(outbox_send_due(f->st, f->cfg, NULL, 0, &run, &err), 0);
	assert_int_equal(run.sent, 5);
	assert_int_equal(ot_count(f->st, "status = 'sent' AND attempts = 1"), 4);
	assert_int_equal(ot_count(f->st, "status = 'sent' AND attempts = 3"), 1);
	assert_each_once(f, "sink", "s", 5);
}

/* EHLO lines in the -v log of sink NAME: one per connection */
static int
sink_ehlos(struct fx *f, const char *name)
{
	char path[256], *log = NULL, *p;
	const char *err;
	size_t len;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s/smtp-sink.log", f->dir, name);
	assert_int_equal(util_read_file(path, 16 << 20, &log, &len, &err), 0);
	for (p = log; (p = strstr(p, "EHLO")) != NULL; p++)
		n++;
	free(log);
	return n;
}

/* modification time (ms) of the one message of sink NAME containing what */
static long long
sink_mtime_ms(struct fx *f, const char *name, const char *what)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "stat -c '%%.3Y' $(grep -rlF -- '%s' '%s/%s/mail') | tr -d .",
	    what, f->dir, name);
	return cmd_number(cmd);
}

/*
 * A relay that takes 1 s to answer DATA: 9 emails to 9 citizens go out on
 * the 4 connections of smtp.connections (the first alone, until the relay
 * has accepted one; then 4 and 4: ~3 s, where one connection takes 9 s),
 * each once, on 4 connections.
 */
static void
test_connections(void **state)
{
	struct fx *f = *state;
	struct outbox_run run;
	const char *err = NULL;
	long long t0, el;

	open_fx(f, ot_sink_start(topdir, f->dir, "slow", "-v -w 1"));
	assert_int_equal(f->cfg->smtp.connections, 4);
	add_rows(f->st, "p", 9);
	t0 = now_ms();
	assert_int_equal(outbox_send_due(f->st, f->cfg, NULL, 0, &run, &err), 0);
	el = now_ms() - t0;
	print_message("# 9 emails in %lld ms\n", el);
	assert_int_equal(run.sent, 9);
	assert_true(el >= 2900 && el < 6000);
	assert_int_equal(ot_count(f->st, "status = 'sent' AND attempts = 1"), 9);
	assert_each_once(f, "slow", "p", 9);
	usleep(200000);
	assert_int_equal(sink_ehlos(f, "slow"), 4);
	/* smtp.connections = 1: one after the other */
	f->cfg->smtp.connections = 1;
	add_rows(f->st, "q", 3);
	t0 = now_ms();
	assert_int_equal(outbox_send_due(f->st, f->cfg, NULL, 0, &run, &err), 0);
	el = now_ms() - t0;
	assert_int_equal(run.sent, 3);
	assert_true(el >= 2900);
}

/*
 * A relay that takes two connections per client and answers a third with
 * 421 at its greeting (tests/sim/tls_relay.py --plain --max-conns 2 in
 * front of the sink): the run goes down to two connections after the
 * refusals and stays there, so 20 emails cost two temporary failures,
 * not one per try of a third and fourth connection; the two are due again.
 */
static void
test_connection_limit(void **state)
{
	struct fx *f = *state;
	struct outbox_run res;
	const char *err = NULL;
	char path[256], *data = NULL;
	size_t len;
	int sink = ot_sink_start(topdir, f->dir, "sink", "-w 1"), port;

	assert_int_equal(ot_run("mkdir -p '%s/limit' && '%s' '%s/tests/sim/tls_relay.py' --plain "
	    "--max-conns 2 --target-port %d --port-file '%s/limit/port' "
	    "--pid-file '%s/limit/tls-relay.pid' >/dev/null 2>&1 &", f->dir,
	    access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3", topdir, sink,
	    f->dir, f->dir), 0);
	snprintf(path, sizeof(path), "%s/limit/port", f->dir);
	for (port = 0; port < 100 && access(path, R_OK) != 0; port++)
		usleep(50000);
	assert_int_equal(util_read_file(path, 64, &data, &len, &err), 0);
	port = atoi(data);
	free(data);
	open_fx(f, port);
	assert_int_equal(f->cfg->smtp.connections, 4);
	add_rows(f->st, "c", 20);
	assert_int_equal(outbox_send_due(f->st, f->cfg, NULL, 0, &res, &err), 0);
	print_message("# sent %d, retried %d\n", res.sent, res.retried);
	assert_int_equal(res.sent, 18);
	assert_int_equal(res.retried, 2);
	assert_int_equal(res.failed, 0);
	assert_int_equal(ot_count(f->st, "status = 'pending' AND attempts = 1 AND "
	    "reason LIKE '421%'"), 2);
	assert_int_equal(ot_count(f->st, "status = 'sent'"), 18);
}

/*
 * One citizen's emails keep their order: while one is in flight the next
 * to the same address waits (the relay takes 1 s per message, so they
 * arrive >= 1 s apart), while other citizens' go out meanwhile.
 */
static void
test_recipient_order(void **state)
{
	struct fx *f = *state;
	struct outbox_run run;
	const char *err = NULL;
	static const char *const rows[][2] = {
		{ "ok@example.net", "mark-o-0-end" },   /* proves the relay: then 4 at once */
		{ "jovana@example.net", "mark-j-0-end" },
		{ "pera@example.net", "mark-x-0-end" },
		{ "jovana@example.net", "mark-j-1-end" },
		{ "mika@example.net", "mark-x-1-end" },
		{ "jovana@example.net", "mark-j-2-end" },
	};
	long long t[3];
	size_t i;

	open_fx(f, ot_sink_start(topdir, f->dir, "slow", "-w 1"));
	assert_int_equal(store_begin(f->st, NULL), 0);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		ot_add_email(f->st, rows[i][0], rows[i][1], NULL, store_now() - 2);
	assert_int_equal(store_commit(f->st, NULL), 0);
	assert_int_equal(outbox_send_due(f->st, f->cfg, NULL, 0, &run, &err), 0);
	assert_int_equal(run.sent, 6);
	for (i = 0; i < 3; i++) {
		char mark[32];

		snprintf(mark, sizeof(mark), "mark-j-%zu-end", i);
		t[i] = sink_mtime_ms(f, "slow", mark);
		assert_true(t[i] > 0);
	}
	print_message("# jovana's at +0, +%lld, +%lld ms\n", t[1] - t[0], t[2] - t[0]);
	assert_true(t[1] - t[0] >= 900);
	assert_true(t[2] - t[1] >= 900);
	/* the others did not wait for jovana's */
	assert_true(sink_mtime_ms(f, "slow", "mark-x-1-end") < t[2]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_batched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unrecorded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unrecorded_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_sentlog, setup, teardown),
		cmocka_unit_test_setup_teardown(test_locked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_interrupts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recipient_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_limit, setup, teardown),
	};

	if (ot_find_top(topdir) != 0)
		return 1;
	log_init("test_outbox_batch", LOG_LEVEL_ERR, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
