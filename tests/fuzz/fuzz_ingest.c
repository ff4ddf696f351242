/*
 * fuzz_ingest.c - libFuzzer target for the MIME-to-ticket path: raw mail
 * (and SMS text) through ingest_batch() into a real SQLite database in a
 * private temporary directory (/dev/shm when it exists), opened once and
 * started afresh every FZI_RESET_TICKETS tickets.  The clock is fixed
 * (S48_NOW).
 *
 * Input: a raw email (one item), or, when the first byte is 0xff, a batch
 * of up to 16 items separated by the bytes 00 ff, each "FLAGS PAYLOAD":
 *   bit 0      1: SMS (payload = text and raw JSON), 0: email (payload = raw)
 *   bits 1-3   SMS: the sender (citizens, staff phones, alpha, short code,
 *              national form, junk); email: bit 1 truncated, bit 2 backlog
 *   bit 4      SMS: record_only; email: an alt_key derived from the payload
 *   bit 5      reuse the previous item's source key (a re-delivery)
 *   bit 6      received 20 days ago
 * Checks: the batch commits (only storage errors may fail one); each item's
 * outcome is known and recorded in raw_messages under its key; a ticket or
 * an append names an existing ticket whose reporter, subject and text are
 * valid UTF-8.
 *
 *   sh tests/fuzz/run-fuzz.sh 60 fuzz_ingest
 *   ./build-fuzz/fuzz/fuzz_ingest -max_len=65536 DIR tests/fuzz/seeds/ingest tests/corpus/email
 * (all of daemon/ parsers/ notifiers/ but the mains, and the schema; see
 * run-fuzz.sh)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "config.h"
#include "ingest.h"
#include "log.h"
#include "mime.h"
#include "normalize.h"
#include "router.h"
#include "sla.h"
#include "store.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZI_MAX_ITEMS 16
#define FZI_RESET_TICKETS 5000
/* 2026-11-24 10:00:00 UTC, a Tuesday */
#define FZI_T0 ((time_t)1795514400)

static const char fzi_conf[] =
    "database = \"s48.db\";\n"
    "secret_file = \"secret\";\n"
    "ticket_tag = \"S48\";\n"
    "log = { level = \"err\"; target = \"stderr\"; };\n"
    "smtp = { url = \"smtp://127.0.0.1:1\"; tls = \"none\";\n"
    "  from = \"Sistem 48 <prijave@grad.example.rs>\"; };\n"
    "sms = { profile = \"infobip\"; base_url = \"http://127.0.0.1:9\";\n"
    "  api_key_file = \"sms.key\"; number = \"+381641234567\"; };\n"
    "departments = (\n"
    "  { id = \"water\"; name = \"Vodovod i kanalizacija\";\n"
    "    email = [\"vodovod@jkp.example.org\"];\n"
    "    staff_emails = [\"petar.petrovic@jkp.example.org\"];\n"
    "    sms = [\"+381631112200\"]; staff_phones = [\"+381631112223\"];\n"
    "    keywords = [\"voda\", \"vodovod*\", \"cev\", \"cevi\", \"kanalizacij*\"]; },\n"
    "  { id = \"lighting\"; name = \"Javna rasveta\"; email = [\"rasveta@jkp.example.org\"];\n"
    "    staff_phones = [\"+381639998887\"];\n"
    "    keywords = [\"rasvet*\", \"sijalic*\", \"lampa\", \"ulicno svetlo\"]; },\n"
    "  { id = \"dispatch\"; name = \"Dispecerski centar\";\n"
    "    email = [\"dispecer@jkp.example.org\"]; keywords = []; }\n"
    ");\n"
    "default_department = \"dispatch\";\n"
    "escalation = [\"direktor@jkp.example.org\"];\n"
    "limits = { auto_replies_per_day = 5; };\n"
    "sla = { hours = 48; warn_hours = 8; timezone = \"Europe/Belgrade\"; };\n";

static const char *const fzi_senders[8] = {
	"+381641000001", "+381641000002", "+381631112223", "+381639998887",
	"INFO", "1234", "0641000003", "+3816",
};

static struct {
	char dir[64];
	char db[128];
	struct s48_config *cfg;
	struct store *st;
	struct router *rt;
	unsigned long seq;
} fzi;

static void
fzi_check(int cond)
{
	if (!cond)
		abort();
}

static void
fzi_write(const char *name, const char *text, mode_t mode)
{
	char path[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fzi.dir, name);
	f = fopen(path, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
	chmod(path, mode);
}

static void
fzi_remove_db(void)
{
	char path[160];

	unlink(fzi.db);
	snprintf(path, sizeof(path), "%s-wal", fzi.db);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", fzi.db);
	unlink(path);
	snprintf(path, sizeof(path), "%s-journal", fzi.db);
	unlink(path);
}

static void
fzi_open_db(void)
{
	const char *err = NULL;

	fzi_remove_db();
	if (store_open(fzi.cfg->database, &fzi.st, &err) < 0) {
		fprintf(stderr, "fuzz_ingest: store: %s\n", err);
		abort();
	}
}

static void
fzi_cleanup(void)
{
	char path[160];

	store_close(&fzi.st);
	router_free(&fzi.rt);
	config_free(&fzi.cfg);
	if (fzi.dir[0] == '\0')
		return;
	fzi_remove_db();
	snprintf(path, sizeof(path), "%s/secret", fzi.dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sms.key", fzi.dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/s48.conf", fzi.dir);
	unlink(path);
	rmdir(fzi.dir);
	fzi.dir[0] = '\0';
}

static void
fzi_init(void)
{
	struct stat sb;
	char path[160];
	char *errors = NULL;

	if (fzi.cfg != NULL)
		return;
	log_set_level(LOG_LEVEL_ERR);
	snprintf(fzi.dir, sizeof(fzi.dir), "%s/s48-fuzzingest-XXXXXX",
	    stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) ? "/dev/shm" : "/tmp");
	if (mkdtemp(fzi.dir) == NULL)
		abort();
	fzi_write("secret", "fuzz-secret\n", 0600);
	fzi_write("sms.key", "key\n", 0600);
	fzi_write("s48.conf", fzi_conf, 0644);
	snprintf(path, sizeof(path), "%s/s48.conf", fzi.dir);
	if (config_load(path, 0, &fzi.cfg, &errors) < 0) {
		fprintf(stderr, "fuzz_ingest: config: %s\n", errors);
		abort();
	}
	free(fzi.cfg->secret);
	fzi.cfg->secret = xstrdup("fuzz-secret");
	snprintf(fzi.db, sizeof(fzi.db), "%s", fzi.cfg->database);
	sla_use_timezone(fzi.cfg->sla.timezone);
	setenv("S48_NOW", "1795514400", 1);
	mime_init();
	fzi.rt = router_new(fzi.cfg);
	fzi_open_db();
	atexit(fzi_cleanup);
}

static int
fzi_utf8_col(sqlite3_stmt *s, int col)
{
	const char *t = (const char *)sqlite3_column_text(s, col);

	return t == NULL || norm_utf8_valid(t, (size_t)sqlite3_column_bytes(s, col));
}

/* the item's raw_messages row and, for a ticket or append, its ticket */
static void
fzi_check_item(const struct ingest_item *it)
{
	sqlite3_stmt *s;
	int n = 0;

	fzi_check(it->outcome >= INGEST_DUPLICATE && it->outcome <= INGEST_RECORDED);
	fzi_check(strcmp(ingest_outcome_name(it->outcome), "unknown") != 0);
	s = store_prepare(fzi.st, "SELECT outcome FROM raw_messages WHERE source_key = ?");
	fzi_check(s != NULL);
	sqlite3_bind_text(s, 1, it->source_key, -1, SQLITE_STATIC);
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *o = (const char *)sqlite3_column_text(s, 0);

		n++;
		if (it->outcome != INGEST_DUPLICATE)
			fzi_check(o != NULL && strcmp(o, ingest_outcome_name(it->outcome)) == 0);
	}
	sqlite3_reset(s);
	/* a duplicate by alt_key is recorded under its own key or not at all */
	fzi_check(n == 1 || (n == 0 && it->outcome == INGEST_DUPLICATE));
	if (it->outcome != INGEST_TICKET && it->outcome != INGEST_APPEND)
		return;
	fzi_check(it->ticket_id > 0);
	s = store_prepare(fzi.st, "SELECT reporter, subject, text FROM tickets WHERE id = ?");
	fzi_check(s != NULL);
	sqlite3_bind_int64(s, 1, it->ticket_id);
	fzi_check(sqlite3_step(s) == SQLITE_ROW);
	fzi_check(fzi_utf8_col(s, 0) && fzi_utf8_col(s, 1) && fzi_utf8_col(s, 2));
	sqlite3_reset(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ingest_item items[FZI_MAX_ITEMS];
	char *keys[FZI_MAX_ITEMS], *texts[FZI_MAX_ITEMS], *alts[FZI_MAX_ITEMS];
	size_t n = 0, i;
	const char *err = NULL;
	struct ingest_ctx ctx;

	fzi_init();
	if (fzi.seq / 2 > FZI_RESET_TICKETS) {
		store_close(&fzi.st);
		fzi_open_db();
		fzi.seq = 0;
	}
	memset(items, 0, sizeof(items));
	memset(keys, 0, sizeof(keys));
	memset(texts, 0, sizeof(texts));
	memset(alts, 0, sizeof(alts));
	if (size == 0 || data[0] != 0xff) {
		items[0].channel = INGEST_EMAIL;
		items[0].raw = data;
		items[0].raw_len = size;
		keys[0] = xasprintf("imap:INBOX:1:%lu", ++fzi.seq);
		items[0].source_key = keys[0];
		n = 1;
	} else {
		const uint8_t *p = data + 1, *end = data + size;

		while (p < end && n < FZI_MAX_ITEMS) {
			const uint8_t *q = p, *stop = end;
			struct ingest_item *it = &items[n];
			unsigned f;

			for (; q + 1 < end; q++)
				if (q[0] == 0x00 && q[1] == 0xff) {
					stop = q;
					break;
				}
			f = p < stop ? *p++ : 0;
			if ((f & 0x20) && n > 0) {
				keys[n] = xstrdup(keys[n - 1]);
			} else {
				keys[n] = xasprintf("%s:%lu", (f & 1) ? "sms:infobip" : "imap:INBOX:1",
				    ++fzi.seq);
			}
			it->source_key = keys[n];
			it->raw = p;
			it->raw_len = (size_t)(stop - p);
			it->received_at = (f & 0x40) ? FZI_T0 - 20 * 86400 : FZI_T0;
			if (f & 1) {
				it->channel = INGEST_SMS;
				texts[n] = xstrndup((const char *)p, (size_t)(stop - p));
				it->sms_text = texts[n];
				it->sms_from = fzi_senders[(f >> 1) & 7];
				it->record_only = (f >> 4) & 1;
			} else {
				it->channel = INGEST_EMAIL;
				it->truncated = (f >> 1) & 1;
				it->full_size = it->truncated ? it->raw_len * 2 + 1 : it->raw_len;
				it->backlog = (f >> 2) & 1;
				if (f & 0x10) {
					alts[n] = xasprintf("alt:%zu:%02x", it->raw_len,
					    it->raw_len > 0 ? p[0] : 0);
					it->alt_key = alts[n];
				}
			}
			n++;
			p = stop + (stop < end ? 2 : 0);
		}
	}
	ctx.st = fzi.st;
	ctx.cfg = fzi.cfg;
	ctx.rt = fzi.rt;
	ctx.defer_sync = 0;
	if (ingest_batch(&ctx, items, n, NULL, NULL, 0, &err) != 0) {
		fprintf(stderr, "fuzz_ingest: batch failed: %s\n", err ? err : "(no error)");
		abort();
	}
	for (i = 0; i < n; i++)
		fzi_check_item(&items[i]);
	for (i = 0; i < n; i++) {
		free(keys[i]);
		free(texts[i]);
		free(alts[i]);
	}
	return 0;
}
