/*
 * ctl.h - s48ctl's verbs (SPEC section 1), shared by daemon/s48ctl.c (main,
 * option parsing of the global -c) and daemon/ctl_*.c (one function per verb).
 *
 * Every verb gets argc/argv starting at the verb name, prints its result on
 * stdout, its error as ONE line on stderr ("s48ctl: ..."), and returns the
 * exit code.
 */
#ifndef S48_CTL_H
#define S48_CTL_H

#include <getopt.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>
#include <sqlite3.h>

struct s48_config;
struct store;
struct router;

/* Exit codes (SPEC section 1; CTL_EXIT_IO is ours: the database failed). */
#define CTL_EXIT_OK      0
#define CTL_EXIT_NOENT   1     /* no such ticket or entry */
#define CTL_EXIT_REFUSED 2     /* refused: unknown status/department, transition */
#define CTL_EXIT_USAGE   64
#define CTL_EXIT_IO      74    /* database error (EX_IOERR) */
#define CTL_EXIT_CONFIG  78

struct ctl {
	const char *config_path;
	struct s48_config *cfg;
	struct store *st;          /* opened on demand by ctl_store() */
	struct router *rt;         /* built on demand by ctl_router() */
};

/* Print "s48ctl: <msg>\n" to stderr and return code. */
int ctl_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reset getopt for a verb's argv (GNU: optind 0 re-initialises). */
void ctl_getopt_reset(void);
/*
 * For the verbs that take a free TEXT (note, new): argv[1..argc) reordered
 * in place, options first (each with its argument), then the other
 * arguments in their order; returns the count of the first part, the argc
 * to give getopt_long, after which optind is that count and argv[optind..argc)
 * are the arguments.  An argument that begins with '-' and then a character
 * no option name begins with (a digit, a space, a sign: "-3 stepena") is
 * text, not an unknown option, and so is everything after "--" (which is
 * removed: argc_r is decremented).  "--typo" or "-x" stay options (refused).
 */
int ctl_text_args(int *argc_r, char **argv, const struct option *opts);
/* Usage error (64) naming the option getopt refused. */
int ctl_bad_option(const char *verb, int argc, char **argv);
/* Usage error: the message and the verb's synopsis; returns CTL_EXIT_USAGE. */
int ctl_usage(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Open the database (once); 0 or an exit code after printing the error. */
int ctl_store(struct ctl *c);
const struct router *ctl_router(struct ctl *c);
/* Positive ticket/row number from s; 0 if malformed. */
long ctl_parse_id(const char *s);
/* The name recorded as "by" when --by is not given ($SUDO_USER, $USER, "s48ctl"). */
const char *ctl_default_by(void);
/* JSON string of s, invalid UTF-8 repaired (U+FFFD); JSON null for NULL. */
json_t *ctl_json_text(const char *s);
/* Copy of s fit for a terminal (the tables, `show` without --json, CSV to a
 * terminal): invalid UTF-8 repaired, C0 controls other than TAB (and LF when
 * keep_nl), DEL, C1 controls and the bidi embeddings, overrides and isolates
 * (U+202A-202E, U+2066-2069) replaced by '?', so a citizen's text cannot send
 * escape sequences to a clerk's terminal or reorder what it shows.  "" for
 * NULL.  Caller frees. */
char *ctl_tty_text(const char *s, int keep_nl);
/* UTC ISO 8601 string, or JSON null for 0. */
json_t *ctl_json_time(time_t t);
/* Print j (indented, UTF-8) and a newline to stdout; frees j. */
int ctl_json_print(json_t *j);
/* A JSON array printed an element at a time (ctl_common.c), the same bytes as
 * ctl_json_print of the whole array: begin, add each object (the reference
 * is taken), end prints the closing bracket and returns the exit code (74
 * when writing failed).  Rows read after an error are not printed: the
 * caller returns its own error instead of calling end. */
struct ctl_json_array {
	FILE *f;
	size_t n;
	int err;
};
void ctl_json_array_begin(struct ctl_json_array *a, FILE *f);
void ctl_json_array_add(struct ctl_json_array *a, json_t *o);
int ctl_json_array_end(struct ctl_json_array *a);
/* Local "YYYY-MM-DD HH:MM" for tables ("-" for 0). */
void ctl_local_time(time_t t, char out[32]);
/* --since/--until: start of the local day (since) or start of the day after
 * (until); 0 or -1 if malformed. */
int ctl_day_bound(const char *ymd, int until, time_t *t_r);
/* Text of a nullable column (NULL -> ""). */
const char *ctl_col(sqlite3_stmt *s, int i);

/* The "show" object of ticket id (NULL and *rc_r on error, error printed). */
json_t *ctl_ticket_json(struct ctl *c, long id, int *rc_r);

int ctl_cmd_list(struct ctl *c, int argc, char **argv);
int ctl_cmd_show(struct ctl *c, int argc, char **argv);
int ctl_cmd_status(struct ctl *c, int argc, char **argv);
int ctl_cmd_assign(struct ctl *c, int argc, char **argv);
int ctl_cmd_note(struct ctl *c, int argc, char **argv);
int ctl_cmd_new(struct ctl *c, int argc, char **argv);
int ctl_cmd_route(struct ctl *c, int argc, char **argv);
int ctl_cmd_attachment(struct ctl *c, int argc, char **argv);
int ctl_cmd_stats(struct ctl *c, int argc, char **argv);
int ctl_cmd_outbox(struct ctl *c, int argc, char **argv);
int ctl_cmd_export(struct ctl *c, int argc, char **argv);
int ctl_cmd_backup(struct ctl *c, int argc, char **argv);

/* Synopsis line of a verb ("" if unknown). */
const char *ctl_synopsis(const char *verb);

#endif
