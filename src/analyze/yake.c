/*
 * yake.c — YAKE-style statistical keyword extraction (Campos et al. 2020), written for
 * dossier from the published feature definitions.
 *
 * Per word t (lower-cased):
 *   Tcase = max(TF_upper, TF_acronym) / (1 + ln TF)   capitalised off sentence start
 *   Tpos  = ln(ln(3 + median sentence index))          early words matter more
 *   TFnorm= TF / (mean TF + sd TF)                      over non-stop words
 *   Trel  = 1 + (DL + DR) * TF / maxTF                  DL, DR: distinct/total neighbours
 *   Tsent = sentences containing t / sentences
 *   S(t)  = Trel * Tpos / (Tcase + TFnorm/Trel + Tsent/Trel)        (lower is better)
 * A candidate is an n-gram (1..3 words) inside one punctuation-free chunk that neither
 * starts nor ends with a stop word and holds no number; its score is
 *   S(kw) = prod S(t) / (TF(kw) * (1 + sum S(t)))      over its non-stop words.
 * Candidates whose words have the same singular forms ("bee"/"bees") are merged,
 * keeping the better one.
 */
#include "analyze/internal.h"
#include "core/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define YAKE_MAX_CANDIDATES (1u << 20)   /* distinct n-grams tracked at most (memory bound) */

struct term {
	uint32_t tf, tf_upper, tf_acr, sf;
	double median_sent;
	double dl, dr;
	double s;        /* S(t) */
};

struct cand {
	uint32_t w[3];
	uint32_t n;
	uint32_t tf;
};

struct ctab {
	struct cand *v;      /* slots; n == 0 means empty */
	size_t mask;
	size_t count;
};

static uint64_t cand_hash(const uint32_t *w, uint32_t n)
{
	uint64_t h = 0x9E3779B97F4A7C15ull * (n + 1);
	for (uint32_t i = 0; i < n; i++) {
		h ^= w[i] + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
	}
	return h;
}

static void ctab_add(struct ctab *ct, const uint32_t *w, uint32_t n)
{
	size_t i = (size_t)cand_hash(w, n) & ct->mask;
	while (ct->v[i].n) {
		struct cand *c = &ct->v[i];
		if (c->n == n && memcmp(c->w, w, n * sizeof *w) == 0) {
			c->tf++;
			return;
		}
		i = (i + 1) & ct->mask;
	}
	if (ct->count >= YAKE_MAX_CANDIDATES || (ct->count + 1) * 2 > ct->mask + 1)
		return;   /* table full: later new n-grams are ignored, known ones still count */
	struct cand *c = &ct->v[i];
	memset(c, 0, sizeof *c);
	memcpy(c->w, w, n * sizeof *w);
	c->n = n;
	c->tf = 1;
	ct->count++;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static size_t count_distinct(uint32_t *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof *v, cmp_u32);
	size_t d = 1;
	for (size_t i = 1; i < n; i++)
		d += v[i] != v[i - 1];
	return d;
}

static int cmp_kw(const void *a, const void *b)
{
	const struct an_keyword *x = a, *y = b;
	if (x->score != y->score)
		return x->score < y->score ? -1 : 1;
	if (x->n != y->n)
		return x->n - y->n;
	return memcmp(x->words, y->words, sizeof x->words);
}

/* The singular form of a lower-case word, for merging candidates: drops a final 's'
 * (not "ss", "us", "is") from words of 4+ bytes. */
static size_t singular_len(const char *s, size_t n)
{
	if (n >= 4 && s[n - 1] == 's' && s[n - 2] != 's' && s[n - 2] != 'u' && s[n - 2] != 'i')
		return n - 1;
	return n;
}

static int same_singular(const struct an_doc *doc, const struct an_keyword *a,
			 const struct an_keyword *b)
{
	if (a->n != b->n)
		return 0;
	for (int i = 0; i < a->n; i++) {
		const char *x = an_intern_str(&doc->words, a->words[i]);
		const char *y = an_intern_str(&doc->words, b->words[i]);
		size_t lx = singular_len(x, doc->words.len[a->words[i]]);
		size_t ly = singular_len(y, doc->words.len[b->words[i]]);
		if (lx != ly || memcmp(x, y, lx) != 0)
			return 0;
	}
	return 1;
}

/* Numbers are not neighbours for relatedness (they are not terms). */
static int usable(const struct an_tok *tk)
{
	return !(tk->flags & AN_TOK_NUMBER);
}

int an_yake(const struct an_doc *doc, size_t max_out, struct an_keyword **out, size_t *n_out)
{
	int rc = DOSSIER_ENOMEM;
	uint32_t nw = doc->words.count;
	struct term *terms = NULL;
	uint32_t *start = NULL, *occ = NULL, *tmp = NULL, *sent_ord = NULL;
	struct ctab ct = { 0 };
	struct an_keyword *kws = NULL, *res = NULL;

	*out = NULL;
	*n_out = 0;
	if (nw == 0 || doc->ntoks == 0 || max_out == 0)
		return 0;
	terms = calloc(nw, sizeof *terms);
	start = calloc((size_t)nw + 1, sizeof *start);
	occ = malloc(doc->ntoks * sizeof *occ);
	tmp = malloc(doc->ntoks * sizeof *tmp);
	sent_ord = malloc((doc->nsents ? doc->nsents : 1) * sizeof *sent_ord);
	if (!terms || !start || !occ || !tmp || !sent_ord)
		goto out;

	/* Ordinal of each tokenised sentence (code blocks do not count). */
	uint32_t nsent = 0;
	for (size_t s = 0; s < doc->nsents; s++) {
		sent_ord[s] = nsent;
		nsent += doc->sent_ntok[s] > 0;
	}
	if (nsent == 0)
		nsent = 1;

	/* Occurrence lists per word, in document order (counting sort). */
	for (size_t k = 0; k < doc->ntoks; k++)
		start[doc->toks[k].word + 1]++;
	for (uint32_t w = 0; w < nw; w++)
		start[w + 1] += start[w];
	memcpy(tmp, start, nw * sizeof *tmp);
	for (size_t k = 0; k < doc->ntoks; k++)
		occ[tmp[doc->toks[k].word]++] = (uint32_t)k;

	/* Features per word. */
	double sum_tf = 0, sum_tf2 = 0, max_tf = 1;
	size_t n_valid = 0;
	for (uint32_t w = 0; w < nw; w++) {
		struct term *t = &terms[w];
		uint32_t a = start[w], b = start[w + 1];
		t->tf = b - a;
		if (!t->tf)
			continue;
		uint32_t last_sent = UINT32_MAX;
		for (uint32_t i = a; i < b; i++) {
			const struct an_tok *tk = &doc->toks[occ[i]];
			if (tk->flags & AN_TOK_ALL_UPPER)
				t->tf_acr++;
			else if ((tk->flags & AN_TOK_UPPER_INITIAL) && !(tk->flags & AN_TOK_SENT_START))
				t->tf_upper++;
			if (tk->sent != last_sent) {
				t->sf++;
				last_sent = tk->sent;
			}
		}
		t->median_sent = sent_ord[doc->toks[occ[a + t->tf / 2]].sent];
		/* left and right neighbours inside the same chunk */
		size_t nl = 0, nr = 0;
		for (uint32_t i = a; i < b; i++) {
			size_t k = occ[i];
			const struct an_tok *tk = &doc->toks[k];
			if (k > 0 && !(tk->flags & (AN_TOK_BREAK_BEFORE | AN_TOK_SENT_START)) &&
			    usable(&doc->toks[k - 1]))
				tmp[nl++] = doc->toks[k - 1].word;
		}
		t->dl = nl ? (double)count_distinct(tmp, nl) / (double)nl : 0;
		for (uint32_t i = a; i < b; i++) {
			size_t k = occ[i];
			if (k + 1 < doc->ntoks && doc->toks[k + 1].sent == doc->toks[k].sent &&
			    !(doc->toks[k + 1].flags & AN_TOK_BREAK_BEFORE) &&
			    usable(&doc->toks[k + 1]))
				tmp[nr++] = doc->toks[k + 1].word;
		}
		t->dr = nr ? (double)count_distinct(tmp, nr) / (double)nr : 0;
		if (!doc->word_stop[w] && !(doc->toks[occ[a]].flags & AN_TOK_NUMBER)) {
			sum_tf += t->tf;
			sum_tf2 += (double)t->tf * t->tf;
			n_valid++;
			if (t->tf > max_tf)
				max_tf = t->tf;
		}
	}
	double mean = n_valid ? sum_tf / (double)n_valid : 1;
	double var = n_valid ? sum_tf2 / (double)n_valid - mean * mean : 0;
	double sd = var > 0 ? sqrt(var) : 0;
	for (uint32_t w = 0; w < nw; w++) {
		struct term *t = &terms[w];
		if (!t->tf)
			continue;
		double tcase = (double)(t->tf_upper > t->tf_acr ? t->tf_upper : t->tf_acr) /
			       (1.0 + log((double)t->tf));
		double tpos = log(log(3.0 + t->median_sent));
		double tfnorm = (double)t->tf / (mean + sd);
		double trel = 1.0 + (t->dl + t->dr) * ((double)t->tf / max_tf);
		double tsent = (double)t->sf / (double)nsent;
		t->s = (trel * tpos) / (tcase + tfnorm / trel + tsent / trel);
	}

	/* Candidate n-grams. */
	size_t slots = 1024;
	/* at most 3 n-grams start at each token; keep the table at most half full */
	size_t want = doc->ntoks * 3 < YAKE_MAX_CANDIDATES ? doc->ntoks * 3 : YAKE_MAX_CANDIDATES;
	want *= 2;
	while (slots < want)
		slots *= 2;
	ct.v = calloc(slots, sizeof *ct.v);
	ct.mask = slots - 1;
	if (!ct.v)
		goto out;
	for (size_t k = 0; k < doc->ntoks; k++) {
		uint32_t w[3];
		for (uint32_t n = 0; n < 3 && k + n < doc->ntoks; n++) {
			const struct an_tok *tk = &doc->toks[k + n];
			if (n > 0 && (tk->sent != doc->toks[k].sent || (tk->flags & AN_TOK_BREAK_BEFORE)))
				break;
			if (tk->flags & AN_TOK_NUMBER)
				break;
			w[n] = tk->word;
			if (doc->word_stop[w[0]])
				break;
			if (!doc->word_stop[tk->word])
				ctab_add(&ct, w, n + 1);
		}
	}

	kws = malloc((ct.count ? ct.count : 1) * sizeof *kws);
	if (!kws)
		goto out;
	size_t nk = 0;
	for (size_t i = 0; i <= ct.mask; i++) {
		const struct cand *c = &ct.v[i];
		if (!c->n)
			continue;
		double prod = 1, sum = 0;
		for (uint32_t j = 0; j < c->n; j++) {
			if (doc->word_stop[c->w[j]])
				continue;
			prod *= terms[c->w[j]].s;
			sum += terms[c->w[j]].s;
		}
		struct an_keyword *kw = &kws[nk++];
		memset(kw, 0, sizeof *kw);
		memcpy(kw->words, c->w, c->n * sizeof *c->w);
		kw->n = (int)c->n;
		kw->score = prod / ((double)c->tf * (1.0 + sum));
	}
	qsort(kws, nk, sizeof *kws, cmp_kw);

	res = malloc(max_out * sizeof *res);
	if (!res)
		goto out;
	size_t nr = 0;
	for (size_t i = 0; i < nk && nr < max_out; i++) {
		int dup = 0;
		for (size_t j = 0; j < nr && !dup; j++)
			dup = same_singular(doc, &kws[i], &res[j]);
		if (!dup)
			res[nr++] = kws[i];
	}
	*out = res;
	*n_out = nr;
	res = NULL;
	rc = 0;
out:
	free(terms);
	free(start);
	free(occ);
	free(tmp);
	free(sent_ord);
	free(ct.v);
	free(kws);
	free(res);
	return rc;
}
