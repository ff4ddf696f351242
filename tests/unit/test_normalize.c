/* test_normalize.c - UTF-8 repair, matching form and transliteration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "normalize.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct textcase {
	const char *in;
	size_t len;         /* 0: strlen(in) */
	const char *want;
};

static size_t
len_of(const struct textcase *c)
{
	return c->len ? c->len : strlen(c->in);
}

static void
test_norm_text(void **state)
{
	static const struct textcase cases[] = {
		{ "Пукла ЦЕВ у Улици Đure Đakovića!", 0, "pukla cev u ulici djure djakovica" },
		{ "", 0, "" },
		{ "   ", 0, "" },
		{ "!!!", 0, "" },
		{ "Voda", 0, "voda" },
		{ "  Ne  radi\tRASVETA\r\n u ulici  ", 0, "ne radi rasveta u ulici" },
		/* every Serbian Cyrillic letter, lower and upper */
		{ "абвгдђежзијклљмнњопрстћуфхцчџш", 0, "abvgddjezzijklljmnnjoprstcufhccdzs" },
		{ "АБВГДЂЕЖЗИЈКЛЉМНЊОПРСТЋУФХЦЧЏШ", 0, "abvgddjezzijklljmnnjoprstcufhccdzs" },
		{ "čćšžđ ČĆŠŽĐ", 0, "ccszdj ccszdj" },
		{ "ЉУБАВ Њива ЏЕП Ђак", 0, "ljubav njiva dzep djak" },
		{ "Ǉubav ǋegoš ǅep", 0, "ljubav njegos dzep" },
		/* mixed scripts in one word and sentence */
		{ "Sijalицa ne radi", 0, "sijalica ne radi" },
		{ "улица Kneza Милоша 12", 0, "ulica kneza milosa 12" },
		/* Latin-1 and Extended-A accents */
		{ "Café Müller Straße Øre Łódź Ñandú", 0, "cafe muller strasse ore lodz nandu" },
		{ "Ðorđe", 0, "djordje" },
		{ "Vũ Hoàng Nguyễn", 0, "vu hoang nguyen" },
		{ "ＳＴＡＴＵＳ　１２", 0, "status 12" },
		/* combining marks, soft hyphen and zero width space do not split */
		{ "c\xcc\x8c" "esma ras\xc2\xad" "veta ne\xe2\x80\x8b" "radi", 0, "cesma rasveta neradi" },
		/* punctuation, symbols, emoji, Greek act as separators */
		{ "voda,struja;gas/kanal-izacija", 0, "voda struja gas kanal izacija" },
		{ "curi\xf0\x9f\x92\xa7voda", 0, "curi voda" },
		{ "αβγ rupa", 0, "rupa" },
		{ "#12 STATUS", 0, "12 status" },
		/* invalid UTF-8 never crashes and separates */
		{ "ab\xff" "cd", 0, "ab cd" },
		{ "ab\xc3", 0, "ab" },                  /* truncated 2-byte */
		{ "ab\xe2\x82", 0, "ab" },              /* truncated 3-byte */
		{ "ab\xf0\x9f\x92", 0, "ab" },          /* truncated 4-byte */
		{ "a\xc0\xafz", 0, "a z" },             /* overlong '/' */
		{ "a\xe0\x80\xafz", 0, "a z" },         /* overlong 3-byte */
		{ "a\xed\xa0\x80z", 0, "a z" },         /* surrogate D800 */
		{ "a\xf4\x90\x80\x80z", 0, "a z" },     /* above U+10FFFF */
		{ "a\x80\x80z", 0, "a z" },             /* lone continuations */
		{ "ab\0cd", 5, "ab cd" },               /* NUL */
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		char *got = norm_text(cases[i].in, len_of(&cases[i]));

		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: norm_text(\"%s\") = \"%s\", want \"%s\"", i,
			    cases[i].in, got, cases[i].want);
		free(got);
	}
}

static void
test_translit(void **state)
{
	static const struct textcase cases[] = {
		{ "Ђорђе Čačak ШУМА", 0, "Djordje Cacak SUMA" },
		{ "ЉУБА Љуба Љ", 0, "LJUBA Ljuba Lj" },
		{ "ЊЕГОШ, Његош", 0, "NJEGOS, Njegos" },
		{ "ДЕЉ. ЏАК Џак", 0, "DELJ. DZAK Dzak" },
		{ "ĐAK Đak đak", 0, "DJAK Djak djak" },
		{ "ＳＴＡＴＵＳ １２", 0, "STATUS 12" },
		{ "Улица 27. марта бр. 5!", 0, "Ulica 27. marta br. 5!" },
		{ "Prijava: voda (hitno) €5", 0, "Prijava: voda (hitno) €5" },
		{ "emoji \xf0\x9f\x92\xa7 ok", 0, "emoji \xf0\x9f\x92\xa7 ok" },
		{ "bad\xff", 0, "bad\xef\xbf\xbd" },
		{ "a\0b", 3, "a\xef\xbf\xbd" "b" },
		{ "", 0, "" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		char *got = norm_translit(cases[i].in, len_of(&cases[i]));

		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: norm_translit(\"%s\") = \"%s\", want \"%s\"", i,
			    cases[i].in, got, cases[i].want);
		free(got);
	}
}

static void
test_utf8_valid_repair(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		int valid;
		const char *repaired;
	} cases[] = {
		{ "plain", 5, 1, "plain" },
		{ "Ђорђе", 10, 1, "Ђорђе" },
		{ "\xf0\x9f\x92\xa7", 4, 1, "\xf0\x9f\x92\xa7" },
		{ "\xef\xbf\xbf", 3, 1, "\xef\xbf\xbf" },
		{ "a\0b", 3, 0, "a\xef\xbf\xbd" "b" },
		{ "\xff", 1, 0, "\xef\xbf\xbd" },
		{ "\xc3", 1, 0, "\xef\xbf\xbd" },
		/* maximal subpart: E2 82 then 'x' is one U+FFFD */
		{ "\xe2\x82x", 3, 0, "\xef\xbf\xbdx" },
		{ "\xc0\xaf", 2, 0, "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xed\xa0\x80", 3, 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xf4\x90\x80\x80", 4, 0,
		  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xf0\x9f\x92", 3, 0, "\xef\xbf\xbd" },
		{ "ok\xf8\x88\x80\x80\x80", 7, 0,
		  "ok\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "", 0, 1, "" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		char *r;

		if (norm_utf8_valid(cases[i].in, cases[i].len) != cases[i].valid)
			fail_msg("case %zu: norm_utf8_valid != %d", i, cases[i].valid);
		r = norm_utf8_repair(cases[i].in, cases[i].len);
		if (strcmp(r, cases[i].repaired) != 0)
			fail_msg("case %zu: repair gave \"%s\"", i, r);
		assert_int_equal(norm_utf8_valid(r, strlen(r)), 1);
		free(r);
	}
}

/* Every 1- to 3-byte sequence over a set of interesting bytes: repair is
 * valid, norm_text stays within [a-z0-9 ] and within the input length. */
static void
test_exhaustive_short(void **state)
{
	static const unsigned char bytes[] = {
		0x00, 0x20, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0,
		0xc1, 0xc2, 0xc4, 0xd0, 0xd1, 0xdf, 0xe0, 0xe1, 0xed, 0xee, 0xef,
		0xf0, 0xf1, 0xf4, 0xf5, 0xff,
	};
	size_t nb = N(bytes), a, b, c;
	char in[3];

	(void)state;
	for (a = 0; a < nb; a++)
		for (b = 0; b < nb; b++)
			for (c = 0; c < nb; c++) {
				size_t len;
				char *r, *t, *x;
				const char *p;

				in[0] = (char)bytes[a];
				in[1] = (char)bytes[b];
				in[2] = (char)bytes[c];
				for (len = 1; len <= 3; len++) {
					r = norm_utf8_repair(in, len);
					assert_int_equal(norm_utf8_valid(r, strlen(r)), 1);
					t = norm_text(in, len);
					assert_true(strlen(t) <= len);
					for (p = t; *p; p++)
						assert_true((*p >= 'a' && *p <= 'z') ||
						    (*p >= '0' && *p <= '9') || *p == ' ');
					x = norm_translit(in, len);
					assert_int_equal(norm_utf8_valid(x, strlen(x)), 1);
					free(r);
					free(t);
					free(x);
				}
			}
}

static void
test_next_word(void **state)
{
	const char *s = "pukla cev  u ulici";
	static const char *const want[] = { "pukla", "cev", "u", "ulici" };
	size_t pos = 0, len, i = 0;
	const char *w;

	(void)state;
	while ((w = norm_next_word(s, &pos, &len)) != NULL) {
		assert_true(i < N(want));
		assert_int_equal(len, strlen(want[i]));
		assert_memory_equal(w, want[i], len);
		i++;
	}
	assert_int_equal(i, N(want));
	pos = 0;
	assert_null(norm_next_word("", &pos, &len));
	pos = 0;
	assert_null(norm_next_word("   ", &pos, &len));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_norm_text),
		cmocka_unit_test(test_translit),
		cmocka_unit_test(test_utf8_valid_repair),
		cmocka_unit_test(test_exhaustive_short),
		cmocka_unit_test(test_next_word),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
