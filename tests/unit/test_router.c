/* test_router.c - keyword routing: words, stems, phrases, weights, ties,
 * defaults, and a 10,000-keyword config checked against a naive scorer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "normalize.h"
#include "router.h"
#include "util.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MAXKW 16

struct dept_def {
	const char *id;
	const char *kw[MAXKW];   /* NULL-terminated */
};

static struct s48_config *
make_cfg(const struct dept_def *d, size_t n, size_t default_dept)
{
	struct s48_config *cfg = xcalloc(1, sizeof(*cfg));
	size_t i, j;

	cfg->depts = xcalloc(n, sizeof(*cfg->depts));
	cfg->n_depts = n;
	for (i = 0; i < n; i++) {
		cfg->depts[i].id = xstrdup(d[i].id);
		for (j = 0; d[i].kw[j] != NULL; j++)
			;
		cfg->depts[i].keywords.n = j;
		cfg->depts[i].keywords.v = xcalloc(j + 1, sizeof(char *));
		for (j = 0; d[i].kw[j] != NULL; j++)
			cfg->depts[i].keywords.v[j] = xstrdup(d[i].kw[j]);
	}
	cfg->default_dept = default_dept;
	return cfg;
}

static void
free_cfg(struct s48_config **cfgp)
{
	struct s48_config *cfg = *cfgp;
	size_t i, j;

	for (i = 0; i < cfg->n_depts; i++) {
		for (j = 0; j < cfg->depts[i].keywords.n; j++)
			free(cfg->depts[i].keywords.v[j]);
		free(cfg->depts[i].keywords.v);
		free(cfg->depts[i].id);
	}
	free(cfg->depts);
	free(cfg);
	*cfgp = NULL;
}

static const struct dept_def base_depts[] = {
	{ "water", { "voda", "vodovod*", "cev", "cevi", "cijev*", "kanalizacij*", "slivnik*",
	    "hidrant*", "pukla cev", NULL } },
	{ "lighting", { "rasvet*", "sijalic*", "svetiljk*", "lampa", "bandera",
	    "ulično svetlo", NULL } },
	{ "roads", { "rupa", "rupe", "asfalt*", "ulica", "trotoar*", "udarna rup*", NULL } },
	{ "dispatch", { NULL } },
};

struct route_case {
	const char *subject;
	const char *text;
	const char *dept;
	int score;
	const char *matched;     /* winner's matched keywords joined by ',' */
};

static void
check_cases(const struct dept_def *defs, size_t ndefs, size_t dflt,
    const struct route_case *cases, size_t ncases)
{
	struct s48_config *cfg = make_cfg(defs, ndefs, dflt);
	struct router *r = router_new(cfg);
	size_t i, j, k;

	for (i = 0; i < ncases; i++) {
		struct router_result res;
		char got[512] = "";

		router_route(r, cases[i].subject, cases[i].text, &res);
		for (j = 0; j < res.n_scores; j++) {
			if (res.scores[j].dept != res.dept)
				continue;
			for (k = 0; k < res.scores[j].n_matched; k++) {
				if (k > 0)
					strcat(got, ",");
				strcat(got, res.scores[j].matched[k]);
			}
		}
		if (strcmp(cfg->depts[res.dept].id, cases[i].dept) != 0 ||
		    res.score != cases[i].score || strcmp(got, cases[i].matched) != 0)
			fail_msg("case %zu (%s / %s): got %s score %d [%s], want %s score %d [%s]",
			    i, cases[i].subject ? cases[i].subject : "-",
			    cases[i].text ? cases[i].text : "-",
			    cfg->depts[res.dept].id, res.score, got,
			    cases[i].dept, cases[i].score, cases[i].matched);
		/* scores are in config order, all positive */
		for (j = 0; j < res.n_scores; j++) {
			assert_true(res.scores[j].score > 0);
			if (j > 0)
				assert_true(res.scores[j].dept > res.scores[j - 1].dept);
		}
		router_result_free(&res);
		assert_null(res.scores);
	}
	router_free(&r);
	assert_null(r);
	free_cfg(&cfg);
}

static void
test_route_basic(void **state)
{
	static const struct route_case cases[] = {
		/* whole words only */
		{ NULL, "nema vode", "dispatch", 0, "" },
		{ NULL, "Nestala voda u zgradi", "water", 1, "voda" },
		{ NULL, "vodapad", "dispatch", 0, "" },
		/* stems */
		{ NULL, "ne radi rasveta", "lighting", 1, "rasvet*" },
		{ NULL, "rasvete nema, sijalica pregorela", "lighting", 2, "rasvet*,sijalic*" },
		{ NULL, "rasvet", "lighting", 1, "rasvet*" },
		{ NULL, "rasve", "dispatch", 0, "" },
		{ NULL, "VODOVODNA mreža", "water", 1, "vodovod*" },
		/* phrases (and their words on their own) */
		{ NULL, "pukla cev", "water", 2, "cev,pukla cev" },
		{ NULL, "cev pukla", "water", 1, "cev" },
		{ NULL, "Ulično svetlo ne gori", "lighting", 1, "ulično svetlo" },
		{ NULL, "ulicno  svetlo", "lighting", 1, "ulično svetlo" },
		{ NULL, "ulicno svetlost", "dispatch", 0, "" },
		/* a phrase whose words are stems */
		{ NULL, "udarna rupetina", "roads", 1, "udarna rup*" },
		/* distinct keywords count once however often they appear */
		{ NULL, "voda voda voda voda, rupa", "water", 1, "voda" },
		{ NULL, "rupa rupe voda", "roads", 2, "rupa,rupe" },
		/* tie goes to the department listed first */
		{ NULL, "lampa i rupa", "lighting", 1, "lampa" },
		{ NULL, "rupa i lampa", "lighting", 1, "lampa" },
		{ NULL, "voda, lampa", "water", 1, "voda" },
		/* subject counts twice (also when in both) */
		{ "Rupa", "voda curi", "roads", 2, "rupa" },
		{ "Rupa", "voda curi, cev pukla", "water", 2, "voda,cev" },
		{ "rupa", "rupa, rupe, voda, cev", "roads", 3, "rupa,rupe" },
		{ "voda", "rupa rupe asfalt", "roads", 3, "rupa,rupe,asfalt*" },
		{ "voda", "rupa rupe", "water", 2, "voda" },
		{ "", "", "dispatch", 0, "" },
		{ NULL, NULL, "dispatch", 0, "" },
		/* Cyrillic and diacritics against Latin keywords */
		{ NULL, "Пукла ЦЕВ у улици", "water", 2, "cev,pukla cev" },
		{ NULL, "НЕ РАДИ РАСВЕТА, СИЈАЛИЦА", "lighting", 2, "rasvet*,sijalic*" },
		{ "Канализација", NULL, "water", 2, "kanalizacij*" },
		{ NULL, "ХИДРАНТ ЦУРИ", "water", 1, "hidrant*" },
	};

	(void)state;
	check_cases(base_depts, N(base_depts), 3, cases, N(cases));
}

static void
test_route_keyword_forms(void **state)
{
	/* keywords in Cyrillic, upper case, with spaces before '*', duplicates
	 * after normalisation, and ones that normalise to nothing */
	static const struct dept_def defs[] = {
		{ "a", { "ВОДА", "voda", "Vóda", "  ", "***", "!!", "ćev *", "sijalica*",
		    "sijalica", NULL } },
		{ "b", { "voda", "cev", NULL } },
		{ "c", { NULL } },
	};
	static const struct route_case cases[] = {
		{ NULL, "voda", "a", 1, "ВОДА" },
		{ NULL, "cevovod", "a", 1, "ćev *" },
		{ NULL, "cev", "a", 1, "ćev *" },
		/* "sijalica*" and "sijalica" are two keywords */
		{ NULL, "sijalica", "a", 2, "sijalica*,sijalica" },
		{ NULL, "sijalicama", "a", 1, "sijalica*" },
		{ NULL, "nista", "b", 0, "" },
	};

	(void)state;
	check_cases(defs, N(defs), 1, cases, N(cases));
}

static void
test_route_stem_words_in_phrases(void **state)
{
	/* a '*' may end any word of a phrase (the example config's
	 * "udarn* rupa"); it used to work only on the last word */
	static const struct dept_def defs[] = {
		{ "roads", { "udarn* rupa", "rupa", NULL } },
		{ "waste", { "nije odnet*", "smec* kontejner*", NULL } },
		{ "dispatch", { NULL } },
	};
	static const struct route_case cases[] = {
		{ NULL, "velika udarna rupa na putu", "roads", 2, "udarn* rupa,rupa" },
		{ NULL, "УДАРНИ РУПА", "roads", 2, "udarn* rupa,rupa" },
		{ NULL, "udarna rupe", "dispatch", 0, "" },
		{ NULL, "udar rupa", "roads", 1, "rupa" },
		{ NULL, "smece nije odneto", "waste", 1, "nije odnet*" },
		{ NULL, "smecara kontejneri puni", "waste", 1, "smec* kontejner*" },
		{ NULL, "smece je u kontejneru", "dispatch", 0, "" },
		{ NULL, "kraj teksta udarna", "dispatch", 0, "" },
	};

	(void)state;
	check_cases(defs, N(defs), 2, cases, N(cases));
}

static void
test_route_all_scores(void **state)
{
	struct s48_config *cfg = make_cfg(base_depts, N(base_depts), 3);
	struct router *r = router_new(cfg);
	struct router_result res;

	(void)state;
	router_route(r, "Rasveta", "voda, rupa, asfalt, lampa", &res);
	assert_int_equal(res.n_scores, 3);
	assert_int_equal(res.scores[0].dept, 0);
	assert_int_equal(res.scores[0].score, 1);
	assert_int_equal(res.scores[1].dept, 1);
	assert_int_equal(res.scores[1].score, 3);
	assert_int_equal(res.scores[1].n_matched, 2);
	assert_int_equal(res.scores[2].dept, 2);
	assert_int_equal(res.scores[2].score, 2);
	assert_int_equal(res.dept, 1);
	assert_int_equal(res.score, 3);
	/* the result owns its keywords: they outlive the router and config */
	router_free(&r);
	free_cfg(&cfg);
	assert_string_equal(res.scores[0].matched[0], "voda");
	assert_string_equal(res.scores[1].matched[0], "rasvet*");
	assert_string_equal(res.scores[1].matched[1], "lampa");
	assert_int_equal(res.scores[2].n_matched, 2);
	assert_string_equal(res.scores[2].matched[0], "rupa");
	assert_string_equal(res.scores[2].matched[1], "asfalt*");
	router_result_free(&res);
	assert_int_equal(res.n_scores, 0);
}

static void
test_route_empty_config(void **state)
{
	static const struct dept_def defs[] = { { "only", { NULL } } };
	struct s48_config *cfg = make_cfg(defs, 1, 0);
	struct router *r = router_new(cfg);
	struct router_result res;

	(void)state;
	router_route(r, "voda", "rupa", &res);
	assert_int_equal(res.dept, 0);
	assert_int_equal(res.score, 0);
	assert_int_equal(res.n_scores, 0);
	router_result_free(&res);
	router_free(&r);
	free_cfg(&cfg);
}

/* ---- a big random config against a naive scorer ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint32_t
rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

static const char *const syll[] = {
	"ka", "ra", "vo", "da", "ce", "vi", "si", "ja", "li", "ca", "ru", "pa", "as",
	"falt", "ne", "bo", "mo", "st", "ul", "ic", "tr", "ot", "ar", "zi", "dj", "lj",
};

static char *
rand_word(void)
{
	char w[32] = "";
	size_t i, n = 1 + rnd(3);

	for (i = 0; i < n; i++)
		strcat(w, syll[rnd(N(syll))]);
	return xstrdup(w);
}

/* naive: does normalised keyword k (prefix flag) occur in word list? */
static int
naive_match(char **words, size_t nw, const char *k, int prefix)
{
	char *kw[8];
	size_t nk = 0, i, j, pos = 0, len;
	const char *w;
	int found = 0;

	while ((w = norm_next_word(k, &pos, &len)) != NULL && nk < 8)
		kw[nk++] = xstrndup(w, len);
	for (i = 0; i + nk <= nw && !found; i++) {
		int ok = 1;

		for (j = 0; j < nk && ok; j++) {
			if (j + 1 == nk && prefix)
				ok = strncmp(words[i + j], kw[j], strlen(kw[j])) == 0;
			else
				ok = strcmp(words[i + j], kw[j]) == 0;
		}
		found = ok;
	}
	for (j = 0; j < nk; j++)
		free(kw[j]);
	return found;
}

static size_t
split(const char *text, char ***words_r)
{
	char *n = norm_text(text, strlen(text));
	char **v = NULL;
	size_t nv = 0, pos = 0, len;
	const char *w;

	while ((w = norm_next_word(n, &pos, &len)) != NULL) {
		v = xrealloc(v, (nv + 1) * sizeof(*v));
		v[nv++] = xstrndup(w, len);
	}
	free(n);
	*words_r = v;
	return nv;
}

static void
test_route_big_config(void **state)
{
	enum { NDEPT = 50, PER = 200, NTEXT = 250 };
	struct s48_config *cfg = xcalloc(1, sizeof(*cfg));
	struct router *r;
	size_t d, i, t, matched = 0;
	char **knorm;
	int *kpre;

	(void)state;
	cfg->n_depts = NDEPT;
	cfg->depts = xcalloc(NDEPT, sizeof(*cfg->depts));
	cfg->default_dept = NDEPT - 1;
	for (d = 0; d < NDEPT; d++) {
		cfg->depts[d].id = xasprintf("d%zu", d);
		cfg->depts[d].keywords.n = PER;
		cfg->depts[d].keywords.v = xcalloc(PER, sizeof(char *));
		for (i = 0; i < PER; i++) {
			char *a = rand_word(), *b;

			switch (rnd(4)) {
			case 0:
				b = xasprintf("%s*", a);
				break;
			case 1: {
				char *c = rand_word();

				b = xasprintf("%s %s%s", a, c, rnd(3) == 0 ? "*" : "");
				free(c);
				break;
			}
			default:
				b = xstrdup(a);
			}
			free(a);
			cfg->depts[d].keywords.v[i] = b;
		}
	}
	r = router_new(cfg);
	/* the naive side: each department's distinct normalised keywords */
	knorm = xcalloc(NDEPT * PER, sizeof(char *));
	kpre = xcalloc(NDEPT * PER, sizeof(int));
	for (d = 0; d < NDEPT; d++)
		for (i = 0; i < PER; i++) {
			const char *kwr = cfg->depts[d].keywords.v[i];
			size_t kl = strlen(kwr), j;
			int prefix = kwr[kl - 1] == '*', dup = 0;
			char *k = norm_text(kwr, prefix ? kl - 1 : kl);

			for (j = 0; j < i && !dup; j++)
				dup = knorm[d * PER + j] != NULL && kpre[d * PER + j] == prefix &&
				    strcmp(knorm[d * PER + j], k) == 0;
			if (dup) {
				free(k);
				continue;
			}
			knorm[d * PER + i] = k;
			kpre[d * PER + i] = prefix;
		}
	for (t = 0; t < NTEXT; t++) {
		char text[2048] = "", subj[256] = "";
		char **tw, **sw;
		size_t ntw, nsw, n = 5 + rnd(60);
		int want[NDEPT] = { 0 }, best = 0;
		size_t nwant[NDEPT] = { 0 };
		size_t bestd = cfg->default_dept;
		struct router_result res;

		for (i = 0; i < n; i++) {
			char *w = rand_word();

			strcat(text, w);
			strcat(text, rnd(5) ? " " : ", ");
			free(w);
		}
		for (i = 0; i < 3 && rnd(2); i++) {
			char *w = rand_word();

			strcat(subj, w);
			strcat(subj, " ");
			free(w);
		}
		ntw = split(text, &tw);
		nsw = split(subj, &sw);
		for (d = 0; d < NDEPT; d++) {
			for (i = 0; i < PER; i++) {
				const char *k = knorm[d * PER + i];

				if (k == NULL)
					continue;
				if (naive_match(sw, nsw, k, kpre[d * PER + i]))
					want[d] += 2;
				else if (naive_match(tw, ntw, k, kpre[d * PER + i]))
					want[d] += 1;
				else
					continue;
				nwant[d]++;
			}
			if (want[d] > best) {
				best = want[d];
				bestd = d;
			}
		}
		router_route(r, subj, text, &res);
		matched += best > 0;
		if (res.dept != bestd || res.score != best)
			fail_msg("text %zu: got d%zu/%d want d%zu/%d", t, res.dept, res.score,
			    bestd, best);
		for (i = 0; i < res.n_scores; i++) {
			assert_int_equal(res.scores[i].score, want[res.scores[i].dept]);
			assert_int_equal(res.scores[i].n_matched, nwant[res.scores[i].dept]);
		}
		for (d = 0, i = 0; d < NDEPT; d++)
			i += want[d] > 0;
		assert_int_equal(i, res.n_scores);
		router_result_free(&res);
		for (i = 0; i < ntw; i++)
			free(tw[i]);
		for (i = 0; i < nsw; i++)
			free(sw[i]);
		free(tw);
		free(sw);
	}
	/* the generator must produce real matches for this to mean anything */
	assert_true(matched > NTEXT / 2);
	for (i = 0; i < NDEPT * PER; i++)
		free(knorm[i]);
	free(knorm);
	free(kpre);
	router_free(&r);
	for (d = 0; d < NDEPT; d++) {
		for (i = 0; i < PER; i++)
			free(cfg->depts[d].keywords.v[i]);
		free(cfg->depts[d].keywords.v);
		free(cfg->depts[d].id);
	}
	free(cfg->depts);
	free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_basic),
		cmocka_unit_test(test_route_keyword_forms),
		cmocka_unit_test(test_route_stem_words_in_phrases),
		cmocka_unit_test(test_route_all_scores),
		cmocka_unit_test(test_route_empty_config),
		cmocka_unit_test(test_route_big_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
