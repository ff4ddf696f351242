/*
 * store.h - the SQLite database: opening with migrations, transactions and
 * savepoints, a prepared-statement cache, source state, online backup.
 *
 * One struct store per connection (s48d and s48ctl may run at the same time
 * on the same file: WAL mode, busy_timeout 10 s, BEGIN IMMEDIATE for
 * writers).  synchronous=FULL: once store_commit() returns 0 the data is on
 * disk, so a source may be acknowledged after it.
 *
 * Errors: functions returning int give 0 on success and -1 on failure with
 * *error_r pointing to a message owned by the store, valid until the next
 * call on the same store (error_r may be NULL).
 *
 * Schema: schema/NNN_*.sql, embedded as schema_migrations[]; migration i
 * (0-based) brings PRAGMA user_version from i to i+1, each in its own
 * transaction.  Message-IDs are stored everywhere WITHOUT angle brackets.
 */
#ifndef S48_STORE_H
#define S48_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <sqlite3.h>

struct store;

extern const char *const schema_migrations[];
extern const size_t schema_migrations_count;

/*
 * Open (create if missing) path, set WAL, foreign_keys=ON, busy_timeout
 * 10000 ms, synchronous=FULL, and apply pending migrations.  A new file
 * gets 8 KB pages; an existing one keeps its page size.  The first call
 * in a process also configures SQLite itself (before the library starts):
 * no memory statistics, small blocks from per-thread free lists (store.c).  A database
 * whose user_version is newer than this program knows is refused.
 * Returns 0 and *st_r, or -1 and *error_r (a static or thread-local message
 * valid until the next store_open; nothing to free).
 */
int store_open(const char *path, struct store **st_r, const char **error_r);
/*
 * Finalize cached statements, roll back an open transaction, close; NULLs
 * *st.  With a checkpointer (below): stop its thread first (a checkpoint
 * under way is finished), then a TRUNCATE checkpoint on st's connection so
 * the WAL is copied and emptied even while other processes keep the file
 * open (it waits at most STORE_CKPT_CLOSE_MS for their readers).
 */
void store_close(struct store **st);

/*
 * Background checkpointer, for s48d's writer connection only (s48ctl never
 * starts one: it would start a thread).  SQLite's automatic checkpoint on
 * st (PRAGMA wal_autocheckpoint, which would copy the WAL into the database
 * on the committing thread) is replaced by a WAL hook: after a commit
 * that leaves at least `frames` frames in the WAL (0: STORE_CKPT_FRAMES,
 * SQLite's own default), a thread with its own connection to the same
 * file runs a PASSIVE checkpoint.  Commits are as durable as before
 * (synchronous as the caller set it, store_wal_sync for deferred ones):
 * the thread only copies committed frames, and its connection is
 * synchronous=FULL, so a run syncs the WAL before copying and the
 * database file before SQLite may start the WAL over.
 *
 * Bound: SQLite starts the WAL over only when a write transaction begins
 * with the whole WAL copied.  A commit that leaves at least
 * STORE_CKPT_WAIT x frames waits (on the committing thread) for a
 * checkpoint begun after it, so back-to-back batches cannot grow the WAL
 * without bound.  A reader that holds an old snapshot blocks copying past
 * it, never the writer: the WAL then grows until that reader ends.
 *
 * Call once, outside a transaction, on the thread that uses st.  A later
 * PRAGMA wal_autocheckpoint on st would replace the hook.  Returns 0, or
 * -1 and *error_r (st keeps SQLite's automatic checkpoint and stays usable).
 */
#define STORE_CKPT_FRAMES   1000
#define STORE_CKPT_WAIT     4
#define STORE_CKPT_CLOSE_MS 2000
int store_start_checkpointer(struct store *st, int frames, const char **error_r);

/* What the checkpointer did, for tests and debug logs. */
struct store_ckpt_stats {
	unsigned long requests;         /* commits that woke the thread */
	unsigned long runs;             /* checkpoints it ran */
	unsigned long busy;             /* of which SQLITE_BUSY (another checkpoint at work) */
	unsigned long failed;           /* of which another error */
	unsigned long writer_waits;     /* commits that waited for one (the WAL at the bound) */
	int last_log, last_copied;      /* the last run's WAL frames and frames copied */
	int frames, wait_frames;        /* the thresholds in use */
};
/* 0 and *out, or -1 when st has no checkpointer. */
int store_checkpointer_stats(struct store *st, struct store_ckpt_stats *out);

/* The connection, for modules with their own statements (prefer store_prepare). */
sqlite3 *store_db(struct store *st);
/* Last error message of this store (never NULL). */
const char *store_errmsg(struct store *st);

/* BEGIN IMMEDIATE (waits up to busy_timeout for another writer). */
int store_begin(struct store *st, const char **error_r);
/* COMMIT: durable when it returns 0.  On failure the transaction is rolled back. */
int store_commit(struct store *st, const char **error_r);
/* ROLLBACK if a transaction is open; never fails visibly (errors logged). */
void store_rollback(struct store *st);
/* 1 inside a transaction (not autocommit), else 0. */
int store_in_transaction(struct store *st);

/*
 * Savepoints (name: [A-Za-z_][A-Za-z0-9_]*, anything else is refused).
 * store_rollback_to() undoes everything since the savepoint AND releases it,
 * so after it the savepoint no longer exists (the usual per-item pattern:
 * savepoint; work; release on success / rollback_to on failure).
 */
int store_savepoint(struct store *st, const char *name, const char **error_r);
int store_release(struct store *st, const char *name, const char **error_r);
int store_rollback_to(struct store *st, const char *name, const char **error_r);

/*
 * Cached prepared statement for sql (looked up by content; prepared on
 * first use).  Returned reset with bindings cleared; owned by the store
 * (never finalize it) and valid until store_close().  Do not hold two uses
 * of the same SQL text at once: finish stepping before preparing it again.
 * Returns NULL on a prepare error (message: store_errmsg()).
 */
sqlite3_stmt *store_prepare(struct store *st, const char *sql);

/*
 * store_prepare for a caller that binds EVERY parameter on each use (NULLs
 * with sqlite3_bind_null): the same cached statement, reset, but the last
 * use's bindings are not cleared first (that costs ~200 instructions a use
 * on the ingest path).  NULL on a prepare error.
 */
sqlite3_stmt *store_prepare_all(struct store *st, const char *sql);

/*
 * Run SQL that returns no rows (may hold several statements; no
 * parameters).  For DDL, pragmas and tests.
 */
int store_exec(struct store *st, const char *sql, const char **error_r);

/* Column i of the current row as a new string (caller frees), or NULL when
 * the value is NULL. */
char *store_col_dup(sqlite3_stmt *s, int i);

/* sqlite3_last_insert_rowid */
int64_t store_last_id(struct store *st);
/* sqlite3_changes */
int store_changes(struct store *st);

/*
 * source_state key/value (cursors, UIDVALIDITY, first-run flags).
 * store_state_get: 0 and *value_r (caller frees), 1 if the key is absent
 * (*value_r = NULL), -1 on error.  store_state_set: insert or replace.
 * Both run inside the caller's transaction if one is open.
 */
int store_state_get(struct store *st, const char *key, char **value_r, const char **error_r);
int store_state_set(struct store *st, const char *key, const char *value, const char **error_r);
/* Delete a key (absent is fine). */
int store_state_del(struct store *st, const char *key, const char **error_r);

/*
 * Consistent copy of the database to path with the online backup API, while
 * others may write (one read transaction: a snapshot writers do not wait
 * for; retried on BUSY/LOCKED).  Written to path.tmpPID, then renamed over
 * path.  Must not be called inside a transaction.
 */
int store_backup(struct store *st, const char *path, const char **error_r);

/* The current time for rows (util_now(): honours S48_NOW). */
time_t store_now(void);

/* Schema version of the open database (PRAGMA user_version). */
int store_schema_version(struct store *st);

/*
 * Group commit.  A batch committed with synchronous = NORMAL (ingest_ctx's
 * defer_sync) is in the WAL file but perhaps not yet on disk: it survives
 * a crash of s48d, not a power cut.  Before anything outside learns of it
 * (the IMAP source is acknowledged, a reply is sent), one fdatasync of the
 * WAL makes it and every commit before it durable: the WAL is written in
 * commit order.  store_wal_sync does that for the database at db_path,
 * from any thread (it opens the WAL file itself, not the connection); a
 * missing WAL is fine (then everything is in the database file, synced by
 * the checkpoint that emptied the WAL).  source_imap_poll also calls it
 * at the end of a poll that committed anything, so that the outbox pass
 * after it never tells a citizen about a ticket that is not on disk.  0,
 * or -1 with *error_r (valid until the thread's next call).
 */
int store_wal_sync(const char *db_path, const char **error_r);

#endif
