/*
 * outbox_queue.c - inserting outbox rows: Message-ID, and the decisions
 * taken at queue time (STOP, a number that cannot take SMS, the daily cap of
 * automatic replies, a channel that is not configured).
 */
#include "outbox_queue.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <sqlite3.h>

#include "config.h"
#include "phone.h"
#include "sla.h"
#include "store.h"
#include "util.h"

static const char *const outbox_status_names[] = {
	"pending", "sending", "sent", "failed", "suppressed"
};

const char *
outbox_status_name(enum outbox_status s)
{
	if ((unsigned)s >= sizeof(outbox_status_names) / sizeof(outbox_status_names[0]))
		return "?";
	return outbox_status_names[s];
}

/*
 * Message-IDs: 64 random bits drawn once per process, a per-process counter
 * and the time, so ids are unique and unguessable without a system call for
 * each outbox row.
 */
void
outbox_new_message_id(const struct s48_config *cfg, char *out, size_t outsz)
{
	static uint64_t seed, counter;
	const char *dom = NULL;

	if (seed == 0) {
		if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
			seed = ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL) ^
			    (uint64_t)(uintptr_t)&seed;
		seed |= 1;
	}
	counter++;
	if (cfg && cfg->smtp.from_addr)
		dom = strrchr(cfg->smtp.from_addr, '@');
	dom = (dom && dom[1]) ? dom + 1 : "localhost";
	snprintf(out, outsz, "s48.%016llx.%llx.%llx@%s", (unsigned long long)seed,
	    (unsigned long long)util_now(), (unsigned long long)counter, dom);
}

/* 1 if number has sent STOP (and not START since). */
static int
outbox_opted_out(struct store *st, const char *number)
{
	sqlite3_stmt *s = store_prepare(st, "SELECT 1 FROM sms_optout WHERE number = ?1");
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, number, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Non-suppressed automatic rows to recipient since local midnight of now. */
static long
outbox_auto_today(struct store *st, const char *recipient, time_t now)
{
	sqlite3_stmt *s = store_prepare(st,
	    "SELECT count(*) FROM outbox WHERE recipient = ?1 AND created_at >= ?2 "
	    "AND auto = 1 AND status <> 'suppressed'");
	char day[16];
	time_t start, next;
	long n = -1;

	if (s == NULL)
		return -1;
	sla_local_date(now, day, sizeof(day));
	if (sla_local_day(day, &start, &next) < 0)
		start = now - now % 86400;
	sqlite3_bind_text(s, 1, recipient, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)start);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return n;
}

int
outbox_queue(struct store *st, const struct s48_config *cfg, const struct outbox_msg *m,
    int64_t *id_r, enum outbox_status *status_r, const char **error_r)
{
	enum outbox_status status = OUTBOX_PENDING;
	const char *reason = NULL;
	char msgid[128];
	time_t now = store_now();
	sqlite3_stmt *s;
	int is_sms, rc;

	if (m->channel == NULL || m->recipient == NULL || m->recipient[0] == '\0' ||
	    m->kind == NULL) {
		if (error_r)
			*error_r = "outbox: channel, recipient and kind are required";
		return -1;
	}
	if (strcmp(m->channel, "sms") == 0)
		is_sms = 1;
	else if (strcmp(m->channel, "email") == 0)
		is_sms = 0;
	else {
		if (error_r)
			*error_r = "outbox: channel must be sms or email";
		return -1;
	}

	if (is_sms ? !cfg->sms.enabled : !cfg->smtp.enabled) {
		status = OUTBOX_FAILED;
		reason = "channel not configured";
	} else if (is_sms) {
		char e164[32];
		enum phone_kind k = phone_normalize(m->recipient, cfg->sms.country_code,
		    e164, sizeof(e164));
		int out;

		if (strcmp(m->kind, "stop_confirm") != 0 && strcmp(m->kind, "start_confirm") != 0) {
			out = outbox_opted_out(st, m->recipient);
			if (out < 0)
				goto fail_db;
			if (out) {
				status = OUTBOX_SUPPRESSED;
				reason = "STOP";
			}
		}
		if (status == OUTBOX_PENDING && k != PHONE_MOBILE) {
			status = OUTBOX_SUPPRESSED;
			reason = "number cannot take SMS";
		}
	}
	if (status == OUTBOX_PENDING && m->is_auto && cfg->auto_replies_per_day >= 0) {
		long n = outbox_auto_today(st, m->recipient, now);

		if (n < 0)
			goto fail_db;
		if (n >= cfg->auto_replies_per_day) {
			status = OUTBOX_SUPPRESSED;
			reason = "daily cap";
		}
	}

	if (m->message_id && m->message_id[0])
		util_strlcpy(msgid, m->message_id, sizeof(msgid));
	else
		outbox_new_message_id(cfg, msgid, sizeof(msgid));
	s = store_prepare(st,
	    "INSERT INTO outbox(ticket_id, channel, recipient, kind, subject, body, in_reply_to, "
	    "references_hdr, message_id, tag_token, with_attachments, auto, status, attempts, "
	    "next_at, reason, created_at, updated_at) "
	    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 0, ?14, ?15, ?14, ?14)");
	if (s == NULL)
		goto fail_db;
	if (m->ticket_id > 0)
		sqlite3_bind_int64(s, 1, m->ticket_id);
	sqlite3_bind_text(s, 2, is_sms ? "sms" : "email", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, m->recipient, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, m->kind, -1, SQLITE_STATIC);
	if (m->subject && !is_sms)
		sqlite3_bind_text(s, 5, m->subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, m->body ? m->body : "", -1, SQLITE_STATIC);
	if (m->in_reply_to && m->in_reply_to[0])
		sqlite3_bind_text(s, 7, m->in_reply_to, -1, SQLITE_STATIC);
	if (m->references && m->references[0])
		sqlite3_bind_text(s, 8, m->references, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 9, msgid, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 10, m->tag_token != 0);
	sqlite3_bind_int(s, 11, m->with_attachments != 0);
	sqlite3_bind_int(s, 12, m->is_auto != 0);
	sqlite3_bind_text(s, 13, outbox_status_name(status), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 14, (sqlite3_int64)now);
	if (reason)
		sqlite3_bind_text(s, 15, reason, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		goto fail_db;
	if (id_r)
		*id_r = store_last_id(st);
	if (status_r)
		*status_r = status;
	if (reason)
		log_debug("outbox: %s %s row for ticket %ld: %s %s", m->kind, m->channel,
		    m->ticket_id, outbox_status_name(status), reason);
	return 0;
fail_db:
	if (error_r)
		*error_r = store_errmsg(st);
	return -1;
}
