/*
 * test_imap_guard_eof.c - imap_intake_guard_eof (daemon/intake_imap.c):
 * end of stream becomes a read error on a libetpan session, with a driver
 * copy owned by each stream (freed with it: no leak under ASan) and no
 * table shared between threads (sessions guarded on two threads at once:
 * no report under TSan).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <libetpan/libetpan.h>

#include "intake_imap.h"
#include "log.h"

static const char greeting[] = "* OK ready\r\n";

/* a session on a memory stream that sent the greeting, guarded */
static mailimap *
guarded_session(void)
{
	mailimap *imap = mailimap_new(0, NULL);
	mailstream *s = imap_intake_mem_stream(greeting, sizeof(greeting) - 1);
	int r;

	assert_non_null(imap);
	assert_non_null(s);
	r = mailimap_connect(imap, s);
	assert_true(r == MAILIMAP_NO_ERROR_NON_AUTHENTICATED);
	assert_int_equal(imap_intake_guard_eof(imap), 0);
	return imap;
}

static void
session_free(mailimap *imap)
{
	if (imap->imap_stream != NULL) {
		mailstream_close(imap->imap_stream);
		imap->imap_stream = NULL;
	}
	mailimap_free(imap);
}

/* after the greeting the stream is at its end: a read is an error (-1),
 * not "no data yet" (0), on which libetpan would spin inside a literal */
static void
test_eof_is_an_error(void **state)
{
	mailimap *imap;
	mailstream *raw;
	char b[16];

	(void)state;
	imap = guarded_session();
	assert_int_equal(mailstream_read(imap->imap_stream, b, sizeof(b)), -1);
	session_free(imap);

	/* without the guard, libetpan's own answer */
	imap = mailimap_new(0, NULL);
	raw = imap_intake_mem_stream(greeting, sizeof(greeting) - 1);
	assert_true(mailimap_connect(imap, raw) == MAILIMAP_NO_ERROR_NON_AUTHENTICATED);
	assert_int_equal(mailstream_read(imap->imap_stream, b, sizeof(b)), 0);
	session_free(imap);
}

/* a second guard on the same session changes nothing; two sessions each
 * get a driver of their own */
static void
test_per_stream_driver(void **state)
{
	mailimap *a, *b;
	mailstream_low_driver *da, *db;

	(void)state;
	a = guarded_session();
	b = guarded_session();
	da = mailstream_get_low(a->imap_stream)->driver;
	db = mailstream_get_low(b->imap_stream)->driver;
	assert_ptr_not_equal(da, db);
	assert_int_equal(imap_intake_guard_eof(a), 0);
	assert_ptr_equal(mailstream_get_low(a->imap_stream)->driver, da);
	session_free(a);
	session_free(b);
}

/* many sessions guarded and freed on two threads at once (the pump's two
 * sessions connect on their own threads) */
static void *
guard_many(void *arg)
{
	int i;
	char b[4];

	(void)arg;
	for (i = 0; i < 200; i++) {
		mailimap *imap = guarded_session();

		if (mailstream_read(imap->imap_stream, b, sizeof(b)) != -1)
			return (void *)1;
		session_free(imap);
	}
	return NULL;
}

static void
test_two_threads(void **state)
{
	pthread_t t1, t2;
	void *r1, *r2;

	(void)state;
	assert_int_equal(pthread_create(&t1, NULL, guard_many, NULL), 0);
	assert_int_equal(pthread_create(&t2, NULL, guard_many, NULL), 0);
	pthread_join(t1, &r1);
	pthread_join(t2, &r2);
	assert_null(r1);
	assert_null(r2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eof_is_an_error),
		cmocka_unit_test(test_per_stream_driver),
		cmocka_unit_test(test_two_threads),
	};

	log_init("test_imap_guard_eof", LOG_LEVEL_ERR, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
