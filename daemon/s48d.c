/* s48d.c - the Sistem 48 daemon: options, configuration, then daemon_run(). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "config.h"
#include "daemon.h"
#include "http_client.h"
#include "log.h"
#include "mime.h"
#include "sla.h"

#ifndef S48_VERSION
#define S48_VERSION "0.1.0"
#endif

#define EX_USAGE 64
#define EX_CONFIG 78

static void
usage(FILE *f)
{
	fprintf(f, "usage: s48d [-c FILE] [--once] [--check-config] [--version]\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, 'o' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	struct s48_config *cfg = NULL;
	char *errors = NULL;
	int c, once = 0, check = 0, rc;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'o': once = 1; break;
		case 'C': check = 1; break;
		case 'V': printf("s48d %s\n", S48_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EX_USAGE;
	}
	if (path == NULL)
		path = config_default_path();
	/* --check-config reads the secrets too: an empty one (what
	 * "install -m 600 /dev/null" leaves) must not pass the check and then
	 * stop the daemon */
	if (config_load(path, 1, &cfg, &errors) < 0 ||
	    config_load_secrets(cfg, &errors) < 0) {
		fprintf(stderr, "%s\n", errors ? errors : "configuration error");
		free(errors);
		config_free(&cfg);
		return EX_CONFIG;
	}
	if (check) {
		char *summary = config_summary(cfg);

		printf("config OK\n%s", summary);
		if (summary[0] && summary[strlen(summary) - 1] != '\n')
			printf("\n");
		free(summary);
		config_free(&cfg);
		return 0;
	}
	/*
	 * The daemon writes nothing to stdout (its log goes to stderr or
	 * syslog).  A library that prints there on bad input (libytnef on a
	 * corrupt winmail.dat, with parts of it) must not put a citizen's
	 * words into the journal: stdout goes to /dev/null.
	 */
	if (freopen("/dev/null", "w", stdout) == NULL)
		fprintf(stderr, "s48d: /dev/null: %s\n", strerror(errno));
	log_init("s48d", (enum log_level)cfg->log_level, cfg->log_syslog);
	sla_use_timezone(cfg->sla.timezone);
	mime_init();
	if (http_global_init() < 0)
		log_warnx("curl_global_init failed: mail and SMS cannot be sent");
	srandom((unsigned)getpid() ^ (unsigned)time(NULL));
	rc = daemon_run(cfg, path, once);
	curl_global_cleanup();
	return rc;
}
