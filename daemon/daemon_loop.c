/*
 * daemon_loop.c - the scheduler of s48d: sources, SLA clock, health, outbox.
 *
 * Intervals, pauses and retry times are milliseconds of the monotonic clock
 * (util_mono_ms): a wall clock step (NTP, date -s) neither stops nor floods
 * polling, and a poll is not up to a second early or late as with whole
 * seconds of time().  The wall clock (util_now, as outbox_send_due uses) is
 * read only to turn the outbox's stored next_at into a wait.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "config.h"
#include "health.h"
#include "intake_imap.h"
#include "log.h"
#include "notifier_smtp.h"
#include "outbox_send.h"
#include "router.h"
#include "sla.h"
#include "sla_watch.h"
#include "sms_gateway.h"
#include "source.h"
#include "store.h"
#include "util.h"

#define IMAP_BATCH 1000
#define IDLE_MAX (29 * 60)           /* RFC 2177: re-issue IDLE before 30 minutes */
#define SLEEP_SLICE_MS 200           /* sleeps look at the stop and reload flags this often */
#define RECONNECT_MAX 300
#define OUTBOX_PAUSE_MAX 5           /* seconds between outbox passes after a database error */
#define CLOCK_STEP_SLACK 60          /* seconds the wall clock may seem to go back unnoticed */
#define OUTBOX_WAIT_MAX 3960         /* the longest retry wait outbox_backoff gives (1 h + 10 %) */

static volatile sig_atomic_t reload_requested, term_requested;
/* While the loop waits (IMAP IDLE, sleeps), SIGHUP also raises
 * s48_stop_requested, the one flag IDLE watches, so a reload is not held up
 * until mail arrives or poll_interval ends.  Not during work: a send or a
 * pull would be cut short.  The loop lowers the flag again (hup_wake_clear)
 * unless SIGTERM/SIGINT came too (term_requested, always set first). */
static volatile sig_atomic_t hup_wakes;

static void
on_stop(int sig)
{
	(void)sig;
	term_requested = 1;
	s48_stop_requested = 1;
}

static void
on_hup(int sig)
{
	(void)sig;
	reload_requested = 1;
	if (hup_wakes)
		s48_stop_requested = 1;
}

static void
hup_wake_clear(void)
{
	s48_stop_requested = 0;
	if (term_requested)
		s48_stop_requested = 1;     /* a stop that raced with the clear */
}

static void
signals_setup(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;        /* no SA_RESTART: sleeps and reads wake up */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/*
 * Longest wait between two watchdog pings in ms: half of WatchdogSec when
 * systemd asked for pings (sd_watchdog_enabled), else IDLE_MAX seconds.
 */
static long long
watchdog_interval(void)
{
#ifdef HAVE_SYSTEMD
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
		uint64_t half = usec / 2 / 1000;

		return half < SLEEP_SLICE_MS ? SLEEP_SLICE_MS :
		    half > IDLE_MAX * 1000ULL ? IDLE_MAX * 1000LL : (long long)half;
	}
#endif
	return IDLE_MAX * 1000LL;
}

static void
notify_systemd(const char *state)
{
#ifdef HAVE_SYSTEMD
	sd_notify(0, state);
#else
	(void)state;
#endif
}

/*
 * Watchdog pings during long work.  The loop pings once per round, but one
 * round may ingest a large backlog and then send everything it queued (a
 * 20,000-SMS backlog: 3 s of ingest and 18 s sending 60,000 replies and
 * notices, by SMTP to a remote relay far longer): past WatchdogSec systemd
 * killed s48d in the middle, again after each restart.  While the database
 * connection is making progress (SQLite calls this every WATCHDOG_VM_STEPS
 * virtual machine steps: the ingest, and the outbox recording its rows 64
 * at a time) s48d is working, so it pings at most once a second from here.
 * A hang outside SQLite (a server that stops answering) still trips it.
 */
#define WATCHDOG_VM_STEPS 20000
static long long watchdog_last_ms;

#ifdef HAVE_SYSTEMD
static int
watchdog_progress(void *arg)
{
	long long now = util_mono_ms();

	(void)arg;
	if (now - watchdog_last_ms >= 1000) {
		watchdog_last_ms = now;
		notify_systemd("WATCHDOG=1");
	}
	return 0;
}
#endif

static void
watchdog_pinged(void)
{
	watchdog_last_ms = util_mono_ms();
	notify_systemd("WATCHDOG=1");
}

struct daemon {
	struct s48_config *cfg;
	const char *config_path;
	struct store *st;
	struct router *rt;
	struct imap_intake *ii;
	struct sms_gateway *gw;
	long long imap_retry_at, sms_retry_at;  /* util_mono_ms: no poll before (0: none) */
	int imap_failures, sms_failures;
	int unclean_start;              /* the last run did not stop cleanly */
	int tempfail;                   /* --once: something could not be reached */
	int lock_fd;
	long long max_wait;             /* ms: IDLE_MAX or half the watchdog */
	long long outbox_retry_at;      /* util_mono_ms after a database error: no
					 * outbox pass before (0: none) */
	int outbox_failures;            /* outbox passes failed in a row */
	time_t wall_seen;               /* the latest wall time (util_now) s48d has seen or
					 * found on a waiting outbox row */
	long long numbered;             /* the highest ticket number written to the lock file */
};

/* The next attempt at a source that failed: 5 s doubling per failure up to
 * RECONNECT_MAX, times outbox_backoff_scale(), at least 1 s from now. */
static void
backoff(int *failures, long long *retry_at)
{
	long d = 5;
	int i;

	for (i = 0; i < *failures && d < RECONNECT_MAX; i++)
		d *= 2;
	if (d > RECONNECT_MAX)
		d = RECONNECT_MAX;
	d = (long)((double)d * outbox_backoff_scale());
	(*failures)++;
	*retry_at = util_mono_ms() + (d < 1 ? 1 : d) * 1000LL;
}

/*
 * A failed pull of a destructive gateway may have dequeued messages whose
 * answer never arrived: the wish to reconcile lives in the gateway object,
 * so write it to source_state before a stop or a reload drops that object
 * (a clean stop otherwise starts without reconciling and loses them).
 */
static void
keep_reconcile(struct daemon *d)
{
	const char *err;

	if (d->gw != NULL && d->st != NULL && sms_gateway_reconcile_wanted(d->gw) &&
	    store_state_set(d->st, "sms.reconcile", "1", &err) < 0)
		log_warnx("database: %s", err);
}

static int
open_gateway(struct daemon *d)
{
	const char *err;

	sms_gateway_free(&d->gw);
	if (!d->cfg->sms.enabled)
		return 0;
	if ((d->gw = sms_gateway_new(&d->cfg->sms, &err)) == NULL) {
		log_warnx("sms: %s", err);
		return -1;
	}
	return 0;
}

/* SIGHUP: a valid new config replaces the old; an invalid one is reported. */
static void
reload(struct daemon *d)
{
	struct s48_config *nc = NULL;
	char *errors = NULL;

	reload_requested = 0;
	if (config_load(d->config_path, 1, &nc, &errors) < 0 ||
	    config_load_secrets(nc, &errors) < 0) {
		const char *e = errors != NULL ? errors : "";

		/* one log line per error (syslog shows a newline as #012) */
		log_warnx("reload: %s: invalid, keeping the running configuration",
		    d->config_path);
		while (*e != '\0') {
			size_t n = strcspn(e, "\n");

			if (n > 0)
				log_warnx("reload: %.*s", (int)n, e);
			e += n + (e[n] == '\n');
		}
		free(errors);
		config_free(&nc);
		return;
	}
	if (strcmp(nc->database, d->cfg->database) != 0)
		log_warnx("reload: database path change needs a restart; still using %s",
		    d->cfg->database);
	imap_intake_close(&d->ii);
	keep_reconcile(d);
	sms_gateway_free(&d->gw);
	router_free(&d->rt);
	free(nc->database);
	nc->database = xstrdup(d->cfg->database);
	config_free(&d->cfg);
	d->cfg = nc;
	log_set_level((enum log_level)d->cfg->log_level);
	sla_use_timezone(d->cfg->sla.timezone);
	d->rt = router_new(d->cfg);
	(void)open_gateway(d);
	d->imap_retry_at = d->sms_retry_at = 0;
	log_info("reload: %s: %zu departments", d->config_path, d->cfg->n_depts);
}

static void
log_stats(const char *what, const struct source_stats *s)
{
	if (s->fetched == 0)
		return;
	log_info("%s: %zu messages: %zu new tickets, %zu appended, %zu duplicates, %zu other",
	    what, s->fetched, s->tickets, s->appends, s->duplicates, s->other);
}

static void
health(struct daemon *d, enum health_part part, int ok, const char *what)
{
	const char *err;

	if (health_report(d->st, d->cfg, part, ok, what, &err) < 0)
		log_warnx("health: %s", err);
}

static void
poll_imap(struct daemon *d)
{
	struct source_stats stats;
	char *err = NULL;
	int r;

	if (!d->cfg->imap.enabled || util_mono_ms() < d->imap_retry_at)
		return;
	memset(&stats, 0, sizeof(stats));
	r = source_imap_poll(d->st, d->cfg, d->rt, &d->ii, IMAP_BATCH, &stats, &err);
	if (r < 0 && term_requested) {
		/* cut short by the stop (a login or command given up): no
		 * failure of the server's to record */
		log_info("%s", err);
		free(err);
		d->tempfail = 1;
	} else if (r < 0) {
		log_warnx("%s", err);
		health(d, HEALTH_IMAP, 0, err);
		free(err);
		d->tempfail = 1;
		if (d->ii == NULL)
			backoff(&d->imap_failures, &d->imap_retry_at);
	} else {
		d->imap_failures = 0;
		health(d, HEALTH_IMAP, 1, NULL);
	}
	log_stats("imap", &stats);
}

static void
poll_sms(struct daemon *d)
{
	struct source_stats stats;
	char *err = NULL;
	int pending = 0, r;

	if (!d->cfg->sms.enabled || util_mono_ms() < d->sms_retry_at)
		return;
	if (d->gw == NULL && open_gateway(d) < 0) {
		d->tempfail = 1;
		return;
	}
	memset(&stats, 0, sizeof(stats));
	r = source_sms_poll(d->st, d->cfg, d->rt, d->gw, &pending, &stats, &err);
	if (r < 0 && term_requested) {
		/* cut short by the stop (curl aborted the request): no failure
		 * of the gateway's to record, or its "failing since" stayed and
		 * a later outage was alerted on at once, dated from this stop;
		 * the messages a destructive pull may have dequeued are still
		 * to be reconciled on the next start */
		log_info("%s", err);
		free(err);
		d->tempfail = 1;
		keep_reconcile(d);
	} else if (r < 0) {
		log_warnx("%s", err);
		health(d, HEALTH_SMS_PULL, 0, err);
		free(err);
		d->tempfail = 1;
		backoff(&d->sms_failures, &d->sms_retry_at);
		keep_reconcile(d);
	} else {
		if (pending)
			d->tempfail = 1;        /* the gateway's log could not be read */
		d->sms_failures = 0;
		health(d, HEALTH_SMS_PULL, 1, NULL);
	}
	log_stats("sms", &stats);
}

/*
 * A database error in the outbox pass (locked past busy_timeout, disk full,
 * a broken file) pauses the outbox for min(poll_interval, OUTBOX_PAUSE_MAX)
 * seconds, so the loop neither spins on it nor floods the log: one warning
 * per streak of failures, the further ones at debug level, and one line
 * when it works again.  Sources are still polled meanwhile.
 */
static void
run_outbox(struct daemon *d)
{
	struct outbox_run run;
	const char *err;
	int pause;

	if (util_mono_ms() < d->outbox_retry_at)
		return;
	if (outbox_send_due(d->st, d->cfg, d->gw, 0, &run, &err) < 0) {
		pause = d->cfg->poll_interval < OUTBOX_PAUSE_MAX ? d->cfg->poll_interval :
		    OUTBOX_PAUSE_MAX;
		if (pause < 1)
			pause = 1;
		d->outbox_retry_at = util_mono_ms() + pause * 1000LL;
		d->tempfail = 1;
		if (d->outbox_failures++ == 0)
			log_warnx("outbox: %s (trying again every %d s)", err, pause);
		else
			log_debug("outbox: pass %d failed again: %s", d->outbox_failures, err);
		return;
	}
	if (d->outbox_failures > 0)
		log_info("outbox: the database works again after %d failed passes",
		    d->outbox_failures);
	d->outbox_failures = 0;
	d->outbox_retry_at = 0;
	/* rows of a transport that is down wait with next_at (outbox_send_due):
	 * no hold here, which would delay the channel that works as well */
	if (run.smtp_unreachable || run.sms_unreachable)
		d->tempfail = 1;
	if (run.smtp_unreachable && !run.smtp_ok)
		health(d, HEALTH_SMTP, 0, "SMTP server not reachable");
	else if (run.smtp_ok)
		health(d, HEALTH_SMTP, 1, NULL);
	if (run.sms_unreachable && !run.sms_ok)
		health(d, HEALTH_SMS_SEND, 0, "SMS gateway refuses to send");
	else if (run.sms_ok)
		health(d, HEALTH_SMS_SEND, 1, NULL);
	if (run.sent + run.retried + run.failed > 0)
		log_info("outbox: %d sent, %d to retry, %d failed", run.sent, run.retried,
		    run.failed);
}

/*
 * The wall clock stepped back (an NTP correction of a clock that ran ahead,
 * `date -s`, a VM restored from a snapshot, or a database that came from a
 * machine ahead of this one): outbox rows queued before the step wait until
 * their next_at, which may now be hours or days away, and nothing says so.
 * When util_now() is more than CLOCK_STEP_SLACK behind the latest time seen
 * (at start: the latest update of a waiting outbox row), one warning is
 * logged and the waiting rows are re-timed from now, keeping the retry wait
 * each had (at most OUTBOX_WAIT_MAX); rows due anyway are unaffected.
 * Returns the rows re-timed, or -1 with *error_r.
 */
static int
clock_check(struct daemon *d, const char **error_r)
{
	time_t now = util_now();
	sqlite3_stmt *s;
	char seen[32], at[32];
	int n;

	*error_r = NULL;
	if (d->wall_seen <= now + CLOCK_STEP_SLACK) {
		if (now > d->wall_seen)
			d->wall_seen = now;
		return 0;
	}
	s = store_prepare(d->st,
	    "UPDATE outbox SET next_at = ?1 + max(0, min(next_at - updated_at, ?3)), "
	    "updated_at = ?1 WHERE status = 'pending' AND (updated_at > ?1 + ?2 OR next_at > ?1 + ?3)");
	if (s == NULL) {
		*error_r = store_errmsg(d->st);
		return -1;
	}
	sqlite3_bind_int64(s, 1, (sqlite3_int64)now);
	sqlite3_bind_int(s, 2, CLOCK_STEP_SLACK);
	sqlite3_bind_int(s, 3, OUTBOX_WAIT_MAX);
	if (sqlite3_step(s) != SQLITE_DONE) {
		*error_r = store_errmsg(d->st);
		sqlite3_reset(s);
		return -1;
	}
	sqlite3_reset(s);
	n = store_changes(d->st);
	sla_format_local(now, at, sizeof(at));
	sla_format_local(d->wall_seen, seen, sizeof(seen));
	log_warnx("clock: the system time went back %lld s (now %s, before %s): "
	    "%d waiting outbox messages re-timed from now", (long long)(d->wall_seen - now),
	    at, seen, n);
	d->wall_seen = now;
	return n;
}

/* The latest update of a waiting outbox row (0 when none or on an error):
 * a clock that went back while s48d was stopped is noticed at start. */
static time_t
outbox_latest_update(struct store *st)
{
	sqlite3_stmt *s = store_prepare(st,
	    "SELECT max(updated_at) FROM outbox WHERE status = 'pending'");
	time_t t = 0;

	if (s != NULL && sqlite3_step(s) == SQLITE_ROW)
		t = (time_t)sqlite3_column_int64(s, 0);
	if (s != NULL)
		sqlite3_reset(s);
	return t;
}

static void
run_sla(struct daemon *d)
{
	const char *err = NULL;

	if (sla_watch_run(d->st, d->cfg, &err) < 0)
		log_warnx("sla: %s", err);
}

/* One poller per database (isync's lock file): a second s48d refuses to run.
 * 0; -1 (busy or a temporary failure) or -2 (the lock file cannot be made
 * by this user: a configuration error). */
static int
take_lock(struct daemon *d)
{
	char *path = xasprintf("%s.lock", d->cfg->database);

	d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d->lock_fd < 0) {
		int e = errno;

		/* the database's directory not writable by this user, or a
		 * read-only file system: a restart will not help */
		log_warnx("%s: %s: not started", path, strerror(e));
		free(path);
		return e == EACCES || e == EPERM || e == EROFS || e == ENOENT ||
		    e == ENOTDIR ? -2 : -1;
	}
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		log_warnx("%s: another s48d is running on this database", path);
		free(path);
		return -1;
	}
	free(path);
	return 0;
}

/*
 * One line naming what keeps this user from writing the database: the file,
 * its -wal or -shm (SQLite gives them the database's mode when it creates
 * them, so a -shm left by a run on a read-only file stays read-only after
 * the file is fixed), its directory, or a read-only mount.
 */
static void
log_unwritable(const char *db)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	char *dir = xstrdup(db), *slash = strrchr(dir, '/'), *p;
	const char *what = NULL;
	size_t i;

	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]) && what == NULL; i++) {
		p = xasprintf("%s%s", db, suffix[i]);
		if (faccessat(AT_FDCWD, p, W_OK, AT_EACCESS) < 0 && errno != ENOENT) {
			log_warnx("database %s: %s: %s for this user (uid %ld): not started", db, p,
			    errno == EROFS ? "read-only file system" : "not writable", (long)geteuid());
			what = "file";
		}
		free(p);
	}
	if (what == NULL && faccessat(AT_FDCWD, dir, W_OK, AT_EACCESS) < 0) {
		log_warnx("database %s: its directory %s: %s for this user (uid %ld): not started",
		    db, dir, errno == EROFS ? "read-only file system" : "not writable",
		    (long)geteuid());
		what = "dir";
	}
	if (what == NULL)
		log_warnx("database %s: cannot be written by this user (uid %ld): not started", db,
		    (long)geteuid());
	free(dir);
}

/*
 * The exit code after the first writes at start failed: 78 when the
 * database cannot be written by this user at all (SQLITE_READONLY: its
 * directory, -wal or -shm not writable, a read-only mount; SQLITE_CANTOPEN,
 * SQLITE_PERM), so systemd does not restart s48d every 10 s in vain; else
 * 75 (locked, disk full: it may pass).
 */
static int
start_write_rc(struct daemon *d)
{
	int e = sqlite3_errcode(store_db(d->st)) & 0xff;

	if (e == SQLITE_READONLY || e == SQLITE_CANTOPEN || e == SQLITE_PERM) {
		log_unwritable(d->cfg->database);
		return 78;
	}
	return 75;
}

/*
 * The highest ticket number this database has given, kept in the lock file
 * ("tickets N"), which stays beside the database when a backup is put in
 * its place.  A restored backup knows fewer tickets than were given: the
 * numbers after it must not go to other reports (a citizen holds "12" from
 * before; a department's old mail for 12 carries a valid token), so the
 * numbering is moved past them (source_state "tickets.floor"), and mail
 * moved to processed_mailbox since the backup is not read again.  s48d says
 * so once at start (README "Restoring a backup" tells what to do).
 */
static long long
tickets_max(struct store *st)
{
	sqlite3_stmt *s = store_prepare(st, "SELECT coalesce(max(id), 0) FROM tickets");
	long long n = -1;

	if (s != NULL && sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	if (s != NULL)
		sqlite3_reset(s);
	return n;
}

static void
numbering_note(struct daemon *d)
{
	long long n = tickets_max(d->st);
	char line[64];
	int len;

	if (n < 0 || n <= d->numbered || d->lock_fd < 0)
		return;
	len = snprintf(line, sizeof(line), "tickets %lld\n", n);
	if (pwrite(d->lock_fd, line, (size_t)len, 0) == len && ftruncate(d->lock_fd, len) == 0)
		d->numbered = n;
}

static void
numbering_check(struct daemon *d)
{
	char buf[64];
	ssize_t len = pread(d->lock_fd, buf, sizeof(buf) - 1, 0);
	long long before = 0, now;

	if (len <= 0)
		return;
	buf[len] = '\0';
	if (sscanf(buf, "tickets %lld", &before) != 1 || before <= 0)
		return;
	now = tickets_max(d->st);
	d->numbered = before;
	if (now >= 0 && now < before) {
		char floor[32];
		const char *err = NULL;

		/* the next ticket is before + 1 (tickets.c TICKETS_NEXT_ID) */
		snprintf(floor, sizeof(floor), "%lld", before + 1);
		if (store_state_set(d->st, "tickets.floor", floor, &err) < 0)
			log_warnx("database %s: its last ticket is %lld, but tickets up to %lld were "
			    "given before (a backup put in place?), and the numbering could not be "
			    "moved past them: %s", d->cfg->database, now, before, err);
		else
			log_warnx("database %s: its last ticket is %lld, but tickets up to %lld were "
			    "given before (a backup put in place?): numbers %lld-%lld are not given "
			    "again, the next ticket is %lld; mail moved since the backup is not read "
			    "again (README: Restoring a backup)", d->cfg->database, now, before,
			    now + 1, before, before + 1);
	}
}

/* Sleep until util_mono_ms() reaches until, the stop flag, or a reload
 * request, in slices of SLEEP_SLICE_MS at most. */
static void
sleep_until(long long until)
{
	long long left;

	while (!s48_stop_requested && !reload_requested &&
	    (left = until - util_mono_ms()) > 0) {
		struct timespec ts;

		if (left > SLEEP_SLICE_MS)
			left = SLEEP_SLICE_MS;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)left * 1000000L;
		nanosleep(&ts, NULL);
	}
}

/*
 * Milliseconds until the wall clock reaches `at` (a stored next_at, in
 * seconds of util_now(), the clock outbox_send_due compares next_at with);
 * <= 0 when it has.  The fraction of the current second counts, so a row due
 * at second X is waited for until X.000, not X.999.
 */
static long long
wall_wait_ms(time_t at)
{
	struct timespec ts;
	time_t now;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = util_now();
	if (now != ts.tv_sec)   /* S48_NOW, or the second turned between the reads */
		return ((long long)at - now) * 1000;
	return ((long long)at - now) * 1000 - ts.tv_nsec / 1000000;
}

/* Wait (IMAP IDLE or a sleep) until next_poll (util_mono_ms), the outbox's
 * next due row, or max_wait, whichever comes first. */
static void
wait_for_work(struct daemon *d, long long next_poll)
{
	long long now = util_mono_ms(), until = next_poll;
	time_t due = outbox_next_due(d->st);
	const char *err;
	int r;

	if (due != 0) {
		long long due_ms = now + wall_wait_ms(due);

		if (due_ms < d->outbox_retry_at)
			due_ms = d->outbox_retry_at;   /* the outbox pauses after a database error */
		if (due_ms < until)
			until = due_ms;
	}
	if (until - now > d->max_wait)
		until = now + d->max_wait;   /* IDLE re-issued, watchdog pinged */
	if (until <= now)
		return;
	if (d->ii != NULL && d->cfg->imap.idle && imap_intake_has_idle(d->ii)) {
		r = imap_intake_idle_ms(d->ii, until - now, &err);
		if (r < 0 && term_requested) {
			/* the server did not answer in the stop's grace */
			log_info("imap: idle: %s (stopping)", err);
			imap_intake_close(&d->ii);
		} else if (r < 0) {
			log_warnx("imap: idle: %s (reconnecting)", err);
			imap_intake_close(&d->ii);
		}
		if (r != 0)
			return;         /* new mail (or a broken link): poll IMAP now */
		/* 0: the wait is over, or the stop flag ended IDLE early (then
		 * sleep_until returns at once as well) */
	}
	sleep_until(until);
}

int
daemon_run(struct s48_config *cfg, const char *config_path, int once)
{
	struct daemon d;
	const char *err;
	char *running = NULL;
	long long next_poll = 0;        /* util_mono_ms of the next scheduled poll */
	int n, rc = 1;

	memset(&d, 0, sizeof(d));
	d.cfg = cfg;
	d.config_path = config_path;
	d.lock_fd = -1;
	d.max_wait = watchdog_interval();
	signals_setup();
	if ((n = take_lock(&d)) < 0) {
		rc = n == -2 ? 78 : 75;
		goto out;
	}
	/* a database that cannot be opened (a path that is not there or not
	 * ours, a file that is not a database) will not open on a restart
	 * either: a configuration error (systemd's unit does not restart on
	 * 78); what goes wrong after it is temporary (75) */
	if (store_open(cfg->database, &d.st, &err) < 0) {
		/* err begins with the file's path */
		log_warnx("database %s: not started", err);
		rc = 78;
		goto out;
	}
	/* SQLite opens a file this user may not write read-only, without a
	 * word: every write would then fail, and a restart would not help */
	if (sqlite3_db_readonly(store_db(d.st), "main") == 1) {
		log_unwritable(cfg->database);
		rc = 78;
		goto out;
	}
	rc = 75;
	/* journal_size_limit: store_open (a long reader's WAL is cut back) */
#ifdef HAVE_SYSTEMD
	if (sd_watchdog_enabled(0, NULL) > 0)
		sqlite3_progress_handler(store_db(d.st), WATCHDOG_VM_STEPS, watchdog_progress, NULL);
#endif
	/* WAL checkpoints off the thread that ingests (store.h) */
	if (store_start_checkpointer(d.st, 0, &err) < 0)
		log_warnx("database: %s (checkpoints stay on the writer thread)", err);
	if ((n = outbox_recover(d.st, &err)) < 0) {
		log_warnx("outbox: %s", err);
		rc = start_write_rc(&d);
		goto out;
	}
	if (n > 0)
		log_info("outbox: %d messages interrupted by the last stop will be sent again", n);
	if (store_state_get(d.st, "daemon.running", &running, &err) < 0) {
		log_warnx("database: %s", err);
		goto out;
	}
	d.unclean_start = running != NULL && strcmp(running, "1") == 0;
	free(running);
	if (d.unclean_start) {
		log_warnx("the last run did not stop cleanly: reconciling sources");
		if (cfg->sms.enabled && store_state_set(d.st, "sms.reconcile", "1", &err) < 0) {
			log_warnx("database: %s", err);
			goto out;
		}
	}
	if (store_state_set(d.st, "daemon.running", "1", &err) < 0) {
		log_warnx("database: %s", err);
		rc = start_write_rc(&d);
		goto out;
	}
	d.wall_seen = outbox_latest_update(d.st);
	numbering_check(&d);
	numbering_note(&d);
	d.rt = router_new(cfg);
	(void)open_gateway(&d);
	log_info("s48d started: %zu departments, imap %s, sms %s, smtp %s", cfg->n_depts,
	    cfg->imap.enabled ? "on" : "off", cfg->sms.enabled ? cfg->sms.profile : "off",
	    cfg->smtp.enabled ? "on" : "off");
	notify_systemd("READY=1");

	while (!term_requested) {
		int imap_now = 0;

		if (reload_requested) {
			hup_wake_clear();
			notify_systemd("RELOADING=1");
			reload(&d);
			notify_systemd("READY=1");
		}
		if (util_mono_ms() >= next_poll) {
			poll_imap(&d);
			poll_sms(&d);
			next_poll = util_mono_ms() + d.cfg->poll_interval * 1000LL;
		} else {
			imap_now = 1;
		}
		if (imap_now)
			poll_imap(&d);  /* IDLE said new mail, or the link broke */
		if (term_requested)
			break;
		if (clock_check(&d, &err) < 0)
			log_warnx("clock: %s", err);
		numbering_note(&d);
		run_sla(&d);
		run_outbox(&d);
		watchdog_pinged();
		if (once)
			break;
		hup_wakes = 1;
		if (!reload_requested)
			wait_for_work(&d, next_poll);
		hup_wakes = 0;
	}
	notify_systemd("STOPPING=1");
	rc = once && d.tempfail ? 75 : 0;
	if (store_state_set(d.st, "daemon.running", "0", &err) < 0)
		log_warnx("database: %s", err);
	log_info("s48d stopping");
out:
	imap_intake_close(&d.ii);
	sms_gateway_free(&d.gw);
	router_free(&d.rt);
	notifier_smtp_close();
	store_close(&d.st);
	if (d.lock_fd >= 0)
		close(d.lock_fd);
	config_free(&d.cfg);
	return rc;
}
