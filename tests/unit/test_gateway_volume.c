/* test_gateway_volume.c - 10,000 inbound SMS pulled through each profile with
 * batch 100 and 1000: every message exactly once, and the number of HTTP
 * requests it takes (printed as TAP diagnostics with the rate). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sms_gateway.h"
#include "sms_sim_test.h"

#define VOLUME 10000

static struct cfg_sms cfg;
static char pull_url[160];

/* VOLUME inbound messages, one second apart, the newest a minute ago. */
static void
inject_volume(void)
{
	json_t *arr = json_array(), *o, *r;
	long now = (long)time(NULL);
	char *s, t[64];
	int i;

	for (i = 1; i <= VOLUME; i++) {
		snprintf(t, sizeof(t), "Poruka %d", i);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I}", "from", "+381641234567",
		    "text", t, "received", (json_int_t)(now - 60 - VOLUME + i)));
	}
	o = json_pack("{s:o}", "messages", arr);
	s = json_dumps(o, JSON_COMPACT);
	r = sim_call("POST", "/_sim/inbound", s);
	assert_non_null(r);
	json_decref(r);
	json_decref(o);
	free(s);
}

static void
cfg_for(const char *profile, int batch)
{
	sim_cfg(&cfg, profile);
	cfg.base_url = the_sim.url;     /* set for every profile here */
	cfg.account = SIM_ACCOUNT;
	cfg.batch = batch;
	cfg.timeout = 20;
	snprintf(pull_url, sizeof(pull_url), "%s/generic/inbox?after={cursor}&limit=%d",
	    the_sim.url, batch);
	cfg.generic.pull_url = pull_url;
	cfg.generic.auth_header = "Authorization: Bearer {key}";
	cfg.generic.messages_path = "messages";
	cfg.generic.cursor_path = "next";
}

/* Pull everything; returns the requests used.  seen[i] counts "Poruka i". */
static long
pull_everything(const char *profile, int batch, double *secs_r)
{
	struct sms_gateway *gw;
	struct sms_in *m;
	size_t n, i, total = 0;
	char *cursor = NULL, *cur;
	int more = 1, k, pulls = 0;
	const char *err;
	unsigned char *seen = xcalloc(VOLUME + 1, 1);
	long before = sim_stat("requests");
	double t0;

	cfg_for(profile, batch);
	gw = sms_gateway_new(&cfg, &err);
	assert_non_null(gw);
	t0 = sim_clock();
	while (more) {
		if (sms_gateway_pull(gw, cursor, &m, &n, &cur, &more, &err) != 0)
			fail_msg("%s: %s", profile, err);
		for (i = 0; i < n; i++) {
			k = atoi(m[i].text + strlen("Poruka "));
			assert_true(k >= 1 && k <= VOLUME);
			if (seen[k]++)
				fail_msg("%s: message %d twice", profile, k);
		}
		total += n;
		sms_in_free(&m, n);
		if (cur != NULL) {
			free(cursor);
			cursor = cur;
		}
		assert_true(++pulls <= VOLUME);
	}
	*secs_r = sim_clock() - t0;
	assert_int_equal(total, VOLUME);
	/* twilio: a poll with nothing new is one request and finds nothing */
	if (strcmp(profile, "twilio") == 0) {
		long b2 = sim_stat("requests");

		assert_int_equal(sms_gateway_pull(gw, cursor, &m, &n, &cur, &more, &err), 0);
		assert_int_equal(n, 0);
		sms_in_free(&m, n);
		free(cur);
		assert_int_equal(sim_stat("requests"), b2 + 1);
		before += 1;
	}
	free(cursor);
	free(seen);
	sms_gateway_free(&gw);
	/* the stats calls themselves are not gateway requests */
	return sim_stat("requests") - before;
}

static void
test_volume(void **state)
{
	static const struct {
		const char *profile;
		int batch;
		long requests;         /* expected */
	} cases[] = {
		/* infobip: the last batch says pendingMessageCount 0 */
		{ "infobip", 100, VOLUME / 100 },
		{ "infobip", 1000, VOLUME / 1000 },
		/* twilio: the last page has no next_page_uri */
		{ "twilio", 100, VOLUME / 100 },
		{ "twilio", 1000, VOLUME / 1000 },
		/* generic: one more pull finds the end (an empty batch) */
		{ "generic", 100, VOLUME / 100 + 1 },
		{ "generic", 1000, VOLUME / 1000 + 1 },
	};
	size_t i;
	long got;
	double secs;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sim_reset();
		inject_volume();
		got = pull_everything(cases[i].profile, cases[i].batch, &secs);
		printf("# %s batch %d: %d messages in %ld requests, %.2f s (%.0f msgs/s, "
		    "simulator included)\n", cases[i].profile, cases[i].batch, VOLUME, got, secs,
		    VOLUME / secs);
		if (got != cases[i].requests)
			fail_msg("%s batch %d: %ld requests, expected %ld", cases[i].profile,
			    cases[i].batch, got, cases[i].requests);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_volume),
	};

	return cmocka_run_group_tests(tests, sim_group_setup, sim_group_teardown);
}
