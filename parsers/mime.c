/*
 * mime.c - an email's raw bytes to struct mime_message with GMime 3 (mime.h).
 *
 * GMime does the MIME structure, RFC 2047/2231 decoding and transfer
 * encodings; this file picks what s48 needs, converts every charset to
 * UTF-8 itself (lossy, never failing: windows-1250 is the local default for
 * unlabelled 8-bit text), keeps header-bound strings free of control
 * characters and detects automatic mail (SPEC section 3).  Hostile input
 * hits a limit (depth, parts, text size, attachment bytes), never a crash.
 */
#include "mime.h"

#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>
#include <gnutls/gnutls.h>
#include <gnutls/pkcs7.h>

#include "mime_internal.h"
#include "normalize.h"
#include "util.h"

/* Thread-safe once (ingest parses on a second thread); GMime itself locks
 * its iconv and charset caches. */
void
mime_init(void)
{
	static gsize done;

	if (g_once_init_enter(&done)) {
		g_mime_init();
		g_once_init_leave(&done, 1);
	}
}

/* ---- strings ---------------------------------------------------------- */

/* Valid UTF-8 copy of s[0..len) (NULs and bad sequences become U+FFFD). */
static char *
utf8_copy(const char *s, size_t len)
{
	if (norm_utf8_valid(s, len))
		return xstrndup(s, len);
	return norm_utf8_repair(s, len);
}

/* Cut a UTF-8 string in place to at most max bytes, at a character start. */
static void
utf8_truncate(char *s, size_t *len, size_t max)
{
	size_t n = *len;

	if (n <= max)
		return;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	s[n] = '\0';
	*len = n;
}

/*
 * A header-bound string: valid UTF-8; runs of white space, C0 controls,
 * DEL, C1 controls and U+2028/U+2029 become one space; trimmed; bounded.
 * Returns NULL for NULL input, and NULL for an empty result if
 * null_if_empty.
 */
char *
mime_header_clean(const char *s, int null_if_empty)
{
	char *u, *out, *q;
	const unsigned char *p;
	int space = 0;
	size_t len;

	if (s == NULL)
		return null_if_empty ? NULL : xstrdup("");
	{
		/* the common case, already clean: printable ASCII words with
		 * single spaces between them (what the loop below keeps as is) */
		const unsigned char *c = (const unsigned char *)s;
		int ok = c[0] > ' ' && c[0] < 0x7f;
		size_t i;

		for (i = 0; ok && c[i] != '\0'; i++) {
			if (c[i] == ' ')
				ok = c[i + 1] > ' ' && c[i + 1] < 0x7f;
			else if (c[i] < ' ' || c[i] >= 0x7f)
				ok = 0;
		}
		if (ok && i <= MIME_MAX_HEADER_STR)
			return xstrndup(s, i);
	}
	u = utf8_copy(s, strlen(s));
	out = q = xmalloc(strlen(u) + 1);
	for (p = (const unsigned char *)u; *p;) {
		size_t skip = 0;
		if (*p < 0x20 || *p == 0x7f || *p == ' ')
			skip = 1;
		else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			skip = 2;
		else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
			skip = 3;
		if (skip) {
			space = 1;
			p += skip;
			continue;
		}
		if (space && q != out)
			*q++ = ' ';
		space = 0;
		*q++ = (char)*p++;
	}
	*q = '\0';
	free(u);
	len = (size_t)(q - out);
	utf8_truncate(out, &len, MIME_MAX_HEADER_STR);
	if (len == 0 && null_if_empty) {
		free(out);
		return NULL;
	}
	return out;
}

static int
is_utf8_name(const char *cs)
{
	return strcasecmp(cs, "utf-8") == 0 || strcasecmp(cs, "utf8") == 0;
}

static int
is_ascii_name(const char *cs)
{
	return strcasecmp(cs, "us-ascii") == 0 || strcasecmp(cs, "ascii") == 0 ||
	    strcasecmp(cs, "ansi_x3.4-1968") == 0 || strcasecmp(cs, "iso646-us") == 0 ||
	    strcasecmp(cs, "unknown-8bit") == 0 || strcasecmp(cs, "x-unknown") == 0 ||
	    strcasecmp(cs, "default") == 0 || cs[0] == '\0';
}

/*
 * iconv descriptors kept for reuse: opening one costs about as much as
 * parsing a short mail.  A descriptor is taken out of the pool while in use
 * (threads never share one) and reset to its initial state when taken, so
 * it converts exactly as a fresh g_mime_iconv_open() one would.
 */
#define MIME_ICONV_POOL 16
#define MIME_ICONV_NAME 40

static pthread_mutex_t iconv_pool_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char name[MIME_ICONV_NAME];
	iconv_t cd;
} iconv_pool[MIME_ICONV_POOL];
static size_t iconv_pool_n;

static iconv_t
iconv_get(const char *charset)
{
	iconv_t cd = (iconv_t)-1;

	if (strlen(charset) < MIME_ICONV_NAME) {
		pthread_mutex_lock(&iconv_pool_mu);
		for (size_t i = 0; i < iconv_pool_n; i++) {
			if (strcasecmp(iconv_pool[i].name, charset) == 0) {
				cd = iconv_pool[i].cd;
				iconv_pool[i] = iconv_pool[--iconv_pool_n];
				break;
			}
		}
		pthread_mutex_unlock(&iconv_pool_mu);
	}
	if (cd != (iconv_t)-1) {
		(void)iconv(cd, NULL, NULL, NULL, NULL);
		return cd;
	}
	return g_mime_iconv_open("UTF-8", charset);
}

static void
iconv_put(const char *charset, iconv_t cd)
{
	if (strlen(charset) < MIME_ICONV_NAME) {
		pthread_mutex_lock(&iconv_pool_mu);
		if (iconv_pool_n < MIME_ICONV_POOL) {
			strcpy(iconv_pool[iconv_pool_n].name, charset);
			iconv_pool[iconv_pool_n].cd = cd;
			iconv_pool_n++;
			cd = (iconv_t)-1;
		}
		pthread_mutex_unlock(&iconv_pool_mu);
	}
	if (cd != (iconv_t)-1)
		g_mime_iconv_close(cd);
}

/*
 * Convert in[0..inlen) from charset to UTF-8 with iconv, lossy: a byte the
 * charset does not define becomes U+FFFD.  At most max bytes of output.
 * Returns NULL when the charset is unknown to iconv.
 */
static char *
iconv_lossy(const char *in, size_t inlen, const char *charset, size_t max, size_t *outlen)
{
	iconv_t cd;
	struct buf b;
	char chunk[4096];

	cd = iconv_get(charset);
	if (cd == (iconv_t)-1)
		return NULL;
	buf_init(&b, max);
	(void)buf_append(&b, "", 0);
	char *inp = (char *)(uintptr_t)in;   /* iconv's prototype is not const */
	size_t left = inlen;
	while (left > 0) {
		char *outp = chunk;
		size_t room = sizeof(chunk);
		size_t r = iconv(cd, &inp, &left, &outp, &room);
		int err = r == (size_t)-1 ? errno : 0;

		if (buf_append(&b, chunk, sizeof(chunk) - room) < 0)
			break;
		if (err == EILSEQ || err == EINVAL) {
			if (buf_append(&b, "\xef\xbf\xbd", 3) < 0)
				break;
			inp++;
			left--;
			if (err == EINVAL)
				break;   /* incomplete sequence at the end */
		} else if (err != 0 && err != E2BIG) {
			break;
		}
	}
	/* flush a stateful encoder */
	{
		char *outp = chunk;
		size_t room = sizeof(chunk);
		(void)iconv(cd, NULL, NULL, &outp, &room);
		(void)buf_append(&b, chunk, sizeof(chunk) - room);
	}
	iconv_put(charset, cd);
	return buf_steal(&b, outlen);
}

int
mime_iconv_strict(const char *in, size_t inlen, const char *charset, char **out, size_t *outlen)
{
	iconv_t cd;
	char *o, *outp, *inp = (char *)(uintptr_t)in;
	size_t left = inlen, room, cap = inlen * 4 + 16;
	int ok;

	if (strcasecmp(charset, "x-unknown") == 0)
		return -1;
	cd = iconv_get(charset);
	if (cd == (iconv_t)-1)
		return -1;
	o = outp = xmalloc(cap + 1);
	room = cap;
	ok = iconv(cd, &inp, &left, &outp, &room) != (size_t)-1 && left == 0 &&
	    iconv(cd, NULL, NULL, &outp, &room) != (size_t)-1;
	iconv_put(charset, cd);
	if (!ok) {
		free(o);
		return -1;
	}
	*outp = '\0';
	*out = o;
	*outlen = (size_t)(outp - o);
	return 0;
}

/*
 * Bytes of a text part to valid UTF-8 (at most max bytes).  A declared
 * charset iconv knows is used; UTF-8 and unlabelled or ASCII-labelled text
 * is taken as UTF-8 when valid; unlabelled 8-bit text is windows-1250.
 */
char *
mime_text_to_utf8(const char *in, size_t inlen, const char *charset, size_t max)
{
	char *out = NULL;
	size_t outlen = 0;
	int checked = 0;

	if (charset != NULL && !is_utf8_name(charset) && !is_ascii_name(charset))
		out = iconv_lossy(in, inlen, charset, max, &outlen);
	if (out == NULL) {
		size_t n = inlen;

		if (n > max) {
			/* only what is kept: cut at a character start */
			n = max;
			while (n > 0 && ((unsigned char)in[n] & 0xc0) == 0x80)
				n--;
		}
		if (norm_utf8_valid(in, n)) {
			out = xstrndup(in, n);
			outlen = n;
			checked = 1;
		} else if (charset != NULL && is_utf8_name(charset)) {
			out = norm_utf8_repair(in, n);
			outlen = strlen(out);
		} else {
			out = iconv_lossy(in, inlen, MIME_LOCAL_CHARSET, max, &outlen);
			if (out == NULL) {
				out = norm_utf8_repair(in, n);
				outlen = strlen(out);
			}
		}
	}
	if (!checked && !norm_utf8_valid(out, outlen)) {
		char *r = norm_utf8_repair(out, outlen);
		free(out);
		out = r;
		outlen = strlen(out);
	}
	utf8_truncate(out, &outlen, max);
	return out;
}

/* CR LF and lone CR to LF, in place: stored text has one line-end form. */
void
mime_unix_newlines(char *s)
{
	char *q;

	s = strchr(s, '\r');
	if (s == NULL)
		return;
	q = s;

	for (; *s; s++) {
		if (*s == '\r') {
			*q++ = '\n';
			if (s[1] == '\n')
				s++;
		} else {
			*q++ = *s;
		}
	}
	*q = '\0';
}

/* ---- the accumulator both paths feed ---------------------------------- */

void
mime_acc_init(struct mime_acc *a, struct mime_message *m, int truncated,
    size_t max_attachment_bytes)
{
	memset(a, 0, sizeof(*a));
	a->m = m;
	a->truncated = truncated;
	a->max_att_bytes = max_attachment_bytes;
	a->last_leaf_att = -1;
	buf_init(&a->plain, MIME_MAX_TEXT);
	buf_init(&a->html, MIME_MAX_TEXT);
	buf_init(&a->fwd, MIME_MAX_TEXT);
	buf_init(&a->errors, MIME_MAX_ERROR);
	buf_init(&a->tnef_text, MIME_MAX_TEXT);
}

void
mime_acc_note(struct mime_acc *a, const char *what)
{
	if (strstr(a->errors.data ? a->errors.data : "", what) != NULL)
		return;
	if (a->errors.len > 0)
		(void)buf_appends(&a->errors, "; ");
	(void)buf_appends(&a->errors, what);
}

/* The file name kept: the sender's without path parts, or "attachment-N"
 * with the extension of its content type (mime_types.c) so that the file
 * a clerk saves opens. */
static char *
clean_filename(const char *name, size_t index, const char *ctype)
{
	const char *ext;
	const char *base;
	char *c;
	size_t len;

	if (name != NULL) {
		base = name;
		for (const char *p = name; *p; p++)
			if (*p == '/' || *p == '\\')
				base = p + 1;
		c = mime_header_clean(base, 1);
		if (c != NULL) {
			len = strlen(c);
			utf8_truncate(c, &len, MIME_MAX_FILENAME);
			if (strcmp(c, ".") != 0 && strcmp(c, "..") != 0 && len > 0)
				return c;
			free(c);
		}
	}
	ext = mime_ext_for_type(ctype);
	return xasprintf("attachment-%zu%s", index + 1, ext != NULL ? ext : "");
}

void
mime_acc_attachment(struct mime_acc *w, unsigned char *data, size_t len, const char *fname,
    const char *ctype)
{
	struct mime_message *m = w->m;
	struct mime_attachment *a;

	if (!w->in_tnef && mime_is_tnef(ctype, fname)) {
		int rc;

		/* a winmail.dat: its files instead of it, when it decodes */
		w->in_tnef = 1;
		rc = mime_tnef_decode(w, data, len);
		w->in_tnef = 0;
		if (rc == 0) {
			free(data);
			return;
		}
	}
	if (m->n_att == w->att_cap) {
		w->att_cap = w->att_cap ? w->att_cap * 2 : 4;
		m->att = xrealloc(m->att, w->att_cap * sizeof(*m->att));
	}
	a = &m->att[m->n_att];
	memset(a, 0, sizeof(*a));
	a->filename = clean_filename(fname, m->n_att, ctype);
	a->content_type = xstrdup(ctype);
	a->size = len;
	if (len <= w->max_att_bytes - w->att_bytes) {
		a->data = data;
		w->att_bytes += len;
		util_sha256_hex(data, len, a->sha256);
	} else {
		free(data);
		a->omitted = 1;
	}
	w->last_leaf_att = (long)m->n_att;
	m->n_att++;
}

void
mime_acc_skip_leaf(struct mime_acc *a)
{
	a->last_leaf_att = -1;
}

int
mime_flowed(const char *format, const char *delsp)
{
	if (format == NULL || strcasecmp(format, "flowed") != 0)
		return 0;
	return delsp != NULL && strcasecmp(delsp, "yes") == 0 ? 2 : 1;
}

/*
 * RFC 3676 format=flowed to plain lines: a line ending in a space
 * continues on the next one of the same quote depth (with delsp=yes that
 * space goes), one leading space of space-stuffing is removed, "-- " stays
 * a line of its own; quoted lines keep their '>' marks followed by one
 * space.  Works on the bytes of any ASCII-compatible charset.  Returns the
 * new length; out holds at least 2 * len + 1 bytes.
 */
static size_t
unflow(const unsigned char *in, size_t len, int delsp, unsigned char *out)
{
	size_t i = 0, o = 0;
	size_t joining = (size_t)-1;    /* depth of the flowed line being continued */

	while (i < len) {
		size_t e = i, end, depth = 0, s;
		int soft;

		while (e < len && in[e] != '\n')
			e++;
		end = e;
		if (end > i && in[end - 1] == '\r')
			end--;
		s = i;
		while (s < end && in[s] == '>') {
			depth++;
			s++;
		}
		if (s < end && in[s] == ' ')
			s++;            /* stuffing, or the space after the quote marks */
		if (joining != (size_t)-1 && joining != depth) {
			out[o++] = '\n';   /* a flowed line followed by another depth */
			joining = (size_t)-1;
		}
		if (joining == (size_t)-1 && depth > 0) {
			memset(out + o, '>', depth);
			o += depth;
			out[o++] = ' ';
		}
		soft = end > s && in[end - 1] == ' ' &&
		    !(end - s == 3 && memcmp(in + s, "-- ", 3) == 0);
		if (soft && delsp)
			end--;
		memcpy(out + o, in + s, end - s);
		o += end - s;
		if (soft) {
			joining = depth;
		} else {
			joining = (size_t)-1;
			if (e < len)
				out[o++] = '\n';
		}
		i = e < len ? e + 1 : e;
	}
	out[o] = '\0';
	return o;
}

void
mime_acc_text(struct mime_acc *w, const unsigned char *data, size_t len, const char *charset,
    int html, int flowed)
{
	struct buf *to = html ? &w->html : &w->plain;
	int *count = html ? &w->n_html : &w->n_plain;
	unsigned char *unflowed = NULL;
	char *text;
	char meta[40];

	if (flowed && !html) {
		unflowed = xmalloc(2 * len + 1);
		len = unflow(data, len, flowed == 2, unflowed);
		data = unflowed;
	}

	if (charset == NULL && html) {
		/* <meta charset="..."> or http-equiv content="...; charset=..." */
		const char *d = (const char *)data;
		size_t lim = len < 4096 ? len : 4096;
		for (size_t i = 0; i + 8 < lim; i++) {
			if (strncasecmp(d + i, "charset=", 8) == 0) {
				size_t j = i + 8, k = 0;
				if (j < lim && (d[j] == '"' || d[j] == '\''))
					j++;
				while (j < lim && k + 1 < sizeof(meta) &&
				    (g_ascii_isalnum(d[j]) || d[j] == '-' || d[j] == '_'))
					meta[k++] = d[j++];
				meta[k] = '\0';
				if (k > 0)
					charset = meta;
				break;
			}
		}
	}
	text = mime_text_to_utf8((const char *)data, len, charset, MIME_MAX_TEXT);
	free(unflowed);
	w->last_leaf_att = -1;
	if (text[strspn(text, " \t\r\n")] == '\0') {
		/* an empty plain part (some mobile clients) must not hide the HTML one */
		free(text);
		return;
	}
	if (*count > 0 && to->len > 0)
		(void)buf_appendc(to, '\n');
	if (buf_appends(to, text) < 0) {
		size_t l = strlen(text), room = to->max - to->len;
		utf8_truncate(text, &l, room);
		(void)buf_append(to, text, l);
		mime_acc_note(w, "text too long");
	}
	free(text);
	(*count)++;
}

void
mime_acc_from(struct mime_acc *w, const char *addr, const char *name)
{
	struct mime_message *m = w->m;

	m->from_addr = mime_header_clean(addr, 1);
	if (m->from_addr != NULL) {
		util_lower_ascii(m->from_addr);
		if (strchr(m->from_addr, ' ') != NULL) {
			/* not an addr-spec: unusable as a reporter address */
			xfree(&m->from_addr);
			mime_acc_note(w, "unparseable From address");
		}
	}
	m->from_name = mime_header_clean(name, 1);
}

void
mime_acc_return_path(struct mime_acc *w, const char *v)
{
	struct mime_message *m = w->m;
	char *c = mime_header_clean(v, 0);
	char *p = c;
	size_t k = 0;

	m->has_return_path = 1;
	for (; *p; p++)
		if (*p != ' ')
			c[k++] = *p;
	c[k] = '\0';
	m->empty_return_path = strcmp(c, "<>") == 0 || c[0] == '\0';
	free(c);
}

/* Nothing of the sender's own in text: empty, or only a signature ("-- ",
 * "Sent from my iPhone") or quoted lines. */
static int
forward_has_no_words(const char *text)
{
	char *own = mime_strip_quotes(text);
	int none = own[strspn(own, " \t\r\n")] == '\0';

	free(own);
	return none;
}

void
mime_acc_finish(struct mime_acc *w)
{
	struct mime_message *m = w->m;

	if (m->subject == NULL)
		m->subject = xstrdup("");

	/* the part the truncation cut off: its headers were seen, its content not */
	if (w->truncated && w->last_leaf_att >= 0) {
		struct mime_attachment *a = &m->att[w->last_leaf_att];
		if (a->data != NULL) {
			w->att_bytes -= a->size;
			xfree(&a->data);
		}
		a->omitted = 1;
		a->sha256[0] = '\0';
	}
	if (w->truncated)
		mime_acc_note(w, "message truncated");

	if (w->n_plain > 0) {
		m->text = buf_steal(&w->plain, NULL);
	} else if (w->n_html > 0) {
		m->text = mime_html_to_text(w->html.data, w->html.len);
		m->text_from_html = 1;
		if (!norm_utf8_valid(m->text, strlen(m->text))) {
			char *r = norm_utf8_repair(m->text, strlen(m->text));
			free(m->text);
			m->text = r;
		}
	} else {
		m->text = xstrdup("");
	}
	if (w->tnef_text.len > 0 && m->text[strspn(m->text, " \t\r\n")] == '\0') {
		/* Outlook's RTF mode: the text only inside the winmail.dat */
		free(m->text);
		m->text = buf_steal(&w->tnef_text, NULL);
		m->text_from_html = 0;
	}
	if (w->fwd.len > 0 && forward_has_no_words(m->text)) {
		/* a forward without a word of the sender's own: the report is
		 * the attached message's text */
		struct buf t;

		size_t own = strlen(m->text);

		while (own > 0 && strchr(" \t\r\n", m->text[own - 1]) != NULL)
			own--;
		buf_init(&t, MIME_MAX_TEXT);
		(void)buf_append(&t, m->text, own);
		if (own > 0)
			(void)buf_appends(&t, "\n\n");
		if (buf_appends(&t, w->fwd.data) < 0) {
			size_t l = w->fwd.len, room = t.max - t.len;
			utf8_truncate(w->fwd.data, &l, room);
			(void)buf_append(&t, w->fwd.data, l);
			mime_acc_note(w, "text too long");
		}
		free(m->text);
		m->text = buf_steal(&t, NULL);
	}
	mime_unix_newlines(m->text);
	{
		/* no blank lines or white space around the text */
		size_t l = strlen(m->text), lead = strspn(m->text, "\n");
		while (l > lead && (m->text[l - 1] == '\n' || m->text[l - 1] == ' ' ||
		    m->text[l - 1] == '\t'))
			l--;
		memmove(m->text, m->text + lead, l - lead);
		m->text[l - lead] = '\0';
	}
	if (w->errors.len > 0)
		m->parse_error = buf_steal(&w->errors, NULL);

	buf_free(&w->plain);
	buf_free(&w->html);
	buf_free(&w->fwd);
	buf_free(&w->errors);
	buf_free(&w->tnef_text);
}

/* Lower-cased, trimmed copy of a header value's first token (up to ';'). */
static void
header_token(const char *v, char *out, size_t outsz)
{
	size_t k = 0;

	while (*v == ' ' || *v == '\t')
		v++;
	while (*v && *v != ';' && *v != ' ' && *v != '\t' && *v != '\r' && *v != '\n' &&
	    k + 1 < outsz)
		out[k++] = (char)g_ascii_tolower(*v++);
	out[k] = '\0';
}

const char *
mime_auto_reason(mime_header_fn header, void *msg, const struct mime_message *m, int is_report)
{
	const char *v;
	char tok[64];

	if ((v = header(msg, "Auto-Submitted")) != NULL) {
		header_token(v, tok, sizeof(tok));
		if (strcmp(tok, "no") != 0) {
			if (strcmp(tok, "auto-replied") == 0)
				return "Auto-Submitted: auto-replied";
			if (strcmp(tok, "auto-generated") == 0)
				return "Auto-Submitted: auto-generated";
			if (strcmp(tok, "auto-notified") == 0)
				return "Auto-Submitted: auto-notified";
			return "Auto-Submitted";
		}
	}
	if ((v = header(msg, "Precedence")) != NULL) {
		header_token(v, tok, sizeof(tok));
		if (strcmp(tok, "bulk") == 0)
			return "Precedence: bulk";
		if (strcmp(tok, "junk") == 0)
			return "Precedence: junk";
		if (strcmp(tok, "list") == 0)
			return "Precedence: list";
	}
	if (header(msg, "List-Id") != NULL)
		return "List-Id";
	if (header(msg, "X-Autoreply") != NULL)
		return "X-Autoreply";
	if (header(msg, "X-Autorespond") != NULL)
		return "X-Autorespond";
	if (m->empty_return_path)
		return "Return-Path: <>";
	if (m->from_addr != NULL) {
		const char *at = strchr(m->from_addr, '@');
		size_t l = at ? (size_t)(at - m->from_addr) : strlen(m->from_addr);
		if ((l == 13 && strncmp(m->from_addr, "mailer-daemon", 13) == 0) ||
		    (l == 10 && strncmp(m->from_addr, "postmaster", 10) == 0))
			return "From: MAILER-DAEMON";
	}
	if (is_report)
		return "delivery-status report";
	return NULL;
}

/* ---- the GMime path ----------------------------------------------------- */

struct walk {
	struct mime_acc acc;
	GMimeParserOptions *opts;
	unsigned warned;         /* bit set of GMime warnings already noted */
	int parts;
};

static void
parser_warning(gint64 offset, GMimeParserWarning code, const gchar *item, gpointer data)
{
	struct walk *w = data;
	const char *what = NULL;

	(void)offset;
	(void)item;   /* may hold citizen data: never copied into errors */
	switch (code) {
	case GMIME_WARN_INVALID_CONTENT_TYPE: what = "invalid Content-Type"; break;
	case GMIME_WARN_MALFORMED_MULTIPART: what = "malformed multipart"; break;
	case GMIME_WARN_TRUNCATED_MESSAGE: what = "truncated message"; break;
	case GMIME_WARN_MALFORMED_MESSAGE: what = "malformed message"; break;
	case GMIME_CRIT_INVALID_HEADER_NAME: what = "invalid header name"; break;
	case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY: what = "multipart without boundary"; break;
	case GMIME_CRIT_NESTING_OVERFLOW: what = "MIME nesting too deep"; break;
	case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT: what = "part without headers or content"; break;
	case GMIME_WARN_INVALID_ADDRESS_LIST: what = "invalid address list"; break;
	case GMIME_WARN_INVALID_RFC2047_HEADER_VALUE: what = "invalid RFC 2047 header"; break;
	default: return;
	}
	if ((unsigned)code < 32) {
		if (w->warned & (1u << code))
			return;
		w->warned |= 1u << code;
	}
	mime_acc_note(&w->acc, what);
}

/* "type/subtype" lower case, no parameters; "application/octet-stream" if unknown. */
static char *
content_type_of(GMimeObject *obj)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	char *s, *r;

	if (ct == NULL)
		return xstrdup("application/octet-stream");
	s = g_mime_content_type_get_mime_type(ct);
	r = mime_header_clean(s, 1);
	g_free(s);
	if (r == NULL)
		return xstrdup("application/octet-stream");
	return util_lower_ascii(r);
}

/* Decoded (transfer encoding undone) content of a leaf part; caller frees. */
static unsigned char *
part_bytes(GMimeObject *obj, size_t *len_r)
{
	GMimeStream *st = g_mime_stream_mem_new();
	GByteArray *ba;
	unsigned char *data;

	if (GMIME_IS_PART(obj)) {
		GMimeDataWrapper *dw = g_mime_part_get_content(GMIME_PART(obj));
		if (dw != NULL)
			(void)g_mime_data_wrapper_write_to_stream(dw, st);
	} else {
		(void)g_mime_object_write_content_to_stream(obj, NULL, st);
	}
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(st));
	*len_r = ba ? ba->len : 0;
	data = xmalloc(*len_r + 1);
	if (*len_r)
		memcpy(data, ba->data, *len_r);
	data[*len_r] = '\0';
	g_object_unref(st);
	return data;
}

/*
 * The value of obj's header name decoded as mime_decode_subject() does
 * (every B encoded word on its own), when it holds an encoded word; NULL
 * otherwise or when that declines.  Caller frees.
 */
static char *
header_redecoded(GMimeObject *obj, const char *name)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
	GMimeHeader *h = hl != NULL ? g_mime_header_list_get_header(hl, name) : NULL;
	const char *raw = h != NULL ? g_mime_header_get_raw_value(h) : NULL;
	char *dec;

	if (raw == NULL || strstr(raw, "=?") == NULL ||
	    mime_decode_subject(raw, strlen(raw), &dec) < 0)
		return NULL;
	return dec;
}

/*
 * An Outlook-style encoded file name (name="=?utf-8?B?...?= =?utf-8?B?...?=")
 * as the fast path reads it: GMime decodes the header's encoded words as
 * one base64 run and loses what follows a padded word ("слика цеви.jpg"
 * became "слика"), so the parameter is read again from the value decoded
 * word by word.  disp: Content-Disposition's filename, else Content-Type's
 * name.  NULL when there is nothing to correct.  Caller frees.
 */
static char *
fname_redecoded(struct walk *w, GMimeObject *obj, int disp)
{
	char *dec = header_redecoded(obj, disp ? "Content-Disposition" : "Content-Type");
	const char *v = NULL;
	char *r = NULL;

	if (dec == NULL)
		return NULL;
	if (disp) {
		GMimeContentDisposition *cd = g_mime_content_disposition_parse(w->opts, dec);

		if (cd != NULL) {
			v = g_mime_content_disposition_get_parameter(cd, "filename");
			r = v != NULL ? xstrdup(v) : NULL;
			g_object_unref(cd);
		}
	} else {
		GMimeContentType *ct = g_mime_content_type_parse(w->opts, dec);

		if (ct != NULL) {
			v = g_mime_content_type_get_parameter(ct, "name");
			r = v != NULL ? xstrdup(v) : NULL;
			g_object_unref(ct);
		}
	}
	free(dec);
	return r;
}

static void
add_attachment(struct walk *w, GMimeObject *obj, const char *ctype)
{
	const char *fname;
	char *fixed = NULL;
	unsigned char *data;
	size_t len;

	if (g_mime_object_get_content_disposition_parameter(obj, "filename") != NULL) {
		fname = g_mime_object_get_content_disposition_parameter(obj, "filename");
		fixed = fname_redecoded(w, obj, 1);
	} else if (GMIME_IS_PART(obj)) {
		fname = g_mime_part_get_filename(GMIME_PART(obj));
		if (fname != NULL)
			fixed = fname_redecoded(w, obj, 0);
	} else {
		fname = NULL;
	}
	data = part_bytes(obj, &len);
	mime_acc_attachment(&w->acc, data, len, fixed != NULL ? fixed : fname, ctype);
	free(fixed);
}

static void
add_text(struct walk *w, GMimeObject *obj, int html)
{
	const char *charset = g_mime_object_get_content_type_parameter(obj, "charset");
	unsigned char *data;
	size_t len;

	data = part_bytes(obj, &len);
	mime_acc_text(&w->acc, data, len, charset, html,
	    mime_flowed(g_mime_object_get_content_type_parameter(obj, "format"),
	    g_mime_object_get_content_type_parameter(obj, "delsp")));
	free(data);
}

static int
ct_is(GMimeObject *obj, const char *type, const char *subtype)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);

	return ct != NULL && g_mime_content_type_is_type(ct, type, subtype);
}

static void walk_part(struct walk *w, GMimeObject *obj, int depth, int skip_text);
static InternetAddressMailbox *first_mailbox(InternetAddressList *list, int depth);
static char *subject(GMimeMessage *msg);

/*
 * The text of an attached message msg, after a separator and its sender and
 * subject, into w->acc.fwd; its attachments are not kept (the message is, as
 * one attachment).  Reply quoting (mime_strip_quotes) ends at the separator.
 */
static void
forwarded_text(struct walk *w, GMimeMessage *msg, int depth)
{
	struct mime_message *sub_m;
	struct walk sub;
	InternetAddressMailbox *mb;
	char *subj, *name = NULL, *addr = NULL;

	if (msg == NULL || w->acc.is_report)
		return;
	sub_m = xcalloc(1, sizeof(*sub_m));
	memset(&sub, 0, sizeof(sub));
	mime_acc_init(&sub.acc, sub_m, 0, 0);
	sub.opts = w->opts;
	sub.parts = w->parts;
	walk_part(&sub, g_mime_message_get_mime_part(msg), depth + 1, 0);
	w->parts = sub.parts;
	if (sub.acc.errors.len > 0)
		mime_acc_note(&w->acc, sub.acc.errors.data);
	mime_acc_finish(&sub.acc);

	mb = first_mailbox(g_mime_message_get_from(msg), 0);
	if (mb != NULL) {
		name = mime_header_clean(internet_address_get_name(INTERNET_ADDRESS(mb)), 1);
		addr = mime_header_clean(internet_address_mailbox_get_addr(mb), 1);
	}
	subj = subject(msg);
	if (w->acc.fwd.len > 0)
		(void)buf_appends(&w->acc.fwd, "\n\n");
	(void)buf_appends(&w->acc.fwd, "---------- Prosleđena poruka ----------\n");
	if (addr != NULL)
		(void)buf_appendf(&w->acc.fwd, "Od: %s%s<%s>\n", name ? name : "", name ? " " : "",
		    addr);
	if (subj != NULL && *subj)
		(void)buf_appendf(&w->acc.fwd, "Tema: %s\n", subj);
	(void)buf_appendc(&w->acc.fwd, '\n');
	(void)buf_appends(&w->acc.fwd, sub_m->text);
	free(name);
	free(addr);
	free(subj);
	mime_message_free(&sub_m);
}

/*
 * An opaque S/MIME signed message (application/pkcs7-mime,
 * smime-type=signed-data; Outlook's "smime.p7m" when clear signing is off):
 * the signed MIME entity inside the PKCS #7 structure is walked as a part
 * (the signature is not checked: a citizen's certificate proves nothing
 * here).  1 when done; 0 (encrypted, or not readable) leaves the caller to
 * keep the part as an attachment.
 */
static int
walk_smime_signed(struct walk *w, GMimeObject *obj, int depth)
{
	const char *type = g_mime_object_get_content_type_parameter(obj, "smime-type");
	gnutls_pkcs7_t p7 = NULL;
	gnutls_datum_t der, inner = { NULL, 0 };
	unsigned char *data;
	size_t len;
	int ok = 0;

	if (type != NULL && strcasecmp(type, "signed-data") != 0)
		return 0;
	if (depth + 1 > MIME_MAX_DEPTH)
		return 0;
	data = part_bytes(obj, &len);
	der.data = data;
	der.size = (unsigned)len;
	if (len > 0 && len < UINT32_MAX && gnutls_pkcs7_init(&p7) == GNUTLS_E_SUCCESS &&
	    gnutls_pkcs7_import(p7, &der, GNUTLS_X509_FMT_DER) == GNUTLS_E_SUCCESS &&
	    gnutls_pkcs7_get_embedded_data(p7, 0, &inner) == GNUTLS_E_SUCCESS &&
	    inner.size > 0) {
		GMimeStream *st = g_mime_stream_mem_new_with_buffer((const char *)inner.data,
		    inner.size);
		GMimeParser *parser = g_mime_parser_new_with_stream(st);
		GMimeObject *part = g_mime_parser_construct_part(parser, w->opts);

		if (part != NULL) {
			walk_part(w, part, depth + 1, 0);
			g_object_unref(part);
			ok = 1;
		}
		g_object_unref(parser);
		g_object_unref(st);
	}
	if (inner.data != NULL)
		gnutls_free(inner.data);
	if (p7 != NULL)
		gnutls_pkcs7_deinit(p7);
	free(data);
	return ok;
}

static void
walk_part(struct walk *w, GMimeObject *obj, int depth, int skip_text)
{
	if (obj == NULL)
		return;
	if (depth > MIME_MAX_DEPTH) {
		mime_acc_note(&w->acc, "MIME nesting too deep");
		return;
	}
	if (++w->parts > MIME_MAX_PARTS) {
		mime_acc_note(&w->acc, "too many MIME parts");
		return;
	}
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int n = g_mime_multipart_get_count(mp);
		int alt = ct_is(obj, "multipart", "alternative");
		int plain_before = w->acc.n_plain;

		if (ct_is(obj, "multipart", "report")) {
			const char *rt = g_mime_object_get_content_type_parameter(obj, "report-type");
			if (rt != NULL && (strcasecmp(rt, "delivery-status") == 0 ||
			    strcasecmp(rt, "disposition-notification") == 0))
				w->acc.is_report = 1;
		}
		for (int i = 0; i < n && w->parts <= MIME_MAX_PARTS; i++)
			walk_part(w, g_mime_multipart_get_part(mp, i), depth + 1,
			    skip_text || (alt && w->acc.n_plain > plain_before));
		return;
	}
	if (GMIME_IS_MESSAGE_PART(obj)) {
		/* an attached mail (forward, bounce): kept whole as an attachment,
		 * and its text is the report when the sender wrote none (only a
		 * signature, say) */
		char *ct = content_type_of(obj);
		add_attachment(w, obj, ct);
		free(ct);
		forwarded_text(w, g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj)), depth);
		return;
	}
	if (!GMIME_IS_PART(obj))
		return;

	char *ct = content_type_of(obj);
	GMimeContentDisposition *disp = g_mime_object_get_content_disposition(obj);
	int is_att = disp != NULL && g_mime_content_disposition_is_attachment(disp);

	/* a text file attached "inline" with its name (Apple Mail): kept as
	 * an attachment, not merged into (or, as HTML, lost beside) the text;
	 * a message's only part is its text whatever its name */
	if (depth > 1 && (g_mime_object_get_content_disposition_parameter(obj, "filename") != NULL ||
	    g_mime_object_get_content_type_parameter(obj, "name") != NULL))
		is_att = 1;

	if (strcmp(ct, "message/delivery-status") == 0 ||
	    strcmp(ct, "message/disposition-notification") == 0)
		w->acc.is_report = 1;
	if (!is_att && (strcmp(ct, "text/plain") == 0 || strcmp(ct, "text/html") == 0)) {
		if (skip_text)
			mime_acc_skip_leaf(&w->acc);
		else
			add_text(w, obj, ct[5] != 'p');
	} else if (strcmp(ct, "application/pgp-signature") == 0 ||
	    strcmp(ct, "application/pkcs7-signature") == 0 ||
	    strcmp(ct, "application/x-pkcs7-signature") == 0) {
		mime_acc_skip_leaf(&w->acc);
	} else if ((strcmp(ct, "application/pkcs7-mime") == 0 ||
	    strcmp(ct, "application/x-pkcs7-mime") == 0) && walk_smime_signed(w, obj, depth)) {
		mime_acc_skip_leaf(&w->acc);
	} else {
		add_attachment(w, obj, ct);
	}
	free(ct);
}

/* ---- headers ----------------------------------------------------------- */

static const char *
header(GMimeMessage *msg, const char *name)
{
	return g_mime_object_get_header(GMIME_OBJECT(msg), name);
}

static const char *
header_cb(void *msg, const char *name)
{
	return header(msg, name);
}

/* First mailbox of an address list (groups searched); NULL if none. */
static InternetAddressMailbox *
first_mailbox(InternetAddressList *list, int depth)
{
	int n;

	if (list == NULL || depth > 4)
		return NULL;
	n = internet_address_list_length(list);
	for (int i = 0; i < n; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);
		if (ia == NULL)
			continue;
		if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
			const char *a = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
			if (a != NULL && *a != '\0')
				return INTERNET_ADDRESS_MAILBOX(ia);
		} else if (INTERNET_ADDRESS_IS_GROUP(ia)) {
			InternetAddressMailbox *mb = first_mailbox(
			    internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)), depth + 1);
			if (mb != NULL)
				return mb;
		}
	}
	return NULL;
}

/* A msg-id without <> from raw text, when GMime found none. */
static char *
raw_msgid(const char *v)
{
	char *c = mime_header_clean(v, 1), *p, *e;

	if (c == NULL)
		return NULL;
	p = c;
	if ((e = strchr(p, '<')) != NULL)
		p = e + 1;
	if ((e = strchr(p, '>')) != NULL)
		*e = '\0';
	if ((e = strchr(p, ' ')) != NULL)
		*e = '\0';
	p = *p ? xstrdup(p) : NULL;
	free(c);
	return p;
}

/*
 * The subject, decoded from the raw header as the fast path does it (GMime
 * 3.2 loses the encoded words after a B word that ends in '=' padding; see
 * mime_fast.c); GMime's decoding when that declines.
 */
static char *
subject(GMimeMessage *msg)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(msg));
	GMimeHeader *h = hl != NULL ? g_mime_header_list_get_header(hl, "Subject") : NULL;
	const char *raw = h != NULL ? g_mime_header_get_raw_value(h) : NULL;
	char *dec, *s;

	if (raw != NULL && strstr(raw, "=?") != NULL &&
	    mime_decode_subject(raw, strlen(raw), &dec) == 0) {
		s = mime_header_clean(dec, 0);
		free(dec);
		return s;
	}
	return mime_header_clean(g_mime_message_get_subject(msg), 0);
}

static void
parse_headers(struct walk *w, GMimeMessage *msg)
{
	struct mime_message *m = w->acc.m;
	const char *v;
	InternetAddressMailbox *mb;
	GMimeReferences *refs;
	GDateTime *dt;

	mb = first_mailbox(g_mime_message_get_from(msg), 0);
	if (mb != NULL)
		mime_acc_from(&w->acc, internet_address_mailbox_get_addr(mb),
		    internet_address_get_name(INTERNET_ADDRESS(mb)));

	v = header(msg, "Return-Path");
	if (v != NULL)
		mime_acc_return_path(&w->acc, v);

	m->subject = subject(msg);

	v = g_mime_message_get_message_id(msg);
	m->message_id = v ? mime_header_clean(v, 1) : raw_msgid(header(msg, "Message-ID"));

	v = header(msg, "In-Reply-To");
	if (v != NULL) {
		refs = g_mime_references_parse(w->opts, v);
		if (refs != NULL && g_mime_references_length(refs) > 0)
			m->in_reply_to = mime_header_clean(g_mime_references_get_message_id(refs, 0), 1);
		else
			m->in_reply_to = raw_msgid(v);
		if (refs != NULL)
			g_mime_references_free(refs);
	}

	v = header(msg, "References");
	if (v != NULL && (refs = g_mime_references_parse(w->opts, v)) != NULL) {
		int n = g_mime_references_length(refs);
		int from = n > MIME_MAX_REFERENCES ? n - MIME_MAX_REFERENCES : 0;
		m->references = xcalloc((size_t)(n - from) + 1, sizeof(char *));
		for (int i = from; i < n; i++) {
			char *id = mime_header_clean(g_mime_references_get_message_id(refs, i), 1);
			if (id != NULL)
				m->references[m->n_references++] = id;
		}
		g_mime_references_free(refs);
	}

	dt = g_mime_message_get_date(msg);
	if (dt != NULL) {
		gint64 t = g_date_time_to_unix(dt);
		m->date = t > 0 ? (time_t)t : 0;
	} else if ((v = header(msg, "Date")) != NULL) {
		time_t t = util_parse_rfc2822(v);
		m->date = t > 0 ? t : 0;
	}

	m->has_s48_loop = header(msg, "X-S48-Loop") != NULL;
}

/*
 * A multipart without a usable boundary parameter whose body plainly starts
 * with a delimiter line "--X": parse the body again as a multipart with
 * boundary X, so the parts' own headers (charset, encoding) apply.
 */
static void
reparse_guessed_boundary(struct walk *w, const char *body)
{
	const char *p = body, *e;
	size_t n;
	struct buf b;
	GMimeStream *st;
	GMimeParser *parser;
	GMimeObject *obj;

	while (*p == '\r' || *p == '\n' || *p == ' ' || *p == '\t')
		p++;
	if (p[0] != '-' || p[1] != '-')
		return;
	p += 2;
	e = p + strcspn(p, "\r\n");
	n = (size_t)(e - p);
	if (n == 0 || n > 70 || *e == '\0')
		return;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] <= ' ' || p[i] == '"' || p[i] == '\\' || (unsigned char)p[i] >= 0x7f)
			return;
	buf_init(&b, strlen(body) + n + 64);
	if (buf_appendf(&b, "Content-Type: multipart/mixed; boundary=\"%.*s\"\n\n", (int)n, p) < 0 ||
	    buf_appends(&b, body) < 0) {
		buf_free(&b);
		return;
	}
	st = g_mime_stream_mem_new_with_buffer(b.data, b.len);
	parser = g_mime_parser_new_with_stream(st);
	obj = g_mime_parser_construct_part(parser, w->opts);
	if (obj != NULL) {
		mime_acc_note(&w->acc, "boundary guessed");
		walk_part(w, obj, 2, 0);
		g_object_unref(obj);
	}
	g_object_unref(parser);
	g_object_unref(st);
	buf_free(&b);
}

/* ---- entry points ------------------------------------------------------ */

struct mime_message *
mime_parse_gmime(const unsigned char *raw, size_t len, int truncated, size_t max_attachment_bytes)
{
	struct mime_message *m = xcalloc(1, sizeof(*m));
	struct walk w;
	GMimeStream *stream = NULL;
	GMimeParser *parser = NULL;
	GMimeMessage *msg = NULL;
	static const char *fallback[] = { "utf-8", MIME_LOCAL_CHARSET, NULL };

	mime_init();
	memset(&w, 0, sizeof(w));
	mime_acc_init(&w.acc, m, truncated, max_attachment_bytes);
	if (raw == NULL)
		len = 0;

	w.opts = g_mime_parser_options_new();
	g_mime_parser_options_set_fallback_charsets(w.opts, fallback);
	g_mime_parser_options_set_rfc2047_compliance_mode(w.opts, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_address_compliance_mode(w.opts, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode(w.opts, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_allow_addresses_without_domain(w.opts, TRUE);
	g_mime_parser_options_set_warning_callback(w.opts, parser_warning, &w);

	stream = g_mime_stream_mem_new_with_buffer(len ? (const char *)raw : "", len);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	msg = len ? g_mime_parser_construct_message(parser, w.opts) : NULL;

	if (msg != NULL) {
		GMimeObject *body;

		parse_headers(&w, msg);
		body = g_mime_message_get_mime_part(msg);
		walk_part(&w, body, 1, 0);
		if (w.acc.n_plain == 0 && w.acc.n_html == 0 && body != NULL &&
		    GMIME_IS_MULTIPART(body) &&
		    g_mime_multipart_get_count(GMIME_MULTIPART(body)) == 0) {
			/* a broken multipart (no or wrong boundary): its preamble is
			 * all GMime saw, and it holds the citizen's text.  With parts
			 * found, the preamble is the sender's "This is a multi-part
			 * message in MIME format." and a mail of only a photo (an
			 * empty text part) has no text. */
			const char *pro = g_mime_multipart_get_prologue(GMIME_MULTIPART(body));
			if (pro != NULL && *pro)
				reparse_guessed_boundary(&w, pro);
			if (pro != NULL && *pro && w.acc.n_plain == 0 && w.acc.n_html == 0) {
				char *t = mime_text_to_utf8(pro, strlen(pro),
				    g_mime_object_get_content_type_parameter(body, "charset"),
				    MIME_MAX_TEXT);
				(void)buf_appends(&w.acc.plain, t);
				w.acc.n_plain++;
				free(t);
			}
		}
		m->auto_reason = mime_auto_reason(header_cb, msg, m, w.acc.is_report);
	} else {
		mime_acc_note(&w.acc, len ? "not a MIME message" : "empty message");
		m->subject = xstrdup("");
		if (len > 0) {
			char *t = mime_text_to_utf8((const char *)raw, len, NULL, MIME_MAX_TEXT);
			(void)buf_appends(&w.acc.plain, t);
			w.acc.n_plain++;
			free(t);
		}
	}
	mime_acc_finish(&w.acc);

	if (msg != NULL)
		g_object_unref(msg);
	g_object_unref(parser);
	g_object_unref(stream);
	g_mime_parser_options_free(w.opts);
	return m;
}

static atomic_ulong fast_accepted;
static atomic_ulong fast_declined;

struct mime_message *
mime_parse_fast(const unsigned char *raw, size_t len, int truncated, size_t max_attachment_bytes)
{
	mime_init();
	return mime_fast_parse(raw, len, truncated, max_attachment_bytes);
}

struct mime_message *
mime_parse(const unsigned char *raw, size_t len, int truncated, size_t max_attachment_bytes)
{
	struct mime_message *m;

	mime_init();
	m = mime_fast_parse(raw, len, truncated, max_attachment_bytes);
	if (m != NULL) {
		atomic_fetch_add_explicit(&fast_accepted, 1, memory_order_relaxed);
		return m;
	}
	atomic_fetch_add_explicit(&fast_declined, 1, memory_order_relaxed);
	return mime_parse_gmime(raw, len, truncated, max_attachment_bytes);
}

void
mime_fast_stats(unsigned long *accepted, unsigned long *declined)
{
	if (accepted != NULL)
		*accepted = atomic_load_explicit(&fast_accepted, memory_order_relaxed);
	if (declined != NULL)
		*declined = atomic_load_explicit(&fast_declined, memory_order_relaxed);
}

void
mime_message_free(struct mime_message **mp)
{
	struct mime_message *m;

	if (mp == NULL || (m = *mp) == NULL)
		return;
	free(m->from_addr);
	free(m->from_name);
	free(m->subject);
	free(m->message_id);
	free(m->in_reply_to);
	for (size_t i = 0; i < m->n_references; i++)
		free(m->references[i]);
	free(m->references);
	free(m->text);
	for (size_t i = 0; i < m->n_att; i++) {
		free(m->att[i].filename);
		free(m->att[i].content_type);
		free(m->att[i].data);
	}
	free(m->att);
	free(m->parse_error);
	free(m);
	*mp = NULL;
}
