/*
 * templates.h - reply templates with {placeholders} (SPEC section 5) and
 * SMS fitting (GSM-7 / UCS-2 segment arithmetic).
 */
#ifndef S48_TEMPLATES_H
#define S48_TEMPLATES_H

#include <stddef.h>

struct tmpl_vars {
	long id;
	const char *status;        /* the status LABEL ("u radu"), for {status} */
	const char *department;    /* the department NAME */
	const char *note;          /* may be NULL or "" */
	const char *created;       /* local "26.11.2026. 15:00" */
	const char *due;
	const char *text;          /* the report text */
};

/*
 * Replace {id} {status} {department} {note} {created} {due} {text};
 * a NULL value is "".  Unknown {words} stay as written.  Caller frees.
 * After substitution, runs of spaces left by an empty {note} are collapsed
 * and the result trimmed.
 */
char *tmpl_render(const char *tmpl, const struct tmpl_vars *v);

/* SMS encoding of a text as it would be sent. */
struct sms_measure {
	int ucs2;                  /* 1: needs UCS-2 */
	size_t units;              /* GSM-7 septets (extension chars count 2) or UTF-16 units */
	int segments;              /* 1 segment: <=160 / <=70; more: 153 / 67 each */
};
void sms_measure(const char *utf8, int allow_ucs2, struct sms_measure *m);

/*
 * Text made ready for SMS.  ascii=1: transliterate (norm_translit) and
 * replace anything outside GSM-7 (basic + extension table) by '?', so the
 * result is always GSM-7.  ascii=0: unchanged (UCS-2 used if needed).
 */
char *sms_prepare(const char *utf8, int ascii);

/*
 * Render an SMS template and keep it within max_segments: first the note is
 * shortened (cut at a word, "..." appended), then the text, then the
 * department; the ticket number is never cut.  As a last resort the
 * rendered message is cut at a word end.  Returns the prepared text
 * (already through sms_prepare).  Caller frees.
 */
char *tmpl_render_sms(const char *tmpl, const struct tmpl_vars *v, int ascii,
    int max_segments);

/* Built-in Serbian defaults (SPEC section 5 names). */
extern const char *const tmpl_default_sms_ack;
extern const char *const tmpl_default_sms_status;
extern const char *const tmpl_default_sms_query;
extern const char *const tmpl_default_sms_help;
extern const char *const tmpl_default_email_ack;
extern const char *const tmpl_default_email_status;

#endif
