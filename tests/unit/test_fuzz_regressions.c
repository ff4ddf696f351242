/*
 * test_fuzz_regressions.c - replays every input the fuzzers found
 * (tests/fuzz/regressions/<target>/) and every seed (tests/fuzz/seeds/<target>/)
 * through the libFuzzer targets' own entry points, compiled in here, so that
 * `make check` (and `make asan`, under ASan+UBSan) keeps each fixed crash
 * fixed.  A target checks its invariants with abort(): a failing input kills
 * this suite, which the runner reports with the target's name on stderr.
 * Files are read from $S48_TOP (default: the current directory).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"

/* Each target defines LLVMFuzzerTestOneInput and a few static helpers:
 * renamed here so several fit in one program. */
#define LLVMFuzzerTestOneInput fuzz_commands_one
#include "../fuzz/fuzz_commands.c"
#undef LLVMFuzzerTestOneInput

#define LLVMFuzzerTestOneInput fuzz_config_one
#include "../fuzz/fuzz_config.c"
#undef LLVMFuzzerTestOneInput

#define LLVMFuzzerTestOneInput fuzz_imap_response_one
#include "../fuzz/fuzz_imap_response.c"
#undef LLVMFuzzerTestOneInput

#define LLVMFuzzerTestOneInput fuzz_ingest_one
#include "../fuzz/fuzz_ingest.c"
#undef LLVMFuzzerTestOneInput

#define LLVMFuzzerTestOneInput fuzz_gateway_json_one
#include "../fuzz/fuzz_gateway_json.c"
#undef LLVMFuzzerTestOneInput

#define LLVMFuzzerTestOneInput fuzz_mail_compose_one
#define check fuzz_mail_compose_check
#define allowed_headers fuzz_mail_compose_allowed
#define header_allowed fuzz_mail_compose_header_allowed
#include "../fuzz/fuzz_mail_compose.c"
#undef LLVMFuzzerTestOneInput
#undef check
#undef allowed_headers
#undef header_allowed

#define LLVMFuzzerTestOneInput fuzz_mime_one
#include "../fuzz/fuzz_mime.c"
#undef LLVMFuzzerTestOneInput

#define LLVMFuzzerTestOneInput fuzz_mime_diff_one
#include "../fuzz/fuzz_mime_diff.c"
#undef LLVMFuzzerTestOneInput

#define LLVMFuzzerTestOneInput fuzz_text_one
#define check fuzz_text_check
#include "../fuzz/fuzz_text.c"
#undef LLVMFuzzerTestOneInput
#undef check

#define LLVMFuzzerTestOneInput fuzz_rtf_one
#include "../fuzz/fuzz_rtf.c"
#undef LLVMFuzzerTestOneInput

/* written by the IMAP intake's author: replayed once it is in the tree */
#if defined(__has_include)
#if __has_include("../fuzz/fuzz_imap_fetch.c")
#define FR_HAVE_IMAP_FETCH 1
#define LLVMFuzzerTestOneInput fuzz_imap_fetch_one
#include "../fuzz/fuzz_imap_fetch.c"
#undef LLVMFuzzerTestOneInput
#endif
#endif

#define FR_MAX_INPUT (1024 * 1024)

/* Leaks inside the libraries, which s48 cannot free (see
 * tests/fuzz/lsan.supp): libetpan 1.9.4 drops parts of responses on parse
 * errors and keeps a BYE greeting; libconfig 1.5 keeps the scanner's buffer
 * after a syntax error in a string. */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:libetpan.so\nleak:strbuf_append\nleak:libconfig_yylex\n";
}

typedef int fr_entry(const uint8_t *data, size_t size);

struct fr_target {
	const char *name;        /* directory name under regressions/ and seeds/ */
	fr_entry *fn;
	const char *seeds;       /* seed directory if not tests/fuzz/seeds/<name> */
};

/* every file of top/sub (not recursive), in name order; the count */
static size_t
fr_replay_dir(const char *top, const char *sub, const struct fr_target *t)
{
	char dir[1024], path[1300];
	struct dirent **names = NULL;
	size_t done = 0;
	int n, i;

	snprintf(dir, sizeof(dir), "%s/%s", top, sub);
	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return 0;
	for (i = 0; i < n; i++) {
		char *data = NULL;
		size_t len = 0;
		const char *err = NULL;

		if (names[i]->d_name[0] == '.' || names[i]->d_type == DT_DIR) {
			free(names[i]);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (util_read_file(path, FR_MAX_INPUT, &data, &len, &err) < 0)
			fail_msg("%s: %s", path, err);
		/* named on stderr first: an abort() in the target names the input */
		fprintf(stderr, "# %s %s\n", t->name, path);
		(void)t->fn((const uint8_t *)data, len);
		free(data);
		free(names[i]);
		done++;
	}
	free(names);
	return done;
}

static void
fr_run(void **state)
{
	const struct fr_target *t = *state;
	const char *top = getenv("S48_TOP");
	char sub[256];
	size_t reg, seeds;

	if (top == NULL)
		top = ".";
	snprintf(sub, sizeof(sub), "tests/fuzz/regressions/%s", t->name);
	reg = fr_replay_dir(top, sub, t);
	snprintf(sub, sizeof(sub), "tests/fuzz/seeds/%s", t->name);
	seeds = fr_replay_dir(top, t->seeds != NULL ? t->seeds : sub, t);
	print_message("# %s: %zu regression inputs, %zu seeds\n", t->name, reg, seeds);
	/* every target has seeds: none read means the tree was not found */
	assert_true(seeds > 0);
}

static const struct fr_target fr_targets[] = {
	{ "commands", fuzz_commands_one, NULL },
	{ "config", fuzz_config_one, NULL },
	{ "gateway_json", fuzz_gateway_json_one, NULL },
	{ "imap_response", fuzz_imap_response_one, NULL },
	{ "ingest", fuzz_ingest_one, NULL },
	{ "mail_compose", fuzz_mail_compose_one, NULL },
	{ "mime", fuzz_mime_one, "tests/corpus/email" },
	{ "mime_diff", fuzz_mime_diff_one, NULL },
	{ "rtf", fuzz_rtf_one, NULL },
	{ "text", fuzz_text_one, NULL },
#ifdef FR_HAVE_IMAP_FETCH
	{ "imap_fetch", fuzz_imap_fetch_one, NULL },
#endif
};

int
main(void)
{
	struct CMUnitTest tests[sizeof(fr_targets) / sizeof(fr_targets[0])];
	size_t i;

	for (i = 0; i < sizeof(fr_targets) / sizeof(fr_targets[0]); i++) {
		tests[i].name = fr_targets[i].name;
		tests[i].test_func = fr_run;
		tests[i].setup_func = NULL;
		tests[i].teardown_func = NULL;
		tests[i].initial_state = (void *)(uintptr_t)&fr_targets[i];
	}
	return _cmocka_run_group_tests("fuzz_regressions", tests, i, NULL, NULL);
}
