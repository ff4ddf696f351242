/*
 * store_p.h - what store.c and store_ckpt.c (the background checkpointer)
 * share; not for other modules.
 */
#ifndef S48_STORE_P_H
#define S48_STORE_P_H

#include "store.h"

#define STORE_BUSY_MS     10000         /* busy_timeout of every connection */

struct store_cached {
	char *sql;
	uint32_t hash;
	sqlite3_stmt *stmt;
};

struct store_ckpt;

struct store {
	sqlite3 *db;
	char *path;
	struct store_cached *cache;     /* n_slots entries, at most 3/4 used */
	size_t n_slots, n_cached;
	struct store_ckpt *ckpt;        /* store_start_checkpointer(), else NULL */
	char err[512];
};

/*
 * store_ckpt.c: stop and join the thread, close its connection, then a
 * TRUNCATE checkpoint on st's connection (outside a transaction); frees
 * st->ckpt and NULLs it.  Nothing to do when st->ckpt is NULL.
 */
void store_ckpt_stop(struct store *st);

/* store.c: hand the calling thread's cached SQLite blocks back to malloc
 * (a thread that used SQLite calls it before it ends). */
void store_mem_thread_release(void);

#endif
