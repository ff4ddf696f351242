/*
 * test_secrets.c - secret files are checked on the file that is read: the
 * path is swapped, as fast as a thread can, between a private file and one
 * others may read (hard links renamed over it, so each name is one inode
 * with its own mode); util_read_secret_file must never hand out the
 * readable file's content, and config_load must never take the content of
 * a world-readable config holding an inline password.  Symbolic links are
 * followed and the file they lead to is checked; FIFOs, directories and
 * missing files are refused without hanging.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "util.h"
#include "store_test.h"

static char tmpdir[256];

static int
setup(void **state)
{
	(void)state;
	ts_tmpdir(tmpdir, sizeof(tmpdir), "test-secrets");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return ts_rmtree(tmpdir);
}

static char *
tpath(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

/* ---- the swapper ------------------------------------------------------- */

struct swapper {
	const char *path, *a, *b, *tmp;
	volatile int stop;
	pthread_t th;
	unsigned long swaps;
};

static void *
swap_loop(void *arg)
{
	struct swapper *s = arg;

	while (!s->stop) {
		const char *src = (s->swaps & 1) ? s->b : s->a;

		(void)unlink(s->tmp);
		if (link(src, s->tmp) == 0 && rename(s->tmp, s->path) == 0)
			s->swaps++;
	}
	return NULL;
}

static void
swapper_start(struct swapper *s)
{
	s->stop = 0;
	s->swaps = 0;
	assert_int_equal(pthread_create(&s->th, NULL, swap_loop, s), 0);
}

static void
swapper_stop(struct swapper *s)
{
	s->stop = 1;
	assert_int_equal(pthread_join(s->th, NULL), 0);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * One try at what is at sw->path while it is swapped, the i-th: 1 when the
 * private file was taken, 0 when refused; anything else stops the swapper
 * and fails the test.
 */
typedef int (*race_try)(struct swapper *sw, unsigned long i);

/* Up to max tries (3 s at most) while sw swaps; both outcomes must occur.
 * what: "reads", "loads". */
static void
race(struct swapper *sw, unsigned long max, const char *what, race_try attempt)
{
	unsigned long ok = 0, refused = 0, i;
	double t0;

	swapper_start(sw);
	t0 = now_s();
	for (i = 0; i < max && now_s() - t0 < 3.0; i++) {
		if (attempt(sw, i))
			ok++;
		else
			refused++;
	}
	swapper_stop(sw);
	print_message("# %lu %s: %lu private, %lu refused, %lu swaps\n", i, what, ok, refused,
	    sw->swaps);
	assert_true(ok > 0 && refused > 0);
}

/* ---- util_read_secret_file --------------------------------------------- */

static int
try_secret(struct swapper *sw, unsigned long i)
{
	const char *err = NULL;
	char *secret = NULL;

	if (util_read_secret_file(sw->path, &secret, &err) == 0) {
		if (strcmp(secret, "private") != 0) {
			sw->stop = 1;
			fail_msg("after %lu reads (%lu swaps): read \"%s\" from a file "
			    "others may read", i, sw->swaps, secret);
		}
		free(secret);
		return 1;
	}
	/* the readable one, or a moment without the name */
	assert_true(strstr(err, "group or others") != NULL ||
	    strstr(err, strerror(ENOENT)) != NULL);
	return 0;
}

static void
test_secret_swapped_under_us(void **state)
{
	char *good = tpath("good.key"), *leak = tpath("leak.key"), *path = tpath("s48.key");
	char *tmp = tpath("s48.key.tmp");
	struct swapper sw = { path, good, leak, tmp, 0, 0, 0 };

	(void)state;
	ts_write_file(good, "private\n", 0600);
	ts_write_file(leak, "LEAKED\n", 0644);
	ts_write_file(path, "private\n", 0600);
	race(&sw, 200000, "reads", try_secret);
	free(good);
	free(leak);
	free(path);
	free(tmp);
}

/* What is at the path, and what util_read_secret_file and
 * util_check_secrecy say about it. */
static void
test_secret_kinds(void **state)
{
	char *target = tpath("target.key"), *open_t = tpath("open.key");
	char *link_ok = tpath("link-ok"), *link_bad = tpath("link-bad");
	char *dangling = tpath("dangling"), *fifo = tpath("fifo"), *dir = tpath("dir");
	char *missing = tpath("missing");
	const struct {
		const char *path;
		const char *want;        /* NULL: read, else in the error */
	} cases[] = {
		{ target, NULL },
		{ link_ok, NULL },               /* an operator's link: followed */
		{ link_bad, "group or others" }, /* the mode of what it leads to */
		{ open_t, "group or others" },
		{ dangling, "No such file" },
		{ missing, "No such file" },
		{ fifo, "not a regular file" },  /* and no hang waiting for a writer */
		{ dir, "not a regular file" },
	};

	(void)state;
	ts_write_file(target, "s3cret\r\n", 0600);
	ts_write_file(open_t, "s3cret\n", 0640);
	assert_int_equal(symlink(target, link_ok), 0);
	assert_int_equal(symlink(open_t, link_bad), 0);
	assert_int_equal(symlink("nowhere", dangling), 0);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(mkdir(dir, 0700), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *err = NULL, *err2 = NULL;
		char *secret = NULL;
		int rc = util_read_secret_file(cases[i].path, &secret, &err);
		int rc2 = util_check_secrecy(cases[i].path, &err2);

		if (cases[i].want == NULL) {
			if (rc != 0 || rc2 != 0)
				fail_msg("case %zu: refused: %s", i, err ? err : err2);
			assert_string_equal(secret, "s3cret");
			free(secret);
		} else {
			assert_int_equal(rc, -1);
			assert_int_equal(rc2, -1);
			if (strstr(err, cases[i].want) == NULL)
				fail_msg("case %zu: \"%s\", want \"%s\"", i, err, cases[i].want);
			assert_non_null(strstr(err, cases[i].path));
			assert_non_null(strstr(err2, cases[i].want));
		}
	}
	free(target);
	free(open_t);
	free(link_ok);
	free(link_bad);
	free(dangling);
	free(fifo);
	free(dir);
	free(missing);
}

/* ---- the config file's own mode (inline passwords) --------------------- */

static const char *const CONF =
	"database = \"db/s48.db\";\n"
	"secret_file = \"secret\";\n"
	"imap = { host = \"127.0.0.1\"; port = 1143; tls = \"none\";\n"
	"  user = \"%s\"; password = \"inline\";\n"
	"  processed_mailbox = \"Processed\"; };\n"
	"smtp = { url = \"smtp://127.0.0.1:2525\"; tls = \"none\";\n"
	"  from = \"Sistem 48 <prijave@example.org>\"; };\n"
	"departments = (\n"
	"  { id = \"dispatch\"; name = \"Dispecer\"; email = [\"d@jkp.example.org\"]; }\n"
	");\n"
	"default_department = \"dispatch\";\n";

static void
write_conf(const char *path, const char *user, mode_t mode)
{
	char *text = xasprintf(CONF, user);

	ts_write_file(path, text, mode);
	free(text);
}

/* A config readable by others must not be taken with its inline password
 * because a private one was at the path when its mode was looked at. */
static int
try_config(struct swapper *sw, unsigned long i)
{
	struct s48_config *cfg = NULL;
	char *errors = NULL;

	if (config_load(sw->path, 1, &cfg, &errors) == 0) {
		if (strcmp(cfg->imap.user, "private-user") != 0) {
			sw->stop = 1;
			fail_msg("after %lu loads (%lu swaps): the inline password of a "
			    "config others may read was taken (%s)", i, sw->swaps,
			    cfg->imap.user);
		}
		config_free(&cfg);
		return 1;
	}
	if (strstr(errors, "holds a password but is readable by others") == NULL &&
	    strstr(errors, "cannot read") == NULL) {
		sw->stop = 1;
		fail_msg("unexpected: %s", errors);
	}
	free(errors);
	return 0;
}

static void
test_config_swapped_under_us(void **state)
{
	char *priv = tpath("private.conf"), *open_c = tpath("open.conf");
	char *path = tpath("s48.conf"), *tmp = tpath("s48.conf.tmp"), *sec = tpath("secret");
	char *db = tpath("db");
	struct swapper sw = { path, priv, open_c, tmp, 0, 0, 0 };

	(void)state;
	assert_int_equal(mkdir(db, 0700), 0);
	ts_write_file(sec, "0123456789abcdef\n", 0600);
	write_conf(priv, "private-user", 0600);
	write_conf(open_c, "open-user", 0644);
	write_conf(path, "private-user", 0600);
	race(&sw, 20000, "loads", try_config);
	free(priv);
	free(open_c);
	free(path);
	free(tmp);
	free(sec);
	free(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_secret_swapped_under_us, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_kinds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_swapped_under_us, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
