/* test_outbox_backoff.c - outbox_backoff(): 30 s doubling, capped at 1 h, +-10 %
 * jitter, and the S48_BACKOFF_SCALE test knob (each case in a child process,
 * since the factor is read once per process). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "outbox_send.h"

static const struct {
	int attempts;
	long base;
} table[] = {
	{ 1, 30 }, { 2, 60 }, { 3, 120 }, { 4, 240 }, { 5, 480 }, { 6, 960 },
	{ 7, 1920 }, { 8, 3600 }, { 9, 3600 }, { 20, 3600 },
};

static void
test_doubling_and_cap(void **state)
{
	size_t i;
	int k;

	(void)state;
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		long lo = table[i].base * 9 / 10 - 1, hi = table[i].base * 11 / 10 + 1;
		long min = hi, max = lo;

		for (k = 0; k < 300; k++) {
			long d = outbox_backoff(table[i].attempts);

			assert_in_range(d, lo, hi);
			if (d < min)
				min = d;
			if (d > max)
				max = d;
		}
		/* the jitter does vary, so rows that failed together spread out */
		assert_true(max - min >= table[i].base / 20);
	}
}

/* Run outbox_backoff(attempts) in a child with S48_BACKOFF_SCALE = value;
 * the child exits 0 when every result is within [lo, hi]. */
static int
child_in_range(const char *value, int attempts, long lo, long hi)
{
	pid_t pid = fork();
	int st, k;

	if (pid == 0) {
		if (value != NULL)
			setenv("S48_BACKOFF_SCALE", value, 1);
		else
			unsetenv("S48_BACKOFF_SCALE");
		for (k = 0; k < 100; k++) {
			long d = outbox_backoff(attempts);

			if (d < lo || d > hi)
				_exit(1);
		}
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
test_scale_knob(void **state)
{
	static const struct {
		const char *value;
		int attempts;
		long lo, hi;
	} cases[] = {
		{ "0.01", 1, 1, 1 },            /* 0.3 s -> the 1 s floor */
		{ "0.01", 8, 32, 40 },          /* 3600 s -> 36 s +-10 % */
		{ "0.1", 5, 42, 54 },           /* 480 s -> 48 s */
		{ "1", 8, 3239, 3961 },
		{ NULL, 2, 53, 67 },            /* unset: real time */
		{ "", 2, 53, 67 },
		{ "0", 2, 53, 67 },             /* invalid values mean 1 */
		{ "-0.5", 2, 53, 67 },
		{ "2", 2, 53, 67 },             /* never longer than real */
		{ "abc", 2, 53, 67 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = child_in_range(cases[i].value, cases[i].attempts, cases[i].lo, cases[i].hi);

		if (r != 0)
			fail_msg("S48_BACKOFF_SCALE=%s attempts %d: outside [%ld, %ld]",
			    cases[i].value ? cases[i].value : "(unset)", cases[i].attempts,
			    cases[i].lo, cases[i].hi);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		/* first: the children must not inherit a factor already read */
		cmocka_unit_test(test_scale_knob),
		cmocka_unit_test(test_doubling_and_cap),
	};

	unsetenv("S48_BACKOFF_SCALE");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
