/* test_util.c - bounded buffers, secret files, time parsing, tokens, masking. */
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

#include "log.h"
#include "util.h"

static void
test_buf_bounds(void **state)
{
	struct buf b;
	size_t i;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_appends(&b, "0123456789"), 0);
	assert_int_equal(b.len, 10);
	assert_int_equal(buf_appendc(&b, 'x'), -1);      /* over max: refused */
	assert_int_equal(b.len, 10);
	assert_string_equal(b.data, "0123456789");
	buf_free(&b);

	/* SIZE_MAX as the maximum used to wrap max + 1 to 0: a heap overflow */
	buf_init(&b, SIZE_MAX);
	for (i = 0; i < 1000; i++)
		assert_int_equal(buf_appends(&b, "abcdefghij"), 0);
	assert_int_equal(b.len, 10000);
	assert_int_equal(b.data[b.len], '\0');
	assert_true(b.cap > b.len);
	buf_free(&b);

	buf_init(&b, 100);
	assert_int_equal(buf_appendf(&b, "%s-%d", "ticket", 12), 0);
	assert_string_equal(b.data, "ticket-12");
	assert_int_equal(buf_append(&b, "x", SIZE_MAX), -1);
	buf_free(&b);
}

static void
test_secret_file(void **state)
{
	char dir[] = "/tmp/s48-util-XXXXXX", path[64];
	const char *err = NULL;
	char *secret = NULL;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/secret", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("s3cret\r\n", f);
	fclose(f);
	chmod(path, 0644);
	assert_int_equal(util_read_secret_file(path, &secret, &err), -1);
	assert_non_null(strstr(err, "group or others"));
	chmod(path, 0600);
	assert_int_equal(util_read_secret_file(path, &secret, &err), 0);
	assert_string_equal(secret, "s3cret");
	free(secret);
	unlink(path);
	rmdir(dir);
}

static void
test_times(void **state)
{
	static const struct { const char *in; long long want; } iso[] = {
		{ "2026-11-24T10:00:00Z", 1795514400LL },
		{ "2026-11-24T10:00:00.000+0000", 1795514400LL },
		{ "2026-11-24T11:00:00+01:00", 1795514400LL },
		{ "2026-11-24 10:00:00", 1795514400LL },
		{ "2026-13-24T10:00:00Z", -1 },
		{ "garbage", -1 },
	};
	static const struct { const char *in; long long want; } rfc[] = {
		{ "Tue, 24 Nov 2026 10:00:00 +0000", 1795514400LL },
		{ "24 Nov 2026 11:00:00 +0100", 1795514400LL },
		{ "Tue, 24 Nov 2026 10:00 +0000", 1795514400LL },
		{ "not a date", -1 },
	};
	char out[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(iso) / sizeof(iso[0]); i++)
		assert_int_equal((long long)util_parse_iso8601(iso[i].in), iso[i].want);
	for (i = 0; i < sizeof(rfc) / sizeof(rfc[0]); i++)
		assert_int_equal((long long)util_parse_rfc2822(rfc[i].in), rfc[i].want);
	util_iso8601((time_t)1795514400LL, out);
	assert_string_equal(out, "2026-11-24T10:00:00Z");
}

static void
test_token_and_mask(void **state)
{
	char a[17], b[17], c[17], m[64];

	(void)state;
	util_staff_token("secret", 12, a);
	util_staff_token("secret", 12, b);
	util_staff_token("secret", 13, c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_int_equal(strlen(a), 16);
	log_set_level(LOG_LEVEL_INFO);
	assert_string_equal(log_mask("+381641234567", m, sizeof(m)), "+38164***4567");
	assert_string_equal(log_mask("jovana@example.org", m, sizeof(m)), "j***@example.org");
	log_set_level(LOG_LEVEL_DEBUG);
	assert_string_equal(log_mask("+381641234567", m, sizeof(m)), "+381641234567");
	log_set_level(LOG_LEVEL_INFO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_bounds),
		cmocka_unit_test(test_secret_file),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_token_and_mask),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
