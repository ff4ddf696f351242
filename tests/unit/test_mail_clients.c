/* test_mail_clients.c - mail as phones and mail programs really send it
 * (tests/corpus/mail-clients/: iPhone, Gmail web and Android, Outlook,
 * Thunderbird, forwards, PGP and S/MIME signatures, a calendar invite, a
 * photo without text, replies quoting our acknowledgement), parsed as s48d
 * parses it: the ticket's subject and text word for word, the attachments,
 * the text an append keeps (mime_strip_quotes), the department the example
 * config routes a new report to, and the fast path agreeing with GMime.
 * Files attached inline by name (Apple Mail) are attachments, not text; an
 * opaque S/MIME signed mail (smime.p7m, made by openssl smime -sign
 * -nodetach) gives the text it signs.
 * Then format=flowed and reply-quoting cases as tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "mime.h"
#include "router.h"
#include "util.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct client_case {
	const char *file;
	const char *subject;
	const char *text;        /* the ticket's text, exactly */
	const char *stripped;    /* what an append to a ticket keeps */
	const char *atts;        /* "filename content/type|..." */
	const char *dept;        /* example config's department; NULL: a reply */
};

static const struct client_case cases[] = {
	{ "01-iphone-photo.eml", "Rupa",
	  "Rupa na putu u Ulici Maksima Gorkog kod broja 17, auto mi je upao u nju i pukla mi je guma. Molim vas da je zakrpite pre nego što neko strada.\n"
	    "\n"
	    "Pozdrav,\n"
	    "Milan\n"
	    "\n"
	    "\n"
	    "\n"
	    "Sent from my iPhone",
	  "Rupa na putu u Ulici Maksima Gorkog kod broja 17, auto mi je upao u nju i pukla mi je guma. Molim vas da je zakrpite pre nego što neko strada.\n"
	    "\n"
	    "Pozdrav,\n"
	    "Milan",
	  "IMG_4521.HEIC image/heic", "roads" },
	{ "02-iphone-photo-only.eml", "Kontejner",
	  "Sent from my iPhone",
	  "",
	  "image0.jpeg image/jpeg", "waste" },
	{ "03-gmail-inline.eml", "Ne gori ulična rasveta",
	  "Poštovani,\n"
	    "\n"
	    "u Ulici Vojvode Stepe od broja 10 do 30 ne gori nijedna svetiljka već tri\n"
	    "noći.\n"
	    "[image: IMG_20261123_221503.jpg]\n"
	    "\n"
	    "-- \n"
	    "Marko Petrović\n"
	    "Vojvode Stepe 22, Novi Sad\n"
	    "tel. 064 111 2233",
	  "Poštovani,\n"
	    "\n"
	    "u Ulici Vojvode Stepe od broja 10 do 30 ne gori nijedna svetiljka već tri\n"
	    "noći.\n"
	    "[image: IMG_20261123_221503.jpg]",
	  "IMG_20261123_221503.jpg image/jpeg", "lighting" },
	{ "04-outlook-html-1250.eml", "Pukla cev u Ulici Đorđa Natoševića",
	  "Poštovani,\n"
	    "\n"
	    "Obaveštavam vas da je u Ulici Đorđa Natoševića kod broja 5 pukla cev i voda teče niz ulicu od jutros.\n"
	    "\n"
	    "S poštovanjem,\n"
	    "Dušan Živković",
	  "Poštovani,\n"
	    "\n"
	    "Obaveštavam vas da je u Ulici Đorđa Natoševića kod broja 5 pukla cev i voda teče niz ulicu od jutros.\n"
	    "\n"
	    "S poštovanjem,\n"
	    "Dušan Živković",
	  "winmail.dat application/ms-tnef", "water" },
	{ "05-thunderbird-2231.eml", "Рупа на коловозу",
	  "Поштовани, у Улици Браће Рибникар код броја 12 на коловозу је велика ударна рупа, прилажем фотографију.\n"
	    "\n"
	    "-- \n"
	    "Весна Јовановић",
	  "Поштовани, у Улици Браће Рибникар код броја 12 на коловозу је велика ударна рупа, прилажем фотографију.",
	  "фотографија рупе.jpg image/jpeg", "roads" },
	{ "06-thunderbird-attachment-only.eml", "Smece kod pijace",
	  "",
	  "",
	  "smece.jpg image/jpeg", "waste" },
	{ "07-forward-attached-empty.eml", "Fwd: Psi lutalice u parku",
	  "---------- Prosleđena poruka ----------\n"
	    "Od: Komsija Pera <pera@example.rs>\n"
	    "Tema: Psi lutalice u parku\n"
	    "\n"
	    "Ana, možeš li da prijaviš gradu: u Dunavskom parku čopor od desetak pasa lutalica napada decu kod igrališta.",
	  "",
	  "Psi lutalice u parku.eml message/rfc822", "animals" },
	{ "08-gmail-forward-inline.eml", "Fwd: Kanalizacija",
	  "Prosleđujem, molim hitno.\n"
	    "\n"
	    "---------- Forwarded message ---------\n"
	    "From: Zorica Ilic <zorica@example.rs>\n"
	    "Date: Mon, Nov 23, 2026 at 8:00 PM\n"
	    "Subject: Kanalizacija\n"
	    "To: Ivan Ilic <ivan.ilic@gmail.com>\n"
	    "\n"
	    "\n"
	    "U podrumu zgrade u Bulevaru Evrope 12 se izlila kanalizacija.",
	  "Prosleđujem, molim hitno.",
	  "", "water" },
	{ "09-pgp-signed.eml", "Ne radi semafor",
	  "Semafor na raskrsnici Bulevara oslobođenja i Futoške ne radi od jutros.",
	  "Semafor na raskrsnici Bulevara oslobođenja i Futoške ne radi od jutros.",
	  "", "roads" },
	{ "10-smime-signed.eml", "Kontejner nije ispraznjen",
	  "Kontejner ispred zgrade u Ulici Modene 3 nije ispražnjen već deset dana.",
	  "Kontejner ispred zgrade u Ulici Modene 3 nije ispražnjen već deset dana.",
	  "", "waste" },
	{ "11-calendar-invite.eml", "Sastanak: kosenje trave u parku",
	  "Dogovor oko košenja trave u parku na Limanu.",
	  "Dogovor oko košenja trave u parku na Limanu.",
	  "attachment-1.ics text/calendar", "greenery" },
	{ "12-attachment-only.eml", "",
	  "",
	  "",
	  "DSC_0001.JPG image/jpeg", "dispatch" },
	{ "13-reply-gmail-android.eml", "Re: [S48 #7] Pukla cev",
	  "Voda i dalje curi, sada je poplavljen i podrum.\n"
	    "\n"
	    "uto, 24. nov 2026. 10:00 Sistem 48 <prijave@grad.example.rs> je\n"
	    "napisao/la:\n"
	    "\n"
	    "> Sistem 48: vaša prijava je primljena pod brojem 7 (Vodovod i kanalizacija).\n"
	    "> Odgovor do 26.11.2026. 10:00.",
	  "Voda i dalje curi, sada je poplavljen i podrum.",
	  "", NULL },
	{ "14-reply-outlook-html.eml", "RE: [S48 #8] Rupa na kolovozu",
	  "Rupa je sada još veća, juče je jedan automobil ostao bez točka.\n"
	    "\n"
	    "Od: Sistem 48 <prijave@grad.example.rs>\n"
	    "Poslato: utorak, 24. novembar 2026. 10:00\n"
	    "Za: Dušan Živković <dusan.zivkovic@firma.example.rs>\n"
	    "Tema: [S48 #8] Rupa na kolovozu\n"
	    "\n"
	    "Sistem 48: vaša prijava je primljena pod brojem 8.",
	  "Rupa je sada još veća, juče je jedan automobil ostao bez točka.",
	  "", NULL },
	{ "15-reply-outlook-izvorna.eml", "RE: [S48 #9] Kontejner nije ispraznjen",
	  "Kontejner je i dalje pun, a pored njega su sada i kese.\n"
	    "\n"
	    "-----Izvorna poruka-----\n"
	    "Od: Sistem 48 <prijave@grad.example.rs> \n"
	    "Poslato: 24. novembar 2026. 10:00\n"
	    "Za: sanja@firma.example.rs\n"
	    "Tema: [S48 #9] Kontejner nije ispraznjen\n"
	    "\n"
	    "Sistem 48: vaša prijava je primljena pod brojem 9.",
	  "Kontejner je i dalje pun, a pored njega su sada i kese.",
	  "", NULL },
	{ "16-reply-iphone.eml", "Re: [S48 #10] Rupa",
	  "Hvala, ali rupa je i dalje tu, a sada je još jedna nastala pored prve.\n"
	    "\n"
	    "Poslato sa mog iPhone-a\n"
	    "\n"
	    "> Dana 24. 11. 2026., u 10:00, Sistem 48 <prijave@grad.example.rs> je napisao/la:\n"
	    "> \n"
	    "> Sistem 48: vaša prijava je primljena pod brojem 10.",
	  "Hvala, ali rupa je i dalje tu, a sada je još jedna nastala pored prve.",
	  "", NULL },
	{ "17-reply-thunderbird-bottom.eml", "Re: [S48 #11] Рупа на коловозу",
	  "24.11.2026. 10:00, Sistem 48 је написао:\n"
	    "> Sistem 48: vaša prijava je primljena pod brojem 11.\n"
	    "> \n"
	    "\n"
	    "Рупа је и даље ту, а јуче је у њу упао бициклиста. Молим вас да реагујете.\n"
	    "\n"
	    "-- \n"
	    "Весна Јовановић",
	  "Рупа је и даље ту, а јуче је у њу упао бициклиста. Молим вас да реагујете.",
	  "", NULL },
	{ "18-apple-mail-inline-files.eml", "Racun za vodu",
	  "U prilogu su racun i zapisnik o kvaru na vodovodu.",
	  "U prilogu su racun i zapisnik o kvaru na vodovodu.",
	  "racun.html text/html|zapisnik.txt text/plain", "water" },
	{ "19-outlook-smime-opaque-signed.eml", "Palo drvo",
	  "Palo je drvo preko trotoara u Ulici Laze Kostića 4, ne može se proći.",
	  "Palo je drvo preko trotoara u Ulici Laze Kostića 4, ne može se proći.",
	  "", "greenery" },
	{ "20-smime-unreadable-p7m.eml", "Drvo",
	  "",
	  "",
	  "smime.p7m application/pkcs7-mime", "greenery" },
	{ "21-thunderbird-forward-signature.eml", "Fwd: Komsija",
	  "-- \n"
	    "Ana Kovač\n"
	    "MZ Liman 3\n"
	    "\n"
	    "---------- Prosleđena poruka ----------\n"
	    "Od: Komsija Pera <pera@example.rs>\n"
	    "Tema: Psi lutalice u parku\n"
	    "\n"
	    "Ana, možeš li da prijaviš gradu: u Dunavskom parku čopor od desetak pasa lutalica napada decu kod igrališta.",
	  "",
	  "Psi lutalice u parku.eml message/rfc822", "animals" },
};

static char *
read_case(const char *file, size_t *len_r)
{
	const char *top = getenv("S48_TOP");
	char path[1024];
	char *raw = NULL;
	const char *err = NULL;

	snprintf(path, sizeof(path), "%s/tests/corpus/mail-clients/%s", top ? top : ".", file);
	if (util_read_file(path, 16 << 20, &raw, len_r, &err) < 0)
		fail_msg("%s: %s", path, err);
	return raw;
}

static char *
att_list(const struct mime_message *m)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	for (size_t i = 0; i < m->n_att; i++)
		(void)buf_appendf(&b, "%s%s %s", i ? "|" : "", m->att[i].filename,
		    m->att[i].content_type);
	return buf_steal(&b, NULL);
}

static void
test_clients(void **state)
{
	const char *top = getenv("S48_TOP");
	char path[1024];
	struct s48_config *cfg = NULL;
	char *errors = NULL;
	struct router *rt;
	size_t bad = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/conf/s48.conf.example", top ? top : ".");
	if (config_load(path, 0, &cfg, &errors) != 0)
		fail_msg("%s: %s", path, errors);
	rt = router_new(cfg);
	mime_init();
	for (size_t i = 0; i < N(cases); i++) {
		const struct client_case *c = &cases[i];
		size_t len;
		char *raw = read_case(c->file, &len);
		struct mime_message *m = mime_parse((const unsigned char *)raw, len, 0, 10 << 20);
		struct mime_message *g = mime_parse_gmime((const unsigned char *)raw, len, 0, 10 << 20);
		struct mime_message *f = mime_parse_fast((const unsigned char *)raw, len, 0, 10 << 20);
		char *atts = att_list(m), *st = mime_strip_quotes(m->text);

		if (strcmp(m->subject, c->subject) != 0) {
			print_error("%s: subject [%s], want [%s]\n", c->file, m->subject, c->subject);
			bad++;
		}
		if (strcmp(m->text, c->text) != 0) {
			print_error("%s: text [%s], want [%s]\n", c->file, m->text, c->text);
			bad++;
		}
		if (strcmp(st, c->stripped) != 0) {
			print_error("%s: stripped [%s], want [%s]\n", c->file, st, c->stripped);
			bad++;
		}
		if (strcmp(atts, c->atts) != 0) {
			print_error("%s: attachments [%s], want [%s]\n", c->file, atts, c->atts);
			bad++;
		}
		if (m->auto_reason != NULL || m->from_addr == NULL) {
			print_error("%s: not a citizen's mail\n", c->file);
			bad++;
		}
		if (strcmp(g->text, m->text) != 0 || strcmp(g->subject, m->subject) != 0 ||
		    g->n_att != m->n_att) {
			print_error("%s: GMime path differs\n", c->file);
			bad++;
		}
		if (f != NULL && (strcmp(f->text, g->text) != 0 || f->n_att != g->n_att)) {
			print_error("%s: fast path differs from GMime\n", c->file);
			bad++;
		}
		if (c->dept != NULL) {
			struct router_result res;

			router_route(rt, m->subject, m->text, &res);
			if (strcmp(cfg->depts[res.dept].id, c->dept) != 0) {
				print_error("%s: routed to %s, want %s\n", c->file,
				    cfg->depts[res.dept].id, c->dept);
				bad++;
			}
			router_result_free(&res);
		}
		free(st);
		free(atts);
		mime_message_free(&m);
		mime_message_free(&g);
		mime_message_free(&f);
		free(raw);
	}
	router_free(&rt);
	config_free(&cfg);
	assert_int_equal(bad, 0);
}

/* format=flowed (RFC 3676) as iPhone Mail and Thunderbird send it, through
 * both paths: soft breaks joined, delsp, stuffing, quotes, "-- " kept. */
static void
test_flowed(void **state)
{
	static const struct {
		const char *ctype;
		const char *body;
		const char *want;
	} fl[] = {
		{ "text/plain; charset=utf-8; format=flowed", "Pukla cev u ulici \r\nNjegosevoj.\r\n",
		  "Pukla cev u ulici Njegosevoj." },
		{ "text/plain; charset=utf-8; format=flowed; delsp=yes",
		  "Pukla cev u ulici  \r\nNjegosevoj, voda  \r\ncuri.\r\n", "Pukla cev u ulici Njegosevoj, voda curi." },
		{ "text/plain; charset=utf-8; format=flowed; delsp=yes", "Kanali \r\nzacija\r\n",
		  "Kanalizacija" },
		{ "text/plain; charset=utf-8; format=flowed", " From the start\r\n >not a quote\r\n",
		  "From the start\n>not a quote" },
		{ "text/plain; charset=utf-8; format=flowed", "Jos \r\nuvek.\r\n\r\n-- \r\nMilan\r\n",
		  "Jos uvek.\n\n-- \nMilan" },
		{ "text/plain; charset=utf-8; format=flowed", "Da.\r\n> Prijava je \r\n> primljena.\r\n>> staro \r\nnovo\r\n",
		  "Da.\n> Prijava je primljena.\n>> staro \nnovo" },
		{ "text/plain; charset=utf-8; format=fixed", "Pukla cev \r\nu ulici\r\n",
		  "Pukla cev \nu ulici" },
		{ "text/plain; charset=utf-8", "Pukla cev \r\nu ulici\r\n", "Pukla cev \nu ulici" },
		{ "text/plain; charset=windows-1250; format=flowed", "Sme\xe6" "e \r\nkod pijace\r\n",
		  "Smeće kod pijace" },
		{ "text/html; charset=utf-8; format=flowed", "<p>Pukla \r\ncev</p>\r\n", "Pukla cev" },
	};

	(void)state;
	for (size_t i = 0; i < N(fl); i++) {
		char *raw = xasprintf("From: a@example.rs\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
		    "Content-Type: %s\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%s", fl[i].ctype, fl[i].body);
		struct mime_message *g = mime_parse_gmime((unsigned char *)raw, strlen(raw), 0, 1 << 20);
		struct mime_message *f = mime_parse_fast((unsigned char *)raw, strlen(raw), 0, 1 << 20);

		if (strcmp(g->text, fl[i].want) != 0)
			fail_msg("flowed case %zu: [%s], want [%s]", i, g->text, fl[i].want);
		if (f != NULL && strcmp(f->text, fl[i].want) != 0)
			fail_msg("flowed case %zu, fast path: [%s], want [%s]", i, f->text, fl[i].want);
		mime_message_free(&g);
		mime_message_free(&f);
		free(raw);
	}
}

/* Replies as mail programs quote our acknowledgement: only the citizen's
 * words remain; ordinary text that resembles the markers stays. */
static void
test_reply_quotes(void **state)
{
	static const struct {
		const char *in;
		const char *want;
	} q[] = {
		{ "I dalje curi.\n\n-----Izvorna poruka-----\nOd: Sistem 48 <p@g.rs>\nPoslato: 24. 11. 2026.\n\nPrijava\n", "I dalje curi." },
		{ "I dalje curi.\n-----Izvorna poruka-----\nPrijava br. 5\n", "I dalje curi." },
		{ "Jos uvek.\n\n---------- Прослеђена порука ---------\nОд: Sistem 48\n", "Jos uvek." },
		{ "Evo slike.\n\nBegin forwarded message:\n\nFrom: Sistem 48\n", "Evo slike." },
		{ "Evo slike.\n\nPočetak prosleđene poruke:\n\nOd: Sistem 48\n", "Evo slike." },
		{ "Ok.\n\nŠalje: Sistem 48 <p@g.rs>\nPoslano: utorak, 24. studenoga 2026.\nPrima: x\n", "Ok." },
		{ "Hvala.\n\nSent from my iPhone\n\n> On 24 Nov 2026, at 10:00, Sistem 48 <p@g.rs> wrote:\n> Prijava\n", "Hvala." },
		{ "Hvala.\n\nPoslato sa mog iPhone-a\n", "Hvala." },
		{ "Hvala.\nПослато са мог iPhone-а\n", "Hvala." },
		{ "Hvala.\nPoslato sa mog Samsung Galaxy pametnog telefona.\n", "Hvala." },
		{ "Hvala.\n\nGet Outlook for Android\n", "Hvala." },
		/* an answer below the quote (bottom-posting) */
		{ "Dana 24.11.2026. u 10:00, Sistem 48 je napisao:\n> Prijava br. 5 primljena.\n\nI dalje curi.\n\n-- \nMilan\n", "I dalje curi." },
		{ "On Tue, 24 Nov 2026 at 10:00 Sistem 48 <\np@g.rs> wrote:\n> Prijava\n\nNiko nije dosao.\n", "Niko nije dosao." },
		/* our text quoted without marks under an attribution: nothing is the citizen's */
		{ "On Tue, Sistem 48 wrote:\nPrijava br. 5 primljena.\n", "" },
		/* look-alikes that are the citizen's own words */
		{ "Sent from the office: the pipe still leaks.\n", "Sent from the office: the pipe still leaks." },
		{ "Poslato sa adrese moje majke, ona nema vode.\n", "Poslato sa adrese moje majke, ona nema vode." },
		{ "-- pukla cev --\nvoda curi\n", "-- pukla cev --\nvoda curi" },
		{ "Poruka:\nnema vode\n", "Poruka:\nnema vode" },
	};

	(void)state;
	for (size_t i = 0; i < N(q); i++) {
		char *t = mime_strip_quotes(q[i].in);
		if (strcmp(t, q[i].want) != 0)
			fail_msg("quote case %zu: [%s], want [%s]", i, t, q[i].want);
		free(t);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clients),
		cmocka_unit_test(test_flowed),
		cmocka_unit_test(test_reply_quotes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
