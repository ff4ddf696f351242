/* source_imap.c - IMAP mailbox -> ingest_batch -> move/\Seen, batch by batch. */
#include "source.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ingest.h"
#include "imap_pump.h"
#include "intake_imap.h"
#include "log.h"
#include "store.h"
#include "util.h"

static void
count(struct source_stats *stats, const struct ingest_item *it, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		switch (it[i].outcome) {
		case INGEST_TICKET: stats->tickets++; break;
		case INGEST_APPEND: stats->appends++; break;
		case INGEST_DUPLICATE: stats->duplicates++; break;
		default: stats->other++; break;
		}
	}
}

static uint32_t
state_u32(struct store *st, const char *key)
{
	char *v = NULL;
	uint32_t r = 0;
	const char *err;

	if (store_state_get(st, key, &v, &err) == 0 && v != NULL)
		r = (uint32_t)strtoul(v, NULL, 10);
	free(v);
	return r;
}

int
source_imap_poll(struct store *st, const struct s48_config *cfg, const struct router *rt,
    struct imap_intake **ii, size_t batch_size, struct source_stats *stats, char **error_r)
{
	const char *mbox = cfg->imap.mailbox, *err = NULL;
	char k_uv[300], k_last[300], v_uv[16], v_last[16], *v_first = NULL;
	/* group commit: batches are committed without an fsync each; the pump
	 * makes the WAL durable before each acknowledgement (store.h) */
	struct ingest_ctx ctx = { st, cfg, rt, 1 };
	struct imap_pump *pump = NULL;
	char *ack_err = NULL;
	int broken = 0, rc = 0;
	uint32_t uv, last_uid, stored_uv;
	int first_run;
	time_t old_before;

	if (*ii == NULL) {
		if (imap_intake_connect(&cfg->imap, ii, &err) < 0) {
			*error_r = xstrdup(err);
			return -1;
		}
	}
	snprintf(k_uv, sizeof(k_uv), "imap.%s.uidvalidity", mbox);
	snprintf(k_last, sizeof(k_last), "imap.%s.last_uid", mbox);
	uv = imap_intake_uidvalidity(*ii);
	stored_uv = state_u32(st, k_uv);
	last_uid = state_u32(st, k_last);
	if (stored_uv != 0 && stored_uv != uv) {
		/* isync's rule: a new UIDVALIDITY voids every UID we knew; rescan and
		 * let the alt key (hash of the raw message) recognise what we have. */
		log_warnx("imap: %s: UIDVALIDITY changed %" PRIu32 " -> %" PRIu32
		    ": rescanning, known messages are recognised by content", mbox, stored_uv, uv);
		last_uid = 0;
	}
	if (store_state_get(st, "imap.first_run_done", &v_first, &err) < 0) {
		*error_r = xstrdup(err);
		return -1;
	}
	first_run = v_first == NULL;
	free(v_first);
	old_before = store_now() - (time_t)cfg->imap.ack_max_age_days * 86400;

	if (imap_pump_start(*ii, &cfg->imap, cfg->database,
	    cfg->imap.processed_mailbox ? 0 : last_uid, batch_size, &pump, error_r) < 0)
		return -1;
	for (;;) {
		struct imap_msg *msgs = NULL;
		struct ingest_item *items;
		char **keys;
		uint32_t *uids, max_uid = last_uid;
		size_t n = 0, i, bytes = 0;
		const char *skeys[3], *svals[3];
		int r;

		r = imap_pump_next(pump, &msgs, &n, error_r);
		if (r < 0) {
			rc = -1;
			broken = 1;
		}
		if (r <= 0)
			break;
		items = xcalloc(n, sizeof(*items));
		keys = xcalloc(2 * n, sizeof(*keys));
		uids = xcalloc(n, sizeof(*uids));
		for (i = 0; i < n; i++) {
			char sha[65];

			util_sha256_hex(msgs[i].raw, msgs[i].len, sha);
			keys[2 * i] = xasprintf("imap:%s:%" PRIu32 ":%" PRIu32, mbox, uv, msgs[i].uid);
			keys[2 * i + 1] = xasprintf("sha256:%s", sha);
			items[i].channel = INGEST_EMAIL;
			items[i].source_key = keys[2 * i];
			items[i].alt_key = keys[2 * i + 1];
			items[i].raw = msgs[i].raw;
			items[i].raw_len = msgs[i].len;
			items[i].truncated = msgs[i].truncated;
			items[i].full_size = msgs[i].full_size;
			items[i].received_at = msgs[i].internaldate;
			items[i].backlog = first_run && msgs[i].internaldate != 0 &&
			    msgs[i].internaldate < old_before;
			uids[i] = msgs[i].uid;
			bytes += msgs[i].len;
			if (msgs[i].uid > max_uid)
				max_uid = msgs[i].uid;
		}
		snprintf(v_uv, sizeof(v_uv), "%" PRIu32, uv);
		snprintf(v_last, sizeof(v_last), "%" PRIu32, max_uid);
		skeys[0] = k_uv; svals[0] = v_uv;
		skeys[1] = k_last; svals[1] = v_last;
		r = ingest_batch(&ctx, items, n, skeys, svals, 2, &err);
		if (r == 0) {
			count(stats, items, n);
			stats->fetched += n;
			last_uid = max_uid;
			/* Test knob: die between the commit and the acknowledgement,
			 * the window where a crash must leave no duplicate behind. */
			if (getenv("S48_TEST_EXIT_BEFORE_ACK") != NULL)
				_exit(99);
			/* Acknowledge only what is committed, with one command for
			 * the set (on the pump's thread, while the next batch is
			 * ingested). */
			imap_pump_ack(pump, uids, n, bytes);
		} else {
			*error_r = xasprintf("imap: batch of %zu not stored: %s", n, err);
			imap_pump_drop(pump, bytes);
		}
		for (i = 0; i < 2 * n; i++)
			free(keys[i]);
		free(keys);
		free(items);
		free(uids);
		imap_intake_free_msgs(&msgs, n);
		if (r < 0) {
			rc = -1;
			break;
		}
	}
	/* the last acknowledgements go out before the poll returns */
	/* (an error already in *error_r is the one reported) */
	if (imap_pump_finish(&pump, rc == 0 ? error_r : &ack_err) < 0) {
		rc = -1;
		broken = 1;
	}
	free(ack_err);
	if (broken)
		imap_intake_close(ii);
	if (rc < 0)
		return -1;
	if (first_run && !s48_stop_requested) {
		if (store_state_set(st, "imap.first_run_done", "1", &err) < 0) {
			*error_r = xstrdup(err);
			return -1;
		}
	}
	return 0;
}
