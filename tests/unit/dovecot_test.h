/*
 * dovecot_test.h - shared by the suites that run a private Dovecot
 * (tests/lib/dovecot.sh) on 127.0.0.1 (test_intake_imap.c,
 * test_imap_pump.c): start it in a fresh temporary directory and read its
 * ports, certificates and login from DIR/dovecot.env; a watchdog child that
 * stops it when the test process dies without its teardown; stopping and
 * removing it; a struct cfg_imap for its plain (no TLS) listener; mails
 * added and counted with doveadm.
 * Header-only (static inline) because every test file is its own program;
 * include it after <cmocka.h>.  One server a program: its state is dt_dc.
 * Run from the repository root (or with S48_TOP set).
 */
#ifndef S48_DOVECOT_TEST_H
#define S48_DOVECOT_TEST_H

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

/* the running server, filled by dt_setup() */
struct dt_dovecot {
	char dir[128];
	int port, imaps_port;
	char ca[256], ca_wrong[256], user[32], pass[64];
	int stopped;
};
static struct dt_dovecot dt_dc;

/* the watchdog child and the write end of its pipe (-1: none) */
static pid_t dt_watchdog_pid = -1;
static int dt_watchdog_fd = -1;

/* the repository root: $S48_TOP, or "." */
static inline const char *
dt_top(void)
{
	const char *t = getenv("S48_TOP");

	return t != NULL && *t ? t : ".";
}

/* the value of KEY='value' in env (a dovecot.env) into out */
static inline void
dt_env_get(const char *env, const char *key, char *out, size_t outsz)
{
	const char *p = strstr(env, key);
	size_t n = 0;

	assert_non_null(p);
	p += strlen(key);
	assert_true(*p == '=' && p[1] == '\'');
	p += 2;
	while (p[n] != '\'' && p[n] != '\0' && n + 1 < outsz)
		n++;
	memcpy(out, p, n);
	out[n] = '\0';
}

/*
 * If this process dies without its teardown (a crash, a sanitizer abort),
 * a watchdog child notices the pipe closing and stops Dovecot, so no server
 * outlives the run.
 */
static inline void
dt_watchdog_start(void)
{
	int p[2];
	char c;

	if (pipe2(p, O_CLOEXEC) != 0)
		return;
	dt_watchdog_pid = fork();
	if (dt_watchdog_pid == 0) {
		char cmd[512];

		close(p[1]);
		while (read(p[0], &c, 1) > 0)
			;
		snprintf(cmd, sizeof(cmd), "sh %s/tests/lib/dovecot.sh stop %s; rm -rf %s",
		    dt_top(), dt_dc.dir, dt_dc.dir);
		_exit(system(cmd) == 0 ? 0 : 1);
	}
	close(p[0]);
	dt_watchdog_fd = p[1];
}

static inline void
dt_watchdog_stop(void)
{
	if (dt_watchdog_pid > 0) {
		kill(dt_watchdog_pid, SIGKILL);
		waitpid(dt_watchdog_pid, NULL, 0);
		dt_watchdog_pid = -1;
	}
	if (dt_watchdog_fd >= 0) {
		close(dt_watchdog_fd);
		dt_watchdog_fd = -1;
	}
}

/*
 * Dovecot started in a new directory made from tmpl (mkdtemp, e.g.
 * "/tmp/s48imap.XXXXXX"), its watchdog, dt_dc filled: 0, or -1 (said on
 * stderr where Dovecot did not start).  For a cmocka group setup.
 */
static inline int
dt_setup(const char *tmpl)
{
	char cmd[512], *env = NULL, path[256], buf[32];
	const char *err;
	size_t len;

	snprintf(dt_dc.dir, sizeof(dt_dc.dir), "%s", tmpl);
	if (mkdtemp(dt_dc.dir) == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "sh %s/tests/lib/dovecot.sh start %s >/dev/null", dt_top(),
	    dt_dc.dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "# cannot start dovecot (see %s/dovecot.log)\n", dt_dc.dir);
		return -1;
	}
	dt_watchdog_start();
	snprintf(path, sizeof(path), "%s/dovecot.env", dt_dc.dir);
	if (util_read_file(path, 65536, &env, &len, &err) != 0)
		return -1;
	dt_env_get(env, "DOVECOT_PORT", buf, sizeof(buf));
	dt_dc.port = atoi(buf);
	dt_env_get(env, "DOVECOT_IMAPS_PORT", buf, sizeof(buf));
	dt_dc.imaps_port = atoi(buf);
	dt_env_get(env, "DOVECOT_CA", dt_dc.ca, sizeof(dt_dc.ca));
	dt_env_get(env, "DOVECOT_CA_WRONG", dt_dc.ca_wrong, sizeof(dt_dc.ca_wrong));
	dt_env_get(env, "DOVECOT_USER", dt_dc.user, sizeof(dt_dc.user));
	dt_env_get(env, "DOVECOT_PASS", dt_dc.pass, sizeof(dt_dc.pass));
	free(env);
	return 0;
}

/* Dovecot stopped, once (a second call does nothing): 0, or -1 when the
 * stop command failed */
static inline int
dt_stop(void)
{
	char cmd[512];
	int rc = 0;

	if (dt_dc.stopped)
		return 0;
	snprintf(cmd, sizeof(cmd), "sh %s/tests/lib/dovecot.sh stop %s", dt_top(), dt_dc.dir);
	if (system(cmd) != 0)
		rc = -1;
	dt_dc.stopped = 1;
	return rc;
}

/* the watchdog ended, Dovecot stopped (dt_stop) and its directory removed
 * unless S48_KEEP is set: 0, or -1 when a step failed.  For a cmocka group
 * teardown. */
static inline int
dt_teardown(void)
{
	char cmd[512];
	int rc;

	dt_watchdog_stop();
	rc = dt_stop();
	if (getenv("S48_KEEP") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dt_dc.dir);
		if (system(cmd) != 0)
			rc = -1;
	}
	return rc;
}

/* n more mails in the user's INBOX, 600 bytes each (doveadm, outside any
 * session). */
static inline void
dt_fill(int n)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "sh %s/tests/lib/dovecot.sh fill %s %s %d 600 >/dev/null",
	    dt_top(), dt_dc.dir, dt_dc.user, n);
	assert_int_equal(system(cmd), 0);
}

/* The messages of mailbox mb that match the doveadm search query ("all",
 * "seen", ...), 0 when mb does not exist, -1 when doveadm cannot be run. */
static inline long
dt_count(const char *mb, const char *query)
{
	char cmd[512], line[64];
	FILE *f;
	long n = -1;

	snprintf(cmd, sizeof(cmd), "sh %s/tests/lib/dovecot.sh count %s %s %s %s", dt_top(),
	    dt_dc.dir, dt_dc.user, mb, query);
	f = popen(cmd, "r");
	assert_non_null(f);
	if (fgets(line, sizeof(line), f) != NULL)
		n = strtol(line, NULL, 10);
	pclose(f);
	return n;
}

/* a config for the plain (no TLS) listener, reading mailbox and moving
 * what is acknowledged to processed (the strings are not copied) */
static inline void
dt_cfg_plain(struct cfg_imap *c, char *mailbox, char *processed)
{
	static char host[] = "127.0.0.1";

	memset(c, 0, sizeof(*c));
	c->enabled = 1;
	c->host = host;
	c->port = dt_dc.port;
	c->tls = CFG_TLS_NONE;
	c->user = dt_dc.user;
	c->password = dt_dc.pass;
	c->mailbox = mailbox;
	c->processed_mailbox = processed;
	c->idle = 1;
	c->max_message_bytes = 10485760;
	c->ack_max_age_days = 7;
}

#endif
