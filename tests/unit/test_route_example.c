/* test_route_example.c - routing quality of conf/s48.conf.example (SPEC
 * section 4): short reports as citizens write them (Latin with and without
 * diacritics, Ijekavian, Cyrillic, inflected forms, typos) and the
 * department each belongs to.  Operators copy the example, so its keywords
 * must send obvious reports to the right place; every miss is listed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "router.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct report {
	const char *dept;        /* the department that should get it */
	const char *text;
};

static const struct report reports[] = {
	{ "lighting", "ne gori sijalica" },
	{ "lighting", "Ne gori svetlo u ulici Njegoševoj" },
	{ "lighting", "ne radi ulicna rasveta kod skole" },
	{ "lighting", "Не ради улична расвета у нашој улици" },
	{ "lighting", "ne svetle lampe u parku vec nedelju dana" },
	{ "lighting", "mrak u ulici, pregorela sijalica na banderi" },
	{ "lighting", "Lampa na banderi trepće celu noć" },
	{ "lighting", "ne radi javna rasvjeta u naselju" },
	{ "lighting", "Не гори светло на бандери испред зграде 12" },
	{ "lighting", "svetlo na banderi ne radi" },
	{ "lighting", "ulicna svetla ne rade od juce" },
	{ "lighting", "pregorela sijalica ispred ulaza" },
	{ "lighting", "cela ulica u mraku" },
	{ "lighting", "svetiljka visi sa bandere" },
	{ "water", "нема воде" },
	{ "water", "nema vode od jutros" },
	{ "water", "pukla cev u ulici" },
	{ "water", "pukla cijev ispred zgrade" },
	{ "water", "Pukla je cev, voda curi na ulicu" },
	{ "water", "izlila se kanalizacija u dvoristu" },
	{ "water", "Излила се канализација у дворишту" },
	{ "water", "curi voda iz šahte" },
	{ "water", "zapušen slivnik, poplavljena ulica" },
	{ "water", "slab pritisak vode na trecem spratu" },
	{ "water", "voda je mutna i smrdi na hlor" },
	{ "water", "Пукла цев на углу" },
	{ "water", "teče voda iz hidranta" },
	{ "water", "voda izbija iz asfalta" },
	{ "water", "zacepljena kanalizacija, smrdi cela ulica" },
	{ "water", "nemamo vodu vec dva dana" },
	{ "water", "пукла цијев у Ђуре Ђаковића" },
	{ "water", "поплава у подруму од кише" },
	{ "waste", "kanta za smece je puna" },
	{ "waste", "kanta za smeće je puna" },
	{ "waste", "Контејнер није испражњен већ недељу дана" },
	{ "waste", "kontejneri puni, smeće oko njih" },
	{ "waste", "nije odneto smece vec dve nedelje" },
	{ "waste", "divlja deponija pored reke" },
	{ "waste", "neko je bacio sut i djubre na livadu" },
	{ "waste", "Смеће се не одвози" },
	{ "waste", "pun kontejner kod pijace" },
	{ "waste", "kese sa smecem na trotoaru" },
	{ "waste", "nije odnešeno đubre" },
	{ "waste", "ђубре није однето" },
	{ "waste", "Kontenjer pun" },
	{ "roads", "rupa na putu" },
	{ "roads", "Рупа на путу" },
	{ "roads", "velika udarna rupa na kolovozu" },
	{ "roads", "rupe u asfaltu u ulici Cara Dušana" },
	{ "roads", "oštećen trotoar ispred škole" },
	{ "roads", "ne radi semafor na raskrsnici" },
	{ "roads", "pao saobracajni znak" },
	{ "roads", "šaht bez poklopca na sred ulice" },
	{ "roads", "propao asfalt kod mosta" },
	{ "roads", "Не ради семафор" },
	{ "roads", "udarne rupe posle zime" },
	{ "roads", "Ulegnuće na kolovozu" },
	{ "roads", "polomljen ivičnjak" },
	{ "greenery", "palo drvo na auto" },
	{ "greenery", "Пало дрво на ауто" },
	{ "greenery", "grana pala na trotoar" },
	{ "greenery", "treba pokositi travu u parku" },
	{ "greenery", "trava visoka u parku" },
	{ "greenery", "suvo stablo preti da padne" },
	{ "greenery", "grane zaklanjaju semafor" },
	{ "greenery", "орезати гране дрвећа" },
	{ "greenery", "nepokosena trava kod igralista" },
	{ "greenery", "drvece treba orezati" },
	{ "animals", "psi lutalice" },
	{ "animals", "Пси луталице у парку" },
	{ "animals", "čopor pasa lutalica napada decu" },
	{ "animals", "ujeo me pas u parku" },
	{ "animals", "uginula macka na ulici" },
	{ "animals", "pacovi u podrumu zgrade" },
	{ "animals", "komarci, molimo zaprasivanje" },
	{ "animals", "lutalica ujela dete" },
	{ "animals", "мртав пас на путу" },
	{ "animals", "uginuo pas na putu" },
	{ "animals", "pas lutalica ispred skole" },
	{ "lighting", "ne radi svjetlo u ulici" },
	{ "lighting", "ne svijetli lampa ispred zgrade" },
	{ "lighting", "ulična rasvjeta ne radi" },
	{ "lighting", "upaljena svetla po danu, gori rasveta ceo dan" },
	{ "lighting", "Пала бандера на тротоар" },
	{ "lighting", "ne gori ni jedna sijalca u ulici" },
	{ "lighting", "ne radi svetiljka na banderi br 23" },
	{ "waste", "Nije odnesen otpad" },
	{ "waste", "kante se ne prazne" },
	{ "waste", "prepun kontejner, smrdi" },
	{ "waste", "nisu odneli smece" },
	{ "waste", "dubre nije odneto vec 10 dana" },
	{ "waste", "neko ostavio krupni otpad pored kontejnera" },
	{ "waste", "kontejner zapaljen" },
	{ "waste", "smeće razbacano svuda" },
	{ "waste", "пуни контејнери" },
	{ "roads", "rupa na sred puta" },
	{ "roads", "veliki rupetina na kolovozu" },
	{ "roads", "oštećen kolovoz" },
	{ "roads", "Ударна рупа" },
	{ "roads", "udarna rupa u ul. Kralja Petra" },
	{ "roads", "razbijen asfalt" },
	{ "roads", "srušen saobraćajni znak" },
	{ "roads", "semafor ne radi na raskrsnici kod pošte" },
	{ "roads", "Poklopac šahta je pomeren" },
	{ "greenery", "palo stablo preko puta" },
	{ "greenery", "Пала грана на пут" },
	{ "greenery", "suva grana visi iznad trotoara" },
	{ "greenery", "pokositi travu u parku" },
	{ "greenery", "orezati drveće u ulici" },
	{ "greenery", "izgorela trava" },
	{ "greenery", "drvo se naginje na kucu" },
	{ "greenery", "uklonite palo drvo sa puta" },
	{ "animals", "lutalice u naselju" },
	{ "animals", "napali su me psi" },
	{ "animals", "uginula ptica" },
	{ "animals", "pacov u dvoristu" },
	{ "animals", "mnogo komaraca" },
	{ "animals", "пас ме ујео" },
	{ "animals", "kuče bez vlasnika" },
	{ "animals", "Псима луталицама нико не брине" },
	{ "water", "нема воде у згради" },
	{ "water", "bez vode smo" },
	{ "water", "pukao vodovod" },
	{ "water", "curi cev" },
	{ "water", "puknuta cev u podrumu" },
	{ "water", "kvar na vodovodu" },
	{ "water", "vode nema od 8 h" },
	{ "water", "Kanalizacija se izliva" },
	{ "water", "začepljena kanalizacija" },
	{ "water", "izlivanje fekalija" },
	{ "water", "otvoren hidrant" },
	{ "water", "šahta bez poklopca, izlazi voda" },
	{ "roads", "semafor ne radi, ne gori zeleno svetlo" },
	{ "roads", "ne radi semafor, stalno crveno svetlo" },
	{ "waste", "kanta za smeće prepuna kod parka" },
	{ "water", "slivnik zapušen lišćem" },
	{ "water", "pukla cev kod semafora" },
	{ "lighting", "mračno u parku, ne rade lampe" },
	{ "lighting", "potpuni mrak na raskrsnici" },
	{ "water", "problem sa vodom u celoj ulici" },
	{ "water", "ulica je pod vodom posle kiše" },
	{ "water", "curi česma u parku" },
	{ "water", "puklo nešto u šahti, teče voda" },
	{ "lighting", "nema osvetljenja u ulici" },
	{ "lighting", "Нема осветљења у улици" },
	{ "lighting", "slabo osvjetljenje kod škole" },
	{ "lighting", "ne radi reflektor na igralištu" },
	{ "roads", "otvoren šaht na sred ulice" },
	{ "roads", "nije očišćen sneg sa kolovoza" },
	{ "roads", "poledica na trotoaru, ljudi padaju" },
	{ "roads", "udarne rupe na mostu" },
	{ "roads", "oštećen pešački prelaz" },
	{ "roads", "polomljen ležeći policajac" },
	{ "roads", "velike rupe, auto mi je upao u rupu" },
	{ "roads", "put pun rupa" },
	{ "animals", "uginuo pas na putu" },
	{ "animals", "mrtva mačka ispred zgrade" },
	{ "animals", "zmija u dvorištu vrtića" },
	{ "animals", "golubovi u potkrovlju" },
	{ "animals", "uginula životinja pored puta" },
	{ "animals", "psima niko ne daje hranu" },
	{ "greenery", "ambrozija na praznom placu" },
	{ "greenery", "korov visok metar" },
	{ "greenery", "treba orezati živicu" },
	{ "greenery", "drvo se nagnulo nad ulicu" },
	{ "greenery", "grana visi nad dečijim igralištem" },
	{ "waste", "đubre po ulici" },
	{ "waste", "djubre na ulici" },
	{ "waste", "niko ne odnosi smeće" },
	{ "waste", "prevrnut kontejner" },
	{ "water", "Nemamo vode od jutros u celom naselju" },
	{ "water", "prska voda iz zemlje kod ugla" },
	{ "water", "смрди канализација из сливника" },
	{ "water", "poplavljen podrum, izlila se voda iz cevi" },
	{ "water", "curenje vode na trotoaru ispred zgrade 5" },
	{ "water", "vodovodna cev pukla kod skole" },
	{ "water", "nema pritiska vode na spratu" },
	{ "water", "hidrant otvoren i voda tece" },
	{ "lighting", "ne gori lampa kod autobuske" },
	{ "lighting", "u nasoj ulici nema svetla vec mesec dana" },
	{ "lighting", "трепери сијалица на стубу" },
	{ "lighting", "rasveta gori i danju" },
	{ "lighting", "pala svetiljka sa bandere" },
	{ "lighting", "mracno je kod parkinga, nema rasvete" },
	{ "waste", "nisu ispraznili kontejnere" },
	{ "waste", "smrdi smece iz kontejnera" },
	{ "waste", "đubre pored puta, neko baca otpad" },
	{ "waste", "контејнер је пун и смрди" },
	{ "waste", "neko je bacio stari namestaj pored kontejnera" },
	{ "waste", "kesa sa otpadom na ulici" },
	{ "roads", "rupčaga na putu kod pumpe" },
	{ "roads", "asfalt propao posle radova" },
	{ "roads", "semafor trepce zuto ceo dan" },
	{ "roads", "srusen znak stop na raskrsnici" },
	{ "roads", "oštećen ivičnjak i trotoar" },
	{ "roads", "на коловозу је велика рупа" },
	{ "greenery", "drvo pada na kucu" },
	{ "greenery", "grana preti da padne na decu" },
	{ "greenery", "trava nije košena mesecima" },
	{ "greenery", "osušeno stablo u parku" },
	{ "greenery", "treba orezati grane koje zaklanjaju znak" },
	{ "animals", "pas lutalica ujeo dete" },
	{ "animals", "uginuo jez na ulici" },
	{ "animals", "glodari u podrumu" },
	{ "animals", "čopor pasa na livadi" },
	{ "animals", "lutajući psi ispred škole" },
	{ "animals", "macke u podrumu zgrade" },
};

static struct s48_config *
load_example(void)
{
	const char *top = getenv("S48_TOP");
	char path[1024];
	struct s48_config *cfg = NULL;
	char *errors = NULL;

	snprintf(path, sizeof(path), "%s/conf/s48.conf.example", top ? top : ".");
	if (config_load(path, 0, &cfg, &errors) != 0)
		fail_msg("%s: %s", path, errors);
	return cfg;
}

/* Every report as an SMS (no subject) and as an email whose subject is the
 * text (subject weighting must not change the winner of a one-line report). */
static void
test_example_routes_reports(void **state)
{
	struct s48_config *cfg = load_example();
	struct router *r = router_new(cfg);
	size_t i, miss = 0;

	(void)state;
	assert_true(N(reports) >= 60);
	for (i = 0; i < N(reports); i++) {
		struct router_result res;
		const char *got, *got_mail;

		router_route(r, NULL, reports[i].text, &res);
		got = cfg->depts[res.dept].id;
		router_result_free(&res);
		router_route(r, reports[i].text, "", &res);
		got_mail = cfg->depts[res.dept].id;
		router_result_free(&res);
		if (strcmp(got, reports[i].dept) != 0 || strcmp(got_mail, reports[i].dept) != 0) {
			print_message("misrouted: \"%s\" -> %s / %s (want %s)\n",
			    reports[i].text, got, got_mail, reports[i].dept);
			miss++;
		}
	}
	router_free(&r);
	config_free(&cfg);
	assert_int_equal(miss, 0);
}

/* The table covers every department with keywords, several times. */
static void
test_example_table_covers_departments(void **state)
{
	struct s48_config *cfg = load_example();
	size_t d, i;

	(void)state;
	for (d = 0; d < cfg->n_depts; d++) {
		size_t n = 0;

		if (cfg->depts[d].keywords.n == 0)
			continue;
		for (i = 0; i < N(reports); i++)
			n += strcmp(reports[i].dept, cfg->depts[d].id) == 0;
		if (n < 8)
			fail_msg("department %s: only %zu reports", cfg->depts[d].id, n);
	}
	config_free(&cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_routes_reports),
		cmocka_unit_test(test_example_table_covers_departments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
