/* The config's model keys come from the role table: every role's model_key
 * and environment variable set that role's model, "<role>_num_ctx" its
 * context for LLM roles; the engine defaults are set in one place. */
#include "core/config.h"
#include "core/err.h"
#include "core/role.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void test_every_roles_key_sets_its_model(void **st)
{
	for (int r = 0; r < ROLE_COUNT; r++) {
		const struct role_info *ri = role_info((enum model_role)r);
		if (!ri->model_key)
			continue;
		struct config c;
		config_defaults(&c, "prod");
		struct err e = {0};
		assert_int_equal(config_set(&c, ri->model_key, "some-model:1b", &e), 0);
		assert_string_equal(c.models[r].name, "some-model:1b");
		if (ri->is_llm) {
			char key[64];
			snprintf(key, sizeof key, "%s_num_ctx", ri->name);
			assert_int_equal(config_set(&c, key, "3000", &e), 0);
			assert_int_equal(c.models[r].num_ctx, 3000);
		}
	}
	struct config c;
	config_defaults(&c, "prod");
	struct err e = {0};
	assert_int_equal(config_set(&c, "asr_num_ctx", "3000", &e), DOSSIER_EINVAL); /* not an LLM */
	assert_int_equal(config_set(&c, "none_model", "x", &e), DOSSIER_EINVAL);
}

static void test_every_roles_environment_variable_sets_its_model(void **st)
{
	for (int r = 0; r < ROLE_COUNT; r++) {
		const struct role_info *ri = role_info((enum model_role)r);
		if (!ri->env_var)
			continue;
		struct config c;
		config_defaults(&c, "prod");
		setenv(ri->env_var, "from-env:2b", 1);
		struct err e = {0};
		assert_int_equal(config_apply_env(&c, &e), 0);
		unsetenv(ri->env_var);
		assert_string_equal(c.models[r].name, "from-env:2b");
	}
}

static void test_engine_defaults(void **st)
{
	struct config c;
	config_defaults(&c, "dev");
	assert_string_equal(c.llm_engine, "auto");
	assert_string_equal(c.ocr_engine, "tesseract");
	assert_int_equal(c.engine_num_ctx, 4096);
	assert_int_equal(c.vision_min_num_ctx, 2048);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_roles_key_sets_its_model),
		cmocka_unit_test(test_every_roles_environment_variable_sets_its_model),
		cmocka_unit_test(test_engine_defaults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
