/* test_gateway_twilio.c - the twilio profile against the gateway simulator:
 * newest-first paging down to the high-water mark, outbound filtered,
 * cursor round trips, sending with its error codes, faults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sms_gateway.h"
#include "sms_sim_test.h"

static struct cfg_sms cfg;

static void
cfg_default(void)
{
	sim_cfg(&cfg, "twilio");
}

static int
setup(void **state)
{
	(void)state;
	sim_reset();
	cfg_default();
	return 0;
}

/* n inbound messages "text i" one second apart ending at t_last, and every
 * every-th one an outbound message of ours at the same second. */
static void
inject_series(int n, long t_last, const char *text, int every)
{
	json_t *arr = json_array(), *o, *r;
	char *s, t[64];
	int i;

	for (i = 1; i <= n; i++) {
		snprintf(t, sizeof(t), "%s %d", text, i);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I}", "from", "+381641234567",
		    "text", t, "received", (json_int_t)(t_last - n + i)));
		if (every > 0 && i % every == 0)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:I}", "from",
			    SIM_NUMBER, "to", "+381641234567", "text", "our reply", "direction",
			    "outbound-api", "received", (json_int_t)(t_last - n + i)));
	}
	o = json_pack("{s:o}", "messages", arr);
	s = json_dumps(o, JSON_COMPACT);
	r = sim_call("POST", "/_sim/inbound", s);
	assert_non_null(r);
	json_decref(r);
	free(s);
	json_decref(o);
}

struct seen {
	char **ids;
	size_t n;
};

static int
seen_has(const struct seen *s, const char *id)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (strcmp(s->ids[i], id) == 0)
			return 1;
	}
	return 0;
}

static void
seen_free(struct seen *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->ids[i]);
	free(s->ids);
	s->ids = NULL;
	s->n = 0;
}

/* One pull; records ids (asserting none repeats) and replaces *cursor. */
static size_t
pull_once(struct sms_gateway *gw, char **cursor, struct seen *s, int *more_r)
{
	struct sms_in *m;
	size_t n, i;
	char *cur = NULL;
	const char *err = NULL;

	if (sms_gateway_pull(gw, *cursor, &m, &n, &cur, more_r, &err) != 0)
		fail_msg("pull: %s", err);
	assert_non_null(cur);
	for (i = 0; i < n; i++) {
		if (seen_has(s, m[i].id))
			fail_msg("message %s returned twice", m[i].id);
		assert_non_null(strstr(m[i].raw, "\"direction\":\"inbound\""));
		assert_string_equal(m[i].from, "+381641234567");
		assert_true(m[i].received_at > 0);
		s->ids = xrealloc(s->ids, (s->n + 1) * sizeof(char *));
		s->ids[s->n++] = xstrdup(m[i].id);
	}
	sms_in_free(&m, n);
	free(*cursor);
	*cursor = cur;
	return n;
}

static void
test_paging_and_mark(void **state)
{
	struct sms_gateway *gw = sim_gateway(&cfg);
	struct seen s = { 0 };
	char *cursor = NULL;
	int more = 1, pulls = 0;
	long now = (long)time(NULL);
	long before;

	(void)state;
	/* 250 inbound + 25 outbound: pages of 100, 100, 75 */
	inject_series(250, now - 100, "Kvar", 10);
	while (more) {
		pull_once(gw, &cursor, &s, &more);
		pulls++;
		assert_true(pulls < 10);
	}
	assert_int_equal(pulls, 3);
	assert_int_equal(s.n, 250);
	assert_int_equal(sim_stat("twilio_list"), 3);
	/* nothing new: one request, stops at the mark */
	before = sim_stat("twilio_list");
	assert_int_equal(pull_once(gw, &cursor, &s, &more), 0);
	assert_int_equal(more, 0);
	assert_int_equal(sim_stat("twilio_list"), before + 1);
	/* two new ones come, alone */
	inject_series(2, now, "Novo", 0);
	assert_int_equal(pull_once(gw, &cursor, &s, &more), 2);
	assert_int_equal(more, 0);
	assert_int_equal(s.n, 252);
	free(cursor);
	seen_free(&s);
	sms_gateway_free(&gw);
}

/* The cursor survives a restart mid-poll; arrivals during paging come next poll. */
static void
test_cursor_round_trip(void **state)
{
	struct sms_gateway *gw = sim_gateway(&cfg);
	struct seen s = { 0 };
	char *cursor = NULL;
	int more;
	long now = (long)time(NULL);

	(void)state;
	inject_series(250, now - 50, "Rasveta", 0);
	assert_int_equal(pull_once(gw, &cursor, &s, &more), 100);
	assert_int_equal(more, 1);
	assert_non_null(strstr(cursor, "\"next\""));
	sms_gateway_free(&gw);                  /* "restart" */
	inject_series(5, now, "Usred", 0);      /* newer than everything */
	gw = sim_gateway(&cfg);
	assert_int_equal(pull_once(gw, &cursor, &s, &more), 100);
	assert_int_equal(more, 1);
	assert_int_equal(pull_once(gw, &cursor, &s, &more), 50);
	assert_int_equal(more, 0);
	assert_null(strstr(cursor, "\"next\""));
	assert_int_equal(s.n, 250);
	assert_int_equal(pull_once(gw, &cursor, &s, &more), 5);
	assert_int_equal(pull_once(gw, &cursor, &s, &more), 0);
	free(cursor);
	seen_free(&s);
	sms_gateway_free(&gw);
}

/* Messages at the mark's second that were not seen yet still come. */
static void
test_same_second(void **state)
{
	struct sms_gateway *gw = sim_gateway(&cfg);
	struct seen s = { 0 };
	char *cursor = NULL;
	int more;
	long t = (long)time(NULL) - 30;

	(void)state;
	assert_int_equal(sim_inject("+381641234567", "A", 2, t), 0);
	assert_int_equal(pull_once(gw, &cursor, &s, &more), 2);
	assert_int_equal(sim_inject("+381641234567", "B", 1, t), 0);
	assert_int_equal(pull_once(gw, &cursor, &s, &more), 1);
	assert_int_equal(pull_once(gw, &cursor, &s, &more), 0);
	free(cursor);
	/* a cursor that is not ours: read from the top again */
	cursor = xstrdup("garbage{");
	seen_free(&s);
	assert_int_equal(pull_once(gw, &cursor, &s, &more), 3);
	free(cursor);
	seen_free(&s);
	sms_gateway_free(&gw);
}

/* A message without a readable date_created (garbage, null) is taken with
 * our receiving time and does not end the scan: the messages listed after
 * it still come, and the mark stays at the newest dated one. */
/* One pull from *cursor, which it replaces: exactly the texts want[0..nwant),
 * in that order. */
static void
pull_texts(struct sms_gateway *gw, char **cursor, const char *const *want, size_t nwant)
{
	struct sms_in *m;
	size_t n, i;
	char *cur = NULL;
	const char *err = NULL;
	int more;

	if (sms_gateway_pull(gw, *cursor, &m, &n, &cur, &more, &err) != 0)
		fail_msg("pull: %s", err);
	assert_int_equal(n, nwant);
	for (i = 0; i < n; i++)
		assert_string_equal(m[i].text, want[i]);
	sms_in_free(&m, n);
	free(*cursor);
	*cursor = cur;
}

static void
test_unreadable_date(void **state)
{
	static const struct {
		const char *text;
		int dated;
	} want[] = {
		{ "N2", 1 }, { "X2", 0 }, { "X1", 0 }, { "N1", 1 },
	};
	static const char *const undated[] = { "X2", "X1" };
	static const char *const newer[] = { "N3", "X2", "X1" };
	struct sms_gateway *gw = sim_gateway(&cfg);
	struct seen s = { 0 };
	struct sms_in *m;
	size_t n, i;
	char *cursor = NULL, *cur;
	const char *err;
	int more;
	long t = (long)time(NULL) - 60;

	(void)state;
	assert_int_equal(sim_inject("+381641234567", "Staro", 3, t - 30), 0);
	assert_int_equal(pull_once(gw, &cursor, &s, &more), 3);
	/* newest first: N2, X2 (null), X1 (garbage), N1, then the old three */
	assert_int_equal(sim_post("/_sim/inbound", "{\"messages\": ["
	    "{\"from\": \"+381641234567\", \"text\": \"N1\", \"received\": %ld},"
	    "{\"from\": \"+381641234567\", \"text\": \"X1\", \"received\": %ld, "
	    "\"created_raw\": \"Mon, 99 Foo 2026 nije datum\"},"
	    "{\"from\": \"+381641234567\", \"text\": \"X2\", \"received\": %ld, "
	    "\"created_raw\": null},"
	    "{\"from\": \"+381641234567\", \"text\": \"N2\", \"received\": %ld}]}",
	    t - 6, t - 5, t - 4, t - 3), 0);
	cur = NULL;
	err = NULL;
	if (sms_gateway_pull(gw, cursor, &m, &n, &cur, &more, &err) != 0)
		fail_msg("pull: %s", err);
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < n; i++) {
		assert_string_equal(m[i].text, want[i].text);
		if (want[i].dated)
			assert_int_equal(m[i].received_at, want[i].text[1] == '2' ? t - 3 : t - 6);
		else
			assert_int_equal(m[i].received_at, 0);
	}
	assert_int_equal(more, 0);
	sms_in_free(&m, n);
	free(cursor);
	cursor = cur;
	/* the mark is N2's second: the next poll stops at N1 again and hands
	 * out only the undated ones above it (duplicates ingestion drops) */
	pull_texts(gw, &cursor, undated, 2);
	/* a newer dated message moves the mark above N2: once more the
	 * undated ones (N2 at the old mark's second does not end the scan),
	 * then nothing repeats */
	assert_int_equal(sim_inject("+381641234567", "N3", 1, t - 1), 0);
	pull_texts(gw, &cursor, newer, 3);
	pull_texts(gw, &cursor, NULL, 0);
	free(cursor);
	seen_free(&s);
	sms_gateway_free(&gw);
}

static void
test_pull_faults(void **state)
{
	static const struct {
		const char *mode;
		const char *in_error;
	} cases[] = {
		{ "500", "HTTP 500" },
		{ "429", "HTTP 429" },
		{ "garbage", "unreadable" },
		{ "timeout", "timeout" },
		{ "every_other", "HTTP 500" },
	};
	struct sms_gateway *gw;
	struct sms_in *m;
	size_t n, i;
	char *cur;
	int more;
	const char *err;
	double t0;

	(void)state;
	cfg.timeout = 2;
	gw = sim_gateway(&cfg);
	assert_int_equal(sim_inject("+381641234567", "Kvar", 3, 0), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(sim_fault(cases[i].mode, 0, 4), 0);
		t0 = sim_clock();
		sim_pull_fails(gw, NULL, cases[i].mode, cases[i].in_error, &more);
		assert_true(sim_clock() - t0 < 4);
	}
	/* not destructive: everything still there */
	assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), 0);
	assert_int_equal(n, 3);
	sms_in_free(&m, n);
	free(cur);
	assert_int_equal(sim_fault("none", 0, 0), 0);
	sms_gateway_free(&gw);
}

/* A next_page_uri off base_url is refused: the credentials go with it. */
static void
test_bad_next_page(void **state)
{
	struct sms_gateway *gw = sim_gateway(&cfg);
	struct sms_in *m = NULL;
	size_t n;
	char *cur = NULL;
	int more;
	const char *err = NULL;

	(void)state;
	inject_series(150, (long)time(NULL), "Kvar", 0);
	assert_int_equal(sim_fault("bad_next", 0, 0), 0);
	assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), -1);
	assert_non_null(strstr(err, "next_page_uri"));
	assert_null(m);
	assert_null(cur);
	assert_int_equal(sim_fault("none", 0, 0), 0);
	sms_gateway_free(&gw);
}

static void
test_invalid_utf8(void **state)
{
	struct sms_gateway *gw = sim_gateway(&cfg);
	struct sms_in *m;
	size_t n;
	char *cur;
	int more;
	const char *err;

	(void)state;
	assert_int_equal(sim_inject_b64("+381641234567", "UHVrbGEg//4gY2V2"), 0);
	assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), 0);
	assert_int_equal(n, 1);
	assert_non_null(strstr(m[0].text, "Pukla \xef\xbf\xbd"));
	sms_in_free(&m, n);
	free(cur);
	sms_gateway_free(&gw);
}

static void
test_send(void **state)
{
	struct sms_gateway *gw = sim_gateway(&cfg);
	const char *text = "Prijava br. 7: re\xc5\xa1" "ena & zatvorena; 1+1=2 100%";
	char *reason = NULL;
	int stopped = -1;
	json_t *sent, *e;
	struct sms_in *m;
	size_t n;
	char *cur;
	int more;
	const char *err;

	(void)state;
	assert_int_equal(sms_gateway_send(gw, "+381641234567", text, &reason, &stopped),
	    NOTIFY_OK);
	assert_int_equal(stopped, 0);
	assert_non_null(strstr(reason, " SM"));
	free(reason);
	sent = sim_sent();
	assert_int_equal(json_array_size(sent), 1);
	e = json_array_get(sent, 0);
	assert_string_equal(json_string_value(json_object_get(e, "to")), "+381641234567");
	assert_string_equal(json_string_value(json_object_get(e, "from")), SIM_NUMBER);
	assert_string_equal(json_string_value(json_object_get(e, "text")), text);
	json_decref(sent);
	/* our own message is in the list but never comes back as inbound */
	assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), 0);
	assert_int_equal(n, 0);
	assert_non_null(strstr(cur, "\"t\""));
	sms_in_free(&m, n);
	free(cur);
	sms_gateway_free(&gw);
}

static void
test_send_faults(void **state)
{
	static const struct sim_send_fault cases[] = {
		{ "stop21610", NOTIFY_PERMFAIL, 1, "21610" },
		{ "reject", NOTIFY_PERMFAIL, 0, "21211" },
		{ "500", NOTIFY_TEMPFAIL, 0, "HTTP 500" },
		{ "429", NOTIFY_TEMPFAIL, 0, "HTTP 429" },
		{ "garbage", NOTIFY_TEMPFAIL, 0, "unreadable" },
		{ "timeout", NOTIFY_TEMPFAIL, 0, "timeout" },
	};

	(void)state;
	sim_send_faults(&cfg, cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_wrong_token(void **state)
{
	struct sms_gateway *gw;
	struct sms_in *m;
	size_t n;
	char *cur, *reason = NULL;
	int more, stopped;
	const char *err = NULL;

	(void)state;
	cfg.api_key = "wrong-token";
	gw = sim_gateway(&cfg);
	assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), -1);
	assert_non_null(strstr(err, "HTTP 401"));
	assert_int_equal(sms_gateway_send(gw, "+381641234567", "x", &reason, &stopped),
	    NOTIFY_PERMFAIL);
	assert_non_null(strstr(reason, "401"));
	assert_null(strstr(reason, "wrong-token"));
	free(reason);
	assert_int_equal(sim_stat("unauthorized"), 2);
	sms_gateway_free(&gw);
}

static void
test_config_errors(void **state)
{
	const char *err = NULL;

	(void)state;
	cfg.account = NULL;
	assert_null(sms_gateway_new(&cfg, &err));
	assert_non_null(strstr(err, "account"));
	cfg_default();
	cfg.number = "";
	assert_null(sms_gateway_new(&cfg, &err));
	assert_non_null(strstr(err, "number"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_paging_and_mark, setup),
		cmocka_unit_test_setup(test_cursor_round_trip, setup),
		cmocka_unit_test_setup(test_same_second, setup),
		cmocka_unit_test_setup(test_unreadable_date, setup),
		cmocka_unit_test_setup(test_pull_faults, setup),
		cmocka_unit_test_setup(test_bad_next_page, setup),
		cmocka_unit_test_setup(test_invalid_utf8, setup),
		cmocka_unit_test_setup(test_send, setup),
		cmocka_unit_test_setup(test_send_faults, setup),
		cmocka_unit_test_setup(test_wrong_token, setup),
		cmocka_unit_test_setup(test_config_errors, setup),
	};

	return cmocka_run_group_tests(tests, sim_group_setup, sim_group_teardown);
}
