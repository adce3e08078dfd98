/* The residency manager against a scripted in-process engine that models what
 * matters: which models are in memory, that an unloaded model lingers in
 * /api/ps for a few polls, and which requests were in flight. The same rules
 * are checked against the protocol-faithful stub in test_sched_residency_stub.c. */
#include "backends/llm.h"
#include "core/config.h"
#include "core/err.h"
#include "core/event.h"
#include "sched/residency.h"
#include "plan/facts.h"
#include "plan/footprint.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

/* ------------------------------------------------------------ fake engine */

#define NM 4

struct engine {
	pthread_mutex_t mu;
	char name[NM][64];
	int loaded[NM];          /* 1 = in memory */
	int linger[NM];          /* ps polls an unloaded model still shows up for */
	uint64_t size[NM];
	int loads[NM], unloads[NM];
	int max_listed;          /* most models listed by ps at once */
	int overlap_loads;       /* loads that started while another model was listed */
	int ps_calls;
	int64_t last_keep_alive[NM]; /* seconds, as the last load asked */
	volatile int in_flight[NM]; /* set by the test while "a request runs" */
	int unload_while_busy;
	int linger_polls;        /* how many polls an unload lingers */
};

static int idx(struct engine *g, const char *model)
{
	for (int i = 0; i < NM; i++)
		if (!strcmp(g->name[i], model))
			return i;
	fail_msg("unknown model %s", model);
	return -1;
}

static int listed(struct engine *g)
{
	int n = 0;
	for (int i = 0; i < NM; i++)
		n += g->loaded[i] || g->linger[i] > 0;
	return n;
}

static int e_load(void *ctx, const char *model, int num_ctx, int64_t ka, double *load_s, struct err *err)
{
	struct engine *g = ctx;
	pthread_mutex_lock(&g->mu);
	int i = idx(g, model);
	if (!g->loaded[i]) {
		if (listed(g))
			g->overlap_loads++;
		g->loaded[i] = 1;
		g->loads[i]++;
	}
	g->last_keep_alive[i] = ka;
	if (listed(g) > g->max_listed)
		g->max_listed = listed(g);
	pthread_mutex_unlock(&g->mu);
	if (load_s)
		*load_s = 0.01;
	return 0;
}

static int e_unload(void *ctx, const char *model, struct err *err)
{
	struct engine *g = ctx;
	pthread_mutex_lock(&g->mu);
	int i = idx(g, model);
	if (g->in_flight[i])
		g->unload_while_busy++;
	if (g->loaded[i]) {
		g->loaded[i] = 0;
		g->linger[i] = g->linger_polls;
		g->unloads[i]++;
	}
	pthread_mutex_unlock(&g->mu);
	return 0;
}

static int e_ps(void *ctx, struct llm_resident **out, size_t *n, struct err *err)
{
	struct engine *g = ctx;
	pthread_mutex_lock(&g->mu);
	g->ps_calls++;
	struct llm_resident *r = calloc(NM, sizeof *r);
	size_t k = 0;
	for (int i = 0; i < NM; i++) {
		if (g->loaded[i] || g->linger[i] > 0) {
			snprintf(r[k].name, sizeof r[k].name, "%s", g->name[i]);
			r[k].size_bytes = g->size[i];
			k++;
		}
		if (!g->loaded[i] && g->linger[i] > 0)
			g->linger[i]--;
	}
	pthread_mutex_unlock(&g->mu);
	*out = r;
	*n = k;
	return 0;
}

static int e_show(void *ctx, const char *model, struct llm_model_info *out, struct err *err)
{
	struct engine *g = ctx;
	memset(out, 0, sizeof *out);
	snprintf(out->name, sizeof out->name, "%s", model);
	out->size_bytes = g->size[idx(g, model)];
	out->completion = 1;
	/* llama-3.2-3b-like shapes: 28 layers, 24 heads, 8 KV heads, 3072 wide */
	out->block_count = 28;
	out->head_count = 24;
	out->head_count_kv = 8;
	out->embedding_length = 3072;
	out->context_length = 131072;
	return 0;
}

/* The same shapes as /api/show describes them (model_info, size). */
static int e_describe(void *ctx, const char *model, json_t **out, struct err *err)
{
	struct engine *g = ctx;
	*out = json_pack("{s:{s:s,s:i,s:i,s:i,s:i,s:i},s:[s],s:I}", "model_info", "general.architecture", "llama",
	                 "llama.block_count", 28, "llama.attention.head_count", 24, "llama.attention.head_count_kv", 8,
	                 "llama.embedding_length", 3072, "llama.context_length", 131072, "capabilities", "completion",
	                 "size", (json_int_t)g->size[idx(g, model)]);
	return 0;
}

static const struct llm_backend_ops engine_ops = {
	.name = "fake", .load = e_load, .unload = e_unload, .ps = e_ps, .show = e_show, .describe = e_describe,
};

struct fixture {
	struct config cfg;
	struct engine g;
	llm_backend *b;
	bus *bus;
	bus_sub *sub;
	residency *r;
};

static struct fixture *fx_new(enum policy p, uint64_t budget)
{
	struct fixture *f = calloc(1, sizeof *f);
	config_defaults(&f->cfg, "dev");
	f->cfg.policy = p;
	f->cfg.budget_bytes = budget;
	f->cfg.swap_delay_s = -1;
	pthread_mutex_init(&f->g.mu, NULL);
	snprintf(f->g.name[0], 64, "%s", f->cfg.models[ROLE_TEXT].name);
	snprintf(f->g.name[1], 64, "%s", f->cfg.models[ROLE_VISION].name);
	f->g.size[0] = 2000000000ull;
	f->g.size[1] = 4700000000ull;
	f->g.linger_polls = 3;
	struct err e = {0};
	assert_int_equal(llm_backend_wrap(&engine_ops, &f->g, NULL, &f->b, &e), 0); /* close NULL: g stays ours */
	bus_new(1, &f->bus);
	bus_subscribe(f->bus, 4096, &f->sub);
	assert_int_equal(residency_new(&f->cfg, f->b, f->bus, &f->r, &e), 0);
	return f;
}

static void fx_free(struct fixture *f)
{
	residency_free(f->r);
	llm_backend_free(f->b);
	bus_unsubscribe(f->sub);
	bus_free(f->bus);
	pthread_mutex_destroy(&f->g.mu);
	free(f);
}

/* Counts events named `name`; for swapping_model also checks from/to in order. */
struct evlog {
	int swapping, loading, loaded, unloaded, memory;
	char swaps[16][2][64];
	json_t *last_memory;
};

static void drain(struct fixture *f, struct evlog *l)
{
	struct event *ev;
	while (bus_sub_next(f->sub, 0, &ev) == 0) {
		json_t *j = json_loads(ev->line, 0, NULL);
		if (!strcmp(ev->name, "swapping_model")) {
			if (l->swapping < 16) {
				snprintf(l->swaps[l->swapping][0], 64, "%s", json_string_value(json_object_get(j, "from")));
				snprintf(l->swaps[l->swapping][1], 64, "%s", json_string_value(json_object_get(j, "to")));
			}
			l->swapping++;
		} else if (!strcmp(ev->name, "model_loading"))
			l->loading++;
		else if (!strcmp(ev->name, "model_loaded")) {
			l->loaded++;
			assert_true(json_is_integer(json_object_get(j, "load_ms")));
		} else if (!strcmp(ev->name, "model_unloaded"))
			l->unloaded++;
		else if (!strcmp(ev->name, "memory")) {
			l->memory++;
			json_decref(l->last_memory);
			l->last_memory = json_incref(j);
		}
		json_decref(j);
		event_release(ev);
	}
}

/* ------------------------------------------------------------------ tests */

static void use(struct fixture *f, enum model_role role)
{
	struct err e = {0};
	assert_int_equal(residency_acquire(f->r, role, &e), 0);
	residency_release(f->r, role);
}

static void test_grouped_alternating_roles_keep_one_model(void **st)
{
	struct fixture *f = fx_new(POLICY_GROUPED, 0);
	enum model_role seq[] = {ROLE_TEXT, ROLE_VISION, ROLE_TEXT, ROLE_TEXT, ROLE_VISION, ROLE_TEXT};
	for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++)
		use(f, seq[i]);
	assert_int_equal(f->g.max_listed, 1);
	assert_int_equal(f->g.overlap_loads, 0);
	struct evlog l = {0};
	drain(f, &l);
	/* T, V, T, (T stays), V, T: four swaps, five loads */
	assert_int_equal(l.swapping, 4);
	assert_int_equal(l.loaded, 5);
	assert_int_equal(l.loading, 5);
	assert_int_equal(l.unloaded, 4);
	const char *t = f->cfg.models[ROLE_TEXT].name, *v = f->cfg.models[ROLE_VISION].name;
	const char *want[4][2] = {{t, v}, {v, t}, {t, v}, {v, t}};
	for (int i = 0; i < 4; i++) {
		assert_string_equal(l.swaps[i][0], want[i][0]);
		assert_string_equal(l.swaps[i][1], want[i][1]);
	}
	struct residency_stats s;
	residency_stats(f->r, &s);
	assert_int_equal(s.swaps, 4);
	assert_int_equal(s.loads, 5);
	assert_int_equal(s.max_resident_models, 1);
	assert_int_equal(f->g.last_keep_alive[0], residency_keep_alive(f->r, ROLE_TEXT));
	assert_int_equal(f->g.last_keep_alive[0], 30 * 60);
	json_decref(l.last_memory);
	fx_free(f);
}

static void test_swap_waits_until_ps_no_longer_lists_the_old_model(void **st)
{
	struct fixture *f = fx_new(POLICY_SEQUENTIAL, 0);
	f->g.linger_polls = 5;
	use(f, ROLE_TEXT);
	int before = f->g.ps_calls;
	use(f, ROLE_VISION);
	/* the manager polled until the text model left /api/ps, then loaded */
	assert_true(f->g.ps_calls - before >= 5);
	assert_int_equal(f->g.overlap_loads, 0);
	fx_free(f);
}

static void test_fixed_swap_delay_does_not_poll(void **st)
{
	struct fixture *f = fx_new(POLICY_GROUPED, 0);
	f->cfg.swap_delay_s = 0.05;
	f->g.linger_polls = 0;
	use(f, ROLE_TEXT);
	int before = f->g.ps_calls;
	struct residency_stats s;
	use(f, ROLE_VISION);
	residency_stats(f->r, &s);
	assert_true(s.swap_wait_s >= 0.05);
	/* only the measurement after the load asks /api/ps */
	assert_int_equal(f->g.ps_calls - before, 1);
	fx_free(f);
}

static void test_budget_with_room_loads_each_model_once(void **st)
{
	struct fixture *f = fx_new(POLICY_BUDGET, 16000000000ull);
	for (int i = 0; i < 4; i++) {
		use(f, ROLE_TEXT);
		use(f, ROLE_VISION);
	}
	assert_int_equal(f->g.loads[0], 1);
	assert_int_equal(f->g.loads[1], 1);
	assert_int_equal(f->g.unloads[0] + f->g.unloads[1], 0);
	struct evlog l = {0};
	drain(f, &l);
	assert_int_equal(l.swapping, 0);
	/* the memory event lists both models, bytes as /api/ps reported them */
	json_t *res = json_object_get(l.last_memory, "resident");
	assert_int_equal(json_array_size(res), 2);
	assert_int_equal(json_integer_value(json_object_get(l.last_memory, "predicted_bytes")), 6700000000ll);
	assert_int_equal(json_integer_value(json_object_get(l.last_memory, "budget_bytes")), 16000000000ll);
	struct residency_stats s;
	residency_stats(f->r, &s);
	assert_int_equal(s.max_resident_models, 2);
	json_decref(l.last_memory);
	fx_free(f);
}

static void test_budget_too_small_evicts_least_recently_used(void **st)
{
	struct fixture *f = fx_new(POLICY_BUDGET, 5000000000ull);
	use(f, ROLE_TEXT);
	use(f, ROLE_VISION); /* 2.0 + 4.7 GB > 5 GB: text goes */
	assert_int_equal(f->g.unloads[0], 1);
	assert_int_equal(f->g.max_listed, 1);
	struct evlog l = {0};
	drain(f, &l);
	assert_int_equal(l.swapping, 1);
	assert_string_equal(l.swaps[0][0], f->cfg.models[ROLE_TEXT].name);
	json_decref(l.last_memory);
	fx_free(f);
}

/* The prediction is the planner's footprint of the same facts: weights plus
 * the KV cache for num_ctx (plus compute buffers), never a formula of its own. */
static void test_prediction_is_the_planners_footprint(void **st)
{
	struct fixture *f = fx_new(POLICY_BUDGET, 0);
	f->cfg.models[ROLE_TEXT].num_ctx = 4096;
	uint64_t predicted = residency_predict(f->r, ROLE_TEXT);
	/* the footprint plan computes from the engine's description of the model */
	json_t *show = NULL;
	struct err e = {0};
	assert_int_equal(e_describe(&f->g, f->cfg.models[ROLE_TEXT].name, &show, &e), 0);
	struct model_facts *facts = calloc(1, sizeof *facts);
	assert_int_equal(model_facts_from_api(f->cfg.models[ROLE_TEXT].name, ROLE_TEXT, show, NULL, facts, &e), 0);
	json_decref(show);
	struct footprint_params fp;
	footprint_params_default(&fp, &f->cfg);
	fp.num_ctx = 4096;
	struct model_footprint m;
	footprint_compute(facts, &fp, &m);
	free(facts);
	/* 2 x 28 layers x 4096 ctx x 8 KV heads x (3072/24) dims x 2 bytes */
	assert_int_equal(m.kv.bytes, 2ull * 28 * 4096 * 8 * 128 * 2);
	assert_int_equal(m.weights.bytes, 2000000000ull);
	assert_int_equal(predicted, m.total);
	assert_true(predicted > 2000000000ull + m.kv.bytes); /* compute buffers counted too */
	fx_free(f);
}

/* The numbers the plan approved are the ones budget decisions use. */
static void test_planned_bytes_drive_budget_decisions(void **st)
{
	/* 16 GB budget, but the plan says each model needs 9 GB: they cannot stay together */
	struct fixture *f = fx_new(POLICY_BUDGET, 16000000000ull);
	residency_plan(f->r, ROLE_TEXT, 9000000000ull);
	residency_plan(f->r, ROLE_VISION, 9000000000ull);
	assert_int_equal(residency_predict(f->r, ROLE_VISION), 9000000000ull);
	f->g.size[0] = 0; /* /api/ps measures nothing: the planned numbers stay */
	f->g.size[1] = 0;
	use(f, ROLE_TEXT);
	use(f, ROLE_VISION);
	assert_int_equal(f->g.unloads[0], 1);
	assert_int_equal(f->g.max_listed, 1);
	fx_free(f);
}

struct holder {
	struct fixture *f;
	volatile int acquired, go_release;
};

static void *hold_text(void *arg)
{
	struct holder *h = arg;
	struct err e = {0};
	assert_int_equal(residency_acquire(h->f->r, ROLE_TEXT, &e), 0);
	h->f->g.in_flight[0] = 1;
	h->acquired = 1;
	while (!h->go_release)
		usleep(1000);
	h->f->g.in_flight[0] = 0;
	residency_release(h->f->r, ROLE_TEXT);
	return NULL;
}

static void *release_later(void *arg)
{
	struct holder *h = arg;
	usleep(200 * 1000);
	h->go_release = 1;
	return NULL;
}

static void test_never_unloads_a_model_with_a_request_in_flight(void **st)
{
	struct fixture *f = fx_new(POLICY_GROUPED, 0);
	struct holder h = {.f = f};
	pthread_t t1, t2;
	pthread_create(&t1, NULL, hold_text, &h);
	while (!h.acquired)
		usleep(1000);
	pthread_create(&t2, NULL, release_later, &h);
	use(f, ROLE_VISION); /* must wait for the text request to finish */
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	assert_int_equal(f->g.unload_while_busy, 0);
	assert_int_equal(f->g.unloads[0], 1);
	fx_free(f);
}

static void test_finish_unloads_under_grouped_and_unpins_under_budget(void **st)
{
	struct fixture *f = fx_new(POLICY_GROUPED, 0);
	struct err e = {0};
	use(f, ROLE_VISION);
	assert_int_equal(residency_finish(f->r, &e), 0);
	assert_int_equal(f->g.unloads[1], 1);
	fx_free(f);

	f = fx_new(POLICY_BUDGET, 16000000000ull);
	use(f, ROLE_TEXT);
	use(f, ROLE_VISION);
	assert_int_equal(residency_finish(f->r, &e), 0);
	assert_int_equal(f->g.unloads[0] + f->g.unloads[1], 0);
	assert_int_equal(f->g.last_keep_alive[0], RESIDENCY_KEEP_ALIVE_EXIT_S);
	assert_int_equal(f->g.last_keep_alive[1], RESIDENCY_KEEP_ALIVE_EXIT_S);
	assert_int_equal(RESIDENCY_KEEP_ALIVE_EXIT_S, 5 * 60); /* Ollama's default */
	fx_free(f);
}

static void test_model_left_by_someone_else_is_not_unloaded_at_exit(void **st)
{
	struct fixture *f = fx_new(POLICY_GROUPED, 0);
	f->g.loaded[0] = 1; /* already resident when dossier starts */
	struct err e = {0};
	use(f, ROLE_TEXT);
	assert_int_equal(f->g.loads[0], 0);
	assert_int_equal(residency_finish(f->r, &e), 0);
	assert_int_equal(f->g.unloads[0], 0);
	fx_free(f);
}

static void test_speech_model_counts_in_memory_event(void **st)
{
	struct fixture *f = fx_new(POLICY_GROUPED, 0);
	use(f, ROLE_TEXT);
	residency_note_asr(f->r, 75000000ull, 1);
	struct evlog l = {0};
	drain(f, &l);
	json_t *res = json_object_get(l.last_memory, "resident");
	assert_int_equal(json_array_size(res), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(res, 1), "role")), "asr");
	assert_int_equal(json_integer_value(json_object_get(l.last_memory, "predicted_bytes")), 2075000000ll);
	json_decref(l.last_memory);
	fx_free(f);
}

static void test_offline_acquire_is_unavailable(void **st)
{
	struct fixture *f = fx_new(POLICY_GROUPED, 0);
	f->cfg.offline = 1;
	struct err e = {0};
	assert_int_equal(residency_acquire(f->r, ROLE_TEXT, &e), DOSSIER_EUNAVAILABLE);
	assert_int_equal(residency_acquire(f->r, ROLE_ASR, &e), 0);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grouped_alternating_roles_keep_one_model),
		cmocka_unit_test(test_swap_waits_until_ps_no_longer_lists_the_old_model),
		cmocka_unit_test(test_fixed_swap_delay_does_not_poll),
		cmocka_unit_test(test_budget_with_room_loads_each_model_once),
		cmocka_unit_test(test_budget_too_small_evicts_least_recently_used),
		cmocka_unit_test(test_prediction_is_the_planners_footprint),
		cmocka_unit_test(test_planned_bytes_drive_budget_decisions),
		cmocka_unit_test(test_never_unloads_a_model_with_a_request_in_flight),
		cmocka_unit_test(test_finish_unloads_under_grouped_and_unpins_under_budget),
		cmocka_unit_test(test_model_left_by_someone_else_is_not_unloaded_at_exit),
		cmocka_unit_test(test_speech_model_counts_in_memory_event),
		cmocka_unit_test(test_offline_acquire_is_unavailable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
