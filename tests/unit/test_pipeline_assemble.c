/* test_pipeline_assemble.c — a document's step results become its dossier:
 * the status rule (done / partial / failed), later analyses refining earlier
 * ones field by field, `sources` naming the engine behind each field, errors
 * naming the step, and the kind registry every other place iterates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "pipeline/kinds.h"
#include "pipeline/pipeline.h"

static struct doc_rec doc_of(const char *kind, const char *path)
{
	struct doc_rec d = {0};
	d.id = 7;
	d.path = (char *)path;
	snprintf(d.sha256, sizeof d.sha256, "%064d", 0);
	d.mime = (char *)"text/plain";
	snprintf(d.kind, sizeof d.kind, "%s", kind);
	d.bytes = 1234;
	return d;
}

static struct step_rec step_of(int idx, const char *kind, enum model_role role, enum step_state st,
                               const char *result, const char *error)
{
	struct step_rec s = {0};
	s.id = 100 + idx;
	s.document_id = 7;
	s.idx = idx;
	snprintf(s.kind, sizeof s.kind, "%s", kind);
	s.role = role;
	s.state = st;
	s.attempts = 1;
	s.result = (char *)result;
	s.last_error = (char *)error;
	s.started_at = 10.0;
	s.finished_at = 10.5;
	return s;
}

struct assembled {
	json_t *d;
	const char *status;
	struct fts_fields fts;
	char *owned[2];
};

static void assemble(const struct doc_rec *doc, const struct step_rec *steps, size_t n, struct assembled *a)
{
	struct err e = {0};
	memset(a, 0, sizeof *a);
	assert_int_equal(pipeline_assemble(doc, steps, n, &a->d, &a->status, &a->fts, a->owned, &e), 0);
	assert_non_null(a->d);
}

static void assembled_free(struct assembled *a)
{
	json_decref(a->d);
	free(a->owned[0]);
	free(a->owned[1]);
}

static const char *str_at(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void test_every_step_done_is_done_with_sources(void **state)
{
	(void)state;
	struct doc_rec d = doc_of("text", "/notes/boat.md");
	struct step_rec s[] = {
		step_of(0, "extract_text", ROLE_NONE, STEP_DONE, "{\"text\":\"The boat leaves at nine.\",\"encoding\":\"utf-8\"}", NULL),
		step_of(1, "analyze_text", ROLE_TEXT, STEP_DONE,
		        "{\"title\":\"Boat times\",\"summary\":\"The boat leaves at nine.\",\"tags\":[\"boat\",\"ferry\"],"
		        "\"sources\":{\"summary\":\"ollama:llama3.2:3b\",\"title\":\"ollama:llama3.2:3b\"}}", NULL),
	};
	struct assembled a;
	assemble(&d, s, 2, &a);
	assert_string_equal(a.status, "done");
	assert_string_equal(str_at(a.d, "status"), "done");
	assert_string_equal(str_at(a.d, "title"), "Boat times");
	assert_string_equal(str_at(a.d, "text"), "The boat leaves at nine.");
	json_t *src = json_object_get(a.d, "sources");
	assert_string_equal(str_at(src, "summary"), "ollama:llama3.2:3b");
	assert_string_equal(str_at(src, "text"), "dossier:text");
	assert_int_equal(json_array_size(json_object_get(a.d, "errors")), 0);
	/* the index gets the title and the tags */
	assert_string_equal(a.fts.title, "Boat times");
	assert_non_null(strstr(a.fts.tags, "ferry"));
	assert_non_null(json_object_get(json_object_get(a.d, "timings"), "analyze_text"));
	assembled_free(&a);
}

static void test_a_failed_step_with_text_left_is_partial_and_names_the_step(void **state)
{
	(void)state;
	struct doc_rec d = doc_of("text", "/notes/boat.md");
	struct step_rec s[] = {
		step_of(0, "extract_text", ROLE_NONE, STEP_DONE, "{\"text\":\"Harbour notes.\"}", NULL),
		step_of(1, "analyze_text", ROLE_TEXT, STEP_FAILED, NULL, "Ollama is not reachable at http://x"),
	};
	struct assembled a;
	assemble(&d, s, 2, &a);
	assert_string_equal(a.status, "partial");
	json_t *e0 = json_array_get(json_object_get(a.d, "errors"), 0);
	assert_string_equal(str_at(e0, "step"), "analyze_text");
	assert_string_equal(str_at(e0, "message"), "Ollama is not reachable at http://x");
	assembled_free(&a);
}

static void test_nothing_usable_is_failed(void **state)
{
	(void)state;
	struct doc_rec d = doc_of("text", "/notes/empty.txt");
	struct step_rec s[] = {
		step_of(0, "extract_text", ROLE_NONE, STEP_FAILED, NULL, "/notes/empty.txt: the file is empty"),
		step_of(1, "analyze_text", ROLE_TEXT, STEP_SKIPPED, NULL, "skipped: a step it needs failed"),
	};
	struct assembled a;
	assemble(&d, s, 2, &a);
	assert_string_equal(a.status, "failed");
	assert_int_equal(json_array_size(json_object_get(a.d, "errors")), 2);
	assembled_free(&a);
}

static void test_later_analyses_refine_earlier_ones(void **state)
{
	(void)state;
	/* a video: the transcript's analysis, then the synthesis over frames refines title and summary */
	struct doc_rec d = doc_of("video", "/v/harbour.mp4");
	struct step_rec s[] = {
		step_of(0, "transcribe", ROLE_ASR, STEP_DONE,
		        "{\"segments\":[{\"start\":0.5,\"end\":2.0,\"text\":\"welcome aboard\"}],\"engine\":\"pocketsphinx\"}", NULL),
		step_of(1, "analyze_text", ROLE_TEXT, STEP_DONE,
		        "{\"title\":\"Welcome\",\"summary\":\"first\",\"language\":\"en\",\"sources\":{\"title\":\"offline:textrank\",\"language\":\"offline:lang\"}}", NULL),
		step_of(2, "sample_frames", ROLE_NONE, STEP_DONE, "{\"frames\":[{\"time\":1.0,\"ocr_text\":\"HARBOUR TOUR\"}]}", NULL),
		step_of(3, "describe_frames", ROLE_VISION, STEP_DONE,
		        "{\"frames\":[{\"description\":\"a boat at a pier\"}],\"sources\":{\"frames\":\"ollama:llava:latest\"}}", NULL),
		step_of(4, "synthesize", ROLE_TEXT, STEP_DONE,
		        "{\"title\":\"Harbour tour\",\"summary\":\"second\",\"sources\":{\"title\":\"ollama:llama3.2:3b\"}}", NULL),
	};
	struct assembled a;
	assemble(&d, s, 5, &a);
	assert_string_equal(a.status, "done");
	assert_string_equal(str_at(a.d, "title"), "Harbour tour");
	assert_string_equal(str_at(a.d, "summary"), "second");
	assert_string_equal(str_at(a.d, "language"), "en"); /* kept from the earlier layer */
	json_t *src = json_object_get(a.d, "sources");
	assert_string_equal(str_at(src, "title"), "ollama:llama3.2:3b");
	assert_string_equal(str_at(src, "language"), "offline:lang");
	assert_string_equal(str_at(src, "transcript"), "pocketsphinx");
	json_t *f0 = json_array_get(json_object_get(a.d, "frames"), 0);
	assert_string_equal(str_at(f0, "description"), "a boat at a pier");
	assert_non_null(a.fts.transcript);
	assert_non_null(strstr(a.fts.transcript, "welcome aboard"));
	assert_non_null(strstr(a.fts.ocr, "HARBOUR TOUR"));
	assert_null(json_object_get(a.d, "image")); /* a video is not looked at as one picture */
	assembled_free(&a);
}

static void test_text_source_is_the_extractors_engine(void **state)
{
	(void)state;
	struct doc_rec d = doc_of("pdf", "/p/report.pdf");
	struct step_rec s[] = {
		step_of(0, "extract_text", ROLE_NONE, STEP_DONE, "{\"text\":\"Quarterly report\",\"engine\":\"poppler\",\"pages\":2}", NULL),
		step_of(1, "ocr", ROLE_NONE, STEP_DONE, "{\"text\":\"\",\"pages\":[]}", NULL),
		step_of(2, "analyze_text", ROLE_TEXT, STEP_DONE, "{\"title\":\"Report\"}", NULL),
	};
	struct assembled a;
	assemble(&d, s, 3, &a);
	assert_string_equal(str_at(json_object_get(a.d, "sources"), "text"), "poppler");
	assembled_free(&a);
}

static void test_an_image_gets_its_picture_section_even_with_ocr_only(void **state)
{
	(void)state;
	struct doc_rec d = doc_of("image", "/i/receipt.png");
	struct step_rec s[] = {
		step_of(0, "ocr", ROLE_NONE, STEP_DONE,
		        "{\"text\":\"Total 9.30 EUR\",\"confidence\":91.0,\"image\":{\"width\":640,\"height\":480}}", NULL),
		step_of(1, "describe_image", ROLE_VISION, STEP_FAILED, NULL, "the vision model is not pulled"),
	};
	struct assembled a;
	assemble(&d, s, 2, &a);
	assert_string_equal(a.status, "partial");
	json_t *im = json_object_get(a.d, "image");
	assert_non_null(im);
	assert_int_equal(json_integer_value(json_object_get(im, "width")), 640);
	assert_string_equal(str_at(json_object_get(im, "ocr"), "text"), "Total 9.30 EUR");
	assert_string_equal(str_at(json_object_get(a.d, "sources"), "image.ocr"), "tesseract");
	assembled_free(&a);
}

/* ------------------------------------------------------------- the registry */

static void test_every_kind_has_steps_runners_and_valid_dependencies(void **state)
{
	(void)state;
	assert_true(kind_count() >= 5);
	for (size_t i = 0; i < kind_count(); i++) {
		const struct kind_def *k = kind_at(i);
		assert_non_null(k->name);
		assert_ptr_equal(kind_find(k->name), k);
		assert_non_null(k->recognise);
		assert_true(k->n_steps > 0 && k->n_steps < 64);
		for (size_t j = 0; j < k->n_steps; j++) {
			assert_non_null(k->run[j]);
			/* a step depends only on earlier steps of its own pipeline */
			assert_int_equal(k->steps[j].deps >> j, 0);
		}
		assert_true(kind_role_mask(k) != 0);
	}
	assert_null(kind_find("unsupported"));
	assert_null(kind_at(kind_count()));
}

static void test_planning_scenarios_come_from_the_steps(void **state)
{
	(void)state;
	unsigned video = kind_role_mask(kind_find("video"));
	assert_true(video & (1u << ROLE_ASR));
	assert_true(video & (1u << ROLE_TEXT));
	assert_true(video & (1u << ROLE_VISION));
	unsigned text = kind_role_mask(kind_find("text"));
	assert_false(text & (1u << ROLE_VISION));
	assert_true(text & (1u << ROLE_TEXT));
	unsigned image = kind_role_mask(kind_find("image"));
	assert_true(image & (1u << ROLE_VISION));
	assert_false(image & (1u << ROLE_ASR));
}

static void test_a_step_from_another_pipeline_is_refused_by_name(void **state)
{
	(void)state;
	struct doc_rec d = doc_of("text", "/notes/a.txt");
	struct step_rec st = step_of(1, "describe_frames", ROLE_VISION, STEP_RUNNING, NULL, NULL);
	struct step_env env = {0};
	json_t *r = NULL;
	struct err e = {0};
	assert_int_equal(pipeline_run_step(&env, &d, &st, &st, 1, &r, &e), DOSSIER_EUNSUPPORTED);
	assert_null(r);
	assert_non_null(strstr(e.msg, "/notes/a.txt"));
	assert_non_null(strstr(e.msg, "describe_frames"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_step_done_is_done_with_sources),
		cmocka_unit_test(test_a_failed_step_with_text_left_is_partial_and_names_the_step),
		cmocka_unit_test(test_nothing_usable_is_failed),
		cmocka_unit_test(test_later_analyses_refine_earlier_ones),
		cmocka_unit_test(test_text_source_is_the_extractors_engine),
		cmocka_unit_test(test_an_image_gets_its_picture_section_even_with_ocr_only),
		cmocka_unit_test(test_every_kind_has_steps_runners_and_valid_dependencies),
		cmocka_unit_test(test_planning_scenarios_come_from_the_steps),
		cmocka_unit_test(test_a_step_from_another_pipeline_is_refused_by_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
