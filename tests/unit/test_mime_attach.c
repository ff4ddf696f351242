/*
 * test_mime_attach.c - attachments as a clerk gets them: a name with an
 * extension from the content type when the sender gave none, and the files
 * and text inside an Outlook winmail.dat (TNEF) instead of the opaque part.
 * Every mail is parsed by both MIME paths (GMime, and the fast path when it
 * accepts) and the two results must agree.  The TNEF streams are built here
 * from the MS-OXTNEF layout (tests/tools/make_tnef.py writes the same for
 * files); the hostile ones must leave the winmail.dat as it came.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib.h>

#include "mime.h"
#include "normalize.h"
#include "util.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define BIG (10u << 20)

/* ---- both paths -------------------------------------------------------- */

static void
assert_same_att(const struct mime_message *a, const struct mime_message *b)
{
	assert_int_equal(a->n_att, b->n_att);
	assert_string_equal(a->text, b->text);
	for (size_t i = 0; i < a->n_att; i++) {
		assert_string_equal(a->att[i].filename, b->att[i].filename);
		assert_string_equal(a->att[i].content_type, b->att[i].content_type);
		assert_int_equal(a->att[i].size, b->att[i].size);
		assert_int_equal(a->att[i].omitted, b->att[i].omitted);
		assert_string_equal(a->att[i].sha256, b->att[i].sha256);
	}
	if (a->parse_error == NULL || b->parse_error == NULL)
		assert_ptr_equal(a->parse_error, b->parse_error);
	else
		assert_string_equal(a->parse_error, b->parse_error);
}

/* GMime's result, checked against the fast path's when that accepts and
 * against mime_parse's. */
static struct mime_message *
parse_both(const char *raw, size_t budget)
{
	size_t len = strlen(raw);
	struct mime_message *g = mime_parse_gmime((const unsigned char *)raw, len, 0, budget);
	struct mime_message *f = mime_parse_fast((const unsigned char *)raw, len, 0, budget);
	struct mime_message *p = mime_parse((const unsigned char *)raw, len, 0, budget);

	if (f != NULL)
		assert_same_att(g, f);
	assert_same_att(g, p);
	mime_message_free(&f);
	mime_message_free(&p);
	return g;
}

/* ---- unnamed attachments ----------------------------------------------- */

static void
test_unnamed_extension(void **state)
{
	static const struct {
		const char *ctype;       /* Content-Type value */
		const char *disp;        /* Content-Disposition value */
		const char *want;
		const char *want_type;
	} cases[] = {
		{ "image/jpeg", "attachment", "attachment-1.jpg", "image/jpeg" },
		{ "IMAGE/JPEG", "inline", "attachment-1.jpg", "image/jpeg" },
		{ "image/png", "attachment", "attachment-1.png", "image/png" },
		{ "application/pdf", "attachment", "attachment-1.pdf", "application/pdf" },
		{ "image/heic", "attachment", "attachment-1.heic", "image/heic" },
		{ "text/plain", "attachment", "attachment-1.txt", "text/plain" },
		{ "text/calendar; method=REQUEST", "attachment", "attachment-1.ics",
		  "text/calendar" },
		{ "video/mp4", "attachment", "attachment-1.mp4", "video/mp4" },
		{ "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		  "attachment", "attachment-1.docx",
		  "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
		/* nothing to go by: no extension rather than a wrong one */
		{ "application/octet-stream", "attachment", "attachment-1",
		  "application/octet-stream" },
		{ "application/x-s48-unknown", "attachment", "attachment-1",
		  "application/x-s48-unknown" },
		/* a name of the sender's own is never changed */
		{ "image/jpeg", "attachment; filename=\"slika\"", "slika", "image/jpeg" },
		{ "image/png", "attachment; filename=\"foto.jpg\"", "foto.jpg", "image/png" },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		char *raw = xasprintf("From: a@b.rs\nSubject: f\nMIME-Version: 1.0\n"
		    "Content-Type: multipart/mixed; boundary=z\n\n--z\nContent-Type: text/plain\n\n"
		    "tekst\n--z\nContent-Type: %s\nContent-Disposition: %s\n"
		    "Content-Transfer-Encoding: base64\n\nAAEC\n--z--\n", cases[i].ctype,
		    cases[i].disp);
		struct mime_message *m = parse_both(raw, BIG);

		assert_int_equal(m->n_att, 1);
		if (strcmp(m->att[0].filename, cases[i].want) != 0)
			fail_msg("case %zu: \"%s\", want \"%s\"", i, m->att[0].filename,
			    cases[i].want);
		assert_string_equal(m->att[0].content_type, cases[i].want_type);
		assert_string_equal(m->text, "tekst");
		mime_message_free(&m);
		free(raw);
	}
}

/* The second unnamed part is attachment-2, whatever its type. */
static void
test_unnamed_numbering(void **state)
{
	const char *raw = "From: a@b.rs\nSubject: f\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=z\n\n--z\nContent-Type: text/plain\n\n"
	    "tekst\n--z\nContent-Type: image/jpeg\nContent-Disposition: attachment; "
	    "filename=a.jpg\nContent-Transfer-Encoding: base64\n\nAAEC\n"
	    "--z\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\nAAEC\n"
	    "--z--\n";
	struct mime_message *m;

	(void)state;
	m = parse_both(raw, BIG);
	assert_int_equal(m->n_att, 2);
	assert_string_equal(m->att[0].filename, "a.jpg");
	assert_string_equal(m->att[1].filename, "attachment-2.pdf");
	mime_message_free(&m);
}

/* ---- TNEF streams ------------------------------------------------------ */

#define A_VERSION   0x00089006u
#define A_CODEPAGE  0x00069007u
#define A_CLASS     0x00078008u
#define A_BODY      0x0002800Cu
#define A_MAPIPROPS 0x00069003u
#define A_RENDDATA  0x00069002u
#define A_TITLE     0x00018010u
#define A_DATA      0x0006800Fu
#define A_ATTMAPI   0x00069005u
#define PT_S8       0x001Eu
#define PT_W        0x001Fu
#define PT_L        0x0003u

struct tn {
	unsigned char b[65536];
	size_t n;
};

static void
tn_u8(struct tn *t, unsigned v)
{
	assert_true(t->n < sizeof(t->b));
	t->b[t->n++] = (unsigned char)v;
}

static void
tn_u16(struct tn *t, unsigned v)
{
	tn_u8(t, v & 0xff);
	tn_u8(t, (v >> 8) & 0xff);
}

static void
tn_u32(struct tn *t, uint32_t v)
{
	tn_u16(t, v & 0xffff);
	tn_u16(t, v >> 16);
}

static void
tn_bytes(struct tn *t, const void *p, size_t n)
{
	assert_true(t->n + n <= sizeof(t->b));
	memcpy(t->b + t->n, p, n);
	t->n += n;
}

static void
tn_attr(struct tn *t, unsigned level, uint32_t id, const void *p, size_t n)
{
	unsigned sum = 0;

	tn_u8(t, level);
	tn_u32(t, id);
	tn_u32(t, (uint32_t)n);
	tn_bytes(t, p, n);
	for (size_t i = 0; i < n; i++)
		sum += ((const unsigned char *)p)[i];
	tn_u16(t, sum & 0xffff);
}

static void
tn_start(struct tn *t, uint32_t codepage)
{
	static const unsigned char ver[4] = { 0, 0, 1, 0 };
	unsigned char cp[8] = { 0 };

	t->n = 0;
	tn_u32(t, 0x223E9F78u);
	tn_u16(t, 0x1234);
	tn_attr(t, 1, A_VERSION, ver, 4);
	for (int i = 0; i < 4; i++)
		cp[i] = (unsigned char)(codepage >> (8 * i));
	tn_attr(t, 1, A_CODEPAGE, cp, 8);
	tn_attr(t, 1, A_CLASS, "IPM.Microsoft Mail.Note", 24);
}

/* A MAPI string property (count 1, size, data padded to 4) into m. */
static void
mapi_str(struct tn *m, uint32_t type, uint32_t id, const char *utf8)
{
	unsigned char v[1024];
	size_t n = 0;

	if (type == PT_W) {
		/* UTF-8 to UTF-16LE (BMP) */
		glong w = 0;
		gunichar2 *u = g_utf8_to_utf16(utf8, -1, NULL, &w, NULL);

		assert_non_null(u);
		for (glong i = 0; i <= w; i++) {
			v[n++] = (unsigned char)(u[i] & 0xff);
			v[n++] = (unsigned char)(u[i] >> 8);
		}
		g_free(u);
	} else {
		n = strlen(utf8) + 1;
		memcpy(v, utf8, n);
	}
	tn_u32(m, id << 16 | type);
	tn_u32(m, 1);
	tn_u32(m, (uint32_t)n);
	tn_bytes(m, v, n);
	while (n++ % 4)
		tn_u8(m, 0);
}

struct tfile {
	const char *longname;    /* PR_ATTACH_LONG_FILENAME (PT_UNICODE) or NULL */
	const char *title;       /* attAttachTitle (code page bytes) or NULL */
	const char *tag;         /* PR_ATTACH_MIME_TAG or NULL */
	const char *data;
};

static void
tn_file(struct tn *t, const struct tfile *f)
{
	static const unsigned char rend[14] = { 1, 0, 0xff, 0xff, 0xff, 0xff };
	struct tn *m = xcalloc(1, sizeof(*m));
	uint32_t nprops = 1 + (f->longname != NULL) + (f->tag != NULL);

	tn_attr(t, 2, A_RENDDATA, rend, sizeof(rend));
	if (f->title != NULL)
		tn_attr(t, 2, A_TITLE, f->title, strlen(f->title) + 1);
	tn_attr(t, 2, A_DATA, f->data, strlen(f->data));
	tn_u32(m, nprops);
	tn_u32(m, 0x3705u << 16 | PT_L);        /* PR_ATTACH_METHOD: by value */
	tn_u32(m, 1);
	if (f->longname != NULL)
		mapi_str(m, PT_W, 0x3707, f->longname);
	if (f->tag != NULL)
		mapi_str(m, PT_S8, 0x370E, f->tag);
	tn_attr(t, 2, A_ATTMAPI, m->b, m->n);
	free(m);
}

/* A mail as Outlook in RTF mode sends it: text/plain (maybe empty), then
 * the stream as a base64 winmail.dat.  Caller frees. */
static char *
tnef_mail(const char *own_text, const unsigned char *tnef, size_t len)
{
	gchar *b64 = g_base64_encode(tnef, len);
	struct buf lines;
	char *raw;

	buf_init(&lines, 4 * len + 1024);
	for (size_t i = 0, l = strlen(b64); i < l; i += 76) {
		assert_int_equal(buf_append(&lines, b64 + i, l - i < 76 ? l - i : 76), 0);
		assert_int_equal(buf_appends(&lines, "\r\n"), 0);
	}
	raw = xasprintf("From: Petar <petar@example.rs>\r\nTo: prijave@grad.example.rs\r\n"
	    "Subject: Rupa\r\nMessage-ID: <t@example.rs>\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
	    "--b1\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\n\r\n%s\r\n"
	    "--b1\r\nContent-Type: application/ms-tnef; name=\"winmail.dat\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment; filename=\"winmail.dat\"\r\n\r\n%s"
	    "--b1--\r\n", own_text, lines.data ? lines.data : "");
	buf_free(&lines);
	g_free(b64);
	return raw;
}

static const struct tfile photo = {
	"slika ulice č.jpg", "SLIKA~1.JPG", "image/jpeg", "\xff\xd8\xff\xe0JFIF-photo"
};
static const struct tfile png_titled = { NULL, "rupa.png", NULL, "\x89PNG-data" };

/* The files come out with their names, types and bytes; the stream's text
 * is the report's text when the mail has none of its own. */
static void
test_tnef_files_and_text(void **state)
{
	static const struct {
		const char *own;         /* the mail's text/plain */
		const char *body;        /* attBody (cp1250) or NULL */
		const char *body_w;      /* PR_BODY as PT_UNICODE or NULL */
		const char *want_text;
	} cases[] = {
		{ "", "Rupa na putu u Ulici Maksima Gorkog 12.\r\n", NULL,
		  "Rupa na putu u Ulici Maksima Gorkog 12." },
		{ "", "Pukla cev kod \x9akole \xe8ika Jove.", NULL,
		  "Pukla cev kod škole čika Jove." },
		{ "", NULL, "Не ради улично светло у Улици Змај Јовиној 3.",
		  "Не ради улично светло у Улици Змај Јовиној 3." },
		{ "", "cp1250 tekst", "Ćirilica prednost: PR_BODY",
		  "Ćirilica prednost: PR_BODY" },
		{ "Moja poruka u samom mejlu.", "Tekst iz winmail.dat", NULL,
		  "Moja poruka u samom mejlu." },
		{ "", NULL, NULL, "" },
	};
	struct tn *t = xcalloc(1, sizeof(*t));

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		struct mime_message *m;
		char *raw;
		char want_sha[65];

		tn_start(t, 1250);
		if (cases[i].body != NULL)
			tn_attr(t, 1, A_BODY, cases[i].body, strlen(cases[i].body));
		if (cases[i].body_w != NULL) {
			struct tn *mp = xcalloc(1, sizeof(*mp));

			tn_u32(mp, 1);
			mapi_str(mp, PT_W, 0x1000, cases[i].body_w);
			tn_attr(t, 1, A_MAPIPROPS, mp->b, mp->n);
			free(mp);
		}
		tn_file(t, &photo);
		tn_file(t, &png_titled);
		raw = tnef_mail(cases[i].own, t->b, t->n);
		m = parse_both(raw, BIG);
		if (strcmp(m->text, cases[i].want_text) != 0)
			fail_msg("case %zu: text \"%s\", want \"%s\"", i, m->text,
			    cases[i].want_text);
		assert_null(m->parse_error);
		assert_int_equal(m->n_att, 2);
		assert_string_equal(m->att[0].filename, "slika ulice č.jpg");
		assert_string_equal(m->att[0].content_type, "image/jpeg");
		assert_int_equal(m->att[0].size, strlen(photo.data));
		assert_memory_equal(m->att[0].data, photo.data, strlen(photo.data));
		util_sha256_hex(photo.data, strlen(photo.data), want_sha);
		assert_string_equal(m->att[0].sha256, want_sha);
		assert_string_equal(m->att[1].filename, "rupa.png");
		assert_string_equal(m->att[1].content_type, "image/png");
		assert_memory_equal(m->att[1].data, png_titled.data, strlen(png_titled.data));
		mime_message_free(&m);
		free(raw);
	}
	free(t);
}

/* MS-OXRTFCP 3.1 example 1 (LZFu): "{\rtf1\ansi\ansicpg1252\pard hello world}\r\n". */
static const unsigned char lzfu_hello[] = {
	0x2d, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00, 0x00, 0x4c, 0x5a, 0x46, 0x75,
	0xf1, 0xc5, 0xc7, 0xa7, 0x03, 0x00, 0x0a, 0x00, 0x72, 0x63, 0x70, 0x67,
	0x31, 0x32, 0x35, 0x42, 0x32, 0x0a, 0xf3, 0x20, 0x68, 0x65, 0x6c, 0x09,
	0x00, 0x20, 0x62, 0x77, 0x05, 0xb0, 0x6c, 0x64, 0x7d, 0x0a, 0x80, 0x0f,
	0xa0,
};

/* PR_RTF_COMPRESSED (PT_BINARY) holding rtf as an uncompressed "MELA"
 * stream, or the bytes of lzfu[0..lzfu_len) when lzfu is given. */
static void
mapi_rtf(struct tn *m, const char *rtf, const unsigned char *lzfu, size_t lzfu_len)
{
	size_t n = lzfu != NULL ? lzfu_len : 16 + strlen(rtf);

	tn_u32(m, 0x1009u << 16 | 0x0102u);
	tn_u32(m, 1);
	tn_u32(m, (uint32_t)n);
	if (lzfu != NULL) {
		tn_bytes(m, lzfu, lzfu_len);
	} else {
		tn_u32(m, (uint32_t)(n - 4));
		tn_u32(m, (uint32_t)strlen(rtf));
		tn_u32(m, 0x414c454du);
		tn_u32(m, 0);
		tn_bytes(m, rtf, strlen(rtf));
	}
	while (n++ % 4)
		tn_u8(m, 0);
}

/* Outlook in RTF mode: the words only in the compressed RTF body.  They
 * are the report's text when neither the mail, attBody nor PR_BODY has
 * any; code pages and \u escapes come out as UTF-8. */
static void
test_tnef_rtf_body(void **state)
{
	static unsigned char bad_crc[sizeof(lzfu_hello)];
	static const struct {
		const char *own;          /* the mail's text/plain */
		const char *body;         /* attBody or NULL */
		const char *body_w;       /* PR_BODY (PT_UNICODE) or NULL */
		const char *rtf;          /* as MELA, or NULL */
		const unsigned char *lzfu;
		size_t lzfu_len;
		int files;                /* the photo inside too */
		const char *want_text;
		const char *want_error;   /* parse_error, or NULL */
	} cases[] = {
		{ "", NULL, NULL,
		  "{\\rtf1\\ansi\\ansicpg1250\\deff0{\\fonttbl{\\f0\\fswiss\\fcharset238 Arial;}}"
		  "\\pard\\f0\\fs20 Pukla cev kod \\'9akole \\'e8ika Jove.\\par\r\nHvala\\par\r\n}",
		  NULL, 0, 1, "Pukla cev kod škole čika Jove.\nHvala", NULL },
		{ "", NULL, NULL,
		  "{\\rtf1\\ansi\\ansicpg1251{\\fonttbl{\\f0\\fnil\\fcharset204 Arial;}}\\f0 "
		  "\\'cd\\'e5 \\'f0\\'e0\\'e4\\'e8 \\'f1\\'e2\\'e5\\'f2\\'eb\\'ee.\\par}",
		  NULL, 0, 0, "Не ради светло.", NULL },
		{ "", NULL, NULL,
		  "{\\rtf1\\ansi\\ansicpg1252\\uc1 \\u1032?\\u1072?\\u1084?\\u1072? u \\u1059?\\u1083?\\u1080?\\u1094?\\u1080?}",
		  NULL, 0, 1, "Јама u Улици", NULL },
		{ "", NULL, NULL, NULL, lzfu_hello, sizeof(lzfu_hello), 1, "hello world", NULL },
		{ "", NULL, NULL,
		  "{\\rtf1\\ansi\\ansicpg1250\\fromhtml1 \\deff0{\\fonttbl{\\f0\\fswiss\\fcharset238 Arial;}}"
		  "{\\*\\htmltag19 <html>}{\\*\\htmltag50 <body>}\\htmlrtf \\f0 \\htmlrtf0 "
		  "{\\*\\htmltag64 <p>}\\htmlrtf {\\htmlrtf0 Sme\\'e6e na \\'9aetali\\'9atu\\htmlrtf }\\htmlrtf0 "
		  "{\\*\\htmltag72 </p>}\\htmlrtf \\par\r\n\\htmlrtf0 "
		  "{\\*\\htmltag64 <p>}\\htmlrtf {\\htmlrtf0 Mira\\htmlrtf }\\htmlrtf0 "
		  "{\\*\\htmltag72 </p>}{\\*\\htmltag58 </body>}{\\*\\htmltag27 </html>}}",
		  NULL, 0, 1, "Smeće na šetalištu\nMira", NULL },
		/* the plain bodies win when they have words */
		{ "", NULL, "Tekst iz PR_BODY", "{\\rtf1 RTF tekst}", NULL, 0, 1,
		  "Tekst iz PR_BODY", NULL },
		{ "", "attBody tekst", NULL, "{\\rtf1 RTF tekst}", NULL, 0, 1,
		  "attBody tekst", NULL },
		{ "", " \r\n", NULL, "{\\rtf1 RTF tekst}", NULL, 0, 1, "RTF tekst", NULL },
		{ "Moja poruka.", NULL, NULL, "{\\rtf1 RTF tekst}", NULL, 0, 1, "Moja poruka.", NULL },
		/* RTF without words, and a stream that does not decompress */
		{ "", NULL, NULL, "{\\rtf1{\\fonttbl{\\f0 Arial;}}\\par}", NULL, 0, 1, "", NULL },
		{ "", NULL, NULL, NULL, bad_crc, sizeof(bad_crc), 1, "",
		  "winmail.dat: compressed RTF CRC mismatch" },
	};
	struct tn *t = xcalloc(1, sizeof(*t));

	(void)state;
	memcpy(bad_crc, lzfu_hello, sizeof(bad_crc));
	bad_crc[40] ^= 0x20;
	for (size_t i = 0; i < N(cases); i++) {
		struct tn *mp = xcalloc(1, sizeof(*mp));
		struct mime_message *m;
		char *raw;

		tn_start(t, 1250);
		if (cases[i].body != NULL)
			tn_attr(t, 1, A_BODY, cases[i].body, strlen(cases[i].body));
		tn_u32(mp, 1 + (cases[i].body_w != NULL));
		if (cases[i].body_w != NULL)
			mapi_str(mp, PT_W, 0x1000, cases[i].body_w);
		mapi_rtf(mp, cases[i].rtf, cases[i].lzfu, cases[i].lzfu_len);
		tn_attr(t, 1, A_MAPIPROPS, mp->b, mp->n);
		free(mp);
		if (cases[i].files)
			tn_file(t, &photo);
		raw = tnef_mail(cases[i].own, t->b, t->n);
		m = parse_both(raw, BIG);
		if (strcmp(m->text, cases[i].want_text) != 0)
			fail_msg("case %zu: text \"%s\", want \"%s\"", i, m->text,
			    cases[i].want_text);
		if (cases[i].want_error == NULL)
			assert_null(m->parse_error);
		else
			assert_string_equal(m->parse_error, cases[i].want_error);
		if (cases[i].files) {
			assert_int_equal(m->n_att, 1);
			assert_string_equal(m->att[0].filename, "slika ulice č.jpg");
		} else {
			/* the text alone: the winmail.dat is not kept */
			assert_int_equal(m->n_att, 0);
		}
		mime_message_free(&m);
		free(raw);
	}
	free(t);
}

/* An HTML part that renders to nothing: the text is the winmail.dat's,
 * and not marked as coming from HTML. */
static void
test_tnef_text_after_empty_html(void **state)
{
	struct tn *t = xcalloc(1, sizeof(*t));
	struct mime_message *m;
	gchar *b64;
	char *raw;

	(void)state;
	tn_start(t, 1250);
	tn_attr(t, 1, A_BODY, "Ne radi semafor.", 16);
	tn_file(t, &photo);
	b64 = g_base64_encode(t->b, t->n);
	raw = xasprintf("From: a@b.rs\nSubject: f\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=z\n\n--z\nContent-Type: text/html\n\n"
	    "<div><br></div>\n--z\nContent-Type: application/ms-tnef\n"
	    "Content-Transfer-Encoding: base64\n\n%s\n--z--\n", b64);
	m = parse_both(raw, BIG);
	assert_string_equal(m->text, "Ne radi semafor.");
	assert_int_equal(m->text_from_html, 0);
	assert_int_equal(m->n_att, 1);
	mime_message_free(&m);
	free(raw);
	g_free(b64);
	free(t);
}

/* Names and types of the files inside: long name before the 8.3 title,
 * paths dropped, MIME tag before the extension, an extension for an
 * unnamed file. */
static void
test_tnef_names(void **state)
{
	static const struct {
		struct tfile f;
		const char *want_name;
		const char *want_type;
	} cases[] = {
		{ { "dugačko ime.pdf", "DUGACK~1.PDF", NULL, "%PDF" }, "dugačko ime.pdf",
		  "application/pdf" },
		{ { NULL, "C:\\Temp\\RUPA.JPG", NULL, "x" }, "RUPA.JPG", "image/jpeg" },
		{ { NULL, "\x9A" "aht.jpg", NULL, "x" }, "šaht.jpg", "image/jpeg" },
		{ { "../../etc/passwd", NULL, "text/plain", "x" }, "passwd", "text/plain" },
		{ { "foto.bin", NULL, "IMAGE/PNG; x=y", "x" }, "foto.bin", "image/png" },
		{ { "foto.xyz", NULL, "not a type", "x" }, "foto.xyz",
		  "application/octet-stream" },
		{ { NULL, NULL, "image/png", "x" }, "attachment-1.png", "image/png" },
		{ { NULL, NULL, NULL, "x" }, "attachment-1", "application/octet-stream" },
	};
	struct tn *t = xcalloc(1, sizeof(*t));

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		struct mime_message *m;
		char *raw;

		tn_start(t, 1250);
		tn_file(t, &cases[i].f);
		raw = tnef_mail("tekst", t->b, t->n);
		m = parse_both(raw, BIG);
		assert_int_equal(m->n_att, 1);
		if (strcmp(m->att[0].filename, cases[i].want_name) != 0 ||
		    strcmp(m->att[0].content_type, cases[i].want_type) != 0)
			fail_msg("case %zu: \"%s\" %s, want \"%s\" %s", i, m->att[0].filename,
			    m->att[0].content_type, cases[i].want_name, cases[i].want_type);
		assert_string_equal(m->text, "tekst");
		mime_message_free(&m);
		free(raw);
	}
	free(t);
}

/* The attachment budget applies to the files inside as to any other. */
static void
test_tnef_budget(void **state)
{
	static const struct tfile big = { "velika.jpg", NULL, NULL,
		"0123456789012345678901234567890123456789" };
	struct tn *t = xcalloc(1, sizeof(*t));
	struct mime_message *m;
	char *raw;

	(void)state;
	tn_start(t, 1250);
	tn_file(t, &png_titled);
	tn_file(t, &big);
	raw = tnef_mail("tekst", t->b, t->n);
	m = parse_both(raw, strlen(png_titled.data) + 10);
	assert_int_equal(m->n_att, 2);
	assert_int_equal(m->att[0].omitted, 0);
	assert_non_null(m->att[0].data);
	assert_string_equal(m->att[1].filename, "velika.jpg");
	assert_int_equal(m->att[1].omitted, 1);
	assert_null(m->att[1].data);
	assert_int_equal(m->att[1].size, strlen(big.data));
	mime_message_free(&m);
	free(raw);
	free(t);
}

enum damage {
	D_TRUNCATE, D_CHECKSUM, D_SIZE_HUGE, D_SIZE_PAST, D_SIZE_ZERO, D_REPEAT_DATA,
	D_REPEAT_BODY, D_SHORT_VERSION, D_SIGNATURE, D_TOO_MANY, D_ONLY_SIG, D_EMPTY,
	D_LONG_VERSION, D_SENT_FOR, D_RECIP_SHORT, D_MAPI_COUNT, D_MAPI_EMPTY, D_MAPI_TYPE, D_MAPI_TRAILING,
	D_MAPI_SHORT, D_MAPI_NAME, D_MAPI_MV,
};

/* A MAPI block for an attAttachment of a fresh attachment. */
static void
tn_bad_mapi(struct tn *t, enum damage d)
{
	static const unsigned char rend[14] = { 1, 0, 0xff, 0xff, 0xff, 0xff };
	struct tn *m = xcalloc(1, sizeof(*m));

	switch (d) {
	case D_MAPI_COUNT:          /* more properties than libytnef takes */
		tn_u32(m, 5000);
		tn_u32(m, 0x3705u << 16 | PT_L);
		tn_u32(m, 1);
		break;
	case D_MAPI_EMPTY:          /* no property at all */
		tn_u32(m, 0);
		break;
	case D_MAPI_TYPE:           /* a property type it does not know */
		tn_u32(m, 1);
		tn_u32(m, 0x3705u << 16 | 0x0077);
		tn_u32(m, 1);
		break;
	case D_MAPI_TRAILING:       /* bytes after the last property */
		tn_u32(m, 1);
		tn_u32(m, 0x3705u << 16 | PT_L);
		tn_u32(m, 1);
		tn_u32(m, 0);
		break;
	case D_MAPI_SHORT:          /* a string longer than the block */
		tn_u32(m, 1);
		tn_u32(m, 0x3707u << 16 | PT_S8);
		tn_u32(m, 1);
		tn_u32(m, 4000);
		tn_bytes(m, "abcd", 4);
		break;
	case D_MAPI_NAME:           /* a named property with a 4 GB name count */
		tn_u32(m, 1);
		tn_u32(m, 0x8001u << 16 | PT_L);
		tn_bytes(m, "0123456789abcdef", 16);
		tn_u32(m, 0x40000000u);
		break;
	default:                    /* D_MAPI_MV: multi-valued, no values */
		tn_u32(m, 1);
		tn_u32(m, 0x3707u << 16 | (0x1000 | PT_S8));
		tn_u32(m, 0);
		break;
	}
	tn_attr(t, 2, A_RENDDATA, rend, sizeof(rend));
	tn_attr(t, 2, A_ATTMAPI, m->b, m->n);
	free(m);
}

/* What mime_parse wrote to stdout meanwhile (libytnef prints its errors
 * there); caller frees. */
static char *
parse_quiet(const char *raw, struct mime_message **m_r)
{
	char path[] = "/tmp/s48-tnef-stdout-XXXXXX";
	int fd = mkstemp(path), saved;
	char *out = NULL;
	size_t len;
	const char *err;

	assert_true(fd >= 0);
	fflush(stdout);
	saved = dup(1);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, 1), 1);
	*m_r = parse_both(raw, BIG);
	fflush(stdout);
	assert_int_equal(dup2(saved, 1), 1);
	close(saved);
	close(fd);
	if (util_read_file(path, 1 << 20, &out, &len, &err) < 0)
		fail_msg("%s", err);
	unlink(path);
	return out;
}

/* A stream damaged as an attacker or a broken client would: the
 * winmail.dat stays one attachment, byte for byte, and nothing crashes,
 * leaks or allocates the declared sizes. */
static void
test_tnef_hostile(void **state)
{
	static const struct {
		enum damage d;
		const char *what;
	} cases[] = {
		{ D_TRUNCATE, "cut in an attribute" },
		{ D_CHECKSUM, "checksum wrong" },
		{ D_SIZE_HUGE, "size 0xF0000000" },
		{ D_SIZE_PAST, "size one past the end" },
		{ D_SIZE_ZERO, "size 0" },
		{ D_REPEAT_DATA, "attAttachData twice in one attachment" },
		{ D_REPEAT_BODY, "attBody twice" },
		{ D_SHORT_VERSION, "attTnefVersion of 2 bytes" },
		{ D_SIGNATURE, "not a TNEF signature" },
		{ D_TOO_MANY, "more attachments than MIME_MAX_PARTS" },
		{ D_ONLY_SIG, "signature and key only" },
		{ D_EMPTY, "two bytes" },
		{ D_LONG_VERSION, "attTnefVersion of 6 bytes" },
		{ D_SENT_FOR, "attSentFor with a name past its end" },
		{ D_RECIP_SHORT, "attRecipTable of 2 bytes" },
		{ D_MAPI_COUNT, "MAPI: 5000 properties" },
		{ D_MAPI_EMPTY, "MAPI: 0 properties" },
		{ D_MAPI_TYPE, "MAPI: unknown property type" },
		{ D_MAPI_TRAILING, "MAPI: bytes after the last property" },
		{ D_MAPI_SHORT, "MAPI: a string past the block" },
		{ D_MAPI_NAME, "MAPI: 0x40000000 property names" },
		{ D_MAPI_MV, "MAPI: multi-valued with 0 values" },
	};
	struct tn *t = xcalloc(1, sizeof(*t));

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		struct mime_message *m;
		char *raw, *out;
		size_t at;

		tn_start(t, 1250);
		at = t->n;
		tn_file(t, &photo);
		switch (cases[i].d) {
		case D_TRUNCATE:
			t->n -= 7;
			break;
		case D_CHECKSUM:
			t->b[t->n - 1] ^= 0x55;
			break;
		case D_SIZE_HUGE:
			memcpy(t->b + at + 5, "\x00\x00\x00\xf0", 4);
			break;
		case D_SIZE_PAST:
			t->n = at;
			tn_u8(t, 2);
			tn_u32(t, A_DATA);
			tn_u32(t, 5);
			tn_bytes(t, "abcd", 4);
			tn_u16(t, 0);
			break;
		case D_SIZE_ZERO:
			t->n = at;
			tn_attr(t, 2, A_RENDDATA, "", 0);
			break;
		case D_REPEAT_DATA:
			tn_attr(t, 2, A_DATA, "again", 5);
			break;
		case D_REPEAT_BODY:
			tn_attr(t, 1, A_BODY, "one", 3);
			tn_attr(t, 1, A_BODY, "two", 3);
			break;
		case D_SHORT_VERSION:
			tn_attr(t, 1, A_VERSION, "\x01\x00", 2);
			break;
		case D_SIGNATURE:
			t->b[0] ^= 1;
			break;
		case D_TOO_MANY:
			for (int k = 0; k < MIME_MAX_PARTS; k++)
				tn_file(t, &png_titled);
			break;
		case D_ONLY_SIG:
			t->n = 6;
			break;
		case D_EMPTY:
			t->n = 2;
			break;
		case D_SENT_FOR:
			tn_attr(t, 1, 0x00060001u, "\x03\x00" "abc" "\x09\x00" "de", 9);
			break;
		case D_RECIP_SHORT:
			tn_attr(t, 1, 0x00069004u, "\x01\x00", 2);
			break;
		case D_LONG_VERSION:
			tn_attr(t, 1, A_VERSION, "\x00\x00\x01\x00\x00\x00", 6);
			break;
		default:
			tn_bad_mapi(t, cases[i].d);
			break;
		}
		raw = tnef_mail("tekst", t->b, t->n);
		out = parse_quiet(raw, &m);
		/* refused before libytnef saw it: nothing of its own printed */
		if (out[0] != '\0')
			fail_msg("case %zu (%s): stdout \"%s\"", i, cases[i].what, out);
		free(out);
		if (m->n_att != 1 || strcmp(m->att[0].filename, "winmail.dat") != 0)
			fail_msg("case %zu (%s): %zu attachments, the first \"%s\"", i,
			    cases[i].what, m->n_att, m->n_att ? m->att[0].filename : "");
		assert_string_equal(m->att[0].content_type, "application/ms-tnef");
		assert_int_equal(m->att[0].size, t->n);
		assert_memory_equal(m->att[0].data, t->b, t->n);
		assert_string_equal(m->text, "tekst");
		mime_message_free(&m);
		free(raw);
	}
	free(t);
}

/* Detection: by type, or by the name Outlook gives it under another type;
 * a decoded stream's files are not decoded again. */
static void
test_tnef_detection(void **state)
{
	static const struct {
		const char *ctype;
		const char *fname;
		int decoded;
	} cases[] = {
		{ "application/ms-tnef", "winmail.dat", 1 },
		{ "application/vnd.ms-tnef", "x.dat", 1 },
		{ "application/octet-stream", "WINMAIL.DAT", 1 },
		{ "application/octet-stream", "win.dat", 1 },
		{ "application/octet-stream", "podaci.dat", 0 },
	};
	struct tn *t = xcalloc(1, sizeof(*t));
	static const struct tfile inner = { "winmail.dat", NULL, "application/ms-tnef", "x" };

	(void)state;
	tn_start(t, 1250);
	tn_file(t, &photo);
	tn_file(t, &inner);
	for (size_t i = 0; i < N(cases); i++) {
		gchar *b64 = g_base64_encode(t->b, t->n);
		char *raw = xasprintf("From: a@b.rs\nSubject: f\nMIME-Version: 1.0\n"
		    "Content-Type: multipart/mixed; boundary=z\n\n--z\nContent-Type: text/plain\n\n"
		    "tekst\n--z\nContent-Type: %s\nContent-Disposition: attachment; "
		    "filename=\"%s\"\nContent-Transfer-Encoding: base64\n\n%s\n--z--\n",
		    cases[i].ctype, cases[i].fname, b64);
		struct mime_message *m = parse_both(raw, BIG);

		if (cases[i].decoded) {
			assert_int_equal(m->n_att, 2);
			assert_string_equal(m->att[0].filename, "slika ulice č.jpg");
			/* the inner one stays as it is */
			assert_string_equal(m->att[1].filename, "winmail.dat");
			assert_string_equal(m->att[1].content_type, "application/ms-tnef");
			assert_int_equal(m->att[1].size, 1);
		} else {
			assert_int_equal(m->n_att, 1);
			assert_string_equal(m->att[0].filename, cases[i].fname);
			assert_int_equal(m->att[0].size, t->n);
		}
		mime_message_free(&m);
		free(raw);
		g_free(b64);
	}
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unnamed_extension),
		cmocka_unit_test(test_unnamed_numbering),
		cmocka_unit_test(test_tnef_files_and_text),
		cmocka_unit_test(test_tnef_rtf_body),
		cmocka_unit_test(test_tnef_text_after_empty_html),
		cmocka_unit_test(test_tnef_names),
		cmocka_unit_test(test_tnef_budget),
		cmocka_unit_test(test_tnef_hostile),
		cmocka_unit_test(test_tnef_detection),
	};

	mime_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
