/*
 * outbox_send.c - delivering pending outbox rows by SMTP or the SMS gateway.
 *
 * A run takes the due rows OUTBOX_BATCH at a time: one transaction claims
 * them (pending -> sending), they are sent over the kept connections
 * (smtp.connections emails in flight at once, one per connection; SMS one
 * by one), and their outcomes are written in one transaction per batch
 * (sooner when FLUSH_MS have passed since the oldest outcome not yet
 * written).  Each message the server accepted is first appended to the
 * sent-log "<database>.sent-log" (one write(2), kept by the kernel when the
 * process dies), and a "committed" line follows once the outcomes are
 * committed; outbox_recover() marks the rows still sending that the lines
 * after it name sent instead of sending them again, and the rows a restored
 * backup has pending that the sent-log names too.  Without a sent-log (it
 * cannot be opened or written) each accepted message is committed at once.
 */
#include "outbox_send.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "mail_compose.h"
#include "notifier_smtp.h"
#include "sms_gateway.h"
#include "store.h"
#include "util.h"

#define MAIL_MAX_BYTES (64u * 1024 * 1024)
#define TRANSPORT_GIVE_UP 3
#define OUTBOX_BATCH 64                 /* rows claimed (and recorded) per transaction */
#define FLUSH_MS 100                    /* outcomes wait at most this long for a commit */

/* What this run did with a claimed row. */
enum outcome {
	OC_NONE = 0,            /* not tried: back to pending as it was */
	OC_SENT,
	OC_RETRY,               /* temporary failure: pending after a backoff */
	OC_FAILED,
	OC_INTERRUPTED          /* cut short by a stop: pending, due now, no attempt */
};

struct row {
	long long id;
	long ticket_id;
	char *channel, *recipient, *kind, *subject, *body, *in_reply_to, *references;
	char *message_id;
	int tag_token, with_attachments, attempts;
	/* this run */
	int claimed, recorded, optout;
	int in_flight;          /* an email handed to notifier_smtp_start() */
	char *mail;             /* its composed message, until its outcome */
	size_t mail_len;
	enum outcome oc;
	time_t next_at;         /* OC_RETRY */
	char *reason;           /* for the row, every outcome but OC_NONE */
};

static int
is_sms_row(const struct row *r)
{
	return strcmp(r->channel, "sms") == 0;
}

/* A pass that failed on the database may have left rows "sending" (and
 * accepted sends in the sent-log): the next pass recovers them first. */
static int pass_failed;
/* The message of the last failed statement, taken before a rollback. */
static char sql_err[256];

static const char *
sql_error(struct store *st, const char *what)
{
	snprintf(sql_err, sizeof(sql_err), "%s: %s", what, sqlite3_errmsg(store_db(st)));
	return sql_err;
}

static void
row_free(struct row *r)
{
	free(r->channel);
	free(r->recipient);
	free(r->kind);
	free(r->subject);
	free(r->body);
	free(r->in_reply_to);
	free(r->references);
	free(r->message_id);
	free(r->reason);
	free(r->mail);
	memset(r, 0, sizeof(*r));
}

static void
rows_free(struct row **rows, size_t n)
{
	size_t i;

	if (*rows == NULL)
		return;
	for (i = 0; i < n; i++)
		row_free(&(*rows)[i]);
	free(*rows);
	*rows = NULL;
}

double
outbox_backoff_scale(void)
{
	static double scale = -1;

	if (scale < 0) {
		const char *e = getenv("S48_BACKOFF_SCALE");
		double v = e != NULL && *e != '\0' ? strtod(e, NULL) : 1.0;

		scale = v > 0 && v <= 1 ? v : 1.0;
	}
	return scale;
}

long
outbox_backoff(int attempts)
{
	long d = 30;
	int i;

	for (i = 1; i < attempts && d < 3600; i++)
		d *= 2;
	if (d > 3600)
		d = 3600;
	/* +-10 % jitter so rows that failed together do not retry together */
	d += (long)(((double)random() / RAND_MAX - 0.5) * 0.2 * (double)d);
	d = (long)((double)d * outbox_backoff_scale());
	return d < 1 ? 1 : d;
}

/* --------------------------------------------------------------- sent-log */

/*
 * The sent-log "<database>.sent-log" lists every message a server accepted,
 * one line "ID TIME MESSAGE-ID" each, written (one write(2), O_APPEND)
 * before anything else is done with the outcome: the kernel keeps it when
 * the process dies.  After each commit of outcomes that follows such lines
 * a line "committed TIME" is added: the lines after the last one are the
 * sends a crash (or a failed commit) may have left unrecorded.  The file is
 * not emptied: it stays beside the database (like the lock file) when a
 * backup is put in its place, and tells which rows the backup has pending
 * or sending were sent after it was taken.  The id and the Message-ID
 * together name one row: a Message-ID holds 64 random bits drawn by the
 * process that queued the row (outbox_queue.c), so a row queued after the
 * restore under a reused id never matches.  Past LEDGER_ROTATE bytes the
 * file becomes "<database>.sent-log.1" (the one before goes) and a new one
 * is begun: both are read, so at least the last LEDGER_ROTATE bytes of
 * sends (some 60,000) are known.
 */
#define LEDGER_ROTATE (4L * 1024 * 1024)
#define LEDGER_READ_MAX (8L * 1024 * 1024)      /* of a file, its last 8 MB are read */
#define LEDGER_LINE 320                 /* longer lines are neither written nor read */
#define LEDGER_COMMITTED "committed"    /* "committed TIME": the lines above are recorded */
#define LEDGER_REASON "sent after the backup this database was restored from was taken " \
	"(the sent-log lists it), recorded at the restart"
#define CRASH_REASON "accepted before a stop, recorded at the restart"
/* The crash journal "<database>.sent" of s48 before the sent-log took its
 * place (ids only): read once at start if an old version left one. */
#define OLD_JOURNAL ".sent"
#define OLD_JOURNAL_MAX (1024 * 1024)   /* read no further than this */

/* Where the last pass of this process began writing the sent-log (the
 * lines a failed pass may have left unrecorded are after it), or -1. */
static off_t pass_ledger_off = -1;

char *
outbox_ledger_path(struct store *st)
{
	const char *db = sqlite3_db_filename(store_db(st), "main");

	return db != NULL && *db != '\0' ? xasprintf("%s.sent-log", db) : NULL;
}

/* The sent-log of st opened for appending (begun anew past LEDGER_ROTATE),
 * or -1: then every accepted message is committed at once. */
static int
ledger_open(struct store *st)
{
	static int warned;
	char *path = outbox_ledger_path(st), *old;
	struct stat sb;
	int fd;

	pass_ledger_off = -1;
	if (path == NULL)
		return -1;
	if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > LEDGER_ROTATE) {
		old = xasprintf("%s.1", path);
		if (rename(path, old) < 0)
			log_warn("outbox: %s", old);
		free(old);
	}
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0 && !warned++)
		log_warn("outbox: %s (every accepted message is committed at once; messages sent "
		    "after a backup would be sent again if it were restored)", path);
	if (fd >= 0)
		pass_ledger_off = lseek(fd, 0, SEEK_END);
	free(path);
	return fd;
}

/* One line per accepted message, one write(2) (O_APPEND makes it whole).
 * 0, or -1 when it is not on record (no sent-log, a Message-ID that cannot
 * be written on the line, a failed write). */
static int
ledger_add(int fd, long long id, const char *message_id)
{
	char line[LEDGER_LINE];
	int n;

	if (fd < 0 || message_id == NULL || *message_id == '\0' ||
	    strpbrk(message_id, " \t\r\n") != NULL)
		return -1;
	n = snprintf(line, sizeof(line), "%lld %lld %s\n", id, (long long)store_now(), message_id);
	if (n <= 0 || n >= (int)sizeof(line))
		return -1;
	if (write(fd, line, (size_t)n) != n) {
		log_warn("outbox: writing the sent-log (the message is committed at once)");
		return -1;
	}
	return 0;
}

/* The lines before this one are recorded in the database. */
static void
ledger_committed(int fd)
{
	char line[64];
	int n = snprintf(line, sizeof(line), LEDGER_COMMITTED " %lld\n", (long long)store_now());

	if (fd >= 0 && write(fd, line, (size_t)n) != n)
		log_warn("outbox: writing the sent-log");
}

/* One accepted send named by the sent-log. */
struct lentry {
	long long id, at;
	const char *message_id;         /* into struct ledger's text */
	int tail;                       /* after the last "committed" line */
};

struct ledger {
	struct buf text;                /* the files' lines, cut into strings */
	struct lentry *e;
	size_t n, cap;
	size_t tail;                    /* e[tail..] follow the last "committed" line */
};

/* Append path's bytes from `from` (-1: its last LEDGER_READ_MAX bytes,
 * whole lines) to l->text.  A file that is not there adds nothing. */
static void
ledger_read(struct ledger *l, const char *path, off_t from)
{
	char chunk[65536];
	struct stat sb;
	size_t start = l->text.len;
	ssize_t got;
	off_t off;
	int fd = open(path, O_RDONLY | O_CLOEXEC), skip = 0;

	if (fd < 0) {
		if (errno != ENOENT)
			log_warn("outbox: %s", path);
		return;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		log_warnx("outbox: %s: not a file that can be read", path);
		close(fd);
		return;
	}
	off = from >= 0 ? from : 0;
	if (from < 0 && sb.st_size > LEDGER_READ_MAX) {
		off = sb.st_size - LEDGER_READ_MAX;
		skip = 1;       /* the first line is cut */
	}
	while ((got = pread(fd, chunk, sizeof(chunk), off)) > 0) {
		if (buf_append(&l->text, chunk, (size_t)got) < 0)
			break;
		off += got;
	}
	close(fd);
	if (skip && l->text.len > start) {
		char *s0 = l->text.data + start, *nl = memchr(s0, '\n', l->text.len - start);
		size_t cut = nl != NULL ? (size_t)(nl + 1 - s0) : l->text.len - start;

		memmove(s0, s0 + cut, l->text.len - start - cut);
		l->text.len -= cut;
	}
	/* a line cut short (a crash, or the buffer's end) ends nothing */
	while (l->text.len > start && l->text.data[l->text.len - 1] != '\n')
		l->text.len--;
	if (l->text.data != NULL)
		l->text.data[l->text.len] = '\0';
}

/* A decimal number from p up to the character `stop`, or -1. */
static long long
ledger_num(char **p, char stop)
{
	char *end;
	long long v;

	if (**p < '0' || **p > '9')
		return -1;
	errno = 0;
	v = strtoll(*p, &end, 10);
	if (errno != 0 || *end != stop)
		return -1;
	*p = end + 1;
	return v;
}

/* The lines of l->text -> l->e (in place: the text is cut into strings).
 * Lines that are not the sent-log's (a crash cut one short, another
 * program's) are passed over. */
static void
ledger_parse(struct ledger *l)
{
	char *p = l->text.data, *end;

	if (p == NULL)
		return;
	end = p + l->text.len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *q = p, *msgid;
		long long id, at;

		if (nl == NULL)
			break;          /* cut by a crash */
		*nl = '\0';
		if ((size_t)(nl - p) >= LEDGER_LINE) {
			p = nl + 1;
			continue;
		}
		if (strncmp(p, LEDGER_COMMITTED " ", sizeof(LEDGER_COMMITTED)) == 0) {
			l->tail = l->n;
			p = nl + 1;
			continue;
		}
		id = ledger_num(&q, ' ');
		at = id > 0 ? ledger_num(&q, ' ') : -1;
		msgid = q;
		p = nl + 1;
		if (id <= 0 || at < 0 || *msgid == '\0' || strpbrk(msgid, " \t\r") != NULL)
			continue;
		if (l->n == l->cap) {
			l->cap = l->cap ? 2 * l->cap : 1024;
			l->e = xrealloc(l->e, l->cap * sizeof(*l->e));
		}
		l->e[l->n].id = id;
		l->e[l->n].at = at;
		l->e[l->n].message_id = msgid;
		l->e[l->n].tail = 0;
		l->n++;
	}
}

static int
lentry_cmp(const void *a, const void *b)
{
	const struct lentry *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* The first entry of l (sorted) with this id, or l->n. */
static size_t
ledger_find(const struct ledger *l, long long id)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->e[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The row id/message_id if it is pending or sending: mark it sent at `at`
 * (with a note event on its ticket), sent after a backup was taken.  1 when
 * marked, 0 when not, -1. */
static int
ledger_mark(struct store *st, long long id, long long at, const char *message_id)
{
	sqlite3_stmt *s;
	long long ticket = 0;
	char *kind = NULL, *note;
	int rc;

	s = store_prepare(st, "SELECT coalesce(ticket_id, 0), kind FROM outbox WHERE id = ?1 "
	    "AND message_id = ?2 AND (status = 'pending' OR status = 'sending')");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, message_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		ticket = sqlite3_column_int64(s, 0);
		kind = store_col_dup(s, 1);
	}
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return -1;
	s = store_prepare(st, "UPDATE outbox SET status = 'sent', sent_at = ?2, updated_at = ?3, "
	    "attempts = attempts + 1, reason = '" LEDGER_REASON "' WHERE id = ?1");
	if (s == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, at);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)store_now());
	if (sqlite3_step(s) != SQLITE_DONE)
		goto fail;
	if (ticket > 0) {
		s = store_prepare(st, "INSERT INTO events(ticket_id, at, kind, by, note, public) "
		    "VALUES (?1, ?2, 'note', 's48d', ?3, 0)");
		if (s == NULL)
			goto fail;
		note = xasprintf("outbox %lld (%s) was sent after the backup this database was "
		    "restored from: not sent again", id, kind ? kind : "?");
		sqlite3_bind_int64(s, 1, ticket);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)store_now());
		sqlite3_bind_text(s, 3, note, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(s);
		free(note);
		if (rc != SQLITE_DONE)
			goto fail;
	}
	free(kind);
	return 1;
fail:
	free(kind);
	return -1;
}

/* The row id, still sending, accepted before the process stopped -> sent
 * at `at`.  1 when marked, 0 when not, -1. */
static int
crash_mark(struct store *st, long long id, long long at)
{
	sqlite3_stmt *s = store_prepare(st,
	    "UPDATE outbox SET status = 'sent', sent_at = ?2, updated_at = ?3, "
	    "attempts = attempts + 1, reason = '" CRASH_REASON "' "
	    "WHERE id = ?1 AND status = 'sending'");

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, at);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)store_now());
	if (sqlite3_step(s) != SQLITE_DONE)
		return -1;
	return store_changes(st) > 0;
}

/* A row the sent-log names: how it is recorded. */
struct lmatch {
	long long id, at;
	const char *message_id;
	int crash;
};

/*
 * The rows the sent-log names (id and Message-ID) -> sent, in the caller's
 * transaction.  A row "sending" named by a line after the last "committed"
 * was accepted before the process stopped (crash_mark); a row "pending",
 * or "sending" named by a line the database had recorded (a backup taken
 * while it was claimed), was sent after the backup now in place was taken
 * (ledger_mark).  at_start: both files whole (their last 8 MB each), rows
 * pending and sending; else (after a failed pass of this process) the lines
 * that pass wrote, rows sending.  Only those rows are looked up, in one
 * statement; the lines are sorted in memory.  *crash_r, *restored_r: how
 * many of each; *tail_r: lines follow the last "committed".  0 or -1.
 */
static int
ledger_apply(struct store *st, int at_start, int *crash_r, int *restored_r, int *tail_r)
{
	struct ledger l;
	struct lmatch *m = NULL;
	sqlite3_stmt *s;
	char *path = NULL, *old = NULL;
	size_t nm = 0, i;
	int rc = -1, r;

	*crash_r = *restored_r = *tail_r = 0;
	memset(&l, 0, sizeof(l));
	buf_init(&l.text, 2 * LEDGER_READ_MAX + 1);
	if ((path = outbox_ledger_path(st)) == NULL)
		return 0;
	if (at_start) {
		s = store_prepare(st, "SELECT 1 FROM outbox WHERE status = 'pending' OR "
		    "status = 'sending' LIMIT 1");
		if (s == NULL)
			goto out;
		r = sqlite3_step(s);
		sqlite3_reset(s);
		if (r != SQLITE_ROW && r != SQLITE_DONE)
			goto out;
		if (r == SQLITE_DONE) {
			rc = 0;         /* nothing the sent-log could name */
			goto out;
		}
		old = xasprintf("%s.1", path);
		ledger_read(&l, old, -1);
		ledger_read(&l, path, -1);
	} else if (pass_ledger_off >= 0) {
		ledger_read(&l, path, pass_ledger_off);
	}
	ledger_parse(&l);
	if (l.n == 0) {
		rc = 0;
		goto out;
	}
	*tail_r = l.tail < l.n;
	for (i = 0; i < l.n; i++)
		l.e[i].tail = !at_start || i >= l.tail;
	qsort(l.e, l.n, sizeof(*l.e), lentry_cmp);
	s = store_prepare(st, at_start ?
	    "SELECT id, message_id, status = 'sending' FROM outbox "
	    "WHERE status IN ('pending', 'sending') AND id BETWEEN ?1 AND ?2" :
	    "SELECT id, message_id, 1 FROM outbox "
	    "WHERE status = 'sending' AND id BETWEEN ?1 AND ?2");
	if (s == NULL)
		goto out;
	sqlite3_bind_int64(s, 1, l.e[0].id);
	sqlite3_bind_int64(s, 2, l.e[l.n - 1].id);
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		long long id = sqlite3_column_int64(s, 0);
		const char *msgid = (const char *)sqlite3_column_text(s, 1);
		int sending = sqlite3_column_int(s, 2), found = 0;
		size_t k;

		if (msgid == NULL)
			continue;
		for (k = ledger_find(&l, id); k < l.n && l.e[k].id == id; k++) {
			if (strcmp(l.e[k].message_id, msgid) != 0)
				continue;
			/* named twice (sent again after a crash lost its line):
			 * a line after the last "committed" decides */
			if (found) {
				m[nm - 1].crash |= sending && l.e[k].tail;
				continue;
			}
			if (nm % 256 == 0)
				m = xrealloc(m, (nm + 256) * sizeof(*m));
			m[nm].id = id;
			m[nm].at = l.e[k].at;
			m[nm].message_id = l.e[k].message_id;
			m[nm].crash = sending && l.e[k].tail;
			nm++;
			found = 1;
		}
	}
	sqlite3_reset(s);
	if (r != SQLITE_DONE)
		goto out;
	for (i = 0; i < nm; i++) {
		r = m[i].crash ? crash_mark(st, m[i].id, m[i].at) :
		    ledger_mark(st, m[i].id, m[i].at, m[i].message_id);
		if (r < 0)
			goto out;
		*(m[i].crash ? crash_r : restored_r) += r;
	}
	rc = 0;
out:
	free(m);
	free(l.e);
	buf_free(&l.text);
	free(old);
	free(path);
	return rc;
}

/* After the recovery's commit: the lines so far are recorded. */
static void
ledger_recorded(struct store *st)
{
	char *path = outbox_ledger_path(st);
	int fd = path != NULL ? open(path, O_WRONLY | O_APPEND | O_CLOEXEC) : -1;

	if (fd >= 0) {
		ledger_committed(fd);
		close(fd);
	}
	free(path);
}

/* The path of an old crash journal of st's database, or NULL. */
static char *
old_journal_path(struct store *st)
{
	const char *db = sqlite3_db_filename(store_db(st), "main");

	return db != NULL && *db != '\0' ? xasprintf("%s" OLD_JOURNAL, db) : NULL;
}

/*
 * An older s48's crash journal (one id a line, the rows the server
 * accepted whose outcome was not committed): the rows it lists that are
 * still "sending" -> sent (in the caller's transaction).  *n_r = how many;
 * *found_r = there is one (to remove after the commit).  0 or -1.
 */
static int
old_journal_apply(struct store *st, int *n_r, int *found_r)
{
	char *path = old_journal_path(st), *data, *p, *end, chunk[4096];
	struct stat sb;
	struct buf b;
	ssize_t got;
	off_t off = 0;
	size_t len;
	int rc = 0, fd;

	*n_r = *found_r = 0;
	if (path == NULL)
		return 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &sb) < 0 ||
	    !S_ISREG(sb.st_mode)) {
		if (fd >= 0 || errno != ENOENT)
			log_warnx("outbox: %s: not read (an older s48's crash journal)", path);
		if (fd >= 0)
			close(fd);
		free(path);
		return 0;
	}
	/* the first OLD_JOURNAL_MAX bytes, as the old version read */
	buf_init(&b, OLD_JOURNAL_MAX);
	while ((got = pread(fd, chunk, sizeof(chunk), off)) > 0 &&
	    buf_append(&b, chunk, (size_t)got) == 0)
		off += got;
	close(fd);
	data = buf_steal(&b, &len);
	*found_r = 1;
	free(path);
	for (p = data; p < data + len && *p != '\0'; p = *end != '\0' ? end + 1 : end) {
		long long id;
		int r;

		errno = 0;
		id = strtoll(p, &end, 10);
		if (end == p || errno != 0 || (*end != '\n' && *end != '\0')) {
			end = strchr(p, '\n');
			if (end == NULL)
				break;
			continue;       /* not a line of the journal */
		}
		if ((r = crash_mark(st, id, (long long)store_now())) < 0) {
			rc = -1;
			break;
		}
		*n_r += r;
	}
	free(data);
	return rc;
}

/*
 * The recovery of rows left claimed, in one transaction: with at_start an
 * older s48's crash journal's rows -> sent; the rows the sent-log names ->
 * sent (ledger_apply); every other "sending" row -> pending (due now,
 * reason why).  Then the journal is removed and, when lines followed the
 * last "committed", one is added.  The number of rows put back, or -1.
 */
static int
recover_claimed(struct store *st, const char *why, int at_start, int *sent_r,
    const char **error_r)
{
	sqlite3_stmt *s;
	int back = -1, restored = 0, crash = 0, old = 0, old_found = 0, tail = 0;

	*sent_r = 0;
	if (store_begin(st, error_r) < 0)
		return -1;
	if (at_start && old_journal_apply(st, &old, &old_found) < 0)
		goto fail;
	if (ledger_apply(st, at_start, &crash, &restored, &tail) < 0)
		goto fail;
	s = store_prepare(st,
	    "UPDATE outbox SET status = 'pending', next_at = ?1, updated_at = ?1, reason = ?2 "
	    "WHERE status = 'sending'");
	if (s == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)store_now());
	sqlite3_bind_text(s, 2, why, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE)
		goto fail;
	back = store_changes(st);
	if (store_commit(st, error_r) < 0)
		return -1;
	if (old_found) {
		char *path = old_journal_path(st);

		if (unlink(path) < 0 && errno != ENOENT)
			log_warn("outbox: removing %s", path);
		free(path);
	}
	if (tail)
		ledger_recorded(st);
	*sent_r = old + crash;
	if (*sent_r > 0)
		log_info("outbox: %d messages the server had accepted before the stop recorded as "
		    "sent", *sent_r);
	if (restored > 0)
		log_warnx("outbox: %d messages sent after the backup this database was restored "
		    "from was taken recorded as sent, not sent again (the sent-log lists them)",
		    restored);
	return back;
fail:
	*error_r = sql_error(st, "outbox recovery");
	store_rollback(st);
	return -1;
}

int
outbox_recover(struct store *st, const char **error_r)
{
	int sent;

	return recover_claimed(st, "interrupted by a restart", 1, &sent, error_r);
}

time_t
outbox_next_due(struct store *st)
{
	sqlite3_stmt *s = store_prepare(st,
	    "SELECT min(next_at) FROM outbox WHERE status = 'pending'");
	time_t t = 0;

	if (s != NULL && sqlite3_step(s) == SQLITE_ROW &&
	    sqlite3_column_type(s, 0) != SQLITE_NULL)
		t = (time_t)sqlite3_column_int64(s, 0);
	if (s != NULL)
		sqlite3_reset(s);
	return t;
}

/* ------------------------------------------------------- claim and record */

/* An outbox row (in an UPDATE of outbox) that STOP keeps from its number:
 * outbox_queue()'s rule, confirmations of STOP and START excepted. */
#define OUTBOX_STOPPED "(channel = 'sms' AND kind NOT IN ('stop_confirm', 'start_confirm') " \
	"AND EXISTS (SELECT 1 FROM sms_optout WHERE number = outbox.recipient))"
/* A department's SLA warning that waited (a relay down, retries) until its
 * ticket was resolved or rejected: it would ask for work already done.  An
 * escalation is still sent: the deadline was missed all the same. */
#define OUTBOX_STALE "(kind = 'warning' AND EXISTS (SELECT 1 FROM tickets " \
	"WHERE id = outbox.ticket_id AND status IN ('resolved', 'rejected')))"

/*
 * The rows to send -> sending in one transaction; r->claimed = 1 for those
 * we own (a row s48ctl changed meanwhile is left alone).  Rows of a channel
 * whose transport is down (skip_email, skip_sms) are not claimed.  An SMS to
 * a number that sent STOP after its row was queued (it waited for a retry,
 * or came before the STOP in the same batch) is suppressed instead, as
 * outbox_queue() would have: no SMS reaches the number until START.  A
 * department's warning whose ticket was closed while it waited is
 * suppressed too (OUTBOX_STALE).
 * 0 or -1.
 */
/* Run one of claim()'s UPDATEs (?1 the row's id, ?2 now): 1 if it changed
 * the row, 0 if not, -1 on an error. */
static int
claim_update(struct store *st, const char *sql, long long id, time_t now)
{
	sqlite3_stmt *s = store_prepare(st, sql);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)now);
	if (sqlite3_step(s) != SQLITE_DONE)
		return -1;
	return store_changes(st) == 1;
}

static int
claim(struct store *st, struct row *rows, size_t n, int skip_email, int skip_sms,
    const char **error_r)
{
	time_t now = store_now();
	size_t i, want = 0;
	int r;

	for (i = 0; i < n; i++) {
		rows[i].claimed = 0;
		if (!(is_sms_row(&rows[i]) ? skip_sms : skip_email)) {
			rows[i].claimed = -1;   /* to claim */
			want++;
		}
	}
	if (want == 0)
		return 0;
	if (store_begin(st, error_r) < 0)
		goto fail_nc;
	for (i = 0; i < n; i++) {
		if (rows[i].claimed == 0)
			continue;
		r = claim_update(st, "UPDATE outbox SET status = 'sending', updated_at = ?2 "
		    "WHERE id = ?1 AND status = 'pending' AND NOT (" OUTBOX_STOPPED ") "
		    "AND NOT " OUTBOX_STALE, rows[i].id, now);
		if (r < 0)
			goto fail;
		rows[i].claimed = r;
		if (r == 0 && strcmp(rows[i].kind, "warning") == 0) {
			r = claim_update(st, "UPDATE outbox SET status = 'suppressed', "
			    "reason = 'ticket closed before the warning was sent', updated_at = ?2 "
			    "WHERE id = ?1 AND status = 'pending' AND " OUTBOX_STALE, rows[i].id, now);
			if (r < 0)
				goto fail;
			if (r == 1)
				log_info("outbox %lld: warning for ticket %ld suppressed: "
				    "the ticket was closed before it could be sent", rows[i].id,
				    rows[i].ticket_id);
			continue;
		}
		if (rows[i].claimed || !is_sms_row(&rows[i]))
			continue;
		r = claim_update(st, "UPDATE outbox SET status = 'suppressed', reason = 'STOP', "
		    "updated_at = ?2 WHERE id = ?1 AND status = 'pending' AND " OUTBOX_STOPPED,
		    rows[i].id, now);
		if (r < 0)
			goto fail;
		if (r == 1) {
			char logbuf[64];

			log_info("outbox %lld: sms %s to %s suppressed: STOP since it was queued",
			    rows[i].id, rows[i].kind, log_mask(rows[i].recipient, logbuf,
			    sizeof(logbuf)));
		}
	}
	if (store_commit(st, error_r) < 0)
		goto fail_nc;
	return 0;
fail:
	*error_r = sql_error(st, "outbox claim");
	store_rollback(st);
fail_nc:
	for (i = 0; i < n; i++)
		rows[i].claimed = 0;
	return -1;
}

/* One claimed row's outcome (OC_NONE: back to pending as it was). */
static int
record(struct store *st, const struct row *r, time_t now)
{
	static const char *const status[] = {
		[OC_NONE] = "pending", [OC_SENT] = "sent", [OC_RETRY] = "pending",
		[OC_FAILED] = "failed", [OC_INTERRUPTED] = "pending",
	};
	sqlite3_stmt *s;

	if (r->oc == OC_NONE) {
		s = store_prepare(st,
		    "UPDATE outbox SET status = 'pending', updated_at = ?2 "
		    "WHERE id = ?1 AND status = 'sending'");
		if (s == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, r->id);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)now);
		return sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
	}
	s = store_prepare(st,
	    "UPDATE outbox SET status = ?2, next_at = ?3, reason = ?4, updated_at = ?5, "
	    "attempts = attempts + ?6, sent_at = CASE WHEN ?2 = 'sent' THEN ?5 ELSE sent_at END "
	    "WHERE id = ?1 AND status = 'sending'");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, r->id);
	sqlite3_bind_text(s, 2, status[r->oc], -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)(r->oc == OC_RETRY ? r->next_at : now));
	sqlite3_bind_text(s, 4, r->reason ? r->reason : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)now);
	sqlite3_bind_int(s, 6, r->oc == OC_INTERRUPTED ? 0 : 1);
	return sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
}

/* The ticket's kept attachments for a department mail. */
static int
load_attachments(struct store *st, long ticket, struct mail_attachment **att_r, size_t *n_r,
    unsigned char ***blobs_r)
{
	sqlite3_stmt *s = store_prepare(st,
	    "SELECT filename, content_type, content FROM attachments "
	    "WHERE ticket_id = ?1 AND omitted = 0 AND content IS NOT NULL ORDER BY idx");
	struct mail_attachment *att = NULL;
	unsigned char **blobs = NULL;
	size_t n = 0;
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, ticket);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		size_t len = (size_t)sqlite3_column_bytes(s, 2);
		const void *p = sqlite3_column_blob(s, 2);

		att = xrealloc(att, (n + 1) * sizeof(*att));
		blobs = xrealloc(blobs, (n + 1) * 3 * sizeof(*blobs));
		blobs[3 * n] = (unsigned char *)store_col_dup(s, 0);
		blobs[3 * n + 1] = (unsigned char *)store_col_dup(s, 1);
		blobs[3 * n + 2] = xmalloc(len ? len : 1);
		if (len)
			memcpy(blobs[3 * n + 2], p, len);
		att[n].filename = (const char *)blobs[3 * n];
		att[n].content_type = (const char *)blobs[3 * n + 1];
		att[n].data = blobs[3 * n + 2];
		att[n].size = len;
		n++;
	}
	sqlite3_reset(s);
	*att_r = att;
	*n_r = n;
	*blobs_r = blobs;
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Citizens' replies are auto-replied; department and staff mail auto-generated. */
static int
is_citizen_reply(const char *kind)
{
	return strncmp(kind, "dept_", 5) != 0 && strcmp(kind, "warning") != 0 &&
	    strcmp(kind, "escalation") != 0 && strcmp(kind, "alert") != 0;
}

/*
 * Threading ids come from citizens' mail clients: keep only those the
 * composer accepts, so a broken Message-ID costs the threading, not the
 * reply.  Returns a new string (caller frees) or NULL when none is left.
 */
static char *
valid_ids(const char *ids)
{
	struct buf b;
	char *copy, *tok, *save = NULL;

	if (ids == NULL)
		return NULL;
	buf_init(&b, 64 * 1024);
	copy = xstrdup(ids);
	for (tok = strtok_r(copy, " ,\t", &save); tok != NULL; tok = strtok_r(NULL, " ,\t", &save)) {
		size_t l = strlen(tok);

		if (tok[0] == '<' && l > 2 && tok[l - 1] == '>') {
			tok[l - 1] = '\0';
			tok++;
		}
		if (!mail_msgid_ok(tok))
			continue;
		if (b.len > 0)
			buf_appendc(&b, ' ');
		buf_appends(&b, tok);
	}
	free(copy);
	if (b.len == 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b, NULL);
}

/*
 * Compose the email of r into r->mail: NOTIFY_OK, or the outcome (a
 * permanent failure for a message that cannot be composed) with *reason_r.
 */
static int
compose_email(struct store *st, const struct s48_config *cfg, struct row *r, char **reason_r)
{
	struct mail_out m;
	struct mail_attachment *att = NULL;
	unsigned char **blobs = NULL;
	size_t n_att = 0, i;
	struct buf out;
	char *subject = NULL, *irt = valid_ids(r->in_reply_to), *refs = valid_ids(r->references);
	const char *err;
	int res = NOTIFY_OK;

	memset(&m, 0, sizeof(m));
	if (r->tag_token && r->ticket_id > 0) {
		char tok[17];

		util_staff_token(cfg->secret ? cfg->secret : "", r->ticket_id, tok);
		subject = xasprintf("[%s #%ld/%s] %s", cfg->ticket_tag, r->ticket_id, tok,
		    r->subject ? r->subject : "");
	}
	if (r->with_attachments && r->ticket_id > 0 &&
	    load_attachments(st, r->ticket_id, &att, &n_att, &blobs) < 0) {
		*reason_r = xstrdup("could not read the ticket's attachments");
		res = NOTIFY_TEMPFAIL;
		goto done;
	}
	m.from = cfg->smtp.from;
	m.to = r->recipient;
	m.subject = subject ? subject : r->subject;
	m.body = r->body;
	m.message_id = r->message_id;
	m.in_reply_to = irt;
	m.references = refs;
	m.auto_replied = is_citizen_reply(r->kind);
	m.att = att;
	m.n_att = n_att;
	m.date = store_now();
	buf_init(&out, MAIL_MAX_BYTES);
	if (mail_compose(&m, &out, &err) < 0) {
		*reason_r = xasprintf("message not composed: %s", err);
		res = NOTIFY_PERMFAIL;
		buf_free(&out);
	} else {
		r->mail_len = out.len;
		r->mail = buf_steal(&out, NULL);
	}
done:
	for (i = 0; i < 3 * n_att; i++)
		free(blobs[i]);
	free(blobs);
	free(att);
	free(subject);
	free(irt);
	free(refs);
	return res;
}

/*
 * The transport of channel failed TRANSPORT_GIVE_UP times in a row: the rows
 * of that channel not tried in this run wait one backoff step (not counted as
 * an attempt), so the loop neither spins on them nor holds up the other
 * channel.  0 or -1.
 */
static int
defer_channel(struct store *st, const char *channel)
{
	sqlite3_stmt *s = store_prepare(st,
	    "UPDATE outbox SET next_at = ?2 WHERE status = 'pending' AND channel = ?1 "
	    "AND next_at <= ?3");
	time_t now = store_now();

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, channel, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)(now + outbox_backoff(1)));
	sqlite3_bind_int64(s, 3, (sqlite3_int64)now);
	return sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
}

static void
optout(struct store *st, const char *number)
{
	sqlite3_stmt *s = store_prepare(st,
	    "INSERT OR IGNORE INTO sms_optout(number, at) VALUES (?1, ?2)");

	if (s == NULL)
		return;
	sqlite3_bind_text(s, 1, number, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)store_now());
	(void)sqlite3_step(s);
}

/* The state of one run of outbox_send_due() across its batches. */
struct pass {
	struct store *st;
	const struct s48_config *cfg;
	struct sms_gateway *gw;
	struct outbox_run *run;
	struct row *rows;               /* the batch */
	size_t n;
	int smtp_fail, sms_fail;        /* transport failures in a row */
	int smtp_proven;                /* the last email ended on a working transport */
	int smtp_conns;                 /* connections this run uses (smtp.connections or fewer) */
	int lfd;                        /* the sent-log, or -1 */
	int unrecorded;                 /* lines it got since the last "committed" */
	long long first_ms;             /* the oldest outcome not written, or 0 */
};

/*
 * Write the outcomes of the claimed rows of the batch not written yet in
 * one transaction; with all, also put the claimed rows that were not tried
 * back to pending.  Then every accepted message is in the database: the
 * sent-log says so.  0 or -1 (nothing written).
 */
static int
flush(struct pass *p, int all, const char **error_r)
{
	struct store *st = p->st;
	struct row *rows = p->rows;
	size_t i, n = p->n;
	time_t now = store_now();
	int any = 0;

	for (i = 0; i < n; i++)
		if (rows[i].claimed && !rows[i].recorded && (all || rows[i].oc != OC_NONE))
			any = 1;
	if (!any)
		return 0;
	if (store_begin(st, error_r) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		struct row *r = &rows[i];

		if (!r->claimed || r->recorded || (!all && r->oc == OC_NONE))
			continue;
		if (record(st, r, now) < 0)
			goto fail;
		if (r->optout)
			optout(st, r->recipient);
	}
	if (store_commit(st, error_r) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (rows[i].claimed && (all || rows[i].oc != OC_NONE))
			rows[i].recorded = 1;
	if (p->unrecorded > 0) {
		ledger_committed(p->lfd);
		p->unrecorded = 0;
	}
	return 0;
fail:
	*error_r = sql_error(st, "outbox outcome");
	store_rollback(st);
	return -1;
}

/*
 * Set the outcome of a row whose attempt ended with res and reason (taken)
 * (r->oc, r->reason, r->next_at) and the run's counters.  Returns 1 when
 * its transport failed for now.
 */
static int
settle(const struct s48_config *cfg, struct row *r, int res, char *reason, int stopped,
    struct outbox_run *run)
{
	int is_sms = is_sms_row(r), attempt = r->attempts + 1;
	char logbuf[64], *shown;

	if (reason == NULL)
		reason = xstrdup("");
	log_mask(r->recipient, logbuf, sizeof(logbuf));
	if (res != NOTIFY_OK && s48_stop_requested) {
		/* the stop cut it short: not the message's fault nor the server's */
		r->oc = OC_INTERRUPTED;
		r->reason = xasprintf("interrupted by a stop (%s)", reason);
		free(reason);
		log_info("outbox %lld: %s %s to %s interrupted by a stop: due again at once",
		    r->id, r->channel, r->kind, logbuf);
		return 0;
	}
	r->reason = reason;
	if (res == NOTIFY_OK) {
		r->oc = OC_SENT;
		run->sent++;
		if (is_sms)
			run->sms_ok = 1;
		else
			run->smtp_ok = 1;
		log_info("outbox %lld: %s %s to %s sent", r->id, r->channel, r->kind, logbuf);
		return 0;
	}
	if (res == NOTIFY_TEMPFAIL && attempt < cfg->outbox_max_attempts) {
		r->oc = OC_RETRY;
		r->next_at = store_now() + outbox_backoff(attempt);
		run->retried++;
		if (is_sms)
			run->sms_unreachable = 1;
		else
			run->smtp_unreachable = 1;
		shown = log_mask_text(reason);
		log_warnx("outbox %lld: %s %s to %s: temporary failure (attempt %d): %s",
		    r->id, r->channel, r->kind, logbuf, attempt, shown);
		free(shown);
		return 1;
	}
	r->oc = OC_FAILED;
	if (res == NOTIFY_TEMPFAIL) {
		r->reason = xasprintf("gave up after %d attempts: %s", attempt, reason);
		free(reason);
	}
	r->optout = stopped;
	run->failed++;
	/* a gateway's error may quote the number ("The 'To' number +381... is
	 * not valid"): the log gets it masked, the row keeps it for s48ctl */
	shown = log_mask_text(r->reason);
	log_warnx("outbox %lld: %s %s to %s failed: %s", r->id, r->channel, r->kind, logbuf,
	    shown);
	free(shown);
	return 0;
}

/*
 * The attempt of r ended (settle's return in transport_failed): count it
 * for its transport, put an accepted message on record first, and write
 * the outcomes when it is time.  0 or -1.
 */
static int
ended(struct pass *p, struct row *r, int transport_failed, const char **error_r)
{
	int *fails = is_sms_row(r) ? &p->sms_fail : &p->smtp_fail, now_too = 0;

	if (transport_failed) {
		(*fails)++;
		if (!is_sms_row(r))
			p->smtp_proven = 0;
	} else if (r->oc == OC_SENT) {
		*fails = 0;
		if (!is_sms_row(r))
			p->smtp_proven = 1;
		/* accepted: on record before anything else can stop us */
		if (ledger_add(p->lfd, r->id, r->message_id) == 0)
			p->unrecorded++;
		else
			now_too = 1;
	}
	if (p->first_ms == 0)
		p->first_ms = util_mono_ms();
	if (now_too || util_mono_ms() - p->first_ms >= FLUSH_MS) {
		/* rows in flight have no outcome yet: flush leaves them */
		if (flush(p, 0, error_r) < 0)
			return -1;
		p->first_ms = 0;
	}
	return 0;
}

/* Wait for one email in flight to end and take its outcome: 1, 0 when
 * none was in flight, or -1. */
static int
email_wait(struct pass *p, const char **error_r)
{
	void *tag;
	struct row *r;
	char *reason = NULL;
	int res, open, before_mail;

	if (notifier_smtp_wait(&tag, &res, &reason, &before_mail) == 0)
		return 0;
	r = tag;
	r->in_flight = 0;
	xfree(&r->mail);
	open = notifier_smtp_in_flight();
	/* a connection refused while others work: a relay that limits each
	 * client (Office 365 allows 3) gets no more for the rest of the run */
	if (res == NOTIFY_TEMPFAIL && open > 0 && open < p->smtp_conns &&
	    before_mail && !s48_stop_requested) {
		log_warnx("outbox: the SMTP relay failed a connection while %d were open: "
		    "%d at most for this run", open, open);
		p->smtp_conns = open;
	}
	return ended(p, r, settle(p->cfg, r, res, reason, 0, p->run), error_r) < 0 ? -1 : 1;
}

/*
 * The pass failed (a database error) with emails in flight: their ends are
 * read, and those the server accepted are put in the sent-log, where the
 * recovery finds them, instead of being abandoned and sent again.  Nothing
 * is written to the database.
 */
static void
email_drain(struct pass *p)
{
	void *tag;
	char *reason = NULL;
	int res;

	while (notifier_smtp_wait(&tag, &res, &reason, NULL) == 1) {
		struct row *r = tag;

		r->in_flight = 0;
		xfree(&r->mail);
		if (res == NOTIFY_OK && ledger_add(p->lfd, r->id, r->message_id) == 0)
			p->unrecorded++;
		free(reason);
		reason = NULL;
	}
}

/* An earlier email of the batch to the same recipient is still in flight:
 * one citizen's messages arrive in the order they were written. */
static int
recipient_busy(const struct pass *p, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (p->rows[j].in_flight && strcmp(p->rows[j].recipient, p->rows[i].recipient) == 0)
			return 1;
	return 0;
}

/*
 * Attempt row i: SMS (and a channel that is off) at once, an email handed
 * to the SMTP connections once one is free.  Until an email of the run
 * has been accepted, and again after a transport failure, one email is in
 * flight at a time: a relay that is down costs three attempts, as on one
 * connection, not smtp.connections at once.  A connection that fails
 * while others work lowers the number used for the rest of the run.
 * 0 or -1.
 */
static int
attempt(struct pass *p, size_t i, const char **error_r)
{
	struct row *r = &p->rows[i];
	int is_sms = is_sms_row(r), res, stopped = 0, conns = p->smtp_conns;
	char *reason = NULL;

	if (is_sms && (!p->cfg->sms.enabled || p->gw == NULL)) {
		res = NOTIFY_PERMFAIL;
		reason = xstrdup("channel not configured: sms");
	} else if (!is_sms && !p->cfg->smtp.enabled) {
		res = NOTIFY_PERMFAIL;
		reason = xstrdup("channel not configured: smtp");
	} else if (is_sms) {
		res = sms_gateway_send(p->gw, r->recipient, r->body ? r->body : "", &reason, &stopped);
	} else {
		while (!notifier_smtp_ready(conns) || recipient_busy(p, i) ||
		    (!p->smtp_proven && notifier_smtp_in_flight() > 0)) {
			int w = email_wait(p, error_r);

			if (w < 0)
				return -1;
			if (w == 0)
				break;  /* none in flight: start() says why it cannot */
		}
		if (s48_stop_requested)
			return 0;       /* not tried: back to pending as it was */
		if (p->smtp_fail >= TRANSPORT_GIVE_UP)
			return 0;       /* went down meanwhile */
		res = compose_email(p->st, p->cfg, r, &reason);
		if (res == NOTIFY_OK) {
			if (notifier_smtp_start(&p->cfg->smtp, conns, r->recipient, r->mail,
			    r->mail_len, r, &res, &reason)) {
				r->in_flight = 1;
				return 0;
			}
			xfree(&r->mail);
		}
	}
	return ended(p, r, settle(p->cfg, r, res, reason, stopped, p->run), error_r);
}

/* Attempt every claimed row of the batch, then wait for the emails in flight. */
static int
send_batch(struct pass *p, const char **error_r)
{
	size_t i;

	p->first_ms = 0;
	for (i = 0; i < p->n && !s48_stop_requested; i++) {
		struct row *r = &p->rows[i];
		int is_sms = is_sms_row(r);

		if (!r->claimed)
			continue;       /* s48ctl changed it meanwhile */
		if ((is_sms && p->sms_fail >= TRANSPORT_GIVE_UP) ||
		    (!is_sms && p->smtp_fail >= TRANSPORT_GIVE_UP))
			continue;       /* transport down: back to pending untried */
		if (attempt(p, i, error_r) < 0)
			return -1;
	}
	while (notifier_smtp_in_flight() > 0)
		if (email_wait(p, error_r) < 0)
			return -1;
	return 0;
}

/*
 * Due rows after the key (*next_at, *id) in (next_at, id) order, at most
 * max; the key moves to the last row loaded.  Rows a run has passed over
 * (tried, deferred, or skipped for a transport that is down) sort before
 * the key or are no longer due, so paging this way ends.
 */
static int
load_rows(struct store *st, time_t now, long long *next_at, long long *id, size_t max,
    struct row **rows_r, size_t *n_r)
{
	sqlite3_stmt *s = store_prepare(st,
	    "SELECT id, coalesce(ticket_id, 0), channel, recipient, kind, subject, body, "
	    "in_reply_to, references_hdr, message_id, tag_token, with_attachments, attempts, "
	    "next_at FROM outbox WHERE status = 'pending' AND next_at <= ?1 AND next_at >= ?2 "
	    "AND (next_at > ?2 OR id > ?3) ORDER BY next_at, id LIMIT ?4");
	struct row *rows;
	size_t n = 0;
	int rc = SQLITE_DONE;

	*rows_r = NULL;
	*n_r = 0;
	if (s == NULL)
		return -1;
	rows = xcalloc(max, sizeof(*rows));
	sqlite3_bind_int64(s, 1, (sqlite3_int64)now);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)*next_at);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)*id);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)max);
	while (n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct row *r = &rows[n++];

		r->id = sqlite3_column_int64(s, 0);
		r->ticket_id = (long)sqlite3_column_int64(s, 1);
		r->channel = store_col_dup(s, 2);
		r->recipient = store_col_dup(s, 3);
		r->kind = store_col_dup(s, 4);
		r->subject = store_col_dup(s, 5);
		r->body = store_col_dup(s, 6);
		r->in_reply_to = store_col_dup(s, 7);
		r->references = store_col_dup(s, 8);
		r->message_id = store_col_dup(s, 9);
		r->tag_token = sqlite3_column_int(s, 10);
		r->with_attachments = sqlite3_column_int(s, 11);
		r->attempts = sqlite3_column_int(s, 12);
		*next_at = sqlite3_column_int64(s, 13);
		*id = r->id;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		rows_free(&rows, n);
		return -1;
	}
	*rows_r = rows;
	*n_r = n;
	return 0;
}

int
outbox_send_due(struct store *st, const struct s48_config *cfg, struct sms_gateway *gw,
    int max_rows, struct outbox_run *run, const char **error_r)
{
	struct pass p;
	size_t left = max_rows > 0 ? (size_t)max_rows : (size_t)-1;
	long long key_next = -1, key_id = 0;
	time_t now = store_now();
	int rc = -1, started = 0, sent;

	memset(run, 0, sizeof(*run));
	memset(&p, 0, sizeof(p));
	p.st = st;
	p.cfg = cfg;
	p.gw = gw;
	p.run = run;
	p.lfd = -1;
	p.smtp_conns = cfg->smtp.connections;
	if (pass_failed) {
		if (recover_claimed(st, "interrupted by a database error", 0, &sent, error_r) < 0)
			return -1;
		pass_failed = 0;
	}
	for (;;) {
		if (load_rows(st, now, &key_next, &key_id, left < OUTBOX_BATCH ? left : OUTBOX_BATCH,
		    &p.rows, &p.n) < 0) {
			*error_r = sql_error(st, "outbox rows");
			goto fail;
		}
		if (p.n == 0)
			break;
		left -= p.n;
		if (!started) {
			/* Process crashes lose nothing at NORMAL in WAL mode; see the header. */
			(void)store_exec(st, "PRAGMA synchronous = NORMAL", NULL);
			p.lfd = ledger_open(st);
			started = 1;
		}
		if (claim(st, p.rows, p.n, p.smtp_fail >= TRANSPORT_GIVE_UP,
		    p.sms_fail >= TRANSPORT_GIVE_UP, error_r) < 0)
			goto fail;
		if (send_batch(&p, error_r) < 0)
			goto fail;
		if (flush(&p, 1, error_r) < 0)
			goto fail;
		rows_free(&p.rows, p.n);
		p.n = 0;
		if (left == 0 || s48_stop_requested)
			break;
	}
	if ((p.smtp_fail >= TRANSPORT_GIVE_UP && defer_channel(st, "email") < 0) ||
	    (p.sms_fail >= TRANSPORT_GIVE_UP && defer_channel(st, "sms") < 0)) {
		*error_r = sql_error(st, "outbox deferral");
		goto fail;
	}
	rc = 0;
	goto done;
fail:
	pass_failed = started;
	email_drain(&p);
done:
	/* before the rows go: messages still in flight point into them */
	notifier_smtp_close();
	if (started)
		(void)store_exec(st, "PRAGMA synchronous = FULL", NULL);
	if (p.lfd >= 0)
		close(p.lfd);
	rows_free(&p.rows, p.n);
	return rc;
}
