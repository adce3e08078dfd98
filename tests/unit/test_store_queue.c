/* test_store_queue.c — the durable queue: readiness by
 * dependencies, atomic claims across connections, retries and skips,
 * recovery after a crash, affinity and document order, search.
 * (Ingest outcomes: test_pipeline_ingest_decide.c.) */
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

static char db[512];

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(db, sizeof db, "%s/queue-%d-%p.db", tmp && *tmp ? tmp : "/tmp", (int)getpid(), (void *)state);
	unlink(db);
	return 0;
}

static int teardown(void **state)
{
	char p[600];
	unlink(db);
	snprintf(p, sizeof p, "%s-wal", db);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", db);
	unlink(p);
	return 0;
}

static const struct step_decl two[] = {
	{"extract_text", ROLE_NONE, 0},
	{"analyze_text", ROLE_TEXT, 1},
};

static int64_t add(store *st, const char *path, const char *sha)
{
	struct doc_input in = {.path = path, .sha256 = sha, .mime = "text/plain", .kind = "text", .bytes = 10, .mtime = 1};
	int64_t id;
	struct err e = {0};
	assert_int_equal(store_doc_insert(st, &in, two, 2, &id, &e), 0);
	return id;
}

static void a_step_is_ready_only_when_its_dependencies_are_done(void **state)
{
	store *st;
	struct err e = {0};
	assert_int_equal(store_open(db, &st, &e), 0);
	int64_t id = add(st, "/x/a.txt", "aa");
	struct claim_filter text = {.role_mask = 1u << ROLE_TEXT, .prefer_role = -1};
	struct claim_filter cpu = {.role_mask = 1u << ROLE_NONE, .prefer_role = -1};
	struct step_rec s;
	assert_int_equal(store_step_claim(st, &text, &s, &e), DOSSIER_ENOTFOUND);
	assert_int_equal(store_step_claim(st, &cpu, &s, &e), 0);
	assert_string_equal(s.kind, "extract_text");
	assert_int_equal(s.document_id, id);
	assert_int_equal(s.attempts, 1);
	/* a second claim of the same role finds nothing: it is running */
	struct step_rec s2;
	assert_int_equal(store_step_claim(st, &cpu, &s2, &e), DOSSIER_ENOTFOUND);
	assert_int_equal(store_step_done(st, s.id, "{\"text\":\"hi\"}", &e), 0);
	step_rec_clear(&s);
	assert_int_equal(store_step_claim(st, &text, &s, &e), 0);
	assert_string_equal(s.kind, "analyze_text");
	step_rec_clear(&s);
	store_close(st);
}

static void two_connections_never_claim_the_same_step(void **state)
{
	store *a, *b;
	struct err e = {0};
	assert_int_equal(store_open(db, &a, &e), 0);
	assert_int_equal(store_open(db, &b, &e), 0);
	for (int i = 0; i < 20; i++) {
		char p[32], h[8];
		snprintf(p, sizeof p, "/x/%02d.txt", i);
		snprintf(h, sizeof h, "h%02d", i);
		add(a, p, h);
	}
	struct claim_filter cpu = {.role_mask = 1u << ROLE_NONE, .prefer_role = -1};
	int64_t seen[20];
	int n = 0;
	for (;;) {
		struct step_rec s;
		int ra = store_step_claim(n % 2 ? a : b, &cpu, &s, &e);
		if (ra == DOSSIER_ENOTFOUND)
			break;
		assert_int_equal(ra, 0);
		for (int i = 0; i < n; i++)
			assert_true(seen[i] != s.id);
		seen[n++] = s.id;
		step_rec_clear(&s);
	}
	assert_int_equal(n, 20);
	store_close(a);
	store_close(b);
}

static void a_failed_step_is_retried_then_fails_and_skips_its_dependents(void **state)
{
	store *st;
	struct err e = {0};
	store_open(db, &st, &e);
	int64_t id = add(st, "/x/a.txt", "aa");
	struct claim_filter cpu = {.role_mask = 1u << ROLE_NONE, .prefer_role = -1};
	struct step_rec s;
	int failed = -1;
	for (int attempt = 1; attempt <= 3; attempt++) {
		assert_int_equal(store_step_claim(st, &cpu, &s, &e), 0);
		assert_int_equal(s.attempts, attempt);
		assert_int_equal(store_step_fail(st, s.id, "stream cut", 1, 3, &failed, &e), 0);
		assert_int_equal(failed, attempt == 3);
		step_rec_clear(&s);
	}
	struct step_rec *v;
	size_t n;
	assert_int_equal(store_doc_steps(st, id, &v, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].state, STEP_FAILED);
	assert_string_equal(v[0].last_error, "stream cut");
	assert_int_equal(v[1].state, STEP_SKIPPED);
	step_recs_free(v, n);
	int won = 0;
	assert_int_equal(store_doc_try_finish(st, id, &won, &e), 0);
	assert_int_equal(won, 1);
	assert_int_equal(store_doc_try_finish(st, id, &won, &e), 0);
	assert_int_equal(won, 0); /* exactly one finisher */
	store_close(st);
}

static void steps_of_a_dead_process_are_recovered(void **state)
{
	store *st;
	struct err e = {0};
	store_open(db, &st, &e);
	add(st, "/x/a.txt", "aa");
	struct claim_filter cpu = {.role_mask = 1u << ROLE_NONE, .prefer_role = -1};
	struct step_rec s;
	assert_int_equal(store_step_claim(st, &cpu, &s, &e), 0);
	step_rec_clear(&s);
	/* the claim names this process; a new run in this process sees it as orphaned */
	int n = 0;
	assert_int_equal(store_recover(st, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_step_claim(st, &cpu, &s, &e), 0);
	assert_int_equal(s.attempts, 1); /* the interrupted attempt is not counted */
	step_rec_clear(&s);
	store_close(st);
}

static void grouped_claims_prefer_the_resident_model_and_sequential_the_oldest(void **state)
{
	store *st;
	struct err e = {0};
	store_open(db, &st, &e);
	static const struct step_decl img[] = {{"describe_image", ROLE_VISION, 0}};
	static const struct step_decl txt[] = {{"analyze_text", ROLE_TEXT, 0}};
	struct doc_input in = {.path = "/x/1.png", .sha256 = "1", .mime = "image/png", .kind = "image"};
	int64_t id;
	assert_int_equal(store_doc_insert(st, &in, img, 1, &id, &e), 0);
	in.path = "/x/2.txt", in.sha256 = "2", in.kind = "text";
	assert_int_equal(store_doc_insert(st, &in, txt, 1, &id, &e), 0);
	unsigned models = (1u << ROLE_TEXT) | (1u << ROLE_VISION);
	struct claim_filter grouped = {.role_mask = models, .prefer_role = ROLE_TEXT};
	struct step_rec s;
	assert_int_equal(store_step_claim(st, &grouped, &s, &e), 0);
	assert_string_equal(s.kind, "analyze_text"); /* affinity beats document order */
	store_step_defer(st, s.id, "test", &e);
	step_rec_clear(&s);
	struct claim_filter seq = {.role_mask = models, .prefer_role = ROLE_TEXT, .document_order = 1};
	assert_int_equal(store_step_claim(st, &seq, &s, &e), 0);
	assert_string_equal(s.kind, "describe_image"); /* the oldest document first */
	step_rec_clear(&s);
	store_close(st);
}

static void upcoming_work_counts_only_what_the_callers_preparing_roles_will_unblock(void **state)
{
	store *st;
	struct err e = {0};
	store_open(db, &st, &e);
	add(st, "/x/a.txt", "aa"); /* extract_text (none) -> analyze_text (text) */
	unsigned n = 99;
	assert_int_equal(store_steps_upcoming(st, ROLE_TEXT, 1u << ROLE_NONE, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_steps_upcoming(st, ROLE_TEXT, 1u << ROLE_ASR, &n, &e), 0);
	assert_int_equal(n, 0); /* its dependency is not in a preparing lane */
	assert_int_equal(store_steps_upcoming(st, ROLE_VISION, 1u << ROLE_NONE, &n, &e), 0);
	assert_int_equal(n, 0);
	store_close(st);
}

static int count(const struct search_hit *h, void *u)
{
	(void)h;
	(*(int *)u)++;
	return 0;
}

static void search_finds_words_and_neutralises_syntax(void **state)
{
	store *st;
	struct err e = {0};
	store_open(db, &st, &e);
	int64_t id = add(st, "/x/a.txt", "aa");
	struct fts_fields f = {.title = "Harbour report", .text = "The pilots were running late \"again\" (AND NOT)"};
	assert_int_equal(store_dossier_put(st, id, "done", "{}", &f, &e), 0);
	int hits = 0;
	assert_int_equal(store_search(st, "run", 10, count, &hits, &e), 0);
	assert_int_equal(hits, 1); /* stemming: run ~ running */
	hits = 0;
	assert_int_equal(store_search(st, "harb*", 10, count, &hits, &e), 0);
	assert_int_equal(hits, 1);
	hits = 0;
	assert_int_equal(store_search(st, "\"again\" AND (NOT", 10, count, &hits, &e), 0);
	assert_int_equal(hits, 1);
	hits = 0;
	assert_int_equal(store_search(st, "lighthouse", 10, count, &hits, &e), 0);
	assert_int_equal(hits, 0);
	store_close(st);
}

static void event_numbers_reserved_by_two_connections_never_overlap(void **state)
{
	store *a, *b;
	struct err e = {0};
	store_open(db, &a, &e);
	store_open(db, &b, &e);
	uint64_t fa, fb, fc;
	assert_int_equal(store_event_reserve(a, 100, &fa, &e), 0);
	assert_int_equal(store_event_reserve(b, 100, &fb, &e), 0);
	assert_true(fb >= fa + 100);
	/* events written past the reservations push the next block beyond them */
	assert_int_equal(store_event_put(a, fb + 500, "x", 0, "{}", &e), 0);
	assert_int_equal(store_event_reserve(a, 100, &fc, &e), 0);
	assert_true(fc > fb + 500);
	store_close(a);
	store_close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_step_is_ready_only_when_its_dependencies_are_done, setup, teardown),
		cmocka_unit_test_setup_teardown(two_connections_never_claim_the_same_step, setup, teardown),
		cmocka_unit_test_setup_teardown(a_failed_step_is_retried_then_fails_and_skips_its_dependents, setup, teardown),
		cmocka_unit_test_setup_teardown(steps_of_a_dead_process_are_recovered, setup, teardown),
		cmocka_unit_test_setup_teardown(grouped_claims_prefer_the_resident_model_and_sequential_the_oldest, setup, teardown),
		cmocka_unit_test_setup_teardown(upcoming_work_counts_only_what_the_callers_preparing_roles_will_unblock, setup, teardown),
		cmocka_unit_test_setup_teardown(search_finds_words_and_neutralises_syntax, setup, teardown),
		cmocka_unit_test_setup_teardown(event_numbers_reserved_by_two_connections_never_overlap, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
