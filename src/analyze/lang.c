/*
 * lang.c — the document's language: libexttextcat's n-gram classifier over a sample of
 * the text, combined with the stop-word guess of doc.c (an_lang_guess).
 *
 * The classifier's models are loaded once per process (about 160 fingerprints from
 * AN_TEXTCAT_DIR, a few milliseconds; see bench/lang.c). textcat_Classify writes into
 * a buffer inside the handle and is not re-entrant; textcat_ClassifyFull with a
 * candidate array of the caller's only reads the handle, so every analysis uses that
 * one shared handle with its own array, from any thread, without a lock.
 *
 * How the two are combined (measured by bench/lang.c on texts of a sentence, a
 * paragraph and a page): n-grams are right more often on anything longer than a few
 * words, and they know languages outside the seven stop lists; the stop-word guess is
 * the better judge of "too little to say" on a fragment. So: a sample with fewer than
 * AN_TC_MIN_LETTERS letters keeps the stop-word answer; otherwise exttextcat's best
 * candidate is taken when it gave at most AN_TC_MAX_CANDIDATES candidates (a longer
 * list means the text is ambiguous), preferring a candidate the stop words agree with.
 */
#include "analyze/internal.h"

#include <textcat.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef AN_TEXTCAT_DIR
#define AN_TEXTCAT_DIR "/usr/share/libexttextcat/"
#endif

#define AN_TC_SAMPLE 4096          /* bytes of text the classifier looks at */
#define AN_TC_MIN_LETTERS 40       /* fewer letters: the stop-word guess decides */
#define AN_TC_MAX_CANDIDATES 2     /* more candidates within 3 %: not confident */

static void *g_tc;
static double g_tc_load_s;
static pthread_once_t g_tc_once = PTHREAD_ONCE_INIT;

static void tc_load(void)
{
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	g_tc = special_textcat_Init(AN_TEXTCAT_DIR "fpdb.conf", AN_TEXTCAT_DIR);
	clock_gettime(CLOCK_MONOTONIC, &b);
	g_tc_load_s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

int an_textcat_ready(double *load_s)
{
	pthread_once(&g_tc_once, tc_load);
	if (load_s)
		*load_s = g_tc_load_s;
	return g_tc != NULL;
}

/* ISO 639-1 code of an exttextcat category name ("en--utf8", "zh-CN-utf8", "sh--utf8")
 * into code (4 bytes); 0 when the name has no two-letter code (3-letter languages). */
static int tc_code(const char *name, char code[4])
{
	if (!name || !((name[0] >= 'a' && name[0] <= 'z') && (name[1] >= 'a' && name[1] <= 'z')) ||
	    name[2] != '-')
		return 0;
	code[0] = name[0];
	code[1] = name[1];
	code[2] = '\0';
	if (strcmp(code, "sh") == 0)   /* Serbian in Latin letters */
		strcpy(code, "sr");
	return 1;
}

int an_textcat_classify(const char *s, size_t n, char codes[][4], int max, int *ncodes)
{
	*ncodes = 0;
	if (!an_textcat_ready(NULL))
		return -1;
	candidate_t *cand = textcat_GetClassifyFullOutput(g_tc);
	char *buf = malloc(n + 1);
	if (!cand || !buf) {
		textcat_ReleaseClassifyFullOutput(g_tc, cand);
		free(buf);
		return -1;
	}
	memcpy(buf, s, n);   /* the classifier reads up to a NUL */
	buf[n] = '\0';
	int cnt = textcat_ClassifyFull(g_tc, buf, n, cand);
	int out = 0;
	for (int i = 0; i < cnt && out < max; i++)
		if (tc_code(cand[i].name, codes[out]))
			out++;
	*ncodes = out;
	textcat_ReleaseClassifyFullOutput(g_tc, cand);
	free(buf);
	return cnt > 0 ? cnt : 0;
}

int an_lang_index(const char *code)
{
	for (int l = 0; l < AN_LANG_COUNT; l++)
		if (strcmp(an_lang_code((enum an_lang)l), code) == 0)
			return l;
	return -1;
}

/* The text of the non-code sentences, joined by spaces, up to AN_TC_SAMPLE bytes and
 * cut at a character boundary: a new string (NULL on out-of-memory); *letters counts
 * its letters. */
static char *lang_sample(const struct an_doc *doc, size_t *len, size_t *letters)
{
	char *b = malloc(AN_TC_SAMPLE + 1);
	if (!b)
		return NULL;
	size_t n = 0;
	*letters = 0;
	for (size_t s = 0; s < doc->nsents && n < AN_TC_SAMPLE; s++) {
		if (doc->sents[s].kind == SENTENCE_KIND_CODE)
			continue;
		size_t a = doc->sents[s].start, e = doc->sents[s].end;
		if (n && n < AN_TC_SAMPLE)
			b[n++] = ' ';
		while (a < e) {
			size_t adv;
			uint32_t cp = an_utf8_decode(doc->text + a, e - a, &adv);
			if (n + adv > AN_TC_SAMPLE)
				break;   /* whole characters only */
			if (cp == '\n' || cp == '\r' || cp == '\t')
				b[n] = ' ';
			else
				memcpy(b + n, doc->text + a, adv);
			*letters += an_is_letter(cp) != 0;
			n += adv;
			a += adv;
		}
		if (a < e)
			break;
	}
	b[n] = '\0';
	*len = n;
	return b;
}

void an_lang_detect(const struct an_doc *doc, struct an_lang_result *r)
{
	int sure = 0;
	int sw = an_lang_guess_sure(doc, &sure);
	r->lang = sw;
	strcpy(r->code, sw >= 0 ? an_lang_code((enum an_lang)sw) : "und");
	r->method = "offline:stopwords";
	if (sure)
		return;   /* a clear case for the stop lists: the classifier (~1 ms) is not asked */

	size_t n = 0, letters = 0;
	char *sample = lang_sample(doc, &n, &letters);
	if (!sample)
		return;
	char codes[AN_TC_MAX_CANDIDATES][4];
	int ncodes = 0;
	int cnt = letters >= AN_TC_MIN_LETTERS
			  ? an_textcat_classify(sample, n, codes, AN_TC_MAX_CANDIDATES, &ncodes) : 0;
	free(sample);
	if (cnt <= 0 || cnt > AN_TC_MAX_CANDIDATES || ncodes == 0)
		return;   /* not loaded, too short, unknown, too many close candidates, or
			     a language with no two-letter code */
	int pick = 0;
	for (int i = 0; i < ncodes && sw >= 0; i++)
		if (strcmp(codes[i], an_lang_code((enum an_lang)sw)) == 0)
			pick = i;
	memcpy(r->code, codes[pick], 4);
	r->lang = an_lang_index(r->code);
	r->method = "offline:textcat";
}
