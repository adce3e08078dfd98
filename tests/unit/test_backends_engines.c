/* The engine idiom and the factory: the config picks the engine by name (an
 * unknown name is refused, naming the known ones); the dispatchers call the
 * engine's slots and say "unsupported" for a missing slot; the handle owns and
 * closes its context; keep_alive is written in Ollama's wire format. */
#include "backends/asr.h"
#include "backends/engines.h"
#include "backends/llm.h"
#include "backends/ocr.h"
#include "backends/ollama.h"
#include "core/config.h"
#include "core/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void test_the_config_picks_ollama_by_default(void **st)
{
	struct config c;
	config_defaults(&c, "dev");
	config_ollama_url("127.0.0.1:7", c.ollama_host, sizeof c.ollama_host);
	llm_backend *b = NULL;
	struct err e = {0};
	assert_string_equal(c.llm_engine, "auto"); /* nothing answers at :7, so auto falls back to Ollama */
	assert_int_equal(llm_backend_from_config(&c, &b, &e), 0);
	assert_string_equal(llm_backend_name(b), "ollama");
	assert_string_equal(llm_backend_url(b), "http://127.0.0.1:7");
	llm_backend_free(b);
	llm_backend_free(NULL);
	/* llm_url, when set, is where the engine lives */
	assert_int_equal(config_set(&c, "engine", "ollama", &e), 0);
	assert_int_equal(config_set(&c, "llm_url", "http://10.0.0.2:8080", &e), 0);
	assert_int_equal(llm_backend_from_config(&c, &b, &e), 0);
	assert_string_equal(llm_backend_url(b), "http://10.0.0.2:8080");
	llm_backend_free(b);
}

static void test_an_unknown_engine_is_refused_with_the_known_ones(void **st)
{
	struct config c;
	config_defaults(&c, "dev");
	struct err e = {0};
	assert_int_equal(config_set(&c, "llm_engine", "telepathy", &e), 0);
	llm_backend *b = (llm_backend *)&c; /* must be cleared */
	assert_int_equal(llm_backend_from_config(&c, &b, &e), DOSSIER_EINVAL);
	assert_null(b);
	assert_non_null(strstr(e.msg, "telepathy"));
	assert_non_null(strstr(e.msg, "ollama"));
	err_clear(&e);
	assert_int_equal(config_set(&c, "ocr_engine", "squint", &e), 0);
	struct ocr_backend *o = NULL;
	assert_int_equal(ocr_backend_from_config(&c, &o, &e), DOSSIER_EINVAL);
	assert_null(o);
	assert_non_null(strstr(e.msg, "tesseract"));
}

static void test_every_row_is_findable_by_kind_and_name(void **st)
{
	assert_true(engine_count() >= 2);
	for (size_t i = 0; i < engine_count(); i++) {
		const struct engine_def *d = engine_at(i);
		assert_non_null(d->ops);
		assert_ptr_equal(engine_find(d->kind, d->name), d);
	}
	assert_null(engine_at(engine_count()));
	assert_ptr_equal(engine_find(ENGINE_LLM, "ollama")->ops, &ollama_ops);
	assert_ptr_equal(engine_find(ENGINE_OCR, "tesseract")->ops, &ocr_tesseract_ops);
	assert_null(engine_find(ENGINE_LLM, "tesseract"));
	assert_ptr_equal(engine_find(ENGINE_ASR, "pocketsphinx")->ops, &asr_pocketsphinx_ops);
	assert_ptr_equal(engine_find(ENGINE_ASR, "whisper-http")->ops, &asr_http_ops);
}

static void test_the_speech_engine_follows_the_transcriber_setting(void **st)
{
	struct config c;
	config_defaults(&c, "dev");
	asr_backend *b = NULL;
	struct err e = {0};
	assert_int_equal(asr_backend_from_config(&c, &b, &e), 0); /* cheap: nothing loaded */
	assert_string_equal(asr_backend_name(b), "pocketsphinx:en-us");
	asr_backend_free(b);
	assert_int_equal(config_set(&c, "transcriber", "http://127.0.0.1:9/v1/audio/transcriptions", &e), 0);
	assert_int_equal(asr_backend_from_config(&c, &b, &e), 0);
	assert_string_equal(asr_backend_name(b), "whisper-http:whisper-1");
	asr_backend_free(b);
	assert_int_equal(config_set(&c, "transcriber", "gopher://nope", &e), 0);
	assert_int_equal(asr_backend_from_config(&c, &b, &e), DOSSIER_EINVAL);
	assert_null(b);
}

/* ------------------------------------------------- dispatch over a fake */

struct fake {
	int opened, closed, chats;
	int64_t keep_alive_s;
	char where[64];
};

static struct fake *opening; /* what the next open hands out */

static int f_open(const struct config *cfg, const char *where, void **ctx, struct err *err)
{
	snprintf(opening->where, sizeof opening->where, "%s", where ? where : "(none)");
	opening->opened++;
	*ctx = opening;
	return 0;
}

static const char *f_url(void *ctx)
{
	return "fake://here";
}

static int f_chat(void *ctx, const struct llm_request *rq, char **text, struct llm_metrics *m, struct err *err)
{
	struct fake *f = ctx;
	f->chats++;
	f->keep_alive_s = rq->keep_alive_s;
	*text = strdup("hi");
	return 0;
}

static void f_close(void *ctx)
{
	((struct fake *)ctx)->closed++;
}

static const struct llm_backend_ops fake_ops = {
	.name = "fake", .open = f_open, .url = f_url, .chat = f_chat, .close = f_close,
};

static void test_dispatchers_reach_the_slots_and_missing_ones_are_unsupported(void **st)
{
	struct fake f = {0};
	opening = &f;
	struct config c;
	config_defaults(&c, "dev");
	llm_backend *b;
	struct err e = {0};
	assert_int_equal(llm_backend_new(&fake_ops, "where-it-lives", &c, &b, &e), 0);
	assert_int_equal(f.opened, 1);
	assert_string_equal(f.where, "where-it-lives");
	assert_string_equal(llm_backend_name(b), "fake");
	assert_string_equal(llm_backend_url(b), "fake://here");
	struct llm_request rq = {.model = "m", .prompt = "p", .keep_alive_s = LLM_KEEP_ALIVE_FOREVER};
	char *text = NULL;
	assert_int_equal(llm_chat(b, &rq, &text, NULL, &e), 0);
	assert_string_equal(text, "hi");
	free(text);
	assert_int_equal(f.keep_alive_s, -1);
	/* slots the engine does not fill */
	char v[8];
	assert_int_equal(llm_ping(b, v, sizeof v, &e), DOSSIER_EUNSUPPORTED);
	assert_non_null(strstr(e.msg, "fake"));
	assert_int_equal(llm_load(b, "m", 0, 60, NULL, &e), DOSSIER_EUNSUPPORTED);
	json_t *j = NULL;
	assert_int_equal(llm_describe(b, "m", &j, &e), DOSSIER_EUNSUPPORTED);
	assert_null(j);
	llm_backend_free(b);
	assert_int_equal(f.closed, 1);

	/* wrap: adopts a context made elsewhere, and closes it too */
	struct fake g = {0};
	assert_int_equal(llm_backend_wrap(&fake_ops, &g, "u", &b, &e), 0);
	assert_string_equal(llm_backend_url(b), "u");
	llm_backend_free(b);
	assert_int_equal(g.closed, 1);
}

static void test_keep_alive_in_ollamas_wire_format(void **st)
{
	struct {
		int64_t s;
		const char *want; /* JSON */
	} cases[] = {
		{30 * 60, "\"30m\""}, {5 * 60, "\"5m\""}, {45, "\"45s\""}, {90, "\"90s\""},
		{0, "0"}, {LLM_KEEP_ALIVE_FOREVER, "-1"}, {-5, "-1"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *j = ollama_keep_alive_json(cases[i].s);
		char *got = json_dumps(j, JSON_ENCODE_ANY);
		assert_string_equal(got, cases[i].want);
		free(got);
		json_decref(j);
	}
	assert_null(ollama_keep_alive_json(LLM_KEEP_ALIVE_UNSET));
}

static void test_model_names_with_and_without_latest(void **st)
{
	assert_true(llm_model_name_eq("llava", "llava:latest"));
	assert_true(llm_model_name_eq("llava:latest", "llava"));
	assert_true(llm_model_name_eq("a:1", "a:1"));
	assert_false(llm_model_name_eq("llava:7b", "llava"));
	assert_false(llm_model_name_eq(NULL, "x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_the_config_picks_ollama_by_default),
		cmocka_unit_test(test_an_unknown_engine_is_refused_with_the_known_ones),
		cmocka_unit_test(test_every_row_is_findable_by_kind_and_name),
		cmocka_unit_test(test_the_speech_engine_follows_the_transcriber_setting),
		cmocka_unit_test(test_dispatchers_reach_the_slots_and_missing_ones_are_unsupported),
		cmocka_unit_test(test_keep_alive_in_ollamas_wire_format),
		cmocka_unit_test(test_model_names_with_and_without_latest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
