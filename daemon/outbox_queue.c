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

/* Lower-case hex of v into p (width digits, zero-padded; 0 = as many as
 * needed); returns the end. */
static char *
outbox_hex(char *p, unsigned long long v, int width)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[16];
	int n = 0;

	do {
		tmp[n++] = digits[v & 15];
		v >>= 4;
	} while (v != 0 && n < 16);
	while (n < width)
		tmp[n++] = '0';
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

/*
 * Message-IDs: 64 random bits drawn once per process, a per-process counter
 * and the time, so ids are unique and unguessable without a system call for
 * each outbox row.  Formatted by hand: one per outbox row, and snprintf was
 * a few thousand instructions of each.
 */
void
outbox_new_message_id_at(const struct s48_config *cfg, time_t now, char *out, size_t outsz)
{
	static uint64_t seed, counter;
	static char seed_hex[17];
	const char *dom = NULL;
	char tmp[64], *p = tmp;
	size_t n, dl;

	if (outsz == 0)
		return;
	if (seed == 0) {
		if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
			seed = ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL) ^
			    (uint64_t)(uintptr_t)&seed;
		seed |= 1;
		*outbox_hex(seed_hex, (unsigned long long)seed, 16) = '\0';
	}
	counter++;
	if (cfg && cfg->smtp.from_addr)
		dom = strrchr(cfg->smtp.from_addr, '@');
	dom = (dom && dom[1]) ? dom + 1 : "localhost";
	/* "s48.<seed>.<time>.<counter>@" fits tmp: 4 + 16 + 1 + 16 + 1 + 16 + 1 */
	memcpy(p, "s48.", 4);
	memcpy(p + 4, seed_hex, 16);
	p += 20;
	*p++ = '.';
	p = outbox_hex(p, (unsigned long long)now, 0);
	*p++ = '.';
	p = outbox_hex(p, (unsigned long long)counter, 0);
	*p++ = '@';
	n = (size_t)(p - tmp);
	if (n > outsz - 1)
		n = outsz - 1;
	memcpy(out, tmp, n);
	dl = strlen(dom);
	if (dl > outsz - 1 - n)
		dl = outsz - 1 - n;
	memcpy(out + n, dom, dl);
	out[n + dl] = '\0';
}

void
outbox_new_message_id(const struct s48_config *cfg, char *out, size_t outsz)
{
	outbox_new_message_id_at(cfg, util_now(), out, outsz);
}

/* The daily cap counts these rows (the partial index outbox_auto has the
 * same WHERE, and is keyed by the UTC day of created_at first): one exact
 * look-up per UTC day of the local day so far, ?3 that of local midnight
 * (?2) and ?4 that of now (most local days span two UTC days; ?4 = ?3
 * counts nothing twice: the second look-up is then for no day).  A row
 * dated after now by a clock stepped back is not counted. */
#define OUTBOX_CAP_DAY(d) "(SELECT count(*) FROM outbox WHERE created_at / 86400 = " d " " \
	"AND recipient = ?1 AND created_at >= ?2 AND auto = 1 AND status <> 'suppressed')"
#define OUTBOX_CAP_COUNT OUTBOX_CAP_DAY("?3") " + " OUTBOX_CAP_DAY("nullif(?4, ?3)")

/*
 * The look-ups a row may need, in one statement: whether number sent STOP
 * (and not START since), and how many non-suppressed automatic rows went to
 * the recipient since local midnight of now.  optout / cap select which;
 * 0 or -1.
 */
static int
outbox_lookups(struct store *st, const char *recipient, int optout, int cap, time_t now,
    int *opted_r, long *count_r)
{
	sqlite3_stmt *s;
	time_t start = 0, next;
	int rc, col = 0;

	*opted_r = 0;
	*count_r = 0;
	if (!optout && !cap)
		return 0;
	if (optout && cap)
		s = store_prepare(st, "SELECT EXISTS(SELECT 1 FROM sms_optout WHERE number = ?1), ("
		    OUTBOX_CAP_COUNT ")");
	else if (optout)
		s = store_prepare(st, "SELECT EXISTS(SELECT 1 FROM sms_optout WHERE number = ?1)");
	else
		s = store_prepare(st, "SELECT " OUTBOX_CAP_COUNT);
	if (s == NULL)
		return -1;
	if (cap) {
		char day[16];

		sla_local_date(now, day, sizeof(day));
		if (sla_local_day(day, &start, &next) < 0)
			start = now - now % 86400;
		sqlite3_bind_int64(s, 2, (sqlite3_int64)start);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)(start / 86400));
		sqlite3_bind_int64(s, 4, (sqlite3_int64)((now > start ? now : start) / 86400));
	}
	sqlite3_bind_text(s, 1, recipient, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if (optout)
			*opted_r = sqlite3_column_int(s, col++) != 0;
		if (cap)
			*count_r = (long)sqlite3_column_int64(s, col);
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

int
outbox_queue(struct store *st, const struct s48_config *cfg, const struct outbox_msg *m,
    int64_t *id_r, enum outbox_status *status_r, const char **error_r)
{
	enum outbox_status status = OUTBOX_PENDING;
	const char *reason = NULL;
	char msgid[128];
	time_t now = m->now ? m->now : store_now();
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
	} else {
		/* in order: STOP, a number that cannot take SMS, the daily cap */
		int optout = 0, cap, opted;
		long n;

		if (is_sms) {
			char e164[32];

			optout = strcmp(m->kind, "stop_confirm") != 0 &&
			    strcmp(m->kind, "start_confirm") != 0;
			if (phone_normalize(m->recipient, cfg->sms.country_code, e164,
			    sizeof(e164)) != PHONE_MOBILE) {
				status = OUTBOX_SUPPRESSED;
				reason = "number cannot take SMS";
			}
		}
		cap = status == OUTBOX_PENDING && m->is_auto && cfg->auto_replies_per_day >= 0;
		if (outbox_lookups(st, m->recipient, optout, cap, now, &opted, &n) < 0)
			goto fail_db;
		if (opted) {
			status = OUTBOX_SUPPRESSED;
			reason = "STOP";
		} else if (cap && n >= cfg->auto_replies_per_day) {
			status = OUTBOX_SUPPRESSED;
			reason = "daily cap";
		}
	}

	if (m->message_id && m->message_id[0])
		util_strlcpy(msgid, m->message_id, sizeof(msgid));
	else
		outbox_new_message_id_at(cfg, now, msgid, sizeof(msgid));
	/* every parameter bound below: the last use's values are not cleared */
	s = store_prepare_all(st,
	    "INSERT INTO outbox(ticket_id, channel, recipient, kind, subject, body, in_reply_to, "
	    "references_hdr, message_id, tag_token, with_attachments, auto, status, attempts, "
	    "next_at, reason, created_at, updated_at) "
	    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 0, ?14, ?15, ?14, ?14)");
	if (s == NULL)
		goto fail_db;
	if (m->ticket_id > 0)
		sqlite3_bind_int64(s, 1, m->ticket_id);
	else
		sqlite3_bind_null(s, 1);
	sqlite3_bind_text(s, 2, is_sms ? "sms" : "email", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, m->recipient, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, m->kind, -1, SQLITE_STATIC);
	if (m->subject && !is_sms)
		sqlite3_bind_text(s, 5, m->subject, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 5);
	sqlite3_bind_text(s, 6, m->body ? m->body : "", -1, SQLITE_STATIC);
	if (m->in_reply_to && m->in_reply_to[0])
		sqlite3_bind_text(s, 7, m->in_reply_to, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 7);
	if (m->references && m->references[0])
		sqlite3_bind_text(s, 8, m->references, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 8);
	sqlite3_bind_text(s, 9, msgid, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 10, m->tag_token != 0);
	sqlite3_bind_int(s, 11, m->with_attachments != 0);
	sqlite3_bind_int(s, 12, m->is_auto != 0);
	sqlite3_bind_text(s, 13, outbox_status_name(status), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 14, (sqlite3_int64)now);
	if (reason)
		sqlite3_bind_text(s, 15, reason, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 15);
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
