/*
 * router.c - keyword routing of a report to a department (SPEC section 4).
 *
 * router_new() normalises every keyword once.  Keywords that normalise to
 * the same text within a department are one keyword (the first as
 * written); the same normalised keyword in several departments is one
 * "term" with several owners, so it is looked up once.  Two
 * open-addressing hash tables index the terms:
 *   - heads: single whole words, and the first word of every phrase;
 *   - stems: single-word "stem*" keywords, by the stem.
 * Routing normalises the subject and the text once and walks their words:
 * per word one lookup in heads (a phrase is then confirmed with one memcmp
 * against the normalised text, whose words are single-spaced), and one
 * lookup in stems per stem length that exists, extending the hash of the
 * word's prefix byte by byte.  Found terms are bits in a bitmap (one per
 * weight), so repeats cost nothing and the result comes out in config
 * order by scanning the bitmaps.  Cost: O(words in the text), whatever
 * the number of keywords.
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
	size_t orig_len;        /* strlen(orig) + 1 */
	size_t term;
};

struct term {
	char *norm;             /* normalised, single-spaced, without the '*' */
	size_t len;
	size_t nwords;
	uint64_t stems;         /* bit i: word i is a stem ("udarn* rupa": bit 0) */
	size_t first, n_owners; /* range in router->owners (kw indexes, ascending) */
};

/* a hash slot: a key (pointing into a term's norm) and a range of terms */
struct slot {
	const char *key;        /* NULL: empty */
	size_t keylen;
	uint64_t hash;
	size_t first, count;    /* range in the table's list of term indexes */
};

#define FILTER_BITS 65536    /* 8 kB: stays in L1/L2, most lookups miss */

struct table {
	struct slot *slots;
	size_t mask;            /* number of slots - 1 (a power of two) */
	size_t *list;
	uint64_t *filter;       /* bit (hash >> 48) set for every key */
};

struct router {
	struct kw *kws;
	size_t n_kws;
	struct term *terms;
	size_t n_terms;
	size_t *owners;
	size_t n_depts;
	size_t default_dept;
	struct table heads;
	struct table stems;
	unsigned char *stem_len;    /* stem_len[L] = 1 if some stem has length L */
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

static inline const struct slot *
table_find(const struct table *t, const char *key, size_t len, uint64_t h)
{
	size_t i;

	if (t->slots == NULL)
		return NULL;
	if (((t->filter[(h >> 48) >> 6] >> ((h >> 48) & 63)) & 1) == 0)
		return NULL;
	for (i = (size_t)h & t->mask;; i = (i + 1) & t->mask) {
		const struct slot *s = &t->slots[i];

		if (s->key == NULL)
			return NULL;
		if (s->hash == h && s->keylen == len && memcmp(s->key, key, len) == 0)
			return s;
	}
}

struct entry {
	const char *key;
	size_t len;
	size_t id;
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
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Build t from n entries (sorted here); entries with equal keys share a slot. */
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
	t->filter = xcalloc(FILTER_BITS / 64, sizeof(uint64_t));
	for (i = 0; i < n; i = j) {
		uint64_t h = hash_bytes(e[i].key, e[i].len);
		size_t k;

		t->filter[(h >> 48) >> 6] |= (uint64_t)1 << ((h >> 48) & 63);
		for (j = i; j < n && e[j].len == e[i].len &&
		    memcmp(e[j].key, e[i].key, e[i].len) == 0; j++)
			t->list[j] = e[j].id;
		for (k = (size_t)h & t->mask; t->slots[k].key != NULL; k = (k + 1) & t->mask)
			;
		t->slots[k].key = e[i].key;
		t->slots[k].keylen = e[i].len;
		t->slots[k].hash = h;
		t->slots[k].first = i;
		t->slots[k].count = j - i;
	}
}

/*
 * A config keyword in matching form.  A '*' ending a word (also after a
 * space, "rasvet *") makes that word a stem: "udarn* rupa" matches
 * "udarna rupa".  Sets bit i of *stems_r for stem word i (words past the
 * 64th are whole words).  NULL if nothing remains.
 */
static char *
keyword_norm(const char *kw, uint64_t *stems_r)
{
	struct buf b;
	const char *p = kw;
	size_t nwords = 0;

	*stems_r = 0;
	buf_init(&b, 64 * 1024);
	while (*p != '\0') {
		const char *start, *e;
		char *n;
		size_t k;
		int star = 0;

		while (*p == ' ' || *p == '\t')
			p++;
		start = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		e = p;
		while (e > start && e[-1] == '*') {
			star = 1;
			e--;
		}
		if (star && e == start && nwords > 0) {
			/* a lone '*' after a space: the previous word is the stem */
			*stems_r |= nwords <= 64 ? (uint64_t)1 << (nwords - 1) : 0;
			continue;
		}
		n = norm_text(start, (size_t)(e - start));
		if (n[0] != '\0') {
			if (b.len > 0)
				buf_appendc(&b, ' ');
			buf_appends(&b, n);
			for (k = 0, nwords++; n[k]; k++)
				nwords += n[k] == ' ';
			if (star && nwords <= 64)
				*stems_r |= (uint64_t)1 << (nwords - 1);
		}
		free(n);
	}
	if (b.len == 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b, NULL);
}

/* a keyword while building: its normalised form and config position */
struct pending {
	size_t kw;
	char *norm;
	uint64_t stems;
};

/* order by text and kind, then department and position */
static int
pending_cmp(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;
	int c = strcmp(x->norm, y->norm);

	if (c != 0)
		return c;
	if (x->stems != y->stems)
		return x->stems < y->stems ? -1 : 1;
	return x->kw < y->kw ? -1 : x->kw > y->kw;
}

struct router *
router_new(const struct s48_config *cfg)
{
	struct router *r = xcalloc(1, sizeof(*r));
	struct pending *pd;
	struct entry *heads, *stems;
	size_t n_pd = 0, n_heads = 0, n_stems = 0, total = 0, d, i, j, o;
	size_t *keep;

	r->n_depts = cfg->n_depts;
	r->default_dept = cfg->default_dept;
	for (d = 0; d < cfg->n_depts; d++)
		total += cfg->depts[d].keywords.n;
	pd = xcalloc(total ? total : 1, sizeof(*pd));
	r->kws = xcalloc(total ? total : 1, sizeof(*r->kws));
	for (d = 0; d < cfg->n_depts; d++) {
		const struct strlist *kl = &cfg->depts[d].keywords;

		for (i = 0; i < kl->n; i++) {
			uint64_t mask;
			char *n = keyword_norm(kl->v[i], &mask);

			if (n == NULL)
				continue;
			r->kws[r->n_kws].dept = d;
			r->kws[r->n_kws].orig = xstrdup(kl->v[i]);
			r->kws[r->n_kws].orig_len = strlen(kl->v[i]) + 1;
			pd[n_pd].kw = r->n_kws++;
			pd[n_pd].norm = n;
			pd[n_pd].stems = mask;
			n_pd++;
		}
	}
	/* group equal keywords: a term each; drop repeats within a department */
	qsort(pd, n_pd, sizeof(*pd), pending_cmp);
	keep = xcalloc(r->n_kws ? r->n_kws : 1, sizeof(*keep));   /* 1 = kept */
	r->terms = xcalloc(n_pd ? n_pd : 1, sizeof(*r->terms));
	for (i = 0; i < n_pd; i = j) {
		struct term *t = &r->terms[r->n_terms];
		size_t w;

		t->norm = pd[i].norm;
		t->len = strlen(t->norm);
		t->stems = pd[i].stems;
		for (t->nwords = 1, w = 0; w < t->len; w++)
			t->nwords += t->norm[w] == ' ';
		for (j = i; j < n_pd && pd[j].stems == pd[i].stems &&
		    strcmp(pd[j].norm, pd[i].norm) == 0; j++) {
			if (j > i)
				free(pd[j].norm);
			/* sorted by kw within the group: the first of a
			 * department is its first as written */
			if (j > i && r->kws[pd[j].kw].dept == r->kws[pd[j - 1].kw].dept) {
				keep[pd[j].kw] = 0;
				continue;
			}
			keep[pd[j].kw] = 1;
			r->kws[pd[j].kw].term = r->n_terms;
		}
		r->n_terms++;
	}
	free(pd);
	/* compact the kept keywords, renumbering (config order is kept) */
	for (i = 0, o = 0; i < r->n_kws; i++) {
		if (!keep[i]) {
			free(r->kws[i].orig);
			continue;
		}
		r->kws[o++] = r->kws[i];
	}
	r->n_kws = o;
	free(keep);
	/* owners of each term, ascending (filled in keyword order) */
	r->owners = xmalloc((r->n_kws ? r->n_kws : 1) * sizeof(*r->owners));
	for (i = 0; i < r->n_kws; i++)
		r->terms[r->kws[i].term].n_owners++;
	for (i = 0, o = 0; i < r->n_terms; i++) {
		r->terms[i].first = o;
		o += r->terms[i].n_owners;
		r->terms[i].n_owners = 0;
	}
	for (i = 0; i < r->n_kws; i++) {
		struct term *t = &r->terms[r->kws[i].term];

		r->owners[t->first + t->n_owners++] = i;
	}
	/* the two indexes */
	heads = xmalloc((r->n_terms ? r->n_terms : 1) * sizeof(*heads));
	stems = xmalloc((r->n_terms ? r->n_terms : 1) * sizeof(*stems));
	for (i = 0; i < r->n_terms; i++) {
		struct term *t = &r->terms[i];

		const char *sp = strchr(t->norm, ' ');
		size_t first = sp ? (size_t)(sp - t->norm) : t->len;

		/* indexed by the first word: a stem, or a whole word */
		if (t->stems & 1) {
			stems[n_stems++] = (struct entry){ t->norm, first, i };
			if (first > r->max_stem)
				r->max_stem = first;
		} else {
			heads[n_heads++] = (struct entry){ t->norm, first, i };
		}
	}
	r->stem_len = xcalloc(r->max_stem + 1, 1);
	for (i = 0; i < n_stems; i++)
		r->stem_len[stems[i].len] = 1;
	table_build(&r->heads, heads, n_heads);
	table_build(&r->stems, stems, n_stems);
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
	for (i = 0; i < r->n_kws; i++)
		free(r->kws[i].orig);
	for (i = 0; i < r->n_terms; i++)
		free(r->terms[i].norm);
	free(r->kws);
	free(r->terms);
	free(r->owners);
	free(r->heads.slots);
	free(r->heads.list);
	free(r->heads.filter);
	free(r->stems.slots);
	free(r->stems.list);
	free(r->stems.filter);
	free(r->stem_len);
	free(r);
	*rp = NULL;
}

#define BIT_SET(m, i)  ((m)[(i) >> 6] |= (uint64_t)1 << ((i) & 63))
#define BIT_GET(m, i)  (((m)[(i) >> 6] >> ((i) & 63)) & 1)

/* per call: terms found (each once, in a list) and which were in the subject */
struct hits {
	uint64_t *seen;         /* bitmap over terms */
	uint64_t *subj;         /* bitmap over terms: found in the subject */
	size_t *list;
	size_t n, cap;
};

static void
hit(struct hits *h, size_t tid, int in_subject)
{
	if (in_subject)
		BIT_SET(h->subj, tid);
	if (BIT_GET(h->seen, tid))
		return;
	BIT_SET(h->seen, tid);
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		h->list = xrealloc(h->list, h->cap * sizeof(*h->list));
	}
	h->list[h->n++] = tid;
}

/*
 * 1 if the phrase t matches the normalised text from word w on (end: the
 * text's end): word by word, a stem word as a prefix, others whole.
 */
static int
phrase_match(const struct term *t, const char *w, const char *end)
{
	const char *k = t->norm, *kend = t->norm + t->len;
	size_t i = 0;

	for (;;) {
		const char *ke = memchr(k, ' ', (size_t)(kend - k)), *we;
		size_t kl, wl;

		if (ke == NULL)
			ke = kend;
		we = memchr(w, ' ', (size_t)(end - w));
		if (we == NULL)
			we = end;
		kl = (size_t)(ke - k);
		wl = (size_t)(we - w);
		if (i < 64 && (t->stems >> i) & 1) {
			if (wl < kl || memcmp(w, k, kl) != 0)
				return 0;
		} else if (wl != kl || memcmp(w, k, kl) != 0) {
			return 0;
		}
		if (ke == kend)
			return 1;
		if (we == end)
			return 0;       /* the text ends before the phrase */
		k = ke + 1;
		w = we + 1;
		i++;
	}
}

/* Record every term found in raw (a NULL raw finds nothing). */
static void
scan(const struct router *r, const char *raw, int in_subject, struct hits *hs)
{
	char *n;
	const char *w, *end;
	size_t pos = 0, len;

	if (raw == NULL)
		return;
	n = norm_text(raw, strlen(raw));
	end = n + strlen(n);
	while ((w = norm_next_word(n, &pos, &len)) != NULL) {
		const struct slot *s;
		size_t j, l, lmax;
		uint64_t h;

		s = table_find(&r->heads, w, len, hash_bytes(w, len));
		if (s != NULL) {
			for (j = 0; j < s->count; j++) {
				size_t tid = r->heads.list[s->first + j];
				const struct term *t = &r->terms[tid];

				if (t->nwords > 1 && !phrase_match(t, w, end))
					continue;
				hit(hs, tid, in_subject);
			}
		}
		if (r->stems.slots == NULL)
			continue;
		lmax = len < r->max_stem ? len : r->max_stem;
		h = FNV_OFFSET;
		for (l = 1; l <= lmax; l++) {
			h = (h ^ (unsigned char)w[l - 1]) * FNV_PRIME;
			if (!r->stem_len[l])
				continue;
			s = table_find(&r->stems, w, l, h);
			if (s == NULL)
				continue;
			for (j = 0; j < s->count; j++) {
				size_t tid = r->stems.list[s->first + j];

				if (r->terms[tid].nwords > 1 &&
				    !phrase_match(&r->terms[tid], w, end))
					continue;
				hit(hs, tid, in_subject);
			}
		}
	}
	free(n);
}

void
router_route(const struct router *r, const char *subject, const char *text,
    struct router_result *res)
{
	size_t tw = (r->n_terms + 63) / 64, kwords = (r->n_kws + 63) / 64;
	uint64_t *kwbits = NULL;
	struct hits hs = { 0 };
	size_t *kws = NULL, n_kws = 0, *slot = NULL;
	int *score = NULL;
	size_t i, k, strbytes = 0, best_dept = r->default_dept;
	int best = 0;
	char **ptrs;
	char *strs;

	memset(res, 0, sizeof(*res));
	res->dept = r->default_dept;
	if (r->n_terms == 0)
		return;
	hs.seen = xcalloc(2 * tw, sizeof(uint64_t));
	hs.subj = hs.seen + tw;
	scan(r, subject, 1, &hs);
	scan(r, text, 0, &hs);
	if (hs.n == 0)
		goto done;
	/* terms found -> their keywords, in config order: a bitmap over
	 * keywords read back in order costs less than sorting them */
	kwbits = xcalloc(kwords, sizeof(uint64_t));
	for (i = 0; i < hs.n; i++) {
		const struct term *t = &r->terms[hs.list[i]];

		for (k = 0; k < t->n_owners; k++)
			BIT_SET(kwbits, r->owners[t->first + k]);
		n_kws += t->n_owners;
	}
	kws = xmalloc(n_kws * sizeof(*kws));
	for (i = 0, k = 0; i < kwords; i++) {
		uint64_t m = kwbits[i];

		while (m != 0) {
			kws[k++] = i * 64 + (size_t)__builtin_ctzll(m);
			m &= m - 1;
		}
	}
	score = xcalloc(r->n_depts, sizeof(*score));
	slot = xmalloc(r->n_depts * sizeof(*slot));
	for (i = 0; i < n_kws; i++) {
		const struct kw *kw = &r->kws[kws[i]];

		if (score[kw->dept] == 0)
			slot[kw->dept] = res->n_scores++;
		score[kw->dept] += BIT_GET(hs.subj, kw->term) ? 2 : 1;
		strbytes += kw->orig_len;
	}
	/* one block for every matched list and its strings, owned by the
	 * result; departments come out in config order as keywords do */
	res->scores = xcalloc(res->n_scores, sizeof(*res->scores));
	ptrs = xmalloc(n_kws * sizeof(char *) + strbytes);
	strs = (char *)(ptrs + n_kws);
	for (i = 0; i < n_kws; i++) {
		const struct kw *kw = &r->kws[kws[i]];
		struct router_dept_score *ds = &res->scores[slot[kw->dept]];

		if (ds->matched == NULL) {
			ds->dept = kw->dept;
			ds->score = score[kw->dept];
			ds->matched = ptrs;
			if (ds->score > best) {
				best = ds->score;
				best_dept = kw->dept;
			}
		}
		memcpy(strs, kw->orig, kw->orig_len);
		*ptrs++ = strs;
		ds->n_matched++;
		strs += kw->orig_len;
	}
	res->dept = best_dept;
	res->score = best;
done:
	free(kwbits);
	free(kws);
	free(score);
	free(slot);
	free(hs.list);
	free(hs.seen);
}

void
router_result_free(struct router_result *res)
{
	/* scores[0].matched heads the single block of lists and strings */
	if (res->n_scores > 0)
		free(res->scores[0].matched);
	free(res->scores);
	res->scores = NULL;
	res->n_scores = 0;
}
