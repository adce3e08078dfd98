/*
 * watch.c — the inotify watcher (watch.h) and the recording of its batches.
 *
 * State: a table from watch descriptor to folder path; a hash table of the
 * paths waiting to become ready (settling, being written, ready); the names
 * renamed away whose new name is not known yet (by cookie); the names gone.
 */
#include "pipeline/watch.h"
#include "pipeline/forget.h"
#include "pipeline/ingest.h"
#include "core/err.h"
#include "core/util.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define WATCH_MASK (IN_CLOSE_WRITE | IN_CREATE | IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE | \
                    IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK)

enum pend_state {
	PEND_SETTLE,   /* arrived without a close: ready once size and mtime hold still */
	PEND_WRITING,  /* written to, not closed yet: waits for IN_CLOSE_WRITE */
	PEND_READY,    /* goes into the next batch */
};

struct pend {
	char *path;            /* owned; NULL = empty slot; TOMB = deleted */
	enum pend_state state;
	int64_t size;
	struct timespec mtime;
	double t_event;        /* the last event about it (monotonic s) */
	double t_check;        /* when size and mtime were last read */
	double t_ready;        /* when it became ready */
};

static char tomb_[1];
#define TOMB tomb_

/* A name renamed away (IN_MOVED_FROM) whose IN_MOVED_TO has not come yet. */
struct moved_from {
	uint32_t cookie;
	char *path;            /* owned */
	int is_dir;
	int had_pend;          /* 1: it was waiting; its state travels to the new name */
	struct pend pend;      /* that state (pend.path unused) */
	double t;
};

struct strv {
	char **v;
	size_t n, cap;
};

struct watcher {
	int fd;
	struct watch_opts o;
	char **roots;          /* owned, resolved */
	int n_roots;
	char **ignore;         /* owned copies of o.ignore, resolved where possible */
	size_t n_ignore;
	char **wd_path;        /* wd_path[wd] = the folder (owned), NULL = not watched */
	size_t n_wd;
	struct pend *pend;     /* open addressing, cap a power of two */
	size_t n_pend, n_used, cap_pend; /* n_used counts tombstones too */
	struct moved_from *mv;
	size_t n_mv, cap_mv;
	struct strv gone, gone_dirs, dirs_ready;
	double oldest;         /* when the oldest path of the coming batch was ready; 0 = none */
	double last_event;     /* monotonic s of the last event read */
	int rescan, overflow;
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
};

void watch_opts_default(struct watch_opts *o)
{
	memset(o, 0, sizeof *o);
	o->settle_s = 1.0;
	o->quiet_s = 0.3;
	o->max_wait_s = 5.0;
	o->initial_scan = 1;
}

/* ------------------------------------------------------------ small helpers */

static void strv_add(struct strv *s, const char *p)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		void *nv = realloc(s->v, s->cap * sizeof *s->v);
		if (!nv)
			abort();
		s->v = nv;
	}
	s->v[s->n++] = xstrdup(p);
}

static void strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof *s);
}

/* Hands the array over (caller owns it); s is empty after. */
static char **strv_take(struct strv *s, size_t *n)
{
	char **v = s->v;
	*n = s->n;
	memset(s, 0, sizeof *s);
	return v;
}

/* 1 if p is dir or below it. */
static int under(const char *p, const char *dir)
{
	size_t n = strlen(dir);
	if (n == 1 && dir[0] == '/')
		return 1;
	return !strncmp(p, dir, n) && (p[n] == '\0' || p[n] == '/');
}

static int ignored(const watcher *w, const char *p)
{
	for (size_t i = 0; i < w->n_ignore; i++)
		if (under(p, w->ignore[i]))
			return 1;
	return 0;
}

static int within_roots(const watcher *w, const char *p)
{
	for (int i = 0; i < w->n_roots; i++)
		if (under(p, w->roots[i]))
			return 1;
	return 0;
}

/* --------------------------------------------------------- the pending table */

static size_t str_hash(const char *s)
{
	uint64_t h = UINT64_C(1469598103934665603);
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return (size_t)(h ^ (h >> 31));
}

static struct pend *pend_find(watcher *w, const char *path)
{
	if (!w->cap_pend)
		return NULL;
	for (size_t j = str_hash(path) & (w->cap_pend - 1);; j = (j + 1) & (w->cap_pend - 1)) {
		struct pend *e = &w->pend[j];
		if (!e->path)
			return NULL;
		if (e->path != TOMB && !strcmp(e->path, path))
			return e;
	}
}

static void pend_grow(watcher *w)
{
	size_t ncap = w->cap_pend ? w->cap_pend : 64;
	while (2 * (w->n_pend + 1) > ncap)
		ncap *= 2;
	struct pend *nv = xcalloc(ncap, sizeof *nv);
	for (size_t i = 0; i < w->cap_pend; i++) {
		struct pend *e = &w->pend[i];
		if (!e->path || e->path == TOMB)
			continue;
		size_t j = str_hash(e->path) & (ncap - 1);
		while (nv[j].path)
			j = (j + 1) & (ncap - 1);
		nv[j] = *e;
	}
	free(w->pend);
	w->pend = nv;
	w->cap_pend = ncap;
	w->n_used = w->n_pend;
}

/* The entry for path, made (state PEND_SETTLE, times now) if there was none. */
static struct pend *pend_get(watcher *w, const char *path, double now)
{
	struct pend *e = pend_find(w, path);
	if (e)
		return e;
	if (2 * (w->n_used + 1) > w->cap_pend)
		pend_grow(w);
	size_t j = str_hash(path) & (w->cap_pend - 1);
	while (w->pend[j].path && w->pend[j].path != TOMB)
		j = (j + 1) & (w->cap_pend - 1);
	e = &w->pend[j];
	if (!e->path)
		w->n_used++;
	memset(e, 0, sizeof *e);
	e->path = xstrdup(path);
	e->state = PEND_SETTLE;
	e->t_event = e->t_check = now;
	e->size = -1;
	w->n_pend++;
	return e;
}

static void pend_del(watcher *w, struct pend *e)
{
	free(e->path);
	e->path = TOMB;
	w->n_pend--;
}

static void pend_stat(struct pend *e)
{
	struct stat sb;
	if (stat(e->path, &sb) == 0) {
		e->size = sb.st_size;
		e->mtime = sb.st_mtim;
	} else {
		e->size = -1;
	}
}

static void mark_ready(watcher *w, struct pend *e, double now)
{
	e->state = PEND_READY;
	e->t_ready = now;
	if (!w->oldest)
		w->oldest = now;
}

/* An arrival without a close: settles from now on. */
static void arrived(watcher *w, const char *path, double now)
{
	struct pend *e = pend_get(w, path, now);
	if (e->state == PEND_WRITING)
		return; /* its close will come */
	e->state = PEND_SETTLE;
	e->t_event = e->t_check = now;
	pend_stat(e);
}

/* Every pending path at or below dir. */
static void pend_drop_under(watcher *w, const char *dir)
{
	for (size_t i = 0; i < w->cap_pend; i++) {
		struct pend *e = &w->pend[i];
		if (e->path && e->path != TOMB && under(e->path, dir))
			pend_del(w, e);
	}
}

/* --------------------------------------------------------------- the watches */

static void wd_set(watcher *w, int wd, const char *path)
{
	if (wd < 0)
		return;
	if ((size_t)wd >= w->n_wd) {
		size_t n = w->n_wd ? w->n_wd : 64;
		while (n <= (size_t)wd)
			n *= 2;
		char **nv = realloc(w->wd_path, n * sizeof *nv);
		if (!nv)
			abort();
		memset(nv + w->n_wd, 0, (n - w->n_wd) * sizeof *nv);
		w->wd_path = nv;
		w->n_wd = n;
	}
	free(w->wd_path[wd]);
	w->wd_path[wd] = xstrdup(path);
}

static const char *wd_get(const watcher *w, int wd)
{
	return wd >= 0 && (size_t)wd < w->n_wd ? w->wd_path[wd] : NULL;
}

static void wd_clear(watcher *w, int wd)
{
	if (wd >= 0 && (size_t)wd < w->n_wd) {
		free(w->wd_path[wd]);
		w->wd_path[wd] = NULL;
	}
}

/* Stops watching dir and every folder below it. */
static void unwatch_under(watcher *w, const char *dir)
{
	for (size_t i = 0; i < w->n_wd; i++)
		if (w->wd_path[i] && under(w->wd_path[i], dir)) {
			inotify_rm_watch(w->fd, (int)i);
			wd_clear(w, (int)i);
		}
}

/* A watched folder renamed inside the trees: the kernel's watches stay, their names change. */
static void rename_under(watcher *w, const char *from, const char *to)
{
	size_t n = strlen(from);
	for (size_t i = 0; i < w->n_wd; i++)
		if (w->wd_path[i] && under(w->wd_path[i], from)) {
			char *np = malloc(strlen(to) + strlen(w->wd_path[i] + n) + 1);
			if (!np)
				abort();
			strcpy(np, to);
			strcat(np, w->wd_path[i] + n);
			free(w->wd_path[i]);
			w->wd_path[i] = np;
		}
}

static int add_watch_err(const char *dir, int e, struct err *err)
{
	if (e == ENOSPC)
		return err_set(err, DOSSIER_EIO, "cannot watch %s: the limit of inotify watches is reached; raise it "
		               "(sysctl fs.inotify.max_user_watches=524288)", dir);
	return err_set(err, e == EACCES ? DOSSIER_EPERM : DOSSIER_EIO, "cannot watch %s: %s", dir, strerror(e));
}

/*
 * Watches dir and the folders below it (hidden and ignored ones, and links to
 * folders, left out). With files_arrive, each file found is an arrival (a new
 * folder's content). A folder below that cannot be watched is skipped; dir
 * itself failing is an error.
 */
static int watch_tree(watcher *w, const char *dir, int files_arrive, double now, struct err *err)
{
	int wd = inotify_add_watch(w->fd, dir, WATCH_MASK);
	if (wd < 0)
		return add_watch_err(dir, errno, err);
	wd_set(w, wd, dir);
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *de;
	struct strv sub = {0};
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *p = path_join(dir, de->d_name);
		struct stat sb;
		if (ignored(w, p) || lstat(p, &sb) != 0) {
			free(p);
			continue;
		}
		if (S_ISDIR(sb.st_mode))
			strv_add(&sub, p);
		else if (files_arrive && (S_ISREG(sb.st_mode) || S_ISLNK(sb.st_mode)))
			arrived(w, p, now);
		free(p);
	}
	closedir(d);
	/* a folder below that cannot be watched is left out; the rest still is */
	for (size_t i = 0; i < sub.n; i++)
		watch_tree(w, sub.v[i], files_arrive, now, NULL);
	strv_free(&sub);
	return 0;
}

/* ------------------------------------------------------------------ the API */

int watcher_new(char *const *roots, int n, const struct watch_opts *o, watcher **out, struct err *err)
{
	*out = NULL;
	if (n < 1)
		return err_set(err, DOSSIER_EINVAL, "name at least one folder to watch");
	watcher *w = xcalloc(1, sizeof *w);
	if (o)
		w->o = *o;
	else
		watch_opts_default(&w->o);
	if (w->o.settle_s < 0)
		w->o.settle_s = 0;
	if (w->o.quiet_s < 0)
		w->o.quiet_s = 0;
	if (w->o.max_wait_s < w->o.quiet_s)
		w->o.max_wait_s = w->o.quiet_s;
	w->o.ignore = NULL;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		int e = errno;
		free(w);
		if (e == EMFILE)
			return err_set(err, DOSSIER_EIO, "cannot start watching: the limit of inotify instances is "
			               "reached; raise it (sysctl fs.inotify.max_user_instances=512)");
		return err_set(err, DOSSIER_EIO, "cannot start watching: inotify: %s", strerror(e));
	}
	if (o && o->ignore) {
		size_t k = 0;
		while (o->ignore[k])
			k++;
		w->ignore = xcalloc(k + 1, sizeof *w->ignore);
		for (size_t i = 0; i < k; i++) {
			char real[PATH_MAX];
			w->ignore[w->n_ignore++] = xstrdup(realpath(o->ignore[i], real) ? real : o->ignore[i]);
		}
	}
	w->roots = xcalloc((size_t)n + 1, sizeof *w->roots);
	double now = clock_mono_s();
	int rc = 0;
	for (int i = 0; i < n && !rc; i++) {
		char real[PATH_MAX];
		struct stat sb;
		if (!realpath(roots[i], real) || stat(real, &sb) != 0) {
			rc = err_set(err, DOSSIER_EINVAL, "cannot watch %s: %s", roots[i], strerror(errno));
			break;
		}
		if (!S_ISDIR(sb.st_mode)) {
			rc = err_set(err, DOSSIER_EINVAL, "cannot watch %s: not a folder (name the folder it is in)", roots[i]);
			break;
		}
		w->roots[w->n_roots++] = xstrdup(real);
		rc = watch_tree(w, real, 0, now, err);
	}
	if (rc) {
		watcher_free(w);
		return rc;
	}
	w->rescan = w->o.initial_scan;
	*out = w;
	return 0;
}

void watcher_free(watcher *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	for (int i = 0; i < w->n_roots; i++)
		free(w->roots[i]);
	free(w->roots);
	for (size_t i = 0; i < w->n_ignore; i++)
		free(w->ignore[i]);
	free(w->ignore);
	for (size_t i = 0; i < w->n_wd; i++)
		free(w->wd_path[i]);
	free(w->wd_path);
	for (size_t i = 0; i < w->cap_pend; i++)
		if (w->pend[i].path != TOMB)
			free(w->pend[i].path);
	free(w->pend);
	for (size_t i = 0; i < w->n_mv; i++)
		free(w->mv[i].path);
	free(w->mv);
	strv_free(&w->gone);
	strv_free(&w->gone_dirs);
	strv_free(&w->dirs_ready);
	free(w);
}

int watcher_fd(const watcher *w)
{
	return w->fd;
}

char *const *watcher_roots(const watcher *w, int *n)
{
	*n = w->n_roots;
	return w->roots;
}

size_t watcher_pending(const watcher *w)
{
	return w->n_pend + w->n_mv + w->gone.n + w->gone_dirs.n + w->dirs_ready.n;
}

void watcher_rescan(watcher *w)
{
	w->rescan = 1;
}

void watch_batch_clear(struct watch_batch *b)
{
	for (size_t i = 0; i < b->n_ingest; i++)
		free(b->ingest[i]);
	for (size_t i = 0; i < b->n_gone; i++)
		free(b->gone[i]);
	for (size_t i = 0; i < b->n_gone_dirs; i++)
		free(b->gone_dirs[i]);
	free(b->ingest);
	free(b->gone);
	free(b->gone_dirs);
	memset(b, 0, sizeof *b);
}

/* -------------------------------------------------------------- the events */

static void gone_file(watcher *w, const char *path, double now)
{
	struct pend *e = pend_find(w, path);
	if (e)
		pend_del(w, e);
	strv_add(&w->gone, path);
	if (!w->oldest)
		w->oldest = now;
}

static void gone_dir(watcher *w, const char *path, double now)
{
	unwatch_under(w, path);
	pend_drop_under(w, path);
	strv_add(&w->gone_dirs, path);
	if (!w->oldest)
		w->oldest = now;
}

static void new_dir(watcher *w, const char *path, double now)
{
	/* watched before its files are listed: a file made meanwhile is seen twice, never missed */
	watch_tree(w, path, 1, now, NULL);
}

static void moved_from(watcher *w, uint32_t cookie, const char *path, int is_dir, double now)
{
	if (w->n_mv == w->cap_mv) {
		w->cap_mv = w->cap_mv ? 2 * w->cap_mv : 16;
		void *nv = realloc(w->mv, w->cap_mv * sizeof *w->mv);
		if (!nv)
			abort();
		w->mv = nv;
	}
	struct moved_from *m = &w->mv[w->n_mv++];
	memset(m, 0, sizeof *m);
	m->cookie = cookie;
	m->path = xstrdup(path);
	m->is_dir = is_dir;
	m->t = now;
	struct pend *e = is_dir ? NULL : pend_find(w, path);
	if (e) {
		m->had_pend = 1;
		m->pend = *e;
		m->pend.path = NULL;
		pend_del(w, e);
	}
}

/* The rename away that this IN_MOVED_TO completes, or -1. */
static ssize_t moved_pair(watcher *w, uint32_t cookie)
{
	for (size_t i = 0; i < w->n_mv; i++)
		if (w->mv[i].cookie == cookie)
			return (ssize_t)i;
	return -1;
}

static void mv_remove(watcher *w, size_t i)
{
	free(w->mv[i].path);
	w->mv[i] = w->mv[--w->n_mv];
}

static void moved_to(watcher *w, uint32_t cookie, const char *path, int is_dir, double now)
{
	ssize_t i = cookie ? moved_pair(w, cookie) : -1;
	if (i < 0) {
		/* from outside the trees */
		if (is_dir)
			new_dir(w, path, now);
		else
			arrived(w, path, now);
		return;
	}
	struct moved_from *m = &w->mv[i];
	if (is_dir) {
		rename_under(w, m->path, path);
		/* the files below keep their dossiers: ingest sees them at their new
		 * paths (a move), then the old folder's documents left are gone */
		strv_add(&w->dirs_ready, path);
		strv_add(&w->gone_dirs, m->path);
		for (size_t k = 0; k < w->cap_pend; k++) {
			struct pend *e = &w->pend[k];
			if (e->path && e->path != TOMB && under(e->path, m->path))
				pend_del(w, e); /* the folder's walk takes it */
		}
	} else if (m->had_pend) {
		struct pend *e = pend_get(w, path, now);
		char *keep = e->path;
		*e = m->pend;
		e->path = keep;
		strv_add(&w->gone, m->path);
	} else {
		/* a settled file renamed: the new name is ready with the old one gone */
		mark_ready(w, pend_get(w, path, now), now);
		strv_add(&w->gone, m->path);
	}
	if (!w->oldest)
		w->oldest = now;
	mv_remove(w, (size_t)i);
}

/* Renames away that found no partner: moved out of the trees. */
static void expire_moves(watcher *w, double now, double grace)
{
	for (size_t i = 0; i < w->n_mv;) {
		struct moved_from *m = &w->mv[i];
		if (now - m->t < grace) {
			i++;
			continue;
		}
		if (m->is_dir)
			gone_dir(w, m->path, now);
		else {
			strv_add(&w->gone, m->path);
			if (!w->oldest)
				w->oldest = now;
		}
		mv_remove(w, i);
	}
}

static void on_event(watcher *w, const struct inotify_event *ev, double now)
{
	if (ev->mask & IN_Q_OVERFLOW) {
		w->overflow = 1;
		w->rescan = 1;
		return;
	}
	const char *dir = wd_get(w, ev->wd);
	if (ev->mask & IN_IGNORED) {
		wd_clear(w, ev->wd);
		return;
	}
	if (!dir)
		return;
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
		/* a root itself went away (a folder below is reported by its parent) */
		for (int i = 0; i < w->n_roots; i++)
			if (!strcmp(dir, w->roots[i])) {
				char *p = xstrdup(dir); /* dir is freed by the unwatching */
				gone_dir(w, p, now);
				free(p);
				break;
			}
		return;
	}
	if (!ev->len || !ev->name[0] || ev->name[0] == '.')
		return;
	char *path = path_join(dir, ev->name);
	int is_dir = (ev->mask & IN_ISDIR) != 0;
	if (ignored(w, path)) {
		free(path);
		return;
	}
	w->last_event = now;
	if (ev->mask & IN_CREATE) {
		if (is_dir)
			new_dir(w, path, now);
		else
			arrived(w, path, now);
	}
	if (ev->mask & IN_MODIFY && !is_dir) {
		struct pend *e = pend_get(w, path, now);
		e->state = PEND_WRITING;
		e->t_event = now;
	}
	if (ev->mask & IN_CLOSE_WRITE && !is_dir) {
		struct pend *e = pend_get(w, path, now);
		e->t_event = now;
		mark_ready(w, e, now);
	}
	if (ev->mask & IN_MOVED_FROM)
		moved_from(w, ev->cookie, path, is_dir, now);
	if (ev->mask & IN_MOVED_TO)
		moved_to(w, ev->cookie, path, is_dir, now);
	if (ev->mask & IN_DELETE) {
		if (is_dir)
			gone_dir(w, path, now);
		else
			gone_file(w, path, now);
	}
	free(path);
}

/* Reads every event waiting. 0, or DOSSIER_EIO. */
static int drain(watcher *w, struct err *err)
{
	for (;;) {
		ssize_t n = read(w->fd, w->buf, sizeof w->buf);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return err_set(err, DOSSIER_EIO, "reading file events failed: %s", strerror(errno));
		}
		if (n == 0)
			return 0;
		double now = clock_mono_s();
		for (char *p = w->buf; p < w->buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			on_event(w, ev, now);
			p += sizeof *ev + ev->len;
		}
	}
}

/* Settling paths whose size and mtime held still become ready; links that
 * lead out of the trees, folders and vanished names are dropped. */
static void settle(watcher *w, double now, double *next)
{
	for (size_t i = 0; i < w->cap_pend; i++) {
		struct pend *e = &w->pend[i];
		if (!e->path || e->path == TOMB || e->state != PEND_SETTLE)
			continue;
		double due = e->t_check + w->o.settle_s;
		if (now < due) {
			if (due < *next)
				*next = due;
			continue;
		}
		struct stat lsb, sb;
		if (lstat(e->path, &lsb) != 0 || stat(e->path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
			pend_del(w, e);
			continue;
		}
		if (S_ISLNK(lsb.st_mode)) {
			char real[PATH_MAX];
			if (!realpath(e->path, real) || !within_roots(w, real)) {
				pend_del(w, e); /* a link out of the watched folders is not followed */
				continue;
			}
		}
		if (sb.st_size == e->size && sb.st_mtim.tv_sec == e->mtime.tv_sec &&
		    sb.st_mtim.tv_nsec == e->mtime.tv_nsec) {
			mark_ready(w, e, now);
		} else {
			e->size = sb.st_size;
			e->mtime = sb.st_mtim;
			e->t_check = now;
			if (now + w->o.settle_s < *next)
				*next = now + w->o.settle_s;
		}
	}
}

static int ms_until(double t, double now)
{
	double ms = (t - now) * 1000.0;
	if (ms < 1)
		return 1;
	if (ms > 60000)
		return 60000;
	return (int)(ms + 0.999);
}

int watcher_next_batch(watcher *w, struct watch_batch *b, int *timeout_ms, struct err *err)
{
	memset(b, 0, sizeof *b);
	*timeout_ms = -1;
	int rc = drain(w, err);
	if (rc)
		return rc;
	double now = clock_mono_s();
	if (w->rescan) {
		/* the kernel lost events (or nothing was watched yet): watch every folder
		 * anew and take the roots whole; what waits now comes with it */
		struct strv in = {0}, gd = {0};
		for (int i = 0; i < w->n_roots; i++) {
			watch_tree(w, w->roots[i], 0, now, NULL);
			strv_add(&in, w->roots[i]);
			strv_add(&gd, w->roots[i]);
		}
		for (size_t i = 0; i < w->cap_pend; i++)
			if (w->pend[i].path && w->pend[i].path != TOMB)
				pend_del(w, &w->pend[i]);
		for (size_t i = 0; i < w->n_mv;)
			mv_remove(w, i);
		strv_free(&w->gone);
		strv_free(&w->gone_dirs);
		strv_free(&w->dirs_ready);
		b->ingest = strv_take(&in, &b->n_ingest);
		b->gone_dirs = strv_take(&gd, &b->n_gone_dirs);
		b->rescan = 1;
		b->overflow = w->overflow;
		w->rescan = w->overflow = 0;
		w->oldest = 0;
		return 0;
	}
	double next = now + 3600;
	expire_moves(w, now, w->o.quiet_s);
	if (w->n_mv && w->mv[0].t + w->o.quiet_s < next)
		next = w->mv[0].t + w->o.quiet_s;
	settle(w, now, &next);

	size_t n_ready = 0;
	for (size_t i = 0; i < w->cap_pend; i++)
		if (w->pend[i].path && w->pend[i].path != TOMB && w->pend[i].state == PEND_READY)
			n_ready++;
	int any = n_ready || w->gone.n || w->gone_dirs.n || w->dirs_ready.n;
	if (any) {
		double due_quiet = w->last_event + w->o.quiet_s;
		double due_max = (w->oldest ? w->oldest : now) + w->o.max_wait_s;
		double due = due_quiet < due_max ? due_quiet : due_max;
		if (now < due) {
			if (due < next)
				next = due;
			*timeout_ms = ms_until(next, now);
			return 0;
		}
		struct strv in = {0};
		for (size_t i = 0; i < w->cap_pend; i++) {
			struct pend *e = &w->pend[i];
			if (!e->path || e->path == TOMB || e->state != PEND_READY)
				continue;
			struct stat sb;
			if (stat(e->path, &sb) == 0 && S_ISREG(sb.st_mode))
				strv_add(&in, e->path); /* one gone before its batch is left out */
			pend_del(w, e);
		}
		for (size_t i = 0; i < w->dirs_ready.n; i++)
			strv_add(&in, w->dirs_ready.v[i]);
		strv_free(&w->dirs_ready);
		if (in.n > 1)
			qsort(in.v, in.n, sizeof *in.v, strcmp_p); /* documents queued in name order */
		b->ingest = strv_take(&in, &b->n_ingest);
		b->gone = strv_take(&w->gone, &b->n_gone);
		b->gone_dirs = strv_take(&w->gone_dirs, &b->n_gone_dirs);
		w->oldest = 0;
		if (w->n_pend == 0 && w->cap_pend > 4096) {
			free(w->pend); /* after a large burst, give the table back */
			w->pend = NULL;
			w->cap_pend = w->n_used = 0;
		}
		/* what still settles or is written comes back when its time is due */
		next = now + 3600;
		settle(w, now, &next);
	}
	int waiting_settle = 0, waiting_ready = 0;
	for (size_t i = 0; i < w->cap_pend; i++)
		if (w->pend[i].path && w->pend[i].path != TOMB) {
			waiting_settle |= w->pend[i].state == PEND_SETTLE;
			waiting_ready |= w->pend[i].state == PEND_READY;
		}
	if (waiting_ready) /* made ready by the settle pass just now */
		next = now + w->o.quiet_s < next ? now + w->o.quiet_s : next;
	if (waiting_settle || waiting_ready || w->n_mv)
		*timeout_ms = ms_until(next, now);
	return 0;
}

/* ------------------------------------------------------------ watch_apply */

struct gone_doc {
	int64_t id;
	char *path;
	double missing_at;
};

struct gone_list {
	struct gone_doc *v;
	size_t n, cap;
	char *const *dirs;
	size_t n_dirs;
};

static void gone_add(struct gone_list *g, const struct doc_rec *d)
{
	if (g->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 64;
		void *nv = realloc(g->v, g->cap * sizeof *g->v);
		if (!nv)
			abort();
		g->v = nv;
	}
	g->v[g->n++] = (struct gone_doc){d->id, xstrdup(d->path), d->missing_at};
}

static int gone_cmp(const void *a, const void *b)
{
	int64_t x = ((const struct gone_doc *)a)->id, y = ((const struct gone_doc *)b)->id;
	return x < y ? -1 : x > y;
}

static int collect_under(const struct doc_rec *d, void *user)
{
	struct gone_list *g = user;
	for (size_t i = 0; i < g->n_dirs; i++)
		if (under(d->path, g->dirs[i])) {
			gone_add(g, d);
			break;
		}
	return 0;
}

static int file_gone(const char *path)
{
	struct stat sb;
	return stat(path, &sb) != 0 && (errno == ENOENT || errno == ENOTDIR);
}

/*
 * Forgets a document whose file is gone (--prune): its frames, OCR pages and
 * children with it.
 */
static int watch_forget(store *st, const char *data_dir, int64_t id, char **moved_to, struct err *err)
{
	struct forget_stats fs;
	int rc = pipeline_forget_ev(st, data_dir, NULL, id, FORGET_PATH, &fs, err);
	if (!rc) {
		*moved_to = fs.moved_to;
		fs.moved_to = NULL;
		forget_stats_clear(&fs);
	}
	return rc;
}

/* A document whose file is gone while a copy of its content is there moves
 * to the copy (*moved_to, owned); DOSSIER_ENOTFOUND when it has none. */
static int watch_to_copy(store *st, int64_t id, char **moved_to, struct err *err)
{
	struct forget_stats fs;
	int rc = pipeline_move_to_copy(st, NULL, id, &fs, err);
	if (!rc) {
		*moved_to = fs.moved_to;
		fs.moved_to = NULL;
		forget_stats_clear(&fs);
	}
	return rc;
}

int watch_apply(store *st, classifier *cls, bus *bs, const struct watch_batch *b, const char *prune,
                struct watch_apply_stats *stats, struct err *err)
{
	struct watch_apply_stats local;
	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof *stats);
	int rc = 0;
	if (b->n_ingest && (rc = ingest_paths(st, cls, bs, b->ingest, (int)b->n_ingest, &stats->ingest, err)))
		return rc;

	/* documents to look at: the files named, and everything below the folders named */
	struct gone_list g = {0};
	for (size_t i = 0; i < b->n_ingest + b->n_gone; i++) {
		const char *p = i < b->n_ingest ? b->ingest[i] : b->gone[i - b->n_ingest];
		struct doc_rec d;
		if (store_doc_by_path(st, p, &d, NULL) == 0) {
			gone_add(&g, &d);
			doc_rec_clear(&d);
		}
	}
	struct strv dirs = {0};
	for (size_t i = 0; i < b->n_gone_dirs; i++)
		strv_add(&dirs, b->gone_dirs[i]);
	for (size_t i = 0; i < b->n_ingest; i++) {
		struct stat sb;
		if (stat(b->ingest[i], &sb) == 0 && S_ISDIR(sb.st_mode))
			strv_add(&dirs, b->ingest[i]);
	}
	if (dirs.n) {
		g.dirs = dirs.v;
		g.n_dirs = dirs.n;
		rc = store_doc_list(st, NULL, NULL, 0, 0, collect_under, &g, err);
	}
	strv_free(&dirs);

	/* each document once (a path can be named as arrived and as gone) */
	if (g.n > 1)
		qsort(g.v, g.n, sizeof *g.v, gone_cmp);
	size_t k = 0;
	for (size_t i = 0; i < g.n; i++) {
		if (k && g.v[k - 1].id == g.v[i].id) {
			free(g.v[i].path);
			continue;
		}
		g.v[k++] = g.v[i];
	}
	g.n = k;

	/* the state changes in one transaction; their events after it committed */
	int *what = xcalloc(g.n + 1, sizeof *what); /* 1 missing, 2 pruned, 3 back, 4 moved to a copy */
	char **moved = xcalloc(g.n + 1, sizeof *moved);
	int batch = 0;
	if (!rc && g.n > 1 && store_batch_begin(st, NULL) == 0)
		batch = 1;
	double now = clock_wall_s();
	for (size_t i = 0; i < g.n && !rc; i++) {
		struct gone_doc *d = &g.v[i];
		int gone = file_gone(d->path);
		if (gone && (rc = watch_to_copy(st, d->id, &moved[i], NULL)) == 0) {
			what[i] = 4; /* its content is still there, at another path */
		} else if (rc != DOSSIER_ENOTFOUND && gone) {
			err_set(err, rc, "moving document %lld to its copy", (long long)d->id);
		} else if ((rc = 0), gone && prune) {
			if ((rc = watch_forget(st, prune, d->id, &moved[i], err)) == DOSSIER_ENOTFOUND)
				rc = 0; /* forgotten meanwhile by someone else */
			else if (!rc)
				what[i] = 2;
		} else if (gone && d->missing_at <= 0) {
			if (!(rc = store_doc_set_missing(st, d->id, now, err)))
				what[i] = 1;
			d->missing_at = now;
		} else if (!gone && d->missing_at > 0) {
			if (!(rc = store_doc_set_missing(st, d->id, 0, err)))
				what[i] = 3;
			d->missing_at = 0;
		}
	}
	if (batch) {
		if (rc)
			store_batch_rollback(st);
		else
			rc = store_batch_commit(st, err);
	}
	for (size_t i = 0; i < g.n; i++) {
		if (!rc && what[i]) {
			if (what[i] == 1)
				stats->missing++;
			else if (what[i] == 2)
				stats->pruned++;
			else if (what[i] == 3)
				stats->back++;
			if (what[i] == 4)
				bus_emit(bs, "document_moved", g.v[i].id,
				         json_pack("{s:o,s:o}", "path", json_string_lossy(moved[i]), "from",
				                   json_string_lossy(g.v[i].path)));
			else if (what[i] != 3)
				bus_emit(bs, what[i] == 1 ? "document_missing" : "document_deleted", g.v[i].id,
				         json_pack("{s:o}", "path", json_string_lossy(g.v[i].path)));
		}
		free(moved[i]);
		free(g.v[i].path);
	}
	free(moved);
	free(what);
	free(g.v);
	return rc;
}

int watch_run(watcher *w, const struct watch_run_params *p, struct err *err)
{
	for (;;) {
		struct watch_batch b;
		int timeout_ms;
		int rc = watcher_next_batch(w, &b, &timeout_ms, err);
		if (rc)
			return rc;
		if (b.n_ingest || b.n_gone || b.n_gone_dirs) {
			struct watch_apply_stats s;
			struct err e = {0};
			int arc = watch_apply(p->st, p->cls, p->bus, &b, p->prune_data_dir, &s, &e);
			if (arc)
				watcher_rescan(w);
			if (p->on_batch)
				p->on_batch(p->user, &b, &s, arc, &e);
			watch_batch_clear(&b);
			if (arc)
				timeout_ms = 1000; /* the rescan comes after a pause, not in a tight loop */
			else
				continue; /* events came meanwhile: read them before waiting */
		}
		struct pollfd fds[2] = {{w->fd, POLLIN, 0}, {p->stop_fd, POLLIN, 0}};
		int n = poll(fds, p->stop_fd >= 0 ? 2 : 1, timeout_ms);
		if (n < 0 && errno != EINTR)
			return err_set(err, DOSSIER_EIO, "waiting for file events failed: %s", strerror(errno));
		if (n > 0 && p->stop_fd >= 0 && fds[1].revents)
			return 0;
	}
}
