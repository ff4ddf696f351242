/*
 * imap_fetch_bench.c - how fast mail comes out of an IMAP server: first the
 * raw rate (one UID FETCH 1:* (BODY.PEEK[]) read by a minimal literal
 * counter, what the server can hand out), then the rate of the intake
 * (imap_intake_fetch batches, \Seen mode with a cursor, nothing acked).
 *
 *   imap_fetch_bench [-b BATCH] [-m MAILBOX] [-r] [-a CMD] [-s CAFILE] HOST PORT USER PASSWORD
 *     -r   raw fetch only
 *     -a   after the raw fetch, in the same session, run CMD (e.g.
 *          "UID MOVE 1:* Processed") and time it: what acknowledging every
 *          message costs the server
 *     -s   the intake only, over implicit TLS (PORT is the imaps port,
 *          HOST must match the certificate)
 * Prints:
 *   imap raw fetch: N msgs in X s = Y msgs/s
 *   imap ack: CMD in X s (with -a)
 *   imap intake fetch: N msgs in X s = Y msgs/s (batch B)
 * The raw fetch is plain IMAP (no TLS): for a local test server.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "intake_imap.h"
#include "util.h"

static double
now_s(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return tv.tv_sec + tv.tv_usec / 1e6;
}

struct conn {
	int fd;
	char buf[1 << 16];
	size_t len, off;
};

static int
conn_fill(struct conn *c)
{
	ssize_t r;

	if (c->off > 0 && c->off == c->len)
		c->off = c->len = 0;
	if (c->off > 0) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (c->len == sizeof(c->buf))
		return -1;
	do {
		r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	} while (r < 0 && errno == EINTR);
	if (r <= 0)
		return -1;
	c->len += (size_t)r;
	return 0;
}

/* one line (without CRLF) into line; -1 on EOF or a line too long */
static int
conn_line(struct conn *c, char *line, size_t linesz)
{
	char *nl;

	for (;;) {
		nl = memchr(c->buf + c->off, '\n', c->len - c->off);
		if (nl != NULL)
			break;
		if (conn_fill(c) != 0)
			return -1;
	}
	{
		size_t n = (size_t)(nl - (c->buf + c->off));

		if (n > 0 && c->buf[c->off + n - 1] == '\r')
			n--;
		if (n >= linesz)
			return -1;
		memcpy(line, c->buf + c->off, n);
		line[n] = '\0';
		c->off = (size_t)(nl - c->buf) + 1;
	}
	return 0;
}

static int
conn_skip(struct conn *c, size_t n)
{
	while (n > 0) {
		size_t have = c->len - c->off;

		if (have == 0) {
			if (conn_fill(c) != 0)
				return -1;
			continue;
		}
		if (have > n)
			have = n;
		c->off += have;
		n -= have;
	}
	return 0;
}

static int
conn_cmd(struct conn *c, const char *tag, const char *cmd)
{
	char line[8192];
	size_t tl = strlen(tag);

	if (dprintf(c->fd, "%s %s\r\n", tag, cmd) < 0)
		return -1;
	for (;;) {
		if (conn_line(c, line, sizeof(line)) != 0)
			return -1;
		if (strncmp(line, tag, tl) == 0 && line[tl] == ' ')
			return strncmp(line + tl + 1, "OK", 2) == 0 ? 0 : -1;
	}
}

static int
raw_fetch(const char *host, const char *port, const char *user, const char *pass,
    const char *mailbox, const char *ack_cmd, size_t *n_r, size_t *bytes_r, double *ack_s_r)
{
	struct addrinfo hints, *ai = NULL;
	struct conn *c = xcalloc(1, sizeof(*c));
	char line[8192], cmd[600];
	int ret = -1;

	*n_r = *bytes_r = 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		goto fail;
	c->fd = socket(ai->ai_family, ai->ai_socktype, 0);
	if (c->fd < 0 || connect(c->fd, ai->ai_addr, ai->ai_addrlen) != 0)
		goto fail;
	if (conn_line(c, line, sizeof(line)) != 0)
		goto fail;
	snprintf(cmd, sizeof(cmd), "LOGIN \"%s\" \"%s\"", user, pass);
	if (conn_cmd(c, "a", cmd) != 0)
		goto fail;
	snprintf(cmd, sizeof(cmd), "SELECT \"%s\"", mailbox);
	if (conn_cmd(c, "b", cmd) != 0)
		goto fail;
	if (dprintf(c->fd, "c UID FETCH 1:* (BODY.PEEK[])\r\n") < 0)
		goto fail;
	for (;;) {
		char *lit;

		if (conn_line(c, line, sizeof(line)) != 0)
			goto fail;
		if (strncmp(line, "c ", 2) == 0) {
			ret = strncmp(line + 2, "OK", 2) == 0 ? 0 : -1;
			break;
		}
		lit = strrchr(line, '{');
		if (line[0] == '*' && strstr(line, " FETCH ") != NULL && lit != NULL) {
			size_t len = strtoul(lit + 1, NULL, 10);

			if (conn_skip(c, len) != 0)
				goto fail;
			(*n_r)++;
			*bytes_r += len;
		}
	}
	if (ret == 0 && ack_cmd != NULL) {
		double t0 = now_s();

		if (conn_cmd(c, "e", ack_cmd) != 0) {
			fprintf(stderr, "imap_fetch_bench: %s failed\n", ack_cmd);
			ret = -1;
		}
		*ack_s_r = now_s() - t0;
	}
	(void)conn_cmd(c, "d", "LOGOUT");
fail:
	if (c->fd > 0)
		close(c->fd);
	free(c);
	if (ai != NULL)
		freeaddrinfo(ai);
	return ret;
}

static int
intake_fetch(const char *host, int port, char *user, char *pass, char *mailbox,
    char *ca_file, size_t batch, size_t *n_r)
{
	struct cfg_imap cfg;
	struct imap_intake *ii = NULL;
	struct imap_msg *msgs = NULL;
	const char *err;
	uint32_t cursor = 0;
	size_t n;
	char hostbuf[256];

	memset(&cfg, 0, sizeof(cfg));
	util_strlcpy(hostbuf, host, sizeof(hostbuf));
	cfg.host = hostbuf;
	cfg.port = port;
	cfg.tls = ca_file != NULL ? CFG_TLS_IMPLICIT : CFG_TLS_NONE;
	cfg.ca_file = ca_file;
	cfg.user = user;
	cfg.password = pass;
	cfg.mailbox = mailbox;
	cfg.max_message_bytes = 10485760;
	*n_r = 0;
	if (imap_intake_connect(&cfg, &ii, &err) != 0) {
		fprintf(stderr, "imap_fetch_bench: %s\n", err);
		return -1;
	}
	for (;;) {
		if (imap_intake_fetch(ii, cursor, batch, &msgs, &n, &err) != 0) {
			fprintf(stderr, "imap_fetch_bench: %s\n", err);
			imap_intake_close(&ii);
			return -1;
		}
		if (n == 0)
			break;
		cursor = msgs[n - 1].uid;
		*n_r += n;
		imap_intake_free_msgs(&msgs, n);
	}
	imap_intake_close(&ii);
	return 0;
}

int
main(int argc, char **argv)
{
	size_t batch = 1000, n, bytes;
	char *mailbox = xstrdup("INBOX"), *ca_file = NULL, *ack_cmd = NULL;
	int opt, raw_only = 0;
	double t0, t, ack_s = 0;

	while ((opt = getopt(argc, argv, "a:b:m:rs:")) != -1) {
		switch (opt) {
		case 'a':
			ack_cmd = optarg;
			break;
		case 'b':
			batch = strtoul(optarg, NULL, 10);
			break;
		case 'm':
			free(mailbox);
			mailbox = xstrdup(optarg);
			break;
		case 'r':
			raw_only = 1;
			break;
		case 's':
			ca_file = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 4 || batch == 0)
		goto usage;
	log_init("imap_fetch_bench", LOG_LEVEL_WARN, 0);

	if (ca_file != NULL)
		goto intake;
	t0 = now_s();
	if (raw_fetch(argv[optind], argv[optind + 1], argv[optind + 2], argv[optind + 3],
	    mailbox, ack_cmd, &n, &bytes, &ack_s) != 0) {
		fprintf(stderr, "imap_fetch_bench: raw fetch failed\n");
		return 1;
	}
	t = now_s() - t0 - ack_s;
	printf("imap raw fetch: %zu msgs in %.3f s = %.0f msgs/s (%.1f MB)\n", n, t,
	    t > 0 ? n / t : 0.0, bytes / 1e6);
	if (ack_cmd != NULL)
		printf("imap ack: %s in %.3f s\n", ack_cmd, ack_s);
intake:
	if (!raw_only) {
		t0 = now_s();
		if (intake_fetch(argv[optind], atoi(argv[optind + 1]), argv[optind + 2],
		    argv[optind + 3], mailbox, ca_file, batch, &n) != 0)
			return 1;
		t = now_s() - t0;
		printf("imap intake fetch%s: %zu msgs in %.3f s = %.0f msgs/s (batch %zu)\n",
		    ca_file != NULL ? " (TLS)" : "", n, t, t > 0 ? n / t : 0.0, batch);
	}
	free(mailbox);
	return 0;
usage:
	fprintf(stderr, "usage: imap_fetch_bench [-b BATCH] [-m MAILBOX] [-r] [-a CMD] [-s CAFILE] "
	    "HOST PORT USER PASSWORD\n");
	return 64;
}
