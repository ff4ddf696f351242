/*
 * notifier_smtp.h - send one composed message (mail_compose.h) over SMTP
 * with libcurl: smtps:// (implicit TLS) or smtp:// with STARTTLS required
 * unless smtp.tls = "none"; peer and host always verified.
 *
 * Connections are kept between sends so a run of outbox rows reuses them;
 * every send sets all options anew, so a config reloaded by SIGHUP takes
 * effect at the next send.  notifier_smtp_start()/notifier_smtp_wait() keep
 * several messages in flight, one per connection (smtp.connections);
 * notifier_smtp_send() is one message, start to end.  Call
 * notifier_smtp_close() after a run (the server would otherwise see idle
 * connections until its timeout) and before exit.  Not thread-safe: one
 * sender thread.
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

/* The most messages in flight (and connections) notifier_smtp_start() allows. */
#define NOTIFIER_SMTP_CONNS_MAX 16

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
 * Start sending data to rcpt like notifier_smtp_send(), on one of at most
 * conns connections (1..NOTIFIER_SMTP_CONNS_MAX), and return at once.
 * data must stay valid until the message's outcome comes back from
 * notifier_smtp_wait() with tag.  Returns 1 when started; 0 when the
 * outcome is known at once (a check failed, or all conns are busy): then
 * *result_r (enum notify_result) and *reason_r (caller frees) are set.
 */
int notifier_smtp_start(const struct cfg_smtp *cfg, int conns, const char *rcpt,
    const char *data, size_t len, void *tag, int *result_r, char **reason_r);

/*
 * Wait for one started message to finish: 1 with its tag, *result_r and
 * *reason_r (as notifier_smtp_send() gives them; caller frees), or 0 when
 * none is in flight.  *before_mail_r (unless NULL) is 1 when that message
 * failed before MAIL FROM (connecting, the greeting, EHLO, STARTTLS, AUTH):
 * the connection failed, not the message; else 0.  A stop
 * (s48_stop_requested) ends every message in flight within ~0.1 s as
 * TEMPFAIL "interrupted".
 */
int notifier_smtp_wait(void **tag_r, int *result_r, char **reason_r, int *before_mail_r);

/*
 * 1 when notifier_smtp_start() with conns can start a message now: a
 * connection is free and no failure is waiting for the messages in flight
 * to end (after a failed message every connection is closed once none is
 * in flight, so that no message inherits the state of a broken one).
 */
int notifier_smtp_ready(int conns);

/* How many started messages have not come back from notifier_smtp_wait(). */
int notifier_smtp_in_flight(void);

/*
 * s with the local part of every address in it cut to its first character
 * ("550 <jovana@example.net>: unknown" -> "550 <j***@example.net>: unknown").
 * Used for reasons; caller frees.
 */
char *notifier_smtp_mask(const char *s);

/* Override the timeouts above (seconds; 0 = the default).  For tests. */
void notifier_smtp_set_timeouts(long connect_s, long total_s, long stall_s);

/* Close the kept connections and abandon messages in flight (safe when none). */
void notifier_smtp_close(void);

#endif
