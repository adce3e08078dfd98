#include "cli/progress.h"
#include "core/err.h"
#include "core/util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MAX_ACTIVE 8
#define MAX_RUNNING 4      /* steps of one document shown at once */
#define LINE_MAX_BYTES 1024

/* A step running now, with its progress if it reports any. */
struct running {
	char kind[24];        /* "" = free slot */
	char label[64];       /* its plain words (the event's "label") */
	double done, total;   /* step_progress; total 0 = none reported */
	char unit[16];        /* "pages", "seconds", ... */
};

struct active {
	int64_t id;
	char name[48];
	struct running run[MAX_RUNNING];
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
	int width;                  /* the terminal's columns at the last draw */
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
	progress_fit(name, 1000, s->names[s->n_names].name, sizeof s->names[0].name); /* whole characters */
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

/* Columns a code point takes on a terminal: 0 for combining marks, 2 for the
 * wide East Asian ranges and emoji, else 1 (a close, locale-free wcwidth). */
static int cp_width(unsigned cp)
{
	if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) || cp == 0xfe0f)
		return 0;
	if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) ||
	    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
	    (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f) || (cp >= 0x1f900 && cp <= 0x1f9ff) ||
	    (cp >= 0x20000 && cp <= 0x3fffd))
		return 2;
	return 1;
}

/* The code point at p (U+FFFD for a broken sequence, which then takes one
 * byte) and its length in bytes. */
static size_t utf8_next(const unsigned char *p, unsigned *cp)
{
	size_t l = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
	if (!l) {
		*cp = 0xfffd;
		return 1;
	}
	unsigned v = l == 1 ? *p : (unsigned)(*p & (0x7f >> l));
	for (size_t k = 1; k < l; k++) {
		if ((p[k] & 0xc0) != 0x80) {
			*cp = 0xfffd;
			return 1;
		}
		v = (v << 6) | (p[k] & 0x3f);
	}
	*cp = v;
	return l;
}

/* Terminal columns of a string without escapes. */
static int text_columns(const char *s)
{
	int c = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		unsigned cp;
		p += utf8_next(p, &cp);
		c += cp_width(cp);
	}
	return c;
}

size_t progress_fit(const char *line, int width, char *out, size_t n)
{
	const unsigned char *p = (const unsigned char *)line;
	size_t o = 0;
	int cols = 0, escapes = 0, cut = 0;
	if (!n)
		return 0;
	while (*p && *p != '\n') {
		if (*p == 0x1b && p[1] == '[') {
			/* a colour: no width, kept whole */
			size_t l = 2;
			while (p[l] && !(p[l] >= 0x40 && p[l] <= 0x7e))
				l++;
			if (p[l])
				l++;
			if (o + l + 5 >= n)
				break;
			memcpy(out + o, p, l);
			o += l;
			p += l;
			escapes = 1;
			continue;
		}
		unsigned cp;
		size_t l = utf8_next(p, &cp);
		int w = cp_width(cp);
		if (cols + w > width || o + l + 5 >= n) {
			cut = 1;
			break;
		}
		if (cp == 0xfffd && l == 1)
			out[o++] = '?'; /* a broken sequence never reaches the terminal */
		else {
			memcpy(out + o, p, l);
			o += l;
		}
		p += l;
		cols += w;
	}
	if (escapes && (cut || *p)) {
		memcpy(out + o, "\033[0m", 4); /* never leave a colour on past the cut */
		o += 4;
	}
	out[o] = '\0';
	return o;
}

int progress_width(int fd)
{
	struct winsize ws;
	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	const char *c = getenv("COLUMNS");
	int v = c ? atoi(c) : 0;
	return v >= 10 && v <= 10000 ? v : 80;
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

/* One line of the live area, cut to the terminal's width (one column short
 * of it, so no terminal wraps it into two rows the redraw would not clear). */
static void live_line(struct sink *s, const char *line)
{
	char fitted[LINE_MAX_BYTES];
	progress_fit(line, s->width > 1 ? s->width - 1 : 1, fitted, sizeof fitted);
	fputs(fitted, s->out);
	fputc('\n', s->out);
	s->drawn_lines++;
}

/* 3 pages as "3"; 62 seconds as "1:02", an hour and more as "1:02:03" */
static void amount(double v, const char *unit, char *out, size_t n)
{
	if (strcmp(unit, "seconds")) {
		snprintf(out, n, "%.0f", v);
		return;
	}
	long t = (long)(v + 0.5);
	if (t >= 3600)
		snprintf(out, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(out, n, "%ld:%02ld", t / 60, t % 60);
}

/* "recognising speech 1:02/3:40, picking frames from the video" */
static void running_text(const struct active *a, char *out, size_t n)
{
	size_t o = 0;
	out[0] = '\0';
	for (int i = 0; i < MAX_RUNNING && o < n; i++) {
		const struct running *r = &a->run[i];
		if (!r->kind[0])
			continue;
		int w;
		char done[32], total[32];
		amount(r->done, r->unit, done, sizeof done);
		amount(r->total, r->unit, total, sizeof total);
		int secs = !strcmp(r->unit, "seconds");
		if (r->total > 0)
			w = snprintf(out + o, n - o, "%s%s %s/%s%s%s", o ? ", " : "", r->label, done, total, secs ? "" : " ",
			             secs ? "" : r->unit);
		else if (r->done > 0)
			w = snprintf(out + o, n - o, "%s%s %s%s%s", o ? ", " : "", r->label, done, secs ? "" : " ",
			             secs ? "" : r->unit);
		else
			w = snprintf(out + o, n - o, "%s%s", o ? ", " : "", r->label);
		if (w < 0)
			break;
		o += (size_t)w;
	}
	if (!out[0])
		snprintf(out, n, "waiting");
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
	s->width = progress_width(fileno(f));
	int name_w = s->width >= 100 ? 32 : s->width / 4 > 12 ? s->width / 4 : 12;
	char line[LINE_MAX_BYTES], what[512];
	for (int i = 0; i < MAX_ACTIVE; i++) {
		if (!s->act[i].id)
			continue;
		running_text(&s->act[i], what, sizeof what);
		char name[LINE_MAX_BYTES / 2];
		progress_fit(s->act[i].name, name_w, name, sizeof name);
		/* pad by columns, not bytes: a name may hold multi-byte characters */
		int pad = name_w - text_columns(name);
		snprintf(line, sizeof line, "  %s%s%s%*s %s", s->color ? "\033[1m" : "", name, s->color ? "\033[0m" : "",
		         pad > 0 ? pad : 0, "", what);
		live_line(s, line);
	}
	int total = s->queued > 0 ? s->queued : 1, done = s->finished + s->failed;
	int width = s->width >= 100 ? 30 : s->width >= 60 ? 20 : 10, fill = done * width / total;
	char bar[64];
	for (int i = 0; i < width; i++)
		bar[i] = i < fill ? '#' : '-';
	bar[width] = '\0';
	int el = (int)(now - s->t0);
	int o = snprintf(line, sizeof line, "[%s] %d/%d done, %d failed  %02d:%02d%s%s", bar, done, s->queued,
	                 s->failed, el / 60, el % 60, *s->model ? "  model: " : "", s->model);
	if (s->swaps && o > 0 && (size_t)o < sizeof line)
		snprintf(line + o, sizeof line - (size_t)o, " (%d swap%s)", s->swaps, s->swaps == 1 ? "" : "s");
	live_line(s, line);
	fflush(f);
}

/* A line that stays: printed above the live area, which is redrawn below it. */
static void live_keep(struct sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void live_keep(struct sink *s, const char *fmt, ...)
{
	live_draw(s, 1);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(s->out, fmt, ap);
	va_end(ap);
	fputc('\n', s->out);
	s->last_draw = 0; /* redraw the live area right away */
}

static struct running *running_find(struct active *a, const char *kind, int create)
{
	struct running *free_slot = NULL;
	for (int i = 0; i < MAX_RUNNING; i++) {
		if (a->run[i].kind[0] && !strcmp(a->run[i].kind, kind))
			return &a->run[i];
		if (!a->run[i].kind[0] && !free_slot)
			free_slot = &a->run[i];
	}
	if (create && free_slot) {
		memset(free_slot, 0, sizeof *free_slot);
		snprintf(free_slot->kind, sizeof free_slot->kind, "%s", kind);
	}
	return create ? free_slot : NULL;
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
	if (s->mode != PROGRESS_LIVE && (!strcmp(ev->name, "step_started") || !strcmp(ev->name, "step_progress")))
		return; /* they feed only the live display: not even parsed */
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

	if (!strcmp(name, "document_queued")) {
		s->queued++;
		name_remember(s, ev->document, base);
		if (plain)
			plain_line(s, "queued   %s (%s)", path, field(o, "kind"));
	} else if (!strcmp(name, "document_unchanged")) {
		s->unchanged++;
		if (plain)
			plain_line(s, "unchanged %s", path);
	} else if (!strcmp(name, "document_duplicate")) {
		if (plain)
			plain_line(s, "copy     %s (same content as #%lld)", path,
			           (long long)json_integer_value(json_object_get(o, "same_as")));
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
			struct running *r = running_find(a, field(o, "step"), 1);
			if (r)
				snprintf(r->label, sizeof r->label, "%s", *field(o, "label") ? field(o, "label") : field(o, "step"));
		}
	} else if (!strcmp(name, "step_progress")) {
		struct active *a = act_find(s, ev->document, 0);
		struct running *r = a ? running_find(a, field(o, "step"), 0) : NULL;
		if (r) {
			r->done = json_number_value(json_object_get(o, "done"));
			r->total = json_number_value(json_object_get(o, "total"));
			snprintf(r->unit, sizeof r->unit, "%s", field(o, "unit"));
		}
	} else if (!strcmp(name, "step_finished")) {
		struct active *a = act_find(s, ev->document, 0);
		struct running *r = a ? running_find(a, field(o, "step"), 0) : NULL;
		if (r)
			memset(r, 0, sizeof *r); /* the step shown is a step running */
		/* a final failure is reported with its document (failed, or partial) */
		if (!json_is_true(json_object_get(o, "ok")) && !json_is_true(json_object_get(o, "final")) &&
		    s->mode != PROGRESS_QUIET) {
			const char *label = *field(o, "label") ? field(o, "label") : field(o, "step");
			if (!live)
				plain_line(s, "step %s of document %lld failed%s: %s",
				           field(o, "step"), (long long)ev->document,
				           json_is_true(json_object_get(o, "final")) ? "" : " (will retry)",
				           field(o, "error"));
			else
				live_keep(s, "retrying %s (%s): %s", name_of(s, ev->document) ? name_of(s, ev->document) : "?",
				          label, field(o, "error"));
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
		else if (live && !problems)
			live_keep(s, "%-8s %s%s%s", field(o, "status"), path, *field(o, "title") ? " — " : "",
			          field(o, "title"));
		if (problems && s->mode != PROGRESS_QUIET) {
			if (live)
				live_draw(s, 1);
			fprintf(s->out, "partial  %s: %s%s (see 'dossier show %lld')\n", path,
			        *field(o, "error") ? field(o, "error") : "a step failed",
			        problems > 1 ? " and more" : "", (long long)ev->document);
			s->last_draw = 0;
		}
	} else if (!strcmp(name, "document_failed")) {
		s->failed++;
		struct active *a = act_find(s, ev->document, 0);
		if (a)
			memset(a, 0, sizeof *a);
		if (live)
			live_keep(s, "%s%s%s   %s: %s", s->color ? "\033[31m" : "", "FAILED", s->color ? "\033[0m" : "", path,
			          field(o, "error"));
		else
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
			live_keep(s, "warning: %s", field(o, "message"));
		else
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
