/*
 * doc.c — turns normalised text into sentences and word tokens (struct an_doc), stems
 * its words (stem.c), and guesses its language from stop-word frequencies (the
 * fallback of lang.c's classifier).
 *
 * Tokens are runs of letters and digits; inner hyphens and underscores join a word
 * ("state-of-the-art"), inner dots and commas join a number ("1,234.56"), and an
 * apostrophe joins only English contractions ("don't") so that elisions split
 * ("l'homme" -> "l" "homme"). URLs and e-mail addresses are skipped (they are entities,
 * not words). Code blocks are counted but not tokenised.
 */
#include "analyze/internal.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

#define TOK_TMP_MAX 256   /* bytes of one lower-cased word kept; longer ones are cut */

static int is_ws(uint32_t cp)
{
	return cp == '\n' || cp == '\r' || an_is_space(cp);
}

static int is_alnum_cp(uint32_t cp)
{
	return an_is_letter(cp) || an_is_digit(cp);
}

/* The longest e-mail address worth recognising (RFC 5321 allows 254). */
#define EMAIL_MAX 320

static int url_delim(char c)
{
	return strchr(" \t\n\r\f\v<>\"", c) != NULL;
}

/* Length of the URL or e-mail address starting at s (a word start), 0 if
 * none. Linear overall: what is recognised is skipped whole by the caller, and
 * the look for an e-mail's '@' never goes past EMAIL_MAX bytes. */
static size_t url_or_email_len(const char *s, size_t n)
{
	int url = (n >= 7 && strncmp(s, "http://", 7) == 0) || (n >= 8 && strncmp(s, "https://", 8) == 0) ||
	          (n >= 5 && strncmp(s, "www.", 4) == 0);
	size_t run = 0, at = 0;
	while (run < n && !url_delim(s[run])) {
		if (!url && !at && s[run] == '@')
			at = run;
		if (!url && !at && run >= EMAIL_MAX)
			return 0; /* no '@' early enough: not an address */
		run++;
	}
	if (url)
		return run >= 5 ? run : 0;
	if (at > 0 && memchr(s + at, '.', run - at))
		return run;
	return 0;
}

struct tok_vec {
	struct an_tok *v;
	size_t n, cap;
};

static int tok_push(struct tok_vec *tv, struct an_tok t)
{
	if (tv->n == tv->cap) {
		size_t cap = tv->cap ? tv->cap * 2 : 1024;
		struct an_tok *v = realloc(tv->v, cap * sizeof *v);
		if (!v)
			return -1;
		tv->v = v;
		tv->cap = cap;
	}
	tv->v[tv->n++] = t;
	return 0;
}

static int is_contraction_tail(const char *s, size_t n)
{
	static const char *const tails[] = { "s", "t", "re", "ve", "ll", "d", "m", NULL };
	for (int i = 0; tails[i]; i++)
		if (strlen(tails[i]) == n && memcmp(tails[i], s, n) == 0)
			return 1;
	return 0;
}

/* Counts words (runs of non-space holding a letter or digit) in [a, b). */
static size_t count_words(const char *t, size_t a, size_t b)
{
	size_t n = 0;
	int in = 0, has = 0;
	for (size_t i = a; i <= b; i++) {
		char c = i < b ? t[i] : ' ';
		if (c == ' ' || c == '\n' || c == '\t') {
			n += (in && has);
			in = has = 0;
		} else {
			in = 1;
			has |= (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z') ||
			       (unsigned char)c >= 0x80;
		}
	}
	return n;
}

static int tokenize_sentence(struct an_doc *doc, struct tok_vec *tv, uint32_t si)
{
	const char *t = doc->text;
	size_t a = doc->sents[si].start, b = doc->sents[si].end;
	size_t i = a, prev_end = a;
	int first = 1;
	char tmp[TOK_TMP_MAX + 4];

	while (i < b) {
		size_t adv;
		uint32_t cp = an_utf8_decode(t + i, b - i, &adv);
		if (!is_alnum_cp(cp)) {
			i += adv;
			continue;
		}
		size_t skip = (i == a || is_ws(an_utf8_decode(t + i - 1, 1, &adv)) ||
			       strchr("(<[\"'", t[i - 1]))
				      ? url_or_email_len(t + i, b - i) : 0;
		if (skip) {
			i += skip;
			prev_end = 0;   /* force a break before the next token */
			continue;
		}
		size_t ws = i, k = 0;
		int number = an_is_digit(cp), letters = 0, uppers = 0, upper_initial = an_is_upper(cp);
		while (i < b) {
			cp = an_utf8_decode(t + i, b - i, &adv);
			if (is_alnum_cp(cp)) {
				uint32_t lc = an_lower(cp);
				if (an_is_letter(cp)) {
					letters++;
					uppers += an_is_upper(cp);
				}
				if (k + 4 <= TOK_TMP_MAX)
					k += an_utf8_encode(lc, tmp + k);
				i += adv;
				continue;
			}
			/* joiners between two alphanumerics */
			size_t adv2;
			uint32_t nx = i + adv < b ? an_utf8_decode(t + i + adv, b - i - adv, &adv2) : 0;
			if (!is_alnum_cp(nx))
				break;
			if (cp == '-' || cp == '_' || cp == 0x2011) {
				if (k + 1 <= TOK_TMP_MAX)
					tmp[k++] = '-';
				i += adv;
				continue;
			}
			if ((cp == '.' || cp == ',') && number && an_is_digit(nx)) {
				if (k + 1 <= TOK_TMP_MAX)
					tmp[k++] = (char)cp;
				i += adv;
				continue;
			}
			if (cp == '\'' || cp == 0x2019) {
				size_t q = i + adv, r = 0;
				char tail[4];
				while (q < b && r < 3) {
					size_t a3;
					uint32_t c3 = an_utf8_decode(t + q, b - q, &a3);
					if (!an_is_letter(c3))
						break;
					tail[r++] = (char)an_lower(c3);
					q += a3;
				}
				int end_ok = (q >= b) || !an_is_letter(an_utf8_decode(t + q, b - q, &adv2));
				if (end_ok && is_contraction_tail(tail, r) && letters > 1) {
					if (k + 1 <= TOK_TMP_MAX)
						tmp[k++] = '\'';
					i += adv;
					continue;
				}
			}
			break;
		}
		uint32_t id = an_intern_add(&doc->words, tmp, k);
		if (id == UINT32_MAX)
			return -1;
		uint16_t flags = 0;
		if (first)
			flags |= AN_TOK_SENT_START;
		if (number)
			flags |= AN_TOK_NUMBER;
		if (upper_initial)
			flags |= AN_TOK_UPPER_INITIAL;
		if (letters >= 2 && uppers == letters)
			flags |= AN_TOK_ALL_UPPER;
		if (!first) {
			if (prev_end == 0) {
				flags |= AN_TOK_BREAK_BEFORE;
			} else {
				for (size_t g = prev_end; g < ws; g++)
					if (!strchr(" \t\n\r", t[g])) {
						flags |= AN_TOK_BREAK_BEFORE;
						break;
					}
			}
		}
		size_t tl = i - ws;
		struct an_tok tok = { (uint32_t)ws, id, si, (uint16_t)(tl > 0xFFFF ? 0xFFFF : tl), flags };
		if (tok_push(tv, tok) != 0)
			return -1;
		first = 0;
		prev_end = i;
	}
	return 0;
}

int an_doc_build(struct an_doc *doc, const char *text, size_t len)
{
	struct tok_vec tv = { 0 };
	memset(doc, 0, sizeof *doc);
	doc->text = text;
	doc->len = len;
	an_intern_init(&doc->words);
	an_intern_init(&doc->stems);
	if (sentence_split(text, len, &doc->sents, &doc->nsents, NULL) != 0)
		return DOSSIER_ENOMEM;
	size_t ns = doc->nsents ? doc->nsents : 1;
	doc->sent_tok0 = calloc(ns, sizeof *doc->sent_tok0);
	doc->sent_ntok = calloc(ns, sizeof *doc->sent_ntok);
	if (!doc->sent_tok0 || !doc->sent_ntok)
		goto fail;
	for (size_t s = 0; s < doc->nsents; s++) {
		doc->sent_tok0[s] = (uint32_t)tv.n;
		if (doc->sents[s].kind == SENTENCE_KIND_CODE) {
			doc->code_words += count_words(text, doc->sents[s].start, doc->sents[s].end);
			continue;
		}
		if (tokenize_sentence(doc, &tv, (uint32_t)s) != 0)
			goto fail;
		doc->sent_ntok[s] = (uint32_t)(tv.n - doc->sent_tok0[s]);
	}
	doc->toks = tv.v;
	doc->ntoks = tv.n;
	tv.v = NULL;

	uint32_t nw = doc->words.count ? doc->words.count : 1;
	doc->word_stem = calloc(nw, sizeof *doc->word_stem);
	doc->word_stop = calloc(nw, 1);
	doc->word_mask = calloc(nw, 1);
	doc->word_lower_count = calloc(nw, sizeof *doc->word_lower_count);
	if (!doc->word_stem || !doc->word_stop || !doc->word_mask || !doc->word_lower_count)
		goto fail;
	for (uint32_t w = 0; w < doc->words.count; w++)
		doc->word_mask[w] = (uint8_t)an_stopword_mask(an_intern_str(&doc->words, w),
							      doc->words.len[w]);
	for (size_t k = 0; k < doc->ntoks; k++) {
		const struct an_tok *tk = &doc->toks[k];
		size_t adv;
		uint32_t cp = an_utf8_decode(text + tk->off, len - tk->off, &adv);
		if (an_is_letter(cp) && !an_is_upper(cp))
			doc->word_lower_count[tk->word]++;
	}
	an_doc_set_stop_langs(doc, AN_LANG_ALL);
	return 0;
fail:
	free(tv.v);
	an_doc_free(doc);
	return DOSSIER_ENOMEM;
}

int an_doc_stem(struct an_doc *doc, struct an_stemmer *st)
{
	an_intern_free(&doc->stems);
	an_intern_init(&doc->stems);
	for (uint32_t w = 0; w < doc->words.count; w++) {
		char out[TOK_TMP_MAX + 4];
		size_t sl = an_stem(st, an_intern_str(&doc->words, w), doc->words.len[w], out,
				    TOK_TMP_MAX);
		uint32_t sid = an_intern_add(&doc->stems, out, sl);
		if (sid == UINT32_MAX)
			return DOSSIER_ENOMEM;
		doc->word_stem[w] = sid;
	}
	return 0;
}

void an_doc_set_stop_langs(struct an_doc *doc, unsigned mask)
{
	doc->stop_langs = mask;
	for (uint32_t w = 0; w < doc->words.count; w++) {
		const char *s = an_intern_str(&doc->words, w);
		size_t adv;
		an_utf8_decode(s, doc->words.len[w], &adv);
		int single = adv >= doc->words.len[w];   /* one character: never a keyword */
		doc->word_stop[w] = (uint8_t)(((doc->word_mask[w] & mask) != 0) || single);
	}
}

void an_doc_free(struct an_doc *doc)
{
	if (!doc)
		return;
	free(doc->sents);
	free(doc->sent_tok0);
	free(doc->sent_ntok);
	free(doc->toks);
	free(doc->word_stem);
	free(doc->word_stop);
	free(doc->word_mask);
	free(doc->word_lower_count);
	an_intern_free(&doc->words);
	an_intern_free(&doc->stems);
	memset(doc, 0, sizeof *doc);
}

/* ---------------------------------------------------------- language guess ---- */

/* Letters that only some of our languages use, as extra evidence: code point, the
 * languages that use it, and a weight per occurrence. */
static const struct {
	uint32_t cp;
	unsigned mask;
	double weight;
} lang_letters[] = {
	{ 0xDF, 1u << AN_LANG_DE, 1.0 },                                  /* ß */
	{ 0xE4, 1u << AN_LANG_DE, 0.5 },                                  /* ä */
	{ 0xF6, 1u << AN_LANG_DE, 0.5 },                                  /* ö */
	{ 0xFC, 1u << AN_LANG_DE, 0.3 },                                  /* ü */
	{ 0xF1, 1u << AN_LANG_ES, 1.0 },                                  /* ñ */
	{ 0xE3, 1u << AN_LANG_PT, 1.0 },                                  /* ã */
	{ 0xF5, 1u << AN_LANG_PT, 1.0 },                                  /* õ */
	{ 0xE7, (1u << AN_LANG_PT) | (1u << AN_LANG_FR), 0.3 },           /* ç */
	{ 0xE8, (1u << AN_LANG_FR) | (1u << AN_LANG_IT), 0.3 },           /* è */
	{ 0xEA, (1u << AN_LANG_FR) | (1u << AN_LANG_PT), 0.3 },           /* ê */
	{ 0xF9, (1u << AN_LANG_FR) | (1u << AN_LANG_IT), 0.3 },           /* ù */
	{ 0xF2, 1u << AN_LANG_IT, 0.5 },                                  /* ò */
	{ 0x153, 1u << AN_LANG_FR, 1.0 },                                 /* œ */
};

#define LANG_SAMPLE_TOKENS 20000   /* tokens looked at; enough for any document */

int an_lang_guess_sure(const struct an_doc *doc, int *sure)
{
	*sure = 0;
	double score[AN_LANG_COUNT] = { 0 };
	size_t words = 0, hits = 0;
	size_t lim = doc->ntoks < LANG_SAMPLE_TOKENS ? doc->ntoks : LANG_SAMPLE_TOKENS;

	for (size_t k = 0; k < lim; k++) {
		const struct an_tok *tk = &doc->toks[k];
		if (tk->flags & AN_TOK_NUMBER)
			continue;
		words++;
		unsigned m = doc->word_mask[tk->word];
		if (!m)
			continue;
		hits++;
		int langs = __builtin_popcount(m);
		for (int l = 0; l < AN_LANG_COUNT; l++)
			if (m & (1u << l))
				score[l] += 1.0 / langs;
	}
	/* letter evidence, over the same stretch of text */
	size_t end = lim ? doc->toks[lim - 1].off + doc->toks[lim - 1].len : 0;
	for (size_t i = 0; i < end;) {
		size_t adv;
		uint32_t cp = an_lower(an_utf8_decode(doc->text + i, end - i, &adv));
		i += adv;
		if (cp < 0xDF)
			continue;
		for (size_t j = 0; j < sizeof lang_letters / sizeof lang_letters[0]; j++)
			if (lang_letters[j].cp == cp)
				for (int l = 0; l < AN_LANG_COUNT; l++)
					if (lang_letters[j].mask & (1u << l))
						score[l] += lang_letters[j].weight;
	}
	int best = -1, second = -1;
	for (int l = 0; l < AN_LANG_COUNT; l++) {
		if (best < 0 || score[l] > score[best]) {
			second = best;
			best = l;
		} else if (second < 0 || score[l] > score[second]) {
			second = l;
		}
	}
	/* Too little text, too few function words, or two languages too close to call. */
	if (words < 8 || hits < 3 || score[best] < 2.0)
		return -1;
	if (score[best] < 1.25 * score[second])
		return -1;
	/* sure: a page's worth of words, a function-word share a text in that language
	 * has (a text in another language hits the lists by chance, far less often), and
	 * a clear lead */
	*sure = words >= 40 && hits * 3 >= words && score[best] >= 3.0 * score[second];
	return best;
}

int an_lang_guess(const struct an_doc *doc)
{
	int sure;
	return an_lang_guess_sure(doc, &sure);
}
