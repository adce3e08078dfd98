/* Every step a kind declares has a label in plain words (kinds.c's one
 * table): no underscores, no step name shown to people as it is stored. */
#include "pipeline/kinds.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

static void test_every_declared_step_has_a_label(void **st)
{
	(void)st;
	for (size_t i = 0; i < kind_count(); i++) {
		const struct kind_def *k = kind_at(i);
		for (size_t j = 0; j < k->n_steps; j++) {
			const char *kind = k->steps[j].kind, *label = step_label(kind);
			if (!strcmp(label, kind) || strchr(label, '_'))
				fail_msg("step '%s' of kind '%s' has no label in plain words ('%s')", kind, k->name, label);
		}
	}
}

static void test_labels_read_as_words(void **st)
{
	(void)st;
	assert_string_equal(step_label("extract_text"), "reading the text");
	assert_string_equal(step_label("transcribe"), "recognising speech");
	assert_string_equal(step_label("ocr"), "recognising text in the images");
	assert_string_equal(step_label("no_such_step"), "no_such_step");
	assert_string_equal(step_label(NULL), "");
	size_t n = 0;
	while (step_label_kind_at(n))
		n++;
	assert_true(n >= 8);
	assert_null(step_label_kind_at(n));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_declared_step_has_a_label),
		cmocka_unit_test(test_labels_read_as_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
