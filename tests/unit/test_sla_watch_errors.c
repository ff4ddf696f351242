/* test_sla_watch_errors.c - sla_watch_run when a query of the check fails
 * (a damaged or foreign database): it returns -1 with a readable message,
 * never leaves *error_r as the caller had it (s48d's loop logged whatever
 * its uninitialised pointer held). */
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
#include "util.h"

#include "store_test.h"

/* the configuration; %s: the fixture's directory */
static const char CONF[] =
	"database = \"%s/s48.db\";\nsecret_file = \"secret\";\n"
	"departments = ( { id = \"water\"; name = \"Vodovod\"; "
	"email = [\"vodovod@jkp.example.org\"]; keywords = [\"voda\"]; } );\n"
	"default_department = \"water\";\n"
	"sla = { hours = 48; warn_hours = 8; timezone = \"Europe/Belgrade\"; };\n";

static int
setup(void **state)
{
	struct ts_fx *f = ts_fx_open("slaerr", "s3cret-s3cret-s3cret\n", CONF);

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

/* Each row: what breaks the check, and a word its message must hold. */
static void
test_failed_query_message(void **state)
{
	static const struct {
		const char *sql, *word;
	} cases[] = {
		/* the check's queries read events (reopen and notice times) */
		{ "DROP TABLE events", "events" },
		/* a ticket due: marking it fails on a column that is gone
		 * (the UPDATE is prepared when the ticket is found) */
		{ "CREATE TABLE events (id INTEGER PRIMARY KEY, ticket_id INTEGER, at INTEGER, "
		  "kind TEXT, from_value TEXT, to_value TEXT, note TEXT, public INTEGER); "
		  "INSERT INTO tickets(status, channel, reporter, department, subject, text, "
		  "created_at, due_at, warn_at, updated_at) VALUES ('open', 'email', "
		  "'a@example.org', 'water', 's', 't', 1000, 2000, 1500, 1000)", "by" },
	};
	struct ts_fx *f = *state;
	static const char sentinel[] = "untouched";
	const char *err;
	size_t i;

	/* a working check first: no failure, nothing due */
	err = sentinel;
	assert_int_equal(sla_watch_run(f->st, f->cfg, &err), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *e2 = NULL;

		assert_int_equal(store_exec(f->st, cases[i].sql, &e2), 0);
		err = sentinel;
		assert_int_equal(sla_watch_run(f->st, f->cfg, &err), -1);
		assert_non_null(err);
		assert_ptr_not_equal(err, sentinel);
		if (strstr(err, cases[i].word) == NULL)
			fail_msg("case %zu: message '%s' lacks '%s'", i, err, cases[i].word);
		/* nothing was left half done: the transaction is gone */
		assert_int_equal(store_in_transaction(f->st), 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_failed_query_message, setup, teardown),
	};

	setenv("S48_NOW", "100000", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
