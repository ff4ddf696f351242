/*
 * outbox_test.h - shared by test_outbox_batch.c and test_outbox_chunks.c: a
 * configuration and database in a test directory, and counting outbox rows.
 * Header-only (static inline) because every test file is its own program;
 * builds on store_test.h.
 */
#ifndef S48_OUTBOX_TEST_H
#define S48_OUTBOX_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "config.h"
#include "store.h"
#include "util.h"

#include "store_test.h"

/*
 * DIR/s48.conf (one department, water) and DIR/secret, loaded into *cfg_r,
 * and the database opened into *st_r.  smtp_url: NULL for no smtp group.
 */
static inline void
ot_open(const char *dir, const char *smtp_url, struct s48_config **cfg_r,
    struct store **st_r)
{
	char path[128], *conf, *errors = NULL;

	conf = xasprintf("database = \"s48.db\";\nsecret_file = \"secret\";\n"
	    "log = { level = \"err\"; target = \"stderr\"; };\n%s%s%s"
	    "departments = ( { id = \"water\"; name = \"Vodovod\"; email = [\"v@example.org\"];"
	    " keywords = [\"voda\"]; } );\ndefault_department = \"water\";\n",
	    smtp_url ? "smtp = { url = \"" : "", smtp_url ? smtp_url : "",
	    smtp_url ? "\"; tls = \"none\"; from = \"S48 <prijave@example.org>\"; };\n" : "");
	snprintf(path, sizeof(path), "%s/secret", dir);
	ts_write_file(path, "secret\n", 0600);
	snprintf(path, sizeof(path), "%s/s48.conf", dir);
	ts_write_file(path, conf, 0644);
	free(conf);
	if (config_load(path, 0, cfg_r, &errors) < 0)
		fail_msg("config: %s", errors);
	ts_open((*cfg_r)->database, st_r);
}

/* SELECT count(*) FROM outbox WHERE where */
static inline long long
ot_count(struct store *st, const char *where)
{
	char *q = xasprintf("SELECT count(*) FROM outbox WHERE %s", where);
	long long v = ts_qint(store_db(st), q, NULL, NULL);

	free(q);
	return v;
}

#endif
