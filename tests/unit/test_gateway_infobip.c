/* test_gateway_infobip.c - the infobip profile against the gateway simulator:
 * destructive batched pull, reconciliation, sending, faults. */
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
	sim_cfg(&cfg, "infobip");
}

static char state_arg[128];

static int
group_setup(void **state)
{
	char dir[64];

	(void)state;
	/* the queue is kept in a state file so a restart loses nothing */
	snprintf(dir, sizeof(dir), "/tmp/s48smsstate.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(state_arg, sizeof(state_arg), "--state %s/queue.json", dir);
	return sim_start_args(state_arg);
}

static int
group_teardown(void **state)
{
	char *cmd;

	(void)state;
	sim_stop();
	/* state_arg is "--state DIR/queue.json" */
	cmd = xasprintf("rm -rf \"$(dirname '%s')\"", state_arg + strlen("--state "));
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove the state directory\n");
	free(cmd);
	return 0;
}

static int
setup(void **state)
{
	(void)state;
	sim_reset();
	cfg_default();
	return 0;
}

/* Pull until more_r is 0; returns the number of messages, counts pulls. */
static size_t
pull_all(struct sms_gateway *gw, int *pulls_r, char ***ids_r)
{
	struct sms_in *m;
	size_t n, total = 0, i;
	char *cur;
	int more = 1;
	const char *err;

	*pulls_r = 0;
	while (more) {
		assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), 0);
		assert_null(cur);
		(*pulls_r)++;
		if (ids_r != NULL) {
			*ids_r = xrealloc(*ids_r, (total + n + 1) * sizeof(char *));
			for (i = 0; i < n; i++)
				(*ids_r)[total + i] = xstrdup(m[i].id);
		}
		total += n;
		sms_in_free(&m, n);
		assert_true(*pulls_r < 1000);
	}
	return total;
}

static void
test_pull_batches(void **state)
{
	struct sms_gateway *gw = sim_gateway(&cfg);
	struct sms_in *m = NULL;
	size_t n, i;
	char *cur = (char *)"x";
	int more = -1;
	const char *err = NULL;
	time_t now = time(NULL);
	json_t *raw;

	(void)state;
	assert_int_equal(sim_inject("+381641234567", "Pukla cev u ulici", 250, 0), 0);
	assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), 0);
	assert_int_equal(n, 100);
	assert_int_equal(more, 1);
	assert_null(cur);
	/* kept as sent: no '+' (ingestion normalises) */
	assert_string_equal(m[0].from, "381641234567");
	assert_string_equal(m[0].text, "Pukla cev u ulici 1");
	assert_string_equal(m[99].text, "Pukla cev u ulici 100");
	assert_true(m[0].received_at >= now - 5 && m[0].received_at <= now + 5);
	assert_true(strncmp(m[0].id, "ib", 2) == 0);
	raw = json_loadb(m[0].raw, m[0].raw_len, 0, NULL);
	assert_non_null(raw);
	assert_string_equal(json_string_value(json_object_get(raw, "messageId")), m[0].id);
	assert_int_equal(strlen(m[0].raw), m[0].raw_len);
	json_decref(raw);
	for (i = 1; i < n; i++)
		assert_string_not_equal(m[i].id, m[i - 1].id);
	sms_in_free(&m, n);
	assert_null(m);

	assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), 0);
	assert_int_equal(n, 100);
	assert_int_equal(more, 1);
	sms_in_free(&m, n);
	assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), 0);
	assert_int_equal(n, 50);
	assert_int_equal(more, 0);
	assert_string_equal(m[49].text, "Pukla cev u ulici 250");
	sms_in_free(&m, n);
	/* destructive: nothing comes twice */
	assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(more, 0);
	sms_in_free(&m, n);
	assert_int_equal(sim_stat("infobip_pull"), 4);
	assert_int_equal(sms_gateway_reconcile_wanted(gw), 0);
	assert_string_equal(sms_gateway_profile(gw), "infobip");
	sms_gateway_free(&gw);
	assert_null(gw);
}

static void
test_reconcile(void **state)
{
	struct sms_gateway *gw = sim_gateway(&cfg);
	struct sms_in *m;
	size_t n, got, i;
	int pulls;
	char **ids = NULL;
	const char *err;
	time_t now = time(NULL);

	(void)state;
	assert_int_equal(sim_inject("+381641111111", "old", 2, (long)now - 7200), 0);
	assert_int_equal(sim_inject("+381642222222", "Ne radi svetiljka", 5, 0), 0);
	got = pull_all(gw, &pulls, &ids);
	assert_int_equal(got, 7);
	/* the log is not destructive, and receivedSince filters */
	assert_int_equal(sms_gateway_reconcile(gw, now - 3600, &m, &n, &err), 0);
	assert_int_equal(n, 5);
	for (i = 0; i < n; i++) {
		assert_string_equal(m[i].id, ids[i + 2]);
		assert_string_equal(m[i].from, "381642222222");
	}
	sms_in_free(&m, n);
	assert_int_equal(sms_gateway_reconcile(gw, now - 3 * 3600, &m, &n, &err), 0);
	assert_int_equal(n, 7);
	sms_in_free(&m, n);
	assert_int_equal(sms_gateway_reconcile(gw, now + 3600, &m, &n, &err), 0);
	assert_int_equal(n, 0);
	sms_in_free(&m, n);
	for (i = 0; i < got; i++)
		free(ids[i]);
	free(ids);
	sms_gateway_free(&gw);
}

/*
 * The log gives the newest 1,000 of a window at most (50 when not asked):
 * 2,600 messages of the last hour, three in each second, are read in pages
 * that end in the second the page before ended (a page boundary falls
 * inside a second): every message once, oldest first.
 */
static void
test_reconcile_pages(void **state)
{
	struct sms_gateway *gw = sim_gateway(&cfg);
	struct sms_in *m;
	size_t n, i, j;
	const char *err;
	time_t now = time(NULL);
	struct buf b;
	int before;
	json_t *r;

	(void)state;
	buf_init(&b, 1 << 20);
	buf_appends(&b, "{\"messages\": [");
	for (i = 0; i < 2600; i++)
		buf_appendf(&b, "%s{\"from\": \"+38164%07zu\", \"text\": \"prijava %zu\", "
		    "\"received\": %lld}", i ? "," : "", i, i, (long long)(now - 3000 + (long)i / 3));
	buf_appends(&b, "]}");
	buf_appendc(&b, '\0');
	r = sim_call("POST", "/_sim/inbound", b.data);
	assert_non_null(r);
	json_decref(r);
	buf_free(&b);
	before = sim_stat("infobip_logs");
	assert_int_equal(sms_gateway_reconcile(gw, now - 3600, &m, &n, &err), 0);
	assert_int_equal(n, 2600);
	assert_int_equal(sim_stat("infobip_logs") - before, 3);
	for (i = 0; i < n; i++) {
		char want[32];

		/* oldest first, and in the order they came within a second */
		snprintf(want, sizeof(want), "prijava %zu", i);
		assert_string_equal(m[i].text, want);
		if (i > 0)
			assert_true(m[i].received_at >= m[i - 1].received_at);
	}
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n && m[j].received_at <= m[i].received_at + 1; j++)
			assert_string_not_equal(m[i].id, m[j].id);
	sms_in_free(&m, n);
	sms_gateway_free(&gw);
}

/* A pull whose answer is lost after the gateway dequeued: reconcile finds it. */
static void
test_timeout_then_reconcile(void **state)
{
	struct sms_gateway *gw;
	struct sms_in *m = NULL;
	size_t n = 9;
	char *cur;
	int more;
	const char *err = NULL;
	double t0, el;
	time_t now = time(NULL);

	(void)state;
	cfg.timeout = 2;
	gw = sim_gateway(&cfg);
	assert_int_equal(sim_inject("+381643333333", "Rupa na putu", 3, 0), 0);
	assert_int_equal(sim_fault("timeout", 0, 6), 0);
	t0 = sim_clock();
	assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), -1);
	el = sim_clock() - t0;
	assert_true(el >= 1.5 && el < 4.5);
	assert_non_null(strstr(err, "timeout"));
	assert_null(m);
	assert_int_equal(n, 0);
	assert_int_equal(sms_gateway_reconcile_wanted(gw), 1);
	assert_int_equal(sim_fault("none", 0, 0), 0);
	assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), 0);
	assert_int_equal(n, 0);     /* consumed by the lost pull */
	sms_in_free(&m, n);
	assert_int_equal(sms_gateway_reconcile(gw, now - 60, &m, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(m[2].text, "Rupa na putu 3");
	sms_in_free(&m, n);
	assert_int_equal(sms_gateway_reconcile_wanted(gw), 0);
	sms_gateway_free(&gw);
}

/* Every fault mode: an error, nothing returned, no crash, nothing consumed. */
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
		{ "every_other", "HTTP 500" },
	};
	struct sms_gateway *gw = sim_gateway(&cfg);
	struct sms_in *m;
	size_t n, i;
	char *cur;
	int more;
	const char *err;

	(void)state;
	assert_int_equal(sim_inject("+381644444444", "Kvar", 4, 0), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(sim_fault(cases[i].mode, 0, 0), 0);
		sim_pull_fails(gw, NULL, cases[i].mode, cases[i].in_error, &more);
		assert_int_equal(more, 0);
	}
	/* every_other: the next request gets through */
	assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), 0);
	assert_int_equal(n, 4);
	sms_in_free(&m, n);
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
	/* "Pukla \xff\xfe cev" and a valid "Đura" after it */
	assert_int_equal(sim_inject_b64("+381645555555", "UHVrbGEg//4gY2V2"), 0);
	assert_int_equal(sim_inject("+381645555556", "\xc4\x90ura", 1, 0), 0);
	assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), 0);
	assert_int_equal(n, 2);
	assert_non_null(strstr(m[0].text, "Pukla \xef\xbf\xbd"));
	assert_non_null(strstr(m[0].text, " cev"));
	assert_string_equal(m[1].text, "\xc4\x90ura");
	sms_in_free(&m, n);
	sms_gateway_free(&gw);
}

static void
test_send(void **state)
{
	struct sms_gateway *gw = sim_gateway(&cfg);
	char *reason = NULL;
	int stopped = -1;
	json_t *sent;

	(void)state;
	assert_int_equal(sms_gateway_send(gw, "+381641234567", "Prijava br. 12 primljena",
	    &reason, &stopped), NOTIFY_OK);
	assert_int_equal(stopped, 0);
	assert_non_null(strstr(reason, "PENDING"));
	free(reason);
	sent = sim_sent();
	assert_int_equal(json_array_size(sent), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(sent, 0), "to")),
	    "381641234567");
	assert_string_equal(json_string_value(json_object_get(json_array_get(sent, 0), "from")),
	    "381601234567");
	assert_string_equal(json_string_value(json_object_get(json_array_get(sent, 0), "text")),
	    "Prijava br. 12 primljena");
	json_decref(sent);
	sms_gateway_free(&gw);
	/* without our number: no "from", the account's default sender */
	cfg.number = "";
	gw = sim_gateway(&cfg);
	assert_int_equal(sms_gateway_send(gw, "381641234567", "Druga", &reason, &stopped),
	    NOTIFY_OK);
	free(reason);
	sent = sim_sent();
	assert_int_equal(json_array_size(sent), 2);
	assert_true(json_is_null(json_object_get(json_array_get(sent, 1), "from")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(sent, 1), "to")),
	    "381641234567");
	json_decref(sent);
	sms_gateway_free(&gw);
}

static void
test_send_faults(void **state)
{
	static const struct sim_send_fault cases[] = {
		{ "reject", NOTIFY_PERMFAIL, 0, "REJECTED" },
		{ "500", NOTIFY_TEMPFAIL, 0, "HTTP 500" },
		{ "429", NOTIFY_TEMPFAIL, 0, "HTTP 429" },
		{ "garbage", NOTIFY_TEMPFAIL, 0, "unreadable" },
		{ "timeout", NOTIFY_TEMPFAIL, 0, "timeout" },
	};

	(void)state;
	sim_send_faults(&cfg, cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_wrong_key(void **state)
{
	struct sms_gateway *gw;
	struct sms_in *m;
	size_t n;
	char *cur, *reason = NULL;
	int more, stopped;
	const char *err = NULL;

	(void)state;
	cfg.api_key = "wrong-key";
	gw = sim_gateway(&cfg);
	assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), -1);
	assert_non_null(strstr(err, "HTTP 401"));
	assert_null(strstr(err, "wrong-key"));
	assert_int_equal(sms_gateway_reconcile_wanted(gw), 0);
	assert_int_equal(sms_gateway_send(gw, "+381641234567", "x", &reason, &stopped),
	    NOTIFY_PERMFAIL);
	assert_non_null(strstr(reason, "401"));
	assert_non_null(strstr(reason, "Invalid login details"));
	free(reason);
	assert_int_equal(sim_stat("unauthorized"), 2);
	sms_gateway_free(&gw);
}

static void
test_refused(void **state)
{
	struct sms_gateway *gw;
	struct sms_in *m;
	size_t n;
	char *cur, *reason = NULL;
	int more, stopped;
	const char *err = NULL;
	double t0 = sim_clock();

	(void)state;
	cfg.base_url = "http://127.0.0.1:1";
	gw = sim_gateway(&cfg);
	assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), -1);
	assert_non_null(err);
	assert_int_equal(sms_gateway_reconcile_wanted(gw), 0);
	assert_int_equal(sms_gateway_send(gw, "+381641234567", "x", &reason, &stopped),
	    NOTIFY_TEMPFAIL);
	free(reason);
	assert_true(sim_clock() - t0 < 3);
	sms_gateway_free(&gw);
}

/* The gateway restarts between two pulls: what was queued is still there,
 * what was handed out does not come again, and the client reconnects. */
static void
test_sim_restart(void **state)
{
	struct sms_gateway *gw = sim_gateway(&cfg);
	struct sms_in *m;
	size_t n;
	char *cur, *reason = NULL;
	int more, stopped;
	const char *err;

	(void)state;
	assert_int_equal(sim_inject("+381641234567", "Prijava", 150, 0), 0);
	assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), 0);
	assert_int_equal(n, 100);
	assert_int_equal(more, 1);
	sms_in_free(&m, n);
	assert_int_equal(sms_gateway_send(gw, "+381641234567", "Potvrda", &reason, &stopped),
	    NOTIFY_OK);
	free(reason);
	assert_int_equal(sim_restart(state_arg), 0);
	assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), 0);
	assert_int_equal(n, 50);
	assert_int_equal(more, 0);
	assert_string_equal(m[0].text, "Prijava 101");
	assert_string_equal(m[49].text, "Prijava 150");
	sms_in_free(&m, n);
	assert_int_equal(sms_gateway_pull(gw, NULL, &m, &n, &cur, &more, &err), 0);
	assert_int_equal(n, 0);
	sms_in_free(&m, n);
	{
		json_t *sent = sim_sent();

		assert_int_equal(json_array_size(sent), 1);
		json_decref(sent);
	}
	sms_gateway_free(&gw);
}

static void
test_config_errors(void **state)
{
	const char *err = NULL;

	(void)state;
	cfg.base_url = NULL;
	assert_null(sms_gateway_new(&cfg, &err));
	assert_non_null(strstr(err, "base_url"));
	cfg_default();
	cfg.api_key = NULL;
	assert_null(sms_gateway_new(&cfg, &err));
	assert_non_null(strstr(err, "key"));
	cfg_default();
	cfg.api_key = "a\r\nX-Evil: 1";
	assert_null(sms_gateway_new(&cfg, &err));
	cfg_default();
	cfg.profile = "nexmo";
	assert_null(sms_gateway_new(&cfg, &err));
	assert_non_null(strstr(err, "profile"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_pull_batches, setup),
		cmocka_unit_test_setup(test_reconcile, setup),
		cmocka_unit_test_setup(test_reconcile_pages, setup),
		cmocka_unit_test_setup(test_timeout_then_reconcile, setup),
		cmocka_unit_test_setup(test_pull_faults, setup),
		cmocka_unit_test_setup(test_invalid_utf8, setup),
		cmocka_unit_test_setup(test_send, setup),
		cmocka_unit_test_setup(test_send_faults, setup),
		cmocka_unit_test_setup(test_wrong_key, setup),
		cmocka_unit_test_setup(test_refused, setup),
		cmocka_unit_test_setup(test_sim_restart, setup),
		cmocka_unit_test_setup(test_config_errors, setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
