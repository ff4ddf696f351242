/* source_sms.c - SMS gateway -> ingest_batch (cursor in the same transaction) -> ack. */
#include "source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ingest.h"
#include "log.h"
#include "sms_gateway.h"
#include "store.h"
#include "util.h"

#define RECONCILE_WINDOW (48 * 3600)

/* Ingest msgs; cursor (may be NULL) stored with them.  0 or -1. */
static int
ingest_sms(struct store *st, const struct s48_config *cfg, const struct router *rt,
    struct sms_gateway *gw, struct sms_in *msgs, size_t n, const char *cursor, int first_run,
    struct source_stats *stats, char **error_r)
{
	struct ingest_ctx ctx = { st, cfg, rt, 0 };
	struct ingest_item *items = xcalloc(n ? n : 1, sizeof(*items));
	char **keys = xcalloc(n ? n : 1, sizeof(*keys));
	const char *skeys[2], *svals[2], *err = NULL;
	time_t old_before = store_now() - (time_t)cfg->sms.first_run_days * 86400;
	size_t i, ns = 0;
	int r;

	for (i = 0; i < n; i++) {
		keys[i] = xasprintf("sms:%s:%s", sms_gateway_profile(gw), msgs[i].id);
		items[i].channel = INGEST_SMS;
		items[i].source_key = keys[i];
		items[i].raw = (const unsigned char *)msgs[i].raw;
		items[i].raw_len = msgs[i].raw_len;
		items[i].received_at = msgs[i].received_at;
		items[i].record_only = first_run && msgs[i].received_at != 0 &&
		    msgs[i].received_at < old_before;
		items[i].sms_from = msgs[i].from;
		items[i].sms_text = msgs[i].text;
	}
	if (cursor != NULL) {
		skeys[ns] = "sms.cursor";
		svals[ns++] = cursor;
	}
	r = ingest_batch(&ctx, items, n, skeys, svals, ns, &err);
	if (r == 0) {
		stats->fetched += n;
		source_stats_count(stats, items, n);
	} else {
		*error_r = xasprintf("sms: batch of %zu not stored: %s", n, err);
	}
	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	free(items);
	return r;
}

/*
 * A batch handed out by the gateway was not stored.  Twilio and generic
 * hand it out again (their cursor did not move, nothing was acknowledged);
 * Infobip's pull is destructive: its log must be read again, also after a
 * restart (the same wish the daemon keeps for a failed pull).  The
 * database failed just now, so writing "sms.reconcile" may fail too: the
 * gateway keeps the wish meanwhile.
 */
static void
not_stored(struct store *st, struct sms_gateway *gw)
{
	const char *err = NULL;

	sms_gateway_not_stored(gw);
	if (sms_gateway_reconcile_wanted(gw) &&
	    store_state_set(st, "sms.reconcile", "1", &err) < 0)
		log_warnx("sms: cannot note the reconciliation for after a restart: %s", err);
}

int
source_sms_poll(struct store *st, const struct s48_config *cfg, const struct router *rt,
    struct sms_gateway *gw, int *reconcile_pending_r, struct source_stats *stats,
    char **error_r)
{
	char *cursor = NULL, *v = NULL;
	const char *err = NULL;
	int first_run, reconcile, rc = -1;

	if (store_state_get(st, "sms.first_run_done", &v, &err) < 0) {
		*error_r = xstrdup(err);
		return -1;
	}
	first_run = v == NULL;
	free(v);
	if (store_state_get(st, "sms.cursor", &cursor, &err) < 0) {
		*error_r = xstrdup(err);
		return -1;
	}
	*reconcile_pending_r = 0;
	if (store_state_get(st, "sms.reconcile", &v, &err) < 0) {
		*error_r = xstrdup(err);
		goto out;
	}
	reconcile = v != NULL;
	free(v);

	if (reconcile || sms_gateway_reconcile_wanted(gw)) {
		struct sms_in *msgs = NULL;
		size_t n = 0;

		if (sms_gateway_reconcile(gw, store_now() - RECONCILE_WINDOW, &msgs, &n, &err) < 0) {
			/* Pull anyway: new reports must not wait for the log endpoint. */
			log_warnx("sms: reconciliation failed, will retry next poll: %s", err);
			*reconcile_pending_r = 1;
			if (!reconcile && store_state_set(st, "sms.reconcile", "1", &err) < 0) {
				*error_r = xstrdup(err);
				goto out;
			}
		} else {
			size_t before = stats->known;

			if (n > 0 && ingest_sms(st, cfg, rt, gw, msgs, n, NULL, first_run, stats,
			    error_r) < 0) {
				sms_in_free(&msgs, n);
				not_stored(st, gw);
				goto out;
			}
			log_info("sms: reconciliation: %zu in the gateway's log, %zu recovered", n,
			    n - (stats->known - before));
			if (store_state_del(st, "sms.reconcile", &err) < 0) {
				sms_in_free(&msgs, n);
				*error_r = xstrdup(err);
				goto out;
			}
		}
		sms_in_free(&msgs, n);
	}

	while (!s48_stop_requested) {
		struct sms_in *msgs = NULL;
		char *next = NULL;
		size_t n = 0;
		int more = 0, r;

		if (sms_gateway_pull(gw, cursor, &msgs, &n, &next, &more, &err) < 0) {
			*error_r = xasprintf("sms: %s", err);
			goto out;
		}
		r = ingest_sms(st, cfg, rt, gw, msgs, n, next, first_run, stats, error_r);
		if (r == 0 && n > 0 && sms_gateway_ack(gw, msgs, n, &err) < 0)
			log_warnx("sms: acknowledging %zu messages: %s (they will come again and "
			    "are recognised)", n, err);
		sms_in_free(&msgs, n);
		if (r < 0) {
			free(next);
			not_stored(st, gw);
			goto out;
		}
		if (next != NULL) {
			free(cursor);
			cursor = next;
		}
		if (!more)
			break;
	}
	if (first_run && !s48_stop_requested &&
	    store_state_set(st, "sms.first_run_done", "1", &err) < 0) {
		*error_r = xstrdup(err);
		goto out;
	}
	rc = 0;
out:
	free(cursor);
	return rc;
}
