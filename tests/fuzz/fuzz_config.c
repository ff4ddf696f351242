/*
 * fuzz_config.c - libFuzzer target for the config loader: the input is
 * written to a file in a private temporary directory (on /dev/shm when it
 * exists) and loaded with config_load(path, 0, ...).  Checks: exactly one
 * of a config and an error text; every error line is "FILE:LINE: ..."; a
 * loaded config is complete (departments, default department, templates,
 * labels), its lookups and summary work and free NULLs the pointer.
 * Inputs naming "include" are skipped: libconfig's @include would read any
 * file of the machine (/dev/stdin, /dev/zero), which is not the loader's
 * code.
 *
 *   sh tests/fuzz/run-fuzz.sh 60 fuzz_config
 * or by hand (all of daemon/ parsers/ notifiers/ but the mains, see
 * run-fuzz.sh, as the loader needs phone, sla, templates):
 *   ./build-fuzz/fuzz/fuzz_config -max_len=8192 tests/fuzz/seeds/config
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fzcfg_dir[64];
static char fzcfg_path[128];

static void
fzcfg_check(int cond)
{
	if (!cond)
		abort();
}

static void
fzcfg_cleanup(void)
{
	if (fzcfg_path[0] != '\0')
		unlink(fzcfg_path);
	if (fzcfg_dir[0] != '\0')
		rmdir(fzcfg_dir);
}

static int
fzcfg_init(void)
{
	struct stat sb;

	if (fzcfg_dir[0] != '\0')
		return 0;
	snprintf(fzcfg_dir, sizeof(fzcfg_dir), "%s/s48-fuzzcfg-XXXXXX",
	    stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) ? "/dev/shm" : "/tmp");
	if (mkdtemp(fzcfg_dir) == NULL) {
		fzcfg_dir[0] = '\0';
		return -1;
	}
	snprintf(fzcfg_path, sizeof(fzcfg_path), "%s/s48.conf", fzcfg_dir);
	atexit(fzcfg_cleanup);
	return 0;
}

/* every line "PATH:LINE: text" */
static void
fzcfg_check_errors(const char *errors, const char *path)
{
	size_t pl = strlen(path);
	const char *line = errors, *p;

	fzcfg_check(errors != NULL && errors[0] != '\0');
	while (*line != '\0') {
		fzcfg_check(strncmp(line, path, pl) == 0 && line[pl] == ':');
		p = line + pl + 1;
		fzcfg_check(*p >= '0' && *p <= '9');
		while (*p >= '0' && *p <= '9')
			p++;
		fzcfg_check(*p == ':');
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		line = p + 1;
		fzcfg_check(*line != '\0');     /* no trailing newline */
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct s48_config *cfg = NULL;
	char *errors = NULL, *sum;
	FILE *f;
	size_t i;
	int rc;

	if (memmem(data, size, "include", 7) != NULL)
		return 0;
	log_set_level(LOG_LEVEL_ERR);
	if (fzcfg_init() < 0)
		abort();
	f = fopen(fzcfg_path, "w");
	if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();

	rc = config_load(fzcfg_path, 0, &cfg, &errors);
	if (rc != 0) {
		fzcfg_check(rc == -1 && cfg == NULL);
		fzcfg_check_errors(errors, fzcfg_path);
		free(errors);
		return 0;
	}
	fzcfg_check(cfg != NULL && errors == NULL);
	fzcfg_check(cfg->database != NULL && cfg->secret_file != NULL && cfg->ticket_tag != NULL);
	fzcfg_check(cfg->n_depts >= 1 && cfg->default_dept < cfg->n_depts);
	fzcfg_check(strcmp(cfg->depts[cfg->default_dept].id, cfg->default_department) == 0);
	for (i = 0; i < cfg->n_depts; i++) {
		size_t idx = (size_t)-1;

		fzcfg_check(cfg->depts[i].id != NULL && cfg->depts[i].name != NULL);
		fzcfg_check(config_dept(cfg, cfg->depts[i].id, &idx) != NULL && idx < cfg->n_depts);
	}
	fzcfg_check(cfg->templates.sms_ack && cfg->templates.sms_status &&
	    cfg->templates.sms_query && cfg->templates.sms_help &&
	    cfg->templates.email_ack && cfg->templates.email_status);
	fzcfg_check(config_status_label(cfg, "open") != NULL &&
	    config_status_label(cfg, "resolved") != NULL);
	fzcfg_check(cfg->sla.timezone != NULL && cfg->sla.hours > 0);
	if (cfg->imap.enabled)
		fzcfg_check(cfg->imap.host && cfg->imap.user && cfg->imap.mailbox &&
		    cfg->imap.port >= 1 && cfg->imap.port <= 65535);
	if (cfg->smtp.enabled)
		fzcfg_check(cfg->smtp.url && cfg->smtp.from && cfg->smtp.from_addr);
	if (cfg->sms.enabled)
		fzcfg_check(cfg->sms.profile && cfg->sms.number && cfg->sms.number[0] == '+');
	sum = config_summary(cfg);
	fzcfg_check(sum != NULL);
	free(sum);
	config_free(&cfg);
	fzcfg_check(cfg == NULL);
	return 0;
}
