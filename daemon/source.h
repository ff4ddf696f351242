/*
 * source.h - the daemon's two sources: IMAP mail and the SMS gateway, each
 * drained batch by batch into ingest_batch() and acknowledged only after the
 * batch is committed (SPEC section 3; the architecture in README.md).
 *
 * Source keys: "imap:MAILBOX:UIDVALIDITY:UID" (alt key "sha256:<raw>", so a
 * message seen again after a UIDVALIDITY change is recognised), and
 * "sms:PROFILE:ID".  State in source_state: "imap.MAILBOX.uidvalidity",
 * "imap.MAILBOX.last_uid", "imap.MAILBOX.seen" (\Seen mode:
 * "UIDVALIDITY:UID" up to which the \Seen commands went out; the next poll
 * marks the rest of what was committed), "imap.first_run_done", "sms.cursor",
 * "sms.first_run_done", "sms.reconcile" (read the gateway's log first).
 */
#ifndef S48_SOURCE_H
#define S48_SOURCE_H

#include <stddef.h>

struct store;
struct s48_config;
struct router;
struct imap_intake;
struct sms_gateway;
struct ingest_item;

struct source_stats {
	size_t fetched, tickets, appends, duplicates, other;
	size_t known;   /* of the duplicates, those whose source key was already
	                 * recorded (a 10-minute repeat of an SMS is recorded) */
};

/* Add the outcomes of n ingested items to stats (both sources; in
 * source_imap.c). */
void source_stats_count(struct source_stats *stats, const struct ingest_item *it, size_t n);

/*
 * Drain the mailbox: fetch batches of batch_size, ingest, acknowledge, until
 * it is empty or s48_stop_requested.  *ii is connected when NULL and kept
 * open; on an IMAP error it is closed (set NULL) and -1 returned with
 * *error_r (the next call reconnects).  A storage error also returns -1.
 */
int source_imap_poll(struct store *st, const struct s48_config *cfg, const struct router *rt,
    struct imap_intake **ii, size_t batch_size, struct source_stats *stats, char **error_r);

/*
 * Drain the gateway: pull, ingest with the cursor in the same transaction,
 * acknowledge, while it says more is waiting.  First, when source_state
 * "sms.reconcile" is set (s48d sets it after an unclean stop) or the gateway
 * asks for it, record what the gateway's non-destructive log holds for the
 * last 48 hours; the key is removed once that worked.  A failing log
 * endpoint is logged and the pull goes on; *reconcile_pending_r = 1 then
 * (the reconciliation is tried again next poll, also after a restart).
 * Returns 0, or -1 with *error_r (caller frees).
 */
int source_sms_poll(struct store *st, const struct s48_config *cfg, const struct router *rt,
    struct sms_gateway *gw, int *reconcile_pending_r, struct source_stats *stats,
    char **error_r);

#endif
