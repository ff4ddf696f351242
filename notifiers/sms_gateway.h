/*
 * sms_gateway.h - one interface to the SMS gateways of SPEC section 7.
 *
 * cfg_sms.profile chooses the implementation: gateway_infobip.c,
 * gateway_twilio.c, gateway_generic.c (shared code in sms_gateway.c).
 * A new profile is one new file and one table entry in sms_gateway.c.
 *
 * Pull cycle (the daemon's SMS intake):
 *     pull(cursor) -> ingest_batch(messages, cursor_r stored in the SAME
 *     transaction) -> commit -> ack(messages) -> pull(cursor_r) again
 *     while more_r.
 * Each message's source key is "sms:<profile>:<id>"; the id is stable, so
 * a message handed out twice (twilio re-listing, a generic gateway
 * without ack, reconciliation) is a DUPLICATE for ingestion, never a
 * second ticket.
 *
 * Errors: functions returning int give 0 or -1 with *error_r, a message
 * owned by gw and valid until the next call on gw.  No key, token or
 * citizen number is ever part of an error message.
 *
 * Numbers: sms_in.from is kept exactly as the gateway sent it (Infobip
 * sends "381641234567" without '+'); ingestion normalises it with
 * phone_normalize(cfg->country_code), which accepts that form.
 *
 * Profiles:
 *  infobip  GET {base_url}/sms/1/inbox/reports?limit={batch}, header
 *           "Authorization: App {key}".  Destructive: each message is
 *           handed out once, so a lost answer (timeout after the gateway
 *           dequeued) can only be recovered by sms_gateway_reconcile();
 *           sms_gateway_reconcile_wanted() says when that may have
 *           happened.  more_r = pendingMessageCount > 0.  No cursor
 *           (*cursor_r = NULL).  Send: POST {base_url}/sms/2/text/advanced.
 *  twilio   GET {base_url}/2010-04-01/Accounts/{account}/Messages.json
 *           ?To={number}&PageSize={batch}, HTTP Basic account:key.  Not
 *           destructive, newest first.  The cursor is a JSON text holding
 *           the high-water mark {"t": newest date_created, "sids": [sids
 *           at that second]} and, while a poll pages backwards, the next
 *           page and the mark the poll will set when it is done, so every
 *           page is one pull committed with its cursor and a crash resumes
 *           at the page after the last one committed (a stored page
 *           the gateway refuses with 400/404/410, e.g. an expired
 *           PageToken, is replaced by the top of the list, once per
 *           poll).  Only direction "inbound" is returned.  Send: form POST To/From/Body (201).
 *  generic  cfg->generic, for Kannel, Android gateway apps and in-house
 *           gateways.  GET pull_url with {cursor} replaced by the last
 *           cursor (URL-encoded, "" the first time); header auth_header
 *           with {key} replaced.  Messages are the array at messages_path
 *           (null: none; missing: an error, likely a wrong path); in each, id_path/from_path/text_path/time_path (time: ISO 8601
 *           or Unix seconds/milliseconds; a missing id is replaced by
 *           "sha256:<hash of the message's JSON>").  cursor_path (at the
 *           answer's root) gives the next cursor; more_r = a non-empty
 *           batch came with a new cursor.  ack_url: POST {"ids": [...]}
 *           after the batch is committed; without cursor_path, more_r = a
 *           non-empty batch unless the last ack failed or the batch is the
 *           same as the one before (a gateway that does not forget).  Send: POST send_url with send_body,
 *           {to} and {text} replaced by JSON strings; any 2xx is OK.
 *
 *   Worked example, an Android SMS gateway app on the office phone that
 *   serves GET /inbox?after=N -> {"messages": [{"id": 17, "phone":
 *   "+381641234567", "message": "Pukla cev", "date": 1764064800000}],
 *   "last": 17} and POST /send {"phone": ..., "message": ...}:
 *       generic = {
 *         pull_url = "http://10.0.0.5:8080/inbox?after={cursor}";
 *         auth_header = "Authorization: Bearer {key}";
 *         messages_path = "messages"; id_path = "id"; from_path = "phone";
 *         text_path = "message"; time_path = "date"; cursor_path = "last";
 *         ack_url = "";
 *         send_url = "http://10.0.0.5:8080/send";
 *         send_body = "{\"phone\": {to}, \"message\": {text}}";
 *       };
 *   A Kannel-style gateway without a cursor that deletes what is acked:
 *   cursor_path = ""; ack_url = "http://gw/ack" (POST {"ids": [...]}).
 */
#ifndef S48_SMS_GATEWAY_H
#define S48_SMS_GATEWAY_H

#include <stddef.h>
#include <time.h>

#include "config.h"
#include "notifier_smtp.h"      /* enum notify_result */

struct sms_in {
	char *id;              /* the gateway's message id (never NULL) */
	char *from;            /* sender as sent by the gateway (never NULL, may be "") */
	char *text;            /* UTF-8 (repaired: invalid bytes are U+FFFD), never NULL */
	time_t received_at;    /* the gateway's time; 0 when unknown */
	char *raw;             /* the message's own JSON object (compact), the raw message */
	size_t raw_len;
};

struct sms_gateway;            /* opaque: cfg (borrowed) + HTTP client */

/*
 * A gateway for cfg (borrowed: must outlive the gateway; api_key must be
 * loaded).  Returns NULL with *error_r (static text) for an unknown
 * profile or missing required settings.
 */
struct sms_gateway *sms_gateway_new(const struct cfg_sms *cfg, const char **error_r);
void sms_gateway_free(struct sms_gateway **gw);
/* cfg->profile, for source keys ("sms:" + name + ":" + id). */
const char *sms_gateway_profile(const struct sms_gateway *gw);

/*
 * Pull one batch.  cursor: the profile's saved state (NULL on the first
 * run); *cursor_r: the state to store with this batch, in the same
 * transaction (caller frees; NULL: nothing to store).  *msgs_r / *n_r:
 * the messages (free with sms_in_free; may be 0 messages).  *more_r = 1
 * when the gateway says more is waiting: pull again after committing.
 * On the first run every message is returned, however old: the caller
 * compares received_at with first_run_days and only records old ones.
 * Returns 0, or -1 with *error_r and nothing to free (retry next poll).
 */
int sms_gateway_pull(struct sms_gateway *gw, const char *cursor, struct sms_in **msgs_r,
    size_t *n_r, char **cursor_r, int *more_r, const char **error_r);

/* After the caller committed the batch: generic with ack_url POSTs
 * {"ids": [...]}; the others do nothing.  0, or -1 with *error_r (the
 * messages come again and are duplicates then). */
int sms_gateway_ack(struct sms_gateway *gw, const struct sms_in *msgs, size_t n,
    const char **error_r);

/*
 * Infobip: GET {base_url}/sms/1/inbox/logs?receivedSince=<since>, the
 * non-destructive log, to record what a crash or a lost answer may have
 * lost.  Other profiles return 0 with *n_r = 0 (nothing is lost there).
 */
int sms_gateway_reconcile(struct sms_gateway *gw, time_t since, struct sms_in **msgs_r,
    size_t *n_r, const char **error_r);

/* 1 when the last pull failed after its request may have reached a
 * destructive gateway (infobip): call sms_gateway_reconcile() then. */
int sms_gateway_reconcile_wanted(const struct sms_gateway *gw);

/* The caller could not store what the last pull or reconciliation handed
 * out (a failed transaction): a destructive gateway (infobip) will not hand
 * it out again, so sms_gateway_reconcile_wanted() becomes 1 there; the
 * other profiles hand it out again by themselves (generic in ack mode then
 * does not take that batch for a gateway that ignores acks: more_r 1). */
void sms_gateway_not_stored(struct sms_gateway *gw);

/*
 * Send one SMS (text already prepared: GSM-7 / segments) from cfg->number
 * to "to" (E.164).  Returns an enum notify_result; *reason_r is always set
 * (caller frees): the gateway's message id on NOTIFY_OK, otherwise why.
 * HTTP 4xx other than 408/429 -> PERMFAIL; 5xx, 408, 429, timeouts,
 * connection and TLS errors, unreadable answers -> TEMPFAIL; infobip
 * REJECTED/UNDELIVERABLE -> PERMFAIL.  *stopped_r (may be NULL) = 1 when
 * the gateway says the number opted out (twilio error 21610, PERMFAIL).
 */
int sms_gateway_send(struct sms_gateway *gw, const char *to, const char *text,
    char **reason_r, int *stopped_r);

/* Free n messages and the array; sets *msgs = NULL. */
void sms_in_free(struct sms_in **msgs, size_t n);

#endif
