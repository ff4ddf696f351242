/*
 * test_sla.c - the 48-hour clock in Europe/Belgrade: a table of due times
 * (wall time, working calendar, weekends, after hours, holidays, DST weeks)
 * checked against explicit UTC instants, a minute-by-minute reference
 * implementation over random starts, warning times, local formatting and
 * local day bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "config.h"
#include "sla.h"
#include "util.h"

/* UTC instant from its parts (no time zone involved). */
static time_t
utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	return util_timegm(&tm);
}

static char *holidays_2027[] = { "2027-01-01", "2027-01-07" };

static struct cfg_sla
calendar(void)
{
	struct cfg_sla s;

	memset(&s, 0, sizeof(s));
	s.hours = 48;
	s.has_calendar = 1;
	s.working_days = 0x3e;          /* Mon..Fri */
	s.work_start_min = 7 * 60;
	s.work_end_min = 15 * 60;
	s.warn_hours = 8;
	s.timezone = "Europe/Belgrade";
	s.holidays.v = holidays_2027;
	s.holidays.n = 2;
	return s;
}

static struct cfg_sla
wall(void)
{
	struct cfg_sla s;

	memset(&s, 0, sizeof(s));
	s.hours = 48;
	s.warn_hours = 8;
	s.timezone = "Europe/Belgrade";
	return s;
}

static int
setup(void **state)
{
	(void)state;
	sla_use_timezone("Europe/Belgrade");
	return 0;
}

struct due_case {
	const char *name;
	int calendar;              /* 0 wall, 1 Mon-Fri 07-15 with the 2027 holidays,
	                              2 every day 00:00-24:00 */
	int hours;
	time_t created, due;       /* UTC */
};

static void
test_due_table(void **state)
{
	/* Belgrade is UTC+1 in winter (CET), UTC+2 in summer (CEST);
	 * 2027-03-28 02:00 -> 03:00 and 2027-10-31 03:00 -> 02:00. */
	const struct due_case cases[] = {
		{ "wall time", 0, 48, utc(2026, 11, 24, 9, 0), utc(2026, 11, 26, 9, 0) },
		{ "wall time over a weekend", 0, 48, utc(2026, 11, 27, 13, 0),
		  utc(2026, 11, 29, 13, 0) },
		{ "wall time over spring DST", 0, 48, utc(2027, 3, 27, 11, 0),
		  utc(2027, 3, 29, 11, 0) },
		{ "Friday 14:00 + 48 working hours -> Monday week 14:00", 1, 48,
		  utc(2026, 11, 27, 13, 0), utc(2026, 12, 7, 13, 0) },
		{ "Saturday start counts from Monday 07:00", 1, 48, utc(2026, 11, 28, 9, 0),
		  utc(2026, 12, 7, 14, 0) },
		{ "Friday after hours counts from Monday 07:00", 1, 48, utc(2026, 11, 27, 15, 0),
		  utc(2026, 12, 7, 14, 0) },
		{ "Monday before hours counts from 07:00", 1, 48, utc(2026, 11, 30, 5, 0),
		  utc(2026, 12, 7, 14, 0) },
		{ "exactly at closing counts from next morning", 1, 48, utc(2026, 11, 24, 14, 0),
		  utc(2026, 12, 2, 14, 0) },
		{ "one working hour within the day", 1, 1, utc(2026, 11, 24, 9, 30),
		  utc(2026, 11, 24, 10, 30) },
		{ "ends exactly at closing", 1, 8, utc(2026, 11, 24, 6, 0),
		  utc(2026, 11, 24, 14, 0) },
		{ "holidays skipped (1 and 7 January)", 1, 48, utc(2026, 12, 31, 9, 0),
		  utc(2027, 1, 12, 9, 0) },
		{ "start on a holiday", 1, 8, utc(2027, 1, 1, 8, 0), utc(2027, 1, 4, 14, 0) },
		{ "spring DST week: Friday 14:00 CET -> Monday 14:00 CEST", 1, 48,
		  utc(2027, 3, 26, 13, 0), utc(2027, 4, 5, 12, 0) },
		{ "spring DST weekend: Friday 15:00 + 1h -> Monday 08:00 CEST", 1, 1,
		  utc(2027, 3, 26, 14, 0), utc(2027, 3, 29, 6, 0) },
		{ "autumn DST weekend: Friday 15:00 + 1h -> Monday 08:00 CET", 1, 1,
		  utc(2027, 10, 29, 13, 0), utc(2027, 11, 1, 7, 0) },
		{ "whole days: the 25-hour day counts 25 hours", 2, 48,
		  utc(2027, 10, 30, 10, 0), utc(2027, 11, 1, 10, 0) },
	};
	size_t i;
	int failures = 0;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg_sla s = cases[i].calendar ? calendar() : wall();
		time_t got;

		if (cases[i].calendar == 2) {
			s.working_days = 0xfe;
			s.work_start_min = 0;
			s.work_end_min = 24 * 60;
		}
		s.hours = cases[i].hours;
		got = sla_due(&s, cases[i].created);
		if (got != cases[i].due) {
			char a[32], b[32];

			util_iso8601(got, a);
			util_iso8601(cases[i].due, b);
			print_error("%s: got %s, want %s\n", cases[i].name, a, b);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* Minute by minute, the obvious way. */
static time_t
reference_due(const struct cfg_sla *s, time_t created)
{
	long remaining = (long)s->hours * 60;
	time_t t = created;

	while (remaining > 0) {
		struct tm tm;
		char date[16];
		int wd, mod, hol = 0;
		size_t i;

		localtime_r(&t, &tm);
		wd = tm.tm_wday == 0 ? 7 : tm.tm_wday;
		mod = tm.tm_hour * 60 + tm.tm_min;
		strftime(date, sizeof(date), "%Y-%m-%d", &tm);
		for (i = 0; i < s->holidays.n; i++)
			if (strcmp(date, s->holidays.v[i]) == 0)
				hol = 1;
		if ((s->working_days & (1u << wd)) && !hol && mod >= s->work_start_min &&
		    mod < s->work_end_min)
			remaining--;
		t += 60;
	}
	return t;
}

static void
test_due_matches_reference(void **state)
{
	struct cfg_sla s = calendar();
	time_t base = utc(2026, 10, 1, 0, 0), end = utc(2027, 12, 31, 0, 0);
	unsigned seed = 48;
	int i, failures = 0;

	(void)state;
	/* every start minute of a DST week's Friday-to-Monday, then random ones */
	for (i = 0; i < 70; i++) {
		time_t created;

		if (i < 40)
			created = utc(2027, 3, 26, 12, 0) + (time_t)i * 97 * 60;
		else
			created = base + (time_t)(rand_r(&seed) % (unsigned)((end - base) / 60)) * 60;
		if (i % 3 == 1)
			s.work_start_min = 8 * 60 + 30, s.work_end_min = 16 * 60 + 30;
		else if (i % 3 == 2)
			s.working_days = 0x7e;      /* with Saturdays */
		else
			s = calendar();
		if (sla_due(&s, created) != reference_due(&s, created)) {
			char a[32];

			util_iso8601(created, a);
			print_error("created %s: %ld vs reference %ld\n", a,
			    (long)sla_due(&s, created), (long)reference_due(&s, created));
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/*
 * Odd calendars against the reference: windows that do not divide an hour
 * evenly, short and night-spanning ones (01:00-04:00 holds the DST hour),
 * hours = 1, a run of holidays over the new year, one working day a week,
 * starting every 53 minutes through both DST weekends of 2027.
 */
static char *holiday_run[] = { "2027-12-24", "2027-12-27", "2027-12-28", "2027-12-29",
	"2027-12-30", "2027-12-31", "2028-01-03", "2028-01-04", "2028-01-05", "2028-01-06",
	"2028-01-07" };

static void
test_odd_calendars(void **state)
{
	const struct {
		const char *name;
		unsigned days;
		int start, end, hours;
		int holidays;
		int y, mo, d;              /* first start (UTC midnight) */
	} cases[] = {
		{ "07:30-15:15, 48 h, spring DST", 0x3e, 7 * 60 + 30, 15 * 60 + 15, 48, 0, 2027, 3, 25 },
		{ "07:30-15:15, 48 h, autumn DST", 0x3e, 7 * 60 + 30, 15 * 60 + 15, 48, 0, 2027, 10, 28 },
		{ "07:00-15:00, 1 h", 0x3e, 7 * 60, 15 * 60, 1, 0, 2027, 3, 26 },
		{ "01:00-04:00 every day (the DST hour), 5 h, spring", 0xfe, 60, 4 * 60, 5, 0,
		  2027, 3, 26 },
		{ "01:00-04:00 every day (the DST hour), 5 h, autumn", 0xfe, 60, 4 * 60, 5, 0,
		  2027, 10, 29 },
		{ "00:00-24:00 every day, 30 h, autumn", 0xfe, 0, 24 * 60, 30, 0, 2027, 10, 29 },
		{ "holiday run over the new year, 48 h", 0x3e, 7 * 60, 15 * 60, 48, 1,
		  2027, 12, 20 },
		{ "Wednesdays only 09:10-11:50, 10 h", 1u << 3, 9 * 60 + 10, 11 * 60 + 50, 10, 0,
		  2027, 3, 20 },
	};
	size_t i;
	int k, failures = 0;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg_sla s = calendar();

		s.working_days = cases[i].days;
		s.work_start_min = cases[i].start;
		s.work_end_min = cases[i].end;
		s.hours = cases[i].hours;
		s.warn_hours = 0;
		if (cases[i].holidays) {
			s.holidays.v = holiday_run;
			s.holidays.n = sizeof(holiday_run) / sizeof(holiday_run[0]);
		} else {
			s.holidays.n = 0;
		}
		for (k = 0; k < 120; k++) {
			time_t created = utc(cases[i].y, cases[i].mo, cases[i].d, 0, 0) +
			    (time_t)k * 53 * 60;
			time_t got = sla_due(&s, created), want = reference_due(&s, created);

			if (got != want) {
				char a[32], b[32], c[32];

				util_iso8601(created, a);
				util_iso8601(got, b);
				util_iso8601(want, c);
				print_error("%s: created %s: got %s, reference %s\n", cases[i].name, a, b, c);
				failures++;
			}
		}
	}
	assert_int_equal(failures, 0);
}

static void
test_cache_keys_on_calendar(void **state)
{
	struct cfg_sla a = calendar(), b = calendar();
	time_t created = utc(2026, 11, 27, 13, 0);
	char *other[] = { "2026-11-30" };

	(void)state;
	assert_int_equal(sla_due(&a, created), utc(2026, 12, 7, 13, 0));
	b.holidays.v = other;
	b.holidays.n = 1;
	/* Monday 30 November off: one more working day */
	assert_int_equal(sla_due(&b, created), utc(2026, 12, 8, 13, 0));
	b = calendar();
	b.work_end_min = 16 * 60;
	assert_int_not_equal(sla_due(&b, created), sla_due(&a, created));
	assert_int_equal(sla_due(&a, created), utc(2026, 12, 7, 13, 0));
}

/* The warning time, remembered like the due time: asked alternately with
 * sla_due() and with another warn_hours for the same instant, it is always
 * hours - warn_hours of working time after creation (the reference). */
static void
test_warn_cache(void **state)
{
	struct cfg_sla s = calendar();
	time_t created = utc(2027, 3, 26, 12, 0);
	int i, failures = 0;

	(void)state;
	for (i = 0; i < 60; i++) {
		time_t c = created + (time_t)(i / 3) * 41 * 60, due, warn, want;
		struct cfg_sla r = s;

		s.warn_hours = 4 + 8 * (i % 3);         /* 4, 12, 20 for the same instant */
		due = sla_due(&s, c);
		warn = sla_warn_at(&s, c, due);
		r.hours = s.hours - s.warn_hours;
		want = reference_due(&r, c);
		if (warn != want || due != reference_due(&s, c)) {
			char a[32];

			util_iso8601(c, a);
			print_error("created %s, warn_hours %d: warn %ld, want %ld\n", a, s.warn_hours,
			    (long)warn, (long)want);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* CPU time of this (single-threaded) process, not the wall clock: on a
 * loaded machine a preemption inside the short loop made it look slower
 * than the long one */
static double
elapsed(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Per-day stepping: 1,000 due dates cost less than 10 minute-by-minute
 * ones (a ratio, so it holds under sanitizers and valgrind too). */
static void
test_due_is_fast(void **state)
{
	struct cfg_sla s = calendar();
	struct timespec t0;
	time_t created = utc(2026, 11, 2, 0, 0);
	double fast, slow;
	int i;

	(void)state;
	s.hours = 480;           /* 60 working days, ~85 calendar days */
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	for (i = 0; i < 1000; i++)
		(void)sla_due(&s, created + i * 37);
	fast = elapsed(&t0);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	for (i = 0; i < 10; i++)
		(void)reference_due(&s, created + i * 37);
	slow = elapsed(&t0);
	if (fast > slow)
		fail_msg("1,000 due dates took %.3f s, 10 minute-stepped ones %.3f s", fast, slow);
}

static void
test_warn_at(void **state)
{
	struct cfg_sla c = calendar(), w = wall();
	time_t created = utc(2026, 11, 27, 13, 0);   /* Friday 14:00 */
	time_t due = sla_due(&c, created);

	(void)state;
	/* 8 working hours before Monday 14:00 is the Friday before, 14:00 */
	assert_int_equal(sla_warn_at(&c, created, due), utc(2026, 12, 4, 13, 0));
	due = sla_due(&w, created);
	assert_int_equal(sla_warn_at(&w, created, due), due - 8 * 3600);
	w.warn_hours = 0;
	assert_int_equal(sla_warn_at(&w, created, due), 0);
	c.warn_hours = 0;
	assert_int_equal(sla_warn_at(&c, created, due), 0);
}

static void
test_format_local(void **state)
{
	const struct { time_t t; const char *want, *date; } cases[] = {
		{ utc(2026, 11, 26, 14, 0), "26.11.2026. 15:00", "2026-11-26" },
		{ utc(2027, 3, 5, 6, 5), "05.03.2027. 07:05", "2027-03-05" },
		{ utc(2027, 7, 1, 22, 30), "02.07.2027. 00:30", "2027-07-02" },   /* CEST */
		{ utc(2026, 12, 31, 23, 0), "01.01.2027. 00:00", "2027-01-01" },
	};
	char out[32], date[16];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sla_format_local(cases[i].t, out, sizeof(out));
		assert_string_equal(out, cases[i].want);
		sla_local_date(cases[i].t, date, sizeof(date));
		assert_string_equal(date, cases[i].date);
	}
}

static void
test_local_day(void **state)
{
	const struct { const char *ymd; int ok; time_t start, next; } cases[] = {
		{ "2026-11-26", 0, utc(2026, 11, 25, 23, 0), utc(2026, 11, 26, 23, 0) },
		{ "2027-03-28", 0, utc(2027, 3, 27, 23, 0), utc(2027, 3, 28, 22, 0) },  /* 23 h */
		{ "2027-10-31", 0, utc(2027, 10, 30, 22, 0), utc(2027, 10, 31, 23, 0) }, /* 25 h */
		{ "2028-02-29", 0, utc(2028, 2, 28, 23, 0), utc(2028, 2, 29, 23, 0) },
		{ "2026-02-29", -1, 0, 0 },
		{ "2026-13-01", -1, 0, 0 },
		{ "2026-11-1", -1, 0, 0 },
		{ "26.11.2026", -1, 0, 0 },
		{ "2026-11-26x", -1, 0, 0 },
		{ "", -1, 0, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		time_t a = 0, b = 0;
		int rc = sla_local_day(cases[i].ymd, &a, &b);

		if (rc != cases[i].ok)
			fail_msg("%s: rc %d", cases[i].ymd, rc);
		if (rc == 0) {
			assert_int_equal(a, cases[i].start);
			assert_int_equal(b, cases[i].next);
		}
		assert_int_equal(sla_date_valid(cases[i].ymd), cases[i].ok == 0);
	}
}

static void
test_timezone_valid(void **state)
{
	const struct { const char *name; int ok; } cases[] = {
		{ "Europe/Belgrade", 1 }, { "UTC", 1 }, { "America/New_York", 1 },
		{ "Mars/Olympus", 0 }, { "Europe", 0 }, { "../../etc/passwd", 0 },
		{ "/etc/localtime", 0 }, { "", 0 }, { "Europe/Belgrade ", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (sla_timezone_valid(cases[i].name) != cases[i].ok)
			fail_msg("%s: want %d", cases[i].name, cases[i].ok);
}

static void
test_other_zone(void **state)
{
	struct cfg_sla s = calendar();
	char out[32];

	(void)state;
	/* the same local rule in another zone is another UTC instant */
	sla_use_timezone("UTC");
	assert_int_equal(sla_due(&s, utc(2026, 11, 27, 14, 0)), utc(2026, 12, 7, 14, 0));
	sla_format_local(utc(2026, 11, 26, 14, 0), out, sizeof(out));
	assert_string_equal(out, "26.11.2026. 14:00");
	sla_use_timezone("Europe/Belgrade");
	assert_int_equal(sla_due(&s, utc(2026, 11, 27, 13, 0)), utc(2026, 12, 7, 13, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_due_table),
		cmocka_unit_test(test_due_matches_reference),
		cmocka_unit_test(test_odd_calendars),
		cmocka_unit_test(test_cache_keys_on_calendar),
		cmocka_unit_test(test_due_is_fast),
		cmocka_unit_test(test_warn_at),
		cmocka_unit_test(test_warn_cache),
		cmocka_unit_test(test_format_local),
		cmocka_unit_test(test_local_day),
		cmocka_unit_test(test_timezone_valid),
		cmocka_unit_test(test_other_zone),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
