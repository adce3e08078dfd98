/* The live display's line fitting (progress_fit): a line is cut to the
 * terminal's columns, never inside a UTF-8 character; wide characters count
 * two columns, colour escapes none, and a cut coloured line ends with a
 * reset. Also the width (COLUMNS when fd is no terminal) and the command
 * table's edit distance behind "Did you mean". */
#include "cli/cli.h"
#include "cli/progress.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static int columns(const char *s)
{
	int c = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == 0x1b) { /* skip ESC [ ... letter */
			while (*p && !((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
				p++;
			continue;
		}
		c += (*p & 0xc0) != 0x80;
	}
	return c;
}

static void test_a_long_line_is_cut_to_the_width(void **st)
{
	(void)st;
	char out[256];
	const char *status = "[------------------------------] 3/7 done, 0 failed  00:12  model: llama3.1:8b (2 swaps)";
	assert_true(strlen(status) > 80);
	progress_fit(status, 59, out, sizeof out);
	assert_int_equal(strlen(out), 59);
	assert_memory_equal(out, status, 59);
	progress_fit("short", 59, out, sizeof out);
	assert_string_equal(out, "short");
	progress_fit("two\nlines", 59, out, sizeof out);
	assert_string_equal(out, "two");
}

static void test_utf8_is_never_cut_inside_a_character(void **st)
{
	(void)st;
	char out[256];
	/* "é" is two bytes, one column */
	progress_fit("caf\xc3\xa9 cr\xc3\xa8me br\xc3\xbbl\xc3\xa9""e", 6, out, sizeof out);
	assert_string_equal(out, "caf\xc3\xa9 c");
	progress_fit("\xc3\xa9\xc3\xa9\xc3\xa9", 2, out, sizeof out);
	assert_string_equal(out, "\xc3\xa9\xc3\xa9");
	/* a wide character (two columns) that does not fit is left out whole */
	progress_fit("ab\xe6\x97\xa5\xe6\x9c\xac", 3, out, sizeof out);
	assert_string_equal(out, "ab");
	progress_fit("ab\xe6\x97\xa5\xe6\x9c\xac", 4, out, sizeof out);
	assert_string_equal(out, "ab\xe6\x97\xa5");
	/* a broken sequence (a lone lead byte, a stray continuation) is shown as '?' */
	progress_fit("a\xc3" "b\x80" "c", 80, out, sizeof out);
	assert_string_equal(out, "a?b?c");
	/* a 4-byte emoji */
	progress_fit("x\xf0\x9f\x93\x84y", 3, out, sizeof out);
	assert_string_equal(out, "x\xf0\x9f\x93\x84");
}

static void test_colour_has_no_width_and_is_reset_at_a_cut(void **st)
{
	(void)st;
	char out[256];
	progress_fit("  \033[1mreport.pdf\033[0m recognising text in the images", 20, out, sizeof out);
	assert_int_equal(columns(out), 20);
	assert_non_null(strstr(out, "\033[1mreport.pdf\033[0m"));
	assert_string_equal(out + strlen(out) - 4, "\033[0m");
	progress_fit("\033[1mlong bold name\033[0m", 4, out, sizeof out);
	assert_int_equal(columns(out), 4);
	assert_string_equal(out + strlen(out) - 4, "\033[0m");
}

static void test_a_small_buffer_is_always_terminated(void **st)
{
	(void)st;
	char out[8];
	size_t n = progress_fit("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 80, out, sizeof out);
	assert_true(n < sizeof out);
	assert_int_equal(out[n], '\0');
	assert_true(n % 2 == 0); /* whole characters only */
}

static void test_width_from_columns_without_a_terminal(void **st)
{
	(void)st;
	FILE *f = tmpfile();
	setenv("COLUMNS", "60", 1);
	assert_int_equal(progress_width(fileno(f)), 60);
	setenv("COLUMNS", "nonsense", 1);
	assert_int_equal(progress_width(fileno(f)), 80);
	unsetenv("COLUMNS");
	assert_int_equal(progress_width(fileno(f)), 80);
	fclose(f);
}

static void test_edit_distance_and_the_command_table(void **st)
{
	(void)st;
	assert_int_equal(cli_edit_distance("analyze", "analyze"), 0);
	assert_int_equal(cli_edit_distance("anaylze", "analyze"), 1); /* two neighbours swapped */
	assert_int_equal(cli_edit_distance("analyse", "analyze"), 1);
	assert_int_equal(cli_edit_distance("lst", "list"), 1);
	assert_int_equal(cli_edit_distance("", "list"), 4);
	assert_non_null(cli_command_find("config"));
	assert_null(cli_command_find("nope"));
	size_t n = 0;
	for (const struct cli_cmd *const *c = cli_commands(); *c; c++, n++)
		assert_ptr_equal(cli_command_find((*c)->name), *c);
	assert_true(n >= 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_long_line_is_cut_to_the_width),
		cmocka_unit_test(test_utf8_is_never_cut_inside_a_character),
		cmocka_unit_test(test_colour_has_no_width_and_is_reset_at_a_cut),
		cmocka_unit_test(test_a_small_buffer_is_always_terminated),
		cmocka_unit_test(test_width_from_columns_without_a_terminal),
		cmocka_unit_test(test_edit_distance_and_the_command_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
