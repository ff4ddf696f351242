/*
 * html_text.c - HTML to readable text for routing and storage (mime.h).
 *
 * A small hand-written state machine, not an HTML parser: it only has to
 * recover the words a citizen typed from what mail clients generate.
 * <script>, <style>, <head> and comments are dropped, block elements become
 * line breaks, entities are decoded, whitespace is collapsed.  The output is
 * never longer than the input plus a few bytes, so it is bounded by the
 * caller's input bound; invalid input bytes pass through for the caller's
 * UTF-8 repair.
 */
#include "mime.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util.h"

struct out {
	struct buf b;
	int pending_space;   /* whitespace seen since the last visible char */
	int newlines;        /* consecutive newlines at the end of the output */
	int nbsp_line;       /* the line so far holds only &nbsp; (Outlook's
	                        empty paragraph <p><o:p>&nbsp;</o:p></p>) */
};

static void
out_newline(struct out *o)
{
	o->pending_space = 0;
	if (o->b.len == 0 || o->newlines >= 2)
		return;
	/* drop trailing spaces before the break */
	while (o->b.len > 0 && o->b.data[o->b.len - 1] == ' ')
		o->b.data[--o->b.len] = '\0';
	if (buf_appendc(&o->b, '\n') == 0)
		o->newlines++;
}

/* A block boundary: start a new line unless already at one. */
static void
out_block(struct out *o)
{
	if (o->newlines == 0)
		out_newline(o);
	else if (o->nbsp_line && o->newlines == 1)
		out_newline(o);         /* an empty paragraph: a blank line */
	o->nbsp_line = 0;
	o->pending_space = 0;
}

static void
out_bytes(struct out *o, const char *p, size_t n)
{
	if (n == 0)
		return;
	if (o->pending_space && o->b.len > 0 && o->newlines == 0)
		(void)buf_appendc(&o->b, ' ');
	o->pending_space = 0;
	if (buf_append(&o->b, p, n) == 0)
		o->newlines = 0;
	o->nbsp_line = 0;
}

static void
out_space(struct out *o)
{
	o->pending_space = 1;
}

static size_t
utf8_encode(uint32_t cp, char out[4])
{
	if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		cp = 0xfffd;
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Named entities mail clients actually produce, with the Latin-2 letters. */
static const struct entity {
	const char *name;
	uint32_t cp;
} entities[] = {
	{ "nbsp", 0xa0 }, { "amp", '&' }, { "lt", '<' }, { "gt", '>' },
	{ "quot", '"' }, { "apos", '\'' }, { "shy", 0xad },
	{ "scaron", 0x161 }, { "Scaron", 0x160 }, { "ccaron", 0x10d },
	{ "Ccaron", 0x10c }, { "cacute", 0x107 }, { "Cacute", 0x106 },
	{ "zcaron", 0x17e }, { "Zcaron", 0x17d }, { "dstrok", 0x111 },
	{ "Dstrok", 0x110 }, { "eacute", 0xe9 }, { "Eacute", 0xc9 },
	{ "aacute", 0xe1 }, { "iacute", 0xed }, { "oacute", 0xf3 },
	{ "uacute", 0xfa }, { "auml", 0xe4 }, { "ouml", 0xf6 }, { "uuml", 0xfc },
	{ "Auml", 0xc4 }, { "Ouml", 0xd6 }, { "Uuml", 0xdc }, { "szlig", 0xdf },
	{ "copy", 0xa9 }, { "reg", 0xae }, { "trade", 0x2122 }, { "deg", 0xb0 },
	{ "euro", 0x20ac }, { "ndash", 0x2013 }, { "mdash", 0x2014 },
	{ "hellip", 0x2026 }, { "laquo", 0xab }, { "raquo", 0xbb },
	{ "bdquo", 0x201e }, { "ldquo", 0x201c }, { "rdquo", 0x201d },
	{ "lsquo", 0x2018 }, { "rsquo", 0x2019 }, { "sbquo", 0x201a },
	{ "middot", 0xb7 }, { "bull", 0x2022 }, { "sect", 0xa7 },
	{ "times", 0xd7 }, { "zwnj", 0x200c }, { "zwj", 0x200d },
	{ "ensp", 0x2002 }, { "emsp", 0x2003 }, { "thinsp", 0x2009 },
	{ "iexcl", 0xa1 }, { "iquest", 0xbf }, { "frac12", 0xbd },
};

/* HTML5 maps numeric references 0x80-0x9f through windows-1252. */
static const uint16_t cp1252_c1[32] = {
	0x20ac, 0xfffd, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0xfffd, 0x017d, 0xfffd,
	0xfffd, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0xfffd, 0x017e, 0x0178,
};

/*
 * Decode an entity at s[0] == '&'.  Returns the bytes consumed (0 when it
 * is not an entity: the '&' is then literal) and the code point in *cp.
 */
static size_t
entity_decode(const char *s, size_t len, uint32_t *cp)
{
	size_t i = 1, start;
	uint32_t v = 0;
	int digits = 0;

	if (len < 3)
		return 0;
	if (s[1] == '#') {
		i = 2;
		if (i < len && (s[i] == 'x' || s[i] == 'X')) {
			for (i++; i < len && i < 16; i++) {
				char c = s[i];
				int d;
				if (c >= '0' && c <= '9')
					d = c - '0';
				else if (c >= 'a' && c <= 'f')
					d = c - 'a' + 10;
				else if (c >= 'A' && c <= 'F')
					d = c - 'A' + 10;
				else
					break;
				if (v < 0x110000)
					v = v * 16 + (uint32_t)d;
				digits++;
			}
		} else {
			for (; i < len && i < 16 && s[i] >= '0' && s[i] <= '9'; i++) {
				if (v < 0x110000)
					v = v * 10 + (uint32_t)(s[i] - '0');
				digits++;
			}
		}
		if (digits == 0)
			return 0;
		if (i < len && s[i] == ';')
			i++;
		if (v >= 0x80 && v <= 0x9f)
			v = cp1252_c1[v - 0x80];
		if (v == 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
			v = 0xfffd;
		*cp = v;
		return i;
	}
	start = 1;
	for (i = start; i < len && i < start + 10; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9')))
			break;
	}
	if (i >= len || s[i] != ';' || i == start)
		return 0;
	for (size_t k = 0; k < sizeof(entities) / sizeof(entities[0]); k++) {
		if (strlen(entities[k].name) == i - start &&
		    memcmp(entities[k].name, s + start, i - start) == 0) {
			*cp = entities[k].cp;
			return i + 1;
		}
	}
	/* case-insensitive second chance for the common ASCII ones (&AMP;) */
	for (size_t k = 0; k < 7; k++) {
		if (strlen(entities[k].name) == i - start &&
		    strncasecmp(entities[k].name, s + start, i - start) == 0) {
			*cp = entities[k].cp;
			return i + 1;
		}
	}
	return 0;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* Find needle (ASCII, lower case) in s[from..len) ignoring case; len if none. */
static size_t
find_ci(const char *s, size_t len, size_t from, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = from; i + n <= len; i++)
		if (strncasecmp(s + i, needle, n) == 0)
			return i;
	return len;
}

/* Skip a tag starting at s[i] == '<' (attributes may quote '>'); returns the index after '>'. */
static size_t
skip_tag(const char *s, size_t len, size_t i)
{
	char quote = 0;

	for (i++; i < len; i++) {
		char c = s[i];
		if (quote) {
			if (c == quote)
				quote = 0;
		} else if (c == '"' || c == '\'') {
			quote = c;
		} else if (c == '>') {
			return i + 1;
		}
	}
	return len;
}

static int
tag_is(const char *name, size_t n, const char *const *list)
{
	for (; *list; list++)
		if (strlen(*list) == n && strncasecmp(*list, name, n) == 0)
			return 1;
	return 0;
}

static const char *const block_tags[] = {
	"p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
	"ul", "ol", "table", "blockquote", "hr", "pre", "address", "section",
	"article", "header", "footer", "dd", "dt", "dl", "title", "center",
	"form", "fieldset", "tbody", "thead", "tfoot", "caption", "body", NULL
};
static const char *const cell_tags[] = { "td", "th", NULL };

char *
mime_html_to_text(const char *html, size_t len)
{
	struct out o;
	size_t i = 0;

	memset(&o, 0, sizeof(o));
	buf_init(&o.b, len + 16);
	if (html == NULL)
		len = 0;
	while (i < len) {
		char c = html[i];

		if (c == '<') {
			size_t j = i + 1, name_start, name_len;
			int closing = 0;

			if (len - i >= 4 && memcmp(html + i, "<!--", 4) == 0) {
				size_t e = find_ci(html, len, i + 4, "-->");
				i = e < len ? e + 3 : len;
				continue;
			}
			if (j < len && (html[j] == '!' || html[j] == '?')) {
				i = skip_tag(html, len, i);
				continue;
			}
			if (j < len && html[j] == '/') {
				closing = 1;
				j++;
			}
			/* a tag name starts with a letter (so "I <3 you" stays text);
			 * Word and Outlook write prefixed names: <o:p>, <st1:place> */
			name_start = j;
			if (j < len && ((html[j] >= 'a' && html[j] <= 'z') ||
			    (html[j] >= 'A' && html[j] <= 'Z')))
				while (j < len && ((html[j] >= 'a' && html[j] <= 'z') ||
				    (html[j] >= 'A' && html[j] <= 'Z') ||
				    (html[j] >= '0' && html[j] <= '9') || html[j] == ':' ||
				    html[j] == '-' || html[j] == '_' || html[j] == '.'))
					j++;
			name_len = j - name_start;
			if (name_len == 0 || !(j == len || is_space(html[j]) ||
			    html[j] == '>' || html[j] == '/')) {
				/* not a tag: a literal '<' as in "a < b" */
				out_bytes(&o, "<", 1);
				i++;
				continue;
			}
			const char *name = html + name_start;
			i = skip_tag(html, len, i);
			if (!closing && (tag_is(name, name_len,
			    (const char *const[]){ "script", "style", "head", NULL }))) {
				/* drop everything up to the closing tag; a head without
				 * one ends at <body> so the text is not lost */
				char end[16];
				size_t e;
				snprintf(end, sizeof(end), "</%.*s", (int)name_len, name);
				e = find_ci(html, len, i, end);
				if (name_len == 4 && strncasecmp(name, "head", 4) == 0) {
					size_t b = find_ci(html, len, i, "<body");
					if (b < e)
						e = b;
				}
				i = e < len ? (html[e + 1] == '/' ? skip_tag(html, len, e) : e) : len;
				continue;
			}
			if (name_len == 2 && strncasecmp(name, "br", 2) == 0)
				out_newline(&o);
			else if (tag_is(name, name_len, block_tags))
				out_block(&o);
			else if (tag_is(name, name_len, cell_tags))
				out_space(&o);
			continue;
		}
		if (c == '&') {
			uint32_t cp = 0;
			size_t n = entity_decode(html + i, len - i, &cp);
			if (n > 0) {
				char u[4];
				i += n;
				if (cp == 0xa0 || cp == 0x2002 || cp == 0x2003 ||
				    cp == 0x2009 || cp == '\t' || cp == '\n' || cp == '\r') {
					out_space(&o);
					if (cp == 0xa0 && o.newlines > 0)
						o.nbsp_line = 1;
				}
				else if (cp == 0xad || cp == 0x200c || cp == 0x200d ||
				    cp < 0x20 || cp == 0x7f)
					;       /* invisible */
				else
					out_bytes(&o, u, utf8_encode(cp, u));
				continue;
			}
			out_bytes(&o, "&", 1);
			i++;
			continue;
		}
		if (is_space(c)) {
			out_space(&o);
			i++;
			continue;
		}
		if (c == '\0') {
			i++;
			continue;
		}
		/* a run of ordinary bytes */
		size_t j = i + 1;
		while (j < len && html[j] != '<' && html[j] != '&' && html[j] != '\0' &&
		    !is_space(html[j]))
			j++;
		out_bytes(&o, html + i, j - i);
		i = j;
	}
	while (o.b.len > 0 && (o.b.data[o.b.len - 1] == '\n' || o.b.data[o.b.len - 1] == ' '))
		o.b.data[--o.b.len] = '\0';
	return buf_steal(&o.b, NULL);
}
