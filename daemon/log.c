/* log.c - syslog/stderr logging with levels and masking of citizen contacts. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

static enum log_level cur_level = LOG_LEVEL_INFO;
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
		/* phone: country code and operator prefix, last four digits */
		snprintf(buf, bufsz, "%.6s***%s", addr, addr + n - 4);
	} else {
		snprintf(buf, bufsz, "***");
	}
	return buf;
}
