/* source_imap.c - IMAP mailbox -> ingest_batch -> move/\Seen, batch by batch.
 *
 * In \Seen mode the UID cursor ("imap.MAILBOX.last_uid") is committed with
 * each batch, so mail committed but not yet marked when s48d was killed is
 * never fetched again: "imap.MAILBOX.seen" ("UIDVALIDITY:UID") says up to
 * where a poll completed its \Seen commands, and the next poll marks the
 * UIDs between it and the cursor first (a clerk would otherwise see
 * recorded mail as unread for ever and may report it again by hand). */
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

void
source_stats_count(struct source_stats *stats, const struct ingest_item *it, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		switch (it[i].outcome) {
		case INGEST_TICKET: stats->tickets++; break;
		case INGEST_APPEND: stats->appends++; break;
		case INGEST_DUPLICATE:
			stats->duplicates++;
			stats->known += it[i].ticket_id == 0;
			break;
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

/* "imap.MAILBOX.seen" = "UIDVALIDITY:UID" into *uv_r, *uid_r (0, 0 when not
 * set or unreadable).  0, or -1 with *error_r (caller frees). */
static int
seen_get(struct store *st, const char *key, uint32_t *uv_r, uint32_t *uid_r, char **error_r)
{
	char *v = NULL;
	const char *err;
	unsigned long uv, uid;

	*uv_r = *uid_r = 0;
	if (store_state_get(st, key, &v, &err) < 0) {
		*error_r = xstrdup(err);
		return -1;
	}
	if (v != NULL && sscanf(v, "%lu:%lu", &uv, &uid) == 2 && uv <= UINT32_MAX &&
	    uid <= UINT32_MAX) {
		*uv_r = (uint32_t)uv;
		*uid_r = (uint32_t)uid;
	}
	free(v);
	return 0;
}

int
source_imap_poll(struct store *st, const struct s48_config *cfg, const struct router *rt,
    struct imap_intake **ii, size_t batch_size, struct source_stats *stats, char **error_r)
{
	const char *mbox = cfg->imap.mailbox, *err = NULL;
	char k_uv[300], k_last[300], k_seen[300], v_uv[16], v_last[16], v_seen[32];
	char *v_first = NULL;
	/* group commit: batches are committed without an fsync each; the pump
	 * makes the WAL durable before each acknowledgement (store.h) */
	struct ingest_ctx ctx = { st, cfg, rt, 1 };
	struct imap_pump *pump = NULL;
	char *ack_err = NULL;
	int broken = 0, rc = 0;
	uint32_t uv, last_uid, stored_uv, seen_uv = 0, seen_uid = 0;
	int seen_mode = cfg->imap.processed_mailbox == NULL;
	int first_run;
	time_t old_before;
	size_t fetched_before;

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
	fetched_before = stats->fetched;
	if (store_state_get(st, "imap.first_run_done", &v_first, &err) < 0) {
		*error_r = xstrdup(err);
		return -1;
	}
	first_run = v_first == NULL;
	free(v_first);
	snprintf(k_seen, sizeof(k_seen), "imap.%s.seen", mbox);
	if (seen_mode) {
		if (seen_get(st, k_seen, &seen_uv, &seen_uid, error_r) < 0)
			return -1;
		/* the key is written with the first batch of a UIDVALIDITY
		 * (the cursor before it) and after each complete poll */
		if (seen_uv == uv && stored_uv == uv && seen_uid < last_uid) {
			if (imap_intake_seen_range(*ii, seen_uid + 1, last_uid, &err) < 0) {
				*error_r = xasprintf("imap: %s", err);
				imap_intake_close(ii);
				return -1;
			}
			log_info("imap: %s: \\Seen set on UIDs %" PRIu32 ":%" PRIu32
			    ", recorded before an interrupted poll", mbox, seen_uid + 1, last_uid);
		}
	}
	old_before = store_now() - (time_t)cfg->imap.ack_max_age_days * 86400;

	if (imap_pump_start(*ii, &cfg->imap, cfg->database,
	    cfg->imap.processed_mailbox ? 0 : last_uid, batch_size, &pump, error_r) < 0)
		return -1;
	for (;;) {
		struct imap_msg *msgs = NULL;
		struct ingest_item *items;
		char **keys;
		uint32_t *uids, max_uid = last_uid;
		size_t n = 0, i, bytes = 0, ns;
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
		ns = 2;
		if (seen_mode && seen_uv != uv) {
			/* the first batch of this UIDVALIDITY: what came before
			 * it (last_uid) is taken as marked */
			snprintf(v_seen, sizeof(v_seen), "%" PRIu32 ":%" PRIu32, uv, last_uid);
			skeys[ns] = k_seen; svals[ns++] = v_seen;
		}
		r = ingest_batch(&ctx, items, n, skeys, svals, ns, &err);
		if (r == 0 && ns > 2) {
			seen_uv = uv;
			seen_uid = last_uid;
		}
		if (r == 0) {
			source_stats_count(stats, items, n);
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
	/* whatever this poll committed is on disk before the loop goes on
	 * (its outbox pass may tell citizens their ticket numbers), also when
	 * an acknowledgement failed and did not sync */
	if (stats->fetched > fetched_before && store_wal_sync(cfg->database, &err) < 0) {
		if (rc == 0)
			*error_r = xasprintf("store: %s", err);
		rc = -1;
	}
	if (rc < 0)
		return -1;
	/* every committed UID up to last_uid has had its \Seen command */
	if (seen_mode && last_uid > 0 && (seen_uv != uv || seen_uid != last_uid)) {
		snprintf(v_seen, sizeof(v_seen), "%" PRIu32 ":%" PRIu32, uv, last_uid);
		if (store_state_set(st, k_seen, v_seen, &err) < 0) {
			*error_r = xstrdup(err);
			return -1;
		}
	}
	if (first_run && !s48_stop_requested) {
		if (store_state_set(st, "imap.first_run_done", "1", &err) < 0) {
			*error_r = xstrdup(err);
			return -1;
		}
	}
	return 0;
}
