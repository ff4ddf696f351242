/*
 * test_mail_compose.c - the composer's output parsed back with GMime:
 * encoded subjects round-trip, header injection is impossible, folding
 * and line lengths hold, attachments and QP bodies decode to the input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gmime/gmime.h>

#include "mail_compose.h"
#include "util.h"

#define T0 1795514400  /* 2026-11-24 10:00:00 UTC, a Tuesday */

static struct mail_out
base_mail(void)
{
	struct mail_out m;

	memset(&m, 0, sizeof(m));
	m.from = "Sistem 48 <prijave@example.org>";
	m.to = "jovana@example.net";
	m.subject = "Re: [S48 #12] curi voda";
	m.body = "Postovani,\nvasa prijava je primljena.\n";
	m.message_id = "s48.12.1.abc@example.org";
	m.date = T0;
	return m;
}

/* compose or fail the test; returns the message (caller frees) */
static char *
compose_ok(const struct mail_out *m, size_t *len_r)
{
	struct buf b;
	const char *err = NULL;
	char *data;

	buf_init(&b, 8 * 1024 * 1024);
	if (mail_compose(m, &b, &err) != 0)
		fail_msg("mail_compose failed: %s", err);
	data = buf_steal(&b, len_r);
	return data;
}

static GMimeMessage *
parse(const char *data, size_t len)
{
	GMimeStream *s = g_mime_stream_mem_new_with_buffer(data, len);
	GMimeParser *p = g_mime_parser_new_with_stream(s);
	GMimeMessage *msg = g_mime_parser_construct_message(p, NULL);

	g_object_unref(p);
	g_object_unref(s);
	assert_non_null(msg);
	return msg;
}

/* Every line ends in CRLF, is 7-bit, no NUL; header lines <= 78 (except
 * those listed long_ok), body lines <= 76 (QP/base64). */
static void
check_lines(const char *data, size_t len)
{
	size_t i, start = 0;
	int in_body = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];
		assert_true(c != 0 && c < 0x80);
		if (c == '\r')
			assert_true(i + 1 < len && data[i + 1] == '\n');
		if (c == '\n') {
			size_t l;
			assert_true(i > 0 && data[i - 1] == '\r');
			l = i - 1 - start;
			if (l == 0)
				in_body = 1;
			if (!in_body && l > 78)
				fail_msg("header line of %zu columns: %.*s", l, (int)l, data + start);
			if (in_body && l > 78)
				fail_msg("body line of %zu columns", l);
			start = i + 1;
		}
	}
	assert_int_equal(start, len);   /* ends with CRLF */
}

/* every encoded word decodes to valid UTF-8 on its own (no split sequence) */
static void
check_encoded_words(const char *data)
{
	const char *p = data, *e;
	int words = 0;

	assert_null(strstr(data, "=?UTF-8?B?"));
	while ((p = strstr(p, "=?UTF-8?Q?")) != NULL) {
		char dec[80];
		size_t n = 0;

		p += 10;
		e = strstr(p, "?=");
		assert_non_null(e);
		assert_true(e - p + 12 <= 75);   /* RFC 2047 2: at most 75 characters */
		for (; p < e; p++) {
			unsigned v;
			assert_true(n < sizeof(dec));
			if (*p == '=') {
				assert_int_equal(sscanf(p + 1, "%2X", &v), 1);
				dec[n++] = (char)v;
				p += 2;
			} else
				dec[n++] = *p == '_' ? ' ' : *p;
		}
		assert_true(n > 0);
		assert_true(g_utf8_validate(dec, (gssize)n, NULL));
		p = e + 2;
		words++;
	}
	(void)words;
}

static char *
decoded_subject(GMimeMessage *msg)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(msg));
	GMimeHeader *h = g_mime_header_list_get_header(hl, "Subject");
	char *unfolded, *dec;

	assert_non_null(h);
	unfolded = g_mime_utils_header_unfold(g_mime_header_get_raw_value(h));
	dec = g_mime_utils_header_decode_text(NULL, unfolded);
	g_free(unfolded);
	return dec;
}

static int
header_count(GMimeMessage *msg, const char *name)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(msg));
	int i, n = g_mime_header_list_get_count(hl), c = 0;

	for (i = 0; i < n; i++)
		if (g_ascii_strcasecmp(g_mime_header_get_name(g_mime_header_list_get_header_at(hl, i)),
		    name) == 0)
			c++;
	return c;
}

static const char *
header_value(GMimeMessage *msg, const char *name)
{
	return g_mime_object_get_header(GMIME_OBJECT(msg), name);
}

/* decoded content of a leaf part, CRLF turned into LF; caller frees */
static char *
part_content(GMimeObject *obj, size_t *len_r, int crlf_to_lf)
{
	GMimeDataWrapper *dw;
	GMimeStream *ms;
	GByteArray *ba;
	char *out;
	size_t i, o = 0;

	assert_true(GMIME_IS_PART(obj));
	dw = g_mime_part_get_content(GMIME_PART(obj));
	assert_non_null(dw);
	ms = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(dw, ms);
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(ms));
	out = xmalloc(ba->len + 1);
	for (i = 0; i < ba->len; i++) {
		if (crlf_to_lf && ba->data[i] == '\r' && i + 1 < ba->len && ba->data[i + 1] == '\n')
			continue;
		out[o++] = (char)ba->data[i];
	}
	out[o] = '\0';
	*len_r = o;
	g_object_unref(ms);
	return out;
}

/* ------------------------------------------------------------------ tests */

static const struct {
	const char *in;
	const char *expect;   /* decoded subject */
} subjects[] = {
	{ "Re: [S48 #12] curi voda", "Re: [S48 #12] curi voda" },
	{ "Re: [S48 #7] Ne radi ulična rasveta u Ulici kralja Petra", "Re: [S48 #7] Ne radi ulična rasveta u Ulici kralja Petra" },
	{ "Re: [S48 #8] Не ради улична расвета", "Re: [S48 #8] Не ради улична расвета" },
	{ "Ђорђе Љубичић Његош џак ћуп шљива ЖУТО", "Ђорђе Љубичић Његош џак ћуп шљива ЖУТО" },
	{ "čćžšđ ČĆŽŠĐ", "čćžšđ ČĆŽŠĐ" },
	{ "rupa na putu \xf0\x9f\x95\xb3\xef\xb8\x8f opasno \xf0\x9f\x9a\xa7", "rupa na putu \xf0\x9f\x95\xb3\xef\xb8\x8f opasno \xf0\x9f\x9a\xa7" },
	{ "  vise   razmaka\tu\tnaslovu  ", "vise razmaka u naslovu" },
	{ "=?UTF-8?B?bGF6?= izgleda kao kodirano", "=?UTF-8?B?bGF6?= izgleda kao kodirano" },
	{ "Re: [S48 #3] prvi red\r\nBcc: napadac@example.com", "Re: [S48 #3] prvi red Bcc: napadac@example.com" },
	{ "x\nTo: drugi@example.com\n\nTELO", "x To: drugi@example.com TELO" },
	{ "bad \xc3\x28 utf8 \xff", "bad ?( utf8 ?" },
	{ "nul\x01\x02\x1f\x7f kontrole", "nul kontrole" },
	{ "", "" },
	{ "Re: [S48 #99] Veoma dugacak naslov prijave koji svakako prelazi sedamdeset i osam znakova u jednom redu zaglavlja poruke",
	  "Re: [S48 #99] Veoma dugacak naslov prijave koji svakako prelazi sedamdeset i osam znakova u jednom redu zaglavlja poruke" },
	{ "Re: [S48 #100] Веома дугачак наслов пријаве који свакако прелази седамдесет и осам знакова у једном реду заглавља поруке, чак и више пута",
	  "Re: [S48 #100] Веома дугачак наслов пријаве који свакако прелази седамдесет и осам знакова у једном реду заглавља поруке, чак и више пута" },
	{ "čćž-https://example.org/a/very/long/url/without/any/spaces/that/cannot/be/folded/at/all/anywhere/and/goes/on/and/on/x",
	  "čćž-https://example.org/a/very/long/url/without/any/spaces/that/cannot/be/folded/at/all/anywhere/and/goes/on/and/on/x" },
	{ "https://example.org/a/very/long/url/without/any/spaces/that/cannot/be/folded/at/all/anywhere/x",
	  "https://example.org/a/very/long/url/without/any/spaces/that/cannot/be/folded/at/all/anywhere/x" },
};

static void
test_subjects(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
		struct mail_out m = base_mail();
		GMimeMessage *msg;
		size_t len;
		char *data, *dec;

		m.subject = subjects[i].in;
		data = compose_ok(&m, &len);
		check_lines(data, len);
		check_encoded_words(data);
		msg = parse(data, len);
		dec = decoded_subject(msg);
		if (strcmp(dec, subjects[i].expect) != 0)
			fail_msg("case %zu: got '%s' expected '%s'", i, dec, subjects[i].expect);
		assert_int_equal(header_count(msg, "Subject"), 1);
		assert_int_equal(header_count(msg, "Bcc"), 0);
		assert_int_equal(header_count(msg, "To"), 1);
		assert_string_equal(header_value(msg, "To"), "jovana@example.net");
		/* the text/plain body is untouched by the subject */
		assert_null(strstr(data, "\r\nTELO"));
		g_free(dec);
		g_object_unref(msg);
		free(data);
	}
}

/* the readable prefix stays unencoded: staff and filters can grep it */
static void
test_subject_plain_prefix(void **state)
{
	struct mail_out m = base_mail();
	size_t len;
	char *data;

	(void)state;
	m.subject = "Re: [S48 #12] Ulična rasveta";
	data = compose_ok(&m, &len);
	assert_non_null(strstr(data, "\r\nSubject: Re: [S48 #12] =?UTF-8?Q?Uli=C4=8Dna_rasveta?=\r\n"));
	free(data);
	m.subject = "Re: [S48 #12] curi voda";
	data = compose_ok(&m, &len);
	assert_non_null(strstr(data, "\r\nSubject: Re: [S48 #12] curi voda\r\n"));
	free(data);
}

static void
test_headers(void **state)
{
	struct mail_out m = base_mail();
	GMimeMessage *msg;
	InternetAddressList *l;
	InternetAddress *a;
	GDateTime *dt;
	size_t len, i;
	char *data;

	(void)state;
	m.from = "Sistem 48 Grad Čačak <Prijave@Example.org>";
	m.to = "Jovana Jovanović <jovana@example.net>";
	m.in_reply_to = "CAB1234+x=y@mail.example.net";
	m.references = "first@a.example  CAB1234+x=y@mail.example.net";
	m.auto_replied = 1;
	data = compose_ok(&m, &len);
	check_lines(data, len);
	msg = parse(data, len);
	assert_string_equal(g_mime_message_get_message_id(msg), "s48.12.1.abc@example.org");
	assert_string_equal(header_value(msg, "In-Reply-To"), "<CAB1234+x=y@mail.example.net>");
	assert_string_equal(header_value(msg, "Auto-Submitted"), "auto-replied");
	assert_string_equal(header_value(msg, "X-S48-Loop"), "prijave@example.org");
	assert_string_equal(header_value(msg, "MIME-Version"), "1.0");
	assert_non_null(strstr(data, "\r\nReferences: <first@a.example>\r\n <CAB1234+x=y@mail.example.net>\r\n"));
	l = g_mime_message_get_from(msg);
	assert_int_equal(internet_address_list_length(l), 1);
	a = internet_address_list_get_address(l, 0);
	assert_string_equal(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a)),
	    "prijave@example.org");
	assert_string_equal(internet_address_get_name(a), "Sistem 48 Grad Čačak");
	l = g_mime_message_get_to(msg);
	a = internet_address_list_get_address(l, 0);
	assert_string_equal(internet_address_get_name(a), "Jovana Jovanović");
	assert_string_equal(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a)),
	    "jovana@example.net");
	dt = g_mime_message_get_date(msg);
	assert_non_null(dt);
	assert_int_equal(g_date_time_to_unix(dt), T0);
	assert_non_null(strstr(data, "Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n"));
	g_object_unref(msg);
	free(data);

	/* a display name that needs many escapes stays within 78 columns */
	{
		struct buf to, name;
		buf_init(&to, 4096);
		buf_init(&name, 4096);
		buf_appends(&to, "\"");
		for (i = 0; i < 45; i++) {
			buf_appends(&to, "\\\"");
			buf_appends(&name, "\"");
		}
		buf_appends(&to, " x\" <jovana@example.net>");
		buf_appends(&name, " x");
		m = base_mail();
		m.to = to.data;
		data = compose_ok(&m, &len);
		check_lines(data, len);
		msg = parse(data, len);
		a = internet_address_list_get_address(g_mime_message_get_to(msg), 0);
		assert_string_equal(internet_address_get_name(a), name.data);
		assert_string_equal(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a)),
		    "jovana@example.net");
		g_object_unref(msg);
		free(data);
		buf_free(&to);
		buf_free(&name);
	}

	/* department notification: auto-generated, no In-Reply-To */
	m = base_mail();
	m.from = "\"Grad \\\"48\\\"\" <prijave@example.org>";
	data = compose_ok(&m, &len);
	msg = parse(data, len);
	assert_string_equal(header_value(msg, "Auto-Submitted"), "auto-generated");
	assert_null(header_value(msg, "In-Reply-To"));
	assert_null(header_value(msg, "References"));
	a = internet_address_list_get_address(g_mime_message_get_from(msg), 0);
	assert_string_equal(internet_address_get_name(a), "Grad \"48\"");
	g_object_unref(msg);
	free(data);
}

/* ids as stored from raw headers: with <>, folded, comma separated */
static void
test_ids_in_brackets(void **state)
{
	struct mail_out m = base_mail();
	GMimeMessage *msg;
	size_t len;
	char *data;

	(void)state;
	m.message_id = "<s48.abc@example.org>";
	m.in_reply_to = "<orig@mail.example.net>";
	m.references = "<root@a.example>\r\n <mid@b.example>,<orig@mail.example.net>";
	data = compose_ok(&m, &len);
	check_lines(data, len);
	assert_non_null(strstr(data, "\r\nMessage-ID: <s48.abc@example.org>\r\n"));
	assert_non_null(strstr(data, "\r\nIn-Reply-To: <orig@mail.example.net>\r\n"));
	assert_non_null(strstr(data, "\r\nReferences: <root@a.example>\r\n <mid@b.example>\r\n"
	    " <orig@mail.example.net>\r\n"));
	msg = parse(data, len);
	assert_string_equal(g_mime_message_get_message_id(msg), "s48.abc@example.org");
	g_object_unref(msg);
	free(data);
}

static void
test_references_capped(void **state)
{
	struct mail_out m = base_mail();
	struct buf b;
	size_t len, i;
	char *data, *p;
	int n = 0;

	(void)state;
	buf_init(&b, 65536);
	for (i = 0; i < 30; i++)
		buf_appendf(&b, "%sid%zu@example.net", i ? " " : "", i);
	m.references = b.data;
	data = compose_ok(&m, &len);
	check_lines(data, len);
	for (p = data; (p = strstr(p, "@example.net>")) != NULL; p++)
		n++;
	assert_int_equal(n, 20);
	assert_non_null(strstr(data, "<id0@example.net>"));     /* the thread's root */
	assert_non_null(strstr(data, "<id29@example.net>"));    /* the newest */
	assert_null(strstr(data, "<id10@example.net>"));
	free(data);
	buf_free(&b);
}

static const struct {
	const char *field;
	const char *value;
	const char *error;
} refusals[] = {
	{ "message_id", "abc@example.org\r\nBcc: x@example.com", "invalid Message-ID" },
	{ "message_id", "abc@example.org>", "invalid Message-ID" },
	{ "message_id", "<abc@example.org", "invalid Message-ID" },
	{ "message_id", "<<abc@example.org>>", "invalid Message-ID" },
	{ "message_id", "no-at-sign", "invalid Message-ID" },
	{ "message_id", "", "invalid Message-ID" },
	{ "message_id", NULL, "invalid Message-ID" },
	{ "message_id", "a b@example.org", "invalid Message-ID" },
	{ "in_reply_to", "x@y\nBcc: z@example.com", "invalid In-Reply-To id" },
	{ "in_reply_to", "x@y\x01", "invalid In-Reply-To id" },
	{ "references", "ok@example.org bad\r\n@example.org", "invalid References id" },
	{ "references", "ok@example.org <x@y", "invalid References id" },
	{ "references", "<ok@example.org> <x y@z>", "invalid References id" },
	{ "references", "<x@y>\r\nBcc: evil@example.com", "invalid References id" },
	{ "to", "jovana@example.net\r\nBcc: x@example.com", "invalid To address" },
	{ "to", "jovana@example.net, drugi@example.com", "invalid To address" },
	{ "to", "Ime <jovana@example.net> x", "invalid To address" },
	{ "to", "jovana@", "invalid To address" },
	{ "to", "jovana@ex ample.net", "invalid To address" },
	{ "to", "jo\"vana@example.net", "invalid To address" },
	{ "to", "jovana@-example.net", "invalid To address" },
	{ "to", "", "invalid To address" },
	{ "to", NULL, "invalid To address" },
	{ "from", "Sistem <prijave@example.org", "invalid From address" },
	{ "from", "prijave@example..org", "invalid From address" },
};

static void
test_refusals(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		struct mail_out m = base_mail();
		struct buf b;
		const char *err = NULL;

		if (strcmp(refusals[i].field, "message_id") == 0)
			m.message_id = refusals[i].value;
		else if (strcmp(refusals[i].field, "in_reply_to") == 0)
			m.in_reply_to = refusals[i].value;
		else if (strcmp(refusals[i].field, "references") == 0)
			m.references = refusals[i].value;
		else if (strcmp(refusals[i].field, "to") == 0)
			m.to = refusals[i].value;
		else
			m.from = refusals[i].value;
		buf_init(&b, 1 << 20);
		if (mail_compose(&m, &b, &err) != -1)
			fail_msg("case %zu (%s) accepted", i, refusals[i].field);
		assert_non_null(err);
		assert_string_equal(err, refusals[i].error);
		buf_free(&b);
	}
}

static const struct {
	const char *s;
	int addr_ok;
	int msgid_ok;
} idcases[] = {
	{ "jovana@example.net", 1, 1 },
	{ "first.last+tag@sub.example.co.rs", 1, 1 },
	{ "root@localhost", 1, 1 },
	{ "a@b", 1, 1 },
	{ "CAB1234+x=y/z@mail.example.net", 1, 1 },
	{ "x@y..z", 0, 0 },
	{ ".x@y.z", 0, 0 },
	{ "x.@y.z", 0, 0 },
	{ "x@y.z.", 0, 0 },
	{ "x@@y.z", 0, 0 },
	{ "x@y_z.org", 0, 1 },
	{ "x@[127.0.0.1]", 0, 0 },
	{ "čika@example.org", 0, 0 },
	{ "x@пример.срб", 0, 0 },
	{ "x@y.z\r\n", 0, 0 },
	{ "x@y.z ", 0, 0 },
	{ "", 0, 0 },
	{ "@", 0, 0 },
	{ "x@", 0, 0 },
	{ "@y.z", 0, 0 },
};

static void
test_validators(void **state)
{
	size_t i;
	char *a;

	(void)state;
	for (i = 0; i < sizeof(idcases) / sizeof(idcases[0]); i++) {
		if (mail_addr_ok(idcases[i].s) != idcases[i].addr_ok)
			fail_msg("mail_addr_ok('%s') != %d", idcases[i].s, idcases[i].addr_ok);
		if (mail_msgid_ok(idcases[i].s) != idcases[i].msgid_ok)
			fail_msg("mail_msgid_ok('%s') != %d", idcases[i].s, idcases[i].msgid_ok);
	}
	assert_int_equal(mail_addr_ok(NULL), 0);
	assert_int_equal(mail_msgid_ok(NULL), 0);
	a = mail_addr_extract("Sistem 48 <Prijave@Example.ORG>");
	assert_string_equal(a, "prijave@example.org");
	free(a);
	a = mail_addr_extract("  jovana@example.net ");
	assert_string_equal(a, "jovana@example.net");
	free(a);
	assert_null(mail_addr_extract("Sistem 48 <prijave@example.org"));
	assert_null(mail_addr_extract("nobody"));
}

static const char serbian_body[] =
    "Poštovani,\n"
    "vaša prijava br. 12 (curi voda u Ulici Đure Đakovića) je primljena.\r\n"
    ".\n"
    ".tačka na početku reda\n"
    "From here on, a line that mbox would mangle\n"
    "razmaci na kraju reda   \n"
    "tab na kraju\t\n"
    "Ћирилица: Ђорђе, Љубица, Њива, Џеп, Ћуп, Жаба, Шума, Чаша.\r"
    "a=b =3D ?=\n"
    "1234567890123456789012345678901234567890123456789012345678901234567890123456\n"
    "12345678901234567890123456789012345678901234567890123456789012345678901234567\n"
    "123456789012345678901234567890123456789012345678901234567890123456789012345 \n"
    "12345678901234567890123456789012345678901234567890123456789012345678901234č\n"
    "1234567890123456789012345678901234567890123456789012345678901234567890123=\n"
    "\n"
    "\n";

static void
test_qp_body(void **state)
{
	struct mail_out m = base_mail();
	GMimeMessage *msg;
	GMimeObject *body;
	struct buf long_body, expect;
	size_t len, clen, i;
	char *data, *content;
	const char *p;

	(void)state;
	/* a line far longer than 998 octets of two-byte characters */
	buf_init(&long_body, 1 << 20);
	buf_appends(&long_body, serbian_body);
	for (i = 0; i < 800; i++)
		buf_appends(&long_body, i % 7 ? "ž" : "ђ ");
	buf_appends(&long_body, "\nkraj");
	m.body = long_body.data;
	data = compose_ok(&m, &len);
	check_lines(data, len);
	assert_non_null(strstr(data, "Content-Transfer-Encoding: quoted-printable\r\n"));
	assert_non_null(strstr(data, "charset=UTF-8"));
	/* no body line starts with '.' or "From ", none passes 76 columns (RFC 2045) */
	for (p = strstr(data, "\r\n\r\n"); p != NULL; p = strstr(p + 1, "\r\n")) {
		const char *e = strstr(p + 2, "\r\n");
		assert_false(p[2] == '.');
		assert_false(strncmp(p + 2, "From ", 5) == 0);
		if (e != NULL && e - (p + 2) > 76)
			fail_msg("QP line of %d columns", (int)(e - (p + 2)));
	}
	msg = parse(data, len);
	body = g_mime_message_get_mime_part(msg);
	content = part_content(body, &clen, 1);
	/* expected: the input with CRLF and CR turned into LF; a final line break added */
	buf_init(&expect, 1 << 20);
	for (p = long_body.data; *p; p++) {
		if (*p == '\r') {
			if (p[1] != '\n')
				buf_appendc(&expect, '\n');
			continue;
		}
		buf_appendc(&expect, *p);
	}
	buf_appendc(&expect, '\n');
	assert_int_equal(clen, expect.len);
	assert_memory_equal(content, expect.data, clen);
	g_object_unref(msg);
	free(content);
	free(data);
	buf_free(&expect);
	buf_free(&long_body);
}

static void
test_attachments(void **state)
{
	static const struct {
		const char *name, *ctype, *expect_name, *expect_type;
	} cases[] = {
		{ "račun č.pdf", "application/pdf", "račun č.pdf", "application/pdf" },
		{ "slika.jpg", "image/JPEG", "slika.jpg", "image/jpeg" },
		{ "../../etc/passwd", "text/plain; charset=x", "_.._etc_passwd", "text/plain" },
		{ "Фотографија оштећеног пута у Улици краља Петра број 15 снимљена јутрос.jpeg",
		  "image/jpeg",
		  "Фотографија оштећеног пута у Улици краља Петра број 15 снимљена јутрос.jpeg",
		  "image/jpeg" },
		{ "x\r\nContent-Type: text/html\r\n\r\n<b>.txt", "text/html\r\nX-Evil: 1",
		  "x Content-Type: text_html <b>.txt", "application/octet-stream" },
		{ NULL, NULL, "attachment", "application/octet-stream" },
		{ "a \"quoted\"; name.txt", "bogus", "a \"quoted\"; name.txt", "application/octet-stream" },
		{ "=?UTF-8?Q?la=C5=BE?=.txt", "text/plain", "=?UTF-8?Q?la=C5=BE?=.txt", "text/plain" },
		{ "zapisnik.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		  "zapisnik.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
		{ "x.bin", "application/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "x.bin", "application/octet-stream" },
	};
	enum { N = sizeof(cases) / sizeof(cases[0]) };
	struct mail_attachment att[N];
	unsigned char bin[N][1000];
	struct mail_out m = base_mail();
	GMimeMessage *msg;
	GMimeObject *top;
	size_t len, i, j, clen;
	char *data, *content;

	(void)state;
	for (i = 0; i < N; i++) {
		for (j = 0; j < sizeof(bin[i]); j++)
			bin[i][j] = (unsigned char)((j * 7 + i * 13) ^ (j >> 3));
		att[i].filename = cases[i].name;
		att[i].content_type = cases[i].ctype;
		att[i].data = bin[i];
		att[i].size = 100 * i + 1;   /* different sizes, padding variants */
		assert_true(att[i].size <= sizeof(bin[i]));
	}
	m.body = "Nova prijava br. 12.\nPrijavio: jovana@example.net\n--=_s48_ nije granica\n";
	m.att = att;
	m.n_att = N;
	data = compose_ok(&m, &len);
	check_lines(data, len);
	check_encoded_words(data);
	msg = parse(data, len);
	top = g_mime_message_get_mime_part(msg);
	assert_true(GMIME_IS_MULTIPART(top));
	assert_int_equal(g_mime_multipart_get_count(GMIME_MULTIPART(top)), N + 1);
	content = part_content(g_mime_multipart_get_part(GMIME_MULTIPART(top), 0), &clen, 1);
	assert_string_equal(content, m.body);
	free(content);
	for (i = 0; i < N; i++) {
		GMimeObject *part = g_mime_multipart_get_part(GMIME_MULTIPART(top), (int)i + 1);
		GMimeContentType *ct = g_mime_object_get_content_type(part);
		char *mt = g_mime_content_type_get_mime_type(ct);
		const char *fn = g_mime_part_get_filename(GMIME_PART(part));

		if (fn == NULL || strcmp(fn, cases[i].expect_name) != 0)
			fail_msg("case %zu: filename '%s' expected '%s'", i, fn ? fn : "(null)",
			    cases[i].expect_name);
		assert_string_equal(mt, cases[i].expect_type);
		g_free(mt);
		content = part_content(part, &clen, 0);
		assert_int_equal(clen, att[i].size);
		assert_memory_equal(content, bin[i], clen);
		free(content);
	}
	g_object_unref(msg);
	free(data);
}

static void
test_size_limit(void **state)
{
	struct mail_out m = base_mail();
	struct mail_attachment a = { "big.bin", "application/octet-stream", NULL, 0 };
	unsigned char *big = xcalloc(1, 100000);
	struct buf b;
	const char *err = NULL;

	(void)state;
	a.data = big;
	a.size = 100000;
	m.att = &a;
	m.n_att = 1;
	buf_init(&b, 100000);   /* base64 needs 4/3 of it */
	assert_int_equal(mail_compose(&m, &b, &err), -1);
	assert_string_equal(err, "message too large");
	buf_free(&b);
	buf_init(&b, 200000);
	assert_int_equal(mail_compose(&m, &b, &err), 0);
	buf_free(&b);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subjects),
		cmocka_unit_test(test_subject_plain_prefix),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_ids_in_brackets),
		cmocka_unit_test(test_references_capped),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_validators),
		cmocka_unit_test(test_qp_body),
		cmocka_unit_test(test_attachments),
		cmocka_unit_test(test_size_limit),
	};
	int rc;

	g_mime_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	g_mime_shutdown();
	return rc;
}
