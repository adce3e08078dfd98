/*
 * bench/claim.c — the latency of a claim and of "what is pending" against an
 * existing database (e.g. one bench/scale.sh generated before its analysis).
 *
 *   bench_claim DB [N]     (N claims, default 200; DB is changed only by
 *                           claims whose steps are given straight back)
 *   bench_claim --generate DOCS DB [N]
 *                          first fills a new DB with DOCS text documents
 *                          (extract_text -> analyze_text) and completes the
 *                          first step of half of them, as a run midway
 *
 * Each round acquires a lease, times store_steps_pending and store_step_claim
 * (roles none and text, as the cpu and model lanes ask), then releases the
 * lease, which puts the step back: the queue is the same for every round.
 * Prints p50/p95/max in milliseconds; no pass/fail.
 */
#include "core/err.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *what, double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp);
	printf("%-16s p50 %8.3f ms  p95 %8.3f ms  max %8.3f ms  (n=%d)\n", what, v[n / 2], v[(n * 95) / 100],
	       v[n - 1], n);
}

static const struct step_decl text_steps[] = {
	{"extract_text", ROLE_NONE, 0},
	{"analyze_text", ROLE_TEXT, 1},
};

/* DOCS text documents, the first step of half of them done. */
static int generate(store *st, int docs, struct err *e)
{
	for (int i = 0; i < docs; i++) {
		char path[64], sha[65];
		snprintf(path, sizeof path, "/bench/notes/%07d.md", i);
		snprintf(sha, sizeof sha, "%064d", i);
		struct doc_input in = {.path = path, .sha256 = sha, .mime = "text/markdown", .kind = "text",
		                       .bytes = 2000, .mtime = 1};
		int64_t id;
		if (store_doc_insert(st, &in, text_steps, 2, &id, e))
			return 1;
	}
	char holder[STORE_HOLDER_MAX];
	if (store_lease_acquire(st, NULL, 600, holder, sizeof holder, e))
		return 1;
	struct claim_filter f = {.role_mask = 1u << ROLE_NONE, .prefer_role = -1, .holder = holder};
	for (int i = 0; i < docs / 2; i++) {
		struct step_rec s;
		if (store_step_claim(st, &f, NULL, 0, &s, e) || store_step_done(st, s.id, holder, "{}", NULL, 0, e))
			return 1;
		step_rec_clear(&s);
	}
	return store_lease_release(st, holder, NULL, e);
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fprintf(stderr, "usage: bench_claim DB [N]\n  times N claims and pending counts against DB\n");
		return argc < 2 ? 2 : 0;
	}
	int docs = 0;
	if (!strcmp(argv[1], "--generate")) {
		if (argc < 4) {
			fprintf(stderr, "usage: bench_claim --generate DOCS DB [N]\n");
			return 2;
		}
		docs = atoi(argv[2]);
		argv += 2;
		argc -= 2;
	}
	int n = argc > 2 ? atoi(argv[2]) : 200;
	if (n < 1)
		n = 1;
	store *st;
	struct err e = {0};
	if (store_open(argv[1], &st, &e)) {
		fprintf(stderr, "bench_claim: %s\n", e.msg);
		return 1;
	}
	if (docs > 0 && generate(st, docs, &e)) {
		fprintf(stderr, "bench_claim: %s\n", e.msg);
		return 1;
	}
	double *claim = calloc((size_t)n, sizeof *claim), *pend = calloc((size_t)n, sizeof *pend);
	int got = 0;
	for (int i = 0; i < n; i++) {
		char holder[STORE_HOLDER_MAX];
		if (store_lease_acquire(st, NULL, 60, holder, sizeof holder, &e)) {
			fprintf(stderr, "bench_claim: %s\n", e.msg);
			return 1;
		}
		struct steps_pending p;
		double t0 = now_ms();
		store_steps_pending(st, holder, &p, NULL);
		double t1 = now_ms();
		struct claim_filter f = {.role_mask = (1u << ROLE_NONE) | (1u << ROLE_TEXT), .prefer_role = ROLE_TEXT,
		                         .holder = holder};
		struct step_rec s;
		int rc = store_step_claim(st, &f, NULL, 0, &s, &e);
		double t2 = now_ms();
		if (rc == 0) {
			got++;
			step_rec_clear(&s);
		}
		pend[i] = t1 - t0;
		claim[i] = t2 - t1;
		store_lease_release(st, holder, NULL, NULL);
	}
	printf("claims that found a step: %d of %d\n", got, n);
	report("claim", claim, n);
	report("steps_pending", pend, n);
	free(claim);
	free(pend);
	store_close(st);
	return 0;
}
