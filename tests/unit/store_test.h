/*
 * store_test.h - shared by the suites that work on real files: a private
 * temporary directory and its removal, writing a file with a mode, a SQLite
 * store opened in the directory, a configuration written and loaded with its
 * store (the usual fixture, struct ts_fx), and one value from a query with
 * bound text parameters.  Header-only (static inline) because every test file is its
 * own program; include it after <cmocka.h>.  Failures end the test
 * (fail_msg / assert_*) except ts_rmtree, which returns -1 for a teardown.
 */
#ifndef S48_STORE_TEST_H
#define S48_STORE_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "config.h"
#include "store.h"
#include "util.h"

/* dir (size bytes) := a new directory /tmp/s48-TAG.XXXXXX. */
static inline void
ts_tmpdir(char *dir, size_t size, const char *tag)
{
	assert_true((size_t)snprintf(dir, size, "/tmp/s48-%s.XXXXXX", tag) < size);
	assert_non_null(mkdtemp(dir));
}

/* rm -rf dir; 0, or -1 if that failed. */
static inline int
ts_rmtree(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	int rc = system(cmd);

	free(cmd);
	return rc == 0 ? 0 : -1;
}

/* path := text, then chmod mode. */
static inline void
ts_write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* store_open(path) into *st_r. */
static inline void
ts_open(const char *path, struct store **st_r)
{
	const char *err = NULL;

	if (store_open(path, st_r, &err) < 0)
		fail_msg("store_open %s: %s", path, err);
}

/* path (size bytes) := DIR/s48.db, opened into *st_r. */
static inline void
ts_open_in(const char *dir, char *path, size_t size, struct store **st_r)
{
	assert_true((size_t)snprintf(path, size, "%s/s48.db", dir) < size);
	ts_open(path, st_r);
}

/*
 * DIR/secret := secret (mode 0600) and DIR/s48.conf := conf (0644), loaded
 * into *cfg_r, and the database it names opened into *st_r.
 */
static inline void
ts_config_open(const char *dir, const char *secret, const char *conf,
    struct s48_config **cfg_r, struct store **st_r)
{
	char path[160], *errors = NULL;

	snprintf(path, sizeof(path), "%s/secret", dir);
	ts_write_file(path, secret, 0600);
	snprintf(path, sizeof(path), "%s/s48.conf", dir);
	ts_write_file(path, conf, 0644);
	if (config_load(path, 0, cfg_r, &errors) < 0)
		fail_msg("config: %s", errors);
	ts_open((*cfg_r)->database, st_r);
}

/* The usual fixture: a directory (ts_tmpdir), the configuration and the
 * store in it (either may still be NULL when it is freed). */
struct ts_fx {
	char dir[64];
	struct s48_config *cfg;
	struct store *st;
};

/* A new fixture: ts_tmpdir(tag), then DIR/secret := secret and DIR/s48.conf
 * := conf_fmt with DIR for its one %s, loaded and its store opened
 * (ts_config_open). */
static inline struct ts_fx *
ts_fx_open(const char *tag, const char *secret, const char *conf_fmt)
{
	struct ts_fx *f = xcalloc(1, sizeof(*f));
	char *conf;

	ts_tmpdir(f->dir, sizeof(f->dir), tag);
	conf = xasprintf(conf_fmt, f->dir);
	ts_config_open(f->dir, secret, conf, &f->cfg, &f->st);
	free(conf);
	return f;
}

/* *fp's store closed, configuration freed, directory removed, *fp freed
 * and NULL: 0, or -1 if the directory could not be removed. */
static inline int
ts_fx_free(struct ts_fx **fp)
{
	struct ts_fx *f = *fp;
	int rc;

	store_close(&f->st);
	config_free(&f->cfg);
	rc = ts_rmtree(f->dir);
	free(f);
	*fp = NULL;
	return rc;
}

/* sql prepared on db with text parameters ?1 ?2 (NULL: left unbound). */
static inline sqlite3_stmt *
ts_query(sqlite3 *db, const char *sql, const char *p1, const char *p2)
{
	sqlite3_stmt *s = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (p1 != NULL)
		sqlite3_bind_text(s, 1, p1, -1, SQLITE_TRANSIENT);
	if (p2 != NULL)
		sqlite3_bind_text(s, 2, p2, -1, SQLITE_TRANSIENT);
	return s;
}

/* The first column of the first row as an integer; -1 without a row. */
static inline long long
ts_qint(sqlite3 *db, const char *sql, const char *p1, const char *p2)
{
	sqlite3_stmt *s = ts_query(db, sql, p1, p2);
	long long v = -1;

	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* The first column of the first row as text (caller frees; "" without a
 * row or for NULL). */
static inline char *
ts_qstr(sqlite3 *db, const char *sql, const char *p1, const char *p2)
{
	sqlite3_stmt *s = ts_query(db, sql, p1, p2);
	char *v;

	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL)
		v = xstrdup((const char *)sqlite3_column_text(s, 0));
	else
		v = xstrdup("");
	sqlite3_finalize(s);
	return v;
}

#endif
