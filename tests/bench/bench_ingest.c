/*
 * bench_ingest.c - ingest rate end to end through ingest_batch(): 10,000
 * generated SMS and 10,000 generated small emails in batches of 500 on a
 * temporary database (each becomes a ticket with its acknowledgement and
 * department notification).  Prints
 *   ingest: sms X msgs/s, email Y msgs/s
 * Usage: bench_ingest [COUNT [BATCH]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ingest.h"
#include "log.h"
#include "mime.h"
#include "router.h"
#include "sla.h"
#include "store.h"
#include "util.h"

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
    "    email = [\"vodovod@jkp.example.org\"]; staff_phones = [\"+381631112223\"];\n"
    "    keywords = [\"voda\", \"vodovod*\", \"cev\", \"cevi\", \"kanalizacij*\", \"slivnik*\"]; },\n"
    "  { id = \"lighting\"; name = \"Javna rasveta\"; email = [\"rasveta@jkp.example.org\"];\n"
    "    keywords = [\"rasvet*\", \"sijalic*\", \"svetiljk*\", \"lampa\", \"bandera\"]; },\n"
    "  { id = \"roads\"; name = \"Putevi\"; email = [\"putevi@jkp.example.org\"];\n"
    "    keywords = [\"rupa\", \"asfalt*\", \"ulegnuc*\"]; },\n"
    "  { id = \"dispatch\"; name = \"Dispecerski centar\"; email = [\"dispecer@jkp.example.org\"];"
    " keywords = []; }\n"
    ");\n"
    "default_department = \"dispatch\";\n"
    "limits = { auto_replies_per_day = 10; };\n"
    "sla = { hours = 48; warn_hours = 8; timezone = \"Europe/Belgrade\"; };\n";

/* each: a street (%s), then a number (%d) */
static const char *const reports[] = {
	"Pukla cev u ulici %s broj %d, voda curi na ulicu",
	"Ne radi javna rasveta u ulici %s kod zgrade %d",
	"Velika rupa na putu u ulici %s kod broja %d",
	"Zapusen slivnik, ulica %s ispred broja %d",
	"\xd0\x9f\xd1\x83\xd0\xba\xd0\xbb\xd0\xb0 \xd1\x86\xd0\xb5\xd0\xb2 %s %d",
	"Nema vode od jutros, %s %d",
	"Pregorela sijalica na banderi, %s %d",
	"Kontejner nije ispraznjen nedelju dana, %s %d",
};
static const char *const streets[] = {
	"Kneza Milosa", "Cara Dusana", "Bulevar oslobodjenja", "Njegoseva", "Vojvode Stepe",
	"Takovska", "Dunavska", "Zmaj Jovina",
};

static double
clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* CPU seconds of the process (both threads) spent inside ingest_batch. */
static double cpu_sms, cpu_mail;
/* CPU of the calling thread alone (the one that writes SQLite) */
static double wcpu_sms, wcpu_mail;

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

static char *
report_text(size_t i)
{
	char *r = xasprintf(reports[i % 8], streets[(i / 8) % 8], (int)(i / 64) + 1);
	char *t = xasprintf("%s (prijava %zu)", r, i);

	free(r);
	return t;
}

/* Run count items of one channel in batches; returns messages/s. */
static double
run(struct ingest_ctx *ctx, int sms, size_t count, size_t batch, size_t *tickets_r)
{
	struct ingest_item *items = xcalloc(batch, sizeof(*items));
	char **keys = xcalloc(batch, sizeof(char *));
	char **texts = xcalloc(batch, sizeof(char *));
	char **froms = xcalloc(batch, sizeof(char *));
	double t0, c0, w0, total = 0;
	size_t done = 0, i, k;
	const char *err = NULL;

	*tickets_r = 0;
	while (done < count) {
		size_t n = count - done < batch ? count - done : batch;

		/* building the input is not part of the measured time */
		for (k = 0; k < n; k++) {
			size_t idx = done + k;
			char *rep = report_text(idx);

			memset(&items[k], 0, sizeof(items[k]));
			keys[k] = xasprintf("%s:bench:%zu", sms ? "sms" : "imap", idx);
			items[k].source_key = keys[k];
			if (sms) {
				froms[k] = xasprintf("3816%d%07zu", 0 + (int)(idx % 10), idx);
				texts[k] = rep;
				items[k].channel = INGEST_SMS;
				items[k].sms_from = froms[k];
				items[k].sms_text = texts[k];
				items[k].raw = (const unsigned char *)texts[k];
				items[k].raw_len = strlen(texts[k]);
			} else {
				froms[k] = NULL;
				texts[k] = xasprintf("From: Gradjanin %zu <gradjanin%zu@example.net>\r\n"
				    "To: prijave@example.org\r\nSubject: Prijava %zu\r\n"
				    "Message-ID: <bench.%zu@example.net>\r\n"
				    "Date: Tue, 24 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\n"
				    "Content-Type: text/plain; charset=utf-8\r\n"
				    "Content-Transfer-Encoding: 8bit\r\n\r\n%s\r\n\r\nPozdrav,\r\n"
				    "Gradjanin %zu\r\n", idx, idx, idx, idx, rep, idx);
				free(rep);
				items[k].channel = INGEST_EMAIL;
				items[k].raw = (const unsigned char *)texts[k];
				items[k].raw_len = strlen(texts[k]);
			}
		}
		t0 = now_s();
		c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
		w0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
		if (ingest_batch(ctx, items, n, NULL, NULL, 0, &err) != 0)
			fatalx("ingest_batch: %s", err);
		total += now_s() - t0;
		*(sms ? &cpu_sms : &cpu_mail) += clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
		*(sms ? &wcpu_sms : &wcpu_mail) += clock_s(CLOCK_THREAD_CPUTIME_ID) - w0;
		for (k = 0; k < n; k++) {
			if (items[k].outcome == INGEST_TICKET)
				(*tickets_r)++;
			free(keys[k]);
			free(texts[k]);
			free(froms[k]);
		}
		done += n;
	}
	free(items);
	free(keys);
	free(texts);
	free(froms);
	(void)i;
	return total > 0 ? (double)count / total : 0;
}

int
main(int argc, char **argv)
{
	char dir[64] = "/tmp/s48-bench-ingest-XXXXXX", path[128];
	struct s48_config *cfg = NULL;
	struct store *st = NULL;
	struct router *rt;
	struct ingest_ctx ctx;
	size_t count = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 10000;
	size_t batch = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 500;
	size_t ts, te;
	char *errors = NULL;
	const char *err = NULL;
	double sms_rate, mail_rate;
	int rc;

	log_init("bench_ingest", LOG_LEVEL_ERR, 0);
	if (count == 0 || batch == 0)
		fatalx("usage: bench_ingest [COUNT [BATCH]]");
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
	if (getenv("BENCH_PRAGMA") != NULL && store_exec(st, getenv("BENCH_PRAGMA"), &err) < 0)
		fatalx("pragma: %s", err);
	/* checkpoints off the writer, as in s48d (BENCH_NO_CKPT=1: SQLite's own) */
	if (getenv("BENCH_NO_CKPT") == NULL && store_start_checkpointer(st, 0, &err) < 0)
		fatalx("checkpointer: %s", err);
	rt = router_new(cfg);
	mime_init();
	ctx.st = st;
	ctx.cfg = cfg;
	ctx.rt = rt;
	ctx.defer_sync = 0;

	sms_rate = run(&ctx, 1, count, batch, &ts);
	mail_rate = run(&ctx, 0, count, batch, &te);
	printf("ingest: sms %.0f msgs/s, email %.0f msgs/s\n", sms_rate, mail_rate);
	printf("# %zu sms -> %zu tickets, %zu emails -> %zu tickets, batches of %zu\n", count, ts,
	    count, te, batch);
	printf("# cpu time: sms %.0f msgs per cpu second, email %.0f (wall-clock rates above "
	    "suffer when other processes share the CPUs)\n", cpu_sms > 0 ? count / cpu_sms : 0,
	    cpu_mail > 0 ? count / cpu_mail : 0);
	printf("# writer thread (the caller of ingest_batch, the only one writing SQLite): "
	    "sms %.1f us, email %.1f us of CPU per message\n", wcpu_sms * 1e6 / (double)count,
	    wcpu_mail * 1e6 / (double)count);

	router_free(&rt);
	store_close(&st);
	config_free(&cfg);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	rc = system(path);
	return rc == 0 && ts == count && te == count ? 0 : 1;
}
