/* test_commands.c - citizen SMS commands and staff commands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "commands.h"
#include "normalize.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *
sms_kind(enum sms_cmd_kind k)
{
	static const char *const names[] = { "EMPTY", "STATUS", "STOP", "START", "APPEND", "TEXT" };

	return (size_t)k < N(names) ? names[k] : "?";
}

static void
test_sms_commands(void **state)
{
	static const struct {
		const char *in;
		enum sms_cmd_kind kind;
		long ticket;
		const char *text;
	} cases[] = {
		{ "", SMS_CMD_EMPTY, 0, NULL },
		{ "   \r\n\t ", SMS_CMD_EMPTY, 0, NULL },
		{ "\xc2\xa0", SMS_CMD_EMPTY, 0, NULL },
		{ "?", SMS_CMD_EMPTY, 0, NULL },
		{ "#", SMS_CMD_EMPTY, 0, NULL },
		{ "STATUS 12", SMS_CMD_STATUS, 12, NULL },
		{ "status 12", SMS_CMD_STATUS, 12, NULL },
		{ "Status #12", SMS_CMD_STATUS, 12, NULL },
		{ "  STATUS   #12  ", SMS_CMD_STATUS, 12, NULL },
		{ "STATUS12", SMS_CMD_STATUS, 12, NULL },
		{ "STATUS: 12.", SMS_CMD_STATUS, 12, NULL },
		{ "STANJE 7", SMS_CMD_STATUS, 7, NULL },
		{ "stanje prijave br. 7", SMS_CMD_STATUS, 7, NULL },
		{ "СТАТУС 45", SMS_CMD_STATUS, 45, NULL },
		{ "статус #45", SMS_CMD_STATUS, 45, NULL },
		{ "СТАЊЕ 3", SMS_CMD_STATUS, 3, NULL },
		{ "Стање 3", SMS_CMD_STATUS, 3, NULL },
		{ "STATUS", SMS_CMD_STATUS, 0, NULL },
		{ "status?", SMS_CMD_STATUS, 0, NULL },
		{ "СТАЊЕ", SMS_CMD_STATUS, 0, NULL },
		{ "stanje prijave", SMS_CMD_STATUS, 0, NULL },
		{ "#12", SMS_CMD_STATUS, 12, NULL },
		{ "#12 STATUS", SMS_CMD_STATUS, 12, NULL },
		{ "#12 стање?", SMS_CMD_STATUS, 12, NULL },
		{ "#12 status ulice je los", SMS_CMD_APPEND, 12, "status ulice je los" },
		/* a report that starts with a status word is a report */
		{ "Stanje ulice je lose", SMS_CMD_TEXT, 0, "Stanje ulice je lose" },
		{ "status 12 i 13", SMS_CMD_TEXT, 0, "status 12 i 13" },
		{ "STATUS 1234567890123456789", SMS_CMD_TEXT, 0, "STATUS 1234567890123456789" },
		{ "STOP", SMS_CMD_STOP, 0, NULL },
		{ " stop. ", SMS_CMD_STOP, 0, NULL },
		{ "СТОП", SMS_CMD_STOP, 0, NULL },
		{ "Stop!", SMS_CMD_STOP, 0, NULL },
		{ "stop curenju vode", SMS_CMD_TEXT, 0, "stop curenju vode" },
		{ "START", SMS_CMD_START, 0, NULL },
		{ "старт", SMS_CMD_START, 0, NULL },
		{ "#12 i dalje curi", SMS_CMD_APPEND, 12, "i dalje curi" },
		{ "#12: i dalje curi ", SMS_CMD_APPEND, 12, "i dalje curi" },
		{ "# 12 - Још увек цури", SMS_CMD_APPEND, 12, "Још увек цури" },
		{ "#12\nnova slika", SMS_CMD_APPEND, 12, "nova slika" },
		{ "#abc tekst", SMS_CMD_TEXT, 0, "#abc tekst" },
		{ "#0 tekst", SMS_CMD_TEXT, 0, "#0 tekst" },
		{ "Pukla cev u ulici Njegoševoj 5", SMS_CMD_TEXT, 0, "Pukla cev u ulici Njegoševoj 5" },
		{ "  Ne radi rasveta\n", SMS_CMD_TEXT, 0, "Ne radi rasveta" },
		{ "bad \xff byte", SMS_CMD_TEXT, 0, "bad \xef\xbf\xbd byte" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		struct sms_cmd c;

		cmd_parse_sms(cases[i].in, &c);
		if (c.kind != cases[i].kind || c.ticket != cases[i].ticket ||
		    (cases[i].text == NULL) != (c.text == NULL) ||
		    (c.text != NULL && strcmp(c.text, cases[i].text) != 0))
			fail_msg("case %zu \"%s\": got %s %ld \"%s\", want %s %ld \"%s\"", i,
			    cases[i].in, sms_kind(c.kind), c.ticket, c.text ? c.text : "(null)",
			    sms_kind(cases[i].kind), cases[i].ticket,
			    cases[i].text ? cases[i].text : "(null)");
		sms_cmd_free(&c);
		assert_null(c.text);
	}
	{
		struct sms_cmd c;

		cmd_parse_sms(NULL, &c);
		assert_int_equal(c.kind, SMS_CMD_EMPTY);
		sms_cmd_free(&c);
	}
}

struct staff_case {
	const char *in;
	enum staff_cmd_kind kind;
	long ticket;
	const char *status;
	const char *arg;        /* for INVALID: a substring of the reason */
};

static const char *
staff_kind(enum staff_cmd_kind k)
{
	static const char *const names[] = { "NONE", "STATUS", "ASSIGN", "NOTE", "INVALID" };

	return (size_t)k < N(names) ? names[k] : "?";
}

static void
check_staff(const struct staff_case *cases, size_t n, int sms)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct staff_cmd c;
		int ok;

		if (sms)
			cmd_parse_staff_sms(cases[i].in, &c);
		else
			cmd_parse_staff_email(cases[i].in, &c);
		ok = c.kind == cases[i].kind && c.ticket == cases[i].ticket &&
		    strcmp(c.status, cases[i].status) == 0 &&
		    (cases[i].arg == NULL) == (c.arg == NULL);
		if (ok && c.arg != NULL)
			ok = c.kind == STAFF_CMD_INVALID ? strstr(c.arg, cases[i].arg) != NULL :
			    strcmp(c.arg, cases[i].arg) == 0;
		if (!ok)
			fail_msg("%s case %zu \"%s\": got %s %ld \"%s\" \"%s\", want %s %ld \"%s\" \"%s\"",
			    sms ? "sms" : "email", i, cases[i].in, staff_kind(c.kind), c.ticket,
			    c.status, c.arg ? c.arg : "(null)", staff_kind(cases[i].kind),
			    cases[i].ticket, cases[i].status, cases[i].arg ? cases[i].arg : "(null)");
		staff_cmd_free(&c);
		assert_null(c.arg);
	}
}

static void
test_staff_email(void **state)
{
	static const struct staff_case cases[] = {
		{ "#resolved zamenjena sijalica\n\nPetar\n> quoted", STAFF_CMD_STATUS, 0, "resolved",
		  "zamenjena sijalica" },
		{ "\n\n  \r\n#in_progress\r\n", STAFF_CMD_STATUS, 0, "in_progress", NULL },
		{ "#in-progress ekipa izlazi", STAFF_CMD_STATUS, 0, "in_progress", "ekipa izlazi" },
		{ "#IN_PROGRESS: ekipa izlazi", STAFF_CMD_STATUS, 0, "in_progress", "ekipa izlazi" },
		{ "#u_radu", STAFF_CMD_STATUS, 0, "in_progress", NULL },
		{ "#u radu sutra ujutru", STAFF_CMD_STATUS, 0, "in_progress", "sutra ujutru" },
		{ "#rešeno", STAFF_CMD_STATUS, 0, "resolved", NULL },
		{ "#reseno popravljeno", STAFF_CMD_STATUS, 0, "resolved", "popravljeno" },
		{ "#resen", STAFF_CMD_STATUS, 0, "resolved", NULL },
		{ "#решено замењена сијалица", STAFF_CMD_STATUS, 0, "resolved",
		  "замењена сијалица" },
		{ "#rejected nije nasa nadleznost", STAFF_CMD_STATUS, 0, "rejected",
		  "nije nasa nadleznost" },
		{ "#odbijen", STAFF_CMD_STATUS, 0, "rejected", NULL },
		{ "#open ponovo curi", STAFF_CMD_STATUS, 0, "open", "ponovo curi" },
		{ "#otvoren", STAFF_CMD_STATUS, 0, "open", NULL },
		{ "#assign lighting", STAFF_CMD_ASSIGN, 0, "", "lighting" },
		{ "  #assign   roads  molim ", STAFF_CMD_ASSIGN, 0, "", "roads" },
		{ "#note pozvati gradjanina", STAFF_CMD_NOTE, 0, "", "pozvati gradjanina" },
		{ "\xef\xbb\xbf#note sa BOM", STAFF_CMD_NOTE, 0, "", "sa BOM" },
		/* not commands */
		{ "Hvala, ekipa je izasla.\n#resolved", STAFF_CMD_NONE, 0, "", NULL },
		{ "", STAFF_CMD_NONE, 0, "", NULL },
		{ "\n\n", STAFF_CMD_NONE, 0, "", NULL },
		/* looks like a command but is not */
		{ "#resolve", STAFF_CMD_INVALID, 0, "", "unknown command #resolve" },
		{ "#zatvori ovo", STAFF_CMD_INVALID, 0, "", "unknown command #zatvori" },
		{ "#assign", STAFF_CMD_INVALID, 0, "", "#assign needs" },
		{ "#note", STAFF_CMD_INVALID, 0, "", "#note needs" },
		{ "#", STAFF_CMD_INVALID, 0, "", "command word" },
		{ "#12 resolved", STAFF_CMD_INVALID, 0, "", "no ticket number" },
	};

	(void)state;
	check_staff(cases, N(cases), 0);
}

static void
test_staff_sms(void **state)
{
	static const struct staff_case cases[] = {
		{ "#12 resolved zamenjena sijalica", STAFF_CMD_STATUS, 12, "resolved",
		  "zamenjena sijalica" },
		{ " #12 RESOLVED ", STAFF_CMD_STATUS, 12, "resolved", NULL },
		{ "#12 #in_progress ekipa", STAFF_CMD_STATUS, 12, "in_progress", "ekipa" },
		{ "#12: u radu", STAFF_CMD_STATUS, 12, "in_progress", NULL },
		{ "#7 U RADU stizemo", STAFF_CMD_STATUS, 7, "in_progress", "stizemo" },
		{ "#7 odbijeno duplikat", STAFF_CMD_STATUS, 7, "rejected", "duplikat" },
		{ "#7 решено", STAFF_CMD_STATUS, 7, "resolved", NULL },
		{ "#7 open", STAFF_CMD_STATUS, 7, "open", NULL },
		{ "#7 assign roads", STAFF_CMD_ASSIGN, 7, "", "roads" },
		{ "#7 note zvati sutra", STAFF_CMD_NOTE, 7, "", "zvati sutra" },
		{ "zdravo", STAFF_CMD_NONE, 0, "", NULL },
		{ "", STAFF_CMD_NONE, 0, "", NULL },
		{ "#resolved", STAFF_CMD_INVALID, 0, "", "ticket number" },
		{ "#12", STAFF_CMD_INVALID, 12, "", "a status must follow" },
		{ "#12resolved", STAFF_CMD_INVALID, 12, "", "ticket number" },
		{ "#12 fixed", STAFF_CMD_INVALID, 12, "", "unknown command #fixed" },
		{ "#0 resolved", STAFF_CMD_INVALID, 0, "", "ticket number" },
	};

	(void)state;
	check_staff(cases, N(cases), 1);
}

/* a long unknown command word is cut in its error text, never inside a
 * UTF-8 character (the text is mailed back to the sender) */
static void
test_staff_unknown_long_word(void **state)
{
	static const char *const words[] = {
		"#aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaažžžžž",
		"#aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaažžžžž",
		"#ččččččččččččččččččččččččččččččččččččččččččč",
		"#ð§ð§ð§ð§ð§"
		    "ð§ð§ð§ð§ð§"
		    "ð§ð§",
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(words); i++) {
		struct staff_cmd c;

		cmd_parse_staff_email(words[i], &c);
		assert_int_equal(c.kind, STAFF_CMD_INVALID);
		assert_non_null(strstr(c.arg, "unknown command #"));
		if (!norm_utf8_valid(c.arg, strlen(c.arg)))
			fail_msg("case %zu: invalid UTF-8 in \"%s\"", i, c.arg);
		staff_cmd_free(&c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sms_commands),
		cmocka_unit_test(test_staff_email),
		cmocka_unit_test(test_staff_sms),
		cmocka_unit_test(test_staff_unknown_long_word),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
