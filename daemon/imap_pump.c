/*
 * imap_pump.c - a thread that fetches the next IMAP batch while the caller
 * ingests the current one, and a second thread with a second session that
 * acknowledges committed batches meanwhile (see imap_pump.h for the rules).
 */
#include "imap_pump.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store.h"
#include "util.h"

/* after SIGTERM, how long a command in flight may take before its socket is
 * shut down under it */
#define PUMP_STOP_GRACE_MS 2000

/* the acknowledging thread and its session */
enum pump_ack_state {
	PUMP_ACK_NONE,          /* not started: the fetch thread acknowledges */
	PUMP_ACK_RUNNING,       /* started: it acknowledges (until ack_exited) */
	PUMP_ACK_OFF            /* refused or unavailable: the fetch thread does */
};

struct imap_pump {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	struct imap_intake *ii;
	const struct cfg_imap *ack_cfg; /* NULL: one session only */
	const char *sync_db;            /* store_wal_sync before acknowledging */
	enum pump_ack_state ack_state;
	pthread_t ack_thread;
	struct imap_intake *ack_ii;     /* the second session, or NULL */
	int ack_busy;                   /* a command is in flight on it */
	int ack_exited;
	int ack_reconnected;            /* the one new acknowledging session was tried */
	uint32_t uidvalidity;           /* of the fetching session: every session's must match */
	size_t ack_early;               /* a command's UIDs due with a second session */
	int share_tail;                 /* the fetching session moves beside the second */
	uint32_t after;                 /* highest UID fetched (or the caller's cursor) */
	size_t batch_size;

	struct imap_msg *ready;         /* the batch fetched ahead, or NULL */
	size_t n_ready;
	uint32_t *pend;                 /* committed UIDs to acknowledge, ascending */
	size_t npend, pend_cap;
	size_t out_batches, out_bytes;  /* fetched, not yet committed or dropped */
	int drained;                    /* a fetch found nothing */
	int nofetch;                    /* a batch was dropped: fetch no more */
	int quit;                       /* imap_pump_finish: flush acks and end */
	int exited;
	int failed;                     /* the fetching session is broken: no more commands on it */
	int halt;                       /* acknowledge nothing more (UIDVALIDITY changed, WAL
	                                 * not synced): the poll fails */
	int aborted;                    /* imap_pump_finish shut the sessions down (stop grace) */
	size_t lost;                    /* committed UIDs given up: no session was left */
	char *error;
};

static size_t
pump_bytes(const struct imap_msg *m, size_t n)
{
	size_t i, b = 0;

	for (i = 0; i < n; i++)
		b += m[i].len;
	return b;
}

/* the first error of the poll, kept for imap_pump_next and
 * imap_pump_finish */
static void
pump_error(struct imap_pump *p, const char *err)
{
	if (p->error == NULL)
		p->error = xstrdup(err != NULL ? err : "imap: failed");
}

/* the fetching session failed: no more commands on it; what is committed
 * goes on the acknowledging session */
static void
pump_fail(struct imap_pump *p, const char *err)
{
	p->failed = 1;
	pump_error(p, err);
}

/* acknowledge nothing more on any session (the queue is given up: it comes
 * again next poll and is recognised as duplicates) and hand out nothing
 * more */
static void
pump_halt(struct imap_pump *p, const char *err)
{
	p->halt = 1;
	p->failed = 1;
	pump_error(p, err);
	p->lost += p->npend;
	free(p->pend);
	p->pend = NULL;
	p->npend = p->pend_cap = 0;
}

/* a pump thread starts: signals stay with the caller's thread; the lock
 * is held from here on, except around IMAP commands */
static void
pump_thread_begin(struct imap_pump *p)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&p->mu);
}

/* a pump thread ends: say so in *exited and let go of the lock */
static void
pump_thread_end(struct imap_pump *p, int *exited)
{
	*exited = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* how many committed UIDs make a command due while fetching goes on: with a
 * second session (or the chance of one), ack_early (IMAP_PUMP_ACK_EARLY or a
 * tenth of the mailbox), so that it is kept busy (see imap_pump.h);
 * acknowledging on the fetching session, IMAP_PUMP_ACK_MIN, as each command
 * holds up the fetching */
static size_t
pump_ack_min(const struct imap_pump *p)
{
	return p->ack_cfg != NULL && p->ack_state != PUMP_ACK_OFF ? p->ack_early :
	    IMAP_PUMP_ACK_MIN;
}

/* is a command over the committed UIDs due? (see imap_pump.h) */
static int
pump_ack_due(const struct imap_pump *p)
{
	return p->npend > 0 && !p->halt && (p->failed || p->npend >= pump_ack_min(p) || p->quit ||
	    (p->drained && p->out_batches == 0) || p->nofetch || s48_stop_requested);
}

/* will the fetch thread go on fetching? */
static int
pump_fetching(const struct imap_pump *p)
{
	return !p->failed && !p->nofetch && !p->quit && !p->drained && !s48_stop_requested;
}

/* Take the oldest committed UIDs, at most IMAP_PUMP_ACK_MAX, off the queue
 * (the caller frees *uids_r).  Called with the lock held. */
static void
pump_take(struct imap_pump *p, uint32_t **uids_r, size_t *n_r)
{
	size_t n = p->npend > IMAP_PUMP_ACK_MAX ? IMAP_PUMP_ACK_MAX : p->npend;

	/* nothing more to fetch and two sessions: half each (at least
	 * IMAP_PUMP_ACK_EARLY), so that both stay busy to the end */
	if (p->share_tail && p->ack_state == PUMP_ACK_RUNNING && !pump_fetching(p) &&
	    n > p->ack_early) {
		size_t half = (p->npend + 1) / 2;

		if (half < p->ack_early)
			half = p->ack_early;
		if (n > half)
			n = half;
	}

	if (n == p->npend) {
		*uids_r = p->pend;
		p->pend = NULL;
		p->npend = p->pend_cap = 0;
	} else {
		*uids_r = xmalloc(n * sizeof(**uids_r));
		memcpy(*uids_r, p->pend, n * sizeof(**uids_r));
		memmove(p->pend, p->pend + n, (p->npend - n) * sizeof(*p->pend));
		p->npend -= n;
	}
	*n_r = n;
}

/* Put the n UIDs of a failed command back at the head of the queue, for
 * the next session (a MOVE or STORE sent again over UIDs the server did
 * act on before the failure is harmless: gone or flagged already).  Called
 * with the lock held. */
static void
pump_untake(struct imap_pump *p, const uint32_t *uids, size_t n)
{
	if (p->npend + n > p->pend_cap) {
		p->pend_cap = p->npend + n;
		p->pend = xrealloc(p->pend, p->pend_cap * sizeof(*p->pend));
	}
	memmove(p->pend + n, p->pend, p->npend * sizeof(*p->pend));
	memcpy(p->pend, uids, n * sizeof(*uids));
	p->npend += n;
}

/* Acknowledge the oldest committed UIDs on session ii; the lock is held on
 * entry and exit, and released during the command.  0, or -1 when the
 * session failed (*err_r, a message of the calling thread: the UIDs are
 * back in the queue) or nothing more is acknowledged (p->halt). */
static int
pump_ack_on(struct imap_pump *p, struct imap_intake *ii, const char *which,
    const char **err_r)
{
	const char *err = NULL;
	uint32_t *uids;
	size_t nu;
	int r = 0, synced = 1;

	*err_r = NULL;
	pump_take(p, &uids, &nu);
	pthread_mutex_unlock(&p->mu);
	/* the batches were committed without waiting for the disk:
	 * on disk first, then acknowledged (store.h, group commit) */
	if (p->sync_db != NULL && store_wal_sync(p->sync_db, &err) < 0) {
		r = -1;
		synced = 0;
	} else {
		log_debug("imap: acknowledging %zu messages in one command%s", nu, which);
		r = imap_intake_ack(ii, uids, nu, &err);
	}
	pthread_mutex_lock(&p->mu);
	if (r < 0 && !synced) {
		/* not known to be on disk: never acknowledged */
		p->lost += nu;
		pump_halt(p, err);
	} else if (r < 0) {
		/* committed: they go on another session (or, if none is
		 * left, come again next poll and are recognised as
		 * duplicates) */
		if (p->halt)
			p->lost += nu;
		else
			pump_untake(p, uids, nu);
		*err_r = err;
	}
	free(uids);
	pthread_cond_broadcast(&p->cv);
	return r;
}

/*
 * A session for acknowledgements (the lock held; released while connecting):
 * 0 with p->ack_ii set, or -1 (none: refused, stopped, or its UIDVALIDITY
 * is not the fetching session's, when nothing more is acknowledged).
 */
static int
pump_ack_connect(struct imap_pump *p, const char *what)
{
	struct imap_intake *ii = NULL;
	const char *err = NULL;
	int r;

	pthread_mutex_unlock(&p->mu);
	/* a stop request ends a connect or login at once (intake_imap.h): the
	 * committed UIDs then go on the fetching session */
	r = imap_intake_connect(p->ack_cfg, &ii, &err);
	if (r < 0 && s48_stop_requested)
		log_info("imap: no %s for acknowledgements (%s): acknowledging on the"
		    " fetching one", what, err);
	else if (r < 0)
		log_warnx("imap: no %s for acknowledgements (%s): acknowledging on the"
		    " fetching one", what, err);
	else if (!imap_intake_has_move(p->ii))
		imap_intake_disable_move(ii);
	pthread_mutex_lock(&p->mu);
	if (r < 0)
		return -1;
	if (imap_intake_uidvalidity(ii) != p->uidvalidity) {
		/* the UIDs this poll committed name other mail now */
		char *e = xasprintf("imap: UIDVALIDITY changed from %lu to %lu during the poll:"
		    " %zu committed messages not acknowledged (known by content next poll)",
		    (unsigned long)p->uidvalidity, (unsigned long)imap_intake_uidvalidity(ii),
		    p->npend);

		log_warnx("%s", e);
		pump_halt(p, e);
		free(e);
		imap_intake_abort(ii);
		pthread_mutex_unlock(&p->mu);
		imap_intake_close(&ii);
		pthread_mutex_lock(&p->mu);
		return -1;
	}
	if (p->aborted) {
		/* the stop's grace is over: no command on a new session */
		pthread_mutex_unlock(&p->mu);
		imap_intake_abort(ii);
		imap_intake_close(&ii);
		pthread_mutex_lock(&p->mu);
		return -1;
	}
	p->ack_ii = ii;
	return 0;
}

/*
 * The acknowledging thread: logs in on a second session when the first
 * command is due, then sends every command over committed UIDs while the
 * fetch thread goes on.  A refused login is not an error: the fetch thread
 * then acknowledges on its own session, as with one session.  When its
 * session fails, the command's UIDs go back to the queue and it logs in
 * once more; if that fails too, the fetching session acknowledges them
 * (as with one session), or, if it failed too, they are given up.
 */
static void *
pump_ack_main(void *arg)
{
	struct imap_pump *p = arg;
	const char *what = "second session";

	pump_thread_begin(p);
	while (!p->halt && pump_ack_connect(p, what) == 0) {
		struct imap_intake *old;
		const char *err = NULL;
		int r = 0;

		while (!p->halt) {
			if (pump_ack_due(p)) {
				p->ack_busy = 1;
				r = pump_ack_on(p, p->ack_ii, " (second session)", &err);
				p->ack_busy = 0;
				if (r < 0)
					break;
				continue;
			}
			if (p->quit)
				break;
			pthread_cond_wait(&p->cv, &p->mu);
		}
		if (r == 0 || p->halt)
			break;
		/* the session failed (a dropped connection, a NO): out of
		 * imap_pump_finish's reach first, then closed */
		old = p->ack_ii;
		p->ack_ii = NULL;
		pthread_mutex_unlock(&p->mu);
		imap_intake_abort(old);
		imap_intake_close(&old);
		pthread_mutex_lock(&p->mu);
		if (p->ack_reconnected || p->aborted || s48_stop_requested) {
			log_warnx("imap: the acknowledging session failed (%s): %zu committed"
			    " messages go on the fetching session", err, p->npend);
			break;
		}
		log_warnx("imap: the acknowledging session failed (%s): %zu committed"
		    " messages go on a new one", err, p->npend);
		p->ack_reconnected = 1;
		what = "new session";
	}
	/* from here the fetch thread acknowledges what is left */
	p->ack_state = PUMP_ACK_OFF;
	pump_thread_end(p, &p->ack_exited);
	return NULL;
}

/* start the acknowledging thread (ack_state NONE; the lock held) */
static void
pump_ack_start(struct imap_pump *p)
{
	p->ack_state = PUMP_ACK_RUNNING;
	if (pthread_create(&p->ack_thread, NULL, pump_ack_main, p) != 0) {
		log_warnx("imap: cannot start the acknowledging thread: %s", strerror(errno));
		p->ack_state = PUMP_ACK_OFF;
	}
}

static int
pump_may_fetch(struct imap_pump *p)
{
	if (p->failed || p->nofetch || p->quit || p->drained || p->ready != NULL ||
	    s48_stop_requested)
		return 0;
	if (p->out_batches > 0 && p->out_bytes >= IMAP_PUMP_AHEAD_BYTES)
		return 0;
	return 1;
}

static void *
pump_main(void *arg)
{
	struct imap_pump *p = arg;

	pump_thread_begin(p);
	for (;;) {
		struct imap_msg *msgs = NULL;
		const char *err = NULL;
		size_t n = 0;
		int r;

		/* one command for everything committed so far, once there is
		 * enough of it or nothing else to do (see imap_pump.h); while
		 * more is to be fetched, on a second session */
		if (pump_ack_due(p) && p->ack_state != PUMP_ACK_RUNNING) {
			/* this session failed: what is committed goes on a
			 * second one all the same */
			if (p->ack_state == PUMP_ACK_NONE && p->ack_cfg != NULL &&
			    (pump_fetching(p) || (p->failed && !s48_stop_requested))) {
				pump_ack_start(p);
				continue;
			}
			if (!p->failed) {
				if (pump_ack_on(p, p->ii, "", &err) < 0 && !p->halt) {
					log_warnx("imap: acknowledging on the fetching session"
					    " failed (%s)", err);
					pump_fail(p, err);
				}
				continue;
			}
			/* no session left for them: imap_pump_finish counts
			 * them lost */
		}
		/* the end of a poll's fetching while the second session is
		 * busy: this one takes a share of what is due (in a mailbox of
		 * up to IMAP_PUMP_SHARE_MAX: see imap_pump.h) */
		if (p->share_tail && p->ack_state == PUMP_ACK_RUNNING && p->ack_busy &&
		    !p->failed && !pump_fetching(p) && pump_ack_due(p)) {
			if (pump_ack_on(p, p->ii, " (fetching session, beside the second)",
			    &err) < 0 && !p->halt) {
				log_warnx("imap: acknowledging on the fetching session failed"
				    " (%s)", err);
				pump_fail(p, err);
			}
			continue;
		}
		if (p->quit) {
			/* the acknowledging thread flushes the queue first (or
			 * gives up and leaves the rest to this one) */
			if (p->ack_state == PUMP_ACK_RUNNING && !p->ack_exited) {
				pthread_cond_wait(&p->cv, &p->mu);
				continue;
			}
			break;
		}
		if (!pump_may_fetch(p)) {
			pthread_cond_wait(&p->cv, &p->mu);
			continue;
		}
		pthread_mutex_unlock(&p->mu);
		r = imap_intake_fetch(p->ii, p->after, p->batch_size, &msgs, &n, &err);
		pthread_mutex_lock(&p->mu);
		if (r < 0) {
			pump_fail(p, err);
		} else if (p->halt) {
			imap_intake_free_msgs(&msgs, n);
		} else if (n == 0) {
			p->drained = 1;
		} else {
			log_debug("imap: fetched %zu messages, UIDs %u to %u", n, msgs[0].uid,
			    msgs[n - 1].uid);
			p->ready = msgs;
			p->n_ready = n;
			p->out_batches++;
			/* enough listed for a command after this batch: the
			 * second session logs in while it is ingested */
			if (p->ack_state == PUMP_ACK_NONE && p->ack_cfg != NULL &&
			    imap_intake_listed(p->ii) >= p->ack_early)
				pump_ack_start(p);
			p->out_bytes += pump_bytes(msgs, n);
			if (msgs[n - 1].uid > p->after)
				p->after = msgs[n - 1].uid;
		}
		pthread_cond_broadcast(&p->cv);
	}
	pump_thread_end(p, &p->exited);
	return NULL;
}

int
imap_pump_start(struct imap_intake *ii, const struct cfg_imap *ack_cfg, const char *sync_db,
    uint32_t after_uid, size_t batch_size, struct imap_pump **p_r, char **error_r)
{
	struct imap_pump *p = xcalloc(1, sizeof(*p));
	pthread_condattr_t ca;

	*p_r = NULL;
	p->ii = ii;
	p->ack_cfg = ack_cfg;
	p->sync_db = sync_db;
	p->after = after_uid;
	p->batch_size = batch_size;
	p->uidvalidity = imap_intake_uidvalidity(ii);
	/* a tenth of the mailbox, within [EARLY, MAX]: Dovecot's cost of
	 * a command grows with the mailbox */
	p->ack_early = imap_intake_exists(ii) / 10;
	if (p->ack_early < IMAP_PUMP_ACK_EARLY)
		p->ack_early = IMAP_PUMP_ACK_EARLY;
	if (p->ack_early > IMAP_PUMP_ACK_MAX)
		p->ack_early = IMAP_PUMP_ACK_MAX;
	p->share_tail = imap_intake_exists(ii) <= IMAP_PUMP_SHARE_MAX;
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&p->thread, NULL, pump_main, p) != 0) {
		*error_r = xasprintf("imap: cannot start the fetch thread: %s", strerror(errno));
		pthread_cond_destroy(&p->cv);
		pthread_mutex_destroy(&p->mu);
		free(p);
		return -1;
	}
	*p_r = p;
	return 0;
}

/* wait on the pump's condition for at most ms milliseconds */
static void
pump_wait_ms(struct imap_pump *p, long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&p->cv, &p->mu, &ts);
}

int
imap_pump_next(struct imap_pump *p, struct imap_msg **msgs_r, size_t *n_r, char **error_r)
{
	int r;

	*msgs_r = NULL;
	*n_r = 0;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		if (p->failed) {
			*error_r = xstrdup(p->error);
			r = -1;
			break;
		}
		/* after a drop, not even a batch fetched ahead: in \Seen mode
		 * its commit would move the cursor past the batch not stored */
		if (s48_stop_requested || p->nofetch) {
			r = 0;
			break;
		}
		if (p->ready != NULL) {
			*msgs_r = p->ready;
			*n_r = p->n_ready;
			p->ready = NULL;
			pthread_cond_broadcast(&p->cv);
			r = 1;
			break;
		}
		if (p->drained) {
			r = 0;
			break;
		}
		/* signals reach this thread only: look at the flag now and then */
		pump_wait_ms(p, 200);
	}
	pthread_mutex_unlock(&p->mu);
	return r;
}

void
imap_pump_ack(struct imap_pump *p, const uint32_t *uids, size_t n, size_t bytes)
{
	pthread_mutex_lock(&p->mu);
	if (p->halt) {
		/* acknowledged no more (UIDVALIDITY changed, WAL not synced) */
		p->lost += n;
		n = 0;
	}
	if (p->npend + n > p->pend_cap) {
		p->pend_cap = p->npend + n > 2 * p->pend_cap ? p->npend + n : 2 * p->pend_cap;
		p->pend = xrealloc(p->pend, p->pend_cap * sizeof(*p->pend));
	}
	if (n > 0)
		memcpy(p->pend + p->npend, uids, n * sizeof(*uids));
	p->npend += n;
	p->out_batches--;
	p->out_bytes -= bytes;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void
imap_pump_drop(struct imap_pump *p, size_t bytes)
{
	pthread_mutex_lock(&p->mu);
	p->out_batches--;
	p->out_bytes -= bytes;
	p->nofetch = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

int
imap_pump_finish(struct imap_pump **pp, char **error_r)
{
	struct imap_pump *p = *pp;
	long long stop_seen = -1;
	int aborted = 0, rc = 0;

	if (p == NULL)
		return 0;
	*pp = NULL;
	pthread_mutex_lock(&p->mu);
	p->quit = 1;
	pthread_cond_broadcast(&p->cv);
	while (!p->exited) {
		pump_wait_ms(p, 100);
		/* SIGTERM must not wait for a server that does not answer; the
		 * grace is counted on the clock from when the stop was seen (the
		 * threads' broadcasts end the wait early, many times a second
		 * while they acknowledge) */
		if (p->exited || aborted || !s48_stop_requested)
			continue;
		if (stop_seen < 0)
			stop_seen = util_mono_ms();
		if (util_mono_ms() - stop_seen >= PUMP_STOP_GRACE_MS) {
			aborted = 1;
			p->aborted = 1;
			imap_intake_abort(p->ii);
			imap_intake_abort(p->ack_ii);
		}
	}
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	/* the fetch thread ends after the acknowledging one */
	if (p->ack_exited)
		pthread_join(p->ack_thread, NULL);
	/* LOGOUT, unless the session may be broken or the server silent */
	if (p->ack_ii != NULL && (p->failed || aborted))
		imap_intake_abort(p->ack_ii);
	imap_intake_close(&p->ack_ii);
	/* committed, but no session was left to acknowledge them: they come
	 * again next poll and are recognised as duplicates */
	p->lost += p->npend;
	if (p->lost > 0)
		log_warnx("imap: %zu committed messages not acknowledged: they come again"
		    " next poll (recognised as duplicates)", p->lost);
	if (p->failed) {
		*error_r = p->error;
		p->error = NULL;
		rc = -1;
	} else if (aborted) {
		*error_r = xstrdup("imap: stopped while a command was in flight");
		rc = -1;
	} else if (p->lost > 0) {
		*error_r = xasprintf("imap: %zu committed messages not acknowledged", p->lost);
		rc = -1;
	}
	if (p->ready != NULL)
		imap_intake_free_msgs(&p->ready, p->n_ready);
	free(p->pend);
	free(p->error);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
	return rc;
}
