/*
 * test_config.c - config_load() on real files in a temp dir: the shipped
 * example loads; a table of broken configs each fails with FILE:LINE: KEY;
 * all errors are reported; secret file modes; relative paths; defaults;
 * channels left out are off; secrets are read; the summary.
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

#include "config.h"
#include "log.h"
#include "templates.h"
#include "util.h"

#include "store_test.h"

static char tmpdir[256];
static char realtmp[4096];

static void
write_file(const char *name, const char *text, mode_t mode)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	ts_write_file(path, text, mode);
}

static int
setup(void **state)
{
	char path[512];

	(void)state;
	ts_tmpdir(tmpdir, sizeof(tmpdir), "test-config");
	if (realpath(tmpdir, realtmp) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/db", tmpdir);
	mkdir(path, 0700);
	write_file("secret", "0123456789abcdef\n", 0600);
	write_file("imap.pass", "imap-pw\r\n", 0600);
	write_file("smtp.pass", "smtp-pw\n", 0600);
	write_file("sms.key", "sms-key", 0600);
	write_file("secret644", "x\n", 0644);
	write_file("key640", "x\n", 0640);
	write_file("empty.key", "", 0600);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return ts_rmtree(tmpdir);
}

/* ---- building configs from parts ---------------------------------- */

static const char *const DEF_TOP =
	"database = \"db/s48.db\";\n"
	"secret_file = \"secret\";\n";
static const char *const DEF_IMAP =
	"imap = { host = \"127.0.0.1\"; port = 1143; tls = \"none\";\n"
	"  user = \"prijave@example.org\"; password_file = \"imap.pass\";\n"
	"  processed_mailbox = \"Processed\"; };\n";
static const char *const DEF_SMTP =
	"smtp = { url = \"smtp://127.0.0.1:2525\"; tls = \"none\";\n"
	"  from = \"Sistem 48 <Prijave@Example.ORG>\"; };\n";
static const char *const DEF_SMS =
	"sms = { profile = \"infobip\"; base_url = \"http://127.0.0.1:8080/\";\n"
	"  api_key_file = \"sms.key\"; number = \"+381641234567\"; };\n";
static const char *const DEF_DEPTS =
	"departments = (\n"
	"  { id = \"water\"; name = \"Vodovod\"; email = [\"Vodovod@JKP.example.org\"];\n"
	"    staff_phones = [\"064 111 2223\"]; keywords = [\"voda\", \"cev*\"]; },\n"
	"  { id = \"dispatch\"; name = \"Dispecer\"; email = [\"dispecer@jkp.example.org\"]; }\n"
	");\n"
	"default_department = \"dispatch\";\n";

struct parts {
	const char *top, *imap, *smtp, *sms, *depts, *rest;   /* NULL: default; "": none */
};

/* Write the config to name; returns its path (static). */
static const char *
write_config(const char *name, const struct parts *p)
{
	static char path[512];
	char text[8192];

	snprintf(text, sizeof(text), "%s%s%s%s%s%s",
	    p->top ? p->top : DEF_TOP, p->imap ? p->imap : DEF_IMAP,
	    p->smtp ? p->smtp : DEF_SMTP, p->sms ? p->sms : DEF_SMS,
	    p->depts ? p->depts : DEF_DEPTS, p->rest ? p->rest : "");
	write_file(name, text, 0600);
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

/* The 1-based line holding "#<-", or 0. */
static int
marker_line(const struct parts *p)
{
	const char *seq[6];
	int line = 1, i;

	seq[0] = p->top ? p->top : DEF_TOP;
	seq[1] = p->imap ? p->imap : DEF_IMAP;
	seq[2] = p->smtp ? p->smtp : DEF_SMTP;
	seq[3] = p->sms ? p->sms : DEF_SMS;
	seq[4] = p->depts ? p->depts : DEF_DEPTS;
	seq[5] = p->rest ? p->rest : "";
	for (i = 0; i < 6; i++) {
		const char *s;

		for (s = seq[i]; *s != '\0'; s++) {
			if (strncmp(s, "#<-", 3) == 0)
				return line;
			if (*s == '\n')
				line++;
		}
	}
	return 0;
}

/* config_load(path, check_secrets) that must succeed. */
static struct s48_config *
load_ok(const char *path, int check_secrets)
{
	struct s48_config *cfg = NULL;
	char *errors = NULL;

	if (config_load(path, check_secrets, &cfg, &errors) != 0)
		fail_msg("%s: %s", path, errors);
	return cfg;
}

/* ---- the example -------------------------------------------------- */

static void
test_example_loads(void **state)
{
	const char *top = getenv("S48_TOP");
	char path[1024];
	struct s48_config *cfg = NULL;
	char *errors = NULL;
	const struct cfg_department *d;
	size_t idx = 99;
	const char *line;
	char *sum;
	int rc;

	(void)state;
	snprintf(path, sizeof(path), "%s/conf/s48.conf.example", top ? top : ".");
	rc = config_load(path, 0, &cfg, &errors);
	if (rc != 0)
		fail_msg("example config: %s", errors);
	assert_int_equal(cfg->n_depts, 7);
	assert_string_equal(cfg->default_department, "dispatch");
	assert_string_equal(cfg->depts[cfg->default_dept].id, "dispatch");
	assert_true(cfg->imap.enabled && cfg->smtp.enabled && cfg->sms.enabled);
	assert_string_equal(cfg->smtp.from_addr, "prijave@example.org");
	d = config_dept(cfg, "lighting", &idx);
	assert_non_null(d);
	assert_int_equal(idx, 1);
	assert_int_equal(d->staff_phones.n, 1);
	assert_string_equal(d->staff_phones.v[0], "+381645551234");
	assert_null(config_dept(cfg, "nope", NULL));
	assert_int_equal(cfg->sla.has_calendar, 1);
	assert_int_equal(cfg->sla.working_days, 0x3e);
	assert_int_equal(cfg->sla.work_start_min, 7 * 60);
	assert_int_equal(cfg->sla.work_end_min, 15 * 60);
	assert_true(strstr(cfg->templates.sms_ack, "STATUS {id}") != NULL);
	assert_string_equal(cfg->templates.sms_query, tmpl_default_sms_query);
	assert_string_equal(cfg->templates.email_ack, tmpl_default_email_ack);
	assert_string_equal(config_status_label(cfg, "in_progress"), "u radu");
	assert_string_equal(config_status_label(cfg, "weird"), "weird");
	sum = config_summary(cfg);
	assert_non_null(strstr(sum, "imap: imaps://mail.example.org:993 INBOX -> Processed"));
	assert_non_null(strstr(sum, "smtp: smtps://mail.example.org:465 from prijave@example.org, "
	    "4 connections, AUTH"));
	assert_non_null(strstr(sum, "sms: infobip https://api.example.com number +381641234567"));
	assert_non_null(strstr(sum, "departments: 7, default dispatch"));
	assert_non_null(strstr(sum, "48 working hours (Mon,Tue,Wed,Thu,Fri 07:00-15:00, 9 holidays)"));
	free(sum);
	config_free(&cfg);
	assert_null(cfg);

	/* with the secrets check, only the absent files of this machine are
	 * reported, never the structure */
	if (config_load(path, 1, &cfg, &errors) == 0) {
		config_free(&cfg);
		return;
	}
	for (line = errors; line != NULL && *line != '\0'; ) {
		const char *eol = strchr(line, '\n');

		if (strstr(line, ": secret_file: ") == NULL &&
		    strstr(line, ": imap.password_file: ") == NULL &&
		    strstr(line, ": smtp.password_file: ") == NULL &&
		    strstr(line, ": sms.api_key_file: ") == NULL &&
		    strstr(line, ": database: directory ") == NULL)
			fail_msg("unexpected error in the example: %s", line);
		line = eol ? eol + 1 : NULL;
	}
	free(errors);
}

/* ---- the table of broken configs ---------------------------------- */

struct bad_case {
	const char *name;
	struct parts p;
	int check_secrets;
	const char *key;        /* NULL: a syntax error (no key) */
	const char *msg;        /* substring of the message */
};

#define TOP_WITH(extra) "database = \"db/s48.db\";\nsecret_file = \"secret\";\n" extra
#define DEPTS_WITH(first) "departments = (\n" first \
	"  { id = \"dispatch\"; name = \"Dispecer\"; }\n);\ndefault_department = \"dispatch\";\n"

static const struct bad_case bad_cases[] = {
	{ "syntax error", { .top = TOP_WITH("poll_interval = ; #<-\n") }, 0, NULL, "syntax" },
	{ "unknown top-level key", { .top = TOP_WITH("colour = \"red\"; #<-\n") }, 0,
	  "colour", "unknown key" },
	{ "unknown imap key", { .imap = "imap = { host = \"h\"; user = \"u\";\n"
	  "  password_file = \"imap.pass\";\n  hots = \"x\"; #<-\n};\n" }, 0,
	  "imap.hots", "unknown key" },
	{ "unknown department key", { .depts = DEPTS_WITH(
	  "  { id = \"water\"; name = \"V\";\n    emial = [\"a@b.org\"]; }, #<-\n") }, 0,
	  "departments.[0].emial", "unknown key" },
	{ "unknown template key", { .rest = "templates = {\n  sms_ak = \"x\"; #<-\n};\n" }, 0,
	  "templates.sms_ak", "unknown key" },
	{ "unknown generic key", { .sms = "sms = { profile = \"generic\"; number = \"+381641234567\";\n"
	  "  generic = { pull_url = \"http://127.0.0.1:1/in\"; messages_path = \"m\";\n"
	  "    id_path = \"id\"; from_path = \"from\"; text_path = \"text\";\n"
	  "    send_url = \"http://127.0.0.1:1/send\"; send_body = \"{to} {text}\";\n"
	  "    pul_url = \"x\"; #<-\n  };\n};\n" }, 0, "sms.generic.pul_url", "unknown key" },
	{ "unknown sla key", { .rest = "sla = { hour = 48; #<-\n};\n" }, 0,
	  "sla.hour", "unknown key" },
	{ "port not an integer", { .imap = "imap = { host = \"h\"; user = \"u\"; password = \"p\";\n"
	  "  port = \"993\"; #<-\n};\n" }, 0, "imap.port", "must be an integer" },
	{ "port out of range", { .imap = "imap = { host = \"h\"; user = \"u\"; password = \"p\";\n"
	  "  port = 70000; #<-\n};\n" }, 0, "imap.port", "between 1 and 65535" },
	{ "bool as string", { .sms = "sms = { profile = \"infobip\"; base_url = \"https://x.org\";\n"
	  "  api_key_file = \"sms.key\"; number = \"+381641234567\";\n  ascii = \"yes\"; #<-\n};\n" },
	  0, "sms.ascii", "true or false" },
	{ "email not an array", { .depts = DEPTS_WITH(
	  "  { id = \"water\"; name = \"V\";\n    email = \"a@b.org\"; }, #<-\n") }, 0,
	  "departments.[0].email", "array" },
	{ "group given as string", { .rest = "sla = \"48\"; #<-\n" }, 0, "sla", "group" },
	{ "missing database", { .top = "secret_file = \"secret\"; #<-\n" }, 0,
	  "database", "missing" },
	{ "missing secret_file", { .top = "database = \"db/s48.db\"; #<-\n" }, 0,
	  "secret_file", "missing" },
	{ "missing imap.host", { .imap = "imap = { #<-\n  user = \"u\"; password_file = \"imap.pass\"; };\n" },
	  0, "imap.host", "missing" },
	{ "missing imap.user", { .imap = "imap = { #<-\n  host = \"h\"; password_file = \"imap.pass\"; };\n" },
	  0, "imap.user", "missing" },
	{ "missing imap password", { .imap = "imap = { #<-\n  host = \"h\"; user = \"u\"; };\n" },
	  0, "imap.password_file", "missing" },
	{ "imap password twice", { .imap = "imap = { host = \"h\"; user = \"u\";\n"
	  "  password = \"p\"; #<-\n  password_file = \"imap.pass\"; };\n" }, 0,
	  "imap.password", "not both" },
	{ "bad imap tls", { .imap = "imap = { host = \"h\"; user = \"u\"; password = \"p\";\n"
	  "  tls = \"ssl\"; #<-\n};\n" }, 0, "imap.tls", "\"implicit\"" },
	{ "smtp tls none off loopback", { .smtp = "smtp = { from = \"a@b.org\"; url = \"smtp://mail.example.org:25\";\n"
	  "  tls = \"none\"; #<-\n};\n" }, 0, "smtp.tls", "only for a relay on loopback" },
	{ "smtp tls none, localhost as user", { .smtp = "smtp = { from = \"a@b.org\";\n"
	  "  url = \"smtp://localhost@relay.example.org:25\"; tls = \"none\"; #<-\n};\n" }, 0,
	  "smtp.tls", "only for a relay on loopback" },
	{ "top-level key twice", { .rest = "# poll_interval = 1; poll_interval = 2;\n"
	  "poll_interval = 5;\npoll_interval = 6; #<-\n" }, 0, "poll_interval", "set twice" },
	{ "group twice", { .rest = "sla = { hours = 48; };\nsla = { hours = 24; }; #<-\n" }, 0,
	  "sla", "set twice" },
	{ "key twice in a group, a string holding it", { .rest = "sla = { hours = 24;\n"
	  "  timezone = \"hours = 1\"; /* hours = 2; */\n  hours = 12; #<-\n};\n" }, 0,
	  "sla.hours", "set twice" },
	{ "key twice in the second department", { .depts = "departments = (\n"
	  "  { id = \"water\"; name = \"V\"; },\n  { id = \"dispatch\"; name = \"D\";\n"
	  "    name = \"E\"; } #<-\n);\ndefault_department = \"dispatch\";\n" }, 0,
	  "departments.[1].name", "set twice" },
	{ "sla.hours below the default warn_hours", { .rest = "sla = {\n  hours = 4; #<-\n};\n" },
	  0, "sla.hours", "default sla.warn_hours (8)" },
	{ "missing smtp.url", { .smtp = "smtp = { #<-\n  from = \"a@b.org\"; };\n" }, 0,
	  "smtp.url", "missing" },
	{ "missing smtp.from", { .smtp = "smtp = { #<-\n  url = \"smtp://h:25\"; };\n" }, 0,
	  "smtp.from", "missing" },
	{ "smtp url scheme", { .smtp = "smtp = { from = \"a@b.org\";\n"
	  "  url = \"http://h:25\"; #<-\n};\n" }, 0, "smtp.url", "smtp://" },
	{ "bad smtp tls", { .smtp = "smtp = { from = \"a@b.org\"; url = \"smtps://h\";\n"
	  "  tls = \"optional\"; #<-\n};\n" }, 0, "smtp.tls", "\"required\"" },
	{ "bad smtp from", { .smtp = "smtp = { url = \"smtps://h\";\n"
	  "  from = \"Sistem 48\"; #<-\n};\n" }, 0, "smtp.from", "Name <address>" },
	{ "smtp connections 0", { .smtp = "smtp = { url = \"smtps://h\"; from = \"a@b.org\";\n"
	  "  connections = 0; #<-\n};\n" }, 0, "smtp.connections", "between 1 and 16" },
	{ "smtp connections 17", { .smtp = "smtp = { url = \"smtps://h\"; from = \"a@b.org\";\n"
	  "  connections = 17; #<-\n};\n" }, 0, "smtp.connections", "between 1 and 16" },
	{ "smtp password without user", { .smtp = "smtp = { url = \"smtps://h\"; from = \"a@b.org\";\n"
	  "  password_file = \"smtp.pass\"; #<-\n};\n" }, 0, "smtp.password_file", "smtp.user" },
	{ "missing sms.profile", { .sms = "sms = { #<-\n  number = \"+381641234567\"; };\n" }, 0,
	  "sms.profile", "missing" },
	{ "bad sms.profile", { .sms = "sms = { number = \"+381641234567\";\n"
	  "  profile = \"nexmo\"; #<-\n};\n" }, 0, "sms.profile", "\"infobip\"" },
	{ "missing sms.number", { .sms = "sms = { #<-\n  profile = \"infobip\"; "
	  "base_url = \"https://x.org\"; api_key_file = \"sms.key\"; };\n" }, 0,
	  "sms.number", "missing" },
	{ "bad sms.number", { .sms = "sms = { profile = \"infobip\"; base_url = \"https://x.org\";\n"
	  "  api_key_file = \"sms.key\";\n  number = \"banana\"; #<-\n};\n" }, 0,
	  "sms.number", "not a phone number" },
	{ "infobip without base_url", { .sms = "sms = { #<-\n  profile = \"infobip\"; "
	  "api_key_file = \"sms.key\"; number = \"+381641234567\"; };\n" }, 0,
	  "sms.base_url", "missing" },
	{ "infobip without key", { .sms = "sms = { #<-\n  profile = \"infobip\"; "
	  "base_url = \"https://x.org\"; number = \"+381641234567\"; };\n" }, 0,
	  "sms.api_key_file", "missing" },
	{ "twilio without account", { .sms = "sms = { #<-\n  profile = \"twilio\"; "
	  "api_key_file = \"sms.key\"; number = \"+381641234567\"; };\n" }, 0,
	  "sms.account", "missing" },
	{ "account for infobip", { .sms = "sms = { profile = \"infobip\"; base_url = \"https://x.org\";\n"
	  "  api_key_file = \"sms.key\"; number = \"+381641234567\";\n  account = \"AC1\"; #<-\n};\n" },
	  0, "sms.account", "twilio" },
	{ "generic without group", { .sms = "sms = { #<-\n  profile = \"generic\"; "
	  "number = \"+381641234567\"; };\n" }, 0, "sms.generic", "missing" },
	{ "generic without send_body", { .sms = "sms = { profile = \"generic\"; number = \"+381641234567\";\n"
	  "  generic = { #<-\n    pull_url = \"http://127.0.0.1:1/in\"; messages_path = \"m\";\n"
	  "    id_path = \"id\"; from_path = \"from\"; text_path = \"text\";\n"
	  "    send_url = \"http://127.0.0.1:1/send\"; };\n};\n" }, 0,
	  "sms.generic.send_body", "missing" },
	{ "generic {key} without key file", { .sms = "sms = { #<-\n  profile = \"generic\"; "
	  "number = \"+381641234567\";\n  generic = { pull_url = \"http://127.0.0.1:1/in\";\n"
	  "    auth_header = \"Authorization: Bearer {key}\"; messages_path = \"m\";\n"
	  "    id_path = \"id\"; from_path = \"from\"; text_path = \"text\";\n"
	  "    send_url = \"http://127.0.0.1:1/send\"; send_body = \"{to} {text}\"; };\n};\n" }, 0,
	  "sms.api_key_file", "{key}" },
	{ "generic group for infobip", { .sms = "sms = { profile = \"infobip\"; base_url = \"https://x.org\";\n"
	  "  api_key_file = \"sms.key\"; number = \"+381641234567\";\n  generic = { }; #<-\n};\n" },
	  0, "sms.generic", "only used by profile" },
	{ "bad country code", { .sms = "sms = { profile = \"infobip\"; base_url = \"https://x.org\";\n"
	  "  api_key_file = \"sms.key\"; number = \"+381641234567\";\n"
	  "  country_code = \"+381\"; #<-\n};\n" }, 0, "sms.country_code", "digits" },
	{ "no departments", { .depts = "departments = ( ); #<-\n" }, 0, "departments",
	  "at least one" },
	{ "departments missing", { .top = "database = \"db/s48.db\"; #<-\nsecret_file = \"secret\";\n",
	  .depts = "" }, 0,
	  "departments", "missing" },
	{ "department without id", { .depts = DEPTS_WITH("  { name = \"V\"; }, #<-\n") }, 0,
	  "departments.[0].id", "missing" },
	{ "department without name", { .depts = DEPTS_WITH("  { id = \"water\"; }, #<-\n") }, 0,
	  "departments.[0].name", "missing" },
	{ "department not a group", { .depts = DEPTS_WITH("  \"water\", #<-\n") }, 0,
	  "departments.[0]", "group" },
	{ "duplicate department id", { .depts = "departments = (\n  { id = \"water\"; name = \"V\"; },\n"
	  "  { id = \"water\"; name = \"W\"; } #<-\n);\n" }, 0, "departments.[1].id", "duplicate" },
	{ "bad department id", { .depts = DEPTS_WITH(
	  "  { name = \"V\";\n    id = \"Water Dept\"; }, #<-\n") }, 0,
	  "departments.[0].id", "a-z" },
	{ "undefined default_department", { .depts = "departments = ( { id = \"water\"; name = \"V\"; } );\n"
	  "default_department = \"dispatch\"; #<-\n" }, 0, "default_department",
	  "not a department" },
	{ "bad department email", { .depts = DEPTS_WITH(
	  "  { id = \"water\"; name = \"V\";\n    email = [\"ok@x.org\", \"not-an-address\"]; }, #<-\n") },
	  0, "departments.[0].email.[1]", "not an email address" },
	{ "bad staff phone", { .depts = DEPTS_WITH(
	  "  { id = \"water\"; name = \"V\";\n    staff_phones = [\"12\"]; }, #<-\n") }, 0,
	  "departments.[0].staff_phones.[0]", "not a mobile" },
	{ "landline as department sms", { .depts = DEPTS_WITH(
	  "  { id = \"water\"; name = \"V\";\n    sms = [\"011 123 4567\"]; }, #<-\n") }, 0,
	  "departments.[0].sms.[0]", "not a mobile" },
	{ "bad keyword star", { .depts = DEPTS_WITH(
	  "  { id = \"water\"; name = \"V\";\n    keywords = [\"voda\", \"*cev\"]; }, #<-\n") }, 0,
	  "departments.[0].keywords.[1]", "'*'" },
	{ "keyword not a string", { .depts = DEPTS_WITH(
	  "  { id = \"water\"; name = \"V\";\n    keywords = (\"voda\", 5); }, #<-\n") }, 0,
	  "departments.[0].keywords.[1]", "must be a string" },
	{ "unknown timezone", { .rest = "sla = {\n  timezone = \"Mars/Olympus\"; #<-\n};\n" }, 0,
	  "sla.timezone", "unknown time zone" },
	{ "timezone path trick", { .rest = "sla = {\n  timezone = \"../../etc/passwd\"; #<-\n};\n" }, 0,
	  "sla.timezone", "unknown time zone" },
	{ "bad working_hours", { .rest = "sla = {\n  working_hours = \"7-15\"; #<-\n};\n" }, 0,
	  "sla.working_hours", "HH:MM-HH:MM" },
	{ "working_hours reversed", { .rest = "sla = {\n  working_hours = \"15:00-07:00\"; #<-\n};\n" },
	  0, "sla.working_hours", "before the end" },
	{ "working_hours 25:00", { .rest = "sla = {\n  working_hours = \"07:00-25:00\"; #<-\n};\n" },
	  0, "sla.working_hours", "HH:MM-HH:MM" },
	{ "bad working_days", { .rest = "sla = {\n  working_days = [1, 8]; #<-\n};\n" }, 0,
	  "sla.working_days.[1]", "weekday" },
	{ "empty working_days", { .rest = "sla = {\n  working_days = []; #<-\n};\n" }, 0,
	  "sla.working_days", "at least one" },
	{ "bad holiday", { .rest = "sla = { working_days = [1, 2, 3, 4, 5];\n"
	  "  holidays = [\"2027-02-30\"]; #<-\n};\n" }, 0, "sla.holidays.[0]", "YYYY-MM-DD" },
	{ "holidays without calendar", { .rest = "sla = {\n  holidays = [\"2027-01-01\"]; #<-\n};\n" },
	  0, "sla.holidays", "needs" },
	{ "warn_hours too large", { .rest = "sla = { hours = 8;\n  warn_hours = 8; #<-\n};\n" }, 0,
	  "sla.warn_hours", "less than" },
	{ "bad log level", { .top = TOP_WITH("log = {\n  level = \"loud\"; #<-\n};\n") }, 0,
	  "log.level", "\"debug\"" },
	{ "bad log target", { .top = TOP_WITH("log = {\n  target = \"file\"; #<-\n};\n") }, 0,
	  "log.target", "\"syslog\"" },
	{ "poll_interval zero", { .top = TOP_WITH("poll_interval = 0; #<-\n") }, 0,
	  "poll_interval", "between" },
	{ "bad ticket_tag", { .top = TOP_WITH("ticket_tag = \"S 48\"; #<-\n") }, 0,
	  "ticket_tag", "letters and digits" },
	{ "bad escalation", { .rest = "escalation = [\"nobody\"]; #<-\n" }, 0,
	  "escalation.[0]", "neither" },
	{ "bad outbox", { .rest = "outbox = {\n  max_attempts = 0; #<-\n};\n" }, 0,
	  "outbox.max_attempts", "between" },
	{ "unknown limits key", { .rest = "limits = {\n  replies = 3; #<-\n};\n" }, 0,
	  "limits.replies", "unknown key" },
	{ "template placeholder", { .rest = "templates = {\n  sms_ack = \"br. {broj}\"; #<-\n};\n" },
	  0, "templates.sms_ack", "{broj}" },
	{ "empty status label", { .rest = "status_labels = {\n  open = \"\"; #<-\n};\n" }, 0,
	  "status_labels.open", "empty" },
	{ "control character", { .depts = DEPTS_WITH(
	  "  { id = \"water\";\n    name = \"V\\nBcc: x@y\"; }, #<-\n") }, 0,
	  "departments.[0].name", "control" },
	{ "secret file 0644", { .top = "database = \"db/s48.db\";\n"
	  "secret_file = \"secret644\"; #<-\n" }, 1, "secret_file", "group or others" },
	{ "secret file missing", { .top = "database = \"db/s48.db\";\n"
	  "secret_file = \"no-such-secret\"; #<-\n" }, 1, "secret_file", "No such file" },
	{ "imap password file 0644", { .imap = "imap = { host = \"h\"; user = \"u\";\n"
	  "  password_file = \"secret644\"; #<-\n};\n" }, 1, "imap.password_file", "group or others" },
	{ "smtp password file missing", { .smtp = "smtp = { url = \"smtps://h\"; from = \"a@b.org\";\n"
	  "  user = \"u\";\n  password_file = \"/nonexistent/smtp.pass\"; #<-\n};\n" }, 1,
	  "smtp.password_file", "No such file" },
	{ "sms key file 0640", { .sms = "sms = { profile = \"infobip\"; base_url = \"https://x.org\";\n"
	  "  number = \"+381641234567\";\n  api_key_file = \"key640\"; #<-\n};\n" }, 1,
	  "sms.api_key_file", "group or others" },
	{ "database directory missing", { .top = "secret_file = \"secret\";\n"
	  "database = \"nodir/s48.db\"; #<-\n" }, 1, "database", "does not exist" },
};

static void
test_bad_configs(void **state)
{
	size_t i;
	int failures = 0;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *bc = &bad_cases[i];
		const char *path = write_config("bad.conf", &bc->p);
		int line = marker_line(&bc->p);
		struct s48_config *cfg = NULL;
		char *errors = NULL;
		char want[1024];
		const char *hit;

		assert_true(line > 0);
		if (bc->key != NULL)
			snprintf(want, sizeof(want), "%s:%d: %s: ", path, line, bc->key);
		else
			snprintf(want, sizeof(want), "%s:%d: ", path, line);
		if (config_load(path, bc->check_secrets, &cfg, &errors) == 0) {
			print_error("case \"%s\": loaded, expected %s%s\n", bc->name, want, bc->msg);
			config_free(&cfg);
			failures++;
			continue;
		}
		assert_null(cfg);
		hit = strstr(errors, want);
		if (hit == NULL) {
			print_error("case \"%s\": want \"%s...%s\", got:\n%s\n", bc->name, want,
			    bc->msg, errors);
			failures++;
		} else {
			const char *eol = strchr(hit, '\n');
			size_t len = eol ? (size_t)(eol - hit) : strlen(hit);
			char *one = xstrndup(hit, len);

			if (strstr(one, bc->msg) == NULL) {
				print_error("case \"%s\": message lacks \"%s\": %s\n", bc->name, bc->msg,
				    one);
				failures++;
			}
			free(one);
		}
		free(errors);
	}
	assert_int_equal(failures, 0);
}

/* The default parts are valid, with and without the secrets check. */
static void
test_base_valid(void **state)
{
	struct parts p = { 0 };
	const char *path = write_config("good.conf", &p);
	struct s48_config *cfg = NULL;

	(void)state;
	cfg = load_ok(path, 1);
	config_free(&cfg);
	cfg = load_ok(path, 0);
	config_free(&cfg);
}

static int
count_lines(const char *s)
{
	int n = 1;

	for (; *s != '\0'; s++)
		if (*s == '\n')
			n++;
	return n;
}

static void
test_all_errors_reported(void **state)
{
	struct parts p = {
		.top = "database = \"db/s48.db\";\nsecret_file = \"secret\";\n"
		    "poll_interval = \"often\";\n",                       /* line 3 */
		.imap = "imap = { host = \"h\"; user = \"u\"; password = \"p\";\n"
		    "  tls = \"ssl\"; };\n",                                /* line 5 */
		.rest = "sla = { timezone = \"Nowhere/Atlantis\"; };\n",   /* after depts */
	};
	const char *path = write_config("three.conf", &p);
	struct s48_config *cfg = NULL;
	char *errors = NULL;
	char want[600];

	(void)state;
	assert_int_equal(config_load(path, 0, &cfg, &errors), -1);
	assert_int_equal(count_lines(errors), 3);
	snprintf(want, sizeof(want), "%s:3: poll_interval: ", path);
	assert_non_null(strstr(errors, want));
	snprintf(want, sizeof(want), "%s:5: imap.tls: ", path);
	assert_non_null(strstr(errors, want));
	snprintf(want, sizeof(want), "%s:16: sla.timezone: ", path);
	if (strstr(errors, want) == NULL)
		fail_msg("want %s in:\n%s", want, errors);
	/* no trailing newline: the caller prints it */
	assert_int_not_equal(errors[strlen(errors) - 1], '\n');
	free(errors);
}

static void
test_secret_modes(void **state)
{
	struct parts p = { .top = "database = \"db/s48.db\";\nsecret_file = \"modesecret\";\n" };
	const char *path;
	struct s48_config *cfg = NULL;
	char *errors = NULL;
	char sp[512];

	(void)state;
	write_file("modesecret", "topsecret\n", 0600);
	path = write_config("modes.conf", &p);
	if (config_load(path, 1, &cfg, &errors) != 0)
		fail_msg("0600 refused: %s", errors);
	assert_int_equal(config_load_secrets(cfg, &errors), 0);
	assert_string_equal(cfg->secret, "topsecret");
	assert_string_equal(cfg->imap.password, "imap-pw");
	assert_string_equal(cfg->smtp.password == NULL ? "(null)" : cfg->smtp.password, "(null)");
	assert_string_equal(cfg->sms.api_key, "sms-key");

	/* the file turns readable after loading: reading the secrets refuses it */
	snprintf(sp, sizeof(sp), "%s/modesecret", tmpdir);
	assert_int_equal(chmod(sp, 0644), 0);
	xfree(&cfg->secret);
	assert_int_equal(config_load_secrets(cfg, &errors), -1);
	assert_non_null(strstr(errors, "secret_file: "));
	assert_non_null(strstr(errors, "modes.conf:2: "));
	free(errors);
	config_free(&cfg);

	/* refused by config_load with check_secrets, ignored without */
	assert_int_equal(config_load(path, 1, &cfg, &errors), -1);
	assert_non_null(strstr(errors, "secret_file: "));
	free(errors);
	if (config_load(path, 0, &cfg, &errors) != 0)
		fail_msg("check_secrets=0 must not look at modes: %s", errors);
	config_free(&cfg);

	/* 0640 (group-readable) refused too; an empty key file is refused when read */
	assert_int_equal(chmod(sp, 0640), 0);
	assert_int_equal(config_load(path, 1, &cfg, &errors), -1);
	free(errors);
	assert_int_equal(chmod(sp, 0600), 0);
	p.sms = "sms = { profile = \"infobip\"; base_url = \"https://x.org\";\n"
	    "  api_key_file = \"empty.key\"; number = \"+381641234567\"; };\n";
	path = write_config("modes2.conf", &p);
	cfg = load_ok(path, 1);
	assert_int_equal(config_load_secrets(cfg, &errors), -1);
	assert_non_null(strstr(errors, "sms.api_key_file: "));
	assert_non_null(strstr(errors, "empty"));
	free(errors);
	config_free(&cfg);
}

static void
test_inline_password_needs_private_config(void **state)
{
	struct parts p = { .imap = "imap = { host = \"h\"; user = \"u\";\n"
	    "  password = \"inline\"; };\n" };
	const char *path = write_config("inline.conf", &p);
	struct s48_config *cfg = NULL;
	char *errors = NULL;

	(void)state;
	cfg = load_ok(path, 1);
	assert_string_equal(cfg->imap.password, "inline");
	assert_null(cfg->imap.password_file);
	config_free(&cfg);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(config_load(path, 1, &cfg, &errors), -1);
	assert_non_null(strstr(errors, "inline.conf:4: imap.password: "));
	free(errors);
}

/* A password in a URL's userinfo is an inline password: refused when the
 * config is readable by others, and never printed by --check-config. */
static void
test_url_password(void **state)
{
	struct parts p = {
		.smtp = "smtp = { url = \"smtps://prijave:Tajna-lozinka1@mail.example.org:465\";\n"
		    "  from = \"a@b.org\"; };\n",
		.sms = "sms = { profile = \"infobip\";\n"
		    "  base_url = \"https://s48:Api-kljuc2@api.example.com\";\n"
		    "  api_key_file = \"sms.key\"; number = \"+381641234567\"; };\n",
	};
	const char *path = write_config("urlpw.conf", &p);
	struct s48_config *cfg = NULL;
	char *errors = NULL, *sum;

	(void)state;
	cfg = load_ok(path, 1);
	sum = config_summary(cfg);
	if (strstr(sum, "Tajna-lozinka1") != NULL || strstr(sum, "Api-kljuc2") != NULL)
		fail_msg("a password printed: %s", sum);
	assert_non_null(strstr(sum, "smtps://prijave:***@mail.example.org:465"));
	assert_non_null(strstr(sum, "https://s48:***@api.example.com"));
	free(sum);
	config_free(&cfg);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(config_load(path, 1, &cfg, &errors), -1);
	assert_non_null(strstr(errors, "smtp.url: "));
	assert_non_null(strstr(errors, "sms.base_url: "));
	assert_non_null(strstr(errors, "holds a password in this URL"));
	free(errors);
	/* a user name alone is no secret */
	{
		struct parts q = { .smtp = "smtp = { url = \"smtps://prijave@mail.example.org\";\n"
		    "  from = \"a@b.org\"; };\n" };

		path = write_config("urluser.conf", &q);
		assert_int_equal(chmod(path, 0644), 0);
		cfg = load_ok(path, 1);
		config_free(&cfg);
	}
}

static void
test_relative_paths(void **state)
{
	struct parts p = {
		.top = "database = \"db/s48.db\";\nsecret_file = \"/etc/s48/secret\";\n",
	};
	const char *path = write_config("rel.conf", &p);
	struct s48_config *cfg = NULL;
	char *errors = NULL;
	char want[4200];

	(void)state;
	cfg = load_ok(path, 0);
	assert_string_equal(cfg->dir, realtmp);
	snprintf(want, sizeof(want), "%s/db/s48.db", realtmp);
	assert_string_equal(cfg->database, want);
	assert_string_equal(cfg->secret_file, "/etc/s48/secret");
	snprintf(want, sizeof(want), "%s/imap.pass", realtmp);
	assert_string_equal(cfg->imap.password_file, want);
	snprintf(want, sizeof(want), "%s/sms.key", realtmp);
	assert_string_equal(cfg->sms.api_key_file, want);
	assert_string_equal(cfg->path, path);
	config_free(&cfg);

	/* loaded through a relative path from another directory */
	{
		char cwd[4096];
		struct parts q = { 0 };

		assert_non_null(getcwd(cwd, sizeof(cwd)));
		write_config("rel2.conf", &q);
		assert_int_equal(chdir(tmpdir), 0);
		if (config_load("rel2.conf", 1, &cfg, &errors) != 0)
			fail_msg("%s", errors);
		assert_int_equal(chdir("/"), 0);
		snprintf(want, sizeof(want), "%s/db/s48.db", realtmp);
		assert_string_equal(cfg->database, want);
		assert_int_equal(config_load_secrets(cfg, &errors), 0);
		assert_string_equal(cfg->secret, "0123456789abcdef");
		assert_int_equal(chdir(cwd), 0);
		config_free(&cfg);
	}
}

static void
test_defaults(void **state)
{
	struct parts p = { .imap = "", .smtp = "", .sms = "",
		.depts = "departments = ( { id = \"general\"; name = \"Opsta sluzba\"; } );\n" };
	const char *path = write_config("min.conf", &p);
	struct s48_config *cfg = NULL;
	char *sum;

	(void)state;
	cfg = load_ok(path, 0);
	assert_false(cfg->imap.enabled);
	assert_false(cfg->smtp.enabled);
	assert_false(cfg->sms.enabled);
	assert_int_equal(cfg->poll_interval, 60);
	assert_string_equal(cfg->ticket_tag, "S48");
	assert_int_equal(cfg->log_level, LOG_LEVEL_INFO);
	assert_int_equal(cfg->log_syslog, 1);
	assert_string_equal(cfg->default_department, "general");
	assert_int_equal(cfg->default_dept, 0);
	assert_int_equal(cfg->outbox_max_attempts, 8);
	assert_int_equal(cfg->auto_replies_per_day, 10);
	assert_int_equal(cfg->sla.hours, 48);
	assert_int_equal(cfg->sla.has_calendar, 0);
	assert_int_equal(cfg->sla.warn_hours, 8);
	assert_string_equal(cfg->sla.timezone, "Europe/Belgrade");
	assert_string_equal(cfg->sms.country_code, "381");
	assert_int_equal(cfg->sms.ascii, 1);
	assert_int_equal(cfg->sms.max_segments, 2);
	assert_int_equal(cfg->sms.first_run_days, 2);
	assert_int_equal(cfg->sms.batch, 100);
	assert_int_equal(cfg->sms.timeout, 20);
	assert_string_equal(cfg->templates.sms_ack, tmpl_default_sms_ack);
	assert_string_equal(cfg->templates.sms_status, tmpl_default_sms_status);
	assert_string_equal(cfg->templates.sms_query, tmpl_default_sms_query);
	assert_string_equal(cfg->templates.sms_help, tmpl_default_sms_help);
	assert_string_equal(cfg->templates.email_ack, tmpl_default_email_ack);
	assert_string_equal(cfg->templates.email_status, tmpl_default_email_status);
	assert_string_equal(config_status_label(cfg, "open"), "primljena");
	assert_string_equal(config_status_label(cfg, "in_progress"), "u radu");
	assert_string_equal(config_status_label(cfg, "resolved"), "resena");
	assert_string_equal(config_status_label(cfg, "rejected"), "odbijena");
	assert_int_equal(cfg->escalation.n, 0);
	sum = config_summary(cfg);
	assert_non_null(strstr(sum, "imap: off"));
	assert_non_null(strstr(sum, "smtp: off (replies by email will fail)"));
	assert_non_null(strstr(sum, "sms: off"));
	assert_non_null(strstr(sum, "48 wall-clock hours"));
	free(sum);
	config_free(&cfg);
}

static void
test_channel_defaults_and_normalising(void **state)
{
	struct parts p = {
		.imap = "imap = { host = \"mail.example.org\"; user = \"u\"; password_file = \"imap.pass\"; };\n",
		.rest = "sla = { working_days = [1, 2, 3, 4, 5, 6]; warn_hours = 0; };\n"
		    "escalation = [\"Direktor@JKP.example.org\", \"065 999 8888\"];\n"
		    "log = { level = \"debug\"; target = \"stderr\"; };\n",
	};
	const char *path = write_config("chan.conf", &p);
	struct s48_config *cfg = NULL;
	char *sum;

	(void)state;
	cfg = load_ok(path, 0);
	assert_int_equal(cfg->imap.port, 993);
	assert_int_equal(cfg->imap.tls, CFG_TLS_IMPLICIT);
	assert_string_equal(cfg->imap.mailbox, "INBOX");
	assert_null(cfg->imap.processed_mailbox);
	assert_int_equal(cfg->imap.idle, 1);
	assert_int_equal(cfg->imap.max_message_bytes, 10485760);
	assert_int_equal(cfg->imap.ack_max_age_days, 7);
	assert_null(cfg->imap.ca_file);
	assert_int_equal(cfg->smtp.tls_required, 0);
	assert_int_equal(cfg->smtp.connections, 4);
	assert_string_equal(cfg->smtp.from_addr, "prijave@example.org");
	assert_string_equal(cfg->sms.base_url, "http://127.0.0.1:8080");   /* '/' trimmed */
	assert_string_equal(cfg->depts[0].email.v[0], "vodovod@jkp.example.org");
	assert_string_equal(cfg->depts[0].staff_phones.v[0], "+381641112223");
	assert_string_equal(cfg->depts[0].keywords.v[1], "cev*");
	assert_string_equal(cfg->escalation.v[0], "direktor@jkp.example.org");
	assert_string_equal(cfg->escalation.v[1], "+381659998888");
	assert_int_equal(cfg->sla.has_calendar, 1);
	assert_int_equal(cfg->sla.working_days, 0x7e);
	assert_int_equal(cfg->sla.work_start_min, 0);         /* whole days */
	assert_int_equal(cfg->sla.work_end_min, 24 * 60);
	assert_int_equal(cfg->sla.warn_hours, 0);
	assert_int_equal(cfg->log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(cfg->log_syslog, 0);
	sum = config_summary(cfg);
	assert_non_null(strstr(sum, "imap: imaps://mail.example.org:993 INBOX -> "));
	assert_non_null(strstr(sum, "smtp: smtp://127.0.0.1:2525 from prijave@example.org, "
	    "4 connections"));
	assert_non_null(strstr(sum, "sms: infobip http://127.0.0.1:8080 number +381641234567"));
	assert_non_null(strstr(sum, "Mon,Tue,Wed,Thu,Fri,Sat 00:00-24:00"));
	assert_null(strstr(sum, "imap-pw"));
	free(sum);
	config_free(&cfg);

	/* starttls: port 143; twilio: default base URL; generic: full profile */
	p.imap = "imap = { host = \"h\"; tls = \"starttls\"; user = \"u\"; password = \"p\"; };\n";
	p.sms = "sms = { profile = \"twilio\"; account = \"AC0123\"; api_key_file = \"sms.key\";\n"
	    "  number = \"0641234567\"; batch = 50; timeout = 5; ascii = false; };\n";
	p.rest = "";
	path = write_config("chan2.conf", &p);
	cfg = load_ok(path, 0);
	assert_int_equal(cfg->imap.port, 143);
	assert_string_equal(cfg->sms.base_url, "https://api.twilio.com");
	assert_string_equal(cfg->sms.number, "+381641234567");
	assert_string_equal(cfg->sms.account, "AC0123");
	assert_int_equal(cfg->sms.batch, 50);
	assert_int_equal(cfg->sms.timeout, 5);
	assert_int_equal(cfg->sms.ascii, 0);
	config_free(&cfg);

	p.sms = "sms = { profile = \"generic\"; number = \"+381601234567\"; api_key_file = \"sms.key\";\n"
	    "  generic = { pull_url = \"http://127.0.0.1:8080/inbox?after={cursor}\";\n"
	    "    auth_header = \"Authorization: Bearer {key}\"; messages_path = \"messages\";\n"
	    "    id_path = \"id\"; from_path = \"from\"; text_path = \"text\"; time_path = \"received\";\n"
	    "    cursor_path = \"next\"; ack_url = \"\"; send_url = \"http://127.0.0.1:8080/send\";\n"
	    "    send_body = \"{\\\"to\\\": {to}, \\\"text\\\": {text}}\"; };\n};\n";
	path = write_config("chan3.conf", &p);
	cfg = load_ok(path, 0);
	assert_string_equal(cfg->sms.generic.messages_path, "messages");
	assert_string_equal(cfg->sms.generic.cursor_path, "next");
	assert_null(cfg->sms.generic.ack_url);
	assert_string_equal(cfg->sms.generic.send_body, "{\"to\": {to}, \"text\": {text}}");
	assert_null(cfg->sms.base_url);
	config_free(&cfg);
}

/* smtp tls = "none" is accepted for every spelling of loopback (SPEC 6: "only
 * for a relay on loopback"); smtps:// is verified whatever tls says.  IMAP
 * without TLS to another host is allowed (SPEC 6 does not restrict it) but
 * --check-config says that the password crosses the network in clear. */
static void
test_tls_none_on_loopback(void **state)
{
	static const char *const imaps[] = { "127.0.0.1", "127.1.2.3", "localhost", "LocalHost",
		"::1", "[::1]" };
	static const char *const smtps[] = { "smtp://127.0.0.1:2525", "smtp://localhost",
		"smtp://[::1]:25/", "smtp://user@127.0.0.1:587", "SMTP://LOCALHOST:25" };
	char imap[512], smtp[512];
	struct s48_config *cfg;
	char *sum;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(imaps) / sizeof(imaps[0]); i++) {
		struct parts p = { .imap = imap };

		snprintf(imap, sizeof(imap), "imap = { host = \"%s\"; tls = \"none\"; user = \"u\";\n"
		    "  password_file = \"imap.pass\"; };\n", imaps[i]);
		cfg = load_ok(write_config("lo.conf", &p), 1);
		assert_int_equal(cfg->imap.tls, CFG_TLS_NONE);
		sum = config_summary(cfg);
		if (strcmp(imaps[i], "::1") == 0)
			assert_non_null(strstr(sum, "imap: imap://[::1]:143 (no TLS)"));
		assert_null(strstr(sum, "in clear"));
		free(sum);
		config_free(&cfg);
	}
	{
		struct parts p = { .imap = "imap = { host = \"127.0.0.1.example.org\"; tls = \"none\";\n"
		    "  user = \"u\"; password_file = \"imap.pass\"; };\n" };

		cfg = load_ok(write_config("lo.conf", &p), 1);
		sum = config_summary(cfg);
		assert_non_null(strstr(sum, "imap: imap://127.0.0.1.example.org:143 (NO TLS: the "
		    "password crosses the network in clear)"));
		free(sum);
		config_free(&cfg);
	}
	for (i = 0; i < sizeof(smtps) / sizeof(smtps[0]); i++) {
		struct parts p = { .smtp = smtp };

		snprintf(smtp, sizeof(smtp), "smtp = { url = \"%s\"; tls = \"none\"; "
		    "from = \"a@b.org\"; };\n", smtps[i]);
		cfg = load_ok(write_config("lo.conf", &p), 1);
		assert_int_equal(cfg->smtp.tls_required, 0);
		config_free(&cfg);
	}
	{
		struct parts p = { .smtp = "smtp = { url = \"smtps://mail.example.org\"; "
		    "tls = \"none\"; from = \"a@b.org\"; };\n" };

		cfg = load_ok(write_config("lo.conf", &p), 1);
		sum = config_summary(cfg);
		assert_null(strstr(sum, "no TLS (loopback relay only)"));
		assert_non_null(strstr(sum, "smtps:// is always verified"));
		free(sum);
		config_free(&cfg);
	}
}

/* An SMS gateway reached over plain http:// on another host gets its key and
 * citizens' numbers and texts in clear: --check-config says so (an Android
 * gateway on the LAN may have no TLS, so it is not refused). */
#define GEN_PATHS "messages_path = \"m\"; id_path = \"id\"; from_path = \"from\";\n" \
	"  text_path = \"text\"; send_body = \"{to} {text}\";"
static void
test_sms_http_in_clear(void **state)
{
	static const struct { const char *sms; int clear; } cases[] = {
		{ "sms = { profile = \"infobip\"; base_url = \"http://127.0.0.1:8080/\";\n"
		  "  api_key_file = \"sms.key\"; number = \"+381641234567\"; };\n", 0 },
		{ "sms = { profile = \"infobip\"; base_url = \"https://api.example.com\";\n"
		  "  api_key_file = \"sms.key\"; number = \"+381641234567\"; };\n", 0 },
		{ "sms = { profile = \"infobip\"; base_url = \"http://api.example.com\";\n"
		  "  api_key_file = \"sms.key\"; number = \"+381641234567\"; };\n", 1 },
		{ "sms = { profile = \"twilio\"; account = \"AC1\"; base_url = \"HTTP://127.0.0.1.example.org\";\n"
		  "  api_key_file = \"sms.key\"; number = \"+381641234567\"; };\n", 1 },
		{ "sms = { profile = \"generic\"; number = \"+381641234567\"; api_key_file = \"sms.key\";\n"
		  "  generic = { pull_url = \"http://localhost:8080/inbox\";\n"
		  "  send_url = \"http://192.168.1.20:8080/send\"; " GEN_PATHS " }; };\n", 1 },
		{ "sms = { profile = \"generic\"; number = \"+381641234567\"; api_key_file = \"sms.key\";\n"
		  "  generic = { pull_url = \"http://[::1]:8080/inbox\";\n"
		  "  send_url = \"https://gw.example.org/send\"; " GEN_PATHS " }; };\n", 0 },
	};
	struct s48_config *cfg;
	char *sum;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct parts p = { .sms = cases[i].sms };

		cfg = load_ok(write_config("sms.conf", &p), 1);
		sum = config_summary(cfg);
		if ((strstr(sum, "(NO TLS: the key, citizens' numbers and texts cross the "
		    "network in clear)") != NULL) != cases[i].clear)
			fail_msg("case %zu: %s", i, sum);
		free(sum);
		config_free(&cfg);
	}
}

/* --check-config says when the staff token secret is short enough to be
 * found from one token (16 bytes and more are not mentioned). */
static void
test_short_secret_reported(void **state)
{
	static const struct { const char *secret; int said; } cases[] = {
		{ "test\n", 1 }, { "0123456789abcde\n", 1 }, { "0123456789abcdef\n", 0 },
		{ "q1w2e3r4t5y6u7i8o9p0q1w2e3r4t5y6u7i8o9p0\n", 0 },
	};
	struct s48_config *cfg;
	struct parts p = { 0 };
	char *sum;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *errors = NULL;

		write_file("secret", cases[i].secret, 0600);
		cfg = load_ok(write_config("secret.conf", &p), 1);
		if (config_load_secrets(cfg, &errors) < 0)
			fail_msg("case %zu: %s", i, errors);
		sum = config_summary(cfg);
		if ((strstr(sum, "secret: only ") != NULL) != cases[i].said)
			fail_msg("case %zu: %s", i, sum);
		free(sum);
		config_free(&cfg);
	}
	write_file("secret", "0123456789abcdef\n", 0600);
}

/* A duplicate libconfig finds in an @include'd file that the scan of that
 * file alone cannot place (its first copy is in the main file): the
 * message stays libconfig's, with that file and line, and the scan reads no
 * byte past the end of a file that ends inside a name (ASan watches). */
static void
test_duplicate_in_include(void **state)
{
	char text[1024], inc[512];
	struct s48_config *cfg = NULL;
	char *errors = NULL;
	const char *path;
	struct parts p = { .rest = text };

	(void)state;
	write_file("inc.conf", "poll_interval = 6;\nname_at_the_en", 0600);
	snprintf(inc, sizeof(inc), "%s/inc.conf", tmpdir);
	snprintf(text, sizeof(text), "poll_interval = 5;\n@include \"%s\"\n", inc);
	path = write_config("main.conf", &p);
	assert_int_equal(config_load(path, 0, &cfg, &errors), -1);
	assert_null(cfg);
	assert_non_null(strstr(errors, inc));
	assert_non_null(strstr(errors, ":1: duplicate setting name"));
	free(errors);
}

static void
test_missing_file_and_default_path(void **state)
{
	struct s48_config *cfg = NULL;
	char *errors = NULL;

	(void)state;
	assert_int_equal(config_load("/nonexistent/s48.conf", 0, &cfg, &errors), -1);
	assert_non_null(strstr(errors, "/nonexistent/s48.conf"));
	assert_non_null(strstr(errors, "No such file"));
	free(errors);
	/* a directory opens, but libconfig would only say "file I/O error" */
	assert_int_equal(config_load(tmpdir, 0, &cfg, &errors), -1);
	assert_null(cfg);
	assert_non_null(strstr(errors, tmpdir));
	assert_non_null(strstr(errors, "cannot read: Is a directory"));
	free(errors);
	unsetenv("S48_CONFIG");
	assert_string_equal(config_default_path(), "/etc/s48/s48.conf");
	setenv("S48_CONFIG", "/tmp/x.conf", 1);
	assert_string_equal(config_default_path(), "/tmp/x.conf");
	unsetenv("S48_CONFIG");
	assert_string_equal(config_tls_name(CFG_TLS_STARTTLS), "starttls");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_loads),
		cmocka_unit_test(test_base_valid),
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_secret_modes),
		cmocka_unit_test(test_inline_password_needs_private_config),
		cmocka_unit_test(test_url_password),
		cmocka_unit_test(test_relative_paths),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_channel_defaults_and_normalising),
		cmocka_unit_test(test_tls_none_on_loopback),
		cmocka_unit_test(test_sms_http_in_clear),
		cmocka_unit_test(test_short_secret_reported),
		cmocka_unit_test(test_duplicate_in_include),
		cmocka_unit_test(test_missing_file_and_default_path),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
