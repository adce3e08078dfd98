/* test_pipeline_llm_rule.c — one rule for a model that answers outside the
 * schema, whatever the step: asked again later (a transient failure the
 * scheduler retries with backoff) until the step's last attempt, which keeps
 * the offline analysis, says why, and leaves the dossier partial, not done. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/llm.h"
#include "core/config.h"
#include "core/err.h"
#include "pipeline/pipeline.h"

static int chats;

/* An engine whose every answer is not the JSON the schema asks for. */
static int bad_chat(void *ctx, const struct llm_request *rq, char **text, struct llm_metrics *m, struct err *err)
{
	chats++;
	*text = strdup("Sure! Here is the analysis you asked for: {title: harbour");
	if (m)
		memset(m, 0, sizeof *m);
	return 0;
}

static void nothing(void *ctx)
{
}

static const struct llm_backend_ops bad_ops = {.name = "fake", .chat = bad_chat, .close = nothing};

static void test_an_answer_outside_the_schema_is_retried_then_partial(void **state)
{
	(void)state;
	struct config cfg;
	config_defaults(&cfg, "dev");
	llm_backend *llm = NULL;
	struct err e = {0};
	static int ctx_dummy;
	assert_int_equal(llm_backend_wrap(&bad_ops, &ctx_dummy, "fake://", &llm, &e), 0);
	struct step_env env = {.cfg = &cfg, .llm = llm};

	struct doc_rec doc = {.id = 3, .path = (char *)"/notes/tides.txt", .mime = (char *)"text/plain"};
	snprintf(doc.kind, sizeof doc.kind, "text");
	struct step_rec steps[2] = {0};
	steps[0].idx = 0;
	snprintf(steps[0].kind, sizeof steps[0].kind, "extract_text");
	steps[0].state = STEP_DONE;
	steps[0].result = (char *)"{\"text\":\"The spring tide rose over the harbour wall at noon. The ferry waited.\"}";
	steps[1].idx = 1;
	snprintf(steps[1].kind, sizeof steps[1].kind, "analyze_text");
	steps[1].role = ROLE_TEXT;
	steps[1].state = STEP_RUNNING;

	/* an early attempt: transient, nothing kept */
	steps[1].attempts = 1;
	json_t *r = NULL;
	assert_int_equal(pipeline_run_step(&env, &doc, &steps[1], steps, 2, &r, &e), DOSSIER_EAGAIN);
	assert_null(r);
	assert_non_null(strstr(e.msg, "/notes/tides.txt"));
	assert_true(chats >= 1); /* the model was asked (and re-asked inside the attempt) */

	/* the last attempt: the offline analysis, with the reason */
	steps[1].attempts = cfg.max_attempts;
	err_clear(&e);
	assert_int_equal(pipeline_run_step(&env, &doc, &steps[1], steps, 2, &r, &e), 0);
	const char *why = json_string_value(json_object_get(r, "fallback_reason"));
	assert_non_null(why);
	assert_non_null(strstr(why, "offline analysis used"));
	assert_non_null(json_object_get(r, "summary"));

	/* the dossier is partial and its error says what happened and what to do */
	char *res = json_dumps(r, JSON_COMPACT);
	steps[1].state = STEP_DONE;
	steps[1].result = res;
	json_t *d = NULL;
	const char *status = NULL;
	struct fts_fields fts;
	char *owned[2] = {NULL, NULL};
	assert_int_equal(pipeline_assemble(&doc, steps, 2, &d, &status, &fts, owned, &e), 0);
	assert_string_equal(status, "partial");
	json_t *e0 = json_array_get(json_object_get(d, "errors"), 0);
	assert_string_equal(json_string_value(json_object_get(e0, "step")), "analyze_text");
	assert_non_null(strstr(json_string_value(json_object_get(e0, "message")), "ask the model again"));
	json_decref(d);
	free(owned[0]);
	free(owned[1]);
	free(res);
	json_decref(r);
	llm_backend_free(llm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_an_answer_outside_the_schema_is_retried_then_partial),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
