#include "store/recorder.h"
#include "core/err.h"
#include "core/util.h"
#include "store/store.h"

#include <pthread.h>
#include <stdlib.h>

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

static void *recorder_main(void *arg)
{
	recorder *r = arg;
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
		/* write what is queued without waiting again, up to RECORD_BATCH events per commit */
		int n = 0;
		store_batch_begin(r->st, NULL);
		next_event:;
		struct err e = {0};
		store_event_put(r->st, ev->seq, ev->name, ev->document, ev->line, &e);
		uint64_t seq = ev->seq;
		event_release(ev);
		pthread_mutex_lock(&r->mu);
		int stop = r->stopping && seq >= r->stop_after;
		pthread_mutex_unlock(&r->mu);
		if (stop) {
			store_batch_commit(r->st, NULL);
			break;
		}
		if (++n >= RECORD_BATCH) {
			store_batch_commit(r->st, NULL);
			store_batch_begin(r->st, NULL);
			n = 0;
		}
		if (bus_sub_next(r->sub, 0, &ev) == 0)
			goto next_event;
		store_batch_commit(r->st, NULL);
	}
	return NULL;
}

#define EVENT_SEQ_BLOCK 10000

static int refill_from_db(void *user, uint64_t *first, uint64_t *count)
{
	store *st;
	struct err e = {0};
	if (store_open(user, &st, &e))
		return e.code;
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
