/*
 * log.h - logging to syslog or stderr, OpenSMTPD style.
 *
 * log_warn() appends strerror(errno); log_warnx() does not.  fatal()/fatalx()
 * are for broken invariants only: they log and exit(1).
 * At level info nothing may print a citizen's full phone number or address:
 * pass such values through log_mask(), and text from outside that may
 * quote them (server replies) through log_mask_text().  Every control
 * character in a line (C0 but TAB, DEL, UTF-8 encoded C1: CR, LF, ESC...)
 * is written as '?', so text from a message cannot forge a log line.
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

/*
 * A copy of text (a server's reply, an SMS gateway's error message) with
 * every email address and every phone number in it masked as log_mask()
 * masks them: "The 'To' number +381641234567 is not a valid phone number"
 * -> "The 'To' number +38164***4567 is not ...".  A phone number here is a
 * run of at least 8 digits, with an optional '+' before it.  At debug level
 * an unmasked copy.  Caller frees.
 */
char *log_mask_text(const char *text);

#endif
