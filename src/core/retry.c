#include "core/retry.h"

/* xorshift64*: enough randomness to spread retries, no locking. */
static uint64_t next_random(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

double retry_delay_s(int attempt, double base_s, double max_s, uint64_t *rng)
{
	if (base_s <= 0)
		return 0;
	if (attempt < 1)
		attempt = 1;
	double cap = base_s;
	for (int i = 1; i < attempt && cap < max_s; i++)
		cap *= 2;
	if (max_s > 0 && cap > max_s)
		cap = max_s;
	double u = (double)(next_random(rng) >> 11) / (double)(1ull << 53); /* [0, 1) */
	return u * cap;
}
