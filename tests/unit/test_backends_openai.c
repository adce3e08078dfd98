/* The OpenAI-compatible engine against the test server in its OpenAI modes
 * (--router: llama.cpp's router; --single: a plain llama-server): streamed
 * chat with usage, json_schema, images only to vision models, errors and
 * faults mapped, the API key on the wire, router load/unload/ps and a plain
 * server's pinned model, show/describe from /v1/models, and what `auto`
 * finds at an address (the wrong-engine message). */
#include "backends/engines.h"
#include "backends/http.h"
#include "backends/openai.h"
#include "core/config.h"
#include "core/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "test_backends_stub.h"

struct fx {
	struct stub stub;
	struct config cfg;
	llm_backend *b;
};

static int start(void **state, const char *const *flags)
{
	struct fx *f = calloc(1, sizeof *f);
	if (stub_start(&f->stub, flags)) {
		free(f);
		fail_msg("cannot start %s/ollama-stub (build it with --target ollama-stub)", DOSSIER_BINARY_DIR);
		return -1; /* not reached: fail_msg jumps out, but gcc does not know it and saw f used after free */
	}
	config_defaults(&f->cfg, "dev");
	snprintf(f->cfg.llm_engine, sizeof f->cfg.llm_engine, "openai");
	snprintf(f->cfg.llm_url, sizeof f->cfg.llm_url, "%s/v1", f->stub.url); /* OPENAI_BASE_URL's shape */
	snprintf(f->cfg.llm_api_key, sizeof f->cfg.llm_api_key, "sk-unit");
	f->cfg.idle_timeout_ms = 5000;
	f->cfg.load_timeout_ms = 5000;
	struct err e = {0};
	assert_int_equal(llm_backend_from_config(&f->cfg, &f->b, &e), 0);
	assert_string_equal(llm_backend_name(f->b), "openai");
	*state = f;
	return 0;
}

static int setup_router(void **state)
{
	static const char *const flags[] = {"--router", "--load-ms", "150", "--api-key", "sk-unit", NULL};
	return start(state, flags);
}

static int setup_single(void **state)
{
	static const char *const flags[] = {"--single", "llama3.2:3b", NULL};
	return start(state, flags);
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
	struct llm_request rq = {.model = model, .prompt = prompt, .temperature = 0.2, .seed = 42,
	                         .keep_alive_s = 30 * 60};
	return rq;
}

static json_t *last_body(struct fx *f, const char *path)
{
	json_t *reqs = stub_requests(&f->stub, path);
	json_t *b = json_incref(json_object_get(json_array_get(reqs, json_array_size(reqs) - 1), "body"));
	json_decref(reqs);
	return b;
}

/* ------------------------------------------------------------- chat */

static void test_streamed_chat_gives_text_usage_and_the_wire_shape(void **state)
{
	struct fx *f = *state;
	struct llm_request rq = rq_text("llama3.2:3b", "tell me about marmots");
	rq.system = "be brief";
	rq.max_tokens = 64;
	char *text = NULL;
	struct llm_metrics m;
	struct err e = {0};
	assert_int_equal(llm_chat(f->b, &rq, &text, &m, &e), 0);
	assert_non_null(strstr(text, "marmots"));
	assert_true(m.eval_count > 0);
	assert_true(m.prompt_eval_count > 0);
	assert_true(m.eval_ns > 0);
	assert_true(m.wall_s > 0);
	free(text);
	json_t *reqs = stub_requests(&f->stub, "/v1/chat/completions");
	assert_int_equal(json_array_size(reqs), 1);
	json_t *r = json_array_get(reqs, 0);
	assert_string_equal(json_string_value(json_object_get(r, "auth")), "ok"); /* the bearer key went along */
	json_t *body = json_object_get(r, "body");
	assert_true(json_is_true(json_object_get(body, "stream")));
	assert_true(json_is_true(json_object_get(json_object_get(body, "stream_options"), "include_usage")));
	assert_int_equal(json_integer_value(json_object_get(body, "seed")), 42);
	assert_int_equal(json_integer_value(json_object_get(body, "max_tokens")), 64);
	assert_true(json_real_value(json_object_get(body, "temperature")) > 0.19);
	json_t *msgs = json_object_get(body, "messages");
	assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 0), "role")), "system");
	assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 1), "content")), "tell me about marmots");
	assert_null(json_object_get(body, "response_format"));
	json_decref(reqs);
	/* a router model that was not loaded got autoloaded for the chat */
	json_t *router = stub_call(&f->stub, "/_stub/router", NULL);
	assert_int_equal(json_integer_value(json_object_get(router, "loads")), 1);
	json_decref(router);
}

static void test_a_schema_goes_as_json_schema_and_the_reply_satisfies_it(void **state)
{
	struct fx *f = *state;
	json_t *schema = json_loads("{\"type\":\"object\",\"properties\":{\"title\":{\"type\":\"string\"},"
	                            "\"keywords\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}},"
	                            "\"required\":[\"title\",\"keywords\"]}", 0, NULL);
	struct llm_request rq = rq_text("llama3.2:3b", "a note about alpine marmots");
	rq.format = schema;
	char *text = NULL;
	struct err e = {0};
	assert_int_equal(llm_chat(f->b, &rq, &text, NULL, &e), 0);
	json_t *reply = json_loads(text, 0, NULL);
	assert_non_null(reply);
	assert_true(json_is_string(json_object_get(reply, "title")));
	assert_true(json_is_array(json_object_get(reply, "keywords")));
	json_decref(reply);
	free(text);
	json_t *body = last_body(f, "/v1/chat/completions");
	json_t *rf = json_object_get(body, "response_format");
	assert_string_equal(json_string_value(json_object_get(rf, "type")), "json_schema");
	assert_true(json_equal(json_object_get(json_object_get(rf, "json_schema"), "schema"), schema));
	json_decref(body);
	json_decref(schema);
}

static const unsigned char PNG[] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 'I', 'H', 'D', 'R',
                                    0, 0, 0, 2, 0, 0, 0, 3, 8, 2, 0, 0, 0};

static void test_images_go_as_data_uris_only_to_vision_models(void **state)
{
	struct fx *f = *state;
	const unsigned char *imgs[1] = {PNG};
	size_t lens[1] = {sizeof PNG};
	struct llm_request rq = rq_text("llava:latest", "describe this picture");
	rq.images = imgs;
	rq.image_lens = lens;
	rq.n_images = 1;
	char *text = NULL;
	struct err e = {0};
	assert_int_equal(llm_chat(f->b, &rq, &text, NULL, &e), 0);
	free(text);
	json_t *body = last_body(f, "/v1/chat/completions");
	json_t *content = json_object_get(json_array_get(json_object_get(body, "messages"), 0), "content");
	assert_string_equal(json_string_value(json_object_get(json_array_get(content, 0), "type")), "text");
	json_t *img = json_array_get(content, 1);
	assert_string_equal(json_string_value(json_object_get(img, "type")), "image_url");
	const char *url = json_string_value(json_object_get(json_object_get(img, "image_url"), "url"));
	assert_non_null(url);
	assert_int_equal(strncmp(url, "data:image/png;base64,", 22), 0);
	json_decref(body);
	/* a text model is refused before anything is sent: its modalities say text only */
	json_t *before = stub_requests(&f->stub, "/v1/chat/completions");
	rq.model = "llama3.2:3b";
	assert_int_equal(llm_chat(f->b, &rq, &text, NULL, &e), DOSSIER_EMODEL);
	assert_non_null(strstr(e.msg, "llama3.2:3b"));
	assert_non_null(strstr(e.msg, "images"));
	json_t *after = stub_requests(&f->stub, "/v1/chat/completions");
	assert_int_equal(json_array_size(after), json_array_size(before));
	json_decref(before);
	json_decref(after);
}

static void test_faults_are_mapped(void **state)
{
	struct fx *f = *state;
	struct llm_request rq = rq_text("llama3.2:3b", "hello there");
	char *text = NULL;
	struct err e = {0};
	/* a stream that ends cleanly without a finish_reason is no result */
	stub_fault(&f->stub, "{\"kind\":\"cut\",\"after_chunks\":2,\"clean\":true}");
	assert_int_equal(llm_chat(f->b, &rq, &text, NULL, &e), DOSSIER_EAGAIN);
	assert_non_null(strstr(e.msg, "finish_reason"));
	err_clear(&e);
	stub_fault(&f->stub, "{\"kind\":\"cut\",\"after_chunks\":1}");
	assert_int_equal(llm_chat(f->b, &rq, &text, NULL, &e), DOSSIER_EAGAIN);
	err_clear(&e);
	stub_fault(&f->stub, "{\"kind\":\"error_midstream\",\"after_chunks\":1,\"message\":\"kv cache full\"}");
	assert_int_equal(llm_chat(f->b, &rq, &text, NULL, &e), DOSSIER_EAGAIN);
	assert_non_null(strstr(e.msg, "kv cache full"));
	err_clear(&e);
	stub_fault(&f->stub, "{\"kind\":\"busy\"}");
	assert_int_equal(llm_chat(f->b, &rq, &text, NULL, &e), DOSSIER_EAGAIN);
	assert_non_null(strstr(e.msg, "Loading model"));
	err_clear(&e);
	stub_fault(&f->stub, "{\"kind\":\"error_before\",\"status\":500,\"message\":\"llama_decode failed\"}");
	assert_int_equal(llm_chat(f->b, &rq, &text, NULL, &e), DOSSIER_EAGAIN);
	assert_non_null(strstr(e.msg, "llama_decode failed"));
	err_clear(&e);
	rq.model = "no-such-model";
	assert_int_equal(llm_chat(f->b, &rq, &text, NULL, &e), DOSSIER_EMODEL);
	assert_non_null(strstr(e.msg, "no-such-model"));
	err_clear(&e);
	/* and afterwards it works again */
	rq.model = "llama3.2:3b";
	assert_int_equal(llm_chat(f->b, &rq, &text, NULL, &e), 0);
	free(text);
}

static void test_a_wrong_key_is_refused_and_named(void **state)
{
	struct fx *f = *state;
	struct config c = f->cfg;
	snprintf(c.llm_api_key, sizeof c.llm_api_key, "sk-wrong");
	llm_backend *b = NULL;
	struct err e = {0};
	assert_int_equal(llm_backend_from_config(&c, &b, &e), 0);
	char v[64];
	assert_int_equal(llm_ping(b, v, sizeof v, &e), DOSSIER_EINVAL);
	assert_non_null(strstr(e.msg, "OPENAI_API_KEY"));
	assert_null(strstr(e.msg, "sk-wrong")); /* the key is never printed */
	llm_backend_free(b);
}

/* ------------------------------------------------------------- router residency */

static int resident(llm_backend *b, const char *model)
{
	struct llm_resident *r = NULL;
	size_t n = 0;
	struct err e = {0};
	assert_int_equal(llm_ps(b, &r, &n, &e), 0);
	int found = 0;
	for (size_t i = 0; i < n; i++)
		found |= !strcmp(r[i].name, model);
	free(r);
	return found;
}

static void test_router_load_waits_for_loaded_and_unload_for_unloaded(void **state)
{
	struct fx *f = *state;
	struct err e = {0};
	double load_s = 0;
	char v[64];
	assert_int_equal(llm_ping(f->b, v, sizeof v, &e), 0);
	assert_string_equal(v, "llama.cpp router");
	assert_false(resident(f->b, "llama3.1:8b"));
	assert_int_equal(llm_load(f->b, "llama3.1:8b", 4096, 1800, &load_s, &e), 0);
	assert_true(load_s >= 0.14); /* the stub's load takes 150 ms, and load returns once it is loaded */
	assert_true(resident(f->b, "llama3.1:8b"));
	assert_int_equal(llm_load(f->b, "llama3.1:8b", 4096, 1800, &load_s, &e), 0); /* already loaded: fine */
	assert_int_equal(llm_unload(f->b, "llama3.1:8b", &e), 0);
	assert_false(resident(f->b, "llama3.1:8b"));
	assert_int_equal(llm_unload(f->b, "llama3.1:8b", &e), 0); /* not loaded is not an error */
	json_t *router = stub_call(&f->stub, "/_stub/router", NULL);
	assert_int_equal(json_integer_value(json_object_get(router, "loads")), 1);
	assert_int_equal(json_integer_value(json_object_get(router, "unloads")), 1);
	json_decref(router);
	/* an unknown model, a failed load, a load that takes too long */
	assert_int_equal(llm_load(f->b, "no-such-model", 4096, 1800, NULL, &e), DOSSIER_EMODEL);
	err_clear(&e);
	stub_fault(&f->stub, "{\"kind\":\"oom\"}");
	assert_int_equal(llm_load(f->b, "qwen3:4b", 4096, 1800, NULL, &e), DOSSIER_EMODEL);
	assert_non_null(strstr(e.msg, "exit"));
	err_clear(&e);
	struct config c = f->cfg;
	c.load_timeout_ms = 300;
	llm_backend *b = NULL;
	assert_int_equal(llm_backend_from_config(&c, &b, &e), 0);
	stub_fault(&f->stub, "{\"kind\":\"slow_load\",\"ms\":3000}");
	assert_int_equal(llm_load(b, "llama3.2:3b", 4096, 1800, NULL, &e), DOSSIER_ETIMEOUT);
	assert_non_null(strstr(e.msg, "load_timeout"));
	llm_backend_free(b);
}

static void test_router_show_and_describe_come_from_v1_models(void **state)
{
	struct fx *f = *state;
	struct llm_model_info in;
	struct err e = {0};
	assert_int_equal(llm_show(f->b, "llava:latest", &in, &e), 0);
	assert_true(in.vision);
	assert_true(in.completion);
	assert_true(in.size_bytes > 0);
	assert_true(in.context_length > 0);
	assert_int_equal(llm_show(f->b, "llama3.2:3b", &in, &e), 0);
	assert_false(in.vision);
	assert_int_equal(llm_show(f->b, "nope", &in, &e), DOSSIER_EMODEL);
	json_t *d = NULL;
	assert_int_equal(llm_describe(f->b, "llava:latest", &d, &e), 0);
	assert_non_null(strstr(json_string_value(json_object_get(d, "gguf_path")), ".gguf"));
	assert_non_null(json_string_value(json_object_get(d, "mmproj_path")));
	assert_int_equal(json_integer_value(json_object_get(d, "num_ctx")), 4096);
	assert_true(json_integer_value(json_object_get(d, "size")) > 0);
	json_decref(d);
}

/* ------------------------------------------------------------- plain server */

static void test_a_plain_server_pins_its_model_and_load_is_a_no_op(void **state)
{
	struct fx *f = *state;
	struct err e = {0};
	double load_s = -1;
	assert_int_equal(llm_load(f->b, "llama3.2:3b", 4096, 1800, &load_s, &e), 0);
	assert_true(load_s >= 0);
	assert_int_equal(llm_unload(f->b, "llama3.2:3b", &e), 0);
	struct llm_resident *r = NULL;
	size_t n = 0;
	assert_int_equal(llm_ps(f->b, &r, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(r[0].name, "llama3.2:3b");
	assert_int_equal(strncmp(r[0].expires_at, "9999", 4), 0);
	free(r);
	char *text = NULL;
	struct llm_request rq = rq_text("llama3.2:3b", "plain servers answer too");
	assert_int_equal(llm_chat(f->b, &rq, &text, NULL, &e), 0);
	assert_non_null(strstr(text, "servers"));
	free(text);
	json_t *loads = stub_requests(&f->stub, "/models/load");
	assert_int_equal(json_array_size(loads), 0);
	json_decref(loads);
}

/* ------------------------------------------------------------- choosing the engine */

static void test_auto_tells_the_servers_apart_and_a_wrong_engine_is_named(void **state)
{
	(void)state;
	struct stub ollama, router, single;
	static const char *const rflags[] = {"--router", NULL};
	static const char *const sflags[] = {"--single", "llama3.2:3b", NULL};
	assert_int_equal(stub_start(&ollama, NULL), 0);
	assert_int_equal(stub_start(&router, rflags), 0);
	assert_int_equal(stub_start(&single, sflags), 0);
	struct config c;
	config_defaults(&c, "dev");
	struct llm_engine_found fd;
	struct err e = {0};
	assert_int_equal(llm_engine_probe(&c, ollama.url, &fd, &e), 0);
	assert_string_equal(fd.engine, "ollama");
	assert_non_null(strstr(fd.how, "/api/version"));
	assert_int_equal(llm_engine_probe(&c, router.url, &fd, &e), 0);
	assert_string_equal(fd.engine, "openai");
	assert_string_equal(fd.kind, "llama.cpp router");
	assert_int_equal(llm_engine_probe(&c, single.url, &fd, &e), 0);
	assert_string_equal(fd.kind, "OpenAI-compatible server");
	char dead[64];
	snprintf(dead, sizeof dead, "http://127.0.0.1:%d", closed_port());
	assert_int_equal(llm_engine_probe(&c, dead, &fd, &e), DOSSIER_EUNAVAILABLE);

	/* auto picks the engine from what answers */
	llm_backend *b = NULL;
	snprintf(c.llm_url, sizeof c.llm_url, "%s", router.url);
	assert_int_equal(llm_backend_from_config(&c, &b, &e), 0);
	assert_string_equal(llm_backend_name(b), "openai");
	llm_backend_free(b);
	snprintf(c.llm_url, sizeof c.llm_url, "%s", ollama.url);
	assert_int_equal(llm_backend_from_config(&c, &b, &e), 0);
	assert_string_equal(llm_backend_name(b), "ollama");
	llm_backend_free(b);

	/* nothing answers: the engine the address suggests, so its own advice is shown */
	struct config d;
	config_defaults(&d, "dev");
	snprintf(d.ollama_host, sizeof d.ollama_host, "%s", dead);
	snprintf(d.openai_base_url, sizeof d.openai_base_url, "%s/v1", dead);
	assert_int_equal(llm_backend_from_config(&d, &b, &e), 0);
	assert_string_equal(llm_backend_name(b), "openai");
	llm_backend_free(b);
	d.openai_base_url[0] = '\0';
	assert_int_equal(llm_backend_from_config(&d, &b, &e), 0);
	assert_string_equal(llm_backend_name(b), "ollama");
	llm_backend_free(b);

	/* --engine ollama at a router: the message names what it is and the flag */
	snprintf(c.llm_engine, sizeof c.llm_engine, "ollama");
	snprintf(c.llm_url, sizeof c.llm_url, "%s", router.url);
	assert_int_equal(llm_backend_from_config(&c, &b, &e), 0);
	char v[64];
	assert_int_equal(llm_backend_check(&b, &c, v, sizeof v, &e), DOSSIER_EUNAVAILABLE);
	assert_non_null(strstr(e.msg, "llama.cpp router"));
	assert_non_null(strstr(e.msg, "--engine openai"));
	/* every later call says the same, so steps wait instead of failing */
	err_clear(&e);
	char *text = NULL;
	struct llm_request rq = rq_text("llama3.2:3b", "hi");
	assert_int_equal(llm_chat(b, &rq, &text, NULL, &e), DOSSIER_EUNAVAILABLE);
	assert_non_null(strstr(e.msg, "--engine openai"));
	assert_int_equal(llm_load(b, "llama3.2:3b", 4096, 60, NULL, &e), DOSSIER_EUNAVAILABLE);
	llm_backend_free(b);
	err_clear(&e);
	/* the right engine passes the check */
	snprintf(c.llm_engine, sizeof c.llm_engine, "openai");
	assert_int_equal(llm_backend_from_config(&c, &b, &e), 0);
	assert_int_equal(llm_backend_check(&b, &c, v, sizeof v, &e), 0);
	llm_backend_free(b);
	stub_stop(&ollama);
	stub_stop(&router);
	stub_stop(&single);
}

static void test_root_urls_and_data_uris(void **state)
{
	(void)state;
	char r[128];
	openai_root_url("http://h:8080/v1/", r, sizeof r);
	assert_string_equal(r, "http://h:8080");
	openai_root_url("http://h:8080", r, sizeof r);
	assert_string_equal(r, "http://h:8080");
	char *u = openai_data_uri(PNG, sizeof PNG);
	assert_int_equal(strncmp(u, "data:image/png;base64,iVBORw0KGgo", 33), 0);
	free(u);
	static const unsigned char jpg[] = {0xff, 0xd8, 0xff, 0xe0};
	u = openai_data_uri(jpg, sizeof jpg);
	assert_int_equal(strncmp(u, "data:image/jpeg;base64,", 23), 0);
	free(u);
}

int main(void)
{
	http_global_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_urls_and_data_uris),
		cmocka_unit_test_setup_teardown(test_streamed_chat_gives_text_usage_and_the_wire_shape, setup_router, teardown),
		cmocka_unit_test_setup_teardown(test_a_schema_goes_as_json_schema_and_the_reply_satisfies_it, setup_router,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_images_go_as_data_uris_only_to_vision_models, setup_router, teardown),
		cmocka_unit_test_setup_teardown(test_faults_are_mapped, setup_router, teardown),
		cmocka_unit_test_setup_teardown(test_a_wrong_key_is_refused_and_named, setup_router, teardown),
		cmocka_unit_test_setup_teardown(test_router_load_waits_for_loaded_and_unload_for_unloaded, setup_router,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_router_show_and_describe_come_from_v1_models, setup_router, teardown),
		cmocka_unit_test_setup_teardown(test_a_plain_server_pins_its_model_and_load_is_a_no_op, setup_single,
		                                teardown),
		cmocka_unit_test(test_auto_tells_the_servers_apart_and_a_wrong_engine_is_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
