/*
 * store_wal_sync.c - make what is committed to a database's WAL durable,
 * from any thread, without its connection: see store.h.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static _Thread_local char wal_sync_err[512];

int
store_wal_sync(const char *db_path, const char **error_r)
{
	char *wal = xasprintf("%s-wal", db_path);
	int fd, rc = 0;

	fd = open(wal, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		/* no WAL: every commit is in the database file, synced by the
		 * checkpoint that emptied the WAL before it was removed */
		if (errno != ENOENT) {
			snprintf(wal_sync_err, sizeof(wal_sync_err), "%s: %s", wal, strerror(errno));
			rc = -1;
		}
	} else {
		/* fdatasync is per file: it flushes what any descriptor wrote */
		if (fdatasync(fd) < 0) {
			snprintf(wal_sync_err, sizeof(wal_sync_err), "%s: fdatasync: %s", wal,
			    strerror(errno));
			rc = -1;
		}
		close(fd);
	}
	free(wal);
	if (rc < 0 && error_r != NULL)
		*error_r = wal_sync_err;
	return rc;
}
