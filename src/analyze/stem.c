/*
 * stem.c — word stems for TextRank's sentence overlap: Snowball (libstemmer) for the
 * document's language, and a language-neutral fallback (the lower-case word without a
 * plural 's', cut to 6 letters) when the language is "und" or has no Snowball stemmer.
 *
 * A Snowball stemmer object is not safe to share between threads, so each analysis
 * makes its own (an_stemmer_new costs about a microsecond; see bench/lang.c) and frees
 * it when done.
 */
#include "analyze/internal.h"

#include <libstemmer.h>
#include <stdlib.h>
#include <string.h>

struct an_stemmer {
	struct sb_stemmer *sb;   /* NULL: the neutral fallback */
};

struct an_stemmer *an_stemmer_new(const char *code)
{
	struct an_stemmer *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	/* Snowball knows the ISO 639-1 codes of its languages ("en", "ru", "sv"...). */
	if (code && strcmp(code, "und") != 0 && strlen(code) == 2)
		s->sb = sb_stemmer_new(code, "UTF_8");
	return s;
}

void an_stemmer_free(struct an_stemmer *s)
{
	if (!s)
		return;
	sb_stemmer_delete(s->sb);
	free(s);
}

int an_stemmer_snowball(const struct an_stemmer *s)
{
	return s && s->sb;
}

size_t an_stem_neutral(const char *w, size_t n, char *out)
{
	size_t cps = 0, i = 0;
	while (i < n) {
		size_t adv;
		an_utf8_decode(w + i, n - i, &adv);
		i += adv;
		cps++;
	}
	if (cps >= 4 && w[n - 1] == 's' && w[n - 2] != 's' && w[n - 2] != 'u' && w[n - 2] != 'i')
		n--;
	size_t k = 0, c = 0;
	while (k < n && c < 6) {
		size_t adv;
		an_utf8_decode(w + k, n - k, &adv);
		k += adv;
		c++;
	}
	memcpy(out, w, k);
	return k;
}

size_t an_stem(struct an_stemmer *s, const char *w, size_t n, char *out, size_t cap)
{
	if (s && s->sb && n > 0 && n < (size_t)1 << 20) {
		const sb_symbol *r = sb_stemmer_stem(s->sb, (const sb_symbol *)w, (int)n);
		if (r) {
			size_t rl = (size_t)sb_stemmer_length(s->sb);
			if (rl > 0 && rl <= cap) {
				memcpy(out, r, rl);
				return rl;
			}
		}
		/* out of memory in the stemmer, or an empty stem: keep the word's neutral stem */
	}
	return an_stem_neutral(w, n, out);
}
