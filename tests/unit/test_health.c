/*
 * test_health.c - source and sender alerts (SPEC section 5) on a real
 * SQLite file, the clock set by S48_NOW: a table of parts and escalation
 * lists, each failing for just under and then over an hour (one alert, by
 * the channels that still work), again (no repeat), across a reopen of the
 * store (a restart neither repeats nor forgets the alert), then recovering
 * (one notice, by every channel of the list, the recovered one included),
 * then healthy (nothing more, state cleared).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store_test.h"

#include "config.h"
#include "health.h"
#include "sla.h"
#include "store.h"
#include "util.h"

#define T0 1795514400LL           /* 2026-11-24T10:00:00Z */

struct fx {
	char dir[64];
	struct s48_config *cfg;
	struct store *st;
};

static void
fx_open(struct fx *f, const char *escalation)
{
	char path[160], *errors = NULL;
	FILE *fp;

	ts_tmpdir(f->dir, sizeof(f->dir), "health");
	snprintf(path, sizeof(path), "%s/secret", f->dir);
	ts_write_file(path, "s3cret\n", 0600);
	snprintf(path, sizeof(path), "%s/sms.key", f->dir);
	ts_write_file(path, "key\n", 0600);
	snprintf(path, sizeof(path), "%s/s48.conf", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "database = \"%s/s48.db\";\nsecret_file = \"secret\";\n"
	    "smtp = { url = \"smtp://127.0.0.1:2525\"; tls = \"none\"; "
	    "from = \"Sistem 48 <prijave@example.org>\"; };\n"
	    "sms = { profile = \"infobip\"; base_url = \"http://127.0.0.1:9\"; "
	    "api_key_file = \"sms.key\"; number = \"+381641234567\"; };\n"
	    "departments = ({ id = \"water\"; name = \"Vodovod\"; email = [\"v@example.org\"]; "
	    "keywords = []; });\n"
	    "escalation = [%s];\n"
	    "sla = { hours = 48; warn_hours = 8; timezone = \"Europe/Belgrade\"; };\n",
	    f->dir, escalation);
	fclose(fp);
	if (config_load(path, 0, &f->cfg, &errors) < 0)
		fail_msg("config: %s", errors);
	sla_use_timezone(f->cfg->sla.timezone);
	ts_open(f->cfg->database, &f->st);
}

static void
fx_close(struct fx *f)
{
	store_close(&f->st);
	config_free(&f->cfg);
	assert_int_equal(ts_rmtree(f->dir), 0);
}

static void
at(long long t)
{
	char v[32];

	snprintf(v, sizeof(v), "%lld", t);
	setenv("S48_NOW", v, 1);
}

static void
report(struct fx *f, enum health_part part, int ok)
{
	const char *err = NULL;

	if (health_report(f->st, f->cfg, part, ok, ok ? NULL : "connection refused", &err) < 0)
		fail_msg("health_report: %s", err);
}

/* "channel:recipient ..." of the alert rows after id `after`, in id order. */
static char *
alerts_after(struct fx *f, long long after, long long *last_r)
{
	sqlite3_stmt *s;
	char *out = xstrdup(""), *next;

	assert_int_equal(sqlite3_prepare_v2(store_db(f->st),
	    "SELECT id, channel, recipient FROM outbox WHERE kind = 'alert' AND id > ?1 "
	    "ORDER BY id", -1, &s, NULL), SQLITE_OK);
	sqlite3_bind_int64(s, 1, after);
	while (sqlite3_step(s) == SQLITE_ROW) {
		*last_r = sqlite3_column_int64(s, 0);
		next = xasprintf("%s%s%s:%s", out, out[0] ? " " : "",
		    (const char *)sqlite3_column_text(s, 1), (const char *)sqlite3_column_text(s, 2));
		free(out);
		out = next;
	}
	sqlite3_finalize(s);
	return out;
}

static long long
state_rows(struct fx *f)
{
	sqlite3_stmt *s;
	long long n;

	assert_int_equal(sqlite3_prepare_v2(store_db(f->st),
	    "SELECT count(*) FROM source_state WHERE key LIKE 'health.%'", -1, &s, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

struct health_case {
	const char *name;
	enum health_part part;
	const char *escalation;
	const char *alert;              /* the rows of the alert */
	const char *recovery;           /* the rows of the recovery notice */
};

#define MAIL "\"direktor@example.org\""
#define PHONE "\"+381641234999\""

/* The alerts after *last (which moves on) are want: 0, or 1 with the case's
 * name and what it is printed (the table goes on, failures are counted). */
static int
alerts_expect(struct fx *f, long long *last, const char *want, const char *name,
    const char *what)
{
	char *got = alerts_after(f, *last, last);
	int bad = strcmp(got, want) != 0;

	if (bad)
		print_error("%s: %s '%s', want '%s'\n", name, what, got, want);
	free(got);
	return bad;
}

static void
test_alert_and_recovery(void **state)
{
	const struct health_case cases[] = {
		{ "IMAP down: both channels", HEALTH_IMAP, MAIL ", " PHONE,
		  "email:direktor@example.org sms:+381641234999",
		  "email:direktor@example.org sms:+381641234999" },
		{ "gateway pull down: both channels", HEALTH_SMS_PULL, MAIL ", " PHONE,
		  "email:direktor@example.org sms:+381641234999",
		  "email:direktor@example.org sms:+381641234999" },
		{ "SMTP down: the alert by SMS, the recovery by both", HEALTH_SMTP,
		  MAIL ", " PHONE, "sms:+381641234999",
		  "email:direktor@example.org sms:+381641234999" },
		{ "SMTP down, mail-only list: no channel for the alert, the recovery by mail",
		  HEALTH_SMTP, MAIL, "", "email:direktor@example.org" },
		{ "SMS sending down: the alert by mail, the recovery by both", HEALTH_SMS_SEND,
		  MAIL ", " PHONE, "email:direktor@example.org",
		  "email:direktor@example.org sms:+381641234999" },
		{ "SMS sending down, phone-only list: the recovery by SMS", HEALTH_SMS_SEND,
		  PHONE, "", "sms:+381641234999" },
	};
	size_t i;
	int failures = 0;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct health_case *c = &cases[i];
		struct fx f;
		long long last = 0;
		char *got;

		memset(&f, 0, sizeof(f));
		fx_open(&f, c->escalation);
		at(T0);
		report(&f, c->part, 0);
		at(T0 + 3599);
		report(&f, c->part, 0);
		failures += alerts_expect(&f, &last, "", c->name, "alert before an hour:");
		at(T0 + 3600);
		report(&f, c->part, 0);
		failures += alerts_expect(&f, &last, c->alert, c->name, "alert");
		/* a restart: the store closed and opened again */
		store_close(&f.st);
		ts_open(f.cfg->database, &f.st);
		at(T0 + 7200);
		report(&f, c->part, 0);
		at(T0 + 9000);
		report(&f, c->part, 0);
		failures += alerts_expect(&f, &last, "", c->name, "alert repeated:");
		at(T0 + 9060);
		report(&f, c->part, 1);
		failures += alerts_expect(&f, &last, c->recovery, c->name, "recovery");
		at(T0 + 9120);
		report(&f, c->part, 1);
		got = alerts_after(&f, last, &last);
		if (strcmp(got, "") != 0 || state_rows(&f) != 0) {
			print_error("%s: after the recovery: '%s', %lld state rows\n", c->name, got,
			    state_rows(&f));
			failures++;
		}
		free(got);
		fx_close(&f);
	}
	assert_int_equal(failures, 0);
}

/* A failure shorter than an hour: neither alert nor recovery notice. */
static void
test_short_failure(void **state)
{
	struct fx f;
	long long last = 0;
	char *got;

	(void)state;
	memset(&f, 0, sizeof(f));
	fx_open(&f, MAIL ", " PHONE);
	at(T0);
	report(&f, HEALTH_SMTP, 0);
	at(T0 + 3000);
	report(&f, HEALTH_SMTP, 0);
	at(T0 + 3100);
	report(&f, HEALTH_SMTP, 1);
	got = alerts_after(&f, 0, &last);
	assert_string_equal(got, "");
	free(got);
	assert_int_equal(state_rows(&f), 0);
	fx_close(&f);
}

/* The clock went back a day while SMTP was failing: the outage counts from
 * the step, so the alert comes an hour after it (it waited a day and an
 * hour), once. */
static void
test_clock_back(void **state)
{
	struct fx f;
	long long last = 0;
	char *got;

	(void)state;
	memset(&f, 0, sizeof(f));
	fx_open(&f, MAIL ", " PHONE);
	at(T0);
	report(&f, HEALTH_SMTP, 0);
	at(T0 - 86400);
	report(&f, HEALTH_SMTP, 0);
	at(T0 - 86400 + 1800);
	report(&f, HEALTH_SMTP, 0);
	got = alerts_after(&f, 0, &last);
	assert_string_equal(got, "");
	free(got);
	at(T0 - 86400 + 3700);
	report(&f, HEALTH_SMTP, 0);
	got = alerts_after(&f, 0, &last);
	assert_string_equal(got, "sms:+381641234999");
	free(got);
	at(T0 - 86400 + 7200);
	report(&f, HEALTH_SMTP, 0);
	got = alerts_after(&f, last, &last);
	assert_string_equal(got, "");
	free(got);
	fx_close(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alert_and_recovery),
		cmocka_unit_test(test_short_failure),
		cmocka_unit_test(test_clock_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
