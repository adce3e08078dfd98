/* test_store_measures.c — the measures table (schema 8): a model_measured
 * event becomes a row, a second load of the same engine, model and context
 * replaces it and counts up, other contexts and engines are rows of their
 * own, other events and malformed ones change nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "store/store.h"

#define STORE_FIXTURE_NAME "measures"
#include "store_fixture.h"

struct rows {
	struct store_measure m[8];
	int n;
};

static int take(const struct store_measure *m, void *user)
{
	struct rows *r = user;
	if (r->n < 8)
		r->m[r->n++] = *m;
	return 0;
}

static void events_become_rows(void **state)
{
	(void)state;
	store *st;
	struct err e = {0};
	assert_int_equal(store_open(db, &st, &e), 0);
	assert_true(store_schema_version() >= 8);
	const char *ev1 = "{\"seq\":1,\"event\":\"model_measured\",\"engine\":\"openai\",\"model\":\"llama3.2:3b\","
	                  "\"role\":\"text\",\"num_ctx\":4096,\"load_ms\":1500,\"resident_bytes\":2100000000,"
	                  "\"resident_source\":\"rss:/proc\",\"predicted_bytes\":2000000000}";
	const char *ev2 = "{\"seq\":2,\"event\":\"model_measured\",\"engine\":\"openai\",\"model\":\"llama3.2:3b\","
	                  "\"role\":\"text\",\"num_ctx\":4096,\"load_ms\":900,\"resident_bytes\":2200000000,"
	                  "\"resident_source\":\"engine:meta.size\",\"predicted_bytes\":2000000000}";
	const char *ev3 = "{\"seq\":3,\"event\":\"model_measured\",\"engine\":\"ollama\",\"model\":\"llama3.2:3b\","
	                  "\"role\":\"text\",\"num_ctx\":8192,\"load_ms\":700,\"resident_bytes\":3000000000,"
	                  "\"resident_source\":\"api/ps\",\"predicted_bytes\":0}";
	assert_int_equal(store_measure_from_event(st, ev1, &e), 0);
	assert_int_equal(store_measure_from_event(st, ev2, &e), 0);
	assert_int_equal(store_measure_from_event(st, ev3, &e), 0);
	assert_int_equal(store_measure_from_event(st, "{\"event\":\"model_loaded\",\"model\":\"x\"}", &e), 0);
	assert_int_equal(store_measure_from_event(st, "{\"event\":\"model_measured\",\"model\":\"x\"}", &e),
	                 DOSSIER_EFORMAT);

	struct rows r = {0};
	assert_int_equal(store_measures_each(st, NULL, take, &r, &e), 0);
	assert_int_equal(r.n, 2);
	const struct store_measure *a = strcmp(r.m[0].engine, "openai") ? &r.m[1] : &r.m[0];
	assert_string_equal(a->model, "llama3.2:3b");
	assert_int_equal(a->num_ctx, 4096);
	assert_int_equal(a->resident_bytes, 2200000000u); /* the newer load */
	assert_string_equal(a->source, "engine:meta.size");
	assert_int_equal(a->loads, 2);
	assert_true(a->load_s > 0.89 && a->load_s < 0.91);
	assert_int_equal(a->predicted_bytes, 2000000000u);

	r.n = 0;
	assert_int_equal(store_measures_each(st, "ollama", take, &r, &e), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.m[0].num_ctx, 8192);
	assert_int_equal(r.m[0].predicted_bytes, 0);
	store_close(st);

	/* they survive a reopen */
	assert_int_equal(store_open(db, &st, &e), 0);
	r.n = 0;
	assert_int_equal(store_measures_each(st, NULL, take, &r, &e), 0);
	assert_int_equal(r.n, 2);
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(events_become_rows, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
