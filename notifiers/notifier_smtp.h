/*
 * notifier_smtp.h - send one composed message (mail_compose.h) over SMTP
 * with libcurl: smtps:// (implicit TLS) or smtp:// with STARTTLS required
 * unless smtp.tls = "none"; peer and host always verified.
 *
 * One libcurl handle is kept between sends so a run of outbox rows reuses
 * one connection; every send sets all options anew, so a config reloaded
 * by SIGHUP takes effect at the next send.  Call notifier_smtp_close()
 * after a run (the server would otherwise see an idle connection until
 * its timeout) and before exit.  Not thread-safe: one sender thread.
 *
 * The EHLO name is libcurl's: give one as the URL's path if the relay
 * cares ("smtp://mail.example.org:587/s48.example.org").
 *
 * enum notify_result is shared by every notifier (SMS too).
 */
#ifndef S48_NOTIFIER_SMTP_H
#define S48_NOTIFIER_SMTP_H

#include <stddef.h>

#include "config.h"

#ifndef S48_NOTIFY_RESULT_DEFINED
#define S48_NOTIFY_RESULT_DEFINED
/* Outcome of one send attempt, for the outbox row. */
enum notify_result {
	NOTIFY_OK = 0,          /* accepted by the server: row -> sent */
	NOTIFY_TEMPFAIL = 1,    /* try again later (backoff) */
	NOTIFY_PERMFAIL = 2     /* never try again: row -> failed */
};
#endif

/*
 * Send data (len bytes, a complete RFC 5322 message with CRLF line ends,
 * not dot-stuffed) to rcpt (a bare address) with envelope sender
 * cfg->from_addr.  Returns an enum notify_result; *reason_r is always set
 * to a short one-line text for the outbox row (caller frees): "250 ..."
 * on success, the server's reply or the transport error otherwise; any
 * address the server quoted is masked like log_mask() does ("j***@...").
 *
 * Timeouts: 10 s to connect, 60 s plus 1 s per 50 kB for the whole
 * transaction, and a stall of 30 s aborts.
 *
 * Classification: an SMTP 5xx reply to MAIL, RCPT, DATA or the message
 * itself -> PERMFAIL; 4xx -> TEMPFAIL; connection, timeout, TLS (including
 * certificate verification), AUTH failures and server errors before MAIL
 * -> TEMPFAIL (an operator can fix them; the message is not at fault);
 * an invalid rcpt or a config that is not enabled -> PERMFAIL; set
 * s48_stop_requested -> TEMPFAIL "interrupted".
 */
int notifier_smtp_send(const struct cfg_smtp *cfg, const char *rcpt, const char *data,
    size_t len, char **reason_r);

/*
 * s with the local part of every address in it cut to its first character
 * ("550 <jovana@example.net>: unknown" -> "550 <j***@example.net>: unknown").
 * Used for reasons; caller frees.
 */
char *notifier_smtp_mask(const char *s);

/* Override the timeouts above (seconds; 0 = the default).  For tests. */
void notifier_smtp_set_timeouts(long connect_s, long total_s, long stall_s);

/* Release the kept connection and handle (safe to call when none). */
void notifier_smtp_close(void);

#endif
