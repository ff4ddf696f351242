/*
 * test_email_corpus.c - every message of tests/corpus/email/ through
 * ingest_batch(), in file-name order, with the corpus's own config
 * (tests/corpus/email/s48.conf) on a fresh database; each row of
 * tests/corpus/email/EXPECTED.tsv is checked:
 *
 *   file<TAB>outcome<TAB>department<TAB>text-substring
 *
 * outcome: "ticket" | "append:<file it answers>" | "ignore" (also accepted:
 * "staff", "recorded"); department "-" or empty = not checked;
 * text-substring "-" or empty = not checked, else it must be in the text of
 * the message recorded (for a ticket: its text or subject).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "config.h"
#include "ingest.h"
#include "mime.h"
#include "router.h"
#include "sla.h"
#include "store.h"
#include "util.h"

#include "store_test.h"

#define MAX_FILES 1000

struct corpus_msg {
	char *name;
	long ticket_id;
	int outcome;
	int64_t raw_id;
};

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *
corpus_dir(void)
{
	static char path[1024];
	const char *top = getenv("S48_TOP");

	snprintf(path, sizeof(path), "%s/tests/corpus/email", top != NULL ? top : ".");
	return path;
}

static struct corpus_msg *
find_msg(struct corpus_msg *msgs, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(msgs[i].name, name) == 0)
			return &msgs[i];
	return NULL;
}

/* Split line at tabs into at most 4 fields (in place); returns the count. */
static int
split_tabs(char *line, char *fields[4])
{
	int n = 0;
	char *p = line;

	line[strcspn(line, "\r\n")] = '\0';
	while (n < 4) {
		fields[n++] = p;
		p = strchr(p, '\t');
		if (p == NULL)
			break;
		*p++ = '\0';
	}
	return n;
}

static int
given(const char *s)
{
	return s != NULL && s[0] != '\0' && strcmp(s, "-") != 0;
}

static long
qcount(sqlite3 *db, const char *sql, int64_t a, const char *b)
{
	sqlite3_stmt *s = NULL;
	long v = -1;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	sqlite3_bind_int64(s, 1, a);
	if (b != NULL)
		sqlite3_bind_text(s, 2, b, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = (long)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static char *
qtext(sqlite3 *db, const char *sql, int64_t a)
{
	sqlite3_stmt *s = NULL;
	char *v = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	sqlite3_bind_int64(s, 1, a);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL)
		v = xstrdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return v != NULL ? v : xstrdup("");
}

static void
test_corpus(void **state)
{
	const char *dir = corpus_dir();
	char path[1200], tmpdir[64], dbpath[128], line[4096];
	struct corpus_msg *msgs = NULL;
	struct s48_config *cfg = NULL;
	struct store *st = NULL;
	struct router *rt = NULL;
	struct ingest_ctx ctx;
	struct dirent *de;
	char *names[MAX_FILES];
	char *errors = NULL, *secret = NULL;
	const char *err = NULL;
	size_t n = 0, i, len, rows = 0, bad = 0;
	DIR *d;
	FILE *tsv;

	(void)state;
	snprintf(path, sizeof(path), "%s/EXPECTED.tsv", dir);
	if (access(path, R_OK) != 0) {
		print_message("# corpus not found at %s\n", path);
		skip();
	}
	snprintf(path, sizeof(path), "%s/s48.conf", dir);
	if (config_load(path, 0, &cfg, &errors) < 0)
		fail_msg("corpus config: %s", errors);
	/* The corpus's secret file, if any, for staff tokens (a checked-out
	 * file is not 0600, so it is read without the secrecy check). */
	if (cfg->secret_file != NULL) {
		char *sp = util_path_join(cfg->dir, cfg->secret_file);

		if (util_read_file(sp, 4096, &secret, &len, &err) == 0) {
			secret[strcspn(secret, "\r\n")] = '\0';
			free(cfg->secret);
			cfg->secret = secret;
		}
		free(sp);
	}
	if (cfg->secret == NULL)
		cfg->secret = xstrdup("corpus-secret");
	sla_use_timezone(cfg->sla.timezone);
	mime_init();
	ts_tmpdir(tmpdir, sizeof(tmpdir), "corpus");
	ts_open_in(tmpdir, dbpath, sizeof(dbpath), &st);
	rt = router_new(cfg);
	ctx.st = st;
	ctx.cfg = cfg;
	ctx.rt = rt;
	ctx.defer_sync = 0;

	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL && n < MAX_FILES) {
		size_t l = strlen(de->d_name);

		if (l > 4 && strcmp(de->d_name + l - 4, ".eml") == 0)
			names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	msgs = xcalloc(n + 1, sizeof(*msgs));

	for (i = 0; i < n; i++) {
		struct ingest_item it;
		char *raw = NULL, *key;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (util_read_file(path, 64 << 20, &raw, &len, &err) < 0)
			fail_msg("%s: %s", path, err);
		key = xasprintf("corpus:%s", names[i]);
		memset(&it, 0, sizeof(it));
		it.channel = INGEST_EMAIL;
		it.source_key = key;
		it.raw = (const unsigned char *)raw;
		it.raw_len = len;
		if (ingest_batch(&ctx, &it, 1, NULL, NULL, 0, &err) != 0)
			fail_msg("%s: ingest_batch: %s", names[i], err);
		msgs[i].name = names[i];
		msgs[i].outcome = it.outcome;
		msgs[i].ticket_id = it.ticket_id;
		msgs[i].raw_id = qcount(store_db(st),
		    "SELECT id FROM raw_messages WHERE source_key = ?2 AND ?1 = ?1", 0, key);
		free(key);
		free(raw);
	}

	/* The whole corpus again as ONE batch on a fresh database (emails parsed
	 * ahead on the second thread, each decision seeing the earlier ones in
	 * the same transaction): the same outcome and ticket for every message. */
	{
		struct store *st2 = NULL;
		struct ingest_item *items = xcalloc(n + 1, sizeof(*items));
		char **raws = xcalloc(n + 1, sizeof(char *));
		char db2[160];

		snprintf(db2, sizeof(db2), "%s/batch.db", tmpdir);
		if (store_open(db2, &st2, &err) < 0)
			fail_msg("store_open: %s", err);
		for (i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			if (util_read_file(path, 64 << 20, &raws[i], &len, &err) < 0)
				fail_msg("%s: %s", path, err);
			items[i].channel = INGEST_EMAIL;
			items[i].source_key = names[i];
			items[i].raw = (const unsigned char *)raws[i];
			items[i].raw_len = len;
		}
		ctx.st = st2;
		if (ingest_batch(&ctx, items, n, NULL, NULL, 0, &err) != 0)
			fail_msg("one batch: %s", err);
		ctx.st = st;
		for (i = 0; i < n; i++) {
			if (items[i].outcome != msgs[i].outcome || items[i].ticket_id != msgs[i].ticket_id) {
				print_error("%s: in one batch %s #%ld, alone %s #%ld\n", names[i],
				    ingest_outcome_name(items[i].outcome), items[i].ticket_id,
				    ingest_outcome_name(msgs[i].outcome), msgs[i].ticket_id);
				bad++;
			}
			free(raws[i]);
		}
		free(raws);
		free(items);
		store_close(&st2);
	}

	snprintf(path, sizeof(path), "%s/EXPECTED.tsv", dir);
	tsv = fopen(path, "r");
	assert_non_null(tsv);
	while (fgets(line, sizeof(line), tsv) != NULL) {
		char *fl[4] = { NULL, NULL, NULL, NULL };
		struct corpus_msg *m, *orig;
		const char *want = NULL;
		int nf, ok = 1, want_outcome;

		if (line[0] == '#' || line[strspn(line, " \t\r\n")] == '\0')
			continue;
		nf = split_tabs(line, fl);
		if (nf < 2) {
			print_error("EXPECTED.tsv: malformed line \"%s\"\n", line);
			bad++;
			continue;
		}
		rows++;
		m = find_msg(msgs, n, fl[0]);
		if (m == NULL) {
			print_error("%s: listed in EXPECTED.tsv but not in the corpus\n", fl[0]);
			bad++;
			continue;
		}
		orig = NULL;
		if (strcmp(fl[1], "ticket") == 0)
			want_outcome = INGEST_TICKET;
		else if (strcmp(fl[1], "ignore") == 0 || strcmp(fl[1], "ignored") == 0)
			want_outcome = INGEST_IGNORED;
		else if (strcmp(fl[1], "staff") == 0)
			want_outcome = INGEST_STAFF;
		else if (strcmp(fl[1], "recorded") == 0)
			want_outcome = INGEST_RECORDED;
		else if (strncmp(fl[1], "append:", 7) == 0) {
			want_outcome = INGEST_APPEND;
			orig = find_msg(msgs, n, fl[1] + 7);
			if (orig == NULL) {
				print_error("%s: answers unknown file %s\n", fl[0], fl[1] + 7);
				bad++;
				continue;
			}
		} else {
			print_error("%s: unknown expected outcome \"%s\"\n", fl[0], fl[1]);
			bad++;
			continue;
		}
		if (m->outcome != want_outcome) {
			print_error("%s: outcome %s, expected %s\n", fl[0],
			    ingest_outcome_name(m->outcome), fl[1]);
			ok = 0;
		}
		if (ok && orig != NULL && m->ticket_id != orig->ticket_id) {
			print_error("%s: appended to ticket %ld, expected %ld (%s)\n", fl[0],
			    m->ticket_id, orig->ticket_id, orig->name);
			ok = 0;
		}
		if (ok && nf >= 3 && given(fl[2])) {
			char *dept = qtext(store_db(st), "SELECT department FROM tickets WHERE id = ?1",
			    m->ticket_id);

			if (strcmp(dept, fl[2]) != 0) {
				print_error("%s: department \"%s\", expected \"%s\"\n", fl[0], dept, fl[2]);
				ok = 0;
			}
			free(dept);
		}
		want = nf >= 4 && given(fl[3]) ? fl[3] : NULL;
		if (ok && want != NULL && m->ticket_id > 0) {
			long hit = qcount(store_db(st), "SELECT count(*) FROM messages WHERE raw_id = ?1 "
			    "AND instr(text, ?2) > 0", m->raw_id, want);

			if (hit <= 0 && want_outcome == INGEST_TICKET)
				hit = qcount(store_db(st), "SELECT count(*) FROM tickets WHERE id = ?1 "
				    "AND (instr(text, ?2) > 0 OR instr(subject, ?2) > 0)",
				    m->ticket_id, want);
			if (hit <= 0) {
				char *txt = qtext(store_db(st), "SELECT text FROM messages WHERE raw_id "
				    "= ?1", m->raw_id);

				print_error("%s: text does not contain \"%s\"; text: \"%.300s\"\n",
				    fl[0], want, txt);
				free(txt);
				ok = 0;
			}
		}
		if (!ok)
			bad++;
	}
	fclose(tsv);
	print_message("# corpus: %zu messages, %zu rows checked, %zu wrong\n", n, rows, bad);

	for (i = 0; i < n; i++)
		free(names[i]);
	free(msgs);
	router_free(&rt);
	store_close(&st);
	config_free(&cfg);
	if (ts_rmtree(tmpdir) < 0)
		print_error("could not remove %s\n", tmpdir);
	assert_true(rows > 0);
	assert_int_equal(bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
