/* test_analyze_linear.c — every analyser's cost grows linearly with its
 * input, on inputs built to make naive matchers quadratic: long runs of digits
 * and separators (phone numbers), brackets, nested Markdown markup, e-mail and
 * URL look-alikes, one endless word, runs of capitalised words (names). Each
 * input is timed (CPU time of this thread) at two sizes, n and 2n; the ratio
 * must stay near 2 (it is asserted below 3.2, which a quadratic matcher, at
 * about 4, cannot meet). Wall time is never asserted.
 * ctest: slow */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyze/offline.h"
#include "analyze/sentence.h"
#include "analyze/text.h"
#include "core/err.h"

typedef void (*gen_fn)(char *buf, size_t n);

static void gen_repeat(char *buf, size_t n, const char *unit)
{
	size_t u = strlen(unit);
	for (size_t i = 0; i < n; i++)
		buf[i] = unit[i % u];
	buf[n] = '\0';
}

static void g_digits(char *b, size_t n) { gen_repeat(b, n, "12 34-56 78.90/1 "); }
static void g_digits_tight(char *b, size_t n) { gen_repeat(b, n, "1-2.3 4"); }
static void g_parens(char *b, size_t n) { gen_repeat(b, n, "("); }
static void g_md_brackets(char *b, size_t n) { gen_repeat(b, n, "[[[((("); }
static void g_md_emphasis(char *b, size_t n) { gen_repeat(b, n, "*_`"); }
static void g_md_links(char *b, size_t n) { gen_repeat(b, n, "[a](b "); }
static void g_html_lt(char *b, size_t n) { gen_repeat(b, n, "<a <!-- &#"); }
static void g_at_dots(char *b, size_t n) { gen_repeat(b, n, "a@b."); }
static void g_urls(char *b, size_t n) { gen_repeat(b, n, "http://x.y/"); }
static void g_one_word(char *b, size_t n) { gen_repeat(b, n, "abcdefghij"); }
static void g_names(char *b, size_t n) { gen_repeat(b, n, "Anna Berg Carl "); }
static void g_money(char *b, size_t n) { gen_repeat(b, n, "$1,000,000."); }
static void g_dates(char *b, size_t n) { gen_repeat(b, n, "2024-01-0"); }
static void g_abbrev(char *b, size_t n) { gen_repeat(b, n, "A. B. e.g. Dr. "); }
static void g_newlines(char *b, size_t n) { gen_repeat(b, n, "x\n\n\n#\n"); }
static void g_parens_digits(char *b, size_t n) { gen_repeat(b, n, "((1"); }
static void g_parens_words(char *b, size_t n) { gen_repeat(b, n, "(a "); }
static void g_md_brackets_words(char *b, size_t n) { gen_repeat(b, n, "[[[(((word "); }
static void g_md_nested(char *b, size_t n) { gen_repeat(b, n, "[a[b(c(d "); }
static void g_md_images(char *b, size_t n) { gen_repeat(b, n, "![x]("); }

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Normalises (as fmt) and analyses n bytes of gen's text; returns CPU seconds. */
static double cost(gen_fn gen, size_t n, enum text_format fmt)
{
	char *in = malloc(n + 1);
	gen(in, n);
	double t0 = cpu_now();
	char *text = NULL, *title = NULL, enc[16];
	size_t len = 0;
	struct err e = {0};
	if (text_normalize(in, n, fmt, &text, &len, &title, enc, &e) == 0) {
		struct sentence *s = NULL;
		size_t ns = 0;
		if (sentence_split(text, len, &s, &ns, &e) == 0)
			free(s);
		json_t *a = NULL;
		if (offline_analyze(text, len, NULL, NULL, &a, &e) == 0)
			json_decref(a);
	}
	double t = cpu_now() - t0;
	free(text);
	free(title);
	free(in);
	return t;
}

/* The smallest n at which the input costs at least 20 ms (so timer noise is
 * small), from 32 KB up; then the ratio of 2n to n, best of three. */
static void assert_linear(const char *what, gen_fn gen, enum text_format fmt)
{
	size_t n = 32 * 1024;
	while (n < 2u * 1024 * 1024 && cost(gen, n, fmt) < 0.02)
		n *= 2;
	double best = 1e9;
	double t1 = 0, t2 = 0;
	for (int i = 0; i < 3; i++) {
		t1 = cost(gen, n, fmt);
		t2 = cost(gen, 2 * n, fmt);
		double r = t1 > 0 ? t2 / t1 : 1;
		if (r < best)
			best = r;
	}
	printf("%-28s n=%7zu KB  %8.3f s -> %8.3f s  ratio %.2f\n", what, n / 1024, t1, t2, best);
	if (best > 3.2)
		fail_msg("%s: doubling the input from %zu KB multiplied the cost by %.2f (quadratic?)", what,
		         n / 1024, best);
}

#define LINEAR(name, gen, fmt) \
	static void test_linear_##name(void **state) { (void)state; assert_linear(#name, gen, fmt); }

LINEAR(digits_and_separators, g_digits, TEXT_FORMAT_PLAIN)
LINEAR(tight_digit_runs, g_digits_tight, TEXT_FORMAT_PLAIN)
LINEAR(open_parentheses, g_parens, TEXT_FORMAT_PLAIN)
LINEAR(markdown_brackets, g_md_brackets, TEXT_FORMAT_MARKDOWN)
LINEAR(markdown_emphasis, g_md_emphasis, TEXT_FORMAT_MARKDOWN)
LINEAR(markdown_unclosed_links, g_md_links, TEXT_FORMAT_MARKDOWN)
LINEAR(html_unclosed_tags, g_html_lt, TEXT_FORMAT_HTML)
LINEAR(email_lookalikes, g_at_dots, TEXT_FORMAT_PLAIN)
LINEAR(url_lookalikes, g_urls, TEXT_FORMAT_PLAIN)
LINEAR(one_endless_word, g_one_word, TEXT_FORMAT_PLAIN)
LINEAR(capitalised_names, g_names, TEXT_FORMAT_PLAIN)
LINEAR(money_lookalikes, g_money, TEXT_FORMAT_PLAIN)
LINEAR(date_lookalikes, g_dates, TEXT_FORMAT_PLAIN)
LINEAR(abbreviations, g_abbrev, TEXT_FORMAT_PLAIN)
LINEAR(markdown_headings_and_breaks, g_newlines, TEXT_FORMAT_MARKDOWN)
LINEAR(parentheses_and_digits, g_parens_digits, TEXT_FORMAT_PLAIN)
LINEAR(parentheses_and_words, g_parens_words, TEXT_FORMAT_PLAIN)
LINEAR(markdown_brackets_and_words, g_md_brackets_words, TEXT_FORMAT_MARKDOWN)
LINEAR(markdown_nested_brackets, g_md_nested, TEXT_FORMAT_MARKDOWN)
LINEAR(markdown_unclosed_images, g_md_images, TEXT_FORMAT_MARKDOWN)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linear_digits_and_separators),
		cmocka_unit_test(test_linear_tight_digit_runs),
		cmocka_unit_test(test_linear_open_parentheses),
		cmocka_unit_test(test_linear_markdown_brackets),
		cmocka_unit_test(test_linear_markdown_emphasis),
		cmocka_unit_test(test_linear_markdown_unclosed_links),
		cmocka_unit_test(test_linear_html_unclosed_tags),
		cmocka_unit_test(test_linear_email_lookalikes),
		cmocka_unit_test(test_linear_url_lookalikes),
		cmocka_unit_test(test_linear_one_endless_word),
		cmocka_unit_test(test_linear_capitalised_names),
		cmocka_unit_test(test_linear_money_lookalikes),
		cmocka_unit_test(test_linear_date_lookalikes),
		cmocka_unit_test(test_linear_abbreviations),
		cmocka_unit_test(test_linear_markdown_headings_and_breaks),
		cmocka_unit_test(test_linear_parentheses_and_digits),
		cmocka_unit_test(test_linear_parentheses_and_words),
		cmocka_unit_test(test_linear_markdown_brackets_and_words),
		cmocka_unit_test(test_linear_markdown_nested_brackets),
		cmocka_unit_test(test_linear_markdown_unclosed_images),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
