/*
 * bench_store.c - ticket creation speed: 10,000 tickets through
 * tickets_create() in transactions of 500 on a temp database (routing, due
 * times, events, acknowledgement and department outbox rows included).
 * Prints "store: 10000 tickets in X s = Y tickets/s".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "router.h"
#include "sla.h"
#include "store.h"
#include "tickets.h"
#include "util.h"

#define N_TICKETS 10000
#define BATCH     500

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL)
		fatal("%s", path);
	fputs(text, fp);
	fclose(fp);
	chmod(path, mode);
}

int
main(void)
{
	static const char *const texts[] = {
		"Pukla cev u ulici Kneza Milosa, voda curi na trotoar",
		"Ne radi sijalica u ulici Cara Dusana kod broja 12",
		"Velika rupa na putu kod skole, opasno za decu",
		"Зачепљен сливник на углу, вода се излива",
	};
	char dir[] = "/tmp/s48-bench-store.XXXXXX", path[256], conf[4096], *errors = NULL;
	struct s48_config *cfg = NULL;
	struct router *rt;
	struct store *st = NULL;
	struct tickets_ctx c;
	struct timespec t0, t1;
	const char *err = NULL;
	double secs, commit_secs = 0;
	int i;

	log_init("bench_store", LOG_LEVEL_WARN, 0);
	if (mkdtemp(dir) == NULL)
		fatal("mkdtemp");
	snprintf(path, sizeof(path), "%s/secret", dir);
	write_file(path, "bench\n", 0600);
	snprintf(path, sizeof(path), "%s/sms.key", dir);
	write_file(path, "key\n", 0600);
	snprintf(conf, sizeof(conf),
	    "database = \"%s/s48.db\";\nsecret_file = \"secret\";\n"
	    "smtp = { url = \"smtp://127.0.0.1:2525\"; tls = \"none\"; from = \"S48 <p@example.org>\"; };\n"
	    "sms = { profile = \"infobip\"; base_url = \"http://127.0.0.1:9\"; api_key_file = \"sms.key\";"
	    " number = \"+381641234567\"; };\n"
	    "departments = (\n"
	    " { id = \"water\"; name = \"Vodovod\"; email = [\"v@example.org\"]; sms = [\"+381601112233\"];"
	    "   keywords = [\"voda\", \"cev\", \"slivnik*\"]; },\n"
	    " { id = \"lighting\"; name = \"Rasveta\"; email = [\"r@example.org\"]; keywords = [\"sijalic*\"]; },\n"
	    " { id = \"dispatch\"; name = \"Dispecer\"; email = [\"d@example.org\"]; keywords = []; });\n"
	    "default_department = \"dispatch\";\nlimits = { auto_replies_per_day = 100000; };\n"
	    "sla = { hours = 48; working_days = [1, 2, 3, 4, 5]; working_hours = \"07:00-15:00\"; };\n",
	    dir);
	snprintf(path, sizeof(path), "%s/s48.conf", dir);
	write_file(path, conf, 0644);
	if (config_load(path, 0, &cfg, &errors) < 0)
		fatalx("config: %s", errors);
	sla_use_timezone(cfg->sla.timezone);
	rt = router_new(cfg);
	if (store_open(cfg->database, &st, &err) < 0)
		fatalx("store: %s", err);
	/* checkpoints off the writer, as in s48d (BENCH_NO_CKPT=1: SQLite's own) */
	if (getenv("BENCH_NO_CKPT") == NULL && store_start_checkpointer(st, 0, &err) < 0)
		fatalx("checkpointer: %s", err);
	c.st = st;
	c.cfg = cfg;
	c.rt = rt;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < N_TICKETS; i++) {
		char from[32], email[64];
		struct tickets_input in;
		long id;

		if (i % BATCH == 0 && store_begin(st, &err) < 0)
			fatalx("begin: %s", err);
		snprintf(from, sizeof(from), "+3816%08d", 10000000 + i % 5000);
		snprintf(email, sizeof(email), "citizen%d@example.org", i % 5000);
		memset(&in, 0, sizeof(in));
		in.channel = i % 2 ? "sms" : "email";
		in.reporter = i % 2 ? from : email;
		in.subject = i % 2 ? NULL : "Prijava";
		in.text = texts[i % 4];
		in.flags = TICKETS_F_AUTO;
		if (tickets_create(&c, &in, &id, &err) != 0)
			fatalx("create: %s", err);
		if ((i + 1) % BATCH == 0) {
			struct timespec c0, c1;

			clock_gettime(CLOCK_MONOTONIC, &c0);
			if (store_commit(st, &err) < 0)
				fatalx("commit: %s", err);
			clock_gettime(CLOCK_MONOTONIC, &c1);
			commit_secs += (double)(c1.tv_sec - c0.tv_sec) +
			    (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("store: %d tickets in %.2f s = %.0f tickets/s\n", N_TICKETS, secs,
	    (double)N_TICKETS / secs);
	printf("store: of which %.2f s in %d commits (fsync, WAL checkpoints)\n", commit_secs,
	    N_TICKETS / BATCH);

	store_close(&st);
	router_free(&rt);
	config_free(&cfg);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	if (system(path) != 0)
		return 1;
	return 0;
}
