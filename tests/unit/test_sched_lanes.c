/* test_sched_lanes.c — the scheduler with a fake runner: it runs steps it
 * knows nothing about, in lanes by role; the model lane groups steps by model
 * (affinity), waits for steps still being prepared on cpu lanes instead of
 * swapping away and back, and bounds how long one model's documents may wait
 * (fairness); sequential takes documents in order; a step that fails fails
 * only its document; every document is finished exactly once.
 * ctest: slow */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backends/llm.h"
#include "core/config.h"
#include "core/err.h"
#include "core/event.h"
#include "sched/residency.h"
#include "sched/runner.h"
#include "sched/sched.h"
#include "store/store.h"

#include <sqlite3.h>

/* ------------------------------------------------------- a fake LLM engine */

/* Only what residency needs: what is loaded, loads and unloads, ps. */
struct engine {
	pthread_mutex_t mu;
	char loaded[4][64];
	int n_loaded, loads, unloads;
};

static int e_load(void *ctx, const char *model, int num_ctx, int64_t ka, double *load_s, struct err *err)
{
	struct engine *g = ctx;
	pthread_mutex_lock(&g->mu);
	int have = 0;
	for (int i = 0; i < g->n_loaded; i++)
		have |= !strcmp(g->loaded[i], model);
	if (!have && g->n_loaded < 4) {
		snprintf(g->loaded[g->n_loaded++], sizeof g->loaded[0], "%s", model);
		g->loads++;
	}
	pthread_mutex_unlock(&g->mu);
	if (load_s)
		*load_s = 0.001;
	return 0;
}

static int e_unload(void *ctx, const char *model, struct err *err)
{
	struct engine *g = ctx;
	pthread_mutex_lock(&g->mu);
	for (int i = 0; i < g->n_loaded; i++)
		if (!strcmp(g->loaded[i], model)) {
			memmove(g->loaded[i], g->loaded[i + 1], (size_t)(g->n_loaded - i - 1) * sizeof g->loaded[0]);
			g->n_loaded--;
			g->unloads++;
			break;
		}
	pthread_mutex_unlock(&g->mu);
	return 0;
}

static int e_ps(void *ctx, struct llm_resident **out, size_t *n, struct err *err)
{
	struct engine *g = ctx;
	pthread_mutex_lock(&g->mu);
	struct llm_resident *v = calloc((size_t)g->n_loaded + 1, sizeof *v);
	for (int i = 0; i < g->n_loaded; i++) {
		snprintf(v[i].name, sizeof v[i].name, "%s", g->loaded[i]);
		v[i].size_bytes = 1000000;
	}
	*n = (size_t)g->n_loaded;
	pthread_mutex_unlock(&g->mu);
	*out = v;
	return 0;
}

static int e_show(void *ctx, const char *model, struct llm_model_info *out, struct err *err)
{
	memset(out, 0, sizeof *out);
	snprintf(out->name, sizeof out->name, "%s", model);
	out->size_bytes = 1000000;
	out->completion = 1;
	out->vision = strstr(model, "vision") != NULL;
	return 0;
}

static int e_chat(void *ctx, const struct llm_request *rq, char **text, struct llm_metrics *m, struct err *err)
{
	return err_set(err, DOSSIER_EINVAL, "the scheduler never chats");
}

static int e_ping(void *ctx, char *version, size_t n, struct err *err)
{
	snprintf(version, n, "fake");
	return 0;
}

static void e_close(void *ctx)
{
}

static const struct llm_backend_ops fake_ops = {
	.name = "fake", .chat = e_chat, .load = e_load, .unload = e_unload,
	.ps = e_ps, .show = e_show, .ping = e_ping, .close = e_close,
};

/* ------------------------------------------------------------ a fake runner */

#define MAX_LOG 256

struct runner_log {
	pthread_mutex_t mu;
	int n;
	int64_t doc[MAX_LOG];       /* document of each model-lane step, in run order */
	enum model_role role[MAX_LOG];
	char lane[MAX_LOG][8];
	int finished[64];           /* finish_document calls per document id */
	enum doc_outcome outcome[64];
	int lanes_made, lanes_freed;
	int prep_ms;                /* how long a cpu step of a "slow" document takes */
	int64_t slow_doc;           /* that document (0 = none) */
	int64_t fail_doc;           /* its first step fails for good (0 = none) */
	int64_t steal_doc;          /* while its first step runs, another worker takes it over */
	int stolen;                 /* the takeover happened (once) */
	int64_t unfinishable_doc;   /* finish_document fails for it while this is set */
	const char *db;             /* the database, for the takeover */
	int ticks_in_batch;         /* "tick" steps (instant) run inside a lane's batch */
	int ticks_alone;            /* ... and outside one */
	int64_t tick_fail_doc;      /* its tick fails once (0 = none) */
	int tick_failed;
};

struct lane_ctx {
	struct runner_log *log;
	char name[8];
};

static int r_lane_new(void *user, const char *name, unsigned role_mask, void **ctx, struct err *err)
{
	struct runner_log *g = user;
	struct lane_ctx *l = calloc(1, sizeof *l);
	l->log = g;
	snprintf(l->name, sizeof l->name, "%s", name);
	pthread_mutex_lock(&g->mu);
	g->lanes_made++;
	pthread_mutex_unlock(&g->mu);
	*ctx = l;
	return 0;
}

static void r_lane_free(void *user, void *ctx)
{
	struct runner_log *g = user;
	pthread_mutex_lock(&g->mu);
	g->lanes_freed++;
	pthread_mutex_unlock(&g->mu);
	free(ctx);
}

static int r_run_step(void *ctx, store *st, const struct step_rec *step, char **result, struct err *err)
{
	struct lane_ctx *l = ctx;
	struct runner_log *g = l->log;
	if (step->document_id == g->fail_doc && step->idx == 0)
		return err_set(err, DOSSIER_EFORMAT, "document %lld: this file is broken", (long long)step->document_id);
	if (step->document_id == g->steal_doc && step->idx == 0 && !g->stolen++) {
		/* another worker's recovery gave the step to itself (our lease had
		 * expired, say): our result must not be stored or announced */
		sqlite3 *db;
		assert_int_equal(sqlite3_open(g->db, &db), SQLITE_OK);
		sqlite3_busy_timeout(db, 5000);
		char sql[160];
		snprintf(sql, sizeof sql, "UPDATE steps SET holder = 'otherhost:1:1' WHERE id = %lld", (long long)step->id);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
	}
	if (step->role == ROLE_NONE && step->document_id == g->slow_doc)
		usleep((useconds_t)g->prep_ms * 1000);
	if (!strcmp(step->kind, "tick")) {
		pthread_mutex_lock(&g->mu);
		int in_batch = store_in_batch(st);
		g->ticks_in_batch += in_batch;
		g->ticks_alone += !in_batch;
		int fail = step->document_id == g->tick_fail_doc && !g->tick_failed++;
		pthread_mutex_unlock(&g->mu);
		if (fail)
			return err_set(err, DOSSIER_EAGAIN, "document %lld: not now", (long long)step->document_id);
	}
	pthread_mutex_lock(&g->mu);
	if (step->role == ROLE_TEXT || step->role == ROLE_VISION) {
		if (g->n < MAX_LOG) {
			g->doc[g->n] = step->document_id;
			g->role[g->n] = step->role;
			snprintf(g->lane[g->n], sizeof g->lane[0], "%s", l->name);
			g->n++;
		}
	}
	pthread_mutex_unlock(&g->mu);
	char buf[64];
	snprintf(buf, sizeof buf, "{\"by\":\"%s\"}", l->name);
	*result = strdup(buf);
	return 0;
}

static int r_finish(void *user, store *st, int64_t doc_id, enum doc_outcome *outcome, struct err *err)
{
	struct runner_log *g = user;
	if (doc_id == g->unfinishable_doc)
		return err_set(err, DOSSIER_EIO, "document %lld: the dossier could not be written", (long long)doc_id);
	struct step_rec *steps = NULL;
	size_t n = 0;
	int rc = store_doc_steps(st, doc_id, &steps, &n, err);
	if (rc)
		return rc;
	int bad = 0;
	for (size_t i = 0; i < n; i++)
		bad += steps[i].state != STEP_DONE;
	step_recs_free(steps, n);
	*outcome = bad ? DOC_OUTCOME_FAILED : DOC_OUTCOME_DONE;
	pthread_mutex_lock(&g->mu);
	if (doc_id > 0 && doc_id < 64) {
		g->finished[doc_id]++;
		g->outcome[doc_id] = *outcome;
	}
	pthread_mutex_unlock(&g->mu);
	return store_dossier_put(st, doc_id, bad ? "failed" : "done", NULL, "{}", NULL, NULL, 0, err);
}

/* "tick" is an instant step: it may run inside the transaction that claims it */
static int r_instant(void *user, const struct step_rec *step)
{
	(void)user;
	return !strcmp(step->kind, "tick");
}

static const struct sched_runner_ops runner_ops = {
	.lane_new = r_lane_new, .lane_free = r_lane_free, .run_step = r_run_step, .finish_document = r_finish,
	.step_instant = r_instant,
};

/* --------------------------------------------------------------- fixtures */

struct fixture {
	char db[512];
	struct config cfg;
	store *st;
	bus *bus;
	struct engine engine;
	llm_backend *llm;
	residency *res;
	struct runner_log log;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	const char *tmp = getenv("TMPDIR");
	snprintf(f->db, sizeof f->db, "%s/lanes-%d-%p.db", tmp && *tmp ? tmp : "/tmp", (int)getpid(), (void *)f);
	unlink(f->db);
	config_defaults(&f->cfg, "dev");
	snprintf(f->cfg.db_path, sizeof f->cfg.db_path, "%s", f->db);
	snprintf(f->cfg.models[ROLE_TEXT].name, sizeof f->cfg.models[ROLE_TEXT].name, "fake-text");
	snprintf(f->cfg.models[ROLE_VISION].name, sizeof f->cfg.models[ROLE_VISION].name, "fake-vision");
	f->cfg.swap_delay_s = 0;
	f->cfg.cpu_lanes = 2;
	f->cfg.budget_bytes = 64ull << 30;
	struct err e = {0};
	assert_int_equal(store_open(f->db, &f->st, &e), 0);
	assert_int_equal(bus_new(1, &f->bus), 0);
	pthread_mutex_init(&f->engine.mu, NULL);
	pthread_mutex_init(&f->log.mu, NULL);
	assert_int_equal(llm_backend_wrap(&fake_ops, &f->engine, "fake://", &f->llm, &e), 0);
	assert_int_equal(residency_new(&f->cfg, f->llm, f->bus, &f->res, &e), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	residency_free(f->res);
	llm_backend_free(f->llm);
	bus_free(f->bus);
	store_close(f->st);
	char p[600];
	unlink(f->db);
	snprintf(p, sizeof p, "%s-wal", f->db);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", f->db);
	unlink(p);
	free(f);
	return 0;
}

static const struct step_decl prep_text[] = {{"prep", ROLE_NONE, 0}, {"think", ROLE_TEXT, 1}};
static const struct step_decl prep_vision[] = {{"prep", ROLE_NONE, 0}, {"look", ROLE_VISION, 1}};
static const struct step_decl only_text[] = {{"think", ROLE_TEXT, 0}};
static const struct step_decl only_vision[] = {{"look", ROLE_VISION, 0}};

static int64_t add_doc(struct fixture *f, const struct step_decl *steps, size_t n)
{
	static int serial;
	char path[64], sha[65];
	snprintf(path, sizeof path, "/fake/doc-%d", ++serial);
	snprintf(sha, sizeof sha, "%064d", serial);
	struct doc_input in = {.path = path, .sha256 = sha, .mime = "x/fake", .kind = "fake", .bytes = 1, .mtime = 1};
	int64_t id = 0;
	struct err e = {0};
	assert_int_equal(store_doc_insert(f->st, &in, steps, n, &id, &e), 0);
	return id;
}

static int run(struct fixture *f, enum policy policy, int offline, struct sched_stats *stats)
{
	f->cfg.policy = policy;
	struct sched_params p = {.cfg = &f->cfg, .bus = f->bus, .runner = {&runner_ops, &f->log},
	                         .res = offline ? NULL : f->res, .offline = offline};
	sched *s = NULL;
	struct err e = {0};
	assert_int_equal(sched_new(&p, &s, &e), 0);
	int rc = sched_run(s, stats, &e);
	sched_free(s);
	return rc;
}

static int switches(const struct runner_log *g)
{
	int n = 0;
	for (int i = 1; i < g->n; i++)
		n += g->role[i] != g->role[i - 1];
	return n;
}

static int longest_run(const struct runner_log *g)
{
	int best = 0, cur = 0;
	for (int i = 0; i < g->n; i++) {
		cur = i && g->role[i] == g->role[i - 1] ? cur + 1 : 1;
		if (cur > best)
			best = cur;
	}
	return best;
}

/* The longest stretch of one role's steps while the other role still had
 * steps to run after it (all steps are queued from the start in these tests). */
static int longest_run_while_other_waits(const struct runner_log *g)
{
	int best = 0;
	for (int i = 0; i < g->n;) {
		int j = i;
		while (j < g->n && g->role[j] == g->role[i])
			j++;
		int other_later = 0;
		for (int k = j; k < g->n; k++)
			other_later |= g->role[k] != g->role[i];
		if (other_later && j - i > best)
			best = j - i;
		i = j;
	}
	return best;
}

/* ------------------------------------------------------------------ tests */

static void test_grouped_runs_each_models_steps_together(void **state)
{
	struct fixture *f = *state;
	int64_t ids[8];
	for (int i = 0; i < 8; i++)
		ids[i] = add_doc(f, i % 2 ? prep_vision : prep_text, 2);
	struct sched_stats st = {0};
	assert_int_equal(run(f, POLICY_GROUPED, 0, &st), 0);
	assert_int_equal(f->log.n, 8);
	assert_int_equal(switches(&f->log), 1); /* text, text, ... then vision, ... */
	for (int i = 0; i < f->log.n; i++)
		assert_string_equal(f->log.lane[i], "model");
	for (int i = 0; i < 8; i++) {
		assert_int_equal(f->log.finished[ids[i]], 1);
		assert_int_equal(f->log.outcome[ids[i]], DOC_OUTCOME_DONE);
	}
	assert_int_equal(st.docs_done, 8);
	assert_int_equal(st.steps_done, 16);
	assert_int_equal(f->log.lanes_made, f->log.lanes_freed);
	assert_int_equal(f->log.lanes_made, 4); /* two cpu lanes, the asr lane, the model lane */
	struct residency_stats rs;
	residency_stats(f->res, &rs);
	assert_int_equal(rs.swaps, 1);
}

static void test_sequential_takes_documents_in_order(void **state)
{
	struct fixture *f = *state;
	for (int i = 0; i < 6; i++)
		add_doc(f, i % 2 ? only_vision : only_text, 1);
	struct sched_stats st = {0};
	assert_int_equal(run(f, POLICY_SEQUENTIAL, 0, &st), 0);
	assert_int_equal(f->log.n, 6);
	for (int i = 1; i < f->log.n; i++)
		assert_true(f->log.doc[i] > f->log.doc[i - 1]);
	assert_int_equal(switches(&f->log), 5); /* the seed's behaviour: a swap per change */
}

static void test_fairness_bounds_how_long_a_model_keeps_the_lane(void **state)
{
	struct fixture *f = *state;
	for (int i = 0; i < 12; i++)
		add_doc(f, only_text, 1);
	for (int i = 0; i < 4; i++)
		add_doc(f, only_vision, 1);
	f->cfg.fairness = 3;
	struct sched_stats st = {0};
	assert_int_equal(run(f, POLICY_GROUPED, 0, &st), 0);
	assert_int_equal(f->log.n, 16);
	/* vision documents waited from the start: text may run `fairness` steps
	 * (plus the one that started the streak) before the lane turns to them */
	assert_true(longest_run_while_other_waits(&f->log) <= 4);
	assert_true(longest_run(&f->log) > 4); /* once nobody waits, no needless swaps */
	int first_vision = -1;
	for (int i = 0; i < f->log.n && first_vision < 0; i++)
		if (f->log.role[i] == ROLE_VISION)
			first_vision = i;
	assert_true(first_vision >= 0 && first_vision <= 4);
}

static void test_affinity_waits_for_steps_being_prepared(void **state)
{
	struct fixture *f = *state;
	int64_t a = add_doc(f, only_text, 1);
	int64_t b = add_doc(f, prep_text, 2);  /* its text step waits on a slow cpu step */
	int64_t c = add_doc(f, only_vision, 1);
	f->log.slow_doc = b;
	f->log.prep_ms = 400;
	struct sched_stats st = {0};
	assert_int_equal(run(f, POLICY_GROUPED, 0, &st), 0);
	assert_int_equal(f->log.n, 3);
	/* a, then b once prepared (not c, which would swap away and back), then c */
	assert_int_equal(f->log.doc[0], a);
	assert_int_equal(f->log.doc[1], b);
	assert_int_equal(f->log.doc[2], c);
	assert_int_equal(switches(&f->log), 1);
}

static void test_a_failing_step_fails_only_its_document(void **state)
{
	struct fixture *f = *state;
	int64_t ok1 = add_doc(f, prep_text, 2);
	int64_t bad = add_doc(f, prep_text, 2);
	int64_t ok2 = add_doc(f, prep_vision, 2);
	f->log.fail_doc = bad;
	struct sched_stats st = {0};
	assert_int_equal(run(f, POLICY_GROUPED, 0, &st), 0);
	assert_int_equal(f->log.outcome[ok1], DOC_OUTCOME_DONE);
	assert_int_equal(f->log.outcome[ok2], DOC_OUTCOME_DONE);
	assert_int_equal(f->log.outcome[bad], DOC_OUTCOME_FAILED);
	assert_int_equal(f->log.finished[bad], 1);
	assert_int_equal(st.steps_failed, 1);
	assert_int_equal(st.docs_failed, 1);
	assert_int_equal(st.docs_done, 2);
	struct step_rec *steps = NULL;
	size_t n = 0;
	struct err e = {0};
	assert_int_equal(store_doc_steps(f->st, bad, &steps, &n, &e), 0);
	assert_int_equal(steps[0].state, STEP_FAILED);
	assert_non_null(strstr(steps[0].last_error, "this file is broken"));
	assert_int_equal(steps[1].state, STEP_SKIPPED); /* never sent to the model */
	step_recs_free(steps, n);
	for (int i = 0; i < f->log.n; i++)
		assert_true(f->log.doc[i] != bad);
}

/* Successful step_finished events of one document's step. */
static int count_ok(bus_sub *sub, int64_t doc, const char *step)
{
	int n = 0;
	struct event *ev;
	char needle[64];
	snprintf(needle, sizeof needle, "\"step\":\"%s\"", step);
	while (bus_sub_next(sub, 0, &ev) == 0) {
		n += !strcmp(ev->name, "step_finished") && ev->document == doc && strstr(ev->line, needle) &&
		     strstr(ev->line, "\"ok\":true");
		event_release(ev);
	}
	return n;
}

static void test_a_result_the_store_refuses_is_never_announced_done(void **state)
{
	struct fixture *f = *state;
	int64_t ok = add_doc(f, prep_text, 2);
	int64_t stolen = add_doc(f, prep_text, 2);
	f->log.steal_doc = stolen;
	f->log.db = f->db;
	bus_sub *sub;
	assert_int_equal(bus_subscribe(f->bus, 4096, &sub), 0);
	struct sched_stats st = {0};
	/* the step taken over belongs to a worker with no lease: the heartbeat's
	 * recovery gives it back and it runs again (within one heartbeat, 10 s) */
	assert_int_equal(run(f, POLICY_GROUPED, 0, &st), 0);
	assert_int_equal(st.steps_unrecorded, 1);
	assert_int_equal(st.steps_done, 4);
	assert_int_equal(f->log.outcome[ok], DOC_OUTCOME_DONE);
	assert_int_equal(f->log.finished[stolen], 1);
	assert_int_equal(f->log.outcome[stolen], DOC_OUTCOME_DONE);
	/* the refused attempt was never announced: one success for the step that ran twice */
	int oks = count_ok(sub, stolen, "prep");
	bus_unsubscribe(sub);
	assert_int_equal(oks, 1);
}

static void test_a_document_that_cannot_be_finished_is_finished_by_the_next_run(void **state)
{
	struct fixture *f = *state;
	int64_t ok = add_doc(f, prep_text, 2);
	int64_t stuck = add_doc(f, prep_text, 2);
	f->log.unfinishable_doc = stuck;
	bus_sub *sub;
	assert_int_equal(bus_subscribe(f->bus, 4096, &sub), 0);
	struct sched_stats st = {0};
	assert_int_equal(run(f, POLICY_GROUPED, 0, &st), 0);
	assert_int_equal(f->log.finished[ok], 1);
	assert_int_equal(f->log.finished[stuck], 0);
	/* the failure is said, with the runner's reason */
	int said = 0;
	struct event *ev;
	while (bus_sub_next(sub, 0, &ev) == 0) {
		said += !strcmp(ev->name, "document_unfinished") && ev->document == stuck &&
		        strstr(ev->line, "could not be written");
		event_release(ev);
	}
	bus_unsubscribe(sub);
	assert_true(said >= 1);
	/* its steps are all done; the next run finishes it without running them again */
	f->log.unfinishable_doc = 0;
	int steps_before = f->log.n;
	assert_int_equal(run(f, POLICY_GROUPED, 0, &st), 0);
	assert_int_equal(f->log.finished[stuck], 1);
	assert_int_equal(f->log.outcome[stuck], DOC_OUTCOME_DONE);
	assert_int_equal(f->log.n, steps_before);
}

static void test_offline_runs_model_roles_on_cpu_lanes(void **state)
{
	struct fixture *f = *state;
	for (int i = 0; i < 4; i++)
		add_doc(f, i % 2 ? prep_vision : prep_text, 2);
	struct sched_stats st = {0};
	assert_int_equal(run(f, POLICY_GROUPED, 1, &st), 0);
	assert_int_equal(f->log.n, 4);
	for (int i = 0; i < f->log.n; i++)
		assert_true(!strncmp(f->log.lane[i], "cpu", 3));
	assert_int_equal(f->log.lanes_made, 3); /* no model lane */
	struct residency_stats rs;
	residency_stats(f->res, &rs);
	assert_int_equal(rs.loads, 0);
	assert_int_equal(st.docs_done, 4);
}

static const struct step_decl prep_tick[] = {{"prep", ROLE_NONE, 0}, {"tick", ROLE_NONE, 1}};

static void test_an_instant_step_runs_in_the_transaction_of_the_step_before(void **state)
{
	struct fixture *f = *state;
	int64_t doc[6];
	for (int i = 0; i < 6; i++)
		doc[i] = add_doc(f, prep_tick, 2);
	f->log.tick_fail_doc = doc[2];
	bus_sub *sub;
	assert_int_equal(bus_subscribe(f->bus, 4096, &sub), 0);
	struct sched_stats st = {0};
	assert_int_equal(run(f, POLICY_GROUPED, 1, &st), 0);
	assert_int_equal(st.steps_done, 12);
	assert_int_equal(st.docs_done, 6);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(f->log.finished[doc[i]], 1);
		assert_int_equal(f->log.outcome[doc[i]], DOC_OUTCOME_DONE);
	}
	/* each tick ran in the batch that recorded its prep (and claimed it); the
	 * one that failed there was left claimed and ran again the usual way */
	assert_int_equal(f->log.ticks_in_batch, 6);
	assert_int_equal(f->log.ticks_alone, 1);
	/* the events say what the database says: started, then finished once */
	int started[64] = {0}, ok[64] = {0}, order_ok = 1;
	struct event *ev;
	while (bus_sub_next(sub, 0, &ev) == 0) {
		int64_t d = ev->document;
		if (d > 0 && d < 64 && strstr(ev->line, "\"step\":\"tick\"")) {
			if (!strcmp(ev->name, "step_started"))
				started[d]++;
			else if (!strcmp(ev->name, "step_finished") && strstr(ev->line, "\"ok\":true")) {
				order_ok &= started[d] > 0;
				ok[d]++;
			}
		}
		event_release(ev);
	}
	bus_unsubscribe(sub);
	assert_true(order_ok);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(ok[doc[i]], 1);
		assert_int_equal(started[doc[i]], 1);
	}
	struct step_rec *steps = NULL;
	size_t n = 0;
	assert_int_equal(store_doc_steps(f->st, doc[2], &steps, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_int_equal(steps[1].state, STEP_DONE);
	assert_int_equal(steps[1].attempts, 1);
	step_recs_free(steps, n);
}

static void test_no_engine_leaves_model_steps_queued(void **state)
{
	struct fixture *f = *state;
	int64_t id = add_doc(f, prep_text, 2);
	struct sched_params p = {.cfg = &f->cfg, .bus = f->bus, .runner = {&runner_ops, &f->log}};
	sched *s = NULL;
	struct err e = {0};
	struct sched_stats st = {0};
	assert_int_equal(sched_new(&p, &s, &e), 0);
	assert_int_equal(sched_run(s, &st, &e), 0);
	sched_free(s);
	assert_int_equal(st.model_lane_down, 1);
	assert_int_equal(f->log.finished[id], 0);
	struct doc_rec d;
	assert_int_equal(store_doc_get(f->st, id, &d, &e), 0);
	assert_string_equal(d.status, "queued");
	doc_rec_clear(&d);
}

static void test_a_scheduler_without_a_runner_is_refused(void **state)
{
	struct fixture *f = *state;
	struct sched_params p = {.cfg = &f->cfg, .bus = f->bus};
	sched *s = NULL;
	struct err e = {0};
	assert_int_equal(sched_new(&p, &s, &e), DOSSIER_EINVAL);
	assert_null(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_grouped_runs_each_models_steps_together, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sequential_takes_documents_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fairness_bounds_how_long_a_model_keeps_the_lane, setup, teardown),
		cmocka_unit_test_setup_teardown(test_affinity_waits_for_steps_being_prepared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_failing_step_fails_only_its_document, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_result_the_store_refuses_is_never_announced_done, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_document_that_cannot_be_finished_is_finished_by_the_next_run, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_offline_runs_model_roles_on_cpu_lanes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_engine_leaves_model_steps_queued, setup, teardown),
		cmocka_unit_test_setup_teardown(test_an_instant_step_runs_in_the_transaction_of_the_step_before, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_a_scheduler_without_a_runner_is_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
