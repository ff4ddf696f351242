/* test_phone.c - phone numbers to E.164 and their kind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "phone.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void
test_phone_table(void **state)
{
	static const struct {
		const char *in;
		const char *cc;
		enum phone_kind kind;
		const char *out;
	} cases[] = {
		{ "064 123 4567", "381", PHONE_MOBILE, "+381641234567" },
		{ "0641234567", "381", PHONE_MOBILE, "+381641234567" },
		{ "381641234567", "381", PHONE_MOBILE, "+381641234567" },
		{ "00381641234567", "381", PHONE_MOBILE, "+381641234567" },
		{ "+381 64 123-4567", "381", PHONE_MOBILE, "+381641234567" },
		{ "+381 (64) 123-4567", "381", PHONE_MOBILE, "+381641234567" },
		{ "+381 (0)64 123 4567", "381", PHONE_MOBILE, "+381641234567" },
		{ "  +381641234567\n", "381", PHONE_MOBILE, "+381641234567" },
		{ "064/123-45-67", NULL, PHONE_MOBILE, "+381641234567" },
		{ "064.123.4567", "", PHONE_MOBILE, "+381641234567" },
		{ "060 12345 67", "381", PHONE_MOBILE, "+381601234567" },
		{ "069 123 456", "381", PHONE_MOBILE, "+38169123456" },
		/* landlines */
		{ "011 123 4567", "381", PHONE_FIXED, "+381111234567" },
		{ "+381 21 456 789", "381", PHONE_FIXED, "+38121456789" },
		{ "0800 123 456", "381", PHONE_FIXED, "+381800123456" },
		/* short codes */
		{ "1234", "381", PHONE_SHORTCODE, "1234" },
		{ "192", "381", PHONE_SHORTCODE, "192" },
		{ "123456", "381", PHONE_SHORTCODE, "123456" },
		{ "064123", "381", PHONE_INVALID, "" },
		{ "0800", "381", PHONE_INVALID, "" },
		/* alphanumeric senders */
		{ "Telenor", "381", PHONE_ALPHA, "Telenor" },
		{ "BANKA", "381", PHONE_ALPHA, "BANKA" },
		{ "A1 Srbija", "381", PHONE_ALPHA, "A1 Srbija" },
		{ "Теленор", "381", PHONE_ALPHA, "Теленор" },
		/* foreign: presumed mobile */
		{ "+4917612345678", "381", PHONE_MOBILE, "+4917612345678" },
		{ "4917612345678", "381", PHONE_MOBILE, "+4917612345678" },
		{ "0049 30 1234567", "381", PHONE_MOBILE, "+49301234567" },
		{ "+385 91 234 5678", "381", PHONE_MOBILE, "+385912345678" },
		/* another configured country: national numbers get its code */
		{ "030 1234567", "49", PHONE_MOBILE, "+49301234567" },
		{ "0641234567", "387", PHONE_MOBILE, "+387641234567" },
		/* junk */
		{ "", "381", PHONE_INVALID, "" },
		{ "   ", "381", PHONE_INVALID, "" },
		{ NULL, "381", PHONE_INVALID, "" },
		{ "12", "381", PHONE_INVALID, "" },
		{ "+1234", "381", PHONE_INVALID, "" },
		{ "06", "381", PHONE_INVALID, "" },
		{ "064#1234567", "381", PHONE_INVALID, "" },
		{ "+38164+1234567", "381", PHONE_INVALID, "" },
		{ "+0641234567", "381", PHONE_INVALID, "" },
		{ "+1234567890123456", "381", PHONE_INVALID, "" },
		{ "064 123 4567 890 123 456 789", "381", PHONE_INVALID, "" },
		{ "+381 6", "381", PHONE_INVALID, "" },
		{ "+381 64 1234 56789", "381", PHONE_INVALID, "" },
		{ "---", "381", PHONE_INVALID, "" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		char out[32] = "garbage";
		enum phone_kind k = phone_normalize(cases[i].in, cases[i].cc, out, sizeof(out));

		if (k != cases[i].kind || strcmp(out, cases[i].out) != 0)
			fail_msg("case %zu \"%s\": got %s \"%s\", want %s \"%s\"", i,
			    cases[i].in ? cases[i].in : "(null)", phone_kind_name(k), out,
			    phone_kind_name(cases[i].kind), cases[i].out);
	}
}

static void
test_phone_small_out(void **state)
{
	char out[8];

	(void)state;
	/* a short buffer is never overrun and stays terminated */
	assert_int_equal(phone_normalize("0641234567", "381", out, sizeof(out)), PHONE_MOBILE);
	assert_int_equal(strlen(out), sizeof(out) - 1);
	assert_int_equal(phone_normalize("0641234567", "381", NULL, 0), PHONE_MOBILE);
}

static void
test_phone_kind_names(void **state)
{
	(void)state;
	assert_string_equal(phone_kind_name(PHONE_MOBILE), "mobile");
	assert_string_equal(phone_kind_name(PHONE_FIXED), "fixed");
	assert_string_equal(phone_kind_name(PHONE_SHORTCODE), "shortcode");
	assert_string_equal(phone_kind_name(PHONE_ALPHA), "alpha");
	assert_string_equal(phone_kind_name(PHONE_INVALID), "invalid");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_phone_table),
		cmocka_unit_test(test_phone_small_out),
		cmocka_unit_test(test_phone_kind_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
