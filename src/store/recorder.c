#include "store/recorder.h"
#include "core/err.h"
#include "core/util.h"
#include "store/store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct recorder {
	bus *bus;
	bus_sub *sub;
	store *st;
	pthread_t thread;
	uint64_t stop_after;   /* seq to drain up to once stopping; 0 = running */
	int stopping;
	pthread_mutex_t mu;
};

#define RECORD_BATCH 64 /* events per commit at most: the lanes' claims wait for no longer */
#define RECORD_GATHER_MS 50 /* how long a batch gathers after its first event */

static void *recorder_main(void *arg)
{
	recorder *r = arg;
	struct event *batch[RECORD_BATCH];
	for (;;) {
		struct event *ev;
		int rc = bus_sub_next(r->sub, 200, &ev);
		if (rc == DOSSIER_ETIMEOUT) {
			pthread_mutex_lock(&r->mu);
			int stop = r->stopping;
			pthread_mutex_unlock(&r->mu);
			if (stop)
				break;
			continue;
		}
		if (rc)
			break;
		/* take what is queued without waiting again (up to RECORD_BATCH), then
		 * write it in one transaction. Never touch the bus while that
		 * transaction holds the write lock: a seq refill holds the bus's lock
		 * while it waits for the write lock. */
		int n = 0;
		batch[n++] = ev;
		/* gather for up to RECORD_GATHER_MS: most events were stored with
		 * their change already (the outbox), and a write transaction per
		 * event would contend with the lanes' for the write lock */
		while (n < RECORD_BATCH && bus_sub_next(r->sub, 0, &ev) == 0)
			batch[n++] = ev;
		if (n < RECORD_BATCH) {
			/* asleep, not waiting on the bus: a wait would be woken (two
			 * context switches) by every event published meanwhile */
			struct timespec ts = {0, RECORD_GATHER_MS * 1000000L};
			nanosleep(&ts, NULL);
			while (n < RECORD_BATCH && bus_sub_next(r->sub, 0, &ev) == 0)
				batch[n++] = ev;
		}
		store_batch_begin(r->st, NULL);
		for (int i = 0; i < n; i++) {
			struct err e = {0};
			store_event_put(r->st, batch[i]->seq, batch[i]->name, batch[i]->document, batch[i]->line, &e);
			if (!strcmp(batch[i]->name, "model_measured")) /* the planner learns from it */
				store_measure_from_event(r->st, batch[i]->line, &e);
		}
		store_batch_commit(r->st, NULL);
		uint64_t seq = batch[n - 1]->seq;
		for (int i = 0; i < n; i++)
			event_release(batch[i]);
		pthread_mutex_lock(&r->mu);
		int stop = r->stopping && seq >= r->stop_after;
		pthread_mutex_unlock(&r->mu);
		if (stop)
			break;
	}
	return NULL;
}

#define EVENT_SEQ_BLOCK 10000
#define REFILL_BUSY_MS 200

static int refill_from_db(void *user, uint64_t *first, uint64_t *count)
{
	store *st;
	struct err e = {0};
	if (store_open(user, &st, &e))
		return e.code;
	/* called under the bus's lock: wait briefly for the write lock, then give
	 * up (the bus tries again with its next event) rather than stall every
	 * thread that publishes, among them the one holding the write lock */
	store_busy_timeout(st, REFILL_BUSY_MS);
	int rc = store_event_reserve(st, EVENT_SEQ_BLOCK, first, &e);
	store_close(st);
	*count = EVENT_SEQ_BLOCK;
	return rc;
}

int event_bus_open(const char *db_path, bus **out, struct err *err)
{
	uint64_t first = 1, count = 0;
	char *path = xstrdup(db_path);
	int rc = refill_from_db(path, &first, &count);
	if (rc) {
		free(path);
		return err_set(err, rc, "cannot reserve event numbers in %s", db_path);
	}
	if ((rc = bus_new(first, out))) {
		free(path);
		return err_set(err, rc, "out of memory");
	}
	bus_set_seq_blocks(*out, first + count, refill_from_db, path, free);
	return 0;
}

int recorder_start(bus *b, const char *db_path, recorder **out, struct err *err)
{
	recorder *r = xcalloc(1, sizeof *r);
	r->bus = b;
	pthread_mutex_init(&r->mu, NULL);
	int rc = store_open(db_path, &r->st, err);
	if (rc) {
		free(r);
		return rc;
	}
	rc = bus_subscribe(b, 65536, &r->sub);
	if (rc || pthread_create(&r->thread, NULL, recorder_main, r) != 0) {
		bus_unsubscribe(r->sub);
		store_close(r->st);
		free(r);
		return err_set(err, DOSSIER_ENOMEM, "cannot start the event recorder");
	}
	*out = r;
	return 0;
}

void recorder_stop(recorder *r, int *dropped_out)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stopping = 1;
	r->stop_after = bus_last_seq(r->bus);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	if (dropped_out)
		*dropped_out = bus_sub_dropped(r->sub);
	bus_unsubscribe(r->sub);
	store_close(r->st);
	pthread_mutex_destroy(&r->mu);
	free(r);
}
