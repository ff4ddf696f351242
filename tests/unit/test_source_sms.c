/*
 * test_source_sms.c - source_sms_poll (the daemon's SMS intake) against the
 * gateway simulator and a real SQLite file, for each profile: a batch the
 * gateway handed out but the database did not take (ingest_test_fail_at)
 * is not lost, twilio paging resumes after a failed page and copes with a
 * page the gateway no longer serves, nothing is recorded twice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "config.h"
#include "ingest.h"
#include "mime.h"
#include "router.h"
#include "sla.h"
#include "source.h"
#include "store.h"
#include "util.h"

#include "sms_sim_test.h"
#include "store_test.h"

struct fx {
	char dir[64];
	struct s48_config *cfg;
	struct store *st;
	struct router *rt;
	struct sms_gateway *gw;
};

static const char conf_tail[] =
    "departments = (\n"
    "  { id = \"water\"; name = \"Vodovod\"; email = [\"vodovod@jkp.example.org\"];\n"
    "    keywords = [\"voda\", \"cev\"]; },\n"
    "  { id = \"dispatch\"; name = \"Dispecer\"; email = [\"dispecer@jkp.example.org\"];"
    " keywords = []; }\n"
    ");\n"
    "default_department = \"dispatch\";\n"
    "limits = { auto_replies_per_day = 1000; };\n"
    "sla = { hours = 48; timezone = \"Europe/Belgrade\"; };\n";

/* A store and config with sms.profile = profile (batch: messages per pull)
 * pointed at the simulator. */
static struct fx *
fx_new(const char *profile, int batch)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	char path[128], *sms, *conf, *errors = NULL;
	const char *err = NULL;

	ts_tmpdir(f->dir, sizeof(f->dir), "srcsms");
	snprintf(path, sizeof(path), "%s/secret", f->dir);
	ts_write_file(path, "test-secret\n", 0600);
	snprintf(path, sizeof(path), "%s/sms.key", f->dir);
	ts_write_file(path, SIM_KEY "\n", 0600);
	if (strcmp(profile, "generic-ack") == 0)
		/* a gateway without a cursor that forgets what is acknowledged */
		sms = xasprintf("profile = \"generic\"; generic = { pull_url = "
		    "\"%s/generic/inbox?limit=%d\"; auth_header = "
		    "\"Authorization: Bearer {key}\"; messages_path = \"messages\"; "
		    "id_path = \"id\"; from_path = \"from\"; text_path = \"text\"; "
		    "time_path = \"received\"; ack_url = \"%s/generic/ack\"; "
		    "send_url = \"%s/generic/send\"; "
		    "send_body = \"{\\\"to\\\": {to}, \\\"text\\\": {text}}\"; };",
		    the_sim.url, batch, the_sim.url, the_sim.url);
	else if (strcmp(profile, "generic") == 0)
		sms = xasprintf("profile = \"generic\"; generic = { pull_url = "
		    "\"%s/generic/inbox?after={cursor}&limit=%d\"; auth_header = "
		    "\"Authorization: Bearer {key}\"; messages_path = \"messages\"; "
		    "id_path = \"id\"; from_path = \"from\"; text_path = \"text\"; "
		    "time_path = \"received\"; cursor_path = \"next\"; "
		    "send_url = \"%s/generic/send\"; "
		    "send_body = \"{\\\"to\\\": {to}, \\\"text\\\": {text}}\"; };", the_sim.url, batch, the_sim.url);
	else if (strcmp(profile, "twilio") == 0)
		sms = xasprintf("profile = \"twilio\"; account = \"%s\"; base_url = \"%s\";",
		    SIM_ACCOUNT, the_sim.url);
	else
		sms = xasprintf("profile = \"infobip\"; base_url = \"%s\";", the_sim.url);
	conf = xasprintf("database = \"s48.db\";\nsecret_file = \"secret\";\n"
	    "log = { level = \"err\"; target = \"stderr\"; };\n"
	    "sms = { %s api_key_file = \"sms.key\"; number = \"%s\"; batch = %d; timeout = 1; };\n"
	    "%s", sms, SIM_NUMBER, batch, conf_tail);
	snprintf(path, sizeof(path), "%s/s48.conf", f->dir);
	ts_write_file(path, conf, 0600);
	free(conf);
	free(sms);
	if (config_load(path, 1, &f->cfg, &errors) < 0 ||
	    config_load_secrets(f->cfg, &errors) < 0)
		fail_msg("config: %s", errors);
	sla_use_timezone(f->cfg->sla.timezone);
	ts_open(f->cfg->database, &f->st);
	f->rt = router_new(f->cfg);
	f->gw = sms_gateway_new(&f->cfg->sms, &err);
	if (f->gw == NULL)
		fail_msg("gateway: %s", err);
	mime_init();
	ingest_test_fail_at = -1;
	return f;
}

static void
fx_free(struct fx **fp)
{
	struct fx *f = *fp;

	sms_gateway_free(&f->gw);
	store_close(&f->st);
	router_free(&f->rt);
	config_free(&f->cfg);
	assert_int_equal(ts_rmtree(f->dir), 0);
	free(f);
	*fp = NULL;
	ingest_test_fail_at = -1;
}

/* source_sms_poll; returns its result, the error (if any) freed. */
static int
poll_once(struct fx *f, int *pending_r)
{
	struct source_stats stats;
	char *err = NULL;
	int pending = 0, r;

	memset(&stats, 0, sizeof(stats));
	r = source_sms_poll(f->st, f->cfg, f->rt, f->gw, &pending, &stats, &err);
	free(err);
	if (pending_r != NULL)
		*pending_r = pending;
	return r;
}

static long long
qint(struct fx *f, const char *sql)
{
	return ts_qint(store_db(f->st), sql, NULL, NULL);
}

static int
setup(void **state)
{
	(void)state;
	sim_reset();
	ingest_test_fail_at = -1;
	return 0;
}

/* n SMS from n different numbers (38164NNN0000 + i), text "Pukla cev TAG i". */
static void
inject(int n, const char *tag)
{
	json_t *arr = json_array(), *o, *r;
	char from[32], text[64], *s;
	int i;

	for (i = 0; i < n; i++) {
		snprintf(from, sizeof(from), "3816410%05d", i);
		snprintf(text, sizeof(text), "Pukla cev %s %d", tag, i);
		json_array_append_new(arr, json_pack("{s:s, s:s}", "from", from, "text", text));
	}
	o = json_pack("{s:o}", "messages", arr);
	s = json_dumps(o, JSON_COMPACT);
	r = sim_call("POST", "/_sim/inbound", s);
	assert_non_null(r);
	json_decref(r);
	free(s);
	json_decref(o);
}

/*
 * For every profile (generic with a cursor, and with acknowledgements
 * instead): the database refuses the first batch the gateway hands
 * out (a storage error); the poll fails; the next poll records every
 * message once.  Infobip's pull had dequeued them: they come back from the
 * log (before the fix they were lost: only a failed HTTP pull asked for
 * the log).
 */
static void
test_batch_not_stored(void **state)
{
	static const char *const profiles[] = { "infobip", "twilio", "generic", "generic-ack" };
	size_t p;

	(void)state;
	for (p = 0; p < sizeof(profiles) / sizeof(profiles[0]); p++) {
		struct fx *f;

		sim_reset();
		f = fx_new(profiles[p], 10);
		inject(25, profiles[p]);
		ingest_test_fail_at = 3;
		assert_int_equal(poll_once(f, NULL), -1);
		assert_int_equal(qint(f, "SELECT count(*) FROM raw_messages"), 0);
		ingest_test_fail_at = -1;
		if (poll_once(f, NULL) != 0)
			fail_msg("%s: second poll failed", profiles[p]);
		if (qint(f, "SELECT count(*) FROM raw_messages") != 25 ||
		    qint(f, "SELECT count(*) FROM tickets") != 25)
			fail_msg("%s: %lld raw messages, %lld tickets; want 25 each", profiles[p],
			    qint(f, "SELECT count(*) FROM raw_messages"),
			    qint(f, "SELECT count(*) FROM tickets"));
		/* nothing left over for a further poll */
		assert_int_equal(poll_once(f, NULL), 0);
		assert_int_equal(qint(f, "SELECT count(*) FROM raw_messages"), 25);
		fx_free(&f);
	}
}

/*
 * Infobip: the wish to reconcile survives a storage error on the batch the
 * log gave back, also across a restart (a new gateway object, as after a
 * clean stop): "sms.reconcile" stays in source_state.
 */
static void
test_reconcile_not_stored(void **state)
{
	struct fx *f;
	const char *err = NULL;

	(void)state;
	f = fx_new("infobip", 10);
	inject(5, "log");
	/* the answer to the pull is lost after the gateway dequeued */
	assert_int_equal(sim_fault("timeout", 1, 3), 0);
	assert_int_equal(poll_once(f, NULL), -1);
	assert_int_equal(sms_gateway_reconcile_wanted(f->gw), 1);
	assert_int_equal(sim_stat("queued"), 0);
	/* the log is read, but its batch is not stored */
	ingest_test_fail_at = 0;
	assert_int_equal(poll_once(f, NULL), -1);
	ingest_test_fail_at = -1;
	assert_int_equal(qint(f, "SELECT count(*) FROM raw_messages"), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM source_state WHERE key = 'sms.reconcile'"),
	    1);
	/* a restart: the gateway object is new */
	sms_gateway_free(&f->gw);
	f->gw = sms_gateway_new(&f->cfg->sms, &err);
	assert_non_null(f->gw);
	assert_int_equal(poll_once(f, NULL), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM raw_messages"), 5);
	assert_int_equal(qint(f, "SELECT count(*) FROM tickets"), 5);
	assert_int_equal(qint(f, "SELECT count(*) FROM source_state WHERE key = 'sms.reconcile'"),
	    0);
	fx_free(&f);
}

/*
 * Twilio: a poll that pages backwards stores the next page with each batch.
 * When the gateway no longer serves that page (404: an expired PageToken),
 * the list is read from the top down to the old mark again instead of
 * failing on every poll; a gateway that refuses every second page is an
 * error of that poll, not an endless loop.
 */
static void
test_twilio_page_gone(void **state)
{
	struct fx *f;

	(void)state;
	f = fx_new("twilio", 10);
	inject(25, "page");
	assert_int_equal(sim_post("/_sim/fault", "{\"mode\":\"page_gone\",\"count\":1}"), 0);
	assert_int_equal(poll_once(f, NULL), 0);
	assert_int_equal(sim_stat("faulted"), 1);
	assert_int_equal(qint(f, "SELECT count(*) FROM raw_messages"), 25);
	assert_int_equal(qint(f, "SELECT count(*) FROM tickets"), 25);
	inject(3, "after");
	assert_int_equal(poll_once(f, NULL), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM tickets"), 28);
	fx_free(&f);

	/* every page after the first refused */
	sim_reset();
	f = fx_new("twilio", 10);
	inject(25, "gone");
	assert_int_equal(sim_post("/_sim/fault", "{\"mode\":\"page_gone\"}"), 0);
	assert_int_equal(poll_once(f, NULL), -1);
	assert_int_equal(sim_stat("faulted"), 2);
	assert_int_equal(qint(f, "SELECT count(*) FROM raw_messages"), 10);
	assert_int_equal(sim_fault("none", 0, 0), 0);
	assert_int_equal(poll_once(f, NULL), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM raw_messages"), 25);
	assert_int_equal(qint(f, "SELECT count(*) FROM tickets"), 25);
	fx_free(&f);
}

/*
 * A gateway that hands out every message twice in one answer (twilio and
 * generic also again in the next poll): one raw message, one ticket and
 * one acknowledgement each, for every profile.
 */
static void
test_duplicate_ids(void **state)
{
	static const char *const profiles[] = { "infobip", "twilio", "generic", "generic-ack" };
	size_t p;

	(void)state;
	for (p = 0; p < sizeof(profiles) / sizeof(profiles[0]); p++) {
		struct fx *f;

		sim_reset();
		f = fx_new(profiles[p], 10);
		inject(15, profiles[p]);
		assert_int_equal(sim_post("/_sim/fault", "{\"mode\":\"duplicate\"}"), 0);
		assert_int_equal(poll_once(f, NULL), 0);
		assert_int_equal(poll_once(f, NULL), 0);
		assert_int_equal(sim_fault("none", 0, 0), 0);
		if (qint(f, "SELECT count(*) FROM raw_messages") != 15 ||
		    qint(f, "SELECT count(*) FROM tickets") != 15 ||
		    qint(f, "SELECT count(*) FROM outbox WHERE kind = 'sms_ack'") != 15)
			fail_msg("%s: %lld raw, %lld tickets, %lld acks; want 15 each", profiles[p],
			    qint(f, "SELECT count(*) FROM raw_messages"),
			    qint(f, "SELECT count(*) FROM tickets"),
			    qint(f, "SELECT count(*) FROM outbox WHERE kind = 'sms_ack'"));
		fx_free(&f);
	}
}

/*
 * Twilio lists messages by when they were sent, newest first; one of ours
 * can be sent long after it was created (queued).  Its old date_created
 * must not end the scan (the mark's check "older than the mark: the rest
 * was seen"): before the fix the inbound messages below it were lost.
 */
static void
test_twilio_queued_outbound(void **state)
{
	struct fx *f;
	long now = (long)time(NULL);
	char *body;

	(void)state;
	f = fx_new("twilio", 10);
	body = xasprintf("{\"messages\": ["
	    "{\"from\": \"381641000001\", \"text\": \"Pukla cev 1\", \"received\": %ld},"
	    "{\"from\": \"381641000002\", \"text\": \"Pukla cev 2\", \"received\": %ld}]}",
	    now - 50, now - 48);
	assert_int_equal(sim_post("/_sim/inbound", "%s", body), 0);
	free(body);
	assert_int_equal(poll_once(f, NULL), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM tickets"), 2);
	/* sent 10 s ago, created an hour ago; below it two new reports */
	body = xasprintf("{\"messages\": ["
	    "{\"from\": \"381641000003\", \"text\": \"Pukla cev 3\", \"received\": %ld},"
	    "{\"from\": \"381641000004\", \"text\": \"Pukla cev 4\", \"received\": %ld},"
	    "{\"from\": \"%s\", \"to\": \"+381641000001\", \"text\": \"nasa poruka\","
	    " \"direction\": \"outbound-api\", \"received\": %ld, \"created\": %ld}]}",
	    now - 30, now - 20, SIM_NUMBER, now - 10, now - 3600);
	assert_int_equal(sim_post("/_sim/inbound", "%s", body), 0);
	free(body);
	assert_int_equal(poll_once(f, NULL), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM tickets"), 4);
	assert_int_equal(qint(f, "SELECT count(*) FROM raw_messages"), 4);
	fx_free(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_batch_not_stored, setup),
		cmocka_unit_test_setup(test_reconcile_not_stored, setup),
		cmocka_unit_test_setup(test_twilio_page_gone, setup),
		cmocka_unit_test_setup(test_duplicate_ids, setup),
		cmocka_unit_test_setup(test_twilio_queued_outbound, setup),
	};

	return cmocka_run_group_tests(tests, sim_group_setup, sim_group_teardown);
}
