/*
 * sla.c - the 48-hour clock (SPEC section 2): due times over wall time or a
 * working calendar in the municipality's time zone, and local formatting.
 *
 * Local time is the process time zone set by sla_use_timezone(); every
 * working window is computed per local day with mktime(), so a DST change
 * moves the window's UTC instants but not its local hours.  sla_due() steps
 * one day at a time (a working window per step), never minute by minute,
 * and sla_due() and sla_warn_at() each remember their last answer because
 * a batch of tickets usually shares one creation second.
 */
#include "sla.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "util.h"

/* A calendar with no working minute at all (every day a holiday) would
 * loop forever: after this many days fall back to wall time. */
#define SLA_MAX_DAYS 3700

/* Bumped whenever the time zone changes: invalidates the cache. */
static unsigned sla_tz_generation;

int
sla_timezone_valid(const char *name)
{
	const char *dir = getenv("TZDIR");
	char path[1024];
	struct stat st;
	FILE *f;
	char magic[4];
	size_t i;
	int ok;

	if (name == NULL || name[0] == '\0' || name[0] == '/' || strlen(name) > 200)
		return 0;
	if (strstr(name, "..") != NULL)
		return 0;
	for (i = 0; name[i] != '\0'; i++) {
		char ch = name[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '/' || ch == '_' || ch == '-' ||
		    ch == '+'))
			return 0;
	}
	if (dir == NULL || dir[0] == '\0')
		dir = "/usr/share/zoneinfo";
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	/* Every compiled zone file starts with "TZif". */
	if ((f = fopen(path, "rb")) == NULL)
		return 0;
	ok = fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
	fclose(f);
	return ok;
}

void
sla_use_timezone(const char *name)
{
	if (name == NULL || name[0] == '\0')
		name = "UTC";
	setenv("TZ", name, 1);
	tzset();
	sla_tz_generation++;
}

/* Local midnight + min minutes of the local date y-m-d (mday may overflow:
 * mktime normalises), DST-correct through tm_isdst = -1. */
static time_t
local_at(int y, int mon, int mday, int min)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = mday;
	tm.tm_hour = min / 60;
	tm.tm_min = min % 60;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

static int
is_holiday(const struct cfg_sla *sla, int y, int m, int d)
{
	char date[40];
	size_t i;

	if (sla->holidays.n == 0)
		return 0;
	snprintf(date, sizeof(date), "%04d-%02d-%02d", y, m, d);
	for (i = 0; i < sla->holidays.n; i++)
		if (strcmp(sla->holidays.v[i], date) == 0)
			return 1;
	return 0;
}

static int
days_in_month(int y, int m)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return mdays[m - 1] + (m == 2 && leap);
}

/*
 * created + seconds of working time (a calendar is set).  One localtime_r()
 * for the start, then the local date is stepped arithmetically and only a
 * working day's window is converted (two mktime() calls): the windows'
 * instants are DST-correct, weekends and holidays cost no conversion.
 */
static time_t
calendar_add(const struct cfg_sla *sla, time_t created, long long seconds)
{
	time_t t = created;
	long long remaining = seconds;
	struct tm tm;
	int y, m, d, wday, day;

	if (localtime_r(&created, &tm) == NULL)
		return created + (time_t)seconds;
	y = tm.tm_year + 1900;
	m = tm.tm_mon + 1;
	d = tm.tm_mday;
	wday = tm.tm_wday == 0 ? 7 : tm.tm_wday;     /* ISO */
	for (day = 0; day < SLA_MAX_DAYS; day++) {
		if ((sla->working_days & (1u << wday)) != 0 && !is_holiday(sla, y, m, d)) {
			time_t start = local_at(y, m, d, sla->work_start_min);
			time_t end = local_at(y, m, d, sla->work_end_min);

			if (t < start)
				t = start;
			if (t < end) {
				long long avail = (long long)(end - t);

				if (remaining <= avail)
					return t + (time_t)remaining;
				remaining -= avail;
			}
		}
		if (++d > days_in_month(y, m)) {
			d = 1;
			if (++m > 12) {
				m = 1;
				y++;
			}
		}
		wday = wday == 7 ? 1 : wday + 1;
	}
	return created + (time_t)seconds;
}

/* The one-entry cache: same calendar, same zone, same instant. */
struct sla_key {
	time_t created;
	long long seconds;
	unsigned working_days;
	int start, end;
	uint32_t holidays_hash;
	unsigned tz_generation;
};

static uint32_t
holidays_hash(const struct strlist *h)
{
	uint32_t x = 2166136261u;
	size_t i;
	const char *p;

	for (i = 0; i < h->n; i++) {
		for (p = h->v[i]; *p != '\0'; p++)
			x = (x ^ (unsigned char)*p) * 16777619u;
		x = (x ^ ',') * 16777619u;
	}
	return x;
}

/* One remembered answer; per thread, so callers need no locking. */
struct sla_cache {
	struct sla_key last;
	time_t last_result;
	int have_last;
};

/* created + seconds of working time through cache c (one per question:
 * the due time and the warning time of a ticket alternate). */
static time_t
working_add(struct sla_cache *c, const struct cfg_sla *sla, time_t created, long long seconds)
{
	struct sla_key k;
	time_t r;

	memset(&k, 0, sizeof(k));
	k.created = created;
	k.seconds = seconds;
	k.working_days = sla->working_days;
	k.start = sla->work_start_min;
	k.end = sla->work_end_min;
	k.holidays_hash = holidays_hash(&sla->holidays);
	k.tz_generation = sla_tz_generation;
	if (c->have_last && memcmp(&k, &c->last, sizeof(k)) == 0)
		return c->last_result;
	r = calendar_add(sla, created, seconds);
	c->last = k;
	c->last_result = r;
	c->have_last = 1;
	return r;
}

static _Thread_local struct sla_cache sla_due_cache, sla_warn_cache;

time_t
sla_due(const struct cfg_sla *sla, time_t created)
{
	long long secs = (long long)sla->hours * 3600;

	if (!sla->has_calendar || sla->working_days == 0 ||
	    sla->work_end_min <= sla->work_start_min)
		return created + (time_t)secs;
	return working_add(&sla_due_cache, sla, created, secs);
}

time_t
sla_warn_at(const struct cfg_sla *sla, time_t created, time_t due)
{
	long long secs;

	if (sla->warn_hours <= 0)
		return 0;
	if (!sla->has_calendar || sla->working_days == 0 ||
	    sla->work_end_min <= sla->work_start_min)
		return due - (time_t)sla->warn_hours * 3600;
	if (sla->warn_hours >= sla->hours)
		return created;
	/* The instant when hours - warn_hours of working time have passed:
	 * warn_hours of working time remain until due. */
	secs = (long long)(sla->hours - sla->warn_hours) * 3600;
	return working_add(&sla_warn_cache, sla, created, secs);
}

/*
 * Local time by the minute, remembered: a batch formats the same few
 * minutes (created, due) for every ticket, and localtime_r() takes a lock
 * and costs thousands of instructions.  The answer is the same for every
 * second of a UTC minute when the zone's offset is whole minutes (checked;
 * otherwise nothing is remembered).  Per thread, dropped when the time
 * zone changes.
 */
struct sla_minute {
	unsigned generation;
	int valid;
	time_t minute;                  /* t / 60 */
	struct tm tm;
};

static int
sla_local_tm(time_t t, struct tm *tm_r)
{
	static _Thread_local struct sla_minute c;
	time_t minute = t / 60;

	if (t >= 0 && c.valid && c.generation == sla_tz_generation && c.minute == minute) {
		*tm_r = c.tm;
		tm_r->tm_sec = (int)(t % 60);
		return 0;
	}
	if (localtime_r(&t, tm_r) == NULL)
		return -1;
	c.valid = t >= 0 && tm_r->tm_gmtoff % 60 == 0;
	c.generation = sla_tz_generation;
	c.minute = minute;
	c.tm = *tm_r;
	return 0;
}

/* two digits of v (0..99) into p */
static char *
sla_put2(char *p, int v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

void
sla_format_local(time_t t, char *out, size_t outsz)
{
	struct tm tm;
	char buf[32], *p = buf;

	if (outsz == 0)
		return;
	if (sla_local_tm(t, &tm) < 0) {
		out[0] = '\0';
		return;
	}
	if (tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
		snprintf(out, outsz, "%02d.%02d.%04d. %02d:%02d", tm.tm_mday, tm.tm_mon + 1,
		    tm.tm_year + 1900, tm.tm_hour, tm.tm_min);
		return;
	}
	/* "%02d.%02d.%04d. %02d:%02d" without snprintf */
	p = sla_put2(p, tm.tm_mday);
	*p++ = '.';
	p = sla_put2(p, tm.tm_mon + 1);
	*p++ = '.';
	p = sla_put2(p, (tm.tm_year + 1900) / 100);
	p = sla_put2(p, (tm.tm_year + 1900) % 100);
	*p++ = '.';
	*p++ = ' ';
	p = sla_put2(p, tm.tm_hour);
	*p++ = ':';
	p = sla_put2(p, tm.tm_min);
	*p = '\0';
	util_strlcpy(out, buf, outsz);
}

/* Strict "YYYY-MM-DD" with a real calendar date; 0 or -1. */
static int
parse_ymd(const char *s, int *y, int *m, int *d)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int i, leap, max;

	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	*y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	*m = (s[5] - '0') * 10 + (s[6] - '0');
	*d = (s[8] - '0') * 10 + (s[9] - '0');
	if (*y < 1970 || *m < 1 || *m > 12 || *d < 1)
		return -1;
	leap = (*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0;
	max = mdays[*m - 1] + (*m == 2 && leap);
	return *d <= max ? 0 : -1;
}

int
sla_date_valid(const char *ymd)
{
	int y, m, d;

	return parse_ymd(ymd, &y, &m, &d) == 0;
}

int
sla_local_day(const char *ymd, time_t *start_r, time_t *next_r)
{
	/* the last day asked for (the daily cap asks for today on every reply) */
	static _Thread_local struct {
		unsigned generation;
		char ymd[11];
		time_t a, b;
	} c;
	int y, m, d;
	time_t a, b;

	if (c.ymd[0] != '\0' && c.generation == sla_tz_generation && strcmp(c.ymd, ymd) == 0) {
		*start_r = c.a;
		*next_r = c.b;
		return 0;
	}
	if (parse_ymd(ymd, &y, &m, &d) < 0)
		return -1;
	a = local_at(y, m, d, 0);
	b = local_at(y, m, d + 1, 0);
	if (a == (time_t)-1 || b == (time_t)-1 || b <= a)
		return -1;
	memcpy(c.ymd, ymd, 10);
	c.ymd[10] = '\0';
	c.generation = sla_tz_generation;
	c.a = a;
	c.b = b;
	*start_r = a;
	*next_r = b;
	return 0;
}

void
sla_local_date(time_t t, char *out, size_t outsz)
{
	struct tm tm;

	if (outsz == 0)
		return;
	if (sla_local_tm(t, &tm) < 0) {
		out[0] = '\0';
		return;
	}
	snprintf(out, outsz, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}
