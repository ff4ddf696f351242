/*
 * router.c - keyword routing of a report to a department (SPEC section 4).
 *
 * router_new() normalises every keyword once and builds two open-addressing
 * hash tables over the normalised words:
 *   - "heads": whole-word keywords and the first word of phrases;
 *   - "prefixes": the stems of single-word "stem*" keywords.
 * Routing tokenises the normalised subject and text once; per word it does
 * one lookup in "heads" and, for prefixes, one lookup per prefix length
 * that some stem actually has (the hash of the word's prefix is extended
 * byte by byte, so this costs O(word length)).  The cost is O(words in
 * the text), independent of the number of keywords.
 *
 * A keyword ("kw") is stored once per department after normalisation, so
 * "Voda" and "voda" in one department count once; the same keyword in two
 * departments is two kws sharing a hash slot's list.
 */
#include "router.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "normalize.h"
#include "util.h"

struct kw {
	size_t dept;
	char *orig;             /* as written in the config (a copy) */
	char *norm;             /* normalised, words separated by one space, no '*' */
	size_t nwords;
	int prefix;             /* the last word is a stem */
};

/* a hash slot: a key (pointer into a kw's norm) and its list of kws */
struct slot {
	const char *key;        /* NULL: empty */
	size_t keylen;
	uint64_t hash;
	size_t first, count;    /* range in the router's kw-index list */
};

struct table {
	struct slot *slots;
	size_t mask;            /* slots - 1 (power of two) */
	size_t *list;           /* kw indexes grouped by key */
};

struct router {
	struct kw *kws;
	size_t n_kws;
	size_t n_depts;
	size_t default_dept;
	struct table heads;
	struct table prefixes;
	unsigned char *stem_len;    /* stem_len[L] = 1 if a stem has length L */
	size_t max_stem;
};

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME  0x100000001b3ULL

static uint64_t
hash_bytes(const char *s, size_t len)
{
	uint64_t h = FNV_OFFSET;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * FNV_PRIME;
	return h;
}

static const struct slot *
table_find(const struct table *t, const char *key, size_t len, uint64_t h)
{
	size_t i;

	if (t->slots == NULL)
		return NULL;
	for (i = (size_t)h & t->mask;; i = (i + 1) & t->mask) {
		const struct slot *s = &t->slots[i];

		if (s->key == NULL)
			return NULL;
		if (s->hash == h && s->keylen == len && memcmp(s->key, key, len) == 0)
			return s;
	}
}

/* entries for building: key of kw idx */
struct entry {
	const char *key;
	size_t len;
	size_t kw;
};

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->key, y->key, n);

	if (c != 0)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->kw < y->kw ? -1 : x->kw > y->kw;
}

static void
table_build(struct table *t, struct entry *e, size_t n)
{
	size_t i, j, nkeys = 0, size = 16;

	memset(t, 0, sizeof(*t));
	if (n == 0)
		return;
	qsort(e, n, sizeof(*e), entry_cmp);
	for (i = 0; i < n; i++)
		if (i == 0 || e[i].len != e[i - 1].len ||
		    memcmp(e[i].key, e[i - 1].key, e[i].len) != 0)
			nkeys++;
	while (size < nkeys * 2)
		size *= 2;
	t->slots = xcalloc(size, sizeof(*t->slots));
	t->mask = size - 1;
	t->list = xmalloc(n * sizeof(*t->list));
	for (i = 0; i < n; i = j) {
		uint64_t h = hash_bytes(e[i].key, e[i].len);
		size_t k;

		for (j = i; j < n && e[j].len == e[i].len &&
		    memcmp(e[j].key, e[i].key, e[i].len) == 0; j++)
			t->list[j] = e[j].kw;
		for (k = (size_t)h & t->mask; t->slots[k].key != NULL; k = (k + 1) & t->mask)
			;
		t->slots[k].key = e[i].key;
		t->slots[k].keylen = e[i].len;
		t->slots[k].hash = h;
		t->slots[k].first = i;
		t->slots[k].count = j - i;
	}
}

/* Split a config keyword into its normalised form and prefix flag;
 * returns NULL if nothing remains. */
static char *
keyword_norm(const char *kw, int *prefix_r, size_t *nwords_r)
{
	size_t len = strlen(kw), pos = 0, wl;
	char *n;

	while (len > 0 && (kw[len - 1] == ' ' || kw[len - 1] == '\t'))
		len--;
	*prefix_r = 0;
	while (len > 0 && kw[len - 1] == '*') {
		*prefix_r = 1;
		len--;
	}
	n = norm_text(kw, len);
	if (n[0] == '\0') {
		free(n);
		return NULL;
	}
	/* "rasvet *" is a stem too: a star after a space still applies
	 * to the last word */
	*nwords_r = 0;
	while (norm_next_word(n, &pos, &wl) != NULL)
		(*nwords_r)++;
	return n;
}

/* order for finding duplicates: department, kind, text, config position */
static int
kw_ptr_cmp(const void *a, const void *b)
{
	const struct kw *x = *(const struct kw *const *)a, *y = *(const struct kw *const *)b;
	int c;

	if (x->dept != y->dept)
		return x->dept < y->dept ? -1 : 1;
	if (x->prefix != y->prefix)
		return x->prefix - y->prefix;
	c = strcmp(x->norm, y->norm);
	if (c != 0)
		return c;
	return x < y ? -1 : x > y;
}

/* Drop keywords that normalise to one already listed for the same
 * department (keeping the first as written), preserving config order. */
static void
dedupe(struct router *r)
{
	struct kw **p;
	size_t i, o = 0;

	if (r->n_kws < 2)
		return;
	p = xmalloc(r->n_kws * sizeof(*p));
	for (i = 0; i < r->n_kws; i++)
		p[i] = &r->kws[i];
	qsort(p, r->n_kws, sizeof(*p), kw_ptr_cmp);
	for (i = 1; i < r->n_kws; i++) {
		const struct kw *a = p[i - 1], *b = p[i];

		if (a->dept == b->dept && a->prefix == b->prefix &&
		    strcmp(a->norm, b->norm) == 0) {
			free(p[i]->norm);
			free(p[i]->orig);
			p[i]->norm = NULL;
			p[i] = p[i - 1];    /* so a third copy compares too */
		}
	}
	free(p);
	for (i = 0; i < r->n_kws; i++)
		if (r->kws[i].norm != NULL)
			r->kws[o++] = r->kws[i];
	r->n_kws = o;
}

struct router *
router_new(const struct s48_config *cfg)
{
	struct router *r = xcalloc(1, sizeof(*r));
	struct entry *heads = NULL, *stems = NULL;
	size_t n_heads = 0, n_stems = 0, total = 0, d, i;

	r->n_depts = cfg->n_depts;
	r->default_dept = cfg->default_dept;
	for (d = 0; d < cfg->n_depts; d++)
		total += cfg->depts[d].keywords.n;
	r->kws = xcalloc(total ? total : 1, sizeof(*r->kws));
	for (d = 0; d < cfg->n_depts; d++) {
		const struct strlist *kl = &cfg->depts[d].keywords;

		for (i = 0; i < kl->n; i++) {
			struct kw k = { .dept = d };

			k.norm = keyword_norm(kl->v[i], &k.prefix, &k.nwords);
			if (k.norm == NULL)
				continue;
			k.orig = xstrdup(kl->v[i]);
			r->kws[r->n_kws++] = k;
		}
	}
	dedupe(r);
	heads = xmalloc((r->n_kws ? r->n_kws : 1) * sizeof(*heads));
	stems = xmalloc((r->n_kws ? r->n_kws : 1) * sizeof(*stems));
	for (i = 0; i < r->n_kws; i++) {
		struct kw *k = &r->kws[i];

		if (k->nwords == 1 && k->prefix) {
			size_t len = strlen(k->norm);

			stems[n_stems++] = (struct entry){ k->norm, len, i };
			if (len > r->max_stem)
				r->max_stem = len;
		} else {
			const char *sp = strchr(k->norm, ' ');
			size_t len = sp ? (size_t)(sp - k->norm) : strlen(k->norm);

			heads[n_heads++] = (struct entry){ k->norm, len, i };
		}
	}
	r->stem_len = xcalloc(r->max_stem + 1, 1);
	for (i = 0; i < n_stems; i++)
		r->stem_len[stems[i].len] = 1;
	table_build(&r->heads, heads, n_heads);
	table_build(&r->prefixes, stems, n_stems);
	free(heads);
	free(stems);
	return r;
}

void
router_free(struct router **rp)
{
	struct router *r = *rp;
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n_kws; i++) {
		free(r->kws[i].norm);
		free(r->kws[i].orig);
	}
	free(r->kws);
	free(r->heads.slots);
	free(r->heads.list);
	free(r->prefixes.slots);
	free(r->prefixes.list);
	free(r->stem_len);
	free(r);
	*rp = NULL;
}

struct word {
	const char *s;
	size_t len;
};

struct hit {
	size_t kw;
	int weight;
};

struct scratch {
	struct word *words;
	size_t n_words, cap_words;
	struct hit *hits;
	size_t n_hits, cap_hits;
};

static void
add_hit(struct scratch *sc, size_t kw, int weight)
{
	if (sc->n_hits == sc->cap_hits) {
		sc->cap_hits = sc->cap_hits ? sc->cap_hits * 2 : 32;
		sc->hits = xrealloc(sc->hits, sc->cap_hits * sizeof(*sc->hits));
	}
	sc->hits[sc->n_hits].kw = kw;
	sc->hits[sc->n_hits].weight = weight;
	sc->n_hits++;
}

/* Does phrase kw match the words starting at w[0]? */
static int
phrase_match(const struct kw *k, const struct word *w, size_t avail)
{
	const char *p = k->norm;
	size_t i;

	if (k->nwords > avail)
		return 0;
	for (i = 0; i < k->nwords; i++) {
		const char *sp = strchr(p, ' ');
		size_t len = sp ? (size_t)(sp - p) : strlen(p);

		if (i + 1 == k->nwords && k->prefix) {
			if (w[i].len < len || memcmp(w[i].s, p, len) != 0)
				return 0;
		} else if (w[i].len != len || memcmp(w[i].s, p, len) != 0) {
			return 0;
		}
		p += len + 1;
	}
	return 1;
}

static void
scan(const struct router *r, const char *raw, int weight, struct scratch *sc)
{
	char *n;
	size_t pos = 0, len, i;
	const char *w;

	if (raw == NULL)
		return;
	n = norm_text(raw, strlen(raw));
	sc->n_words = 0;
	while ((w = norm_next_word(n, &pos, &len)) != NULL) {
		if (sc->n_words == sc->cap_words) {
			sc->cap_words = sc->cap_words ? sc->cap_words * 2 : 256;
			sc->words = xrealloc(sc->words, sc->cap_words * sizeof(*sc->words));
		}
		sc->words[sc->n_words].s = w;
		sc->words[sc->n_words].len = len;
		sc->n_words++;
	}
	for (i = 0; i < sc->n_words; i++) {
		const struct word *wd = &sc->words[i];
		const struct slot *s;
		size_t j, l, lmax;
		uint64_t h;

		s = table_find(&r->heads, wd->s, wd->len, hash_bytes(wd->s, wd->len));
		if (s != NULL) {
			for (j = 0; j < s->count; j++) {
				size_t kid = r->heads.list[s->first + j];
				const struct kw *k = &r->kws[kid];

				if ((k->nwords == 1 && !k->prefix) ||
				    phrase_match(k, wd, sc->n_words - i))
					add_hit(sc, kid, weight);
			}
		}
		if (r->prefixes.slots == NULL)
			continue;
		lmax = wd->len < r->max_stem ? wd->len : r->max_stem;
		h = FNV_OFFSET;
		for (l = 1; l <= lmax; l++) {
			h = (h ^ (unsigned char)wd->s[l - 1]) * FNV_PRIME;
			if (!r->stem_len[l])
				continue;
			s = table_find(&r->prefixes, wd->s, l, h);
			if (s == NULL)
				continue;
			for (j = 0; j < s->count; j++)
				add_hit(sc, r->prefixes.list[s->first + j], weight);
		}
	}
	free(n);
}

static int
hit_cmp(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;

	if (x->kw != y->kw)
		return x->kw < y->kw ? -1 : 1;
	return y->weight - x->weight;       /* heavier first */
}

void
router_route(const struct router *r, const char *subject, const char *text,
    struct router_result *res)
{
	struct scratch sc = { 0 };
	size_t i, d, best_dept = 0;
	int best = 0;
	int *score = NULL;
	size_t *nmatch = NULL;

	memset(res, 0, sizeof(*res));
	scan(r, subject, 2, &sc);
	scan(r, text, 1, &sc);
	if (sc.n_hits > 1)
		qsort(sc.hits, sc.n_hits, sizeof(*sc.hits), hit_cmp);
	/* kws are ordered by department, so distinct hits are too */
	if (sc.n_hits > 0) {
		score = xcalloc(r->n_depts, sizeof(*score));
		nmatch = xcalloc(r->n_depts, sizeof(*nmatch));
	}
	for (i = 0; i < sc.n_hits; i++) {
		const struct kw *k;

		if (i > 0 && sc.hits[i].kw == sc.hits[i - 1].kw)
			continue;
		k = &r->kws[sc.hits[i].kw];
		if (score[k->dept] == 0)
			res->n_scores++;
		score[k->dept] += sc.hits[i].weight;
		nmatch[k->dept]++;
	}
	if (res->n_scores > 0) {
		size_t si = 0;

		res->scores = xcalloc(res->n_scores, sizeof(*res->scores));
		for (d = 0; d < r->n_depts; d++) {
			if (score[d] == 0)
				continue;
			res->scores[si].dept = d;
			res->scores[si].score = score[d];
			res->scores[si].matched = xcalloc(nmatch[d], sizeof(char *));
			if (score[d] > best) {
				best = score[d];
				best_dept = d;
			}
			nmatch[d] = si++;   /* reuse: index into scores */
		}
		for (i = 0; i < sc.n_hits; i++) {
			const struct kw *k;
			struct router_dept_score *ds;

			if (i > 0 && sc.hits[i].kw == sc.hits[i - 1].kw)
				continue;
			k = &r->kws[sc.hits[i].kw];
			ds = &res->scores[nmatch[k->dept]];
			ds->matched[ds->n_matched++] = xstrdup(k->orig);
		}
	}
	res->dept = best > 0 ? best_dept : r->default_dept;
	res->score = best;
	free(score);
	free(nmatch);
	free(sc.words);
	free(sc.hits);
}

void
router_result_free(struct router_result *res)
{
	size_t i, j;

	for (i = 0; i < res->n_scores; i++) {
		for (j = 0; j < res->scores[i].n_matched; j++)
			free(res->scores[i].matched[j]);
		free(res->scores[i].matched);
	}
	free(res->scores);
	res->scores = NULL;
	res->n_scores = 0;
}
