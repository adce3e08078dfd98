/*
 * sse.c — GET /api/events: the event bus as Server-Sent Events.
 *
 * Each client is one bus subscriber with its own bounded queue. The content
 * reader never waits: it sends what is queued, and when there is nothing it
 * suspends the connection (libmicrohttpd's event loop then leaves it alone, no
 * thread is held) and returns 0. The server's ticker thread resumes suspended
 * streams when events arrive on the bus, when a stream's heartbeat is due
 * (`: ping` after heartbeat_s of silence), and when the server closes. A client
 * that does not read falls behind, the bus drops its subscription (the pipeline
 * never waits), and the stream ends with an `event: dropped`; EventSource then
 * reconnects with Last-Event-ID and the gap is replayed from the database.
 *
 * Replay (Last-Event-ID header or ?after=N): the client subscribes first, then
 * the stored events after N up to the bus's last seq at that moment are read
 * from the events table in pages; live events at or below what was replayed
 * are skipped, so nothing is sent twice and nothing published in between is
 * lost.
 */
#include "server/internal.h"
#include "core/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Most bytes waiting in one client's output buffer. */
#define SSE_OUT_CAP (2u * CAP_EVENT_LINE + 4096u)
/* Stored events read per page during replay. */
#define SSE_REPLAY_PAGE 200
/* How long a replay waits for the recorder to store the newest events. */
#define SSE_REPLAY_WAIT_S 2.0
/* How soon a replay that waits for the recorder looks again. */
#define SSE_REPLAY_RETRY_MS 50

struct sse_client {
	struct sse_client *prev, *next; /* in server.sse, under sse_mu */
	struct MHD_Connection *conn;    /* borrowed: the stream's connection */
	int suspended;           /* under sse_mu: MHD_suspend_connection was called, no resume yet */
	int64_t wake_ms;         /* under sse_mu: mono ms when a suspended stream must run again */
	server *s;               /* borrowed */
	bus_sub *sub;            /* owned */
	struct buf out;          /* bytes not yet handed to libmicrohttpd */
	size_t out_pos;          /* of them, already handed over */
	uint64_t after;          /* replay: next stored event has seq > after ... */
	uint64_t until;          /* ... and <= until; 0 = no replay left */
	double replay_deadline;  /* give up waiting for the recorder then (mono s) */
	uint64_t last_sent;      /* highest seq sent */
	int64_t last_write_ms;   /* mono ms of the last bytes handed over */
	int end;                 /* end the stream once out is empty */
};

static void append_event(struct sse_client *k, uint64_t seq, const char *name, const char *json)
{
	size_t mark = k->out.len;
	if (buf_appendf(&k->out, "id: %llu\nevent: %s\ndata: ", (unsigned long long)seq, name) ||
	    buf_appends(&k->out, json) || buf_appends(&k->out, "\n\n")) {
		/* cannot happen for events within CAP_EVENT_LINE; never send half of one */
		k->out.len = mark;
		if (k->out.data)
			k->out.data[mark] = '\0';
		return;
	}
	if (seq > k->last_sent)
		k->last_sent = seq;
}

static int replay_cb(uint64_t seq, const char *json, void *user)
{
	struct sse_client *k = user;
	if (seq > k->until)
		return 1;
	k->after = seq;
	json_error_t je;
	json_t *o = json_loads(json, 0, &je);
	const char *name = json_string_value(json_object_get(o, "event"));
	/* stored lines are compact JSON already: sent as they are */
	if (name && !strchr(json, '\n'))
		append_event(k, seq, name, json);
	json_decref(o);
	return k->out.len > CAP_EVENT_LINE; /* a page never outgrows the buffer */
}

/* Reads one page of the replay. Returns 1 when the recorder has not stored
 * the rest yet and the stream should look again a little later. */
static int replay_page(struct sse_client *k)
{
	struct err e = {0};
	store *st = pool_get(k->s, &e);
	if (!st) {
		k->until = 0;
		return 0;
	}
	uint64_t before = k->after;
	store_events_since(st, k->after, SSE_REPLAY_PAGE, replay_cb, k, &e);
	pool_put(k->s, st);
	if (k->after >= k->until) {
		k->until = 0;
	} else if (k->after == before) {
		/* what is left is on the bus but not in the table yet: the recorder
		 * writes in batches; wait for it a little, then go live */
		if (clock_mono_s() > k->replay_deadline)
			k->until = 0;
		else
			return 1;
	}
	return 0;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct sse_client *k = cls;
	server *s = k->s;
	(void)pos;
	for (;;) {
		if (k->out_pos < k->out.len) {
			size_t n = k->out.len - k->out_pos;
			if (n > max)
				n = max;
			memcpy(out, k->out.data + k->out_pos, n);
			k->out_pos += n;
			k->last_write_ms = clock_mono_ms();
			return (ssize_t)n;
		}
		buf_reset(&k->out);
		k->out_pos = 0;
		if (k->end)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (__atomic_load_n(&s->closing, __ATOMIC_SEQ_CST)) {
			buf_appends(&k->out, "event: closing\ndata: {\"reason\":\"the server is stopping\"}\n\n");
			k->end = 1;
			continue;
		}
		int64_t wake = 0;
		if (k->until) {
			if (!replay_page(k))
				continue;
			wake = clock_mono_ms() + SSE_REPLAY_RETRY_MS;
		} else {
			int64_t beat = (int64_t)s->p.heartbeat_s * 1000;
			if (clock_mono_ms() - k->last_write_ms >= beat) {
				buf_appends(&k->out, ": ping\n\n");
				continue;
			}
			struct event *ev;
			int rc;
			while ((rc = bus_sub_next(k->sub, 0, &ev)) == 0) {
				if (ev->seq > k->last_sent)
					append_event(k, ev->seq, ev->name, ev->line);
				event_release(ev);
				if (k->out.len > CAP_EVENT_LINE)
					break;
			}
			if (rc == DOSSIER_ECANCELLED) {
				if (bus_sub_dropped(k->sub)) {
					buf_appendf(&k->out,
					            "event: dropped\ndata: {\"reason\":\"this client fell behind and was dropped; "
					            "reconnect with Last-Event-ID to replay\",\"last_seq\":%llu}\n\n",
					            (unsigned long long)k->last_sent);
					metrics_count(s, &s->m.sse_dropped, 1);
				}
				k->end = 1;
			}
			if (k->out.len || k->end)
				continue;
			wake = k->last_write_ms + beat;
		}
		/* nothing to send now: give the thread back until sse_wake */
		pthread_mutex_lock(&s->sse_mu);
		if (__atomic_load_n(&s->closing, __ATOMIC_SEQ_CST)) {
			pthread_mutex_unlock(&s->sse_mu);
			continue;
		}
		k->wake_ms = wake;
		k->suspended = 1;
		MHD_suspend_connection(k->conn);
		pthread_mutex_unlock(&s->sse_mu);
		return 0;
	}
}

void sse_wake(server *s, int events_arrived)
{
	int all = events_arrived || __atomic_load_n(&s->closing, __ATOMIC_SEQ_CST);
	int64_t now = clock_mono_ms();
	pthread_mutex_lock(&s->sse_mu);
	for (struct sse_client *k = s->sse; k; k = k->next) {
		if (!k->suspended || (!all && now < k->wake_ms))
			continue;
		k->suspended = 0;
		MHD_resume_connection(k->conn);
	}
	pthread_mutex_unlock(&s->sse_mu);
}

static void sse_free(void *cls)
{
	struct sse_client *k = cls;
	server *s = k->s;
	pthread_mutex_lock(&s->sse_mu);
	if (k->prev)
		k->prev->next = k->next;
	else if (s->sse == k)
		s->sse = k->next;
	if (k->next)
		k->next->prev = k->prev;
	pthread_mutex_unlock(&s->sse_mu);
	bus_unsubscribe(k->sub);
	buf_free(&k->out);
	free(k);
	pthread_mutex_lock(&s->m.mu);
	s->m.sse_clients--;
	pthread_mutex_unlock(&s->m.mu);
}

static int parse_seq(const char *v, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (!*v || *end || errno || *v == '-')
		return -1;
	*out = n;
	return 0;
}

enum MHD_Result sse_open(server *s, struct MHD_Connection *c)
{
	const char *last = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
	const char *after_q = query_arg(c, "after");
	uint64_t after = 0;
	int replay = 0;
	if (last && *last) {
		if (parse_seq(last, &after))
			return reply_error(c, 400, "Last-Event-ID must be an event's seq (a number)");
		replay = 1;
	} else if (after_q) {
		if (parse_seq(after_q, &after))
			return reply_error(c, 400, "after must be an event's seq (a number)");
		replay = 1;
	}
	struct sse_client *k = xcalloc(1, sizeof *k);
	k->s = s;
	k->conn = c;
	buf_init(&k->out, SSE_OUT_CAP);
	if (bus_subscribe(s->p.bus, s->p.sse_queue_len, &k->sub) != 0) {
		free(k);
		return reply_error(c, 500, "cannot subscribe to events (out of memory)");
	}
	uint64_t now_seq = bus_last_seq(s->p.bus);
	if (replay && now_seq > after) {
		k->after = after;
		k->until = now_seq;
		k->replay_deadline = clock_mono_s() + SSE_REPLAY_WAIT_S;
	}
	/* everything queued on the subscription came after it was made */
	k->last_sent = replay ? after : 0;
	/* `retry` tells EventSource how soon to reconnect; the comment opens the stream */
	buf_appends(&k->out, "retry: 3000\n: connected\n\n");
	k->last_write_ms = clock_mono_ms();

	struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, sse_read, k, sse_free);
	if (!r) {
		bus_unsubscribe(k->sub);
		buf_free(&k->out);
		free(k);
		return MHD_NO;
	}
	pthread_mutex_lock(&s->m.mu);
	s->m.sse_clients++;
	pthread_mutex_unlock(&s->m.mu);
	pthread_mutex_lock(&s->sse_mu);
	k->next = s->sse;
	if (s->sse)
		s->sse->prev = k;
	s->sse = k;
	pthread_mutex_unlock(&s->sse_mu);
	MHD_add_response_header(r, "Content-Type", "text/event-stream; charset=utf-8");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Accel-Buffering", "no");
	return reply_queue(c, 200, r);
}
