/*
 * lang.c — language identification and stemming of the offline analysis, old
 * against new: the stop-word guess (an_lang_guess), libexttextcat alone (its best
 * candidate with a two-letter code, whatever the number of candidates), and the
 * combination the analysis uses (an_lang_detect), on texts of a sentence, a
 * paragraph (three sentences) and a page (every sentence of a language) in the seven
 * languages of the stop lists and four others (bench/lang_texts.h). Then the time per
 * call of each, exttextcat's model load, and the stemmers' cost (each time the fastest
 * of N rounds, which a busy machine disturbs least).
 *
 *   bench_lang [--rounds N]     (N timing rounds, default 200)
 *
 * For the seven languages a right code counts as correct; for the others the right
 * code is correct and "und" is counted apart (the old guess can only say "und").
 */
#include "analyze/internal.h"
#include "lang_texts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

enum { K_SENT, K_PARA, K_PAGE, K_N };
static const char *const kind_name[K_N] = { "sentence", "paragraph", "page" };
enum { M_OLD, M_TC, M_NEW, M_N };
static const char *const meth_name[M_N] = { "stopwords (old)", "textcat alone", "combined (new)" };

struct tally {
	int n, right, und;
};
/* [seven or other][kind][method] */
static struct tally tl[2][K_N][M_N];
static double tsum[K_N][M_N];
static int tcount[K_N];

static void textcat_alone(const char *text, size_t len, char out[4])
{
	char codes[1][4];
	int nc = 0;
	int cnt = an_textcat_classify(text, len, codes, 1, &nc);
	strcpy(out, cnt > 0 && nc > 0 ? codes[0] : "und");
}

static void one(const char *want, int other, int kind, const char *text, int rounds)
{
	struct an_doc doc;
	size_t len = strlen(text);
	if (an_doc_build(&doc, text, len) != 0) {
		fprintf(stderr, "bench_lang: out of memory\n");
		exit(1);
	}
	char got[M_N][4];
	int g = an_lang_guess(&doc);
	strcpy(got[M_OLD], g >= 0 ? an_lang_code((enum an_lang)g) : "und");
	textcat_alone(text, len, got[M_TC]);
	struct an_lang_result r;
	an_lang_detect(&doc, &r);
	strcpy(got[M_NEW], r.code);
	for (int m = 0; m < M_N; m++) {
		struct tally *t = &tl[other][kind][m];
		t->n++;
		t->right += strcmp(got[m], want) == 0;
		t->und += strcmp(got[m], "und") == 0;
	}
	if (getenv("BENCH_LANG_VERBOSE"))
		printf("  %-2s %-9s old %-3s textcat %-3s new %-3s (%s)\n", want, kind_name[kind],
		       got[M_OLD], got[M_TC], got[M_NEW], r.method);
	double best[M_N] = { 1e9, 1e9, 1e9 };
	for (int i = 0; i < rounds; i++) {
		double t0 = now();
		(void)an_lang_guess(&doc);
		double t1 = now();
		textcat_alone(text, len, got[M_TC]);
		double t2 = now();
		an_lang_detect(&doc, &r);
		double t3 = now();
		best[M_OLD] = t1 - t0 < best[M_OLD] ? t1 - t0 : best[M_OLD];
		best[M_TC] = t2 - t1 < best[M_TC] ? t2 - t1 : best[M_TC];
		best[M_NEW] = t3 - t2 < best[M_NEW] ? t3 - t2 : best[M_NEW];
	}
	for (int m = 0; m < M_N; m++)
		tsum[kind][m] += best[m];
	tcount[kind]++;
	an_doc_free(&doc);
}

static char *join(const char *const *s, int from, int n)
{
	size_t len = 1;
	for (int i = from; i < from + n; i++)
		len += strlen(s[i]) + 1;
	char *o = malloc(len);
	if (!o)
		exit(1);
	o[0] = '\0';
	for (int i = from; i < from + n; i++) {
		if (i > from)
			strcat(o, " ");
		strcat(o, s[i]);
	}
	return o;
}

static void stem_costs(int rounds)
{
	double bnew = 1e9;
	for (int i = 0; i < rounds * 10; i++) {
		double t0 = now();
		an_stemmer_free(an_stemmer_new("en"));
		double t1 = now();
		bnew = t1 - t0 < bnew ? t1 - t0 : bnew;
	}
	printf("\nstemmer: an_stemmer_new + free (Snowball, en): %.2f us per analysis\n", bnew * 1e6);
	/* stemming a page's words, neutral against Snowball */
	for (size_t l = 0; l < LANG_TEXTS_N; l++) {
		int n = 0;
		while (LANG_TEXTS[l].s[n])
			n++;
		char *page = join(LANG_TEXTS[l].s, 0, n);
		struct an_doc doc;
		if (an_doc_build(&doc, page, strlen(page)) != 0)
			exit(1);
		struct an_stemmer *sb = an_stemmer_new(LANG_TEXTS[l].code);
		double bn = 1e9, bs = 1e9;
		uint32_t neutral = 0;
		for (int i = 0; i < rounds; i++) {
			double a = now();
			an_doc_stem(&doc, NULL);
			double b = now();
			neutral = doc.stems.count;
			an_doc_stem(&doc, sb);
			double c = now();
			bn = b - a < bn ? b - a : bn;
			bs = c - b < bs ? c - b : bs;
		}
		printf("  %s: %u words, %u neutral stems in %.1f us, %u Snowball stems in %.1f us%s\n",
		       LANG_TEXTS[l].code, doc.words.count, neutral, bn * 1e6, doc.stems.count, bs * 1e6,
		       an_stemmer_snowball(sb) ? "" : " (no Snowball stemmer: neutral)");
		an_stemmer_free(sb);
		an_doc_free(&doc);
		free(page);
	}
}

int main(int argc, char **argv)
{
	int rounds = 200;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
			rounds = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: bench_lang [--rounds N]\n"
			       "Language identification (stop words, exttextcat, combined) and stemming:\n"
			       "accuracy on sentences, paragraphs and pages, and time per call.\n"
			       "BENCH_LANG_VERBOSE=1 prints every text's answers.\n");
			return 0;
		} else {
			fprintf(stderr, "bench_lang: unknown argument '%s' (try --help)\n", argv[i]);
			return 2;
		}
	}
	if (rounds < 1)
		rounds = 1;
	double load_s = 0;
	if (!an_textcat_ready(&load_s)) {
		fprintf(stderr, "bench_lang: libexttextcat's models are missing (libexttextcat-data)\n");
		return 1;
	}
	for (size_t l = 0; l < LANG_TEXTS_N; l++) {
		const struct lang_texts *lt = &LANG_TEXTS[l];
		int other = an_lang_index(lt->code) < 0;
		int n = 0;
		while (lt->s[n])
			n++;
		for (int i = 0; i < n; i++)
			one(lt->code, other, K_SENT, lt->s[i], rounds);
		for (int i = 0; i + 3 <= n; i++) {
			char *p = join(lt->s, i, 3);
			one(lt->code, other, K_PARA, p, rounds);
			free(p);
		}
		char *page = join(lt->s, 0, n);
		one(lt->code, other, K_PAGE, page, rounds);
		free(page);
	}
	printf("language identification: right / n (und)\n");
	printf("%-10s %-16s %-22s %-22s\n", "text", "method", "en de fr es it pt nl", "ru pl sv da");
	for (int k = 0; k < K_N; k++)
		for (int m = 0; m < M_N; m++) {
			char a[32], b[32];
			snprintf(a, sizeof a, "%d/%d (%d und)", tl[0][k][m].right, tl[0][k][m].n, tl[0][k][m].und);
			snprintf(b, sizeof b, "%d/%d (%d und)", tl[1][k][m].right, tl[1][k][m].n, tl[1][k][m].und);
			printf("%-10s %-16s %-22s %-22s\n", k == 0 || m == 0 ? kind_name[k] : "", meth_name[m], a, b);
		}
	printf("\ntime per call (the fastest of %d rounds, mean over the texts)\n", rounds);
	printf("%-10s %14s %14s %14s\n", "text", "stopwords", "textcat", "combined");
	for (int k = 0; k < K_N; k++)
		printf("%-10s %11.2f us %11.2f us %11.2f us\n", kind_name[k], tsum[k][M_OLD] / tcount[k] * 1e6,
		       tsum[k][M_TC] / tcount[k] * 1e6, tsum[k][M_NEW] / tcount[k] * 1e6);
	printf("exttextcat model load (once per process): %.1f ms\n", load_s * 1e3);
	stem_costs(rounds);
	return 0;
}
