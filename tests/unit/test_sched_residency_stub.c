/* The residency manager driving the protocol-faithful Ollama stub: under
 * grouped, alternating text/vision steps never leave two models resident and
 * every swap is announced once with the right from/to; under budget with room
 * for both, each model loads once and is never unloaded; every request carries
 * keep_alive and one num_ctx per model. */
#include "backends/llm_tasks.h"
#include "backends/http.h"
#include "backends/ollama.h"
#include "core/config.h"
#include "core/err.h"
#include "core/event.h"
#include "sched/residency.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "test_backends_stub.h"

struct fx {
	struct stub stub;
	struct config cfg;
	struct llm_backend *b;
	bus *bus;
	bus_sub *sub;
	residency *r;
};

static struct fx *fx_new(enum policy p, uint64_t budget, const char *const *stub_flags)
{
	struct fx *f = calloc(1, sizeof *f);
	assert_int_equal(stub_start(&f->stub, stub_flags), 0);
	config_defaults(&f->cfg, "dev");
	config_ollama_url(f->stub.url, f->cfg.ollama_host, sizeof f->cfg.ollama_host);
	f->cfg.policy = p;
	f->cfg.budget_bytes = budget;
	struct err e = {0};
	assert_int_equal(ollama_backend_new(&f->cfg, &f->b, &e), 0);
	bus_new(1, &f->bus);
	bus_subscribe(f->bus, 8192, &f->sub);
	assert_int_equal(residency_new(&f->cfg, f->b, f->bus, &f->r, &e), 0);
	return f;
}

static void fx_free(struct fx *f)
{
	residency_free(f->r);
	bus_unsubscribe(f->sub);
	bus_free(f->bus);
	llm_backend_free(f->b);
	stub_stop(&f->stub);
	free(f);
}

/* One LLM step of the given role, as the model lane runs it. */
static void step(struct fx *f, enum model_role role)
{
	struct err e = {0};
	assert_int_equal(residency_acquire(f->r, role, &e), 0);
	struct llm_call c = llm_call_from_config(&f->cfg, role, residency_keep_alive(f->r, role));
	json_t *out = NULL;
	if (role == ROLE_TEXT) {
		const char *t = "Minutes of the allotment committee: water butts, compost, the shed roof.";
		assert_int_equal(llm_analyze_text(f->b, &c, t, strlen(t), &out, &e), 0);
	} else {
		static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H',
		                                    'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xde};
		assert_int_equal(llm_describe_image(f->b, &c, png, sizeof png, NULL, &out, &e), 0);
	}
	json_decref(out);
	residency_release(f->r, role);
}

/* Every /api/chat request carries keep_alive, and each model always the same num_ctx. */
static void check_wire(struct fx *f)
{
	json_t *reqs = stub_requests(&f->stub, "/api/chat"), *q;
	size_t i;
	int ctx_text = -1, ctx_vision = -1;
	assert_true(json_array_size(reqs) > 0);
	json_array_foreach(reqs, i, q) {
		json_t *body = json_object_get(q, "body");
		assert_non_null(json_object_get(body, "keep_alive"));
		const char *model = json_string_value(json_object_get(body, "model"));
		int ctx = (int)json_integer_value(json_object_get(json_object_get(body, "options"), "num_ctx"));
		int *seen = !strcmp(model, f->cfg.models[ROLE_TEXT].name) ? &ctx_text : &ctx_vision;
		if (*seen < 0)
			*seen = ctx;
		assert_int_equal(ctx, *seen);
	}
	assert_int_equal(ctx_text, f->cfg.models[ROLE_TEXT].num_ctx);
	assert_int_equal(ctx_vision, f->cfg.models[ROLE_VISION].num_ctx);
	json_decref(reqs);
}

static void test_grouped_alternation_never_has_two_models_resident(void **st)
{
	struct fx *f = fx_new(POLICY_GROUPED, 0, NULL);
	enum model_role seq[] = {ROLE_TEXT, ROLE_VISION, ROLE_TEXT, ROLE_VISION, ROLE_VISION, ROLE_TEXT};
	for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++)
		step(f, seq[i]);
	json_t *stats = stub_call(&f->stub, "/_stub/stats", NULL);
	assert_int_equal(json_integer_value(json_object_get(stats, "max_resident_models")), 1);
	json_decref(stats);

	/* exactly one swapping_model per change of model, with the right from/to */
	const char *t = f->cfg.models[ROLE_TEXT].name, *v = f->cfg.models[ROLE_VISION].name;
	const char *want[][2] = {{t, v}, {v, t}, {t, v}, {v, t}};
	int n = 0;
	struct event *ev;
	while (bus_sub_next(f->sub, 0, &ev) == 0) {
		if (!strcmp(ev->name, "swapping_model")) {
			json_t *j = json_loads(ev->line, 0, NULL);
			assert_true(n < 4);
			assert_string_equal(json_string_value(json_object_get(j, "from")), want[n][0]);
			assert_string_equal(json_string_value(json_object_get(j, "to")), want[n][1]);
			json_decref(j);
			n++;
		}
		event_release(ev);
	}
	assert_int_equal(n, 4);
	check_wire(f);

	struct err e = {0};
	assert_int_equal(residency_finish(f->r, &e), 0);
	struct llm_resident *res = NULL;
	size_t nres = 9;
	for (int i = 0; i < 50 && nres; i++) { /* the stub lets an unloaded model linger briefly */
		assert_int_equal(llm_ps(f->b, &res, &nres, &e), 0);
		free(res);
		if (nres)
			usleep(20000);
	}
	assert_int_equal(nres, 0); /* grouped leaves nothing loaded at exit */
	fx_free(f);
}

static void test_budget_with_room_loads_each_model_once(void **st)
{
	struct fx *f = fx_new(POLICY_BUDGET, 16000000000ull, NULL);
	for (int i = 0; i < 3; i++) {
		step(f, ROLE_TEXT);
		step(f, ROLE_VISION);
	}
	json_t *stats = stub_call(&f->stub, "/_stub/stats", NULL);
	json_t *loads = json_object_get(stats, "loads"), *unloads = json_object_get(stats, "unloads");
	assert_int_equal(json_integer_value(json_object_get(loads, f->cfg.models[ROLE_TEXT].name)), 1);
	assert_int_equal(json_integer_value(json_object_get(loads, f->cfg.models[ROLE_VISION].name)), 1);
	assert_int_equal(json_object_size(unloads), 0);
	assert_int_equal(json_integer_value(json_object_get(stats, "max_resident_models")), 2);
	json_decref(stats);
	check_wire(f);
	struct residency_stats rs;
	residency_stats(f->r, &rs);
	assert_int_equal(rs.swaps, 0);
	assert_int_equal(rs.loads, 2);
	/* at exit both stay, on Ollama's default timer rather than pinned */
	struct err e = {0};
	assert_int_equal(residency_finish(f->r, &e), 0);
	json_t *last = stub_requests(&f->stub, "/api/chat");
	json_t *body = json_object_get(json_array_get(last, json_array_size(last) - 1), "body");
	assert_string_equal(json_string_value(json_object_get(body, "keep_alive")), "5m");
	json_decref(last);
	fx_free(f);
}

static void test_budget_too_small_swaps_like_grouped(void **st)
{
	/* room for the vision model (4.7 GB + KV) but not for both */
	struct fx *f = fx_new(POLICY_BUDGET, 6000000000ull, NULL);
	step(f, ROLE_TEXT);
	step(f, ROLE_VISION);
	step(f, ROLE_TEXT);
	json_t *stats = stub_call(&f->stub, "/_stub/stats", NULL);
	assert_int_equal(json_integer_value(json_object_get(stats, "max_resident_models")), 1);
	json_decref(stats);
	struct residency_stats rs;
	residency_stats(f->r, &rs);
	assert_int_equal(rs.swaps, 2);
	fx_free(f);
}

static void test_slow_load_is_timed_and_reported(void **st)
{
	struct fx *f = fx_new(POLICY_GROUPED, 0, NULL);
	stub_fault(&f->stub, "{\"kind\":\"slow_load\",\"ms\":300}");
	struct err e = {0};
	assert_int_equal(residency_acquire(f->r, ROLE_TEXT, &e), 0);
	residency_release(f->r, ROLE_TEXT);
	struct event *ev;
	long long load_ms = -1;
	while (bus_sub_next(f->sub, 0, &ev) == 0) {
		if (!strcmp(ev->name, "model_loaded")) {
			json_t *j = json_loads(ev->line, 0, NULL);
			load_ms = json_integer_value(json_object_get(j, "load_ms"));
			json_decref(j);
		}
		event_release(ev);
	}
	assert_true(load_ms >= 300);
	fx_free(f);
}

static void test_missing_model_fails_acquire_with_pull_hint(void **st)
{
	struct fx *f = fx_new(POLICY_GROUPED, 0, NULL);
	snprintf(f->cfg.models[ROLE_VISION].name, sizeof f->cfg.models[0].name, "llava:34b");
	struct err e = {0};
	assert_int_equal(residency_acquire(f->r, ROLE_VISION, &e), DOSSIER_EMODEL);
	assert_non_null(strstr(e.msg, "ollama pull llava:34b"));
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grouped_alternation_never_has_two_models_resident),
		cmocka_unit_test(test_budget_with_room_loads_each_model_once),
		cmocka_unit_test(test_budget_too_small_swaps_like_grouped),
		cmocka_unit_test(test_slow_load_is_timed_and_reported),
		cmocka_unit_test(test_missing_model_fails_acquire_with_pull_hint),
	};
	http_global_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
