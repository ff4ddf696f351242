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

#include "normalize.h"
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

	/* "-----Izvorna poruka-----", "---------- Прослеђена порука ---------",
	 * "Begin forwarded message:": the words between the dashes, normalised */
	static const char *const words[] = {
		"original message", "originalna poruka", "izvorna poruka",
		"prosledjena poruka", "proslijedjena poruka", "forwarded message",
		"begin forwarded message", "pocetak prosledjene poruke",
		"pocetak proslijedjene poruke", NULL
	};
	size_t a = 0, z = t.len;

	for (const char *const *s = seps; *s; s++)
		if (contains_ci(t, *s))
			return 1;
	while (a < z && t.p[a] == '-')
		a++;
	while (z > a && t.p[z - 1] == '-')
		z--;
	if ((a >= 2 && t.len - z >= 2) || (a == 0 && z == t.len && z > 0 && t.p[z - 1] == ':')) {
		char *n = t.len < 120 ? norm_text(t.p + a, z - a) : NULL;
		int hit = 0;

		for (const char *const *w = words; n != NULL && *w && !hit; w++)
			hit = strcmp(n, *w) == 0;
		free(n);
		if (hit)
			return 1;
	}
	/* Outlook's rule of underscores above its header block */
	if (t.len >= 10 && strspn(t.p, "_") >= 10)
		return 1;
	return 0;
}

static int
is_header_from(struct line t)
{
	return starts_ci(t, "Od:") || starts_ci(t, "From:") || starts_ci(t, "Од:") ||
	    starts_ci(t, "*From:*") || starts_ci(t, "*Od:*") || starts_ci(t, "Šalje:") ||
	    starts_ci(t, "šalje:");
}

static int
is_header_sent(struct line t)
{
	return starts_ci(t, "Poslato:") || starts_ci(t, "Sent:") || starts_ci(t, "Послато:") ||
	    starts_ci(t, "Datum:") || starts_ci(t, "Date:") || starts_ci(t, "Датум:") ||
	    starts_ci(t, "*Sent:*") || starts_ci(t, "*Poslato:*") || starts_ci(t, "Poslano:");
}

/* A mail app's own last line: "Sent from my iPhone", "Poslato sa mog
 * Samsung uređaja", "Get Outlook for Android"... */
static int
is_app_signature(struct line t)
{
	static const char *const pre[] = {
		"Sent from ", "Get Outlook for ", "Poslato sa ", "Poslato s ", "Poslato iz ",
		"Poslano sa ", "Poslano s ", "Послато са ", "Послато с ", "Послато из ",
		"Preuzmite Outlook", "Nabavite Outlook", NULL
	};

	static const char *const app[] = {
		"iphone", "ipad", "android", "galaxy", "samsung", "outlook", "yahoo", "huawei",
		"xiaomi", "mail", "telefon", "mobiln", "uredjaj", "smartphone", NULL
	};
	int hit = 0;
	char *n;

	if (t.len == 0 || t.len > 80)
		return 0;
	for (const char *const *p = pre; *p && !hit; p++)
		hit = starts_ci(t, *p);
	if (!hit)
		return 0;
	/* and it names a device or an app, not "Sent from work, it leaks" */
	hit = 0;
	n = norm_text(t.p, t.len);
	for (const char *const *a = app; *a && !hit; a++)
		hit = strstr(n, *a) != NULL;
	free(n);
	return hit;
}

/*
 * The first line at or after from that ends the citizen's text: a
 * signature separator, a forward/original-message separator, an
 * attribution line (*attribution_r = 1, *span_r = the lines it takes) or
 * an Outlook header block.  n when none.
 */
static size_t
text_end(const struct line *lines, size_t n, size_t from, int *attribution_r, size_t *span_r)
{
	size_t keep;

	*attribution_r = 0;
	*span_r = 1;
	for (keep = from; keep < n; keep++) {
		struct line t = trimmed(lines[keep]);
		struct line raw = lines[keep];

		if ((raw.len == 3 && memcmp(raw.p, "-- ", 3) == 0) ||
		    (raw.len == 2 && memcmp(raw.p, "--", 2) == 0))
			break;
		if (is_separator(t))
			break;
		if (is_attribution_end(t) && t.len < 300) {
			*attribution_r = 1;
			break;
		}
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
				if (next.len > 0 && is_attribution_end(j)) {
					*attribution_r = 1;
					*span_r = 2;
					break;
				}
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
	return keep;
}

/* Lines [from, to) without quoted ("> ") lines, right-trimmed, blank runs
 * collapsed, no trailing blank lines or a mail app's signature line. */
static void
collect(const struct line *lines, size_t from, size_t to, struct buf *b)
{
	size_t i, last_start = 0;

	for (i = from; i < to; i++) {
		struct line t = trimmed(lines[i]);

		if (t.len > 0 && t.p[0] == '>')
			continue;
		/* right-trim each line; blank lines collapse later */
		struct line r = lines[i];
		while (r.len > 0 && (r.p[r.len - 1] == ' ' || r.p[r.len - 1] == '\t'))
			r.len--;
		if (r.len == 0 && (b->len == 0 || (b->len >= 2 &&
		    b->data[b->len - 1] == '\n' && b->data[b->len - 2] == '\n')))
			continue;
		if (r.len > 0)
			last_start = b->len;
		(void)buf_append(b, r.p, r.len);
		(void)buf_appendc(b, '\n');
	}
	if (b->len > 0) {
		struct line last;

		last.p = b->data + last_start;
		last.len = b->len - last_start;
		while (last.len > 0 && last.p[last.len - 1] == '\n')
			last.len--;
		if (is_app_signature(trimmed(last))) {
			b->len = last_start;
			b->data[b->len] = '\0';
		}
	}
	while (b->len > 0 && (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == ' '))
		b->data[--b->len] = '\0';
}

char *
mime_strip_quotes(const char *text)
{
	struct line *lines = NULL;
	size_t n = 0, cap = 0, keep, span;
	const char *p;
	struct buf b;
	int attribution;

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
	keep = text_end(lines, n, 0, &attribution, &span);
	buf_init(&b, strlen(text) + 1);
	collect(lines, 0, keep, &b);
	if (b.len == 0 && attribution && keep + span < n) {
		/* nothing above "On ... wrote:": an answer written below the
		 * quote (its "> " lines are the quote) */
		size_t from = keep + span, end, k = from;
		int a2;

		while (k < n && trimmed(lines[k]).len == 0)
			k++;
		if (k < n && trimmed(lines[k]).p[0] == '>') {
			/* the quote is marked: what is not marked is the answer */
			end = text_end(lines, n, from, &a2, &span);
			collect(lines, from, end, &b);
		}
	}
	free(lines);
	return buf_steal(&b, NULL);
}
