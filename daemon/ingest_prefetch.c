/*
 * ingest_prefetch.c - parse the emails of a batch ahead of the SQL work.
 *
 * mime_parse() needs no database and costs about a third of an email's
 * ingest time, so a second thread parses the batch's emails in order while
 * the main thread (the only one that touches SQLite) decides and writes.
 * It also routes each parse (router_route on its subject and text, what a
 * new ticket of it is routed by), which needs no database either: most
 * emails become new tickets, and the route was ~7 % of the main thread's
 * instructions per email.
 * The main thread never waits idle for an item nobody has started: it parses
 * it itself.  The thread runs at most PREFETCH_AHEAD items ahead of the main
 * thread, so memory stays bounded by a few messages whatever the batch size.
 * The thread blocks all signals: they keep going to the main thread.
 */
#include "ingest_p.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "mime.h"
#include "router.h"
#include "util.h"

/* The thread parses at most PREFETCH_AHEAD items ahead of the main thread;
 * once there it sleeps until the main thread is PREFETCH_RESUME items
 * behind, so that neither side wakes the other for every item. */
#define PREFETCH_AHEAD 32
#define PREFETCH_RESUME 16

enum pf_state { PF_QUEUED, PF_BUSY, PF_DONE, PF_GONE };

struct ingest_prefetch {
	pthread_mutex_t mu;
	pthread_cond_t cv_main;         /* the main thread waits for a parse */
	pthread_cond_t cv_thread;       /* the thread waits for room */
	pthread_t thread;
	int stop;
	int main_waits;                 /* someone sleeps on cv_main */
	int thread_waits;               /* the thread sleeps on cv_thread */
	const struct ingest_item *items;
	size_t n;
	const struct router *rt;        /* NULL: no routes ahead */
	const char *tag;                /* the config's ticket_tag */
	size_t maxatt;
	unsigned char *state;           /* enum pf_state per item */
	struct mime_message **msg;      /* PF_DONE: the parse, owned here */
	int *dept;                      /* PF_DONE: its route (cfg->depts index), -1 none */
	size_t next;                    /* the thread's cursor */
	size_t consumed;                /* items below are finished by the main thread */
};

static size_t
max_attachment_bytes(const struct s48_config *cfg)
{
	return cfg->imap.max_message_bytes > 0 ? (size_t)cfg->imap.max_message_bytes :
	    (size_t)10485760;
}

static struct mime_message *
parse_item(const struct ingest_item *it, size_t maxatt)
{
	return mime_parse(it->raw != NULL ? it->raw : (const unsigned char *)"", it->raw_len,
	    it->truncated, maxatt);
}

/* the department a new ticket of m goes to (tickets_create routes an
 * email's subject and text the same way), or -1 without a router */
static int
route_item(const struct router *rt, const char *tag, const struct mime_message *m)
{
	struct router_result res;
	int d;

	if (rt == NULL)
		return -1;
	router_route(rt, ingest_email_subject(tag, m), ingest_email_text(m), &res);
	d = (int)res.dept;
	router_result_free(&res);
	return d;
}

static void *
prefetch_main(void *arg)
{
	struct ingest_prefetch *p = arg;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct mime_message *m;
		size_t i;
		int d;

		while (p->next < p->n && (p->items[p->next].channel != INGEST_EMAIL ||
		    p->state[p->next] != PF_QUEUED))
			p->next++;
		if (p->stop || p->next >= p->n)
			break;
		if (p->next >= p->consumed + PREFETCH_AHEAD) {
			p->thread_waits = 1;
			pthread_cond_wait(&p->cv_thread, &p->mu);
			p->thread_waits = 0;
			continue;
		}
		i = p->next++;
		p->state[i] = PF_BUSY;
		pthread_mutex_unlock(&p->mu);
		m = parse_item(&p->items[i], p->maxatt);
		d = route_item(p->rt, p->tag, m);
		pthread_mutex_lock(&p->mu);
		p->msg[i] = m;
		p->dept[i] = d;
		p->state[i] = PF_DONE;
		if (p->main_waits)
			pthread_cond_broadcast(&p->cv_main);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct ingest_prefetch *
ingest_prefetch_start(const struct s48_config *cfg, const struct router *rt,
    const struct ingest_item *items, size_t n)
{
	struct ingest_prefetch *p;
	size_t i, emails = 0;

	for (i = 0; i < n && emails < 2; i++)
		if (items[i].channel == INGEST_EMAIL)
			emails++;
	if (emails < 2)
		return NULL;
	mime_init();
	p = xcalloc(1, sizeof(*p));
	p->items = items;
	p->n = n;
	p->rt = rt;
	p->tag = cfg->ticket_tag;
	p->maxatt = max_attachment_bytes(cfg);
	p->state = xcalloc(n, 1);
	p->msg = xcalloc(n, sizeof(*p->msg));
	p->dept = xcalloc(n, sizeof(*p->dept));
	if (pthread_mutex_init(&p->mu, NULL) != 0)
		goto fail_mu;
	if (pthread_cond_init(&p->cv_main, NULL) != 0)
		goto fail_cv;
	if (pthread_cond_init(&p->cv_thread, NULL) != 0)
		goto fail_cv2;
	if (pthread_create(&p->thread, NULL, prefetch_main, p) != 0) {
		log_debug("ingest: no parse thread, parsing inline");
		goto fail_thread;
	}
	return p;
fail_thread:
	pthread_cond_destroy(&p->cv_thread);
fail_cv2:
	pthread_cond_destroy(&p->cv_main);
fail_cv:
	pthread_mutex_destroy(&p->mu);
fail_mu:
	free(p->state);
	free(p->msg);
	free(p->dept);
	free(p);
	return NULL;
}

struct mime_message *
ingest_prefetch_take(struct ingest_prefetch *p, const struct s48_config *cfg,
    const struct ingest_item *it, size_t idx, int *dept_r)
{
	struct mime_message *m = NULL;

	*dept_r = -1;
	if (p == NULL || idx >= p->n)
		return parse_item(it, max_attachment_bytes(cfg));
	pthread_mutex_lock(&p->mu);
	while (p->state[idx] == PF_BUSY) {
		p->main_waits = 1;
		pthread_cond_wait(&p->cv_main, &p->mu);
		p->main_waits = 0;
	}
	if (p->state[idx] == PF_DONE) {
		m = p->msg[idx];
		p->msg[idx] = NULL;
		*dept_r = p->dept[idx];
	}
	p->state[idx] = PF_GONE;
	pthread_mutex_unlock(&p->mu);
	if (m == NULL)
		m = parse_item(it, p->maxatt);
	return m;
}

void
ingest_prefetch_done(struct ingest_prefetch *p, size_t idx)
{
	struct mime_message *m = NULL;

	if (p == NULL || idx >= p->n)
		return;
	pthread_mutex_lock(&p->mu);
	if (p->state[idx] == PF_DONE) {
		m = p->msg[idx];
		p->msg[idx] = NULL;
		p->state[idx] = PF_GONE;
	} else if (p->state[idx] == PF_QUEUED) {
		p->state[idx] = PF_GONE;
	}
	/* PF_BUSY: the thread is parsing it; _stop frees the result. */
	if (idx + 1 > p->consumed)
		p->consumed = idx + 1;
	if (p->thread_waits && p->next < p->consumed + PREFETCH_RESUME)
		pthread_cond_signal(&p->cv_thread);
	pthread_mutex_unlock(&p->mu);
	mime_message_free(&m);
}

void
ingest_prefetch_stop(struct ingest_prefetch **pp)
{
	struct ingest_prefetch *p = *pp;
	size_t i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_signal(&p->cv_thread);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	for (i = 0; i < p->n; i++)
		mime_message_free(&p->msg[i]);
	pthread_cond_destroy(&p->cv_main);
	pthread_cond_destroy(&p->cv_thread);
	pthread_mutex_destroy(&p->mu);
	free(p->state);
	free(p->msg);
	free(p->dept);
	free(p);
	*pp = NULL;
}
