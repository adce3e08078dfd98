/*
 * test_analyze_sentence.c — the sentence splitter: abbreviations, numbers, ellipses,
 * initials, URLs, quotes, line breaks and Markdown structure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "analyze/sentence.h"
#include "core/err.h"

/* Splits text and checks the sentences (whitespace folded) equal want[0..n-1]. */
static void expect_split(const char *text, const char *const *want, size_t nwant)
{
	struct sentence *s = NULL;
	size_t n = 0;
	struct err e = { 0 };
	assert_int_equal(sentence_split(text, strlen(text), &s, &n, &e), 0);
	for (size_t i = 0; i < n && i < nwant; i++) {
		char *t = sentence_text(text, &s[i]);
		assert_non_null(t);
		assert_string_equal(t, want[i]);
		free(t);
	}
	assert_int_equal(n, nwant);
	free(s);
}

#define EXPECT(text, ...)                                                             \
	do {                                                                          \
		const char *const want_[] = { __VA_ARGS__ };                          \
		expect_split(text, want_, sizeof want_ / sizeof want_[0]);            \
	} while (0)

static void splits_plain_sentences(void **state)
{
	(void)state;
	EXPECT("It rained. We stayed in! Did you? Yes.",
	       "It rained.", "We stayed in!", "Did you?", "Yes.");
}

static void titles_and_abbreviations_do_not_split(void **state)
{
	(void)state;
	EXPECT("Mr. Smith met Dr. Jones and Prof. Lee. They talked about Sr. García and Mrs. Doe.",
	       "Mr. Smith met Dr. Jones and Prof. Lee.",
	       "They talked about Sr. García and Mrs. Doe.");
	EXPECT("Use a fruit, e.g. an apple, i.e. something sweet. Then rest.",
	       "Use a fruit, e.g. an apple, i.e. something sweet.", "Then rest.");
	EXPECT("Das ist z.B. ein Test. Noch einer.", "Das ist z.B. ein Test.", "Noch einer.");
	EXPECT("The U.S. Army arrived. It left.", "The U.S. Army arrived.", "It left.");
	EXPECT("M. Dupont est arrivé. Il est parti.", "M. Dupont est arrivé.", "Il est parti.");
}

static void initials_do_not_split(void **state)
{
	(void)state;
	EXPECT("J. R. R. Tolkien wrote it. It sold well.",
	       "J. R. R. Tolkien wrote it.", "It sold well.");
}

static void numbers_do_not_split(void **state)
{
	(void)state;
	EXPECT("Pi is 3.14 and the total was 1,234.56 dollars. Version 2.0.1 shipped.",
	       "Pi is 3.14 and the total was 1,234.56 dollars.", "Version 2.0.1 shipped.");
	EXPECT("It happened on Jan. 5 in Berlin. Then it stopped.",
	       "It happened on Jan. 5 in Berlin.", "Then it stopped.");
	EXPECT("The meeting ends at 5 p.m. Then we leave.",
	       "The meeting ends at 5 p.m.", "Then we leave.");
}

static void lower_case_after_dot_does_not_split(void **state)
{
	(void)state;
	EXPECT("Apples, pears, etc. are fruit. Bread etc. Is it food?",
	       "Apples, pears, etc. are fruit.", "Bread etc.", "Is it food?");
}

static void ellipses(void **state)
{
	(void)state;
	EXPECT("Wait... what happened? Well… Nobody knows… or cares.",
	       "Wait... what happened?", "Well…", "Nobody knows… or cares.");
}

static void urls_and_emails_stay_whole(void **state)
{
	(void)state;
	EXPECT("See www.example.com/a.b for details. Write to jane.doe@example.org today.",
	       "See www.example.com/a.b for details.", "Write to jane.doe@example.org today.");
}

static void quotes_close_the_sentence(void **state)
{
	(void)state;
	EXPECT("He said \"Stop.\" Then he left. (It was late.) We slept.",
	       "He said \"Stop.\"", "Then he left.", "(It was late.)", "We slept.");
}

static void line_breaks(void **state)
{
	(void)state;
	/* a wrapped line continues; a blank line ends a sentence even without a period */
	EXPECT("This sentence is wrapped by the editor at about sixty\ncharacters and goes on.\n\nA paragraph without a period\n\nNext one.",
	       "This sentence is wrapped by the editor at about sixty characters and goes on.",
	       "A paragraph without a period", "Next one.");
	/* CRLF is white space too */
	EXPECT("One.\r\nTwo.\r\n", "One.", "Two.");
}

static void markdown_structure(void **state)
{
	(void)state;
	const char *md =
		"# The Title\n"
		"\n"
		"Intro text. More intro.\n"
		"\n"
		"- first item\n"
		"- second item. It has two sentences\n"
		"  continued on an indented line\n"
		"* third item\n"
		"1. numbered item\n"
		"\n"
		"```c\n"
		"int x = 1. Not a sentence.\n"
		"```\n"
		"\n"
		"## Second heading ##\n"
		"Closing words.\n";
	struct sentence *s;
	size_t n;
	assert_int_equal(sentence_split(md, strlen(md), &s, &n, NULL), 0);
	const char *want[] = { "The Title", "Intro text.", "More intro.", "first item",
			       "second item.", "It has two sentences continued on an indented line",
			       "third item", "numbered item", "```c int x = 1. Not a sentence. ```",
			       "Second heading", "Closing words." };
	const enum sentence_kind kinds[] = {
		SENTENCE_KIND_HEADING, SENTENCE_KIND_TEXT, SENTENCE_KIND_TEXT, SENTENCE_KIND_ITEM,
		SENTENCE_KIND_ITEM, SENTENCE_KIND_ITEM, SENTENCE_KIND_ITEM, SENTENCE_KIND_ITEM,
		SENTENCE_KIND_CODE, SENTENCE_KIND_HEADING, SENTENCE_KIND_TEXT };
	assert_int_equal(n, sizeof want / sizeof want[0]);
	for (size_t i = 0; i < n; i++) {
		char *t = sentence_text(md, &s[i]);
		assert_string_equal(t, want[i]);
		assert_int_equal(s[i].kind, kinds[i]);
		free(t);
	}
	free(s);
}

static void lone_short_line_is_a_heading(void **state)
{
	(void)state;
	const char *t = "Quarterly Report\n\nSales grew in all regions. Costs fell.\n";
	struct sentence *s;
	size_t n;
	assert_int_equal(sentence_split(t, strlen(t), &s, &n, NULL), 0);
	assert_int_equal(n, 3);
	assert_int_equal(s[0].kind, SENTENCE_KIND_HEADING);
	assert_int_equal(s[1].kind, SENTENCE_KIND_TEXT);
	free(s);
}

static void empty_and_punctuation_only(void **state)
{
	(void)state;
	struct sentence *s = (struct sentence *)1;
	size_t n = 99;
	assert_int_equal(sentence_split("", 0, &s, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_null(s);
	const char *t = "---\n\n... !!! ???\n\n| --- | --- |\n";
	assert_int_equal(sentence_split(t, strlen(t), &s, &n, NULL), 0);
	assert_int_equal(n, 0);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(splits_plain_sentences),
		cmocka_unit_test(titles_and_abbreviations_do_not_split),
		cmocka_unit_test(initials_do_not_split),
		cmocka_unit_test(numbers_do_not_split),
		cmocka_unit_test(lower_case_after_dot_does_not_split),
		cmocka_unit_test(ellipses),
		cmocka_unit_test(urls_and_emails_stay_whole),
		cmocka_unit_test(quotes_close_the_sentence),
		cmocka_unit_test(line_breaks),
		cmocka_unit_test(markdown_structure),
		cmocka_unit_test(lone_short_line_is_a_heading),
		cmocka_unit_test(empty_and_punctuation_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
