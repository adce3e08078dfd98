/* test_pipeline_result_keep.c — a step's result kept parsed in memory
 * (steps.c) reads exactly as its stored text would: the same JSON, reals as
 * their stored digits, a copy a reader may change; a stored text that is not
 * the kept one is parsed from the text; what the text cannot give back is
 * not kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/steps_internal.h"

#define FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(STEP_RESULT_PRECISION))

static struct step_rec done_step(int64_t id, const char *kind, char *result)
{
	struct step_rec s = {0};
	s.id = id;
	snprintf(s.kind, sizeof s.kind, "%s", kind);
	s.state = STEP_DONE;
	s.result = result;
	return s;
}

/* what the dossier would be made of: the stored text, dumped again */
static char *reread(const struct step_rec *s)
{
	json_t *j = step_result_parse(s);
	char *t = j ? json_dumps(j, FLAGS) : NULL;
	json_decref(j);
	return t;
}

static void test_a_kept_result_reads_as_its_stored_text(void **state)
{
	(void)state;
	json_t *r = json_pack("{s:s,s:f,s:i,s:[f,s],s:{s:b}}", "text", "caf\xc3\xa9 \"quoted\"\n", "score",
	                      0.12345678901234567, "words", 12, "list", 2.0 / 3.0, "x", "o", "ok", 1);
	char *text = json_dumps(r, FLAGS);
	step_result_keep(501, text, r);
	json_decref(r);  /* the kept one lives on */
	json_t *parsed = json_loads(text, 0, NULL);
	struct step_rec s = done_step(501, "extract_text", text);
	json_t *got = step_result_json(&s, 1, "extract_text");
	assert_non_null(got);
	assert_true(json_equal(got, parsed));  /* reals too: 0.123456789, not the 17 digits */
	assert_true(json_real_value(json_object_get(got, "score")) == json_real_value(json_object_get(parsed, "score")));
	/* a copy: changing it changes nothing for the next reader */
	json_object_set_new(got, "text", json_string("changed"));
	char *again = reread(&s);
	assert_string_equal(again, text);
	json_decref(got);
	json_decref(parsed);
	free(again);
	free(text);
}

static void test_another_text_is_parsed_from_the_text(void **state)
{
	(void)state;
	json_t *r = json_pack("{s:s}", "text", "first run");
	char *text = json_dumps(r, FLAGS);
	step_result_keep(502, text, r);
	json_decref(r);
	/* the store holds another result for that step (a later run, or the kept
	 * one never committed): the stored text wins */
	char stored[] = "{\"text\":\"what the store holds\"}";
	struct step_rec s = done_step(502, "extract_text", stored);
	char *got = reread(&s);
	assert_string_equal(got, stored);
	free(got);
	/* the same text under another step id is not that step's result either */
	struct step_rec other = done_step(503, "extract_text", text);
	got = reread(&other);
	assert_string_equal(got, text);
	free(got);
	free(text);
}

static void test_a_run_again_replaces_its_entry(void **state)
{
	(void)state;
	for (int run = 0; run < 3; run++) {
		json_t *r = json_pack("{s:i}", "run", run);
		char *text = json_dumps(r, FLAGS);
		step_result_keep(504, text, r);
		json_decref(r);
		struct step_rec s = done_step(504, "analyze_text", text);
		json_t *got = step_result_parse(&s);
		assert_int_equal(json_integer_value(json_object_get(got, "run")), run);
		json_decref(got);
		free(text);
	}
}

static void test_what_the_text_cannot_give_back_is_not_kept(void **state)
{
	(void)state;
	/* a string with a NUL: json_loads refuses its text, so must the kept copy */
	json_t *r = json_object();
	json_object_set_new(r, "text", json_stringn("a\0b", 3));
	char *text = json_dumps(r, FLAGS);
	assert_non_null(text);
	step_result_keep(505, text, r);
	json_decref(r);
	struct step_rec s = done_step(505, "extract_text", text);
	assert_null(step_result_parse(&s));
	free(text);
	/* not done, or no result: nothing */
	struct step_rec q = done_step(506, "extract_text", NULL);
	assert_null(step_result_parse(&q));
	q.state = STEP_QUEUED;
	assert_null(step_result_json(&q, 1, "extract_text"));
}

static void test_many_results_stay_bounded_and_right(void **state)
{
	(void)state;
	/* more results than are kept: every one still reads as its text */
	char *texts[200];
	for (int i = 0; i < 200; i++) {
		json_t *r = json_pack("{s:i,s:f}", "i", i, "x", i / 7.0);
		texts[i] = json_dumps(r, FLAGS);
		step_result_keep(1000 + i, texts[i], r);
		json_decref(r);
	}
	for (int i = 0; i < 200; i++) {
		struct step_rec s = done_step(1000 + i, "embed", texts[i]);
		char *got = reread(&s);
		assert_string_equal(got, texts[i]);
		free(got);
		free(texts[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_kept_result_reads_as_its_stored_text),
		cmocka_unit_test(test_another_text_is_parsed_from_the_text),
		cmocka_unit_test(test_a_run_again_replaces_its_entry),
		cmocka_unit_test(test_what_the_text_cannot_give_back_is_not_kept),
		cmocka_unit_test(test_many_results_stay_bounded_and_right),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
