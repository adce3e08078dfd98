/* The LLM tasks against a scripted in-process backend: schema validation and
 * re-asking, map-reduce of long texts without losing text, sources/timings,
 * images only with their OCR context; plus Ollama's HTTP error mapping and
 * base64, which need no server. */
#include "backends/llm_tasks.h"
#include "backends/ollama.h"
#include "core/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* ------------------------------------------------------- scripted backend */

#define MAX_CALLS 64

struct fake {
	int calls;
	char *prompts[MAX_CALLS];      /* every prompt seen (owned) */
	int n_images[MAX_CALLS];
	const char *script[MAX_CALLS]; /* reply per call; NULL = a valid reply for the schema */
	int fail_rc;                   /* non-zero: every chat fails with this */
	llm_backend *b;                /* the backend over this fake (freed by fake_free) */
};

static int fake_chat(void *ctx, const struct llm_request *rq, char **text_out, struct llm_metrics *m, struct err *err)
{
	struct fake *f = ctx;
	int i = f->calls++;
	assert_true(i < MAX_CALLS);
	f->prompts[i] = strdup(rq->prompt);
	f->n_images[i] = rq->n_images;
	if (f->fail_rc)
		return err_set(err, f->fail_rc, "scripted failure");
	memset(m, 0, sizeof *m);
	m->prompt_eval_count = 100;
	m->eval_count = 10;
	m->total_ns = 1000;
	m->load_ns = 1;
	m->prompt_eval_ns = 200;
	m->eval_ns = 300;
	if (f->script[i]) {
		*text_out = strdup(f->script[i]);
		return 0;
	}
	json_t *props = json_object_get(rq->format, "properties");
	if (json_object_get(props, "entities"))
		*text_out = strdup("{\"title\":\"T\",\"summary\":\"S\",\"key_points\":[\"a\"],\"tags\":[\"t\"],"
		                   "\"entities\":[{\"text\":\"Ada\",\"type\":\"person\"}],\"language\":\"en\"}");
	else if (json_object_get(props, "description"))
		*text_out = strdup("{\"description\":\"a cat\",\"tags\":[\"cat\"],\"text_in_image\":\"\"}");
	else if (json_object_get(props, "timeline"))
		*text_out = strdup("{\"title\":\"V\",\"summary\":\"S\",\"key_points\":[],\"timeline\":[{\"time\":1.5,\"text\":\"x\"}]}");
	else {
		char buf[64];
		snprintf(buf, sizeof buf, "{\"summary\":\"summary-%d\",\"key_points\":[\"kp-%d\"]}", i, i);
		*text_out = strdup(buf);
	}
	return 0;
}

static const struct llm_backend_ops fake_ops = {.name = "fake", .chat = fake_chat};

static struct fake *fake_new(llm_backend **b)
{
	struct fake *f = calloc(1, sizeof *f);
	struct err e = {0};
	assert_int_equal(llm_backend_wrap(&fake_ops, f, NULL, b, &e), 0);
	f->b = *b;
	return f;
}

static void fake_free(struct fake *f)
{
	llm_backend_free(f->b);
	for (int i = 0; i < f->calls; i++)
		free(f->prompts[i]);
	free(f);
}

static struct llm_call call_for(int num_ctx)
{
	struct llm_call c = {.model = "m:1", .num_ctx = num_ctx, .keep_alive_s = 30 * 60, .temperature = 0, .seed = 1};
	return c;
}

/* ------------------------------------------------------------------ tests */

static void test_valid_reply_gets_sources_and_timings(void **st)
{
	llm_backend *b;
	struct fake *f = fake_new(&b);
	struct llm_call c = call_for(4096);
	json_t *out = NULL;
	struct err e = {0};
	const char *text = "Ada Lovelace wrote the first program.";
	assert_int_equal(llm_analyze_text(b, &c, text, strlen(text), &out, &e), 0);
	assert_int_equal(f->calls, 1);
	assert_non_null(strstr(f->prompts[0], text));
	assert_string_equal(json_string_value(json_object_get(out, "title")), "T");
	json_t *src = json_object_get(out, "sources");
	assert_string_equal(json_string_value(json_object_get(src, "summary")), "fake:m:1");
	assert_string_equal(json_string_value(json_object_get(src, "entities")), "fake:m:1");
	json_t *tm = json_object_get(out, "timings");
	assert_int_equal(json_integer_value(json_object_get(tm, "calls")), 1);
	assert_int_equal(json_integer_value(json_object_get(tm, "prompt_eval_count")), 100);
	assert_int_equal(json_integer_value(json_object_get(tm, "eval_ns")), 300);
	json_decref(out);
	fake_free(f);
}

static void test_invalid_reply_is_reasked_with_the_reason(void **st)
{
	llm_backend *b;
	struct fake *f = fake_new(&b);
	f->script[0] = "{\"title\":\"T\"}";                 /* missing fields */
	f->script[1] = "not json at all";
	struct llm_call c = call_for(4096);
	json_t *out = NULL;
	struct err e = {0};
	assert_int_equal(llm_analyze_text(b, &c, "hello world", 11, &out, &e), 0);
	assert_int_equal(f->calls, 3);
	assert_null(strstr(f->prompts[0], "not valid"));
	assert_non_null(strstr(f->prompts[1], "summary: missing"));
	assert_non_null(strstr(f->prompts[2], "not JSON"));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(out, "timings"), "retries")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(out, "timings"), "calls")), 3);
	json_decref(out);
	fake_free(f);
}

static void test_always_invalid_is_eformat_after_three_tries(void **st)
{
	llm_backend *b;
	struct fake *f = fake_new(&b);
	for (int i = 0; i < 5; i++)
		f->script[i] = "{\"title\":\"T\",\"summary\":\"S\",\"key_points\":\"oops\",\"tags\":[],\"entities\":[],\"language\":\"en\"}";
	struct llm_call c = call_for(4096);
	json_t *out = NULL;
	struct err e = {0};
	assert_int_equal(llm_analyze_text(b, &c, "hello", 5, &out, &e), DOSSIER_EFORMAT);
	assert_null(out);
	assert_int_equal(f->calls, LLM_FIX_RETRIES + 1);
	assert_non_null(strstr(e.msg, "key_points: expected array"));
	fake_free(f);
}

static void test_transport_error_is_not_retried(void **st)
{
	llm_backend *b;
	struct fake *f = fake_new(&b);
	f->fail_rc = DOSSIER_EAGAIN;
	struct llm_call c = call_for(4096);
	json_t *out = NULL;
	struct err e = {0};
	assert_int_equal(llm_analyze_text(b, &c, "hello", 5, &out, &e), DOSSIER_EAGAIN);
	assert_int_equal(f->calls, 1);
	assert_null(out);
	fake_free(f);
}

/* The text between "<<<\n" and "\n>>>" of a prompt. */
static void part_of(const char *prompt, char *out, size_t n)
{
	const char *a = strstr(prompt, "<<<\n"), *z = strstr(prompt, "\n>>>");
	assert_non_null(a);
	assert_non_null(z);
	a += 4;
	snprintf(out, n, "%.*s", (int)(z - a), a);
}

static void test_long_text_is_map_reduced_without_loss(void **st)
{
	llm_backend *b;
	struct fake *f = fake_new(&b);
	struct llm_call c = call_for(2048);
	size_t max = llm_chunk_bytes(2048);
	/* ~4.5 chunks of numbered sentences, so a lost or repeated byte shows */
	size_t cap = max * 9 / 2;
	char *text = malloc(cap + 64), *p = text;
	for (int i = 0; (size_t)(p - text) < cap; i++)
		p += sprintf(p, "Sentence number %d is here. %s", i, i % 7 == 6 ? "\n\n" : "");
	size_t len = (size_t)(p - text);
	json_t *out = NULL;
	struct err e = {0};
	assert_int_equal(llm_analyze_text(b, &c, text, len, &out, &e), 0);
	int maps = f->calls - 1;
	assert_true(maps >= 5);
	/* the parts, in order, are the whole text */
	char *joined = calloc(1, len + 1);
	for (int i = 0; i < maps; i++) {
		char *part = malloc(max + 1);
		part_of(f->prompts[i], part, max + 1);
		assert_true(strlen(part) <= max);
		strcat(joined, part);
		free(part);
		char want[32];
		snprintf(want, sizeof want, "part %d of %d", i + 1, maps);
		assert_non_null(strstr(f->prompts[i], want));
	}
	assert_string_equal(joined, text);
	/* the reduce step saw every part's summary */
	const char *last = f->prompts[maps];
	assert_non_null(strstr(last, "summaries of its consecutive parts"));
	for (int i = 0; i < maps; i++) {
		char want[32];
		snprintf(want, sizeof want, "summary-%d", i);
		assert_non_null(strstr(last, want));
	}
	json_t *tm = json_object_get(out, "timings");
	assert_int_equal(json_integer_value(json_object_get(tm, "chunks")), maps);
	assert_int_equal(json_integer_value(json_object_get(tm, "calls")), maps + 1);
	assert_int_equal(json_integer_value(json_object_get(tm, "eval_count")), 10 * (maps + 1));
	free(joined);
	free(text);
	json_decref(out);
	fake_free(f);
}

static void test_invalid_utf8_and_empty_text(void **st)
{
	llm_backend *b;
	struct fake *f = fake_new(&b);
	struct llm_call c = call_for(4096);
	json_t *out = NULL;
	struct err e = {0};
	assert_int_equal(llm_analyze_text(b, &c, " \n ", 3, &out, &e), DOSSIER_EEMPTY);
	assert_int_equal(f->calls, 0);
	const char bad[] = "caf\xc3\xa9 \xff\xfe ok";
	assert_int_equal(llm_analyze_text(b, &c, bad, sizeof bad - 1, &out, &e), 0);
	assert_non_null(strstr(f->prompts[0], "caf\xc3\xa9 ?? ok"));
	json_decref(out);
	fake_free(f);
}

static void test_image_goes_with_ocr_context(void **st)
{
	llm_backend *b;
	struct fake *f = fake_new(&b);
	struct llm_call c = call_for(4096);
	const unsigned char png[] = {0x89, 'P', 'N', 'G', 1, 2, 3};
	json_t *out = NULL;
	struct err e = {0};
	assert_int_equal(llm_describe_image(b, &c, png, sizeof png, "INVOICE 2024-001", &out, &e), 0);
	assert_int_equal(f->n_images[0], 1);
	assert_non_null(strstr(f->prompts[0], "INVOICE 2024-001"));
	assert_string_equal(json_string_value(json_object_get(out, "description")), "a cat");
	assert_string_equal(json_string_value(json_object_get(json_object_get(out, "sources"), "text_in_image")), "fake:m:1");
	json_decref(out);
	fake_free(f);
}

static void test_synthesize_lists_frames_in_prompt(void **st)
{
	llm_backend *b;
	struct fake *f = fake_new(&b);
	struct llm_call c = call_for(4096);
	json_t *parts = json_pack("{s:{s:s},s:[{s:f,s:s},{s:f,s:s}]}", "transcript_analysis", "summary", "talk about bees",
	                          "frames", "time", 0.0, "description", "a hive", "time", 12.5, "description", "a flower");
	json_t *out = NULL;
	struct err e = {0};
	assert_int_equal(llm_synthesize(b, &c, parts, &out, &e), 0);
	assert_non_null(strstr(f->prompts[0], "talk about bees"));
	assert_non_null(strstr(f->prompts[0], "[12.5 s] a flower"));
	assert_null(json_object_get(out, "notes"));
	assert_true(json_is_array(json_object_get(out, "timeline")));
	json_decref(parts);
	json_decref(out);
	fake_free(f);
}

static void test_schema_check_names_the_problem(void **st)
{
	json_t *s = llm_schema_text();
	char why[256];
	json_t *v = json_loads("{\"title\":\"T\",\"summary\":\"S\",\"key_points\":[\"a\",3],\"tags\":[],\"entities\":[],"
	                       "\"language\":\"en\"}", 0, NULL);
	assert_int_equal(llm_schema_check(s, v, why, sizeof why), DOSSIER_EFORMAT);
	assert_string_equal(why, "key_points[1]: expected string");
	json_decref(v);
	v = json_loads("{\"title\":\"T\",\"summary\":\"S\",\"key_points\":[],\"tags\":[],\"entities\":[{\"text\":\"x\"}],"
	               "\"language\":\"en\"}", 0, NULL);
	assert_int_equal(llm_schema_check(s, v, why, sizeof why), DOSSIER_EFORMAT);
	assert_string_equal(why, "entities[0].type: missing");
	json_decref(v);
	v = json_loads("[1]", 0, NULL);
	assert_int_equal(llm_schema_check(s, v, why, sizeof why), DOSSIER_EFORMAT);
	json_decref(v);
	json_decref(s);
}

static void test_http_errors_map_to_codes_and_fixes(void **st)
{
	struct err e = {0};
	const char *url = "http://127.0.0.1:11434";
	assert_int_equal(ollama_map_http_error(404, "{\"error\":\"model 'llava:13b' not found\"}", "llava:13b", url, "/api/chat", &e),
	                 DOSSIER_EMODEL);
	assert_non_null(strstr(e.msg, "`ollama pull llava:13b`"));
	assert_int_equal(ollama_map_http_error(404, "404 page not found", "x", url, "/api/ps", &e), DOSSIER_ENOTFOUND);
	assert_int_equal(ollama_map_http_error(500, "{\"error\":\"model requires more system memory (7.6 GiB) than is available (6.6 GiB)\"}",
	                                       "llama3.1:8b", url, "/api/chat", &e),
	                 DOSSIER_EMODEL);
	assert_non_null(strstr(e.msg, "--profile dev"));
	assert_non_null(strstr(e.msg, "num_ctx"));
	assert_int_equal(ollama_map_http_error(503, "{\"error\":\"server busy, please try again.  maximum pending requests exceeded\"}",
	                                       "m", url, "/api/chat", &e),
	                 DOSSIER_EAGAIN);
	assert_int_equal(ollama_map_http_error(400, "{\"error\":\"time: missing unit in duration \\\"-1\\\"\"}", "m", url, "/api/chat", &e),
	                 DOSSIER_EINVAL);
	assert_non_null(strstr(e.msg, "missing unit in duration"));
	assert_int_equal(ollama_map_http_error(400, "{\"error\":\"\\\"m\\\" does not support thinking\"}", "m", url, "/api/chat", &e),
	                 DOSSIER_EMODEL);
	assert_int_equal(ollama_map_http_error(500, "{\"error\":\"model runner has unexpectedly stopped\"}", "m", url, "/api/chat", &e),
	                 DOSSIER_EAGAIN);
}

static void test_base64_is_plain_and_padded(void **st)
{
	char *s;
	s = ollama_base64((const unsigned char *)"", 0);   assert_string_equal(s, "");       free(s);
	s = ollama_base64((const unsigned char *)"f", 1);  assert_string_equal(s, "Zg==");   free(s);
	s = ollama_base64((const unsigned char *)"fo", 2); assert_string_equal(s, "Zm8=");   free(s);
	s = ollama_base64((const unsigned char *)"foobar", 6); assert_string_equal(s, "Zm9vYmFy"); free(s);
	const unsigned char bin[] = {0xff, 0xfe, 0x00};
	s = ollama_base64(bin, 3); assert_string_equal(s, "//4A"); free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_reply_gets_sources_and_timings),
		cmocka_unit_test(test_invalid_reply_is_reasked_with_the_reason),
		cmocka_unit_test(test_always_invalid_is_eformat_after_three_tries),
		cmocka_unit_test(test_transport_error_is_not_retried),
		cmocka_unit_test(test_long_text_is_map_reduced_without_loss),
		cmocka_unit_test(test_invalid_utf8_and_empty_text),
		cmocka_unit_test(test_image_goes_with_ocr_context),
		cmocka_unit_test(test_synthesize_lists_frames_in_prompt),
		cmocka_unit_test(test_schema_check_names_the_problem),
		cmocka_unit_test(test_http_errors_map_to_codes_and_fixes),
		cmocka_unit_test(test_base64_is_plain_and_padded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
