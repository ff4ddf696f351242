/*
 * test_sla_sms.c - the SMS of an SLA or health notice is made like every
 * other SMS of s48: with sms.ascii transliterated to GSM-7, and within
 * sms.max_segments (cut at a word, "..." appended), both for the
 * escalation numbers (sla_watch_notify_escalation) and for a department
 * reached by SMS only (sla_watch_run).  The mail keeps the subject whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "config.h"
#include "sla.h"
#include "sla_watch.h"
#include "store.h"
#include "templates.h"
#include "util.h"

#include "store_test.h"

/* the configuration; %s: the fixture's directory */
static const char CONF[] =
	"database = \"%s/s48.db\";\nsecret_file = \"secret\";\n"
	"departments = ( { id = \"water\"; name = \"Водовод\"; sms = [\"+381601112233\"]; "
	"keywords = [\"voda\"]; } );\n"
	"default_department = \"water\";\n"
	"escalation = [\"direktor@jkp.example.org\", \"+381641234999\"];\n"
	"sla = { hours = 48; warn_hours = 8; timezone = \"Europe/Belgrade\"; };\n";

static int
setup(void **state)
{
	struct ts_fx *f = ts_fx_open("slasms", "s3cret-s3cret-s3cret\n", CONF);

	sla_use_timezone(f->cfg->sla.timezone);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct ts_fx *f = *state;

	ts_fx_free(&f);
	return 0;
}

/* the body of the newest outbox row of channel, or NULL */
static char *
last_body(struct store *st, const char *channel, const char *column)
{
	char *q = xasprintf("SELECT %s FROM outbox WHERE channel = ?1 ORDER BY id DESC LIMIT 1",
	    column);
	char *v = ts_qstr(store_db(st), q, channel, NULL);

	free(q);
	return v;
}

/* s as many times as it takes to pass n bytes, words apart */
static char *
repeat(const char *s, size_t n)
{
	struct buf b;

	buf_init(&b, n + strlen(s) + 2);
	while (b.len < n) {
		buf_append(&b, s, strlen(s));
		buf_appendc(&b, ' ');
	}
	buf_appendc(&b, '\0');
	return buf_steal(&b, NULL);
}

static void
test_escalation_sms(void **state)
{
	static const struct {
		int ascii, segments;
		const char *subject;    /* NULL: long, of word */
		const char *word;
		const char *expect;     /* the SMS exactly, or NULL: checked by its measure */
	} cases[] = {
		{ 1, 2, "Систем 48: шабачки водовод не ради од 26.11.2026. 10:00", NULL,
		  "Sistem 48: sabacki vodovod ne radi od 26.11.2026. 10:00" },
		{ 1, 2, "Sistem 48: šabački vodovod ne radi", NULL,
		  "Sistem 48: sabacki vodovod ne radi" },
		{ 0, 2, "Систем 48: водовод не ради", NULL, "Систем 48: водовод не ради" },
		{ 1, 2, "Sistem 48: plain ascii stays as it is", NULL,
		  "Sistem 48: plain ascii stays as it is" },
		{ 1, 2, NULL, "Вodovod-i-kanalizacija", NULL },
		{ 1, 1, NULL, "Водовод", NULL },
		{ 0, 2, NULL, "Водовод", NULL },
		{ 0, 3, NULL, "Javna-rasveta", NULL },
	};
	struct ts_fx *f = *state;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *subject = cases[i].subject ? xstrdup(cases[i].subject) :
		    repeat(cases[i].word, 800);
		char *sms, *mail;
		const char *err = NULL;
		struct sms_measure m;

		f->cfg->sms.ascii = cases[i].ascii;
		f->cfg->sms.max_segments = cases[i].segments;
		assert_int_equal(store_begin(f->st, NULL), 0);
		assert_int_equal(sla_watch_notify_escalation(f->st, f->cfg, 0, "alert", subject,
		    "telo", NULL, &err), 2);
		assert_int_equal(store_commit(f->st, NULL), 0);
		sms = last_body(f->st, "sms", "body");
		mail = last_body(f->st, "email", "subject");
		assert_non_null(sms);
		assert_string_equal(mail, subject);
		sms_measure(sms, !cases[i].ascii, &m);
		if (m.segments > cases[i].segments || (cases[i].ascii && m.ucs2))
			fail_msg("case %zu: %d segments%s: %s", i, m.segments,
			    m.ucs2 ? " UCS-2" : "", sms);
		if (cases[i].expect != NULL)
			assert_string_equal(sms, cases[i].expect);
		else if (strlen(sms) < 3 || strcmp(sms + strlen(sms) - 3, "...") != 0)
			fail_msg("case %zu: a cut SMS without '...': %s", i, sms);
		free(sms);
		free(mail);
		free(subject);
	}
}

/* A department reached by SMS only: its warning is made the same way. */
static void
test_department_sms(void **state)
{
	struct ts_fx *f = *state;
	const char *err = NULL;
	char *sms;
	struct sms_measure m;

	assert_int_equal(store_exec(f->st, "INSERT INTO tickets(status, channel, reporter, "
	    "department, subject, text, created_at, due_at, warn_at, updated_at) VALUES ('open', "
	    "'email', 'a@example.org', 'water', 's', 't', 1000, 200000, 90000, 1000)", &err), 0);
	assert_int_equal(sla_watch_run(f->st, f->cfg, &err), 1);
	sms = ts_qstr(store_db(f->st), "SELECT body FROM outbox WHERE kind = 'warning' AND "
	    "recipient = '+381601112233'", NULL, NULL);
	assert_non_null(sms);
	sms_measure(sms, 0, &m);
	assert_int_equal(m.ucs2, 0);
	assert_int_equal(m.segments, 1);
	assert_non_null(strstr(sms, "Upozorenje: rok za prijavu br. 1 istice "));
	free(sms);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_escalation_sms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_department_sms, setup, teardown),
	};

	setenv("S48_NOW", "100000", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
