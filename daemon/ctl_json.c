/*
 * ctl_json.c - s48ctl's JSON arrays written as they are read: `list --json`,
 * `outbox --json` and `export --format json` print one object per row
 * instead of building the whole array first (a year or five of tickets made
 * 200 MB of jansson objects for 100,000 rows).  The bytes are those
 * json_dumpf(array, JSON_INDENT(2) | JSON_PRESERVE_ORDER) would print.
 */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

void
ctl_json_array_begin(struct ctl_json_array *a, FILE *f)
{
	memset(a, 0, sizeof(*a));
	a->f = f;
}

void
ctl_json_array_add(struct ctl_json_array *a, json_t *o)
{
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	const char *p, *nl;

	json_decref(o);
	if (s == NULL) {
		a->err = 1;
		return;
	}
	/* the element one level in: every line after its first by 2 more */
	fputs(a->n++ == 0 ? "[\n  " : ",\n  ", a->f);
	for (p = s; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		fwrite(p, 1, (size_t)(nl - p), a->f);
		fputs("\n  ", a->f);
	}
	fputs(p, a->f);
	free(s);
}

int
ctl_json_array_end(struct ctl_json_array *a)
{
	fputs(a->n == 0 ? "[]\n" : "\n]\n", a->f);
	if (a->err || fflush(a->f) != 0 || ferror(a->f))
		return ctl_error(CTL_EXIT_IO, "writing JSON failed");
	return CTL_EXIT_OK;
}
