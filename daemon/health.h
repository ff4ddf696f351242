/*
 * health.h - source and sender health (SPEC section 5): when a source (IMAP,
 * SMS gateway) or a sender (SMTP, SMS gateway) has failed for an hour, one
 * alert goes to the escalation addresses by whichever channel still works
 * (a failing sender's channel is left out), and one more when it recovers,
 * by every channel (the recovered one included).  The state lives in source_state
 * ("health.NAME.since", "health.NAME.alerted") so a restart neither repeats
 * nor forgets an alert.
 */
#ifndef S48_HEALTH_H
#define S48_HEALTH_H

struct store;
struct s48_config;

enum health_part { HEALTH_IMAP, HEALTH_SMS_PULL, HEALTH_SMTP, HEALTH_SMS_SEND, HEALTH_N };

#define HEALTH_ALERT_AFTER 3600

/*
 * Record the outcome of one attempt of part (ok = 1 success, 0 failure;
 * what: the error, logged and put into the alert).  Queues the alert or the
 * recovery notice when due.  Returns 0 or -1 on a storage error.
 */
int health_report(struct store *st, const struct s48_config *cfg, enum health_part part,
    int ok, const char *what, const char **error_r);

const char *health_part_name(enum health_part part);

#endif
