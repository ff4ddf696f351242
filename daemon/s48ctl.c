/*
 * s48ctl.c - the staff and operator tool (SPEC section 1): global options,
 * loading the config (never the secrets), and dispatch to the verbs in
 * daemon/ctl_*.c.  s48ctl never talks to the network: what must reach a
 * citizen or a department goes to the outbox, and s48d sends it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "log.h"
#include "router.h"
#include "sla.h"
#include "store.h"

#ifndef S48_VERSION
#define S48_VERSION "0.1"
#endif

static const struct {
	const char *verb;
	int (*fn)(struct ctl *, int, char **);
	int needs_db;
} verbs[] = {
	{ "list", ctl_cmd_list, 1 },
	{ "show", ctl_cmd_show, 1 },
	{ "status", ctl_cmd_status, 1 },
	{ "assign", ctl_cmd_assign, 1 },
	{ "note", ctl_cmd_note, 1 },
	{ "stats", ctl_cmd_stats, 1 },
	{ "outbox", ctl_cmd_outbox, 1 },
	{ "export", ctl_cmd_export, 1 },
	{ "new", ctl_cmd_new, 1 },
	{ "route", ctl_cmd_route, 0 },
	{ "attachment", ctl_cmd_attachment, 1 },
	{ "backup", ctl_cmd_backup, 1 },
};

static void
usage(FILE *fp)
{
	size_t i;

	fputs("usage:\n", fp);
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(fp, "  s48ctl [-c FILE] %s\n", ctl_synopsis(verbs[i].verb));
}

/* A usage error in ONE line on stderr (SPEC 1): the message and the command
 * names; the full synopsis is `s48ctl --help`. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int
usage_error(const char *fmt, ...)
{
	va_list ap;
	size_t i;

	fputs("s48ctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (commands:", stderr);
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(stderr, " %s", verbs[i].verb);
	fputs("; s48ctl --help for their options)\n", stderr);
	return CTL_EXIT_USAGE;
}

int
main(int argc, char **argv)
{
	struct ctl c;
	char *errors = NULL;
	int i = 1, rc;
	size_t v;

	memset(&c, 0, sizeof(c));
	/* staff tool: warnings and errors to stderr, no info chatter */
	log_init("s48ctl", LOG_LEVEL_WARN, 0);
	while (i < argc && argv[i][0] == '-') {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc) {
			c.config_path = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			c.config_path = argv[i] + 9;
			i++;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return CTL_EXIT_OK;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("s48ctl %s\n", S48_VERSION);
			return CTL_EXIT_OK;
		} else if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
			return usage_error("%s needs a FILE", argv[i]);
		} else {
			return usage_error("unknown option %s", argv[i]);
		}
	}
	if (i >= argc)
		return usage_error("no command given");
	for (v = 0; v < sizeof(verbs) / sizeof(verbs[0]); v++)
		if (strcmp(verbs[v].verb, argv[i]) == 0)
			break;
	if (v == sizeof(verbs) / sizeof(verbs[0]))
		return usage_error("unknown command %s", argv[i]);
	if (c.config_path == NULL)
		c.config_path = config_default_path();
	if (config_load(c.config_path, 0, &c.cfg, &errors) < 0) {
		size_t n = errors ? strlen(errors) : 0, k;

		/* one line on stderr: several errors are joined with "; " */
		while (n > 0 && errors[n - 1] == '\n')
			errors[--n] = '\0';
		fputs("s48ctl: ", stderr);
		if (n == 0)
			fputs("configuration error", stderr);
		for (k = 0; k < n; k++) {
			if (errors[k] == '\n')
				fputs("; ", stderr);
			else
				fputc(errors[k], stderr);
		}
		fputc('\n', stderr);
		free(errors);
		return CTL_EXIT_CONFIG;
	}
	sla_use_timezone(c.cfg->sla.timezone);
	/* only `new` may create the database: a read or a change on a path
	 * that is not there (a typo in `database`, s48d never started) made an
	 * empty database and showed nothing, or left a root-owned file that
	 * s48d (User=s48) could not open */
	if (verbs[v].needs_db && strcmp(verbs[v].verb, "new") != 0 &&
	    strcmp(c.cfg->database, ":memory:") != 0 && strncmp(c.cfg->database, "file:", 5) != 0 &&
	    access(c.cfg->database, F_OK) < 0 && errno == ENOENT) {
		rc = ctl_error(CTL_EXIT_IO, "database %s does not exist (s48d creates it when it "
		    "first starts; see `database` in %s)", c.cfg->database, c.config_path);
		config_free(&c.cfg);
		return rc;
	}
	rc = verbs[v].needs_db ? ctl_store(&c) : 0;
	if (rc == 0)
		rc = verbs[v].fn(&c, argc - i, argv + i);
	if (fflush(stdout) != 0 && rc == 0)
		rc = ctl_error(CTL_EXIT_IO, "writing output failed");
	store_close(&c.st);
	router_free(&c.rt);
	config_free(&c.cfg);
	return rc;
}
