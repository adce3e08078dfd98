/* test_store_queue.c — the durable queue: readiness by dependencies, atomic
 * claims across connections, retries with a time, deferrals, skips, leases
 * (expiry, a killed process, a late result refused), events committed with a
 * result across a kill, affinity and document order, search.
 * (Ingest outcomes: test_pipeline_ingest_decide.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "store/store.h"

#define STORE_FIXTURE_NAME "queue"
#include "store_fixture.h"

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

/* A lease for holder `name` on st, ttl_s long. */
static const char *lease(store *st, const char *name, double ttl_s)
{
	struct err e = {0};
	assert_int_equal(store_lease_acquire(st, name, ttl_s, NULL, 0, &e), 0);
	return name;
}

static void sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	nanosleep(&ts, NULL);
}

static int count_events(uint64_t seq, const char *json, void *user)
{
	(void)seq;
	(void)json;
	(*(int *)user)++;
	return 0;
}

static void a_step_is_ready_only_when_its_dependencies_are_done(void **state)
{
	store *st;
	struct err e = {0};
	assert_int_equal(store_open(db, &st, &e), 0);
	int64_t id = add(st, "/x/a.txt", "aa");
	const char *h = lease(st, "w1", 30);
	struct claim_filter text = {.role_mask = 1u << ROLE_TEXT, .prefer_role = -1, .holder = h};
	struct claim_filter cpu = {.role_mask = 1u << ROLE_NONE, .prefer_role = -1, .holder = h};
	struct step_rec s;
	assert_int_equal(store_step_claim(st, &text, NULL, 0, &s, &e), DOSSIER_ENOTFOUND);
	assert_int_equal(store_step_claim(st, &cpu, NULL, 0, &s, &e), 0);
	assert_string_equal(s.kind, "extract_text");
	assert_int_equal(s.document_id, id);
	assert_int_equal(s.attempts, 1);
	/* a second claim of the same role finds nothing: it is running */
	struct step_rec s2;
	assert_int_equal(store_step_claim(st, &cpu, NULL, 0, &s2, &e), DOSSIER_ENOTFOUND);
	assert_int_equal(store_step_done(st, s.id, h, "{\"text\":\"hi\"}", NULL, 0, &e), 0);
	step_rec_clear(&s);
	assert_int_equal(store_step_claim(st, &text, NULL, 0, &s, &e), 0);
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
	struct claim_filter ca = {.role_mask = 1u << ROLE_NONE, .prefer_role = -1, .holder = lease(a, "a", 30)};
	struct claim_filter cb = {.role_mask = 1u << ROLE_NONE, .prefer_role = -1, .holder = lease(b, "b", 30)};
	int64_t seen[20];
	int n = 0;
	for (;;) {
		struct step_rec s;
		int ra = n % 2 ? store_step_claim(a, &ca, NULL, 0, &s, &e) : store_step_claim(b, &cb, NULL, 0, &s, &e);
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

static void a_failed_step_skips_its_dependents_and_one_finisher_wins(void **state)
{
	store *st;
	struct err e = {0};
	store_open(db, &st, &e);
	int64_t id = add(st, "/x/a.txt", "aa");
	struct claim_filter cpu = {.role_mask = 1u << ROLE_NONE, .prefer_role = -1, .holder = lease(st, "w", 30)};
	struct step_rec s;
	for (int attempt = 1; attempt <= 2; attempt++) {
		assert_int_equal(store_step_claim(st, &cpu, NULL, 0, &s, &e), 0);
		assert_int_equal(s.attempts, attempt); /* a retry counts the attempt */
		if (attempt == 1)
			assert_int_equal(store_step_retry(st, s.id, "w", "stream cut", 0, NULL, 0, &e), 0);
		else
			assert_int_equal(store_step_fail(st, s.id, "w", "model not found", NULL, 0, &e), 0);
		step_rec_clear(&s);
	}
	struct step_rec *v;
	size_t n;
	assert_int_equal(store_doc_steps(st, id, &v, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].state, STEP_FAILED);
	assert_string_equal(v[0].last_error, "model not found");
	assert_int_equal(v[1].state, STEP_SKIPPED);
	step_recs_free(v, n);
	int won = 0;
	assert_int_equal(store_doc_try_finish(st, id, &won, &e), 0);
	assert_int_equal(won, 1);
	assert_int_equal(store_doc_try_finish(st, id, &won, &e), 0);
	assert_int_equal(won, 0); /* exactly one finisher */
	store_close(st);
}

static void a_retry_waits_for_its_time_and_pending_says_until_when(void **state)
{
	store *st;
	struct err e = {0};
	store_open(db, &st, &e);
	int64_t id = add(st, "/x/a.txt", "aa");
	const char *h = lease(st, "w", 30);
	struct claim_filter cpu = {.role_mask = 1u << ROLE_NONE, .prefer_role = -1, .holder = h};
	struct step_rec s;
	assert_int_equal(store_step_claim(st, &cpu, NULL, 0, &s, &e), 0);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	double at = (double)now.tv_sec + now.tv_nsec / 1e9 + 0.4;
	assert_int_equal(store_step_retry(st, s.id, h, "HTTP 500", at, NULL, 0, &e), 0);
	step_rec_clear(&s);
	struct steps_pending p;
	assert_int_equal(store_steps_pending(st, h, &p, &e), 0);
	assert_int_equal(p.delayed[ROLE_NONE], 1);
	assert_int_equal(p.ready[ROLE_NONE], 0);
	assert_true(p.next_at > at - 0.01 && p.next_at < at + 0.01);
	double when = 0;
	char *why = NULL;
	assert_int_equal(store_doc_next_attempt(st, id, &when, &why, &e), 0);
	assert_true(when > at - 0.01 && when < at + 0.01);
	assert_string_equal(why, "HTTP 500");
	free(why);
	assert_int_equal(store_step_claim(st, &cpu, NULL, 0, &s, &e), DOSSIER_ENOTFOUND); /* not yet */
	sleep_s(0.5);
	assert_int_equal(store_step_claim(st, &cpu, NULL, 0, &s, &e), 0);
	assert_int_equal(s.attempts, 2);
	step_rec_clear(&s);
	store_close(st);
}

static void a_deferred_step_waits_for_another_run_with_a_full_set_of_tries(void **state)
{
	store *st;
	struct err e = {0};
	store_open(db, &st, &e);
	add(st, "/x/a.txt", "aa");
	struct claim_filter run1 = {.role_mask = 1u << ROLE_NONE, .prefer_role = -1, .holder = lease(st, "run1", 30)};
	struct claim_filter run2 = {.role_mask = 1u << ROLE_NONE, .prefer_role = -1, .holder = lease(st, "run2", 30)};
	struct step_rec s;
	assert_int_equal(store_step_claim(st, &run1, NULL, 0, &s, &e), 0);
	assert_int_equal(store_step_retry(st, s.id, "run1", "timeout", 0, NULL, 0, &e), 0);
	step_rec_clear(&s);
	assert_int_equal(store_step_claim(st, &run1, NULL, 0, &s, &e), 0);
	assert_int_equal(s.attempts, 2);
	assert_int_equal(store_step_defer(st, s.id, "run1", "timeout (will be retried on the next run)", 0, NULL, 0, &e), 0);
	step_rec_clear(&s);
	struct steps_pending p;
	assert_int_equal(store_steps_pending(st, "run1", &p, &e), 0);
	assert_int_equal(p.deferred, 1);
	assert_int_equal(p.ready[ROLE_NONE], 0);
	assert_int_equal(store_step_claim(st, &run1, NULL, 0, &s, &e), DOSSIER_ENOTFOUND);
	assert_int_equal(store_step_claim(st, &run2, NULL, 0, &s, &e), 0);
	assert_int_equal(s.attempts, 1); /* the deferral reset the count */
	step_rec_clear(&s);
	store_close(st);
}

static void steps_of_a_killed_process_on_this_host_are_recovered_at_once(void **state)
{
	store *st;
	struct err e = {0};
	store_open(db, &st, &e);
	add(st, "/x/a.txt", "aa");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		store *c;
		char h[STORE_HOLDER_MAX];
		struct step_rec s;
		if (store_open(db, &c, NULL) || store_lease_acquire(c, NULL, 30, h, sizeof h, NULL))
			_exit(2);
		struct claim_filter cpu = {.role_mask = 1u << ROLE_NONE, .prefer_role = -1, .holder = h};
		_exit(store_step_claim(c, &cpu, NULL, 0, &s, NULL) ? 3 : 0); /* dies holding the step */
	}
	int status = 0;
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* the child's 30 s lease has not expired, but its pid is gone */
	int n = 0;
	assert_int_equal(store_recover(st, &n, &e), 0);
	assert_int_equal(n, 1);
	struct claim_filter cpu = {.role_mask = 1u << ROLE_NONE, .prefer_role = -1, .holder = lease(st, "next", 30)};
	struct step_rec s;
	assert_int_equal(store_step_claim(st, &cpu, NULL, 0, &s, &e), 0);
	assert_int_equal(s.attempts, 1); /* the interrupted attempt is not counted */
	step_rec_clear(&s);
	store_close(st);
}

static void a_worker_whose_lease_expired_cannot_overwrite_the_new_holders_result(void **state)
{
	store *a, *b;
	struct err e = {0};
	assert_int_equal(store_open(db, &a, &e), 0);
	assert_int_equal(store_open(db, &b, &e), 0);
	int64_t id = add(a, "/x/a.txt", "aa");
	struct claim_filter fa = {.role_mask = 1u << ROLE_NONE, .prefer_role = -1, .holder = lease(a, "A", 0.3)};
	struct claim_filter fb = {.role_mask = 1u << ROLE_NONE, .prefer_role = -1, .holder = lease(b, "B", 30)};
	struct step_rec sa, sb;
	assert_int_equal(store_step_claim(a, &fa, NULL, 0, &sa, &e), 0);
	/* A is alive (same process) but stops heartbeating: only expiry frees the step */
	int n = 0;
	assert_int_equal(store_recover(b, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_step_claim(b, &fb, NULL, 0, &sb, &e), DOSSIER_ENOTFOUND);
	sleep_s(0.4);
	assert_int_equal(store_recover(b, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_step_claim(b, &fb, NULL, 0, &sb, &e), 0);
	assert_int_equal(sb.id, sa.id);
	assert_int_equal(store_step_done(b, sb.id, "B", "{\"by\":\"B\"}", NULL, 0, &e), 0);
	/* A's late result is refused and writes nothing, not even its event */
	struct store_event late = {987654, "step_finished", id, "{\"late\":true}"};
	e.code = 0;
	assert_int_equal(store_step_done(a, sa.id, "A", "{\"by\":\"A\"}", &late, 1, &e), DOSSIER_ESTALE);
	assert_int_equal(e.code, DOSSIER_ESTALE);
	assert_int_equal(store_lease_heartbeat(a, "A", 30, &e), DOSSIER_ESTALE); /* A learns it lost its lease */
	assert_int_equal(store_step_claim(a, &fa, NULL, 0, &sa, &e), DOSSIER_ESTALE);
	struct step_rec *v;
	size_t k;
	assert_int_equal(store_doc_steps(a, id, &v, &k, &e), 0);
	assert_int_equal(v[0].state, STEP_DONE);
	assert_string_equal(v[0].result, "{\"by\":\"B\"}");
	step_recs_free(v, k);
	int seen = 0;
	assert_int_equal(store_events_since(a, 987653, 0, count_events, &seen, &e), 0);
	assert_int_equal(seen, 0);
	step_rec_clear(&sa);
	step_rec_clear(&sb);
	store_close(a);
	store_close(b);
}

static void a_released_lease_gives_its_running_steps_back(void **state)
{
	store *st;
	struct err e = {0};
	store_open(db, &st, &e);
	add(st, "/x/a.txt", "aa");
	struct claim_filter cpu = {.role_mask = 1u << ROLE_NONE, .prefer_role = -1, .holder = lease(st, "w", 30)};
	struct step_rec s;
	assert_int_equal(store_step_claim(st, &cpu, NULL, 0, &s, &e), 0);
	step_rec_clear(&s);
	int n = 0;
	assert_int_equal(store_lease_release(st, "w", &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_step_claim(st, &cpu, NULL, 0, &s, &e), DOSSIER_ESTALE); /* no lease any more */
	cpu.holder = lease(st, "w2", 30);
	assert_int_equal(store_step_claim(st, &cpu, NULL, 0, &s, &e), 0);
	assert_int_equal(s.attempts, 1);
	step_rec_clear(&s);
	store_close(st);
}

static void an_event_stored_with_a_result_survives_a_kill_right_after_commit(void **state)
{
	store *st;
	struct err e = {0};
	store_open(db, &st, &e);
	int64_t id = add(st, "/x/a.txt", "aa");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		store *c;
		struct step_rec s;
		if (store_open(db, &c, NULL) || store_lease_acquire(c, "child", 30, NULL, 0, NULL))
			_exit(2);
		struct claim_filter cpu = {.role_mask = 1u << ROLE_NONE, .prefer_role = -1, .holder = "child"};
		if (store_step_claim(c, &cpu, NULL, 0, &s, NULL))
			_exit(3);
		struct store_event ev = {424242, "step_finished", s.document_id, "{\"seq\":424242,\"ok\":true}"};
		if (store_step_done(c, s.id, "child", "{}", &ev, 1, NULL))
			_exit(4);
		kill(getpid(), SIGKILL); /* no close, no checkpoint */
		_exit(5);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	assert_true(WIFSIGNALED(status));
	int seen = 0;
	assert_int_equal(store_events_since(st, 424241, 0, count_events, &seen, &e), 0);
	assert_int_equal(seen, 1);
	struct step_rec *v;
	size_t k;
	assert_int_equal(store_doc_steps(st, id, &v, &k, &e), 0);
	assert_int_equal(v[0].state, STEP_DONE);
	step_recs_free(v, k);
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
	const char *h = lease(st, "w", 30);
	struct claim_filter grouped = {.role_mask = models, .prefer_role = ROLE_TEXT, .holder = h};
	struct step_rec s;
	assert_int_equal(store_step_claim(st, &grouped, NULL, 0, &s, &e), 0);
	assert_string_equal(s.kind, "analyze_text"); /* affinity beats document order */
	assert_int_equal(store_step_defer(st, s.id, h, "test", 0, NULL, 0, &e), 0);
	step_rec_clear(&s);
	struct claim_filter seq = {.role_mask = models, .prefer_role = ROLE_TEXT, .document_order = 1, .holder = h};
	assert_int_equal(store_step_claim(st, &seq, NULL, 0, &s, &e), 0);
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
	assert_int_equal(store_dossier_put(st, id, "done", NULL, "{}", &f, NULL, 0, &e), 0);
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

static int inner_tx(store *st, void *user)
{
	(void)st;
	return user ? *(int *)user : 0;
}

static int nested_tx(store *st, void *user)
{
	/* a transaction inside a transaction is a savepoint: it reports its
	 * fn's refusal as a code, without an err to write into (a NULL err used
	 * to be dereferenced), and leaves the outer one open */
	int *r = user, refuse = DOSSIER_EINVAL;
	r[0] = store_tx(st, inner_tx, NULL, NULL);
	r[1] = store_tx(st, inner_tx, &refuse, NULL);
	return 0;
}

static void a_transaction_that_cannot_begin_reports_it_without_an_err(void **state)
{
	store *st;
	struct err e = {0};
	assert_int_equal(store_open(db, &st, &e), 0);
	int inner[2] = {-1, -1};
	assert_int_equal(store_tx(st, nested_tx, inner, NULL), 0);
	assert_int_equal(inner[0], 0);
	assert_int_equal(inner[1], DOSSIER_EINVAL);
	/* and every state change with a NULL err reports its refusal as a code */
	assert_int_equal(store_step_done(st, 12345, "nobody", "{}", NULL, 0, NULL), DOSSIER_ESTALE);
	assert_int_equal(store_lease_heartbeat(st, "nobody", 30, NULL), DOSSIER_ESTALE);
	struct claim_filter f = {.role_mask = 1u << ROLE_NONE, .prefer_role = -1, .holder = "nobody"};
	struct step_rec s;
	assert_int_equal(store_step_claim(st, &f, NULL, 0, &s, NULL), DOSSIER_ESTALE);
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_step_is_ready_only_when_its_dependencies_are_done, setup, teardown),
		cmocka_unit_test_setup_teardown(two_connections_never_claim_the_same_step, setup, teardown),
		cmocka_unit_test_setup_teardown(a_failed_step_skips_its_dependents_and_one_finisher_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(a_retry_waits_for_its_time_and_pending_says_until_when, setup, teardown),
		cmocka_unit_test_setup_teardown(a_deferred_step_waits_for_another_run_with_a_full_set_of_tries, setup, teardown),
		cmocka_unit_test_setup_teardown(steps_of_a_killed_process_on_this_host_are_recovered_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(a_worker_whose_lease_expired_cannot_overwrite_the_new_holders_result, setup, teardown),
		cmocka_unit_test_setup_teardown(a_released_lease_gives_its_running_steps_back, setup, teardown),
		cmocka_unit_test_setup_teardown(an_event_stored_with_a_result_survives_a_kill_right_after_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(grouped_claims_prefer_the_resident_model_and_sequential_the_oldest, setup, teardown),
		cmocka_unit_test_setup_teardown(upcoming_work_counts_only_what_the_callers_preparing_roles_will_unblock, setup, teardown),
		cmocka_unit_test_setup_teardown(search_finds_words_and_neutralises_syntax, setup, teardown),
		cmocka_unit_test_setup_teardown(a_transaction_that_cannot_begin_reports_it_without_an_err, setup, teardown),
		cmocka_unit_test_setup_teardown(event_numbers_reserved_by_two_connections_never_overlap, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
