/*
 * mail_compose.c - outgoing RFC 5322 / MIME messages for s48's replies and
 * department notifications.
 *
 * Everything that comes from a citizen (subject, file names) is cleaned
 * before it gets near a header: control characters go, invalid UTF-8
 * becomes '?', non-ASCII text is RFC 2047 / RFC 2231 encoded.  Addresses
 * and Message-IDs are not cleaned but checked against an allowlist, and
 * the message is refused when one fails: a reply to the wrong place is
 * worse than no reply.  Output is 7-bit with CRLF line ends and header
 * lines folded at 78 columns (a single Message-ID may be longer).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail_compose.h"
#include "util.h"

#define LINE_MAX_COLS   78      /* RFC 5322 2.1.1 SHOULD */
#define QP_MAX_COLS     76      /* RFC 2045 6.7 (5) */
#define ENCODED_WORD_MAX 75     /* RFC 2047 2 */
#define B64_LINE        76
#define MAX_REFERENCES  20
#define MAX_FILENAME    200     /* octets, after cleaning */

/* Writer: every append goes through here; the first failure sticks. */
struct w {
	struct buf *b;
	int full;
};

static void
put(struct w *w, const void *p, size_t n)
{
	if (!w->full && buf_append(w->b, p, n) < 0)
		w->full = 1;
}

static void
puts_(struct w *w, const char *s)
{
	put(w, s, strlen(s));
}

/* ---------------------------------------------------------------- checks */

static int
is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* dot-atom-text: atext runs separated by single dots */
static int
dot_atom_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (s[i + 1] == '.')
				return 0;
		} else if (!is_atext(c))
			return 0;
	}
	return 1;
}

/* LDH labels separated by dots; no empty label, none starts or ends with '-' */
static int
domain_ok(const char *s, size_t n)
{
	size_t i, lab = 0;

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i <= n; i++) {
		unsigned char c = i < n ? (unsigned char)s[i] : '.';
		if (c == '.') {
			if (lab == 0 || lab > 63 || s[i - 1] == '-')
				return 0;
			lab = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-') {
			if (lab == 0 && c == '-')
				return 0;
			lab++;
		} else
			return 0;
	}
	return 1;
}

int
mail_addr_ok(const char *s)
{
	const char *at;
	size_t n;

	if (s == NULL)
		return 0;
	n = strlen(s);
	at = strrchr(s, '@');
	if (n > 254 || at == NULL || at == s || (size_t)(at - s) > 64)
		return 0;
	return dot_atom_ok(s, (size_t)(at - s)) && domain_ok(at + 1, strlen(at + 1));
}

int
mail_msgid_ok(const char *s)
{
	const char *at;
	size_t n;

	if (s == NULL)
		return 0;
	n = strlen(s);
	at = strchr(s, '@');
	if (n > 250 || at == NULL || at == s || strchr(at + 1, '@') != NULL)
		return 0;
	/* '@' is not atext, so the two halves are checked separately */
	return dot_atom_ok(s, (size_t)(at - s)) && dot_atom_ok(at + 1, strlen(at + 1));
}

/*
 * Split "Name <addr>" or "addr" (surrounding blanks allowed).  *name_r is
 * a new string (possibly empty, quotes removed), *addr_r a new lower-cased
 * string that passed mail_addr_ok().  Returns 0 or -1.
 */
static int
split_address(const char *s, char **name_r, char **addr_r)
{
	const char *lt, *gt, *a, *e;
	char *addr, *name;
	size_t nl;

	*name_r = *addr_r = NULL;
	if (s == NULL)
		return -1;
	lt = strrchr(s, '<');
	if (lt != NULL) {
		gt = strchr(lt, '>');
		if (gt == NULL)
			return -1;
		for (e = gt + 1; *e == ' ' || *e == '\t'; e++)
			;
		if (*e != '\0')
			return -1;
		addr = xstrndup(lt + 1, (size_t)(gt - lt - 1));
		a = s;
		while (*a == ' ' || *a == '\t')
			a++;
		nl = (size_t)(lt - a);
		while (nl > 0 && (a[nl - 1] == ' ' || a[nl - 1] == '\t'))
			nl--;
		if (nl >= 2 && a[0] == '"' && a[nl - 1] == '"') {
			/* quoted-string: drop the quotes and the backslash escapes */
			size_t i, o = 0;
			name = xmalloc(nl);
			for (i = 1; i + 1 < nl; i++) {
				if (a[i] == '\\' && i + 2 < nl)
					i++;
				name[o++] = a[i];
			}
			name[o] = '\0';
		} else
			name = xstrndup(a, nl);
	} else {
		a = s;
		while (*a == ' ' || *a == '\t')
			a++;
		nl = strlen(a);
		while (nl > 0 && (a[nl - 1] == ' ' || a[nl - 1] == '\t'))
			nl--;
		addr = xstrndup(a, nl);
		name = xstrdup("");
	}
	if (!mail_addr_ok(addr)) {
		free(addr);
		free(name);
		return -1;
	}
	*name_r = name;
	*addr_r = util_lower_ascii(addr);
	return 0;
}

char *
mail_addr_extract(const char *s)
{
	char *name, *addr;

	if (split_address(s, &name, &addr) < 0)
		return NULL;
	free(name);
	return addr;
}

/* ------------------------------------------------------------ cleaning */

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	/* C1 controls are as unwelcome in a header as C0 ones */
	if (cp >= 0x80 && cp <= 0x9f)
		return 0;
	return len;
}

/*
 * Header-safe copy of s: C0 controls and DEL dropped (CR, LF, TAB become a
 * space), invalid UTF-8 and C1 controls become '?', runs of blanks folded
 * to one space, trimmed.  At most max octets (cut at a character end).
 */
static char *
clean_text(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	size_t n = strlen((const char *)p), i = 0, o = 0, l;
	char *out = xmalloc(n + 1);

	while (i < n) {
		unsigned char c = p[i];
		if (c == '\t' || c == '\r' || c == '\n' || c == ' ') {
			if (o > 0 && out[o - 1] != ' ' && o < max)
				out[o++] = ' ';
			i++;
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			i++;
			continue;
		}
		l = utf8_seq(p + i, n - i);
		if (l == 0) {
			if (o + 1 > max)
				break;
			out[o++] = '?';
			i++;
			continue;
		}
		if (o + l > max)
			break;
		memcpy(out + o, p + i, l);
		o += l;
		i += l;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return out;
}

/* --------------------------------------------------------------- base64 */

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* base64 of n (<= 3) bytes into out[4] */
static void
b64_quad(const unsigned char *p, size_t n, char out[4])
{
	unsigned v = (unsigned)p[0] << 16;

	if (n > 1)
		v |= (unsigned)p[1] << 8;
	if (n > 2)
		v |= p[2];
	out[0] = b64chars[(v >> 18) & 63];
	out[1] = b64chars[(v >> 12) & 63];
	out[2] = n > 1 ? b64chars[(v >> 6) & 63] : '=';
	out[3] = n > 2 ? b64chars[v & 63] : '=';
}

static void
put_b64(struct w *w, const unsigned char *p, size_t n)
{
	char q[4];

	while (n > 0) {
		size_t k = n < 3 ? n : 3;
		b64_quad(p, k, q);
		put(w, q, 4);
		p += k;
		n -= k;
	}
}

/* base64 body: lines of B64_LINE characters, CRLF after each */
static void
put_b64_body(struct w *w, const unsigned char *p, size_t n)
{
	const size_t per_line = B64_LINE / 4 * 3;

	while (n > 0) {
		size_t k = n < per_line ? n : per_line;
		put_b64(w, p, k);
		puts_(w, "\r\n");
		p += k;
		n -= k;
	}
}

/* ------------------------------------------------------------- headers */

/* may a byte stand for itself in a Q encoded word?  (RFC 2047 5 (3), the
 * strictest context, so the same words serve display names too) */
static int
q_literal(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
}

/*
 * RFC 2047 Q-encoded words for s, starting at column *col; sep: a blank
 * must come first (it is written here, or the fold that replaces it).
 * Folds (CRLF SPACE) so no line passes LINE_MAX_COLS and never splits a
 * UTF-8 sequence.  The blanks between adjacent encoded words are not part
 * of the decoded text, so s may be cut anywhere between characters.
 * Q rather than B: some decoders (GMime among them) join adjacent B words
 * before decoding and stop at the first word's '=' padding.
 */
static void
put_encoded_words(struct w *w, const char *s, size_t *col, int sep)
{
	static const size_t overhead = 12;      /* "=?UTF-8?Q?" "?=" */
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	char esc[4];

	while (n > 0) {
		size_t room, used = 0, k = 0, l, j;

		/* room for at least one 4-byte character (12 columns)? */
		if (*col + (sep ? 1 : 0) + overhead + 12 > LINE_MAX_COLS && *col > 1) {
			puts_(w, "\r\n ");
			*col = 1;
		} else if (sep) {
			puts_(w, " ");
			(*col)++;
		}
		room = LINE_MAX_COLS > *col + overhead ? LINE_MAX_COLS - *col - overhead : 12;
		if (room > ENCODED_WORD_MAX - overhead)
			room = ENCODED_WORD_MAX - overhead;
		puts_(w, "=?UTF-8?Q?");
		while (k < n) {
			size_t cost = 0;
			l = utf8_seq(p + k, n - k);
			if (l == 0)
				l = 1;  /* cleaned input never gets here */
			for (j = 0; j < l; j++)
				cost += (q_literal(p[k + j]) || p[k + j] == ' ') ? 1 : 3;
			if (k > 0 && used + cost > room)
				break;
			for (j = 0; j < l; j++) {
				unsigned char c = p[k + j];
				if (c == ' ')
					puts_(w, "_");
				else if (q_literal(c))
					put(w, &c, 1);
				else {
					snprintf(esc, sizeof(esc), "=%02X", c);
					put(w, esc, 3);
				}
			}
			used += cost;
			k += l;
		}
		puts_(w, "?=");
		*col += overhead + used;
		p += k;
		n -= k;
		sep = 1;
	}
}

/*
 * Words of plain ASCII, folded before a space when the line would pass
 * LINE_MAX_COLS.  s has single spaces between words (clean_text).
 */
static void
put_plain_words(struct w *w, const char *s, size_t n, size_t *col)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i, sp = 0;
		while (j < n && s[j] == ' ') {
			j++;
			sp++;
		}
		i = j;
		while (j < n && s[j] != ' ')
			j++;
		if (sp > 0 && *col + sp + (j - i) > LINE_MAX_COLS && *col > 1) {
			puts_(w, "\r\n");
			*col = 0;
		}
		put(w, s + i - sp, sp + (j - i));
		*col += sp + (j - i);
		i = j;
	}
}

/* does this word have to be encoded? */
static int
word_needs_encoding(const char *s, size_t n)
{
	size_t i;

	if (n > LINE_MAX_COLS - 10)
		return 1;
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] >= 0x80)
			return 1;
		/* plain text that looks like an encoded word would be decoded */
		if (s[i] == '=' && i + 1 < n && s[i + 1] == '?')
			return 1;
	}
	return 0;
}

/*
 * Unstructured header text (already clean_text'ed): leading words that
 * can stay plain do, everything from the first word that cannot is
 * encoded (so "Re: [S48 #12]" stays readable in raw form).
 */
static void
put_unstructured(struct w *w, const char *s, size_t *col)
{
	size_t n = strlen(s), i = 0, plain_end = 0;

	while (i < n) {
		size_t j = i;
		while (j < n && s[j] != ' ')
			j++;
		if (word_needs_encoding(s + i, j - i))
			break;
		plain_end = j;
		i = j < n ? j + 1 : j;
	}
	put_plain_words(w, s, plain_end, col);
	if (plain_end < n) {
		put_encoded_words(w, s + (plain_end > 0 ? plain_end + 1 : 0), col, plain_end > 0);
	}
}

/* display-name: atoms as they are, other ASCII quoted, 8-bit encoded */
static void
put_display_name(struct w *w, const char *name, size_t *col)
{
	const char *p;
	int atoms = 1;
	size_t quoted = 2;

	for (p = name; *p; p++) {
		if (*p != ' ' && !is_atext((unsigned char)*p))
			atoms = 0;
		quoted += (*p == '"' || *p == '\\') ? 2 : 1;
	}
	if (util_has_8bit(name) || strstr(name, "=?") != NULL ||
	    *col + quoted > LINE_MAX_COLS) {
		put_encoded_words(w, name, col, 0);
		return;
	}
	if (atoms) {
		puts_(w, name);
		*col += strlen(name);
		return;
	}
	puts_(w, "\"");
	for (p = name; *p; p++) {
		if (*p == '"' || *p == '\\') {
			puts_(w, "\\");
			(*col)++;
		}
		put(w, p, 1);
		(*col)++;
	}
	puts_(w, "\"");
	*col += 2;
}

/* "Field: Name <addr>" or "Field: addr" */
static void
put_address_header(struct w *w, const char *field, const char *name, const char *addr)
{
	size_t col = strlen(field) + 2;
	char *clean = clean_text(name, 200);

	puts_(w, field);
	puts_(w, ": ");
	if (clean[0] != '\0') {
		put_display_name(w, clean, &col);
		if (col + 3 + strlen(addr) > LINE_MAX_COLS) {
			puts_(w, "\r\n");
			col = 0;
		}
		puts_(w, " <");
		puts_(w, addr);
		puts_(w, ">");
	} else
		puts_(w, addr);
	puts_(w, "\r\n");
	free(clean);
}

static void
put_date(struct w *w, time_t t)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	char line[64];

	if (gmtime_r(&t, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11) {
		t = 0;
		gmtime_r(&t, &tm);
	}
	snprintf(line, sizeof(line), "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
	puts_(w, line);
}

/*
 * The next msg-id of a References list: ids separated by blanks, commas or
 * line breaks, each bare or in <>.  Returns 1 with the id (without <>) in
 * *id_r / *len_r, 0 at the end, -1 for an id that fails mail_msgid_ok().
 */
static int
next_ref(const char **pp, const char **id_r, size_t *len_r)
{
	const char *p = *pp, *e;
	char *tmp;
	int ok;

	while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\r' || *p == '\n')
		p++;
	if (*p == '\0') {
		*pp = p;
		return 0;
	}
	if (*p == '<') {
		e = strchr(p + 1, '>');
		if (e == NULL)
			return -1;
		*id_r = p + 1;
		*len_r = (size_t)(e - p - 1);
		*pp = e + 1;
	} else {
		*id_r = p;
		*len_r = strcspn(p, " \t,\r\n<");
		*pp = p + *len_r;
	}
	tmp = xstrndup(*id_r, *len_r);
	ok = mail_msgid_ok(tmp);
	free(tmp);
	return ok ? 1 : -1;
}

/* "References:" with one id per line; invalid ids refuse the message. */
static int
put_references(struct w *w, const char *refs, const char **error_r)
{
	const char *ids[MAX_REFERENCES], *p = refs, *id;
	size_t lens[MAX_REFERENCES], n = 0, i, l;
	int r;

	/* validate every id, keep the first (the thread's root) and the newest */
	while ((r = next_ref(&p, &id, &l)) != 0) {
		if (r < 0) {
			*error_r = "invalid References id";
			return -1;
		}
		if (n < MAX_REFERENCES) {
			ids[n] = id;
			lens[n++] = l;
		} else {
			memmove(ids + 1, ids + 2, (MAX_REFERENCES - 2) * sizeof(ids[0]));
			memmove(lens + 1, lens + 2, (MAX_REFERENCES - 2) * sizeof(lens[0]));
			ids[MAX_REFERENCES - 1] = id;
			lens[MAX_REFERENCES - 1] = l;
		}
	}
	if (n == 0)
		return 0;
	puts_(w, "References:");
	for (i = 0; i < n; i++) {
		puts_(w, i == 0 ? " <" : "\r\n <");
		put(w, ids[i], lens[i]);
		puts_(w, ">");
	}
	puts_(w, "\r\n");
	return 0;
}

/* id without one pair of surrounding <>, if it is a valid msg-id; else NULL */
static char *
unwrap_id(const char *id)
{
	size_t n;
	char *s;

	if (id == NULL)
		return NULL;
	n = strlen(id);
	if (n >= 2 && id[0] == '<' && id[n - 1] == '>')
		s = xstrndup(id + 1, n - 2);
	else
		s = xstrdup(id);
	if (!mail_msgid_ok(s)) {
		free(s);
		return NULL;
	}
	return s;
}

/* ------------------------------------------------------------------ body */

/* quoted-printable, CRLF line ends whatever the input used */
static void
put_qp_body(struct w *w, const char *body)
{
	const unsigned char *p = (const unsigned char *)body;
	size_t col = 0;
	char esc[4];

	while (*p) {
		unsigned char c = *p;
		int eol_next, literal;

		if (c == '\r' || c == '\n') {
			puts_(w, "\r\n");
			col = 0;
			p += (c == '\r' && p[1] == '\n') ? 2 : 1;
			continue;
		}
		eol_next = p[1] == '\0' || p[1] == '\r' || p[1] == '\n';
		literal = (c >= 33 && c <= 126 && c != '=') ||
		    ((c == ' ' || c == '\t') && !eol_next);
		/* a line starting with "." or "From " survives any relay */
		if (col == 0 && (c == '.' || (c == 'F' && strncmp((const char *)p, "From ", 5) == 0)))
			literal = 0;
		/* the last character of a line may use column 76, others leave room for '=' */
		if (col + (literal ? 1 : 3) > (eol_next ? QP_MAX_COLS : QP_MAX_COLS - 1)) {
			puts_(w, "=\r\n");
			col = 0;
			if (c == '.' || (c == 'F' && strncmp((const char *)p, "From ", 5) == 0))
				literal = 0;
		}
		if (literal) {
			put(w, p, 1);
			col++;
		} else {
			snprintf(esc, sizeof(esc), "=%02X", c);
			put(w, esc, 3);
			col += 3;
		}
		p++;
	}
	if (col > 0)
		puts_(w, "\r\n");
}

/* -------------------------------------------------------- attachments */

/* "type/subtype" lower-cased if well-formed, else application/octet-stream */
static char *
clean_content_type(const char *ct)
{
	static const char tspecial_ok[] = "!#$&^_.+-";
	size_t n, i, slash = 0;
	char *out;

	if (ct == NULL)
		return xstrdup("application/octet-stream");
	n = strcspn(ct, ";");
	while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	while (n > 0 && (*ct == ' ' || *ct == '\t')) {
		ct++;
		n--;
	}
	/* RFC 6838 allows 127 + 1 + 127; real ones fit a folded line (docx is 71) */
	if (n == 0 || n > LINE_MAX_COLS - 2)
		return xstrdup("application/octet-stream");
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)ct[i];
		if (c == '/') {
			if (slash != 0 || i == 0 || i == n - 1)
				return xstrdup("application/octet-stream");
			slash = i;
		} else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr(tspecial_ok, c) != NULL))
			return xstrdup("application/octet-stream");
	}
	if (slash == 0)
		return xstrdup("application/octet-stream");
	out = xstrndup(ct, n);
	return util_lower_ascii(out);
}

/* file name without controls or path separators, never empty */
static char *
clean_filename(const char *name)
{
	char *s = clean_text(name, MAX_FILENAME), *p;

	for (p = s; *p; p++)
		if (*p == '/' || *p == '\\')
			*p = '_';
	p = s;
	while (*p == '.' || *p == ' ')
		p++;
	if (*p == '\0') {
		free(s);
		return xstrdup("attachment");
	}
	memmove(s, p, strlen(p) + 1);
	return s;
}

static int
filename_simple(const char *s)
{
	/* many readers decode RFC 2047 words even inside a quoted filename */
	if (strlen(s) > 60 || strstr(s, "=?") != NULL)
		return 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == ';')
			return 0;
	}
	return 1;
}

static int
attr_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$&+-.^_`|~", c) != NULL);
}

/*
 * RFC 2231 filename*=UTF-8''... split in numbered sections (filename*0*=,
 * filename*1*= ...) of whole characters so each line stays short.
 */
static void
put_filename_2231(struct w *w, const char *name)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t n = strlen(name), i = 0, section = 0, budget = 56;
	char hdr[40], esc[4];
	int multi;

	/* encoded length decides whether sections are needed */
	{
		size_t enc = 0, k;
		for (k = 0; k < n; k++)
			enc += attr_char(p[k]) ? 1 : 3;
		multi = enc > budget;
	}
	while (i < n || section == 0) {
		size_t used = 0;
		if (multi)
			snprintf(hdr, sizeof(hdr), ";\r\n filename*%zu*=%s", section,
			    section == 0 ? "UTF-8''" : "");
		else
			snprintf(hdr, sizeof(hdr), ";\r\n filename*=UTF-8''");
		puts_(w, hdr);
		while (i < n) {
			size_t l = utf8_seq(p + i, n - i), k, cost = 0;
			if (l == 0)
				l = 1;
			for (k = 0; k < l; k++)
				cost += attr_char(p[i + k]) ? 1 : 3;
			if (used > 0 && used + cost > budget)
				break;
			for (k = 0; k < l; k++) {
				if (attr_char(p[i + k]))
					put(w, p + i + k, 1);
				else {
					snprintf(esc, sizeof(esc), "%%%02X", p[i + k]);
					put(w, esc, 3);
				}
			}
			used += cost;
			i += l;
		}
		section++;
	}
}

static void
put_attachment(struct w *w, const char *boundary, const struct mail_attachment *a)
{
	char *ct = clean_content_type(a->content_type);
	char *fn = clean_filename(a->filename);
	int simple = filename_simple(fn);

	/* the CRLF before a delimiter belongs to it, not to the part */
	puts_(w, "\r\n--");
	puts_(w, boundary);
	/* a long type goes on a line of its own */
	puts_(w, strlen(ct) + 15 > LINE_MAX_COLS ? "\r\nContent-Type:\r\n " : "\r\nContent-Type: ");
	puts_(w, ct);
	if (simple) {
		puts_(w, ";\r\n name=\"");
		puts_(w, fn);
		puts_(w, "\"");
	}
	puts_(w, "\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment");
	if (simple) {
		puts_(w, ";\r\n filename=\"");
		puts_(w, fn);
		puts_(w, "\"");
	} else
		put_filename_2231(w, fn);
	puts_(w, "\r\n\r\n");
	if (a->size > 0 && a->data != NULL)
		put_b64_body(w, a->data, a->size);
	free(ct);
	free(fn);
}

/* ------------------------------------------------------------- compose */

int
mail_compose(const struct mail_out *m, struct buf *out, const char **error_r)
{
	struct w w = { out, 0 };
	char *from_name = NULL, *from_addr = NULL, *to_name = NULL, *to_addr = NULL;
	char *subject = NULL, boundary[64], hex[65], *seed = NULL, *msgid = NULL, *irt = NULL;
	size_t col, i;
	int ret = -1;

	if (split_address(m->from, &from_name, &from_addr) < 0) {
		*error_r = "invalid From address";
		goto fail;
	}
	if (split_address(m->to, &to_name, &to_addr) < 0) {
		*error_r = "invalid To address";
		goto fail;
	}
	if ((msgid = unwrap_id(m->message_id)) == NULL) {
		*error_r = "invalid Message-ID";
		goto fail;
	}
	if (m->in_reply_to != NULL && m->in_reply_to[0] != '\0' &&
	    (irt = unwrap_id(m->in_reply_to)) == NULL) {
		*error_r = "invalid In-Reply-To id";
		goto fail;
	}
	for (i = 0; i < m->n_att; i++) {
		if (m->att[i].data == NULL && m->att[i].size > 0) {
			*error_r = "attachment without data";
			goto fail;
		}
	}

	put_date(&w, m->date);
	put_address_header(&w, "From", from_name, from_addr);
	put_address_header(&w, "To", to_name, to_addr);

	subject = clean_text(m->subject, 2000);
	puts_(&w, "Subject: ");
	col = 9;
	put_unstructured(&w, subject, &col);
	puts_(&w, "\r\n");

	puts_(&w, "Message-ID: <");
	puts_(&w, msgid);
	puts_(&w, ">\r\n");
	if (irt != NULL) {
		puts_(&w, "In-Reply-To: <");
		puts_(&w, irt);
		puts_(&w, ">\r\n");
	}
	if (m->references != NULL && put_references(&w, m->references, error_r) < 0)
		goto fail;
	puts_(&w, m->auto_replied ? "Auto-Submitted: auto-replied\r\n" :
	    "Auto-Submitted: auto-generated\r\n");
	puts_(&w, "X-S48-Loop: ");
	puts_(&w, from_addr);
	puts_(&w, "\r\nMIME-Version: 1.0\r\n");

	if (m->n_att == 0) {
		puts_(&w, "Content-Type: text/plain; charset=UTF-8\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
		put_qp_body(&w, m->body != NULL ? m->body : "");
	} else {
		/* "=_" never occurs in quoted-printable or base64 text */
		seed = xasprintf("%s %lld", msgid, (long long)m->date);
		util_sha256_hex(seed, strlen(seed), hex);
		snprintf(boundary, sizeof(boundary), "=_s48_%.32s", hex);
		puts_(&w, "Content-Type: multipart/mixed;\r\n boundary=\"");
		puts_(&w, boundary);
		puts_(&w, "\"\r\n\r\nThis is a message in MIME format.\r\n\r\n--");
		puts_(&w, boundary);
		puts_(&w, "\r\nContent-Type: text/plain; charset=UTF-8\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
		put_qp_body(&w, m->body != NULL ? m->body : "");
		for (i = 0; i < m->n_att; i++)
			put_attachment(&w, boundary, &m->att[i]);
		puts_(&w, "\r\n--");
		puts_(&w, boundary);
		puts_(&w, "--\r\n");
	}
	if (w.full) {
		*error_r = "message too large";
		goto fail;
	}
	ret = 0;
fail:
	free(from_name);
	free(from_addr);
	free(to_name);
	free(to_addr);
	free(subject);
	free(seed);
	free(msgid);
	free(irt);
	return ret;
}
