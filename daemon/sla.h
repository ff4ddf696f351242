/*
 * sla.h - the 48-hour clock: due times over a working calendar in the
 * municipality's time zone, and local time formatting.
 *
 * sla_use_timezone() sets the process time zone (TZ) once; every local
 * conversion afterwards uses it.  Both programs call it after loading the
 * config.
 */
#ifndef S48_SLA_H
#define S48_SLA_H

#include <stddef.h>
#include <time.h>

struct cfg_sla;

/* 1 if the zone exists (/usr/share/zoneinfo/NAME), else 0. */
int sla_timezone_valid(const char *name);
void sla_use_timezone(const char *name);

/*
 * created + sla->hours: of wall time without a calendar, else of working time
 * (working_days, working_hours, minus holidays), in the configured zone.
 * A report outside working hours starts counting at the next working minute.
 */
time_t sla_due(const struct cfg_sla *sla, time_t created);
/* When the warning is due: warn_hours before due (same clock as sla_due);
 * 0 if warn_hours is 0. */
time_t sla_warn_at(const struct cfg_sla *sla, time_t created, time_t due);

/* Local "26.11.2026. 15:00" (out of at least 32 bytes). */
void sla_format_local(time_t t, char *out, size_t outsz);
/* Local date "YYYY-MM-DD" -> [start of that day, start of next day) as UTC
 * times.  Returns 0 or -1 if malformed. */
int sla_local_day(const char *ymd, time_t *start_r, time_t *next_r);
/* Local date of t as "YYYY-MM-DD" (out >= 11 bytes). */
void sla_local_date(time_t t, char *out, size_t outsz);
/* 1 if ymd is exactly "YYYY-MM-DD" and a real calendar date (1970 on), else 0. */
int sla_date_valid(const char *ymd);

#endif
