/*
 * config.c - load, default and validate the s48 configuration (SPEC
 * sections 6 and 7) from a libconfig file.
 *
 * Validation never stops at the first problem: every error is collected as
 * "FILE:LINE: KEY: message" (KEY a dotted path such as imap.port or
 * departments.[2].id, indexes from 0 as libconfig counts them) so an
 * operator fixes the file in one go.  Unknown keys are errors at every
 * level, so a typo never silently becomes a default.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libconfig.h>

#include "log.h"
#include "notifier_smtp.h"
#include "phone.h"
#include "sla.h"
#include "templates.h"
#include "util.h"

#define CFG_ERRORS_MAX   (256 * 1024)
#define CFG_KEY_MAX      256

/* Validation state: the file and the errors found so far. */
struct ctx {
	const char *file;
	struct buf errs;
	int n_errs;
	int check_secrets;
};

/* ------------------------------------------------------------------ */
/* errors */

static unsigned
setting_line(const config_setting_t *s)
{
	while (s != NULL) {
		if (config_setting_source_line(s) != 0)
			return config_setting_source_line(s);
		s = config_setting_parent(s);
	}
	return 1;
}

static const char *
setting_file(const struct ctx *c, const config_setting_t *s)
{
	const char *f = s != NULL ? config_setting_source_file(s) : NULL;

	return f != NULL ? f : c->file;
}

static void
add_error_at(struct ctx *c, const char *file, unsigned line, const char *key,
    const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (c->errs.len > 0)
		(void)buf_appendc(&c->errs, '\n');
	if (key != NULL && key[0] != '\0')
		(void)buf_appendf(&c->errs, "%s:%u: %s: %s", file, line, key, msg);
	else
		(void)buf_appendf(&c->errs, "%s:%u: %s", file, line, msg);
	c->n_errs++;
}

/* An error about setting s (or, for a missing key, its group). */
static void S48_PRINTF(4, 5)
cerr(struct ctx *c, const config_setting_t *s, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_error_at(c, setting_file(c, s), setting_line(s), key, fmt, ap);
	va_end(ap);
}

static void S48_PRINTF(4, 5)
cerr_line(struct ctx *c, unsigned line, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_error_at(c, c->file, line ? line : 1, key, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* small helpers */

/* Append s to out (CFG_KEY_MAX bytes), cut if too long. */
static void
kcat(char *out, const char *s, size_t size)
{
	size_t l = strlen(out);

	if (l + 1 < size)
		util_strlcpy(out + l, s, size - l);
}

/* out (CFG_KEY_MAX bytes) = prefix.name, or name without a prefix; cut if long. */
static void
kjoin(char *out, const char *prefix, const char *name)
{
	out[0] = '\0';
	if (prefix != NULL && prefix[0] != '\0') {
		util_strlcpy(out, prefix, CFG_KEY_MAX);
		kcat(out, ".", CFG_KEY_MAX);
	}
	kcat(out, name, CFG_KEY_MAX);
}

/* out (CFG_KEY_MAX bytes) = key.[i] */
static void
kindex(char *out, const char *key, size_t i)
{
	char num[32];

	sprintf(num, ".[%zu]", i);
	util_strlcpy(out, key, CFG_KEY_MAX);
	kcat(out, num, CFG_KEY_MAX);
}

static void
strlist_add(struct strlist *l, const char *s)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = xstrdup(s);
}

static void
strlist_free(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int
utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		int n, i;
		unsigned cp;

		if (*p < 0x80) {
			p++;
			continue;
		} else if ((*p & 0xe0) == 0xc0) {
			n = 1;
			cp = *p & 0x1f;
		} else if ((*p & 0xf0) == 0xe0) {
			n = 2;
			cp = *p & 0x0f;
		} else if ((*p & 0xf8) == 0xf0) {
			n = 3;
			cp = *p & 0x07;
		} else {
			return 0;
		}
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		p += n + 1;
	}
	return 1;
}

static int
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* A plain address: one '@', no spaces, quotes, brackets or controls. */
static int
addr_valid(const char *a)
{
	const char *at = strchr(a, '@');
	const char *p;

	if (at == NULL || at == a || at[1] == '\0' || strchr(at + 1, '@') != NULL)
		return 0;
	if (strlen(a) > 254)
		return 0;
	for (p = a; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch <= 0x20 || ch == 0x7f || strchr("<>()[]\\,;:\"", ch) != NULL)
			return 0;
	}
	if (at[1] == '.' || a[strlen(a) - 1] == '.')
		return 0;
	return 1;
}

static const char *
type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP: return "a group { }";
	case CONFIG_TYPE_INT: case CONFIG_TYPE_INT64: return "an integer";
	case CONFIG_TYPE_FLOAT: return "a number";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL: return "true or false";
	case CONFIG_TYPE_ARRAY: return "an array [ ]";
	case CONFIG_TYPE_LIST: return "a list ( )";
	default: return "a value";
	}
}

static const config_setting_t *
member(const config_setting_t *grp, const char *name)
{
	if (grp == NULL || !config_setting_is_group(grp))
		return NULL;
	return config_setting_get_member(grp, name);
}

/* Report keys of grp not in allowed (NULL-terminated). */
static void
check_keys(struct ctx *c, const config_setting_t *grp, const char *prefix,
    const char *const *allowed)
{
	int i, n;
	size_t j;
	char key[CFG_KEY_MAX];

	if (grp == NULL || !config_setting_is_group(grp))
		return;
	n = config_setting_length(grp);
	for (i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(grp, (unsigned)i);
		const char *name = config_setting_name(s);
		int known = 0;

		for (j = 0; allowed[j] != NULL; j++)
			if (name != NULL && strcmp(name, allowed[j]) == 0)
				known = 1;
		if (!known) {
			kjoin(key, prefix, name ? name : "?");
			cerr(c, s, key, "unknown key");
		}
	}
}

/*
 * String value: 1 set (*out replaced by a copy), 0 absent, -1 error
 * (reported).  Control characters are refused unless F_CTL (templates).
 */
#define F_REQ      1   /* must be present (and not empty) */
#define F_NONEMPTY 2   /* may be absent (default kept), not empty */
#define F_CTL      4   /* control characters allowed (templates) */

static int
get_string(struct ctx *c, const config_setting_t *grp, const char *prefix, const char *name,
    int flags, char **out)
{
	int required = (flags & F_REQ) != 0;
	const config_setting_t *s = member(grp, name);
	const char *v;
	char key[CFG_KEY_MAX];

	kjoin(key, prefix, name);
	if (s == NULL) {
		if (required)
			cerr(c, grp, key, "missing (required)");
		return required ? -1 : 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		cerr(c, s, key, "must be a string, not %s", type_name(config_setting_type(s)));
		return -1;
	}
	v = config_setting_get_string(s);
	if (!utf8_valid(v)) {
		cerr(c, s, key, "not valid UTF-8");
		return -1;
	}
	if ((flags & F_CTL) == 0 && has_control(v)) {
		cerr(c, s, key, "must not contain control characters (newline, tab...)");
		return -1;
	}
	if ((flags & (F_REQ | F_NONEMPTY)) != 0 && v[0] == '\0') {
		cerr(c, s, key, "must not be empty");
		return -1;
	}
	free(*out);
	*out = xstrdup(v);
	return 1;
}

/* Optional path: "" means none (NULL); relative to the config's directory. */
static int
get_path(struct ctx *c, const config_setting_t *grp, const char *prefix, const char *name,
    int required, const char *dir, char **out, unsigned *line_r)
{
	char *v = NULL;
	int r = get_string(c, grp, prefix, name, required ? F_REQ : 0, &v);

	if (r <= 0)
		return r;
	if (line_r != NULL)
		*line_r = setting_line(member(grp, name));
	free(*out);
	*out = NULL;
	if (v[0] == '\0') {
		free(v);
		return 0;
	}
	*out = util_path_join(dir, v);
	free(v);
	return 1;
}

static int
get_int(struct ctx *c, const config_setting_t *grp, const char *prefix, const char *name,
    long long min, long long max, long long *out)
{
	const config_setting_t *s = member(grp, name);
	char key[CFG_KEY_MAX];
	long long v;

	if (s == NULL)
		return 0;
	kjoin(key, prefix, name);
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		cerr(c, s, key, "must be an integer, not %s", type_name(config_setting_type(s)));
		return -1;
	}
	v = config_setting_get_int64(s);
	if (v < min || v > max) {
		cerr(c, s, key, "must be between %lld and %lld (got %lld)", min, max, v);
		return -1;
	}
	*out = v;
	return 1;
}

static void
get_int_into(struct ctx *c, const config_setting_t *grp, const char *prefix,
    const char *name, long long min, long long max, int *out)
{
	long long v;

	if (get_int(c, grp, prefix, name, min, max, &v) == 1)
		*out = (int)v;
}

static void
get_bool(struct ctx *c, const config_setting_t *grp, const char *prefix, const char *name,
    int *out)
{
	const config_setting_t *s = member(grp, name);
	char key[CFG_KEY_MAX];

	if (s == NULL)
		return;
	kjoin(key, prefix, name);
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		cerr(c, s, key, "must be true or false, not %s", type_name(config_setting_type(s)));
		return;
	}
	*out = config_setting_get_bool(s);
}

/* A group (or absent: NULL).  A non-group is reported and NULL returned. */
static const config_setting_t *
get_group(struct ctx *c, const config_setting_t *grp, const char *prefix, const char *name)
{
	const config_setting_t *s = member(grp, name);
	char key[CFG_KEY_MAX];

	if (s == NULL)
		return NULL;
	if (!config_setting_is_group(s)) {
		kjoin(key, prefix, name);
		cerr(c, s, key, "must be a group { ... }, not %s", type_name(config_setting_type(s)));
		return NULL;
	}
	return s;
}

/* Array or list of strings; bad elements are reported and skipped.
 * Returns the setting (NULL if absent or not an array). */
static const config_setting_t *
get_strlist(struct ctx *c, const config_setting_t *grp, const char *prefix, const char *name,
    struct strlist *out)
{
	const config_setting_t *s = member(grp, name);
	char key[CFG_KEY_MAX], ekey[CFG_KEY_MAX];
	int i, n;

	if (s == NULL)
		return NULL;
	kjoin(key, prefix, name);
	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		cerr(c, s, key, "must be an array of strings [\"...\", ...], not %s",
		    type_name(config_setting_type(s)));
		return NULL;
	}
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *v;

		kindex(ekey, key, (size_t)i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			cerr(c, e, ekey, "must be a string, not %s", type_name(config_setting_type(e)));
			continue;
		}
		v = config_setting_get_string(e);
		if (!utf8_valid(v) || has_control(v)) {
			cerr(c, e, ekey, "not valid UTF-8 text or contains control characters");
			continue;
		}
		strlist_add(out, v);
	}
	return s;
}

/* Element i of an array returned by get_strlist, for error lines. */
static const config_setting_t *
elem(const config_setting_t *arr, size_t i)
{
	if (arr == NULL || (int)i >= config_setting_length(arr))
		return arr;
	return config_setting_get_elem(arr, (unsigned)i);
}

/* Lower-case and check every address of a list. */
static void
check_addresses(struct ctx *c, const config_setting_t *arr, const char *key, struct strlist *l)
{
	char ekey[CFG_KEY_MAX];
	size_t i;

	for (i = 0; i < l->n; i++) {
		util_lower_ascii(l->v[i]);
		if (!addr_valid(l->v[i])) {
			kindex(ekey, key, i);
			cerr(c, elem(arr, i), ekey, "\"%s\" is not an email address", l->v[i]);
		}
	}
}

/* Normalise every phone number of a list to E.164; must be able to take SMS. */
static void
check_phones(struct ctx *c, const config_setting_t *arr, const char *key, struct strlist *l,
    const char *cc)
{
	char ekey[CFG_KEY_MAX], out[64];
	size_t i;

	for (i = 0; i < l->n; i++) {
		enum phone_kind k = phone_normalize(l->v[i], cc, out, sizeof(out));

		if (k != PHONE_MOBILE) {
			kindex(ekey, key, i);
			cerr(c, elem(arr, i), ekey, "\"%s\" is not a mobile phone number (%s)",
			    l->v[i], phone_kind_name(k));
			continue;
		}
		free(l->v[i]);
		l->v[i] = xstrdup(out);
	}
}

/* Set mode bits only for readable and private: report otherwise
 * (util_check_secrecy opens the file and checks what it opened). */
static void
check_secret_file(struct ctx *c, const config_setting_t *s, const char *key, const char *path)
{
	const char *err;

	if (path == NULL || !c->check_secrets)
		return;
	if (util_check_secrecy(path, &err) < 0)
		cerr(c, s, key, "%s", err);
}

static void
check_readable(struct ctx *c, const config_setting_t *s, const char *key, const char *path)
{
	struct stat st;
	int fd;

	if (path == NULL || !c->check_secrets)
		return;
	/* opened and checked as opened (one lookup of the path); O_NONBLOCK:
	 * a FIFO must not hang the check */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0 ||
	    fstat(fd, &st) < 0)
		cerr(c, s, key, "%s: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		cerr(c, s, key, "%s: not a regular file", path);
	if (fd >= 0)
		close(fd);
}

static int
url_has_scheme(const char *url, const char *const *schemes)
{
	size_t i, l;

	for (i = 0; schemes[i] != NULL; i++) {
		l = strlen(schemes[i]);
		if (strncasecmp(url, schemes[i], l) == 0 && url[l] != '\0' && url[l] != '/' &&
		    url[l] != ':')
			return 1;
	}
	return 0;
}

/* Shorter secrets are reported by config_summary(). */
#define CFG_SECRET_MIN 16

/* Is host[0..n) a loopback name or address: localhost, 127.x.x.x, ::1? */
static int
host_is_loopback(const char *h, size_t n)
{
	size_t i;

	if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
		h++;
		n -= 2;
	}
	if ((n == 9 && strncasecmp(h, "localhost", 9) == 0) || (n == 3 && memcmp(h, "::1", 3) == 0))
		return 1;
	if (n < 4 || memcmp(h, "127.", 4) != 0)
		return 0;
	for (i = 4; i < n; i++)
		if (!isdigit((unsigned char)h[i]) && h[i] != '.')
			return 0;
	return 1;
}

/* The host of a URL (smtp://, smtps://, http://) is loopback, as libcurl
 * (which connects to it) reads the URL: userinfo, port and IPv6 brackets. */
static int
url_host_is_loopback(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL;
	int r = 0;

	if (u != NULL &&
	    curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
		r = host_is_loopback(host, strlen(host));
	curl_free(host);
	curl_url_cleanup(u);
	return r;
}

/*
 * url with the password of its userinfo ("smtps://u:pw@host") written as
 * "***", for what --check-config prints; a copy of url when it has none or
 * libcurl cannot read it.  Caller frees.
 */
static char *
url_shown(const char *url)
{
	CURLU *u = curl_url();
	char *pw = NULL, *out = NULL, *ret;

	if (u != NULL &&
	    curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PASSWORD, &pw, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_PASSWORD, "***", 0) == CURLUE_OK)
		(void)curl_url_get(u, CURLUPART_URL, &out, 0);
	ret = xstrdup(out != NULL ? out : url);
	curl_free(pw);
	curl_free(out);
	curl_url_cleanup(u);
	return ret;
}

/* 1 when url carries a password in its userinfo (libcurl sends it). */
static int
url_has_password(const char *url)
{
	CURLU *u = curl_url();
	char *pw = NULL;
	int r = 0;

	if (u != NULL &&
	    curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PASSWORD, &pw, 0) == CURLUE_OK)
		r = 1;
	curl_free(pw);
	curl_url_cleanup(u);
	return r;
}

/* Templates may only use the placeholders of SPEC section 5. */
static void
check_placeholders(struct ctx *c, const config_setting_t *s, const char *key, const char *t)
{
	static const char *const known[] = { "id", "status", "department", "note", "created",
		"due", "text", NULL };
	const char *p = t;

	while ((p = strchr(p, '{')) != NULL) {
		const char *q = p + 1;
		size_t n, i;
		int ok = 0;

		while ((*q >= 'a' && *q <= 'z') || *q == '_')
			q++;
		n = (size_t)(q - p - 1);
		if (*q != '}' || n == 0) {
			p++;
			continue;
		}
		for (i = 0; known[i] != NULL; i++)
			if (strlen(known[i]) == n && strncmp(known[i], p + 1, n) == 0)
				ok = 1;
		if (!ok)
			cerr(c, s, key, "unknown placeholder {%.*s} (use {id} {status} {department} "
			    "{note} {created} {due} {text})", (int)n, p + 1);
		p = q + 1;
	}
}

/* "HH:MM" at p (exactly 5 chars) -> minutes; -1 if malformed. 24:00 allowed. */
static int
parse_hhmm(const char *p)
{
	int h, m;

	if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]) || p[2] != ':' ||
	    !isdigit((unsigned char)p[3]) || !isdigit((unsigned char)p[4]))
		return -1;
	h = (p[0] - '0') * 10 + (p[1] - '0');
	m = (p[3] - '0') * 10 + (p[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && m != 0))
		return -1;
	return h * 60 + m;
}

/* ------------------------------------------------------------------ */
/* sections */

static void
load_log(struct ctx *c, const config_setting_t *root, struct s48_config *cfg)
{
	static const char *const keys[] = { "level", "target", NULL };
	const config_setting_t *g = get_group(c, root, "", "log");
	char *v = NULL;

	if (g == NULL)
		return;
	check_keys(c, g, "log", keys);
	if (get_string(c, g, "log", "level", 0, &v) == 1) {
		int l = log_level_parse(v);

		if (l < 0)
			cerr(c, member(g, "level"), "log.level",
			    "\"%s\": must be \"err\", \"warn\", \"info\" or \"debug\"", v);
		else
			cfg->log_level = l;
	}
	xfree(&v);
	if (get_string(c, g, "log", "target", 0, &v) == 1) {
		if (strcmp(v, "syslog") == 0)
			cfg->log_syslog = 1;
		else if (strcmp(v, "stderr") == 0)
			cfg->log_syslog = 0;
		else
			cerr(c, member(g, "target"), "log.target",
			    "\"%s\": must be \"syslog\" or \"stderr\"", v);
	}
	xfree(&v);
}

static void
load_imap(struct ctx *c, const config_setting_t *root, struct s48_config *cfg)
{
	static const char *const keys[] = { "host", "port", "tls", "ca_file", "user",
		"password", "password_file", "mailbox", "processed_mailbox", "idle",
		"max_message_bytes", "ack_max_age_days", NULL };
	const config_setting_t *g = get_group(c, root, "", "imap");
	struct cfg_imap *im = &cfg->imap;
	char *v = NULL;
	long long n;
	int have_pw, have_pwf;

	if (g == NULL)
		return;
	im->enabled = 1;
	check_keys(c, g, "imap", keys);
	get_string(c, g, "imap", "host", F_REQ, &im->host);
	if (im->host != NULL && strpbrk(im->host, " /@") != NULL)
		cerr(c, member(g, "host"), "imap.host", "\"%s\" is not a host name", im->host);
	if (get_string(c, g, "imap", "tls", 0, &v) == 1) {
		if (strcmp(v, "implicit") == 0)
			im->tls = CFG_TLS_IMPLICIT;
		else if (strcmp(v, "starttls") == 0)
			im->tls = CFG_TLS_STARTTLS;
		else if (strcmp(v, "none") == 0)
			im->tls = CFG_TLS_NONE;
		else
			cerr(c, member(g, "tls"), "imap.tls",
			    "\"%s\": must be \"implicit\", \"starttls\" or \"none\"", v);
	}
	xfree(&v);
	im->port = im->tls == CFG_TLS_IMPLICIT ? 993 : 143;
	get_int_into(c, g, "imap", "port", 1, 65535, &im->port);
	if (get_path(c, g, "imap", "ca_file", 0, cfg->dir, &im->ca_file, NULL) == 1)
		check_readable(c, member(g, "ca_file"), "imap.ca_file", im->ca_file);
	get_string(c, g, "imap", "user", F_REQ, &im->user);
	have_pw = member(g, "password") != NULL;
	have_pwf = member(g, "password_file") != NULL;
	if (have_pw && have_pwf)
		cerr(c, member(g, "password"), "imap.password",
		    "give password or password_file, not both");
	else if (!have_pw && !have_pwf)
		cerr(c, g, "imap.password_file", "missing (required: password_file or password)");
	else if (have_pw)
		get_string(c, g, "imap", "password", F_REQ, &im->password);
	else if (get_path(c, g, "imap", "password_file", 1, cfg->dir, &im->password_file,
	    &cfg->lines.imap_password_file) == 1)
		check_secret_file(c, member(g, "password_file"), "imap.password_file",
		    im->password_file);
	get_string(c, g, "imap", "mailbox", F_NONEMPTY, &im->mailbox);
	if (get_string(c, g, "imap", "processed_mailbox", 0, &im->processed_mailbox) == 1 &&
	    im->processed_mailbox[0] == '\0')
		xfree(&im->processed_mailbox);
	if (im->processed_mailbox != NULL && strcmp(im->processed_mailbox, im->mailbox) == 0)
		cerr(c, member(g, "processed_mailbox"), "imap.processed_mailbox",
		    "must differ from imap.mailbox");
	get_bool(c, g, "imap", "idle", &im->idle);
	if (get_int(c, g, "imap", "max_message_bytes", 1024, 1024LL * 1024 * 1024, &n) == 1)
		im->max_message_bytes = (long)n;
	get_int_into(c, g, "imap", "ack_max_age_days", 0, 3650, &im->ack_max_age_days);
}

/* "Name <addr>" or "addr" -> the address (lower-cased), or NULL. */
static char *
parse_from(const char *from)
{
	const char *lt = strrchr(from, '<');
	const char *gt;
	char *a;

	if (lt == NULL) {
		while (*from == ' ')
			from++;
		a = xstrdup(from);
		while (a[0] != '\0' && a[strlen(a) - 1] == ' ')
			a[strlen(a) - 1] = '\0';
	} else {
		gt = strchr(lt, '>');
		if (gt == NULL)
			return NULL;
		for (const char *p = gt + 1; *p != '\0'; p++)
			if (*p != ' ')
				return NULL;
		a = xstrndup(lt + 1, (size_t)(gt - lt - 1));
	}
	util_lower_ascii(a);
	if (!addr_valid(a)) {
		free(a);
		return NULL;
	}
	return a;
}

static void
load_smtp(struct ctx *c, const config_setting_t *root, struct s48_config *cfg)
{
	static const char *const keys[] = { "url", "tls", "ca_file", "user", "password",
		"password_file", "from", "connections", NULL };
	static const char *const schemes[] = { "smtp://", "smtps://", NULL };
	const config_setting_t *g = get_group(c, root, "", "smtp");
	struct cfg_smtp *sm = &cfg->smtp;
	char *v = NULL;
	int have_pw, have_pwf;

	if (g == NULL)
		return;
	sm->enabled = 1;
	check_keys(c, g, "smtp", keys);
	if (get_string(c, g, "smtp", "url", F_REQ, &sm->url) == 1 &&
	    !url_has_scheme(sm->url, schemes))
		cerr(c, member(g, "url"), "smtp.url",
		    "\"%s\": must be smtp://HOST[:PORT] or smtps://HOST[:PORT]", sm->url);
	if (get_string(c, g, "smtp", "tls", 0, &v) == 1) {
		if (strcmp(v, "required") == 0)
			sm->tls_required = 1;
		else if (strcmp(v, "none") == 0)
			sm->tls_required = 0;
		else
			cerr(c, member(g, "tls"), "smtp.tls",
			    "\"%s\": must be \"required\" or \"none\"", v);
	}
	xfree(&v);
	/* SPEC 6: "none" only for a relay on loopback (smtps:// verifies anyway) */
	if (!sm->tls_required && sm->url != NULL && strncasecmp(sm->url, "smtp://", 7) == 0 &&
	    !url_host_is_loopback(sm->url))
		cerr(c, member(g, "tls"), "smtp.tls", "\"none\" is only for a relay on loopback "
		    "(127.0.0.1, ::1, localhost), not %s", sm->url);
	if (get_path(c, g, "smtp", "ca_file", 0, cfg->dir, &sm->ca_file, NULL) == 1)
		check_readable(c, member(g, "ca_file"), "smtp.ca_file", sm->ca_file);
	if (get_string(c, g, "smtp", "user", 0, &sm->user) == 1 && sm->user[0] == '\0')
		xfree(&sm->user);
	have_pw = member(g, "password") != NULL;
	have_pwf = member(g, "password_file") != NULL;
	if (have_pw && have_pwf)
		cerr(c, member(g, "password"), "smtp.password",
		    "give password or password_file, not both");
	else if ((have_pw || have_pwf) && sm->user == NULL)
		cerr(c, member(g, have_pw ? "password" : "password_file"),
		    have_pw ? "smtp.password" : "smtp.password_file", "needs smtp.user");
	else if (sm->user != NULL && !have_pw && !have_pwf)
		cerr(c, member(g, "user"), "smtp.user", "needs password_file (or password)");
	else if (have_pw)
		get_string(c, g, "smtp", "password", F_REQ, &sm->password);
	else if (have_pwf && get_path(c, g, "smtp", "password_file", 1, cfg->dir,
	    &sm->password_file, &cfg->lines.smtp_password_file) == 1)
		check_secret_file(c, member(g, "password_file"), "smtp.password_file",
		    sm->password_file);
	if (get_string(c, g, "smtp", "from", F_REQ, &sm->from) == 1) {
		sm->from_addr = parse_from(sm->from);
		if (sm->from_addr == NULL)
			cerr(c, member(g, "from"), "smtp.from",
			    "\"%s\": must be \"Name <address>\" or \"address\"", sm->from);
	}
	get_int_into(c, g, "smtp", "connections", 1, NOTIFIER_SMTP_CONNS_MAX, &sm->connections);
}

static void
load_sms_generic(struct ctx *c, const config_setting_t *sg, struct cfg_sms *sms)
{
	static const char *const keys[] = { "pull_url", "auth_header", "messages_path",
		"id_path", "from_path", "text_path", "time_path", "cursor_path", "ack_url",
		"send_url", "send_body", NULL };
	static const char *const http[] = { "http://", "https://", NULL };
	struct cfg_sms_generic *gn = &sms->generic;
	const char *pfx = "sms.generic";

	check_keys(c, sg, pfx, keys);
	if (get_string(c, sg, pfx, "pull_url", F_REQ, &gn->pull_url) == 1 &&
	    !url_has_scheme(gn->pull_url, http))
		cerr(c, member(sg, "pull_url"), "sms.generic.pull_url",
		    "must start with http:// or https://");
	if (get_string(c, sg, pfx, "auth_header", 0, &gn->auth_header) == 1) {
		if (gn->auth_header[0] == '\0')
			xfree(&gn->auth_header);
		else if (strchr(gn->auth_header, ':') == NULL || gn->auth_header[0] == ':')
			cerr(c, member(sg, "auth_header"), "sms.generic.auth_header",
			    "must be \"Name: value\"");
	}
	get_string(c, sg, pfx, "messages_path", F_REQ, &gn->messages_path);
	get_string(c, sg, pfx, "id_path", F_REQ, &gn->id_path);
	get_string(c, sg, pfx, "from_path", F_REQ, &gn->from_path);
	get_string(c, sg, pfx, "text_path", F_REQ, &gn->text_path);
	if (get_string(c, sg, pfx, "time_path", 0, &gn->time_path) == 1 &&
	    gn->time_path[0] == '\0')
		xfree(&gn->time_path);
	if (get_string(c, sg, pfx, "cursor_path", 0, &gn->cursor_path) == 1 &&
	    gn->cursor_path[0] == '\0')
		xfree(&gn->cursor_path);
	if (get_string(c, sg, pfx, "ack_url", 0, &gn->ack_url) == 1) {
		if (gn->ack_url[0] == '\0')
			xfree(&gn->ack_url);
		else if (!url_has_scheme(gn->ack_url, http))
			cerr(c, member(sg, "ack_url"), "sms.generic.ack_url",
			    "must start with http:// or https://");
	}
	if (get_string(c, sg, pfx, "send_url", F_REQ, &gn->send_url) == 1 &&
	    !url_has_scheme(gn->send_url, http))
		cerr(c, member(sg, "send_url"), "sms.generic.send_url",
		    "must start with http:// or https://");
	if (get_string(c, sg, pfx, "send_body", F_REQ, &gn->send_body) == 1 &&
	    (strstr(gn->send_body, "{to}") == NULL || strstr(gn->send_body, "{text}") == NULL))
		cerr(c, member(sg, "send_body"), "sms.generic.send_body",
		    "must contain {to} and {text}");
}

static void
load_sms(struct ctx *c, const config_setting_t *root, struct s48_config *cfg)
{
	static const char *const keys[] = { "profile", "base_url", "api_key_file", "account",
		"number", "country_code", "ascii", "max_segments", "first_run_days", "batch",
		"timeout", "generic", NULL };
	static const char *const http[] = { "http://", "https://", NULL };
	const config_setting_t *g = get_group(c, root, "", "sms");
	const config_setting_t *sg;
	struct cfg_sms *sms = &cfg->sms;
	const char *p;
	char out[64];
	int prof = -1;      /* 0 infobip, 1 twilio, 2 generic */
	int have_key;

	if (g == NULL)
		return;
	sms->enabled = 1;
	check_keys(c, g, "sms", keys);
	if (get_string(c, g, "sms", "country_code", F_NONEMPTY, &sms->country_code) == 1) {
		for (p = sms->country_code; *p != '\0' && isdigit((unsigned char)*p); p++)
			;
		if (*p != '\0' || strlen(sms->country_code) > 3 || sms->country_code[0] == '0') {
			cerr(c, member(g, "country_code"), "sms.country_code",
			    "\"%s\": must be 1 to 3 digits without + (e.g. \"381\")",
			    sms->country_code);
			free(sms->country_code);
			sms->country_code = xstrdup("381");
		}
	}
	if (get_string(c, g, "sms", "profile", F_REQ, &sms->profile) == 1) {
		if (strcmp(sms->profile, "infobip") == 0)
			prof = 0;
		else if (strcmp(sms->profile, "twilio") == 0)
			prof = 1;
		else if (strcmp(sms->profile, "generic") == 0)
			prof = 2;
		else
			cerr(c, member(g, "profile"), "sms.profile",
			    "\"%s\": must be \"infobip\", \"twilio\" or \"generic\"", sms->profile);
	}
	if (get_string(c, g, "sms", "base_url", (prof == 0 ? F_REQ : 0), &sms->base_url) == 1) {
		if (!url_has_scheme(sms->base_url, http))
			cerr(c, member(g, "base_url"), "sms.base_url",
			    "must start with http:// or https://");
		else
			while (sms->base_url[0] != '\0' &&
			    sms->base_url[strlen(sms->base_url) - 1] == '/')
				sms->base_url[strlen(sms->base_url) - 1] = '\0';
	}
	if (prof == 1 && sms->base_url == NULL)
		sms->base_url = xstrdup("https://api.twilio.com");
	sg = get_group(c, g, "sms", "generic");
	if (prof == 2 && sg == NULL && member(g, "generic") == NULL)
		cerr(c, g, "sms.generic", "missing (required by profile \"generic\")");
	else if (prof >= 0 && prof != 2 && member(g, "generic") != NULL)
		cerr(c, member(g, "generic"), "sms.generic",
		    "only used by profile \"generic\"");
	else if (sg != NULL)
		load_sms_generic(c, sg, sms);
	have_key = get_path(c, g, "sms", "api_key_file", prof == 0 || prof == 1, cfg->dir,
	    &sms->api_key_file, &cfg->lines.sms_api_key_file) == 1;
	if (have_key)
		check_secret_file(c, member(g, "api_key_file"), "sms.api_key_file",
		    sms->api_key_file);
	if (prof == 2 && !have_key && sms->generic.auth_header != NULL &&
	    strstr(sms->generic.auth_header, "{key}") != NULL)
		cerr(c, g, "sms.api_key_file", "missing (sms.generic.auth_header uses {key})");
	if (get_string(c, g, "sms", "account", (prof == 1 ? F_REQ : 0), &sms->account) == 1) {
		if (prof >= 0 && prof != 1)
			cerr(c, member(g, "account"), "sms.account", "only used by profile \"twilio\"");
		for (p = sms->account; *p != '\0' && isalnum((unsigned char)*p); p++)
			;
		if (*p != '\0')
			cerr(c, member(g, "account"), "sms.account",
			    "must be letters and digits (the Account SID)");
	}
	if (get_string(c, g, "sms", "number", F_REQ, &sms->number) == 1) {
		enum phone_kind k = phone_normalize(sms->number, sms->country_code, out,
		    sizeof(out));

		if (k != PHONE_MOBILE && k != PHONE_FIXED && k != PHONE_SHORTCODE)
			cerr(c, member(g, "number"), "sms.number", "\"%s\" is not a phone number",
			    sms->number);
		else {
			free(sms->number);
			sms->number = xstrdup(out);
		}
	}
	get_bool(c, g, "sms", "ascii", &sms->ascii);
	get_int_into(c, g, "sms", "max_segments", 1, 10, &sms->max_segments);
	get_int_into(c, g, "sms", "first_run_days", 0, 3650, &sms->first_run_days);
	get_int_into(c, g, "sms", "batch", 1, 1000, &sms->batch);
	get_int_into(c, g, "sms", "timeout", 1, 600, &sms->timeout);
}

static int
dept_id_valid(const char *id)
{
	const char *p;

	if (id[0] == '\0' || strlen(id) > 32)
		return 0;
	for (p = id; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		    *p == '-'))
			return 0;
	return 1;
}

static void
check_keywords(struct ctx *c, const config_setting_t *arr, const char *key,
    const struct strlist *kw)
{
	char ekey[CFG_KEY_MAX];
	size_t i;

	for (i = 0; i < kw->n; i++) {
		const char *k = kw->v[i];
		const char *p;
		int letters = 0, bad_star = 0;

		for (p = k; *p != '\0'; p++) {
			if (*p != ' ' && *p != '*')
				letters = 1;
			/* a '*' ends a word: "rasvet*", "udarn* rupa" */
			if (*p == '*' && (p == k || p[-1] == ' ' || p[-1] == '*' ||
			    (p[1] != '\0' && p[1] != ' ')))
				bad_star = 1;
		}
		kindex(ekey, key, i);
		if (!letters)
			cerr(c, elem(arr, i), ekey, "empty keyword");
		else if (bad_star)
			cerr(c, elem(arr, i), ekey,
			    "\"%s\": '*' is only allowed at the end of a word (a prefix)", k);
	}
}

static void
load_departments(struct ctx *c, const config_setting_t *root, struct s48_config *cfg)
{
	static const char *const keys[] = { "id", "name", "email", "staff_emails", "sms",
		"staff_phones", "keywords", NULL };
	const config_setting_t *l = member(root, "departments");
	char pfx[CFG_KEY_MAX], key[CFG_KEY_MAX];
	int i, n;
	size_t j;

	if (l == NULL) {
		cerr(c, root, "departments", "missing (at least one department is required)");
		return;
	}
	if (!config_setting_is_list(l) && !config_setting_is_array(l)) {
		cerr(c, l, "departments", "must be a list ( { id = ...; name = ...; }, ... ), not %s",
		    type_name(config_setting_type(l)));
		return;
	}
	n = config_setting_length(l);
	if (n == 0) {
		cerr(c, l, "departments", "at least one department is required");
		return;
	}
	cfg->depts = xcalloc((size_t)n, sizeof(*cfg->depts));
	for (i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(l, (unsigned)i);
		struct cfg_department *d = &cfg->depts[cfg->n_depts];
		const config_setting_t *a;

		kindex(pfx, "departments", (size_t)i);
		if (!config_setting_is_group(g)) {
			cerr(c, g, pfx, "must be a group { id = ...; name = ...; }, not %s",
			    type_name(config_setting_type(g)));
			continue;
		}
		cfg->n_depts++;
		check_keys(c, g, pfx, keys);
		kjoin(key, pfx, "id");
		if (get_string(c, g, pfx, "id", F_REQ, &d->id) == 1) {
			if (!dept_id_valid(d->id))
				cerr(c, member(g, "id"), key,
				    "\"%s\": only a-z, 0-9, '_' and '-' (at most 32)", d->id);
			for (j = 0; j + 1 < cfg->n_depts; j++)
				if (cfg->depts[j].id != NULL && strcmp(cfg->depts[j].id, d->id) == 0)
					cerr(c, member(g, "id"), key, "duplicate department id \"%s\"",
					    d->id);
		}
		get_string(c, g, pfx, "name", F_REQ, &d->name);
		kjoin(key, pfx, "email");
		a = get_strlist(c, g, pfx, "email", &d->email);
		check_addresses(c, a, key, &d->email);
		kjoin(key, pfx, "staff_emails");
		a = get_strlist(c, g, pfx, "staff_emails", &d->staff_emails);
		check_addresses(c, a, key, &d->staff_emails);
		kjoin(key, pfx, "sms");
		a = get_strlist(c, g, pfx, "sms", &d->sms);
		check_phones(c, a, key, &d->sms, cfg->sms.country_code);
		kjoin(key, pfx, "staff_phones");
		a = get_strlist(c, g, pfx, "staff_phones", &d->staff_phones);
		check_phones(c, a, key, &d->staff_phones, cfg->sms.country_code);
		kjoin(key, pfx, "keywords");
		a = get_strlist(c, g, pfx, "keywords", &d->keywords);
		check_keywords(c, a, key, &d->keywords);
	}
}

static void
load_default_dept(struct ctx *c, const config_setting_t *root, struct s48_config *cfg)
{
	size_t i;

	if (get_string(c, root, "", "default_department", 0, &cfg->default_department) != 1) {
		if (cfg->n_depts > 0 && cfg->depts[0].id != NULL &&
		    member(root, "default_department") == NULL) {
			cfg->default_department = xstrdup(cfg->depts[0].id);
			cfg->default_dept = 0;
		}
		return;
	}
	for (i = 0; i < cfg->n_depts; i++)
		if (cfg->depts[i].id != NULL &&
		    strcmp(cfg->depts[i].id, cfg->default_department) == 0) {
			cfg->default_dept = i;
			return;
		}
	if (cfg->n_depts > 0)
		cerr(c, member(root, "default_department"), "default_department",
		    "\"%s\" is not a department id", cfg->default_department);
}

static void
load_escalation(struct ctx *c, const config_setting_t *root, struct s48_config *cfg)
{
	const config_setting_t *a = get_strlist(c, root, "", "escalation", &cfg->escalation);
	char ekey[CFG_KEY_MAX], out[64];
	size_t i;

	for (i = 0; i < cfg->escalation.n; i++) {
		char *e = cfg->escalation.v[i];

		kindex(ekey, "escalation", i);
		if (strchr(e, '@') != NULL) {
			util_lower_ascii(e);
			if (!addr_valid(e))
				cerr(c, elem(a, i), ekey, "\"%s\" is not an email address", e);
		} else if (phone_normalize(e, cfg->sms.country_code, out, sizeof(out)) ==
		    PHONE_MOBILE) {
			free(e);
			cfg->escalation.v[i] = xstrdup(out);
		} else {
			cerr(c, elem(a, i), ekey,
			    "\"%s\" is neither an email address nor a mobile number", e);
		}
	}
}

static void
load_sla(struct ctx *c, const config_setting_t *root, struct s48_config *cfg)
{
	static const char *const keys[] = { "hours", "working_days", "working_hours",
		"holidays", "warn_hours", "timezone", NULL };
	const config_setting_t *g = get_group(c, root, "", "sla");
	const config_setting_t *s, *a;
	struct cfg_sla *sla = &cfg->sla;
	char *v = NULL;
	char ekey[CFG_KEY_MAX];
	int i, n, have_days = 0, have_hours = 0;
	size_t j;

	if (g == NULL)
		return;
	check_keys(c, g, "sla", keys);
	get_int_into(c, g, "sla", "hours", 1, 24 * 365, &sla->hours);
	get_int_into(c, g, "sla", "warn_hours", 0, 24 * 365, &sla->warn_hours);
	if (sla->warn_hours > 0 && sla->warn_hours >= sla->hours) {
		if (member(g, "warn_hours") != NULL)
			cerr(c, member(g, "warn_hours"), "sla.warn_hours",
			    "must be less than sla.hours (%d)", sla->hours);
		else    /* the operator never wrote warn_hours: say where it comes from */
			cerr(c, member(g, "hours") ? member(g, "hours") : g, "sla.hours",
			    "%d leaves no time for the default sla.warn_hours (%d): set "
			    "sla.warn_hours below it (0: no warning)", sla->hours, sla->warn_hours);
	}
	if ((s = member(g, "working_days")) != NULL) {
		if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
			cerr(c, s, "sla.working_days", "must be an array of weekdays [1, ..., 7], "
			    "not %s", type_name(config_setting_type(s)));
		} else {
			unsigned mask = 0;

			n = config_setting_length(s);
			for (i = 0; i < n; i++) {
				const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
				long long d;

				kindex(ekey, "sla.working_days", (size_t)i);
				if (config_setting_type(e) != CONFIG_TYPE_INT &&
				    config_setting_type(e) != CONFIG_TYPE_INT64) {
					cerr(c, e, ekey, "must be a weekday 1 (Monday) to 7 (Sunday)");
					continue;
				}
				d = config_setting_get_int64(e);
				if (d < 1 || d > 7)
					cerr(c, e, ekey, "%lld: must be a weekday 1 (Monday) to 7 (Sunday)",
					    d);
				else
					mask |= 1u << d;
			}
			if (n == 0)
				cerr(c, s, "sla.working_days", "must name at least one weekday");
			sla->working_days = mask;
			have_days = 1;
		}
	}
	if (get_string(c, g, "sla", "working_hours", 0, &v) == 1) {
		int a0 = -1, b0 = -1;

		if (strlen(v) == 11 && v[5] == '-') {
			a0 = parse_hhmm(v);
			b0 = parse_hhmm(v + 6);
		}
		if (a0 < 0 || b0 < 0 || b0 <= a0)
			cerr(c, member(g, "working_hours"), "sla.working_hours",
			    "\"%s\": must be \"HH:MM-HH:MM\" with the start before the end", v);
		else {
			sla->work_start_min = a0;
			sla->work_end_min = b0;
		}
		have_hours = 1;
	}
	xfree(&v);
	if (have_days && !have_hours) {
		sla->work_start_min = 0;
		sla->work_end_min = 24 * 60;
	}
	sla->has_calendar = have_days || have_hours;
	a = get_strlist(c, g, "sla", "holidays", &sla->holidays);
	for (j = 0; j < sla->holidays.n; j++)
		if (!sla_date_valid(sla->holidays.v[j])) {
			kindex(ekey, "sla.holidays", j);
			cerr(c, elem(a, j), ekey, "\"%s\": must be a date YYYY-MM-DD",
			    sla->holidays.v[j]);
		}
	if (sla->holidays.n > 0 && !sla->has_calendar)
		cerr(c, a, "sla.holidays", "needs sla.working_days or sla.working_hours");
	if (get_string(c, g, "sla", "timezone", F_NONEMPTY, &sla->timezone) == 1 &&
	    !sla_timezone_valid(sla->timezone))
		cerr(c, member(g, "timezone"), "sla.timezone",
		    "\"%s\": unknown time zone (see /usr/share/zoneinfo)", sla->timezone);
}

static void
load_templates(struct ctx *c, const config_setting_t *root, struct s48_config *cfg)
{
	static const char *const keys[] = { "sms_ack", "sms_status", "sms_query", "sms_help",
		"email_ack", "email_status", NULL };
	const config_setting_t *g = get_group(c, root, "", "templates");
	struct cfg_templates *t = &cfg->templates;
	char **slots[] = { &t->sms_ack, &t->sms_status, &t->sms_query, &t->sms_help,
		&t->email_ack, &t->email_status };
	char key[CFG_KEY_MAX];
	size_t i;

	if (g == NULL)
		return;
	check_keys(c, g, "templates", keys);
	for (i = 0; keys[i] != NULL; i++) {
		kjoin(key, "templates", keys[i]);
		if (get_string(c, g, "templates", keys[i], F_CTL, slots[i]) != 1)
			continue;
		if ((*slots[i])[0] == '\0')
			cerr(c, member(g, keys[i]), key, "must not be empty");
		else if (strncmp(keys[i], "sms_", 4) == 0 && strpbrk(*slots[i], "\r\n\t") != NULL)
			cerr(c, member(g, keys[i]), key, "an SMS template is one line");
		check_placeholders(c, member(g, keys[i]), key, *slots[i]);
	}
}

static void
load_status_labels(struct ctx *c, const config_setting_t *root, struct s48_config *cfg)
{
	static const char *const keys[] = { "open", "in_progress", "resolved", "rejected",
		NULL };
	const config_setting_t *g = get_group(c, root, "", "status_labels");
	struct cfg_status_labels *sl = &cfg->status_labels;
	char **slots[] = { &sl->open, &sl->in_progress, &sl->resolved, &sl->rejected };
	size_t i;

	if (g == NULL)
		return;
	check_keys(c, g, "status_labels", keys);
	for (i = 0; keys[i] != NULL; i++) {
		char *v = NULL;

		if (get_string(c, g, "status_labels", keys[i], 0, &v) == 1 && v[0] == '\0') {
			char key[CFG_KEY_MAX];

			kjoin(key, "status_labels", keys[i]);
			cerr(c, member(g, keys[i]), key, "must not be empty");
		} else if (v != NULL) {
			free(*slots[i]);
			*slots[i] = v;
			v = NULL;
		}
		free(v);
	}
}

static void
load_top(struct ctx *c, const config_setting_t *root, struct s48_config *cfg)
{
	static const char *const keys[] = { "database", "secret_file", "poll_interval",
		"ticket_tag", "log", "imap", "smtp", "sms", "departments", "default_department",
		"escalation", "outbox", "limits", "sla", "templates", "status_labels", NULL };
	static const char *const outbox_keys[] = { "max_attempts", NULL };
	static const char *const limits_keys[] = { "auto_replies_per_day", NULL };
	const config_setting_t *g;
	const char *p;

	check_keys(c, root, "", keys);
	if (get_string(c, root, "", "database", F_REQ, &cfg->database) == 1 &&
	    strcmp(cfg->database, ":memory:") != 0) {
		char *abs = util_path_join(cfg->dir, cfg->database);

		free(cfg->database);
		cfg->database = abs;
		if (c->check_secrets) {
			char *d = xstrdup(abs);
			char *slash = strrchr(d, '/');
			struct stat st;

			if (slash != NULL && slash != d)
				*slash = '\0';
			else if (slash == d)
				d[1] = '\0';
			else
				util_strlcpy(d, ".", strlen(d) + 1);
			if (stat(d, &st) < 0 || !S_ISDIR(st.st_mode))
				cerr(c, member(root, "database"), "database",
				    "directory %s does not exist", d);
			free(d);
		}
	}
	if (get_path(c, root, "", "secret_file", 1, cfg->dir, &cfg->secret_file,
	    &cfg->lines.secret_file) == 1)
		check_secret_file(c, member(root, "secret_file"), "secret_file", cfg->secret_file);
	else if (member(root, "secret_file") != NULL && cfg->secret_file == NULL &&
	    config_setting_type(member(root, "secret_file")) == CONFIG_TYPE_STRING)
		cerr(c, member(root, "secret_file"), "secret_file", "must not be empty");
	get_int_into(c, root, "", "poll_interval", 1, 86400, &cfg->poll_interval);
	if (get_string(c, root, "", "ticket_tag", F_NONEMPTY, &cfg->ticket_tag) == 1) {
		for (p = cfg->ticket_tag; *p != '\0' && isalnum((unsigned char)*p); p++)
			;
		if (*p != '\0' || strlen(cfg->ticket_tag) > 16)
			cerr(c, member(root, "ticket_tag"), "ticket_tag",
			    "\"%s\": only letters and digits (at most 16)", cfg->ticket_tag);
	}
	load_log(c, root, cfg);
	load_imap(c, root, cfg);
	load_smtp(c, root, cfg);
	load_sms(c, root, cfg);
	load_departments(c, root, cfg);
	load_default_dept(c, root, cfg);
	load_escalation(c, root, cfg);
	if ((g = get_group(c, root, "", "outbox")) != NULL) {
		check_keys(c, g, "outbox", outbox_keys);
		get_int_into(c, g, "outbox", "max_attempts", 1, 100, &cfg->outbox_max_attempts);
	}
	if ((g = get_group(c, root, "", "limits")) != NULL) {
		check_keys(c, g, "limits", limits_keys);
		get_int_into(c, g, "limits", "auto_replies_per_day", 0, 100000,
		    &cfg->auto_replies_per_day);
	}
	load_sla(c, root, cfg);
	load_templates(c, root, cfg);
	load_status_labels(c, root, cfg);
}

/* Defaults of config.h, set before the file is read. */
static void
set_defaults(struct s48_config *cfg)
{
	cfg->poll_interval = 60;
	cfg->ticket_tag = xstrdup("S48");
	cfg->log_level = LOG_LEVEL_INFO;
	cfg->log_syslog = 1;
	cfg->imap.port = 993;
	cfg->imap.tls = CFG_TLS_IMPLICIT;
	cfg->imap.mailbox = xstrdup("INBOX");
	cfg->imap.idle = 1;
	cfg->imap.max_message_bytes = 10485760;
	cfg->imap.ack_max_age_days = 7;
	cfg->smtp.tls_required = 1;
	cfg->smtp.connections = 4;
	cfg->sms.country_code = xstrdup("381");
	cfg->sms.ascii = 1;
	cfg->sms.max_segments = 2;
	cfg->sms.first_run_days = 2;
	cfg->sms.batch = 100;
	cfg->sms.timeout = 20;
	cfg->outbox_max_attempts = 8;
	cfg->auto_replies_per_day = 10;
	cfg->sla.hours = 48;
	cfg->sla.working_days = 0x3e;          /* Monday..Friday */
	cfg->sla.work_start_min = 7 * 60;
	cfg->sla.work_end_min = 15 * 60;
	cfg->sla.warn_hours = 8;
	cfg->sla.timezone = xstrdup("Europe/Belgrade");
	cfg->templates.sms_ack = xstrdup(tmpl_default_sms_ack);
	cfg->templates.sms_status = xstrdup(tmpl_default_sms_status);
	cfg->templates.sms_query = xstrdup(tmpl_default_sms_query);
	cfg->templates.sms_help = xstrdup(tmpl_default_sms_help);
	cfg->templates.email_ack = xstrdup(tmpl_default_email_ack);
	cfg->templates.email_status = xstrdup(tmpl_default_email_status);
	cfg->status_labels.open = xstrdup("primljena");
	cfg->status_labels.in_progress = xstrdup("u radu");
	cfg->status_labels.resolved = xstrdup("resena");
	cfg->status_labels.rejected = xstrdup("odbijena");
}

static char *
dir_of(const char *path)
{
	char *d = xstrdup(path);
	char *slash = strrchr(d, '/');
	char *abs;

	if (slash == NULL) {
		free(d);
		d = xstrdup(".");
	} else if (slash == d) {
		d[1] = '\0';
	} else {
		*slash = '\0';
	}
	abs = realpath(d, NULL);
	if (abs != NULL) {
		free(d);
		return abs;
	}
	return d;
}

/* An inline password puts a secret into the config file itself; mode is
 * the config file's, from fstat of the descriptor it was read from. */
static void
check_inline_passwords(struct ctx *c, const config_setting_t *root, const char *path,
    mode_t mode)
{
	static const char *const groups[] = { "imap", "smtp", NULL };
	static const struct { const char *grp, *sub, *key, *name; } urls[] = {
		{ "smtp", NULL, "url", "smtp.url" },
		{ "sms", NULL, "base_url", "sms.base_url" },
		{ "sms", "generic", "pull_url", "sms.generic.pull_url" },
		{ "sms", "generic", "ack_url", "sms.generic.ack_url" },
		{ "sms", "generic", "send_url", "sms.generic.send_url" },
		{ NULL, NULL, NULL, NULL },
	};
	size_t i;

	if (!c->check_secrets || (mode & S_IRWXO) == 0)
		return;
	for (i = 0; groups[i] != NULL; i++) {
		const config_setting_t *pw = member(member(root, groups[i]), "password");
		char key[CFG_KEY_MAX];

		if (pw == NULL)
			continue;
		kjoin(key, groups[i], "password");
		cerr(c, pw, key, "%s holds a password but is readable by others (mode %03o; "
		    "chmod o-rwx, or use password_file)", path, (unsigned)(mode & 0777));
	}
	/* "smtps://user:password@host" is an inline password too (libcurl sends it) */
	for (i = 0; urls[i].grp != NULL; i++) {
		const config_setting_t *g = member(root, urls[i].grp);
		const config_setting_t *u;
		const char *v;

		if (urls[i].sub != NULL)
			g = member(g, urls[i].sub);
		u = member(g, urls[i].key);
		if (u == NULL || (v = config_setting_get_string(u)) == NULL || !url_has_password(v))
			continue;
		cerr(c, u, urls[i].name, "%s holds a password in this URL but is readable by "
		    "others (mode %03o; chmod o-rwx, or use a password or key file)", path,
		    (unsigned)(mode & 0777));
	}
}

/*
 * libconfig stops at the first setting named twice in one group but names no
 * key.  Scan the file the same way (strings and comments skipped, groups and
 * lists nested) and return the path of the first repeated name, e.g.
 * "sla.hours" or "departments.[1].id"; 0, or -1 if none is found.
 */
#define DUP_DEPTH 16
#define DUP_NAMES 64

struct dup_scope {
	char label[64];
	int is_list, next_index;
	char names[DUP_NAMES][64];
	int n_names;
};

static int
duplicate_setting_path(const char *path, char *out, size_t outsz)
{
	struct dup_scope *sc;
	char *text = NULL, pending[64] = "";
	const char *err, *p;
	size_t len;
	int depth = 0, rc = -1, i;

	if (util_read_file(path, 1024 * 1024, &text, &len, &err) < 0)
		return -1;
	sc = xcalloc(DUP_DEPTH, sizeof(*sc));
	for (p = text; *p != '\0'; p++) {
		if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++)
				if (*p == '\\' && p[1] != '\0')
					p++;
			if (*p == '\0')
				break;
		} else if (*p == '#' || (*p == '/' && p[1] == '/')) {
			p += strcspn(p, "\n");
			if (*p == '\0')
				break;
		} else if (*p == '/' && p[1] == '*') {
			const char *e = strstr(p + 2, "*/");

			if (e == NULL)
				break;
			p = e + 1;
		} else if (*p == '{' || *p == '(') {
			struct dup_scope *up = &sc[depth];

			if (depth + 1 >= DUP_DEPTH)
				break;
			depth++;
			memset(&sc[depth], 0, sizeof(sc[depth]));
			sc[depth].is_list = *p == '(';
			if (pending[0] != '\0')
				util_strlcpy(sc[depth].label, pending, sizeof(sc[depth].label));
			else
				snprintf(sc[depth].label, sizeof(sc[depth].label), "[%d]",
				    up->next_index++);
			pending[0] = '\0';
		} else if (*p == '}' || *p == ')') {
			if (depth == 0)
				break;
			depth--;
			pending[0] = '\0';
		} else if (*p == '[') {
			pending[0] = '\0';     /* an array: scalars only, no names */
		} else if (isalpha((unsigned char)*p) || *p == '*') {
			const char *q;
			size_t n;

			for (n = 1; isalnum((unsigned char)p[n]) ||
			    (p[n] != '\0' && strchr("_-*", p[n]) != NULL); n++)
				;
			for (q = p + n; *q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'; q++)
				;
			if ((*q == '=' || *q == ':') && n < sizeof(pending) && !sc[depth].is_list) {
				struct dup_scope *cur = &sc[depth];

				memcpy(pending, p, n);
				pending[n] = '\0';
				for (i = 0; i < cur->n_names; i++)
					if (strcmp(cur->names[i], pending) == 0)
						break;
				if (i < cur->n_names) {
					size_t o = 0;

					out[0] = '\0';
					for (i = 1; i <= depth && o < outsz; i++)
						o += (size_t)snprintf(out + o, outsz - o, "%s.", sc[i].label);
					if (o < outsz)
						snprintf(out + o, outsz - o, "%s", pending);
					rc = 0;
					break;
				}
				if (cur->n_names < DUP_NAMES)
					util_strlcpy(cur->names[cur->n_names++], pending, 64);
				p = q;
				continue;
			}
			p += n - 1;
		}
	}
	free(sc);
	free(text);
	return rc;
}

int
config_load(const char *path, int check_secrets, struct s48_config **cfg_r, char **errors_r)
{
	struct s48_config *cfg = NULL;
	struct ctx c;
	config_t lc;
	struct stat st;
	FILE *f = NULL;
	int ch;

	*cfg_r = NULL;
	*errors_r = NULL;
	memset(&c, 0, sizeof(c));
	c.file = path;
	c.check_secrets = check_secrets;
	buf_init(&c.errs, CFG_ERRORS_MAX);
	config_init(&lc);

	/* libconfig's I/O error has no text worth showing: open it ourselves,
	 * once: the mode checked for inline passwords is the one of the file
	 * libconfig reads (the same descriptor) */
	if ((f = fopen(path, "re")) == NULL || fstat(fileno(f), &st) < 0) {
		(void)buf_appendf(&c.errs, "%s: cannot read: %s", path, strerror(errno));
		goto fail;
	}
	/* a directory opens but reads as libconfig's bare "file I/O error" */
	if ((ch = fgetc(f)) == EOF && ferror(f)) {
		(void)buf_appendf(&c.errs, "%s: cannot read: %s", path, strerror(errno));
		goto fail;
	}
	if (ch != EOF)
		(void)ungetc(ch, f);
	if (!config_read(&lc, f)) {
		char name[CFG_KEY_MAX];
		const char *ef = config_error_file(&lc) ? config_error_file(&lc) : path;

		/* libconfig names no key for a duplicate: find it in the file */
		if (config_error_text(&lc) != NULL &&
		    strcmp(config_error_text(&lc), "duplicate setting name") == 0 &&
		    duplicate_setting_path(ef, name, sizeof(name)) == 0)
			(void)buf_appendf(&c.errs, "%s:%d: %s: set twice in the same group", ef,
			    config_error_line(&lc), name);
		else
			(void)buf_appendf(&c.errs, "%s:%d: %s", ef, config_error_line(&lc),
			    config_error_text(&lc) ? config_error_text(&lc) : "cannot parse");
		goto fail;
	}
	cfg = xcalloc(1, sizeof(*cfg));
	cfg->path = xstrdup(path);
	cfg->dir = dir_of(path);
	set_defaults(cfg);
	load_top(&c, config_root_setting(&lc), cfg);
	check_inline_passwords(&c, config_root_setting(&lc), path, st.st_mode);
	if (c.n_errs > 0)
		goto fail;
	fclose(f);
	config_destroy(&lc);
	buf_free(&c.errs);
	*cfg_r = cfg;
	return 0;
fail:
	if (f != NULL)
		fclose(f);
	config_destroy(&lc);
	config_free(&cfg);
	*errors_r = buf_steal(&c.errs, NULL);
	buf_free(&c.errs);
	return -1;
}

static void
read_secret(struct ctx *c, unsigned line, const char *key, const char *path, char **out)
{
	const char *err;
	char *v = NULL;

	if (path == NULL)
		return;
	if (util_read_secret_file(path, &v, &err) < 0) {
		cerr_line(c, line, key, "%s", err);
		return;
	}
	if (v[0] == '\0') {
		cerr_line(c, line, key, "%s is empty", path);
		free(v);
		return;
	}
	free(*out);
	*out = v;
}

int
config_load_secrets(struct s48_config *cfg, char **errors_r)
{
	struct ctx c;

	*errors_r = NULL;
	memset(&c, 0, sizeof(c));
	c.file = cfg->path;
	c.check_secrets = 1;
	buf_init(&c.errs, CFG_ERRORS_MAX);
	read_secret(&c, cfg->lines.secret_file, "secret_file", cfg->secret_file, &cfg->secret);
	if (cfg->imap.enabled)
		read_secret(&c, cfg->lines.imap_password_file, "imap.password_file",
		    cfg->imap.password_file, &cfg->imap.password);
	if (cfg->smtp.enabled)
		read_secret(&c, cfg->lines.smtp_password_file, "smtp.password_file",
		    cfg->smtp.password_file, &cfg->smtp.password);
	if (cfg->sms.enabled)
		read_secret(&c, cfg->lines.sms_api_key_file, "sms.api_key_file",
		    cfg->sms.api_key_file, &cfg->sms.api_key);
	if (c.n_errs > 0) {
		*errors_r = buf_steal(&c.errs, NULL);
		buf_free(&c.errs);
		return -1;
	}
	buf_free(&c.errs);
	return 0;
}

/* Overwrite a secret before freeing it. */
static void
free_secret(char **s)
{
	if (*s != NULL) {
		explicit_bzero(*s, strlen(*s));
		xfree(s);
	}
}

void
config_free(struct s48_config **cfgp)
{
	struct s48_config *cfg = *cfgp;
	struct cfg_sms_generic *gn;
	size_t i;

	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->dir);
	free(cfg->database);
	free(cfg->secret_file);
	free_secret(&cfg->secret);
	free(cfg->ticket_tag);
	free(cfg->imap.host);
	free(cfg->imap.ca_file);
	free(cfg->imap.user);
	free(cfg->imap.password_file);
	free_secret(&cfg->imap.password);
	free(cfg->imap.mailbox);
	free(cfg->imap.processed_mailbox);
	free(cfg->smtp.url);
	free(cfg->smtp.ca_file);
	free(cfg->smtp.user);
	free(cfg->smtp.password_file);
	free_secret(&cfg->smtp.password);
	free(cfg->smtp.from);
	free(cfg->smtp.from_addr);
	free(cfg->sms.profile);
	free(cfg->sms.base_url);
	free(cfg->sms.api_key_file);
	free_secret(&cfg->sms.api_key);
	free(cfg->sms.account);
	free(cfg->sms.number);
	free(cfg->sms.country_code);
	gn = &cfg->sms.generic;
	free(gn->pull_url);
	free(gn->auth_header);
	free(gn->messages_path);
	free(gn->id_path);
	free(gn->from_path);
	free(gn->text_path);
	free(gn->time_path);
	free(gn->cursor_path);
	free(gn->ack_url);
	free(gn->send_url);
	free(gn->send_body);
	for (i = 0; i < cfg->n_depts; i++) {
		struct cfg_department *d = &cfg->depts[i];

		free(d->id);
		free(d->name);
		strlist_free(&d->email);
		strlist_free(&d->staff_emails);
		strlist_free(&d->sms);
		strlist_free(&d->staff_phones);
		strlist_free(&d->keywords);
	}
	free(cfg->depts);
	free(cfg->default_department);
	strlist_free(&cfg->escalation);
	strlist_free(&cfg->sla.holidays);
	free(cfg->sla.timezone);
	free(cfg->templates.sms_ack);
	free(cfg->templates.sms_status);
	free(cfg->templates.sms_query);
	free(cfg->templates.sms_help);
	free(cfg->templates.email_ack);
	free(cfg->templates.email_status);
	free(cfg->status_labels.open);
	free(cfg->status_labels.in_progress);
	free(cfg->status_labels.resolved);
	free(cfg->status_labels.rejected);
	free(cfg);
	*cfgp = NULL;
}

const struct cfg_department *
config_dept(const struct s48_config *cfg, const char *id, size_t *idx_r)
{
	size_t i;

	if (id == NULL)
		return NULL;
	for (i = 0; i < cfg->n_depts; i++)
		if (cfg->depts[i].id != NULL && strcmp(cfg->depts[i].id, id) == 0) {
			if (idx_r != NULL)
				*idx_r = i;
			return &cfg->depts[i];
		}
	return NULL;
}

const char *
config_status_label(const struct s48_config *cfg, const char *status)
{
	if (status == NULL)
		return "";
	if (strcmp(status, "open") == 0)
		return cfg->status_labels.open;
	if (strcmp(status, "in_progress") == 0)
		return cfg->status_labels.in_progress;
	if (strcmp(status, "resolved") == 0)
		return cfg->status_labels.resolved;
	if (strcmp(status, "rejected") == 0)
		return cfg->status_labels.rejected;
	return status;
}

const char *
config_default_path(void)
{
	const char *p = getenv("S48_CONFIG");

	return p != NULL && p[0] != '\0' ? p : "/etc/s48/s48.conf";
}

const char *
config_tls_name(enum cfg_tls tls)
{
	switch (tls) {
	case CFG_TLS_IMPLICIT: return "implicit";
	case CFG_TLS_STARTTLS: return "starttls";
	case CFG_TLS_NONE: return "none";
	}
	return "?";
}

static void
summary_calendar(struct buf *b, const struct cfg_sla *sla)
{
	static const char *const days[] = { "", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
	int d, first = 1;

	for (d = 1; d <= 7; d++)
		if (sla->working_days & (1u << d)) {
			(void)buf_appendf(b, "%s%s", first ? "" : ",", days[d]);
			first = 0;
		}
	(void)buf_appendf(b, " %02d:%02d-%02d:%02d", sla->work_start_min / 60,
	    sla->work_start_min % 60, sla->work_end_min / 60, sla->work_end_min % 60);
	if (sla->holidays.n > 0)
		(void)buf_appendf(b, ", %zu holiday%s", sla->holidays.n,
		    sla->holidays.n == 1 ? "" : "s");
}

char *
config_summary(const struct s48_config *cfg)
{
	struct buf b;
	size_t i;

	buf_init(&b, 1024 * 1024);
	(void)buf_appendf(&b, "config: %s\n", cfg->path);
	(void)buf_appendf(&b, "database: %s\n", cfg->database);
	/* the token of one department mail is HMAC(secret, N): from it a short
	 * secret can be found offline, and with it every ticket's token */
	if (cfg->secret != NULL && strlen(cfg->secret) < CFG_SECRET_MIN)
		(void)buf_appendf(&b, "secret: only %zu bytes: a staff token seen once lets a short "
		    "secret be guessed offline (use 32 random bytes, base64)\n",
		    strlen(cfg->secret));
	if (cfg->imap.enabled) {
		const struct cfg_imap *im = &cfg->imap;

		(void)buf_appendf(&b, "imap: %s://%s%s%s:%d%s %s -> ",
		    im->tls == CFG_TLS_IMPLICIT ? "imaps" : "imap",
		    strchr(im->host, ':') ? "[" : "", im->host, strchr(im->host, ':') ? "]" : "",
		    im->port,
		    im->tls == CFG_TLS_STARTTLS ? " (STARTTLS)" :
		    im->tls != CFG_TLS_NONE ? "" :
		    host_is_loopback(im->host, strlen(im->host)) ? " (no TLS)" :
		    " (NO TLS: the password crosses the network in clear)", im->mailbox);
		if (im->processed_mailbox != NULL)
			(void)buf_appendf(&b, "%s", im->processed_mailbox);
		else
			(void)buf_appends(&b, "(stays, marked \\Seen)");
		(void)buf_appendf(&b, "%s\n", im->idle ? ", IDLE" : "");
	} else {
		(void)buf_appends(&b, "imap: off (no email intake)\n");
	}
	if (cfg->smtp.enabled) {
		char *shown = url_shown(cfg->smtp.url);

		(void)buf_appendf(&b, "smtp: %s from %s, %d connection%s%s%s\n", shown,
		    cfg->smtp.from_addr, cfg->smtp.connections, cfg->smtp.connections == 1 ? "" : "s",
		    cfg->smtp.user != NULL ? ", AUTH" : "",
		    cfg->smtp.tls_required ? "" : strncasecmp(cfg->smtp.url, "smtps://", 8) == 0 ?
		    ", TLS (smtps:// is always verified)" : ", no TLS (loopback relay only)");
		free(shown);
	} else {
		(void)buf_appends(&b, "smtp: off (replies by email will fail)\n");
	}
	if (cfg->sms.enabled) {
		const struct cfg_sms *sms = &cfg->sms;
		const char *const urls[] = { sms->base_url, sms->generic.pull_url,
			sms->generic.send_url, sms->generic.ack_url };
		int clear = 0;
		char *shown;

		for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++)
			if (urls[i] != NULL && strncasecmp(urls[i], "http://", 7) == 0 &&
			    !url_host_is_loopback(urls[i]))
				clear = 1;
		shown = url_shown(sms->base_url != NULL ? sms->base_url :
		    sms->generic.pull_url != NULL ? sms->generic.pull_url : "");

		(void)buf_appendf(&b, "sms: %s %s%s number %s, %s, max %d segment%s\n", sms->profile,
		    shown,
		    clear ? " (NO TLS: the key, citizens' numbers and texts cross the network "
		    "in clear)" : "",
		    sms->number, sms->ascii ? "GSM-7" : "UCS-2 when needed", sms->max_segments,
		    sms->max_segments == 1 ? "" : "s");
		free(shown);
	} else {
		(void)buf_appends(&b, "sms: off (replies by SMS will fail)\n");
	}
	(void)buf_appendf(&b, "departments: %zu, default %s\n", cfg->n_depts,
	    cfg->default_department);
	for (i = 0; i < cfg->n_depts; i++) {
		const struct cfg_department *d = &cfg->depts[i];

		(void)buf_appendf(&b, "  %s: %s (%zu keyword%s, %zu email, %zu staff email, "
		    "%zu sms, %zu staff phone)\n", d->id, d->name, d->keywords.n,
		    d->keywords.n == 1 ? "" : "s", d->email.n, d->staff_emails.n, d->sms.n,
		    d->staff_phones.n);
	}
	(void)buf_appendf(&b, "sla: %d %s hours", cfg->sla.hours,
	    cfg->sla.has_calendar ? "working" : "wall-clock");
	if (cfg->sla.has_calendar) {
		(void)buf_appends(&b, " (");
		summary_calendar(&b, &cfg->sla);
		(void)buf_appends(&b, ")");
	}
	if (cfg->sla.warn_hours > 0)
		(void)buf_appendf(&b, ", warning %d h before", cfg->sla.warn_hours);
	(void)buf_appendf(&b, ", %s\n", cfg->sla.timezone);
	(void)buf_appends(&b, "escalation: ");
	for (i = 0; i < cfg->escalation.n; i++)
		(void)buf_appendf(&b, "%s%s", i ? ", " : "", cfg->escalation.v[i]);
	(void)buf_appendf(&b, "%s\n", cfg->escalation.n == 0 ? "none" : "");
	(void)buf_appendf(&b, "outbox: max %d attempts; auto replies: %d per day per sender\n",
	    cfg->outbox_max_attempts, cfg->auto_replies_per_day);
	(void)buf_appendf(&b, "log: %s to %s", cfg->log_level == LOG_LEVEL_DEBUG ? "debug" :
	    cfg->log_level == LOG_LEVEL_INFO ? "info" :
	    cfg->log_level == LOG_LEVEL_WARN ? "warn" : "err",
	    cfg->log_syslog ? "syslog" : "stderr");
	return buf_steal(&b, NULL);
}
