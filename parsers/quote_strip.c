/*
 * quote_strip.c - remove quoted text and signatures from a reply (mime.h).
 *
 * A citizen's answer to our acknowledgement usually carries our whole mail
 * below it; only what they wrote belongs in the ticket.  Recognised, in
 * English and Serbian (Latin and Cyrillic, as Gmail, Outlook and
 * Thunderbird write them): "> " lines; an attribution line ("On ... wrote:",
 * "... je napisao/la:", "... је написао:") and everything after it; forward
 * and original-message separators; Outlook "Od: ... Poslato: ..." header
 * blocks; the "-- " signature separator.
 */
#include "mime.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

struct line {
	const char *p;
	size_t len;      /* without the line end */
};

/* The line without leading and trailing white space. */
static struct line
trimmed(struct line l)
{
	while (l.len > 0 && (*l.p == ' ' || *l.p == '\t')) {
		l.p++;
		l.len--;
	}
	while (l.len > 0 && (l.p[l.len - 1] == ' ' || l.p[l.len - 1] == '\t' ||
	    l.p[l.len - 1] == '\r'))
		l.len--;
	return l;
}

static int
starts_ci(struct line l, const char *prefix)
{
	size_t n = strlen(prefix);

	return l.len >= n && strncasecmp(l.p, prefix, n) == 0;
}

static int
ends_ci(struct line l, const char *suffix)
{
	size_t n = strlen(suffix);

	return l.len >= n && strncasecmp(l.p + l.len - n, suffix, n) == 0;
}

static int
contains_ci(struct line l, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= l.len; i++)
		if (strncasecmp(l.p + i, needle, n) == 0)
			return 1;
	return 0;
}

/* An attribution line that ends the citizen's own text. */
static int
is_attribution_end(struct line t)
{
	static const char *const ends[] = {
		"wrote:", "je napisao:", "je napisala:", "je napisao/la:",
		"napisao/la je:", "napisao je:", "napisala je:", "je pisao:",
		"je pisala:", "schrieb:",
		"је написао:", "је написала:", "је написао/ла:", "написао/ла је:",
		"написао је:", "написала је:", NULL
	};

	for (const char *const *e = ends; *e; e++)
		if (ends_ci(t, *e))
			return 1;
	return 0;
}

static int
is_separator(struct line t)
{
	static const char *const seps[] = {
		"-----Original Message-----", "Izvorna poruka -----",
		"Izvorna poruka --------", "-----Originalna poruka-----",
		"----- Originalna poruka -----", "-------- Original Message --------",
		"Forwarded message ---------", "-------- Prosleđena poruka --------",
		"Оригинална порука", "Изворна порука", NULL
	};

	for (const char *const *s = seps; *s; s++)
		if (contains_ci(t, *s))
			return 1;
	/* Outlook's rule of underscores above its header block */
	if (t.len >= 10 && strspn(t.p, "_") >= 10)
		return 1;
	return 0;
}

static int
is_header_from(struct line t)
{
	return starts_ci(t, "Od:") || starts_ci(t, "From:") || starts_ci(t, "Од:") ||
	    starts_ci(t, "*From:*") || starts_ci(t, "*Od:*");
}

static int
is_header_sent(struct line t)
{
	return starts_ci(t, "Poslato:") || starts_ci(t, "Sent:") || starts_ci(t, "Послато:") ||
	    starts_ci(t, "Datum:") || starts_ci(t, "Date:") || starts_ci(t, "Датум:") ||
	    starts_ci(t, "*Sent:*") || starts_ci(t, "*Poslato:*");
}

char *
mime_strip_quotes(const char *text)
{
	struct line *lines = NULL;
	size_t n = 0, cap = 0, keep, i;
	const char *p;
	struct buf b;

	if (text == NULL)
		return xstrdup("");
	for (p = text; *p;) {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) : strlen(p);

		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			lines = xrealloc(lines, cap * sizeof(*lines));
		}
		lines[n].p = p;
		lines[n].len = l;
		if (l > 0 && p[l - 1] == '\r')
			lines[n].len--;
		n++;
		p = e ? e + 1 : p + l;
	}

	/* find where the citizen's own text ends */
	for (keep = 0; keep < n; keep++) {
		struct line t = trimmed(lines[keep]);
		struct line raw = lines[keep];

		if ((raw.len == 3 && memcmp(raw.p, "-- ", 3) == 0) ||
		    (raw.len == 2 && memcmp(raw.p, "--", 2) == 0))
			break;
		if (is_separator(t))
			break;
		if (is_attribution_end(t) && t.len < 300)
			break;
		/* Gmail wraps a long attribution: "On ... <\naddr> wrote:" */
		if (keep + 1 < n && t.len > 0 && t.p[0] != '>' &&
		    (starts_ci(t, "On ") || starts_ci(t, "Dana ") ||
		    contains_ci(t, "@") || contains_ci(t, "<"))) {
			struct line next = trimmed(lines[keep + 1]);
			char joined[600];
			if (t.len + next.len < 300) {
				struct line j;
				memcpy(joined, t.p, t.len);
				joined[t.len] = ' ';
				memcpy(joined + t.len + 1, next.p, next.len);
				j.p = joined;
				j.len = t.len + 1 + next.len;
				if (next.len > 0 && is_attribution_end(j))
					break;
			}
		}
		/* Outlook: "Od: ..." followed within a few lines by "Poslato: ..." */
		if (is_header_from(t)) {
			size_t k;
			int found = 0;
			for (k = keep + 1; k < n && k <= keep + 4; k++)
				if (is_header_sent(trimmed(lines[k])))
					found = 1;
			if (found)
				break;
		}
	}

	buf_init(&b, strlen(text) + 1);
	for (i = 0; i < keep; i++) {
		struct line t = trimmed(lines[i]);

		if (t.len > 0 && t.p[0] == '>')
			continue;
		/* right-trim each line; blank lines collapse later */
		struct line r = lines[i];
		while (r.len > 0 && (r.p[r.len - 1] == ' ' || r.p[r.len - 1] == '\t'))
			r.len--;
		if (r.len == 0 && (b.len == 0 || (b.len >= 2 &&
		    b.data[b.len - 1] == '\n' && b.data[b.len - 2] == '\n')))
			continue;
		(void)buf_append(&b, r.p, r.len);
		(void)buf_appendc(&b, '\n');
	}
	while (b.len > 0 && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == ' '))
		b.data[--b.len] = '\0';
	free(lines);
	return buf_steal(&b, NULL);
}
