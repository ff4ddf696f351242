/*
 * test_imap_pump_faults.c - the IMAP pump (daemon/imap_pump.c) when one of
 * its two sessions fails mid-poll, against a private Dovecot
 * (tests/lib/dovecot.sh) reached through a small TCP relay on 127.0.0.1
 * that cuts one chosen connection at one chosen command (the same as root
 * and not: no doveadm kick, which would end every session of the user).
 * Connection 0 is the fetching session, 1 the acknowledging one, 2 its
 * replacement.  Each time: every mail the caller committed is moved (or
 * flagged \Seen) by the end of that ONE poll, none is handed out twice,
 * nothing uncommitted is acknowledged, and a stop is not held up.
 * Run from the repository root (or with S48_TOP set).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

/* ---- the relay ---- */

enum px_action {
	PX_CUT_BEFORE,          /* close both sides; the command never reaches Dovecot */
	PX_CUT_AFTER,           /* pass the command on, close once Dovecot had time for it */
	PX_HOLD,                /* accept, never connect on (a silent server) */
	PX_HOOK                 /* call the rule's hook, then pass the command on */
};

struct px_rule {
	int conn;               /* which connection, in accept order */
	const char *pat;        /* in the client's bytes; NULL: at accept */
	int nth;                /* on its nth occurrence (1: the first) */
	enum px_action action;
	void (*hook)(void);     /* PX_HOOK */
};

#define PX_CONNS 8
#define PX_RULES 4

struct px_conn {
	int cfd, sfd;           /* -1: closed; used by the connection's thread only */
	int seen[PX_RULES];
	char tail[32];          /* the last client bytes, for a pattern split over reads */
	size_t ntail;
	pthread_t thread;
};

/* the relay: a thread accepting, one a connection relaying */
static struct {
	int lfd, port;
	pthread_t thread;
	pthread_mutex_t mu;     /* guards nconn, cuts, quit */
	struct px_rule rules[PX_RULES];
	size_t nrules;
	struct px_conn conns[PX_CONNS];
	int nconn, cuts, quit;
} px;

static int
px_quitting(void)
{
	int q;

	pthread_mutex_lock(&px.mu);
	q = px.quit;
	pthread_mutex_unlock(&px.mu);
	return q;
}

static void
px_close(struct px_conn *c)
{
	if (c->cfd >= 0)
		close(c->cfd);
	if (c->sfd >= 0)
		close(c->sfd);
	c->cfd = c->sfd = -1;
}

static int
px_upstream(void)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)dt_dc.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static int
px_write_all(int fd, const char *b, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* client bytes of connection i: a rule that matches decides */
static void
px_from_client(int i, const char *b, size_t n)
{
	struct px_conn *c = &px.conns[i];
	char scan[sizeof(c->tail) + 8192 + 1];
	size_t r, ns;

	memcpy(scan, c->tail, c->ntail);
	memcpy(scan + c->ntail, b, n);
	ns = c->ntail + n;
	scan[ns] = '\0';
	for (r = 0; r < px.nrules; r++) {
		const struct px_rule *ru = &px.rules[r];
		const char *hit;

		if (ru->conn != i || ru->pat == NULL)
			continue;
		hit = strstr(scan, ru->pat);
		/* only a match that ends in the new bytes counts */
		if (hit == NULL || (size_t)(hit - scan) + strlen(ru->pat) <= c->ntail)
			continue;
		if (++c->seen[r] != ru->nth)
			continue;
		if (ru->action == PX_HOOK) {
			ru->hook();
			break;
		}
		pthread_mutex_lock(&px.mu);
		px.cuts++;
		pthread_mutex_unlock(&px.mu);
		if (ru->action == PX_CUT_AFTER) {
			(void)px_write_all(c->sfd, b, n);
			usleep(400 * 1000);
		}
		px_close(c);
		return;
	}
	c->ntail = ns < sizeof(c->tail) ? ns : sizeof(c->tail);
	memcpy(c->tail, scan + ns - c->ntail, c->ntail);
	if (px_write_all(c->sfd, b, n) != 0)
		px_close(c);
}

/* one connection's relay, until either side closes or the relay stops */
static void *
px_conn_main(void *arg)
{
	int i = (int)(intptr_t)arg;
	struct px_conn *c = &px.conns[i];
	char b[8192];

	while (c->cfd >= 0 && !px_quitting()) {
		struct pollfd pf[2];
		ssize_t n;
		int k;

		if (c->sfd < 0) {
			/* PX_HOLD: the client waits for a greeting that never comes */
			usleep(50 * 1000);
			continue;
		}
		pf[0].fd = c->cfd;
		pf[0].events = POLLIN;
		pf[1].fd = c->sfd;
		pf[1].events = POLLIN;
		if (poll(pf, 2, 100) <= 0)
			continue;
		for (k = 0; k < 2 && c->cfd >= 0; k++) {
			if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(pf[k].fd, b, sizeof(b));
			if (n <= 0)
				px_close(c);
			else if (k == 0)
				px_from_client(i, b, (size_t)n);
			else if (px_write_all(c->cfd, b, (size_t)n) != 0)
				px_close(c);
		}
	}
	px_close(c);
	return NULL;
}

static void *
px_main(void *arg)
{
	(void)arg;
	while (!px_quitting()) {
		struct pollfd pf = { px.lfd, POLLIN, 0 };
		struct px_conn *c;
		int fd, i;
		size_t r;

		if (poll(&pf, 1, 100) <= 0)
			continue;
		if ((fd = accept4(px.lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		pthread_mutex_lock(&px.mu);
		i = px.nconn;
		pthread_mutex_unlock(&px.mu);
		if (i >= PX_CONNS) {
			close(fd);
			continue;
		}
		c = &px.conns[i];
		memset(c, 0, sizeof(*c));
		c->cfd = fd;
		c->sfd = -1;
		for (r = 0; r < px.nrules; r++)
			if (px.rules[r].conn == i && px.rules[r].action == PX_HOLD)
				break;
		if (r == px.nrules && (c->sfd = px_upstream()) < 0)
			px_close(c);
		if (pthread_create(&c->thread, NULL, px_conn_main, (void *)(intptr_t)i) != 0) {
			px_close(c);
			continue;
		}
		pthread_mutex_lock(&px.mu);
		px.nconn++;
		pthread_mutex_unlock(&px.mu);
	}
	return NULL;
}

/* the relay started with these rules */
static void
px_start(const struct px_rule *rules, size_t n)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);

	memset(&px, 0, sizeof(px));
	assert_true(n <= PX_RULES);
	memcpy(px.rules, rules, n * sizeof(*rules));
	px.nrules = n;
	pthread_mutex_init(&px.mu, NULL);
	px.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(px.lfd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(px.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(px.lfd, 16), 0);
	assert_int_equal(getsockname(px.lfd, (struct sockaddr *)&sa, &sl), 0);
	px.port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&px.thread, NULL, px_main, NULL), 0);
}

/* the relay stopped; the number of connections it cut */
static int
px_stop(void)
{
	int i, cuts;

	pthread_mutex_lock(&px.mu);
	px.quit = 1;
	pthread_mutex_unlock(&px.mu);
	pthread_join(px.thread, NULL);
	for (i = 0; i < px.nconn; i++)
		pthread_join(px.conns[i].thread, NULL);
	close(px.lfd);
	cuts = px.cuts;
	pthread_mutex_destroy(&px.mu);
	return cuts;
}

/* ---- Dovecot ---- */

static int
group_setup(void **state)
{
	(void)state;
	return dt_setup("/tmp/s48pumpf.XXXXXX");
}

static int
group_teardown(void **state)
{
	(void)state;
	return dt_teardown();
}


/* every mail of INBOX moved to Processed, directly (not through the
 * relay): each test starts with an empty INBOX */
static void
empty_inbox(void)
{
	struct cfg_imap c;
	struct imap_intake *ii = NULL;
	struct imap_msg *msgs = NULL;
	const char *err = NULL;
	size_t n, i;
	uint32_t *uids;

	dt_cfg_plain(&c, mb_inbox, mb_processed);
	if (imap_intake_connect(&c, &ii, &err) != 0)
		fail_msg("connect: %s", err);
	while (imap_intake_fetch(ii, 0, 500, &msgs, &n, &err) == 0 && n > 0) {
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

/* ---- a poll ---- */

struct poll_result {
	size_t committed;       /* messages handed out and committed */
	size_t handed_twice;    /* UIDs handed out more than once */
	int next_rc;            /* imap_pump_next's last answer */
	int finish_rc;
	long long finish_ms;    /* imap_pump_finish took */
	uint32_t max_uid;
	long before;            /* in Processed when the poll began */
	size_t stopped_at;      /* committed when the stop was requested */
};

/* the relay's cuts so far */
static int
px_cuts(void)
{
	int n;

	pthread_mutex_lock(&px.mu);
	n = px.cuts;
	pthread_mutex_unlock(&px.mu);
	return n;
}

/* stop_after: s48_stop_requested is set after the batch once the relay
 * has cut a connection (1), or never (0) */
static void
run_poll(int n, int seen_mode, const struct px_rule *rules, size_t nrules, int stop_after,
    struct poll_result *res, int *cuts_r)
{
	struct cfg_imap c, c_ack;
	struct imap_intake *ii = NULL;
	struct imap_pump *p = NULL;
	struct imap_msg *msgs = NULL;
	const char *cerr = NULL;
	char *err = NULL;
	unsigned char *seen = xcalloc(1 << 20, 1);
	size_t nb, i;
	long long t0;
	int r;

	memset(res, 0, sizeof(*res));
	empty_inbox();
	res->before = dt_count(mb_processed, "all");
	dt_fill(n);
	px_start(rules, nrules);
	dt_cfg_plain(&c, mb_inbox, seen_mode ? NULL : mb_processed);
	c.port = px.port;
	c_ack = c;
	if (imap_intake_connect(&c, &ii, &cerr) != 0)
		fail_msg("connect: %s", cerr);
	assert_int_equal(imap_pump_start(ii, &c_ack, NULL, 0, 100, &p, &err), 0);
	while ((r = imap_pump_next(p, &msgs, &nb, &err)) == 1) {
		uint32_t *uids = xcalloc(nb, sizeof(*uids));
		size_t bytes = 0;

		for (i = 0; i < nb; i++) {
			uint32_t u = msgs[i].uid;

			assert_true(u < (1u << 20));
			res->handed_twice += seen[u]++ != 0;
			uids[i] = u;
			bytes += msgs[i].len;
			if (u > res->max_uid)
				res->max_uid = u;
		}
		res->committed += nb;
		imap_pump_ack(p, uids, nb, bytes);
		free(uids);
		imap_intake_free_msgs(&msgs, nb);
		/* the ingest of a batch takes a while: the acknowledging
		 * session has commands in flight meanwhile */
		usleep(5 * 1000);
		if (stop_after && !s48_stop_requested && px_cuts() > 0) {
			s48_stop_requested = 1;
			res->stopped_at = res->committed;
		}
	}
	res->next_rc = r;
	free(err);
	err = NULL;
	t0 = util_mono_ms();
	res->finish_rc = imap_pump_finish(&p, &err);
	res->finish_ms = util_mono_ms() - t0;
	s48_stop_requested = 0;
	if (res->finish_rc != 0)
		print_message("# finish: %s\n", err);
	free(err);
	assert_null(p);
	imap_intake_abort(ii);
	imap_intake_close(&ii);
	*cuts_r = px_stop();
	free(seen);
}

/* MOVE mode, after the poll: every committed mail in Processed, the rest in
 * INBOX, each handed out once */
static void
check_moved(const struct poll_result *res, long n)
{
	assert_int_equal(res->handed_twice, 0);
	assert_int_equal(dt_count(mb_processed, "all") - res->before, (long)res->committed);
	assert_int_equal(dt_count(mb_inbox, "all"), n - (long)res->committed);
}

/* the acknowledging session cut as it sends its first UID MOVE (the
 * command lost): a new session moves what was queued; the poll succeeds
 * and INBOX is empty after it */
static void
test_ack_cut_before_move(void **state)
{
	const struct px_rule rules[] = { { 1, "UID MOVE", 1, PX_CUT_BEFORE , NULL } };
	struct poll_result res;
	int cuts;

	(void)state;
	run_poll(3000, 0, rules, 1, 0, &res, &cuts);
	assert_int_equal(cuts, 1);
	assert_int_equal(res.next_rc, 0);
	assert_int_equal(res.finish_rc, 0);
	assert_int_equal(res.committed, 3000);
	check_moved(&res, 3000);
}

/* the same, the MOVE done by Dovecot but its answer lost: the new session
 * sends it again over UIDs already moved (harmless) */
static void
test_ack_cut_after_move(void **state)
{
	const struct px_rule rules[] = { { 1, "UID MOVE", 1, PX_CUT_AFTER , NULL } };
	struct poll_result res;
	int cuts;

	(void)state;
	run_poll(3000, 0, rules, 1, 0, &res, &cuts);
	assert_int_equal(cuts, 1);
	assert_int_equal(res.finish_rc, 0);
	assert_int_equal(res.committed, 3000);
	check_moved(&res, 3000);
}

/* the acknowledging session cut, and its replacement too (at LOGIN): the
 * fetching session moves everything at the end of the poll */
static void
test_ack_cut_and_reconnect_refused(void **state)
{
	const struct px_rule rules[] = {
		{ 1, "UID MOVE", 1, PX_CUT_BEFORE , NULL },
		{ 2, "LOGIN", 1, PX_CUT_BEFORE , NULL },
	};
	struct poll_result res;
	int cuts;

	(void)state;
	run_poll(3000, 0, rules, 2, 0, &res, &cuts);
	assert_int_equal(cuts, 2);
	assert_int_equal(res.finish_rc, 0);
	assert_int_equal(res.committed, 3000);
	check_moved(&res, 3000);
}

/* the replacement session cut at its first MOVE too: the fetching session
 * takes the queue (its commands wait for IMAP_PUMP_ACK_MIN or the end) */
static void
test_ack_cut_twice(void **state)
{
	const struct px_rule rules[] = {
		{ 1, "UID MOVE", 1, PX_CUT_BEFORE , NULL },
		{ 2, "UID MOVE", 1, PX_CUT_AFTER , NULL },
	};
	struct poll_result res;
	int cuts;

	(void)state;
	run_poll(3000, 0, rules, 2, 0, &res, &cuts);
	assert_int_equal(cuts, 2);
	assert_int_equal(res.finish_rc, 0);
	assert_int_equal(res.committed, 3000);
	check_moved(&res, 3000);
}

/* the fetching session cut at its 8th UID FETCH (the 8th batch's bodies):
 * the poll fails, and the acknowledging session still moves the seven
 * batches committed -- none lost, none moved without a commit */
static void
test_fetch_cut(void **state)
{
	const struct px_rule rules[] = { { 0, "UID FETCH", 8, PX_CUT_BEFORE , NULL } };
	struct poll_result res;
	int cuts;

	(void)state;
	run_poll(3000, 0, rules, 1, 0, &res, &cuts);
	assert_int_equal(cuts, 1);
	assert_int_equal(res.next_rc, -1);
	assert_int_equal(res.finish_rc, -1);
	assert_int_equal(res.committed, 700);
	check_moved(&res, 3000);
}

/* \Seen mode: the acknowledging session cut at its first UID STORE: every
 * committed mail is flagged \Seen after the poll, and nothing else */
static void
test_seen_ack_cut(void **state)
{
	const struct px_rule rules[] = { { 1, "UID STORE", 1, PX_CUT_BEFORE , NULL } };
	struct poll_result res;
	int cuts;

	(void)state;
	run_poll(2500, 1, rules, 1, 0, &res, &cuts);
	assert_int_equal(cuts, 1);
	assert_int_equal(res.finish_rc, 0);
	assert_int_equal(res.committed, 2500);
	assert_int_equal(res.handed_twice, 0);
	assert_int_equal(dt_count(mb_inbox, "seen"), 2500);
	assert_int_equal(dt_count(mb_inbox, "unseen"), 0);
}

/* \Seen mode, the fetching session cut at its 6th UID FETCH: the five
 * committed batches are flagged, the rest not */
static void
test_seen_fetch_cut(void **state)
{
	const struct px_rule rules[] = { { 0, "UID FETCH", 6, PX_CUT_BEFORE , NULL } };
	struct poll_result res;
	int cuts;

	(void)state;
	run_poll(2500, 1, rules, 1, 0, &res, &cuts);
	assert_int_equal(cuts, 1);
	assert_int_equal(res.finish_rc, -1);
	assert_int_equal(res.committed, 500);
	assert_int_equal(dt_count(mb_inbox, "seen"), 500);
	assert_int_equal(dt_count(mb_inbox, "unseen"), 2000);
}

/* a new UIDVALIDITY for INBOX (doveadm, as the server's owner), once the
 * fetching session is done (the acknowledging session's SELECT waits) */
static void
new_uidvalidity(void)
{
	char cmd[512];

	usleep(1500 * 1000);
	snprintf(cmd, sizeof(cmd), "doveadm -c %s/dovecot.conf mailbox update -u %s"
	    " --uid-validity %u INBOX", dt_dc.dir, dt_dc.user, 4242u + (unsigned)time(NULL) % 1000);
	assert_int_equal(system(cmd), 0);
}

/* INBOX's UIDVALIDITY changes after the fetching session selected it and
 * drained it, before the acknowledging one selects it (1,100 mails: the
 * second session starts after the first batch, its SELECT held 1.5 s):
 * the UIDs committed name other mail now, so nothing is acknowledged, on
 * either session, and the poll fails (the next one rescans) */
static void
test_uidvalidity_changed_between_sessions(void **state)
{
	const struct px_rule rules[] = { { 1, "SELECT", 1, PX_HOOK, new_uidvalidity } };
	struct poll_result res;
	int cuts;

	(void)state;
	run_poll(1100, 0, rules, 1, 0, &res, &cuts);
	assert_int_equal(cuts, 0);
	assert_int_equal(res.finish_rc, -1);
	assert_int_equal(res.committed, 1100);
	assert_int_equal(dt_count(mb_processed, "all") - res.before, 0);
	assert_int_equal(dt_count(mb_inbox, "all"), 1100);
}

/* a session that has not yet been told that another session moved some of
 * the UIDs it acknowledges (the queue handed back from a second session
 * whose MOVE went through but whose answer was lost): Dovecot refuses the
 * MOVE with [EXPUNGEISSUED]; imap_intake_ack sends it again after a NOOP,
 * so every mail is moved and the session stays usable */
static void
test_move_after_another_session_moved(void **state)
{
	struct cfg_imap c;
	struct imap_intake *a = NULL, *b = NULL;
	struct imap_msg *msgs = NULL;
	const char *err = NULL;
	uint32_t uids[50];
	size_t n, i;
	long before;

	(void)state;
	empty_inbox();
	before = dt_count(mb_processed, "all");
	dt_fill(50);
	dt_cfg_plain(&c, mb_inbox, mb_processed);
	if (imap_intake_connect(&c, &a, &err) != 0 || imap_intake_connect(&c, &b, &err) != 0)
		fail_msg("connect: %s", err);
	assert_int_equal(imap_intake_fetch(a, 0, 50, &msgs, &n, &err), 0);
	assert_int_equal(n, 50);
	for (i = 0; i < n; i++)
		uids[i] = msgs[i].uid;
	imap_intake_free_msgs(&msgs, n);
	/* the other session moves the first 20 */
	if (imap_intake_ack(b, uids, 20, &err) != 0)
		fail_msg("ack on b: %s", err);
	/* this one, told nothing since, acknowledges all 50 */
	if (imap_intake_ack(a, uids, 50, &err) != 0)
		fail_msg("ack on a: %s", err);
	assert_int_equal(dt_count(mb_inbox, "all"), 0);
	assert_int_equal(dt_count(mb_processed, "all") - before, 50);
	/* and goes on */
	dt_fill(5);
	assert_int_equal(imap_intake_fetch(a, uids[49], 50, &msgs, &n, &err), 0);
	assert_int_equal(n, 5);
	imap_intake_free_msgs(&msgs, n);
	imap_intake_close(&a);
	imap_intake_close(&b);
}

/* SIGTERM during the hand-over: the acknowledging session cut at its first
 * MOVE, its replacement held by a server that never greets, the stop
 * requested meanwhile: the new login gives up at once, the fetching
 * session moves what was committed, and finish is back within the grace */
static void
test_stop_during_handover(void **state)
{
	const struct px_rule rules[] = {
		{ 1, "UID MOVE", 1, PX_CUT_BEFORE , NULL },
		{ 2, NULL, 0, PX_HOLD , NULL },
	};
	struct poll_result res;
	int cuts;

	(void)state;
	run_poll(3000, 0, rules, 2, 1, &res, &cuts);
	assert_int_equal(cuts, 1);
	assert_int_equal(res.next_rc, 0);
	/* the stop came mid-poll, after the cut */
	assert_true(res.stopped_at >= 1000 && res.committed == res.stopped_at);
	assert_true(res.committed < 3000);
	assert_true(res.finish_ms < 2500);
	check_moved(&res, 3000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ack_cut_before_move),
		cmocka_unit_test(test_ack_cut_after_move),
		cmocka_unit_test(test_ack_cut_and_reconnect_refused),
		cmocka_unit_test(test_ack_cut_twice),
		cmocka_unit_test(test_fetch_cut),
		cmocka_unit_test(test_seen_ack_cut),
		cmocka_unit_test(test_seen_fetch_cut),
		cmocka_unit_test(test_stop_during_handover),
		cmocka_unit_test(test_move_after_another_session_moved),
		cmocka_unit_test(test_uidvalidity_changed_between_sessions),
	};

	signal(SIGPIPE, SIG_IGN);
	log_init("test_imap_pump_faults", LOG_LEVEL_ERR, 0);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
