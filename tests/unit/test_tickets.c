/* test_tickets.c - ticket actions on a real SQLite file: creation with
 * routing, due time and outbox rows; every status transition; assign; notes;
 * append; look-ups; queue-time decisions (cap, STOP, landline, channel off). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "config.h"
#include "mime.h"
#include "outbox_queue.h"
#include "router.h"
#include "sla.h"
#include "store.h"
#include "tickets.h"
#include "util.h"

#include "store_test.h"

#define NOW 1795514400L          /* 2026-11-24T10:00:00Z, a Tuesday */

enum { WITH_SMTP = 1, WITH_SMS = 2 };

struct fx {
	char dir[64];
	struct s48_config *cfg;
	struct router *rt;
	struct store *st;
	struct tickets_ctx c;
};

static struct fx *
fx_new(int channels, int cap)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	char path[160], *errors = NULL;
	const char *err = NULL;
	FILE *fp;

	ts_tmpdir(f->dir, sizeof(f->dir), "tickets");
	snprintf(path, sizeof(path), "%s/secret", f->dir);
	ts_write_file(path, "s3cret\n", 0600);
	snprintf(path, sizeof(path), "%s/sms.key", f->dir);
	ts_write_file(path, "key\n", 0600);
	snprintf(path, sizeof(path), "%s/s48.conf", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "database = \"%s/s48.db\";\nsecret_file = \"secret\";\n", f->dir);
	if (channels & WITH_SMTP)
		fprintf(fp, "smtp = { url = \"smtp://127.0.0.1:2525\"; tls = \"none\"; "
		    "from = \"Sistem 48 <prijave@example.org>\"; };\n");
	if (channels & WITH_SMS)
		fprintf(fp, "sms = { profile = \"infobip\"; base_url = \"http://127.0.0.1:9\"; "
		    "api_key_file = \"sms.key\"; number = \"+381641234567\"; };\n");
	fprintf(fp,
	    "departments = (\n"
	    " { id = \"water\"; name = \"Vodovod i kanalizacija\"; email = [\"vodovod@jkp.example.org\", \"dezurni@jkp.example.org\"];\n"
	    "   sms = [\"+381601112233\"]; keywords = [\"voda\", \"cev\", \"cevi\", \"vodovod*\"]; },\n"
	    " { id = \"lighting\"; name = \"Javna rasveta\"; email = [\"rasveta@jkp.example.org\"];\n"
	    "   keywords = [\"rasvet*\", \"sijalic*\", \"lampa\"]; },\n"
	    " { id = \"dispatch\"; name = \"Dispecerski centar\"; email = [\"dispecer@jkp.example.org\"]; keywords = []; }\n"
	    ");\n"
	    "default_department = \"dispatch\";\n"
	    "limits = { auto_replies_per_day = %d; };\n"
	    "sla = { hours = 48; warn_hours = 8; timezone = \"Europe/Belgrade\"; };\n"
	    "templates = { sms_ack = \"ACK {id} {department} do {due}\"; "
	    "sms_status = \"ST {id}: {status}. {note}\"; "
	    "email_ack = \"EACK {id} {department} do {due}\"; "
	    "email_status = \"EST {id}: {status}. {note}\"; };\n", cap);
	fclose(fp);
	if (config_load(path, 0, &f->cfg, &errors) < 0)
		fail_msg("config: %s", errors);
	sla_use_timezone(f->cfg->sla.timezone);
	f->rt = router_new(f->cfg);
	ts_open(f->cfg->database, &f->st);
	f->c.st = f->st;
	f->c.cfg = f->cfg;
	f->c.rt = f->rt;
	assert_int_equal(store_begin(f->st, &err), 0);
	return f;
}

static void
fx_free(struct fx **fp)
{
	struct fx *f = *fp;

	if (store_in_transaction(f->st))
		assert_int_equal(store_commit(f->st, NULL), 0);
	store_close(&f->st);
	router_free(&f->rt);
	config_free(&f->cfg);
	assert_int_equal(ts_rmtree(f->dir), 0);
	free(f);
	*fp = NULL;
}

static int
setup(void **state)
{
	setenv("S48_NOW", "1795514400", 1);
	*state = fx_new(WITH_SMTP | WITH_SMS, 10);
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	fx_free(&f);
	return 0;
}

/* One integer from sql with optional ?1 (integer) and ?2 (text). */
static long long
qint(struct fx *f, const char *sql, long long p1, const char *p2)
{
	sqlite3_stmt *s;
	long long v = -1;

	if (sqlite3_prepare_v2(store_db(f->st), sql, -1, &s, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(store_db(f->st)));
	if (sqlite3_bind_parameter_count(s) >= 1)
		sqlite3_bind_int64(s, 1, p1);
	if (p2)
		sqlite3_bind_text(s, 2, p2, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* One text value (caller frees; NULL for SQL NULL / no row). */
static char *
qtext(struct fx *f, const char *sql, long long p1, const char *p2)
{
	sqlite3_stmt *s;
	char *v = NULL;

	if (sqlite3_prepare_v2(store_db(f->st), sql, -1, &s, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(store_db(f->st)));
	if (sqlite3_bind_parameter_count(s) >= 1)
		sqlite3_bind_int64(s, 1, p1);
	if (p2)
		sqlite3_bind_text(s, 2, p2, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		v = xstrdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return v;
}

/* The text of sql (qtext) must be want. */
static void
assert_qtext(struct fx *f, const char *sql, long long p1, const char *p2, const char *want)
{
	char *v = qtext(f, sql, p1, p2);

	if (v == NULL)
		fail_msg("%s: NULL, want \"%s\"", sql, want);
	assert_string_equal(v, want);
	free(v);
}

static long
new_sms(struct fx *f, const char *from, const char *text, int flags)
{
	struct tickets_input in = { .channel = "sms", .reporter = from, .text = text,
		.flags = flags };
	const char *err = NULL;
	long id = 0;

	if (tickets_create(&f->c, &in, &id, &err) != 0)
		fail_msg("create: %s", err);
	assert_true(id > 0);
	return id;
}

static void
test_create_email(void **state)
{
	struct fx *f = *state;
	struct mime_attachment att[2];
	struct tickets_input in = { .channel = "email", .reporter = "jovana@example.org",
		.subject = "Pukla cev", .text = "U ulici Kneza Milosa curi voda.",
		.message_id = "abc@mail.example.org", .flags = TICKETS_F_AUTO };
	const char *err = NULL;
	struct ticket *t = NULL;
	char *v;
	long id = 0, id2 = 0;

	memset(att, 0, sizeof(att));
	att[0].filename = (char *)(uintptr_t)"slika.jpg";
	att[0].content_type = (char *)(uintptr_t)"image/jpeg";
	att[0].data = (unsigned char *)(uintptr_t)"JPEGDATA";
	att[0].size = 8;
	util_sha256_hex("JPEGDATA", 8, att[0].sha256);
	att[1].filename = (char *)(uintptr_t)"video.mp4";
	att[1].content_type = (char *)(uintptr_t)"video/mp4";
	att[1].size = 50000000;
	att[1].omitted = 1;
	in.att = att;
	in.n_att = 2;
	assert_int_equal(tickets_create(&f->c, &in, &id, &err), 0);
	assert_int_equal(id, 1);

	assert_int_equal(tickets_get(f->st, id, &t, &err), 0);
	assert_string_equal(t->status, "open");
	assert_string_equal(t->channel, "email");
	assert_string_equal(t->department, "water");       /* routed: "cev", "voda" */
	assert_string_equal(t->subject, "Pukla cev");
	assert_string_equal(t->message_id, "abc@mail.example.org");
	assert_int_equal(t->created_at, NOW);
	assert_int_equal(t->due_at, NOW + 48 * 3600);        /* wall time */
	assert_int_equal(t->warn_at, NOW + 40 * 3600);
	assert_int_equal(t->resolved_at, 0);
	assert_int_equal(t->backlog, 0);
	assert_false(tickets_is_overdue(t, NOW + 48 * 3600));
	assert_true(tickets_is_overdue(t, NOW + 48 * 3600 + 1));
	tickets_free(&t);
	assert_null(t);

	/* message in + ack out, event created */
	assert_int_equal(qint(f, "SELECT count(*) FROM messages WHERE ticket_id = ?1 "
	    "AND direction = 'in' AND message_id = ?2", id, "abc@mail.example.org"), 1);
	assert_int_equal(qint(f, "SELECT count(*) FROM messages WHERE ticket_id = ?1 "
	    "AND direction = 'out'", id, NULL), 1);
	assert_int_equal(qint(f, "SELECT count(*) FROM events WHERE ticket_id = ?1 AND "
	    "kind = 'created' AND to_value = 'water'", id, NULL), 1);
	/* attachments: content + sha256, the omitted one as metadata */
	assert_int_equal(qint(f, "SELECT length(content) FROM attachments WHERE ticket_id = ?1 "
	    "AND idx = 0", id, NULL), 8);
	assert_int_equal(qint(f, "SELECT count(*) FROM attachments WHERE ticket_id = ?1 AND idx = 1 "
	    "AND omitted = 1 AND content IS NULL AND size = 50000000", id, NULL), 1);
	assert_qtext(f, "SELECT sha256 FROM attachments WHERE ticket_id = ?1 AND idx = 0", id, NULL,
	    att[0].sha256);

	/* the citizen's acknowledgement */
	assert_qtext(f, "SELECT subject FROM outbox WHERE ticket_id = ?1 AND kind = 'email_ack' "
	    "AND recipient = ?2", id, "jovana@example.org", "Re: [S48 #1] Pukla cev");
	assert_qtext(f, "SELECT body FROM outbox WHERE ticket_id = ?1 AND kind = 'email_ack'", id,
	    NULL, "EACK 1 Vodovod i kanalizacija do 26.11.2026. 11:00");
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE kind = 'email_ack' AND "
	    "in_reply_to = 'abc@mail.example.org' AND references_hdr = 'abc@mail.example.org' "
	    "AND status = 'pending' AND auto = 1 AND next_at = ?1 AND message_id LIKE "
	    "'s48.%@example.org'", NOW, NULL), 1);
	/* the outbound message row carries the outbox Message-ID */
	assert_int_equal(qint(f, "SELECT count(*) FROM messages m JOIN outbox o ON "
	    "o.message_id = m.message_id WHERE m.direction = 'out' AND o.kind = 'email_ack'", 0,
	    NULL), 1);
	/* the department: one email per address (tag token, attachments) + one SMS */
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE ticket_id = ?1 AND "
	    "kind = 'dept_new' AND channel = 'email' AND tag_token = 1 AND with_attachments = 1 "
	    "AND auto = 0", id, NULL), 2);
	v = qtext(f, "SELECT body FROM outbox WHERE kind = 'dept_new' AND recipient = ?2", 0,
	    "dezurni@jkp.example.org");
	assert_non_null(v);
	assert_non_null(strstr(v, "U ulici Kneza Milosa curi voda."));
	assert_non_null(strstr(v, "jovana@example.org"));
	assert_non_null(strstr(v, "26.11.2026. 11:00"));
	assert_non_null(strstr(v, "slika.jpg"));
	assert_non_null(strstr(v, "video.mp4"));
	free(v);
	v = qtext(f, "SELECT body FROM outbox WHERE kind = 'dept_new' AND channel = 'sms' AND "
	    "recipient = ?2", 0, "+381601112233");
	assert_non_null(v);
	assert_non_null(strstr(v, "1"));
	assert_non_null(strstr(v, "curi voda"));
	/* "..., rok DUE: TEXT": the due time does not run on from the text */
	if (strstr(v, ", rok 26.11.2026. 11:00: U ulici Kneza Milosa curi voda.") == NULL)
		fail_msg("dept SMS: %s", v);
	assert_null(strstr(v, "voda. Rok"));
	free(v);
	/* message ids of the ticket: in and out */
	assert_int_equal(tickets_find_by_message_id(f->st, "abc@mail.example.org", &id2, &err), 0);
	assert_int_equal(id2, id);
	v = qtext(f, "SELECT message_id FROM outbox WHERE kind = 'dept_new' LIMIT 1", 0, NULL);
	id2 = 0;
	assert_int_equal(tickets_find_by_message_id(f->st, v, &id2, &err), 0);
	assert_int_equal(id2, id);
	free(v);
	assert_int_equal(tickets_find_by_message_id(f->st, "nope@x", &id2, &err), TICKETS_ENOENT);
	assert_int_equal(tickets_find_by_message_id(f->st, "", &id2, &err), TICKETS_ENOENT);
}

static void
test_create_sms_and_explicit_dept(void **state)
{
	struct fx *f = *state;
	struct tickets_input in = { .channel = "sms", .reporter = "+381641112222",
		.text = "Ne radi sijalica kod skole\nu Ulici Cara Dusana", .flags = TICKETS_F_AUTO };
	const char *err = NULL;
	struct ticket *t = NULL;
	char *rep = NULL, *ch = NULL;
	long id = 0, latest = 0;

	assert_int_equal(tickets_create(&f->c, &in, &id, &err), 0);
	assert_int_equal(tickets_get(f->st, id, &t, &err), 0);
	assert_string_equal(t->department, "lighting");
	assert_string_equal(t->subject, "Ne radi sijalica kod skole");
	tickets_free(&t);
	assert_qtext(f, "SELECT body FROM outbox WHERE ticket_id = ?1 AND kind = 'sms_ack' AND "
	    "recipient = ?2", id, "+381641112222", "ACK 1 Javna rasveta do 26.11.2026. 11:00");
	/* no SMS numbers for lighting: only its email */
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE kind = 'dept_new'", 0, NULL), 1);

	/* an explicit department wins over routing; unknown one refused */
	in.department = "water";
	in.at = NOW - 60;
	assert_int_equal(tickets_create(&f->c, &in, &id, &err), 0);
	assert_int_equal(tickets_get(f->st, id, &t, &err), 0);
	assert_string_equal(t->department, "water");
	assert_int_equal(t->created_at, NOW - 60);
	tickets_free(&t);
	/* a source time ahead of ours (a gateway's local time read as UTC, a
	 * fast clock) is not taken: the ticket and its due time start now */
	in.at = NOW + 2 * 3600;
	assert_int_equal(tickets_create(&f->c, &in, &id, &err), 0);
	assert_int_equal(tickets_get(f->st, id, &t, &err), 0);
	assert_int_equal(t->created_at, NOW);
	assert_int_equal(t->due_at, sla_due(&f->cfg->sla, NOW));
	tickets_free(&t);
	in.at = NOW + 3600;
	assert_int_equal(tickets_append(&f->c, id, &in, &err), 0);
	assert_int_equal(qint(f, "SELECT max(at) FROM messages WHERE ticket_id = ?1 AND "
	    "direction = 'in'", id, NULL), NOW);
	in.department = "nope";
	assert_int_equal(tickets_create(&f->c, &in, &id, &err), TICKETS_EREFUSED);
	in.department = NULL;
	in.channel = "fax";
	assert_int_equal(tickets_create(&f->c, &in, &id, &err), TICKETS_EREFUSED);

	/* no keyword at all -> default department */
	assert_int_equal(tickets_get(f->st, new_sms(f, "+381641112222", "Nesto trece", 0), &t,
	    &err), 0);
	assert_string_equal(t->department, "dispatch");
	tickets_free(&t);

	/* latest = newest created_at, the highest id among equal times */
	assert_int_equal(tickets_latest_by_reporter(f->st, "+381641112222", &latest, &err), 0);
	assert_int_equal(latest, 4);
	assert_int_equal(tickets_latest_by_reporter(f->st, "+381600000000", &latest, &err),
	    TICKETS_ENOENT);
	assert_int_equal(tickets_reporter_of(f->st, 2, &rep, &ch, &err), 0);
	assert_string_equal(rep, "+381641112222");
	assert_string_equal(ch, "sms");
	free(rep);
	free(ch);
	assert_int_equal(tickets_reporter_of(f->st, 99, &rep, NULL, &err), TICKETS_ENOENT);
	assert_int_equal(tickets_get(f->st, 99, &t, &err), TICKETS_ENOENT);
	assert_null(t);
}

/* source_state "tickets.floor" (set by s48d on a restored backup) moves the
 * numbering past it; below the highest number it changes nothing. */
static void
test_number_floor(void **state)
{
	struct fx *f = *state;
	const char *err = NULL;
	long a = new_sms(f, "+381641112222", "Pukla cev", 0);

	assert_int_equal(a, 1);
	assert_int_equal(store_state_set(f->st, "tickets.floor", "11", &err), 0);
	assert_int_equal(new_sms(f, "+381641112222", "Pukla cev 2", 0), 11);
	assert_int_equal(new_sms(f, "+381641112222", "Pukla cev 3", 0), 12);
	assert_int_equal(store_state_set(f->st, "tickets.floor", "5", &err), 0);
	assert_int_equal(new_sms(f, "+381641112222", "Pukla cev 4", 0), 13);
}

static void
test_backlog_and_no_ack(void **state)
{
	struct fx *f = *state;
	struct tickets_input in = { .channel = "email", .reporter = "stari@example.org",
		.subject = "Stara prijava", .text = "rasveta", .at = NOW - 30 * 86400,
		.flags = TICKETS_F_BACKLOG | TICKETS_F_AUTO };
	const char *err = NULL;
	struct ticket *t = NULL;
	long id = 0;

	assert_int_equal(tickets_create(&f->c, &in, &id, &err), 0);
	assert_int_equal(tickets_get(f->st, id, &t, &err), 0);
	assert_int_equal(t->backlog, 1);
	assert_int_equal(t->warn_at, 0);
	assert_true(tickets_is_overdue(t, NOW));
	tickets_free(&t);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE ticket_id = ?1 AND "
	    "kind LIKE '%ack'", id, NULL), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE ticket_id = ?1 AND "
	    "kind = 'dept_new'", id, NULL), 1);

	in.flags = TICKETS_F_NO_ACK;
	in.at = 0;
	assert_int_equal(tickets_create(&f->c, &in, &id, &err), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE ticket_id = ?1 AND "
	    "kind LIKE '%ack'", id, NULL), 0);
	assert_int_equal(qint(f, "SELECT warn_at FROM tickets WHERE id = ?1", id, NULL),
	    NOW + 40 * 3600);
}

/* Bring a new ticket to status `from` by allowed steps. */
static long
ticket_in(struct fx *f, const char *from)
{
	const char *err = NULL;
	long id = new_sms(f, "+381641112222", "Pukla cev", 0);

	if (strcmp(from, "open") != 0 &&
	    tickets_set_status(&f->c, id, from, NULL, "setup", &err) != 0)
		fail_msg("setup %s: %s", from, err);
	return id;
}

static void
test_transitions(void **state)
{
	struct fx *f = *state;
	static const char *const st[] = { "open", "in_progress", "resolved", "rejected" };
	/* allowed[from][to] per SPEC section 2 */
	static const int allowed[4][4] = {
		{ 0, 1, 1, 1 },
		{ 1, 0, 1, 1 },
		{ 1, 0, 0, 0 },
		{ 1, 0, 0, 0 },
	};
	size_t i, j, n_ok = 0, n_refused = 0;

	for (i = 0; i < 4; i++) {
		for (j = 0; j < 4; j++) {
			const char *err = NULL;
			long id = ticket_in(f, st[i]);
			long long events = qint(f, "SELECT count(*) FROM events WHERE ticket_id = ?1",
			    id, NULL);
			long long replies = qint(f, "SELECT count(*) FROM outbox WHERE ticket_id = ?1 "
			    "AND kind = 'sms_status'", id, NULL);
			int rc = tickets_set_status(&f->c, id, st[j], "napomena", "petar", &err);
			char *v;
			char expect[64];

			assert_int_equal(tickets_transition_allowed(st[i], st[j]), allowed[i][j]);
			if (!allowed[i][j]) {
				n_refused++;
				assert_int_equal(rc, TICKETS_EREFUSED);
				snprintf(expect, sizeof(expect), "%s -> %s is not allowed", st[i], st[j]);
				assert_string_equal(err, expect);
				/* nothing written */
				assert_int_equal(qint(f, "SELECT count(*) FROM events WHERE "
				    "ticket_id = ?1", id, NULL), events);
				assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE ticket_id = ?1 "
				    "AND kind = 'sms_status'", id, NULL), replies);
				assert_qtext(f, "SELECT status FROM tickets WHERE id = ?1", id, NULL,
				    st[i]);
				continue;
			}
			n_ok++;
			assert_int_equal(rc, 0);
			assert_qtext(f, "SELECT status FROM tickets WHERE id = ?1", id, NULL,
			    st[j]);
			if (j >= 2)
				assert_int_equal(qint(f, "SELECT resolved_at FROM tickets WHERE id = ?1",
				    id, NULL), NOW);
			else
				assert_null(qtext(f, "SELECT resolved_at FROM tickets WHERE id = ?1", id,
				    NULL));
			/* event with from/to/by/note, public because a note was given */
			assert_int_equal(qint(f, "SELECT count(*) FROM events WHERE ticket_id = ?1 AND "
			    "kind = 'status' AND from_value = ?2 AND by = 'petar' AND "
			    "note = 'napomena' AND public = 1 AND to_value = '" "' || (SELECT status "
			    "FROM tickets WHERE id = ?1)", id, st[i]), 1);
			/* the citizen's reply: not capped (auto = 0), carries the note */
			assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE ticket_id = ?1 AND "
			    "kind = 'sms_status' AND auto = 0 AND status = 'pending'", id, NULL),
			    replies + 1);
			v = qtext(f, "SELECT body FROM outbox WHERE ticket_id = ?1 AND "
			    "kind = 'sms_status' ORDER BY id DESC LIMIT 1", id, NULL);
			snprintf(expect, sizeof(expect), "ST %ld: %s. napomena", id,
			    config_status_label(f->cfg, st[j]));
			assert_string_equal(v, expect);
			free(v);
		}
	}
	assert_int_equal(n_ok, 8);
	assert_int_equal(n_refused, 8);

	/* unknown status, unknown ticket */
	{
		const char *err = NULL;
		long id = ticket_in(f, "open");

		assert_int_equal(tickets_set_status(&f->c, id, "closed", NULL, "x", &err),
		    TICKETS_EREFUSED);
		assert_non_null(strstr(err, "unknown status"));
		assert_int_equal(tickets_set_status(&f->c, 9999, "resolved", NULL, "x", &err),
		    TICKETS_ENOENT);
		/* no note: event not public, template's {note} empty */
		assert_int_equal(tickets_set_status(&f->c, id, "in_progress", NULL, "x", &err), 0);
		assert_int_equal(qint(f, "SELECT public FROM events WHERE ticket_id = ?1 AND "
		    "kind = 'status'", id, NULL), 0);
	}
}

static void
test_status_email_reply(void **state)
{
	struct fx *f = *state;
	struct tickets_input in = { .channel = "email", .reporter = "ana@example.org",
		.subject = "Rupa", .text = "Rupa na putu", .message_id = "m1@example.org" };
	const char *err = NULL;
	long id = 0;

	assert_int_equal(tickets_create(&f->c, &in, &id, &err), 0);
	assert_int_equal(tickets_set_status(&f->c, id, "resolved", "zakrpljeno", "petar", &err), 0);
	assert_qtext(f, "SELECT subject || '|' || body || '|' || in_reply_to FROM outbox "
	    "WHERE ticket_id = ?1 AND kind = 'email_status'", id, NULL,
	    "Re: [S48 #1] Rupa|EST 1: resena. zakrpljeno|m1@example.org");
}

static void
test_assign(void **state)
{
	struct fx *f = *state;
	const char *err = NULL;
	long id = new_sms(f, "+381641112222", "Pukla cev", 0);
	char *v;

	assert_int_equal(tickets_assign(&f->c, id, "nope", NULL, "petar", &err), TICKETS_EREFUSED);
	assert_non_null(strstr(err, "unknown department"));
	assert_int_equal(tickets_assign(&f->c, id, "water", NULL, "petar", &err), TICKETS_EREFUSED);
	assert_int_equal(tickets_assign(&f->c, 999, "lighting", NULL, "petar", &err),
	    TICKETS_ENOENT);
	assert_int_equal(qint(f, "SELECT count(*) FROM events WHERE kind = 'assign'", 0, NULL), 0);

	assert_int_equal(tickets_assign(&f->c, id, "lighting", "nije nase", "petar", &err), 0);
	assert_qtext(f, "SELECT department FROM tickets WHERE id = ?1", id, NULL, "lighting");
	assert_int_equal(qint(f, "SELECT count(*) FROM events WHERE ticket_id = ?1 AND "
	    "kind = 'assign' AND from_value = 'water' AND to_value = 'lighting' AND by = 'petar' "
	    "AND note = 'nije nase'", id, NULL), 1);
	v = qtext(f, "SELECT body FROM outbox WHERE ticket_id = ?1 AND kind = 'sms_assign'", id,
	    NULL);
	assert_non_null(v);
	assert_non_null(strstr(v, "Javna rasveta"));
	assert_null(strstr(v, "nije nase"));             /* assign notes stay internal */
	free(v);
	v = qtext(f, "SELECT body FROM outbox WHERE ticket_id = ?1 AND kind = 'dept_assign' AND "
	    "recipient = 'rasveta@jkp.example.org' AND tag_token = 1", id, NULL);
	assert_non_null(v);
	assert_non_null(strstr(v, "nije nase"));
	assert_non_null(strstr(v, "Pukla cev"));
	free(v);
	/* the old department is not notified again */
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE kind = 'dept_assign'", 0, NULL),
	    1);
}

static void
test_notes(void **state)
{
	struct fx *f = *state;
	const char *err = NULL;
	long id = new_sms(f, "+381641112222", "Pukla cev", 0);

	assert_int_equal(tickets_note(&f->c, id, "interna", 0, "petar", &err), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM events WHERE ticket_id = ?1 AND "
	    "kind = 'note' AND note = 'interna' AND public = 0", id, NULL), 1);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE kind = 'sms_note'", 0, NULL), 0);
	assert_int_equal(tickets_note(&f->c, id, "ekipa stize sutra", 1, "petar", &err), 0);
	assert_qtext(f, "SELECT body FROM outbox WHERE ticket_id = ?1 AND kind = 'sms_note' AND "
	    "auto = 0", id, NULL, "ST 1: primljena. ekipa stize sutra");
	assert_int_equal(tickets_note(&f->c, id, "  ", 1, "petar", &err), TICKETS_EREFUSED);
	assert_int_equal(tickets_note(&f->c, 77, "x", 1, "petar", &err), TICKETS_ENOENT);
}

static void
test_append(void **state)
{
	struct fx *f = *state;
	struct mime_attachment att;
	struct tickets_input in = { .channel = "sms", .text = "I dalje curi",
		.norm_hash = "h1" };
	const char *err = NULL;
	long id = new_sms(f, "+381641112222", "Pukla cev", 0);

	memset(&att, 0, sizeof(att));
	att.filename = (char *)(uintptr_t)"a.png";
	att.content_type = (char *)(uintptr_t)"image/png";
	att.data = (unsigned char *)(uintptr_t)"PNG";
	att.size = 3;
	in.att = &att;
	in.n_att = 1;
	assert_int_equal(tickets_append(&f->c, id, &in, &err), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM messages WHERE ticket_id = ?1 AND "
	    "direction = 'in' AND text = 'I dalje curi' AND norm_hash = 'h1'", id, NULL), 1);
	assert_int_equal(qint(f, "SELECT count(*) FROM events WHERE ticket_id = ?1 AND "
	    "kind = 'message'", id, NULL), 1);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE ticket_id = ?1 AND "
	    "kind = 'dept_append' AND channel = 'email'", id, NULL), 2);
	/* the sha256 is computed when the caller left it empty */
	{
		char *v = qtext(f, "SELECT sha256 FROM attachments WHERE ticket_id = ?1", id, NULL);
		char hex[65];

		util_sha256_hex("PNG", 3, hex);
		assert_string_equal(v, hex);
		free(v);
	}
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE ticket_id = ?1 AND "
	    "kind = 'dept_append' AND with_attachments = 1", id, NULL), 2);
	/* appended attachments continue the ticket's index */
	assert_int_equal(tickets_append(&f->c, id, &in, &err), 0);
	assert_int_equal(qint(f, "SELECT max(idx) FROM attachments WHERE ticket_id = ?1", id, NULL),
	    1);
	in.flags = TICKETS_F_QUIET;
	in.n_att = 0;
	assert_int_equal(tickets_append(&f->c, id, &in, &err), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE ticket_id = ?1 AND "
	    "kind = 'dept_append'", id, NULL), 4);
	assert_int_equal(qint(f, "SELECT count(*) FROM messages WHERE ticket_id = ?1 AND "
	    "direction = 'in'", id, NULL), 4);
	assert_int_equal(tickets_append(&f->c, 555, &in, &err), TICKETS_ENOENT);
}

static void
test_daily_cap(void **state)
{
	struct fx *f = *state;
	const char *err = NULL;
	long ids[4];
	int i;

	fx_free(&f);
	f = *state = fx_new(WITH_SMTP | WITH_SMS, 2);
	for (i = 0; i < 4; i++)
		ids[i] = new_sms(f, "+381641112222", "Pukla cev", TICKETS_F_AUTO);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE kind = 'sms_ack' AND "
	    "status = 'pending'", 0, NULL), 2);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE kind = 'sms_ack' AND "
	    "status = 'suppressed' AND reason = 'daily cap' AND ticket_id IN (?1, ?1 + 1)", ids[2],
	    NULL), 2);
	/* another number has its own count */
	new_sms(f, "+381641119999", "Pukla cev", TICKETS_F_AUTO);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE recipient = '+381641119999' "
	    "AND status = 'pending'", 0, NULL), 1);
	/* staff changes and non-automatic acknowledgements are never capped */
	assert_int_equal(tickets_set_status(&f->c, ids[3], "resolved", NULL, "petar", &err), 0);
	new_sms(f, "+381641112222", "Pukla cev", 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE recipient = '+381641112222' "
	    "AND status = 'pending'", 0, NULL), 4);
	/* department rows are not capped either */
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE kind = 'dept_new' AND "
	    "status = 'pending'", 0, NULL), 3 * 6);
	/* the next local day starts a new count (23:00 UTC = 00:00 Belgrade) */
	setenv("S48_NOW", "1795561200", 1);                 /* 2026-11-24T23:00:00Z */
	new_sms(f, "+381641112222", "Pukla cev", TICKETS_F_AUTO);
	assert_int_equal(qint(f, "SELECT status = 'pending' FROM outbox WHERE kind = 'sms_ack' "
	    "ORDER BY id DESC LIMIT 1", 0, NULL), 1);
	setenv("S48_NOW", "1795557600", 1);                 /* 22:00Z = 23:00 local: same day */
	new_sms(f, "+381641112222", "Pukla cev", TICKETS_F_AUTO);
	assert_int_equal(qint(f, "SELECT reason = 'daily cap' FROM outbox WHERE kind = 'sms_ack' "
	    "ORDER BY id DESC LIMIT 1", 0, NULL), 1);
	/* a reply at 00:30 local is of the UTC day before (the index outbox_auto
	 * is keyed by UTC day first): it still counts until local midnight */
	setenv("S48_NOW", "1795649400", 1);                 /* 2026-11-25T23:30:00Z */
	new_sms(f, "+381641113333", "Pukla cev", TICKETS_F_AUTO);
	setenv("S48_NOW", "1795730400", 1);                 /* 2026-11-26T22:00:00Z */
	new_sms(f, "+381641113333", "Pukla cev", TICKETS_F_AUTO);
	new_sms(f, "+381641113333", "Pukla cev", TICKETS_F_AUTO);
	{
		char *v = qtext(f, "SELECT group_concat(coalesce(reason, '-'), ',') FROM (SELECT "
		    "reason FROM outbox WHERE kind = 'sms_ack' AND recipient = '+381641113333' "
		    "ORDER BY id)", 0, NULL);

		assert_string_equal(v, "-,-,daily cap");
		free(v);
	}
	setenv("S48_NOW", "1795514400", 1);
}

static void
test_stop_and_landline(void **state)
{
	struct fx *f = *state;
	struct outbox_msg m = { .channel = "sms", .recipient = "+381641112222",
		.kind = "stop_confirm", .body = "OK", .is_auto = 1 };
	enum outbox_status status;
	const char *err = NULL;
	long id;

	assert_int_equal(store_exec(f->st, "INSERT INTO sms_optout(number, at) "
	    "VALUES('+381641112222', 1)", &err), 0);
	id = new_sms(f, "+381641112222", "Pukla cev", TICKETS_F_AUTO);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE ticket_id = ?1 AND "
	    "kind = 'sms_ack' AND status = 'suppressed' AND reason = 'STOP'", id, NULL), 1);
	assert_int_equal(tickets_set_status(&f->c, id, "resolved", NULL, "petar", &err), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE ticket_id = ?1 AND "
	    "kind = 'sms_status' AND status = 'suppressed' AND reason = 'STOP'", id, NULL), 1);
	/* the STOP / START confirmations themselves go out */
	assert_int_equal(outbox_queue(f->st, f->cfg, &m, NULL, &status, &err), 0);
	assert_int_equal(status, OUTBOX_PENDING);
	m.kind = "start_confirm";
	assert_int_equal(outbox_queue(f->st, f->cfg, &m, NULL, &status, &err), 0);
	assert_int_equal(status, OUTBOX_PENDING);
	m.kind = "sms_query";
	assert_int_equal(outbox_queue(f->st, f->cfg, &m, NULL, &status, &err), 0);
	assert_int_equal(status, OUTBOX_SUPPRESSED);

	/* a landline (Belgrade 011) cannot take SMS */
	id = new_sms(f, "+381111234567", "Pukla cev", 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE ticket_id = ?1 AND "
	    "kind = 'sms_ack' AND status = 'suppressed' AND reason = 'number cannot take SMS'", id,
	    NULL), 1);
	/* the department still gets its rows */
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE ticket_id = ?1 AND "
	    "kind = 'dept_new' AND status = 'pending'", id, NULL), 3);
	/* bad input to outbox_queue */
	m.channel = "fax";
	assert_int_equal(outbox_queue(f->st, f->cfg, &m, NULL, NULL, &err), -1);
	m.channel = "sms";
	m.recipient = "";
	assert_int_equal(outbox_queue(f->st, f->cfg, &m, NULL, NULL, &err), -1);
}

/* STOP, a landline and the daily cap met at once (one look-up statement):
 * STOP is the reason given, as it is checked first. */
static void
test_stop_before_cap(void **state)
{
	struct fx *f = *state;
	const char *err = NULL;
	long id;

	fx_free(&f);
	f = *state = fx_new(WITH_SMTP | WITH_SMS, 1);
	id = new_sms(f, "+381641112222", "Pukla cev", TICKETS_F_AUTO);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE ticket_id = ?1 AND "
	    "kind = 'sms_ack' AND status = 'pending'", id, NULL), 1);
	id = new_sms(f, "+381641112222", "Pukla cev", TICKETS_F_AUTO);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE ticket_id = ?1 AND "
	    "kind = 'sms_ack' AND reason = 'daily cap'", id, NULL), 1);
	assert_int_equal(store_exec(f->st, "INSERT INTO sms_optout(number, at) "
	    "VALUES('+381641112222', 1), ('+381111234567', 1)", &err), 0);
	id = new_sms(f, "+381641112222", "Pukla cev", TICKETS_F_AUTO);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE ticket_id = ?1 AND "
	    "kind = 'sms_ack' AND status = 'suppressed' AND reason = 'STOP'", id, NULL), 1);
	id = new_sms(f, "+381111234567", "Pukla cev", TICKETS_F_AUTO);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE ticket_id = ?1 AND "
	    "kind = 'sms_ack' AND status = 'suppressed' AND reason = 'STOP'", id, NULL), 1);
	/* only the first acknowledgement went out */
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE kind = 'sms_ack' AND "
	    "status = 'pending'", 0, NULL), 1);
}

/* Message-IDs as outbox_new_message_id_at formats them: the fields, the
 * counter, the domain of smtp.from, and cut like snprintf when short. */
static void
test_message_ids(void **state)
{
	struct fx *f = *state;
	char a[128], b[128], small[20], want[128];
	unsigned long long seed, t, n1, n2;
	int used = 0;

	outbox_new_message_id_at(f->cfg, (time_t)0x6925a3c0, a, sizeof(a));
	outbox_new_message_id_at(f->cfg, (time_t)0x6925a3c0, b, sizeof(b));
	assert_int_equal(sscanf(a, "s48.%16llx.%llx.%llx@%n", &seed, &t, &n1, &used), 3);
	assert_string_equal(a + used, "example.org");
	assert_int_equal(t, 0x6925a3c0);
	assert_int_equal(strlen(a), used + strlen("example.org"));
	assert_int_equal(strspn(a + 4, "0123456789abcdef"), 16);
	snprintf(want, sizeof(want), "s48.%016llx.%llx.%llx@example.org", seed, t, n1);
	assert_string_equal(a, want);
	assert_int_equal(sscanf(b, "s48.%*16x.%*x.%llx@", &n2), 1);
	assert_int_equal(n2, n1 + 1);
	outbox_new_message_id_at(f->cfg, 0, a, sizeof(a));
	assert_int_equal(sscanf(a, "s48.%16llx.%llx.%llx@", &seed, &t, &n1), 3);
	assert_int_equal(t, 0);
	snprintf(want, sizeof(want), "s48.%016llx.0.%llx@example.org", seed, n1);
	assert_string_equal(a, want);
	outbox_new_message_id_at(f->cfg, 1, small, sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, "s48.", 4);
	outbox_new_message_id_at(NULL, 1, a, sizeof(a));
	assert_non_null(strstr(a, "@localhost"));
}

/* The acknowledgement's outbound message: an email's carries the outbox
 * Message-ID (replies name it), an SMS's none (nobody can name it). */
static void
test_outbound_message_ids(void **state)
{
	struct fx *f = *state;
	struct tickets_input in = { .channel = "email", .reporter = "ana@example.org",
		.subject = "Rupa", .text = "Pukla cev", .flags = TICKETS_F_AUTO };
	const char *err = NULL;
	long id = 0, sid, found = 0;
	char *v;

	assert_int_equal(tickets_create(&f->c, &in, &id, &err), 0);
	sid = new_sms(f, "+381641112222", "Pukla cev", TICKETS_F_AUTO);
	assert_int_equal(qint(f, "SELECT count(*) FROM messages WHERE ticket_id = ?1 AND "
	    "direction = 'out' AND message_id LIKE 's48.%@example.org'", id, NULL), 1);
	assert_int_equal(qint(f, "SELECT count(*) FROM messages WHERE ticket_id = ?1 AND "
	    "direction = 'out' AND message_id IS NULL", sid, NULL), 1);
	/* the SMS rows still have their ids, but no email names one */
	v = qtext(f, "SELECT message_id FROM outbox WHERE ticket_id = ?1 AND kind = 'sms_ack'",
	    sid, NULL);
	assert_non_null(v);
	assert_int_equal(tickets_find_by_message_id(f->st, v, &found, &err), TICKETS_ENOENT);
	free(v);
	v = qtext(f, "SELECT message_id FROM outbox WHERE ticket_id = ?1 AND kind = 'email_ack'",
	    id, NULL);
	assert_non_null(v);
	assert_int_equal(tickets_find_by_message_id(f->st, v, &found, &err), 0);
	assert_int_equal(found, id);
	free(v);
	/* statements reused with every value bound anew: nothing of the email
	 * before carries over to the SMS rows, nor of a ticket to the next */
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE ticket_id = ?1 AND "
	    "channel = 'sms' AND (subject IS NOT NULL OR in_reply_to IS NOT NULL OR "
	    "references_hdr IS NOT NULL OR reason IS NOT NULL)", sid, NULL), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE ticket_id = ?1 AND "
	    "(in_reply_to IS NOT NULL OR references_hdr IS NOT NULL)", sid, NULL), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE ticket_id = ?1 AND "
	    "channel = 'sms'", sid, NULL), 2);         /* the acknowledgement, water's SMS */
	assert_int_equal(qint(f, "SELECT count(*) FROM tickets WHERE id = ?1 AND message_id IS NULL "
	    "AND warn_at IS NOT NULL", sid, NULL), 1);
	assert_int_equal(qint(f, "SELECT count(*) FROM messages WHERE ticket_id = ?1 AND "
	    "raw_id IS NULL", sid, NULL), 2);
	in.flags = TICKETS_F_BACKLOG;
	in.message_id = "late@example.org";
	assert_int_equal(tickets_create(&f->c, &in, &id, &err), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM tickets WHERE id = ?1 AND warn_at IS NULL "
	    "AND backlog = 1", id, NULL), 1);
	sid = new_sms(f, "+381641112222", "Pukla cev opet", TICKETS_F_AUTO);
	assert_int_equal(qint(f, "SELECT count(*) FROM tickets WHERE id = ?1 AND message_id IS NULL "
	    "AND warn_at IS NOT NULL AND backlog = 0", sid, NULL), 1);
	assert_int_equal(qint(f, "SELECT count(*) FROM messages WHERE ticket_id = ?1 AND "
	    "direction = 'in' AND message_id IS NULL", sid, NULL), 1);
}

static void
test_channel_not_configured(void **state)
{
	struct fx *f = *state;
	struct tickets_input in = { .channel = "email", .reporter = "ana@example.org",
		.subject = "Rupa", .text = "Pukla cev", .flags = TICKETS_F_AUTO };
	const char *err = NULL;
	long id = 0;

	fx_free(&f);
	f = *state = fx_new(WITH_SMS, 10);                  /* no smtp */
	assert_int_equal(tickets_create(&f->c, &in, &id, &err), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE ticket_id = ?1 AND "
	    "status = 'failed' AND reason = 'channel not configured' AND channel = 'email'", id,
	    NULL), 3);                                      /* ack + 2 department mails */
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE ticket_id = ?1 AND "
	    "channel = 'sms' AND status = 'pending'", id, NULL), 1);   /* water's SMS */

	fx_free(&f);
	f = *state = fx_new(WITH_SMTP, 10);                 /* no sms */
	id = new_sms(f, "+381641112222", "Pukla cev", TICKETS_F_AUTO);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE ticket_id = ?1 AND "
	    "channel = 'sms' AND status = 'failed' AND reason = 'channel not configured'", id,
	    NULL), 2);                                      /* ack + water's SMS */
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE ticket_id = ?1 AND "
	    "channel = 'email' AND status = 'pending'", id, NULL), 2);
}

static void
test_rollback_leaves_nothing(void **state)
{
	struct fx *f = *state;
	const char *err = NULL;

	assert_int_equal(store_savepoint(f->st, "item", &err), 0);
	new_sms(f, "+381641112222", "Pukla cev", TICKETS_F_AUTO);
	assert_int_equal(store_rollback_to(f->st, "item", &err), 0);
	assert_int_equal(qint(f, "SELECT (SELECT count(*) FROM tickets) + (SELECT count(*) FROM "
	    "outbox) + (SELECT count(*) FROM events) + (SELECT count(*) FROM messages)", 0, NULL),
	    0);
}

static void
test_sms_subject(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "Pukla cev", "Pukla cev" },
		{ "  prvi red\ndrugi red", "prvi red" },
		{ "prvi red\r\ndrugi", "prvi red" },
		{ "", "" },
		{ "\n\n", "" },
		/* 60 characters exactly */
		{ "123456789 123456789 123456789 123456789 123456789 1234567890",
		  "123456789 123456789 123456789 123456789 123456789 1234567890" },
		/* 61: cut at the last word */
		{ "123456789 123456789 123456789 123456789 123456789 12345678901",
		  "123456789 123456789 123456789 123456789 123456789" },
		/* a word ends exactly at 60 */
		{ "123456789 123456789 123456789 123456789 123456789 1234567890 x",
		  "123456789 123456789 123456789 123456789 123456789 1234567890" },
		/* one long word is cut at 60 characters */
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
		/* characters, not bytes: 30 two-byte letters + space + 30 */
		{ "žžžžžžžžžžžžžžžžžžžžžžžžžžžžžž šššššššššššššššššššššššššššššš",
		  "žžžžžžžžžžžžžžžžžžžžžžžžžžžžžž" },
		{ "Ћирилица ради", "Ћирилица ради" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = tickets_sms_subject(cases[i].in);

		if (strcmp(s, cases[i].out) != 0)
			fail_msg("case %zu: got '%s', expected '%s'", i, s, cases[i].out);
		free(s);
	}
	{
		char *s = tickets_sms_subject(NULL);

		assert_string_equal(s, "");
		free(s);
	}
}

static void
test_status_helpers(void **state)
{
	(void)state;
	assert_true(tickets_status_valid("open"));
	assert_true(tickets_status_valid("in_progress"));
	assert_false(tickets_status_valid("closed"));
	assert_false(tickets_status_valid(NULL));
	assert_false(tickets_transition_allowed("open", "bogus"));
	assert_false(tickets_transition_allowed(NULL, "open"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_email, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_sms_and_explicit_dept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backlog_and_no_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_number_floor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transitions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_email_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_assign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append, setup, teardown),
		cmocka_unit_test_setup_teardown(test_daily_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_and_landline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_before_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbound_message_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_channel_not_configured, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback_leaves_nothing, setup, teardown),
		cmocka_unit_test(test_sms_subject),
		cmocka_unit_test(test_status_helpers),
	};

	log_init("test_tickets", LOG_LEVEL_WARN, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
