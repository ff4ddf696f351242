/* test_gateway_json.c - repairing gateway JSON for jansson, dot paths,
 * scalars as text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateway_json.h"

#define FFFD "\xef\xbf\xbd"

static void
test_repair(void **state)
{
	static const struct {
		const char *in;
		size_t len;            /* 0: strlen */
		const char *out;
	} cases[] = {
		{ "{\"t\":\"ok\"}", 0, "{\"t\":\"ok\"}" },
		{ "{\"t\":\"\xc4\x8d\xd1\x9b\"}", 0, "{\"t\":\"\xc4\x8d\xd1\x9b\"}" },
		{ "{\"t\":\"a\xff" "b\"}", 0, "{\"t\":\"a" FFFD "b\"}" },
		{ "{\"t\":\"a\xc4\"}", 0, "{\"t\":\"a" FFFD "\"}" },
		{ "{\"t\":\"a\0b\"}", 11, "{\"t\":\"a" FFFD "b\"}" },
		{ "{\"t\":\"a\\u0000b\"}", 0, "{\"t\":\"a\\uFFFDb\"}" },
		{ "{\"t\":\"\\ud800x\"}", 0, "{\"t\":\"\\uFFFDx\"}" },
		{ "{\"t\":\"\\uDC00\"}", 0, "{\"t\":\"\\uFFFD\"}" },
		{ "{\"t\":\"\\ud83d\\ude00\"}", 0, "{\"t\":\"\\ud83d\\ude00\"}" },
		{ "{\"t\":\"\\ud83d\\ud83d\\ude00\"}", 0, "{\"t\":\"\\uFFFD\\ud83d\\ude00\"}" },
		/* an escaped backslash before "u0000" is text, not an escape */
		{ "{\"t\":\"\\\\u0000\"}", 0, "{\"t\":\"\\\\u0000\"}" },
		{ "{\"t\":\"\\\"\\u0000\"}", 0, "{\"t\":\"\\\"\\uFFFD\"}" },
		/* outside strings nothing is rewritten */
		{ "[1, \\u0000]", 0, "[1, \\u0000]" },
		{ "", 0, "" },
	};
	size_t i, n, len;
	char *s;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = cases[i].len ? cases[i].len : strlen(cases[i].in);
		s = gateway_json_repair(cases[i].in, len, &n);
		if (strcmp(s, cases[i].out) != 0)
			fail_msg("case %zu: got \"%s\" expected \"%s\"", i, s, cases[i].out);
		assert_int_equal(n, strlen(s));
		free(s);
	}
}

static void
test_load(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		int ok;
		const char *text;      /* value of "t" when ok */
	} cases[] = {
		{ "{\"t\":\"Pukla cev\"}", 0, 1, "Pukla cev" },
		{ "{\"t\":\"Pukla \xff\xfe cev\"}", 0, 1, "Pukla " FFFD FFFD " cev" },
		{ "{\"t\":\"x\\u0000y\"}", 0, 1, "x" FFFD "y" },
		{ "{\"t\":\"\\ud800\"}", 0, 1, FFFD },
		{ "{\"t\":\"x\0y\"}", 11, 1, "x" FFFD "y" },
		{ "<html>502 Bad Gateway</html>", 0, 0, NULL },
		{ "{\"t\":", 0, 0, NULL },
		{ "{\"t\":1,\"t\":2}", 0, 0, NULL },
		{ "", 0, 0, NULL },
	};
	size_t i, len;
	json_t *j;
	char *err;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err = NULL;
		len = cases[i].len ? cases[i].len : strlen(cases[i].in);
		j = gateway_json_load(cases[i].in, len, &err);
		if (cases[i].ok) {
			if (j == NULL)
				fail_msg("case %zu: %s", i, err);
			assert_string_equal(json_string_value(json_object_get(j, "t")),
			    cases[i].text);
			json_decref(j);
		} else {
			assert_null(j);
			assert_non_null(err);
			assert_non_null(strstr(err, "not JSON"));
			free(err);
		}
	}
}

static void
test_paths(void **state)
{
	static const char doc[] =
	    "{\"data\":{\"messages\":[{\"id\":17,\"from\":\"+381641234567\"},"
	    "{\"id\":\"abc\",\"meta\":{\"ok\":true}}],\"count\":2},"
	    "\"meta\":{\"next\":\"c-42\",\"rate\":1.5,\"big\":1e3,\"tiny\":0.1,"
	    "\"neg\":-7,\"nil\":null,\"no\":false},"
	    "\"a.b\":\"dotted key\"}";
	static const struct {
		const char *path;
		const char *text;      /* NULL: no scalar there */
	} cases[] = {
		{ "meta.next", "c-42" },
		{ "data.count", "2" },
		{ "data.messages.0.id", "17" },
		{ "data.messages.0.from", "+381641234567" },
		{ "data.messages.1.id", "abc" },
		{ "data.messages.1.meta.ok", "true" },
		{ "meta.no", "false" },
		{ "meta.rate", "1.5" },
		{ "meta.big", "1000" },
		{ "meta.tiny", "0.1" },
		{ "meta.neg", "-7" },
		{ "meta.nil", NULL },
		{ "data.messages", NULL },             /* an array is not a scalar */
		{ "data.messages.2.id", NULL },
		{ "data.messages.x", NULL },
		{ "data.messages.-1", NULL },
		{ "data.count.more", NULL },
		{ "missing", NULL },
		{ "meta..next", NULL },
		{ "meta.", NULL },
		{ ".meta", NULL },
		{ "a.b", NULL },                       /* dots always separate */
	};
	json_t *root, *v;
	size_t i;
	char *err = NULL, *t;

	(void)state;
	root = gateway_json_load(doc, strlen(doc), &err);
	assert_non_null(root);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = gateway_json_path_text(root, cases[i].path);
		if (cases[i].text == NULL) {
			if (t != NULL)
				fail_msg("%s: got \"%s\", expected nothing", cases[i].path, t);
		} else {
			if (t == NULL || strcmp(t, cases[i].text) != 0)
				fail_msg("%s: got \"%s\", expected \"%s\"", cases[i].path,
				    t ? t : "(null)", cases[i].text);
		}
		free(t);
	}
	assert_ptr_equal(gateway_json_path(root, ""), root);
	assert_ptr_equal(gateway_json_path(root, NULL), root);
	v = gateway_json_path(root, "data.messages");
	assert_true(json_is_array(v));
	assert_int_equal(json_array_size(v), 2);
	assert_null(gateway_json_path(NULL, "meta"));
	assert_null(gateway_json_text(NULL));
	json_decref(root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_repair),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
