/* test_core_retry.c — retry backoff: full jitter within a cap that doubles
 * per attempt up to the maximum. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/retry.h"

static void delays_stay_within_a_cap_that_doubles_up_to_the_maximum(void **state)
{
	uint64_t rng = 7;
	for (int attempt = 1; attempt <= 12; attempt++) {
		double cap = 0.5;
		for (int i = 1; i < attempt; i++)
			cap *= 2;
		if (cap > 30)
			cap = 30;
		double lo = 1e9, hi = 0;
		for (int i = 0; i < 2000; i++) {
			double d = retry_delay_s(attempt, 0.5, 30, &rng);
			assert_true(d >= 0);
			assert_true(d <= cap);
			lo = d < lo ? d : lo;
			hi = d > hi ? d : hi;
		}
		/* full jitter: the whole range is used, not just its top */
		assert_true(lo < cap * 0.05);
		assert_true(hi > cap * 0.95);
	}
}

static void later_attempts_wait_longer_on_average(void **state)
{
	uint64_t rng = 12345;
	double prev = 0;
	for (int attempt = 1; attempt <= 6; attempt++) {
		double sum = 0;
		for (int i = 0; i < 4000; i++)
			sum += retry_delay_s(attempt, 0.5, 30, &rng);
		double mean = sum / 4000;
		assert_true(mean > prev * 1.6); /* about twice the one before */
		prev = mean;
	}
}

static void degenerate_inputs_give_sane_delays(void **state)
{
	uint64_t rng = 0; /* replaced internally */
	assert_true(retry_delay_s(1, 0, 30, &rng) == 0);
	assert_true(retry_delay_s(0, 0.5, 30, &rng) <= 0.5);   /* attempt < 1 counts as 1 */
	assert_true(retry_delay_s(-3, 0.5, 30, &rng) <= 0.5);
	assert_true(retry_delay_s(1000, 0.5, 30, &rng) <= 30); /* no overflow at huge attempts */
	uint64_t a = 99, b = 99;
	assert_true(retry_delay_s(3, 0.5, 30, &a) == retry_delay_s(3, 0.5, 30, &b)); /* deterministic per state */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(delays_stay_within_a_cap_that_doubles_up_to_the_maximum),
		cmocka_unit_test(later_attempts_wait_longer_on_average),
		cmocka_unit_test(degenerate_inputs_give_sane_delays),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
