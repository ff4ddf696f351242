/*
 * test_mime_fast.c - the fast MIME path (parsers/mime_fast.c) against the
 * GMime path, differentially: whenever mime_parse_fast() accepts a message,
 * every field of its result must equal mime_parse_gmime()'s, and
 * mime_parse() must equal mime_parse_gmime() always.
 *
 * Inputs: tests/corpus/email, the fuzz seeds and regressions (ingest's
 * batches split into their mails, mime_diff's files), 2,000 mails generated
 * by tests/bench/gen_mail.py into a temporary directory at run time (the
 * common shapes: at least 90 % of them must take the fast path), and tables
 * of shapes that must be accepted or declined.  Each set runs with three
 * attachment budgets (large, 0, 64 bytes); corpus and generated mails also
 * with CR LF line ends and cut 100 bytes short.  Acceptance rates are
 * printed.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mime.h"
#include "util.h"

#define LLVMFuzzerTestOneInput fuzz_mime_diff_one
#include "../fuzz/fuzz_mime_diff.c"
#undef LLVMFuzzerTestOneInput

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define BIG (10u << 20)

static const size_t budgets[] = { BIG, 0, 64 };

struct tally {
	size_t seen;
	size_t accepted;
};

static const char *
top_dir(void)
{
	const char *top = getenv("S48_TOP");

	return top != NULL ? top : ".";
}

/*
 * One input, every budget: mime_parse == GMime; fast (if accepted) ==
 * GMime.  Returns whether the fast path accepted it (with the large budget).
 */
static int
check_one(const char *what, const unsigned char *raw, size_t len, int truncated,
    struct tally *t)
{
	int accepted = 0;

	for (size_t b = 0; b < N(budgets); b++) {
		struct mime_message *slow = mime_parse_gmime(raw, len, truncated, budgets[b]);
		struct mime_message *any = mime_parse(raw, len, truncated, budgets[b]);
		struct mime_message *fast = mime_parse_fast(raw, len, truncated, budgets[b]);
		const char *d;

		if ((d = mdiff_first(any, slow)) != NULL)
			fail_msg("%s (budget %zu): mime_parse differs from GMime in %s", what,
			    budgets[b], d);
		if (fast != NULL) {
			if ((d = mdiff_first(fast, slow)) != NULL)
				fail_msg("%s (budget %zu): fast path differs from GMime in %s: "
				    "fast \"%s\" / GMime \"%s\"", what, budgets[b], d,
				    strcmp(d, "subject") == 0 ? fast->subject :
				    strcmp(d, "text") == 0 ? fast->text :
				    strcmp(d, "parse_error") == 0 && fast->parse_error ? fast->parse_error : "",
				    strcmp(d, "subject") == 0 ? slow->subject :
				    strcmp(d, "text") == 0 ? slow->text :
				    strcmp(d, "parse_error") == 0 && slow->parse_error ? slow->parse_error : "");
			if (b == 0)
				accepted = 1;
		} else if (b == 0) {
			accepted = 0;
		}
		mime_message_free(&fast);
		mime_message_free(&any);
		mime_message_free(&slow);
	}
	if (t != NULL) {
		t->seen++;
		t->accepted += (size_t)accepted;
	}
	return accepted;
}

static void
tally_print(const char *what, const struct tally *t)
{
	print_message("# %s: fast path accepted %zu of %zu (%.1f %%)\n", what, t->accepted,
	    t->seen, t->seen ? 100.0 * (double)t->accepted / (double)t->seen : 0.0);
}

typedef void file_fn(const char *path, const unsigned char *data, size_t len, struct tally *t);

/* every regular file of dir in name order through fn; the count */
static size_t
each_file(const char *dir, file_fn *fn, struct tally *t)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort);
	size_t done = 0;

	if (n < 0)
		return 0;
	for (int i = 0; i < n; i++) {
		char *path, *data = NULL;
		size_t len = 0;
		const char *err = NULL;
		size_t l = strlen(names[i]->d_name);

		if (names[i]->d_name[0] == '.' || names[i]->d_type == DT_DIR ||
		    (l > 4 && (strcmp(names[i]->d_name + l - 4, ".tsv") == 0 ||
		    strcmp(names[i]->d_name + l - 3, ".py") == 0 ||
		    strcmp(names[i]->d_name + l - 5, ".conf") == 0))) {
			free(names[i]);
			continue;
		}
		path = xasprintf("%s/%s", dir, names[i]->d_name);
		if (util_read_file(path, BIG, &data, &len, &err) < 0)
			fail_msg("%s: %s", path, err);
		fn(path, (const unsigned char *)data, len, t);
		free(data);
		free(path);
		free(names[i]);
		done++;
	}
	free(names);
	return done;
}

/* the same mail with CR LF line ends (as IMAP serves it) */
static void
check_crlf(const char *path, const unsigned char *data, size_t len)
{
	unsigned char *c = xmalloc(2 * len + 1);
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			c[n++] = '\r';
		c[n++] = data[i];
	}
	check_one(path, c, n, 0, NULL);
	free(c);
}

static void
plain_file(const char *path, const unsigned char *data, size_t len, struct tally *t)
{
	check_one(path, data, len, 0, t);
	check_crlf(path, data, len);
	/* a truncated fetch is never the fast path's */
	{
		struct mime_message *m = mime_parse_fast(data, len, 1, BIG);
		if (m != NULL)
			fail_msg("%s: fast path accepted a truncated message", path);
	}
	if (len > 200)
		check_one(path, data, len - 100, 0, NULL);   /* cut short, not flagged */
}

/* a fuzz input of fuzz_mime / fuzz_mime_diff: optional flag bytes */
static void
flagged_file(const char *path, const unsigned char *data, size_t len, struct tally *t)
{
	int truncated = 0;

	if (len > 0 && data[0] == 0xff) {
		if (len > 1)
			truncated = data[1] & 1;
		data += len > 1 ? 2 : 1;
		len -= len > 1 ? 2 : 1;
	}
	check_one(path, data, len, truncated, t);
	/* the target itself, as the regression replay runs it */
	(void)fuzz_mime_diff_one(data, len);
}

/* a fuzz_ingest input: one mail, or 0xff then items "FLAGS PAYLOAD"
 * separated by 00 ff */
static void
ingest_file(const char *path, const unsigned char *data, size_t len, struct tally *t)
{
	const unsigned char *p, *end = data + len;

	if (len == 0 || data[0] != 0xff) {
		check_one(path, data, len, 0, t);
		return;
	}
	p = data + 1;
	while (p < end) {
		const unsigned char *q = p;

		while (q + 1 < end && !(q[0] == 0 && q[1] == 0xff))
			q++;
		if (q + 1 >= end)
			q = end;
		if (q > p)
			check_one(path, p + 1, (size_t)(q - p - 1), 0, t);
		p = q + 2;
	}
}

/* ---- tests -------------------------------------------------------------- */

static void
test_corpus(void **state)
{
	struct tally t = { 0, 0 };
	char *dir = xasprintf("%s/tests/corpus/email", top_dir());

	(void)state;
	assert_true(each_file(dir, plain_file, &t) >= 50);
	tally_print("tests/corpus/email", &t);
	/* the corpus is mostly odd on purpose, but its plain cases are common */
	assert_true(t.accepted >= 10);
	free(dir);
}

static void
test_fuzz_inputs(void **state)
{
	struct tally t = { 0, 0 };
	static const char *const flagged[] = { "tests/fuzz/seeds/mime_diff",
		"tests/fuzz/regressions/mime_diff", "tests/fuzz/regressions/mime" };
	static const char *const ingest[] = { "tests/fuzz/seeds/ingest",
		"tests/fuzz/regressions/ingest" };
	size_t files = 0;

	(void)state;
	for (size_t i = 0; i < N(flagged); i++) {
		char *dir = xasprintf("%s/%s", top_dir(), flagged[i]);
		files += each_file(dir, flagged_file, &t);
		free(dir);
	}
	for (size_t i = 0; i < N(ingest); i++) {
		char *dir = xasprintf("%s/%s", top_dir(), ingest[i]);
		files += each_file(dir, ingest_file, &t);
		free(dir);
	}
	print_message("# %zu fuzz input files\n", files);
	tally_print("fuzz seeds and regressions", &t);
	assert_true(files > 0);
}

static void
test_generated(void **state)
{
	char tmp[] = "/tmp/s48-mimefast-XXXXXX";
	char *cmd, *dir;
	struct tally t = { 0, 0 };
	size_t n;
	int rc;

	(void)state;
	assert_non_null(mkdtemp(tmp));
	dir = xasprintf("%s/eml", tmp);
	/* the bench mix (seed 48) and another draw of it */
	cmd = xasprintf("python3 '%s/tests/bench/gen_mail.py' --eml '%s' 1500 >/dev/null && "
	    "python3 '%s/tests/bench/gen_mail.py' --eml --seed 7 --start 5001 '%s' 500 >/dev/null",
	    top_dir(), dir, top_dir(), dir);
	rc = system(cmd);
	free(cmd);
	if (rc != 0)
		fail_msg("gen_mail.py failed (status %d)", rc);
	n = each_file(dir, plain_file, &t);
	assert_int_equal(n, 2000);
	tally_print("gen_mail.py bench mails", &t);
	/* the common shapes: the fast path must not rot into declining them */
	assert_true(t.accepted * 100 >= t.seen * 90);
	cmd = xasprintf("rm -rf '%s'", tmp);
	rc = system(cmd);
	assert_int_equal(rc, 0);
	free(cmd);
	free(dir);
}

/* Shapes the fast path must take (and read as GMime does). */
static const char *const accepted_cases[] = {
	/* CRLF, folded subject of Q words with a character split between them */
	"From: Petar <petar@example.net>\r\nTo: prijave@example.org\r\n"
	"Subject: =?utf-8?Q?Pukla_cev_=C5?=\r\n =?utf-8?Q?=A1abac?= ulica\r\n"
	"Date: Tue, 24 Nov 2026 09:00:00 +0100\r\nMessage-ID: <a.1@example.net>\r\n"
	"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
	"Voda curi.\r\n",
	/* quoted display name with an encoded word inside the quotes */
	"From: \"=?utf-8?B?UGV0YXIgUGV0cm92acSH?=\" <p@example.net>\nSubject: x\n\nbody\n",
	/* unquoted name with a dot, 8-bit UTF-8 name and subject */
	"From: Petar P. Petrovi\xc4\x87 <p@example.net>\nSubject: Rupa na putu \xc5\xa1\n\ntext\n",
	/* bare address, negative and named zones, references */
	"From: marko@example.net\nDate: Wed, 25 Nov 2026 19:05:46 -0500\n"
	"In-Reply-To: <x.1@s48.example.org>\nReferences: <a@b> <x.1@s48.example.org>\n\nok\n",
	"From: a@b.example\nDate: 5 Nov 2026 01:02:03 GMT\n\nok\n",
	"From: a@b.example\nDate: Thu, 01 Jan 1970 00:00:00 +0000\n\nok\n",
	/* automatic mail */
	"From: a@b.example\nAuto-Submitted: auto-replied\n\nVacation\n",
	"From: a@b.example\nPrecedence: bulk\n\nList\n",
	"From: a@b.example\nList-Id: <l.example>\nReturn-Path: <>\n\nList\n",
	"From: MAILER-DAEMON@b.example\nX-S48-Loop: yes\n\nBounce\n",
	"From: a@b.example\nReturn-Path: <a@b.example>\nAuto-Submitted: no\n\nok\n",
	/* multipart/mixed with nested alternative and a base64 attachment, CRLF */
	"From: a@b.example\r\nMIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"
	"This is a multi-part message.\r\n--outer\r\n"
	"Content-Type: multipart/alternative; boundary=inner\r\n\r\n"
	"--inner\r\nContent-Type: text/plain; charset=windows-1250\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n\r\nUlica =9Aabac=\r\n ok\r\n"
	"--inner\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Ulica</p>\r\n"
	"--inner--\r\n\r\n--outer\r\nContent-Type: image/jpeg; name=\"slika.jpg\"\r\n"
	"Content-Disposition: attachment; filename=\"slika.jpg\"\r\n"
	"Content-Transfer-Encoding: base64\r\n\r\n/9j/4AAQSkZJRgABAQ==\r\n--outer--\r\n",
	/* HTML only, QP soft breaks, meta charset */
	"From: a@b.example\nContent-Type: text/html\nContent-Transfer-Encoding: quoted-printable\n\n"
	"<html><head><meta charset=3D\"windows-1250\"></head><body><p>Rupa na =\nputu =9A</p>"
	"</body></html>\n",
	/* koi8-r body, windows-1250 Q subject, several recipients */
	"From: =?koi8-r?B?8MXU0g==?= <p@example.net>\nTo: A <a@b.example>, c@d.example\n"
	"Subject: =?windows-1250?Q?Zapu=9Aen_slivnik?=\n"
	"Content-Type: text/plain; charset=koi8-r\n\n\xf0\xd5\xcb\xcc\xc1 \xc3\xc5\xd7\n",
	/* an attachment only: no text (no prologue) */
	"From: a@b.example\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
	"Content-Type: application/pdf\nContent-Disposition: attachment; filename=x.pdf\n\n"
	"%PDF-1.4\n--b--\n",
	/* a plain text part marked as attachment, a pgp signature skipped */
	"From: a@b.example\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nfirst\n--b\n"
	"Content-Type: text/plain; name=note.txt\nContent-Disposition: attachment\n\nnote\n--b\n"
	"Content-Type: application/pgp-signature\n\nsig\n--b--\nepilogue\n",
	/* unlabelled 8-bit windows-1250 text */
	"From: a@b.example\n\nZapu\x9a" "en slivnik\n",
	/* Gmail's and Outlook's encoded file names, folded; glued words */
	"From: a@b.example\r\nSubject: Re:=?utf-8?Q?_Rupa_=C5=A1?=abc\r\n"
	"Content-Type: multipart/mixed; boundary=\"000000000000abc\"\r\n\r\n"
	"--000000000000abc\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\n\r\nSlika\r\n"
	"--000000000000abc\r\nContent-Type: image/jpeg; name=\"=?UTF-8?B?xaFhYmFj?=\r\n"
	" =?UTF-8?B?LmpwZw==?=\"\r\nContent-Disposition: attachment; filename=\"=?UTF-8?B?xaFhYmFj?=\r\n"
	" =?UTF-8?B?LmpwZw==?=\"\r\nContent-Transfer-Encoding: base64\r\n\r\n/9j/4AAQ\r\n"
	"--000000000000abc--\r\n",
	/* an 8-bit (windows-1250) file name */
	"From: a@b.example\nContent-Type: multipart/mixed; boundary=\"=_0123\"\n\n--=_0123\n\nx\n"
	"--=_0123\nContent-Type: application/pdf; name=\"\x9a" "abac.pdf\"\n\n%PDF\n--=_0123--\n",
	/* encoded words glued to words */
	"From: a@b.example\nSubject: abc=?utf-8?q?x?=\n\nglued\n",
	"From: a@b.example\nSubject: =?utf-8?q?x?=abc\n\nglued\n",
};

/* Shapes the fast path must leave to GMime. */
static const char *const declined_cases[] = {
	"From: a@b.example\nSubject: =?utf-8?q?a b?=\n\nspace inside an encoded word\n",
	"From: a@b.example\nSubject: =?utf-8?q?x?abc\n\nno end\n",
	"From: a@b.example\nSubject: =?utf-8?q?x?= =?iso-8859-2?q?y?=\n\ntwo charsets\n",
	"From: a@b.example\nSubject: one\nSubject: two\n\nrepeated\n",
	"From: a@b.example (Petar)\n\ncomment\n",
	"From: undisclosed:;\n\ngroup\n",
	"From a@b.example Tue Nov 24 09:00:00 2026\nFrom: a@b.example\n\nmbox line\n",
	"From: a@b.example\nNo colon here\n\nbad header\n",
	"From: a@b.example\nContent-Type: text/plain\nContent-Transfer-Encoding: x-uuencode\n\nx\n",
	"From: a@b.example\nContent-Type: multipart/mixed\n\n--b\n\nno boundary param\n--b--\n",
	"From: a@b.example\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nno end\n",
	"From: a@b.example\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b junk\ny\n--b--\n",
	"From: a@b.example\nContent-Type: multipart/report; report-type=delivery-status; "
	"boundary=b\n\n--b\n\nbounce\n--b--\n",
	"From: a@b.example\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
	"Content-Type: message/rfc822\n\nFrom: c@d.example\n\nfwd\n--b--\n",
	"From: a@b.example\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
	"Content-Type: application/pdf\nContent-Disposition: attachment; "
	"filename*=utf-8''%C5%A1.pdf\n\nx\n--b--\n",
	"From: a@b.example\nContent-Type: multipart/mixed; boundary=b\n\npreamble text\n--b\n"
	"Content-Type: application/pdf\n\nx\n--b--\n",
	"From: a@b.example\nDate: 30 Feb 2026 10:00:00 +0000\n\nno such day\n",
	"From: a@b.example\nDate: Tue, 24 Nov 2026 09:00:00 +0100 (CET)\n\nzone comment\n",
	"From: a@b.example\nMessage-ID: no-brackets@example.net\n\nid\n",
	"From: a@b.example\nContent-Type: text/plain; charset=\"utf-8\" junk\n\nx\n",
	"From: a@b.example\nSubject: headers only\n",
	/* a part header holding the boundary (GMime may read it in pieces) */
	"From: a@b.example\nContent-Type: multipart/mixed; boundary=bb\n\n--bb\n"
	"X-Note: after --bb\n\nx\n--bb--\n",
	/* a long content line holding the boundary */
	"From: a@b.example\nContent-Type: multipart/mixed; boundary=bb\n\n--bb\n\n"
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx --bb\n--bb--\n",
	/* a display name starting with a dot */
	"From: .Petar <p@example.net>\n\nx\n",
	"From: a@b.example\nSubject: =?x-unknown?q?abc?=\n\nunknown charset\n",
	"From: a@b.example\nSubject: =?utf-8?b?/w==?=\n\nbad UTF-8 in a word\n",
};

/* check_one() of every case, which the fast path must accept (1) or
 * decline (0) */
static void
check_shapes(const char *const *cases, size_t n, int accept)
{
	const char *kind = accept ? "accepted" : "declined";

	for (size_t i = 0; i < n; i++) {
		char what[64];

		snprintf(what, sizeof(what), "%s case %zu", kind, i);
		if (check_one(what, (const unsigned char *)cases[i], strlen(cases[i]), 0, NULL) !=
		    accept)
			fail_msg("%s was %s", what, accept ? "declined" : "accepted");
	}
}

static void
test_accepted_shapes(void **state)
{
	(void)state;
	check_shapes(accepted_cases, N(accepted_cases), 1);
}

static void
test_declined_shapes(void **state)
{
	(void)state;
	check_shapes(declined_cases, N(declined_cases), 0);
	/* a NUL byte, and no input at all */
	{
		static const char nul[] = "From: a@b.example\n\nnul \0 byte\n";
		assert_false(check_one("NUL byte", (const unsigned char *)nul, sizeof(nul) - 1, 0,
		    NULL));
		assert_null(mime_parse_fast(NULL, 0, 0, BIG));
	}
}

/* The accepted shapes above say what they should: a few fields by hand, so
 * the comparison cannot pass on two equally wrong paths. */
static void
test_fields(void **state)
{
	struct mime_message *m;

	(void)state;
	m = mime_parse_fast((const unsigned char *)accepted_cases[0], strlen(accepted_cases[0]), 0,
	    BIG);
	assert_non_null(m);
	assert_string_equal(m->subject, "Pukla cev \xc5\xa1" "abac ulica");
	assert_string_equal(m->from_addr, "petar@example.net");
	assert_string_equal(m->from_name, "Petar");
	assert_string_equal(m->message_id, "a.1@example.net");
	assert_int_equal(m->date, 1795507200);   /* 2026-11-24 08:00:00 UTC */
	assert_string_equal(m->text, "Voda curi.");
	mime_message_free(&m);

	m = mime_parse_fast((const unsigned char *)accepted_cases[11], strlen(accepted_cases[11]), 0,
	    BIG);
	assert_non_null(m);
	assert_string_equal(m->text, "Ulica \xc5\xa1" "abac ok");
	assert_int_equal(m->n_att, 1);
	assert_string_equal(m->att[0].filename, "slika.jpg");
	assert_string_equal(m->att[0].content_type, "image/jpeg");
	assert_int_equal(m->att[0].size, 13);
	mime_message_free(&m);

	m = mime_parse_fast((const unsigned char *)accepted_cases[17], strlen(accepted_cases[17]), 0,
	    BIG);
	assert_non_null(m);
	assert_string_equal(m->subject, "Re: Rupa \xc5\xa1" "abc");
	assert_int_equal(m->n_att, 1);
	assert_string_equal(m->att[0].filename, "\xc5\xa1" "abac.jpg");
	mime_message_free(&m);

	m = mime_parse_fast((const unsigned char *)accepted_cases[8], strlen(accepted_cases[8]), 0,
	    BIG);
	assert_non_null(m);
	assert_string_equal(m->auto_reason, "List-Id");
	assert_true(m->has_return_path);
	assert_true(m->empty_return_path);
	mime_message_free(&m);
}

static void
test_stats(void **state)
{
	unsigned long a0, d0, a1, d1;
	struct mime_message *m;

	(void)state;
	mime_fast_stats(&a0, &d0);
	m = mime_parse((const unsigned char *)accepted_cases[0], strlen(accepted_cases[0]), 0, BIG);
	mime_message_free(&m);
	m = mime_parse((const unsigned char *)declined_cases[0], strlen(declined_cases[0]), 0, BIG);
	mime_message_free(&m);
	mime_fast_stats(&a1, &d1);
	assert_int_equal(a1 - a0, 1);
	assert_int_equal(d1 - d0, 1);
	mime_fast_stats(NULL, NULL);
}

static int
setup(void **state)
{
	(void)state;
	mime_init();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted_shapes),
		cmocka_unit_test(test_declined_shapes),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_fuzz_inputs),
		cmocka_unit_test(test_generated),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
