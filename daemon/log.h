/*
 * log.h - logging to syslog or stderr, OpenSMTPD style.
 *
 * log_warn() appends strerror(errno); log_warnx() does not.  fatal()/fatalx()
 * are for broken invariants only: they log and exit(1).
 * At level info nothing may print a citizen's full phone number or address:
 * pass such values through log_mask().
 */
#ifndef S48_LOG_H
#define S48_LOG_H

#include <stddef.h>

enum log_level { LOG_LEVEL_ERR = 0, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

#define S48_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* to_syslog: 1 = syslog(LOG_DAEMON), 0 = stderr.  Safe to call again (SIGHUP). */
void log_init(const char *ident, enum log_level level, int to_syslog);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* "err" "warn"/"warning" "info" "debug" -> level; -1 if unknown */
int log_level_parse(const char *name);

void log_warn(const char *fmt, ...) S48_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) S48_PRINTF(1, 2);
void log_info(const char *fmt, ...) S48_PRINTF(1, 2);
void log_debug(const char *fmt, ...) S48_PRINTF(1, 2);
void fatal(const char *fmt, ...) S48_PRINTF(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) S48_PRINTF(1, 2) __attribute__((noreturn));

/*
 * Mask a phone number or email address for logs at info level:
 * "+381641234567" -> "+38164***4567", "jovana@example.org" -> "j***@example.org".
 * At debug level the value is returned unmasked.  Writes into buf (size
 * bufsz, 64 is always enough for the masked form) and returns buf.
 */
const char *log_mask(const char *addr, char *buf, size_t bufsz);

#endif
