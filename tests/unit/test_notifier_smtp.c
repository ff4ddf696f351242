/*
 * test_notifier_smtp.c - notifier_smtp_send() and the concurrent
 * notifier_smtp_start()/notifier_smtp_wait() against a real Postfix
 * smtp-sink on 127.0.0.1 (tests/lib/smtp_sink.sh), with faults injected
 * by the sink's -f/-r/-Q options and a Python TLS relay for smtps://.
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

#include "config.h"
#include "mail_compose.h"
#include "notifier_smtp.h"
#include "util.h"

#include "outbox_test.h"

static char topdir[4096];
static char tmpdir[] = "/tmp/s48smtp.XXXXXX";
static int main_port, tls_port;
static char ca_file[4200];

/* ------------------------------------------------------------- helpers */

/* a sink of its own in tmpdir/NAME with extra smtp-sink args; its port */
static int
sink_start(const char *name, const char *args, int auth)
{
	char dir[4200];
	const char *err;

	snprintf(dir, sizeof(dir), "%s/%s", tmpdir, name);
	if (ot_run("%s sh '%s/tests/lib/smtp_sink.sh' start '%s' %s >/dev/null",
	    auth ? "SMTP_SINK_AUTH=1" : "", topdir, dir, args) != 0)
		fail_msg("cannot start smtp-sink %s", args);
	return ot_read_port(dir, "smtp-sink.port", &err);
}

static void
sink_stop(const char *name)
{
	ot_run("sh '%s/tests/lib/smtp_sink.sh' stop '%s/%s'", topdir, tmpdir, name);
}

static int
sink_count(const char *name)
{
	char cmd[4400], line[64];
	FILE *f;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "sh '%s/tests/lib/smtp_sink.sh' count '%s/%s'", topdir, tmpdir,
	    name);
	f = popen(cmd, "r");
	if (f != NULL && fgets(line, sizeof(line), f) != NULL)
		n = atoi(line);
	if (f != NULL)
		pclose(f);
	return n;
}

/* contents of the only (or newest-named) captured message; caller frees */
static char *
sink_message(const char *name)
{
	char cmd[4400], path[4400], *data = NULL;
	const char *err;
	size_t len;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "find '%s/%s/mail' -type f | sort | tail -n 1", tmpdir, name);
	f = popen(cmd, "r");
	assert_non_null(f);
	if (fgets(path, sizeof(path), f) == NULL)
		fail_msg("no message captured by %s", name);
	pclose(f);
	path[strcspn(path, "\n")] = '\0';
	if (util_read_file(path, 16 << 20, &data, &len, &err) < 0)
		fail_msg("%s: %s", path, err);
	return data;
}

static void
sink_clear(const char *name)
{
	ot_run("find '%s/%s/mail' -type f -delete", tmpdir, name);
}

static struct cfg_smtp
cfg_for(const char *scheme, const char *host, int port, int tls_required, const char *ca)
{
	static char url[256];
	struct cfg_smtp c;

	memset(&c, 0, sizeof(c));
	snprintf(url, sizeof(url), "%s://%s:%d", scheme, host, port);
	c.enabled = 1;
	c.url = url;
	c.tls_required = tls_required;
	c.ca_file = (char *)(uintptr_t)ca;
	c.from = "Sistem 48 <prijave@example.org>";
	c.from_addr = "prijave@example.org";
	return c;
}

static char *
compose(const char *subject, const char *body, size_t *len_r)
{
	struct mail_out m;
	struct buf b;
	const char *err = NULL;

	memset(&m, 0, sizeof(m));
	m.from = "Sistem 48 <prijave@example.org>";
	m.to = "jovana@example.net";
	m.subject = subject;
	m.body = body;
	m.message_id = "s48.1.1@example.org";
	m.in_reply_to = "orig-1@mail.example.net";
	m.references = "orig-1@mail.example.net";
	m.auto_replied = 1;
	m.date = 1795514400;
	buf_init(&b, 1 << 20);
	if (mail_compose(&m, &b, &err) != 0)
		fail_msg("compose: %s", err);
	return buf_steal(&b, len_r);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The message part of a sink file: its own X-... and Received lines
 * (with continuations) dropped. */
static const char *
skip_sink_headers(const char *s)
{
	for (;;) {
		if (strncmp(s, "X-Client-", 9) == 0 || strncmp(s, "X-Helo-", 7) == 0 ||
		    strncmp(s, "X-Mail-Args:", 12) == 0 || strncmp(s, "X-Rcpt-Args:", 12) == 0 ||
		    strncmp(s, "Received:", 9) == 0 || s[0] == '\t') {
			s = strchr(s, '\n');
			if (s == NULL)
				return "";
			s++;
		} else
			return s;
	}
}

/* ------------------------------------------------------------- fixtures */

static int
group_setup(void **state)
{
	const char *err;

	(void)state;
	if (ot_find_top(topdir) != 0)
		return -1;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	chmod(tmpdir, 0755);
	if (ot_run("sh '%s/tests/lib/smtp_sink.sh' start '%s/main' >/dev/null", topdir, tmpdir) != 0)
		return -1;
	main_port = ot_read_port(tmpdir, "main/smtp-sink.port", &err);
	if (ot_run("sh '%s/tests/lib/smtp_sink.sh' tls '%s/main' >/dev/null", topdir, tmpdir) != 0)
		return -1;
	tls_port = ot_read_port(tmpdir, "main/tls-relay.port", &err);
	snprintf(ca_file, sizeof(ca_file), "%s/main/tls/cert.pem", tmpdir);
	return main_port > 0 && tls_port > 0 ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	notifier_smtp_close();
	/* every sink, also those of a test that failed half-way */
	ot_sinks_stop_all(topdir, tmpdir);
	if (getenv("S48_KEEP") == NULL)
		ot_run("rm -rf '%s'", tmpdir);
	return 0;
}

/* ---------------------------------------------------------------- tests */

static void
test_delivered(void **state)
{
	struct cfg_smtp c = cfg_for("smtp", "127.0.0.1", main_port, 0, NULL);
	char *data, *reason = NULL, *file, *want, *p;
	const char *msg;
	size_t len, i, o = 0;

	(void)state;
	sink_clear("main");
	data = compose("Re: [S48 #1] Не ради улична расвета",
	    "Poštovani,\n.\n..dve tačke\nprijava br. 1 je primljena.\n", &len);
	assert_int_equal(notifier_smtp_send(&c, "jovana@example.net", data, len, &reason), NOTIFY_OK);
	assert_non_null(reason);
	assert_true(strncmp(reason, "250", 3) == 0);
	free(reason);
	assert_int_equal(sink_count("main"), 1);
	file = sink_message("main");
	assert_non_null(strstr(file, "X-Mail-Args: <prijave@example.org>"));
	assert_non_null(strstr(file, "X-Rcpt-Args: <jovana@example.net>"));
	/* the message arrives byte for byte (the sink stores LF line ends) */
	want = xmalloc(len + 1);
	for (i = 0; i < len; i++)
		if (data[i] != '\r')
			want[o++] = data[i];
	want[o] = '\0';
	msg = skip_sink_headers(file);
	if (strncmp(msg, want, o) != 0)
		fail_msg("message differs:\n%s\n---- expected:\n%s", msg, want);
	for (p = (char *)(uintptr_t)msg + o; *p; p++)
		assert_int_equal(*p, '\n');
	free(want);
	free(file);
	free(data);
}

/* libcurl dot-stuffs; the sink un-stuffs: lines starting with "." survive */
static void
test_dot_stuffing(void **state)
{
	struct cfg_smtp c = cfg_for("smtp", "127.0.0.1", main_port, 0, NULL);
	static const char raw[] = "From: prijave@example.org\r\nTo: jovana@example.net\r\n"
	    "Subject: t\r\n\r\n.\r\n..\r\n.tacka\r\nkraj\r\n";
	char *reason = NULL, *file;

	(void)state;
	sink_clear("main");
	assert_int_equal(notifier_smtp_send(&c, "jovana@example.net", raw, sizeof(raw) - 1, &reason),
	    NOTIFY_OK);
	free(reason);
	file = sink_message("main");
	assert_non_null(strstr(file, "\n\n.\n..\n.tacka\nkraj\n"));
	free(file);
}

/*
 * A 3 MB message (a report with photos) arrives whole, byte for byte, with
 * lines starting with "." on every side of libcurl's 16 kB upload buffer.
 */
static void
test_large(void **state)
{
	struct cfg_smtp c = cfg_for("smtp", "127.0.0.1", main_port, 0, NULL);
	struct buf msg, want;
	char *reason = NULL, *file;
	const char *got;
	int i;

	(void)state;
	sink_clear("main");
	buf_init(&msg, 8 << 20);
	buf_init(&want, 8 << 20);
	buf_appends(&msg, "From: prijave@example.org\r\nTo: jovana@example.net\r\n"
	    "Subject: velika\r\n\r\n");
	buf_appends(&want, "From: prijave@example.org\nTo: jovana@example.net\n"
	    "Subject: velika\n\n");
	for (i = 0; msg.len < 3 * 1024 * 1024; i++) {
		/* 76-character lines like base64, every 7th starting with a dot */
		char line[96];

		snprintf(line, sizeof(line), "%s%06d%s", i % 7 == 0 ? "." : "A", i,
		    "BCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/ABCDEFGHI");
		buf_appendf(&msg, "%s\r\n", line);
		buf_appendf(&want, "%s\n", line);
	}
	buf_appendc(&want, '\0');
	assert_int_equal(notifier_smtp_send(&c, "jovana@example.net", msg.data, msg.len, &reason),
	    NOTIFY_OK);
	free(reason);
	file = sink_message("main");
	got = skip_sink_headers(file);
	if (strncmp(got, want.data, want.len - 1) != 0)
		fail_msg("the 3 MB message differs at the sink");
	free(file);
	buf_free(&msg);
	buf_free(&want);
}

/* several sends in a run share the handle and all arrive */
static void
test_several(void **state)
{
	struct cfg_smtp c = cfg_for("smtp", "127.0.0.1", main_port, 0, NULL);
	char *data, *reason;
	size_t len;
	int i;

	(void)state;
	sink_clear("main");
	data = compose("Re: [S48 #2] rupa", "tekst\n", &len);
	for (i = 0; i < 5; i++) {
		reason = NULL;
		assert_int_equal(notifier_smtp_send(&c, i % 2 ? "a@example.net" : "b@example.net",
		    data, len, &reason), NOTIFY_OK);
		free(reason);
	}
	assert_int_equal(sink_count("main"), 5);
	free(data);
}

/* a run of sends uses one connection (one EHLO), close ends it */
static void
test_connection_reuse(void **state)
{
	int port = sink_start("reuse", "-v", 0), i;
	struct cfg_smtp c = cfg_for("smtp", "127.0.0.1", port, 0, NULL);
	char *data, *reason, *log = NULL, *p, path[4200];
	const char *err;
	size_t len;
	int ehlo = 0;

	(void)state;
	notifier_smtp_close();
	data = compose("Re: [S48 #2] rupa", "tekst\n", &len);
	for (i = 0; i < 4; i++) {
		reason = NULL;
		assert_int_equal(notifier_smtp_send(&c, "a@example.net", data, len, &reason),
		    NOTIFY_OK);
		free(reason);
	}
	notifier_smtp_close();
	assert_int_equal(sink_count("reuse"), 4);
	usleep(200000);
	snprintf(path, sizeof(path), "%s/reuse/smtp-sink.log", tmpdir);
	assert_int_equal(util_read_file(path, 16 << 20, &log, &len, &err), 0);
	for (p = log; (p = strstr(p, "EHLO")) != NULL; p++)
		ehlo++;
	assert_int_equal(ehlo, 1);
	free(log);
	sink_stop("reuse");
	free(data);
}

static const struct {
	const char *name;
	const char *args;
	int expect;
	const char *reason_prefix;
} faults[] = {
	{ "f-rcpt", "-f RCPT", NOTIFY_PERMFAIL, "5" },
	{ "f-mail", "-f MAIL", NOTIFY_PERMFAIL, "5" },
	{ "f-data", "-f DATA", NOTIFY_PERMFAIL, "5" },
	{ "f-dot", "-f .", NOTIFY_PERMFAIL, "5" },
	{ "r-rcpt", "-r RCPT", NOTIFY_TEMPFAIL, "4" },
	{ "r-mail", "-r MAIL", NOTIFY_TEMPFAIL, "4" },
	{ "r-dot", "-r .", NOTIFY_TEMPFAIL, "4" },
	{ "q-rcpt", "-Q RCPT", NOTIFY_TEMPFAIL, "421" },
	{ "q-dot", "-q .", NOTIFY_TEMPFAIL, NULL },
	/* not the message's fault: a broken or refusing server is retried */
	{ "f-connect", "-f CONNECT", NOTIFY_TEMPFAIL, "5" },
	{ "f-ehlo", "-f EHLO,HELO", NOTIFY_TEMPFAIL, "5" },
};

static void
test_faults(void **state)
{
	char *data;
	size_t len, i;

	(void)state;
	data = compose("Re: [S48 #3] test", "tekst\n", &len);
	for (i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		int port = sink_start(faults[i].name, faults[i].args, 0);
		struct cfg_smtp c = cfg_for("smtp", "127.0.0.1", port, 0, NULL);
		char *reason = NULL;
		double t0 = now_s();
		int r = notifier_smtp_send(&c, "jovana@example.net", data, len, &reason);

		assert_non_null(reason);
		print_message("# %s -> %d \"%s\"\n", faults[i].args, r, reason);
		if (r != faults[i].expect)
			fail_msg("%s: result %d, expected %d (%s)", faults[i].args, r,
			    faults[i].expect, reason);
		if (faults[i].reason_prefix != NULL &&
		    strncmp(reason, faults[i].reason_prefix, strlen(faults[i].reason_prefix)) != 0)
			fail_msg("%s: reason '%s'", faults[i].args, reason);
		assert_null(strchr(reason, '\n'));
		assert_null(strchr(reason, '\r'));
		assert_true(now_s() - t0 < 5.0);
		free(reason);
		sink_stop(faults[i].name);
	}
	free(data);
}

static void
test_sink_down(void **state)
{
	int port = sink_start("down", "", 0);
	struct cfg_smtp c = cfg_for("smtp", "127.0.0.1", port, 0, NULL);
	char *data, *reason = NULL;
	size_t len;
	double t0;

	(void)state;
	sink_stop("down");
	data = compose("x", "y\n", &len);
	t0 = now_s();
	assert_int_equal(notifier_smtp_send(&c, "jovana@example.net", data, len, &reason),
	    NOTIFY_TEMPFAIL);
	assert_true(now_s() - t0 < 2.0);
	assert_non_null(reason);
	assert_non_null(strstr(reason, "onnect"));
	free(reason);
	free(data);
}

static void
test_smtps(void **state)
{
	char *data, *reason = NULL;
	size_t len;
	struct cfg_smtp c;

	(void)state;
	data = compose("Re: [S48 #4] TLS", "preko TLS-a\n", &len);
	sink_clear("main");

	/* the self-signed certificate is not trusted without ca_file */
	c = cfg_for("smtps", "localhost", tls_port, 1, NULL);
	assert_int_equal(notifier_smtp_send(&c, "jovana@example.net", data, len, &reason),
	    NOTIFY_TEMPFAIL);
	assert_non_null(strstr(reason, "certificate"));
	print_message("# no CA: %s\n", reason);
	free(reason);
	reason = NULL;
	assert_int_equal(sink_count("main"), 0);

	/* nor with tls = "none": smtps:// always verifies */
	c = cfg_for("smtps", "localhost", tls_port, 0, NULL);
	assert_int_equal(notifier_smtp_send(&c, "jovana@example.net", data, len, &reason),
	    NOTIFY_TEMPFAIL);
	free(reason);
	reason = NULL;

	/* a trusted certificate for another name: host verification refuses it */
	{
		char dir[4200], ca2[4300];
		const char *err;
		int port2;

		sink_start("othername", "", 0);
		snprintf(dir, sizeof(dir), "%s/othername", tmpdir);
		snprintf(ca2, sizeof(ca2), "%s/tls/cert.pem", dir);
		assert_int_equal(ot_run("mkdir -p '%s/tls' && openssl req -x509 -newkey rsa:2048 -nodes "
		    "-days 2 -subj /CN=other.example -addext subjectAltName=DNS:other.example "
		    "-keyout '%s/tls/key.pem' -out '%s' >/dev/null 2>&1", dir, dir, ca2), 0);
		assert_int_equal(ot_run("sh '%s/tests/lib/smtp_sink.sh' tls '%s' >/dev/null", topdir, dir),
		    0);
		port2 = ot_read_port(dir, "tls-relay.port", &err);
		c = cfg_for("smtps", "localhost", port2, 1, ca2);
		assert_int_equal(notifier_smtp_send(&c, "jovana@example.net", data, len, &reason),
		    NOTIFY_TEMPFAIL);
		print_message("# wrong name: %s\n", reason);
		assert_non_null(strstr(reason, "certificate"));
		free(reason);
		reason = NULL;
		assert_int_equal(sink_count("othername"), 0);
		sink_stop("othername");
	}

	/* with the CA: delivered, both by name and by the IP in subjectAltName */
	c = cfg_for("smtps", "localhost", tls_port, 1, ca_file);
	assert_int_equal(notifier_smtp_send(&c, "jovana@example.net", data, len, &reason),
	    NOTIFY_OK);
	free(reason);
	reason = NULL;
	c = cfg_for("smtps", "127.0.0.1", tls_port, 1, ca_file);
	assert_int_equal(notifier_smtp_send(&c, "jovana@example.net", data, len, &reason),
	    NOTIFY_OK);
	free(reason);
	assert_int_equal(sink_count("main"), 2);
	free(data);
}

/* tls = required on smtp:// to a server without STARTTLS: no plaintext */
static void
test_starttls_required(void **state)
{
	struct cfg_smtp c = cfg_for("smtp", "127.0.0.1", main_port, 1, NULL);
	char *data, *reason = NULL;
	size_t len;

	(void)state;
	sink_clear("main");
	data = compose("Re: [S48 #5] tajna", "ne sme preko mreze nesifrovano\n", &len);
	assert_int_equal(notifier_smtp_send(&c, "jovana@example.net", data, len, &reason),
	    NOTIFY_TEMPFAIL);
	assert_non_null(strstr(reason, "STARTTLS"));
	free(reason);
	assert_int_equal(sink_count("main"), 0);
	free(data);
}

static void
test_auth_refused(void **state)
{
	int port = sink_start("auth", "", 1);
	struct cfg_smtp c = cfg_for("smtp", "127.0.0.1", port, 0, NULL);
	char *data, *reason = NULL;
	size_t len;

	(void)state;
	c.user = "prijave@example.org";
	c.password = "lozinka";
	data = compose("x", "y\n", &len);
	assert_int_equal(notifier_smtp_send(&c, "jovana@example.net", data, len, &reason),
	    NOTIFY_TEMPFAIL);
	assert_non_null(strstr(reason, "authentication"));
	free(reason);
	assert_int_equal(sink_count("auth"), 0);
	sink_stop("auth");
	free(data);
}

static void
test_refused_inputs(void **state)
{
	static const char *const bad_rcpt[] = {
		"jovana@example.net\r\nRCPT TO:<evil@example.com>",
		"jovana@example.net>",
		"<jovana@example.net>",
		"",
		"nobody",
	};
	struct cfg_smtp c = cfg_for("smtp", "127.0.0.1", main_port, 0, NULL);
	struct cfg_smtp off;
	char *data, *reason;
	size_t len, i;

	(void)state;
	sink_clear("main");
	data = compose("x", "y\n", &len);
	for (i = 0; i < sizeof(bad_rcpt) / sizeof(bad_rcpt[0]); i++) {
		reason = NULL;
		assert_int_equal(notifier_smtp_send(&c, bad_rcpt[i], data, len, &reason),
		    NOTIFY_PERMFAIL);
		assert_string_equal(reason, "invalid recipient address");
		free(reason);
	}
	memset(&off, 0, sizeof(off));
	reason = NULL;
	assert_int_equal(notifier_smtp_send(&off, "jovana@example.net", data, len, &reason),
	    NOTIFY_PERMFAIL);
	assert_string_equal(reason, "smtp not configured");
	free(reason);
	reason = NULL;
	c.url = "http://127.0.0.1:1/";
	assert_int_equal(notifier_smtp_send(&c, "jovana@example.net", data, len, &reason),
	    NOTIFY_TEMPFAIL);
	free(reason);
	assert_int_equal(sink_count("main"), 0);
	free(data);
}

/* SIGTERM while the server is slow: give up at once, retry later */
static void
test_stop_requested(void **state)
{
	int port = sink_start("slow", "-w 20", 0);
	struct cfg_smtp c = cfg_for("smtp", "127.0.0.1", port, 0, NULL);
	char *data, *reason = NULL;
	size_t len;
	double t0;

	(void)state;
	data = compose("x", "y\n", &len);
	s48_stop_requested = 1;
	t0 = now_s();
	assert_int_equal(notifier_smtp_send(&c, "jovana@example.net", data, len, &reason),
	    NOTIFY_TEMPFAIL);
	s48_stop_requested = 0;
	assert_true(now_s() - t0 < 3.0);
	assert_string_equal(reason, "interrupted");
	free(reason);
	sink_stop("slow");
	free(data);
}

/* a server that stops answering: TEMPFAIL "timeout" when the limit hits */
static void
test_timeout(void **state)
{
	int port = sink_start("stall", "-w 30", 0);
	struct cfg_smtp c = cfg_for("smtp", "127.0.0.1", port, 0, NULL);
	char *data, *reason = NULL;
	size_t len;
	double t0, el;

	(void)state;
	data = compose("x", "y\n", &len);
	notifier_smtp_set_timeouts(0, 2, 0);
	t0 = now_s();
	assert_int_equal(notifier_smtp_send(&c, "jovana@example.net", data, len, &reason),
	    NOTIFY_TEMPFAIL);
	el = now_s() - t0;
	notifier_smtp_set_timeouts(0, 0, 0);
	assert_true(el >= 1.5 && el < 5.0);
	assert_non_null(strstr(reason, "timeout"));
	free(reason);
	sink_stop("stall");
	free(data);
}

/* EHLO lines in the -v log of sink NAME: one per connection */
static int
sink_ehlos(const char *name)
{
	char path[4200], *log = NULL, *p;
	const char *err;
	size_t len;
	int n = 0;

	usleep(200000);
	snprintf(path, sizeof(path), "%s/%s/smtp-sink.log", tmpdir, name);
	assert_int_equal(util_read_file(path, 16 << 20, &log, &len, &err), 0);
	for (p = log; (p = strstr(p, "EHLO")) != NULL; p++)
		n++;
	free(log);
	return n;
}

/*
 * Concurrent sends: a sink that waits 1 s before answering DATA takes four
 * messages in ~1 s on four connections (one after the other would be 4 s);
 * a fifth does not start while four are in flight; the next run of four
 * reuses the four connections; each message comes back once with its tag.
 */
static void
test_concurrent(void **state)
{
	int port = sink_start("conc", "-v -w 1", 0), i, round;
	struct cfg_smtp c = cfg_for("smtp", "127.0.0.1", port, 0, NULL);
	static const char *const rcpt[] = { "a@example.net", "b@example.net", "c@example.net",
		"d@example.net" };
	char *data, *reason;
	size_t len;
	double t0, el;

	(void)state;
	notifier_smtp_close();
	data = compose("Re: [S48 #5] istovremeno", "tekst\n", &len);
	for (round = 0; round < 2; round++) {
		int seen[4] = { 0, 0, 0, 0 }, res, started, before_mail;
		void *tag;

		t0 = now_s();
		for (i = 0; i < 4; i++) {
			assert_true(notifier_smtp_ready(4));
			reason = NULL;
			started = notifier_smtp_start(&c, 4, rcpt[i], data, len, &seen[i], &res,
			    &reason);
			assert_int_equal(started, 1);
			assert_null(reason);
		}
		assert_int_equal(notifier_smtp_in_flight(), 4);
		assert_false(notifier_smtp_ready(4));
		/* a fifth has no connection: refused at once, not queued */
		assert_int_equal(notifier_smtp_start(&c, 4, "e@example.net", data, len, NULL, &res,
		    &reason), 0);
		assert_int_equal(res, NOTIFY_TEMPFAIL);
		assert_non_null(strstr(reason, "busy"));
		free(reason);
		/* notifier_smtp_send() will not mix with messages in flight */
		assert_int_equal(notifier_smtp_send(&c, "e@example.net", data, len, &reason),
		    NOTIFY_TEMPFAIL);
		free(reason);
		for (i = 0; i < 4; i++) {
			assert_int_equal(notifier_smtp_wait(&tag, &res, &reason, &before_mail), 1);
			assert_int_equal(res, NOTIFY_OK);
			assert_int_equal(before_mail, 0);
			assert_true(strncmp(reason, "250", 3) == 0);
			free(reason);
			(*(int *)tag)++;
		}
		el = now_s() - t0;
		print_message("# round %d: 4 messages in %.2f s\n", round, el);
		assert_true(el >= 0.9 && el < 2.5);
		for (i = 0; i < 4; i++)
			assert_int_equal(seen[i], 1);
		assert_int_equal(notifier_smtp_wait(&tag, &res, &reason, NULL), 0);
		assert_int_equal(notifier_smtp_in_flight(), 0);
	}
	notifier_smtp_close();
	assert_int_equal(sink_count("conc"), 8);
	assert_int_equal(sink_ehlos("conc"), 4);
	sink_stop("conc");
	free(data);
}

/*
 * A failed message leaves no trace in the next one: after a server that
 * drops the connection at "." (while others are in flight), a server that
 * refuses at its greeting is reported with its own reply, not with the old
 * connection's error (libcurl closes a cached broken connection at the next
 * start and reports it there).
 */
static void
test_failure_then_other(void **state)
{
	int pq = sink_start("drop", "-q .", 0), pf = sink_start("refuse", "-f CONNECT", 0);
	int pw = sink_start("fine", "", 0);
	/* cfg_for() keeps its URL in one buffer: each its own */
	struct cfg_smtp cq = cfg_for("smtp", "127.0.0.1", pq, 0, NULL);
	struct cfg_smtp cf = cq, cw = cq;
	char uq[64], uf[64], uw[64], *data, *reason = NULL;
	size_t len;
	void *tag;
	int res, a = 0, b = 0, got = 0, before_mail;

	(void)state;
	snprintf(uq, sizeof(uq), "smtp://127.0.0.1:%d", pq);
	snprintf(uf, sizeof(uf), "smtp://127.0.0.1:%d", pf);
	snprintf(uw, sizeof(uw), "smtp://127.0.0.1:%d", pw);
	cq.url = uq;
	cf.url = uf;
	cw.url = uw;
	notifier_smtp_close();
	data = compose("x", "y\n", &len);
	assert_int_equal(notifier_smtp_start(&cq, 4, "a@example.net", data, len, &a, &res, &reason),
	    1);
	assert_int_equal(notifier_smtp_start(&cw, 4, "b@example.net", data, len, &b, &res, &reason),
	    1);
	while (notifier_smtp_wait(&tag, &res, &reason, &before_mail) == 1) {
		assert_int_equal(res, tag == &a ? NOTIFY_TEMPFAIL : NOTIFY_OK);
		/* a drop at "." is the message's failure, not the connection's */
		assert_int_equal(before_mail, 0);
		got++;
		free(reason);
	}
	assert_int_equal(got, 2);
	assert_true(notifier_smtp_ready(4));
	assert_int_equal(notifier_smtp_send(&cf, "a@example.net", data, len, &reason),
	    NOTIFY_TEMPFAIL);
	if (strncmp(reason, "5", 1) != 0)
		fail_msg("reason '%s', expected the refusing server's 5xx", reason);
	free(reason);
	/* the same after another drop, now towards a server that is gone */
	assert_int_equal(notifier_smtp_send(&cq, "a@example.net", data, len, &reason),
	    NOTIFY_TEMPFAIL);
	free(reason);
	sink_stop("refuse");
	assert_int_equal(notifier_smtp_send(&cf, "a@example.net", data, len, &reason),
	    NOTIFY_TEMPFAIL);
	if (strstr(reason, "onnect") == NULL)
		fail_msg("reason '%s', expected a refused connection", reason);
	free(reason);
	/* started and waited for, the refusal is the connection's */
	assert_int_equal(notifier_smtp_start(&cf, 4, "a@example.net", data, len, &a, &res, &reason),
	    1);
	assert_int_equal(notifier_smtp_wait(&tag, &res, &reason, &before_mail), 1);
	assert_int_equal(res, NOTIFY_TEMPFAIL);
	assert_int_equal(before_mail, 1);
	free(reason);
	assert_int_equal(notifier_smtp_send(&cw, "a@example.net", data, len, &reason), NOTIFY_OK);
	free(reason);
	notifier_smtp_close();
	sink_stop("drop");
	sink_stop("refuse");
	sink_stop("fine");
	free(data);
}

static void
test_mask(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "550 5.1.1 <jovana@example.net>: Recipient address rejected",
		  "550 5.1.1 <j***@example.net>: Recipient address rejected" },
		{ "553 a@b.c and pera.peric@x.org", "553 a***@b.c and p***@x.org" },
		{ "550 no address here", "550 no address here" },
		{ "550 @alone", "550 @alone" },
		{ "", "" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *m = notifier_smtp_mask(cases[i].in);
		assert_string_equal(m, cases[i].out);
		free(m);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delivered),
		cmocka_unit_test(test_dot_stuffing),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_several),
		cmocka_unit_test(test_connection_reuse),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_sink_down),
		cmocka_unit_test(test_smtps),
		cmocka_unit_test(test_starttls_required),
		cmocka_unit_test(test_auth_refused),
		cmocka_unit_test(test_refused_inputs),
		cmocka_unit_test(test_stop_requested),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_failure_then_other),
		cmocka_unit_test(test_mask),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
