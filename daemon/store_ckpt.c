/*
 * store_ckpt.c - WAL checkpoints on a thread of their own (s48d's store).
 *
 * With SQLite's automatic checkpoint, the commit that takes the WAL past
 * 1,000 frames also copies the WAL into the database file on the
 * committing thread: fdatasync(WAL), a pread from the WAL and a pwrite to
 * the database per page, fdatasync(database) -- some 15 ms of a 70 ms
 * 1,000-mail batch.  Here the writer's WAL hook (SQLite calls it after each
 * commit with the WAL's frame count) only wakes a thread, which runs
 * PASSIVE checkpoints on its own connection while the writer goes on.
 *
 * Requests and runs are counted: the writer's commit takes number
 * `wanted`, a run takes the highest number asked so far when it starts,
 * and stores it in `done` when it ends; a run whose number is >= a
 * commit's began after that commit and so saw its frames.
 *
 * The bound: SQLite starts the WAL over from its beginning only when a
 * write transaction begins with every frame copied (and no reader still
 * in the WAL).  A writer that runs batch after batch begins the next one
 * before the thread has copied the last, so the WAL would grow for as long
 * as a backlog lasts.  A commit that leaves wait_frames or more frames
 * therefore waits for a run begun after it (at most one batch's copy; the
 * earlier frames were copied meanwhile), and the next transaction starts
 * the WAL over.  A reader holding an old snapshot stops copying at that
 * snapshot and SQLite cannot start the WAL over until it ends; PASSIVE
 * runs never wait for it, so the writer's wait stays short.
 *
 * The thread blocks all signals: they keep going to the main thread.
 */
#include "store_p.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

struct store_ckpt {
	pthread_mutex_t mu;
	pthread_cond_t cv_thread;       /* the thread waits for a request */
	pthread_cond_t cv_writer;       /* a commit waits for a run */
	pthread_t thread;
	sqlite3 *db;                    /* the thread's connection */
	int frames, wait_frames;
	int stop;
	int writer_waits;               /* someone sleeps on cv_writer */
	int warned;                     /* the last run failed and said so */
	uint64_t wanted, done;
	struct store_ckpt_stats stats;
};

static void *
ckpt_main(void *arg)
{
	struct store_ckpt *ck = arg;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&ck->mu);
	for (;;) {
		uint64_t seq;
		int rc, nlog = -1, ncopied = -1;

		while (!ck->stop && ck->done == ck->wanted)
			pthread_cond_wait(&ck->cv_thread, &ck->mu);
		if (ck->stop)
			break;
		seq = ck->wanted;
		pthread_mutex_unlock(&ck->mu);
		rc = sqlite3_wal_checkpoint_v2(ck->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
		    &nlog, &ncopied);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY && !ck->warned)
			log_warnx("store: checkpoint: %s", sqlite3_errmsg(ck->db));
		ck->warned = rc != SQLITE_OK && rc != SQLITE_BUSY;
		pthread_mutex_lock(&ck->mu);
		ck->done = seq;
		ck->stats.runs++;
		if (rc == SQLITE_BUSY)
			ck->stats.busy++;
		else if (rc != SQLITE_OK)
			ck->stats.failed++;
		ck->stats.last_log = nlog;
		ck->stats.last_copied = ncopied;
		if (ck->writer_waits)
			pthread_cond_broadcast(&ck->cv_writer);
	}
	pthread_mutex_unlock(&ck->mu);
	store_mem_thread_release();
	return NULL;
}

/* sqlite3_wal_hook: after every commit on the writer's connection. */
static int
ckpt_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store_ckpt *ck = arg;
	uint64_t seq;

	(void)db;
	(void)name;
	if (frames < ck->frames)
		return SQLITE_OK;
	pthread_mutex_lock(&ck->mu);
	seq = ++ck->wanted;
	ck->stats.requests++;
	pthread_cond_signal(&ck->cv_thread);
	if (frames >= ck->wait_frames) {
		ck->stats.writer_waits++;
		ck->writer_waits++;
		while (ck->done < seq && !ck->stop)
			pthread_cond_wait(&ck->cv_writer, &ck->mu);
		ck->writer_waits--;
	}
	pthread_mutex_unlock(&ck->mu);
	return SQLITE_OK;
}

int
store_start_checkpointer(struct store *st, int frames, const char **error_r)
{
	struct store_ckpt *ck;
	const char *what;

	if (st->ckpt != NULL || store_in_transaction(st)) {
		snprintf(st->err, sizeof(st->err), "checkpointer: %s",
		    st->ckpt != NULL ? "already running" : "inside a transaction");
		goto fail_msg;
	}
	if (frames <= 0)
		frames = STORE_CKPT_FRAMES;
	ck = xcalloc(1, sizeof(*ck));
	ck->frames = frames;
	ck->wait_frames = frames > 0x7fffffff / STORE_CKPT_WAIT ? 0x7fffffff :
	    frames * STORE_CKPT_WAIT;
	ck->stats.frames = ck->frames;
	ck->stats.wait_frames = ck->wait_frames;
	what = "open";
	if (sqlite3_open_v2(st->path, &ck->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
	    NULL) != SQLITE_OK)
		goto fail_db;
	sqlite3_busy_timeout(ck->db, STORE_BUSY_MS);
	/*
	 * A run's fdatasync calls follow this connection's synchronous; its
	 * page cache only ever holds the schema.  The last pragma is a read:
	 * until a connection has read, it has no WAL open and SQLite (3.40)
	 * makes its checkpoints no-ops that report -1 frames.
	 */
	what = "pragmas";
	if (sqlite3_exec(ck->db, "PRAGMA synchronous = FULL; PRAGMA cache_size = -64; "
	    "PRAGMA user_version", NULL, NULL, NULL) != SQLITE_OK)
		goto fail_db;
	if (pthread_mutex_init(&ck->mu, NULL) != 0)
		goto fail_mu;
	if (pthread_cond_init(&ck->cv_thread, NULL) != 0)
		goto fail_cv;
	if (pthread_cond_init(&ck->cv_writer, NULL) != 0)
		goto fail_cv2;
	if (pthread_create(&ck->thread, NULL, ckpt_main, ck) != 0)
		goto fail_thread;
	sqlite3_wal_hook(st->db, ckpt_wal_hook, ck);
	st->ckpt = ck;
	log_debug("store: checkpoints on their own thread from %d WAL frames (commits wait from %d)",
	    ck->frames, ck->wait_frames);
	return 0;
fail_thread:
	pthread_cond_destroy(&ck->cv_writer);
fail_cv2:
	pthread_cond_destroy(&ck->cv_thread);
fail_cv:
	pthread_mutex_destroy(&ck->mu);
fail_mu:
	snprintf(st->err, sizeof(st->err), "checkpointer: cannot start its thread");
	sqlite3_close(ck->db);
	free(ck);
	goto fail_msg;
fail_db:
	snprintf(st->err, sizeof(st->err), "checkpointer: %s %s: %s", what, st->path,
	    ck->db != NULL ? sqlite3_errmsg(ck->db) : "out of memory");
	sqlite3_close(ck->db);
	free(ck);
fail_msg:
	if (error_r)
		*error_r = st->err;
	return -1;
}

int
store_checkpointer_stats(struct store *st, struct store_ckpt_stats *out)
{
	struct store_ckpt *ck = st->ckpt;

	if (ck == NULL)
		return -1;
	pthread_mutex_lock(&ck->mu);
	*out = ck->stats;
	pthread_mutex_unlock(&ck->mu);
	return 0;
}

void
store_ckpt_stop(struct store *st)
{
	struct store_ckpt *ck = st->ckpt;
	int rc, nlog = -1, ncopied = -1;

	if (ck == NULL)
		return;
	pthread_mutex_lock(&ck->mu);
	ck->stop = 1;
	pthread_cond_signal(&ck->cv_thread);
	pthread_mutex_unlock(&ck->mu);
	pthread_join(ck->thread, NULL);
	log_debug("store: checkpointer: %lu requests, %lu runs (%lu busy, %lu failed), "
	    "%lu commits waited", ck->stats.requests, ck->stats.runs, ck->stats.busy,
	    ck->stats.failed, ck->stats.writer_waits);
	sqlite3_wal_hook(st->db, NULL, NULL);
	if (sqlite3_close(ck->db) != SQLITE_OK)
		log_warnx("store: checkpointer close: %s", sqlite3_errmsg(ck->db));
	pthread_cond_destroy(&ck->cv_writer);
	pthread_cond_destroy(&ck->cv_thread);
	pthread_mutex_destroy(&ck->mu);
	free(ck);
	st->ckpt = NULL;
	/* copy what is left and empty the WAL; readers of other processes get
	 * a short wait, not the full busy timeout */
	sqlite3_busy_timeout(st->db, STORE_CKPT_CLOSE_MS);
	rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &nlog, &ncopied);
	if (rc == SQLITE_BUSY)
		log_debug("store: final checkpoint: readers busy, %d of %d frames copied",
		    ncopied, nlog);
	else if (rc != SQLITE_OK)
		log_warnx("store: final checkpoint: %s", sqlite3_errmsg(st->db));
	sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
}
