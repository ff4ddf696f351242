/*
 * test_privacy.c - what reaches the logs: masking of contacts inside free
 * text (server replies, gateway errors), masking of short numbers, and log
 * lines that a message's CR/LF/ESC cannot split or colour.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "util.h"

static void
test_mask_text_table(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		/* Twilio's 21211 quotes the number */
		{ "twilio: HTTP 400 bad request: error 21211: The 'To' number +381641112222 is "
		  "not a valid phone number.",
		  "twilio: HTTP 400 bad request: error 21211: The 'To' number +38164***2222 is "
		  "not a valid phone number." },
		/* without '+', as Infobip writes numbers */
		{ "generic: HTTP 400: {\"error\":\"381641112222 blocked\"}",
		  "generic: HTTP 400: {\"error\":\"38164***2222 blocked\"}" },
		{ "550 5.1.1 <jovana.j@example.net>: Recipient address rejected",
		  "550 5.1.1 <j***@example.net>: Recipient address rejected" },
		{ "mail to marko@example.org.", "mail to m***@example.org." },
		{ "to=pera@x.rs,mika@y.rs", "to=p***@x.rs,m***@y.rs" },
		{ "a phone in an address 381641112222@sms.example.org",
		  "a phone in an address 3***@sms.example.org" },
		/* short digit runs, times and codes stay */
		{ "HTTP 429 at 2026-11-26T10:00:00Z, code 20429, retry in 1234567 ms",
		  "HTTP 429 at 2026-11-26T10:00:00Z, code 20429, retry in 1234567 ms" },
		{ "nothing here @ all @", "nothing here @ all @" },
		{ "1+381641112222", "1+38164***2222" },
		{ "", "" },
	};
	size_t i;

	(void)state;
	log_set_level(LOG_LEVEL_INFO);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *m = log_mask_text(cases[i].in);

		if (strcmp(m, cases[i].out) != 0)
			fail_msg("case %zu: \"%s\" -> \"%s\", want \"%s\"", i, cases[i].in, m,
			    cases[i].out);
		free(m);
	}
	/* debug level: as it was */
	log_set_level(LOG_LEVEL_DEBUG);
	{
		char *m = log_mask_text(cases[0].in);
		assert_string_equal(m, cases[0].in);
		free(m);
	}
	log_set_level(LOG_LEVEL_INFO);
}

/* A masked number hides at least three digits, whatever its length. */
static void
test_mask_short_numbers(void **state)
{
	static const char *const nums[] = {
		"+3816412345", "+38164123456", "+12025550123", "0641234567", "+381641234567",
		"+4915112345678",
	};
	char m[64];
	size_t i;

	(void)state;
	log_set_level(LOG_LEVEL_INFO);
	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		size_t n = strlen(nums[i]);
		const char *stars;

		log_mask(nums[i], m, sizeof(m));
		stars = strstr(m, "***");
		assert_non_null(stars);
		/* what is shown around the stars, at most n - 3 characters of it */
		if (strlen(m) - 3 > n - 3)
			fail_msg("%s -> %s shows %zu of %zu characters", nums[i], m, strlen(m) - 3, n);
		assert_memory_equal(stars + 3, nums[i] + n - 4, 4);
	}
	assert_string_equal(log_mask("+381641234567", m, sizeof(m)), "+38164***4567");
}

/* Run log_fn's line through stderr into a file; return what was written. */
static char *
capture(void (*emit)(void))
{
	char path[] = "/tmp/s48-test-privacy.XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	char *out = xcalloc(1, 4096);
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	emit();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, out, 4095, 0);
	assert_true(n > 0);
	close(fd);
	unlink(path);
	return out;
}

static void
emit_hostile(void)
{
	log_warnx("ingest %s: %s", "imap:1", "subject\r\n2026-11-26T10:00:00Z s48d[info]: "
	    "forged\033[31m red \xc2\x9b" "31m\x7f end");
}

static void
test_log_line_clean(void **state)
{
	char *out;

	(void)state;
	log_init("test_privacy", LOG_LEVEL_INFO, 0);
	out = capture(emit_hostile);
	/* one line: the message's CR LF did not start another */
	assert_non_null(strchr(out, '\n'));
	assert_int_equal(strchr(out, '\n')[1], '\0');
	assert_null(strchr(out, '\r'));
	assert_null(strchr(out, '\033'));
	assert_null(strstr(out, "\xc2\x9b"));
	assert_null(strchr(out, '\x7f'));
	assert_non_null(strstr(out, "subject??2026-11-26T10:00:00Z s48d[info]: forged?[31m red ?31m? end"));
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mask_text_table),
		cmocka_unit_test(test_mask_short_numbers),
		cmocka_unit_test(test_log_line_clean),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
