/*
 * templates.c - reply templates with {placeholders} (SPEC section 5) and
 * SMS fitting: GSM-7 / UCS-2 segment arithmetic, transliteration to
 * GSM-7, and shortening a rendered reply to sms.max_segments.
 */
#include "templates.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"
#include "util.h"

#define RENDER_MAX (64u * 1024 * 1024)

const char *const tmpl_default_sms_ack =
    "Sistem 48: prijava br. {id} primljena ({department}). Rok: {due}. "
    "Stanje: posaljite STATUS {id}";
const char *const tmpl_default_sms_status =
    "Sistem 48: prijava br. {id}: {status}. {note}";
const char *const tmpl_default_sms_query =
    "Sistem 48: prijava br. {id} ({department}): {status}. Primljena {created}, rok {due}.";
const char *const tmpl_default_sms_help =
    "Sistem 48: za prijavu kvara posaljite opis problema i adresu. "
    "Stanje prijave: STATUS broj (npr. STATUS 12). Dopuna: #broj tekst. Odjava: STOP";
const char *const tmpl_default_email_ack =
    "Poštovani,\n"
    "\n"
    "Vaša prijava je primljena i zavedena pod brojem {id}.\n"
    "Nadležna služba: {department}\n"
    "Primljena: {created}\n"
    "Rok za rešavanje: {due}\n"
    "\n"
    "Vaša poruka:\n"
    "> {text}\n"
    "\n"
    "O svakoj promeni stanja bićete obavešteni. Dopunu prijave pošaljite\n"
    "odgovorom na ovu poruku, bez menjanja broja prijave u naslovu.\n"
    "\n"
    "Sistem 48 (automatska poruka)\n";
const char *const tmpl_default_email_status =
    "Poštovani,\n"
    "\n"
    "stanje Vaše prijave br. {id} ({department}) je promenjeno: {status}.\n"
    "{note}\n"
    "\n"
    "Prijava primljena: {created}\n"
    "Rok za rešavanje: {due}\n"
    "\n"
    "Vaša prijava:\n"
    "> {text}\n"
    "\n"
    "Sistem 48 (automatska poruka)\n";

/* ---- rendering ---- */

/* The value of placeholder name[0..len), or NULL if it is not one. */
static const char *
lookup(const char *name, size_t len, const struct tmpl_vars *v, char idbuf[32])
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
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Start of the current (last) line of b. */
static size_t
line_start(const struct buf *b)
{
	size_t i = b->len;

	while (i > 0 && b->data[i - 1] != '\n')
		i--;
	return i;
}

char *
tmpl_render(const char *tmpl, const struct tmpl_vars *v)
{
	struct buf b;
	const char *p = tmpl;
	char idbuf[32];
	size_t s, e;

	buf_init(&b, RENDER_MAX);
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
		    (val = lookup(p + 1, (size_t)(close - p - 1), v, idbuf)) == NULL) {
			(void)buf_appendc(&b, *p++);
			continue;
		}
		p = close + 1;
		ls = line_start(&b);
		if (val[0] == '\0') {
			const char *q = p;
			int alone = 1;

			for (i = ls; i < b.len && alone; i++)
				alone = is_blank(b.data[i]);
			while (is_blank(*q))
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
			if (b.len > ls && is_blank(b.data[b.len - 1])) {
				while (is_blank(*p))
					p++;
				if (*p == '\n' || *p == '\0' || *p == '\r') {
					while (b.len > ls && is_blank(b.data[b.len - 1]))
						b.len--;
					b.data[b.len] = '\0';
				}
			}
			continue;
		}
		/* a multi-line value under a quote or indent keeps it per line */
		prefix_ok = 1;
		for (i = ls; i < b.len && prefix_ok; i++)
			prefix_ok = is_blank(b.data[i]) || b.data[i] == '>';
		if (prefix_ok && b.len > ls && strchr(val, '\n') != NULL) {
			char *prefix = xstrndup(b.data + ls, b.len - ls);
			const char *q;

			size_t pl = strlen(prefix), plt = pl;

			while (plt > 0 && is_blank(prefix[plt - 1]))
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
	for (s = 0; s < b.len && (is_blank(b.data[s]) || b.data[s] == '\n' || b.data[s] == '\r'); s++)
		;
	for (e = b.len; e > s && (is_blank(b.data[e - 1]) || b.data[e - 1] == '\n' ||
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
static inline int
gsm_cost(uint32_t cp)
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
static inline uint32_t
next_cp(const unsigned char **pp)
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

void
sms_measure(const char *utf8, int allow_ucs2, struct sms_measure *m)
{
	const unsigned char *p = (const unsigned char *)(utf8 ? utf8 : "");
	size_t gsm = 0, utf16 = 0;
	size_t gseg = 1, gfill = 0, useg = 1, ufill = 0;
	int need_ucs2 = 0;

	/* count both encodings at once, packing segments as a concatenated
	 * message would: 153 septets (an escape pair never split) or 67
	 * UTF-16 units (a surrogate pair never split) */
	while (*p != '\0') {
		uint32_t cp = *p < 0x80 ? *p++ : next_cp(&p);
		int c = gsm_cost(cp);
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
gsm_substitute(uint32_t cp)
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

char *
sms_prepare(const char *utf8, int ascii)
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
		cp = next_cp(&p);

		if (gsm_cost(cp) > 0) {
			memcpy(o, start, (size_t)(p - start));
			o += p - start;
		} else if ((sub = gsm_substitute(cp)) != NULL &&
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
render_prepared(const char *tmpl, const struct tmpl_vars *v, int ascii)
{
	char *r = tmpl_render(tmpl, v);
	char *p = sms_prepare(r, ascii);

	free(r);
	return p;
}

static int
fits(const char *prepared, int ascii, int max_segments)
{
	struct sms_measure m;

	sms_measure(prepared, !ascii, &m);
	return m.segments <= max_segments;
}

/* value cut after its k-th word (k >= 1) with "..." appended */
static char *
cut_words(const char *val, size_t k)
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
count_words(const char *val)
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
 * message if it fits now, else NULL with *field set to "" (*owned holds
 * any allocation).
 */
static char *
shorten_field(const char *tmpl, struct tmpl_vars *w, const char **field, char **owned,
    int ascii, int max_segments)
{
	const char *orig = *field;
	size_t nw, lo, hi, best = 0;
	char *cand, *msg;

	if (orig == NULL || orig[0] == '\0')
		return NULL;
	nw = count_words(orig);
	/* binary search the largest k in [1, nw-1] that fits */
	lo = 1;
	hi = nw > 0 ? nw - 1 : 0;
	while (lo <= hi) {
		size_t mid = lo + (hi - lo) / 2;
		int ok;

		cand = cut_words(orig, mid);
		*field = cand;
		msg = render_prepared(tmpl, w, ascii);
		ok = fits(msg, ascii, max_segments);
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
	*owned = best > 0 ? cut_words(orig, best) : xstrdup("");
	*field = *owned;
	msg = render_prepared(tmpl, w, ascii);
	if (fits(msg, ascii, max_segments))
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
char *
tmpl_render_sms(const char *tmpl, const struct tmpl_vars *v, int ascii, int max_segments)
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
	msg = render_prepared(tmpl, &w, ascii);
	if (fits(msg, ascii, max_segments))
		goto done;
	free(msg);
	msg = NULL;
	for (i = 0; i < 3; i++) {
		msg = shorten_field(tmpl, &w, fields[i], &owned[i], ascii, max_segments);
		if (msg != NULL)
			goto done;
	}
	/* last resort: cut the message at a word end, never before the id */
	msg = render_prepared(tmpl, &w, ascii);
	idpos = strstr(tmpl, "{id}");
	if (idpos != NULL) {
		idtmpl = xstrndup(tmpl, (size_t)(idpos - tmpl) + 4);
		idmsg = render_prepared(idtmpl, &w, ascii);
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
		ok = fits(msg, ascii, max_segments);
		msg[cut] = save;
		if (ok)
			break;
	}
	if (cut == keep && keep == 0) {
		/* not even one word fits: cut at a character boundary */
		for (cut = len; cut > 0; cut--) {
			char save;
			int ok;

			if (((unsigned char)msg[cut] & 0xC0) == 0x80)
				continue;
			save = msg[cut];
			msg[cut] = '\0';
			ok = fits(msg, ascii, max_segments);
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
