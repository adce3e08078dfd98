/*
 * event.h — the event bus: status events for every phase (S9).
 *
 * Publishers call bus_emit(), or bus_event_new() then bus_event_publish() for
 * an event stored with a database change; neither blocks on a subscriber. Each subscriber
 * has a bounded queue; one that falls behind is dropped (it reads what it had,
 * then DOSSIER_ECANCELLED with bus_sub_dropped() true) and the pipeline goes on.
 *
 *   bus *b; bus_new(1, &b);
 *   bus_sub *s; bus_subscribe(b, 1024, &s);
 *   bus_emit(b, "document_queued", 7, json_pack("{s:s}", "path", "a.txt"));
 *   struct event *ev;
 *   while (bus_sub_next(s, 100, &ev) == 0) { puts(ev->line); event_release(ev); }
 *   bus_unsubscribe(s); bus_free(b);
 *
 * Every event is one JSON object: {"seq","time","event","document",...fields}.
 * `seq` strictly increases across the bus's life. Thread safe.
 */
#ifndef DOSSIER_CORE_EVENT_H
#define DOSSIER_CORE_EVENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bus bus;
typedef struct bus_sub bus_sub;

/* Immutable once published; shared by all subscribers through a reference count. */
struct event {
	uint64_t seq;       /* strictly increasing */
	char name[32];      /* the "event" field, e.g. "step_started" */
	int64_t document;   /* document id; 0 when the event is about no document */
	char *line;         /* the whole JSON object, no trailing newline */
	size_t len;         /* strlen(line) */
	int refs;           /* owned by the bus; use event_retain/event_release */
};

/* Creates a bus whose first event gets seq first_seq. Caller frees with bus_free. */
int bus_new(uint64_t first_seq, bus **out);
/*
 * Makes seq come in blocks from outside the process (several processes share
 * one events table): when the current block [next, end) runs out, refill is
 * called (under the bus lock) for a new one. user_free (may be NULL) frees
 * user in bus_free. Without a refill hook seq simply counts up.
 */
typedef int (*bus_seq_refill_fn)(void *user, uint64_t *first, uint64_t *count);
void bus_set_seq_blocks(bus *b, uint64_t end, bus_seq_refill_fn refill, void *user,
                        void (*user_free)(void *user));
/* Makes sure the current block holds at least n more seqs, refilling now if
 * not. For a caller about to take seqs inside a write transaction of its own,
 * where a refill (which needs the write lock) would wait for that very
 * transaction: call it before the transaction. No-op without a refill hook. */
void bus_seq_prefetch(bus *b, uint64_t n);
/* Frees the bus; all subscribers must have been unsubscribed. NULL is a no-op. */
void bus_free(bus *b);
/* Wakes every subscriber: after draining, bus_sub_next returns DOSSIER_ECANCELLED. */
void bus_close(bus *b);

/*
 * Publishes an event. `fields` (may be NULL) is consumed; its keys are added after
 * the common ones. document = 0 gives "document": null. Returns the event's seq,
 * or 0 if the event could not be built (out of memory).
 */
uint64_t bus_emit(bus *b, const char *name, int64_t document, json_t *fields);
/*
 * Reserve now, publish after commit: for an event that must be stored in the
 * same database transaction as the change it announces (the outbox).
 * bus_event_new builds the event and takes its seq; *out is the caller's
 * reference (read ev->seq, ev->line to store it). Then exactly one of
 * bus_event_publish (after the change committed) or bus_event_cancel (it did
 * not) consumes that reference. Subscribers still see seq strictly
 * increasing: an event published while a lower seq is reserved is held until
 * that one is published or cancelled; a cancelled seq is never delivered.
 * Returns 0 or DOSSIER_ENOMEM (fields is consumed either way).
 *
 *   struct event *ev;
 *   bus_event_new(b, "step_finished", doc, json_pack(...), &ev);
 *   struct store_event se = store_event_of(ev);
 *   if (store_step_done(st, id, holder, result, &se, 1, &err) == 0) bus_event_publish(b, ev);
 *   else bus_event_cancel(b, ev);
 */
int bus_event_new(bus *b, const char *name, int64_t document, json_t *fields, struct event **out);
void bus_event_publish(bus *b, struct event *ev);  /* consumes ev; NULL is a no-op */
void bus_event_cancel(bus *b, struct event *ev);   /* consumes ev; NULL is a no-op */
/* seq of the last event delivered to subscribers (0 if none). Every lower
 * seq is settled: delivered, or cancelled, none still reserved. */
uint64_t bus_last_seq(bus *b);

/* Adds a subscriber with room for queue_len events. Caller frees with bus_unsubscribe. */
int bus_subscribe(bus *b, size_t queue_len, bus_sub **out);
/*
 * Takes the next event (caller releases with event_release). Returns 0,
 * DOSSIER_ETIMEOUT after timeout_ms (-1 = wait forever), or DOSSIER_ECANCELLED
 * when the bus is closed or this subscriber was dropped, and its queue is empty.
 */
int bus_sub_next(bus_sub *s, int timeout_ms, struct event **out);
/* 1 if the subscriber was dropped for falling behind. */
int bus_sub_dropped(bus_sub *s);
/* Detaches and frees the subscriber, releasing queued events. NULL is a no-op. */
void bus_unsubscribe(bus_sub *s);

void event_retain(struct event *ev);
void event_release(struct event *ev);

#endif
