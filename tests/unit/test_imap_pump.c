/*
 * test_imap_pump.c - the IMAP pump's hand-offs between the caller and its
 * two threads (daemon/imap_pump.c), against a private Dovecot
 * (tests/lib/dovecot.sh) on 127.0.0.1, on every path that ends a poll:
 * all committed and acknowledged on two sessions; a refused second login;
 * a batch not committed while the next one is fetched ahead; the fetching
 * session lost while acknowledgements are queued; a stop request while the
 * caller waits for a batch.  What is checked each time is the rule of
 * SPEC: a message is acknowledged (moved) only after the caller said it is
 * committed, and whatever was not acknowledged stays in the mailbox.
 * Meant to run under ThreadSanitizer too (make BUILD=build-tsan
 * SAN=-fsanitize=thread): the interleavings are the threads' own.
 * Run from the repository root (or with S48_TOP set).
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
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

#include "imap_pump.h"
#include "intake_imap.h"
#include "log.h"
#include "util.h"

#include "dovecot_test.h"

static char mb_inbox[] = "INBOX", mb_processed[] = "Processed";

static int
group_setup(void **state)
{
	(void)state;
	return dt_setup("/tmp/s48pump.XXXXXX");
}

static int
group_teardown(void **state)
{
	(void)state;
	return dt_teardown();
}

/* a config for the plain listener, INBOX to Processed; password: NULL for
 * the right one */
static void
cfg_plain(struct cfg_imap *c, char *password)
{
	dt_cfg_plain(c, mb_inbox, mb_processed);
	if (password != NULL)
		c->password = password;
}

static struct imap_intake *
connect_ok(const struct cfg_imap *c)
{
	struct imap_intake *ii = NULL;
	const char *err = NULL;

	if (imap_intake_connect(c, &ii, &err) != 0)
		fail_msg("connect: %s", err);
	return ii;
}

/* move whatever is left in INBOX, without the pump: each test starts empty */
static void
drain(void)
{
	struct cfg_imap c;
	struct imap_intake *ii;
	struct imap_msg *msgs = NULL;
	const char *err = NULL;
	size_t n, i;
	uint32_t *uids;

	cfg_plain(&c, NULL);
	ii = connect_ok(&c);
	for (;;) {
		assert_int_equal(imap_intake_fetch(ii, 0, 500, &msgs, &n, &err), 0);
		if (n == 0)
			break;
		uids = xcalloc(n, sizeof(*uids));
		for (i = 0; i < n; i++)
			uids[i] = msgs[i].uid;
		assert_int_equal(imap_intake_ack(ii, uids, n, &err), 0);
		free(uids);
		imap_intake_free_msgs(&msgs, n);
	}
	imap_intake_close(&ii);
	assert_int_equal(dt_count(mb_inbox, "all"), 0);
}

/* the batch of n in *msgs "committed": its UIDs and bytes handed back to
 * the pump (imap_pump_ack), the batch freed */
static void
commit_batch(struct imap_pump *p, struct imap_msg **msgs, size_t n)
{
	size_t i, bytes = 0;
	uint32_t *uids = xcalloc(n, sizeof(*uids));

	for (i = 0; i < n; i++) {
		uids[i] = (*msgs)[i].uid;
		bytes += (*msgs)[i].len;
	}
	imap_pump_ack(p, uids, n, bytes);
	free(uids);
	imap_intake_free_msgs(msgs, n);
}

/* the caller's side of a poll: take every batch, "commit" it and hand its
 * UIDs back, until the pump says there is no more; the number acknowledged */
static size_t
take_all(struct imap_pump *p)
{
	struct imap_msg *msgs = NULL;
	char *err = NULL;
	size_t n, acked = 0;
	int r;

	while ((r = imap_pump_next(p, &msgs, &n, &err)) == 1) {
		acked += n;
		commit_batch(p, &msgs, n);
	}
	if (r < 0)
		fail_msg("imap_pump_next: %s", err);
	return acked;
}

/* n more mails in INBOX, a session on c (cfg_plain) in *ii_r, and the pump
 * started on it in batches of 100: acknowledging on a session of ack_cfg,
 * or NULL for the fetching session only */
static struct imap_pump *
pump_begin(int n, struct cfg_imap *c, const struct cfg_imap *ack_cfg,
    struct imap_intake **ii_r)
{
	struct imap_pump *p = NULL;
	char *err = NULL;

	dt_fill(n);
	cfg_plain(c, NULL);
	*ii_r = connect_ok(c);
	assert_int_equal(imap_pump_start(*ii_r, ack_cfg, NULL, 0, 100, &p, &err), 0);
	return p;
}

/* n mails in batches of 100 on two sessions, the acknowledging one logging
 * in with ack_password (NULL: the right one); every committed mail is moved
 * once, nothing else */
static void
move_all(long n, char *ack_password)
{
	struct cfg_imap c, c_ack;
	struct imap_intake *ii;
	struct imap_pump *p;
	char *err = NULL;
	long before = dt_count(mb_processed, "all");

	cfg_plain(&c_ack, ack_password);
	p = pump_begin((int)n, &c, &c_ack, &ii);
	assert_int_equal(take_all(p), n);
	if (imap_pump_finish(&p, &err) != 0)
		fail_msg("finish: %s", err);
	assert_null(p);
	imap_intake_close(&ii);
	assert_int_equal(dt_count(mb_inbox, "all"), 0);
	assert_int_equal(dt_count(mb_processed, "all"), before + n);
}

/* 2,500 mails: the second session logs in once the listing shows enough
 * for a command, the two share the end */
static void
test_two_sessions_move_all(void **state)
{
	(void)state;
	move_all(2500, NULL);
}

/* the second login refused (a wrong password): the fetching session
 * acknowledges everything itself */
static void
test_second_login_refused(void **state)
{
	static char wrong[] = "not-the-password";

	(void)state;
	move_all(1500, wrong);
}

/* the second batch is not committed (imap_pump_drop) while the third may
 * be fetched ahead: the first is moved, the second and third stay */
static void
test_drop_with_batch_ahead(void **state)
{
	struct cfg_imap c;
	struct imap_intake *ii;
	struct imap_pump *p;
	struct imap_msg *msgs = NULL;
	char *err = NULL;
	size_t n, i, bytes;
	long before = dt_count(mb_processed, "all");
	int r;

	(void)state;
	p = pump_begin(300, &c, &c, &ii);
	assert_int_equal(imap_pump_next(p, &msgs, &n, &err), 1);
	assert_int_equal(n, 100);
	commit_batch(p, &msgs, n);
	assert_int_equal(imap_pump_next(p, &msgs, &n, &err), 1);
	assert_int_equal(n, 100);
	/* let the fetch thread get the third batch ahead, most of the time */
	usleep(50 * 1000);
	for (i = 0, bytes = 0; i < n; i++)
		bytes += msgs[i].len;
	imap_pump_drop(p, bytes);
	imap_intake_free_msgs(&msgs, n);
	/* nothing more is handed out after a drop, not even a batch fetched
	 * ahead */
	r = imap_pump_next(p, &msgs, &n, &err);
	assert_int_equal(r, 0);
	assert_null(msgs);
	if (imap_pump_finish(&p, &err) != 0)
		fail_msg("finish: %s", err);
	imap_intake_close(&ii);
	assert_int_equal(dt_count(mb_processed, "all"), before + 100);
	assert_int_equal(dt_count(mb_inbox, "all"), 200);
	drain();
}

/* the fetching session is cut (its socket shut down, as a server or a
 * network would) while committed UIDs wait for their command: the poll
 * fails, and every mail is either moved after its commit or still in
 * INBOX -- none lost, none moved without a commit */
static void
test_session_lost_with_acks_queued(void **state)
{
	struct cfg_imap c;
	struct imap_intake *ii;
	struct imap_pump *p;
	struct imap_msg *msgs = NULL;
	char *err = NULL;
	size_t n, committed = 0;
	long before = dt_count(mb_processed, "all"), moved;
	int r, batches = 0;

	(void)state;
	/* one session: commands wait for IMAP_PUMP_ACK_MIN committed UIDs */
	p = pump_begin(1000, &c, NULL, &ii);
	while ((r = imap_pump_next(p, &msgs, &n, &err)) == 1) {
		committed += n;
		commit_batch(p, &msgs, n);
		if (++batches == 3)
			imap_intake_abort(ii);
	}
	assert_int_equal(r, -1);
	assert_non_null(err);
	free(err);
	err = NULL;
	assert_int_equal(imap_pump_finish(&p, &err), -1);
	free(err);
	imap_intake_close(&ii);
	moved = dt_count(mb_processed, "all") - before;
	assert_true(committed >= 300 && committed < 1000);
	/* the queued UIDs were below a command's worth: none went out */
	assert_int_equal(moved, 0);
	assert_int_equal(dt_count(mb_inbox, "all"), 1000);
	drain();
}

/* a stop request from another thread (as SIGTERM's handler on the main
 * thread while the pump's threads run) after the first batch: the caller's
 * imap_pump_next returns 0 (it looks at the flag at least every 200 ms),
 * and imap_pump_finish still acknowledges every batch committed before */
static void *
stop_now(void *arg)
{
	(void)arg;
	s48_stop_requested = 1;
	return NULL;
}

static void
test_stop_while_waiting(void **state)
{
	struct cfg_imap c;
	struct imap_intake *ii;
	struct imap_pump *p;
	struct imap_msg *msgs = NULL;
	char *err = NULL;
	size_t n, committed = 0;
	long before = dt_count(mb_processed, "all");
	pthread_t t;
	int r;

	(void)state;
	p = pump_begin(2000, &c, &c, &ii);
	while ((r = imap_pump_next(p, &msgs, &n, &err)) == 1) {
		commit_batch(p, &msgs, n);
		if (committed == 0)
			assert_int_equal(pthread_create(&t, NULL, stop_now, NULL), 0);
		committed += n;
	}
	assert_true(committed > 0);
	pthread_join(t, NULL);
	assert_int_equal(r, 0);
	r = imap_pump_finish(&p, &err);
	s48_stop_requested = 0;
	if (r != 0)
		fail_msg("finish: %s", err);
	imap_intake_close(&ii);
	assert_true(committed < 2000);
	assert_int_equal(dt_count(mb_processed, "all"), before + (long)committed);
	assert_int_equal(dt_count(mb_inbox, "all"), 2000 - (long)committed);
	drain();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_sessions_move_all),
		cmocka_unit_test(test_second_login_refused),
		cmocka_unit_test(test_drop_with_batch_ahead),
		cmocka_unit_test(test_session_lost_with_acks_queued),
		cmocka_unit_test(test_stop_while_waiting),
	};

	log_init("test_imap_pump", LOG_LEVEL_ERR, 0);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
