/* test_gateway_http.c - the HTTP client: URL encoding, bounded answers,
 * refused connections, interruption by s48_stop_requested, TLS always
 * verified (a self-signed simulator is refused unless its CA is given). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sms_sim_test.h"

static char tls_dir[64];
static struct sim plain_sim, tls_sim;
static int tls_port;

static int
group_setup(void **state)
{
	char *cmd;
	int rc;

	(void)state;
	if (sim_start() < 0)
		return -1;
	plain_sim = the_sim;
	/* a second simulator over HTTPS with a fresh self-signed certificate */
	snprintf(tls_dir, sizeof(tls_dir), "/tmp/s48smstls.XXXXXX");
	if (mkdtemp(tls_dir) == NULL)
		return -1;
	cmd = xasprintf("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost "
	    "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout %s/key.pem "
	    "-out %s/cert.pem >/dev/null 2>&1", tls_dir, tls_dir);
	rc = system(cmd);
	free(cmd);
	if (rc != 0)
		return -1;
	cmd = xasprintf("--tls-cert %s/cert.pem --tls-key %s/key.pem", tls_dir, tls_dir);
	rc = sim_start_args(cmd);
	free(cmd);
	if (rc < 0)
		return -1;
	tls_port = the_sim.port;
	tls_sim = the_sim;
	the_sim = plain_sim;
	return 0;
}

static int
group_teardown(void **state)
{
	char *cmd;

	(void)state;
	the_sim = tls_sim;
	sim_stop();
	the_sim = plain_sim;
	sim_stop();
	cmd = xasprintf("rm -rf '%s'", tls_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tls_dir);
	free(cmd);
	return 0;
}

static int
setup(void **state)
{
	(void)state;
	the_sim = plain_sim;
	sim_reset();
	s48_stop_requested = 0;
	return 0;
}

static void
test_urlencode(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", "" },
		{ "+381641234567", "%2B381641234567" },
		{ "a b&c=d", "a%20b%26c%3Dd" },
		{ "AZaz09-._~", "AZaz09-._~" },
		{ "\xc4\x8d/?#", "%C4%8D%2F%3F%23" },
		{ "2026-11-24T10:00:00.000+0000", "2026-11-24T10%3A00%3A00.000%2B0000" },
	};
	size_t i;
	char *s;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = http_urlencode(cases[i].in);
		assert_string_equal(s, cases[i].out);
		free(s);
	}
	assert_non_null(strstr(http_status_text(401), "unauthorized"));
	assert_string_equal(http_status_text(503), "server error");
	assert_string_equal(http_status_text(200), "ok");
}

static void
test_get_and_limit(void **state)
{
	struct http_client *hc;
	struct http_request req = { 0 };
	struct http_response resp = { 0 };
	const char *err = NULL;
	char *url;

	(void)state;
	hc = http_client_new(&err);
	assert_non_null(hc);
	assert_int_equal(sim_inject("+381641234567", "Dugacak tekst poruke za ogranicenje", 100,
	    0), 0);
	url = xasprintf("%s/_sim/messages", the_sim.url);
	req.url = url;
	assert_int_equal(http_client_do(hc, &req, &resp, &err), 0);
	assert_int_equal(resp.status, 200);
	assert_true(resp.len > 5000);
	assert_int_equal(strlen(resp.body), resp.len);
	http_response_clear(&resp);
	/* the same answer over a limit is an error, not a truncated body */
	req.max_body = 1000;
	assert_int_equal(http_client_do(hc, &req, &resp, &err), -1);
	assert_int_equal(resp.error, HTTP_ERR_TOOBIG);
	assert_null(resp.body);
	assert_non_null(strstr(err, "larger than 1000"));
	http_response_clear(&resp);
	/* the handle works again afterwards */
	req.max_body = 0;
	assert_int_equal(http_client_do(hc, &req, &resp, &err), 0);
	assert_int_equal(resp.status, 200);
	http_response_clear(&resp);
	/* a 404 is an answer, not an error */
	free(url);
	url = xasprintf("%s/nowhere?secret=1", the_sim.url);
	req.url = url;
	assert_int_equal(http_client_do(hc, &req, &resp, &err), 0);
	assert_int_equal(resp.status, 404);
	http_response_clear(&resp);
	free(url);
	http_client_free(&hc);
	assert_null(hc);
}

static void
test_refused(void **state)
{
	struct http_client *hc;
	struct http_request req = { 0 };
	struct http_response resp = { 0 };
	const char *err = NULL;

	(void)state;
	hc = http_client_new(&err);
	req.url = "http://gwuser:hunter2@127.0.0.1:1/x?key=secret";
	assert_int_equal(http_client_do(hc, &req, &resp, &err), -1);
	assert_int_equal(resp.error, HTTP_ERR_CONNECT);
	/* no credentials or query strings in messages */
	assert_null(strstr(err, "secret"));
	assert_null(strstr(err, "hunter2"));
	assert_null(strstr(err, "gwuser"));
	assert_non_null(strstr(err, "(http://127.0.0.1:1/x)"));
	http_response_clear(&resp);
	req.url = "ftp://127.0.0.1/x";
	assert_int_equal(http_client_do(hc, &req, &resp, &err), -1);
	http_response_clear(&resp);
	http_client_free(&hc);
}

static const char *auth[] = { "Authorization: Bearer " SIM_KEY };

static void
on_alarm(int sig)
{
	(void)sig;
	s48_stop_requested = 1;
}

/* A client and req for the simulator's generic inbox with our key and the
 * given timeout; returns the URL req points to (the caller frees it). */
static char *
inbox_request(struct http_client **hc_r, struct http_request *req, int timeout)
{
	const char *err = NULL;
	char *url = xasprintf("%s/generic/inbox?after=0", the_sim.url);

	*hc_r = http_client_new(&err);
	assert_non_null(*hc_r);
	req->url = url;
	req->headers = auth;
	req->n_headers = 1;
	req->timeout = timeout;
	return url;
}

static void
test_interrupted(void **state)
{
	struct http_client *hc;
	struct http_request req = { 0 };
	struct http_response resp = { 0 };
	const char *err = NULL;
	char *url;
	double t0;

	(void)state;
	url = inbox_request(&hc, &req, 20);
	/* set before: nothing is sent */
	s48_stop_requested = 1;
	assert_int_equal(http_client_do(hc, &req, &resp, &err), -1);
	assert_int_equal(resp.error, HTTP_ERR_INTERRUPTED);
	http_response_clear(&resp);
	s48_stop_requested = 0;
	/* set while waiting for a slow answer: gives up promptly */
	assert_int_equal(sim_fault("timeout", 0, 15), 0);
	signal(SIGALRM, on_alarm);
	alarm(1);
	t0 = sim_clock();
	assert_int_equal(http_client_do(hc, &req, &resp, &err), -1);
	assert_true(sim_clock() - t0 < 4);
	assert_int_equal(resp.error, HTTP_ERR_INTERRUPTED);
	assert_non_null(strstr(err, "interrupted"));
	http_response_clear(&resp);
	s48_stop_requested = 0;
	assert_int_equal(sim_fault("none", 0, 0), 0);
	free(url);
	http_client_free(&hc);
}

static void
test_timeout(void **state)
{
	struct http_client *hc;
	struct http_request req = { 0 };
	struct http_response resp = { 0 };
	const char *err = NULL;
	char *url;
	double t0, el;

	(void)state;
	url = inbox_request(&hc, &req, 1);
	assert_int_equal(sim_fault("timeout", 0, 5), 0);
	t0 = sim_clock();
	assert_int_equal(http_client_do(hc, &req, &resp, &err), -1);
	el = sim_clock() - t0;
	assert_true(el > 0.8 && el < 3);
	assert_int_equal(resp.error, HTTP_ERR_TIMEOUT);
	assert_non_null(strstr(err, "timeout after 1 s"));
	http_response_clear(&resp);
	assert_int_equal(sim_fault("none", 0, 0), 0);
	free(url);
	http_client_free(&hc);
}

static void
test_tls_verified(void **state)
{
	struct http_client *hc;
	struct http_request req = { 0 };
	struct http_response resp = { 0 };
	const char *err = NULL;
	char *url, *ca;

	(void)state;
	hc = http_client_new(&err);
	url = xasprintf("https://127.0.0.1:%d/_sim/stats", tls_port);
	ca = xasprintf("%s/cert.pem", tls_dir);
	req.url = url;
	req.timeout = 5;
	/* self-signed, no CA given: refused */
	assert_int_equal(http_client_do(hc, &req, &resp, &err), -1);
	assert_int_equal(resp.error, HTTP_ERR_TLS);
	assert_non_null(strstr(err, "TLS"));
	http_response_clear(&resp);
	/* with its CA: accepted */
	req.ca_file = ca;
	if (http_client_do(hc, &req, &resp, &err) != 0)
		fail_msg("https with CA: %s", err);
	assert_int_equal(resp.status, 200);
	assert_non_null(strstr(resp.body, "\"queued\""));
	http_response_clear(&resp);
	free(ca);
	free(url);
	http_client_free(&hc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_urlencode, setup),
		cmocka_unit_test_setup(test_get_and_limit, setup),
		cmocka_unit_test_setup(test_refused, setup),
		cmocka_unit_test_setup(test_interrupted, setup),
		cmocka_unit_test_setup(test_timeout, setup),
		cmocka_unit_test_setup(test_tls_verified, setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
