/*
 * children.c — child documents, their blobs and their parent.
 */
#include "pipeline/children.h"
#include "pipeline/ingest.h"
#include "pipeline/ingest_decide.h"
#include "pipeline/kinds.h"
#include "pipeline/forget.h"
#include "core/err.h"
#include "core/util.h"
#include "media/archive.h"
#include "media/mail.h"
#include "plan/planner.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int collect_before(const struct doc_child *ch, void *user)
{
	struct children *c = user;
	c->before = realloc(c->before, (c->n_before + 1) * sizeof *c->before);
	if (!c->before)
		abort();
	c->before[c->n_before++] = ch->id;
	return 0;
}

struct id_list {
	int64_t *v;
	size_t n, cap;
	int64_t skip;   /* a subtree left out */
};

static int collect_id(const struct doc_child *ch, void *user)
{
	struct id_list *l = user;
	if (ch->id == l->skip)
		return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = realloc(l->v, l->cap * sizeof *l->v);
		if (!l->v)
			abort();
	}
	l->v[l->n++] = ch->id;
	return 0;
}

#define CHILD_BUDGET_MAX_DOCS 200000  /* documents visited to sum a top-level file's expanded bytes */

/* The bytes of every document inside root, the subtree of skip aside. */
static uint64_t bytes_inside(store *st, int64_t root, int64_t skip)
{
	struct id_list l = {.skip = skip};
	uint64_t sum = 0;
	store_doc_children(st, root, collect_id, &l, NULL);
	for (size_t i = 0; i < l.n && i < CHILD_BUDGET_MAX_DOCS; i++) {
		int64_t id = l.v[i];
		struct doc_rec d;
		if (store_doc_get(st, id, &d, NULL) == 0) {
			sum += d.bytes > 0 ? (uint64_t)d.bytes : 0;
			doc_rec_clear(&d);
		}
		store_doc_children(st, id, collect_id, &l, NULL);   /* appends: a walk by levels */
	}
	free(l.v);
	return sum;
}

int children_begin(struct step_env *env, const struct doc_rec *doc, struct children *out, struct err *err)
{
	memset(out, 0, sizeof *out);
	out->env = env;
	out->doc = doc;
	out->max_depth = env->cfg && env->cfg->max_nesting_depth > 0 ? env->cfg->max_nesting_depth : CHILD_MAX_DEPTH;
	if (!env->st)
		return err_set(err, DOSSIER_EINVAL, "%s: no store to record its members in", doc->path);
	/* how deep this document already is, and the top-level file it is in */
	int64_t id = doc->id, parent = 0;
	for (int d = 0; d <= out->max_depth + 1; d++) {
		if (store_doc_parent(env->st, id, &parent, NULL, 0, NULL) || !parent)
			break;
		out->depth++;
		id = parent;
	}
	if (out->depth >= out->max_depth)
		return err_set(err, DOSSIER_ETOOBIG,
		               "%s: nested %d levels deep; members deeper than %d levels are not unpacked "
		               "(max_nesting_depth)", doc->name ? doc->name : doc->path, out->depth, out->max_depth);
	out->root = out->depth > 0 ? id : doc->id;
	if (out->depth > 0)
		out->expanded_before = bytes_inside(env->st, id, doc->id);
	snprintf(out->tmp_dir, sizeof out->tmp_dir, "%s/tmp", env->data_dir ? env->data_dir : ".");
	int rc = mkdir_p(out->tmp_dir, err);
	if (rc)
		return rc;
	out->list = json_array();
	return store_doc_children(env->st, doc->id, collect_before, out, err);
}

/* The member's extension (a dot and up to 8 letters or digits), for the
 * classifier's tie-breaks, into out; "" when it has none. */
static void safe_ext(const char *place, char *out, size_t n)
{
	out[0] = '\0';
	const char *slash = strrchr(place, '/');
	const char *base = slash ? slash + 1 : place;
	const char *dot = strrchr(base, '.');
	if (!dot || dot == base || strlen(dot) > 9 || n < 10)
		return;
	for (const char *p = dot + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
			return;
	snprintf(out, n, "%s", dot);
}

static int adopt(struct children *c, int64_t id, const char *place, struct err *err);

int children_add(struct children *c, const char *place, const char *file, int64_t *id_out, struct err *err)
{
	if (id_out)
		*id_out = 0;
	struct step_env *env = c->env;
	char sha[65], ext[16];
	int rc = sha256_file(file, sha, err);
	if (rc) {
		unlink(file);
		return rc;
	}
	safe_ext(place, ext, sizeof ext);
	char dir[4200], blob[4300];
	snprintf(dir, sizeof dir, "%s/blobs/%.2s", env->data_dir ? env->data_dir : ".", sha);
	if ((rc = mkdir_p(dir, err))) {
		unlink(file);
		return rc;
	}
	char real[4096];
	if (realpath(dir, real))  /* documents' paths are absolute */
		snprintf(dir, sizeof dir, "%s", real);
	snprintf(blob, sizeof blob, "%s/%s%s", dir, sha, ext);
	struct stat sb;
	int64_t id = 0;
	struct doc_rec known;
	if (stat(blob, &sb) == 0) {
		unlink(file);  /* the same content is kept already */
		if (store_doc_by_path(env->st, blob, &known, NULL) == 0) {
			id = known.id;  /* and is a document (of this parent or another): nothing to queue */
			doc_rec_clear(&known);
		}
	} else if (rename(file, blob) != 0) {
		int e = errno;
		unlink(file);
		return err_set(err, DOSSIER_EIO, "cannot keep a member of %s in %s: %s", c->doc->path, dir, strerror(e));
	}
	if (!id) {
		if (!env->cls && (rc = classifier_new(&env->cls, err)))
			return rc;
		struct ingest_stats is = {0};
		if ((rc = ingest_file(env->st, env->cls, env->bus, blob, &is, &id, err)))
			return rc;
	}
	if (id_out)
		*id_out = id;
	return adopt(c, id, place, err);
}

/* id becomes (or stays) a child at place and is listed; a document another
 * parent holds keeps that parent. */
static int adopt(struct children *c, int64_t id, const char *place, struct err *err)
{
	struct step_env *env = c->env;
	int rc;
	int64_t parent = 0;
	if (id && store_doc_parent(env->st, id, &parent, NULL, 0, NULL) == 0 && (!parent || parent == c->doc->id)) {
		const char *slash = strrchr(place, '/');
		const char *name = slash && slash[1] ? slash + 1 : place;
		if ((rc = store_doc_set_parent(env->st, id, c->doc->id, place, err)) ||
		    (rc = store_doc_set_name(env->st, id, name, err)))
			return rc;
	}
	if (id) {
		struct doc_rec d;
		json_t *e = json_pack("{s:I,s:o}", "id", (json_int_t)id, "place", json_string_lossy(place));
		if (store_doc_get(env->st, id, &d, NULL) == 0) {
			json_object_set_new(e, "kind", json_string(d.kind));
			doc_rec_clear(&d);
		}
		json_array_append_new(c->list, e);
		for (size_t i = 0; i < c->n_before; i++)
			if (c->before[i] == id)
				c->before[i] = 0;  /* still a child */
	}
	return 0;
}

int children_add_encrypted(struct children *c, const char *place, int64_t size, int64_t mtime, int64_t *id_out,
                           struct err *err)
{
	if (id_out)
		*id_out = 0;
	struct step_env *env = c->env;
	/* no bytes to address it by: this version of the member (its parent, its
	 * place, the size and time the archive states) names it, and an empty
	 * file at that name keeps 'prune' from taking it for gone */
	char key[4200], hex[65], ext[16];
	snprintf(key, sizeof key, "%lld\n%s\n%lld\n%lld", (long long)c->doc->id, place, (long long)size,
	         (long long)mtime);
	struct sha256 h;
	sha256_init(&h);
	sha256_update(&h, key, strlen(key));
	sha256_final_hex(&h, hex);
	safe_ext(place, ext, sizeof ext);
	char dir[4200], path[4400];
	snprintf(dir, sizeof dir, "%s/blobs/%.2s", env->data_dir ? env->data_dir : ".", hex);
	int rc = mkdir_p(dir, err);
	if (rc)
		return rc;
	char real[4096];
	if (realpath(dir, real))
		snprintf(dir, sizeof dir, "%s", real);
	snprintf(path, sizeof path, "%s/%s.encrypted%s", dir, hex, ext);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_set(err, DOSSIER_EIO, "cannot record a member of %s in %s: %s", c->doc->path, dir, strerror(errno));
	close(fd);
	/* its kind, as its name says */
	enum kind_match bm = KIND_MATCH_NO;
	const char *kind = "unsupported";
	for (size_t i = 0; i < kind_count(); i++) {
		struct file_type ft = {0};
		snprintf(ft.mime, sizeof ft.mime, "application/octet-stream");
		enum kind_match m = kind_at(i)->recognise(ft.mime, path, &ft);
		if (m > bm) {
			bm = m;
			kind = kind_at(i)->name;
		}
	}
	char msg[ERR_MSG_MAX];
	snprintf(msg, sizeof msg,
	         "%s in %s: the member " MEDIA_ENCRYPTED_WORDS ": extract it from the archive with its password "
	         "and analyse the extracted copy",
	         place, c->doc->name ? c->doc->name : c->doc->path);
	struct doc_input in = {.path = path, .sha256 = "", .mime = "application/octet-stream", .kind = kind,
	                       .bytes = size > 0 ? size : 0, .mtime = mtime, .status = "encrypted", .error = msg};
	int64_t id = 0;
	enum ingest_outcome o;
	if ((rc = ingest_decide(env->st, &in, NULL, 0, &id, &o, err)))
		return rc;
	if (env->bus)
		bus_emit(env->bus, "document_failed", id,
		         json_pack("{s:o,s:o,s:s}", "path", json_string_lossy(path), "error", json_string_lossy(msg), "status",
		                   "encrypted"));
	if (id_out)
		*id_out = id;
	return adopt(c, id, place, err);
}

static void forget_gone(struct children *c, int64_t id)
{
	struct forget_stats fs;
	if (pipeline_forget(c->env->st, c->env->data_dir, id, &fs, NULL) == 0)
		forget_stats_clear(&fs);
}

void children_end(struct children *c, json_t **list)
{
	/* members of an earlier version of the parent that are gone now */
	for (size_t i = 0; c->env && c->env->st && i < c->n_before; i++)
		if (c->before[i])
			forget_gone(c, c->before[i]);
	free(c->before);
	c->before = NULL;
	c->n_before = 0;
	if (list)
		*list = c->list;
	else
		json_decref(c->list);
	c->list = NULL;
}

struct unpack_ctx {
	struct children *kids;
	struct err *err;
	int rc;
};

static int on_member(const char *name, const char *file, uint64_t bytes, void *user)
{
	(void)bytes;
	struct unpack_ctx *u = user;
	if ((u->rc = children_add(u->kids, name, file, NULL, u->err)))
		return u->rc;
	return u->kids->env->cancel && *u->kids->env->cancel ? DOSSIER_ECANCELLED : 0;
}

static int on_encrypted(const char *name, int64_t size, int64_t mtime, void *user)
{
	struct unpack_ctx *u = user;
	return u->rc = children_add_encrypted(u->kids, name, size, mtime, NULL, u->err);
}

/* The bytes expanded under each top-level file while unpacks under it run in
 * this process (lanes run siblings at once): one budget for all its levels. */
#define BUDGET_SLOTS 64
static pthread_mutex_t budget_mu = PTHREAD_MUTEX_INITIALIZER;
static struct budget {
	int64_t root;
	uint64_t expanded;
	int users;
} budgets[BUDGET_SLOTS];

struct charge_ctx {
	struct budget *b;      /* NULL when every slot was taken: local counting */
	uint64_t local, max;
};

static int charge(uint64_t bytes, void *user)
{
	struct charge_ctx *cc = user;
	int over;
	pthread_mutex_lock(&budget_mu);
	uint64_t *n = cc->b ? &cc->b->expanded : &cc->local;
	over = *n + bytes > cc->max;
	if (!over)
		*n += bytes;
	pthread_mutex_unlock(&budget_mu);
	return over;
}

int children_unpack(struct children *c, const char *path, const struct archive_limits *lim, json_t **summary,
                    struct err *err)
{
	struct unpack_ctx u = {c, err, 0};
	struct archive_limits l = lim ? *lim : (struct archive_limits){0};
	struct charge_ctx cc = {.local = c->expanded_before, .max = l.max_expanded ? l.max_expanded : 1ull << 30};
	pthread_mutex_lock(&budget_mu);
	for (int i = 0; i < BUDGET_SLOTS && !cc.b; i++)
		if (budgets[i].users && budgets[i].root == c->root)
			cc.b = &budgets[i];
	for (int i = 0; i < BUDGET_SLOTS && !cc.b; i++)
		if (!budgets[i].users) {
			cc.b = &budgets[i];
			*cc.b = (struct budget){.root = c->root, .expanded = c->expanded_before};
		}
	if (cc.b)
		cc.b->users++;
	pthread_mutex_unlock(&budget_mu);
	l.charge = charge;
	l.charge_user = &cc;
	l.on_encrypted = on_encrypted;
	l.encrypted_user = &u;
	int rc = archive_unpack(path, c->tmp_dir, &l, on_member, &u, summary, err);
	pthread_mutex_lock(&budget_mu);
	if (cc.b)
		cc.b->users--;
	pthread_mutex_unlock(&budget_mu);
	return rc;
}

/* ------------------------------------------------ counting before a run */

/* The MIME type an extension stands for, for the kinds' recognisers. */
static const char *mime_of_ext(const char *name)
{
	static const struct {
		const char *ext, *mime;
	} t[] = {
		{".txt", "text/plain"}, {".text", "text/plain"}, {".log", "text/plain"}, {".md", "text/markdown"},
		{".markdown", "text/markdown"}, {".html", "text/html"}, {".htm", "text/html"}, {".csv", "text/csv"},
		{".tsv", "text/tab-separated-values"}, {".rtf", "text/rtf"}, {".pdf", "application/pdf"},
		{".png", "image/png"}, {".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"}, {".gif", "image/gif"},
		{".tif", "image/tiff"}, {".tiff", "image/tiff"}, {".bmp", "image/bmp"}, {".webp", "image/webp"},
		{".heic", "image/heic"}, {".mp3", "audio/mpeg"}, {".wav", "audio/x-wav"}, {".ogg", "audio/ogg"},
		{".oga", "audio/ogg"}, {".opus", "audio/ogg"}, {".flac", "audio/flac"}, {".m4a", "audio/mp4"},
		{".mp4", "video/mp4"}, {".m4v", "video/mp4"}, {".mkv", "video/x-matroska"}, {".mov", "video/quicktime"},
		{".avi", "video/x-msvideo"}, {".webm", "video/webm"},
		{".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
		{".pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
		{".odt", "application/vnd.oasis.opendocument.text"},
		{".ods", "application/vnd.oasis.opendocument.spreadsheet"},
		{".odp", "application/vnd.oasis.opendocument.presentation"}, {".epub", "application/epub+zip"},
		{".eml", "message/rfc822"}, {".mbox", "application/mbox"}, {".zip", "application/zip"},
		{".tar", "application/x-tar"}, {".tgz", "application/gzip"}, {".gz", "application/gzip"},
		{".xz", "application/x-xz"}, {".7z", "application/x-7z-compressed"},
	};
	const char *slash = strrchr(name, '/');
	const char *dot = strrchr(slash ? slash + 1 : name, '.');
	for (size_t i = 0; dot && i < sizeof t / sizeof t[0]; i++)
		if (!strcasecmp(dot, t[i].ext))
			return t[i].mime;
	return "application/octet-stream";
}

void children_kind_of(const char *name, const char *mime, char *kind, size_t n)
{
	char m[128], fake[160], ext[16];
	if (!mime || !*mime || !strcasecmp(mime, "application/octet-stream") || !strncasecmp(mime, "application/x-download", 22))
		mime = mime_of_ext(name);
	size_t i;
	for (i = 0; mime[i] && mime[i] != ';' && !isspace((unsigned char)mime[i]) && i + 1 < sizeof m; i++)
		m[i] = (char)tolower((unsigned char)mime[i]);
	m[i] = 0;
	/* the recognisers look at a path's extension; this one names no file a
	 * member's name could point at */
	safe_ext(name, ext, sizeof ext);
	snprintf(fake, sizeof fake, "/proc/self/.dossier-no-such-dir/member%s", ext);
	enum kind_match best = KIND_MATCH_NO;
	snprintf(kind, n, "unsupported");
	for (size_t k = 0; k < kind_count(); k++) {
		struct file_type ft = {0};
		snprintf(ft.mime, sizeof ft.mime, "%s", m);
		enum kind_match km = kind_at(k)->recognise(m, fake, &ft);
		if (km > best) {
			best = km;
			snprintf(kind, n, "%s", kind_at(k)->name);
		}
	}
}

struct scan {
	struct plan_kind_use *kinds;
	size_t n;
	uint64_t seen;
	/* counts by kind index before extrapolation */
	uint64_t by[PLAN_MAX_KINDS];
	int office;
	classifier *cls;   /* for attachments' content, made on first use (owned) */
	int cls_failed;
};

static void scan_count(struct scan *s, const char *kind)
{
	for (size_t i = 0; i < s->n && i < PLAN_MAX_KINDS; i++)
		if (s->kinds[i].name && !strcmp(s->kinds[i].name, kind)) {
			s->by[i]++;
			s->seen++;
			return;
		}
}

static void scan_add(struct scan *s, const char *name, const char *mime)
{
	char kind[32];
	children_kind_of(name, mime, kind, sizeof kind);
	scan_count(s, kind);
}

/* An attachment's first bytes: its kind by its content (the classifier
 * ingest uses, on a copy of the head), unless the content says nothing more
 * than its name and type do. */
static void scan_head(const char *name, const char *type, const void *head, size_t n, void *user)
{
	struct scan *s = user;
	char kind[32];
	children_kind_of(name, type, kind, sizeof kind);
	if (!s->cls && !s->cls_failed && classifier_new(&s->cls, NULL))
		s->cls_failed = 1;
	const char *td = getenv("TMPDIR");
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s/dossier-head-XXXXXX", td && *td ? td : "/tmp");
	int fd = s->cls ? mkstemp(tmp) : -1;
	if (fd >= 0) {
		int ok = write(fd, head, n) == (ssize_t)n;
		close(fd);
		struct file_type ft;
		/* content wins, except a zip or text that its name or type tells better
		 * (a .docx whose head looks like any zip, a .csv that is text) */
		if (ok && classify_file(s->cls, tmp, &ft, NULL) == 0 && strcmp(ft.kind, "unsupported") &&
		    (!strcmp(kind, "unsupported") || (strcmp(ft.kind, "archive") && strcmp(ft.kind, "text"))))
			snprintf(kind, sizeof kind, "%s", ft.kind);
		unlink(tmp);
	}
	scan_count(s, kind);
}

static int scan_member(const char *name, int64_t size, int encrypted, int is_archive, void *user)
{
	struct scan *s = user;
	if (encrypted) /* recorded as encrypted: no step, no model */
		return 0;
	if (s->office && !office_child_wanted(name, size, NULL))
		return 0;
	if (is_archive) {
		/* an archive by its content; a zip container (.docx, .epub, ...) by its name */
		char kind[32];
		children_kind_of(name, NULL, kind, sizeof kind);
		int doc = !strcmp(kind, "office") || !strcmp(kind, "epub");
		scan_count(s, doc ? kind : "archive");
		return doc ? ARCHIVE_LIST_NO_OPEN : 0;
	}
	scan_add(s, name, NULL);
	return 0;
}

/* case-insensitive strstr */
static const char *ci_find(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return hay;
	return NULL;
}

/* A mail too large to parse here: the attachment headers of its first
 * CHILD_SCAN_MAX_MAIL bytes (Content-Disposition: attachment, with a file name). */
static double scan_mail_headers(const char *path, struct scan *s, uint64_t size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 1;
	char line[1024];
	uint64_t used = 0;
	int pending = 0; /* an attachment's headers are open: its file name may follow */
	while (used < CHILD_SCAN_MAX_MAIL && fgets(line, sizeof line, f)) {
		used += strlen(line);
		if (!strncasecmp(line, "Content-Disposition:", 20)) {
			pending = ci_find(line, "attachment") != NULL;
		} else if (pending && (line[0] == '\n' || line[0] == '\r')) {
			scan_add(s, "", NULL); /* no name: of no known kind */
			pending = 0;
			continue;
		} else if (!pending || !(line[0] == ' ' || line[0] == '\t' || strchr(line, ':'))) {
			continue;
		}
		const char *fn = pending ? ci_find(line, "filename=") : NULL;
		if (fn) {
			fn += 9;
			char name[256];
			size_t k = 0;
			if (*fn == '"')
				fn++;
			while (*fn && *fn != '"' && *fn != ';' && *fn != '\r' && *fn != '\n' && k + 1 < sizeof name)
				name[k++] = *fn++;
			name[k] = 0;
			scan_add(s, name, NULL);
			pending = 0;
		}
	}
	fclose(f);
	return size > used && used ? (double)used / (double)size : 1;
}

static double scan_mail(const char *path, struct scan *s)
{
	struct stat sb;
	if (stat(path, &sb) != 0)
		return 1;
	if ((uint64_t)sb.st_size > CHILD_SCAN_MAX_MAIL)
		return scan_mail_headers(path, s, (uint64_t)sb.st_size);
	/* each attachment part counted by its content (scan_head); a forwarded
	 * message, which has no head, by its type */
	struct mail_limits lim = {.max_text = 1, .on_head = scan_head, .user = s};
	json_t *r = NULL;
	if (mail_extract(path, &lim, &r, NULL) == 0) {
		size_t i;
		json_t *a;
		json_array_foreach(json_object_get(r, "attachments"), i, a) {
			const char *type = json_string_value(json_object_get(a, "type"));
			if (type && !strcasecmp(type, "message/rfc822"))
				scan_add(s, "", type);
		}
	}
	json_decref(r);
	return 1;
}

uint64_t children_plan_scan(const char *path, const char *kind, struct plan_kind_use *kinds, size_t n)
{
	struct scan s = {.kinds = kinds, .n = n};
	double fraction = 1;
	if (!strcmp(kind, "archive") || !strcmp(kind, "office")) {
		s.office = !strcmp(kind, "office");
		/* an archive's archives are counted with their members, as the run opens them */
		struct archive_scan_limits sl = {.max_depth = s.office ? 1 : CHILD_MAX_DEPTH};
		if (archive_list(path, &sl, scan_member, &s, &fraction, NULL))
			return 0;
	} else if (!strcmp(kind, "mail")) {
		fraction = scan_mail(path, &s);
		classifier_free(s.cls);
	} else {
		return 0;
	}
	uint64_t total = 0;
	for (size_t i = 0; i < n && i < PLAN_MAX_KINDS; i++) {
		if (!s.by[i])
			continue;
		uint64_t c = fraction < 1 ? (uint64_t)((double)s.by[i] / fraction + 0.5) : s.by[i];
		kinds[i].children += c;
		if (fraction < 1)
			kinds[i].children_src = "estimated";
		else if (!kinds[i].children_src)
			kinds[i].children_src = "scanned";
		total += c;
	}
	return total;
}
