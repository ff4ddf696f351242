/*
 * bench_router.c - routing speed with a large rule set: 10,000 keywords
 * (whole words, '*' stems and phrases) over 50 departments, one 1 kB
 * Serbian report (Latin with diacritics and Cyrillic) routed N times.
 *
 *   bench_router [N]        default N = 200000
 * prints: router: 10000 keywords, 1 kB message: X routes/s (Y us/route)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "router.h"
#include "util.h"

#define NDEPT 50
#define NKW 10000

static const char message[] =
    "Poštovani, u ulici Đure Đakovića kod broja 27 već tri dana curi voda iz "
    "pukle cevi ispod trotoara, a voda se sliva niz ulicu prema raskrsnici sa "
    "Njegoševom. Slivnik na uglu je zapušen lišćem i granama pa se stvorila velika "
    "bara u kojoj automobili prskaju pešake. Pored toga, javna rasveta u celoj ulici "
    "ne radi već nedelju dana, sijalice na tri bandere su pregorele, a jedna "
    "svetiljka visi sa nosaca i može da padne. Деца иду у школу по мраку и плаше се. "
    "Асфалт на коловозу је испуцао и направила се велика рупа у коју су већ упала "
    "два бицикла. Молимо вас да пошаљете екипу што пре, јер је ситуација опасна. "
    "Kontejneri za smeće nisu ispražnjeni od prošle srede, oko njih ima kesa i "
    "otpada, pa se okupljaju psi lutalice. Takođe, na dečijem igralištu u parku "
    "je polomljena ljuljaška i klackalica, a klupe su išarane grafitima. "
    "Unapred hvala, stanari zgrade broj 27.";

static const char *const vocab[] = {
	"voda", "vodovod", "cev", "kanalizacija", "slivnik", "hidrant", "rasveta",
	"sijalica", "svetiljka", "bandera", "nosac", "asfalt", "rupa", "kolovoz",
	"trotoar", "ulica", "smece", "kontejner", "otpad", "pas", "lutalica", "park",
	"igraliste", "ljuljaska", "klupa", "grafit", "drvo", "grana", "saobracaj",
	"semafor", "znak", "parking", "buka", "dim", "zagadjenje", "grejanje",
	"toplana", "radijator", "lift", "zgrada", "krov", "fasada", "most", "sneg",
	"led", "poplava", "bara", "blato", "pesak", "autobus", "stanica",
};

static uint64_t rng = 88172645463325252ULL;

static unsigned
rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

/*
 * Keyword i of department d.  As in a real rule set, a department's real
 * words come from its own part of the vocabulary (a word is shared by at
 * most a few departments); the rest are stems, phrases and words of the
 * kind a large rule set holds (street names, variants) that this message
 * does not contain.
 */
static char *
keyword(size_t d, size_t i)
{
	size_t nv = sizeof(vocab) / sizeof(vocab[0]);
	const char *a = vocab[(d + rnd(3) * NDEPT) % nv];
	const char *b = vocab[rnd((unsigned)nv)];
	int cut = (int)(strlen(a) > 4 ? strlen(a) - 1 - rnd(2) : strlen(a));

	switch (i % 8) {
	case 0:     /* a stem of a real word */
		return xasprintf("%.*s*", cut, a);
	case 1:     /* a real word */
		return xstrdup(a);
	case 2:     /* a phrase starting with a real word */
		return xasprintf("%s %s", a, b);
	case 3:     /* a stem that does not occur */
		return xasprintf("%.*s%zu*", cut, b, i);
	case 4:     /* a phrase that does not occur */
		return xasprintf("%s%zu %s", b, i, a);
	default:    /* a word that does not occur */
		return xasprintf("%s%zu", b, i);
	}
}

int
main(int argc, char **argv)
{
	struct s48_config cfg;
	struct router *r;
	struct router_result res;
	struct timespec t0, t1;
	long n = argc > 1 ? atol(argv[1]) : 200000, i;
	size_t d, k, total = 0;
	double secs;
	int checksum = 0;

	memset(&cfg, 0, sizeof(cfg));
	cfg.n_depts = NDEPT;
	cfg.depts = xcalloc(NDEPT, sizeof(*cfg.depts));
	cfg.default_dept = 0;
	for (d = 0; d < NDEPT; d++) {
		size_t per = NKW / NDEPT;

		cfg.depts[d].id = xasprintf("dept%zu", d);
		cfg.depts[d].keywords.n = per;
		cfg.depts[d].keywords.v = xcalloc(per, sizeof(char *));
		for (k = 0; k < per; k++)
			cfg.depts[d].keywords.v[k] = keyword(d, total++);
	}
	if (n < 1)
		n = 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = router_new(&cfg);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "router_new: %.1f ms for %zu keywords\n",
	    ((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9) * 1e3,
	    total);
	/* warm up and show what the message scores */
	router_route(r, "Curi voda, ne radi rasveta", message, &res);
	for (d = 0, k = 0; d < res.n_scores; d++)
		k += res.scores[d].n_matched;
	fprintf(stderr, "winner dept%zu score %d, %zu departments scored, %zu keywords matched\n",
	    res.dept, res.score, res.n_scores, k);
	router_result_free(&res);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		router_route(r, NULL, message, &res);
		checksum += res.score;
		router_result_free(&res);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("router: %zu keywords, 1 kB message: %.0f routes/s (%.2f us/route)\n", total,
	    (double)n / secs, secs * 1e6 / (double)n);
	if (checksum == 0)
		fprintf(stderr, "warning: the message matched nothing\n");
	/* a typical SMS, for comparison (stderr: stdout keeps one line) */
	{
		static const char sms[] = "Ne radi javna rasveta u ulici Njegoseva kod broja 5, "
		    "sijalica na banderi pregorela pre tri dana";
		long ns = n * 4;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (i = 0; i < ns; i++) {
			router_route(r, NULL, sms, &res);
			checksum += res.score;
			router_result_free(&res);
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		fprintf(stderr, "router: %zu keywords, %zu-byte SMS: %.0f routes/s (%.2f us/route)\n",
		    total, sizeof(sms) - 1, (double)ns / secs, secs * 1e6 / (double)ns);
	}
	router_free(&r);
	for (d = 0; d < NDEPT; d++) {
		for (k = 0; k < cfg.depts[d].keywords.n; k++)
			free(cfg.depts[d].keywords.v[k]);
		free(cfg.depts[d].keywords.v);
		free(cfg.depts[d].id);
	}
	free(cfg.depts);
	return 0;
}
