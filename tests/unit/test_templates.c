/* test_templates.c - placeholders, GSM-7/UCS-2 segments, SMS preparation
 * and fitting replies within max_segments without losing the id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "normalize.h"
#include "templates.h"
#include "util.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct tmpl_vars vars = {
	.id = 4711,
	.status = "u radu",
	.department = "Javna rasveta",
	.note = "ekipa izlazi sutra",
	.created = "26.11.2026. 15:00",
	.due = "28.11.2026. 15:00",
	.text = "Ne radi rasveta\nu ulici Đure Đakovića",
};

static void
test_render(void **state)
{
	static const struct {
		const char *tmpl;
		int empty_note;      /* render with note = NULL */
		const char *want;
	} cases[] = {
		{ "br. {id} ({department}): {status}", 0, "br. 4711 (Javna rasveta): u radu" },
		{ "{created} -> {due}", 0, "26.11.2026. 15:00 -> 28.11.2026. 15:00" },
		{ "{id}{id}", 0, "47114711" },
		{ "{unknown} {id} {ID} {} {", 0, "{unknown} 4711 {ID} {} {" },
		{ "{{id}}", 0, "{4711}" },
		{ "Prijava {id}: {status}. {note}", 0, "Prijava 4711: u radu. ekipa izlazi sutra" },
		{ "Prijava {id}: {status}. {note}", 1, "Prijava 4711: u radu." },
		{ "A {note} B", 1, "A B" },
		{ "A  {note}  B", 1, "A  B" },
		{ "  {id}  ", 0, "4711" },
		/* a line holding only an empty placeholder disappears */
		{ "Stanje: {status}\n{note}\n\nKraj", 1, "Stanje: u radu\n\nKraj" },
		{ "Stanje: {status}\n{note}\n\nKraj", 0, "Stanje: u radu\nekipa izlazi sutra\n\nKraj" },
		{ "Napomena: {note}\nKraj", 1, "Napomena:\nKraj" },
		/* multi-line values under a quote keep the quote */
		{ "Poruka:\n> {text}\nKraj", 0,
		  "Poruka:\n> Ne radi rasveta\n> u ulici Đure Đakovića\nKraj" },
		{ "{text}", 0, "Ne radi rasveta\nu ulici Đure Đakovića" },
		{ "", 0, "" },
		{ "{note}", 1, "" },
		{ "{note}\nX", 1, "X" },
		{ "\n{note}\n", 1, "" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		struct tmpl_vars v = vars;
		char *got;

		if (cases[i].empty_note)
			v.note = NULL;
		got = tmpl_render(cases[i].tmpl, &v);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: \"%s\" -> \"%s\", want \"%s\"", i, cases[i].tmpl, got,
			    cases[i].want);
		free(got);
	}
	{
		/* NULL values are empty; an empty line between quoted paragraphs
		 * is quoted without a trailing space */
		struct tmpl_vars v = { 0 };
		char *got;

		v.text = "a\n\nb";
		got = tmpl_render("[{status}|{department}|{created}] {id}\n> {text}", &v);
		assert_string_equal(got, "[||] 0\n> a\n>\n> b");
		free(got);
		v.id = 9223372036854775807L;
		got = tmpl_render("{id}", &v);
		assert_string_equal(got, "9223372036854775807");
		free(got);
		v.id = -12;
		got = tmpl_render("{id}", &v);
		assert_string_equal(got, "-12");
		free(got);
	}
}

static void
test_defaults(void **state)
{
	const char *const all[] = {
		tmpl_default_sms_ack, tmpl_default_sms_status, tmpl_default_sms_query,
		tmpl_default_sms_help, tmpl_default_email_ack, tmpl_default_email_status,
	};
	size_t i;

	(void)state;
	/* the SMS ones are plain ASCII GSM-7 and one segment with typical values */
	for (i = 0; i < 4; i++) {
		char *r = tmpl_render(all[i], &vars);
		struct sms_measure m;
		const char *p;

		for (p = all[i]; *p; p++)
			assert_true((unsigned char)*p < 0x80);
		sms_measure(r, 1, &m);
		assert_int_equal(m.ucs2, 0);
		if (i != 1)
			assert_int_equal(m.segments, 1);
		free(r);
	}
	for (i = 0; i < N(all); i++)
		assert_true(norm_utf8_valid(all[i], strlen(all[i])));
	assert_non_null(strstr(tmpl_default_sms_ack, "{id}"));
	assert_non_null(strstr(tmpl_default_sms_ack, "{due}"));
	assert_non_null(strstr(tmpl_default_sms_status, "{status}"));
	assert_non_null(strstr(tmpl_default_sms_status, "{note}"));
	assert_non_null(strstr(tmpl_default_sms_query, "{created}"));
	assert_non_null(strstr(tmpl_default_sms_help, "STATUS"));
	assert_non_null(strstr(tmpl_default_sms_help, "STOP"));
	assert_non_null(strstr(tmpl_default_email_ack, "> {text}"));
	assert_non_null(strstr(tmpl_default_email_status, "> {text}"));
	assert_non_null(strstr(tmpl_default_email_status, "{note}"));
	{
		char *r = tmpl_render(tmpl_default_sms_ack, &vars);

		assert_string_equal(r, "Sistem 48: prijava br. 4711 primljena (Javna rasveta). "
		    "Rok: 28.11.2026. 15:00. Stanje: posaljite STATUS 4711");
		free(r);
	}
}

static char *
rep(const char *s, size_t n)
{
	size_t l = strlen(s), i;
	char *out = xmalloc(l * n + 1);

	for (i = 0; i < n; i++)
		memcpy(out + i * l, s, l);
	out[l * n] = '\0';
	return out;
}

static void
test_measure(void **state)
{
	static const struct {
		const char *unit;       /* repeated */
		size_t times;
		const char *tail;
		int allow_ucs2;
		int ucs2;
		size_t units;
		int segments;
	} cases[] = {
		{ "", 0, "", 1, 0, 0, 1 },
		{ "a", 160, "", 1, 0, 160, 1 },
		{ "a", 161, "", 1, 0, 161, 2 },
		{ "a", 306, "", 1, 0, 306, 2 },
		{ "a", 307, "", 1, 0, 307, 3 },
		{ "€", 1, "", 1, 0, 2, 1 },
		{ "€", 80, "", 1, 0, 160, 1 },
		{ "€", 81, "", 1, 0, 162, 2 },
		{ "[", 1, "", 1, 0, 2, 1 },
		{ "^{}\\[~]|", 1, "", 1, 0, 16, 1 },
		{ "a", 159, "[", 1, 0, 161, 2 },
		/* GSM-7 letters beyond ASCII */
		{ "é", 10, "ÄÖÑÜäöñüàèùìòÇØøÅåÆæßÉ£¥§¿¡¤ΔΦΓΛΩΠΨΣΘΞ", 1, 0, 48, 1 },
		{ "@$_!\"#%&'()*+,-./:;<=>?\n\r", 1, "", 1, 0, 25, 1 },
		/* Cyrillic: UCS-2 when allowed, else each char one '?' */
		{ "ж", 70, "", 1, 1, 70, 1 },
		{ "ж", 71, "", 1, 1, 71, 2 },
		{ "ж", 134, "", 1, 1, 134, 2 },
		{ "ж", 135, "", 1, 1, 135, 3 },
		{ "ж", 71, "", 0, 0, 71, 1 },
		{ "a", 69, "ж", 1, 1, 70, 1 },
		{ "č", 1, "", 1, 1, 1, 1 },
		{ "`", 1, "", 1, 1, 1, 1 },
		/* a surrogate pair is two units and never split */
		{ "\xf0\x9f\x92\xa7", 35, "", 1, 1, 70, 1 },
		{ "a", 66, "\xf0\x9f\x92\xa7" "aaaaa", 1, 1, 73, 2 },
		{ "\xff", 3, "", 1, 1, 3, 1 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		char *body = rep(cases[i].unit, cases[i].times);
		char *s = xasprintf("%s%s", body, cases[i].tail);
		struct sms_measure m;

		sms_measure(s, cases[i].allow_ucs2, &m);
		if (m.ucs2 != cases[i].ucs2 || m.units != cases[i].units ||
		    m.segments != cases[i].segments)
			fail_msg("case %zu: ucs2 %d units %zu segments %d, want %d %zu %d", i,
			    m.ucs2, m.units, m.segments, cases[i].ucs2, cases[i].units,
			    cases[i].segments);
		free(body);
		free(s);
	}
	{
		/* an escape pair is never split across segments: 152 + [ + 152
		 * is 306 septets, yet three segments */
		char *a = rep("a", 152), *s = xasprintf("%s[%s", a, a);
		struct sms_measure m;

		sms_measure(s, 1, &m);
		assert_int_equal(m.units, 306);
		assert_int_equal(m.segments, 3);
		free(s);
		s = xasprintf("%s[%s", a, a + 1);
		sms_measure(s, 1, &m);
		assert_int_equal(m.segments, 2);
		free(s);
		/* likewise a surrogate pair in UCS-2: 66 + pair + 66 = 134 units */
		free(a);
		a = rep("a", 66);
		s = xasprintf("%s\xf0\x9f\x92\xa7%s", a, a);
		sms_measure(s, 1, &m);
		assert_int_equal(m.ucs2, 1);
		assert_int_equal(m.units, 134);
		assert_int_equal(m.segments, 3);
		free(s);
		free(a);
	}
}

static void
test_prepare(void **state)
{
	static const struct {
		const char *in;
		int ascii;
		const char *want;
	} cases[] = {
		{ "Ђорђе Čačak ШУМА", 1, "Djordje Cacak SUMA" },
		{ "Љубав и ЉУБАВ", 1, "Ljubav i LJUBAV" },
		{ "€5 [x] {y} ~|^\\", 1, "€5 [x] {y} ~|^\\" },
		{ "„navodnici“ – crta… ‘a’", 1, "\"navodnici\" - crta... 'a'" },
		{ "kap \xf0\x9f\x92\xa7 vode", 1, "kap ? vode" },
		{ "tab\there", 1, "tab here" },
		{ "Δ Ω", 1, "Δ Ω" },
		{ "`x`", 1, "'x'" },
		{ "中文", 1, "??" },
		{ "bad\xff", 1, "bad?" },
		{ "Ђорђе Čačak", 0, "Ђорђе Čačak" },
		{ "bad\xff", 0, "bad\xef\xbf\xbd" },
		{ "", 1, "" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		char *got = sms_prepare(cases[i].in, cases[i].ascii);
		struct sms_measure m;

		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: \"%s\" -> \"%s\", want \"%s\"", i, cases[i].in, got,
			    cases[i].want);
		if (cases[i].ascii) {
			/* always GSM-7 */
			sms_measure(got, 1, &m);
			assert_int_equal(m.ucs2, 0);
		}
		free(got);
	}
	{
		char *got = sms_prepare(NULL, 1);

		assert_string_equal(got, "");
		free(got);
	}
}

static int
segments_of(const char *s, int ascii)
{
	struct sms_measure m;

	sms_measure(s, !ascii, &m);
	return m.segments;
}

static void
test_fit_note(void **state)
{
	struct tmpl_vars v = vars;
	char *note = NULL, *got;
	size_t i;

	(void)state;
	/* a short note is not touched */
	got = tmpl_render_sms(tmpl_default_sms_status, &v, 1, 1);
	assert_string_equal(got, "Sistem 48: prijava br. 4711: u radu. ekipa izlazi sutra");
	free(got);

	/* a long note is cut at a word with "..." */
	for (i = 0; i < 60; i++) {
		char *n = xasprintf("%s rec%zu", note ? note : "Zamenjena", i);

		free(note);
		note = n;
	}
	v.note = note;
	got = tmpl_render_sms(tmpl_default_sms_status, &v, 1, 1);
	assert_true(strlen(got) <= 160);
	assert_true(strlen(got) > 140);         /* as much note as fits */
	assert_int_equal(segments_of(got, 1), 1);
	assert_non_null(strstr(got, "prijava br. 4711: u radu. Zamenjena rec0 rec1"));
	assert_string_equal(got + strlen(got) - 3, "...");
	assert_true(got[strlen(got) - 4] >= '0' && got[strlen(got) - 4] <= '9');
	/* the part kept is a prefix of the note ending at a word */
	{
		const char *kept = strstr(got, "Zamenjena");
		size_t kl = strlen(kept) - 3;

		assert_memory_equal(kept, note, kl);
		assert_true(note[kl] == ' ');
	}
	free(got);

	/* two segments allowed: more note, still within 2 */
	got = tmpl_render_sms(tmpl_default_sms_status, &v, 1, 2);
	assert_int_equal(segments_of(got, 1), 2);
	assert_true(strlen(got) > 290 && strlen(got) <= 306);
	free(got);
	free(note);
}

static void
test_fit_ucs2(void **state)
{
	struct tmpl_vars v = vars;
	char *note = NULL, *got;
	struct sms_measure m;
	size_t i;

	(void)state;
	for (i = 0; i < 40; i++) {
		char *n = xasprintf("%s замењена", note ? note : "Сијалица");

		free(note);
		note = n;
	}
	v.note = note;
	/* ascii off: Cyrillic is kept and UCS-2 limits apply */
	got = tmpl_render_sms(tmpl_default_sms_status, &v, 0, 2);
	sms_measure(got, 1, &m);
	assert_int_equal(m.ucs2, 1);
	assert_int_equal(m.segments, 2);
	assert_true(m.units > 120 && m.units <= 134);
	assert_non_null(strstr(got, "Сијалица замењена"));
	free(got);
	/* ascii on: transliterated, GSM-7 limits apply */
	got = tmpl_render_sms(tmpl_default_sms_status, &v, 1, 2);
	sms_measure(got, 0, &m);
	assert_int_equal(m.ucs2, 0);
	assert_int_equal(m.segments, 2);
	assert_true(m.units > 290);
	assert_non_null(strstr(got, "Sijalica zamenjena"));
	free(got);
	free(note);
}

/* Whatever the values and limits, the result fits and keeps the id. */
static void
test_fit_never_loses_id(void **state)
{
	static const char *const tmpls[] = {
		"Sistem 48: prijava br. {id}: {status}. {note}",
		"Sistem 48: prijava br. {id} primljena ({department}). Rok: {due}. "
		    "Stanje: posaljite STATUS {id}",
		"{department} {text} {note} {id}",
		"Sistem 48 veoma dugacak uvod koji se ponavlja i ponavlja i ponavlja i ponavlja "
		    "i ponavlja i ponavlja i ponavlja i ponavlja i ponavlja i ponavlja i ponavlja "
		    "i ponavlja i ponavlja: prijava br. {id}. {note}",
	};
	static const long ids[] = { 1, 4711, 123456789 };
	char *longtxt = rep("Пукла цев у улици ", 30);
	char *longdept = rep("Sluzba ", 40);
	size_t t, k;
	int seg, ascii;

	(void)state;
	for (t = 0; t < N(tmpls); t++)
		for (k = 0; k < N(ids); k++)
			for (seg = 1; seg <= 3; seg++)
				for (ascii = 0; ascii <= 1; ascii++) {
					struct tmpl_vars v = vars;
					char idstr[32], *got;

					v.id = ids[k];
					v.note = longtxt;
					v.text = longtxt;
					v.department = longdept;
					got = tmpl_render_sms(tmpls[t], &v, ascii, seg);
					snprintf(idstr, sizeof(idstr), "%ld", ids[k]);
					if (strstr(got, idstr) == NULL)
						fail_msg("tmpl %zu id %ld seg %d ascii %d: lost id: %s",
						    t, ids[k], seg, ascii, got);
					/* only when the id itself lies beyond the
					 * limit may the result exceed it, ending
					 * right after the id */
					if (segments_of(got, ascii) > seg &&
					    strcmp(got + strlen(got) - strlen(idstr), idstr) != 0)
						fail_msg("tmpl %zu seg %d ascii %d: %d segments: %s",
						    t, seg, ascii, segments_of(got, ascii), got);
					if (got[0] == '\0' || got[strlen(got) - 1] == ' ')
						fail_msg("tmpl %zu: bad end: \"%s\"", t, got);
					free(got);
				}
	free(longtxt);
	free(longdept);
}

static void
test_fit_order(void **state)
{
	/* the note goes first, then the text, then the department */
	const char *tmpl = "#{id} [{department}] {text} / {note}";
	struct tmpl_vars v = vars;
	char *longnote = rep("napomena ", 30), *longtext = rep("tekst ", 30), *got;

	(void)state;
	v.note = longnote;
	v.text = "kratko";
	v.department = "Rasveta";
	got = tmpl_render_sms(tmpl, &v, 1, 1);
	assert_int_equal(strncmp(got, "#4711 [Rasveta] kratko / napomena", 33), 0);
	assert_true(strlen(got) > 150 && strlen(got) <= 160);
	free(got);
	/* the note alone cannot make it fit: it is emptied and the text cut */
	v.text = longtext;
	got = tmpl_render_sms(tmpl, &v, 1, 1);
	assert_int_equal(strncmp(got, "#4711 [Rasveta] tekst tekst", 27), 0);
	assert_null(strstr(got, "napomena"));
	assert_true(strlen(got) <= 160);
	free(got);
	free(longnote);
	free(longtext);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_measure),
		cmocka_unit_test(test_prepare),
		cmocka_unit_test(test_fit_note),
		cmocka_unit_test(test_fit_ucs2),
		cmocka_unit_test(test_fit_never_loses_id),
		cmocka_unit_test(test_fit_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
