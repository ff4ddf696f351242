/*
 * test_rtf.c - Outlook's compressed RTF body (rtf_text.h): MS-OXRTFCP's own
 * two worked examples byte for byte, uncompressed ("MELA") streams, lying
 * headers, bad CRCs, references to unwritten dictionary positions, cut
 * streams, the output cap, and a round trip through a small compressor
 * written here from the spec (so the dictionary's wrap is exercised); then
 * RTF to text: code pages 1250/1251 and per-font \fcharset, \uN with its
 * \ucN fallback, surrogate pairs, skipped destinations, \bin, nested
 * groups, Outlook's encapsulated HTML, and malformed input (always valid
 * UTF-8 within the cap).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "normalize.h"
#include "rtf_text.h"
#include "util.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* MS-OXRTFCP 3.1 example 1: simple compressed RTF. */
static const unsigned char ex1[] = {
	0x2d, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00, 0x00, 0x4c, 0x5a, 0x46, 0x75,
	0xf1, 0xc5, 0xc7, 0xa7, 0x03, 0x00, 0x0a, 0x00, 0x72, 0x63, 0x70, 0x67,
	0x31, 0x32, 0x35, 0x42, 0x32, 0x0a, 0xf3, 0x20, 0x68, 0x65, 0x6c, 0x09,
	0x00, 0x20, 0x62, 0x77, 0x05, 0xb0, 0x6c, 0x64, 0x7d, 0x0a, 0x80, 0x0f,
	0xa0,
};
static const char ex1_raw[] = "{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n";

/* MS-OXRTFCP 3.1 example 2: a reference crossing the write position. */
static const unsigned char ex2[] = {
	0x1a, 0x00, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x4c, 0x5a, 0x46, 0x75,
	0xe2, 0xd4, 0x4b, 0x51, 0x41, 0x00, 0x04, 0x20, 0x57, 0x58, 0x59, 0x5a,
	0x0d, 0x6e, 0x7d, 0x01, 0x0e, 0xb0,
};
static const char ex2_raw[] = "{\\rtf1 WXYZWXYZWXYZWXYZWXYZ}";

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* A copy of s[0..n) with the CRC recomputed over its content. */
static unsigned char *
recrc(const unsigned char *s, size_t n)
{
	unsigned char *c = xmalloc(n);

	memcpy(c, s, n);
	put32(c + 12, rtf_crc(c + 16, n - 16));
	return c;
}

static void
expect_ok(const unsigned char *in, size_t len, size_t max, int want_rc,
    const char *want, size_t want_len)
{
	char *out;
	size_t outlen;
	const char *err = NULL;
	int rc = rtf_decompress(in, len, max, &out, &outlen, &err);

	if (rc < 0)
		fail_msg("rtf_decompress: %s", err);
	assert_int_equal(rc, want_rc);
	assert_int_equal(outlen, want_len);
	assert_memory_equal(out, want, want_len);
	assert_int_equal(out[outlen], '\0');
	free(out);
}

static void
expect_error(const unsigned char *in, size_t len, const char *want_err)
{
	char *out = (char *)1;
	size_t outlen = 1;
	const char *err = NULL;

	assert_int_equal(rtf_decompress(in, len, RTF_MAX_RAW, &out, &outlen, &err), -1);
	assert_null(out);
	assert_int_equal(outlen, 0);
	assert_non_null(err);
	if (strstr(err, want_err) == NULL)
		fail_msg("error \"%s\", wanted \"%s\"", err, want_err);
}

static void
test_spec_examples(void **state)
{
	(void)state;
	expect_ok(ex1, sizeof(ex1), RTF_MAX_RAW, 0, ex1_raw, strlen(ex1_raw));
	expect_ok(ex2, sizeof(ex2), RTF_MAX_RAW, 0, ex2_raw, strlen(ex2_raw));
	/* the CRC as the spec computes it is the one in the examples */
	assert_int_equal(rtf_crc(ex1 + 16, sizeof(ex1) - 16), 0xa7c7c5f1u);
	assert_int_equal(rtf_crc(ex2 + 16, sizeof(ex2) - 16), 0x514bd4e2u);
	assert_int_equal(rtf_crc(NULL, 0), 0);
}

static void
test_uncompressed(void **state)
{
	static const char rtf[] = "{\\rtf1 MELA text}";
	unsigned char s[64];
	size_t n = strlen(rtf);

	(void)state;
	put32(s, (uint32_t)(n + 12));
	put32(s + 4, (uint32_t)n);
	put32(s + 8, RTF_UNCOMPRESSED);
	put32(s + 12, 0);
	memcpy(s + 16, rtf, n);
	expect_ok(s, 16 + n, RTF_MAX_RAW, 0, rtf, n);
	/* RAWSIZE larger than the stream: what is there */
	put32(s + 4, 0xffffffffu);
	expect_ok(s, 16 + n, RTF_MAX_RAW, 0, rtf, n);
	/* COMPSIZE larger too */
	put32(s, 0xfffffff0u);
	expect_ok(s, 16 + n, RTF_MAX_RAW, 0, rtf, n);
	/* RAWSIZE smaller: RAWSIZE bytes */
	put32(s + 4, 5);
	expect_ok(s, 16 + n, RTF_MAX_RAW, 0, rtf, 5);
	/* the cap */
	put32(s + 4, (uint32_t)n);
	expect_ok(s, 16 + n, 4, 1, rtf, 4);
	/* empty */
	put32(s, 12);
	put32(s + 4, 0);
	expect_ok(s, 16, RTF_MAX_RAW, 0, "", 0);
}

static void
test_bad_streams(void **state)
{
	unsigned char s[sizeof(ex1)];

	(void)state;
	expect_error(ex1, 15, "shorter than its header");
	expect_error(ex1, 0, "shorter than its header");

	memcpy(s, ex1, sizeof(s));
	s[30] ^= 0x01;                  /* a content byte changed */
	expect_error(s, sizeof(s), "CRC mismatch");
	memcpy(s, ex1, sizeof(s));
	s[12] ^= 0x80;                  /* the CRC changed */
	expect_error(s, sizeof(s), "CRC mismatch");

	memcpy(s, ex1, sizeof(s));
	put32(s + 8, 0x12345678u);
	expect_error(s, sizeof(s), "unknown type");

	memcpy(s, ex1, sizeof(s));
	put32(s, 11);                   /* COMPSIZE below the header's 12 */
	expect_error(s, sizeof(s), "smaller than its header");
}

static void
test_lying_sizes(void **state)
{
	unsigned char s[sizeof(ex1)];

	(void)state;
	/* RAWSIZE is not trusted either way: the output is what decodes */
	memcpy(s, ex1, sizeof(s));
	put32(s + 4, 0xffffffffu);
	expect_ok(s, sizeof(s), RTF_MAX_RAW, 0, ex1_raw, strlen(ex1_raw));
	put32(s + 4, 0);
	expect_ok(s, sizeof(s), RTF_MAX_RAW, 0, ex1_raw, strlen(ex1_raw));
	put32(s + 4, 3);
	expect_ok(s, sizeof(s), RTF_MAX_RAW, 0, ex1_raw, strlen(ex1_raw));

	/* COMPSIZE larger than the stream: only the bytes present are read */
	memcpy(s, ex1, sizeof(s));
	put32(s, 0x7fffffffu);
	expect_ok(s, sizeof(s), RTF_MAX_RAW, 0, ex1_raw, strlen(ex1_raw));
	put32(s, 0xffffffffu);
	expect_ok(s, sizeof(s), RTF_MAX_RAW, 0, ex1_raw, strlen(ex1_raw));

	/* COMPSIZE smaller: the CRC is over fewer bytes and no longer holds */
	memcpy(s, ex1, sizeof(s));
	put32(s, 0x20);
	expect_error(s, sizeof(s), "CRC mismatch");

	/* trailing bytes after COMPSIZE (a padded property) are ignored */
	{
		unsigned char p[sizeof(ex1) + 7];

		memcpy(p, ex1, sizeof(ex1));
		memset(p + sizeof(ex1), 0xEE, 7);
		expect_ok(p, sizeof(p), RTF_MAX_RAW, 0, ex1_raw, strlen(ex1_raw));
	}
}

static void
test_references(void **state)
{
	unsigned char s[32];
	unsigned char *c;

	(void)state;
	/* a reference to position 0x300, never written (write position 207) */
	memset(s, 0, sizeof(s));
	put32(s + 8, RTF_COMPRESSED);
	s[16] = 0x02;                   /* literal, then reference */
	s[17] = 'a';
	s[18] = 0x30;
	s[19] = 0x00;
	put32(s, 20 - 4);
	c = recrc(s, 20);
	expect_error(c, 20, "unwritten position");
	free(c);

	/* the same at 0xFFF (the dictionary's end, never written) */
	s[18] = 0xFF;
	s[19] = 0xF0;
	c = recrc(s, 20);
	expect_error(c, 20, "unwritten position");
	free(c);

	/* a reference into the prefix is fine: "{\rtf1" is at 0, 6 bytes */
	s[18] = 0x00;
	s[19] = 0x04;
	c = recrc(s, 20);
	expect_ok(c, 20, RTF_MAX_RAW, 0, "a{\\rtf1", 7);
	free(c);

	/* a reference cut after its first byte by the stream's end */
	s[16] = 0x02;
	s[18] = 0x0d;
	c = recrc(s, 19);
	put32(c, 19 - 4);
	put32(c + 12, rtf_crc(c + 16, 3));
	expect_error(c, 19, "cut by the end");
	free(c);

	/* a stream cut before its end reference: what is there (CRC matching) */
	c = recrc(ex2, 22);
	put32(c, 22 - 4);
	put32(c + 12, rtf_crc(c + 16, 6));
	expect_ok(c, 22, RTF_MAX_RAW, 0, "{\\rtf1 WX", 9);
	free(c);

	/* a stream cut (COMPSIZE as before): the CRC fails */
	expect_error(ex1, sizeof(ex1) - 5, "CRC mismatch");
}

static void
test_cap(void **state)
{
	(void)state;
	expect_ok(ex2, sizeof(ex2), 10, 1, ex2_raw, 10);
	expect_ok(ex2, sizeof(ex2), strlen(ex2_raw), 0, ex2_raw, strlen(ex2_raw));
	expect_ok(ex2, sizeof(ex2), strlen(ex2_raw) - 1, 1, ex2_raw, strlen(ex2_raw) - 1);
	expect_ok(ex1, sizeof(ex1), 0, 1, "", 0);
}

/* ---- a compressor from the spec, for round trips ---------------------- */

static const char prefix[] =
    "{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}"
    "{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier"
    "{\\colortbl\\red0\\green0\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx";

/* Greedy LZFu: the longest match (2..17) in the dictionary, else a literal. */
static unsigned char *
compress(const unsigned char *raw, size_t n, size_t *len_r)
{
	unsigned char dict[4096];
	size_t wpos = 207, filled = 207, i = 0, cap = 16 + n * 2 + 64, o = 16;
	unsigned char *out = xcalloc(1, cap);

	memset(dict, 0, sizeof(dict));
	memcpy(dict, prefix, 207);
	for (;;) {
		size_t ctrl_at = o++;
		int done = 0;

		out[ctrl_at] = 0;
		for (int bit = 0; bit < 8; bit++) {
			size_t best = 0, best_off = 0;

			if (i == n) {
				out[ctrl_at] |= (unsigned char)(1u << bit);
				out[o++] = (unsigned char)(wpos >> 4);
				out[o++] = (unsigned char)((wpos & 15) << 4);
				done = 1;
				break;
			}
			for (size_t off = 0; off < filled; off++) {
				size_t d = (wpos - off + 4096) % 4096, k;

				if (d == 0)
					continue;
				for (k = 0; k < 17 && i + k < n; k++) {
					unsigned char b = k < d ? dict[(off + k) % 4096] : raw[i + k - d];
					if (b != raw[i + k])
						break;
				}
				if (k > best) {
					best = k;
					best_off = off;
				}
			}
			if (best >= 2) {
				out[ctrl_at] |= (unsigned char)(1u << bit);
				out[o++] = (unsigned char)(best_off >> 4);
				out[o++] = (unsigned char)((best_off & 15) << 4 | (best - 2));
			} else {
				best = 1;
				out[o++] = raw[i];
			}
			for (size_t k = 0; k < best; k++) {
				dict[wpos] = raw[i++];
				wpos = (wpos + 1) % 4096;
				if (filled < 4096)
					filled++;
			}
		}
		if (done)
			break;
	}
	put32(out, (uint32_t)(o - 4));
	put32(out + 4, (uint32_t)n);
	put32(out + 8, RTF_COMPRESSED);
	put32(out + 12, rtf_crc(out + 16, o - 16));
	*len_r = o;
	return out;
}

static void
test_round_trip(void **state)
{
	static const size_t sizes[] = { 0, 1, 2, 17, 18, 207, 4096, 4097, 9000, 12000 };
	unsigned seed = 48;

	(void)state;
	/* the compressor reproduces the spec's own bytes */
	{
		size_t l;
		unsigned char *c = compress((const unsigned char *)ex2_raw, strlen(ex2_raw), &l);

		assert_int_equal(l, sizeof(ex2));
		assert_memory_equal(c, ex2, l);
		free(c);
	}
	for (size_t t = 0; t < N(sizes); t++) {
		unsigned char *raw = xmalloc(sizes[t] + 1), *c;
		size_t l;

		/* text with repeats near and far (beyond 4096 bytes back too) */
		for (size_t i = 0; i < sizes[t]; i++) {
			seed = seed * 1103515245u + 12345u;
			if (i > 5000 && (seed >> 16) % 3 == 0)
				raw[i] = raw[i - 4500];
			else if (i > 20 && (seed >> 16) % 2 == 0)
				raw[i] = raw[i - 1 - (seed >> 20) % 20];
			else
				raw[i] = (unsigned char)("\\{}rtf par abc\r\nčšž"[(seed >> 16) % 19]);
		}
		c = compress(raw, sizes[t], &l);
		expect_ok(c, l, RTF_MAX_RAW, 0, (const char *)raw, sizes[t]);
		if (sizes[t] > 3)
			expect_ok(c, l, sizes[t] - 3, 1, (const char *)raw, sizes[t] - 3);
		free(c);
		free(raw);
	}
}

/* ---- RTF to text -------------------------------------------------------- */

static void
test_rtf_text(void **state)
{
	static const struct {
		const char *name, *rtf, *want;
	} cases[] = {
		{ "cp1250 Latin with diacritics",
		  "{\\rtf1\\ansi\\ansicpg1250\\deff0{\\fonttbl{\\f0\\fswiss\\fcharset238 Arial;}}"
		  "{\\colortbl ;\\red0\\green0\\blue0;}{\\*\\generator Riched20 12.0;}"
		  "\\viewkind4\\uc1\\pard\\f0\\fs20 Ulica \\'8aafarikova: \\'e8\\'e6\\'9a\\'9e\\'f0 \\'c8\\'c6\\'8e\\'d0\\par\r\n"
		  "Hvala\\par\r\n}",
		  "Ulica Šafarikova: čćšžđ ČĆŽĐ\nHvala" },
		{ "\\'9a\\'e8 default ANSI 1250 font charset 0",
		  "{\\rtf1\\ansi\\ansicpg1250{\\fonttbl{\\f0\\fnil\\fcharset0 Calibri;}}\\f0 ka\\'9ai\\'e8}",
		  "kašič" },
		{ "cp1251 document",
		  "{\\rtf1\\ansi\\ansicpg1251{\\fonttbl{\\f0\\fnil Times;}}\\f0 \\'d3\\'eb\\'e8\\'f6\\'e0 \\'cc\\'e8\\'eb\\'e5\\'f2\\'e8\\'ed\\'e0}",
		  "Улица Милетина" },
		{ "cp1251 from a font's \\fcharset204 in a 1252 document",
		  "{\\rtf1\\ansi\\ansicpg1252{\\fonttbl{\\f0\\froman Times;}{\\f1\\fnil\\fcharset204 Arial CYR;}}"
		  "\\f0 caf\\'e9 {\\f1 \\'e2\\'ee\\'e4\\'e0} caf\\'e9 \\f1\\'e2\\plain\\'e9}",
		  "café вода café вé" },
		{ "\\uN with ? fallback",
		  "{\\rtf1\\ansi\\uc1 \\u1090?\\u1077?\\u1095?\\u1077? \\u1074?\\u1086?\\u1076?\\u1072?}",
		  "тече вода" },
		{ "\\uc2 fallback of two \\'hh",
		  "{\\rtf1\\ansi\\ansicpg1250\\uc2\\u353\\'9a\\'3fe\\u269\\'e8?x}",
		  "šečx" },
		{ "\\uc0 no fallback, and \\uc scoped to its group",
		  "{\\rtf1{\\uc0\\u1044\\u1072}\\u1085?}",
		  "Дан" },
		{ "negative \\u and a surrogate pair",
		  "{\\rtf1\\u-10179?\\u-8701? ok \\u-4064?}",
		  "\xf0\x9f\x98\x83 ok \xef\x80\xa0" },
		{ "a lone surrogate",
		  "{\\rtf1 a\\u-10179?b}",
		  "a\xef\xbf\xbd" "b" },
		{ "nested groups and escapes",
		  "{\\rtf1 a{\\b b{\\i c\\{d\\}}e}\\\\f}",
		  "abc{d}e\\f" },
		{ "\\bin data skipped, braces inside it too",
		  "{\\rtf1 x{\\pict\\bin6 }{\\'a}y}z\\bin3 {}\\w}",
		  "xzw" },
		{ "skipped destinations",
		  "{\\rtf1{\\info{\\title Naslov}{\\author Pera}}{\\stylesheet{\\s0 Normal;}}"
		  "{\\*\\bkmkstart a}{\\*\\panose 0}{\\header Zaglavlje}{\\field{\\*\\fldinst HYPERLINK \"x\"}{\\fldrslt veza}}"
		  "{\\object{\\*\\objdata 0102}{\\result rezultat}} tekst}",
		  "veza tekst" },
		{ "line breaks, tabs, symbols",
		  "{\\rtf1 a\\line b\\tab c\\par d\\emdash e\\~f\\_g\\-h\\\r\ni\\ldblquote j\\rdblquote}",
		  "a\nb\tc\nd—e f-gh\ni“j”" },
		{ "control word delimiters and parameters",
		  "{\\rtf1\\fs24 A\\b0 B\\i1\\i0 C\\par9 D}",
		  "ABC\nD" },
		{ "raw 8-bit bytes in the document's code page",
		  "{\\rtf1\\ansi\\ansicpg1250 \x9a\xe8\xe6}",
		  "ščć" },
		{ "unbalanced: more closes", "{\\rtf1 a}}} b", "a" },
		{ "unbalanced: never closed", "{\\rtf1 a{{{\\b b", "ab" },
		{ "cut escape", "{\\rtf1 a\\'9", "a" },
		{ "cut control word", "{\\rtf1 a\\", "a" },
		{ "a control word too long, a huge parameter",
		  "{\\rtf1 a\\abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz b\\u99999999999999999?c}",
		  "abc" },
		{ "NUL and control bytes dropped", "{\\rtf1 a\\'00\x01" "b\\u0?c\\'09d}", "abc\td" },
		{ "not RTF at all", "just text", "just text" },
		{ "empty", "", "" },
		{ "encapsulated HTML (MS-OXRTFEX)",
		  "{\\rtf1\\ansi\\ansicpg1250\\fromhtml1 \\fbidis \\deff0{\\fonttbl\r\n"
		  "{\\f0\\fswiss\\fcharset238 Arial;}\r\n{\\f1\\fmodern Courier New;}}\r\n"
		  "{\\colortbl\\red0\\green0\\blue0;}\r\n\\uc1\\pard\\plain\\deftab360 \\f0\\fs24 \r\n"
		  "{\\*\\htmltag19 <html>}\r\n{\\*\\htmltag34 <head>}\r\n"
		  "{\\*\\htmltag177 <style>p \\{ margin:0 \\}</style>}\\htmlrtf {\\htmlrtf0 \r\n"
		  "{\\*\\htmltag41 </head>}\r\n{\\*\\htmltag50 <body>}\\htmlrtf \\lang1050 \\htmlrtf0 \r\n"
		  "{\\*\\htmltag64 <p class=MsoNormal>}\\htmlrtf {\\htmlrtf0 Ne radi svetlo u \\'8aumadijskoj"
		  "{\\*\\htmltag84 &nbsp;}\\htmlrtf \\'a0\\htmlrtf0 5\\htmlrtf }\\htmlrtf0 \r\n"
		  "{\\*\\htmltag72 </p>}\\htmlrtf \\par\r\n}\\htmlrtf0 \r\n"
		  "{\\*\\htmltag64 <p>}\\htmlrtf {\\htmlrtf0 Hvala{\\*\\htmltag116 <br>}\\htmlrtf \\line\r\n\\htmlrtf0 Mira"
		  "{\\*\\htmltag84 &amp;}\\htmlrtf &\\htmlrtf0 Pera\\htmlrtf }\\htmlrtf0 {\\*\\htmltag72 </p>}"
		  "\\htmlrtf \\par\r\n\\htmlrtf0 \r\n{\\*\\htmltag58 </body>}\r\n{\\*\\htmltag27 </html>}}\r\n",
		  "Ne radi svetlo u Šumadijskoj 5\nHvala\nMira&Pera" },
		{ "encapsulated HTML: \\u inside the text, &#NNN; entity",
		  "{\\rtf1\\ansi\\fromhtml1{\\*\\htmltag64 <div>}\\htmlrtf {\\htmlrtf0 \\u1042?\\u1086?\\u1076?\\u1072?"
		  "{\\*\\htmltag84 &#269;}\\htmlrtf \\'e8\\htmlrtf0 \\htmlrtf }\\htmlrtf0 {\\*\\htmltag72 </div>}x}",
		  "Вода\xc4\x8d\nx" },
		{ "encapsulated HTML: a line break of the HTML source between words is a space",
		  "{\\rtf1\\ansi\\fromhtml1{\\*\\htmltag64 <p>}\\htmlrtf {\\htmlrtf0 Ne radi{\\*\\htmltag0 \\par }svetlo"
		  "\\htmlrtf }\\htmlrtf0 {\\*\\htmltag72 </p>}{\\*\\htmltag0 \\par }"
		  "{\\*\\htmltag64 <p>}\\htmlrtf {\\htmlrtf0 kod pijace\\htmlrtf }\\htmlrtf0 {\\*\\htmltag72 </p>}}",
		  "Ne radi svetlo\nkod pijace" },
		{ "htmltag outside \\fromhtml1 is not text",
		  "{\\rtf1 a{\\*\\htmltag64 <p>}b}",
		  "ab" },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		char *t = rtf_to_text(cases[i].rtf, strlen(cases[i].rtf), 4096);

		if (strcmp(t, cases[i].want) != 0)
			fail_msg("%s: got \"%s\", wanted \"%s\"", cases[i].name, t, cases[i].want);
		assert_true(norm_utf8_valid(t, strlen(t)));
		free(t);
	}
}

static void
test_rtf_html_detect(void **state)
{
	static const char html[] = "{\\rtf1\\ansi\\fromhtml1 x}", plain[] = "{\\rtf1\\ansi x}";

	(void)state;
	assert_int_equal(rtf_is_html(html, strlen(html)), 1);
	assert_int_equal(rtf_is_html(plain, strlen(plain)), 0);
	assert_int_equal(rtf_is_html(html, 12), 0);
}

static void
test_rtf_cap(void **state)
{
	/* Cyrillic: two bytes a letter; the cap falls inside one */
	static const char rtf[] = "{\\rtf1\\ansi\\ansicpg1251 \\'e2\\'ee\\'e4\\'e0 \\u1090?\\u1077?}";

	(void)state;
	for (size_t max = 0; max < 20; max++) {
		char *t = rtf_to_text(rtf, strlen(rtf), max);
		char *full = rtf_to_text(rtf, strlen(rtf), 4096);

		assert_true(strlen(t) <= max);
		assert_true(norm_utf8_valid(t, strlen(t)));
		assert_memory_equal(t, full, strlen(t));
		if (max >= strlen(full))
			assert_string_equal(t, full);
		else
			assert_true(strlen(t) + 3 >= max);  /* a letter and a trimmed space */
		free(t);
		free(full);
	}
}

/* Random and mutated RTF: valid UTF-8 within the cap, never a crash. */
static void
test_rtf_garbage(void **state)
{
	static const char *const atoms[] = {
		"{", "}", "\\", "\\'", "\\'e8", "\\'9", "\\u", "\\u-1", "\\u55357", "\\uc9",
		"\\bin", "\\bin99999 ", "\\*", "\\htmltag", "\\fromhtml1", "\\htmlrtf",
		"\\htmlrtf0", "\\f1", "\\fonttbl", "\\fcharset204", "\\ansicpg932",
		"\\ansicpg65001", "\\ansicpg99999", "\\par", " ", "a", "\xe8", "\xff",
		"<br>", "&nbsp;", "&#1;", "&#x110000;", "\\cpg1251", "\r\n", "\\pict", "\\plain",
	};
	unsigned seed = 9;

	(void)state;
	for (int round = 0; round < 3000; round++) {
		char in[600];
		size_t len = 0, max;
		char *t;

		seed = seed * 1103515245u + 12345u;
		max = (seed >> 16) % 200;
		while (len < sizeof(in) - 20) {
			const char *a;

			seed = seed * 1103515245u + 12345u;
			if ((seed >> 16) % 23 == 0)
				break;
			a = atoms[(seed >> 16) % N(atoms)];
			memcpy(in + len, a, strlen(a));
			len += strlen(a);
		}
		t = rtf_to_text(in, len, max);
		assert_true(strlen(t) <= max);
		assert_true(norm_utf8_valid(t, strlen(t)));
		free(t);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_examples),
		cmocka_unit_test(test_uncompressed),
		cmocka_unit_test(test_bad_streams),
		cmocka_unit_test(test_lying_sizes),
		cmocka_unit_test(test_references),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_rtf_text),
		cmocka_unit_test(test_rtf_html_detect),
		cmocka_unit_test(test_rtf_cap),
		cmocka_unit_test(test_rtf_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
