/*
 * test_analyze_offline.c — offline_analyze: the summary carries the topic, keywords are
 * topical and never stop words, languages are recognised, entities are found, titles and
 * sources are right, parameters and errors behave.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analyze/offline.h"
#include "analyze/text.h"
#include "core/err.h"
#include "core/util.h"

#define FIXTURES DOSSIER_SOURCE_DIR "/tests/fixtures/text/"

static char *fixture(const char *name, size_t *len)
{
	char path[512];
	char *data = NULL;
	struct err e = { 0 };
	snprintf(path, sizeof path, FIXTURES "%s", name);
	if (file_read_all(path, 1 << 20, &data, len, &e) != 0)
		fail_msg("cannot read fixture %s: %s", path, e.msg);
	return data;
}

static json_t *analyze(const char *text, size_t len, const char *hint,
		       const struct offline_params *p)
{
	json_t *j = NULL;
	struct err e = { 0 };
	int rc = offline_analyze(text, len, hint, p, &j, &e);
	if (rc != 0)
		fail_msg("offline_analyze: rc %d: %s", rc, e.msg);
	assert_non_null(j);
	return j;
}

static const char *str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	assert_non_null(v);
	assert_true(json_is_string(v));
	return json_string_value(v);
}

/* Stop words a reader would object to as keywords (English, and a few of the others). */
static const char *const common_stop[] = {
	"the", "a", "an", "and", "or", "of", "to", "in", "on", "at", "by", "for", "from",
	"with", "is", "are", "was", "were", "be", "been", "it", "its", "this", "that", "these",
	"those", "as", "such", "many", "more", "most", "some", "every", "their", "they",
	"them", "can", "than", "other", "others", "into", "during", "because", "without",
	"also", "both", "which", "who", "when", "where", "has", "have", "had", "not", "no",
	"der", "die", "das", "und", "le", "la", "les", "de", "el", "los", "il", "o", "os", "het",
	NULL
};

static int is_common_stop(const char *w, size_t n)
{
	for (int i = 0; common_stop[i]; i++)
		if (strlen(common_stop[i]) == n && strncasecmp(common_stop[i], w, n) == 0)
			return 1;
	return 0;
}

static void assert_no_stop_words(json_t *terms_or_tags, int objects)
{
	size_t i;
	json_t *v;
	json_array_foreach(terms_or_tags, i, v) {
		const char *t = objects ? json_string_value(json_object_get(v, "term"))
					: json_string_value(v);
		assert_non_null(t);
		/* no keyword is a stop word, and none starts or ends with one */
		const char *first_end = strchr(t, ' ');
		const char *last = strrchr(t, ' ');
		size_t fl = first_end ? (size_t)(first_end - t) : strlen(t);
		const char *lw = last ? last + 1 : t;
		if (is_common_stop(t, fl) || is_common_stop(lw, strlen(lw)))
			fail_msg("keyword \"%s\" starts or ends with a stop word", t);
	}
}

static int array_has(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return 1;
	return 0;
}

static int keywords_have(json_t *kw, const char *term)
{
	size_t i;
	json_t *v;
	json_array_foreach(kw, i, v)
		if (strcmp(json_string_value(json_object_get(v, "term")), term) == 0)
			return 1;
	return 0;
}

/* ---- the topic ---- */

static void summary_and_keywords_carry_the_topic(void **state)
{
	(void)state;
	size_t len;
	char *text = fixture("bees.txt", &len);
	json_t *j = analyze(text, len, NULL, NULL);

	/* exactly the documented keys */
	const char *keys[] = { "title", "summary", "key_points", "tags", "keywords", "entities",
			       "language", "word_count", "reading_time_s", "sources" };
	assert_int_equal(json_object_size(j), sizeof keys / sizeof keys[0]);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		assert_non_null(json_object_get(j, keys[i]));

	assert_string_equal(str(j, "title"), "Honey Bees and Pollination");
	assert_string_equal(str(json_object_get(j, "sources"), "title"), "offline:heading");
	assert_string_equal(str(j, "language"), "en");

	/* the summary holds the topic sentence and none of the off-topic paragraph */
	const char *summary = str(j, "summary");
	assert_non_null(strstr(summary, "Honey bees pollinate a large share of the crops"));
	assert_null(strstr(summary, "weather"));
	assert_null(strstr(summary, "bicycle"));
	assert_null(strstr(summary, "Coffee"));
	assert_non_null(strstr(summary, "pollination"));

	/* key points: distinct from the summary, also on topic */
	json_t *kp = json_object_get(j, "key_points");
	assert_int_equal(json_array_size(kp), 5);
	size_t i;
	json_t *v;
	int bees = 0;
	json_array_foreach(kp, i, v) {
		const char *s = json_string_value(v);
		assert_null(strstr(summary, s));
		assert_null(strstr(s, "bicycle"));
		bees += strstr(s, "bee") != NULL;
	}
	assert_true(bees >= 3);

	/* keywords: topical, best first, scores in (0, 1], never stop words */
	json_t *kw = json_object_get(j, "keywords");
	assert_int_equal(json_array_size(kw), 15);
	assert_true(keywords_have(kw, "honey bees") || keywords_have(kw, "bees"));
	assert_true(keywords_have(kw, "pollination"));
	double prev = 2.0;
	json_array_foreach(kw, i, v) {
		double sc = json_real_value(json_object_get(v, "score"));
		assert_true(sc > 0 && sc <= 1.0);
		assert_true(sc <= prev);
		prev = sc;
	}
	assert_true(json_real_value(json_object_get(json_array_get(kw, 0), "score")) == 1.0);
	assert_no_stop_words(kw, 1);

	/* tags: lower case, 1-3 words, none repeating a better one */
	json_t *tags = json_object_get(j, "tags");
	assert_true(json_array_size(tags) >= 3 && json_array_size(tags) <= 8);
	assert_true(array_has(tags, "honey bees") || array_has(tags, "bees"));
	assert_true(array_has(tags, "pollination"));
	assert_no_stop_words(tags, 0);
	json_array_foreach(tags, i, v) {
		const char *t = json_string_value(v);
		int spaces = 0;
		for (const char *c = t; *c; c++) {
			assert_false(*c >= 'A' && *c <= 'Z');
			spaces += *c == ' ';
		}
		assert_true(spaces <= 2);
		for (size_t k = 0; k < i; k++)
			assert_null(strstr(t, json_string_value(json_array_get(tags, k))));
	}

	/* 212 words at 230 wpm */
	assert_int_equal(json_integer_value(json_object_get(j, "word_count")), 212);
	assert_int_equal(json_integer_value(json_object_get(j, "reading_time_s")), 55);

	json_t *src = json_object_get(j, "sources");
	assert_string_equal(str(src, "summary"), "offline:textrank");
	assert_string_equal(str(src, "key_points"), "offline:textrank");
	assert_string_equal(str(src, "tags"), "offline:yake");
	assert_string_equal(str(src, "keywords"), "offline:yake");
	assert_string_equal(str(src, "entities"), "offline:patterns");
	/* a clear English page: the stop lists decide, the classifier is not asked */
	assert_string_equal(str(src, "language"), "offline:stopwords");
	json_decref(j);
	free(text);
}

/* ---- languages ---- */

static void recognises_seven_languages(void **state)
{
	(void)state;
	const char *langs[] = { "en", "de", "fr", "es", "it", "pt", "nl" };
	for (size_t i = 0; i < sizeof langs / sizeof langs[0]; i++) {
		char name[32];
		size_t len;
		snprintf(name, sizeof name, "lang_%s.txt", langs[i]);
		char *text = fixture(name, &len);
		json_t *j = analyze(text, len, NULL, NULL);
		if (strcmp(str(j, "language"), langs[i]) != 0)
			fail_msg("%s: language %s, want %s", name, str(j, "language"), langs[i]);
		/* no stop word of that language as a keyword either */
		assert_no_stop_words(json_object_get(j, "keywords"), 1);
		json_decref(j);
		free(text);
	}
}

static void short_text_is_undetermined(void **state)
{
	(void)state;
	const char *t = "Budget 2024: final numbers.";
	json_t *j = analyze(t, strlen(t), NULL, NULL);
	assert_string_equal(str(j, "language"), "und");
	json_decref(j);
}

/* ---- entities ---- */

static int has_entity(json_t *ents, const char *text, const char *type)
{
	size_t i;
	json_t *v;
	json_array_foreach(ents, i, v)
		if (strcmp(json_string_value(json_object_get(v, "text")), text) == 0 &&
		    strcmp(json_string_value(json_object_get(v, "type")), type) == 0)
			return 1;
	return 0;
}

static void finds_entities(void **state)
{
	(void)state;
	const char *t =
		"Marie Curie met Albert Einstein in Brussels on 12 March 1911. Contact "
		"jane.doe@example.org or visit https://example.com/path?q=1 for details.\n"
		"The invoice of $1,200.50 was paid on 2024-03-12, and another of 45 € followed on "
		"March 5, 2023. Call +49 30 1234567 or (555) 123-4567 before 03/04/2024. "
		"In 2020 and 2021 nothing happened. Ask Dr. Jane Goodall about it.";
	json_t *j = analyze(t, strlen(t), NULL, NULL);
	json_t *ents = json_object_get(j, "entities");
	assert_true(has_entity(ents, "jane.doe@example.org", "email"));
	assert_true(has_entity(ents, "https://example.com/path?q=1", "url"));
	assert_true(has_entity(ents, "12 March 1911", "date"));
	assert_true(has_entity(ents, "2024-03-12", "date"));
	assert_true(has_entity(ents, "March 5, 2023", "date"));
	assert_true(has_entity(ents, "03/04/2024", "date"));
	assert_true(has_entity(ents, "$1,200.50", "money"));
	assert_true(has_entity(ents, "45 €", "money"));
	assert_true(has_entity(ents, "+49 30 1234567", "phone"));
	assert_true(has_entity(ents, "(555) 123-4567", "phone"));
	assert_true(has_entity(ents, "Marie Curie", "name"));
	assert_true(has_entity(ents, "Albert Einstein", "name"));
	assert_true(has_entity(ents, "Jane Goodall", "name"));
	json_decref(j);
	/* a German amount with its scale word is money, and no part of it a name */
	const char *de = "Die Stadt investiert 2,5 Millionen Euro in die neue Br\xc3\xbc" "cke und 1 Milliarde Euro in Schulen.";
	j = analyze(de, strlen(de), NULL, NULL);
	json_t *dents = json_object_get(j, "entities");
	assert_true(has_entity(dents, "2,5 Millionen Euro", "money"));
	assert_true(has_entity(dents, "1 Milliarde Euro", "money"));
	assert_false(has_entity(dents, "Millionen Euro", "name"));
	assert_false(has_entity(dents, "Milliarde Euro", "name"));
	json_decref(j);
	j = analyze(t, strlen(t), NULL, NULL);
	ents = json_object_get(j, "entities");
	/* years are not phone numbers, a sentence-initial verb is not part of a name */
	size_t i;
	json_t *v;
	json_array_foreach(ents, i, v) {
		const char *text = json_string_value(json_object_get(v, "text"));
		assert_null(strstr(text, "2020"));
		assert_null(strstr(text, "Ask"));
	}
	json_decref(j);
}

/* ---- titles ---- */

static void title_hint_wins_and_long_titles_are_cut(void **state)
{
	(void)state;
	size_t len;
	char *text = fixture("lang_en.txt", &len);
	json_t *j = analyze(text, len, "  The Lighthouse  ", NULL);
	assert_string_equal(str(j, "title"), "The Lighthouse");
	assert_string_equal(str(json_object_get(j, "sources"), "title"), "offline:heading");
	json_decref(j);

	/* no heading: the best sentence, cut near 120 characters with an ellipsis */
	j = analyze(text, len, NULL, NULL);
	const char *title = str(j, "title");
	assert_string_equal(str(json_object_get(j, "sources"), "title"), "offline:textrank");
	assert_true(strlen(title) <= 124);
	assert_non_null(strstr(title, "\xE2\x80\xA6"));
	assert_true(strncmp(title, "The old lighthouse", 18) == 0 ||
		    strncmp(title, "In the summer", 13) == 0 || strncmp(title, "The keeper", 10) == 0);
	json_decref(j);
	free(text);
}

static void markdown_pipeline_uses_heading_and_skips_code(void **state)
{
	(void)state;
	const char *md =
		"# Sourdough Baking Guide\n\n"
		"Sourdough bread rises with a **starter** of wild yeast and bacteria. "
		"A healthy starter doubles within hours after feeding with flour and water. "
		"Bakers fold the sourdough during bulk fermentation to build strength.\n\n"
		"```python\nimport zzqlib\nzzqlib.frobnicate(zzqlib.widget)\n```\n\n"
		"- Bake the sourdough loaf in a hot Dutch oven.\n"
		"- Let the bread cool before slicing.\n";
	char *text, *title;
	size_t len;
	struct err e = { 0 };
	assert_int_equal(text_normalize(md, strlen(md), TEXT_FORMAT_MARKDOWN, &text, &len, &title,
					NULL, &e), 0);
	json_t *j = analyze(text, len, title, NULL);
	assert_string_equal(str(j, "title"), "Sourdough Baking Guide");
	assert_non_null(strstr(str(j, "summary"), "starter"));
	json_t *kw = json_object_get(j, "keywords");
	assert_true(keywords_have(kw, "sourdough"));
	size_t i;
	json_t *v;
	json_array_foreach(kw, i, v)
		assert_null(strstr(json_string_value(json_object_get(v, "term")), "zzqlib"));
	/* the code block's words still count for reading time */
	assert_true(json_integer_value(json_object_get(j, "word_count")) > 50);
	json_decref(j);
	free(text);
	free(title);
}

/* ---- parameters and errors ---- */

static void parameters_bound_the_output(void **state)
{
	(void)state;
	size_t len;
	char *text = fixture("bees.txt", &len);
	struct offline_params p;
	offline_params_default(&p);
	assert_int_equal(p.summary_sentences, 3);
	assert_int_equal(p.key_points, 5);
	assert_int_equal(p.max_tags, 8);
	assert_int_equal(p.max_keywords, 15);
	assert_int_equal(p.max_sentences, 2000);
	p.summary_sentences = 1;
	p.key_points = 2;
	p.max_tags = 2;
	p.max_keywords = 4;
	json_t *j = analyze(text, len, NULL, &p);
	const char *summary = str(j, "summary");
	/* one sentence: a single terminal period, at the end */
	assert_int_equal(strchr(summary, '.') - summary, (long)strlen(summary) - 1);
	assert_int_equal(json_array_size(json_object_get(j, "key_points")), 2);
	assert_int_equal(json_array_size(json_object_get(j, "tags")), 2);
	assert_int_equal(json_array_size(json_object_get(j, "keywords")), 4);
	json_decref(j);

	/* a tiny graph cap still ranks (pre-selected) sentences */
	offline_params_default(&p);
	p.max_sentences = 4;
	j = analyze(text, len, NULL, &p);
	assert_true(strlen(str(j, "summary")) > 0);
	json_decref(j);
	free(text);
}

static void bad_input_is_refused(void **state)
{
	(void)state;
	json_t *j = (json_t *)1;
	struct err e = { 0 };
	assert_int_equal(offline_analyze("", 0, NULL, NULL, &j, &e), DOSSIER_EEMPTY);
	assert_null(j);
	assert_int_equal(offline_analyze("... --- !!!", 11, NULL, NULL, &j, &e), DOSSIER_EEMPTY);
	assert_int_equal(offline_analyze("caf\xE9 au lait", 12, NULL, NULL, &j, &e), DOSSIER_EFORMAT);
	assert_non_null(strstr(e.msg, "UTF-8"));
	struct offline_params p;
	offline_params_default(&p);
	p.key_points = -1;
	assert_int_equal(offline_analyze("Some words here.", 16, NULL, &p, &j, &e), DOSSIER_EINVAL);
	assert_null(j);
}

static void headings_only_still_summarised(void **state)
{
	(void)state;
	const char *t = "Agenda\n\nBudget review\n\nHiring plan";
	json_t *j = analyze(t, strlen(t), NULL, NULL);
	assert_string_equal(str(j, "title"), "Agenda");
	assert_true(strlen(str(j, "summary")) > 0);
	json_decref(j);
}

/* Thousands of distinct words, no stop words: every token starts three candidate
 * n-grams, more than the table's first sizing assumed (regression: it used to fill). */
static void many_distinct_words(void **state)
{
	(void)state;
	size_t n = 6000, len = 0;
	char *t = malloc(n * 8);
	assert_non_null(t);
	for (size_t i = 0; i < n; i++) {
		size_t v = i;
		t[len++] = 'q';
		for (int k = 0; k < 3; k++) {
			t[len++] = (char)('a' + v % 26);
			v /= 26;
		}
		t[len++] = (i % 20 == 19) ? '.' : 'z';
		t[len++] = ' ';
	}
	json_t *j = analyze(t, len, NULL, NULL);
	assert_int_equal(json_integer_value(json_object_get(j, "word_count")), (json_int_t)n);
	assert_int_equal(json_array_size(json_object_get(j, "keywords")), 15);
	json_decref(j);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(summary_and_keywords_carry_the_topic),
		cmocka_unit_test(recognises_seven_languages),
		cmocka_unit_test(short_text_is_undetermined),
		cmocka_unit_test(finds_entities),
		cmocka_unit_test(title_hint_wins_and_long_titles_are_cut),
		cmocka_unit_test(markdown_pipeline_uses_heading_and_skips_code),
		cmocka_unit_test(parameters_bound_the_output),
		cmocka_unit_test(bad_input_is_refused),
		cmocka_unit_test(headings_only_still_summarised),
		cmocka_unit_test(many_distinct_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
