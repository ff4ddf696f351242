/*
 * sms_sim_test.h - shared by the test_gateway_*.c suites: start/stop the SMS
 * gateway simulator (tests/lib/sms_sim.sh) and drive its control API; a
 * struct cfg_sms pointed at it, gateways that must open, and the checks of
 * pulls and sends under the simulator's faults.
 * Header-only (static inline) because every test file is its own program;
 * include it after <cmocka.h>.
 */
#ifndef S48_SMS_SIM_TEST_H
#define S48_SMS_SIM_TEST_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "http_client.h"
#include "sms_gateway.h"
#include "util.h"

#define SIM_KEY "s48-test-key"
#define SIM_ACCOUNT "AC00000000000000000000000000000048"
#define SIM_NUMBER "+381601234567"

struct sim {
	char dir[64];
	int port;
	char url[64];
	struct http_client *hc;
};

static struct sim the_sim;

static inline const char *
sim_top(void)
{
	const char *t = getenv("S48_TOP");

	return t != NULL ? t : ".";
}

/* Start the simulator (extra: more simulator arguments, may be ""). */
static inline int
sim_start_args(const char *extra)
{
	char *cmd, *port = NULL;
	const char *err;
	size_t len;
	int rc;

	snprintf(the_sim.dir, sizeof(the_sim.dir), "/tmp/s48smssim.XXXXXX");
	if (mkdtemp(the_sim.dir) == NULL)
		return -1;
	cmd = xasprintf("cd '%s' && . tests/lib/sms_sim.sh && sms_sim_start '%s' %s",
	    sim_top(), the_sim.dir, extra);
	rc = system(cmd);
	free(cmd);
	if (rc != 0)
		return -1;
	cmd = xasprintf("%s/sms_sim.port", the_sim.dir);
	rc = util_read_file(cmd, 64, &port, &len, &err);
	free(cmd);
	if (rc < 0)
		return -1;
	the_sim.port = atoi(port);
	free(port);
	snprintf(the_sim.url, sizeof(the_sim.url), "http://127.0.0.1:%d", the_sim.port);
	the_sim.hc = http_client_new(&err);
	return the_sim.hc != NULL ? 0 : -1;
}

static inline int
sim_start(void)
{
	return sim_start_args("");
}

/* Stop the simulator and start it again on the same port (its queue
 * survives only when it was started with --state). */
static inline int
sim_restart(const char *extra)
{
	char *cmd;
	int rc;

	cmd = xasprintf("cd '%s' && sh tests/lib/sms_sim.sh stop '%s' && . tests/lib/sms_sim.sh "
	    "&& sms_sim_start '%s' --port %d %s", sim_top(), the_sim.dir, the_sim.dir,
	    the_sim.port, extra);
	rc = system(cmd);
	free(cmd);
	return rc == 0 ? 0 : -1;
}

static inline void
sim_stop(void)
{
	char *cmd;

	http_client_free(&the_sim.hc);
	cmd = xasprintf("cd '%s' && sh tests/lib/sms_sim.sh stop '%s'; rm -rf '%s'", sim_top(),
	    the_sim.dir, the_sim.dir);
	if (system(cmd) != 0)
		fprintf(stderr, "sim_stop failed\n");
	free(cmd);
}

/* A control API call; returns the parsed answer (json_decref it) or NULL. */
static inline json_t *
sim_call(const char *method, const char *path, const char *body)
{
	struct http_request req = { 0 };
	struct http_response resp = { 0 };
	const char *hdrs[] = { "Content-Type: application/json" };
	const char *err;
	char *url = xasprintf("%s%s", the_sim.url, path);
	json_t *j = NULL;

	req.method = method;
	req.url = url;
	req.headers = hdrs;
	req.n_headers = 1;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.timeout = 10;
	if (http_client_do(the_sim.hc, &req, &resp, &err) == 0 && resp.status == 200)
		j = json_loadb(resp.body, resp.len, 0, NULL);
	else
		fprintf(stderr, "sim_call %s %s failed\n", method, path);
	http_response_clear(&resp);
	free(url);
	return j;
}

static inline int
sim_post(const char *path, const char *fmt, ...) S48_PRINTF(2, 3);
static inline int
sim_post(const char *path, const char *fmt, ...)
{
	va_list ap;
	char *body = NULL;
	json_t *j;

	va_start(ap, fmt);
	if (vasprintf(&body, fmt, ap) < 0)
		abort();
	va_end(ap);
	j = sim_call("POST", path, body);
	free(body);
	if (j == NULL)
		return -1;
	json_decref(j);
	return 0;
}

static inline void
sim_reset(void)
{
	json_decref(sim_call("POST", "/_sim/reset", "{}"));
}

/* Inject count inbound messages (count > 1: " 1", " 2"... appended). */
static inline int
sim_inject(const char *from, const char *text, int count, long received)
{
	json_t *o = json_pack("{s:s, s:s, s:i}", "from", from, "text", text, "count", count);
	char *s;
	json_t *j;

	if (received > 0)
		json_object_set_new(o, "received", json_integer(received));
	s = json_dumps(o, JSON_COMPACT);
	j = sim_call("POST", "/_sim/inbound", s);
	free(s);
	json_decref(o);
	if (j == NULL)
		return -1;
	json_decref(j);
	return 0;
}

/* Inject one message whose text is raw bytes (base64 given). */
static inline int
sim_inject_b64(const char *from, const char *b64)
{
	return sim_post("/_sim/inbound", "{\"from\":\"%s\",\"text_b64\":\"%s\"}", from, b64);
}

static inline int
sim_fault(const char *mode, int count, double delay)
{
	char cnt[32] = "null";

	if (count > 0)
		snprintf(cnt, sizeof(cnt), "%d", count);
	return sim_post("/_sim/fault", "{\"mode\":\"%s\",\"count\":%s,\"delay\":%g}", mode,
	    cnt, delay);
}

/* A counter of /_sim/stats (0 when absent). */
static inline long
sim_stat(const char *key)
{
	json_t *j = sim_call("GET", "/_sim/stats", NULL);
	long v = (long)json_integer_value(json_object_get(j, key));

	json_decref(j);
	return v;
}

/* What the simulator sent (an array; json_decref it). */
static inline json_t *
sim_sent(void)
{
	return sim_call("GET", "/_sim/sent", NULL);
}

static inline double
sim_clock(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

/* cmocka group setup and teardown: the simulator for the whole suite */
static inline int
sim_group_setup(void **state)
{
	(void)state;
	return sim_start();
}

static inline int
sim_group_teardown(void **state)
{
	(void)state;
	sim_stop();
	return 0;
}

/* c := profile pointed at the simulator: our key and number, batch 100,
 * timeout 5; base_url except for generic (its URLs are its own), the
 * account for twilio. */
static inline void
sim_cfg(struct cfg_sms *c, const char *profile)
{
	memset(c, 0, sizeof(*c));
	c->enabled = 1;
	c->profile = (char *)(uintptr_t)profile;
	if (strcmp(profile, "generic") != 0)
		c->base_url = the_sim.url;
	c->api_key = SIM_KEY;
	if (strcmp(profile, "twilio") == 0)
		c->account = SIM_ACCOUNT;
	c->number = SIM_NUMBER;
	c->country_code = "381";
	c->batch = 100;
	c->timeout = 5;
}

/* sms_gateway_new(c) that must succeed. */
static inline struct sms_gateway *
sim_gateway(const struct cfg_sms *c)
{
	const char *err = NULL;
	struct sms_gateway *gw = sms_gateway_new(c, &err);

	if (gw == NULL)
		fail_msg("sms_gateway_new: %s", err);
	return gw;
}

/* One pull from cursor that must fail (the simulator set to fault mode
 * before): an error naming in_error (NULL: any error), no messages, no
 * cursor, n 0; *more_r as the pull left it. */
static inline void
sim_pull_fails(struct sms_gateway *gw, const char *cursor, const char *mode,
    const char *in_error, int *more_r)
{
	struct sms_in *m = NULL;
	size_t n = 7;
	char *cur = (char *)(uintptr_t)"untouched";
	const char *err = NULL;

	assert_int_equal(sms_gateway_pull(gw, cursor, &m, &n, &cur, more_r, &err), -1);
	if (err == NULL || (in_error != NULL && strstr(err, in_error) == NULL))
		fail_msg("%s: error \"%s\", want \"%s\"", mode, err ? err : "(null)",
		    in_error ? in_error : "any");
	assert_null(m);
	assert_null(cur);
	assert_int_equal(n, 0);
}

struct sim_send_fault {
	const char *mode;       /* sim_fault() mode */
	int result;             /* NOTIFY_* */
	int stopped;            /* *stopped_r wanted; -1: not checked */
	const char *in_reason;  /* part of the reason */
};

/* A gateway of c with timeout 2; for each case the simulator in that fault
 * mode (4 s delay) and one send with its result, stopped and reason
 * checked; then the faults off. */
static inline void
sim_send_faults(struct cfg_sms *c, const struct sim_send_fault *cases, size_t n)
{
	struct sms_gateway *gw;
	size_t i;

	c->timeout = 2;
	gw = sim_gateway(c);
	for (i = 0; i < n; i++) {
		char *reason = NULL;
		int stopped = -1, r;

		assert_int_equal(sim_fault(cases[i].mode, 0, 4), 0);
		r = sms_gateway_send(gw, "+381641234567", "Tekst", &reason, &stopped);
		assert_non_null(reason);
		if (r != cases[i].result || (cases[i].stopped >= 0 && stopped != cases[i].stopped) ||
		    strstr(reason, cases[i].in_reason) == NULL)
			fail_msg("%s: result %d stopped %d reason \"%s\"", cases[i].mode, r, stopped,
			    reason);
		free(reason);
	}
	assert_int_equal(sim_fault("none", 0, 0), 0);
	sms_gateway_free(&gw);
}

#endif
