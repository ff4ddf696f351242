/*
 * fuzz_commands.c - libFuzzer target for the command parsers: citizen SMS
 * (cmd_parse_sms), staff email replies (cmd_parse_staff_email) and staff
 * SMS (cmd_parse_staff_sms), on the raw input (they repair UTF-8 themselves).
 * Checks what ingest relies on: the kinds and their fields agree, free text
 * is valid UTF-8, trimmed and taken from the message as written, a status is
 * one of the four, an ASSIGN argument is one word, error texts are valid
 * UTF-8 (they are mailed back to staff).
 *
 *   sh tests/fuzz/run-fuzz.sh 60 fuzz_commands
 * or by hand:
 *   clang-14 -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -Idaemon -Iparsers tests/fuzz/fuzz_commands.c parsers/commands.c \
 *       parsers/normalize.c daemon/util.c daemon/log.c \
 *       $(pkg-config --libs gnutls) -o fuzz_commands
 *   ./fuzz_commands -max_len=4096 tests/fuzz/seeds/commands
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "normalize.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fzc_check(int cond)
{
	if (!cond)
		abort();
}

static int
fzc_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* free text: valid UTF-8, not empty, trimmed, a part of the message */
static void
fzc_text(const char *t, const char *message)
{
	size_t n;

	fzc_check(t != NULL);
	n = strlen(t);
	fzc_check(n > 0);
	fzc_check(norm_utf8_valid(t, n));
	fzc_check(!fzc_space(t[0]) && !fzc_space(t[n - 1]));
	fzc_check(strstr(message, t) != NULL);
}

static void
fzc_staff(const struct staff_cmd *c, const char *message, int sms)
{
	switch (c->kind) {
	case STAFF_CMD_NONE:
		fzc_check(c->arg == NULL);
		fzc_check(c->ticket == 0);
		break;
	case STAFF_CMD_STATUS:
		fzc_check(strcmp(c->status, "open") == 0 || strcmp(c->status, "in_progress") == 0 ||
		    strcmp(c->status, "resolved") == 0 || strcmp(c->status, "rejected") == 0);
		if (c->arg != NULL)
			fzc_text(c->arg, message);
		fzc_check(sms ? c->ticket > 0 : c->ticket == 0);
		break;
	case STAFF_CMD_ASSIGN:
		fzc_text(c->arg, message);
		for (const char *p = c->arg; *p; p++)
			fzc_check(!fzc_space(*p));
		fzc_check(sms ? c->ticket > 0 : c->ticket == 0);
		break;
	case STAFF_CMD_NOTE:
		fzc_text(c->arg, message);
		fzc_check(sms ? c->ticket > 0 : c->ticket == 0);
		break;
	case STAFF_CMD_INVALID:
		fzc_check(c->arg != NULL && c->arg[0] != '\0');
		fzc_check(norm_utf8_valid(c->arg, strlen(c->arg)));
		fzc_check(c->ticket >= 0);
		break;
	default:
		fzc_check(0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in, *rep;
	struct sms_cmd sc, sc2;
	struct staff_cmd st;

	in = xstrndup((const char *)data, size);     /* up to a NUL, as received */
	rep = norm_utf8_repair(in, strlen(in));

	cmd_parse_sms(in, &sc);
	switch (sc.kind) {
	case SMS_CMD_EMPTY:
	case SMS_CMD_STOP:
	case SMS_CMD_START:
		fzc_check(sc.text == NULL && sc.ticket == 0);
		break;
	case SMS_CMD_STATUS:
		fzc_check(sc.text == NULL && sc.ticket >= 0);
		break;
	case SMS_CMD_APPEND:
		fzc_check(sc.ticket > 0);
		fzc_text(sc.text, rep);
		break;
	case SMS_CMD_TEXT:
		fzc_check(sc.ticket == 0);
		fzc_text(sc.text, rep);
		break;
	default:
		fzc_check(0);
	}
	/* the repaired text reads the same */
	cmd_parse_sms(rep, &sc2);
	fzc_check(sc2.kind == sc.kind && sc2.ticket == sc.ticket);
	fzc_check((sc.text == NULL) == (sc2.text == NULL));
	fzc_check(sc.text == NULL || strcmp(sc.text, sc2.text) == 0);
	sms_cmd_free(&sc2);
	sms_cmd_free(&sc);
	fzc_check(sc.text == NULL);

	cmd_parse_staff_email(in, &st);
	fzc_staff(&st, rep, 0);
	staff_cmd_free(&st);
	fzc_check(st.arg == NULL);

	cmd_parse_staff_sms(in, &st);
	fzc_staff(&st, rep, 1);
	staff_cmd_free(&st);

	free(rep);
	free(in);
	return 0;
}
