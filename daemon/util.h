/*
 * util.h - small helpers shared by every module: allocation that aborts on
 * OOM, a bounded growable buffer, file and secret reading, hashes, times.
 */
#ifndef S48_UTIL_H
#define S48_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "log.h"

/* Allocation: abort (fatalx) on out of memory; never return NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);            /* xstrdup(NULL) returns NULL */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) S48_PRINTF(1, 2);
/* free(*p) and set *p = NULL */
void xfree(void *pp);

/*
 * Growable byte buffer with a hard maximum (curl's dynbuf "toobig").
 * data is always NUL-terminated (the NUL is not counted in len).
 */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;        /* appends that would exceed max fail */
};
void buf_init(struct buf *b, size_t max);
/* 0 on success, -1 if the result would exceed b->max (buffer unchanged). */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_appends(struct buf *b, const char *s);
int buf_appendf(struct buf *b, const char *fmt, ...) S48_PRINTF(2, 3);
int buf_appendc(struct buf *b, char c);
void buf_reset(struct buf *b);
/* Hand over data (caller frees, never NULL); the buffer is reset. */
char *buf_steal(struct buf *b, size_t *len_r);
void buf_free(struct buf *b);

/*
 * Read a whole file of at most max bytes.  Returns 0, or -1 with *error_r
 * set to a static-or-allocated-by-callee message (owned by callee; valid
 * until the next call).  *data_r is NUL-terminated, caller frees.
 */
int util_read_file(const char *path, size_t max, char **data_r, size_t *len_r,
    const char **error_r);
/*
 * Read a secret file (password, key): refused when it is not a regular file
 * or is readable or writable by group or others (OpenSMTPD
 * check_file_secrecy); the trailing newline ("\n" or "\r\n") is removed.
 * The file is opened once and checked with fstat on that descriptor, then
 * read from it (no window between check and read); symbolic links are
 * followed and the file they lead to is checked.  Returns 0 or -1 with
 * *error_r (static, valid until the next call).
 */
int util_read_secret_file(const char *path, char **secret_r, const char **error_r);
/* The same opening and checks without reading: 0 when the file opens for
 * reading, is regular and has no group/other permission bits, else -1 with
 * *error_r ("PATH: <strerror>", "PATH: not a regular file" or "PATH: must
 * not be accessible by group or others (mode NNN; chmod 600)"). */
int util_check_secrecy(const char *path, const char **error_r);

/* Path relative to dir unless absolute or dir is NULL; caller frees. */
char *util_path_join(const char *dir, const char *path);

/* sha256 of data as 64 lower-case hex digits + NUL. */
void util_sha256_hex(const void *data, size_t len, char out[65]);
/* HMAC-SHA256 as 64 hex digits + NUL. */
void util_hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t len,
    char out[65]);

/* UTC ISO 8601 "2026-11-24T10:00:00Z"; t == 0 gives "". */
void util_iso8601(time_t t, char out[32]);
/*
 * Parse ISO 8601 / RFC 3339 times: "2026-11-24T10:00:00Z",
 * "2026-11-24T10:00:00.000+0000", "2026-11-24T10:00:00+01:00",
 * "2026-11-24 10:00:00" (UTC).  Returns -1 on failure.
 */
time_t util_parse_iso8601(const char *s);
/* RFC 2822 date ("Tue, 24 Nov 2026 10:00:00 +0000"); -1 on failure. */
time_t util_parse_rfc2822(const char *s);
/* UTC broken-down time -> time_t (timegm). */
time_t util_timegm(struct tm *tm);

/* Current time; overridable for tests through S48_NOW=<unix seconds>. */
time_t util_now(void);

/* Milliseconds of CLOCK_MONOTONIC: for timeouts and intervals (not S48_NOW). */
long long util_mono_ms(void);

/* strlcpy/strlcat semantics. */
size_t util_strlcpy(char *dst, const char *src, size_t size);

/* Lower-case ASCII in place; returns s. */
char *util_lower_ascii(char *s);
/* The value of hex digit c (either case), or -1.  Inline: decoders call it per byte. */
static inline int
util_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 1 if NUL-terminated s holds a byte >= 0x80. */
static inline int
util_has_8bit(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

/* Remove CR, LF, NUL-replacements and other C0 controls (tab becomes space)
 * from a string destined for a header: returns a new string. */
char *util_header_safe(const char *s);

/*
 * Set by s48d's SIGTERM/SIGINT handler: long operations (HTTP, SMTP, IMAP
 * IDLE) check it and give up promptly, leaving their work for next time.
 * Atomic, not only volatile: the handler runs on the main thread while the
 * IMAP pump and parse-ahead threads read it (a plain volatile int read by
 * another thread is a data race in C11, and ThreadSanitizer says so); a
 * lock-free atomic is as safe in a signal handler as sig_atomic_t.
 */
#include <signal.h>  /* sig_atomic_t */
extern volatile _Atomic sig_atomic_t s48_stop_requested;

/*
 * Staff token for ticket id: the first 16 hex digits of
 * HMAC-SHA256(secret, decimal id).  Only s48d computes it (s48ctl never
 * reads the secret).  out must hold 17 bytes.
 */
void util_staff_token(const char *secret, long id, char out[17]);

#endif
