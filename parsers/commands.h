/*
 * commands.h - citizen SMS commands and staff commands (SPEC section 3).
 * Parsers only: no database.  Inputs are UTF-8 (repaired); matching is done
 * on the normalised form so Cyrillic and any case work.
 */
#ifndef S48_COMMANDS_H
#define S48_COMMANDS_H

enum sms_cmd_kind {
	SMS_CMD_EMPTY,     /* blank or whitespace only: help reply */
	SMS_CMD_STATUS,    /* STATUS N / STANJE N / СТАТУС N / СТАЊЕ N / "#N" allowed;
	                      ticket 0 = bare STATUS (sender's latest) */
	SMS_CMD_STOP,      /* STOP / СТОП (alone on the message) */
	SMS_CMD_START,     /* START / СТАРТ */
	SMS_CMD_APPEND,    /* "#N text": text for ticket N */
	SMS_CMD_TEXT,      /* anything else: a report */
};

struct sms_cmd {
	enum sms_cmd_kind kind;
	long ticket;       /* STATUS / APPEND; 0 if none */
	char *text;        /* APPEND: the text after "#N"; TEXT: the whole text
	                      trimmed; else NULL.  Owned, free with sms_cmd_free. */
};

void cmd_parse_sms(const char *text, struct sms_cmd *out);
void sms_cmd_free(struct sms_cmd *c);

enum staff_cmd_kind {
	STAFF_CMD_NONE,    /* not a command (email: the text becomes an internal note) */
	STAFF_CMD_STATUS,  /* #in_progress | #resolved | #rejected | #open [note] */
	STAFF_CMD_ASSIGN,  /* #assign DEPT */
	STAFF_CMD_NOTE,    /* #note TEXT (internal) */
	STAFF_CMD_INVALID, /* looks like a command but is not one: arg says why */
};

struct staff_cmd {
	enum staff_cmd_kind kind;
	long ticket;       /* SMS form "#N ..." only; 0 for email */
	char status[16];   /* STATUS: "open" "in_progress" "resolved" "rejected" */
	char *arg;         /* note / reason / DEPT / NOTE text / error (owned) */
};

/*
 * Email: the first non-empty body line ("#resolved zamenjena sijalica",
 * "#assign lighting", "#note ..."); statuses also accepted as "#in-progress",
 * "#u_radu"/"#resen"/"#reseno"/"#odbijen"/"#otvoren".  Other text -> NONE.
 */
void cmd_parse_staff_email(const char *body, struct staff_cmd *out);
/* SMS from a staff phone: "#12 resolved zamenjena sijalica" (same status words). */
void cmd_parse_staff_sms(const char *text, struct staff_cmd *out);
void staff_cmd_free(struct staff_cmd *c);

#endif
