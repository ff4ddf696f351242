/* util.c - allocation, bounded buffers, files, hashes and time parsing. */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		fatalx("out of memory (%zu bytes)", n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		fatalx("out of memory");
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		fatalx("out of memory (%zu bytes)", n);
	return q;
}

char *
xstrdup(const char *s)
{
	return s == NULL ? NULL : xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p;
	size_t l = strnlen(s, n);

	p = xmalloc(l + 1);
	memcpy(p, s, l);
	p[l] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		fatalx("out of memory");
	va_end(ap);
	return s;
}

void
xfree(void *pp)
{
	void **p = pp;

	free(*p);
	*p = NULL;
}

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

static int
buf_grow(struct buf *b, size_t need)
{
	size_t cap;

	/* need + 1 for the NUL must not wrap, whatever max is (SIZE_MAX too) */
	if (need > b->max || need == SIZE_MAX)
		return -1;
	if (need < b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need + 1) {
		if (cap > SIZE_MAX / 2) {
			cap = need + 1;
			break;
		}
		cap *= 2;
	}
	if (b->max < SIZE_MAX && cap > b->max + 1)
		cap = b->max + 1;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
	return 0;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (n > b->max || b->len > b->max - n)
		return -1;
	if (buf_grow(b, b->len + n) < 0)
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_appends(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_appendc(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

int
buf_appendf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256], *big = NULL;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(small))
		return buf_append(b, small, (size_t)n);
	va_start(ap, fmt);
	if (vasprintf(&big, fmt, ap) < 0)
		fatalx("out of memory");
	va_end(ap);
	r = buf_append(b, big, (size_t)n);
	free(big);
	return r;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

char *
buf_steal(struct buf *b, size_t *len_r)
{
	char *p = b->data;

	if (p == NULL)
		p = xstrdup("");
	if (len_r)
		*len_r = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Read fd to its end, at most max bytes; path names it in messages. */
static int
read_fd(int fd, const char *path, size_t max, char **data_r, size_t *len_r, char *err,
    size_t errsz)
{
	struct buf b;
	char chunk[8192];
	ssize_t n;

	buf_init(&b, max);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		if (buf_append(&b, chunk, (size_t)n) < 0) {
			snprintf(err, errsz, "%s: larger than %zu bytes", path, max);
			goto fail;
		}
	}
	*data_r = buf_steal(&b, len_r);
	return 0;
fail:
	buf_free(&b);
	return -1;
}

int
util_read_file(const char *path, size_t max, char **data_r, size_t *len_r,
    const char **error_r)
{
	static char err[512];
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, sizeof(err), "%s: %s", path, strerror(errno));
		*error_r = err;
		return -1;
	}
	rc = read_fd(fd, path, max, data_r, len_r, err, sizeof(err));
	close(fd);
	if (rc < 0)
		*error_r = err;
	return rc;
}

/*
 * Open a secret file once and check what was opened: the mode check and
 * the read then concern the same file, whatever is renamed or replaced at
 * the path meanwhile.  Symbolic links are followed (no O_NOFOLLOW): an
 * operator's link to /run/secrets/... or a Kubernetes secret volume (links
 * into ..data/) is the usual way to hand a daemon its secrets, and the check
 * is made on the file the link leads to, the one read.  O_NONBLOCK: a FIFO
 * at the path must not hang the open (it is then refused as not a regular
 * file).  Returns the descriptor, or -1 with err set.
 */
static int
open_secret(const char *path, char *err, size_t errsz)
{
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "%s: not a regular file", path);
		goto fail;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errsz,
		    "%s: must not be accessible by group or others (mode %03o; chmod 600)",
		    path, (unsigned)(st.st_mode & 0777));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

int
util_check_secrecy(const char *path, const char **error_r)
{
	static char err[512];
	int fd;

	if ((fd = open_secret(path, err, sizeof(err))) < 0) {
		*error_r = err;
		return -1;
	}
	close(fd);
	return 0;
}

int
util_read_secret_file(const char *path, char **secret_r, const char **error_r)
{
	static char err[512];
	char *data;
	size_t len;
	int fd, rc;

	if ((fd = open_secret(path, err, sizeof(err))) < 0) {
		*error_r = err;
		return -1;
	}
	rc = read_fd(fd, path, 64 * 1024, &data, &len, err, sizeof(err));
	close(fd);
	if (rc < 0) {
		*error_r = err;
		return -1;
	}
	if (len > 0 && data[len - 1] == '\n')
		data[--len] = '\0';
	if (len > 0 && data[len - 1] == '\r')
		data[--len] = '\0';
	*secret_r = data;
	return 0;
}

char *
util_path_join(const char *dir, const char *path)
{
	if (path == NULL)
		return NULL;
	if (path[0] == '/' || dir == NULL || dir[0] == '\0' || path[0] == '\0')
		return xstrdup(path);
	return xasprintf("%s/%s", dir, path);
}

static void
hex(const unsigned char *d, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * n] = '\0';
}

void
util_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char d[32];

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, d) < 0)
		fatalx("gnutls_hash_fast failed");
	hex(d, 32, out);
}

void
util_hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t len,
    char out[65])
{
	unsigned char d[32];

	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, keylen, data, len, d) < 0)
		fatalx("gnutls_hmac_fast failed");
	hex(d, 32, out);
}

time_t
util_timegm(struct tm *tm)
{
	return timegm(tm);
}

void
util_iso8601(time_t t, char out[32])
{
	struct tm tm;

	if (t == 0) {
		out[0] = '\0';
		return;
	}
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int
digits(const char **s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)**s))
			return -1;
		*v = *v * 10 + (**s - '0');
		(*s)++;
	}
	return 0;
}

time_t
util_parse_iso8601(const char *s)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, se = 0, oh, om, sign;
	time_t t;

	if (s == NULL)
		return -1;
	while (isspace((unsigned char)*s))
		s++;
	if (digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) || *s++ != '-' ||
	    digits(&s, 2, &d))
		return -1;
	if (*s == 'T' || *s == 't' || *s == ' ') {
		s++;
		if (digits(&s, 2, &h) || *s++ != ':' || digits(&s, 2, &mi))
			return -1;
		if (*s == ':') {
			s++;
			if (digits(&s, 2, &se))
				return -1;
			if (*s == '.' || *s == ',') {
				s++;
				while (isdigit((unsigned char)*s))
					s++;
			}
		}
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	t = timegm(&tm);
	if (*s == '\0' || *s == 'Z' || *s == 'z')
		return t;
	if (*s != '+' && *s != '-')
		return -1;
	sign = *s++ == '+' ? 1 : -1;
	if (digits(&s, 2, &oh))
		return -1;
	if (*s == ':')
		s++;
	if (*s == '\0')
		om = 0;
	else if (digits(&s, 2, &om))
		return -1;
	return t - sign * (oh * 3600 + om * 60);
}

time_t
util_parse_rfc2822(const char *s)
{
	static const char *months[] = { "jan", "feb", "mar", "apr", "may", "jun",
		"jul", "aug", "sep", "oct", "nov", "dec" };
	struct tm tm;
	char mon[4];
	int d, y, h, mi, se = 0, off = 0, n = 0, i;
	char zone[16] = "";
	const char *p;

	if (s == NULL)
		return -1;
	/* skip an optional day name "Tue," */
	if ((p = strchr(s, ',')) != NULL && p - s < 10)
		s = p + 1;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, " %d %3s %d %d:%d:%d %15s%n", &d, mon, &y, &h, &mi, &se, zone, &n) < 6) {
		se = 0;
		zone[0] = '\0';
		if (sscanf(s, " %d %3s %d %d:%d %15s", &d, mon, &y, &h, &mi, zone) < 5)
			return -1;
	}
	for (i = 0; i < 12; i++)
		if (strncasecmp(mon, months[i], 3) == 0)
			break;
	if (i == 12)
		return -1;
	if (y < 100)
		y += y < 50 ? 2000 : 1900;
	tm.tm_year = y - 1900;
	tm.tm_mon = i;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	if ((zone[0] == '+' || zone[0] == '-') && strlen(zone) >= 5 &&
	    isdigit((unsigned char)zone[1])) {
		int hh = (zone[1] - '0') * 10 + (zone[2] - '0');
		int mm = (zone[3] - '0') * 10 + (zone[4] - '0');
		off = (hh * 3600 + mm * 60) * (zone[0] == '+' ? 1 : -1);
	}
	return timegm(&tm) - off;
}

time_t
util_now(void)
{
	const char *e = getenv("S48_NOW");

	if (e != NULL && *e != '\0')
		return (time_t)strtoll(e, NULL, 10);
	return time(NULL);
}

long long
util_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

size_t
util_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size) {
		size_t c = n >= size ? size - 1 : n;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

char *
util_lower_ascii(char *s)
{
	char *p;

	for (p = s; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return s;
}

char *
util_header_safe(const char *s)
{
	char *out, *q;

	if (s == NULL)
		return xstrdup("");
	out = q = xmalloc(strlen(s) + 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\t' || c == '\r' || c == '\n')
			c = ' ';
		else if (c < 0x20 || c == 0x7f)
			continue;
		*q++ = (char)c;
	}
	*q = '\0';
	return out;
}

volatile _Atomic sig_atomic_t s48_stop_requested;

void
util_staff_token(const char *secret, long id, char out[17])
{
	char num[32], full[65];
	int n = snprintf(num, sizeof(num), "%ld", id);

	util_hmac_sha256_hex(secret, strlen(secret), num, (size_t)n, full);
	memcpy(out, full, 16);
	out[16] = '\0';
}
