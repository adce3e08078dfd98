#include "cli/progress.h"
#include "core/err.h"
#include "core/util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ACTIVE 8

struct active {
	int64_t id;
	char name[48];
	char step[24];
};

struct sink {
	bus *bus;
	bus_sub *sub;
	FILE *out;
	pthread_t thread;
	pthread_mutex_t mu;
	int stopping;
	uint64_t stop_after;
	int ndjson;
	enum progress_mode mode;
	int color;
	/* live state */
	struct active act[MAX_ACTIVE];
	int queued, finished, failed, unchanged, unsupported, swaps;
	char model[128];
	double t0, last_draw;
	int drawn_lines;
	struct named { int64_t id; char name[48]; } *names; /* queued documents' file names */
	size_t n_names, cap_names;
};

static void name_remember(struct sink *s, int64_t id, const char *name)
{
	if (s->n_names == s->cap_names) {
		size_t cap = s->cap_names ? 2 * s->cap_names : 64;
		struct named *nv = realloc(s->names, cap * sizeof *nv);
		if (!nv)
			return;
		s->names = nv;
		s->cap_names = cap;
	}
	s->names[s->n_names].id = id;
	snprintf(s->names[s->n_names].name, sizeof s->names[0].name, "%s", name);
	s->n_names++;
}

static const char *name_of(struct sink *s, int64_t id)
{
	for (size_t i = s->n_names; i-- > 0;)
		if (s->names[i].id == id)
			return s->names[i].name;
	return NULL;
}

static void basename_of(const char *path, char *out, size_t n)
{
	const char *b = path ? strrchr(path, '/') : NULL;
	snprintf(out, n, "%s", b ? b + 1 : path ? path : "?");
}

static struct active *act_find(struct sink *s, int64_t id, int create)
{
	struct active *free_slot = NULL;
	for (int i = 0; i < MAX_ACTIVE; i++) {
		if (s->act[i].id == id)
			return &s->act[i];
		if (!s->act[i].id && !free_slot)
			free_slot = &s->act[i];
	}
	if (create && free_slot) {
		memset(free_slot, 0, sizeof *free_slot);
		free_slot->id = id;
	}
	return create ? free_slot : NULL;
}

static void live_draw(struct sink *s, int final)
{
	double now = clock_mono_s();
	if (!final && now - s->last_draw < 0.1)
		return;
	s->last_draw = now;
	FILE *f = s->out;
	/* move up over what we drew last time and clear it */
	for (int i = 0; i < s->drawn_lines; i++)
		fputs("\033[1A\033[2K", f);
	s->drawn_lines = 0;
	if (final) {
		fflush(f);
		return;
	}
	for (int i = 0; i < MAX_ACTIVE; i++) {
		if (!s->act[i].id)
			continue;
		fprintf(f, "  %s%-32.32s%s %s\n", s->color ? "\033[1m" : "", s->act[i].name, s->color ? "\033[0m" : "",
		        s->act[i].step);
		s->drawn_lines++;
	}
	int total = s->queued > 0 ? s->queued : 1, done = s->finished + s->failed;
	int width = 30, fill = done * width / total;
	char bar[64];
	for (int i = 0; i < width; i++)
		bar[i] = i < fill ? '#' : '-';
	bar[width] = '\0';
	int el = (int)(now - s->t0);
	fprintf(f, "[%s] %d/%d done, %d failed  %02d:%02d%s%s", bar, done, s->queued, s->failed, el / 60,
	        el % 60, *s->model ? "  model: " : "", s->model);
	if (s->swaps)
		fprintf(f, " (%d swap%s)", s->swaps, s->swaps == 1 ? "" : "s");
	fputc('\n', f);
	s->drawn_lines++;
	fflush(f);
}

static void plain_line(struct sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void plain_line(struct sink *s, const char *fmt, ...)
{
	va_list ap;
	char ts[32];
	time_rfc3339(clock_wall_s(), ts);
	fprintf(s->out, "%.8s ", ts + 11);
	va_start(ap, fmt);
	vfprintf(s->out, fmt, ap);
	va_end(ap);
	fputc('\n', s->out);
	fflush(s->out);
}

/* Every string of an event comes from outside (file names, titles, engine
 * messages): escape control characters before anything reaches the terminal,
 * so a file name cannot clear the screen or forge a line. */
static void escape_strings(json_t *o)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		if (json_is_string(v)) {
			char *e = str_escape(json_string_value(v), 1);
			json_string_set(v, e);
			free(e);
		}
	}
}

/* A string field, never NULL. */
static const char *field(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : "";
}

static void handle(struct sink *s, struct event *ev)
{
	if (s->ndjson) {
		fwrite(ev->line, 1, ev->len, s->out);
		fputc('\n', s->out);
		fflush(s->out);
		return;
	}
	json_t *o = json_loads(ev->line, 0, NULL);
	if (!o)
		return;
	escape_strings(o);
	const char *name = ev->name;
	const char *path = json_string_value(json_object_get(o, "path"));
	if (!path)
		path = "(no path)";
	char base[48];
	basename_of(path, base, sizeof base);
	int live = s->mode == PROGRESS_LIVE, plain = s->mode == PROGRESS_PLAIN;
	if (live && !strcmp(name, "document_failed"))
		live_draw(s, 1); /* clear before printing a permanent line */

	if (!strcmp(name, "document_queued")) {
		s->queued++;
		name_remember(s, ev->document, base);
		if (plain)
			plain_line(s, "queued   %s (%s)", path, field(o, "kind"));
	} else if (!strcmp(name, "document_unchanged")) {
		s->unchanged++;
		if (plain)
			plain_line(s, "unchanged %s", path);
	} else if (!strcmp(name, "document_unsupported")) {
		s->unsupported++;
		if (plain)
			plain_line(s, "skipped  %s (%s not supported)", path, field(o, "mime"));
	} else if (!strcmp(name, "step_started")) {
		struct active *a = act_find(s, ev->document, 1);
		if (a) {
			if (!a->name[0]) {
				const char *nm = name_of(s, ev->document);
				if (nm)
					snprintf(a->name, sizeof a->name, "%s", nm);
				else
					snprintf(a->name, sizeof a->name, "#%lld", (long long)ev->document);
			}
			snprintf(a->step, sizeof a->step, "%s", field(o, "step"));
		}
	} else if (!strcmp(name, "step_finished")) {
		/* a final failure is reported with its document (failed, or partial) */
		if (!json_is_true(json_object_get(o, "ok")) && !json_is_true(json_object_get(o, "final")) &&
		    s->mode != PROGRESS_QUIET) {
			if (live)
				live_draw(s, 1);
			if (!live)
				plain_line(s, "step %s of document %lld failed%s: %s",
				           field(o, "step"), (long long)ev->document,
				           json_is_true(json_object_get(o, "final")) ? "" : " (will retry)",
				           field(o, "error"));
			else
				fprintf(s->out, "%s: %s\n", json_is_true(json_object_get(o, "final")) ? "failed" : "retrying",
				        field(o, "error"));
		}
	} else if (!strcmp(name, "document_done")) {
		s->finished++;
		struct active *a = act_find(s, ev->document, 0);
		if (a)
			memset(a, 0, sizeof *a);
		int problems = (int)json_integer_value(json_object_get(o, "errors"));
		if (plain)
			plain_line(s, "%-8s %s%s%s", field(o, "status"), path, *field(o, "title") ? " — " : "",
			           field(o, "title"));
		if (problems && s->mode != PROGRESS_QUIET) {
			if (live)
				live_draw(s, 1);
			fprintf(s->out, "partial  %s: %s%s (see 'dossier show %lld')\n", path,
			        *field(o, "error") ? field(o, "error") : "a step failed",
			        problems > 1 ? " and more" : "", (long long)ev->document);
		}
	} else if (!strcmp(name, "document_failed")) {
		s->failed++;
		struct active *a = act_find(s, ev->document, 0);
		if (a)
			memset(a, 0, sizeof *a);
		fprintf(s->out, "%s%s%s %s\n", s->color ? "\033[31m" : "", "FAILED", s->color ? "\033[0m" : "",
			        field(o, "error"));
	} else if (!strcmp(name, "swapping_model")) {
		s->swaps++;
		if (!live && s->mode != PROGRESS_QUIET)
			plain_line(s, "Swapping Model: %s -> %s", field(o, "from"),
			           field(o, "to"));
	} else if (!strcmp(name, "model_loaded")) {
		snprintf(s->model, sizeof s->model, "%s", field(o, "model"));
		if (plain)
			plain_line(s, "model %s loaded in %.1f s", s->model,
			           json_number_value(json_object_get(o, "load_ms")) / 1000.0);
	} else if (!strcmp(name, "ingest_warning")) {
		if (live)
			live_draw(s, 1);
		fprintf(s->out, "warning: %s\n", field(o, "message"));
	} else if (!strcmp(name, "step_deferred")) {
		if (plain)
			plain_line(s, "waiting  document %lld: %s", (long long)ev->document,
			           field(o, "error"));
	}
	if (live)
		live_draw(s, 0);
	json_decref(o);
}

static void *sink_main(void *arg)
{
	struct sink *s = arg;
	for (;;) {
		struct event *ev;
		int rc = bus_sub_next(s->sub, 100, &ev);
		if (rc == 0) {
			uint64_t seq = ev->seq;
			handle(s, ev);
			event_release(ev);
			pthread_mutex_lock(&s->mu);
			int stop = s->stopping && seq >= s->stop_after;
			pthread_mutex_unlock(&s->mu);
			if (stop)
				break;
			continue;
		}
		if (rc == DOSSIER_ETIMEOUT) {
			pthread_mutex_lock(&s->mu);
			int stop = s->stopping;
			pthread_mutex_unlock(&s->mu);
			if (stop)
				break;
			if (s->mode == PROGRESS_LIVE && !s->ndjson)
				live_draw(s, 0); /* keep the clock moving */
			continue;
		}
		break; /* dropped or closed */
	}
	if (s->mode == PROGRESS_LIVE && !s->ndjson)
		live_draw(s, 1);
	if (bus_sub_dropped(s->sub))
		fprintf(stderr, "dossier: the %s fell behind and stopped\n", s->ndjson ? "event file" : "progress display");
	return NULL;
}

static int sink_start(bus *b, FILE *out, struct sink *s, struct sink **ret)
{
	s->bus = b;
	s->out = out;
	s->t0 = clock_mono_s();
	pthread_mutex_init(&s->mu, NULL);
	if (bus_subscribe(b, 16384, &s->sub) || pthread_create(&s->thread, NULL, sink_main, s)) {
		bus_unsubscribe(s->sub);
		free(s);
		return DOSSIER_ENOMEM;
	}
	*ret = s;
	return 0;
}

int progress_start(bus *b, FILE *out, enum progress_mode mode, int color, sink **ret)
{
	struct sink *s = xcalloc(1, sizeof *s);
	s->mode = mode;
	s->color = color;
	return sink_start(b, out, s, ret);
}

int events_writer_start(bus *b, FILE *out, sink **ret)
{
	struct sink *s = xcalloc(1, sizeof *s);
	s->ndjson = 1;
	return sink_start(b, out, s, ret);
}

void sink_stop(sink *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = 1;
	s->stop_after = bus_last_seq(s->bus);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	bus_unsubscribe(s->sub);
	pthread_mutex_destroy(&s->mu);
	free(s->names);
	free(s);
}
