/*
 * fuzz_text.c - libFuzzer target for the text layer: UTF-8 repair, the
 * matching form, transliteration, SMS and staff command parsing, phone
 * numbers, SMS preparation/measuring and template fitting.  Checks the
 * invariants every caller relies on, not just the absence of crashes.
 *
 *   clang-14 -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -Idaemon -Iparsers -Inotifiers tests/fuzz/fuzz_text.c parsers/normalize.c \
 *       parsers/commands.c parsers/phone.c notifiers/templates.c daemon/util.c \
 *       daemon/log.c $(pkg-config --libs gnutls) -o fuzz_text
 *   ./fuzz_text -max_len=4096 tests/fuzz/seeds/text
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "normalize.h"
#include "phone.h"
#include "templates.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
	if (!cond)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	char *rep, *n, *t, *p, *r;
	const char *c;
	struct sms_cmd sc;
	struct staff_cmd st;
	struct sms_measure m, m2;
	struct tmpl_vars v;
	char num[32];
	size_t pos = 0, wl;

	rep = norm_utf8_repair(in, size);
	check(norm_utf8_valid(rep, strlen(rep)));
	check(norm_utf8_valid(in, size) == (strlen(rep) == size && memcmp(rep, in, size) == 0));

	n = norm_text(in, size);
	check(strlen(n) <= size);
	for (c = n; *c; c++)
		check((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
		    (*c == ' ' && c != n && c[1] != '\0' && c[1] != ' '));
	while ((c = norm_next_word(n, &pos, &wl)) != NULL)
		check(wl > 0);
	/* idempotent */
	t = norm_text(n, strlen(n));
	check(strcmp(t, n) == 0);
	free(t);

	t = norm_translit(in, size);
	check(norm_utf8_valid(t, strlen(t)));
	free(t);

	cmd_parse_sms(rep, &sc);
	check((sc.kind == SMS_CMD_APPEND || sc.kind == SMS_CMD_TEXT) == (sc.text != NULL));
	check(sc.ticket >= 0);
	sms_cmd_free(&sc);
	cmd_parse_staff_email(rep, &st);
	check(st.kind == STAFF_CMD_NONE || st.kind == STAFF_CMD_STATUS || st.arg != NULL);
	check(st.arg == NULL || norm_utf8_valid(st.arg, strlen(st.arg)));
	staff_cmd_free(&st);
	cmd_parse_staff_sms(rep, &st);
	check(st.arg == NULL || norm_utf8_valid(st.arg, strlen(st.arg)));
	staff_cmd_free(&st);

	(void)phone_normalize(rep, "381", num, sizeof(num));
	check(strlen(num) < sizeof(num));

	p = sms_prepare(rep, 1);
	sms_measure(p, 0, &m);
	sms_measure(p, 1, &m2);
	check(m.ucs2 == 0 && m2.ucs2 == 0);     /* ascii=1 is always GSM-7 */
	free(p);

	memset(&v, 0, sizeof(v));
	v.id = 4711;
	v.note = rep;
	v.text = rep;
	v.department = "Javna rasveta";
	r = tmpl_render_sms(tmpl_default_sms_status, &v, size & 1, 1 + (int)(size % 3));
	check(strstr(r, "4711") != NULL);
	sms_measure(r, !(size & 1), &m);
	check(m.segments <= 1 + (int)(size % 3));
	free(r);
	r = tmpl_render(rep, &v);
	free(r);

	free(n);
	free(rep);
	return 0;
}
