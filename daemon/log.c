/* log.c - syslog/stderr logging with levels and masking of citizen contacts. */
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

/* atomic: a reload (SIGHUP, main thread) sets it while the checkpoint and
 * IMAP threads may be logging */
static _Atomic enum log_level cur_level = LOG_LEVEL_INFO;
static int use_syslog;
static const char *log_ident = "s48";

void
log_init(const char *ident, enum log_level level, int to_syslog)
{
	if (use_syslog)
		closelog();
	log_ident = ident;
	cur_level = level;
	use_syslog = to_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_level(enum log_level level)
{
	cur_level = level;
}

enum log_level
log_get_level(void)
{
	return cur_level;
}

int
log_level_parse(const char *name)
{
	static const struct { const char *name; enum log_level lvl; } names[] = {
		{ "err", LOG_LEVEL_ERR }, { "error", LOG_LEVEL_ERR },
		{ "warn", LOG_LEVEL_WARN }, { "warning", LOG_LEVEL_WARN },
		{ "info", LOG_LEVEL_INFO }, { "debug", LOG_LEVEL_DEBUG },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i].name) == 0)
			return (int)names[i].lvl;
	return -1;
}

/*
 * Control characters in place: a CR or LF from a server's reply or a
 * message would start a forged line in a log read line by line (stderr into
 * the journal), ESC sequences would act on an operator's terminal.
 */
static void
log_clean(char *msg)
{
	unsigned char *p;

	for (p = (unsigned char *)msg; *p != '\0'; p++) {
		if ((*p < 0x20 && *p != '\t') || *p == 0x7F) {
			*p = '?';
		} else if (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F) {
			/* U+0080..U+009F: one '?' for the two bytes */
			memmove(p + 1, p + 2, strlen((char *)p + 2) + 1);
			*p = '?';
		}
	}
}

static void
vlog(enum log_level lvl, int with_errno, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *const tag[] = { "error", "warning", "info", "debug" };
	char msg[2048];
	int saved = errno;

	if (lvl > cur_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno) {
		size_t n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	}
	log_clean(msg);
	if (use_syslog) {
		syslog(prio[lvl], "%s", msg);
	} else {
		char ts[32];
		time_t now = time(NULL);
		struct tm tm;

		gmtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(stderr, "%s %s[%s]: %s\n", ts, log_ident, tag[lvl], msg);
	}
	errno = saved;
}

#define LOGFN(name, lvl, err)				\
void							\
name(const char *fmt, ...)				\
{							\
	va_list ap;					\
	va_start(ap, fmt);				\
	vlog(lvl, err, fmt, ap);			\
	va_end(ap);					\
}

LOGFN(log_warn, LOG_LEVEL_WARN, 1)
LOGFN(log_warnx, LOG_LEVEL_WARN, 0)
LOGFN(log_info, LOG_LEVEL_INFO, 0)
LOGFN(log_debug, LOG_LEVEL_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

const char *
log_mask(const char *addr, char *buf, size_t bufsz)
{
	const char *at;
	size_t n;

	if (bufsz == 0)
		return "";
	if (addr == NULL) {
		snprintf(buf, bufsz, "-");
		return buf;
	}
	if (cur_level >= LOG_LEVEL_DEBUG) {
		snprintf(buf, bufsz, "%s", addr);
		return buf;
	}
	n = strlen(addr);
	if ((at = strchr(addr, '@')) != NULL) {
		/* keep the first character of the local part and the domain */
		const char *dom = at + 1;
		if (strlen(dom) > 40)
			dom = dom + strlen(dom) - 40;
		snprintf(buf, bufsz, "%c***@%s", at == addr ? '?' : addr[0], dom);
	} else if (n > 9) {
		/* phone: country code and operator prefix, last four digits; at
		 * least three characters hidden ("+12025550123" -> "+1202***0123") */
		int head = n - 4 - 3 < 6 ? (int)(n - 4 - 3) : 6;

		snprintf(buf, bufsz, "%.*s***%s", head, addr, addr + n - 4);
	} else {
		snprintf(buf, bufsz, "***");
	}
	return buf;
}

/* A character that cannot be part of an address as servers quote them. */
static int
addr_stop(unsigned char c)
{
	return c <= 0x20 || c == 0x7F || strchr("<>:;,\"'()[]{}=/\\", c) != NULL;
}

/* Append what log_mask() makes of s[0..n) to b ("***" when it is too long). */
static void
mask_append(struct buf *b, const char *s, size_t n)
{
	char one[80], m[80];

	if (n >= sizeof(one)) {
		buf_appends(b, "***");
		return;
	}
	memcpy(one, s, n);
	one[n] = '\0';
	buf_appends(b, log_mask(one, m, sizeof(m)));
}

char *
log_mask_text(const char *text)
{
	struct buf b;
	const char *p, *e, *at, *d;

	if (text == NULL)
		return xstrdup("");
	if (cur_level >= LOG_LEVEL_DEBUG)
		return xstrdup(text);
	buf_init(&b, 2 * strlen(text) + 16);
	for (p = text; *p != '\0';) {
		if (p == text || addr_stop((unsigned char)p[-1])) {
			/* a word: an address when it has a local part and a domain */
			for (e = p; *e != '\0' && !addr_stop((unsigned char)*e); e++)
				;
			while (e > p && e[-1] == '.')
				e--;    /* "... to jovana@example.net." */
			at = memchr(p, '@', (size_t)(e - p));
			if (at != NULL && at > p && at + 1 < e) {
				mask_append(&b, p, (size_t)(e - p));
				p = e;
				continue;
			}
		}
		d = p + (*p == '+');
		if (*d >= '0' && *d <= '9' && (p == text || !(p[-1] >= '0' && p[-1] <= '9'))) {
			for (e = d; *e >= '0' && *e <= '9'; e++)
				;
			if (e - d >= 8)
				mask_append(&b, p, (size_t)(e - p));
			else
				buf_append(&b, p, (size_t)(e - p));
			p = e;
			continue;
		}
		buf_append(&b, p, 1);
		p++;
	}
	return buf_steal(&b, NULL);
}
