/*
 * test_plan_planner.c — the seed's scenarios and peaks with nominal sizes,
 * refusal with suggestions, swap counting, the budget policy, inputs that need
 * only some models, the API facts hook, and the JSON/text outputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "plan/planner.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GB 1000000000ull
#define MIB (1024ull * 1024ull)

/* The seed's kinds as the pipeline's registry describes them to the planner:
 * which roles their steps use, and their cpu-lane working sets. */
#define R(x) (1u << ROLE_##x)
enum { K_TEXT, K_PDF, K_IMAGE, K_AUDIO, K_VIDEO, K_COUNT };
static struct plan_kind_use seed[K_COUNT];

static void seed_reset(void)
{
	static const struct plan_kind_use init[K_COUNT] = {
		{"text", R(TEXT), 0, 16 * MIB, 0, NULL},
		{"pdf", R(TEXT), 0, 52 * MIB, 0, NULL},
		{"image", R(VISION), 0, 72 * MIB, 0, NULL},
		{"audio", R(ASR) | R(TEXT), 0, 128 * MIB, 0, NULL},
		{"video", R(ASR) | R(TEXT) | R(VISION), 0, 128 * MIB, 0, NULL},
	};
	memcpy(seed, init, sizeof seed);
}

/* The scenarios of the seed's roles, by their seed.md names. */
#define SC_TEXT(pl) plan_scenario_find(pl, PLAN_SC_ALONE, ROLE_TEXT)                /* "text" */
#define SC_IMAGE(pl) plan_scenario_find(pl, PLAN_SC_ALONE, ROLE_VISION)             /* "image" */
#define SC_TRANSCRIPTION(pl) plan_scenario_find(pl, PLAN_SC_WITH_ASR, ROLE_TEXT)    /* "video transcription" */
#define SC_FRAMES(pl) plan_scenario_find(pl, PLAN_SC_WITH_ASR, ROLE_VISION)         /* "video frames" */
#define SC_SWAP(pl) plan_scenario_find(pl, PLAN_SC_SWAP, ROLE_NONE)
#define SC_CORESIDENT(pl) plan_scenario_find(pl, PLAN_SC_CORESIDENT, ROLE_NONE)

/* A config and params that use only the seed's nominal sizes: no store, no
 * speech model files, two cpu lanes, a 16 GB budget, every kind assumed. */
static void nominal(struct config *c, struct plan_params *p, const char *profile)
{
	config_defaults(c, profile);
	c->cpu_lanes = 2;
	c->budget_bytes = 16 * GB;
	plan_params_default(p, c);
	p->store_root = "";
	p->asr_model_dir = "";
	seed_reset();
	p->inputs = (struct plan_inputs){.kinds = seed, .n_kinds = K_COUNT, .assumed = 1};
}

static plan *build(const struct plan_params *p)
{
	plan *pl = NULL;
	struct err e = {0};
	assert_int_equal(plan_build(p, &pl, &e), 0);
	assert_non_null(pl);
	return pl;
}

static void dev_peak_is_about_6_gb(void **state)
{
	struct config c;
	struct plan_params p;
	nominal(&c, &p, "dev");
	plan *pl = build(&p);
	uint64_t peak = plan_peak_bytes(pl);
	if (peak < 5500000000ull || peak > 6500000000ull)
		fail_msg("dev peak %.2f GB is outside the seed's ~6 GB (5.5-6.5)", (double)peak / 1e9);
	assert_true(plan_fits(pl));
	/* seed: the worst case is llava:latest + speech model + KV (video frames) */
	assert_ptr_equal(plan_peak_scenario(pl), SC_FRAMES(pl));
	const struct model_footprint *v = plan_model(pl, ROLE_VISION);
	assert_int_equal(v->weights.bytes, 4700000000ull);
	assert_string_equal(v->weights.source, "nominal:seed");
	assert_int_equal(v->kv.bytes, 512 * MIB); /* Mistral-7B base: 32 x 8 x 256 x 2 x 4096 */
	/* scenario 2 (video transcription) is the text model + speech model, ~2.1 GB + context */
	const struct plan_scenario *t = SC_TRANSCRIPTION(pl);
	assert_int_equal(t->n_models, 2);
	assert_true(t->model_bytes > 2075000000ull && t->model_bytes < 3000000000ull);
	plan_free(pl);
}

static void prod_peak_is_about_11_gb(void **state)
{
	struct config c;
	struct plan_params p;
	nominal(&c, &p, "prod");
	plan *pl = build(&p);
	uint64_t peak = plan_peak_bytes(pl);
	/* llava:13b has no GQA: 800 KiB of KV per token, 1.6 GiB at the prod profile's 2048 */
	assert_int_equal(c.models[ROLE_VISION].num_ctx, 2048);
	assert_int_equal(plan_model(pl, ROLE_VISION)->kv.bytes, 2048ull * 800 * 1024);
	assert_int_equal(plan_model(pl, ROLE_TEXT)->kv.bytes, 1024 * MIB); /* llama3.1:8b at 8192 */
	if (peak < 10 * GB || peak > 11500000000ull)
		fail_msg("prod peak %.2f GB outside the seed's 10-11.5 GB", (double)peak / 1e9);
	plan_free(pl);
	/* at 4096 tokens for the vision model the KV cache doubles: ~12.3 GB */
	c.models[ROLE_VISION].num_ctx = 4096;
	pl = build(&p);
	peak = plan_peak_bytes(pl);
	assert_int_equal(plan_model(pl, ROLE_VISION)->kv.bytes, 4096ull * 800 * 1024);
	if (peak < 11 * GB || peak > 13 * GB)
		fail_msg("prod peak at vision num_ctx 4096 is %.2f GB, outside 11-13 GB", (double)peak / 1e9);
	plan_free(pl);
}

static void refuses_a_small_budget_and_says_what_fits(void **state)
{
	struct config c;
	struct plan_params p;
	nominal(&c, &p, "prod");
	c.budget_bytes = 8 * GB;
	plan *pl = build(&p);
	assert_false(plan_fits(pl));
	assert_true(plan_peak_bytes(pl) > plan_budget_bytes(pl));
	int dev_fits = 0, ctx_seen = 0;
	for (size_t i = 0; i < plan_suggestion_count(pl); i++) {
		const struct plan_suggestion *s = plan_suggestion_at(pl, i);
		if (!strcmp(s->change, "profile=dev"))
			dev_fits = s->fits && s->peak_bytes <= 8 * GB;
		if (!strncmp(s->change, "num_ctx=", 8))
			ctx_seen = 1;
	}
	assert_true(dev_fits);
	assert_true(ctx_seen);
	struct buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(plan_render_text(pl, &b), 0);
	assert_non_null(strstr(b.data, "does not fit"));
	assert_non_null(strstr(b.data, "what would fit"));
	assert_non_null(strstr(b.data, "dev profile"));
	buf_free(&b);
	plan_free(pl);

	/* a budget nothing but the offline mode fits */
	c.budget_bytes = 1 * GB;
	pl = build(&p);
	assert_false(plan_fits(pl));
	for (size_t i = 0; i < plan_suggestion_count(pl); i++) {
		const struct plan_suggestion *s = plan_suggestion_at(pl, i);
		assert_int_equal(s->fits, !strcmp(s->change, "offline"));
	}
	plan_free(pl);
}

static void a_smaller_context_is_suggested_when_it_is_enough(void **state)
{
	struct config c;
	struct plan_params p;
	nominal(&c, &p, "prod");
	c.models[ROLE_VISION].num_ctx = 4096;
	c.budget_bytes = 11 * GB; /* 4096 -> 2048 on llava:13b saves 1.6 GiB */
	plan *pl = build(&p);
	assert_false(plan_fits(pl));
	int found = 0;
	for (size_t i = 0; i < plan_suggestion_count(pl); i++) {
		const struct plan_suggestion *s = plan_suggestion_at(pl, i);
		if (!strcmp(s->change, "num_ctx=4096") || !strcmp(s->change, "num_ctx=2048"))
			found = s->fits;
	}
	assert_true(found);
	plan_free(pl);
}

static void swap_overlap_counts_only_when_the_unload_is_not_awaited(void **state)
{
	struct config c;
	struct plan_params p;
	nominal(&c, &p, "dev");
	plan *pl = build(&p);
	const struct plan_scenario *s = SC_SWAP(pl);
	assert_true(s->applies);
	assert_false(s->counted); /* config default: poll /api/ps until the model is gone */
	uint64_t awaited = plan_peak_bytes(pl);
	plan_free(pl);

	c.swap_delay_s = 1.5; /* the seed's fixed delay */
	pl = build(&p);
	s = SC_SWAP(pl);
	assert_true(s->counted);
	assert_ptr_equal(plan_peak_scenario(pl), SC_SWAP(pl));
	assert_int_equal(s->model_bytes, plan_model(pl, ROLE_TEXT)->total + plan_model(pl, ROLE_VISION)->total +
	                                     plan_model(pl, ROLE_ASR)->total);
	assert_true(plan_peak_bytes(pl) > awaited);
	plan_free(pl);

	c.budget_bytes = awaited + 100 * MIB; /* fits only if unloads are awaited */
	pl = build(&p);
	assert_false(plan_fits(pl));
	int found = 0;
	for (size_t i = 0; i < plan_suggestion_count(pl); i++)
		if (!strcmp(plan_suggestion_at(pl, i)->change, "swap_delay=-1"))
			found = plan_suggestion_at(pl, i)->fits;
	assert_true(found);
	plan_free(pl);
}

static void budget_policy_keeps_models_together_when_they_fit(void **state)
{
	struct config c;
	struct plan_params p;
	nominal(&c, &p, "dev");
	c.policy = POLICY_BUDGET;
	c.budget_bytes = 20 * GB;
	plan *pl = build(&p);
	const struct plan_scenario *s = SC_CORESIDENT(pl);
	assert_true(s->counted);
	assert_ptr_equal(plan_peak_scenario(pl), SC_CORESIDENT(pl));
	assert_false(SC_SWAP(pl)->applies);
	uint64_t together = plan_peak_bytes(pl);
	plan_free(pl);

	c.budget_bytes = together - 1; /* not together: one LLM at a time, still fits */
	pl = build(&p);
	assert_false(SC_CORESIDENT(pl)->counted);
	assert_true(plan_fits(pl));
	assert_true(plan_peak_bytes(pl) < together);
	plan_free(pl);
}

static void only_the_models_the_documents_need_are_planned(void **state)
{
	struct config c;
	struct plan_params p;
	nominal(&c, &p, "prod");
	p.inputs.assumed = 0;
	seed[K_TEXT].count = 10;
	seed[K_PDF].count = 2;
	plan *pl = build(&p);
	assert_null(plan_model(pl, ROLE_VISION));
	assert_null(plan_model(pl, ROLE_ASR));
	assert_ptr_equal(plan_peak_scenario(pl), SC_TEXT(pl));
	assert_false(SC_IMAGE(pl)->applies);
	assert_false(SC_SWAP(pl)->applies);
	plan_free(pl);

	/* audio only: text LLM + speech model */
	seed_reset();
	seed[K_AUDIO].count = 1;
	pl = build(&p);
	assert_ptr_equal(plan_peak_scenario(pl), SC_TRANSCRIPTION(pl));
	assert_null(plan_model(pl, ROLE_VISION));
	plan_free(pl);

	/* offline: no LLM at all */
	c.offline = 1;
	seed[K_IMAGE].count = 1;
	pl = build(&p);
	assert_null(plan_model(pl, ROLE_TEXT));
	assert_true(plan_peak_bytes(pl) < 1 * GB);
	plan_free(pl);
}

/* The planner knows no kinds: a kind it has never heard of is planned from
 * its role mask alone, shows under its own name, and without a working set of
 * its own gets the one its roles imply. */
static void a_new_kind_is_planned_from_its_roles(void **state)
{
	struct config c;
	struct plan_params p;
	nominal(&c, &p, "dev");
	struct plan_kind_use kinds[] = {{"spreadsheet", R(TEXT), 3, 0, 0, NULL}, {"scan", R(VISION), 0, 0, 0, NULL}};
	p.inputs = (struct plan_inputs){.kinds = kinds, .n_kinds = 2, .assumed = 0};
	plan *pl = build(&p);
	assert_non_null(plan_model(pl, ROLE_TEXT));
	assert_null(plan_model(pl, ROLE_VISION)); /* no scans named */
	assert_null(plan_model(pl, ROLE_ASR));
	assert_ptr_equal(plan_peak_scenario(pl), SC_TEXT(pl));
	assert_false(SC_IMAGE(pl)->applies);
	assert_false(SC_TRANSCRIPTION(pl)->applies);
	/* 64 MiB + 2 lanes x 16 MiB (text) + one request body and one reply */
	assert_int_equal(plan_working_bytes(pl), 64 * MIB + 2 * PLAN_LANE_BYTES_TEXT + CAP_REQUEST_BODY + CAP_LLM_REPLY);
	json_t *j = plan_to_json(pl);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "inputs"), "spreadsheet")), 3);
	json_decref(j);
	plan_free(pl);

	/* a kind that uses the speech model with the vision model: "video frames" applies */
	struct plan_kind_use talk[] = {{"slides-with-voice", R(ASR) | R(VISION), 1, 0, 0, NULL}};
	p.inputs = (struct plan_inputs){.kinds = talk, .n_kinds = 1, .assumed = 0};
	pl = build(&p);
	assert_true(SC_FRAMES(pl)->applies);
	assert_false(SC_TRANSCRIPTION(pl)->applies);
	assert_int_equal(SC_FRAMES(pl)->n_models, 2);
	assert_int_equal(plan_working_bytes(pl), 64 * MIB + 2 * PLAN_LANE_BYTES_ASR + CAP_REQUEST_BODY + CAP_LLM_REPLY);
	plan_free(pl);
}

/* Children counted before the run (an archive of photos: no image named)
 * plan the models they need, and the plan says how they were counted. */
static void children_inside_files_plan_their_models(void **state)
{
	(void)state;
	struct config c;
	struct plan_params p;
	nominal(&c, &p, "dev");
	struct plan_kind_use kinds[] = {{"archive", 0, 1, 0, 0, NULL}, {"image", R(VISION), 0, 0, 7, "estimated"},
	                                {"text", R(TEXT), 0, 0, 0, NULL}};
	p.inputs = (struct plan_inputs){.kinds = kinds, .n_kinds = 3, .assumed = 0};
	plan *pl = build(&p);
	assert_non_null(plan_model(pl, ROLE_VISION)); /* the photos inside need it */
	assert_null(plan_model(pl, ROLE_TEXT));       /* nothing of text, named or inside */
	assert_true(SC_IMAGE(pl)->applies);
	json_t *j = plan_to_json(pl);
	json_t *img = json_object_get(json_object_get(j, "children"), "image");
	assert_int_equal(json_integer_value(json_object_get(img, "count")), 7);
	assert_string_equal(json_string_value(json_object_get(img, "source")), "estimated");
	assert_null(json_object_get(json_object_get(j, "children"), "text"));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "inputs"), "image")), 0);
	json_decref(j);
	struct buf b;
	buf_init(&b, 1u << 20);
	assert_int_equal(plan_render_text(pl, &b), 0);
	assert_non_null(strstr(b.data, "inside them: 7 image (estimated)\n"));
	buf_free(&b);
	plan_free(pl);
}

static int api_hook_calls;

static int fake_api(void *user, enum model_role role, const char *name, struct model_facts *out, struct err *err)
{
	api_hook_calls++;
	json_t *show = json_loads("{\"model_info\":{\"general.architecture\":\"llama\",\"llama.block_count\":32,"
	                          "\"llama.attention.head_count\":32,\"llama.attention.head_count_kv\":8,"
	                          "\"llama.embedding_length\":4096,\"llama.vocab_size\":128256}}",
	                          0, NULL);
	json_t *tags = json_pack("{s:[{s:s,s:I}]}", "models", "name", name, "size", (json_int_t)4900000000ll);
	int rc = model_facts_from_api(name, role, show, tags, out, err);
	json_decref(show);
	json_decref(tags);
	return rc;
}

static void api_hook_supplies_facts_when_the_store_cannot(void **state)
{
	struct config c;
	struct plan_params p;
	nominal(&c, &p, "prod");
	p.store_root = "/nonexistent/ollama/models";
	p.api_facts = fake_api;
	p.inputs.assumed = 0;
	seed[K_TEXT].count = 1;
	api_hook_calls = 0;
	plan *pl = build(&p);
	const struct model_footprint *t = plan_model(pl, ROLE_TEXT);
	assert_int_equal(api_hook_calls, 1);
	assert_int_equal(t->weights.bytes, 4900000000ull);
	assert_string_equal(t->weights.source, "api/tags");
	assert_string_equal(t->kv.source, "api/show");
	assert_int_equal(t->kv.bytes, 1024 * MIB);
	plan_free(pl);

	/* without the hook the store's error is kept as a warning and nominal sizes are used */
	p.api_facts = NULL;
	pl = build(&p);
	assert_string_equal(plan_model(pl, ROLE_TEXT)->weights.source, "nominal:seed");
	json_t *j = plan_to_json(pl);
	json_t *w = json_object_get(j, "warnings");
	assert_int_equal(json_array_size(w), 1);
	assert_non_null(strstr(json_string_value(json_array_get(w, 0)), "not readable"));
	json_decref(j);
	plan_free(pl);
}

static void json_carries_scenarios_peak_and_sources(void **state)
{
	struct config c;
	struct plan_params p;
	nominal(&c, &p, "dev");
	plan *pl = build(&p);
	json_t *j = plan_to_json(pl);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "profile")), "dev");
	assert_string_equal(json_string_value(json_object_get(j, "policy")), "grouped");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "peak"), "bytes")), plan_peak_bytes(pl));
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "peak"), "scenario")), "video frames");
	assert_true(json_is_true(json_object_get(j, "fits")));
	assert_int_equal(json_array_size(json_object_get(j, "scenarios")), plan_scenario_count(pl));
	assert_int_equal(plan_scenario_count(pl), 6); /* text, image, transcription, frames, swap, co-resident */
	const char *names[] = {"text", "image", "video transcription", "video frames", "swap transition", "co-resident"};
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(plan_scenario_at(pl, i)->name, names[i]);
	json_t *m0 = json_array_get(json_object_get(j, "models"), 0);
	assert_string_equal(json_string_value(json_object_get(m0, "role")), "asr");
	json_t *m1 = json_array_get(json_object_get(j, "models"), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(m1, "kv_cache"), "source")),
	                    "nominal:shape-table");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "working"), "source")), "estimate:dossier");
	json_decref(j);

	struct buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(plan_render_text(pl, &b), 0);
	assert_non_null(strstr(b.data, "peak: "));
	assert_non_null(strstr(b.data, "fits"));
	assert_non_null(strstr(b.data, "video frames"));
	assert_non_null(strstr(b.data, "<- peak"));
	buf_free(&b);
	plan_free(pl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dev_peak_is_about_6_gb),
		cmocka_unit_test(prod_peak_is_about_11_gb),
		cmocka_unit_test(refuses_a_small_budget_and_says_what_fits),
		cmocka_unit_test(a_smaller_context_is_suggested_when_it_is_enough),
		cmocka_unit_test(swap_overlap_counts_only_when_the_unload_is_not_awaited),
		cmocka_unit_test(budget_policy_keeps_models_together_when_they_fit),
		cmocka_unit_test(only_the_models_the_documents_need_are_planned),
		cmocka_unit_test(a_new_kind_is_planned_from_its_roles),
		cmocka_unit_test(children_inside_files_plan_their_models),
		cmocka_unit_test(api_hook_supplies_facts_when_the_store_cannot),
		cmocka_unit_test(json_carries_scenarios_peak_and_sources),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
