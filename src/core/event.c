#include "core/event.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct bus_sub {
	bus *owner;
	struct event **ring;  /* queue_len slots */
	size_t cap, head, count;
	int dropped;          /* fell behind: no more events are queued */
	pthread_cond_t cond;
	bus_sub *next;
};

struct bus {
	pthread_mutex_t mu;
	uint64_t next_seq;
	uint64_t block_end;           /* with a refill hook: next_seq < block_end */
	bus_seq_refill_fn refill;     /* NULL = seq counts up without blocks */
	void *refill_user;
	void (*refill_user_free)(void *);
	int closed;
	bus_sub *subs;
};

int bus_new(uint64_t first_seq, bus **out)
{
	bus *b = calloc(1, sizeof *b);
	if (!b)
		return DOSSIER_ENOMEM;
	pthread_mutex_init(&b->mu, NULL);
	b->next_seq = first_seq ? first_seq : 1;
	*out = b;
	return 0;
}

void bus_set_seq_blocks(bus *b, uint64_t end, bus_seq_refill_fn refill, void *user,
                        void (*user_free)(void *user))
{
	pthread_mutex_lock(&b->mu);
	b->block_end = end;
	b->refill = refill;
	b->refill_user = user;
	b->refill_user_free = user_free;
	pthread_mutex_unlock(&b->mu);
}

void bus_free(bus *b)
{
	if (!b)
		return;
	if (b->refill_user_free)
		b->refill_user_free(b->refill_user);
	pthread_mutex_destroy(&b->mu);
	free(b);
}

void bus_close(bus *b)
{
	pthread_mutex_lock(&b->mu);
	b->closed = 1;
	for (bus_sub *s = b->subs; s; s = s->next)
		pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&b->mu);
}

void event_retain(struct event *ev)
{
	__atomic_add_fetch(&ev->refs, 1, __ATOMIC_RELAXED);
}

void event_release(struct event *ev)
{
	if (ev && __atomic_sub_fetch(&ev->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		free(ev->line);
		free(ev);
	}
}

uint64_t bus_last_seq(bus *b)
{
	pthread_mutex_lock(&b->mu);
	uint64_t s = b->next_seq - 1;
	pthread_mutex_unlock(&b->mu);
	return s;
}

uint64_t bus_emit(bus *b, const char *name, int64_t document, json_t *fields)
{
	struct event *ev = calloc(1, sizeof *ev);
	char ts[32];
	if (!ev) {
		json_decref(fields);
		return 0;
	}
	snprintf(ev->name, sizeof ev->name, "%s", name);
	ev->document = document;
	ev->refs = 1;

	/* seq and time are taken under the lock so both increase together. */
	pthread_mutex_lock(&b->mu);
	if (b->refill && b->next_seq >= b->block_end) {
		uint64_t first, count;
		if (b->refill(b->refill_user, &first, &count) == 0 && count > 0 && first >= b->next_seq) {
			b->next_seq = first;
			b->block_end = first + count;
		} else {
			b->block_end = b->next_seq + 1; /* keep counting; try again next time */
		}
	}
	ev->seq = b->next_seq++;
	time_rfc3339(clock_wall_s(), ts);
	json_t *o = json_object();
	json_object_set_new(o, "seq", json_integer((json_int_t)ev->seq));
	json_object_set_new(o, "time", json_string(ts));
	json_object_set_new(o, "event", json_string(name));
	json_object_set_new(o, "document", document ? json_integer(document) : json_null());
	if (fields && json_is_object(fields)) {
		const char *k;
		json_t *v;
		json_object_foreach(fields, k, v) {
			if (!json_object_get(o, k))
				json_object_set(o, k, v);
		}
	}
	json_decref(fields);
	ev->line = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
	json_decref(o);
	if (!ev->line) {
		pthread_mutex_unlock(&b->mu);
		free(ev);
		return 0;
	}
	ev->len = strlen(ev->line);
	uint64_t seq = ev->seq;
	for (bus_sub *s = b->subs; s; s = s->next) {
		if (s->dropped)
			continue;
		if (s->count == s->cap) {
			/* Never wait for a slow reader: drop it. It learns from bus_sub_dropped. */
			s->dropped = 1;
			pthread_cond_broadcast(&s->cond);
			continue;
		}
		event_retain(ev);
		s->ring[(s->head + s->count) % s->cap] = ev;
		s->count++;
		pthread_cond_signal(&s->cond);
	}
	pthread_mutex_unlock(&b->mu);
	event_release(ev);
	return seq;
}

int bus_subscribe(bus *b, size_t queue_len, bus_sub **out)
{
	bus_sub *s = calloc(1, sizeof *s);
	if (!s)
		return DOSSIER_ENOMEM;
	s->cap = queue_len ? queue_len : 256;
	s->ring = calloc(s->cap, sizeof *s->ring);
	if (!s->ring) {
		free(s);
		return DOSSIER_ENOMEM;
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	s->owner = b;
	pthread_mutex_lock(&b->mu);
	s->next = b->subs;
	b->subs = s;
	pthread_mutex_unlock(&b->mu);
	*out = s;
	return 0;
}

int bus_sub_next(bus_sub *s, int timeout_ms, struct event **out)
{
	bus *b = s->owner;
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	if (timeout_ms > 0) {
		dl.tv_sec += timeout_ms / 1000;
		dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&b->mu);
	while (s->count == 0) {
		if (b->closed || s->dropped) {
			pthread_mutex_unlock(&b->mu);
			return DOSSIER_ECANCELLED;
		}
		if (timeout_ms == 0) {
			pthread_mutex_unlock(&b->mu);
			return DOSSIER_ETIMEOUT;
		}
		int rc = timeout_ms < 0 ? pthread_cond_wait(&s->cond, &b->mu)
		                        : pthread_cond_timedwait(&s->cond, &b->mu, &dl);
		if (rc == ETIMEDOUT && s->count == 0) {
			pthread_mutex_unlock(&b->mu);
			return DOSSIER_ETIMEOUT;
		}
	}
	*out = s->ring[s->head];
	s->head = (s->head + 1) % s->cap;
	s->count--;
	pthread_mutex_unlock(&b->mu);
	return 0;
}

int bus_sub_dropped(bus_sub *s)
{
	pthread_mutex_lock(&s->owner->mu);
	int d = s->dropped;
	pthread_mutex_unlock(&s->owner->mu);
	return d;
}

void bus_unsubscribe(bus_sub *s)
{
	if (!s)
		return;
	bus *b = s->owner;
	pthread_mutex_lock(&b->mu);
	for (bus_sub **pp = &b->subs; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	pthread_mutex_unlock(&b->mu);
	while (s->count) {
		event_release(s->ring[s->head]);
		s->head = (s->head + 1) % s->cap;
		s->count--;
	}
	pthread_cond_destroy(&s->cond);
	free(s->ring);
	free(s);
}
