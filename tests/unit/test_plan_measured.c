/*
 * test_plan_measured.c — measured beats predicted: a model measured with the
 * same engine and context plans with the measurement, the formula beside it,
 * and a warning when the formula was more than 15 % off; a measurement of
 * another context or engine is not used. And the llama.cpp footprint rules:
 * the engine's context is not clamped, flash attention, engine overhead.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/config.h"
#include "core/err.h"
#include "plan/footprint.h"
#include "plan/planner.h"

#include <jansson.h>
#include <string.h>

#define GB 1000000000ull
#define R(x) (1u << ROLE_##x)

static struct plan_kind_use kinds[] = {{.name = "text", .role_mask = R(TEXT), .count = 1, .lane_bytes = 16u << 20}};

static void setup(struct config *c, struct plan_params *p)
{
	config_defaults(c, "dev");
	c->cpu_lanes = 2;
	c->budget_bytes = 16 * GB;
	plan_params_default(p, c);
	p->store_root = "";
	p->asr_model_dir = "";
	p->inputs = (struct plan_inputs){.kinds = kinds, .n_kinds = 1, .assumed = 0};
}

static int has_warning(const plan *pl, const char *needle)
{
	json_t *j = plan_to_json(pl);
	size_t i;
	json_t *w;
	int found = 0;
	json_array_foreach(json_object_get(j, "warnings"), i, w)
		found |= strstr(json_string_value(w), needle) != NULL;
	json_decref(j);
	return found;
}

static void a_measurement_of_the_same_context_replaces_the_prediction(void **state)
{
	(void)state;
	struct config c;
	struct plan_params p;
	setup(&c, &p);
	plan *pl = NULL;
	assert_int_equal(plan_build(&p, &pl, NULL), 0);
	const struct model_footprint *m = plan_model(pl, ROLE_TEXT);
	uint64_t predicted = m->total;
	int ctx = m->num_ctx;
	plan_free(pl);

	struct plan_measure x = {.engine = "openai", .model = c.models[ROLE_TEXT].name, .num_ctx = ctx,
	                         .bytes = predicted + predicted / 2, .source = "rss:/proc", .loads = 2};
	p.measured = &x;
	p.n_measured = 1;
	p.engine = "openai";
	assert_int_equal(plan_build(&p, &pl, NULL), 0);
	m = plan_model(pl, ROLE_TEXT);
	assert_int_equal(m->total, x.bytes);
	assert_int_equal(m->predicted, predicted);
	assert_int_equal(m->measured, x.bytes);
	assert_non_null(strstr(m->measured_src, "rss:/proc, 2 loads"));
	assert_true(has_warning(pl, "more than 15 % off"));
	plan_free(pl);

	/* within 15 %: used, no warning */
	x.bytes = predicted + predicted / 10;
	assert_int_equal(plan_build(&p, &pl, NULL), 0);
	assert_int_equal(plan_model(pl, ROLE_TEXT)->total, x.bytes);
	assert_false(has_warning(pl, "more than 15 % off"));
	plan_free(pl);
}

static void another_context_or_engine_is_not_used(void **state)
{
	(void)state;
	struct config c;
	struct plan_params p;
	setup(&c, &p);
	plan *pl = NULL;
	assert_int_equal(plan_build(&p, &pl, NULL), 0);
	uint64_t predicted = plan_model(pl, ROLE_TEXT)->total;
	int ctx = plan_model(pl, ROLE_TEXT)->num_ctx;
	plan_free(pl);
	struct plan_measure x = {.engine = "openai", .model = c.models[ROLE_TEXT].name, .num_ctx = ctx * 2,
	                         .bytes = 3 * predicted, .source = "api/ps", .loads = 1};
	p.measured = &x;
	p.n_measured = 1;
	p.engine = "openai";
	assert_int_equal(plan_build(&p, &pl, NULL), 0);
	assert_int_equal(plan_model(pl, ROLE_TEXT)->total, predicted);
	assert_int_equal(plan_model(pl, ROLE_TEXT)->measured, 0);
	plan_free(pl);
	x.num_ctx = ctx;
	p.engine = "ollama";
	assert_int_equal(plan_build(&p, &pl, NULL), 0);
	assert_int_equal(plan_model(pl, ROLE_TEXT)->total, predicted);
	plan_free(pl);
}

/* 16 layers, 16 KV heads of 128, E 2048, V 32000, trained for 2048. */
static void shape(struct model_facts *f)
{
	memset(f, 0, sizeof *f);
	f->role = ROLE_TEXT;
	snprintf(f->name, sizeof f->name, "tiny");
	f->weights_bytes = 1350000000;
	f->has_shape = 1;
	f->n_layers = 16;
	f->head_count = 16;
	for (int l = 0; l < 16; l++)
		f->head_count_kv[l] = 16;
	f->embedding_length = 2048;
	f->key_length = f->value_length = 128;
	f->vocab_size = 32000;
	f->context_length = 2048;
}

static void llama_cpp_rules(void **state)
{
	(void)state;
	struct model_facts f;
	struct footprint_params fp;
	footprint_params_default(&fp, NULL);
	struct model_footprint ollama, lcpp;
	shape(&f);
	fp.num_ctx = 8192;
	footprint_compute(&f, &fp, &ollama);
	assert_int_equal(ollama.num_ctx, 2048); /* Ollama clamps to the trained length */
	f.engine_num_ctx = 8192;
	snprintf(f.engine, sizeof f.engine, "llama.cpp");
	f.flash_attn = 1;
	fp.num_ctx = 1024; /* what dossier asks does not matter */
	footprint_compute(&f, &fp, &lcpp);
	assert_int_equal(lcpp.num_ctx, 8192); /* llama-server allocates it all */
	assert_int_equal(lcpp.kv.bytes, 16ull * 16 * 256 * 8192 * 2);
	uint64_t b = 512, fa = 4 * b * (2048 + 32000) + 2 * b * 8192;
	assert_int_equal(lcpp.compute.bytes, fa + FOOTPRINT_ENGINE_OVERHEAD);
	/* without flash attention the C x C scores dominate */
	f.flash_attn = 0;
	struct model_footprint nofa;
	footprint_compute(&f, &fp, &nofa);
	assert_true(nofa.compute.bytes > 3 * fa);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_measurement_of_the_same_context_replaces_the_prediction),
		cmocka_unit_test(another_context_or_engine_is_not_used),
		cmocka_unit_test(llama_cpp_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
