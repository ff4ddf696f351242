/*
 * test_ingest.c - the batch pipeline on a real SQLite file: idempotency,
 * all-or-nothing batches, cursors, backlog, every SMS command and the email
 * decisions (append, staff replies, automatic mail).
 */
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
#include "ingest.h"
#include "mime.h"
#include "router.h"
#include "sla.h"
#include "store.h"
#include "tickets.h"
#include "util.h"

#include "store_test.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* 2026-11-24 10:00:00 UTC, a Tuesday */
#define T0 ((time_t)1795514400)

#define CITIZEN_A "+381641000001"
#define CITIZEN_B "+381641000002"
#define STAFF_WATER "+381631112223"

struct fx {
	char dir[64];
	struct s48_config *cfg;
	struct store *st;
	struct router *rt;
	struct ingest_ctx ctx;
	int seq;
};

static const char conf_text[] =
    "database = \"s48.db\";\n"
    "secret_file = \"secret\";\n"
    "ticket_tag = \"S48\";\n"
    "log = { level = \"err\"; target = \"stderr\"; };\n"
    "imap = { host = \"127.0.0.1\"; port = 143; tls = \"none\";\n"
    "  user = \"prijave@example.org\"; password = \"pw\"; };\n"
    "smtp = { url = \"smtp://127.0.0.1:2525\"; tls = \"none\";\n"
    "  from = \"Sistem 48 <prijave@example.org>\"; };\n"
    "sms = { profile = \"infobip\"; base_url = \"http://127.0.0.1:9\";\n"
    "  api_key_file = \"sms.key\"; number = \"+381641234567\"; };\n"
    "departments = (\n"
    "  { id = \"water\"; name = \"Vodovod i kanalizacija\";\n"
    "    email = [\"vodovod@jkp.example.org\"]; staff_emails = [\"petar.petrovic@jkp.example.org\"];\n"
    "    staff_phones = [\"+381631112223\"];\n"
    "    keywords = [\"voda\", \"vodovod*\", \"cev\", \"cevi\", \"kanalizacij*\"]; },\n"
    "  { id = \"lighting\"; name = \"Javna rasveta\"; email = [\"rasveta@jkp.example.org\"];\n"
    "    staff_phones = [\"+381639998887\"];\n"
    "    keywords = [\"rasvet*\", \"sijalic*\", \"lampa\"]; },\n"
    "  { id = \"dispatch\"; name = \"Dispecerski centar\"; email = [\"dispecer@jkp.example.org\"];"
    " keywords = []; }\n"
    ");\n"
    "default_department = \"dispatch\";\n"
    "limits = { auto_replies_per_day = 50; };\n"
    "sla = { hours = 48; warn_hours = 8; timezone = \"Europe/Belgrade\"; };\n";

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char path[128];
	char *errors = NULL;

	ts_tmpdir(f->dir, sizeof(f->dir), "ingest");
	snprintf(path, sizeof(path), "%s/secret", f->dir);
	ts_write_file(path, "test-secret\n", 0600);
	snprintf(path, sizeof(path), "%s/sms.key", f->dir);
	ts_write_file(path, "key\n", 0600);
	snprintf(path, sizeof(path), "%s/s48.conf", f->dir);
	ts_write_file(path, conf_text, 0644);
	if (config_load(path, 0, &f->cfg, &errors) < 0) {
		fprintf(stderr, "config: %s\n", errors);
		free(errors);
		return -1;
	}
	free(f->cfg->secret);
	f->cfg->secret = xstrdup("test-secret");
	sla_use_timezone(f->cfg->sla.timezone);
	ts_open(f->cfg->database, &f->st);
	f->rt = router_new(f->cfg);
	f->ctx.st = f->st;
	f->ctx.cfg = f->cfg;
	f->ctx.rt = f->rt;
	setenv("S48_NOW", "1795514400", 1);
	mime_init();
	ingest_test_fail_at = -1;
	ingest_test_refuse_at = -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(&f->st);
	router_free(&f->rt);
	config_free(&f->cfg);
	if (ts_rmtree(f->dir) < 0)
		return -1;
	free(f);
	ingest_test_fail_at = -1;
	ingest_test_refuse_at = -1;
	return 0;
}

/* ---- database helpers (bound parameters) --------------------------------- */

/* One integer from sql with optional text parameters ?1 ?2 (NULL = unbound). */
static long
qint(struct fx *f, const char *sql, const char *p1, const char *p2)
{
	return (long)ts_qint(store_db(f->st), sql, p1, p2);
}

/* One string (caller frees, "" if no row). */
static char *
qstr(struct fx *f, const char *sql, const char *p1, const char *p2)
{
	return ts_qstr(store_db(f->st), sql, p1, p2);
}

static char *
lstr(long v)
{
	return xasprintf("%ld", v);
}

/* ---- items ---------------------------------------------------------------- */

static struct ingest_item
sms(struct fx *f, const char *from, const char *text, time_t at)
{
	struct ingest_item it;
	char key[64];

	memset(&it, 0, sizeof(it));
	snprintf(key, sizeof(key), "sms:infobip:%d", ++f->seq);
	it.channel = INGEST_SMS;
	it.source_key = xstrdup(key);
	it.raw = (const unsigned char *)text;
	it.raw_len = strlen(text);
	it.received_at = at;
	it.sms_from = from;
	it.sms_text = text;
	return it;
}

static struct ingest_item
mail(struct fx *f, const char *raw, time_t at)
{
	struct ingest_item it;
	char key[64];

	memset(&it, 0, sizeof(it));
	snprintf(key, sizeof(key), "imap:INBOX:1:%d", ++f->seq);
	it.channel = INGEST_EMAIL;
	it.source_key = xstrdup(key);
	it.raw = (const unsigned char *)raw;
	it.raw_len = strlen(raw);
	it.received_at = at;
	return it;
}

static void
item_free(struct ingest_item *it)
{
	free((char *)(uintptr_t)it->source_key);
	it->source_key = NULL;
}

/* Ingest one item alone; returns its outcome (ticket id in *id_r). */
static int
run1(struct fx *f, struct ingest_item it, long *id_r)
{
	const char *err = NULL;
	int rc = ingest_batch(&f->ctx, &it, 1, NULL, NULL, 0, &err);

	if (rc != 0)
		fail_msg("ingest_batch: %s", err);
	if (id_r != NULL)
		*id_r = it.ticket_id;
	item_free(&it);
	return it.outcome;
}

static int
run_sms(struct fx *f, const char *from, const char *text, time_t at, long *id_r)
{
	return run1(f, sms(f, from, text, at), id_r);
}

static int
run_mail(struct fx *f, const char *raw, long *id_r)
{
	return run1(f, mail(f, raw, T0), id_r);
}

/* outbox rows of kind to recipient */
static long
n_out(struct fx *f, const char *to, const char *kind)
{
	return qint(f, "SELECT count(*) FROM outbox WHERE recipient = ?1 AND kind = ?2", to, kind);
}

/* Newest outbox body of kind to recipient (caller frees). */
static char *
last_body(struct fx *f, const char *to, const char *kind)
{
	return qstr(f, "SELECT body FROM outbox WHERE recipient = ?1 AND kind = ?2 "
	    "ORDER BY id DESC LIMIT 1", to, kind);
}

static char *
status_of(struct fx *f, long id)
{
	char *s = lstr(id), *v = qstr(f, "SELECT status FROM tickets WHERE id = ?1", s, NULL);

	free(s);
	return v;
}

/* The text of sql (qstr) must be want. */
static void
assert_qstr(struct fx *f, const char *sql, const char *p1, const char *p2, const char *want)
{
	char *v = qstr(f, sql, p1, p2);

	assert_string_equal(v, want);
	free(v);
}

static void
assert_status(struct fx *f, long id, const char *want)
{
	char *v = status_of(f, id);

	assert_string_equal(v, want);
	free(v);
}

static long
n_tickets(struct fx *f)
{
	return qint(f, "SELECT count(*) FROM tickets", NULL, NULL);
}

static void
assert_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

static void
assert_lacks(const char *hay, const char *needle)
{
	if (strstr(hay, needle) != NULL)
		fail_msg("\"%s\" contains \"%s\"", hay, needle);
}

/* ---- batches -------------------------------------------------------------- */

static const char plain_mail[] =
    "From: Jovana Jovanovic <Jovana@Example.ORG>\r\n"
    "To: prijave@example.org\r\n"
    "Subject: Pukla cev\r\n"
    "Message-ID: <orig-1@example.org>\r\n"
    "Date: Tue, 24 Nov 2026 09:00:00 +0000\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Curi voda ispred zgrade u Ulici Kneza Milosa 12.\r\n";

static void
test_same_batch_twice(void **state)
{
	struct fx *f = *state;
	struct ingest_item it[4];
	const char *err = NULL;
	long tickets, outbox, raw;
	size_t i;

	it[0] = sms(f, CITIZEN_A, "Ne radi rasveta u parku", T0);
	it[1] = sms(f, CITIZEN_B, "Pukla cev kod skole", T0);
	it[2] = mail(f, plain_mail, T0);
	it[3] = sms(f, "Telenor", "Vas racun je spreman", T0);
	assert_int_equal(ingest_batch(&f->ctx, it, N(it), NULL, NULL, 0, &err), 0);
	assert_int_equal(it[0].outcome, INGEST_TICKET);
	assert_int_equal(it[1].outcome, INGEST_TICKET);
	assert_int_equal(it[2].outcome, INGEST_TICKET);
	assert_int_equal(it[3].outcome, INGEST_RECORDED);
	tickets = n_tickets(f);
	outbox = qint(f, "SELECT count(*) FROM outbox", NULL, NULL);
	raw = qint(f, "SELECT count(*) FROM raw_messages", NULL, NULL);
	assert_int_equal(tickets, 3);
	assert_int_equal(raw, 4);
	assert_true(outbox >= 6);      /* 3 acks + 3 department notifications */

	/* The same batch again (an intake that crashed before acknowledging). */
	assert_int_equal(ingest_batch(&f->ctx, it, N(it), NULL, NULL, 0, &err), 0);
	for (i = 0; i < N(it); i++) {
		assert_int_equal(it[i].outcome, INGEST_DUPLICATE);
		assert_int_equal(it[i].ticket_id, 0);
	}
	assert_int_equal(n_tickets(f), tickets);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox", NULL, NULL), outbox);
	assert_int_equal(qint(f, "SELECT count(*) FROM raw_messages", NULL, NULL), raw);
	/* Every raw row carries its outcome and the raw bytes. */
	assert_int_equal(qint(f, "SELECT count(*) FROM raw_messages WHERE outcome IS NULL "
	    "OR bytes IS NULL", NULL, NULL), 0);
	for (i = 0; i < N(it); i++)
		item_free(&it[i]);
}

static void
test_same_key_twice_in_one_batch(void **state)
{
	struct fx *f = *state;
	struct ingest_item it[2];
	const char *err = NULL;

	it[0] = sms(f, CITIZEN_A, "Ne radi rasveta", T0);
	it[1] = it[0];
	it[1].source_key = xstrdup(it[0].source_key);
	assert_int_equal(ingest_batch(&f->ctx, it, 2, NULL, NULL, 0, &err), 0);
	assert_int_equal(it[0].outcome, INGEST_TICKET);
	assert_int_equal(it[1].outcome, INGEST_DUPLICATE);
	assert_int_equal(n_tickets(f), 1);
	item_free(&it[0]);
	item_free(&it[1]);
}

/* A repeated key in a batch redone with savepoints (a refusal later in it):
 * the repeat's savepoint is released, nothing of it is written. */
static void
test_same_key_twice_with_savepoints(void **state)
{
	struct fx *f = *state;
	struct ingest_item it[3];
	const char *err = NULL;

	it[0] = sms(f, CITIZEN_A, "Ne radi rasveta", T0);
	it[1] = it[0];
	it[1].source_key = xstrdup(it[0].source_key);
	it[2] = sms(f, CITIZEN_B, "Pukla cev kod skole", T0);
	ingest_test_refuse_at = 2;
	assert_int_equal(ingest_batch(&f->ctx, it, 3, NULL, NULL, 0, &err), 0);
	ingest_test_refuse_at = -1;
	assert_int_equal(it[0].outcome, INGEST_TICKET);
	assert_int_equal(it[1].outcome, INGEST_DUPLICATE);
	assert_int_equal(it[1].ticket_id, 0);
	assert_int_equal(it[2].outcome, INGEST_TICKET);
	assert_int_equal(n_tickets(f), 2);
	assert_int_equal(qint(f, "SELECT count(*) FROM raw_messages", NULL, NULL), 2);
	assert_int_equal(n_out(f, CITIZEN_A, "sms_ack"), 1);
	item_free(&it[0]);
	item_free(&it[1]);
	item_free(&it[2]);
}

/*
 * Every raw row says what became of its message, whichever way it went: the
 * row is written once with the guess "a new ticket, the next id" and
 * corrected when the decision says otherwise.
 */
static void
test_raw_rows_say_what_happened(void **state)
{
	static const char auto_mail[] =
	    "From: Server <server@example.com>\r\n"
	    "To: prijave@example.org\r\n"
	    "Subject: Out of office\r\n"
	    "Auto-Submitted: auto-replied\r\n"
	    "\r\n"
	    "I am away.\r\n";
	static const char nofrom_mail[] =
	    "To: prijave@example.org\r\n"
	    "Subject: Rupa na putu\r\n"
	    "\r\n"
	    "Velika rupa na kolovozu.\r\n";
	struct fx *f = *state;
	struct ingest_item it[8];
	const char *err = NULL;
	char *v, *id;
	size_t i;

	it[0] = sms(f, CITIZEN_A, "Pukla cev kod skole", T0);
	it[1] = sms(f, CITIZEN_A, "Pukla cev kod skole", T0 + 60);
	it[2] = mail(f, plain_mail, T0);
	it[3] = sms(f, "Infobip", "Reklama", T0);
	it[4] = mail(f, auto_mail, T0);
	it[5] = mail(f, nofrom_mail, T0);
	it[6] = sms(f, CITIZEN_B, "Ne radi rasveta", T0);
	it[7] = sms(f, CITIZEN_B, "STATUS", T0);
	it[2].alt_key = "orig-1@example.org/0123abcd";
	assert_int_equal(ingest_batch(&f->ctx, it, N(it), NULL, NULL, 0, &err), 0);
	assert_int_equal(it[0].outcome, INGEST_TICKET);
	/* the same text again within 10 minutes: a duplicate (kept with the ticket) */
	assert_int_equal(it[1].outcome, INGEST_DUPLICATE);
	assert_int_equal(it[2].outcome, INGEST_TICKET);
	assert_int_equal(it[3].outcome, INGEST_RECORDED);
	assert_int_equal(it[4].outcome, INGEST_IGNORED);
	assert_int_equal(it[5].outcome, INGEST_TICKET);
	assert_int_equal(it[6].outcome, INGEST_TICKET);
	assert_int_equal(it[7].outcome, INGEST_COMMAND);
	for (i = 0; i < N(it); i++) {
		assert_qstr(f, "SELECT outcome FROM raw_messages WHERE source_key = ?1",
		    it[i].source_key, NULL, ingest_outcome_name(it[i].outcome));
		assert_int_equal(qint(f, "SELECT coalesce(ticket_id, 0) FROM raw_messages WHERE "
		    "source_key = ?1", it[i].source_key, NULL), it[i].ticket_id);
		if (it[i].outcome == INGEST_TICKET) {
			/* the ticket's first message names this raw row */
			id = lstr(it[i].ticket_id);
			assert_int_equal(qint(f, "SELECT count(*) FROM messages m JOIN raw_messages r "
			    "ON r.id = m.raw_id WHERE m.ticket_id = ?1 AND r.source_key = ?2", id,
			    it[i].source_key), 1);
			free(id);
		}
	}
	/* senders, dates and notes as the decisions found them */
	assert_qstr(f, "SELECT sender || ' ' || sent_at || ' ' || coalesce(note, '-') FROM "
	    "raw_messages WHERE source_key = ?1", it[0].source_key, NULL,
	    CITIZEN_A " 1795514400 -");
	assert_qstr(f, "SELECT note FROM raw_messages WHERE source_key = ?1", it[1].source_key,
	    NULL, "same text within 10 minutes");
	assert_qstr(f, "SELECT lower(sender) || ' ' || (sent_at > 0) || ' ' || coalesce(note, '-') "
	    "FROM raw_messages WHERE source_key = ?1", it[2].source_key, NULL,
	    "jovana@example.org 1 -");
	v = qstr(f, "SELECT sender || ' ' || note FROM raw_messages WHERE source_key = ?1",
	    it[3].source_key, NULL);
	assert_contains(v, "Infobip");
	assert_contains(v, "recorded only");
	free(v);
	v = qstr(f, "SELECT note FROM raw_messages WHERE source_key = ?1", it[4].source_key, NULL);
	assert_contains(v, "automatic");
	free(v);
	v = qstr(f, "SELECT coalesce(sender, '-') || ' ' || note FROM raw_messages WHERE "
	    "source_key = ?1", it[5].source_key, NULL);
	assert_contains(v, "- no usable From address");
	free(v);
	assert_int_equal(qint(f, "SELECT count(*) FROM raw_messages WHERE outcome = 'ticket'", NULL,
	    NULL), n_tickets(f));
	/* nothing of one row carries over to the next */
	assert_int_equal(qint(f, "SELECT count(*) FROM raw_messages WHERE alt_key IS NOT NULL", NULL,
	    NULL), 1);
	assert_int_equal(qint(f, "SELECT count(*) FROM raw_messages WHERE source_key = ?1 AND "
	    "alt_key IS NULL AND sender IS NULL", it[5].source_key, NULL), 1);
	assert_int_equal(qint(f, "SELECT count(*) FROM messages WHERE direction = 'out' AND "
	    "raw_id IS NOT NULL", NULL, NULL), 0);
	assert_true(qint(f, "SELECT count(*) FROM messages WHERE direction = 'out'", NULL, NULL) >= 3);
	for (i = 0; i < N(it); i++)
		item_free(&it[i]);
}

static void
test_alt_key(void **state)
{
	struct fx *f = *state;
	struct ingest_item a = mail(f, plain_mail, T0), b;
	long id;

	a.alt_key = "orig-1@example.org/0123abcd";
	assert_int_equal(run1(f, a, &id), INGEST_TICKET);
	/* The same message after a UIDVALIDITY change: new source key, same alt key. */
	b = mail(f, plain_mail, T0);
	free((char *)(uintptr_t)b.source_key);
	b.source_key = xstrdup("imap:INBOX:2:1");
	b.alt_key = "orig-1@example.org/0123abcd";
	assert_int_equal(run1(f, b, NULL), INGEST_DUPLICATE);
	assert_int_equal(n_tickets(f), 1);
	assert_int_equal(qint(f, "SELECT count(*) FROM raw_messages", NULL, NULL), 1);
	/* A different alt key under the new key is a new message. */
	b = mail(f, plain_mail, T0);
	b.alt_key = "orig-1@example.org/ffff";
	assert_int_equal(run1(f, b, NULL), INGEST_TICKET);
	assert_int_equal(qint(f, "SELECT count(*) FROM raw_messages", NULL, NULL), 2);
}

static void
test_failure_mid_batch_keeps_nothing(void **state)
{
	struct fx *f = *state;
	static const char *const keys[] = { "sms:infobip:cursor", "imap:INBOX:uidnext" };
	static const char *const vals[] = { "abc", "42" };
	struct ingest_item it[5];
	const char *err = NULL;
	char *v = NULL;
	size_t i;

	for (i = 0; i < N(it); i++)
		it[i] = i == 2 ? mail(f, plain_mail, T0) :
		    sms(f, i % 2 ? CITIZEN_A : CITIZEN_B, i % 2 ? "Pukla cev" : "Rupa na putu", T0);
	ingest_test_fail_at = 3;
	assert_int_equal(ingest_batch(&f->ctx, it, N(it), keys, vals, N(keys), &err), -1);
	assert_non_null(err);
	assert_contains(err, "disk I/O error");
	assert_false(store_in_transaction(f->st));
	assert_int_equal(qint(f, "SELECT count(*) FROM raw_messages", NULL, NULL), 0);
	assert_int_equal(n_tickets(f), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox", NULL, NULL), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM messages", NULL, NULL), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM events", NULL, NULL), 0);
	assert_int_equal(store_state_get(f->st, "sms:infobip:cursor", &v, &err), 1);

	/* The failure at the first item and the last too. */
	ingest_test_fail_at = 0;
	assert_int_equal(ingest_batch(&f->ctx, it, N(it), keys, vals, N(keys), &err), -1);
	ingest_test_fail_at = 4;
	assert_int_equal(ingest_batch(&f->ctx, it, N(it), keys, vals, N(keys), &err), -1);
	assert_int_equal(qint(f, "SELECT count(*) FROM raw_messages", NULL, NULL), 0);

	/* Retried without the fault: everything, with the cursors. */
	ingest_test_fail_at = -1;
	assert_int_equal(ingest_batch(&f->ctx, it, N(it), keys, vals, N(keys), &err), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM raw_messages", NULL, NULL), 5);
	assert_int_equal(n_tickets(f), 3);   /* the second copies are the same tickets */
	assert_int_equal(store_state_get(f->st, "sms:infobip:cursor", &v, &err), 0);
	assert_string_equal(v, "abc");
	free(v);
	assert_int_equal(store_state_get(f->st, "imap:INBOX:uidnext", &v, &err), 0);
	assert_string_equal(v, "42");
	free(v);
	for (i = 0; i < N(it); i++)
		item_free(&it[i]);
}

/* Many emails: parsed ahead on the second thread; a failure, a retry, a replay. */
static void
test_email_batch_parsed_ahead(void **state)
{
	struct fx *f = *state;
	struct ingest_item it[40];
	char *raws[40];
	const char *err = NULL;
	size_t i;

	for (i = 0; i < 40; i++) {
		raws[i] = xasprintf("From: gradjanin%zu@example.net\r\nSubject: Prijava %zu\r\n"
		    "Message-ID: <many.%zu@example.net>\r\n\r\n%s %zu\r\n", i % 7, i, i,
		    i % 2 ? "Pukla cev, curi voda" : "Ne radi rasveta", i);
		it[i] = mail(f, raws[i], T0);
	}
	ingest_test_fail_at = 25;
	assert_int_equal(ingest_batch(&f->ctx, it, 40, NULL, NULL, 0, &err), -1);
	assert_int_equal(qint(f, "SELECT count(*) FROM raw_messages", NULL, NULL), 0);
	ingest_test_fail_at = -1;
	assert_int_equal(ingest_batch(&f->ctx, it, 40, NULL, NULL, 0, &err), 0);
	for (i = 0; i < 40; i++) {
		char *s = lstr(it[i].ticket_id), *v;

		assert_int_equal(it[i].outcome, INGEST_TICKET);
		assert_qstr(f, "SELECT department FROM tickets WHERE id = ?1", s, NULL,
		    i % 2 ? "water" : "lighting");
		v = qstr(f, "SELECT subject FROM tickets WHERE id = ?1", s, NULL);
		free(s);
		s = xasprintf("Prijava %zu", i);
		assert_string_equal(v, s);
		free(v);
		free(s);
	}
	/* replayed: every one a duplicate (parsed ahead, never used) */
	assert_int_equal(ingest_batch(&f->ctx, it, 40, NULL, NULL, 0, &err), 0);
	for (i = 0; i < 40; i++) {
		assert_int_equal(it[i].outcome, INGEST_DUPLICATE);
		item_free(&it[i]);
		free(raws[i]);
	}
	assert_int_equal(n_tickets(f), 40);
}

/*
 * The route a new ticket gets is the same whether the parse thread routed
 * the email ahead (a batch of many) or tickets_create routed it (a batch of
 * one has no parse thread): subjects that outweigh the text, ties, Cyrillic,
 * RFC 2047 subjects, no keyword at all.
 */
static void
test_email_batch_routed_ahead(void **state)
{
	static const char *const subj[] = {
		"Rasveta", "=?UTF-8?B?0KDQsNGB0LLQtdGC0LA=?=", "Pukla cev", "Prijava",
		"Lampa", "",
	};
	static const char *const body[] = {
		"Curi voda", "\xd0\xb2\xd0\xbe\xd0\xb4\xd0\xb0 \xd1\x86\xd0\xb5\xd0\xb2",
		"ne radi sijalica", "Pukla cev, curi voda, lampa", "voda cev", "nista",
	};
	enum { NM = 36 };
	struct fx *f = *state;
	struct ingest_item it[NM];
	char *raws[NM];
	const char *err = NULL;
	size_t i;

	for (i = 0; i < NM; i++) {
		raws[i] = xasprintf("From: gradjanin%zu@example.net\r\nSubject: %s\r\n"
		    "Message-ID: <route.%zu@example.net>\r\n"
		    "Content-Type: text/plain; charset=utf-8\r\n\r\n%s %zu\r\n",
		    i, subj[i % N(subj)], i, body[(i / N(subj)) % N(body)], i);
		it[i] = mail(f, raws[i], T0);
	}
	assert_int_equal(ingest_batch(&f->ctx, it, NM, NULL, NULL, 0, &err), 0);
	for (i = 0; i < NM; i++) {
		struct ingest_item one;
		char *a, *b, *want, *got;

		assert_int_equal(it[i].outcome, INGEST_TICKET);
		/* the same mail again, alone (another Message-ID, another key) */
		free(raws[i]);
		raws[i] = xasprintf("From: gradjanin%zu@example.net\r\nSubject: %s\r\n"
		    "Message-ID: <route-alone.%zu@example.net>\r\n"
		    "Content-Type: text/plain; charset=utf-8\r\n\r\n%s %zu\r\n",
		    i, subj[i % N(subj)], i, body[(i / N(subj)) % N(body)], i);
		one = mail(f, raws[i], T0);
		assert_int_equal(ingest_batch(&f->ctx, &one, 1, NULL, NULL, 0, &err), 0);
		assert_int_equal(one.outcome, INGEST_TICKET);
		a = lstr(it[i].ticket_id);
		b = lstr(one.ticket_id);
		got = qstr(f, "SELECT department FROM tickets WHERE id = ?1", a, NULL);
		want = qstr(f, "SELECT department FROM tickets WHERE id = ?1", b, NULL);
		if (strcmp(got, want) != 0)
			fail_msg("mail %zu: routed ahead to %s, alone to %s", i, got, want);
		free(a);
		free(b);
		free(got);
		free(want);
		item_free(&one);
		item_free(&it[i]);
		free(raws[i]);
	}
	/* every department reached: the cases differ */
	assert_int_equal(qint(f, "SELECT count(DISTINCT department) FROM tickets", NULL, NULL), 3);
}

static void
test_cursor_only_batch(void **state)
{
	struct fx *f = *state;
	static const char *const keys[] = { "sms:generic:cursor" };
	static const char *const vals[] = { "c-17" };
	const char *err = NULL;
	char *v = NULL;

	assert_int_equal(ingest_batch(&f->ctx, NULL, 0, keys, vals, 1, &err), 0);
	assert_int_equal(store_state_get(f->st, "sms:generic:cursor", &v, &err), 0);
	assert_string_equal(v, "c-17");
	free(v);
	assert_int_equal(ingest_batch(&f->ctx, NULL, 0, NULL, NULL, 0, &err), 0);
}

static void
test_backlog_email(void **state)
{
	struct fx *f = *state;
	struct ingest_item it = mail(f, plain_mail, T0 - 30 * 86400);
	long id;
	char *s;

	it.backlog = 1;
	assert_int_equal(run1(f, it, &id), INGEST_TICKET);
	s = lstr(id);
	assert_int_equal(qint(f, "SELECT backlog FROM tickets WHERE id = ?1", s, NULL), 1);
	assert_int_equal(qint(f, "SELECT warn_at IS NULL FROM tickets WHERE id = ?1", s, NULL), 1);
	assert_int_equal(qint(f, "SELECT created_at FROM tickets WHERE id = ?1", s, NULL),
	    (long)(T0 - 30 * 86400));
	/* no acknowledgement, but the department knows */
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE recipient = ?1", "jovana@example.org",
	    NULL), 0);
	assert_int_equal(n_out(f, "vodovod@jkp.example.org", "dept_new"), 1);
	free(s);
}

static void
test_record_only_sms(void **state)
{
	struct fx *f = *state;
	struct ingest_item it = sms(f, CITIZEN_A, "Pukla cev", T0 - 10 * 86400);

	it.record_only = 1;
	assert_int_equal(run1(f, it, NULL), INGEST_RECORDED);
	assert_int_equal(n_tickets(f), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox", NULL, NULL), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM raw_messages WHERE outcome = 'recorded'",
	    NULL, NULL), 1);
}

static const char *attach_mail_fwd(void);

static void
test_refused_decision_becomes_plain_ticket(void **state)
{
	struct fx *f = *state;
	struct ingest_item it[3];
	const char *err = NULL;
	char *v, *s;
	size_t i;

	it[0] = sms(f, CITIZEN_A, "Pukla cev kod skole", T0);
	it[1] = mail(f, attach_mail_fwd(), T0);
	it[2] = sms(f, CITIZEN_B, "Ne radi rasveta", T0);
	ingest_test_refuse_at = 1;
	assert_int_equal(ingest_batch(&f->ctx, it, 3, NULL, NULL, 0, &err), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(it[i].outcome, INGEST_TICKET);
	s = lstr(it[1].ticket_id);
	/* what the decision wrote is gone: no routing, no attachment, no replies */
	assert_qstr(f, "SELECT department FROM tickets WHERE id = ?1", s, NULL, "dispatch");
	assert_int_equal(qint(f, "SELECT count(*) FROM attachments", NULL, NULL), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE recipient = ?1",
	    "milan@example.net", NULL), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM tickets", NULL, NULL), 3);
	assert_int_equal(qint(f, "SELECT count(*) FROM raw_messages", NULL, NULL), 3);
	v = qstr(f, "SELECT note FROM raw_messages WHERE ticket_id = ?1", s, NULL);
	assert_contains(v, "refused");
	free(v);
	assert_qstr(f, "SELECT reporter FROM tickets WHERE id = ?1", s, NULL, "milan@example.net");
	v = qstr(f, "SELECT subject || ' / ' || text FROM tickets WHERE id = ?1", s, NULL);
	assert_contains(v, "Ne radi javna rasveta / Ulica je u mraku");
	free(v);
	/* the neighbours are untouched */
	assert_int_equal(n_out(f, CITIZEN_A, "sms_ack"), 1);
	assert_int_equal(n_out(f, CITIZEN_B, "sms_ack"), 1);
	free(s);
	for (i = 0; i < 3; i++)
		item_free(&it[i]);
}

/* ---- SMS ------------------------------------------------------------------- */

static void
test_sms_new_ticket(void **state)
{
	struct fx *f = *state;
	long id;
	char *s, *v;

	assert_int_equal(run_sms(f, "064 100 0001", "Pukla cev u Ulici Kneza Milosa, voda "
	    "curi na sve strane vec dva sata", T0, &id), INGEST_TICKET);
	s = lstr(id);
	assert_qstr(f, "SELECT department FROM tickets WHERE id = ?1", s, NULL, "water");
	assert_qstr(f, "SELECT reporter FROM tickets WHERE id = ?1", s, NULL, CITIZEN_A);
	v = qstr(f, "SELECT subject FROM tickets WHERE id = ?1", s, NULL);
	assert_true(strlen(v) <= 60);
	assert_contains(v, "Pukla cev");
	free(v);
	assert_int_equal(n_out(f, CITIZEN_A, "sms_ack"), 1);
	assert_qstr(f, "SELECT sender FROM raw_messages WHERE ticket_id = ?1", s, NULL, CITIZEN_A);
	free(s);
}

static void
test_sms_status(void **state)
{
	struct fx *f = *state;
	long id, id2;
	char *b, num[16];

	assert_int_equal(run_sms(f, CITIZEN_A, "Pukla cev kod skole Sveti Sava", T0, &id),
	    INGEST_TICKET);
	snprintf(num, sizeof(num), "%ld", id);

	/* Another citizen asks: public facts only. */
	b = xasprintf("STATUS %ld", id);
	assert_int_equal(run_sms(f, CITIZEN_B, b, T0 + 60, NULL), INGEST_COMMAND);
	free(b);
	b = last_body(f, CITIZEN_B, "sms_query");
	assert_contains(b, num);
	assert_contains(b, "Vodovod");
	assert_lacks(b, "+38164");
	assert_lacks(b, "1000001");
	assert_lacks(b, "skole");
	free(b);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE recipient = ?1 AND "
	    "ticket_id IS NOT NULL", CITIZEN_B, NULL), 0);

	/* Cyrillic, "#N" form. */
	b = xasprintf("СТАЊЕ #%ld", id);
	assert_int_equal(run_sms(f, CITIZEN_B, b, T0 + 70, NULL), INGEST_COMMAND);
	free(b);
	assert_int_equal(n_out(f, CITIZEN_B, "sms_query"), 2);

	/* Unknown number. */
	assert_int_equal(run_sms(f, CITIZEN_B, "status 9999", T0 + 80, NULL), INGEST_COMMAND);
	b = last_body(f, CITIZEN_B, "sms_query");
	assert_contains(b, "9999");
	assert_contains(b, "ne postoji");
	free(b);

	/* Bare STATUS: the sender's latest ticket. */
	assert_int_equal(run_sms(f, CITIZEN_A, "Ne radi rasveta u parku", T0 + 90, &id2),
	    INGEST_TICKET);
	assert_int_equal(run_sms(f, CITIZEN_A, "STATUS", T0 + 100, NULL), INGEST_COMMAND);
	b = last_body(f, CITIZEN_A, "sms_query");
	snprintf(num, sizeof(num), "%ld", id2);
	assert_contains(b, num);
	assert_contains(b, "rasveta");
	free(b);
	assert_int_equal(run_sms(f, "+381641000003", "Stanje", T0 + 100, NULL), INGEST_COMMAND);
	b = last_body(f, "+381641000003", "sms_query");
	assert_contains(b, "nema prijava");
	free(b);
	assert_int_equal(n_tickets(f), 2);
}

static void
test_sms_stop_start(void **state)
{
	struct fx *f = *state;
	long id;

	assert_int_equal(run_sms(f, CITIZEN_A, "STOP", T0, NULL), INGEST_COMMAND);
	assert_int_equal(qint(f, "SELECT count(*) FROM sms_optout WHERE number = ?1", CITIZEN_A,
	    NULL), 1);
	assert_int_equal(n_out(f, CITIZEN_A, "stop_confirm"), 1);
	assert_int_equal(run_sms(f, CITIZEN_A, "стоп", T0 + 10, NULL), INGEST_COMMAND);
	assert_int_equal(n_out(f, CITIZEN_A, "stop_confirm"), 1);   /* confirmed once */
	/* stopped: the acknowledgement of a report is suppressed */
	assert_int_equal(run_sms(f, CITIZEN_A, "Pukla cev", T0 + 20, &id), INGEST_TICKET);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE recipient = ?1 AND kind = "
	    "'sms_ack' AND status = 'suppressed'", CITIZEN_A, NULL), 1);
	assert_int_equal(run_sms(f, CITIZEN_A, "START", T0 + 30, NULL), INGEST_COMMAND);
	assert_int_equal(qint(f, "SELECT count(*) FROM sms_optout", NULL, NULL), 0);
	assert_int_equal(n_out(f, CITIZEN_A, "start_confirm"), 1);
	assert_int_equal(run_sms(f, CITIZEN_A, "Start", T0 + 40, NULL), INGEST_COMMAND);
	assert_int_equal(n_out(f, CITIZEN_A, "start_confirm"), 1);
	/* START without STOP first: nothing */
	assert_int_equal(run_sms(f, CITIZEN_B, "START", T0 + 50, NULL), INGEST_COMMAND);
	assert_int_equal(n_out(f, CITIZEN_B, "start_confirm"), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE status = 'pending' AND "
	    "kind IN ('stop_confirm', 'start_confirm')", NULL, NULL), 2);
}

static void
test_sms_append(void **state)
{
	struct fx *f = *state;
	long id, id2;
	char *b, *s;

	assert_int_equal(run_sms(f, CITIZEN_A, "Pukla cev", T0, &id), INGEST_TICKET);
	s = lstr(id);
	b = xasprintf("#%ld i dalje curi voda", id);
	assert_int_equal(run_sms(f, CITIZEN_A, b, T0 + 3600, &id2), INGEST_APPEND);
	assert_int_equal(id2, id);
	assert_int_equal(qint(f, "SELECT count(*) FROM messages WHERE ticket_id = ?1 AND "
	    "direction = 'in'", s, NULL), 2);
	assert_int_equal(qint(f, "SELECT count(*) FROM messages WHERE ticket_id = ?1 AND "
	    "text = 'i dalje curi voda'", s, NULL), 1);
	assert_int_equal(n_out(f, "vodovod@jkp.example.org", "dept_append"), 1);
	/* the same from a stranger: a new ticket */
	assert_int_equal(run_sms(f, CITIZEN_B, b, T0 + 3700, &id2), INGEST_TICKET);
	assert_true(id2 != id);
	assert_int_equal(qint(f, "SELECT count(*) FROM messages WHERE ticket_id = ?1 AND "
	    "direction = 'in'", s, NULL), 2);
	free(b);
	/* "#N" of a ticket that does not exist: a new ticket */
	assert_int_equal(run_sms(f, CITIZEN_A, "#777 rupa na putu", T0 + 3800, &id2),
	    INGEST_TICKET);
	assert_int_equal(n_tickets(f), 3);
	free(s);
}

static void
test_sms_same_text_within_10_minutes(void **state)
{
	struct fx *f = *state;
	long id, id2, id3;

	assert_int_equal(run_sms(f, CITIZEN_A, "Ne radi rasveta u Ulici Cara Dusana", T0, &id),
	    INGEST_TICKET);
	/* same text normalised (case, diacritics, Cyrillic, punctuation) */
	assert_int_equal(run_sms(f, CITIZEN_A, "  НЕ РАДИ расвета у улици Цара Душана!! ",
	    T0 + 300, &id2), INGEST_DUPLICATE);
	assert_int_equal(id2, id);
	/* recorded: its text is with the ticket, its raw row says duplicate */
	{
		char *ids = lstr(id);

		assert_int_equal(qint(f, "SELECT count(*) FROM messages WHERE ticket_id = ?1 AND "
		    "direction = 'in'", ids, NULL), 2);
		assert_int_equal(qint(f, "SELECT count(*) FROM raw_messages WHERE ticket_id = ?1 AND "
		    "outcome = 'duplicate' AND note = 'same text within 10 minutes'", ids, NULL), 1);
		free(ids);
	}
	assert_int_equal(n_out(f, CITIZEN_A, "sms_ack"), 1);
	assert_int_equal(n_out(f, "rasveta@jkp.example.org", "dept_append"), 0);
	/* another number with the same text is another report */
	assert_int_equal(run_sms(f, CITIZEN_B, "Ne radi rasveta u Ulici Cara Dusana", T0 + 310,
	    &id3), INGEST_TICKET);
	/* more than 10 minutes after the last copy: a new ticket */
	assert_int_equal(run_sms(f, CITIZEN_A, "Ne radi rasveta u Ulici Cara Dusana",
	    T0 + 300 + 601, &id3), INGEST_TICKET);
	assert_true(id3 != id);
	assert_int_equal(n_out(f, CITIZEN_A, "sms_ack"), 2);
	assert_int_equal(n_tickets(f), 3);
}

/* Group commit (store.h): with defer_sync the batch commits with
 * synchronous = NORMAL and the connection is FULL again afterwards, also
 * after a failed batch; store_wal_sync makes the WAL durable from its path. */
static void
test_group_commit(void **state)
{
	struct fx *f = *state;
	struct ingest_item it[2];
	const char *err = NULL;
	char path[200], path2[200];

	f->ctx.defer_sync = 1;
	assert_int_equal(qint(f, "PRAGMA synchronous", NULL, NULL), 2);
	it[0] = sms(f, CITIZEN_A, "Pukla cev u Dunavskoj", T0);
	it[1] = sms(f, CITIZEN_B, "Rupa na putu", T0);
	ingest_test_fail_at = 1;
	assert_int_equal(ingest_batch(&f->ctx, it, 2, NULL, NULL, 0, &err), -1);
	assert_int_equal(qint(f, "PRAGMA synchronous", NULL, NULL), 2);
	assert_int_equal(n_tickets(f), 0);
	ingest_test_fail_at = -1;
	assert_int_equal(ingest_batch(&f->ctx, it, 2, NULL, NULL, 0, &err), 0);
	assert_int_equal(qint(f, "PRAGMA synchronous", NULL, NULL), 2);
	assert_int_equal(n_tickets(f), 2);
	item_free(&it[0]);
	item_free(&it[1]);

	/* the WAL of the open database, from its path */
	snprintf(path, sizeof(path), "%s-wal", f->cfg->database);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(store_wal_sync(f->cfg->database, &err), 0);
	/* no WAL: nothing to do */
	snprintf(path, sizeof(path), "%s/none.db", f->dir);
	assert_int_equal(store_wal_sync(path, &err), 0);
	/* a WAL that cannot be opened: an error naming it */
	snprintf(path, sizeof(path), "%s/loop.db", f->dir);
	snprintf(path2, sizeof(path2), "%s/loop.db-wal", f->dir);
	assert_int_equal(symlink(path2, path2), 0);
	err = NULL;
	assert_int_equal(store_wal_sync(path, &err), -1);
	assert_non_null(err);
	assert_contains(err, "loop.db-wal");
	f->ctx.defer_sync = 0;
}

static void
test_sms_empty_help(void **state)
{
	struct fx *f = *state;
	static const char *const empties[] = { "", "   ", "\r\n\t " };
	size_t i;

	for (i = 0; i < N(empties); i++)
		assert_int_equal(run_sms(f, CITIZEN_A, empties[i], T0 + (time_t)i, NULL),
		    INGEST_COMMAND);
	assert_int_equal(n_out(f, CITIZEN_A, "sms_help"), 3);
	assert_int_equal(n_tickets(f), 0);
}

static void
test_sms_senders_recorded_only(void **state)
{
	struct fx *f = *state;
	static const char *const senders[] = { "Telenor", "BANKA", "1234", "88088", "", "+-" };
	size_t i;

	for (i = 0; i < N(senders); i++)
		assert_int_equal(run_sms(f, senders[i], "Pukla cev, hitno!", T0, NULL),
		    INGEST_RECORDED);
	assert_int_equal(n_tickets(f), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox", NULL, NULL), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM raw_messages WHERE outcome = 'recorded'",
	    NULL, NULL), (long)N(senders));
}

static void
test_sms_invalid_utf8(void **state)
{
	struct fx *f = *state;
	long id;
	char *s, *v;

	assert_int_equal(run_sms(f, CITIZEN_A, "Pukla \xff\xfe cev \xc3", T0, &id), INGEST_TICKET);
	s = lstr(id);
	v = qstr(f, "SELECT text FROM tickets WHERE id = ?1", s, NULL);
	assert_contains(v, "Pukla");
	assert_contains(v, "\xef\xbf\xbd");
	free(v);
	free(s);
}

static void
test_staff_sms(void **state)
{
	struct fx *f = *state;
	long wid, lid, id;
	char *b, *s;

	/* a water ticket reported by email */
	assert_int_equal(run_mail(f, plain_mail, &wid), INGEST_TICKET);
	assert_int_equal(run_sms(f, CITIZEN_A, "Ne radi rasveta", T0, &lid), INGEST_TICKET);
	s = lstr(wid);
	assert_qstr(f, "SELECT department FROM tickets WHERE id = ?1", s, NULL, "water");

	b = xasprintf("#%ld resolved zamenjena cev", wid);
	assert_int_equal(run_sms(f, "063 111 2223", b, T0 + 60, &id), INGEST_STAFF);
	free(b);
	assert_int_equal(id, wid);
	assert_status(f, wid, "resolved");
	/* the citizen hears it by email, with the note */
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE recipient = ?1 AND "
	    "channel = 'email' AND kind = 'email_status' AND body LIKE '%zamenjena cev%'",
	    "jovana@example.org", NULL), 1);
	b = last_body(f, STAFF_WATER, "staff_reply");
	assert_contains(b, s);
	free(b);
	assert_int_equal(n_out(f, STAFF_WATER, "staff_reply"), 1);

	/* a refused transition: resolved -> resolved */
	b = xasprintf("#%ld resolved", wid);
	assert_int_equal(run_sms(f, STAFF_WATER, b, T0 + 120, NULL), INGEST_STAFF);
	free(b);
	b = last_body(f, STAFF_WATER, "staff_reply");
	assert_contains(b, "nije promenjena");
	/* in Serbian, with the status label, not "resolved -> resolved is not allowed" */
	assert_contains(b, "vec je resena");
	assert_null(strstr(b, "not allowed"));
	free(b);
	assert_int_equal(n_out(f, STAFF_WATER, "staff_reply"), 2);
	/* resolved -> rejected is not a transition; an unknown department */
	b = xasprintf("#%ld rejected", wid);
	assert_int_equal(run_sms(f, STAFF_WATER, b, T0 + 130, NULL), INGEST_STAFF);
	b = (free(b), last_body(f, STAFF_WATER, "staff_reply"));
	assert_contains(b, "promena resena -> odbijena nije dozvoljena.");
	b = (free(b), xasprintf("#%ld assign parking", wid));
	assert_int_equal(run_sms(f, STAFF_WATER, b, T0 + 140, NULL), INGEST_STAFF);
	b = (free(b), last_body(f, STAFF_WATER, "staff_reply"));
	assert_contains(b, "nepoznata sluzba parking.");
	free(b);
	assert_status(f, wid, "resolved");

	/* a ticket of another department: refused, unchanged */
	b = xasprintf("#%ld in_progress", lid);
	assert_int_equal(run_sms(f, STAFF_WATER, b, T0 + 180, NULL), INGEST_STAFF);
	assert_status(f, lid, "open");
	b = (free(b), last_body(f, STAFF_WATER, "staff_reply"));
	assert_contains(b, "nadleznosti");
	free(b);
	/* no such ticket */
	assert_int_equal(run_sms(f, STAFF_WATER, "#4242 resolved", T0 + 200, NULL), INGEST_STAFF);
	b = last_body(f, STAFF_WATER, "staff_reply");
	assert_contains(b, "ne postoji");
	free(b);

	/* the same command from a number that is not a staff phone: a new report */
	b = xasprintf("#%ld in_progress", lid);
	assert_int_equal(run_sms(f, CITIZEN_B, b, T0 + 240, &id), INGEST_TICKET);
	free(b);
	assert_true(id != lid);
	assert_status(f, lid, "open");
	/* the lighting staff phone may change its own ticket */
	b = xasprintf("#%ld in_progress ekipa krenula", lid);
	assert_int_equal(run_sms(f, "+381639998887", b, T0 + 300, NULL), INGEST_STAFF);
	free(b);
	assert_status(f, lid, "in_progress");
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE recipient = ?1 AND kind = "
	    "'sms_status'", CITIZEN_A, NULL), 1);
	free(s);
}

/*
 * A staff phone that also reported tickets (a water foreman who reported a
 * leak at home and a dark street): "#N text" to a ticket he reported adds
 * to it like any reporter's (SPEC 3), and "#N" alone asks about it; a staff
 * command for his own department's ticket stays a command, and what he
 * sends about tickets he did not report is refused as before.
 */
static void
test_staff_phone_reporter(void **state)
{
	struct fx *f = *state;
	long wid, lid, oid, id;
	struct {
		const char *fmt;        /* %ld: the ticket */
		long *ticket;
		int outcome;
		const char *status;     /* the ticket's status after it */
		const char *dept;       /* its department mail (dept_append) */
		long appends;           /* dept_append rows to dept after it */
		const char *refusal;    /* in the staff reply, or NULL for none new */
	} cases[] = {
		{ "#%ld i dalje curi", &wid, INGEST_APPEND, "open", "vodovod@jkp.example.org", 1,
		  NULL },
		{ "#%ld: jos uvek ne radi", &lid, INGEST_APPEND, "open", "rasveta@jkp.example.org",
		  1, NULL },
		/* a status word for another department's ticket he reported: his text */
		{ "#%ld resolved sama se upalila", &lid, INGEST_APPEND, "open",
		  "rasveta@jkp.example.org", 2, NULL },
		{ "#%ld", &lid, INGEST_COMMAND, "open", "rasveta@jkp.example.org", 2, NULL },
		/* his own department's ticket: the staff command */
		{ "#%ld in_progress ekipa stize", &wid, INGEST_STAFF, "in_progress",
		  "vodovod@jkp.example.org", 1, NULL },
		/* a ticket he did not report: refused as before */
		{ "#%ld i dalje curi", &oid, INGEST_STAFF, "open", "vodovod@jkp.example.org", 1,
		  "nije prepoznata" },
		{ "#%ld", &oid, INGEST_STAFF, "open", "vodovod@jkp.example.org", 1,
		  "nije prepoznata" },
	};
	long replies = 0;
	size_t i;

	assert_int_equal(run_sms(f, STAFF_WATER, "Curi voda iz cevi u mom dvoristu", T0, &wid),
	    INGEST_TICKET);
	assert_int_equal(run_sms(f, STAFF_WATER, "Ne radi rasveta ispred moje kuce", T0 + 10,
	    &lid), INGEST_TICKET);
	assert_int_equal(run_sms(f, CITIZEN_A, "Pukla cev kod skole", T0 + 20, &oid),
	    INGEST_TICKET);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = xasprintf(cases[i].fmt, *cases[i].ticket), *b;
		long n = n_tickets(f);
		int got = run_sms(f, STAFF_WATER, text, T0 + 60 + (time_t)i * 60, &id);

		if (got != cases[i].outcome)
			fail_msg("case %zu '%s': outcome %d, not %d", i, text, got,
			    cases[i].outcome);
		assert_int_equal(n_tickets(f), n);
		assert_status(f, *cases[i].ticket, cases[i].status);
		assert_int_equal(n_out(f, cases[i].dept, "dept_append"), cases[i].appends);
		if (cases[i].refusal != NULL) {
			b = last_body(f, STAFF_WATER, "staff_reply");
			assert_contains(b, cases[i].refusal);
			free(b);
			replies++;
		} else if (cases[i].outcome == INGEST_STAFF) {
			replies++;      /* the confirmation */
		}
		assert_int_equal(n_out(f, STAFF_WATER, "staff_reply"), replies);
		free(text);
	}
	/* his texts are in the tickets he reported */
	{
		char *w = lstr(wid), *l = lstr(lid);

		assert_int_equal(qint(f, "SELECT count(*) FROM messages WHERE ticket_id = ?1 AND "
		    "direction = 'in' AND text = 'i dalje curi'", w, NULL), 1);
		assert_int_equal(qint(f, "SELECT count(*) FROM messages WHERE ticket_id = ?1 AND "
		    "direction = 'in' AND text IN ('jos uvek ne radi', 'resolved sama se upalila')",
		    l, NULL), 2);
		free(w);
		free(l);
	}
	assert_int_equal(n_out(f, STAFF_WATER, "sms_query"), 1);
}

/* ---- email ----------------------------------------------------------------- */

static const char attach_mail[] =
    "From: \"Milan M.\" <milan@example.net>\r\n"
    "To: prijave@example.org\r\n"
    "Subject: =?UTF-8?Q?Ne_radi_javna_rasveta?=\r\n"
    "Message-ID: <att-1@example.net>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
    "\r\n"
    "--XX\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Ulica je u mraku, pregorela sijalica na banderi.\r\n"
    "--XX\r\n"
    "Content-Type: image/jpeg; name=\"slika.jpg\"\r\n"
    "Content-Disposition: attachment; filename=\"slika.jpg\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "aGVsbG8gd29ybGQ=\r\n"
    "--XX--\r\n";

static const char *
attach_mail_fwd(void)
{
	return attach_mail;
}

static void
test_email_new_ticket_with_attachment(void **state)
{
	struct fx *f = *state;
	char sha[65], *s;
	long id;

	assert_int_equal(run_mail(f, attach_mail, &id), INGEST_TICKET);
	s = lstr(id);
	assert_qstr(f, "SELECT department FROM tickets WHERE id = ?1", s, NULL, "lighting");
	assert_qstr(f, "SELECT subject FROM tickets WHERE id = ?1", s, NULL,
	    "Ne radi javna rasveta");
	assert_qstr(f, "SELECT reporter FROM tickets WHERE id = ?1", s, NULL, "milan@example.net");
	assert_qstr(f, "SELECT message_id FROM tickets WHERE id = ?1", s, NULL,
	    "att-1@example.net");
	util_sha256_hex("hello world", 11, sha);
	assert_int_equal(qint(f, "SELECT count(*) FROM attachments WHERE ticket_id = ?1 AND "
	    "filename = 'slika.jpg' AND size = 11 AND sha256 = ?2 AND CAST(content AS TEXT) = 'hello world' "
	    "AND content_type = 'image/jpeg'", s, sha), 1);
	assert_int_equal(n_out(f, "milan@example.net", "email_ack"), 1);
	assert_int_equal(n_out(f, "rasveta@jkp.example.org", "dept_new"), 1);
	assert_qstr(f, "SELECT sender FROM raw_messages WHERE ticket_id = ?1", s, NULL,
	    "milan@example.net");
	free(s);
}

/* A reply from the reporter or a stranger, with the given subject and headers. */
static char *
reply_mail(const char *from, const char *subject, const char *extra, const char *body)
{
	return xasprintf("From: %s\r\nTo: prijave@example.org\r\nSubject: %s\r\n%s"
	    "Content-Type: text/plain; charset=utf-8\r\n\r\n%s", from, subject, extra, body);
}

/* A reply (reply_mail) ingested alone: its outcome must be want (ticket id
 * in *id_r). */
static void
expect_reply(struct fx *f, int want, const char *from, const char *subject, const char *extra,
    const char *body, long *id_r)
{
	char *m = reply_mail(from, subject, extra, body);
	int o = run_mail(f, m, id_r);

	if (o != want)
		fail_msg("reply from %s \"%s\": %s, want %s", from, subject, ingest_outcome_name(o),
		    ingest_outcome_name(want));
	free(m);
}

static void
test_email_append(void **state)
{
	struct fx *f = *state;
	long id, id2;
	char *subj, *s, *ackid, *hdr;

	assert_int_equal(run_mail(f, plain_mail, &id), INGEST_TICKET);
	s = lstr(id);

	/* by tag, from the reporter (reply prefixes, any case) */
	subj = xasprintf("RE: Odg: [s48 #%ld] Pukla cev", id);
	expect_reply(f, INGEST_APPEND, "jovana@example.org", subj, "",
	    "Jos uvek curi.\r\n\r\nOn Tue, Jovana wrote:\r\n> Curi voda ispred zgrade\r\n", &id2);
	assert_int_equal(id2, id);
	assert_int_equal(qint(f, "SELECT count(*) FROM messages WHERE ticket_id = ?1 AND "
	    "direction = 'in' AND text LIKE '%Jos uvek curi%' AND text NOT LIKE '%> Curi%'", s,
	    NULL), 1);
	assert_int_equal(n_out(f, "vodovod@jkp.example.org", "dept_append"), 1);

	/* by In-Reply-To the acknowledgement we sent */
	ackid = qstr(f, "SELECT message_id FROM outbox WHERE kind = 'email_ack' AND ticket_id = ?1",
	    s, NULL);
	assert_true(ackid[0] != '\0');
	hdr = xasprintf("In-Reply-To: <%s>\r\n", ackid);
	expect_reply(f, INGEST_APPEND, "Jovana <jovana@example.org>", "Re: Hvala", hdr,
	    "Evo slike.\r\n", &id2);
	assert_int_equal(id2, id);
	free(hdr);
	/* by References naming the citizen's first message */
	expect_reply(f, INGEST_APPEND, "jovana@example.org", "Jos nesto",
	    "References: <x@y> <orig-1@example.org>\r\n", "Treci put.\r\n", &id2);
	assert_int_equal(id2, id);

	/* a stranger with the tag or the thread: a new ticket */
	expect_reply(f, INGEST_TICKET, "komsija@example.com", subj, "", "I kod mene curi.\r\n",
	    &id2);
	assert_true(id2 != id);
	{
		/* its own number only: neither ticket 1's tag nor the
		 * prefixes before it in its subject and its acknowledgement */
		char *s2 = lstr(id2), *want = xasprintf("Re: [S48 #%ld] Pukla cev", id2), *got;

		got = qstr(f, "SELECT subject FROM tickets WHERE id = ?1", s2, NULL);
		assert_string_equal(got, "Pukla cev");
		free(got);
		got = qstr(f, "SELECT subject FROM outbox WHERE ticket_id = ?1 AND "
		    "kind = 'email_ack'", s2, NULL);
		assert_string_equal(got, want);
		free(got);
		free(want);
		free(s2);
	}
	hdr = xasprintf("In-Reply-To: <%s>\r\n", ackid);
	expect_reply(f, INGEST_TICKET, "komsija@example.com", "Re: Hvala", hdr, "Opet.\r\n", &id2);
	free(hdr);
	{
		/* a new ticket's title without reply or forward prefixes */
		static const struct {
			const char *subject, *title;
		} cases[] = {
			{ "Fwd: Psi lutalice u parku", "Psi lutalice u parku" },
			{ "RE: Odg: Prosl: Rupa na putu", "Rupa na putu" },
			{ "Fwd:", "Fwd:" },
			{ "Refund: nije prefiks", "Refund: nije prefiks" },
		};
		size_t k;

		for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
			char *s2, *got;
			long id3;

			expect_reply(f, INGEST_TICKET, "treci@example.com", cases[k].subject, "",
			    "Nova prijava.\r\n", &id3);
			s2 = lstr(id3);
			got = qstr(f, "SELECT subject FROM tickets WHERE id = ?1", s2, NULL);
			assert_string_equal(got, cases[k].title);
			free(got);
			free(s2);
		}
	}
	/* the tag of a ticket that does not exist: a new ticket */
	expect_reply(f, INGEST_TICKET, "jovana@example.org", "Re: [S48 #999] Pukla cev", "",
	    "Hm.\r\n", &id2);
	assert_int_equal(qint(f, "SELECT count(*) FROM messages WHERE ticket_id = ?1 AND "
	    "direction = 'in'", s, NULL), 4);
	assert_int_equal(n_tickets(f), 8);
	free(subj);
	free(ackid);
	free(s);
}

static void
test_email_automatic_ignored(void **state)
{
	struct fx *f = *state;
	static const char *const autos[] = {
	    "From: someone@example.com\r\nAuto-Submitted: auto-replied\r\nSubject: Odsutan\r\n\r\nNisam tu.\r\n",
	    "From: MAILER-DAEMON@mx.example.com\r\nSubject: Undelivered Mail\r\n\r\nbounce\r\n",
	    "From: postmaster@example.com\r\nSubject: Delivery failure\r\n\r\nbounce\r\n",
	    "Return-Path: <>\r\nFrom: someone@example.com\r\nSubject: x\r\n\r\nvoda\r\n",
	    "From: list@example.com\r\nPrecedence: bulk\r\nSubject: Newsletter\r\n\r\nvoda\r\n",
	    "From: list@example.com\r\nList-Id: <news.example.com>\r\nSubject: N\r\n\r\nvoda\r\n",
	    "From: Sistem 48 <prijave@example.org>\r\nSubject: Re: [S48 #1] x\r\n\r\nvoda\r\n",
	    "From: x@example.com\r\nX-S48-Loop: yes\r\nSubject: loop\r\n\r\nvoda\r\n",
	    "From: x@example.com\r\nX-Autoreply: yes\r\nSubject: auto\r\n\r\nvoda\r\n",
	};
	size_t i;

	for (i = 0; i < N(autos); i++) {
		int o = run_mail(f, autos[i], NULL);

		if (o != INGEST_IGNORED)
			fail_msg("automatic mail %zu: outcome %s", i, ingest_outcome_name(o));
	}
	assert_int_equal(n_tickets(f), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox", NULL, NULL), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM raw_messages WHERE outcome = 'ignored' "
	    "AND note LIKE 'automatic:%'", NULL, NULL), (long)N(autos));
	/* Return-Path with an address and no Auto-Submitted is a citizen */
	assert_int_equal(run_mail(f, "Return-Path: <a@example.com>\r\nFrom: a@example.com\r\n"
	    "Subject: voda\r\n\r\ncuri voda\r\n", NULL), INGEST_TICKET);
}

static char *
staff_subject(struct fx *f, long id, int good)
{
	char tok[17];

	util_staff_token(f->cfg->secret, id, tok);
	if (!good)
		tok[0] = tok[0] == 'a' ? 'b' : 'a';
	return xasprintf("Re: [S48 #%ld/%s] Nova prijava: Pukla cev", id, tok);
}

static void
test_email_staff_reply(void **state)
{
	struct fx *f = *state;
	long id, id2, nout;
	char *subj, *bad, *v, *s;

	assert_int_equal(run_mail(f, plain_mail, &id), INGEST_TICKET);
	s = lstr(id);
	subj = staff_subject(f, id, 1);
	bad = staff_subject(f, id, 0);

	/* a bad token: nothing, no reply */
	nout = qint(f, "SELECT count(*) FROM outbox", NULL, NULL);
	expect_reply(f, INGEST_IGNORED, "petar.petrovic@jkp.example.org", bad, "", "#resolved\r\n",
	    NULL);
	assert_status(f, id, "open");
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox", NULL, NULL), nout);

	/* valid token, sender not of the department: refused with one email */
	expect_reply(f, INGEST_STAFF, "rasveta@jkp.example.org", subj, "", "#resolved\r\n", NULL);
	assert_status(f, id, "open");
	assert_int_equal(n_out(f, "rasveta@jkp.example.org", "staff_reply"), 1);
	v = qstr(f, "SELECT subject FROM outbox WHERE kind = 'staff_reply'", NULL, NULL);
	assert_true(strncmp(v, "Re: [S48", 8) == 0);
	free(v);

	/* valid token, staff address: the command, quotes below ignored */
	expect_reply(f, INGEST_STAFF, "Petar <Petar.Petrovic@jkp.example.org>", subj, "",
	    "\r\n#in_progress ekipa na terenu\r\n\r\n> #rejected\r\n", &id2);
	assert_int_equal(id2, id);
	assert_status(f, id, "in_progress");
	assert_int_equal(n_out(f, "petar.petrovic@jkp.example.org", "staff_reply"), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE recipient = ?1 AND kind = "
	    "'email_status' AND body LIKE '%ekipa na terenu%'", "jovana@example.org", NULL), 1);

	/* a refused command: one email saying why */
	expect_reply(f, INGEST_STAFF, "vodovod@jkp.example.org", subj, "", "#in_progress\r\n",
	    NULL);
	assert_int_equal(n_out(f, "vodovod@jkp.example.org", "staff_reply"), 1);
	v = last_body(f, "vodovod@jkp.example.org", "staff_reply");
	assert_contains(v, "in_progress");
	free(v);

	/* other text: an internal note, nothing to the citizen */
	nout = qint(f, "SELECT count(*) FROM outbox WHERE recipient = ?1", "jovana@example.org",
	    NULL);
	expect_reply(f, INGEST_STAFF, "vodovod@jkp.example.org", subj, "",
	    "Zvali smo stanara, dolaze sutra.\r\n", NULL);
	assert_int_equal(qint(f, "SELECT count(*) FROM events WHERE ticket_id = ?1 AND kind = "
	    "'note' AND note LIKE 'Zvali smo%' AND public = 0", s, NULL), 1);
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE recipient = ?1",
	    "jovana@example.org", NULL), nout);

	/* #assign */
	expect_reply(f, INGEST_STAFF, "petar.petrovic@jkp.example.org", subj, "",
	    "#assign lighting\r\n", NULL);
	assert_qstr(f, "SELECT department FROM tickets WHERE id = ?1", s, NULL, "lighting");
	/* now water's staff is no longer allowed */
	expect_reply(f, INGEST_STAFF, "petar.petrovic@jkp.example.org", subj, "", "#resolved\r\n",
	    NULL);
	assert_status(f, id, "in_progress");
	assert_int_equal(n_out(f, "petar.petrovic@jkp.example.org", "staff_reply"), 1);
	free(subj);
	free(bad);
	free(s);
}

/* Staff tokens in other shapes: cut short, one character more, another
 * ticket's token on this ticket, a token copied from this ticket to another:
 * nothing changes and nobody gets a reply.  Upper-case hex is the same token. */
static void
test_email_staff_token_forms(void **state)
{
	struct fx *f = *state;
	char tok1[17], tok2[17], *subj, *up;
	long id1, id2, nout;
	size_t i;

	assert_int_equal(run_mail(f, plain_mail, &id1), INGEST_TICKET);
	assert_int_equal(run_mail(f, "From: marko@example.org\r\nSubject: Pukla cev\r\n"
	    "Message-ID: <orig-2@example.org>\r\n\r\nvoda curi\r\n", &id2), INGEST_TICKET);
	assert_true(id1 != id2);
	util_staff_token(f->cfg->secret, id1, tok1);
	util_staff_token(f->cfg->secret, id2, tok2);
	nout = qint(f, "SELECT count(*) FROM outbox", NULL, NULL);
	{
		char *bad[] = {
			xasprintf("Re: [S48 #%ld/%.15s] Pukla cev", id1, tok1),     /* cut */
			xasprintf("Re: [S48 #%ld/%.8s] Pukla cev", id1, tok1),      /* half */
			xasprintf("Re: [S48 #%ld/%s0] Pukla cev", id1, tok1),       /* longer */
			xasprintf("Re: [S48 #%ld/%s] Pukla cev", id1, tok2),        /* ticket 2's */
			xasprintf("Re: [S48 #%ld/%s] Pukla cev", id2, tok1),        /* copied to 2 */
			xasprintf("Re: [S48 #%ld/0000000000000000] Pukla cev", id1),
		};

		for (i = 0; i < N(bad); i++) {
			expect_reply(f, INGEST_IGNORED, "petar.petrovic@jkp.example.org", bad[i], "",
			    "#resolved\r\n", NULL);
			free(bad[i]);
		}
	}
	assert_status(f, id1, "open");
	assert_status(f, id2, "open");
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox", NULL, NULL), nout);
	/* the right token in upper case */
	subj = xasprintf("Re: [S48 #%ld/%s] Pukla cev", id1, tok1);
	for (up = subj; *up != '\0'; up++)
		if (*up >= 'a' && *up <= 'f')
			*up = (char)(*up - 'a' + 'A');
	expect_reply(f, INGEST_STAFF, "petar.petrovic@jkp.example.org", subj, "",
	    "#in_progress\r\n", NULL);
	assert_status(f, id1, "in_progress");
	free(subj);
}

/* Fetched partially (over imap.max_message_bytes): a ticket from what came,
 * the full size recorded, the cut attachment listed as omitted. */
static void
test_email_truncated(void **state)
{
	struct fx *f = *state;
	size_t cut = strlen(attach_mail) - 30;
	struct ingest_item it = mail(f, attach_mail, T0);
	char *s, *v;
	long id;

	it.raw_len = cut;
	it.truncated = 1;
	it.full_size = 5 * 1024 * 1024;
	assert_int_equal(run1(f, it, &id), INGEST_TICKET);
	s = lstr(id);
	assert_int_equal(qint(f, "SELECT size FROM raw_messages WHERE ticket_id = ?1", s, NULL),
	    5 * 1024 * 1024);
	assert_int_equal(qint(f, "SELECT truncated FROM raw_messages WHERE ticket_id = ?1", s,
	    NULL), 1);
	assert_int_equal(qint(f, "SELECT length(bytes) FROM raw_messages WHERE ticket_id = ?1", s,
	    NULL), (long)cut);
	v = qstr(f, "SELECT text FROM tickets WHERE id = ?1", s, NULL);
	assert_contains(v, "pregorela sijalica");
	free(v);
	assert_int_equal(qint(f, "SELECT count(*) FROM attachments WHERE ticket_id = ?1 AND "
	    "content IS NULL AND omitted = 1", s, NULL), 1);
	free(s);
}

static void
test_email_without_from(void **state)
{
	struct fx *f = *state;
	static const char *const raws[] = {
	    "Subject: Pukla cev\r\n\r\nvoda curi\r\n",
	    "From: nobody\r\nSubject: Pukla cev\r\n\r\nvoda curi\r\n",
	    "\x01\x02\xff garbage without headers or body separator",
	    "",
	};
	size_t i;
	long id;

	for (i = 0; i < N(raws); i++) {
		char *s;

		assert_int_equal(run_mail(f, raws[i], &id), INGEST_TICKET);
		s = lstr(id);
		assert_qstr(f, "SELECT reporter FROM tickets WHERE id = ?1", s, NULL,
		    "unknown@invalid");
		free(s);
	}
	assert_int_equal(qint(f, "SELECT count(*) FROM outbox WHERE kind = 'email_ack'", NULL,
	    NULL), 0);
	assert_int_equal(qint(f, "SELECT count(*) FROM raw_messages WHERE bytes IS NULL", NULL,
	    NULL), 0);
}

/* A photo without a word: the acknowledgement quotes "(poruka bez teksta)",
 * not a lone "> " (the default email_ack template quotes {text}). */
static void
test_email_photo_only_ack(void **state)
{
	struct fx *f = *state;
	long id;
	char *body;

	assert_int_equal(run_mail(f, "From: ana@example.org\r\nSubject: Rupa\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\nContent-Type: image/jpeg; name=rupa.jpg\r\n"
	    "Content-Disposition: attachment; filename=rupa.jpg\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n/9j/4AAQ\r\n--b--\r\n", &id),
	    INGEST_TICKET);
	body = qstr(f, "SELECT body FROM outbox WHERE kind = 'email_ack'", NULL, NULL);
	assert_non_null(strstr(body, "> (poruka bez teksta)\n"));
	assert_null(strstr(body, "> \n"));
	free(body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_batch_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_key_twice_in_one_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_key_twice_with_savepoints, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_rows_say_what_happened, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alt_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_mid_batch_keeps_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cursor_only_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_email_batch_parsed_ahead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_email_batch_routed_ahead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backlog_email, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_only_sms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_decision_becomes_plain_ticket, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sms_new_ticket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sms_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sms_stop_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sms_append, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sms_same_text_within_10_minutes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sms_empty_help, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sms_senders_recorded_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sms_invalid_utf8, setup, teardown),
		cmocka_unit_test_setup_teardown(test_staff_sms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_staff_phone_reporter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_email_new_ticket_with_attachment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_email_append, setup, teardown),
		cmocka_unit_test_setup_teardown(test_email_automatic_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_email_staff_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_email_staff_token_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_email_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_email_without_from, setup, teardown),
		cmocka_unit_test_setup_teardown(test_email_photo_only_ack, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
