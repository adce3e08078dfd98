/* Each key of the one table records where its value came from: the default,
 * the config file (and its line), an environment variable, a flag; the
 * formatted value reads back through config_set; the data directory follows
 * its rule (set, else beside an explicit database, else XDG). */
#include "core/config.h"
#include "core/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

static const struct config_origin *origin(const struct config *c, const char *key)
{
	int i = config_key_find(key);
	assert_true(i >= 0);
	return &c->origin[i];
}

static void test_sources_default_file_env_flag(void **st)
{
	(void)st;
	struct config c;
	struct err e = {0};
	unsetenv("DOSSIER_POLICY");
	config_defaults(&c, "prod");
	assert_int_equal(origin(&c, "budget")->source, CONFIG_SOURCE_DEFAULT);
	const char text[] = "# comment\n\nbudget = 8G\npolicy = budget\n";
	FILE *f = fmemopen((void *)text, sizeof text - 1, "r");
	assert_int_equal(config_load_stream(&c, f, "my.conf", &e), 0);
	fclose(f);
	assert_int_equal(origin(&c, "budget")->source, CONFIG_SOURCE_FILE);
	assert_int_equal(origin(&c, "budget")->line, 3);
	assert_int_equal(origin(&c, "policy")->line, 4);
	setenv("DOSSIER_POLICY", "sequential", 1);
	assert_int_equal(config_apply_env(&c, &e), 0);
	unsetenv("DOSSIER_POLICY");
	assert_int_equal(origin(&c, "policy")->source, CONFIG_SOURCE_ENV);
	assert_int_equal(c.policy, POLICY_SEQUENTIAL);
	assert_int_equal(config_set_from(&c, "budget", "12G", CONFIG_SOURCE_FLAG, "--budget", 0, &e), 0);
	assert_int_equal(origin(&c, "budget")->source, CONFIG_SOURCE_FLAG);
	assert_string_equal(origin(&c, "budget")->flag, "--budget");
	assert_string_equal(config_source_name(CONFIG_SOURCE_ENV), "env");
}

static void test_every_key_formats_to_what_it_parses(void **st)
{
	(void)st;
	struct config c, d;
	struct err e = {0};
	config_defaults(&c, "dev");
	size_t n = config_key_count();
	assert_true(n > 20 && n <= CONFIG_KEYS_MAX);
	for (size_t i = 0; i < n; i++) {
		const struct config_key *k = config_key_at(i);
		assert_non_null(k->name);
		assert_non_null(k->help);
		assert_int_equal(config_key_find(k->name), (int)i);
		if (!k->file_ok)
			continue;
		char v[4096], w[4096];
		config_format(&c, i, v, sizeof v);
		if (!*v)
			continue; /* an empty string stays empty */
		config_defaults(&d, "prod");
		assert_int_equal(config_set(&d, k->name, v, &e), 0);
		config_format(&d, i, w, sizeof w);
		assert_string_equal(v, w);
	}
	assert_int_equal(config_key_find("llm_engine"), config_key_find("engine")); /* an alias */
	assert_int_equal(config_key_find("no_such_key"), -1);
}

static void test_a_secret_is_never_formatted_nor_read_from_a_file(void **st)
{
	(void)st;
	struct config c;
	struct err e = {0};
	config_defaults(&c, "prod");
	int i = config_key_find("openai_api_key");
	assert_true(i >= 0);
	assert_int_equal(config_set_from(&c, "openai_api_key", "sk-123", CONFIG_SOURCE_FILE, NULL, 1, &e), DOSSIER_EINVAL);
	assert_non_null(strstr(e.msg, "OPENAI_API_KEY"));
	setenv("OPENAI_API_KEY", "sk-123", 1);
	assert_int_equal(config_apply_env(&c, &e), 0);
	unsetenv("OPENAI_API_KEY");
	assert_string_equal(c.llm_api_key, "sk-123");
	char v[64];
	config_format(&c, (size_t)i, v, sizeof v);
	assert_string_equal(v, "(set)");
}

static void test_bad_values_name_the_key_and_the_value(void **st)
{
	(void)st;
	struct config c;
	struct err e = {0};
	config_defaults(&c, "prod");
	assert_int_equal(config_set(&c, "budget", "lots", &e), DOSSIER_EINVAL);
	assert_string_equal(e.msg, "budget 'lots' is not a size (try 12G or 16GB)");
	assert_int_equal(config_set(&c, "max_attempts", "0", &e), DOSSIER_EINVAL);
	assert_string_equal(e.msg, "max_attempts '0' is not a number from 1 to 100");
	assert_int_equal(config_set(&c, "idle_timeout_s", "-1", &e), DOSSIER_EINVAL);
	assert_int_equal(config_set(&c, "nope", "1", &e), DOSSIER_EINVAL);
	assert_string_equal(e.msg, "unknown setting 'nope'");
}

static void test_the_data_dir_rule(void **st)
{
	(void)st;
	struct config c;
	struct err e = {0};
	char out[4096];
	setenv("XDG_DATA_HOME", "/x/data", 1);
	config_defaults(&c, "prod");
	assert_int_equal(config_data_dir(&c, out, sizeof out), CONFIG_DATA_XDG);
	assert_string_equal(out, "/x/data/dossier");
	/* a database given explicitly: a directory of its own under XDG, never beside it */
	assert_int_equal(config_set_from(&c, "db", "/srv/lib/my.db", CONFIG_SOURCE_FLAG, "--db", 0, &e), 0);
	assert_int_equal(config_data_dir(&c, out, sizeof out), CONFIG_DATA_STORE);
	assert_int_equal(strncmp(out, "/x/data/dossier/stores/my-", 26), 0);
	assert_int_equal(strlen(out), 26 + 8);
	char first[4096];
	snprintf(first, sizeof first, "%s", out);
	assert_int_equal(config_set_from(&c, "db", "/srv/other/my.db", CONFIG_SOURCE_FLAG, "--db", 0, &e), 0);
	config_data_dir(&c, out, sizeof out);
	assert_string_not_equal(out, first);
	/* the default database's path given explicitly is the default's directory */
	assert_int_equal(config_set_from(&c, "db", "/x/data/dossier/dossier.db", CONFIG_SOURCE_ENV, NULL, 0, &e), 0);
	assert_int_equal(config_data_dir(&c, out, sizeof out), CONFIG_DATA_XDG);
	/* a database that already keeps its frames beside it keeps them there */
	char dir[] = "/tmp/dd-rule-XXXXXX", frames[64], dbp[64];
	assert_non_null(mkdtemp(dir));
	snprintf(frames, sizeof frames, "%s/frames", dir);
	snprintf(dbp, sizeof dbp, "%s/old.db", dir);
	assert_int_equal(mkdir(frames, 0700), 0);
	assert_int_equal(config_set_from(&c, "db", dbp, CONFIG_SOURCE_FLAG, "--db", 0, &e), 0);
	assert_int_equal(config_data_dir(&c, out, sizeof out), CONFIG_DATA_BESIDE_DB);
	assert_string_equal(out, dir);
	rmdir(frames);
	rmdir(dir);
	assert_int_equal(config_set_from(&c, "data_dir", "/var/dossier", CONFIG_SOURCE_FILE, NULL, 2, &e), 0);
	assert_int_equal(config_data_dir(&c, out, sizeof out), CONFIG_DATA_SET);
	assert_string_equal(out, "/var/dossier");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sources_default_file_env_flag),
		cmocka_unit_test(test_every_key_formats_to_what_it_parses),
		cmocka_unit_test(test_a_secret_is_never_formatted_nor_read_from_a_file),
		cmocka_unit_test(test_bad_values_name_the_key_and_the_value),
		cmocka_unit_test(test_the_data_dir_rule),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
