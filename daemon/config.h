/*
 * config.h - the whole s48 configuration (SPEC section 6) in one struct.
 *
 * config_load() parses a libconfig file, fills in defaults and validates
 * everything; every error is reported as "file:line: key: message", all of
 * them, not just the first.  Strings are UTF-8 and owned by the struct.
 * Relative paths are already resolved against the config file's directory.
 */
#ifndef S48_CONFIG_H
#define S48_CONFIG_H

#include <stddef.h>
#include <time.h>

enum cfg_tls { CFG_TLS_IMPLICIT, CFG_TLS_STARTTLS, CFG_TLS_NONE };

struct strlist {
	char **v;
	size_t n;
};

struct cfg_department {
	char *id;
	char *name;
	struct strlist email;           /* notification addresses (lower-cased) */
	struct strlist staff_emails;    /* may send staff commands (lower-cased) */
	struct strlist sms;             /* short SMS per new ticket (E.164) */
	struct strlist staff_phones;    /* may send "#N STATUS" (E.164) */
	struct strlist keywords;        /* as written in the config */
};

struct cfg_imap {
	int enabled;                    /* 0 when the imap group is absent */
	char *host;
	int port;                       /* default 993 implicit, 143 otherwise */
	enum cfg_tls tls;               /* default implicit */
	char *ca_file;                  /* NULL if empty */
	char *user;
	char *password_file;            /* NULL if password given inline */
	char *password;                 /* loaded by config_load_secrets() */
	char *mailbox;                  /* default "INBOX" */
	char *processed_mailbox;        /* NULL: set \Seen and track UIDs */
	int idle;                       /* default 1 */
	long max_message_bytes;         /* default 10485760 */
	int ack_max_age_days;           /* default 7 */
};

struct cfg_smtp {
	int enabled;
	char *url;                      /* smtp://, smtps:// */
	int tls_required;               /* tls = "required" (default) | "none" */
	char *ca_file;
	char *user;                     /* NULL: no AUTH */
	char *password_file;
	char *password;                 /* loaded by config_load_secrets() */
	char *from;                     /* "Sistem 48 <prijave@example.org>" */
	char *from_addr;                /* "prijave@example.org", lower-cased */
	int connections;                /* messages in flight at once, 1..16, default 4 */
};

struct cfg_sms_generic {
	char *pull_url, *auth_header, *messages_path, *id_path, *from_path;
	char *text_path, *time_path, *cursor_path, *ack_url, *send_url, *send_body;
};

struct cfg_sms {
	int enabled;
	char *profile;                  /* "infobip" | "twilio" | "generic" */
	char *base_url;
	char *api_key_file;
	char *api_key;                  /* loaded by config_load_secrets() */
	char *account;                  /* twilio Account SID */
	char *number;                   /* ours, E.164 */
	char *country_code;             /* default "381" */
	int ascii;                      /* default 1 */
	int max_segments;               /* default 2 */
	int first_run_days;             /* default 2 */
	int batch;                      /* default 100 */
	int timeout;                    /* seconds, default 20 */
	struct cfg_sms_generic generic;
};

struct cfg_sla {
	int hours;                      /* default 48 */
	int has_calendar;               /* working_days or working_hours given */
	unsigned working_days;          /* bit d set for ISO weekday d (1=Mon..7=Sun) */
	int work_start_min, work_end_min;   /* minutes after local midnight */
	struct strlist holidays;        /* "YYYY-MM-DD", local dates */
	int warn_hours;                 /* default 8; 0 disables the warning */
	char *timezone;                 /* default "Europe/Belgrade"; checked to exist */
};

struct cfg_templates {
	/* each always set: from the config or the built-in Serbian default */
	char *sms_ack, *sms_status, *sms_query, *sms_help, *email_ack, *email_status;
};

struct cfg_status_labels {
	char *open, *in_progress, *resolved, *rejected;   /* defaults: SPEC section 6 */
};

struct s48_config {
	char *path;                     /* the file loaded */
	char *dir;                      /* its directory */
	char *database;
	char *secret_file;
	char *secret;                   /* loaded by config_load_secrets() */
	int poll_interval;              /* default 60 */
	char *ticket_tag;               /* default "S48" */
	int log_level;                  /* enum log_level, default info */
	int log_syslog;                 /* target: 1 syslog (default), 0 stderr */
	struct cfg_imap imap;
	struct cfg_smtp smtp;
	struct cfg_sms sms;
	struct cfg_department *depts;
	size_t n_depts;
	char *default_department;
	size_t default_dept;            /* index into depts */
	struct strlist escalation;
	int outbox_max_attempts;        /* default 8 */
	int auto_replies_per_day;       /* default 10 */
	struct cfg_sla sla;
	struct cfg_templates templates;
	struct cfg_status_labels status_labels;
	/* source lines of the secret keys, for config_load_secrets() messages */
	struct {
		unsigned secret_file, imap_password_file, smtp_password_file, sms_api_key_file;
	} lines;
};

/*
 * Notes on the schema (SPEC sections 6 and 7), beyond the SPEC text:
 * - required: database, secret_file, departments (at least one, each with
 *   id [a-z0-9_-] and name); inside imap: host, user, password or
 *   password_file; inside smtp: url, from; inside sms: profile, number and
 *   the profile's keys (infobip: base_url, api_key_file; twilio: account,
 *   api_key_file, base_url defaults to https://api.twilio.com; generic: the
 *   generic group's pull_url, messages_path, id_path, from_path, text_path,
 *   send_url, send_body, and api_key_file when auth_header uses {key}).
 * - default_department: when left out, the first department.
 * - smtp.tls = "none" sends in clear (and AUTH in clear): meant for a relay
 *   on loopback only.
 * - sla: working_days without working_hours means whole days (00:00-24:00);
 *   working_hours without working_days means Monday to Friday; holidays
 *   need one of them.  warn_hours must be below hours.
 * - escalation entries: email addresses (lower-cased) or mobile numbers
 *   (normalised to E.164).
 * - department sms/staff_phones and sms.number are normalised to E.164 with
 *   sms.country_code (default "381", also when sms is left out).
 * - an inline imap/smtp password is kept in password at load time; the
 *   config file must then not be readable by others (checked with
 *   check_secrets).
 * - templates may use {id} {status} {department} {note} {created} {due}
 *   {text}; any other {word} is an error.
 *
 * Load and validate path.  Secrets are not read (s48ctl never reads them),
 * but secret/password/key files are checked for existence and secrecy when
 * check_secrets is set (s48d, --check-config).
 * Returns 0 and *cfg_r, or -1 and *errors_r: one error per line
 * ("FILE:LINE: KEY: message"; lines joined by '\n', no trailing newline;
 * a syntax error is "FILE:LINE: message"), caller frees.
 */
int config_load(const char *path, int check_secrets, struct s48_config **cfg_r,
    char **errors_r);
/* Read secret_file, imap/smtp passwords and the SMS key (s48d only): each
 * file must exist, be private (no group/other bits) and not be empty.
 * Returns 0 or -1 with *errors_r (all errors, same format as config_load;
 * caller frees). */
int config_load_secrets(struct s48_config *cfg, char **errors_r);
void config_free(struct s48_config **cfg);

/* Department by id, or NULL; index into cfg->depts in *idx_r if not NULL. */
const struct cfg_department *config_dept(const struct s48_config *cfg, const char *id,
    size_t *idx_r);
/* Label for a status name ("open" -> "primljena"); the name if unknown. */
const char *config_status_label(const struct s48_config *cfg, const char *status);
/* The default config path: $S48_CONFIG or /etc/s48/s48.conf. */
const char *config_default_path(void);

/*
 * Human summary for --check-config, one line per channel and part, e.g.
 *   imap: imaps://mail.example.org:993 INBOX -> Processed
 *   smtp: off (replies by email will fail)
 * Caller frees.  Never contains secrets.
 */
char *config_summary(const struct s48_config *cfg);
/* "implicit" "starttls" "none" */
const char *config_tls_name(enum cfg_tls tls);

#endif
