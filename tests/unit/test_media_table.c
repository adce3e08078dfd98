/*
 * test_media_table.c — CSV/TSV through media/table: delimiter sniffing,
 * quoted fields, column types, the row count, the sample and the
 * description that becomes the offline summary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/err.h"
#include "media/table.h"
#include "test_formats_fixtures.h"

static json_t *read_ok(const char *path)
{
	json_t *r = NULL;
	struct err e = {0};
	if (table_extract(path, &r, &e))
		fail_msg("%s", e.msg);
	return r;
}

static void test_csv_columns_rows_and_quotes(void **s)
{
	(void)s;
	json_t *r = read_ok(ff_path("people.csv"));
	json_t *t = json_object_get(r, "table");
	assert_int_equal(json_integer_value(json_object_get(t, "rows")), 42);
	assert_true(json_is_true(json_object_get(t, "header")));
	json_t *c = json_object_get(t, "columns");
	assert_int_equal(json_array_size(c), 4);
	assert_string_equal(ff_str(json_array_get(c, 0), "name"), "name");
	assert_string_equal(ff_str(json_array_get(c, 2), "type"), "number");
	assert_string_equal(ff_str(json_array_get(c, 3), "type"), "date");
	assert_string_equal(ff_str(r, "delimiter"), ",");
	const char *text = ff_str(r, "text");
	/* a quoted comma stays in its field; a quoted line break does not start a row */
	assert_non_null(strstr(text, "Smith, John\tParis\t12.50\t2024-01-03\n"));
	assert_non_null(strstr(text, "Ada\tNew York\t7"));
	assert_non_null(strstr(text, "22 more rows"));
	assert_null(strstr(text, "Person 39"));
	const char *h = ff_str(r, "summary_hint");
	assert_non_null(strstr(h, "42 rows and 4 columns"));
	assert_non_null(strstr(h, "amount (numbers, 0 to 58.5)"));
	assert_non_null(strstr(h, "2024-01-03 to 2024-03-28"));
	json_decref(r);
}

static void test_delimiters_sniffed(void **s)
{
	(void)s;
	json_t *r = read_ok(ff_path("stock.tsv"));
	assert_string_equal(ff_str(r, "delimiter"), "\t");
	assert_string_equal(ff_str(r, "format"), "tsv");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "table"), "rows")), 2);
	json_decref(r);
	r = read_ok(ff_path("semi.csv"));
	assert_string_equal(ff_str(r, "delimiter"), ";");
	assert_int_equal(json_array_size(json_object_get(json_object_get(r, "table"), "columns")), 3);
	json_decref(r);
}

static void test_latin1_and_no_header(void **s)
{
	(void)s;
	static const char latin[] = "1;caf\xe9;2\r\n3;th\xe9;4\r\n";
	json_t *r = read_ok(ff_write("latin.csv", latin, sizeof latin - 1));
	assert_false(json_is_true(json_object_get(json_object_get(r, "table"), "header")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "table"), "rows")), 2);
	assert_non_null(strstr(ff_str(r, "text"), "caf\xc3\xa9"));
	assert_string_equal(ff_str(r, "encoding"), "windows-1252");
	json_decref(r);
}

static void test_empty_and_binary(void **s)
{
	(void)s;
	json_t *r = NULL;
	struct err e = {0};
	assert_int_equal(table_extract(ff_write("empty.csv", "\n\n", 2), &r, &e), DOSSIER_EEMPTY);
	assert_non_null(strstr(e.msg, "empty.csv"));
	assert_int_equal(table_extract(ff_write("bin.csv", "a,b\n\0\0\0,1\n", 11), &r, &e), DOSSIER_EFORMAT);
	assert_non_null(strstr(e.msg, "bin.csv"));
}

static int setup(void **s)
{
	(void)s;
	return ff_make("table");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_columns_rows_and_quotes),
		cmocka_unit_test(test_delimiters_sniffed),
		cmocka_unit_test(test_latin1_and_no_header),
		cmocka_unit_test(test_empty_and_binary),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
