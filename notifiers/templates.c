/*
 * templates.c - reply templates with {placeholders} (SPEC section 5) and
 * SMS fitting: GSM-7 / UCS-2 segment arithmetic, transliteration to
 * GSM-7, and shortening a rendered reply to sms.max_segments.
 *
 * tmpl_render_sms renders a template once and prices each shortened
 * candidate by arithmetic ("fitting, the quick way"); what that cannot
 * take apart goes the general way, rendering every candidate.  Both give
 * the same bytes: tests/unit/test_templates.c keeps the general algorithm
 * as a reference and compares.
 */
#include "templates.h"

#include <stdatomic.h>
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
    "obaveštavamo Vas o prijavi br. {id} ({department}).\n"
    "Stanje prijave: {status}\n"
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

/*
 * Append p[0..n) to b and keep *ls, the start of b's last line, without
 * looking back over what is there.
 */
static void
render_put(struct buf *b, size_t *ls, const char *p, size_t n)
{
	const char *nl = n > 0 ? memrchr(p, '\n', n) : NULL;

	if (nl != NULL)
		*ls = b->len + (size_t)(nl - p) + 1;
	if (b->data != NULL && n < b->cap - b->len) {
		/* within what tmpl_render reserved */
		memcpy(b->data + b->len, p, n);
		b->len += n;
		b->data[b->len] = '\0';
		return;
	}
	(void)buf_append(b, p, n);
}

char *
tmpl_render(const char *tmpl, const struct tmpl_vars *v)
{
	struct buf b;
	const char *p = tmpl;
	char idbuf[32];
	size_t s, e, ls = 0, est;

	buf_init(&b, RENDER_MAX);
	if (tmpl == NULL)
		tmpl = p = "";
	/* one allocation for the usual case (each value at most once): the
	 * fields of struct buf are public, and an empty buffer may be given
	 * its first block */
	est = strlen(tmpl) + (v->text ? strlen(v->text) : 0) + (v->note ? strlen(v->note) : 0) +
	    (v->department ? strlen(v->department) : 0) + 96;
	if (est < RENDER_MAX) {
		b.data = xmalloc(est + 1);
		b.data[0] = '\0';
		b.cap = est + 1;
	}
	while (*p != '\0') {
		const char *close, *val;
		size_t i;
		int prefix_ok;

		if (*p != '{') {
			/* literal text up to the next brace, in one piece */
			const char *brace = strchr(p, '{');
			size_t run = brace ? (size_t)(brace - p) : strlen(p);

			render_put(&b, &ls, p, run);
			p += run;
			continue;
		}
		if ((close = strchr(p + 1, '}')) == NULL ||
		    (val = lookup(p + 1, (size_t)(close - p - 1), v, idbuf)) == NULL) {
			(void)buf_appendc(&b, *p++);
			continue;
		}
		p = close + 1;
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
				ls = b.len;
				q = nl + 1;
				/* "> " before text, ">" on an empty line */
				(void)buf_append(&b, prefix,
				    *q == '\n' || *q == '\r' || *q == '\0' ? plt : pl);
			}
			free(prefix);
		} else {
			render_put(&b, &ls, val, strlen(val));
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
	if (s > 0)
		memmove(b.data, b.data + s, e - s);
	b.len = e - s;
	b.data[b.len] = '\0';
	return buf_steal(&b, NULL);
}

/* ---- GSM-7 ---- */

/* Septets of the code points below 256 in GSM-7: 1 basic, 2 extension
 * (^ { } \ [ ] ~ | and form feed), 0 none. */
static const unsigned char gsm_tab[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 1,
	0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	0, 0, 0, 0, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 1,
	1, 0, 0, 0, 1, 1, 1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 1, 0, 0, 0,
};

/* What sms_prepare(ascii = 1) makes of an ASCII byte: printable ASCII but
 * '`' stays, tab is a space, '`' an apostrophe, controls other than
 * CR, LF and FF are '?'. */
static const char asc_out[128] = {
	'?', '?', '?', '?', '?', '?', '?', '?', '?', ' ', '\n', '?', '\f', '\r', '?', '?',
	'?', '?', '?', '?', '?', '?', '?', '?', '?', '?', '?', '?', '?', '?', '?', '?',
	' ', '!', '"', '#', '$', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
	'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
	'@', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
	'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', '[', '\\', ']', '^', '_',
	'\'', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', '{', '|', '}', '~', '?',
};

/* The bytes prep_scan copies in one go, as they come out (0: any other,
 * and everything from 0x80): printable ASCII of one septet, after
 * asc_out (ascii) or as it is. */
static const char plain_ascii[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, '!', '"', '#', '$', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
	'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
	'@', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
	'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 0, 0, 0, 0, '_',
	'\'', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 0, 0, 0, 0, '?',
};
static const char plain_raw[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, '!', '"', '#', '$', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
	'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
	'@', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
	'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 0, 0, 0, 0, '_',
	0, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 0, 0, 0, 0, 0,
};

/* Cost in septets of a code point in GSM-7: 1 basic, 2 extension, 0 none. */
static inline int
gsm_cost(uint32_t cp)
{
	if (cp < 0x100)
		return gsm_tab[cp];
	/* the Greek capitals of the basic table: Γ Δ Θ Λ Ξ Π Σ Φ Ψ Ω */
	if (cp >= 0x393 && cp <= 0x3A9)
		return (int)((0x692923UL >> (cp - 0x393)) & 1);
	return cp == 0x20AC ? 2 : 0;
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

/*
 * Strict UTF-8 (as normalize.c judges it: no overlong forms, no
 * surrogates, nothing above U+10FFFF): the length of the sequence at
 * s[0..len) with its code point in *cp, or 0 if it is not valid.
 */
static inline size_t
utf8_strict(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned c = s[0], lo = 0x80, hi = 0xBF;
	size_t need, i;
	uint32_t v;

	if (c < 0xC2 || c > 0xF4)
		return 0;
	if (c < 0xE0) {
		if (len < 2 || (s[1] & 0xC0) != 0x80)
			return 0;
		*cp = ((uint32_t)(c & 0x1F) << 6) | (s[1] & 0x3F);
		return 2;
	}
	if (c < 0xF0) {
		need = 2;
		v = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else {
		need = 3;
		v = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	}
	if (len <= need)
		return 0;
	for (i = 1; i <= need; i++) {
		if (s[i] < lo || s[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xBF;
		v = (v << 6) | (s[i] & 0x3F);
	}
	*cp = v;
	return need + 1;
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

/* ---- the SMS form of a text and what it costs ---- */

/*
 * A text made ready for SMS (as sms_prepare makes it) with its cost in
 * both encodings, and where its two-unit characters start: escape pairs
 * (in septets) and surrogate pairs (in UTF-16 units), which a segment
 * never splits.  The prepared text is never longer than its source: a
 * code point becomes its Latin form, a stand-in no longer than itself,
 * itself or '?'.
 */
struct prep {
	const char *rd;             /* the prepared text (out, or the source itself) */
	char *out;                  /* where it is written: cap bytes, own or a slice */
	size_t len, cap;
	int own;                    /* out is allocated for this prep */
	size_t cps;                 /* code points */
	size_t g;                   /* GSM-7 septets, one for a character outside GSM-7 */
	size_t u;                   /* UTF-16 units */
	int need;                   /* a character outside GSM-7: UCS-2 when allowed */
	size_t need_at;             /* septets before the first of them */
	size_t *ev[2];              /* [0] escape pairs, [1] surrogate pairs */
	size_t nev[2], cev[2];
};

/* the state after a word of a value (cut_words' words); what comes
 * before it of need and ev follows from g and u */
struct wend {
	size_t off, g, u;
};

#define WORDS_SMALL 64

struct words {
	struct wend *v;             /* small, or allocated */
	size_t n, cap;
	size_t limit;               /* stop once more code points than this are out */
	size_t limit_ucs2;          /* or this many, with a character outside GSM-7 */
	struct wend small[WORDS_SMALL];
};

/* p writes to buf[0..cap) (a slice of a larger block), or, buf NULL, to
 * its own allocation for a source of srclen bytes */
static void
prep_init(struct prep *p, char *buf, size_t cap, size_t srclen)
{
	memset(p, 0, sizeof(*p));
	if (buf != NULL) {
		p->out = buf;
		p->cap = cap;
	} else {
		p->cap = srclen + 1;
		p->out = xmalloc(p->cap);
		p->own = 1;
	}
	p->rd = p->out;
}

static void
prep_free(struct prep *p)
{
	if (p->own)
		free(p->out);
	free(p->ev[0]);
	free(p->ev[1]);
	memset(p, 0, sizeof(*p));
}

/* room for n more bytes */
static void
prep_room(struct prep *p, size_t n)
{
	if (n >= p->cap - p->len) {
		size_t cap = p->len + n + 1;

		if (p->own) {
			p->out = xrealloc(p->out, cap);
		} else {
			char *o = xmalloc(cap);

			memcpy(o, p->out, p->len);
			p->out = o;
			p->own = 1;
		}
		p->cap = cap;
		p->rd = p->out;
	}
}

static void
prep_event(struct prep *p, int which, size_t at)
{
	if (p->nev[which] == p->cev[which]) {
		p->cev[which] = p->cev[which] ? 2 * p->cev[which] : 8;
		p->ev[which] = xrealloc(p->ev[which], p->cev[which] * sizeof(size_t));
	}
	p->ev[which][p->nev[which]++] = at;
}

/* count code point cp (not yet written or not written at all) */
static inline void
prep_cost(struct prep *p, uint32_t cp)
{
	unsigned c = (unsigned)gsm_cost(cp);

	p->cps++;
	if (c != 1) {
		if (c == 0) {
			if (!p->need)
				p->need_at = p->g;
			p->need = 1;
			c = 1;
		} else {
			prep_event(p, 0, p->g);
		}
	}
	p->g += c;
	if (cp >= 0x10000) {
		prep_event(p, 1, p->u);
		p->u += 2;
	} else {
		p->u++;
	}
}

/* append one ASCII byte as it is */
static inline void
prep_byte(struct prep *p, unsigned char b)
{
	prep_cost(p, b);
	p->out[p->len++] = (char)b;
}

/* append the non-ASCII code point cp, its UTF-8 bytes s[0..n) */
static inline void
prep_cp(struct prep *p, const unsigned char *s, size_t n, uint32_t cp)
{
	prep_cost(p, cp);
	memcpy(p->out + p->len, s, n);
	p->len += n;
}

/* append transliterated text t[0..n) (valid UTF-8) made GSM-7 */
static void
prep_gsm(struct prep *p, const unsigned char *t, size_t n)
{
	const unsigned char *e = t + n;

	prep_room(p, n);
	while (t < e) {
		const unsigned char *s = t;
		const char *sub;
		uint32_t cp;

		if (*t < 0x80) {
			prep_byte(p, (unsigned char)asc_out[*t++]);
			continue;
		}
		cp = next_cp(&t);
		if (gsm_cost(cp) > 0) {
			prep_cp(p, s, (size_t)(t - s), cp);
		} else if ((sub = gsm_substitute(cp)) != NULL && strlen(sub) <= (size_t)(t - s)) {
			for (; *sub != '\0'; sub++)
				prep_byte(p, (unsigned char)*sub);
		} else {
			prep_byte(p, '?');
		}
	}
}

static inline int
is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void
words_init(struct words *w, size_t limit, size_t limit_ucs2)
{
	w->v = w->small;
	w->n = 0;
	w->cap = WORDS_SMALL;
	w->limit = limit;
	w->limit_ucs2 = limit_ucs2;
}

static void
words_free(struct words *w)
{
	if (w->v != w->small)
		free(w->v);
	w->v = w->small;
	w->n = 0;
}

/* room for at least 8 more words */
static void
words_grow(struct words *w)
{
	if (w->cap - w->n >= 8)
		return;
	if (w->v == w->small) {
		w->v = xmalloc(2 * w->cap * sizeof(*w->v));
		memcpy(w->v, w->small, sizeof(w->small));
	} else {
		w->v = xrealloc(w->v, 2 * w->cap * sizeof(*w->v));
	}
	w->cap *= 2;
}

/* A word ends here, before white space: keep the state. */
static inline void
prep_word(struct words *w, const struct prep *p)
{
	struct wend *e;

	if (w->n == w->cap)
		words_grow(w);
	e = &w->v[w->n++];
	e->off = p->len;
	e->g = p->g;
	e->u = p->u;
}

/* how many of p's two-unit characters of kind which start before lim */
static size_t
ev_before(const struct prep *p, int which, size_t lim)
{
	size_t lo = 0, hi = p->nev[which];

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->ev[which][mid] < lim)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* eight bytes at a time (the first byte in memory is the lowest) */
#define SWAR 1
#define B_ONES 0x0101010101010101ULL
#define B_HIGH 0x8080808080808080ULL

/* the high bit of each byte of x equal to c */
static inline uint64_t
swar_eq(uint64_t x, unsigned c)
{
	uint64_t y = x ^ (B_ONES * c);

	return ~(((y & ~B_HIGH) + ~B_HIGH) | y) & B_HIGH;
}

/*
 * The high bit of each byte of x that is neither a space nor printable
 * ASCII of one septet that goes out as it is (plain_raw; '`' is not).
 * The lowest one set is right; above it some may be set wrongly.
 */
static inline uint64_t
swar_notplain(uint64_t x)
{
	uint64_t lo = ~(x + B_ONES * 0x60) & B_HIGH;                    /* < 0x20 */
	uint64_t hi = (x + B_ONES * 0x05) & B_HIGH;                     /* > 0x7A */
	uint64_t mid = (x + B_ONES * 0x25) & ~(x + B_ONES * 0x1F) & B_HIGH; /* 0x5B..0x60 */

	return (x & B_HIGH) | lo | hi | (mid & ~swar_eq(x, 0x5F));
}
#endif

/* n more bytes of one septet, one unit and one code point each */
static inline void
prep_plain(struct prep *p, size_t n)
{
	p->len += n;
	p->cps += n;
	p->g += n;
	p->u += n;
}

#define WIN_GAP 16      /* ASCII bytes bridged between two non-ASCII runs */
#define WIN_MAX 1024    /* source bytes transliterated at once, about */

/*
 * The transliteration of the two-byte characters (U+0080..U+07FF: Latin
 * with diacritics, Cyrillic), filled in as they are met, one word each
 * so that threads may share them (bits 0-31 the bytes, 32-34 their
 * number, bit 40 set once known).  norm_translit looks at neighbours only
 * for an upper-case digraph ("Dj" or "DJ" for Đ, "Lj" or "LJ" for Љ): its
 * second letter is upper case before an upper-case letter, lower case
 * before a lower-case one, else as the letter before.  What is not such
 * a digraph is the same everywhere (tl2_known); the digraphs of Latin-1,
 * Latin Extended and Cyrillic are kept by their neighbours (tl2_ctx).
 */
static _Atomic uint64_t tl2_known[0x800 - 0x80];
static _Atomic uint64_t tl2_ctx[(0x250 - 0xC0) + (0x460 - 0x400)][6];
#define TL2_SET ((uint64_t)1 << 40)

/* what the transliteration sees of a neighbour: TL_UPPER, TL_LOWER (the
 * first letter of its Latin form), or neither */
enum { TL_NONE, TL_UPPER, TL_LOWER };

static unsigned
tl_class(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? TL_UPPER : c >= 'a' && c <= 'z' ? TL_LOWER : TL_NONE;
}

static int
tl2_ctx_index(uint32_t cp)
{
	if (cp >= 0xC0 && cp < 0x250)
		return (int)(cp - 0xC0);
	if (cp >= 0x400 && cp < 0x460)
		return (int)(0x250 - 0xC0 + cp - 0x400);
	return -1;
}

/*
 * The transliteration of two-byte character cp after a letter that is
 * upper case (prev_upper) or not, before a neighbour of class next; 0 if
 * it is longer than a word holds.
 */
static uint64_t
tl2_get(uint32_t cp, int prev_upper, unsigned next)
{
	static const char side[3] = { ' ', 'A', 'a' };
	unsigned ctx = (unsigned)prev_upper * 3 + next;
	uint64_t known = atomic_load_explicit(&tl2_known[cp - 0x80], memory_order_relaxed);
	int ci = tl2_ctx_index(cp), digraph;
	char win[4], *t;
	size_t n, i;

	if (known & TL2_SET)
		return known;
	if (ci >= 0) {
		known = atomic_load_explicit(&tl2_ctx[ci][ctx], memory_order_relaxed);
		if (known & TL2_SET)
			return known;
	}
	/* between ASCII neighbours of the same classes */
	win[0] = side[prev_upper ? TL_UPPER : TL_NONE];
	win[1] = (char)(0xC0 | (cp >> 6));
	win[2] = (char)(0x80 | (cp & 0x3F));
	win[3] = side[next];
	t = norm_translit(win, 4);
	n = strlen(t) - 2;
	if (n > 4) {
		free(t);
		return 0;
	}
	known = TL2_SET | (uint64_t)n << 32;
	for (i = 0; i < n; i++)
		known |= (uint64_t)(unsigned char)t[1 + i] << (8 * i);
	digraph = n == 2 && tl_class((unsigned char)t[1]) == TL_UPPER &&
	    tl_class((unsigned char)t[2]) != TL_NONE;
	free(t);
	if (!digraph)
		atomic_store_explicit(&tl2_known[cp - 0x80], known, memory_order_relaxed);
	else if (ci >= 0)
		atomic_store_explicit(&tl2_ctx[ci][ctx], known, memory_order_relaxed);
	return known;
}

/* append a kept transliteration, made GSM-7 */
static void
tl2_emit(struct prep *p, uint64_t known)
{
	unsigned char o[4];
	size_t n = (size_t)((known >> 32) & 7), i;

	for (i = 0; i < 4; i++)
		o[i] = (unsigned char)(known >> (8 * i));
	if (n <= 2 && (n < 1 || plain_ascii[o[0]] == (char)o[0]) &&
	    (n < 2 || plain_ascii[o[1]] == (char)o[1])) {
		/* a letter or two, as they are (room: not longer than the
		 * two bytes read) */
		memcpy(p->out + p->len, o, n);
		prep_plain(p, n);
		return;
	}
	prep_gsm(p, o, n);
}

/* the class a kept transliteration shows its neighbours */
static unsigned
tl2_class(uint64_t known)
{
	return (known >> 32) & 7 ? tl_class((unsigned char)known) : TL_NONE;
}

/*
 * The run of two-byte characters at s[a] from the kept transliterations,
 * character by character, keeping track of what norm_translit would see
 * around each.  Returns where the run ends (at ASCII or the end), or 0
 * with p as it was if it holds anything else.
 */
static size_t
prep_run2(struct prep *p, const unsigned char *s, size_t len, size_t a)
{
	size_t k = a, len0 = p->len, cps0 = p->cps, g0 = p->g, u0 = p->u, at0 = p->need_at;
	size_t nev0 = p->nev[0], nev1 = p->nev[1];
	int need0 = p->need;
	/* the Latin form of the last letter, as norm_translit keeps it:
	 * an ASCII byte sets it, a character without one clears it */
	int prev_upper = a > 0 && tl_class(s[a - 1]) == TL_UPPER;
	char *o = p->out + p->len;
	size_t np = 0;          /* single letters at o, not yet counted */

	while (k < len && s[k] >= 0x80) {
		uint32_t cp;
		uint64_t known;
		size_t n;

		if (s[k] < 0xC2 || s[k] >= 0xE0 || k + 1 >= len || (s[k + 1] & 0xC0) != 0x80)
			goto undo;
		cp = ((uint32_t)(s[k] & 0x1F) << 6) | (s[k + 1] & 0x3F);
		known = atomic_load_explicit(&tl2_known[cp - 0x80], memory_order_relaxed);
		if (!(known & TL2_SET)) {
			/* it may depend on the next one: the class of the first
			 * letter of its Latin form (the same anywhere) */
			unsigned next = TL_NONE;

			if (k + 2 < len && s[k + 2] < 0x80) {
				next = tl_class(s[k + 2]);
			} else if (k + 3 < len && s[k + 2] >= 0xC2 && s[k + 2] < 0xE0 &&
			    (s[k + 3] & 0xC0) == 0x80) {
				uint64_t nk = tl2_get(((uint32_t)(s[k + 2] & 0x1F) << 6) |
				    (s[k + 3] & 0x3F), 0, TL_NONE);

				if (nk == 0)
					goto undo;
				next = tl2_class(nk);
			} else if (k + 2 < len) {
				goto undo;
			}
			if ((known = tl2_get(cp, prev_upper, next)) == 0)
				goto undo;
		}
		n = (size_t)((known >> 32) & 7);
		if (n == 1 && plain_ascii[known & 0xFF] == (char)(known & 0xFF)) {
			/* the usual: one letter (room: one byte for two) */
			o[np++] = (char)(known & 0xFF);
		} else {
			prep_plain(p, np);
			np = 0;
			tl2_emit(p, known);
			o = p->out + p->len;
		}
		if (n > 0)
			prev_upper = tl2_class(known) == TL_UPPER;
		k += 2;
	}
	prep_plain(p, np);
	return k;
undo:
	p->len = len0;
	p->cps = cps0;
	p->g = g0;
	p->u = u0;
	p->need = need0;
	p->need_at = at0;
	p->nev[0] = nev0;
	p->nev[1] = nev1;
	return 0;
}

/* the transliteration of s[a..b) (non-ASCII runs and the ASCII between
 * them), with the byte before and after as context */
static void
prep_window(struct prep *p, const unsigned char *s, size_t len, size_t a, size_t b,
    struct words *w)
{
	size_t wa = a > 0 ? a - 1 : a, wb = b < len ? b + 1 : b, k;
	const unsigned char *seg, *te;
	char *t;

	t = norm_translit((const char *)s + wa, wb - wa);
	seg = (const unsigned char *)t + (a - wa);
	te = (const unsigned char *)t + strlen(t) - (wb - b);
	/* a Latin form is letters: the white space of the source and of
	 * its transliteration is the same, one for one */
	for (k = a; k < b; k++) {
		const unsigned char *q;

		if (!is_ws(s[k]))
			continue;
		for (q = seg; q < te && !is_ws(*q); q++)
			;
		prep_gsm(p, seg, (size_t)(q - seg));
		if (w != NULL && !is_ws(s[k - 1]))
			prep_word(w, p);
		prep_byte(p, (unsigned char)asc_out[s[k]]);
		seg = q < te ? q + 1 : te;
	}
	prep_gsm(p, seg, (size_t)(te - seg));
	free(t);
}

/*
 * Append src[0..len) made ready for SMS to p, transliterated and GSM-7,
 * byte for byte as sms_prepare(ascii = 1) makes it.  With w the state
 * after each word is kept, and the scan stops at white space once more
 * than w->limit code points are out.  Returns where it stopped (len: at
 * the end).
 *
 * Only the non-ASCII parts go through norm_translit (ASCII is its own
 * Latin form), each with the ASCII byte before and after it: that is all
 * the context it looks at (Љ becomes "LJ" or "Lj" after its neighbours),
 * so the parts come out as in the transliteration of the whole text.
 */
static size_t
prep_scan(struct prep *p, const char *src, size_t len, struct words *w)
{
	const unsigned char *s = (const unsigned char *)src, *e = s + len;
	size_t i = 0;

	/* ASCII is one byte out per byte in: room for all of it */
	prep_room(p, len);
	while (i < len) {
		unsigned char c = s[i];
		size_t a, b;

		if (c < 0x80) {
			/* printable ASCII of one septet and spaces in one go,
			 * counted when a word ends; the rest one by one */
			const unsigned char *q = s + i;
			char *o0 = p->out + p->len, *o = o0;

			for (;;) {
				size_t r, j;
				char x;
#ifdef SWAR
				while (e - q >= 8) {
					uint64_t x8, sp;

					memcpy(&x8, q, 8);
					if (swar_notplain(x8) != 0)
						break;
					memcpy(o, q, 8);
					if (w != NULL && (sp = swar_eq(x8, ' ')) != 0) {
						/* words end before spaces that follow no
						 * white space: the state there is this
						 * block's start and k bytes of one septet */
						prep_plain(p, (size_t)(o - o0));
						o0 = o;
						if (w->cap - w->n < 8)
							words_grow(w);
						if (p->cps + 8 <= w->limit) {
							/* no stop here: the spaces after
							 * a byte other than white space */
							uint64_t ends = sp & ~(sp << 8);

							if ((ends & 0x80) && (q == s || is_ws(q[-1])))
								ends &= ~(uint64_t)0x80;
							for (; ends != 0; ends &= ends - 1) {
								size_t k = (size_t)__builtin_ctzll(ends) / 8;
								struct wend *we = &w->v[w->n++];

								we->off = p->len + k;
								we->g = p->g + k;
								we->u = p->u + k;
							}
							sp = 0;
						}
						for (; sp != 0; sp &= sp - 1) {
							size_t k = (size_t)__builtin_ctzll(sp) / 8;

							if (k > 0 ? q[k - 1] != ' ' : q > s && !is_ws(q[-1])) {
								struct wend *we = &w->v[w->n++];

								we->off = p->len + k;
								we->g = p->g + k;
								we->u = p->u + k;
							}
							if (p->cps + k > w->limit) {
								prep_plain(p, k);
								return (size_t)(q + k - s);
							}
						}
					}
					o += 8;
					q += 8;
				}
#endif
				r = (size_t)(e - q);
				for (j = 0; j < r && (x = plain_ascii[q[j]]) != 0; j++)
					o[j] = x;
				q += j;
				o += j;
				if (q == e || *q != ' ')
					break;
				if (w != NULL) {
					prep_plain(p, (size_t)(o - o0));
					o0 = o;
					if (q > s && !is_ws(q[-1]))
						prep_word(w, p);
					if (p->cps > w->limit)
						return (size_t)(q - s);
				}
				*o++ = ' ';
				q++;
			}
			prep_plain(p, (size_t)(o - o0));
			i = (size_t)(q - s);
			if (i == len || (c = s[i]) >= 0x80)
				continue;
			/* tab, CR, LF, a control, an escape */
			if (w != NULL && is_ws(c)) {
				if (i > 0 && !is_ws(s[i - 1]))
					prep_word(w, p);
				if (p->cps > w->limit)
					return i;
			}
			prep_byte(p, (unsigned char)asc_out[c]);
			i++;
			continue;
		}
		/* a run of two-byte characters: from what is kept */
		a = i;
		if ((b = prep_run2(p, s, len, a)) != 0) {
			i = b;
			prep_room(p, len - i);
			continue;
		}
		/* else transliterated: the non-ASCII runs and the short ASCII
		 * gaps between them at once */
		b = i + 1;
		for (;;) {
			size_t j;

			while (b < len && s[b] >= 0x80)
				b++;
			for (j = b; j < len && s[j] < 0x80 && j - b < WIN_GAP; j++)
				;
			if (j < len && s[j] >= 0x80 && j - a < WIN_MAX) {
				b = j;
				continue;
			}
			break;
		}
		prep_window(p, s, len, a, b, w);
		i = b;
		prep_room(p, len - i);
	}
	if (w != NULL && len > 0 && !is_ws(s[len - 1]))
		prep_word(w, p);
	return len;
}

/*
 * The same for ascii = 0, where valid UTF-8 goes out as it is: nothing is
 * written, p->rd is src, only the cost is counted.  Returns (size_t)-1
 * for invalid UTF-8.
 */
static size_t
prep_count(struct prep *p, const char *src, size_t len, struct words *w)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0;

	p->rd = src;
	while (i < len) {
		unsigned char c = s[i];
		uint32_t cp;
		size_t n, j;

		if (c < 0x80) {
			j = i;
#ifdef SWAR
			while (len - j >= 8) {
				uint64_t x8, sp;

				memcpy(&x8, s + j, 8);
				if (swar_notplain(x8) != 0)
					break;
				if (w != NULL && (sp = swar_eq(x8, ' ')) != 0) {
					size_t lim = p->need ? w->limit_ucs2 : w->limit;

					prep_plain(p, j - i);
					i = j;
					words_grow(w);
					for (; sp != 0; sp &= sp - 1) {
						size_t k = (size_t)__builtin_ctzll(sp) / 8;

						if (k > 0 ? s[j + k - 1] != ' ' : j > 0 && !is_ws(s[j - 1])) {
							struct wend *we = &w->v[w->n++];

							we->off = j + k;
							we->g = p->g + k;
							we->u = p->u + k;
						}
						if (p->cps + k > lim) {
							prep_plain(p, k);
							p->len = j + k;
							return j + k;
						}
					}
				}
				j += 8;
			}
#endif
			while (j < len && plain_raw[s[j]] != 0)
				j++;
			prep_plain(p, j - i);
			i = j;
			if (i == len || (c = s[i]) >= 0x80)
				continue;
			if (w != NULL && is_ws(c)) {
				p->len = i;
				if (i > 0 && !is_ws(s[i - 1]))
					prep_word(w, p);
				if (p->cps > (p->need ? w->limit_ucs2 : w->limit))
					return i;
			}
			prep_cost(p, c);
			i++;
			continue;
		}
		/* two-byte characters (Cyrillic, Latin letters with
		 * diacritics): one unit each, one septet (a character outside
		 * GSM-7 counts one too) */
		j = i;
		if (!p->need) {
			for (; j + 1 < len && (unsigned)(s[j] - 0xC2) < 0x1E &&
			    (s[j + 1] & 0xC0) == 0x80; j += 2) {
				cp = ((uint32_t)(s[j] & 0x1F) << 6) | (s[j + 1] & 0x3F);
				if (gsm_cost(cp) == 0) {
					p->need = 1;
					p->need_at = p->g + (j - i) / 2;
					j += 2;
					break;
				}
			}
		}
		while (j + 1 < len && (unsigned)(s[j] - 0xC2) < 0x1E && (s[j + 1] & 0xC0) == 0x80)
			j += 2;
		if (j > i) {
			n = (j - i) / 2;
			p->cps += n;
			p->g += n;
			p->u += n;
			i = j;
			continue;
		}
		if ((n = utf8_strict(s + i, len - i, &cp)) == 0)
			return (size_t)-1;
		prep_cost(p, cp);
		i += n;
	}
	p->len = len;
	if (w != NULL && len > 0 && !is_ws(s[len - 1]))
		prep_word(w, p);
	return len;
}

/* 1 if s[0..len) is valid UTF-8 as normalize.c judges it */
static int
utf8_ok(const unsigned char *s, size_t len)
{
	size_t i = 0;
	uint32_t cp;

	while (i < len) {
		size_t n;

		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((n = utf8_strict(s + i, len - i, &cp)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

char *
sms_prepare(const char *utf8, int ascii)
{
	struct prep p;
	size_t len;

	if (utf8 == NULL)
		utf8 = "";
	len = strlen(utf8);
	if (!ascii) {
		if (utf8_ok((const unsigned char *)utf8, len))
			return xstrndup(utf8, len);
		return norm_utf8_repair(utf8, len);
	}
	prep_init(&p, NULL, 0, len);
	(void)prep_scan(&p, utf8, len, NULL);
	p.out[p.len] = '\0';
	free(p.ev[0]);
	free(p.ev[1]);
	return p.out;
}

/* ---- fitting, the general way: render, prepare, measure, again ---- */

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
 * The last resort, with note, text and department emptied: cut the
 * message at a word end, never before the end of the first {id}.
 */
static char *
fit_last_resort(const char *tmpl, const struct tmpl_vars *w, int ascii, int max_segments)
{
	char *msg = render_prepared(tmpl, w, ascii), *idtmpl, *idmsg;
	const char *idpos;
	size_t keep = 0, len, cut;

	if (fits(msg, ascii, max_segments))
		return msg;
	idpos = strstr(tmpl, "{id}");
	if (idpos != NULL) {
		idtmpl = xstrndup(tmpl, (size_t)(idpos - tmpl) + 4);
		idmsg = render_prepared(idtmpl, w, ascii);
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
	return msg;
}

/* tmpl_render_sms rendering each candidate in full: for what fit_build
 * cannot take apart */
static char *
fit_slow(const char *tmpl, const struct tmpl_vars *v, int ascii, int max_segments)
{
	struct tmpl_vars w = *v;
	char *owned[3] = { NULL, NULL, NULL };
	const char **fields[3] = { &w.note, &w.text, &w.department };
	char *msg;
	size_t i;

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
	msg = fit_last_resort(tmpl, &w, ascii, max_segments);
done:
	for (i = 0; i < 3; i++)
		free(owned[i]);
	return msg;
}

/* ---- fitting, the quick way ---- */

/*
 * The template is rendered once with a marker in place of each of note,
 * text and department (the "skeleton"), its literal parts and the values
 * are prepared and measured once, and each candidate (a value cut after
 * its k-th word, "..." appended) is then only arithmetic.  This gives the
 * bytes of fit_slow when the values render as the markers do: no white
 * space at either end, no '>' at the end, no line break under a quote,
 * and (with ascii) no transliteration context across a part boundary.
 * Anything else goes to fit_slow.
 */
enum { FIT_NOTE, FIT_TEXT, FIT_DEPT, FIT_N };

static const char *const fit_marker[FIT_N] = { "\001" "0" "\002", "\001" "1" "\002", "\001" "2" "\002" };

struct fit_field {
	const char *val;            /* current value, NULL or "" when empty */
	int scanned;
	int occurs;                 /* in the current skeleton */
	int complete;               /* all of val is in p */
	int has_nl;
	int more;                   /* !complete, and more words follow */
	size_t len;                 /* bytes of val */
	struct prep p;
	struct words w;
};

struct fit_piece {
	int field;                  /* FIT_*, or -1: literal text */
	int first, last;            /* classes of the source's end bytes (edge_class) */
	struct prep p;              /* literal text */
};

#define FIT_SMALL 7

struct fit {
	const char *tmpl;
	const struct tmpl_vars *v;
	int ascii, max_segments;
	struct fit_field f[FIT_N];
	char *skel;                 /* the skeleton (the literal parts read it when !ascii) */
	char *lit;                  /* where the literal parts are written (ascii) */
	struct fit_piece *pc;       /* small, or allocated */
	size_t npc;
	struct fit_piece small[FIT_SMALL];
	struct {                    /* all but the field being cut (fit_stage) */
		int fail;           /* a part alone is beyond the limit */
		int need;
		size_t g, u, nev[2], occ;
	} base;
};

/* what the transliteration of a neighbour sees of a byte */
enum { EDGE_NONE, EDGE_OTHER, EDGE_LETTER, EDGE_HIGH };

static int
edge_class(unsigned char c)
{
	if (c >= 0x80)
		return EDGE_HIGH;
	c |= 0x20;
	return c >= 'a' && c <= 'z' ? EDGE_LETTER : EDGE_OTHER;
}

/* 1 if two parts meeting at these ends may transliterate differently
 * apart than together */
static int
edge_bad(int left, int right)
{
	return (left == EDGE_HIGH && right >= EDGE_LETTER) ||
	    (right == EDGE_HIGH && left == EDGE_LETTER);
}

static int
fit_empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

static void
fit_pieces_free(struct fit *F)
{
	size_t i;

	for (i = 0; i < F->npc; i++)
		prep_free(&F->pc[i].p);
	if (F->pc != F->small)
		free(F->pc);
	F->pc = NULL;
	F->npc = 0;
	free(F->skel);
	F->skel = NULL;
	free(F->lit);
	F->lit = NULL;
}

/* The limit of a message in septets and in UTF-16 units. */
static size_t
fit_limit(const struct fit *F, int ucs2)
{
	size_t m = (size_t)F->max_segments;

	if (ucs2)
		return m == 1 ? 70 : 67 * m;
	return m == 1 ? 160 : 153 * m;
}

/* Whether a value can stand for its marker: 0, or -1. */
static int
fit_check(struct fit_field *f)
{
	unsigned char last;

	if (f->len == 0) {
		f->len = strlen(f->val);
		f->has_nl = memchr(f->val, '\n', f->len) != NULL;
	}
	last = (unsigned char)f->val[f->len - 1];
	if (is_ws((unsigned char)f->val[0]) || is_ws(last) || last == '>')
		return -1;
	return 0;
}

/*
 * Prepare and measure a value once, as far as any message could hold it
 * next to the literal text of the skeleton (lit_g septets, lit_u units):
 * 0, or -1 if it cannot be taken apart.
 */
static int
fit_scan(struct fit *F, struct fit_field *f, size_t lit_g, size_t lit_u)
{
	size_t stop, lg = fit_limit(F, 0), lu = fit_limit(F, 1);

	lg = lg > lit_g ? lg - lit_g : 0;
	lu = lu > lit_u ? lu - lit_u : 0;
	if (f->scanned) {
		/* cut short for a skeleton with more literal text than this */
		if (!f->complete && (lg > f->w.limit || lu > f->w.limit_ucs2))
			return -1;
		return 0;
	}
	f->scanned = 1;
	/* a longer prefix never fits: in septets or in units (UCS-2 only
	 * with a character outside GSM-7, certain once one is in) */
	words_init(&f->w, lg > lu ? lg : lu, lu);
	if (F->ascii) {
		prep_init(&f->p, NULL, 0, f->len);
		stop = prep_scan(&f->p, f->val, f->len, &f->w);
	} else {
		memset(&f->p, 0, sizeof(f->p));
		if ((stop = prep_count(&f->p, f->val, f->len, &f->w)) == (size_t)-1)
			return -1;
	}
	f->complete = stop == f->len;
	f->more = 0;
	if (!f->complete) {
		/* is there a word after where the scan stopped? */
		const char *r = f->val + stop;

		while (is_ws((unsigned char)*r))
			r++;
		f->more = *r != '\0';
	}
	return 0;
}

/*
 * Render the skeleton for the current values and prepare its parts: 0, or
 * -1 when the quick way cannot give fit_slow's bytes.
 */
static int
fit_build(struct fit *F)
{
	struct tmpl_vars sv = *F->v;
	const char **slot[FIT_N] = { &sv.note, &sv.text, &sv.department };
	char *skel;
	const char *m;
	size_t i, n, start, nm = 0, lit_g = 0, lit_u = 0;
	int prev = EDGE_NONE;             /* class of the last byte so far */

	fit_pieces_free(F);
	for (i = 0; i < FIT_N; i++) {
		*slot[i] = fit_empty(F->f[i].val) ? "" : fit_marker[i];
		F->f[i].occurs = 0;
	}
	skel = F->skel = tmpl_render(F->tmpl, &sv);
	n = strlen(skel);
	for (m = skel; (m = memchr(m, '\001', n - (size_t)(m - skel))) != NULL; m++)
		nm++;
	if (2 * nm + 1 <= FIT_SMALL) {
		F->pc = F->small;
	} else {
		F->pc = xcalloc(2 * nm + 1, sizeof(*F->pc));
	}
	/* the literal parts are prepared into one block: never longer than
	 * their source, one byte each to spare */
	if (F->ascii)
		F->lit = xmalloc(n + 2 * nm + 1);
	for (start = 0;;) {
		struct fit_piece *pc = &F->pc[F->npc++];
		size_t end;

		memset(pc, 0, sizeof(*pc));
		m = memchr(skel + start, '\001', n - start);
		end = m ? (size_t)(m - skel) : n;
		pc->field = -1;
		if (F->ascii) {
			prep_init(&pc->p, F->lit + start, end - start + 1, 0);
			(void)prep_scan(&pc->p, skel + start, end - start, NULL);
		} else if (prep_count(&pc->p, skel + start, end - start, NULL) == (size_t)-1) {
			return -1;
		}
		lit_g += pc->p.g;
		lit_u += pc->p.u;
		if (end > start) {
			pc->first = edge_class((unsigned char)skel[start]);
			pc->last = edge_class((unsigned char)skel[end - 1]);
			if (F->ascii && edge_bad(prev, pc->first))
				return -1;
			prev = pc->last;
		}
		if (m == NULL)
			break;
		pc = &F->pc[F->npc++];
		memset(pc, 0, sizeof(*pc));
		pc->field = m[1] - '0';
		{
			struct fit_field *f = &F->f[pc->field];

			f->occurs = 1;
			if (fit_check(f) < 0)
				return -1;
			if (f->has_nl) {
				/* a value with line breaks under a quote or indent
				 * gets it on each line (and a trimmed start hides
				 * the indent) */
				size_t ls = end, j;
				int quoted = 1;

				while (ls > 0 && skel[ls - 1] != '\n')
					ls--;
				for (j = ls; j < end && quoted; j++)
					quoted = is_blank(skel[j]) || skel[j] == '>';
				if (quoted && (end > ls || end == 0))
					return -1;
			}
			pc->first = edge_class((unsigned char)f->val[0]);
			pc->last = edge_class((unsigned char)f->val[f->len - 1]);
			if (F->ascii && edge_bad(prev, pc->first))
				return -1;
			prev = pc->last;
		}
		start = end + 3;
	}
	for (i = 0; i < FIT_N; i++)
		if (F->f[i].occurs && fit_scan(F, &F->f[i], lit_g, lit_u) < 0)
			return -1;
	return 0;
}

/* A part of a candidate message. */
struct fit_view {
	const char *p;
	size_t len, g, u;
	const size_t *ev[2];
	size_t nev[2];
	int need;
	int dots;                   /* "..." follows */
};

/* Part i of the message with field cut cut after its k-th word (cut < 0:
 * nothing cut): 0 when that part alone is beyond any limit. */
static int
fit_view(const struct fit *F, size_t i, int cut, size_t k, struct fit_view *v)
{
	const struct fit_piece *pc = &F->pc[i];
	const struct fit_field *f = pc->field >= 0 ? &F->f[pc->field] : NULL;
	const struct prep *p = f ? &f->p : &pc->p;

	v->p = p->rd;
	v->ev[0] = p->ev[0];
	v->ev[1] = p->ev[1];
	v->dots = 0;
	if (f != NULL && pc->field == cut) {
		const struct wend *e;

		if (k > f->w.n)
			return 0;
		e = &f->w.v[k - 1];
		v->len = e->off;
		v->g = e->g;
		v->u = e->u;
		v->nev[0] = ev_before(p, 0, e->g);
		v->nev[1] = ev_before(p, 1, e->u);
		v->need = p->need && p->need_at < e->g;
		v->dots = 1;
		return 1;
	}
	if (f != NULL && !f->complete)
		return 0;
	v->len = p->len;
	v->g = p->g;
	v->u = p->u;
	v->nev[0] = p->nev[0];
	v->nev[1] = p->nev[1];
	v->need = p->need;
	return 1;
}

/* n single units into a segment filled to *fill of cap */
static void
seg_ones(size_t *seg, size_t *fill, size_t n, size_t cap)
{
	size_t t = *fill + n;

	if (t <= cap) {
		*fill = t;
		return;
	}
	*seg += (t - 1) / cap;
	*fill = (t - 1) % cap + 1;
}

/*
 * Sum up the parts of the message but field cut (cut < 0: all, the whole
 * message) into F->base; with cut, count its occurrences.
 */
static void
fit_stage(struct fit *F, int cut)
{
	size_t i;

	memset(&F->base, 0, sizeof(F->base));
	for (i = 0; i < F->npc; i++) {
		const struct fit_piece *pc = &F->pc[i];
		const struct prep *p = &pc->p;

		if (pc->field >= 0 && pc->field == cut) {
			F->base.occ++;
			continue;
		}
		if (pc->field >= 0) {
			if (!F->f[pc->field].complete)
				F->base.fail = 1;
			p = &F->f[pc->field].p;
		}
		F->base.g += p->g;
		F->base.u += p->u;
		F->base.nev[0] += p->nev[0];
		F->base.nev[1] += p->nev[1];
		F->base.need |= p->need;
	}
}

/*
 * 1 if the message fits in max_segments, as sms_measure would count it:
 * with cut < 0 the whole one, else with field cut cut after its k-th
 * word; fit_stage(F, cut) first.
 */
static int
fit_ok(const struct fit *F, int cut, size_t k)
{
	struct fit_view v;
	const struct fit_field *f = cut >= 0 ? &F->f[cut] : NULL;
	const struct wend *we;
	size_t i, g, u, nev[2], total, cap, seg, fill, occ = F->base.occ;
	int need, e;

	if (F->base.fail)
		return 0;
	if (cut < 0) {
		g = F->base.g;
		u = F->base.u;
		nev[0] = F->base.nev[0];
		nev[1] = F->base.nev[1];
		need = F->base.need;
		goto count;
	}
	if (k > f->w.n)
		return 0;
	/* the rest, and each occurrence of the field cut after word k */
	we = &f->w.v[k - 1];
	g = F->base.g + occ * (we->g + 3);
	u = F->base.u + occ * (we->u + 3);
	nev[0] = F->base.nev[0] + (f->p.nev[0] > 0 ? occ * ev_before(&f->p, 0, we->g) : 0);
	nev[1] = F->base.nev[1] + (f->p.nev[1] > 0 ? occ * ev_before(&f->p, 1, we->u) : 0);
	need = F->base.need || (f->p.need && f->p.need_at < we->g);
count:
	e = !F->ascii && need;          /* UCS-2 */
	total = e ? u : g;
	if (total <= (e ? 70u : 160u))
		return 1;
	cap = e ? 67 : 153;
	if (total > cap * (size_t)F->max_segments)
		return 0;
	if (nev[e] == 0)
		return 1;
	/* two-unit characters are never split: pack as sms_measure does */
	seg = 1;
	fill = 0;
	for (i = 0; i < F->npc; i++) {
		size_t at = 0, j, n;

		if (!fit_view(F, i, cut, k, &v))
			return 0;
		for (j = 0; j < v.nev[e]; j++) {
			seg_ones(&seg, &fill, v.ev[e][j] - at, cap);
			if (fill + 2 > cap) {
				seg++;
				fill = 0;
			}
			fill += 2;
			at = v.ev[e][j] + 2;
		}
		n = (e ? v.u : v.g) - at + 3 * (size_t)v.dots;
		seg_ones(&seg, &fill, n, cap);
	}
	return seg <= (size_t)F->max_segments;
}

static char *
fit_assemble(const struct fit *F, int cut, size_t k)
{
	size_t i, len = 1;
	char *out, *o;

	for (i = 0; i < F->npc; i++) {
		int fi = F->pc[i].field;

		if (fi < 0)
			len += F->pc[i].p.len;
		else if (fi == cut)
			len += F->f[fi].w.v[k - 1].off + 3;
		else
			len += F->f[fi].p.len;
	}
	out = o = xmalloc(len);
	for (i = 0; i < F->npc; i++) {
		int fi = F->pc[i].field;
		const struct prep *p = fi < 0 ? &F->pc[i].p : &F->f[fi].p;

		if (fi >= 0 && fi == cut) {
			size_t n = F->f[fi].w.v[k - 1].off;

			memcpy(o, p->rd, n);
			memcpy(o + n, "...", 3);
			o += n + 3;
		} else {
			memcpy(o, p->rd, p->len);
			o += p->len;
		}
	}
	*o = '\0';
	return out;
}

static void
fit_free(struct fit *F)
{
	size_t i;

	fit_pieces_free(F);
	for (i = 0; i < FIT_N; i++) {
		prep_free(&F->f[i].p);
		words_free(&F->f[i].w);
	}
}

/*
 * Fields are shortened in order note, text, department, each to the most
 * words that fit (the binary search of shorten_field, candidate by
 * candidate).  The last resort cuts the message at a word end but never
 * before the end of the first {id}: if the id itself lies beyond the
 * limit (a template with a very long introduction), the message ends
 * right after the id and is longer than max_segments.
 */
char *
tmpl_render_sms(const char *tmpl, const struct tmpl_vars *v, int ascii, int max_segments)
{
	struct fit F;
	struct tmpl_vars w;
	char *msg = NULL;
	int i;

	if (max_segments < 1)
		max_segments = 1;
	if (tmpl == NULL)
		tmpl = "";
	/* the markers must not occur anywhere else */
	if (strchr(tmpl, '\001') != NULL || (v->status && strchr(v->status, '\001')) ||
	    (v->created && strchr(v->created, '\001')) || (v->due && strchr(v->due, '\001')))
		return fit_slow(tmpl, v, ascii, max_segments);
	/* not all of it: the small arrays need no zeros */
	for (i = 0; i < FIT_N; i++) {
		memset(&F.f[i], 0, offsetof(struct fit_field, w));
		F.f[i].w.v = NULL;
		F.f[i].w.n = 0;
	}
	F.skel = F.lit = NULL;
	F.pc = NULL;
	F.npc = 0;
	F.tmpl = tmpl;
	F.v = v;
	F.ascii = ascii;
	F.max_segments = max_segments;
	F.f[FIT_NOTE].val = v->note;
	F.f[FIT_TEXT].val = v->text;
	F.f[FIT_DEPT].val = v->department;
	if (fit_build(&F) < 0)
		goto slow;
	fit_stage(&F, -1);
	if (fit_ok(&F, -1, 0)) {
		msg = fit_assemble(&F, -1, 0);
		goto done;
	}
	for (i = 0; i < FIT_N; i++) {
		struct fit_field *f = &F.f[i];
		size_t lo, hi, best = 0;

		/* a value not in the message changes nothing: it does not fit
		 * with any part of it, nor without it */
		if (fit_empty(f->val) || !f->occurs)
			continue;
		/*
		 * shorten_field's binary search over k in [1, words - 1].  A
		 * message with more words only has characters inserted (before
		 * the "..."), which never takes a segment away (next fit is
		 * monotone) nor goes from UCS-2 back to GSM-7: whether it fits
		 * falls as k grows, and the search finds the largest k that
		 * fits whatever its bounds.  So the words beyond the scan (none
		 * of which fits) need not be counted.
		 */
		fit_stage(&F, i);
		lo = 1;
		hi = f->more ? f->w.n : f->w.n > 0 ? f->w.n - 1 : 0;
		while (lo <= hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (fit_ok(&F, i, mid)) {
				best = mid;
				lo = mid + 1;
			} else {
				hi = mid - 1;
			}
		}
		if (best > 0) {
			msg = fit_assemble(&F, i, best);
			goto done;
		}
		f->val = "";
		if (fit_build(&F) < 0)
			goto slow;
		fit_stage(&F, -1);
		if (fit_ok(&F, -1, 0)) {
			msg = fit_assemble(&F, -1, 0);
			goto done;
		}
	}
	w = *v;
	w.note = F.f[FIT_NOTE].val;
	w.text = F.f[FIT_TEXT].val;
	w.department = F.f[FIT_DEPT].val;
	msg = fit_last_resort(tmpl, &w, ascii, max_segments);
	goto done;
slow:
	msg = fit_slow(tmpl, v, ascii, max_segments);
done:
	fit_free(&F);
	return msg;
}
