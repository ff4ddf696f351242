/*
 * mime_fast.c - a direct, single-pass reader for the common well-formed
 * mail shapes, beside the GMime path of mime.c (mime.h, mime_internal.h).
 *
 * It reads what mime.c reads (From, Subject, ids, Date, the automatic-mail
 * headers, text/plain and text/html parts, attachments) and hands the
 * decoded parts to the same accumulator, so when it accepts a message the
 * result equals the GMime path's field for field.  It accepts only what it
 * knows GMime 3.2 reads the same way; anything else (truncated input, NUL
 * bytes, folded or encoded values where GMime has special rules, unknown
 * transfer encodings, message/ parts, boundary oddities, RFC 2231
 * parameters, comments in addresses, ...) makes it decline (NULL) and the
 * caller falls back to GMime.  A decline costs speed; a difference would
 * cost a citizen's report.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "mime.h"
#include "mime_internal.h"
#include "util.h"

#define FAST_MAX_HEADERS   128
#define FAST_MAX_PART_HDRS 32
#define FAST_MAX_LINE      998
#define FAST_MAX_DEPTH     4     /* multipart levels */
#define FAST_MAX_PARTS     64
#define FAST_MAX_PARAMS    8

/* ---- character classes (GMime's gen-table.c) ---------------------------- */

/* specials: ()<>@,;:\\".[] ; 8-bit bytes are atom characters */
#define C_ATOM   1         /* GMime is_atom: no special, space or control */
#define C_ATEXT  2         /* the same, ASCII only */
#define C_TTOKEN 4         /* MIME token characters */
#define C_LWSP   8         /* space, tab, CR, LF */

static const unsigned char cclass[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 8, 0, 0, 8, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	8, 7, 0, 7, 7, 7, 7, 7, 0, 0, 7, 7, 0, 7, 4, 3,
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 0, 0, 0, 3, 0, 3,
	0, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 0, 0, 0, 7, 7,
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 0,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

static int
is_lwsp(int c)
{
	return (cclass[(unsigned char)c] & C_LWSP) != 0;
}

static int
is_atom(int c)
{
	return (cclass[(unsigned char)c] & C_ATOM) != 0;
}

static int
is_atext(int c)
{
	return (cclass[(unsigned char)c] & C_ATEXT) != 0;
}

static int
is_ttoken(int c)
{
	return (cclass[(unsigned char)c] & C_TTOKEN) != 0;
}

/* ---- parse state ---------------------------------------------------------- */

struct fhdr {
	const char *name;
	size_t nlen;
	const char *v;           /* raw value: after ':' up to the last line end */
	const char *vend;
};

/* The top-level headers mime.c reads, found once. */
enum {
	H_FROM, H_SUBJECT, H_DATE, H_MESSAGE_ID, H_IN_REPLY_TO, H_REFERENCES, H_RETURN_PATH,
	H_AUTO_SUBMITTED, H_PRECEDENCE, H_LIST_ID, H_X_AUTOREPLY, H_X_AUTORESPOND, H_X_S48_LOOP,
	H_MIME_VERSION, H_SENDER, H_REPLY_TO, H_TO, H_CC, H_BCC, H_N
};
#define H_FIRST_ADDRESS H_SENDER     /* H_SENDER..H_BCC: address lists */

static const char *const hnames[H_N] = {
	"From", "Subject", "Date", "Message-ID", "In-Reply-To", "References", "Return-Path",
	"Auto-Submitted", "Precedence", "List-Id", "X-Autoreply", "X-Autorespond", "X-S48-Loop",
	"MIME-Version", "Sender", "Reply-To", "To", "Cc", "Bcc",
};

static const unsigned char hlens[H_N] = { 4, 7, 4, 10, 11, 10, 11, 14, 10, 7, 11, 13, 10,
	12, 6, 8, 2, 2, 3 };

struct fast {
	struct mime_acc acc;
	const char *end;         /* end of the raw message */
	struct {
		const char *b;
		size_t len;
	} bounds[FAST_MAX_DEPTH];
	int nbounds;
	int parts;
	short hidx[H_N];         /* first header of each name, -1 if none */
	unsigned char hcount[H_N];
	size_t ntop;
	struct fhdr top[FAST_MAX_HEADERS];
	char *vals[FAST_MAX_HEADERS];   /* unfolded values of top, on demand */
};

/* The value of a header line with folds undone, as g_mime_header_get_value
 * does for text without encoded words: lwsp trimmed, CR and LF removed. */
static char *
unfold(const char *v, const char *vend)
{
	char *out, *q;

	while (v < vend && is_lwsp((unsigned char)*v))
		v++;
	while (vend > v && is_lwsp((unsigned char)vend[-1]))
		vend--;
	out = q = xmalloc((size_t)(vend - v) + 1);
	while (v < vend) {
		const char *nl = memchr(v, '\n', (size_t)(vend - v));
		const char *e = nl != NULL ? nl : vend;

		if (e > v && e[-1] == '\r' && nl != NULL)
			e--;
		memcpy(q, v, (size_t)(e - v));
		q += e - v;
		v = nl != NULL ? nl + 1 : vend;
	}
	*q = '\0';
	return out;
}

/* Does line p[0..len) hold an active boundary anywhere? */
static int
boundary_inside(const struct fast *f, const char *p, size_t len)
{
	for (int i = 0; i < f->nbounds; i++)
		if (memmem(p, len, f->bounds[i].b, f->bounds[i].len) != NULL)
			return 1;
	return 0;
}

/*
 * A header block from *pp: every line "Name: value" (name of printable
 * ASCII), or a fold; ends at an empty line, which is consumed.  Declines
 * (-1) on anything GMime treats specially: a line that could be a boundary,
 * a bare CR, a line without a colon, EOF inside the block, long lines.  In
 * a part, no line may hold a boundary at all: GMime reads header lines in
 * pieces where its buffer ends and checks each piece for a boundary.
 */
static int
header_block(struct fast *f, const char **pp, struct fhdr *h, size_t max, size_t *n_r)
{
	const char *p = *pp, *end = f->end;
	size_t n = 0;

	for (;;) {
		const char *nl, *le, *c;

		if (p >= end)
			return -1;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			return -1;
		le = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
		if ((size_t)(le - p) > FAST_MAX_LINE)
			return -1;
		if (memchr(p, '\r', (size_t)(le - p)) != NULL)
			return -1;
		if (le == p) {
			*pp = nl + 1;
			*n_r = n;
			return 0;
		}
		if (*p == ' ' || *p == '\t') {
			if (n == 0)
				return -1;
			h[n - 1].vend = le;
			p = nl + 1;
			continue;
		}
		if (p[0] == '-' && p + 1 < le && p[1] == '-')
			return -1;
		if (f->nbounds > 0 && boundary_inside(f, p, (size_t)(le - p)))
			return -1;
		for (c = p; c < le && *c != ':'; c++)
			if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
				return -1;
		if (c == le || c == p || n == max)
			return -1;
		h[n].name = p;
		h[n].nlen = (size_t)(c - p);
		h[n].v = c + 1;
		h[n].vend = le;
		n++;
		p = nl + 1;
	}
}

static int
name_is(const struct fhdr *h, const char *name)
{
	return strlen(name) == h->nlen && (h->name[0] | 0x20) == (name[0] | 0x20) &&
	    strncasecmp(h->name, name, h->nlen) == 0;
}

/* Index of the only header of that name, -1 if none, -2 if repeated. */
static int
find_one(const struct fhdr *h, size_t n, const char *name)
{
	int found = -1;

	for (size_t i = 0; i < n; i++) {
		if (name_is(&h[i], name)) {
			if (found >= 0)
				return -2;
			found = (int)i;
		}
	}
	return found;
}

/* Unfolded value of a top-level header; cached. */
static const char *
top_value(struct fast *f, int i)
{
	if (f->vals[i] == NULL)
		f->vals[i] = unfold(f->top[i].v, f->top[i].vend);
	return f->vals[i];
}

/* Which top-level headers are there, and how often. */
static void
index_headers(struct fast *f)
{
	for (int k = 0; k < H_N; k++) {
		f->hidx[k] = -1;
		f->hcount[k] = 0;
	}
	for (size_t i = 0; i < f->ntop; i++) {
		const struct fhdr *h = &f->top[i];

		f->vals[i] = NULL;
		for (int k = 0; k < H_N; k++) {
			if (h->nlen == hlens[k] && (h->name[0] | 0x20) == (hnames[k][0] | 0x20) &&
			    strncasecmp(h->name, hnames[k], h->nlen) == 0) {
				if (f->hcount[k]++ == 0)
					f->hidx[k] = (short)i;
				break;
			}
		}
	}
}

/* Unfolded value of the (only) top-level header k, NULL if none. */
static const char *
hval(struct fast *f, int k)
{
	return f->hidx[k] >= 0 ? top_value(f, f->hidx[k]) : NULL;
}

/* First "ab" in [p, end), NULL if none (memmem is slow on short text). */
static const char *
find2(const char *p, const char *end, char a, char b)
{
	while (end - p >= 2 && (p = memchr(p, a, (size_t)(end - p - 1))) != NULL) {
		if (p[1] == b)
			return p;
		p++;
	}
	return NULL;
}

/*
 * GMime decodes every header value as RFC 2047 text when it is added (to
 * validate it) and warns, into parse_error, about an encoded word with
 * white space inside.  Declines (-1) when any "=?" of a value could start
 * such a word (a superset of GMime's rule: from "=?", the charset up to
 * '?', "?X?", then up to "?=", any space or tab on the way).
 */
static int
values_quiet(const struct fhdr *h, size_t n)
{
	/* on the raw value: a fold only adds white space, never makes or
	 * breaks a "=?" or "?=".  e (the next "?=") and ws (the next white
	 * space) only move forward: linear in the value's length. */
	for (size_t i = 0; i < n; i++) {
		const char *p = h[i].v, *end = h[i].vend, *e = NULL, *ws = NULL;

		while ((p = find2(p, end, '=', '?')) != NULL) {
			const char *q = p + 2;

			while (q < end && *q != '?')
				q++;
			if (end - q < 3 || strchr("BbQq", q[1]) == NULL || q[2] != '?') {
				p += 2;
				continue;
			}
			if (e == NULL || e < q + 3)
				e = find2(q + 3, end, '?', '=');
			if (e == NULL)
				break;
			if (ws == NULL || ws < p)
				for (ws = p; ws < end && !is_lwsp(*ws); ws++)
					;
			if (ws < e)
				return -1;
			p += 2;
		}
	}
	return 0;
}

/* ---- RFC 2047 ------------------------------------------------------------- */

static const unsigned char b64_rank[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7,
	['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14,
	['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21,
	['V'] = 22, ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26,
	['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33,
	['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
	['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47,
	['v'] = 48, ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52,
	['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59,
	['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
};

/*
 * Base64 as g_mime_encoding_base64_decode_step does it: characters outside
 * the alphabet are skipped, '=' ends the stream (state -1, later input
 * ignored).  out needs room for len bytes.
 */
static size_t
b64_step(const unsigned char *in, size_t len, unsigned char *out, int *state, unsigned *save)
{
	const unsigned char *end = in + len;
	unsigned char *o = out;
	unsigned saved = *save;
	int n = *state, eof = 0;

	if (n == -1)
		return 0;
	while (in < end) {
		unsigned char c;

		if (n == 0) {
			/* whole quartets of the alphabet, the usual case */
			while (end - in >= 4) {
				unsigned r0 = b64_rank[in[0]], r1 = b64_rank[in[1]];
				unsigned r2 = b64_rank[in[2]], r3 = b64_rank[in[3]];

				if (r0 == 0 || r1 == 0 || r2 == 0 || r3 == 0)
					break;
				saved = (r0 - 1) << 18 | (r1 - 1) << 12 | (r2 - 1) << 6 | (r3 - 1);
				*o++ = (unsigned char)(saved >> 16);
				*o++ = (unsigned char)(saved >> 8);
				*o++ = (unsigned char)saved;
				in += 4;
			}
			saved = 0;
			if (in == end)
				break;
		}
		c = *in++;
		unsigned r = b64_rank[c];

		if (r != 0) {
			saved = (saved << 6) | (r - 1);
			if (++n == 4) {
				*o++ = (unsigned char)(saved >> 16);
				*o++ = (unsigned char)(saved >> 8);
				*o++ = (unsigned char)saved;
				saved = 0;
				n = 0;
			}
		} else if (c == '=') {
			eof = 1;
			break;
		}
	}
	if (eof) {
		if (n > 1) {
			saved <<= 6 * (4 - n);
			*o++ = (unsigned char)(saved >> 16);
			if (n > 2)
				*o++ = (unsigned char)(saved >> 8);
		}
		n = -1;
	}
	*save = saved;
	*state = n;
	return (size_t)(o - out);
}

/*
 * Quoted-printable body decoding as g_mime_encoding_quoted_decode_step
 * does it, in one pass (its state runs across chunks, so one pass over the
 * whole content is the same): "=\n" and "=\r\n" are soft breaks, "=XX" a
 * byte, any other "=" sequence is kept; a trailing partial sequence is lost.
 */
static size_t
qp_decode(const unsigned char *in, size_t len, unsigned char *out)
{
	const unsigned char *end = in + len;
	unsigned char *o = out;

	while (in < end) {
		unsigned char c = *in++, c1, c2;

		if (c != '=') {
			*o++ = c;
			continue;
		}
		if (in == end)
			break;
		c1 = *in++;
		if (c1 == '\n')
			continue;
		if (in == end)
			break;
		c2 = *in++;
		if (util_hexval(c1) >= 0 && util_hexval(c2) >= 0)
			*o++ = (unsigned char)(util_hexval(c1) << 4 | util_hexval(c2));
		else if (!(c1 == '\r' && c2 == '\n')) {
			*o++ = '=';
			*o++ = c1;
			*o++ = c2;
		}
	}
	return (size_t)(o - out);
}

struct eword {
	const char *charset;     /* not NUL-terminated */
	size_t cslen;
	char enc;                /* 'B' or 'Q' */
	const char *payload;
	size_t plen;
};

/*
 * w[0..len) as one whole encoded word "=?cs?E?payload?=" with nothing GMime
 * would treat specially: no '*' language, no '?' or white space in the
 * payload, a Q payload whose every '=' has two hex digits; phrase: only
 * atom characters (anything else draws a GMime warning there).
 */
static int
eword_parse(const char *w, size_t len, int phrase, struct eword *e)
{
	const char *p = w + 2, *end = w + len, *q;

	if (len < 7 || w[0] != '=' || w[1] != '?' || end[-2] != '?' || end[-1] != '=')
		return -1;
	for (q = w; q < end; q++)
		if ((unsigned char)*q <= ' ' || (unsigned char)*q >= 0x7f ||
		    (phrase && !is_atom(*q)))
			return -1;
	e->charset = p;
	while (p < end && *p != '?') {
		if (*p == '*')
			return -1;
		p++;
	}
	e->cslen = (size_t)(p - e->charset);
	if (e->cslen == 0 || e->cslen > 39 || end - p < 5 || p[2] != '?')
		return -1;
	if (p[1] == 'B' || p[1] == 'b')
		e->enc = 'B';
	else if (p[1] == 'Q' || p[1] == 'q')
		e->enc = 'Q';
	else
		return -1;
	e->payload = p + 3;
	e->plen = (size_t)((end - 2) - e->payload);
	if (end - 2 < e->payload)
		return -1;
	for (q = e->payload; q < end - 2; q++) {
		if (*q == '?')
			return -1;
		if (e->enc == 'Q' && *q == '=') {
			if (end - 2 - q < 3 || util_hexval(q[1]) < 0 || util_hexval(q[2]) < 0)
				return -1;
			q += 2;
		}
	}
	return 0;
}

/*
 * Decode a run of encoded words of one charset and encoding (GMime joins
 * their bytes before converting) and append the UTF-8 to out.  per_word:
 * a B word after one that ended in '=' padding is a base64 text of its own,
 * as RFC 2047 has every word; GMime 3.2 runs one base64 state over the
 * whole run, so a word that ends in '=' padding
 * ("=?UTF-8?B?0J/Rg9C60LvQsA==?= =?UTF-8?B?INGG0LXQsg==?=", as Python,
 * Thunderbird and Outlook write long Cyrillic subjects) ends the text there
 * and the words after it are lost.  Without per_word, that as GMime does.
 * Either way the bytes of the whole run are converted together: a character
 * split across two words (common, if not RFC 2047) comes out whole.
 */
static int
eword_run(const struct eword *ws, size_t n, int per_word, struct buf *out)
{
	size_t total = 0, len = 0;
	unsigned char *raw;
	char cs[40];
	int state = 0, rc = -1;
	unsigned save = 0;

	for (size_t i = 0; i < n; i++)
		total += ws[i].plen;
	raw = xmalloc(total + 1);
	for (size_t i = 0; i < n; i++) {
		const unsigned char *p = (const unsigned char *)ws[i].payload;

		if (ws[i].enc == 'B') {
			/* after a word's '=' padding (state -1) the next
			 * word starts afresh; a word cut mid-quartet (not
			 * RFC 2047, but written) still runs on into the next */
			if (per_word && state == -1) {
				state = 0;
				save = 0;
			}
			len += b64_step(p, ws[i].plen, raw + len, &state, &save);
		} else {
			for (size_t k = 0; k < ws[i].plen; k++) {
				if (p[k] == '=') {
					raw[len++] = (unsigned char)(util_hexval(p[k + 1]) << 4 | util_hexval(p[k + 2]));
					k += 2;
				} else {
					raw[len++] = p[k] == '_' ? ' ' : p[k];
				}
			}
		}
	}
	if (memchr(raw, '\0', len) != NULL)
		goto done;
	memcpy(cs, ws[0].charset, ws[0].cslen);
	cs[ws[0].cslen] = '\0';
	if (strcasecmp(cs, "utf-8") == 0 || (strcasestr(cs, "utf") != NULL &&
	    strcmp(g_mime_charset_iconv_name(cs), "UTF-8") == 0)) {
		/* GMime checks UTF-8 itself rather than through iconv */
		if (!g_utf8_validate((const char *)raw, (gssize)len, NULL))
			goto done;
		rc = buf_append(out, raw, len);
	} else {
		char *conv;
		size_t clen;

		if (mime_iconv_strict((const char *)raw, len, cs, &conv, &clen) < 0)
			goto done;
		if (memchr(conv, '\0', clen) == NULL)
			rc = buf_append(out, conv, clen);
		free(conv);
	}
done:
	free(raw);
	return rc;
}

/* 8-bit text outside encoded words: GMime tries its fallback charsets in
 * order (UTF-8, then windows-1250) and takes the first that converts the
 * word without a fault; when none does, it guesses: declined here. */
static int
append_8bit(const char *s, size_t len, struct buf *out)
{
	char *conv;
	size_t clen;
	int rc;

	if (mime_iconv_strict(s, len, "utf-8", &conv, &clen) < 0 &&
	    mime_iconv_strict(s, len, MIME_LOCAL_CHARSET, &conv, &clen) < 0)
		return -1;
	rc = memchr(conv, '\0', clen) == NULL ? buf_append(out, conv, clen) : -1;
	free(conv);
	return rc;
}

/*
 * An RFC 2047 header text (phrase: an address display name) decoded as
 * GMime's tokenize_rfc2047_text/phrase + rfc2047_decode_tokens would, or
 * -1 when anything is unusual.  Returns an allocated string in *out.
 */
static int
decode_words(const char *s, int phrase, int per_word, char **out)
{
	struct buf b;
	struct eword run[16];
	size_t nrun = 0;
	const char *p = s;

	buf_init(&b, 64 * 1024);
	(void)buf_append(&b, "", 0);
	while (*p) {
		const char *ws = p, *w;
		int word8 = 0;

		while (is_lwsp((unsigned char)*p))
			p++;
		if (*p == '\0') {
			if (nrun > 0 && eword_run(run, nrun, per_word, &b) < 0)
				goto fail;
			nrun = 0;
			if (buf_append(&b, ws, (size_t)(p - ws)) < 0)
				goto fail;
			break;
		}
		w = p;
		if (p[0] == '=' && p[1] == '?') {
			/* as GMime finds it: the charset up to '?', "?X?", then up
			 * to the first "?="; what follows may be glued to it */
			struct eword e;

			p += 2;
			while (*p && *p != '?')
				p++;
			if (p[0] != '?' || p[1] == '\0' || strchr("BbQq", p[1]) == NULL || p[2] != '?')
				goto fail;
			p += 3;
			while (*p && !(p[0] == '?' && p[1] == '='))
				p++;
			if (*p == '\0')
				goto fail;
			p += 2;
			if (eword_parse(w, (size_t)(p - w), phrase, &e) < 0)
				goto fail;
			/* white space between encoded words is dropped */
			if (nrun > 0 && (run[0].enc != e.enc || run[0].cslen != e.cslen ||
			    strncasecmp(run[0].charset, e.charset, e.cslen) != 0))
				goto fail;   /* GMime compares iconv names: unsure */
			if (nrun == 0 && ws < w && buf_append(&b, ws, (size_t)(w - ws)) < 0)
				goto fail;
			if (nrun == sizeof(run) / sizeof(run[0]))
				goto fail;
			run[nrun++] = e;
			continue;
		}
		if (nrun > 0) {
			if (eword_run(run, nrun, per_word, &b) < 0)
				goto fail;
			nrun = 0;
		}
		if (buf_append(&b, ws, (size_t)(w - ws)) < 0)
			goto fail;
		if (phrase && !is_atom(*p)) {
			/* a run of non-atom characters, kept as is */
			while (*p && !is_lwsp((unsigned char)*p) && !is_atom(*p)) {
				if ((unsigned char)*p >= 0x80)
					word8 = 1;
				p++;
			}
		} else {
			/* up to white space or an encoded word glued to this one */
			while (*p && !is_lwsp((unsigned char)*p) && !(p[0] == '=' && p[1] == '?') &&
			    (!phrase || is_atom(*p))) {
				if ((unsigned char)*p >= 0x80)
					word8 = 1;
				p++;
			}
		}
		if (word8 ? append_8bit(w, (size_t)(p - w), &b) < 0 :
		    buf_append(&b, w, (size_t)(p - w)) < 0)
			goto fail;
	}
	if (nrun > 0 && eword_run(run, nrun, per_word, &b) < 0)
		goto fail;
	*out = buf_steal(&b, NULL);
	return 0;
fail:
	buf_free(&b);
	return -1;
}

/* ---- addresses, ids, dates -------------------------------------------------- */

/* A dot-atom of ASCII atext at *pp (no "xn--" labels: GMime may turn those
 * into Unicode); advances *pp. */
static int
dot_atom(const char **pp, int domain)
{
	const char *p = *pp;

	for (;;) {
		const char *a = p;

		while (is_atext((unsigned char)*p) && *p != '.')
			p++;
		if (p == a)
			return -1;
		if (domain && p - a >= 4 && strncasecmp(a, "xn--", 4) == 0)
			return -1;
		if (*p != '.')
			break;
		p++;
	}
	*pp = p;
	return 0;
}

/* "local@domain" at *pp; advances *pp. */
static int
addr_spec(const char **pp)
{
	const char *p = *pp;

	if (dot_atom(&p, 0) < 0 || *p != '@')
		return -1;
	p++;
	if (dot_atom(&p, 1) < 0)
		return -1;
	*pp = p;
	return 0;
}

static void
skip_ws(const char **pp)
{
	while (**pp == ' ' || **pp == '\t')
		(*pp)++;
}

/*
 * An address list (unfolded) of plain mailboxes: addr-spec, or an optional
 * phrase of atoms, dots and simple quoted strings before <addr-spec>.  No
 * comments, groups, routes, escapes or commas inside names.  The first
 * mailbox's address and decoded name go to addr_r/name_r when not NULL.
 */
static int
address_list(const char *s, char **addr_r, char **name_r)
{
	const char *p = s;
	int first = 1;

	skip_ws(&p);
	if (*p == '\0')
		return -1;
	for (;;) {
		const char *start = p, *phrase_end = p, *a;
		char *name = NULL;

		/* a bare addr-spec? */
		a = p;
		if (addr_spec(&a) == 0) {
			const char *q = a;
			skip_ws(&q);
			if (*q == ',' || *q == '\0') {
				if (first && addr_r != NULL)
					*addr_r = xstrndup(p, (size_t)(a - p));
				if (first && name_r != NULL)
					*name_r = NULL;
				p = q;
				goto next;
			}
			if (*a == '@' || *q == '<')
				return -1;
		}
		/* phrase <addr-spec> */
		while (*p != '<') {
			if (*p == '"') {
				p++;
				while (*p && *p != '"' && *p != '\\')
					p++;
				if (*p != '"')
					return -1;
				p++;
			} else if (*p == '.' && p > start) {
				p++;   /* GMime takes dots after a word only */
			} else if (is_atom(*p)) {
				while (is_atom(*p))
					p++;
			} else {
				return -1;
			}
			phrase_end = p;
			skip_ws(&p);
		}
		p++;
		a = p;
		if (addr_spec(&a) < 0 || *a != '>')
			return -1;
		if (phrase_end > start) {
			/* GMime: unquote (no escapes here), decode the phrase, strip */
			char *raw = xmalloc((size_t)(phrase_end - start) + 1), *r = raw;
			for (const char *c = start; c < phrase_end; c++)
				if (*c != '"')
					*r++ = *c;
			*r = '\0';
			if (!g_utf8_validate(raw, -1, NULL)) {
				/* GMime converts such a name whole with its fallback
				 * charsets (quotes are ASCII: removing them first is
				 * the same) */
				char *conv;
				size_t clen;

				if (mime_iconv_strict(raw, strlen(raw), "utf-8", &conv, &clen) < 0 &&
				    mime_iconv_strict(raw, strlen(raw), MIME_LOCAL_CHARSET, &conv,
				    &clen) < 0) {
					free(raw);
					return -1;
				}
				free(raw);
				raw = conv;
			}
			if (decode_words(raw, 1, 0, &name) < 0) {
				free(raw);
				return -1;
			}
			free(raw);
			g_strstrip(name);
		}
		if (first && addr_r != NULL) {
			*addr_r = xstrndup(p, (size_t)(a - p));
			if (name_r != NULL)
				*name_r = name;
			else
				free(name);
		} else {
			free(name);
		}
		p = a + 1;
		skip_ws(&p);
next:
		first = 0;
		if (*p == '\0')
			return 0;
		if (*p != ',')
			return -1;
		p++;
		skip_ws(&p);
		if (*p == '\0' || *p == ',')
			return -1;
	}
}

/* "<local@domain>" at *pp (GMime's decode_msgid on a plain one). */
static char *
msg_id(const char **pp)
{
	const char *p = *pp, *a;

	if (*p != '<')
		return NULL;
	a = ++p;
	if (addr_spec(&p) < 0 || *p != '>')
		return NULL;
	*pp = p + 1;
	return xstrndup(a, (size_t)(p - a));
}

/* A list of msg-ids separated by white space; -1 if anything else. */
static int
msg_id_list(const char *s, char ***ids_r, size_t *n_r)
{
	const char *p = s;
	char **ids = NULL;
	size_t n = 0, cap = 0;

	skip_ws(&p);
	while (*p) {
		char *id = msg_id(&p);
		if (id == NULL || (*p != '\0' && *p != ' ' && *p != '\t')) {
			free(id);
			goto fail;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			ids = xrealloc(ids, cap * sizeof(*ids));
		}
		ids[n++] = id;
		skip_ws(&p);
	}
	*ids_r = ids;
	*n_r = n;
	return 0;
fail:
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	return -1;
}

static int
digits(const char *p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* days since 1970-01-01 (proleptic Gregorian) */
static long
days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	long yoe = y - era * 400;
	long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * "[Wkd, ]D Mon YYYY HH:MM:SS [+HHMM|-HHMM|GMT|UT]" as GMime 3.2's date
 * parser reads it (no zone: UTC); anything else declines.
 */
static int
parse_date(const char *s, time_t *t_r)
{
	static const char *const mons[] = { "jan", "feb", "mar", "apr", "may", "jun",
		"jul", "aug", "sep", "oct", "nov", "dec" };
	static const char *const days[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	const char *p = s;
	int day, mon = -1, year, hh, mm, ss, off = 0;
	long long t;

	for (int i = 0; i < 7 && p[0] != '\0' && p[1] != '\0' && p[2] != '\0' && p[3] == ','; i++) {
		if (strncasecmp(p, days[i], 3) == 0) {
			p += 4;
			skip_ws(&p);
			break;
		}
	}
	if (p[0] >= '0' && p[0] <= '9' && p[1] == ' ') {
		day = p[0] - '0';
		p += 2;
	} else if ((day = digits(p, 2)) >= 0 && p[2] == ' ') {
		p += 3;
	} else {
		return -1;
	}
	for (int i = 0; i < 12 && p[0] != '\0' && p[1] != '\0' && p[2] != '\0' && p[3] == ' '; i++)
		if ((p[0] | 0x20) == mons[i][0] && (p[1] | 0x20) == mons[i][1] &&
		    (p[2] | 0x20) == mons[i][2])
			mon = i;
	if (mon < 0)
		return -1;
	p += 4;
	if ((year = digits(p, 4)) < 1970 || p[4] != ' ')
		return -1;
	p += 5;
	if ((hh = digits(p, 2)) < 0 || p[2] != ':' || (mm = digits(p + 3, 2)) < 0 || p[5] != ':' ||
	    (ss = digits(p + 6, 2)) < 0)
		return -1;
	p += 8;
	if (hh > 23 || mm > 59 || ss > 59 || day < 1 || day > mdays[mon])
		return -1;
	if (mon == 1 && day == 29 && !((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
		return -1;
	if (*p == ' ') {
		p++;
		if ((p[0] == '+' || p[0] == '-') && digits(p + 1, 4) >= 0 && p[5] == '\0') {
			int zh = digits(p + 1, 2), zm = digits(p + 3, 2);
			if (zh > 23 || zm > 59)
				return -1;
			off = (zh * 3600 + zm * 60) * (p[0] == '+' ? 1 : -1);
		} else if (strcmp(p, "GMT") != 0 && strcmp(p, "UT") != 0) {
			return -1;
		}
	} else if (*p != '\0') {
		return -1;
	}
	t = (long long)days_from_civil(year, mon + 1, day) * 86400 + hh * 3600 + mm * 60 + ss - off;
	*t_r = t > 0 ? (time_t)t : 0;
	return 0;
}

/* ---- MIME headers ------------------------------------------------------------ */

struct param {
	char *name;
	char *value;
};

struct ctype {
	char *buf;               /* the unfolded value; params point into it */
	char type[64];           /* "" when no header */
	char subtype[128];
	struct param p[FAST_MAX_PARAMS];
	int np;
};

/* ";name=value" parameters at s (in place, RFC 2047 already decoded):
 * token values or quoted ones without escapes; no RFC 2231 forms, no
 * encoded words left, no repeats. */
static int
params(char *s, struct param *p, int *np_r)
{
	int np = 0, need_sep = 1;

	for (;;) {
		char *name, *val;

		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		if (need_sep) {
			if (*s != ';')
				return -1;
			s++;
			while (*s == ' ' || *s == '\t')
				s++;
			if (*s == '\0')
				break;   /* a trailing ';' */
		}
		name = s;
		while (is_ttoken((unsigned char)*s) && *s != '*' && *s != '\'' && *s != '%')
			s++;
		if (s == name || *s != '=')
			return -1;
		*s++ = '\0';
		if (*s == '"') {
			val = ++s;
			while (*s != '"') {
				if (*s == '\0' || *s == '\\' || *s == 0x7f || (unsigned char)*s < ' ')
					return -1;
				s++;
			}
			*s++ = '\0';
			need_sep = 1;
		} else {
			val = s;
			while (((unsigned char)*s > ' ' && *s != 0x7f) && *s != ';' && *s != '"' &&
			    *s != '\\' && *s != '(' && *s != ')')
				s++;
			if (s == val)
				return -1;
			if (*s == ';') {
				*s++ = '\0';
				need_sep = 0;
			} else if (*s == ' ' || *s == '\t') {
				*s++ = '\0';
				need_sep = 1;
			} else if (*s == '\0') {
				need_sep = 1;
			} else {
				return -1;
			}
		}
		if (strstr(val, "=?") != NULL || np == FAST_MAX_PARAMS)
			return -1;
		for (int i = 0; i < np; i++)
			if (strcasecmp(p[i].name, name) == 0)
				return -1;
		p[np].name = name;
		p[np].value = val;
		np++;
	}
	*np_r = np;
	return 0;
}

static const char *
param_get(const struct ctype *ct, const char *name)
{
	for (int i = 0; i < ct->np; i++)
		if (strcasecmp(ct->p[i].name, name) == 0)
			return ct->p[i].value;
	return NULL;
}

/* A token of at most max - 1 bytes at *pp into out. */
static int
token(const char **pp, char *out, size_t max)
{
	const char *p = *pp;
	size_t n = 0;

	while (is_ttoken((unsigned char)p[n]))
		n++;
	if (n == 0 || n >= max)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	*pp = p + n;
	return 0;
}

/* Content-Type value (disp: Content-Disposition), strict. */
static int
parse_ctype(const char *v, const char *vend, int disp, struct ctype *ct)
{
	const char *s;

	ct->buf = unfold(v, vend);
	if (strstr(ct->buf, "=?") != NULL || util_has_8bit(ct->buf)) {
		/* GMime decodes the whole value as RFC 2047 text before it reads
		 * the parameters (Outlook's and Gmail's encoded file names) */
		char *dec;

		if (decode_words(ct->buf, 0, 1, &dec) < 0)
			return -1;
		free(ct->buf);
		ct->buf = dec;
	}
	s = ct->buf;
	if (strchr(s, '(') != NULL)
		return -1;
	if (token(&s, ct->type, sizeof(ct->type)) < 0)
		return -1;
	if (!disp) {
		if (*s++ != '/')
			return -1;
		if (token(&s, ct->subtype, sizeof(ct->subtype)) < 0)
			return -1;
	}
	if (*s != '\0' && *s != ';' && *s != ' ' && *s != '\t')
		return -1;
	return params(ct->buf + (s - ct->buf), ct->p, &ct->np);
}

static void
ctype_free(struct ctype *ct)
{
	free(ct->buf);
	memset(ct, 0, sizeof(*ct));
}

/* ---- structure ------------------------------------------------------------- */

/* A boundary line found by next_boundary(). */
struct bline {
	const char *start;       /* first byte of the line */
	const char *after;       /* first byte after its line end */
	int level;               /* index in f->bounds */
	int final;               /* "--b--" */
	int cr;                  /* the line ends in CR LF */
};

/* Does a long line hold a boundary anywhere?  GMime reads content lines
 * longer than its 128-byte look-ahead in pieces and may take a piece for a
 * line of its own. */
static int
long_line_risky(const struct fast *f, const char *p, size_t len)
{
	return len > 120 && boundary_inside(f, p, len);
}

/*
 * The next line from p that starts with "--" and an active boundary.
 * Returns 0 (found), 1 (end of input first) or -1 (decline: a line that
 * starts like a boundary but is not exactly one, or a risky long line).
 */
static int
next_boundary(const struct fast *f, const char *p, struct bline *bl)
{
	const char *end = f->end;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end;

		if (long_line_risky(f, p, (size_t)(le - p)))
			return -1;
		if (le - p >= 2 && p[0] == '-' && p[1] == '-') {
			for (int i = f->nbounds - 1; i >= 0; i--) {
				size_t blen = f->bounds[i].len;
				const char *r;

				if ((size_t)(le - p) < 2 + blen || memcmp(p + 2, f->bounds[i].b, blen) != 0)
					continue;
				r = p + 2 + blen;
				bl->final = 0;
				if (le - r >= 2 && r[0] == '-' && r[1] == '-') {
					bl->final = 1;
					r += 2;
				}
				bl->cr = 0;
				if (r < le && *r == '\r') {
					bl->cr = 1;
					r++;
				}
				if (r != le)
					return -1;
				bl->start = p;
				bl->after = nl != NULL ? nl + 1 : end;
				bl->level = i;
				return 0;
			}
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return 1;
}

/* End of a part's content before boundary line bl, as GMime cuts it: the
 * line end before the boundary belongs to the boundary. */
static int
content_end(const char *c, const struct bline *bl, const char **end_r)
{
	const char *e = bl->start;

	if (e > c) {
		if (bl->cr) {
			if (e - c < 2 || e[-2] != '\r' || e[-1] != '\n')
				return -1;
			e -= 2;
		} else {
			if (e[-1] != '\n')
				return -1;
			e--;
		}
	}
	*end_r = e;
	return 0;
}

enum { CTE_RAW, CTE_BASE64, CTE_QP };

struct partinfo {
	struct ctype ct;         /* type "" before defaulting */
	struct ctype cd;         /* Content-Disposition; type "" when none */
	int cte;
};

static void
partinfo_free(struct partinfo *pi)
{
	ctype_free(&pi->ct);
	ctype_free(&pi->cd);
}

static int
partinfo(const struct fhdr *h, size_t n, struct partinfo *pi)
{
	int i;

	memset(pi, 0, sizeof(*pi));
	if (values_quiet(h, n) < 0)
		return -1;
	if ((i = find_one(h, n, "Content-Type")) == -2)
		return -1;
	if (i >= 0) {
		if (parse_ctype(h[i].v, h[i].vend, 0, &pi->ct) < 0)
			return -1;
	} else {
		strcpy(pi->ct.type, "text");
		strcpy(pi->ct.subtype, "plain");
	}
	if ((i = find_one(h, n, "Content-Disposition")) == -2)
		return -1;
	if (i >= 0 && parse_ctype(h[i].v, h[i].vend, 1, &pi->cd) < 0)
		return -1;
	if ((i = find_one(h, n, "Content-Transfer-Encoding")) == -2)
		return -1;
	pi->cte = CTE_RAW;
	if (i >= 0) {
		char *v = unfold(h[i].v, h[i].vend);
		static const char *const raw[] = { "7bit", "8bit", "7-bit", "8-bit", "binary" };
		int ok = 0;

		for (size_t k = 0; k < sizeof(raw) / sizeof(raw[0]); k++)
			if (strcasecmp(v, raw[k]) == 0)
				ok = 1;
		if (strcasecmp(v, "base64") == 0) {
			pi->cte = CTE_BASE64;
			ok = 1;
		} else if (strcasecmp(v, "quoted-printable") == 0) {
			pi->cte = CTE_QP;
			ok = 1;
		}
		free(v);
		if (!ok)
			return -1;
	}
	return 0;
}

/* Transfer decoding of c[0..len); xmalloc'ed, NUL-terminated. */
static unsigned char *
decode_content(const char *c, size_t len, int cte, size_t *len_r)
{
	unsigned char *out = xmalloc(len + 1);
	int state = 0;
	unsigned save = 0;

	if (cte == CTE_BASE64)
		*len_r = b64_step((const unsigned char *)c, len, out, &state, &save);
	else if (cte == CTE_QP)
		*len_r = qp_decode((const unsigned char *)c, len, out);
	else {
		memcpy(out, c, len);
		*len_r = len;
	}
	out[*len_r] = '\0';
	return out;
}

static int
ct_is(const struct ctype *ct, const char *type, const char *subtype)
{
	return strcasecmp(ct->type, type) == 0 &&
	    (subtype == NULL || strcasecmp(ct->subtype, subtype) == 0);
}

/* A leaf (not multipart) with content c[0..len): as mime.c's walk_part. */
static int
leaf(struct fast *f, const struct partinfo *pi, const char *c, size_t len, int skip_text,
    int top)
{
	char ctype[200];
	unsigned char *data;
	size_t dlen;
	int is_att;

	if (ct_is(&pi->ct, "message", NULL) || ct_is(&pi->ct, "multipart", NULL) ||
	    ct_is(&pi->ct, "application", "pkcs7-mime") ||
	    ct_is(&pi->ct, "application", "x-pkcs7-mime"))
		return -1;
	if (++f->parts > FAST_MAX_PARTS)
		return -1;
	{
		size_t tl = strlen(pi->ct.type), sl = strlen(pi->ct.subtype);

		memcpy(ctype, pi->ct.type, tl);
		ctype[tl] = '/';
		memcpy(ctype + tl + 1, pi->ct.subtype, sl + 1);
		util_lower_ascii(ctype);
	}
	is_att = pi->cd.type[0] != '\0' && strcasecmp(pi->cd.type, "attachment") == 0;
	/* a text file attached "inline" with its name (Apple Mail) */
	if (!top && ((pi->cd.type[0] != '\0' && param_get(&pi->cd, "filename") != NULL) ||
	    param_get(&pi->ct, "name") != NULL))
		is_att = 1;
	if (!is_att && (strcmp(ctype, "text/plain") == 0 || strcmp(ctype, "text/html") == 0)) {
		if (skip_text) {
			mime_acc_skip_leaf(&f->acc);
			return 0;
		}
		data = decode_content(c, len, pi->cte, &dlen);
		mime_acc_text(&f->acc, data, dlen, param_get(&pi->ct, "charset"), ctype[5] != 'p',
		    mime_flowed(param_get(&pi->ct, "format"), param_get(&pi->ct, "delsp")));
		free(data);
		return 0;
	}
	if (strcmp(ctype, "application/pgp-signature") == 0 ||
	    strcmp(ctype, "application/pkcs7-signature") == 0 ||
	    strcmp(ctype, "application/x-pkcs7-signature") == 0) {
		mime_acc_skip_leaf(&f->acc);
		return 0;
	}
	{
		const char *fname = pi->cd.type[0] != '\0' ? param_get(&pi->cd, "filename") : NULL;

		if (fname == NULL)
			fname = param_get(&pi->ct, "name");
		data = decode_content(c, len, pi->cte, &dlen);
		mime_acc_attachment(&f->acc, data, dlen, fname, ctype);
	}
	return 0;
}

static int
push_boundary(struct fast *f, const char *b)
{
	size_t len = strlen(b);

	if (f->nbounds == FAST_MAX_DEPTH || len == 0 || len > 70)
		return -1;
	for (const char *p = b; *p; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return -1;
	/* one boundary the prefix of another: which one a line is gets subtle */
	for (int i = 0; i < f->nbounds; i++) {
		size_t l = f->bounds[i].len < len ? f->bounds[i].len : len;
		if (memcmp(f->bounds[i].b, b, l) == 0)
			return -1;
	}
	f->bounds[f->nbounds].b = b;
	f->bounds[f->nbounds].len = len;
	f->nbounds++;
	return 0;
}

/*
 * A multipart body from p with its boundary; returns in *bl the boundary
 * line of the parent that ends it (top level: bl->start == NULL).  *prologue
 * is set when the part before the first boundary holds any bytes.
 */
static int
multipart(struct fast *f, const struct partinfo *pi, const char *p, int skip_text,
    struct bline *out, int *prologue)
{
	const char *b = param_get(&pi->ct, "boundary");
	int alt = ct_is(&pi->ct, "multipart", "alternative");
	int plain_before = f->acc.n_plain;
	int level, r;
	struct bline bl;

	if (!ct_is(&pi->ct, "multipart", "mixed") && !alt &&
	    !ct_is(&pi->ct, "multipart", "related"))
		return -1;
	if (b == NULL || push_boundary(f, b) < 0)
		return -1;
	if (++f->parts > FAST_MAX_PARTS)
		return -1;
	level = f->nbounds - 1;
	if (next_boundary(f, p, &bl) != 0 || bl.level != level || bl.final)
		return -1;
	if (prologue != NULL)
		*prologue = bl.start > p;
	for (;;) {
		struct fhdr h[FAST_MAX_PART_HDRS];
		size_t n;
		struct partinfo sub;
		const char *c = bl.after;
		int sub_skip = skip_text || (alt && f->acc.n_plain > plain_before);

		if (header_block(f, &c, h, FAST_MAX_PART_HDRS, &n) < 0)
			return -1;
		if (partinfo(h, n, &sub) < 0) {
			partinfo_free(&sub);
			return -1;
		}
		if (ct_is(&sub.ct, "multipart", NULL)) {
			r = multipart(f, &sub, c, sub_skip, &bl, NULL);
			partinfo_free(&sub);
			if (r < 0 || bl.start == NULL || bl.level != level)
				return -1;
		} else {
			const char *e;

			if (next_boundary(f, c, &bl) != 0 || bl.level != level ||
			    content_end(c, &bl, &e) < 0) {
				partinfo_free(&sub);
				return -1;
			}
			r = leaf(f, &sub, c, (size_t)(e - c), sub_skip, 0);
			partinfo_free(&sub);
			if (r < 0)
				return -1;
		}
		if (bl.final)
			break;
	}
	/* the epilogue runs to the parent's next boundary, or the end */
	f->nbounds--;
	r = next_boundary(f, bl.after, out);
	if (r < 0)
		return -1;
	if (r == 1) {
		if (f->nbounds > 0)
			return -1;   /* the parent's end is missing: GMime warns */
		out->start = NULL;
	}
	return 0;
}

/* ---- the message ------------------------------------------------------------ */

static const char *
fast_header(void *ctx, const char *name)
{
	struct fast *f = ctx;

	for (int k = 0; k < H_N; k++)
		if (hnames[k] == name || (hnames[k][0] == name[0] && strcmp(hnames[k], name) == 0))
			return hval(f, k);
	return NULL;   /* mime_auto_reason reads only names of hnames */
}

/* A list of msg-ids for In-Reply-To / References, cleaned as mime.c does. */
static int
id_list(const char *v, char ***out, size_t *n_out, size_t keep_last)
{
	char **ids;
	size_t n, from, k = 0;

	if (msg_id_list(v, &ids, &n) < 0)
		return -1;
	from = n > keep_last ? n - keep_last : 0;
	*out = xcalloc(n - from + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		if (i >= from) {
			char *id = mime_header_clean(ids[i], 1);
			if (id != NULL)
				(*out)[k++] = id;
		}
		free(ids[i]);
	}
	free(ids);
	*n_out = k;
	return 0;
}

static int
message_headers(struct fast *f)
{
	struct mime_message *m = f->acc.m;
	const char *v;

	/* headers read as text: no repeats, no encoded words, ASCII */
	for (int k = 0; k < H_FIRST_ADDRESS; k++) {
		if (f->hcount[k] > 1)
			return -1;
		if (k != H_FROM && k != H_SUBJECT && (v = hval(f, k)) != NULL &&
		    (util_has_8bit(v) || strstr(v, "=?") != NULL))
			return -1;
	}
	/* address headers GMime parses (and warns about) */
	for (size_t j = 0; j < f->ntop; j++) {
		for (int k = H_FIRST_ADDRESS; k < H_N; k++) {
			if (f->hcount[k] > 0 && name_is(&f->top[j], hnames[k]) &&
			    address_list(top_value(f, (int)j), NULL, NULL) < 0)
				return -1;
		}
	}
	if ((v = hval(f, H_FROM)) != NULL) {
		char *addr = NULL, *name = NULL;

		if (address_list(v, &addr, &name) < 0) {
			free(addr);
			free(name);
			return -1;
		}
		mime_acc_from(&f->acc, addr, name);
		free(addr);
		free(name);
	}
	if ((v = hval(f, H_RETURN_PATH)) != NULL)
		mime_acc_return_path(&f->acc, v);

	if ((v = hval(f, H_SUBJECT)) != NULL) {
		char *subj;

		if (decode_words(v, 0, 1, &subj) < 0)
			return -1;
		m->subject = mime_header_clean(subj, 0);
		free(subj);
	}

	if ((v = hval(f, H_MESSAGE_ID)) != NULL) {
		const char *p = v;
		char *id = msg_id(&p);

		if (id == NULL || *p != '\0') {
			free(id);
			return -1;
		}
		m->message_id = mime_header_clean(id, 1);
		free(id);
	}
	if ((v = hval(f, H_IN_REPLY_TO)) != NULL) {
		char **ids;
		size_t n;

		if (id_list(v, &ids, &n, (size_t)-1) < 0)
			return -1;
		if (n > 0)
			m->in_reply_to = ids[0];
		for (size_t k = 1; k < n; k++)
			free(ids[k]);
		free(ids);
		if (n == 0)
			return -1;
	}
	if ((v = hval(f, H_REFERENCES)) != NULL &&
	    id_list(v, &m->references, &m->n_references, MIME_MAX_REFERENCES) < 0)
		return -1;
	if ((v = hval(f, H_DATE)) != NULL && parse_date(v, &m->date) < 0)
		return -1;
	m->has_s48_loop = hval(f, H_X_S48_LOOP) != NULL;
	return 0;
}

static int
fast_body(struct fast *f, const char *body)
{
	struct partinfo pi;
	int r;

	if (partinfo(f->top, f->ntop, &pi) < 0) {
		partinfo_free(&pi);
		return -1;
	}
	if (ct_is(&pi.ct, "multipart", NULL)) {
		struct bline bl;
		int prologue = 0;

		r = multipart(f, &pi, body, 0, &bl, &prologue);
		/* no text: GMime would take the prologue as the text */
		if (r == 0 && prologue && f->acc.n_plain == 0 && f->acc.n_html == 0)
			r = -1;
	} else {
		r = leaf(f, &pi, body, (size_t)(f->end - body), 0, 1);
	}
	partinfo_free(&pi);
	return r;
}

struct mime_message *
mime_fast_parse(const unsigned char *raw, size_t len, int truncated,
    size_t max_attachment_bytes)
{
	struct fast f;
	struct mime_message *m;
	const char *p;
	int ok;

	if (raw == NULL || len == 0 || truncated || memchr(raw, '\0', len) != NULL)
		return NULL;
	m = xcalloc(1, sizeof(*m));
	mime_acc_init(&f.acc, m, truncated, max_attachment_bytes);
	f.end = (const char *)raw + len;
	f.nbounds = 0;
	f.parts = 0;
	f.ntop = 0;
	p = (const char *)raw;
	ok = header_block(&f, &p, f.top, FAST_MAX_HEADERS, &f.ntop) == 0;
	index_headers(&f);
	ok = ok && message_headers(&f) == 0 && fast_body(&f, p) == 0;
	if (ok)
		m->auto_reason = mime_auto_reason(fast_header, &f, m, f.acc.is_report);
	mime_acc_finish(&f.acc);
	for (size_t i = 0; i < f.ntop; i++)
		free(f.vals[i]);
	if (!ok)
		mime_message_free(&m);
	return m;
}

/*
 * The Subject as the fast path decodes it, for mime.c's GMime path (so both
 * paths give the same subject): raw[0..len) as in the message (after the
 * colon, folded), unfolded, then its encoded words (per_word, see
 * eword_run).  0 and *out (caller frees), or -1 when anything is unusual (the
 * caller keeps GMime's own decoding).
 */
int
mime_decode_subject(const char *raw, size_t len, char **out)
{
	char *v = unfold(raw, raw + len);
	int rc = decode_words(v, 0, 1, out);

	free(v);
	return rc;
}
