/*
 * test_analyze_lang.c — the offline analysis's language (libexttextcat combined with the
 * stop-word guess) and its Snowball stems: the seven languages and others by code, a
 * fragment stays "und", the dossier says which method decided, classification from
 * several threads at once agrees with one thread, and stems join inflected forms.
 */
#include "analyze/internal.h"
#include "analyze/offline.h"
#include "core/err.h"

#include "../../bench/lang_texts.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static char *paragraph(const struct lang_texts *lt, int from, int n)
{
	size_t len = 1;
	for (int i = from; i < from + n && lt->s[i]; i++)
		len += strlen(lt->s[i]) + 1;
	char *o = calloc(1, len);
	assert_non_null(o);
	for (int i = from; i < from + n && lt->s[i]; i++) {
		if (i > from)
			strcat(o, " ");
		strcat(o, lt->s[i]);
	}
	return o;
}

static json_t *analyze(const char *t)
{
	json_t *j = NULL;
	struct err e = { 0 };
	int rc = offline_analyze(t, strlen(t), NULL, NULL, &j, &e);
	if (rc)
		fail_msg("offline_analyze: %s", e.msg);
	return j;
}

static const char *lang_of(json_t *j)
{
	return json_string_value(json_object_get(j, "language"));
}

static const char *method_of(json_t *j)
{
	return json_string_value(json_object_get(json_object_get(j, "sources"), "language"));
}

static void skip_without_models(void)
{
	if (!an_textcat_ready(NULL))
		skip();   /* libexttextcat-data is missing: scripts/setup installs it */
}

static void paragraphs_get_their_language(void **state)
{
	(void)state;
	skip_without_models();
	for (size_t l = 0; l < LANG_TEXTS_N; l++) {
		char *p = paragraph(&LANG_TEXTS[l], 0, 3);
		json_t *j = analyze(p);
		if (strcmp(lang_of(j), LANG_TEXTS[l].code) != 0)
			fail_msg("%s paragraph: language %s (%s)", LANG_TEXTS[l].code, lang_of(j), method_of(j));
		/* the stop lists may decide a clear case of their seven; any other language
		 * is the classifier's */
		if (an_lang_index(LANG_TEXTS[l].code) < 0)
			assert_string_equal(method_of(j), "offline:textcat");
		else if (strcmp(method_of(j), "offline:textcat") != 0)
			assert_string_equal(method_of(j), "offline:stopwords");
		assert_true(json_array_size(json_object_get(j, "keywords")) > 0);
		json_decref(j);
		free(p);
	}
}

/* The stop-word guess alone could not name these: it says "und" or a wrong one of
 * its seven (Swedish and Danish look like German and Dutch to it). */
static void languages_outside_the_stop_lists(void **state)
{
	(void)state;
	skip_without_models();
	const char *want[] = { "ru", "pl", "sv", "da" };
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		for (size_t l = 0; l < LANG_TEXTS_N; l++) {
			if (strcmp(LANG_TEXTS[l].code, want[i]) != 0)
				continue;
			char *p = paragraph(&LANG_TEXTS[l], 0, LT_MAX);
			json_t *j = analyze(p);
			if (strcmp(lang_of(j), want[i]) != 0)
				fail_msg("%s page: language %s", want[i], lang_of(j));
			json_decref(j);
			free(p);
		}
	}
}

static void fragment_stays_undetermined(void **state)
{
	(void)state;
	const char *t = "Budget 2024: final numbers.";
	json_t *j = analyze(t);
	assert_string_equal(lang_of(j), "und");
	assert_string_equal(method_of(j), "offline:stopwords");
	json_decref(j);
}

/* Every sentence alone: never a wrong code among the seven, at worst "und". */
static void sentences_are_right_or_undetermined(void **state)
{
	(void)state;
	skip_without_models();
	int right = 0, n = 0;
	for (size_t l = 0; l < LANG_TEXTS_N; l++) {
		for (int i = 0; LANG_TEXTS[l].s[i]; i++) {
			json_t *j = analyze(LANG_TEXTS[l].s[i]);
			const char *got = lang_of(j);
			if (strcmp(got, LANG_TEXTS[l].code) != 0 && strcmp(got, "und") != 0)
				fail_msg("\"%s\": language %s, want %s or und", LANG_TEXTS[l].s[i], got,
					 LANG_TEXTS[l].code);
			right += strcmp(got, LANG_TEXTS[l].code) == 0;
			n++;
			json_decref(j);
		}
	}
	assert_true(right * 10 >= n * 9);   /* and right for at least 90 % of them */
}

/* ---- one shared classifier from several threads ---- */

#define THREADS 4
static char *g_par[LANG_TEXTS_N];
static char g_want[LANG_TEXTS_N][4];

static void *classify_all(void *arg)
{
	long bad = 0;
	(void)arg;
	for (int round = 0; round < 10; round++)
		for (size_t l = 0; l < LANG_TEXTS_N; l++) {
			char codes[1][4];
			int nc = 0;
			int cnt = an_textcat_classify(g_par[l], strlen(g_par[l]), codes, 1, &nc);
			bad += cnt <= 0 || nc != 1 || strcmp(codes[0], g_want[l]) != 0;
		}
	return (void *)bad;
}

static void threads_share_the_classifier(void **state)
{
	(void)state;
	skip_without_models();
	for (size_t l = 0; l < LANG_TEXTS_N; l++) {
		g_par[l] = paragraph(&LANG_TEXTS[l], 2, 3);
		char codes[1][4];
		int nc = 0;
		assert_true(an_textcat_classify(g_par[l], strlen(g_par[l]), codes, 1, &nc) > 0);
		assert_int_equal(nc, 1);
		memcpy(g_want[l], codes[0], 4);
	}
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, classify_all, NULL), 0);
	long bad = 0;
	for (int i = 0; i < THREADS; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += (long)r;
	}
	assert_int_equal(bad, 0);
	for (size_t l = 0; l < LANG_TEXTS_N; l++)
		free(g_par[l]);
}

/* ---- stems ---- */

static void stem_eq(struct an_stemmer *s, const char *a, const char *b)
{
	char x[64], y[64];
	size_t xl = an_stem(s, a, strlen(a), x, 60), yl = an_stem(s, b, strlen(b), y, 60);
	if (xl != yl || memcmp(x, y, xl) != 0)
		fail_msg("stems of %s and %s differ: %.*s %.*s", a, b, (int)xl, x, (int)yl, y);
}

static void stems_join_inflections(void **state)
{
	(void)state;
	struct an_stemmer *en = an_stemmer_new("en"), *de = an_stemmer_new("de");
	struct an_stemmer *fr = an_stemmer_new("fr"), *und = an_stemmer_new("und");
	assert_true(an_stemmer_snowball(en) && an_stemmer_snowball(de) && an_stemmer_snowball(fr));
	assert_false(an_stemmer_snowball(und));
	stem_eq(en, "connection", "connected");
	stem_eq(en, "libraries", "library");
	stem_eq(en, "running", "runs");
	stem_eq(de, "häuser", "haus");
	stem_eq(fr, "boulangeries", "boulangerie");
	/* the neutral stem: the old rule (plural s, six letters) */
	char o[64];
	size_t n = an_stem(und, "lighthouses", 11, o, 60);
	assert_int_equal(n, 6);
	assert_memory_equal(o, "lighth", 6);
	an_stem(NULL, "boats", 5, o, 60);
	assert_memory_equal(o, "boat", 4);
	/* a language Snowball does not know: the neutral stem, no failure */
	struct an_stemmer *xx = an_stemmer_new("pl");
	assert_non_null(xx);
	an_stemmer_free(en);
	an_stemmer_free(de);
	an_stemmer_free(fr);
	an_stemmer_free(und);
	an_stemmer_free(xx);
	an_stemmer_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(paragraphs_get_their_language),
		cmocka_unit_test(languages_outside_the_stop_lists),
		cmocka_unit_test(fragment_stays_undetermined),
		cmocka_unit_test(sentences_are_right_or_undetermined),
		cmocka_unit_test(threads_share_the_classifier),
		cmocka_unit_test(stems_join_inflections),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
