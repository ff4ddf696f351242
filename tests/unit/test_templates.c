/* test_templates.c - placeholders, GSM-7/UCS-2 segments, SMS preparation
 * and fitting replies within max_segments without losing the id; the
 * quick fitting compared byte for byte with the reference algorithm
 * (ref_*, below) on tables and seeded random texts. */
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

/*
 * ---- the reference: templates.c as it was before the fitting was made
 * cheap (commit 60c0310), renamed ref_*.  The new code must give byte-identical
 * results; the differential tests below compare the two.
 */
#define REF_RENDER_MAX (64u * 1024 * 1024)

/* ---- rendering ---- */

/* The value of placeholder name[0..len), or NULL if it is not one. */
static const char *
ref_lookup(const char *name, size_t len, const struct tmpl_vars *v, char idbuf[32])
{
#define IS(lit) (len == sizeof(lit) - 1 && memcmp(name, lit, len) == 0)
	if (IS("id")) {
		/* by hand: snprintf costs more than the rest of a render */
		char tmp[24];
		size_t n = 0, o = 0;
		unsigned long u = v->id < 0 ? 0UL - (unsigned long)v->id : (unsigned long)v->id;

		do
			tmp[n++] = (char)('0' + u % 10);
		while ((u /= 10) != 0);
		if (v->id < 0)
			idbuf[o++] = '-';
		while (n > 0)
			idbuf[o++] = tmp[--n];
		idbuf[o] = '\0';
		return idbuf;
	}
	if (IS("status"))
		return v->status ? v->status : "";
	if (IS("department"))
		return v->department ? v->department : "";
	if (IS("note"))
		return v->note ? v->note : "";
	if (IS("created"))
		return v->created ? v->created : "";
	if (IS("due"))
		return v->due ? v->due : "";
	if (IS("text"))
		return v->text ? v->text : "";
	return NULL;
#undef IS
}

static int
ref_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Start of the current (last) line of b. */
static size_t
ref_line_start(const struct buf *b)
{
	size_t i = b->len;

	while (i > 0 && b->data[i - 1] != '\n')
		i--;
	return i;
}

static char *
ref_tmpl_render(const char *tmpl, const struct tmpl_vars *v)
{
	struct buf b;
	const char *p = tmpl;
	char idbuf[32];
	size_t s, e;

	buf_init(&b, REF_RENDER_MAX);
	if (tmpl == NULL)
		tmpl = p = "";
	while (*p != '\0') {
		const char *close, *val;
		size_t ls, i;
		int prefix_ok;

		if (*p != '{') {
			/* literal text up to the next brace, in one piece */
			const char *brace = strchr(p, '{');
			size_t run = brace ? (size_t)(brace - p) : strlen(p);

			(void)buf_append(&b, p, run);
			p += run;
			continue;
		}
		if ((close = strchr(p + 1, '}')) == NULL ||
		    (val = ref_lookup(p + 1, (size_t)(close - p - 1), v, idbuf)) == NULL) {
			(void)buf_appendc(&b, *p++);
			continue;
		}
		p = close + 1;
		ls = ref_line_start(&b);
		if (val[0] == '\0') {
			const char *q = p;
			int alone = 1;

			for (i = ls; i < b.len && alone; i++)
				alone = ref_is_blank(b.data[i]);
			while (ref_is_blank(*q))
				q++;
			if (alone && (*q == '\n' || *q == '\0') && (ls > 0 || *q == '\n')) {
				/* the placeholder was the whole line: drop the line */
				b.len = ls;
				if (b.data != NULL)
					b.data[b.len] = '\0';
				p = *q == '\n' ? q + 1 : q;
				continue;
			}
			/* collapse the spaces around it; none at a line end */
			if (b.len > ls && ref_is_blank(b.data[b.len - 1])) {
				while (ref_is_blank(*p))
					p++;
				if (*p == '\n' || *p == '\0' || *p == '\r') {
					while (b.len > ls && ref_is_blank(b.data[b.len - 1]))
						b.len--;
					b.data[b.len] = '\0';
				}
			}
			continue;
		}
		/* a multi-line value under a quote or indent keeps it per line */
		prefix_ok = 1;
		for (i = ls; i < b.len && prefix_ok; i++)
			prefix_ok = ref_is_blank(b.data[i]) || b.data[i] == '>';
		if (prefix_ok && b.len > ls && strchr(val, '\n') != NULL) {
			char *prefix = xstrndup(b.data + ls, b.len - ls);
			const char *q;

			size_t pl = strlen(prefix), plt = pl;

			while (plt > 0 && ref_is_blank(prefix[plt - 1]))
				plt--;
			for (q = val; *q != '\0';) {
				const char *nl = strchr(q, '\n');

				if (nl == NULL) {
					(void)buf_appends(&b, q);
					break;
				}
				(void)buf_append(&b, q, (size_t)(nl - q) + 1);
				q = nl + 1;
				/* "> " before text, ">" on an empty line */
				(void)buf_append(&b, prefix,
				    *q == '\n' || *q == '\r' || *q == '\0' ? plt : pl);
			}
			free(prefix);
		} else {
			(void)buf_appends(&b, val);
		}
	}
	if (b.data == NULL)
		return xstrdup("");
	/* trim the whole result */
	for (s = 0; s < b.len && (ref_is_blank(b.data[s]) || b.data[s] == '\n' || b.data[s] == '\r'); s++)
		;
	for (e = b.len; e > s && (ref_is_blank(b.data[e - 1]) || b.data[e - 1] == '\n' ||
	    b.data[e - 1] == '\r'); e--)
		;
	{
		char *out = xstrndup(b.data + s, e - s);

		buf_free(&b);
		return out;
	}
}

/* ---- GSM-7 ---- */

/* Cost in septets of a code point in GSM-7: 1 basic, 2 extension, 0 none. */
static int
ref_gsm_cost(uint32_t cp)
{
	if (cp < 0x80) {
		switch (cp) {
		case '\n': case '\r':
			return 1;
		case '^': case '{': case '}': case '\\': case '[': case ']': case '~':
		case '|': case '\f':
			return 2;
		case '`':
			return 0;
		}
		return cp >= 0x20 && cp < 0x7F ? 1 : 0;
	}
	switch (cp) {
	case 0xA3: case 0xA5: case 0xE8: case 0xE9: case 0xF9: case 0xEC: case 0xF2:
	case 0xC7: case 0xD8: case 0xF8: case 0xC5: case 0xE5: case 0x394: case 0x3A6:
	case 0x393: case 0x39B: case 0x3A9: case 0x3A0: case 0x3A8: case 0x3A3: case 0x398:
	case 0x39E: case 0xC6: case 0xE6: case 0xDF: case 0xC9: case 0xA4: case 0xA1:
	case 0xC4: case 0xD6: case 0xD1: case 0xDC: case 0xA7: case 0xBF: case 0xE4:
	case 0xF6: case 0xF1: case 0xFC: case 0xE0:
		return 1;
	case 0x20AC:
		return 2;
	}
	return 0;
}

/* Decode one code point (invalid bytes give U+FFFD, one byte each). */
static uint32_t
ref_next_cp(const unsigned char **pp)
{
	const unsigned char *p = *pp;
	uint32_t cp;
	size_t n, i;

	if (p[0] < 0x80) {
		*pp = p + 1;
		return p[0];
	}
	if (p[0] >= 0xC2 && p[0] < 0xE0) {
		n = 1;
		cp = p[0] & 0x1F;
	} else if (p[0] >= 0xE0 && p[0] < 0xF0) {
		n = 2;
		cp = p[0] & 0x0F;
	} else if (p[0] >= 0xF0 && p[0] < 0xF5) {
		n = 3;
		cp = p[0] & 0x07;
	} else {
		*pp = p + 1;
		return 0xFFFD;
	}
	for (i = 1; i <= n; i++) {
		if ((p[i] & 0xC0) != 0x80) {
			*pp = p + 1;
			return 0xFFFD;
		}
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	*pp = p + n + 1;
	return cp;
}

static void
ref_sms_measure(const char *utf8, int allow_ucs2, struct sms_measure *m)
{
	const unsigned char *p = (const unsigned char *)(utf8 ? utf8 : "");
	size_t gsm = 0, utf16 = 0;
	size_t gseg = 1, gfill = 0, useg = 1, ufill = 0;
	int need_ucs2 = 0;

	/* count both encodings at once, packing segments as a concatenated
	 * message would: 153 septets (an escape pair never split) or 67
	 * UTF-16 units (a surrogate pair never split) */
	while (*p != '\0') {
		uint32_t cp = *p < 0x80 ? *p++ : ref_next_cp(&p);
		int c = ref_gsm_cost(cp);
		size_t u = cp >= 0x10000 ? 2 : 1;

		if (c == 0) {
			need_ucs2 = 1;
			c = 1;          /* sent as '?' when UCS-2 is not allowed */
		}
		gsm += (size_t)c;
		if (gfill + (size_t)c > 153) {
			gseg++;
			gfill = 0;
		}
		gfill += (size_t)c;
		utf16 += u;
		if (ufill + u > 67) {
			useg++;
			ufill = 0;
		}
		ufill += u;
	}
	if (need_ucs2 && allow_ucs2) {
		m->ucs2 = 1;
		m->units = utf16;
		m->segments = utf16 <= 70 ? 1 : (int)useg;
	} else {
		m->ucs2 = 0;
		m->units = gsm;
		m->segments = gsm <= 160 ? 1 : (int)gseg;
	}
}

/* GSM-7 stand-ins for common typography */
static const char *
ref_gsm_substitute(uint32_t cp)
{
	switch (cp) {
	case '\t': case 0xA0: case 0x2002: case 0x2003: case 0x2009: case 0x202F: case 0x3000:
		return " ";
	case 0x2018: case 0x2019: case 0x201A: case 0x201B: case 0x2032: case 0xB4: case '`':
		return "'";
	case 0x201C: case 0x201D: case 0x201E: case 0x201F: case 0xAB: case 0xBB: case 0x2033:
		return "\"";
	case 0x2010: case 0x2011: case 0x2012: case 0x2013: case 0x2014: case 0x2015:
	case 0x2212:
		return "-";
	case 0x2026:
		return "...";
	case 0x2022: case 0xB7:
		return "*";
	case 0xB0:
		return "o";
	}
	return NULL;
}

static char *
ref_sms_prepare(const char *utf8, int ascii)
{
	char *t, *out, *o;
	const unsigned char *p;

	if (utf8 == NULL)
		utf8 = "";
	if (!ascii)
		return norm_utf8_repair(utf8, strlen(utf8));
	t = norm_translit(utf8, strlen(utf8));
	/* each code point becomes at most itself or "..." (3 bytes for a
	 * code point of at least 3 bytes), so len+1 is enough */
	out = o = xmalloc(strlen(t) + 1);
	p = (const unsigned char *)t;
	while (*p != '\0') {
		const unsigned char *start = p;
		uint32_t cp;
		const char *sub;

		if (*p >= 0x20 && *p < 0x7F && *p != '`') {
			*o++ = (char)*p++;      /* printable ASCII is GSM-7 */
			continue;
		}
		cp = ref_next_cp(&p);

		if (ref_gsm_cost(cp) > 0) {
			memcpy(o, start, (size_t)(p - start));
			o += p - start;
		} else if ((sub = ref_gsm_substitute(cp)) != NULL &&
		    strlen(sub) <= (size_t)(p - start)) {
			memcpy(o, sub, strlen(sub));
			o += strlen(sub);
		} else {
			*o++ = '?';
		}
	}
	*o = '\0';
	free(t);
	return out;
}

/* ---- fitting ---- */

static char *
ref_render_prepared(const char *tmpl, const struct tmpl_vars *v, int ascii)
{
	char *r = ref_tmpl_render(tmpl, v);
	char *p = ref_sms_prepare(r, ascii);

	free(r);
	return p;
}

static int
ref_fits(const char *prepared, int ascii, int max_segments)
{
	struct sms_measure m;

	ref_sms_measure(prepared, !ascii, &m);
	return m.segments <= max_segments;
}

/* value cut after its k-th word (k >= 1) with "..." appended */
static char *
ref_cut_words(const char *val, size_t k)
{
	const char *p = val;
	size_t n = 0;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (*p == '\0')
			break;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			p++;
		if (++n == k)
			break;
	}
	return xasprintf("%.*s...", (int)(p - val), val);
}

static size_t
ref_count_words(const char *val)
{
	size_t n = 0;
	int in = 0;

	for (; *val != '\0'; val++) {
		int sp = *val == ' ' || *val == '\t' || *val == '\n' || *val == '\r';

		if (!sp && !in)
			n++;
		in = !sp;
	}
	return n;
}

/*
 * Shorten *field (in w) to the most words that fit; returns the prepared
 * message if it ref_fits now, else NULL with *field set to "" (*owned holds
 * any allocation).
 */
static char *
ref_shorten_field(const char *tmpl, struct tmpl_vars *w, const char **field, char **owned,
    int ascii, int max_segments)
{
	const char *orig = *field;
	size_t nw, lo, hi, best = 0;
	char *cand, *msg;

	if (orig == NULL || orig[0] == '\0')
		return NULL;
	nw = ref_count_words(orig);
	/* binary search the largest k in [1, nw-1] that ref_fits */
	lo = 1;
	hi = nw > 0 ? nw - 1 : 0;
	while (lo <= hi) {
		size_t mid = lo + (hi - lo) / 2;
		int ok;

		cand = ref_cut_words(orig, mid);
		*field = cand;
		msg = ref_render_prepared(tmpl, w, ascii);
		ok = ref_fits(msg, ascii, max_segments);
		free(msg);
		free(cand);
		if (ok) {
			best = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	free(*owned);
	*owned = best > 0 ? ref_cut_words(orig, best) : xstrdup("");
	*field = *owned;
	msg = ref_render_prepared(tmpl, w, ascii);
	if (ref_fits(msg, ascii, max_segments))
		return msg;
	free(msg);
	return NULL;
}

/*
 * Fields are shortened in order note, text, department, each to the most
 * words that fit.  The last resort cuts the message at a word end but
 * never before the end of the first {id}: if the id itself lies beyond
 * the limit (a template with a very long introduction), the message ends
 * right after the id and is longer than max_segments.
 */
static char *
ref_tmpl_render_sms(const char *tmpl, const struct tmpl_vars *v, int ascii, int max_segments)
{
	struct tmpl_vars w = *v;
	char *owned[3] = { NULL, NULL, NULL };
	const char **fields[3] = { &w.note, &w.text, &w.department };
	char *msg = NULL, *idtmpl, *idmsg;
	const char *idpos;
	size_t i, keep = 0, len, cut;

	if (max_segments < 1)
		max_segments = 1;
	if (tmpl == NULL)
		tmpl = "";
	msg = ref_render_prepared(tmpl, &w, ascii);
	if (ref_fits(msg, ascii, max_segments))
		goto done;
	free(msg);
	msg = NULL;
	for (i = 0; i < 3; i++) {
		msg = ref_shorten_field(tmpl, &w, fields[i], &owned[i], ascii, max_segments);
		if (msg != NULL)
			goto done;
	}
	/* last resort: cut the message at a word end, never before the id */
	msg = ref_render_prepared(tmpl, &w, ascii);
	idpos = strstr(tmpl, "{id}");
	if (idpos != NULL) {
		idtmpl = xstrndup(tmpl, (size_t)(idpos - tmpl) + 4);
		idmsg = ref_render_prepared(idtmpl, &w, ascii);
		keep = strlen(idmsg);
		free(idtmpl);
		free(idmsg);
	}
	len = strlen(msg);
	if (keep > len)
		keep = len;
	for (cut = len; cut > keep; cut--) {
		char save;
		int ok;

		if (msg[cut] != ' ' && msg[cut] != '\n' && msg[cut] != '\0')
			continue;
		if (cut > 0 && (msg[cut - 1] == ' ' || msg[cut - 1] == '\n'))
			continue;
		save = msg[cut];
		msg[cut] = '\0';
		ok = ref_fits(msg, ascii, max_segments);
		msg[cut] = save;
		if (ok)
			break;
	}
	if (cut == keep && keep == 0) {
		/* not even one word ref_fits: cut at a character boundary */
		for (cut = len; cut > 0; cut--) {
			char save;
			int ok;

			if (((unsigned char)msg[cut] & 0xC0) == 0x80)
				continue;
			save = msg[cut];
			msg[cut] = '\0';
			ok = ref_fits(msg, ascii, max_segments);
			msg[cut] = save;
			if (ok)
				break;
		}
	}
	msg[cut] = '\0';
	while (cut > 0 && (msg[cut - 1] == ' ' || msg[cut - 1] == '\n'))
		msg[--cut] = '\0';
done:
	for (i = 0; i < 3; i++)
		free(owned[i]);
	return msg;
}

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
	/* email_status also carries reassignments and public notes, where the
	 * status did not change: it must not say that it did */
	assert_null(strstr(tmpl_default_email_status, "promenjen"));
	{
		struct tmpl_vars nv = vars;
		char *r;

		nv.status = "primljena";
		nv.note = "Prijava je prosledjena sluzbi: Vodovod i kanalizacija.";
		r = tmpl_render(tmpl_default_email_status, &nv);
		assert_non_null(strstr(r, "br. 4711 (Javna rasveta).\nStanje prijave: primljena\n"
		    "Prijava je prosledjena sluzbi: Vodovod i kanalizacija.\n"));
		free(r);
	}
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

/* ---- differential tests: the new code against the reference ---- */

/* a seeded generator (xorshift64*), the same sequence on every run */
static uint64_t rng_state;

static void
rng_seed(uint64_t s)
{
	rng_state = s ? s : 0x9E3779B97F4A7C15ULL;
}

static uint32_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}

static uint32_t
rng_below(uint32_t n)
{
	return n ? rng() % n : 0;
}

/* UTF-8 of any code point, surrogates included (the lenient decoder takes
 * them); returns the length */
static size_t
enc_cp(uint32_t cp, char *o)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Pieces random texts are made of: Serbian words in both scripts (the
 * digraph letters Љ Њ Џ Ђ first, last, alone and in capitals), GSM-7
 * extension characters, typography sms_prepare replaces, emoji, white
 * space of every kind, quotes, and now and then invalid UTF-8. */
static const char *const frags[] = {
	"Pukla", "cev", "u", "ulici", "Đure", "Đakovića", "već", "tri", "dana", "ŠKOLA",
	"pošaljite", "ekipu", "noću", "Takođe", "DŽEP", "Džep", "LJUBAV", "Ljubav", "NJIVA",
	"Пукла", "цев", "у", "улици", "Ђуре", "Ђаковића", "ЉУБАВ", "Љубав", "Љ", "Њ", "Џ", "Ђ",
	"ЉA", "Љa", "aЉ", "AЉ", "ЊЕГОШ", "Његош", "ЏЕП", "џеп", "ђак", "шума", "ЖАБА", "ћуприја",
	"€", "5€", "[x]", "{y}", "~", "|", "^", "\\", "a[b", "Ω", "Δelta", "é", "Ñ", "ß", "£5",
	"„navodnici“", "‘a’", "–", "—", "…", "•", "°C", "`x`", "\xc2\xa0", "\xe2\x80\x89",
	"\xf0\x9f\x92\xa7", "\xf0\x9f\x98\x80!", "中文", "\xc2\xad", "ǅ", "ǈ", "ǋ", "Ǆ",
	"br.", "12", "4711", ",", ".", "!", "?", "(", ")", ":", ">", ">>", "-", "'", "\"",
	"\xff", "\xc4", "\xe2\x82", "\xed\xa0\x80", "\xc0\xaf", "\x01", "\x7f", "\x1b",
	"Ⓐ", "ｆｕｌｌ", "１２",
};
static const char *const seps[] = {
	" ", " ", " ", " ", " ", "  ", "\t", "\n", "\r\n", "\n\n", " \n", "", "", "-",
};

/* a random text of about n pieces; ascii_only: printable ASCII words only */
static char *
rand_text(size_t n, int mode)
{
	struct buf b;
	size_t i;

	buf_init(&b, 1 << 20);
	for (i = 0; i < n; i++) {
		const char *f = frags[rng_below(N(frags))];

		if (mode == 1)       /* Latin words, no specials */
			f = frags[rng_below(19)];
		else if (mode == 2)  /* Cyrillic words */
			f = frags[19 + rng_below(25)];
		if (i > 0)
			(void)buf_appends(&b, rng_below(8) ? " " : seps[rng_below(N(seps))]);
		if (mode == 0 && rng_below(40) == 0) {
			char cp[4];
			uint32_t c = rng_below(4) ? 0x80 + rng_below(0x780) : rng_below(0x110000);

			(void)buf_append(&b, cp, enc_cp(c, cp));
		}
		(void)buf_appends(&b, f);
	}
	return buf_steal(&b, NULL);
}

/* every code point alone: measured and prepared as the reference does */
static void
test_diff_codepoints(void **state)
{
	uint32_t cp;
	char s[16];

	(void)state;
	for (cp = 1; cp < 0x110000; cp++) {
		struct sms_measure a, b;
		size_t n = enc_cp(cp, s);
		int allow;

		s[n] = '\0';
		for (allow = 0; allow <= 1; allow++) {
			sms_measure(s, allow, &a);
			ref_sms_measure(s, allow, &b);
			if (a.ucs2 != b.ucs2 || a.units != b.units || a.segments != b.segments)
				fail_msg("U+%04X allow %d: measure %d/%zu/%d, reference %d/%zu/%d", cp,
				    allow, a.ucs2, a.units, a.segments, b.ucs2, b.units, b.segments);
		}
		/* prepared: all of the BMP's first part, a sample beyond */
		if (cp < 0x3100 || cp % 61 == 0 || (cp >= 0xFF00 && cp < 0xFFFF)) {
			int ascii;

			for (ascii = 0; ascii <= 1; ascii++) {
				char *x = sms_prepare(s, ascii), *y = ref_sms_prepare(s, ascii);

				if (strcmp(x, y) != 0)
					fail_msg("U+%04X ascii %d: prepared \"%s\", reference \"%s\"", cp,
					    ascii, x, y);
				free(x);
				free(y);
			}
		}
	}
}

/* every two-byte character between neighbours of every kind, twice (the
 * second time from what the first one left for later calls) */
static void
test_diff_prepare_neighbours(void **state)
{
	static const char *const ctx[][2] = {
		{ "", "" }, { "A", "a" }, { "a", "A" }, { "A", "A" }, { "a", "a" }, { " ", "." },
		{ "Ab ", " cD" }, { "", "Z" }, { "z", "" }, { "AB", "CD" }, { "1", "2" },
	};
	uint32_t cp;
	int round;

	(void)state;
	for (round = 0; round < 2; round++)
		for (cp = 0x80; cp < 0x800; cp++) {
			char c[4], s[32];
			size_t i, n = enc_cp(cp, c);

			c[n] = '\0';
			for (i = 0; i < N(ctx); i++) {
				char *x, *y;

				snprintf(s, sizeof(s), "%s%s%s", ctx[i][0], c, ctx[i][1]);
				x = sms_prepare(s, 1);
				y = ref_sms_prepare(s, 1);
				if (strcmp(x, y) != 0)
					fail_msg("\"%s\" round %d: \"%s\", reference \"%s\"", s, round,
					    x, y);
				free(x);
				free(y);
			}
		}
}

/* every byte pair and triple of a small alphabet: transliteration
 * contexts (digraphs next to letters of both cases, spaces, punctuation,
 * other digraphs, invalid bytes) */
static void
test_diff_prepare_contexts(void **state)
{
	static const char *const alpha[] = {
		"a", "A", " ", ".", "Љ", "љ", "Ђ", "Đ", "đ", "Џ", "Њ", "č", "Č", "Ж", "ж", "\xc2\xad",
		"\xff", "\xc4", "€", "\t", "\n", "`", "1", "ǅ", "Ǆ", "\xf0\x9f\x92\xa7", "Ω", "z", "Z",
	};
	size_t i, j, k;
	char s[64];

	(void)state;
	for (i = 0; i < N(alpha); i++)
		for (j = 0; j < N(alpha); j++)
			for (k = 0; k < N(alpha); k++) {
				int ascii;

				snprintf(s, sizeof(s), "%s%s%s", alpha[i], alpha[j], alpha[k]);
				for (ascii = 0; ascii <= 1; ascii++) {
					char *x = sms_prepare(s, ascii), *y = ref_sms_prepare(s, ascii);

					if (strcmp(x, y) != 0)
						fail_msg("\"%s\" ascii %d: \"%s\", reference \"%s\"", s,
						    ascii, x, y);
					free(x);
					free(y);
				}
			}
}

static void
test_diff_prepare_random(void **state)
{
	int i;

	(void)state;
	rng_seed(48);
	for (i = 0; i < 3000; i++) {
		char *t = rand_text(1 + rng_below(i % 10 == 0 ? 300 : 40), (int)rng_below(3));
		int ascii;

		for (ascii = 0; ascii <= 1; ascii++) {
			char *x = sms_prepare(t, ascii), *y = ref_sms_prepare(t, ascii);
			struct sms_measure a, b;

			if (strcmp(x, y) != 0)
				fail_msg("case %d \"%s\" ascii %d: \"%s\", reference \"%s\"", i, t, ascii,
				    x, y);
			sms_measure(t, ascii, &a);
			ref_sms_measure(t, ascii, &b);
			if (a.ucs2 != b.ucs2 || a.units != b.units || a.segments != b.segments)
				fail_msg("case %d: measure differs", i);
			free(x);
			free(y);
		}
		free(t);
	}
}

/* Templates for the fitting: the built-in ones, the department SMS, and
 * the placeholders next to each other, under a quote, alone on a line,
 * at both ends, twice. */
static const char *const fit_tmpls[] = {
	"S48 prijava br. {id} ({department}): {text} Rok: {due}",
	"Sistem 48: prijava br. {id}: {status}. {note}",
	"Sistem 48: prijava br. {id} primljena ({department}). Rok: {due}. "
	    "Stanje: posaljite STATUS {id}",
	"Sistem 48: prijava br. {id} ({department}): {status}. Primljena {created}, rok {due}.",
	"{text}",
	"{text} {note}",
	"{text}{note}",
	"{department}{text}{note}",
	"#{id} [{department}] {text} / {note}",
	"> {text}\n{note}",
	"Prijava {id}:\n> {text}\n>\n{note}\nKraj",
	"  {note}  \n{text}\n  {department}",
	"{text} i opet {text} ({note})",
	"Љ{text}Њ {note}џ",
	"ДРУГИ {department}: {text}",
	"{{text}} {unknown} {note}",
	"Rok: {due} {note}\n\n{text}",
	"Sistem 48 veoma dugacak uvod koji se ponavlja i ponavlja i ponavlja i ponavlja "
	    "i ponavlja i ponavlja i ponavlja i ponavlja i ponavlja i ponavlja i ponavlja "
	    "i ponavlja i ponavlja: prijava br. {id}. {note} {text}",
	"€€€ [{id}] {text} ~ {note}",
	"{id}",
	"",
};

/* a random value: mostly text, sometimes NULL, empty, blank, or with
 * white space or '>' at its ends */
static char *
rand_value(int *is_null)
{
	uint32_t r = rng_below(20);
	char *t, *v;

	*is_null = 0;
	switch (r) {
	case 0:
		*is_null = 1;
		return NULL;
	case 1:
		return xstrdup("");
	case 2:
		return xstrdup(rng_below(2) ? "   " : " \n ");
	default:
		break;
	}
	t = rand_text(1 + rng_below(rng_below(4) == 0 ? 120 : 30), (int)rng_below(4) % 3);
	switch (rng_below(10)) {
	case 0:
		v = xasprintf(" %s", t);
		break;
	case 1:
		v = xasprintf("%s\n", t);
		break;
	case 2:
		v = xasprintf("%s >", t);
		break;
	default:
		return t;
	}
	free(t);
	return v;
}

static void
check_fit(const char *tmpl, const struct tmpl_vars *v, int ascii, int seg, const char *what)
{
	char *x = tmpl_render_sms(tmpl, v, ascii, seg);
	char *y = ref_tmpl_render_sms(tmpl, v, ascii, seg);

	if (strcmp(x, y) != 0)
		fail_msg("%s: tmpl \"%s\" ascii %d seg %d\nnote \"%s\"\ntext \"%s\"\ndept \"%s\"\n"
		    "got  \"%s\"\nwant \"%s\"", what, tmpl, ascii, seg, v->note ? v->note : "(null)",
		    v->text ? v->text : "(null)", v->department ? v->department : "(null)", x, y);
	free(x);
	free(y);
}

/* a table: typical reports of every length, in both scripts */
static void
test_diff_fit_table(void **state)
{
	static const char *const texts[] = {
		"Kratko.",
		"Ne radi rasveta u ulici Đure Đakovića",
		"Postovani, u ulici Đure Đakovića kod broja 17 već tri dana curi voda iz pukle cevi "
		    "na trotoaru, voda se sliva niz ulicu i pravi led ujutru. Molimo da hitno "
		    "pošaljete ekipu jer su deca već padala na putu do škole. Takođe ne radi ni "
		    "ulična rasveta na uglu sa Takovskom, pa je noću potpuno mrak.",
		"Поштовани, у улици Ђуре Ђаковића код броја 17 већ три дана цури вода из пукле цеви "
		    "на тротоару, вода се слива низ улицу и прави лед ујутру. Молимо да хитно "
		    "пошаљете екипу јер су деца већ падала на путу до школе.",
		"Cev [pukla] {hitno} ~ 5€ | a^b \\ kraj kraj kraj kraj kraj kraj kraj kraj kraj kraj "
		    "kraj kraj kraj kraj kraj kraj kraj kraj kraj kraj kraj kraj kraj kraj kraj",
		"Voda \xf0\x9f\x92\xa7\xf0\x9f\x92\xa7 curi \xf0\x9f\x98\x80 svuda svuda svuda svuda svuda "
		    "svuda svuda svuda svuda svuda svuda svuda svuda svuda svuda svuda svuda",
		"Prvi red\nDrugi red\n\nTreći red posle praznog reda i još malo teksta da bude dugo "
		    "dugo dugo dugo dugo dugo dugo dugo dugo dugo dugo dugo dugo dugo dugo dugo",
		"Jednareckojajeveomadugackabezrazmakaijosnekolikoslovadabudeduzaodsegmenta"
		    "jednareckojajeveomadugackabezrazmakaijosnekolikoslovadabudeduzaodsegmenta"
		    "jednareckojajeveomadugackabezrazmakaijosnekolikoslovadabudeduzaodsegmenta",
	};
	static const char *const depts[] = { "Vodovod i kanalizacija", "Јавна расвета", "Rasveta" };
	size_t t, x, d;
	int ascii, seg;

	(void)state;
	for (t = 0; t < N(fit_tmpls); t++)
		for (x = 0; x < N(texts); x++)
			for (d = 0; d < N(depts); d++)
				for (ascii = 0; ascii <= 1; ascii++)
					for (seg = 1; seg <= 4; seg++) {
						struct tmpl_vars v = vars;

						v.text = texts[x];
						v.department = depts[d];
						v.note = x % 2 ? texts[(x + 3) % N(texts)] : NULL;
						check_fit(fit_tmpls[t], &v, ascii, seg, "table");
					}
}

static void
test_diff_fit_random(void **state)
{
	static const long ids[] = { 1, 4711, 123456789, -5 };
	int i;

	(void)state;
	rng_seed(2026);
	for (i = 0; i < 4000; i++) {
		struct tmpl_vars v = vars;
		int nn, tn, dn;
		char *note = rand_value(&nn), *text = rand_value(&tn), *dept = rand_value(&dn);
		char *tmpl = NULL;
		const char *tp;
		char what[32];

		if (rng_below(5) == 0) {
			/* a random template from the same pieces and placeholders */
			static const char *const ph[] = { "{id}", "{text}", "{note}", "{department}",
				"{due}", "{status}", "\n", "> ", " " };
			struct buf b;
			uint32_t k, n = 1 + rng_below(8);

			buf_init(&b, 1 << 16);
			for (k = 0; k < n; k++) {
				char *f = rand_text(1 + rng_below(3), (int)rng_below(3));

				(void)buf_appends(&b, rng_below(2) ? ph[rng_below(N(ph))] : f);
				free(f);
			}
			tmpl = buf_steal(&b, NULL);
			tp = tmpl;
		} else {
			tp = fit_tmpls[rng_below(N(fit_tmpls))];
		}
		v.id = ids[rng_below(N(ids))];
		v.note = note;
		v.text = text;
		v.department = dept;
		if (rng_below(10) == 0)
			v.status = "Завршено";
		snprintf(what, sizeof(what), "random %d", i);
		check_fit(tp, &v, (int)rng_below(2), 1 + (int)rng_below(4), what);
		free(note);
		free(text);
		free(dept);
		free(tmpl);
	}
}

/* escape pairs and surrogate pairs packed near segment ends: a segment
 * never splits one, so the count is not the units over 153 or 67 */
static void
test_diff_fit_pairs(void **state)
{
	static const char *const gsm_units[] = { "a", "a", "€", "[", "}", "é" };
	static const char *const ucs_units[] = { "ж", "ж", "\xf0\x9f\x92\xa7", "a", "€" };
	int i;

	(void)state;
	rng_seed(153);
	for (i = 0; i < 1500; i++) {
		struct tmpl_vars v = vars;
		int ascii = i % 2, words = 20 + (int)rng_below(60), k;
		struct buf b;
		char *text;

		buf_init(&b, 1 << 16);
		for (k = 0; k < words; k++) {
			int len = 1 + (int)rng_below(8), c;

			if (k > 0)
				(void)buf_appendc(&b, ' ');
			for (c = 0; c < len; c++)
				(void)buf_appends(&b, ascii ? gsm_units[rng_below(N(gsm_units))] :
				    ucs_units[rng_below(N(ucs_units))]);
		}
		text = buf_steal(&b, NULL);
		v.text = text;
		v.note = rng_below(2) ? text + rng_below(10) : NULL;
		if (v.note != NULL && (v.note[0] == ' ' || ((unsigned char)v.note[0] & 0xC0) == 0x80))
			v.note = "€ [a] \xf0\x9f\x92\xa7";
		check_fit(fit_tmpls[rng_below(4)], &v, ascii, 2 + (int)rng_below(3), "pairs");
		check_fit("{text}", &v, ascii, 2 + (int)rng_below(3), "pairs alone");
		free(text);
	}
}

/* tmpl_render itself against the reference, random templates and values */
static void
test_diff_render_random(void **state)
{
	static const char *const ph[] = { "{id}", "{text}", "{note}", "{department}", "{due}",
		"{status}", "{created}", "{x}", "{", "}", "\n", "> ", " ", "  ", "\t", "\r\n" };
	int i;

	(void)state;
	rng_seed(7);
	for (i = 0; i < 3000; i++) {
		struct tmpl_vars v = vars;
		int nn, tn, dn;
		char *note = rand_value(&nn), *text = rand_value(&tn), *dept = rand_value(&dn);
		struct buf b;
		uint32_t k, n = 1 + rng_below(12);
		char *tmpl, *x, *y;

		buf_init(&b, 1 << 16);
		for (k = 0; k < n; k++) {
			char *f = rand_text(1 + rng_below(3), 1);

			(void)buf_appends(&b, rng_below(3) ? ph[rng_below(N(ph))] : f);
			free(f);
		}
		tmpl = buf_steal(&b, NULL);
		v.note = note;
		v.text = text;
		v.department = dept;
		x = tmpl_render(tmpl, &v);
		y = ref_tmpl_render(tmpl, &v);
		if (strcmp(x, y) != 0)
			fail_msg("case %d: tmpl \"%s\"\ngot  \"%s\"\nwant \"%s\"", i, tmpl, x, y);
		free(x);
		free(y);
		free(tmpl);
		free(note);
		free(text);
		free(dept);
	}
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
		cmocka_unit_test(test_diff_codepoints),
		cmocka_unit_test(test_diff_prepare_neighbours),
		cmocka_unit_test(test_diff_prepare_contexts),
		cmocka_unit_test(test_diff_prepare_random),
		cmocka_unit_test(test_diff_fit_table),
		cmocka_unit_test(test_diff_fit_random),
		cmocka_unit_test(test_diff_fit_pairs),
		cmocka_unit_test(test_diff_render_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
