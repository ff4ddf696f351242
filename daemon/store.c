/*
 * store.c - the SQLite connection: pragmas, migrations, transactions,
 * savepoints, a prepared-statement cache, source state and online backup.
 */
#include "store_p.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "util.h"

#define STORE_CACHE_INITIAL 128         /* slots; power of two, open addressing */

/*
 * Cheap hash of an SQL text: its length and its first and last 16 bytes
 * (statements differ at the start or the end; equal hashes are told apart by
 * strcmp).  Called for every cached statement use, so no byte-by-byte loop
 * over the whole text.
 */
static uint32_t
store_hash(const char *s)
{
	size_t n = strlen(s), i;
	uint64_t a, b, h;

	if (n < 32) {
		uint32_t f = 2166136261u ^ (uint32_t)n;

		for (i = 0; i < n; i++)
			f = (f ^ (unsigned char)s[i]) * 16777619u;
		return f;
	}
	/* four words, no byte loop: this runs for every statement a message uses */
	h = (uint64_t)n * 0x9e3779b97f4a7c15u;
	memcpy(&a, s, 8);
	memcpy(&b, s + 8, 8);
	h = (h ^ a) * 0xff51afd7ed558ccdu;
	h = (h ^ b) * 0xc4ceb9fe1a85ec53u;
	memcpy(&a, s + n - 16, 8);
	memcpy(&b, s + n - 8, 8);
	h = (h ^ a) * 0xff51afd7ed558ccdu;
	h = (h ^ b) * 0xc4ceb9fe1a85ec53u;
	return (uint32_t)(h ^ (h >> 32));
}

/* Record "what: sqlite message" in st->err and point *error_r at it. */
static int
store_fail(struct store *st, const char *what, const char **error_r)
{
	snprintf(st->err, sizeof(st->err), "%s: %s", what,
	    st->db ? sqlite3_errmsg(st->db) : "no database");
	if (error_r)
		*error_r = st->err;
	return -1;
}

sqlite3 *
store_db(struct store *st)
{
	return st->db;
}

const char *
store_errmsg(struct store *st)
{
	if (st->err[0] == '\0')
		return sqlite3_errmsg(st->db);
	return st->err;
}

int
store_exec(struct store *st, const char *sql, const char **error_r)
{
	char *msg = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(st->err, sizeof(st->err), "%s", msg ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		if (error_r)
			*error_r = st->err;
		return -1;
	}
	return 0;
}

int
store_schema_version(struct store *st)
{
	sqlite3_stmt *s;
	int v = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* Apply migrations after user_version, each in its own IMMEDIATE transaction
 * (the version is re-read inside it, so two processes opening a new file at
 * once do not both migrate). */
static int
store_migrate(struct store *st, const char **error_r)
{
	/* up to date (the usual case): no write lock, so s48ctl's readers never
	 * wait for a batch s48d is committing */
	if (store_schema_version(st) == (int)schema_migrations_count)
		return 0;
	for (;;) {
		int v;
		char pragma[64];

		if (store_exec(st, "BEGIN IMMEDIATE", error_r) < 0)
			return -1;
		v = store_schema_version(st);
		if (v < 0) {
			store_rollback(st);
			return store_fail(st, "reading user_version", error_r);
		}
		if ((size_t)v >= schema_migrations_count) {
			store_rollback(st);
			if ((size_t)v > schema_migrations_count) {
				snprintf(st->err, sizeof(st->err),
				    "database schema version %d is newer than this program (%zu)",
				    v, schema_migrations_count);
				if (error_r)
					*error_r = st->err;
				return -1;
			}
			return 0;
		}
		if (store_exec(st, schema_migrations[v], error_r) < 0) {
			char what[600];

			snprintf(what, sizeof(what), "migration %d: %s", v + 1, st->err);
			memcpy(st->err, what, sizeof(st->err) - 1);
			st->err[sizeof(st->err) - 1] = '\0';
			store_rollback(st);
			return -1;
		}
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
		if (store_exec(st, pragma, error_r) < 0 || store_exec(st, "COMMIT", error_r) < 0) {
			store_rollback(st);
			return -1;
		}
		log_debug("store: schema migrated to version %d", v + 1);
	}
}

/*
 * Process-wide SQLite settings, before the library initialises (a call after
 * that is refused by SQLite and changes nothing).  Debian's libsqlite3 is
 * built without lookaside memory, so every cursor, record and bound value
 * of a statement is a malloc(); with memory statistics on (the default)
 * each of them also takes a global mutex: ~150 lock/unlock pairs, 17,000
 * instructions per ingested message.  Nothing here reads the statistics.
 */
/*
 * SQLite's small allocations (cursors, records, bound values: some seventy
 * malloc/free pairs per ingested message, without lookaside) come from
 * per-thread free lists of a few size classes; anything larger, and lists
 * that are full, go to malloc.  Each block has an 8-byte header with its
 * class (or, for a large block, its size).  A block freed by another thread
 * joins that thread's lists.  Not used under AddressSanitizer, which must
 * see every block.
 */
#define STORE_MEM_STEP     64           /* class k holds blocks of (k + 1) * 64 bytes */
#define STORE_MEM_CLASSES  16           /* up to 1,024 bytes */
#define STORE_MEM_KEEP     64           /* blocks kept per class and thread */
#define STORE_MEM_LARGE    0xffffffffu

struct store_mem_free {
	struct store_mem_free *next;
};

static _Thread_local struct store_mem_free *store_mem_lists[STORE_MEM_CLASSES];
static _Thread_local unsigned store_mem_kept[STORE_MEM_CLASSES];

static void *
store_mem_malloc(int n)
{
	size_t sz = n > 0 ? (size_t)n : 1, k = (sz - 1) / STORE_MEM_STEP;
	uint64_t *h;

	if (k < STORE_MEM_CLASSES) {
		struct store_mem_free *f = store_mem_lists[k];

		if (f != NULL) {
			store_mem_lists[k] = f->next;
			store_mem_kept[k]--;
			h = (uint64_t *)(void *)f;
		} else if ((h = malloc((k + 1) * STORE_MEM_STEP + 8)) == NULL) {
			return NULL;
		}
		h[0] = k;
		return h + 1;
	}
	if ((h = malloc(sz + 8)) == NULL)
		return NULL;
	h[0] = ((uint64_t)sz << 32) | STORE_MEM_LARGE;
	return h + 1;
}

static void
store_mem_free(void *p)
{
	uint64_t *h;
	uint32_t k;

	if (p == NULL)
		return;
	h = (uint64_t *)p - 1;
	k = (uint32_t)h[0];
	if (k < STORE_MEM_CLASSES && store_mem_kept[k] < STORE_MEM_KEEP) {
		struct store_mem_free *f = (struct store_mem_free *)(void *)h;

		f->next = store_mem_lists[k];
		store_mem_lists[k] = f;
		store_mem_kept[k]++;
		return;
	}
	free(h);
}

void
store_mem_thread_release(void)
{
	size_t k;

	for (k = 0; k < STORE_MEM_CLASSES; k++) {
		while (store_mem_lists[k] != NULL) {
			struct store_mem_free *f = store_mem_lists[k];

			store_mem_lists[k] = f->next;
			free(f);
		}
		store_mem_kept[k] = 0;
	}
}

static int
store_mem_size(void *p)
{
	uint64_t h;

	if (p == NULL)
		return 0;
	h = ((uint64_t *)p)[-1];
	if ((uint32_t)h == STORE_MEM_LARGE)
		return (int)(h >> 32);
	return (int)(((uint32_t)h + 1) * STORE_MEM_STEP);
}

static void *
store_mem_realloc(void *p, int n)
{
	void *q;
	int old;

	if (p == NULL)
		return store_mem_malloc(n);
	old = store_mem_size(p);
	if (n <= old && (old <= STORE_MEM_STEP * STORE_MEM_CLASSES || n > old / 2))
		return p;
	if ((q = store_mem_malloc(n)) == NULL)
		return NULL;
	memcpy(q, p, (size_t)(old < n ? old : n));
	store_mem_free(p);
	return q;
}

static int
store_mem_roundup(int n)
{
	if (n <= 0)
		return STORE_MEM_STEP;
	if (n <= STORE_MEM_STEP * STORE_MEM_CLASSES)
		return ((n + STORE_MEM_STEP - 1) / STORE_MEM_STEP) * STORE_MEM_STEP;
	return (n + 7) & ~7;
}

static int
store_mem_init(void *arg)
{
	(void)arg;
	return SQLITE_OK;
}

static void
store_mem_shutdown(void *arg)
{
	(void)arg;
}

#if defined(__SANITIZE_ADDRESS__)
#define STORE_MEM_OWN 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STORE_MEM_OWN 0
#endif
#endif
#ifndef STORE_MEM_OWN
#define STORE_MEM_OWN 1
#endif

static void
store_global_config(void)
{
	static const sqlite3_mem_methods mem = {
		store_mem_malloc, store_mem_free, store_mem_realloc, store_mem_size,
		store_mem_roundup, store_mem_init, store_mem_shutdown, NULL
	};

	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (STORE_MEM_OWN)
		sqlite3_config(SQLITE_CONFIG_MALLOC, &mem);
}

static void
store_global_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, store_global_config);
}

int
store_open(const char *path, struct store **st_r, const char **error_r)
{
	static _Thread_local char err[600];
	struct store *st;
	const char *e = NULL;

	*st_r = NULL;
	store_global_init();
	/*
	 * A new database holds citizens' numbers and addresses: created owner
	 * only, whatever the umask (SQLite would give it 0644 & ~umask, and its
	 * -wal and -shm take the database's mode).  O_EXCL: an existing file
	 * is left as it is; any other failure is SQLite's to report.
	 */
	if (strcmp(path, ":memory:") != 0 && strncmp(path, "file:", 5) != 0) {
		int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

		if (fd >= 0)
			close(fd);
	}
	st = xcalloc(1, sizeof(*st));
	st->path = xstrdup(path);
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, sizeof(err), "%s: %s", path,
		    st->db ? sqlite3_errmsg(st->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
	sqlite3_extended_result_codes(st->db, 1);
	/*
	 * A small page cache (1 MB): the database file stays in the kernel's
	 * page cache anyway, and a large one only grows s48d's RSS with the
	 * database (BENCHMARKS.md: 32 MB made 53 MB of RSS, 1 MB keeps it
	 * under 20 MB and flat from 10,000 to 100,000 messages at the same
	 * CPU cost per message).
	 *
	 * 8 KB pages for a NEW file (the pragma comes before anything is
	 * written; an existing database keeps its page size, 4 KB for those
	 * made before this, as SQLite cannot change it in WAL mode).  With the
	 * same 1 MB cache, a 1,000-mail batch writes half as many WAL frames:
	 * at 10,000 mails s48d's writer made 26,000 pwrite and 12,000 pread
	 * calls instead of 47,000 and 20,000, the checkpointer 6,400 page
	 * copies instead of 14,400; time in ingest_batch -15 % at 10,000 and
	 * -11 % at 100,000 mails, same RSS.  16 KB pages cut the calls further
	 * but write 16 KB for each random index insert: SMS ingest at 100,000
	 * rows was 10 % slower than with 4 KB.
	 */
	if (store_exec(st, "PRAGMA page_size = 8192", &e) < 0 ||
	    store_exec(st, "PRAGMA journal_mode = WAL", &e) < 0 ||
	    store_exec(st, "PRAGMA synchronous = FULL", &e) < 0 ||
	    store_exec(st, "PRAGMA foreign_keys = ON", &e) < 0 ||
	    store_exec(st, "PRAGMA temp_store = MEMORY", &e) < 0 ||
	    store_exec(st, "PRAGMA cache_size = -1024", &e) < 0 ||
	    /*
	     * A reader that holds a snapshot for long (an export of a large
	     * database, a backup) keeps the checkpointer from copying past it,
	     * so the WAL grows meanwhile (about 20 MB per 1,000 messages).
	     * SQLite reuses a WAL file from its start but never shrinks it:
	     * without a limit the -wal file kept that size (hundreds of MB)
	     * until s48d stopped.  With it, the first commit after the WAL
	     * starts over cuts the file to 64 MB (on every connection: s48ctl's
	     * writes may be the ones that start it over).
	     */
	    store_exec(st, "PRAGMA journal_size_limit = 67108864", &e) < 0 ||
	    store_migrate(st, &e) < 0) {
		snprintf(err, sizeof(err), "%s: %s", path, e);
		goto fail;
	}
	st->err[0] = '\0';
	*st_r = st;
	return 0;
fail:
	if (error_r)
		*error_r = err;
	store_close(&st);
	return -1;
}

void
store_close(struct store **stp)
{
	struct store *st = *stp;
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < st->n_slots; i++) {
		if (st->cache[i].stmt)
			sqlite3_finalize(st->cache[i].stmt);
		free(st->cache[i].sql);
	}
	free(st->cache);
	if (st->db) {
		if (!sqlite3_get_autocommit(st->db))
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		store_ckpt_stop(st);    /* no statement or transaction left open */
		if (sqlite3_close(st->db) != SQLITE_OK)
			log_warnx("store: close %s: %s", st->path, sqlite3_errmsg(st->db));
	}
	free(st->path);
	free(st);
	*stp = NULL;
}

int
store_begin(struct store *st, const char **error_r)
{
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return store_fail(st, "begin", error_r);
	return 0;
}

int
store_commit(struct store *st, const char **error_r)
{
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		store_fail(st, "commit", error_r);
		if (!sqlite3_get_autocommit(st->db))
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

void
store_rollback(struct store *st)
{
	if (sqlite3_get_autocommit(st->db))
		return;
	if (sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
		log_warnx("store: rollback: %s", sqlite3_errmsg(st->db));
}

int
store_in_transaction(struct store *st)
{
	return !sqlite3_get_autocommit(st->db);
}

static int
store_name_ok(const char *name)
{
	const char *p;

	if (name == NULL || !(*name == '_' || (*name >= 'A' && *name <= 'Z') ||
	    (*name >= 'a' && *name <= 'z')))
		return 0;
	for (p = name; *p; p++)
		if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9')))
			return 0;
	return p - name < 64;
}

/* Run "VERB name" (and optionally a second "VERB2 name") for savepoints. */
static int
store_sp(struct store *st, const char *verb, const char *verb2, const char *name,
    const char **error_r)
{
	char sql[160];

	if (!store_name_ok(name)) {
		snprintf(st->err, sizeof(st->err), "bad savepoint name");
		if (error_r)
			*error_r = st->err;
		return -1;
	}
	snprintf(sql, sizeof(sql), "%s %s", verb, name);
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_fail(st, verb, error_r);
	if (verb2) {
		snprintf(sql, sizeof(sql), "%s %s", verb2, name);
		if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
			return store_fail(st, verb2, error_r);
	}
	return 0;
}

int
store_savepoint(struct store *st, const char *name, const char **error_r)
{
	return store_sp(st, "SAVEPOINT", NULL, name, error_r);
}

int
store_release(struct store *st, const char *name, const char **error_r)
{
	return store_sp(st, "RELEASE", NULL, name, error_r);
}

int
store_rollback_to(struct store *st, const char *name, const char **error_r)
{
	return store_sp(st, "ROLLBACK TO", "RELEASE", name, error_r);
}

/* Insert an entry into a table known to have a free slot. */
static void
store_cache_put(struct store_cached *tab, size_t n_slots, struct store_cached e)
{
	size_t i = e.hash & (n_slots - 1);

	while (tab[i].sql != NULL)
		i = (i + 1) & (n_slots - 1);
	tab[i] = e;
}

/* Double the table.  Entries are never evicted: a statement handed out
 * stays valid until store_close(), even while a caller is stepping it. */
static void
store_cache_grow(struct store *st)
{
	size_t n = st->n_slots ? st->n_slots * 2 : STORE_CACHE_INITIAL, i;
	struct store_cached *tab = xcalloc(n, sizeof(*tab));

	for (i = 0; i < st->n_slots; i++)
		if (st->cache[i].sql != NULL)
			store_cache_put(tab, n, st->cache[i]);
	free(st->cache);
	st->cache = tab;
	st->n_slots = n;
}

/* The cached statement for sql (prepared on first use); bindings cleared
 * unless keep_bindings. */
static sqlite3_stmt *
store_prepare_cached(struct store *st, const char *sql, int keep_bindings)
{
	uint32_t h = store_hash(sql);
	struct store_cached e;
	sqlite3_stmt *s = NULL;
	size_t i;

	if (st->n_slots > 0) {
		for (i = h & (st->n_slots - 1); st->cache[i].sql != NULL;
		    i = (i + 1) & (st->n_slots - 1)) {
			struct store_cached *c = &st->cache[i];

			if (c->hash == h && strcmp(c->sql, sql) == 0) {
				sqlite3_reset(c->stmt);
				if (!keep_bindings)
					sqlite3_clear_bindings(c->stmt);
				return c->stmt;
			}
		}
	}
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
		store_fail(st, "prepare", NULL);
		log_warnx("store: %s in: %.200s", st->err, sql);
		return NULL;
	}
	if ((st->n_cached + 1) * 4 > st->n_slots * 3)
		store_cache_grow(st);
	e.sql = xstrdup(sql);
	e.hash = h;
	e.stmt = s;
	store_cache_put(st->cache, st->n_slots, e);
	st->n_cached++;
	return s;
}

sqlite3_stmt *
store_prepare(struct store *st, const char *sql)
{
	return store_prepare_cached(st, sql, 0);
}

sqlite3_stmt *
store_prepare_all(struct store *st, const char *sql)
{
	return store_prepare_cached(st, sql, 1);
}

int64_t
store_last_id(struct store *st)
{
	return sqlite3_last_insert_rowid(st->db);
}

int
store_changes(struct store *st)
{
	return sqlite3_changes(st->db);
}

int
store_state_get(struct store *st, const char *key, char **value_r, const char **error_r)
{
	sqlite3_stmt *s = store_prepare(st, "SELECT value FROM source_state WHERE key = ?1");
	int rc;

	*value_r = NULL;
	if (s == NULL)
		return store_fail(st, "state get", error_r);
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(s, 0);

		*value_r = xstrdup(v ? v : "");
		sqlite3_reset(s);
		return 0;
	}
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return 1;
	return store_fail(st, "state get", error_r);
}

int
store_state_set(struct store *st, const char *key, const char *value, const char **error_r)
{
	sqlite3_stmt *s = store_prepare(st,
	    "INSERT INTO source_state(key, value) VALUES(?1, ?2) "
	    "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
	int rc;

	if (s == NULL)
		return store_fail(st, "state set", error_r);
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return store_fail(st, "state set", error_r);
	return 0;
}

int
store_state_del(struct store *st, const char *key, const char **error_r)
{
	sqlite3_stmt *s = store_prepare(st, "DELETE FROM source_state WHERE key = ?1");
	int rc;

	if (s == NULL)
		return store_fail(st, "state del", error_r);
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return store_fail(st, "state del", error_r);
	return 0;
}

int
store_backup(struct store *st, const char *path, const char **error_r)
{
	sqlite3 *dst = NULL;
	sqlite3_backup *b = NULL;
	char *tmp = NULL;
	mode_t mask;
	int fd, rc;

	if (store_in_transaction(st)) {
		snprintf(st->err, sizeof(st->err), "backup: inside a transaction");
		goto fail_msg;
	}
	/*
	 * Written next to the target, then renamed: a reader never sees half a
	 * copy.  The temporary file is made by mkstemp (a name nobody can
	 * guess, created exclusively, 0600), so no file someone else placed
	 * there, and no link, receives the citizens' data; then it gets the
	 * mode the umask gives (s48ctl narrows that to the database's).
	 */
	tmp = xasprintf("%s.tmpXXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		snprintf(st->err, sizeof(st->err), "backup: %s: %s", path, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto fail_msg;
	}
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) < 0) {
		snprintf(st->err, sizeof(st->err), "backup: %s: %s", tmp, strerror(errno));
		close(fd);
		goto fail_msg;
	}
	close(fd);
	if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) !=
	    SQLITE_OK) {
		snprintf(st->err, sizeof(st->err), "backup: %s: %s", path,
		    dst ? sqlite3_errmsg(dst) : "cannot open");
		goto fail_msg;
	}
	b = sqlite3_backup_init(dst, "main", st->db, "main");
	if (b == NULL) {
		snprintf(st->err, sizeof(st->err), "backup: %s", sqlite3_errmsg(dst));
		goto fail_msg;
	}
	/* all pages in one step: in WAL mode this is one read transaction, a
	 * consistent snapshot that writers do not wait for; stepping in pieces
	 * would restart after every commit of a busy daemon */
	do {
		rc = sqlite3_backup_step(b, -1);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			sqlite3_sleep(20);
	} while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
	sqlite3_backup_finish(b);
	b = NULL;
	if (rc != SQLITE_DONE) {
		snprintf(st->err, sizeof(st->err), "backup: %s", sqlite3_errstr(rc));
		goto fail_msg;
	}
	/* the copy is a self-contained rollback-journal file */
	sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL);
	if (sqlite3_close(dst) != SQLITE_OK) {
		dst = NULL;
		snprintf(st->err, sizeof(st->err), "backup: close failed");
		goto fail_msg;
	}
	dst = NULL;
	if (rename(tmp, path) < 0) {
		snprintf(st->err, sizeof(st->err), "backup: rename to %s: %s", path,
		    strerror(errno));
		goto fail_msg;
	}
	free(tmp);
	return 0;
fail_msg:
	if (error_r)
		*error_r = st->err;
	if (b)
		sqlite3_backup_finish(b);
	if (dst)
		sqlite3_close(dst);
	if (tmp)
		unlink(tmp);
	free(tmp);
	return -1;
}

time_t
store_now(void)
{
	return util_now();
}

char *
store_col_dup(sqlite3_stmt *s, int i)
{
	const char *v = (const char *)sqlite3_column_text(s, i);

	return v ? xstrdup(v) : NULL;
}
