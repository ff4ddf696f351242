/*
 * sla_watch.h - the 48-hour clock at work (SPEC section 5): one warning to
 * the department warn_hours before due_at, one escalation at due_at to the
 * department and the escalation addresses.  Tickets remember warned_at /
 * escalated_at, so nothing is repeated after a restart.  A reopen
 * (resolved/rejected -> open) re-arms both, once each per reopen (due_at is
 * kept); an assignment re-arms the warning, for the department that now
 * holds the ticket.  A department without email is told by SMS; a warning
 * no department can be told of goes to the escalation addresses.  Backlog
 * tickets (first-run mail) are never warned or escalated.  Escalations are
 * internal: never sent to citizens.
 */
#ifndef S48_SLA_WATCH_H
#define S48_SLA_WATCH_H

struct store;
struct s48_config;

/*
 * Queue the warnings and escalations that are due now, in transactions of
 * up to 10,000 tickets each until none is left.
 * Returns the number of notices queued (tickets), or -1 with *error_r.
 */
int sla_watch_run(struct store *st, const struct s48_config *cfg, const char **error_r);

/*
 * Queue a short internal notice (subject + body) to every escalation
 * address: emails by email, phone numbers by SMS (the subject made like
 * every SMS: GSM-7 with sms.ascii, within sms.max_segments, cut at a word
 * with "..." appended).  avoid_channel
 * ("email", "sms" or NULL) is skipped (the channel that is down).  Called
 * inside the caller's transaction.  Returns rows queued, or -1.
 */
int sla_watch_notify_escalation(struct store *st, const struct s48_config *cfg,
    long ticket_id, const char *kind, const char *subject, const char *body,
    const char *avoid_channel, const char **error_r);

#endif
