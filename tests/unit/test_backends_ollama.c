/* The Ollama client against the protocol-faithful test server: streaming text
 * and metrics, faults (cut stream, error line, stall, 404, OOM, busy), an
 * unreachable port, the bytes on the wire (keep_alive, num_ctx, think, images),
 * load/unload/ps/show/ping, and the LLM tasks end to end. */
#include "backends/llm_tasks.h"
#include "backends/http.h"
#include "backends/ollama.h"
#include "core/config.h"
#include "core/err.h"
#include "core/util.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "test_backends_stub.h"

struct fx {
	struct stub stub;
	struct config cfg;
	struct llm_backend *b;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	if (stub_start(&f->stub, NULL)) {
		free(f);
		fail_msg("cannot start %s/ollama-stub (build it with --target ollama-stub)", DOSSIER_BINARY_DIR);
		return -1; /* not reached: fail_msg jumps out, but gcc does not know it and saw f used after free */
	}
	config_defaults(&f->cfg, "dev");
	config_ollama_url(f->stub.url, f->cfg.ollama_host, sizeof f->cfg.ollama_host);
	f->cfg.idle_timeout_ms = 5000;
	struct err e = {0};
	assert_int_equal(ollama_backend_new(&f->cfg, &f->b, &e), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	llm_backend_free(f->b);
	stub_stop(&f->stub);
	free(f);
	return 0;
}

static struct llm_request rq_text(const char *model, const char *prompt)
{
	struct llm_request rq = {.model = model, .prompt = prompt, .num_ctx = 4096, .temperature = 0.2,
	                         .seed = 42, .keep_alive_s = 30 * 60};
	return rq;
}

/* ------------------------------------------------------------- chat */

static void test_streamed_chat_gives_text_and_metrics(void **state)
{
	struct fx *f = *state;
	struct llm_request rq = rq_text("llama3.2:3b", "tell me about marmots");
	char *text = NULL;
	struct llm_metrics m;
	struct err e = {0};
	assert_int_equal(llm_chat(f->b, &rq, &text, &m, &e), 0);
	assert_non_null(strstr(text, "marmots"));
	assert_true(m.eval_count > 0);
	assert_true(m.prompt_eval_count > 0);
	assert_true(m.total_ns > 0);
	assert_true(m.eval_ns > 0);
	assert_true(m.wall_s > 0);
	free(text);
	/* the bytes on the wire */
	json_t *reqs = stub_requests(&f->stub, "/api/chat");
	assert_int_equal(json_array_size(reqs), 1);
	json_t *body = json_object_get(json_array_get(reqs, 0), "body");
	assert_string_equal(json_string_value(json_object_get(body, "keep_alive")), "30m");
	json_t *opts = json_object_get(body, "options");
	assert_int_equal(json_integer_value(json_object_get(opts, "num_ctx")), 4096);
	assert_int_equal(json_integer_value(json_object_get(opts, "seed")), 42);
	assert_non_null(json_object_get(opts, "temperature"));
	assert_null(json_object_get(body, "think")); /* llama3.2 has no thinking capability */
	json_decref(reqs);
}

static void test_thinking_model_gets_think_false(void **state)
{
	struct fx *f = *state;
	struct llm_request rq = rq_text("qwen3:4b", "hello");
	char *text = NULL;
	struct err e = {0};
	assert_int_equal(llm_chat(f->b, &rq, &text, NULL, &e), 0);
	free(text);
	json_t *reqs = stub_requests(&f->stub, "/api/chat");
	json_t *body = json_object_get(json_array_get(reqs, 0), "body");
	assert_true(json_is_false(json_object_get(body, "think")));
	json_decref(reqs);
}

static void test_cut_stream_is_eagain_never_a_result(void **state)
{
	struct fx *f = *state;
	const char *faults[] = {
		"{\"kind\":\"cut\",\"model\":\"llama3.2:3b\",\"after_chunks\":2}",
		"{\"kind\":\"cut\",\"model\":\"llama3.2:3b\",\"after_chunks\":2,\"clean\":true}",
		"{\"kind\":\"error_midstream\",\"model\":\"llama3.2:3b\",\"after_chunks\":1}",
	};
	for (size_t i = 0; i < 3; i++) {
		stub_fault(&f->stub, faults[i]);
		struct llm_request rq = rq_text("llama3.2:3b", "a fairly long prompt so that the reply has chunks");
		char *text = NULL;
		struct err e = {0};
		assert_int_equal(llm_chat(f->b, &rq, &text, NULL, &e), DOSSIER_EAGAIN);
		assert_null(text);
		assert_non_null(strstr(e.msg, "llama3.2:3b"));
	}
	/* the next request works again */
	struct llm_request rq = rq_text("llama3.2:3b", "again");
	char *text = NULL;
	struct err e = {0};
	assert_int_equal(llm_chat(f->b, &rq, &text, NULL, &e), 0);
	free(text);
}

static void test_not_pulled_model_names_ollama_pull(void **state)
{
	struct fx *f = *state;
	struct llm_request rq = rq_text("nosuchmodel:7b", "hi");
	char *text = NULL;
	struct err e = {0};
	assert_int_equal(llm_chat(f->b, &rq, &text, NULL, &e), DOSSIER_EMODEL);
	assert_non_null(strstr(e.msg, "`ollama pull nosuchmodel:7b`"));
	/* and the same for a model that disappears after show (404 on the chat itself) */
	stub_fault(&f->stub, "{\"kind\":\"not_found\",\"model\":\"llama3.1:8b\",\"count\":5}");
	rq = rq_text("llama3.1:8b", "hi");
	assert_int_equal(llm_chat(f->b, &rq, &text, NULL, &e), DOSSIER_EMODEL);
	assert_non_null(strstr(e.msg, "`ollama pull llama3.1:8b`"));
}

static void test_out_of_memory_suggests_dev_profile(void **state)
{
	struct fx *f = *state;
	stub_fault(&f->stub, "{\"kind\":\"oom\",\"model\":\"llama3.1:8b\"}");
	struct err e = {0};
	double load_s;
	assert_int_equal(llm_load(f->b, "llama3.1:8b", 8192, 30 * 60, &load_s, &e), DOSSIER_EMODEL);
	assert_non_null(strstr(e.msg, "--profile dev"));
	assert_non_null(strstr(e.msg, "llama3.1:8b"));
}

static void test_busy_is_eagain(void **state)
{
	struct fx *f = *state;
	stub_fault(&f->stub, "{\"kind\":\"busy\"}");
	struct llm_request rq = rq_text("llama3.2:3b", "hi");
	char *text = NULL;
	struct err e = {0};
	assert_int_equal(llm_chat(f->b, &rq, &text, NULL, &e), DOSSIER_EAGAIN);
	assert_non_null(strstr(e.msg, "busy"));
}

static void test_unreachable_port_names_the_url(void **state)
{
	struct config cfg;
	config_defaults(&cfg, "dev");
	char host[64];
	snprintf(host, sizeof host, "127.0.0.1:%d", closed_port());
	config_ollama_url(host, cfg.ollama_host, sizeof cfg.ollama_host);
	struct llm_backend *b;
	struct err e = {0};
	assert_int_equal(ollama_backend_new(&cfg, &b, &e), 0);
	char v[32];
	assert_int_equal(llm_ping(b, v, sizeof v, &e), DOSSIER_EUNAVAILABLE);
	assert_non_null(strstr(e.msg, cfg.ollama_host));
	assert_non_null(strstr(e.msg, "ollama serve"));
	struct llm_request rq = rq_text("llama3.2:3b", "hi");
	char *text = NULL;
	assert_int_equal(llm_chat(b, &rq, &text, NULL, &e), DOSSIER_EUNAVAILABLE);
	assert_non_null(strstr(e.msg, "--offline"));
	llm_backend_free(b);
}

static void test_stall_hits_idle_timeout(void **state)
{
	struct fx *f = *state;
	f->cfg.idle_timeout_ms = 600;
	struct llm_backend *b;
	struct err e = {0};
	assert_int_equal(ollama_backend_new(&f->cfg, &b, &e), 0);
	stub_fault(&f->stub, "{\"kind\":\"stall\",\"model\":\"llama3.2:3b\",\"after_chunks\":1,\"ms\":4000}");
	struct llm_request rq = rq_text("llama3.2:3b", "one two three four five");
	char *text = NULL;
	double t0 = clock_mono_s();
	assert_int_equal(llm_chat(b, &rq, &text, NULL, &e), DOSSIER_ETIMEOUT);
	double took = clock_mono_s() - t0;
	assert_true(took < 3.5); /* did not wait for the stall to end */
	assert_non_null(strstr(e.msg, "silent"));
	assert_null(text);
	llm_backend_free(b);
}

struct canceller {
	volatile int flag;
};

static void *cancel_soon(void *arg)
{
	struct canceller *c = arg;
	usleep(300 * 1000);
	c->flag = 1;
	return NULL;
}

static void test_cancel_flag_stops_a_request(void **state)
{
	struct fx *f = *state;
	stub_fault(&f->stub, "{\"kind\":\"stall\",\"model\":\"llama3.2:3b\",\"after_chunks\":1,\"ms\":4000}");
	struct canceller c = {0};
	struct llm_request rq = rq_text("llama3.2:3b", "one two three");
	rq.cancel = &c.flag;
	pthread_t t;
	pthread_create(&t, NULL, cancel_soon, &c);
	char *text = NULL;
	struct err e = {0};
	double t0 = clock_mono_s();
	assert_int_equal(llm_chat(f->b, &rq, &text, NULL, &e), DOSSIER_ECANCELLED);
	assert_true(clock_mono_s() - t0 < 3.0);
	pthread_join(t, NULL);
}

static void test_images_only_to_vision_models_as_plain_base64(void **state)
{
	struct fx *f = *state;
	static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
	                                    0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xde};
	const unsigned char *imgs[1] = {png};
	size_t lens[1] = {sizeof png};
	struct llm_request rq = rq_text("llama3.2:3b", "what is this");
	rq.images = imgs;
	rq.image_lens = lens;
	rq.n_images = 1;
	char *text = NULL;
	struct err e = {0};
	assert_int_equal(llm_chat(f->b, &rq, &text, NULL, &e), DOSSIER_EMODEL);
	assert_non_null(strstr(e.msg, "vision"));
	json_t *reqs = stub_requests(&f->stub, "/api/chat");
	assert_int_equal(json_array_size(reqs), 0); /* refused before sending */
	json_decref(reqs);

	rq.model = "llava:latest";
	assert_int_equal(llm_chat(f->b, &rq, &text, NULL, &e), 0);
	free(text);
	reqs = stub_requests(&f->stub, "/api/chat");
	json_t *msgs = json_object_get(json_object_get(json_array_get(reqs, 0), "body"), "messages");
	json_t *last = json_array_get(msgs, json_array_size(msgs) - 1);
	const char *b64 = json_string_value(json_array_get(json_object_get(last, "images"), 0));
	char *want = ollama_base64(png, sizeof png);
	assert_string_equal(b64, want);
	free(want);
	json_decref(reqs);
}

/* -------------------------------------------------- load / ps / show */

static void test_load_ps_unload_round_trip(void **state)
{
	struct fx *f = *state;
	struct err e = {0};
	double load_s = -1;
	assert_int_equal(llm_load(f->b, "llama3.2:3b", 4096, 30 * 60, &load_s, &e), 0);
	assert_true(load_s >= 0);
	struct llm_resident *r = NULL;
	size_t n = 0;
	assert_int_equal(llm_ps(f->b, &r, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(r[0].name, "llama3.2:3b");
	assert_int_equal(r[0].context_length, 4096);
	assert_true(r[0].size_bytes > 2000000000ull);
	free(r);
	assert_int_equal(llm_unload(f->b, "llama3.2:3b", &e), 0);
	/* gone from /api/ps within a moment */
	for (int i = 0; i < 50; i++) {
		assert_int_equal(llm_ps(f->b, &r, &n, &e), 0);
		free(r);
		if (!n)
			break;
		usleep(20000);
	}
	assert_int_equal(n, 0);
	/* load and unload carried the same num_ctx as the config gives the model */
	json_t *reqs = stub_requests(&f->stub, "/api/chat"), *q;
	size_t i;
	json_array_foreach(reqs, i, q) {
		json_t *body = json_object_get(q, "body");
		assert_int_equal(json_integer_value(json_object_get(json_object_get(body, "options"), "num_ctx")), 4096);
		assert_non_null(json_object_get(body, "keep_alive"));
	}
	json_decref(reqs);
}

static void test_show_reads_capabilities_and_shapes(void **state)
{
	struct fx *f = *state;
	struct llm_model_info in;
	struct err e = {0};
	assert_int_equal(llm_show(f->b, "llava:latest", &in, &e), 0);
	assert_true(in.vision);
	assert_true(in.completion);
	assert_true(in.block_count > 0);
	assert_true(in.head_count > 0 && in.head_count_kv > 0 && in.embedding_length > 0);
	assert_true(in.size_bytes > 1000000000ull);
	assert_int_equal(llm_show(f->b, "llama3.2:3b", &in, &e), 0);
	assert_false(in.vision);
	assert_int_equal(llm_show(f->b, "nope:1b", &in, &e), DOSSIER_EMODEL);
	char v[32];
	assert_int_equal(llm_ping(f->b, v, sizeof v, &e), 0);
	assert_true(strlen(v) > 0);
}

/* ------------------------------------------------------ tasks, end to end */

static void test_analyze_text_end_to_end(void **state)
{
	struct fx *f = *state;
	struct llm_call c = llm_call_from_config(&f->cfg, ROLE_TEXT, 30 * 60);
	const char *text = "The Lisbon harbour authority approved the new ferry timetable on Monday.";
	json_t *out = NULL;
	struct err e = {0};
	assert_int_equal(llm_analyze_text(f->b, &c, text, strlen(text), &out, &e), 0);
	assert_true(json_is_string(json_object_get(out, "title")));
	assert_true(json_is_array(json_object_get(out, "entities")));
	char want[160];
	snprintf(want, sizeof want, "ollama:%s", f->cfg.models[ROLE_TEXT].name);
	assert_string_equal(json_string_value(json_object_get(json_object_get(out, "sources"), "summary")), want);
	assert_true(json_integer_value(json_object_get(json_object_get(out, "timings"), "eval_count")) > 0);
	json_decref(out);
	/* the schema went as `format` */
	json_t *reqs = stub_requests(&f->stub, "/api/chat");
	json_t *fmt = json_object_get(json_object_get(json_array_get(reqs, 0), "body"), "format");
	assert_true(json_is_object(fmt));
	json_decref(reqs);
}

static void test_long_text_is_chunked_with_fixed_num_ctx_and_keep_alive(void **state)
{
	struct fx *f = *state;
	f->cfg.models[ROLE_TEXT].num_ctx = 2048;
	struct llm_call c = llm_call_from_config(&f->cfg, ROLE_TEXT, 30 * 60);
	size_t want_len = llm_chunk_bytes(2048) * 3 + 100;
	char *text = malloc(want_len + 64), *p = text;
	for (int i = 0; (size_t)(p - text) < want_len; i++)
		p += sprintf(p, "Paragraph %d talks about glaciers and fjords. ", i);
	json_t *out = NULL;
	struct err e = {0};
	assert_int_equal(llm_analyze_text(f->b, &c, text, (size_t)(p - text), &out, &e), 0);
	int chunks = (int)json_integer_value(json_object_get(json_object_get(out, "timings"), "chunks"));
	assert_true(chunks >= 4);
	json_t *reqs = stub_requests(&f->stub, "/api/chat"), *q;
	assert_int_equal(json_array_size(reqs), (size_t)chunks + 1);
	size_t i;
	json_array_foreach(reqs, i, q) {
		json_t *body = json_object_get(q, "body");
		assert_int_equal(json_integer_value(json_object_get(json_object_get(body, "options"), "num_ctx")), 2048);
		assert_string_equal(json_string_value(json_object_get(body, "keep_alive")), "30m");
	}
	json_decref(reqs);
	json_decref(out);
	free(text);
}

static void test_describe_image_end_to_end(void **state)
{
	struct fx *f = *state;
	static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
	                                    0, 0, 0, 2, 0, 0, 0, 2, 8, 2, 0, 0, 0, 0xfd, 0xd4, 0x9a, 0x73};
	struct llm_call c = llm_call_from_config(&f->cfg, ROLE_VISION, 30 * 60);
	json_t *out = NULL;
	struct err e = {0};
	assert_int_equal(llm_describe_image(f->b, &c, png, sizeof png, "RECEIPT TOTAL 12.50", &out, &e), 0);
	assert_true(json_is_string(json_object_get(out, "description")));
	assert_true(json_is_string(json_object_get(out, "text_in_image")));
	json_decref(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_streamed_chat_gives_text_and_metrics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thinking_model_gets_think_false, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_stream_is_eagain_never_a_result, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_pulled_model_names_ollama_pull, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_memory_suggests_dev_profile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy_is_eagain, setup, teardown),
		cmocka_unit_test(test_unreachable_port_names_the_url),
		cmocka_unit_test_setup_teardown(test_stall_hits_idle_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_flag_stops_a_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_images_only_to_vision_models_as_plain_base64, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_ps_unload_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_show_reads_capabilities_and_shapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_analyze_text_end_to_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_text_is_chunked_with_fixed_num_ctx_and_keep_alive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_describe_image_end_to_end, setup, teardown),
	};
	http_global_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
