/*
 * test_imap_stop.c - a stop request (s48_stop_requested) ends the IMAP
 * intake's waits for a server that does not answer: the TCP connect (a
 * listener whose queue is full), the TLS handshake, the greeting, LOGIN
 * and what follows it until SELECT, at once (imap_intake_connect, also on
 * another thread than the one the signal reaches), and a stream's waits
 * after its stop grace (imap_net_set_stop_grace), while a stream without
 * one waits for its timeout whatever the flag says.  The servers are
 * forked children on 127.0.0.1 that accept and then go quiet at a chosen
 * point.
 */
#include <errno.h>
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
#include <sys/time.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libetpan/libetpan.h>

#include "imap_net.h"
#include "intake_imap.h"
#include "util.h"

/* the network timeout of these tests: what the old code waited instead
 * (the bounds below leave room for a loaded machine, well under it) */
#define TIMEOUT_S 5

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
on_alarm(int sig)
{
	(void)sig;
	s48_stop_requested = 1;
}

/* SIGALRM (to this thread, interrupting its poll) sets the flag after ms */
static void
stop_after_ms(long ms)
{
	struct itimerval it;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	memset(&it, 0, sizeof(it));
	it.it_value.tv_sec = ms / 1000;
	it.it_value.tv_usec = (ms % 1000) * 1000;
	setitimer(ITIMER_REAL, &it, NULL);
}

static int
test_teardown(void **state)
{
	struct itimerval it;

	(void)state;
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	s48_stop_requested = 0;
	return 0;
}

static int
listener(int backlog, int *port_r)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, backlog), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	*port_r = ntohs(a.sin_port);
	return fd;
}

enum quiet_at { AT_GREETING, AT_LOGIN, AT_AFTER_LOGIN };

/* a child that accepts one connection and goes quiet at `at`: sends nothing
 * (AT_GREETING: also a TLS handshake never answered), a greeting
 * (AT_LOGIN), or a greeting and OK to LOGIN (AT_AFTER_LOGIN); then it reads
 * until the peer closes */
static pid_t
quiet_server(enum quiet_at at, int *port_r)
{
	int lfd = listener(4, port_r);
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		char buf[4096], line[512];
		size_t ll = 0;
		ssize_t r;
		int c = accept(lfd, NULL, NULL), answered = 0;

		if (c < 0)
			_exit(1);
		if (at != AT_GREETING && write(c, "* OK [CAPABILITY IMAP4rev1] quiet\r\n", 35) != 35)
			_exit(1);
		while ((r = read(c, buf, sizeof(buf))) > 0) {
			ssize_t i;

			if (at != AT_AFTER_LOGIN || answered)
				continue;
			for (i = 0; i < r; i++) {
				if (ll + 1 < sizeof(line))
					line[ll++] = buf[i];
				if (buf[i] != '\n')
					continue;
				line[ll] = '\0';
				ll = 0;
				if (strstr(line, " LOGIN ") != NULL) {
					char ok[64];
					int n = snprintf(ok, sizeof(ok), "%.*s OK in\r\n",
					    (int)strcspn(line, " "), line);

					if (write(c, ok, (size_t)n) != n)
						_exit(1);
					answered = 1;
				}
			}
		}
		_exit(0);
	}
	close(lfd);
	return pid;
}

static void
server_end(pid_t pid)
{
	int st;

	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
}

static void
cfg_for(struct cfg_imap *c, int port, int tls)
{
	static char host[] = "127.0.0.1", user[] = "s48", pw[] = "pw", mbox[] = "INBOX";

	memset(c, 0, sizeof(*c));
	c->enabled = 1;
	c->host = host;
	c->port = port;
	c->tls = tls ? CFG_TLS_IMPLICIT : CFG_TLS_NONE;
	c->user = user;
	c->password = pw;
	c->mailbox = mbox;
	c->max_message_bytes = 1 << 20;
}

/* a listener that never accepts, its queue full: a connect to it waits */
static int
full_listener(int *port_r, int fillers[2])
{
	struct sockaddr_in a;
	int lfd = listener(0, port_r), i;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)*port_r);
	for (i = 0; i < 2; i++) {
		fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		assert_true(fillers[i] >= 0);
		(void)connect(fillers[i], (struct sockaddr *)&a, sizeof(a));
	}
	usleep(100000);
	return lfd;
}

/* the TCP connect: without a stop it times out (so the listener does make
 * a connect wait), with one it ends within a slice, "stopped", ECANCELED */
static void
test_connect_tcp(void **state)
{
	char err[256];
	int port, fill[2], lfd = full_listener(&port, fill), fd;
	double t0, dt;

	(void)state;
	t0 = now_s();
	fd = imap_net_connect("127.0.0.1", port, 1, err, sizeof(err));
	dt = now_s() - t0;
	assert_int_equal(fd, -1);
	assert_string_equal(err, "connection timed out");
	assert_true(dt >= 0.9);

	stop_after_ms(300);
	t0 = now_s();
	fd = imap_net_connect("127.0.0.1", port, TIMEOUT_S, err, sizeof(err));
	dt = now_s() - t0;
	assert_int_equal(fd, -1);
	assert_int_equal(errno, ECANCELED);
	assert_string_equal(err, "stopped");
	if (dt < 0.25 || dt > 1.2)
		fail_msg("connect ended %.2f s after it began (stop at 0.3 s)", dt);

	/* a stop already requested: no wait at all */
	t0 = now_s();
	assert_int_equal(imap_net_connect("127.0.0.1", port, TIMEOUT_S, err, sizeof(err)), -1);
	assert_true(now_s() - t0 < 0.5);
	close(fill[0]);
	close(fill[1]);
	close(lfd);
}

struct quiet_case {
	const char *name;
	enum quiet_at at;
	int tls;
	const char *said;        /* in the error after "stopped while connecting (" */
};

static const struct quiet_case quiet_cases[] = {
	{ "no greeting", AT_GREETING, 0, "connect: connection lost or timed out" },
	{ "TLS handshake unanswered", AT_GREETING, 1, "TLS handshake stopped" },
	{ "LOGIN unanswered", AT_LOGIN, 0, "login as s48: connection lost or timed out" },
	{ "CAPABILITY after LOGIN unanswered", AT_AFTER_LOGIN, 0,
	    "CAPABILITY: connection lost or timed out" },
};

/* imap_intake_connect against each quiet server: a stop 0.3 s in ends it
 * within a slice, with the reason; no session */
static void
test_connect_quiet(void **state)
{
	size_t i;

	(void)state;
	imap_intake_set_timeout(TIMEOUT_S);
	for (i = 0; i < sizeof(quiet_cases) / sizeof(quiet_cases[0]); i++) {
		const struct quiet_case *qc = &quiet_cases[i];
		struct imap_intake *ii = NULL;
		struct cfg_imap c;
		const char *err = NULL;
		char want[256];
		int port, r;
		pid_t pid = quiet_server(qc->at, &port);
		double t0, dt;

		cfg_for(&c, port, qc->tls);
		s48_stop_requested = 0;
		stop_after_ms(300);
		t0 = now_s();
		r = imap_intake_connect(&c, &ii, &err);
		dt = now_s() - t0;
		server_end(pid);
		if (r != -1 || ii != NULL)
			fail_msg("%s: connect returned %d", qc->name, r);
		snprintf(want, sizeof(want), "stopped while connecting (imap 127.0.0.1:%d: %s", port,
		    qc->said);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("%s: error \"%s\", expected \"%s...\"", qc->name, err, want);
		if (dt < 0.25 || dt > 1.2)
			fail_msg("%s: connect ended %.2f s after it began (stop at 0.3 s)", qc->name, dt);
	}
	s48_stop_requested = 0;
}

struct connect_job {
	struct cfg_imap cfg;
	int r;
	char err[512];
	double took;
};

static void *
connect_thread(void *arg)
{
	struct connect_job *j = arg;
	struct imap_intake *ii = NULL;
	const char *err = NULL;
	sigset_t all;
	double t0 = now_s();

	/* as imap_pump's threads: every signal goes to the main thread */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	j->r = imap_intake_connect(&j->cfg, &ii, &err);
	j->took = now_s() - t0;
	snprintf(j->err, sizeof(j->err), "%s", j->r < 0 ? err : "");
	imap_intake_close(&ii);
	return NULL;
}

/* the acknowledging session logs in on another thread than the one the
 * signal reaches: the flag alone ends its wait for LOGIN */
static void
test_connect_other_thread(void **state)
{
	struct connect_job j;
	pthread_t t;
	int port;
	pid_t pid = quiet_server(AT_LOGIN, &port);

	(void)state;
	imap_intake_set_timeout(TIMEOUT_S);
	memset(&j, 0, sizeof(j));
	cfg_for(&j.cfg, port, 0);
	assert_int_equal(pthread_create(&t, NULL, connect_thread, &j), 0);
	usleep(300000);
	s48_stop_requested = 1;
	assert_int_equal(pthread_join(t, NULL), 0);
	server_end(pid);
	assert_int_equal(j.r, -1);
	if (strstr(j.err, "stopped while connecting") == NULL)
		fail_msg("error \"%s\"", j.err);
	if (j.took > 1.2)
		fail_msg("the thread's connect took %.2f s (stop at 0.3 s)", j.took);
}

/* a stream's waits after a stop: the grace, or (none) the timeout; the
 * peer answering within the grace is heard */
static void
test_stream_grace(void **state)
{
	struct {
		int grace_ms;
		long answer_ms;  /* the peer writes a line after this (-1: never) */
		int read_ok;
		double min_s, max_s;
	} cases[] = {
		{ 500, -1, 0, 0.45, 1.3 },     /* silent peer: ends after the grace */
		{ 0, -1, 0, 0.0, 0.5 },        /* no grace: at once */
		{ -1, -1, 0, 0.95, 2.5 },      /* no stop grace: the 1 s timeout */
		{ 1000, 300, 1, 0.25, 0.95 },  /* an answer within the grace */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int sv[2];
		mailstream *s;
		char buf[64];
		ssize_t r;
		pid_t pid = -1;
		double t0, dt;

		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		if (cases[i].answer_ms >= 0) {
			pid = fork();
			assert_true(pid >= 0);
			if (pid == 0) {
				usleep((useconds_t)cases[i].answer_ms * 1000);
				_exit(write(sv[1], "* OK hi\r\n", 9) == 9 ? 0 : 1);
			}
		}
		s = imap_net_open(sv[0], 1);
		assert_non_null(s);
		imap_net_set_stop_grace(s, cases[i].grace_ms);
		s48_stop_requested = 1;
		t0 = now_s();
		r = mailstream_read(s, buf, sizeof(buf));
		dt = now_s() - t0;
		s48_stop_requested = 0;
		if (pid > 0) {
			int st;

			assert_int_equal(waitpid(pid, &st, 0), pid);
		}
		mailstream_close(s);
		close(sv[1]);
		if ((r > 0) != cases[i].read_ok)
			fail_msg("case %zu: read returned %zd", i, r);
		if (dt < cases[i].min_s || dt > cases[i].max_s)
			fail_msg("case %zu: the read took %.2f s, expected %.2f..%.2f", i, dt,
			    cases[i].min_s, cases[i].max_s);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_connect_tcp, test_teardown),
		cmocka_unit_test_teardown(test_connect_quiet, test_teardown),
		cmocka_unit_test_teardown(test_connect_other_thread, test_teardown),
		cmocka_unit_test_teardown(test_stream_grace, test_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
