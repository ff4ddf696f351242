/*
 * bench_instr.c - CPU instructions per message of parse + route + store,
 * for `make bench` under valgrind --tool=callgrind (instruction counts stay
 * the same when the machine is busy; wall-clock rates do not).
 *
 *   valgrind --tool=callgrind bench_instr DIR NSMS [BATCH]
 *
 * Loads every file of DIR (a fixed corpus of .eml files, e.g. from
 * tests/bench/gen_mail.py --eml) and makes NSMS fixed SMS reports, then runs
 * them through ingest_batch() on a new database in a temporary directory, in
 * batches of BATCH (default 500): first the SMS, then the emails.  Each
 * phase is bracketed by CALLGRIND_ZERO_STATS / CALLGRIND_DUMP_STATS_AT, so
 * the dumps "sms" and "email" hold only the ingest work of all threads
 * (building the input and opening the database are left out).  Without
 * valgrind the requests do nothing and the program just runs.  Prints the
 * item counts and tickets made; exits 1 if any item did not become a ticket.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <valgrind/callgrind.h>

#include "config.h"
#include "ingest.h"
#include "log.h"
#include "mime.h"
#include "router.h"
#include "sla.h"
#include "store.h"
#include "util.h"

#define INSTR_MAX_FILES 1000000
#define INSTR_MAX_FILE_BYTES (16u * 1024 * 1024)

static const char conf_text[] =
    "database = \"s48.db\";\n"
    "secret_file = \"secret\";\n"
    "log = { level = \"err\"; target = \"stderr\"; };\n"
    "smtp = { url = \"smtp://127.0.0.1:2525\"; tls = \"none\";\n"
    "  from = \"Sistem 48 <prijave@example.org>\"; };\n"
    "sms = { profile = \"infobip\"; base_url = \"http://127.0.0.1:9\";\n"
    "  api_key_file = \"sms.key\"; number = \"+381641234567\"; };\n"
    "departments = (\n"
    "  { id = \"water\"; name = \"Vodovod i kanalizacija\";\n"
    "    email = [\"vodovod@jkp.example.org\"]; sms = [\"+381601112233\"];\n"
    "    staff_phones = [\"+381631112223\"];\n"
    "    keywords = [\"voda\", \"vodovod*\", \"cev\", \"cevi\", \"kanalizacij*\", \"slivnik*\","
    " \"hidrant*\"]; },\n"
    "  { id = \"lighting\"; name = \"Javna rasveta\"; email = [\"rasveta@jkp.example.org\"];\n"
    "    keywords = [\"rasvet*\", \"sijalic*\", \"svetiljk*\", \"lampa\", \"bandera\"]; },\n"
    "  { id = \"roads\"; name = \"Putevi\"; email = [\"putevi@jkp.example.org\"];\n"
    "    keywords = [\"rupa\", \"asfalt*\", \"kolovoz*\"]; },\n"
    "  { id = \"dispatch\"; name = \"Dispecerski centar\"; email = [\"dispecer@jkp.example.org\"];"
    " keywords = []; }\n"
    ");\n"
    "default_department = \"dispatch\";\n"
    "limits = { auto_replies_per_day = 10; };\n"
    "sla = { hours = 48; warn_hours = 8; timezone = \"Europe/Belgrade\"; };\n";

static const char *const sms_reports[] = {
	"Pukla cev u ulici Kneza Milosa broj %zu, voda curi na ulicu",
	"Ne radi javna rasveta u ulici Cara Dusana kod zgrade %zu",
	"Velika rupa na kolovozu u Takovskoj kod broja %zu",
	"\xd0\x9f\xd1\x83\xd0\xba\xd0\xbb\xd0\xb0 \xd1\x86\xd0\xb5\xd0\xb2 \xd1\x83 "
	"\xd0\x9d\xd1\x9a\xd0\xb5\xd0\xb3\xd0\xbe\xd1\x88\xd0\xb5\xd0\xb2\xd0\xbe\xd1\x98 %zu",
	"Zapu\xc5\xa1" "en slivnik ispred broja %zu, voda se zadr\xc5\xbe" "ava",
};

struct corpus {
	char **data;
	size_t *len;
	size_t n;
};

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		fatal("%s", path);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order. */
static void
corpus_load(const char *dir, struct corpus *c)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, i;

	if (d == NULL)
		fatal("%s", dir);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n >= INSTR_MAX_FILES)
			fatalx("%s: more than %d files", dir, INSTR_MAX_FILES);
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xasprintf("%s/%s", dir, e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	c->data = xcalloc(n ? n : 1, sizeof(*c->data));
	c->len = xcalloc(n ? n : 1, sizeof(*c->len));
	c->n = 0;
	for (i = 0; i < n; i++) {
		const char *err = NULL;

		if (util_read_file(names[i], INSTR_MAX_FILE_BYTES, &c->data[c->n], &c->len[c->n],
		    &err) == 0)
			c->n++;
		else
			log_warnx("%s: %s", names[i], err);
		free(names[i]);
	}
	free(names);
}

/* Ingest items in batches; returns the number of tickets made. */
static size_t
run(struct ingest_ctx *ctx, struct ingest_item *items, size_t n, size_t batch)
{
	size_t done = 0, tickets = 0, i;
	const char *err = NULL;

	while (done < n) {
		size_t k = n - done < batch ? n - done : batch;

		if (ingest_batch(ctx, items + done, k, NULL, NULL, 0, &err) != 0)
			fatalx("ingest_batch: %s", err);
		done += k;
	}
	for (i = 0; i < n; i++)
		if (items[i].outcome == INGEST_TICKET)
			tickets++;
	return tickets;
}

int
main(int argc, char **argv)
{
	char dir[64] = "/tmp/s48-bench-instr-XXXXXX", path[128];
	struct s48_config *cfg = NULL;
	struct store *st = NULL;
	struct router *rt;
	struct ingest_ctx ctx;
	struct corpus mail;
	struct ingest_item *sms, *em;
	char **sms_text, **sms_from, **keys;
	size_t nsms, batch, i, t_sms, t_mail;
	char *errors = NULL;
	const char *err = NULL;
	int rc;

	log_init("bench_instr", LOG_LEVEL_ERR, 0);
	if (argc < 3)
		fatalx("usage: bench_instr DIR NSMS [BATCH]");
	nsms = (size_t)strtoul(argv[2], NULL, 10);
	batch = argc > 3 ? (size_t)strtoul(argv[3], NULL, 10) : 500;
	if (batch == 0)
		fatalx("usage: bench_instr DIR NSMS [BATCH]");
	corpus_load(argv[1], &mail);

	if (mkdtemp(dir) == NULL)
		fatal("mkdtemp");
	snprintf(path, sizeof(path), "%s/secret", dir);
	write_file(path, "bench-secret\n", 0600);
	snprintf(path, sizeof(path), "%s/sms.key", dir);
	write_file(path, "key\n", 0600);
	snprintf(path, sizeof(path), "%s/s48.conf", dir);
	write_file(path, conf_text, 0644);
	if (config_load(path, 0, &cfg, &errors) < 0)
		fatalx("config: %s", errors);
	cfg->secret = xstrdup("bench-secret");
	sla_use_timezone(cfg->sla.timezone);
	if (store_open(cfg->database, &st, &err) < 0)
		fatalx("store: %s", err);
	rt = router_new(cfg);
	mime_init();
	ctx.st = st;
	ctx.cfg = cfg;
	ctx.rt = rt;
	ctx.defer_sync = 0;

	/* the input, built before anything is counted */
	sms = xcalloc(nsms ? nsms : 1, sizeof(*sms));
	sms_text = xcalloc(nsms ? nsms : 1, sizeof(char *));
	sms_from = xcalloc(nsms ? nsms : 1, sizeof(char *));
	em = xcalloc(mail.n ? mail.n : 1, sizeof(*em));
	keys = xcalloc(nsms + mail.n + 1, sizeof(char *));
	for (i = 0; i < nsms; i++) {
		sms_text[i] = xasprintf(sms_reports[i % 5], i + 1);
		sms_from[i] = xasprintf("38164%07zu", i);
		keys[i] = xasprintf("sms:bench:%zu", i);
		sms[i].channel = INGEST_SMS;
		sms[i].source_key = keys[i];
		sms[i].sms_from = sms_from[i];
		sms[i].sms_text = sms_text[i];
		sms[i].raw = (const unsigned char *)sms_text[i];
		sms[i].raw_len = strlen(sms_text[i]);
	}
	for (i = 0; i < mail.n; i++) {
		keys[nsms + i] = xasprintf("imap:INBOX:1:%zu", i + 1);
		em[i].channel = INGEST_EMAIL;
		em[i].source_key = keys[nsms + i];
		em[i].raw = (const unsigned char *)mail.data[i];
		em[i].raw_len = mail.len[i];
	}

	CALLGRIND_ZERO_STATS;
	t_sms = run(&ctx, sms, nsms, batch);
	CALLGRIND_DUMP_STATS_AT("sms");
	t_mail = run(&ctx, em, mail.n, batch);
	CALLGRIND_DUMP_STATS_AT("email");

	printf("bench_instr: %zu sms -> %zu tickets, %zu emails -> %zu tickets, batches of %zu\n",
	    nsms, t_sms, mail.n, t_mail, batch);
	for (i = 0; i < nsms + mail.n; i++)
		free(keys[i]);
	for (i = 0; i < nsms; i++) {
		free(sms_text[i]);
		free(sms_from[i]);
	}
	for (i = 0; i < mail.n; i++)
		free(mail.data[i]);
	free(mail.data);
	free(mail.len);
	free(keys);
	free(sms);
	free(sms_text);
	free(sms_from);
	free(em);
	router_free(&rt);
	store_close(&st);
	config_free(&cfg);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	rc = system(path);
	return rc == 0 && t_sms == nsms && t_mail == mail.n ? 0 : 1;
}
