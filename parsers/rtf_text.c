/*
 * rtf_text.c - the words of Outlook's compressed RTF body (rtf_text.h).
 *
 * Outlook in RTF mode sends a mail's text only as PR_RTF_COMPRESSED inside
 * the winmail.dat.  Two steps make it a ticket's text: MS-OXRTFCP's LZFu
 * decompression (written from the spec; libytnef's DecompressRTF trusts the
 * sizes in the header) and a small RTF reader that keeps the text, decodes
 * \'hh bytes in the document's or font's code page and \uN escapes, and for
 * Outlook's encapsulated HTML (\fromhtml1, MS-OXRTFEX) keeps only the
 * original HTML's text.  Both are bounded by the caller's max and never
 * read outside their input.
 */
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "normalize.h"
#include "rtf_text.h"
#include "util.h"

/* ---- MS-OXRTFCP decompression ---------------------------------------- */

#define RTF_DICT      4096
#define RTF_HEADER    16

/* The dictionary's initial contents (MS-OXRTFCP 3.1.3.1): 207 bytes. */
static const char rtf_prefix[] =
    "{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}"
    "{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier"
    "{\\colortbl\\red0\\green0\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx";
_Static_assert(sizeof(rtf_prefix) - 1 == 207, "MS-OXRTFCP initial dictionary is 207 bytes");

static uint32_t
rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

unsigned
rtf_crc(const unsigned char *p, size_t n)
{
	uint32_t crc = 0;

	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
	}
	return crc;
}

/* A growing output array of at most max bytes. */
struct rawout {
	char *p;
	size_t len, cap, max;
};

/* 0, or -1 when max is reached (the byte is not kept). */
static int
rawout_put(struct rawout *o, unsigned char c)
{
	if (o->len >= o->max)
		return -1;
	if (o->len + 1 >= o->cap) {
		size_t n = o->cap * 2;

		if (n > o->max + 1)
			n = o->max + 1;
		o->p = xrealloc(o->p, n);
		o->cap = n;
	}
	o->p[o->len++] = (char)c;
	return 0;
}

/* c to the dictionary (at *wpos, counting the positions *filled) and to
 * the output: rawout_put's result. */
static int
lz_put(unsigned char *dict, size_t *wpos, size_t *filled, struct rawout *o, unsigned char c)
{
	dict[*wpos] = c;
	*wpos = (*wpos + 1) % RTF_DICT;
	if (*filled < RTF_DICT)
		(*filled)++;
	return rawout_put(o, c);
}

int
rtf_decompress(const unsigned char *in, size_t len, size_t max,
    char **out_r, size_t *outlen_r, const char **error_r)
{
	unsigned char dict[RTF_DICT];
	struct rawout o = { NULL, 0, 0, max };
	uint32_t compsize, rawsize, magic, crc;
	size_t end, pos, wpos, filled;
	int rc = 0;

	*out_r = NULL;
	*outlen_r = 0;
	if (len < RTF_HEADER) {
		*error_r = "compressed RTF shorter than its header";
		return -1;
	}
	compsize = rd32(in);
	rawsize = rd32(in + 4);
	magic = rd32(in + 8);
	crc = rd32(in + 12);
	if (compsize < RTF_HEADER - 4) {
		*error_r = "compressed RTF size smaller than its header";
		return -1;
	}
	/* the bytes the header claims, but never more than are here */
	end = compsize > len - 4 ? len : (size_t)compsize + 4;

	if (magic == RTF_UNCOMPRESSED) {
		size_t n = end - RTF_HEADER;
		if (rawsize < n)
			n = rawsize;
		if (n > max) {
			n = max;
			rc = 1;
		}
		o.p = xmalloc(n + 1);
		memcpy(o.p, in + RTF_HEADER, n);
		o.p[n] = '\0';
		*out_r = o.p;
		*outlen_r = n;
		return rc;
	}
	if (magic != RTF_COMPRESSED) {
		*error_r = "compressed RTF of an unknown type";
		return -1;
	}
	if (rtf_crc(in + RTF_HEADER, end - RTF_HEADER) != crc) {
		*error_r = "compressed RTF CRC mismatch";
		return -1;
	}
	memset(dict, 0, sizeof(dict));
	memcpy(dict, rtf_prefix, sizeof(rtf_prefix) - 1);
	wpos = filled = sizeof(rtf_prefix) - 1;
	o.cap = max < 4096 ? max + 1 : 4096;
	o.p = xmalloc(o.cap);
	pos = RTF_HEADER;
	while (pos < end) {
		unsigned ctrl = in[pos++];

		for (int bit = 0; bit < 8 && pos < end; bit++) {
			if (ctrl & (1u << bit)) {
				size_t ref, off, n;

				if (end - pos < 2) {
					*error_r = "compressed RTF reference cut by the end";
					goto fail;
				}
				ref = (size_t)in[pos] << 8 | in[pos + 1];
				pos += 2;
				off = ref >> 4;
				n = (ref & 15) + 2;
				if (off == wpos)
					goto done;      /* the end reference */
				if (off >= filled) {
					*error_r = "compressed RTF reference to an unwritten position";
					goto fail;
				}
				/* byte by byte: a reference may cross the write position */
				for (size_t k = 0; k < n; k++)
					if (lz_put(dict, &wpos, &filled, &o,
					    dict[(off + k) % RTF_DICT]) < 0) {
						rc = 1;
						goto done;
					}
			} else if (lz_put(dict, &wpos, &filled, &o, in[pos++]) < 0) {
				rc = 1;
				goto done;
			}
		}
	}
done:
	o.p[o.len] = '\0';
	*out_r = o.p;
	*outlen_r = o.len;
	return rc;
fail:
	free(o.p);
	return -1;
}

/* ---- RTF to text -------------------------------------------------------- */

#define RTF_MAX_DEPTH 128
#define RTF_MAX_FONTS 64
#define RTF_PEND      256

enum rtf_dest {
	DEST_TEXT,      /* the document's text */
	DEST_SKIP,      /* a destination that is not text */
	DEST_FONTTBL,   /* the font table: \fN \fcharsetN read */
	DEST_HTMLTAG,   /* \*\htmltag of encapsulated HTML: its head kept */
};

struct rtf_group {
	unsigned char dest;
	unsigned char htmlrtf;  /* inside \htmlrtf .. \htmlrtf0 */
	unsigned char star;     /* \* just seen: next word is a destination */
	int uc;                 /* fallback characters after \uN */
	int cp;                 /* code page of the current font, 0: document's */
	long font;              /* in the font table: the entry's \fN */
};

struct rtf_font {
	long num;
	int cp;
};

struct rtf {
	struct buf out;
	int full;
	int doc_cp, deff, html;
	struct rtf_font fonts[RTF_MAX_FONTS];
	size_t n_fonts;
	unsigned char pend[RTF_PEND];   /* code-page bytes not yet converted */
	size_t n_pend;
	int pend_cp;
	iconv_t cd;
	int cd_cp;
	int skip;                       /* \uN fallback characters still to skip */
	unsigned hi;                    /* a high surrogate waiting for its pair */
	char tag[24];                   /* head of the current \htmltag */
	size_t n_tag;
	struct rtf_group g[RTF_MAX_DEPTH];
	size_t depth;                   /* g[depth] is the current group */
	size_t overflow;                /* groups deeper than RTF_MAX_DEPTH */
};

/* Text bytes out, cut at a character start when the cap is reached. */
static void
put(struct rtf *r, const char *s, size_t n)
{
	if (r->full)
		return;
	if (buf_append(&r->out, s, n) == 0)
		return;
	n = r->out.max - r->out.len;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	(void)buf_append(&r->out, s, n);
	r->full = 1;
}

static void
put_cp(struct rtf *r, unsigned cp)
{
	char u[4];
	size_t n;

	if (cp == 0 || (cp < 0x20 && cp != '\n' && cp != '\t') || cp == 0x7f)
		return;
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	put(r, u, n);
}

/* The iconv name of a Windows code page. */
static void
cp_name(int cp, char *out, size_t outsz)
{
	if (cp == 65001)
		snprintf(out, outsz, "UTF-8");
	else if (cp == 10000)
		snprintf(out, outsz, "MACINTOSH");
	else if (cp == 20127)
		snprintf(out, outsz, "ASCII");
	else if (cp == 20866)
		snprintf(out, outsz, "KOI8-R");
	else if (cp == 21866)
		snprintf(out, outsz, "KOI8-U");
	else if (cp >= 28591 && cp <= 28606)
		snprintf(out, outsz, "ISO-8859-%d", cp - 28590);
	else
		snprintf(out, outsz, "CP%d", cp);
}

/* Convert the pending code-page bytes; a character cut at the end of a
 * full buffer waits for its rest unless final. */
static void
flush_bytes(struct rtf *r, int final)
{
	char obuf[1024];
	char *ip = (char *)r->pend;
	size_t il = r->n_pend;

	if (r->n_pend == 0)
		return;
	if (r->cd_cp != r->pend_cp) {
		char name[32];

		if (r->cd != (iconv_t)-1)
			iconv_close(r->cd);
		cp_name(r->pend_cp, name, sizeof(name));
		r->cd = iconv_open("UTF-8", name);
		if (r->cd == (iconv_t)-1)
			r->cd = iconv_open("UTF-8", "CP1252");
		r->cd_cp = r->pend_cp;
	}
	if (r->cd == (iconv_t)-1) {
		for (size_t i = 0; i < il; i++)
			put_cp(r, r->pend[i] < 0x80 ? r->pend[i] : 0xFFFD);
		r->n_pend = 0;
		return;
	}
	while (il > 0) {
		char *op = obuf;
		size_t ol = sizeof(obuf);
		size_t k = iconv(r->cd, &ip, &il, &op, &ol);
		int e = errno;

		put(r, obuf, (size_t)(op - obuf));
		if (k != (size_t)-1)
			break;
		if (e == E2BIG)
			continue;
		if (e == EINVAL && !final)
			break;
		/* not a character of the code page: U+FFFD, one byte on */
		put_cp(r, 0xFFFD);
		ip++;
		il--;
		(void)iconv(r->cd, NULL, NULL, NULL, NULL);
	}
	memmove(r->pend, ip, il);
	r->n_pend = il;
}

static struct rtf_group *
top(struct rtf *r)
{
	return &r->g[r->depth];
}

/* Text is kept here: the document's text outside \htmlrtf. */
static int
in_text(struct rtf *r)
{
	return r->overflow == 0 && top(r)->dest == DEST_TEXT && !top(r)->htmlrtf;
}

static int
cur_cp(struct rtf *r)
{
	int cp = top(r)->cp;

	if (cp == 0)
		cp = r->doc_cp;
	return cp != 0 ? cp : 1252;
}

/* Any output other than code-page bytes: those before it go first. */
static void
put_text(struct rtf *r, const char *s)
{
	flush_bytes(r, 1);
	if (r->hi != 0) {
		put_cp(r, 0xFFFD);
		r->hi = 0;
	}
	put(r, s, strlen(s));
}

/* A byte in the current code page. */
static void
put_byte(struct rtf *r, unsigned char c)
{
	int cp = cur_cp(r);

	if (c < 0x20) {
		/* no code page puts text there: a tab, or nothing (never a NUL) */
		put_text(r, c == '\t' ? "\t" : "");
		return;
	}
	if (r->n_pend > 0 && r->pend_cp != cp)
		flush_bytes(r, 1);
	if (r->n_pend == RTF_PEND)
		flush_bytes(r, 0);
	if (r->n_pend == RTF_PEND)
		flush_bytes(r, 1);
	r->pend_cp = cp;
	r->pend[r->n_pend++] = c;
}

static void
put_unicode(struct rtf *r, long v)
{
	unsigned cp;

	if (v < 0)
		v += 65536;
	if (v < 0 || v > 0xFFFF)
		return;
	cp = (unsigned)v;
	flush_bytes(r, 1);
	if (cp >= 0xDC00 && cp <= 0xDFFF && r->hi != 0) {
		put_cp(r, 0x10000 + ((r->hi - 0xD800) << 10) + (cp - 0xDC00));
		r->hi = 0;
		return;
	}
	if (r->hi != 0) {
		put_cp(r, 0xFFFD);
		r->hi = 0;
	}
	if (cp >= 0xD800 && cp <= 0xDBFF)
		r->hi = cp;
	else
		put_cp(r, cp);
}

/* The code page of an \fcharsetN. 0 (ANSI) and 1 (default): the document's. */
static int
charset_cp(long cs)
{
	static const struct { int cs, cp; } map[] = {
		{ 77, 10000 }, { 128, 932 }, { 129, 949 }, { 130, 1361 },
		{ 134, 936 }, { 136, 950 }, { 161, 1253 }, { 162, 1254 },
		{ 163, 1258 }, { 177, 1255 }, { 178, 1256 }, { 186, 1257 },
		{ 204, 1251 }, { 222, 874 }, { 238, 1250 }, { 254, 437 },
		{ 255, 850 },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].cs == cs)
			return map[i].cp;
	return 0;
}

static void
font_set(struct rtf *r, long num, int cp)
{
	size_t i;

	for (i = 0; i < r->n_fonts; i++)
		if (r->fonts[i].num == num)
			break;
	if (i == r->n_fonts) {
		if (r->n_fonts == RTF_MAX_FONTS)
			return;
		r->n_fonts++;
	}
	r->fonts[i].num = num;
	r->fonts[i].cp = cp;
}

static int
font_cp(struct rtf *r, long num)
{
	for (size_t i = 0; i < r->n_fonts; i++)
		if (r->fonts[i].num == num)
			return r->fonts[i].cp;
	return 0;
}

/* Destinations that hold no text of the mail. */
static int
skipped_dest(const char *w)
{
	static const char *const dests[] = {
		"colortbl", "stylesheet", "info", "pict", "object", "objdata",
		"header", "headerl", "headerr", "headerf", "footer", "footerl",
		"footerr", "footerf", "fldinst", "listtable", "listoverridetable",
		"revtbl", "rsidtbl", "filetbl", "xe", "tc", "themedata",
		"colorschememapping", "datastore", "latentstyles", "generator",
		"nonshppict", "shppict", "xmlnstbl", "pgdsctbl", "private",
		"userprops", "docvar", "shpinst", "sp", "bkmkstart", "bkmkend",
		"mhtmltag", "htmltag", "listtext" /* bullets: the text follows */,
	};

	for (size_t i = 0; i < sizeof(dests) / sizeof(dests[0]); i++)
		if (strcmp(w, dests[i]) == 0)
			return 1;
	return 0;
}

/* The end of an \htmltag group: line breaks and entities of the HTML. */
static void
htmltag_end(struct rtf *r)
{
	static const char *const breaks[] = {
		"<br", "</p", "</div", "</tr", "</li", "</h1", "</h2", "</h3",
		"</h4", "</h5", "</h6", "</blockquote", "</table",
	};
	static const struct { const char *e; unsigned cp; } ents[] = {
		{ "&nbsp;", ' ' }, { "&amp;", '&' }, { "&lt;", '<' },
		{ "&gt;", '>' }, { "&quot;", '"' }, { "&apos;", '\'' },
	};
	const char *t = r->tag;

	r->tag[r->n_tag] = '\0';
	if (r->n_tag > 0 && r->n_tag + 1 < sizeof(r->tag) && t[strspn(t, " \t\n")] == '\0') {
		/* a line break of the HTML source between words: a space */
		flush_bytes(r, 1);
		if (r->out.len > 0 && strchr(" \t\n", r->out.data[r->out.len - 1]) == NULL)
			put_text(r, " ");
		return;
	}
	if (t[0] == '<') {
		for (size_t i = 0; i < sizeof(breaks) / sizeof(breaks[0]); i++) {
			size_t l = strlen(breaks[i]);

			if (strncmp(t, breaks[i], l) == 0 && (t[l] == '\0' ||
			    t[l] == '>' || t[l] == ' ' || t[l] == '/' || t[l] == '\t' ||
			    t[l] == '\n')) {
				put_text(r, "\n");
				return;
			}
		}
	} else if (t[0] == '&') {
		if (t[1] == '#') {
			char *e;
			long v = t[2] == 'x' ? strtol(t + 3, &e, 16) : strtol(t + 2, &e, 10);

			if (*e == ';' && v > 0 && v <= 0x10FFFF) {
				flush_bytes(r, 1);
				put_cp(r, (unsigned)v);
			}
			return;
		}
		for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++)
			if (strcmp(t, ents[i].e) == 0) {
				char s[2] = { (char)ents[i].cp, '\0' };

				put_text(r, s);
				return;
			}
	}
}

static void
tag_add(struct rtf *r, char c)
{
	if (r->n_tag + 1 < sizeof(r->tag)) {
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		r->tag[r->n_tag++] = c;
	}
}

/* A character of text (from the input, \\ \{ \} or \'hh). */
static void
text_char(struct rtf *r, unsigned char c, int is_byte)
{
	if (r->skip > 0) {
		r->skip--;
		return;
	}
	if (r->overflow == 0 && top(r)->dest == DEST_HTMLTAG) {
		tag_add(r, (char)c);
		return;
	}
	if (!in_text(r))
		return;
	if (is_byte || c >= 0x80) {
		put_byte(r, c);
	} else if (c >= 0x20 || c == '\t') {
		char s[2] = { (char)c, '\0' };

		put_text(r, s);
	}
}

/* A control word and its parameter; returns how many input bytes to skip
 * after it (\binN). */
static size_t
control_word(struct rtf *r, const char *w, long param, int has_param)
{
	struct rtf_group *g = top(r);
	static const struct { const char *w, *s; } syms[] = {
		{ "par", "\n" }, { "line", "\n" }, { "sect", "\n" }, { "page", "\n" },
		{ "row", "\n" }, { "tab", "\t" }, { "cell", "\t" },
		{ "emdash", "\xe2\x80\x94" }, { "endash", "\xe2\x80\x93" },
		{ "bullet", "\xe2\x80\xa2" }, { "lquote", "\xe2\x80\x98" },
		{ "rquote", "\xe2\x80\x99" }, { "ldblquote", "\xe2\x80\x9c" },
		{ "rdblquote", "\xe2\x80\x9d" }, { "emspace", " " }, { "enspace", " " },
		{ "qmspace", " " },
	};

	if (strcmp(w, "bin") == 0)
		return has_param && param > 0 ? (size_t)param : 0;
	if (r->skip > 0) {
		r->skip--;      /* a fallback written as a control word */
		return 0;
	}
	if (g->star) {
		g->star = 0;
		if (strcmp(w, "htmltag") == 0 && r->html && g->dest == DEST_TEXT &&
		    r->depth > 0 && r->overflow == 0) {
			flush_bytes(r, 1);
			g->dest = DEST_HTMLTAG;
			r->n_tag = 0;
		} else {
			g->dest = DEST_SKIP;
		}
		return 0;
	}
	if (g->dest == DEST_FONTTBL) {
		if (strcmp(w, "f") == 0 && has_param)
			g->font = param;
		else if (strcmp(w, "fcharset") == 0 && has_param)
			font_set(r, g->font, charset_cp(param));
		else if (strcmp(w, "cpg") == 0 && has_param && param > 0 && param < 100000)
			font_set(r, g->font, (int)param);
		return 0;
	}
	if (g->dest == DEST_HTMLTAG) {
		if (strcmp(w, "par") == 0 || strcmp(w, "line") == 0)
			tag_add(r, '\n');
		else if (strcmp(w, "tab") == 0)
			tag_add(r, '\t');
		return 0;
	}
	if (strcmp(w, "fonttbl") == 0) {
		g->dest = DEST_FONTTBL;
		g->font = 0;
		return 0;
	}
	if (skipped_dest(w)) {
		g->dest = DEST_SKIP;
		return 0;
	}
	if (strcmp(w, "htmlrtf") == 0) {
		if (!g->htmlrtf)
			flush_bytes(r, 1);
		g->htmlrtf = !has_param || param != 0;
		return 0;
	}
	if (strcmp(w, "ansicpg") == 0) {
		if (has_param && param > 0 && param < 100000)
			r->doc_cp = (int)param;
	} else if (strcmp(w, "ansi") == 0) {
		r->doc_cp = 1252;
	} else if (strcmp(w, "mac") == 0) {
		r->doc_cp = 10000;
	} else if (strcmp(w, "pc") == 0) {
		r->doc_cp = 437;
	} else if (strcmp(w, "pca") == 0) {
		r->doc_cp = 850;
	} else if (strcmp(w, "deff") == 0) {
		r->deff = has_param ? param : 0;
	} else if (strcmp(w, "fromhtml") == 0) {
		r->html = !has_param || param != 0;
	} else if (strcmp(w, "f") == 0) {
		flush_bytes(r, 1);
		g->cp = font_cp(r, has_param ? param : 0);
	} else if (strcmp(w, "plain") == 0) {
		flush_bytes(r, 1);
		g->cp = font_cp(r, r->deff);
	} else if (strcmp(w, "uc") == 0) {
		if (has_param && param >= 0)
			g->uc = param > 16 ? 16 : (int)param;
	} else if (strcmp(w, "u") == 0) {
		if (has_param) {
			if (in_text(r))
				put_unicode(r, param);
			r->skip = g->uc;
		}
	} else if (in_text(r)) {
		for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++)
			if (strcmp(w, syms[i].w) == 0) {
				put_text(r, syms[i].s);
				break;
			}
	}
	return 0;
}

int
rtf_is_html(const char *in, size_t len)
{
	static const char key[] = "\\fromhtml1";

	if (len > 1024)
		len = 1024;
	return memmem(in, len, key, sizeof(key) - 1) != NULL;
}

/* Leading and trailing white space of the result out. */
static char *
trimmed(struct buf *b)
{
	size_t len, s = 0;
	char *t = buf_steal(b, &len);

	while (len > 0 && strchr(" \t\r\n", t[len - 1]) != NULL)
		len--;
	t[len] = '\0';
	while (s < len && (t[s] == '\n' || t[s] == '\r' || t[s] == ' '))
		s++;
	if (s > 0)
		memmove(t, t + s, len - s + 1);
	return t;
}

char *
rtf_to_text(const char *in, size_t len, size_t max)
{
	const unsigned char *s = (const unsigned char *)in;
	struct rtf *r = xcalloc(1, sizeof(*r));
	size_t i = 0;
	char *out;

	buf_init(&r->out, max);
	r->cd = (iconv_t)-1;
	r->cd_cp = -1;
	r->g[0].dest = DEST_TEXT;
	r->g[0].uc = 1;
	while (i < len && !r->full) {
		unsigned char c = s[i];

		if (c == '{') {
			r->skip = 0;
			if (r->overflow > 0 || r->depth + 1 == RTF_MAX_DEPTH) {
				r->overflow++;
			} else {
				r->g[r->depth + 1] = r->g[r->depth];
				r->depth++;
				top(r)->star = 0;
			}
			i++;
		} else if (c == '}') {
			r->skip = 0;
			i++;
			if (r->overflow > 0) {
				r->overflow--;
				continue;
			}
			if (r->depth == 0)
				break;          /* the document's end */
			flush_bytes(r, 1);
			if (top(r)->dest == DEST_HTMLTAG) {
				r->depth--;
				if (in_text(r))
					htmltag_end(r);
				continue;
			}
			r->depth--;
		} else if (c == '\\') {
			unsigned char n;

			if (i + 1 >= len)
				break;
			n = s[i + 1];
			if ((n >= 'a' && n <= 'z') || (n >= 'A' && n <= 'Z')) {
				char w[33];
				size_t wl = 0, j = i + 1;
				long param = 0;
				int has_param = 0, neg = 0;

				while (j < len && ((s[j] >= 'a' && s[j] <= 'z') ||
				    (s[j] >= 'A' && s[j] <= 'Z'))) {
					if (wl < sizeof(w) - 1)
						w[wl++] = (char)s[j];
					j++;
				}
				w[wl] = '\0';
				if (j < len && s[j] == '-' && j + 1 < len &&
				    s[j + 1] >= '0' && s[j + 1] <= '9') {
					neg = 1;
					j++;
				}
				for (int d = 0; j < len && s[j] >= '0' && s[j] <= '9'; j++, d++) {
					if (d < 10)
						param = param * 10 + (s[j] - '0');
					has_param = 1;
				}
				if (neg)
					param = -param;
				if (j < len && s[j] == ' ')
					j++;
				i = j;
				{
					size_t bin = control_word(r, w, param, has_param);

					i += bin > len - i ? len - i : bin;
				}
			} else if (n == '\'') {
				int h1 = i + 2 < len ? util_hexval(s[i + 2]) : -1;
				int h2 = i + 3 < len ? util_hexval(s[i + 3]) : -1;

				if (h1 >= 0 && h2 >= 0) {
					text_char(r, (unsigned char)(h1 << 4 | h2), 1);
					i += 4;
				} else {
					i += h1 >= 0 ? 3 : 2;   /* a cut escape: dropped */
				}
			} else {
				i += 2;
				if (n == '\\' || n == '{' || n == '}') {
					text_char(r, n, 0);
				} else if (n == '*') {
					top(r)->star = 1;
				} else if (r->skip > 0) {
					r->skip--;
				} else if (n == '\n' || n == '\r') {
					if (in_text(r))
						put_text(r, "\n");
				} else if (n == '~') {
					if (in_text(r))
						put_text(r, " ");
				} else if (n == '_') {
					if (in_text(r))
						put_text(r, "-");
				}
			}
		} else {
			i++;
			if (c != '\r' && c != '\n')
				text_char(r, c, 0);
		}
	}
	flush_bytes(r, 1);
	if (r->hi != 0)
		put_cp(r, 0xFFFD);
	if (r->cd != (iconv_t)-1)
		iconv_close(r->cd);
	out = trimmed(&r->out);
	free(r);
	if (!norm_utf8_valid(out, strlen(out))) {
		char *fixed = norm_utf8_repair(out, strlen(out));

		free(out);
		out = fixed;
	}
	return out;
}
