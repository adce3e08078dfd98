/* The engine keys: `engine` (ollama|openai|auto, default auto), `llm_url`, and
 * OPENAI_BASE_URL / OPENAI_API_KEY read as OpenAI's clients read them (an
 * empty value is unset; the key is never settable from the config file). */
#include "core/config.h"
#include "core/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static void test_engine_defaults_to_auto_and_the_key_sets_it(void **st)
{
	(void)st;
	struct config c;
	struct err e = {0};
	config_defaults(&c, "dev");
	assert_string_equal(c.llm_engine, "auto");
	assert_string_equal(c.llm_url, "");
	assert_int_equal(config_set(&c, "engine", "openai", &e), 0);
	assert_string_equal(c.llm_engine, "openai");
	assert_int_equal(config_set(&c, "llm_url", "http://10.0.0.3:8080/v1", &e), 0);
	assert_string_equal(c.llm_url, "http://10.0.0.3:8080/v1");
}

static void test_openai_environment_as_the_clients_read_it(void **st)
{
	(void)st;
	struct config c;
	struct err e = {0};
	unsetenv("OPENAI_BASE_URL");
	unsetenv("OPENAI_API_KEY");
	config_defaults(&c, "dev");
	assert_int_equal(config_apply_env(&c, &e), 0);
	assert_string_equal(c.openai_base_url, "");
	assert_string_equal(c.llm_api_key, "");
	setenv("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1", 1);
	setenv("OPENAI_API_KEY", "sk-env", 1);
	assert_int_equal(config_apply_env(&c, &e), 0);
	assert_string_equal(c.openai_base_url, "http://127.0.0.1:8080/v1");
	assert_string_equal(c.llm_api_key, "sk-env");
	assert_string_equal(c.llm_url, ""); /* the base URL does not override an explicit llm_url */
	/* empty counts as unset */
	config_defaults(&c, "dev");
	setenv("OPENAI_BASE_URL", "", 1);
	setenv("OPENAI_API_KEY", "", 1);
	assert_int_equal(config_apply_env(&c, &e), 0);
	assert_string_equal(c.openai_base_url, "");
	assert_string_equal(c.llm_api_key, "");
	unsetenv("OPENAI_BASE_URL");
	unsetenv("OPENAI_API_KEY");
}

static void test_the_key_cannot_come_from_the_config_file(void **st)
{
	(void)st;
	struct config c;
	struct err e = {0};
	config_defaults(&c, "dev");
	char path[] = "/tmp/dossier-cfg-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs("engine = openai\nllm_api_key = sk-file\n", f);
	fclose(f);
	int rc = config_load_file(&c, path, &e);
	unlink(path);
	assert_string_equal(c.llm_api_key, "");
	if (rc == 0)
		assert_string_equal(c.llm_engine, "openai");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_engine_defaults_to_auto_and_the_key_sets_it),
		cmocka_unit_test(test_openai_environment_as_the_clients_read_it),
		cmocka_unit_test(test_the_key_cannot_come_from_the_config_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
