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

/* An event whose seq is taken, in seq order: reserved (bus_event_new, not yet
 * published), or published/cancelled but held behind a lower reserved seq. */
struct held {
	struct event *ev;     /* one reference owned by this node */
	int state;            /* HELD_RESERVED, HELD_PUBLISHED, HELD_CANCELLED */
	struct held *next;
};
enum { HELD_RESERVED, HELD_PUBLISHED, HELD_CANCELLED };

struct bus {
	pthread_mutex_t mu;
	struct held *held, *held_tail; /* seq order; delivery waits for the head */
	uint64_t last_delivered;       /* seq of the last event handed to subscribers */
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

void bus_seq_prefetch(bus *b, uint64_t n)
{
	if (!b)
		return;
	pthread_mutex_lock(&b->mu);
	if (b->refill && b->block_end - b->next_seq < n) {
		uint64_t first, count;
		if (b->refill(b->refill_user, &first, &count) == 0 && count > 0 && first >= b->next_seq) {
			b->next_seq = first;
			b->block_end = first + count;
		}
	}
	pthread_mutex_unlock(&b->mu);
}

void bus_free(bus *b)
{
	if (!b)
		return;
	if (b->refill_user_free)
		b->refill_user_free(b->refill_user);
	while (b->held) { /* reserved and never settled: nobody will see them now */
		struct held *h = b->held;
		b->held = h->next;
		event_release(h->ev);
		free(h);
	}
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
	uint64_t s = b->last_delivered;
	pthread_mutex_unlock(&b->mu);
	return s;
}

/* Builds an event and takes its seq (under b->mu). fields is consumed.
 * NULL when out of memory. */
static struct event *event_build(bus *b, const char *name, int64_t document, json_t *fields)
{
	struct event *ev = calloc(1, sizeof *ev);
	char ts[32];
	if (!ev) {
		json_decref(fields);
		return NULL;
	}
	snprintf(ev->name, sizeof ev->name, "%s", name);
	ev->document = document;
	ev->refs = 1;
	if (b->refill && b->next_seq >= b->block_end) {
		uint64_t first, count;
		if (b->refill(b->refill_user, &first, &count) == 0 && count > 0 && first >= b->next_seq) {
			b->next_seq = first;
			b->block_end = first + count;
		} else {
			b->block_end = b->next_seq + 1; /* keep counting; try again next time */
		}
	}
	/* seq and time are taken under the lock so both increase together. */
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
		free(ev);
		return NULL;
	}
	ev->len = strlen(ev->line);
	return ev;
}

/* Hands ev to every subscriber (under b->mu). */
static void deliver(bus *b, struct event *ev)
{
	b->last_delivered = ev->seq;
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
}

/* Delivers the held events that no reserved seq precedes (under b->mu). */
static void flush_held(bus *b)
{
	while (b->held && b->held->state != HELD_RESERVED) {
		struct held *h = b->held;
		b->held = h->next;
		if (!b->held)
			b->held_tail = NULL;
		if (h->state == HELD_PUBLISHED)
			deliver(b, h->ev);
		event_release(h->ev);
		free(h);
	}
}

/* Queues ev (taking one reference) behind the held ones (under b->mu). */
static int hold(bus *b, struct event *ev, int state)
{
	struct held *h = calloc(1, sizeof *h);
	if (!h)
		return DOSSIER_ENOMEM;
	event_retain(ev);
	h->ev = ev;
	h->state = state;
	if (b->held_tail)
		b->held_tail->next = h;
	else
		b->held = h;
	b->held_tail = h;
	return 0;
}

uint64_t bus_emit(bus *b, const char *name, int64_t document, json_t *fields)
{
	pthread_mutex_lock(&b->mu);
	struct event *ev = event_build(b, name, document, fields);
	if (!ev) {
		pthread_mutex_unlock(&b->mu);
		return 0;
	}
	uint64_t seq = ev->seq;
	if (!b->held)
		deliver(b, ev);
	else if (hold(b, ev, HELD_PUBLISHED))
		seq = 0; /* out of memory: the event is lost, as if it could not be built */
	pthread_mutex_unlock(&b->mu);
	event_release(ev);
	return seq;
}

int bus_event_new(bus *b, const char *name, int64_t document, json_t *fields, struct event **out)
{
	*out = NULL;
	pthread_mutex_lock(&b->mu);
	struct event *ev = event_build(b, name, document, fields);
	if (!ev || hold(b, ev, HELD_RESERVED)) {
		pthread_mutex_unlock(&b->mu);
		event_release(ev);
		return DOSSIER_ENOMEM;
	}
	pthread_mutex_unlock(&b->mu);
	*out = ev;
	return 0;
}

/* Marks ev published or cancelled and delivers what may go. */
static void settle_reserved(bus *b, struct event *ev, int state)
{
	if (!ev)
		return;
	pthread_mutex_lock(&b->mu);
	for (struct held *h = b->held; h; h = h->next) {
		if (h->ev == ev && h->state == HELD_RESERVED) {
			h->state = state;
			break;
		}
	}
	flush_held(b);
	pthread_mutex_unlock(&b->mu);
	event_release(ev);
}

void bus_event_publish(bus *b, struct event *ev)
{
	settle_reserved(b, ev, HELD_PUBLISHED);
}

void bus_event_cancel(bus *b, struct event *ev)
{
	settle_reserved(b, ev, HELD_CANCELLED);
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
