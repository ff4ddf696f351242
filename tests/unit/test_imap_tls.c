/*
 * test_imap_tls.c - the IMAP intake verifies the server before libetpan
 * parses a byte of it: scripted servers on 127.0.0.1 (GnuTLS, a self-signed
 * "localhost" certificate made with openssl) send lines that crash
 * libetpan 1.9.4's parser ("* OK [PERMANENTFLAGS (\Seen)] x"); with an
 * untrusted certificate or the wrong host name imap_intake_connect must
 * fail with a certificate error, without crashing and without LOGIN.
 * Every connect runs in a child process so a crash is a failure, not an
 * aborted suite.  Also: the greeting cleaner (imap_net_greeting_clean)
 * against libetpan's own greeting parser, STARTTLS response injection,
 * and a trusted server whose greeting carries such a code.
 * Run from the repository root (or with S48_TOP set).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>
#include <libetpan/libetpan.h>

#include "imap_net.h"
#include "intake_imap.h"
#include "util.h"

#include "net_test.h"

static char tmpdir[128], certpath[256], keypath[256];

/* greetings and lines libetpan 1.9.4 dies on (tests/fuzz/known-libetpan) */
#define EVIL_GREETING "* OK [PERMANENTFLAGS (\\Seen)] x\r\n"
#define EVIL_LINE "* OK [PERMANENTFLAGS ((\\Seen)] x\r\n"

/* in a forked child: cmocka's handlers would catch a crash and go on
 * running the suite in the child; die of the signal instead */
static void
child_defaults(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	size_t i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
}

static int
group_setup(void **state)
{
	char cmd[1024];

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/s48imaptls.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(certpath, sizeof(certpath), "%s/cert.pem", tmpdir);
	snprintf(keypath, sizeof(keypath), "%s/key.pem", tmpdir);
	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey rsa:2048 -nodes -days 30 "
	    "-subj /CN=localhost -addext subjectAltName=DNS:localhost "
	    "-keyout %s -out %s >/dev/null 2>&1", keypath, certpath);
	if (system(cmd) != 0) {
		fprintf(stderr, "# openssl req failed\n");
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- the scripted server (a child process) ---- */

/* SRV_PLAIN_TLS_CLIENT: a plain server, the client wants implicit TLS */
enum srv_mode { SRV_PLAIN, SRV_IMPLICIT, SRV_STARTTLS, SRV_PLAIN_TLS_CLIENT };

struct srv {
	int fd;
	gnutls_session_t tls;
	gnutls_certificate_credentials_t cred;
};

static void
srv_write(struct srv *sv, const char *s)
{
	size_t len = strlen(s), off = 0;
	ssize_t r;

	while (off < len) {
		if (sv->tls != NULL)
			r = gnutls_record_send(sv->tls, s + off, len - off);
		else
			r = write(sv->fd, s + off, len - off);
		if (r <= 0)
			_exit(1);
		off += (size_t)r;
	}
}

/* one byte from the connection, through TLS once it is on */
static ssize_t
srv_read1(void *arg, char *c)
{
	struct srv *sv = arg;

	return sv->tls != NULL ? gnutls_record_recv(sv->tls, c, 1) : read(sv->fd, c, 1);
}

static int
srv_readline(struct srv *sv, char *line, size_t sz)
{
	return nt_readline(srv_read1, sv, line, sz);
}

static int
srv_tls(struct srv *sv)
{
	int r;

	if (gnutls_certificate_allocate_credentials(&sv->cred) < 0 ||
	    gnutls_certificate_set_x509_key_file(sv->cred, certpath, keypath,
	    GNUTLS_X509_FMT_PEM) < 0 ||
	    gnutls_init(&sv->tls, GNUTLS_SERVER) < 0 ||
	    gnutls_set_default_priority(sv->tls) < 0 ||
	    gnutls_credentials_set(sv->tls, GNUTLS_CRD_CERTIFICATE, sv->cred) < 0)
		_exit(1);
	gnutls_transport_set_int(sv->tls, sv->fd);
	do {
		r = gnutls_handshake(sv->tls);
	} while (r < 0 && !gnutls_error_is_fatal(r));
	return r;
}

/*
 * One connection: greeting (over TLS for SRV_IMPLICIT), STARTTLS
 * (SRV_STARTTLS: the OK followed by inject in the same write, then TLS and
 * after_tls), then LOGIN, CAPABILITY, SELECT and LOGOUT as a small server.
 * Exit status 3 if LOGIN came, else 0.
 */
static void
srv_run(int lfd, enum srv_mode mode, const char *greeting, const char *inject,
    const char *after_tls)
{
	struct srv sv;
	char line[1024], out[1200], *sp;
	int login = 0;

	alarm(20);
	memset(&sv, 0, sizeof(sv));
	sv.fd = accept(lfd, NULL, NULL);
	if (sv.fd < 0)
		_exit(1);
	if (mode == SRV_IMPLICIT && srv_tls(&sv) < 0)
		_exit(0);
	srv_write(&sv, greeting);
	while (srv_readline(&sv, line, sizeof(line)) == 0) {
		if ((sp = strchr(line, ' ')) == NULL)
			break;
		*sp++ = '\0';
		if (strcasecmp(sp, "STARTTLS") == 0 && mode == SRV_STARTTLS && sv.tls == NULL) {
			snprintf(out, sizeof(out), "%s OK begin TLS\r\n%s", line,
			    inject != NULL ? inject : "");
			srv_write(&sv, out);
			if (srv_tls(&sv) < 0)
				break;
			if (after_tls != NULL)
				srv_write(&sv, after_tls);
		} else if (strncasecmp(sp, "LOGIN", 5) == 0) {
			login = 1;
			snprintf(out, sizeof(out), "%s OK logged in\r\n", line);
			srv_write(&sv, out);
		} else if (strcasecmp(sp, "CAPABILITY") == 0) {
			snprintf(out, sizeof(out), "* CAPABILITY IMAP4rev1 IDLE MOVE UIDPLUS\r\n"
			    "%s OK done\r\n", line);
			srv_write(&sv, out);
		} else if (strncasecmp(sp, "SELECT", 6) == 0) {
			snprintf(out, sizeof(out), "* 0 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n"
			    "* OK [UIDNEXT 1] n\r\n%s OK [READ-WRITE] selected\r\n", line);
			srv_write(&sv, out);
		} else if (strcasecmp(sp, "LOGOUT") == 0) {
			snprintf(out, sizeof(out), "* BYE bye\r\n%s OK bye\r\n", line);
			srv_write(&sv, out);
			break;
		} else {
			snprintf(out, sizeof(out), "%s BAD what\r\n", line);
			srv_write(&sv, out);
		}
	}
	if (sv.tls != NULL)
		gnutls_deinit(sv.tls);
	close(sv.fd);
	_exit(login ? 3 : 0);
}

static pid_t
srv_start(enum srv_mode mode, const char *greeting, const char *inject,
    const char *after_tls, int *port_r)
{
	int s = nt_listen(port_r);
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		child_defaults();
		srv_run(s, mode, greeting, inject, after_tls);
	}
	close(s);
	return pid;
}

/* ---- imap_intake_connect in a child: a crash shows as a signal ---- */

struct result {
	int r;
	int crashed;           /* the signal that ended the child, or 0 */
	char err[512];
};

static void
connect_in_child(const struct cfg_imap *c, struct result *res)
{
	int p[2], st;
	pid_t pid;
	ssize_t n;

	memset(res, 0, sizeof(*res));
	res->r = -2;
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct result out;
		struct imap_intake *ii = NULL;
		const char *err = NULL;

		child_defaults();
		close(p[0]);
		memset(&out, 0, sizeof(out));
		alarm(20);
		imap_intake_set_timeout(5);
		out.r = imap_intake_connect(c, &ii, &err);
		if (out.r != 0 && err != NULL)
			util_strlcpy(out.err, err, sizeof(out.err));
		if (out.r == 0 && (ii == NULL || imap_intake_uidvalidity(ii) != 7))
			out.r = -3;
		imap_intake_close(&ii);
		_exit(write(p[1], &out, sizeof(out)) == (ssize_t)sizeof(out) ? 0 : 1);
	}
	close(p[1]);
	n = read(p[0], res, sizeof(*res));
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st)) {
		res->crashed = WTERMSIG(st);
		res->r = -2;
	} else if (n != (ssize_t)sizeof(*res)) {
		res->r = -2;
		snprintf(res->err, sizeof(res->err), "the child reported nothing");
	}
}

struct conn_case {
	const char *name;
	enum srv_mode mode;
	const char *host;
	int ca;                /* 1: ca_file is the server's certificate */
	const char *greeting;
	const char *inject;    /* after STARTTLS's OK, same write */
	const char *after_tls; /* right after the STARTTLS handshake */
	int ok;
	const char *error_has;
};

static void
run_cases(const struct conn_case *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct conn_case *tc = &cases[i];
		struct cfg_imap c;
		struct result res;
		char host[64], user[] = "prijave", pass[] = "secret", mb[] = "INBOX";
		int port, st;
		pid_t spid;

		spid = srv_start(tc->mode, tc->greeting, tc->inject, tc->after_tls, &port);
		memset(&c, 0, sizeof(c));
		util_strlcpy(host, tc->host, sizeof(host));
		c.enabled = 1;
		c.host = host;
		c.port = port;
		c.tls = tc->mode == SRV_IMPLICIT || tc->mode == SRV_PLAIN_TLS_CLIENT ? CFG_TLS_IMPLICIT :
		    tc->mode == SRV_STARTTLS ? CFG_TLS_STARTTLS : CFG_TLS_NONE;
		c.ca_file = tc->ca ? certpath : NULL;
		c.user = user;
		c.password = pass;
		c.mailbox = mb;
		c.max_message_bytes = 1 << 20;
		connect_in_child(&c, &res);
		assert_int_equal(waitpid(spid, &st, 0), spid);
		if (res.crashed)
			fail_msg("%s: imap_intake_connect crashed (signal %d)", tc->name, res.crashed);
		if (tc->ok) {
			if (res.r != 0)
				fail_msg("%s: connect failed (%d): %s", tc->name, res.r, res.err);
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 3)
				fail_msg("%s: the server saw no LOGIN (status 0x%x)", tc->name, st);
		} else {
			if (res.r != -1)
				fail_msg("%s: connect returned %d, want -1", tc->name, res.r);
			if (strstr(res.err, tc->error_has) == NULL)
				fail_msg("%s: error \"%s\" lacks \"%s\"", tc->name, res.err,
				    tc->error_has);
			if (!WIFEXITED(st) || WEXITSTATUS(st) == 3)
				fail_msg("%s: credentials were sent (server status 0x%x)", tc->name,
				    st);
		}
	}
}

/* an untrusted or misnamed server is refused before anything it sends is
 * parsed: the greeting that crashes libetpan never reaches it */
static void
test_untrusted_server_not_parsed(void **state)
{
	static const struct conn_case cases[] = {
		{ "imaps, self-signed", SRV_IMPLICIT, "localhost", 0, EVIL_GREETING, NULL, NULL,
		  0, "certificate for localhost is not trusted" },
		{ "imaps, self-signed, bad list", SRV_IMPLICIT, "localhost", 0, EVIL_LINE, NULL,
		  NULL, 0, "not trusted" },
		{ "imaps, wrong host", SRV_IMPLICIT, "127.0.0.1", 1, EVIL_GREETING, NULL, NULL,
		  0, "certificate is not for host 127.0.0.1" },
		{ "starttls, self-signed", SRV_STARTTLS, "localhost", 0,
		  "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n", NULL, EVIL_LINE,
		  0, "certificate for localhost is not trusted" },
		{ "starttls, wrong host", SRV_STARTTLS, "127.0.0.1", 1,
		  "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n", NULL, EVIL_LINE,
		  0, "certificate is not for host 127.0.0.1" },
		/* bytes after STARTTLS's OK, before the handshake, are not read as
		 * if they had come over TLS (Debian's libetpan refuses them itself,
		 * CVE-2020-15953; imap_net_starttls would: test_starttls_buffered) */
		{ "starttls, injection", SRV_STARTTLS, "localhost", 1,
		  "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n", EVIL_LINE, NULL,
		  0, "STARTTLS" },
		/* not a TLS server at all */
		{ "imaps to a plain server", SRV_PLAIN_TLS_CLIENT, "localhost", 1, EVIL_GREETING, NULL, NULL,
		  0, "TLS handshake" },
	};

	(void)state;
	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* a trusted server (or a plain one) whose greeting carries a response code
 * libetpan cannot parse safely: the code is dropped, the session works */
static void
test_greeting_cleaned_in_session(void **state)
{
	static const struct conn_case cases[] = {
		{ "imaps, trusted, PERMANENTFLAGS greeting", SRV_IMPLICIT, "localhost", 1,
		  EVIL_GREETING, NULL, NULL, 1, NULL },
		{ "imaps, trusted, plain greeting", SRV_IMPLICIT, "localhost", 1,
		  "* OK [CAPABILITY IMAP4rev1 IDLE] hello\r\n", NULL, NULL, 1, NULL },
		{ "plain, BADCHARSET greeting", SRV_PLAIN, "127.0.0.1", 0,
		  "* OK [BADCHARSET ()] x\r\n", NULL, NULL, 1, NULL },
		{ "plain, unbalanced list", SRV_PLAIN, "127.0.0.1", 0, EVIL_LINE, NULL, NULL,
		  1, NULL },
		{ "starttls, PERMANENTFLAGS greeting", SRV_STARTTLS, "localhost", 1,
		  EVIL_GREETING, NULL, NULL, 1, NULL },
		{ "plain, BYE with a code", SRV_PLAIN, "127.0.0.1", 0,
		  "* BYE [BADCHARSET (x] go away\r\n", NULL, NULL, 0, "refused the connection" },
		{ "plain, garbage greeting", SRV_PLAIN, "127.0.0.1", 0,
		  "HELLO [PERMANENTFLAGS (\r\n", NULL, NULL, 0, "refused the connection" },
	};

	(void)state;
	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* imap_net_starttls refuses a stream holding unread bytes, whatever
 * libetpan checked before */
static void
test_starttls_buffered(void **state)
{
	static const char sent[] = "* OK hi\r\n1 OK begin TLS\r\n* OK injected\r\n";
	MMAPString *line = mmap_string_new("");
	mailstream *s;
	char err[256];
	int sv[2];

	(void)state;
	assert_non_null(line);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], sent, sizeof(sent) - 1), (ssize_t)sizeof(sent) - 1);
	s = imap_net_open(sv[0], 5);
	assert_non_null(s);
	assert_int_equal(imap_net_is_tls(s), 0);
	assert_non_null(mailstream_read_line(s, line));
	assert_string_equal(line->str, "* OK hi\r\n");
	assert_non_null(mailstream_read_line(s, line));
	assert_string_equal(line->str, "1 OK begin TLS\r\n");
	err[0] = '\0';
	assert_int_equal(imap_net_starttls(s, "localhost", NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "data before the TLS handshake"));
	assert_int_equal(imap_net_is_tls(s), 0);
	/* the stream is unusable afterwards; reading fails, nothing hangs */
	assert_int_equal(imap_net_wait(s, 0), 1);
	mailstream_close(s);
	mmap_string_free(line);
	close(sv[1]);
}

/* the stream: end of stream and a silent peer are errors, never 0 bytes;
 * the greeting is cleaned on the way */
static void
test_stream_eof_timeout(void **state)
{
	static const char sent[] = "* OK [PERMANENTFLAGS (\\Seen)] x\r\n* 1 EXISTS\r\n";
	MMAPString *line = mmap_string_new("");
	mailstream *s;
	char buf[64];
	int sv[2];
	double t0;

	(void)state;
	assert_non_null(line);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], sent, sizeof(sent) - 1), (ssize_t)sizeof(sent) - 1);
	s = imap_net_open(sv[0], 1);
	assert_non_null(s);
	assert_int_equal(imap_net_wait(s, 0), 1);
	assert_non_null(mailstream_read_line(s, line));
	assert_string_equal(line->str, "* OK greeting\r\n");
	assert_non_null(mailstream_read_line(s, line));
	assert_string_equal(line->str, "* 1 EXISTS\r\n");
	/* nothing more: wait says so, a read times out after about 1 s */
	assert_int_equal(imap_net_wait(s, 100), 0);
	t0 = nt_now();
	assert_true(mailstream_read(s, buf, sizeof(buf)) < 0);
	assert_true(nt_now() - t0 >= 0.8 && nt_now() - t0 < 3.0);
	mailstream_close(s);

	/* the peer closes: -1, not 0 */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv + 0), 0);
	s = imap_net_open(sv[0], 5);
	assert_non_null(s);
	assert_int_equal(write(sv[1], "* OK hi\r\nabc", 12), 12);
	close(sv[1]);
	assert_non_null(mailstream_read_line(s, line));
	assert_string_equal(line->str, "* OK hi\r\n");
	assert_int_equal(mailstream_read(s, buf, 3), 3);
	assert_true(mailstream_read(s, buf, sizeof(buf)) < 0);
	/* and writes to it fail instead of raising SIGPIPE */
	signal(SIGPIPE, SIG_IGN);
	assert_true(mailstream_write(s, "x\r\n", 3) < 0 || mailstream_flush(s) != 0);
	mailstream_close(s);
	mmap_string_free(line);
}

/* libetpan's greeting parser on a memory stream, in a child: 0 parsed,
 * 1 refused, 2 crashed */
static int
libetpan_greeting(const char *data, size_t len)
{
	pid_t pid;
	int st;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		mailimap *imap = mailimap_new(0, NULL);
		mailstream *s = imap_intake_mem_stream(data, len);
		int r;

		child_defaults();
		alarm(10);
		if (imap == NULL || s == NULL)
			_exit(3);
		r = mailimap_connect(imap, s);
		_exit(r == MAILIMAP_NO_ERROR_NON_AUTHENTICATED ||
		    r == MAILIMAP_NO_ERROR_AUTHENTICATED ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		return 2;
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) <= 1);
	return WEXITSTATUS(st);
}

/* the cleaner: a table of greetings, and what it gives is parsed by
 * libetpan without crashing (accepted unless a BYE) */
static void
test_greeting_clean_table(void **state)
{
	static const struct {
		const char *in;
		int rewritten;
		const char *out;       /* NULL: the same as in */
	} cases[] = {
		{ "* OK Dovecot ready.\r\n", 0, NULL },
		{ "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ "
		  "STARTTLS AUTH=PLAIN] Dovecot ready.\r\n", 0, NULL },
		{ "* OK [ALERT] maintenance (tonight)\r\n", 0, NULL },
		{ "* ok [capability imap4rev1]\r\n", 0, NULL },
		{ "* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n", 0, NULL },
		{ "* OK [PERMANENTFLAGS (\\Seen)] x\r\n", 1, "* OK greeting\r\n" },
		{ "* OK [PERMANENTFLAGS ((\\Seen)] x\r\n", 1, "* OK greeting\r\n" },
		{ "* OK [BADCHARSET ()] x\r\n", 1, "* OK greeting\r\n" },
		{ "* OK [BADCHARSET (] x\r\n", 1, "* OK greeting\r\n" },
		{ "* OK [CAPABILITY IMAP4rev1 (X)] x\r\n", 1, "* OK greeting\r\n" },
		{ "* OK [CAPABILITYX] x\r\n", 1, "* OK greeting\r\n" },
		{ "* OK [ALERT x] y\r\n", 1, "* OK greeting\r\n" },
		{ "* OK [CAPABILITY IMAP4rev1 x\r\n", 1, "* OK greeting\r\n" },
		{ "* OK hello [PERMANENTFLAGS (\\Seen)]\r\n", 1, "* OK greeting\r\n" },
		{ "*  OK\t[PERMANENTFLAGS (\\Seen)] x\r\n", 1, "* OK greeting\r\n" },
		{ "* BYE [BADCHARSET (x] bye\r\n", 1, "* BYE greeting\r\n" },
		{ "* PREAUTH [UIDVALIDITY 3] x\r\n", 1, "* PREAUTH greeting\r\n" },
		{ "* NO [PERMANENTFLAGS (] x\r\n", 1, "* BYE unreadable greeting\r\n" },
		{ "[PERMANENTFLAGS (\\Seen)]\r\n", 1, "* BYE unreadable greeting\r\n" },
		{ "x* OK [PERMANENTFLAGS (\\Seen)]\n", 1, "* BYE unreadable greeting\r\n" },
	};
	char out[512];
	size_t i, len, outlen;
	int r, p;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *want = cases[i].out != NULL ? cases[i].out : cases[i].in;

		len = strlen(cases[i].in);
		r = imap_net_greeting_clean(cases[i].in, len, out, sizeof(out), &outlen);
		if (r != cases[i].rewritten || outlen != strlen(want) ||
		    memcmp(out, want, outlen) != 0)
			fail_msg("case %zu: %d \"%.*s\", want %d \"%s\"", i, r, (int)outlen, out,
			    cases[i].rewritten, want);
		p = libetpan_greeting(out, outlen);
		if (p == 2)
			fail_msg("case %zu: libetpan crashed on \"%.*s\"", i, (int)outlen, out);
		if (p != (strncmp(out, "* BYE", 5) == 0 ? 1 : 0))
			fail_msg("case %zu: libetpan %s \"%.*s\"", i, p ? "refused" : "accepted",
			    (int)outlen, out);
	}
	/* out too small: -1, nothing claimed */
	r = imap_net_greeting_clean(cases[0].in, strlen(cases[0].in), out, 4, &outlen);
	assert_int_equal(r, -1);
	assert_int_equal(outlen, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_untrusted_server_not_parsed),
		cmocka_unit_test(test_greeting_cleaned_in_session),
		cmocka_unit_test(test_greeting_clean_table),
		cmocka_unit_test(test_starttls_buffered),
		cmocka_unit_test(test_stream_eof_timeout),
	};

	log_init("test_imap_tls", LOG_LEVEL_ERR, 0);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
