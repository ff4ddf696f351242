/*
 * test_outbox_chunks.c - outbox_send_due() reads due rows a chunk at a time
 * (memory flat whatever the backlog): every due row is still tried exactly
 * once, max_rows still caps a run, and a transport that is down ends the run
 * with its untried rows deferred, however many chunks they fill.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "config.h"
#include "outbox_send.h"
#include "store.h"
#include "util.h"

#include "outbox_test.h"

/* smtp: NULL = no smtp group; else its url */
static void
open_fx(struct ts_fx *f, const char *smtp_url)
{
	ot_open(f->dir, smtp_url, &f->cfg, &f->st);
}

static int
setup(void **state)
{
	struct ts_fx *f = xcalloc(1, sizeof(*f));

	ts_tmpdir(f->dir, sizeof(f->dir), "outchunk");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct ts_fx *f = *state;

	return ts_fx_free(&f);
}

/* n pending email rows, due now, next_at spread over a few seconds */
static void
add_rows(struct store *st, int n)
{
	ot_add_rows(st, "chunk", n, store_now() - 5, 5);
}

/* No smtp group: each row fails at once ("channel not configured"), so a
 * run tries every row, in as many chunks as it takes, each exactly once. */
static void
test_every_row_once(void **state)
{
	static const int sizes[] = { 1, 255, 256, 257, 700 };
	struct ts_fx *f = *state;
	struct outbox_run run;
	const char *err = NULL;
	size_t k;
	int total = 0;

	open_fx(f, NULL);
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		add_rows(f->st, sizes[k]);
		total += sizes[k];
		assert_int_equal(outbox_send_due(f->st, f->cfg, NULL, 0, &run, &err), 0);
		assert_int_equal(run.failed, sizes[k]);
		assert_int_equal(run.sent + run.retried, 0);
		assert_int_equal(ot_count(f->st, "status = 'pending'"), 0);
		assert_int_equal(ot_count(f->st, "status = 'failed' AND attempts = 1 AND reason LIKE "
		    "'channel not configured%'"), total);
	}
	/* nothing due: nothing done */
	assert_int_equal(outbox_send_due(f->st, f->cfg, NULL, 0, &run, &err), 0);
	assert_int_equal(run.failed + run.sent + run.retried, 0);
}

static void
test_max_rows(void **state)
{
	struct ts_fx *f = *state;
	struct outbox_run run;
	const char *err = NULL;

	open_fx(f, NULL);
	add_rows(f->st, 600);
	assert_int_equal(outbox_send_due(f->st, f->cfg, NULL, 300, &run, &err), 0);
	assert_int_equal(run.failed, 300);
	assert_int_equal(ot_count(f->st, "status = 'pending'"), 300);
	assert_int_equal(outbox_send_due(f->st, f->cfg, NULL, 299, &run, &err), 0);
	assert_int_equal(run.failed, 299);
	assert_int_equal(outbox_send_due(f->st, f->cfg, NULL, 0, &run, &err), 0);
	assert_int_equal(run.failed, 1);
	assert_int_equal(ot_count(f->st, "status = 'pending'"), 0);
}

static int commits;

static int
commit_hook(void *arg)
{
	(void)arg;
	commits++;
	return 0;
}

/* SMTP down (nothing listens): three temporary failures, then the run ends
 * with the other rows of every chunk deferred, none tried, and the later
 * chunks not even claimed (three transactions: claim, outcomes, deferral). */
static void
test_transport_down(void **state)
{
	struct ts_fx *f = *state;
	struct outbox_run run;
	const char *err = NULL;
	char *url;
	int port;

	/* a port nobody listens on: bind one, close it */
	{
		char cmd[200];
		FILE *p;

		snprintf(cmd, sizeof(cmd), "python3 -c 'import socket; s = socket.socket(); "
		    "s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])'");
		p = popen(cmd, "r");
		assert_non_null(p);
		assert_int_equal(fscanf(p, "%d", &port), 1);
		pclose(p);
	}
	url = xasprintf("smtp://127.0.0.1:%d", port);
	open_fx(f, url);
	free(url);
	add_rows(f->st, 600);
	sqlite3_commit_hook(store_db(f->st), commit_hook, NULL);
	commits = 0;
	assert_int_equal(outbox_send_due(f->st, f->cfg, NULL, 0, &run, &err), 0);
	sqlite3_commit_hook(store_db(f->st), NULL, NULL);
	assert_int_equal(commits, 3);
	assert_int_equal(run.retried, 3);
	assert_int_equal(run.sent + run.failed, 0);
	assert_true(run.smtp_unreachable);
	assert_int_equal(ot_count(f->st, "attempts = 1"), 3);
	assert_int_equal(ot_count(f->st, "attempts = 0"), 597);
	/* nothing is due any more: all wait a backoff step */
	assert_int_equal(ot_count(f->st, "status = 'pending'"), 600);
	assert_int_equal(outbox_send_due(f->st, f->cfg, NULL, 0, &run, &err), 0);
	assert_int_equal(run.retried + run.sent + run.failed, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_row_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transport_down, setup, teardown),
	};

	log_init("test_outbox_chunks", LOG_LEVEL_ERR, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
