/*
 * retry.h — how long to wait before trying a transiently failed step again:
 * exponential backoff with full jitter.
 *
 *   uint64_t rng = seed;
 *   double wait_s = retry_delay_s(attempt, cfg->retry_base_s, cfg->retry_max_s, &rng);
 *
 * Pure: no clock, no global state; the caller owns the random state.
 */
#ifndef DOSSIER_CORE_RETRY_H
#define DOSSIER_CORE_RETRY_H

#include <stdint.h>

/*
 * The delay before retry number `attempt` (1 = after the first failure):
 * uniform in [0, min(max_s, base_s * 2^(attempt-1))]. attempt < 1 counts as 1;
 * base_s <= 0 gives 0. *rng is a xorshift state (any value; 0 is replaced),
 * advanced by each call.
 */
double retry_delay_s(int attempt, double base_s, double max_s, uint64_t *rng);

#endif
