/*
 * net_test.h - shared by the suites that run scripted servers in child
 * processes (test_intake_imap.c, test_imap_tls.c): a listening socket on
 * 127.0.0.1 at a free port, reading a protocol line, a monotonic clock for
 * timing checks, and reaping a child that must have exited with a given
 * status.
 * Header-only (static inline) because every test file is its own program;
 * include it after <cmocka.h>.  Failures end the test (assert_*).
 */
#ifndef S48_NET_TEST_H
#define S48_NET_TEST_H

#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

/* A socket listening on 127.0.0.1 at a port the kernel chose (*port_r);
 * the caller closes it. */
static inline int
nt_listen(int *port_r)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(s >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s, 4), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
	*port_r = ntohs(sa.sin_port);
	return s;
}

/* One byte from the descriptor *(int *)arg into *c: 1, or 0/-1 at the end. */
static inline ssize_t
nt_fd_read1(void *arg, char *c)
{
	return read(*(int *)arg, c, 1);
}

/* A line into line (sz bytes, CRs dropped, without its LF), read a byte at
 * a time with rd(arg, &c); 0, or -1 if the stream ended first.  For the
 * scripted servers (a server child _exits on -1). */
static inline int
nt_readline(ssize_t (*rd)(void *arg, char *c), void *arg, char *line, size_t sz)
{
	size_t n = 0;
	char c;

	while (n + 1 < sz) {
		if (rd(arg, &c) != 1)
			return -1;
		if (c == '\n')
			break;
		if (c != '\r')
			line[n++] = c;
	}
	line[n] = '\0';
	return 0;
}

/* Seconds on the monotonic clock. */
static inline double
nt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Reap pid, which must have exited with status. */
static inline void
nt_wait_exit(pid_t pid, int status)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), status);
}

#endif
