/* test_gateway_generic.c - the generic profile against the gateway simulator:
 * cursor paging, ack mode, templates for auth and send bodies, faults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sms_gateway.h"
#include "sms_sim_test.h"

static struct cfg_sms cfg;
static char pull_url[128], ack_url[128], send_url[128];

static void
cfg_default(void)
{
	sim_cfg(&cfg, "generic");
	snprintf(pull_url, sizeof(pull_url), "%s/generic/inbox?after={cursor}&limit=100",
	    the_sim.url);
	snprintf(ack_url, sizeof(ack_url), "%s/generic/ack", the_sim.url);
	snprintf(send_url, sizeof(send_url), "%s/generic/send", the_sim.url);
	cfg.generic.pull_url = pull_url;
	cfg.generic.auth_header = "Authorization: Bearer {key}";
	cfg.generic.messages_path = "messages";
	cfg.generic.id_path = "id";
	cfg.generic.from_path = "from";
	cfg.generic.text_path = "text";
	cfg.generic.time_path = "received";
	cfg.generic.cursor_path = "next";
	cfg.generic.ack_url = "";
	cfg.generic.send_url = send_url;
	cfg.generic.send_body = "{\"to\": {to}, \"text\": {text}}";
}

static int
setup(void **state)
{
	(void)state;
	sim_reset();
	cfg_default();
	return 0;
}

static void
test_cursor_pull(void **state)
{
	static const struct {
		size_t n;
		int more;
		const char *cursor;
		const char *first_id;
	} steps[] = {
		{ 100, 1, "100", "1" },
		{ 100, 1, "200", "101" },
		{ 50, 1, "250", "201" },
		{ 0, 0, "250", NULL },
	};
	struct sms_gateway *gw = sim_gateway(&cfg);
	struct sms_in *m;
	size_t n, i;
	char *cursor = NULL, *cur;
	int more;
	const char *err;
	time_t now = time(NULL);

	(void)state;
	assert_int_equal(sim_inject("+381641234567", "Slivnik zapusen", 250, 0), 0);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		assert_int_equal(sms_gateway_pull(gw, cursor, &m, &n, &cur, &more, &err), 0);
		assert_int_equal(n, steps[i].n);
		assert_int_equal(more, steps[i].more);
		assert_string_equal(cur, steps[i].cursor);
		if (steps[i].first_id != NULL) {
			/* numbers are ids too */
			assert_string_equal(m[0].id, steps[i].first_id);
			assert_string_equal(m[0].from, "+381641234567");
			assert_true(m[0].received_at >= now - 5 && m[0].received_at <= now + 5);
			assert_non_null(strstr(m[0].raw, "\"id\":"));
		}
		sms_in_free(&m, n);
		free(cursor);
		cursor = cur;
	}
	free(cursor);
	assert_int_equal(sim_stat("generic_inbox"), 4);
	sms_gateway_free(&gw);
}

/* {batch} in pull_url is sms.batch (default 100). */
static void
test_batch_placeholder(void **state)
{
	static const int batches[] = { 7, 0 };
	struct sms_gateway *gw;
	struct sms_in *m;
	size_t n, i;
	char *cur;
	int more;
	const char *err;

	(void)state;
	snprintf(pull_url, sizeof(pull_url), "%s/generic/inbox?after={cursor}&limit={batch}",
	    the_sim.url);
	assert_int_equal(sim_inject("+381641234567", "Rupa na putu", 150, 0), 0);
	for (i = 0; i < sizeof(batches) / sizeof(batches[0]); i++) {
		cfg.batch = batches[i];
		gw = sim_gateway(&cfg);
		assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), 0);
		assert_int_equal(n, batches[i] > 0 ? (size_t)batches[i] : 100);
		assert_int_equal(more, 1);
		sms_in_free(&m, n);
		free(cur);
		sms_gateway_free(&gw);
	}
	cfg.batch = 0;
}

/* Without a cursor: ack what was committed, the gateway forgets it. */
static void
test_ack_mode(void **state)
{
	struct sms_gateway *gw;
	struct sms_in *m;
	size_t n;
	char *cur;
	int more;
	const char *err;

	(void)state;
	snprintf(pull_url, sizeof(pull_url), "%s/generic/inbox?limit=100", the_sim.url);
	cfg.generic.cursor_path = "";
	cfg.generic.ack_url = ack_url;
	gw = sim_gateway(&cfg);
	assert_int_equal(sim_inject("+381641234567", "Hidrant", 150, 0), 0);
	assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), 0);
	assert_int_equal(n, 100);
	assert_null(cur);
	assert_int_equal(more, 1);
	assert_int_equal(sms_gateway_ack(gw, m, n, &err), 0);
	sms_in_free(&m, n);
	assert_int_equal(sim_stat("acked"), 100);
	assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), 0);
	assert_int_equal(n, 50);
	assert_int_equal(more, 1);
	assert_string_equal(m[0].id, "101");
	/* an ack that fails: the messages come again (duplicates for
	 * ingestion), but not in a loop within one poll */
	assert_int_equal(sim_fault("500", 1, 0), 0);
	assert_int_equal(sms_gateway_ack(gw, m, n, &err), -1);
	assert_non_null(strstr(err, "HTTP 500"));
	sms_in_free(&m, n);
	assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), 0);
	assert_int_equal(n, 50);
	assert_int_equal(more, 0);
	assert_int_equal(sms_gateway_ack(gw, m, n, &err), 0);
	sms_in_free(&m, n);
	assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(more, 0);
	sms_in_free(&m, n);
	/* a gateway that hands out the same batch again (acks ignored) */
	assert_int_equal(sim_inject("+381641234567", "Opet", 10, 0), 0);
	assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), 0);
	assert_int_equal(n, 10);
	assert_int_equal(more, 1);
	sms_in_free(&m, n);
	assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), 0);
	assert_int_equal(n, 10);
	assert_int_equal(more, 0);
	sms_in_free(&m, n);
	sms_gateway_free(&gw);
}

/* A gateway without ids: a stable id from the message's content. */
static void
test_missing_id(void **state)
{
	struct sms_gateway *gw;
	struct sms_in *m, *m2;
	size_t n, n2, i;
	char *cur;
	int more;
	const char *err;

	(void)state;
	cfg.generic.id_path = "no.such.field";
	gw = sim_gateway(&cfg);
	assert_int_equal(sim_inject("+381641234567", "Isti tekst", 1, 0), 0);
	assert_int_equal(sim_inject("+381641234567", "Isti tekst", 1, 0), 0);
	assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), 0);
	free(cur);
	assert_int_equal(sms_gateway_pull(gw, NULL, &m2, &n2, &cur, &more, &err), 0);
	free(cur);
	assert_int_equal(n, 2);
	assert_int_equal(n2, 2);
	for (i = 0; i < n; i++) {
		assert_true(strncmp(m[i].id, "sha256:", 7) == 0);
		assert_int_equal(strlen(m[i].id), 7 + 64);
		assert_string_equal(m[i].id, m2[i].id);
	}
	assert_string_not_equal(m[0].id, m[1].id);
	sms_in_free(&m, n);
	sms_in_free(&m2, n2);
	sms_gateway_free(&gw);
}

static void
test_send(void **state)
{
	static const char *texts[] = {
		"Prijava br. 3 primljena",
		"Navodnici \" i \\ kosa crta, {text} i {to} ostaju",
		"\xd0\x9f\xd1\x80\xd0\xb8\xd1\x98\xd0\xb0\xd0\xb2\xd0\xb0 \xc4\x8d\xc4\x87\xc5\xbe",
		"Red1\nRed2\ttab",
	};
	struct sms_gateway *gw;
	char *reason;
	int stopped;
	size_t i;
	json_t *sent, *e;

	(void)state;
	cfg.generic.send_body = "{\"to\": {to}, \"text\": {text}, \"sender\": \"s48\"}";
	gw = sim_gateway(&cfg);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		reason = NULL;
		assert_int_equal(sms_gateway_send(gw, "+381641234567", texts[i], &reason,
		    &stopped), NOTIFY_OK);
		assert_non_null(strstr(reason, "HTTP 200"));
		free(reason);
	}
	sent = sim_sent();
	assert_int_equal(json_array_size(sent), sizeof(texts) / sizeof(texts[0]));
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		e = json_array_get(sent, i);
		assert_string_equal(json_string_value(json_object_get(e, "text")), texts[i]);
		assert_string_equal(json_string_value(json_object_get(e, "to")), "+381641234567");
	}
	json_decref(sent);
	/* invalid UTF-8 cannot be put in JSON: refused for good */
	reason = NULL;
	assert_int_equal(sms_gateway_send(gw, "+381641234567", "bad \xff", &reason, &stopped),
	    NOTIFY_PERMFAIL);
	free(reason);
	sms_gateway_free(&gw);
}

static void
test_send_faults(void **state)
{
	static const struct sim_send_fault cases[] = {
		{ "reject", NOTIFY_PERMFAIL, -1, "HTTP 400" },
		{ "500", NOTIFY_TEMPFAIL, -1, "HTTP 500" },
		{ "429", NOTIFY_TEMPFAIL, -1, "HTTP 429" },
		{ "timeout", NOTIFY_TEMPFAIL, -1, "timeout" },
	};

	(void)state;
	sim_send_faults(&cfg, cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_pull_faults(void **state)
{
	static const char *modes[] = { "500", "429", "garbage", "timeout", "every_other" };
	struct sms_gateway *gw;
	struct sms_in *m;
	size_t n, i;
	char *cur;
	int more;
	const char *err;

	(void)state;
	cfg.timeout = 2;
	gw = sim_gateway(&cfg);
	assert_int_equal(sim_inject("+381641234567", "Kvar", 3, 0), 0);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		assert_int_equal(sim_fault(modes[i], 0, 4), 0);
		sim_pull_fails(gw, "0", modes[i], NULL, &more);
	}
	assert_int_equal(sms_gateway_pull(gw, "0", &m, &n, &cur, &more, &err), 0);
	assert_int_equal(n, 3);
	sms_in_free(&m, n);
	free(cur);
	assert_int_equal(sim_fault("none", 0, 0), 0);
	sms_gateway_free(&gw);
}

static void
test_invalid_utf8_and_auth(void **state)
{
	struct sms_gateway *gw;
	struct sms_in *m;
	size_t n;
	char *cur, *reason = NULL;
	int more, stopped;
	const char *err;

	(void)state;
	gw = sim_gateway(&cfg);
	assert_int_equal(sim_inject_b64("+381641234567", "UHVrbGEg//4gY2V2"), 0);
	assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), 0);
	assert_int_equal(n, 1);
	assert_non_null(strstr(m[0].text, "Pukla \xef\xbf\xbd"));
	sms_in_free(&m, n);
	free(cur);
	sms_gateway_free(&gw);

	cfg.api_key = "wrong";
	gw = sim_gateway(&cfg);
	assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), -1);
	assert_non_null(strstr(err, "HTTP 401"));
	assert_int_equal(sms_gateway_send(gw, "+381641234567", "x", &reason, &stopped),
	    NOTIFY_PERMFAIL);
	assert_non_null(strstr(reason, "401"));
	free(reason);
	sms_gateway_free(&gw);
}

static void
test_config_errors(void **state)
{
	const char *err = NULL;

	(void)state;
	cfg.generic.pull_url = NULL;
	cfg.generic.send_url = "";
	assert_null(sms_gateway_new(&cfg, &err));
	cfg_default();
	cfg.generic.auth_header = "Authorization: Bearer {key}\r\nX-Evil: 1";
	assert_null(sms_gateway_new(&cfg, &err));
	cfg_default();
	cfg.generic.auth_header = "no colon here";
	assert_null(sms_gateway_new(&cfg, &err));
	cfg_default();
	cfg.api_key = NULL;
	assert_null(sms_gateway_new(&cfg, &err));
	assert_non_null(strstr(err, "{key}"));
	/* no {key}: no key needed */
	cfg.generic.auth_header = "";
	/* a wrong messages_path is an error on every pull, not silence */
	cfg_default();
	cfg.generic.messages_path = "data.msgs";
	{
		struct sms_gateway *gw = sms_gateway_new(&cfg, &err);
		struct sms_in *m = NULL;
		size_t n;
		char *cur = NULL;
		int more;

		assert_non_null(gw);
		assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), -1);
		assert_non_null(strstr(err, "data.msgs"));
		assert_null(m);
		sms_gateway_free(&gw);
	}
	cfg.api_key = NULL;
	cfg.generic.auth_header = "";
	{
		struct sms_gateway *gw = sms_gateway_new(&cfg, &err);

		assert_non_null(gw);
		sms_gateway_free(&gw);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_cursor_pull, setup),
		cmocka_unit_test_setup(test_batch_placeholder, setup),
		cmocka_unit_test_setup(test_ack_mode, setup),
		cmocka_unit_test_setup(test_missing_id, setup),
		cmocka_unit_test_setup(test_send, setup),
		cmocka_unit_test_setup(test_send_faults, setup),
		cmocka_unit_test_setup(test_pull_faults, setup),
		cmocka_unit_test_setup(test_invalid_utf8_and_auth, setup),
		cmocka_unit_test_setup(test_config_errors, setup),
	};

	return cmocka_run_group_tests(tests, sim_group_setup, sim_group_teardown);
}
