/*
 * office.c — OOXML, ODF and EPUB text through libarchive (the zip, by stream)
 * and libxml2's SAX push parser. One member is read per pass over the
 * archive, in the order the document needs (properties, shared strings,
 * slides in presentation order, chapters in spine order).
 */
#include "media/office.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <libxml/HTMLparser.h>
#include <libxml/parser.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/util.h"
#include "media/archive.h"

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);
	if (!q)
		abort(); /* as xcalloc: small tables only */
	return q;
}

void office_limits_default(struct office_limits *l)
{
	l->max_expanded = OFFICE_MAX_EXPANDED;
	l->max_text = CAP_TEXT;
	l->max_members = OFFICE_MAX_MEMBERS;
}

static void limits_fill(struct office_limits *l, const struct office_limits *in)
{
	office_limits_default(l);
	if (in) {
		if (in->max_expanded)
			l->max_expanded = in->max_expanded;
		if (in->max_text)
			l->max_text = in->max_text;
		if (in->max_members)
			l->max_members = in->max_members;
	}
}

/* what a message about an encrypted document tells the user to do */
#define ENCRYPTED_FIX "open it with its password, save an unencrypted copy and analyse that copy"

/* ---- the zip -------------------------------------------------------------- */

struct zip {
	const char *path;           /* for messages */
	struct office_limits lim;
	uint64_t expanded;          /* decompressed so far, all passes */
	char **names;               /* member names, in archive order */
	size_t n_names;
	int encrypted;              /* some member is encrypted */
};

static struct archive *zip_open(const char *path, struct err *err)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_zip(a);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
		err_set(err, DOSSIER_EFORMAT, "%s: not a readable ZIP container (%s): the file is damaged or of another type",
		        path, archive_error_string(a) ? archive_error_string(a) : "unknown error");
		archive_read_free(a);
		return NULL;
	}
	return a;
}

static int zip_fail(struct zip *z, struct archive *a, struct err *err)
{
	const char *m = archive_error_string(a);
	int rc = err_set(err, DOSSIER_EFORMAT,
	                 "%s: the ZIP container is truncated or damaged (%s): re-copy or re-save the file", z->path,
	                 m ? m : "unexpected end");
	return rc;
}

static void zip_clear(struct zip *z)
{
	for (size_t i = 0; i < z->n_names; i++)
		free(z->names[i]);
	free(z->names);
	z->names = NULL;
	z->n_names = 0;
}

/* Pass 0: the member names (nothing is decompressed). */
static int zip_list(struct zip *z, struct err *err)
{
	struct archive *a = zip_open(z->path, err);
	if (!a)
		return DOSSIER_EFORMAT;
	struct archive_entry *e;
	size_t cap = 0;
	int r, rc = 0;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		if (z->n_names >= z->lim.max_members)
			break;
		const char *name = archive_entry_pathname(e);
		if (archive_entry_is_encrypted(e))
			z->encrypted = 1;
		if (z->n_names == cap) {
			cap = cap ? cap * 2 : 32;
			z->names = xrealloc(z->names, cap * sizeof *z->names);
		}
		z->names[z->n_names++] = xstrdup(name ? name : "");
	}
	if (r == ARCHIVE_FATAL)
		rc = zip_fail(z, a, err);
	archive_read_free(a);
	if (!rc && z->n_names == 0)
		rc = err_set(err, DOSSIER_EFORMAT, "%s: the ZIP container has no members: nothing to read", z->path);
	return rc;
}

static int zip_has(const struct zip *z, const char *name)
{
	for (size_t i = 0; i < z->n_names; i++)
		if (!strcmp(z->names[i], name))
			return 1;
	return 0;
}

typedef int (*sink_fn)(void *ctx, const char *data, size_t n); /* non-zero: stop reading */

/* Streams member `name` into sink. 0 if done (or sink stopped), DOSSIER_ENOTFOUND
 * if absent, DOSSIER_ETOOBIG past the expansion cap, DOSSIER_EPERM encrypted. */
/* Streams the current entry's data (named `name`) into sink, counting it against
 * the expansion cap. 0, DOSSIER_EPERM (encrypted), DOSSIER_ETOOBIG or DOSSIER_EFORMAT. */
static int entry_pump(struct zip *z, struct archive *a, struct archive_entry *e, const char *name, sink_fn sink,
                      void *ctx, struct err *err)
{
	if (archive_entry_is_encrypted(e))
		return err_set(err, DOSSIER_EPERM,
		               "%s: the document " MEDIA_ENCRYPTED_WORDS " (member %s needs a password): " ENCRYPTED_FIX,
		               z->path, name);
	char blk[65536];
	for (;;) {
		la_ssize_t got = archive_read_data(a, blk, sizeof blk);
		if (got == 0)
			return 0;
		if (got < 0)
			return zip_fail(z, a, err);
		z->expanded += (uint64_t)got;
		if (z->expanded > z->lim.max_expanded)
			return err_set(err, DOSSIER_ETOOBIG,
			               "%s: member %s expands past the cap of %llu decompressed bytes (a zip bomb?); "
			               "reading stopped there: raise the limit only for a file you trust",
			               z->path, name, (unsigned long long)z->lim.max_expanded);
		if (sink(ctx, blk, (size_t)got))
			return 0;
	}
}

static int zip_stream(struct zip *z, const char *name, sink_fn sink, void *ctx, struct err *err)
{
	struct archive *a = zip_open(z->path, err);
	if (!a)
		return DOSSIER_EFORMAT;
	struct archive_entry *e;
	int r, rc = DOSSIER_ENOTFOUND;
	size_t seen = 0;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		if (++seen > z->lim.max_members)
			break;
		const char *p = archive_entry_pathname(e);
		if (!p || strcmp(p, name))
			continue;
		rc = entry_pump(z, a, e, name, sink, ctx, err);
		break;
	}
	if (r == ARCHIVE_FATAL && rc == DOSSIER_ENOTFOUND)
		rc = zip_fail(z, a, err);
	archive_read_free(a);
	return rc;
}

struct small_ctx {
	struct buf b;
};
static int small_sink(void *ctx, const char *data, size_t n)
{
	struct small_ctx *s = ctx;
	return buf_append(&s->b, data, n) != 0;
}
/* A small member (mimetype, manifest) into memory, at most max bytes. */
static int zip_small(struct zip *z, const char *name, size_t max, char **out, struct err *err)
{
	struct small_ctx s;
	buf_init(&s.b, max);
	int rc = zip_stream(z, name, small_sink, &s, err);
	if (rc) {
		buf_free(&s.b);
		return rc;
	}
	*out = buf_take(&s.b);
	return 0;
}

/* ---- text collection ------------------------------------------------------ */

enum blk { B_PARA, B_HEAD, B_LIST, B_ROW };

struct out {
	struct buf text;
	size_t max;
	int truncated;
	int in_block;        /* a block is open */
	enum blk kind;
	int level;           /* heading level */
	int started;         /* the block's separator and prefix are written */
	enum blk last_kind;  /* the previous written block */
	int collapse;        /* collapse white space (HTML) */
	int space_pending;
	struct buf head;     /* the open heading's text */
	json_t *headings;
	size_t pending_tabs; /* empty cells before the next written cell */
};

static void out_init(struct out *o, size_t max)
{
	memset(o, 0, sizeof *o);
	o->max = max;
	buf_init(&o->text, max);
	buf_init(&o->head, 512);
	o->headings = json_array();
	o->last_kind = B_PARA;
}

static void out_free(struct out *o)
{
	buf_free(&o->text);
	buf_free(&o->head);
	json_decref(o->headings);
}

static void out_raw(struct out *o, const char *s, size_t n)
{
	if (o->truncated)
		return;
	if (buf_append(&o->text, s, n)) {
		/* keep what fits, cut at a UTF-8 boundary */
		size_t room = o->max > o->text.len ? o->max - o->text.len : 0;
		while (room > 0 && room < n && ((unsigned char)s[room] & 0xC0) == 0x80)
			room--;
		if (room)
			buf_append(&o->text, s, room);
		o->truncated = 1;
	}
}

static void block_begin(struct out *o, enum blk k, int level)
{
	o->in_block = 1;
	o->kind = k;
	o->level = level;
	o->started = 0;
	o->space_pending = 0;
	o->pending_tabs = 0;
	buf_reset(&o->head);
}

static void block_start_now(struct out *o)
{
	if (o->started)
		return;
	o->started = 1;
	size_t l = o->text.len;
	if (l) {
		int single = (o->kind == B_LIST && o->last_kind == B_LIST) || (o->kind == B_ROW && o->last_kind == B_ROW);
		if (o->text.data[l - 1] != '\n')
			out_raw(o, "\n", 1);
		if (!single)
			out_raw(o, "\n", 1);
	}
	if (o->kind == B_HEAD) {
		int lv = o->level < 1 ? 1 : o->level > 6 ? 6 : o->level;
		out_raw(o, "######", (size_t)lv);
		out_raw(o, " ", 1);
	} else if (o->kind == B_LIST) {
		out_raw(o, "- ", 2);
	}
	o->last_kind = o->kind;
}

static void block_end(struct out *o)
{
	if (!o->in_block)
		return;
	if (o->kind == B_HEAD && o->started && o->head.len && json_array_size(o->headings) < 2000)
		json_array_append_new(o->headings, json_pack("{s:i,s:s}", "level", o->level < 1 ? 1 : o->level, "text",
		                                             o->head.data));
	o->in_block = 0;
}

/* Text inside the open block (a block is opened if none is). */
static void out_text(struct out *o, const char *s, size_t n)
{
	if (o->truncated)
		return;
	if (!o->in_block)
		block_begin(o, B_PARA, 0);
	if (o->collapse) {
		size_t i = 0;
		while (i < n) {
			size_t j = i;
			while (j < n && !isspace((unsigned char)s[j]))
				j++;
			if (j > i) {
				block_start_now(o);
				if (o->space_pending)
					out_raw(o, " ", 1);
				o->space_pending = 0;
				out_raw(o, s + i, j - i);
				if (o->kind == B_HEAD) {
					if (o->head.len && o->space_pending == 0 && i > 0)
						buf_appendc(&o->head, ' ');
					buf_append(&o->head, s + i, j - i);
				}
			}
			if (j < n) {
				if (o->started)
					o->space_pending = 1;
				while (j < n && isspace((unsigned char)s[j]))
					j++;
			}
			i = j;
		}
		return;
	}
	if (!n)
		return;
	block_start_now(o);
	while (o->pending_tabs) {
		out_raw(o, "\t", 1);
		o->pending_tabs--;
	}
	out_raw(o, s, n);
	if (o->kind == B_HEAD)
		buf_append(&o->head, s, n);
}

static void out_newline(struct out *o)
{
	if (o->in_block && o->started) {
		out_raw(o, "\n", 1);
		o->space_pending = 0;
	}
}

/* ---- XML by SAX ----------------------------------------------------------- */

/* The value of attribute `local` (any namespace) into out, "" if absent. */
static const char *attr(const xmlChar **attrs, int n, const char *local, char *out, size_t cap)
{
	out[0] = 0;
	for (int i = 0; i < n; i++) {
		const xmlChar **at = attrs + 5 * i;
		if (!strcmp((const char *)at[0], local)) {
			size_t len = (size_t)(at[4] - at[3]);
			if (len >= cap)
				len = cap - 1;
			memcpy(out, at[3], len);
			out[len] = 0;
			return out;
		}
	}
	return out;
}

struct xml_job;
typedef void (*start_fn)(struct xml_job *j, const char *name, const xmlChar **attrs, int n_attrs);
typedef void (*end_fn)(struct xml_job *j, const char *name);
typedef void (*chars_fn)(struct xml_job *j, const char *s, size_t n);

struct xml_job {
	start_fn start;
	end_fn end;
	chars_fn chars;
	void *ud;
	struct out *o;
	xmlParserCtxtPtr ctxt;
	int stop;               /* set by a handler: enough was read */
};

static void sax_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *URI, int nb_ns,
                      const xmlChar **ns, int nb_attrs, int nb_defaulted, const xmlChar **attrs)
{
	(void)prefix, (void)URI, (void)nb_ns, (void)ns, (void)nb_defaulted;
	struct xml_job *j = ctx;
	if (j->start)
		j->start(j, (const char *)localname, attrs, nb_attrs);
}

static void sax_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *URI)
{
	(void)prefix, (void)URI;
	struct xml_job *j = ctx;
	if (j->end)
		j->end(j, (const char *)localname);
}

static void sax_chars(void *ctx, const xmlChar *ch, int len)
{
	struct xml_job *j = ctx;
	if (j->chars && len > 0)
		j->chars(j, (const char *)ch, (size_t)len);
	if (j->o && j->o->truncated && j->ctxt)
		xmlStopParser(j->ctxt);
}

static void sax_quiet(void *ctx, const char *msg, ...)
{
	(void)ctx, (void)msg;
}

/* Only these callbacks: no entityDecl, getEntity, externalSubset or resolveEntity,
 * so an entity declared in the document is never stored, expanded or fetched. */
static void sax_handler(xmlSAXHandler *h)
{
	memset(h, 0, sizeof *h);
	h->initialized = XML_SAX2_MAGIC;
	h->startElementNs = sax_start;
	h->endElementNs = sax_end;
	h->characters = sax_chars;
	h->cdataBlock = sax_chars;
	h->warning = sax_quiet;
	h->error = sax_quiet;
	h->fatalError = sax_quiet;
}

#define XML_OPTS (XML_PARSE_NONET | XML_PARSE_RECOVER | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA)

static int xml_sink(void *ctx, const char *data, size_t n)
{
	struct xml_job *j = ctx;
	if (!j->ctxt) {
		xmlSAXHandler h;
		sax_handler(&h);
		j->ctxt = xmlCreatePushParserCtxt(&h, j, NULL, 0, NULL);
		if (!j->ctxt)
			return 1;
		xmlCtxtUseOptions(j->ctxt, XML_OPTS);
		j->ctxt->replaceEntities = 0;
		j->ctxt->loadsubset = 0;
		j->ctxt->validate = 0;
	}
	while (n > 0 && !j->stop) {
		int chunk = n > (1u << 20) ? (1 << 20) : (int)n;
		xmlParseChunk(j->ctxt, data, chunk, 0);
		data += chunk;
		n -= (size_t)chunk;
		if (j->ctxt->disableSAX || (j->o && j->o->truncated))
			return 1;
	}
	return j->stop;
}

static void xml_finish(struct xml_job *j)
{
	if (j->ctxt) {
		if (!j->ctxt->disableSAX && !j->stop)
			xmlParseChunk(j->ctxt, NULL, 0, 1);
		/* libxml2 keeps a DOCTYPE's declarations in a scratch document of its
		 * own even for SAX; they are never expanded here, only freed */
		if (j->ctxt->myDoc)
			xmlFreeDoc(j->ctxt->myDoc);
		j->ctxt->myDoc = NULL;
		xmlFreeParserCtxt(j->ctxt);
		j->ctxt = NULL;
	}
}

/* Streams one XML member through the job's handlers. */
static int xml_member(struct zip *z, const char *name, struct xml_job *j, struct err *err)
{
	j->ctxt = NULL;
	j->stop = 0;
	int rc = zip_stream(z, name, xml_sink, j, err);
	xml_finish(j);
	return rc;
}

/* ---- parts read in one pass ------------------------------------------------ */

/* Slides, sheets and chapters come in an order of their own (the presentation's,
 * the workbook's, the spine's), not the archive's. Looking each one up from the
 * start of the archive costs a scan per part, quadratic in the parts; instead one
 * pass reads each wanted member as it comes, each into its own text, and the
 * texts are then written in the wanted order. What they hold together is capped
 * at the output's room, so memory stays bounded as for one stream. */
typedef void (*part_setup_fn)(void *ctx, size_t i, struct xml_job *j); /* sets j's handlers and ud */

struct part_texts {
	struct out *v;   /* one per wanted name, in the caller's order */
	int *found;      /* 1 when the member was read */
	size_t n;
};

struct part_key {
	const char *name;
	size_t i;
};
static int part_cmp(const void *a, const void *b)
{
	const struct part_key *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->i > y->i) - (x->i < y->i);
}

static void part_texts_free(struct part_texts *t)
{
	for (size_t i = 0; i < t->n; i++)
		out_free(&t->v[i]);
	free(t->v);
	free(t->found);
	memset(t, 0, sizeof *t);
}

/* Reads the members names[0..n) in one pass into t (caller frees with
 * part_texts_free). A missing member is left out; 0 or the first error. */
static int zip_parts(struct zip *z, char *const *names, size_t n, size_t room, part_setup_fn setup, void *ctx,
                     struct part_texts *t, struct err *err)
{
	memset(t, 0, sizeof *t);
	t->v = xcalloc(n ? n : 1, sizeof *t->v);
	t->found = xcalloc(n ? n : 1, sizeof *t->found);
	t->n = n;
	for (size_t i = 0; i < n; i++)
		out_init(&t->v[i], 0);
	struct part_key *idx = xcalloc(n ? n : 1, sizeof *idx);
	for (size_t i = 0; i < n; i++)
		idx[i] = (struct part_key){names[i], i};
	qsort(idx, n, sizeof *idx, part_cmp);
	struct archive *a = zip_open(z->path, err);
	if (!a) {
		free(idx);
		return DOSSIER_EFORMAT;
	}
	struct archive_entry *e;
	int r = ARCHIVE_OK, rc = 0;
	size_t seen = 0, held = 0, left = n;
	while (left && held < room) {
		r = archive_read_next_header(a, &e);
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			break;
		if (++seen > z->lim.max_members)
			break;
		const char *p = archive_entry_pathname(e);
		if (!p)
			continue;
		/* the first of the wanted names equal to p that is not read yet */
		size_t lo = 0, hi = n;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (strcmp(idx[mid].name, p) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		int took = 0;
		for (size_t k = lo; k < n && !strcmp(idx[k].name, p) && !took; k++) {
			size_t i = idx[k].i;
			if (t->found[i])
				continue;
			took = 1;
			struct out *o = &t->v[i];
			out_free(o);
			out_init(o, room - held);
			struct xml_job j = {.o = o};
			setup(ctx, i, &j);
			rc = entry_pump(z, a, e, p, xml_sink, &j, err);
			xml_finish(&j);
			block_end(o);
			t->found[i] = 1;
			left--;
			held += o->text.len;
		}
		if (rc)
			break;
	}
	if (r == ARCHIVE_FATAL && !rc)
		rc = zip_fail(z, a, err);
	archive_read_free(a);
	free(idx);
	return rc;
}

/* Appends a part's text (already laid out in blocks) to o as blocks of its own. */
static void out_part(struct out *o, struct out *part)
{
	block_end(o);
	const char *t = part->text.data ? part->text.data : "";
	size_t n = part->text.len;
	while (n && t[n - 1] == '\n')
		n--;
	while (n && *t == '\n')
		t++, n--;
	if (n) {
		if (o->text.len)
			out_raw(o, o->text.data[o->text.len - 1] == '\n' ? "\n" : "\n\n", o->text.data[o->text.len - 1] == '\n' ? 1 : 2);
		out_raw(o, t, n);
		o->last_kind = part->last_kind;
	}
	for (size_t i = 0; i < json_array_size(part->headings) && json_array_size(o->headings) < 2000; i++)
		json_array_append(o->headings, json_array_get(part->headings, i));
	if (part->truncated)
		o->truncated = 1;
}

/* ---- document properties -------------------------------------------------- */

struct props {
	char title[1024], author[512], created[64], modified[64], language[32];
	char *cur;  /* the field being read, or NULL */
	size_t cap;
};

static void props_start(struct xml_job *j, const char *name, const xmlChar **a, int n)
{
	(void)a, (void)n;
	struct props *p = j->ud;
	p->cur = NULL;
	char *f = NULL;
	size_t cap = 0;
	if (!strcmp(name, "title"))
		f = p->title, cap = sizeof p->title;
	else if (!strcmp(name, "creator") || !strcmp(name, "initial-creator"))
		f = p->author, cap = sizeof p->author;
	else if (!strcmp(name, "created") || !strcmp(name, "creation-date"))
		f = p->created, cap = sizeof p->created;
	else if (!strcmp(name, "modified") || !strcmp(name, "date"))
		f = p->modified, cap = sizeof p->modified;
	else if (!strcmp(name, "language"))
		f = p->language, cap = sizeof p->language;
	if (f && !*f) /* the first of each wins (dc:creator before meta:initial-creator) */
		p->cur = f, p->cap = cap;
}

static void props_end(struct xml_job *j, const char *name)
{
	(void)name;
	((struct props *)j->ud)->cur = NULL;
}

static void props_chars(struct xml_job *j, const char *s, size_t n)
{
	struct props *p = j->ud;
	if (!p->cur)
		return;
	size_t l = strlen(p->cur);
	if (l + n >= p->cap)
		n = p->cap - 1 - l;
	memcpy(p->cur + l, s, n);
	p->cur[l + n] = 0;
}

static void trim(char *s)
{
	size_t l = strlen(s);
	while (l && isspace((unsigned char)s[l - 1]))
		s[--l] = 0;
	size_t i = 0;
	while (s[i] && isspace((unsigned char)s[i]))
		i++;
	memmove(s, s + i, l - i + 1);
}

static void read_props(struct zip *z, const char *member, struct props *p)
{
	struct xml_job j = {.start = props_start, .end = props_end, .chars = props_chars, .ud = p};
	/* a missing or broken properties part costs nothing but the properties */
	xml_member(z, member, &j, NULL);
	p->cur = NULL;
	trim(p->title), trim(p->author), trim(p->created), trim(p->modified), trim(p->language);
}

/* ---- relationships (OOXML) and paths --------------------------------------- */

struct rel {
	char id[64];
	char target[512];
	size_t order;   /* its place in the file: equal ids keep it */
};
struct rels {
	struct rel *v;
	size_t n, cap;
};

static void rels_start(struct xml_job *j, const char *name, const xmlChar **a, int n)
{
	struct rels *r = j->ud;
	if (strcmp(name, "Relationship") || r->n >= 100000)
		return;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->v = xrealloc(r->v, r->cap * sizeof *r->v);
	}
	attr(a, n, "Id", r->v[r->n].id, sizeof r->v[r->n].id);
	attr(a, n, "Target", r->v[r->n].target, sizeof r->v[r->n].target);
	r->n++;
}

static int cmp_rel_order(const void *a, const void *b)
{
	const struct rel *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	return c ? c : (x->order > y->order) - (x->order < y->order);
}

/* The target of relationship id (rels sorted by read_rels): a binary search, so a
 * deck of many slides costs no quadratic lookup. The first of equal ids wins. */
static const char *rels_target(const struct rels *r, const char *id)
{
	size_t lo = 0, hi = r->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (strcmp(r->v[mid].id, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->n && !strcmp(r->v[lo].id, id) ? r->v[lo].target : NULL;
}

/* base dir ("ppt/") + relative target, "../" and "./" folded; a leading '/' is
 * the archive root. A name in the archive only: never a path on disk. */
static void join_path(const char *base_dir, const char *target, char *out, size_t cap)
{
	char tmp[1024];
	if (target[0] == '/')
		snprintf(tmp, sizeof tmp, "%s", target + 1);
	else
		snprintf(tmp, sizeof tmp, "%s%s", base_dir, target);
	/* percent-decoding of %20 etc. (EPUB hrefs are URLs) */
	char dec[1024];
	size_t k = 0;
	for (size_t i = 0; tmp[i] && k + 1 < sizeof dec; i++) {
		if (tmp[i] == '%' && isxdigit((unsigned char)tmp[i + 1]) && isxdigit((unsigned char)tmp[i + 2])) {
			char hx[3] = {tmp[i + 1], tmp[i + 2], 0};
			dec[k++] = (char)strtol(hx, NULL, 16);
			i += 2;
		} else if (tmp[i] == '#') {
			break;
		} else {
			dec[k++] = tmp[i];
		}
	}
	dec[k] = 0;
	/* fold segments */
	char *seg[128];
	size_t ns = 0;
	for (char *save = NULL, *s = strtok_r(dec, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
		if (!strcmp(s, "."))
			continue;
		if (!strcmp(s, "..")) {
			if (ns)
				ns--;
			continue;
		}
		if (ns < 128)
			seg[ns++] = s;
	}
	size_t o = 0;
	out[0] = 0;
	for (size_t i = 0; i < ns; i++)
		o += (size_t)snprintf(out + (o < cap ? o : cap), o < cap ? cap - o : 0, "%s%s", i ? "/" : "", seg[i]);
}

static void read_rels(struct zip *z, const char *member, struct rels *r)
{
	struct xml_job j = {.start = rels_start, .ud = r};
	xml_member(z, member, &j, NULL);
	/* by id, keeping the file's order among equal ids (a stable sort by index) */
	for (size_t i = 0; i < r->n; i++)
		r->v[i].order = i;
	if (r->n)   /* qsort must not be given NULL, even for no elements */
		qsort(r->v, r->n, sizeof *r->v, cmp_rel_order);
}

/* ---- DOCX ----------------------------------------------------------------- */

/* Footnote or endnote marks in the order the body refers to them: the k-th
 * note referred to (0-based) is ids[k] and shows as mark k + 1. An id's
 * index is found through a small open-addressing table (slot = index + 1),
 * so a document of many notes costs no quadratic search. */
struct note_marks {
	long *ids;
	size_t n, cap;
	size_t *slots;       /* 2 * cap entries, 0 = empty */
	int roman;           /* endnotes: i, ii, iii as Word numbers them */
};
#define NOTE_MARKS_MAX 100000

static size_t mark_hash(long id, size_t mask)
{
	uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 32) & mask;
}

static void mark_text(const struct note_marks *m, size_t k, char *out, size_t cap)
{
	unsigned v = (unsigned)k + 1;
	if (!m->roman || v >= 4000) {
		snprintf(out, cap, "[%u]", v);
		return;
	}
	static const unsigned val[] = {1000, 900, 500, 400, 100, 90, 50, 40, 10, 9, 5, 4, 1};
	static const char *const sym[] = {"m", "cm", "d", "cd", "c", "xc", "l", "xl", "x", "ix", "v", "iv", "i"};
	size_t o = 0;
	out[o++] = '[';
	for (size_t i = 0; i < 13; i++)
		while (v >= val[i] && o + 4 < cap) {
			for (const char *c = sym[i]; *c; c++)
				out[o++] = *c;
			v -= val[i];
		}
	out[o++] = ']';
	out[o] = 0;
}

/* index of id, or -1: a note the body never refers to (a separator) is not shown */
static long marks_find(const struct note_marks *m, long id)
{
	if (!m->n)
		return -1;
	size_t mask = 2 * m->cap - 1;
	for (size_t h = mark_hash(id, mask);; h = (h + 1) & mask) {
		size_t s = m->slots[h];
		if (!s)
			return -1;
		if (m->ids[s - 1] == id)
			return (long)(s - 1);
	}
}

static void marks_insert(struct note_marks *m, size_t k)
{
	size_t mask = 2 * m->cap - 1;
	size_t h = mark_hash(m->ids[k], mask);
	while (m->slots[h])
		h = (h + 1) & mask;
	m->slots[h] = k + 1;
}

/* The mark of a reference to note id (added once). */
static void marks_ref(struct note_marks *m, long id, char *out, size_t cap)
{
	long f = marks_find(m, id);
	size_t k = f >= 0 ? (size_t)f : m->n;
	if (f < 0 && m->n < NOTE_MARKS_MAX) {
		if (m->n == m->cap) {
			m->cap = m->cap ? m->cap * 2 : 16;
			m->ids = xrealloc(m->ids, m->cap * sizeof *m->ids);
			free(m->slots);
			m->slots = calloc(2 * m->cap, sizeof *m->slots);
			if (!m->slots)
				abort();
			for (size_t i = 0; i < m->n; i++)
				marks_insert(m, i);
		}
		m->ids[m->n] = id;
		marks_insert(m, m->n);
		m->n++;
	}
	mark_text(m, k, out, cap);
}

enum docx_part { DP_BODY, DP_NOTES, DP_COMMENTS, DP_HF };

struct docx {
	int in_ppr, in_t, in_table, first_cell, paras_in_cell, in_del;
	enum docx_part part;
	struct note_marks *fn, *en; /* the body's footnote and endnote references */
	struct note_marks *notes;   /* DP_NOTES: the marks of the part being read */
	int skip;                   /* inside a note nobody refers to */
	char mark[32];              /* the open note's mark, written at its w:footnoteRef */
	int trim_lead;              /* drop the white space right after a written mark */
	int *section_done;          /* the part's heading is written */
	const char *section;        /* that heading */
	/* fields: a page number's cached result ("1") is not text */
	int fld_depth, fld_skip, in_instr, simple_skip;
	char instr[32];
};

static int page_field(const char *instr)
{
	while (*instr == ' ')
		instr++;
	return !strncasecmp(instr, "PAGE", 4) || !strncasecmp(instr, "NUMPAGES", 8) ||
	       !strncasecmp(instr, "SECTIONPAGES", 12);
}

static void section_heading(struct docx *d, struct out *o)
{
	if (!d->section_done || *d->section_done)
		return;
	*d->section_done = 1;
	block_end(o);
	block_begin(o, B_HEAD, 2);
	out_text(o, d->section, strlen(d->section));
	block_end(o);
}

static void docx_start(struct xml_job *j, const char *nm, const xmlChar **a, int n)
{
	struct docx *d = j->ud;
	struct out *o = j->o;
	char v[128];
	if (d->skip) {
		if (!strcmp(nm, "footnote") || !strcmp(nm, "endnote") || !strcmp(nm, "comment"))
			d->skip++;
		return;
	}
	if (d->part == DP_NOTES && (!strcmp(nm, "footnote") || !strcmp(nm, "endnote"))) {
		char type[32];
		attr(a, n, "type", type, sizeof type);
		long k = marks_find(d->notes, atol(attr(a, n, "id", v, sizeof v)));
		if ((*type && strcmp(type, "normal")) || k < 0) {
			d->skip = 1;
			return;
		}
		section_heading(d, o);
		mark_text(d->notes, (size_t)k, d->mark, sizeof d->mark);
		return;
	}
	if (d->part == DP_COMMENTS && !strcmp(nm, "comment")) {
		section_heading(d, o);
		attr(a, n, "author", v, sizeof v);
		snprintf(d->mark, sizeof d->mark, "%.24s:", *v ? v : "Comment");
		return;
	}
	if (d->in_del)
		goto del_only;
	if ((!strcmp(nm, "footnoteReference") || !strcmp(nm, "endnoteReference")) && d->part == DP_BODY) {
		struct note_marks *m = nm[0] == 'f' ? d->fn : d->en;
		attr(a, n, "customMarkFollows", v, sizeof v);
		char mk[32];
		if (m && !(!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "on"))) {
			marks_ref(m, atol(attr(a, n, "id", v, sizeof v)), mk, sizeof mk);
			out_text(o, mk, strlen(mk));
		}
		return;
	}
	if ((!strcmp(nm, "footnoteRef") || !strcmp(nm, "endnoteRef")) && d->part == DP_NOTES && d->mark[0]) {
		out_text(o, d->mark, strlen(d->mark));
		out_text(o, " ", 1);
		d->mark[0] = 0;
		d->trim_lead = 1;
		return;
	}
	if (!strcmp(nm, "fldChar")) {
		attr(a, n, "fldCharType", v, sizeof v);
		if (!strcmp(v, "begin")) {
			if (++d->fld_depth == 1)
				d->instr[0] = 0;
		} else if (!strcmp(v, "separate")) {
			if (d->fld_depth == 1 && !d->fld_skip && page_field(d->instr))
				d->fld_skip = 1;
		} else if (!strcmp(v, "end") && d->fld_depth) {
			if (--d->fld_depth == 0)
				d->fld_skip = 0;
		}
		return;
	}
	if (!strcmp(nm, "instrText")) {
		d->in_instr = 1;
		return;
	}
	if (!strcmp(nm, "fldSimple")) {
		if (d->simple_skip || page_field(attr(a, n, "instr", v, sizeof v)))
			d->simple_skip++;
		return;
	}
	if (!strcmp(nm, "p")) {
		if (d->in_table) {
			if (d->paras_in_cell++ && o->started)
				out_text(o, " ", 1);
		} else {
			block_end(o);
			block_begin(o, B_PARA, 0);
		}
	} else if (!strcmp(nm, "pPr")) {
		d->in_ppr = 1;
	} else if (d->in_ppr && !strcmp(nm, "pStyle") && !d->in_table) {
		attr(a, n, "val", v, sizeof v);
		if (!strncasecmp(v, "heading", 7) && isdigit((unsigned char)v[7]))
			o->kind = B_HEAD, o->level = atoi(v + 7);
		else if (!strcasecmp(v, "Title"))
			o->kind = B_HEAD, o->level = 1;
		else if (!strcasecmp(v, "Subtitle"))
			o->kind = B_HEAD, o->level = 2;
		else if (!strncasecmp(v, "ListBullet", 10) || !strncasecmp(v, "ListNumber", 10) ||
		         !strcasecmp(v, "ListParagraph"))
			o->kind = B_LIST;
	} else if (d->in_ppr && !strcmp(nm, "numPr") && !d->in_table && o->kind == B_PARA) {
		o->kind = B_LIST;
	} else if (!strcmp(nm, "t")) {
		d->in_t = 1;
	} else if (!strcmp(nm, "del")) {
		d->in_del++;
		return;
	} else if (!d->in_ppr && !strcmp(nm, "tab")) {
		if (o->in_block && !d->trim_lead)
			out_text(o, "\t", 1);
	} else if (!d->in_ppr && (!strcmp(nm, "br") || !strcmp(nm, "cr"))) {
		out_newline(o);
	} else if (!strcmp(nm, "tbl")) {
		if (!d->in_table++)
			block_end(o);
	} else if (!strcmp(nm, "tr") && d->in_table == 1) {
		block_end(o);
		block_begin(o, B_ROW, 0);
		d->first_cell = 1;
	} else if (!strcmp(nm, "tc") && d->in_table == 1) {
		if (!d->first_cell)
			o->pending_tabs++;
		d->first_cell = 0;
		d->paras_in_cell = 0;
	}
	return;
del_only:
	if (!strcmp(nm, "del"))
		d->in_del++;
}


static void docx_end(struct xml_job *j, const char *nm)
{
	struct docx *d = j->ud;
	if (d->skip) {
		if (!strcmp(nm, "footnote") || !strcmp(nm, "endnote") || !strcmp(nm, "comment"))
			d->skip--;
		return;
	}
	if (!strcmp(nm, "instrText"))
		d->in_instr = 0;
	else if (!strcmp(nm, "fldSimple") && d->simple_skip)
		d->simple_skip--;
	else if ((!strcmp(nm, "footnote") || !strcmp(nm, "endnote") || !strcmp(nm, "comment")) && d->part != DP_BODY) {
		block_end(j->o);
		d->mark[0] = 0;
	} else if (!strcmp(nm, "p") && !d->in_table)
		block_end(j->o);
	else if (!strcmp(nm, "pPr"))
		d->in_ppr = 0;
	else if (!strcmp(nm, "t"))
		d->in_t = 0;
	else if (!strcmp(nm, "del") && d->in_del)
		d->in_del--;
	else if (!strcmp(nm, "tbl") && d->in_table) {
		if (!--d->in_table)
			block_end(j->o);
	} else if (!strcmp(nm, "tr") && d->in_table == 1)
		block_end(j->o);
}

static void docx_chars(struct xml_job *j, const char *s, size_t n)
{
	struct docx *d = j->ud;
	if (d->skip)
		return;
	if (d->in_instr && d->fld_depth == 1) {
		size_t l = strlen(d->instr);
		if (l + 1 < sizeof d->instr) {
			size_t m = n < sizeof d->instr - 1 - l ? n : sizeof d->instr - 1 - l;
			memcpy(d->instr + l, s, m);
			d->instr[l + m] = 0;
		}
		return;
	}
	if (!d->in_t || d->in_del || d->fld_skip || d->simple_skip)
		return;
	if (d->mark[0] && d->part != DP_BODY) {
		/* a note without its w:footnoteRef, or a comment: the mark leads its text */
		out_text(j->o, d->mark, strlen(d->mark));
		out_text(j->o, " ", 1);
		d->mark[0] = 0;
		d->trim_lead = 1;
	}
	if (d->trim_lead) {
		while (n && (*s == ' ' || *s == '\t'))
			s++, n--;
		if (!n)
			return;
		d->trim_lead = 0;
	}
	out_text(j->o, s, n);
}

/* ---- PPTX ----------------------------------------------------------------- */

struct pptx {
	int in_t;
};

static void pptx_start(struct xml_job *j, const char *nm, const xmlChar **a, int n)
{
	(void)a, (void)n;
	struct pptx *p = j->ud;
	if (!strcmp(nm, "p") ) {
		block_end(j->o);
		block_begin(j->o, B_PARA, 0);
	} else if (!strcmp(nm, "t")) {
		p->in_t = 1;
	} else if (!strcmp(nm, "br")) {
		out_newline(j->o);
	}
}

static void pptx_end(struct xml_job *j, const char *nm)
{
	struct pptx *p = j->ud;
	if (!strcmp(nm, "p"))
		block_end(j->o);
	else if (!strcmp(nm, "t"))
		p->in_t = 0;
}

static void pptx_chars(struct xml_job *j, const char *s, size_t n)
{
	if (((struct pptx *)j->ud)->in_t)
		out_text(j->o, s, n);
}

/* ---- XLSX ----------------------------------------------------------------- */

struct xlsx_shared {
	char **v;
	size_t n, cap, bytes;
	struct buf cur;
	int in_si, in_t, in_rph;
};

static void sst_start(struct xml_job *j, const char *nm, const xmlChar **a, int n)
{
	(void)a, (void)n;
	struct xlsx_shared *s = j->ud;
	if (!strcmp(nm, "si")) {
		s->in_si = 1;
		buf_reset(&s->cur);
	} else if (!strcmp(nm, "rPh")) {
		s->in_rph = 1;
	} else if (!strcmp(nm, "t")) {
		s->in_t = 1;
	}
}

static void sst_end(struct xml_job *j, const char *nm)
{
	struct xlsx_shared *s = j->ud;
	if (!strcmp(nm, "si") && s->in_si) {
		s->in_si = 0;
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 64;
			s->v = xrealloc(s->v, s->cap * sizeof *s->v);
		}
		s->bytes += s->cur.len;
		s->v[s->n++] = buf_take(&s->cur);
		if (s->bytes > CAP_TEXT)
			j->stop = 1;
	} else if (!strcmp(nm, "rPh")) {
		s->in_rph = 0;
	} else if (!strcmp(nm, "t")) {
		s->in_t = 0;
	}
}

static void sst_chars(struct xml_job *j, const char *str, size_t n)
{
	struct xlsx_shared *s = j->ud;
	if (s->in_si && s->in_t && !s->in_rph)
		buf_append(&s->cur, str, n);
}

struct xlsx_sheet {
	const struct xlsx_shared *sst;
	char type[16];
	int col, last_col, in_v, in_is_t;
	long rows;
	struct buf val;
};

/* "AB12" -> 27 (1-based column), 0 if none. */
static int ref_col(const char *r)
{
	int c = 0;
	for (; *r && isalpha((unsigned char)*r) && c < 20000; r++)
		c = c * 26 + (toupper((unsigned char)*r) - 'A' + 1);
	return c;
}

static void sheet_start(struct xml_job *j, const char *nm, const xmlChar **a, int n)
{
	struct xlsx_sheet *s = j->ud;
	char v[32];
	if (!strcmp(nm, "row")) {
		block_end(j->o);
		block_begin(j->o, B_ROW, 0);
		s->last_col = 0;
	} else if (!strcmp(nm, "c")) {
		attr(a, n, "t", s->type, sizeof s->type);
		s->col = ref_col(attr(a, n, "r", v, sizeof v));
		buf_reset(&s->val);
	} else if (!strcmp(nm, "v")) {
		s->in_v = 1;
	} else if (!strcmp(nm, "t")) {
		s->in_is_t = 1;
	}
}

static void sheet_end(struct xml_job *j, const char *nm)
{
	struct xlsx_sheet *s = j->ud;
	struct out *o = j->o;
	if (!strcmp(nm, "row")) {
		if (o->started)
			s->rows++;
		block_end(o);
	} else if (!strcmp(nm, "v")) {
		s->in_v = 0;
	} else if (!strcmp(nm, "t")) {
		s->in_is_t = 0;
	} else if (!strcmp(nm, "c")) {
		const char *val = s->val.data ? s->val.data : "";
		if (!strcmp(s->type, "s")) {
			char *e;
			unsigned long i = strtoul(val, &e, 10);
			val = (e != val && i < s->sst->n) ? s->sst->v[i] : "";
		} else if (!strcmp(s->type, "b")) {
			val = !strcmp(val, "1") ? "TRUE" : "FALSE";
		}
		int col = s->col ? s->col : s->last_col + 1;
		if (*val) {
			if (o->started || s->last_col)
				o->pending_tabs += (size_t)(col > s->last_col ? col - s->last_col : 1);
			else
				o->pending_tabs += (size_t)(col > 1 ? col - 1 : 0);
			if (o->pending_tabs > 1000)
				o->pending_tabs = 1000;
			if (!o->started) {
				size_t t = o->pending_tabs;
				block_start_now(o);
				o->pending_tabs = t;
			}
			out_text(o, val, strlen(val));
			s->last_col = col;
		}
	}
}

static void sheet_chars(struct xml_job *j, const char *str, size_t n)
{
	struct xlsx_sheet *s = j->ud;
	if (s->in_v || s->in_is_t)
		buf_append(&s->val, str, n);
}

struct wb_sheet {
	char name[256];
	char rid[64];
};
struct workbook {
	struct wb_sheet *v;
	size_t n, cap;
	char sld[64];       /* pptx: collecting sldId */
};

static void wb_start(struct xml_job *j, const char *nm, const xmlChar **a, int n)
{
	struct workbook *w = j->ud;
	if ((strcmp(nm, "sheet") && strcmp(nm, "sldId")) || w->n >= 10000)
		return;
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		w->v = xrealloc(w->v, w->cap * sizeof *w->v);
	}
	attr(a, n, "name", w->v[w->n].name, sizeof w->v[w->n].name);
	/* r:id: the relationships namespace's id (a p:sldId also has a plain id) */
	w->v[w->n].rid[0] = 0;
	for (int i = 0; i < n; i++) {
		const xmlChar **at = a + 5 * i;
		if (!strcmp((const char *)at[0], "id") && at[2] && strstr((const char *)at[2], "relationships")) {
			size_t len = (size_t)(at[4] - at[3]);
			if (len >= sizeof w->v[w->n].rid)
				len = sizeof w->v[w->n].rid - 1;
			memcpy(w->v[w->n].rid, at[3], len);
			w->v[w->n].rid[len] = 0;
		}
	}
	w->n++;
}

/* ---- ODF ------------------------------------------------------------------ */

struct odf {
	int depth_text;     /* inside text:p / text:h */
	int list;           /* text:list-item depth */
	int table;          /* table:table depth */
	int first_cell;
	int paras_in_cell;
	int skip;           /* inside tracked changes, annotations */
	int is_sheet, is_pres;
	long rows_in_sheet;
	long cell_repeat;
	json_t *sheets;     /* [{name, rows}] */
	int slides;
	struct out *cur;    /* where text goes now, NULL: the job's out */
	/* content.xml: a text:note's citation stays in the body as "[1]", its
	 * body goes to notes, written after the document's body */
	struct out *notes;
	int in_cit, note_pending;
	char cit[32];
	struct {
		int depth_text, list, table, first_cell, paras_in_cell;
	} saved;
	int in_note_body;
	/* styles.xml: only the master pages' headers and footers, each into hf_tmp */
	int hf_only, hf_depth;
	struct out *hf_tmp;
	struct hf_set *hf_seen;
};

struct hf_set;
static void hf_flush(struct hf_set *h, struct out *o, struct out *tmp);

static int odf_skipped(const char *nm)
{
	/* tracked changes, comments, speaker notes; a page number's cached value */
	return !strcmp(nm, "tracked-changes") || !strcmp(nm, "annotation") || !strcmp(nm, "notes") ||
	       !strcmp(nm, "page-number") || !strcmp(nm, "page-count") || !strcmp(nm, "sheet-name");
}

static int odf_hf(const char *nm)
{
	return !strncmp(nm, "header", 6) || !strncmp(nm, "footer", 6);
}

static void odf_start(struct xml_job *j, const char *nm, const xmlChar **a, int n)
{
	struct odf *d = j->ud;
	struct out *o = d->cur ? d->cur : j->o;
	char v[256];
	if (d->hf_only) {
		if (odf_hf(nm) && !d->hf_depth++)
			d->cur = o = d->hf_tmp;
		if (!d->hf_depth)
			return;
	}
	if (odf_skipped(nm)) {
		d->skip++;
		return;
	}
	if (d->skip)
		return;
	if (d->notes && !d->in_note_body && !strcmp(nm, "note-citation")) {
		d->in_cit = 1;
		d->cit[0] = 0;
		return;
	}
	if (d->notes && !d->in_note_body && !strcmp(nm, "note-body")) {
		d->in_note_body = 1;
		d->saved.depth_text = d->depth_text, d->saved.list = d->list, d->saved.table = d->table;
		d->saved.first_cell = d->first_cell, d->saved.paras_in_cell = d->paras_in_cell;
		d->depth_text = d->list = d->table = d->first_cell = d->paras_in_cell = 0;
		d->cur = d->notes;
		d->note_pending = 1;
		return;
	}
	if (!strcmp(nm, "h") || !strcmp(nm, "p")) {
		if (d->table) {
			if (d->paras_in_cell++ && o->started)
				out_text(o, " ", 1);
		} else if (!d->depth_text) {
			block_end(o);
			if (!strcmp(nm, "h")) {
				attr(a, n, "outline-level", v, sizeof v);
				block_begin(o, B_HEAD, *v ? atoi(v) : 1);
			} else {
				block_begin(o, d->list ? B_LIST : B_PARA, 0);
			}
			if (d->note_pending && d->in_note_body) {
				char mk[40];
				int l = snprintf(mk, sizeof mk, "[%s] ", d->cit[0] ? d->cit : "*");
				out_text(o, mk, (size_t)l);
				d->note_pending = 0;
			}
		}
		d->depth_text++;
	} else if (!strcmp(nm, "list-item")) {
		d->list++;
	} else if (!strcmp(nm, "s") && d->depth_text) {
		attr(a, n, "c", v, sizeof v);
		int c = *v ? atoi(v) : 1;
		for (int i = 0; i < c && i < 64; i++)
			out_text(o, " ", 1);
	} else if (!strcmp(nm, "tab") && d->depth_text) {
		out_text(o, "\t", 1);
	} else if (!strcmp(nm, "line-break")) {
		out_newline(o);
	} else if (!strcmp(nm, "table")) {
		if (!d->table++) {
			block_end(o);
			if (d->is_sheet) {
				attr(a, n, "name", v, sizeof v);
				block_begin(o, B_HEAD, 2);
				out_text(o, "Sheet: ", 7);
				out_text(o, v, strlen(v));
				block_end(o);
				json_array_append_new(d->sheets, json_pack("{s:s,s:i}", "name", v, "rows", 0));
				d->rows_in_sheet = 0;
			}
		}
	} else if (!strcmp(nm, "table-row") && d->table == 1) {
		block_end(o);
		block_begin(o, B_ROW, 0);
		d->first_cell = 1;
	} else if ((!strcmp(nm, "table-cell") || !strcmp(nm, "covered-table-cell")) && d->table == 1) {
		attr(a, n, "number-columns-repeated", v, sizeof v);
		d->cell_repeat = *v ? atol(v) : 1;
		if (d->cell_repeat < 1 || d->cell_repeat > 1000)
			d->cell_repeat = 1000;
		if (!d->first_cell)
			o->pending_tabs++;
		d->first_cell = 0;
		d->paras_in_cell = 0;
	} else if (!strcmp(nm, "page") && d->is_pres) {
		block_end(o);
		d->slides++;
		attr(a, n, "name", v, sizeof v);
		char h[300];
		snprintf(h, sizeof h, "Slide %d", d->slides);
		block_begin(o, B_HEAD, 2);
		out_text(o, h, strlen(h));
		block_end(o);
	}
}

static void odf_end(struct xml_job *j, const char *nm)
{
	struct odf *d = j->ud;
	struct out *o = d->cur ? d->cur : j->o;
	if (d->hf_only) {
		if (!d->hf_depth)
			return;
		if (odf_hf(nm) && !--d->hf_depth) {
			hf_flush(d->hf_seen, j->o, d->hf_tmp);
			d->cur = NULL;
			d->depth_text = d->list = d->table = d->skip = 0;
			return;
		}
	}
	if (odf_skipped(nm)) {
		if (d->skip)
			d->skip--;
		return;
	}
	if (d->skip)
		return;
	if (d->in_cit && !strcmp(nm, "note-citation")) {
		d->in_cit = 0;
		char mk[40];
		int l = snprintf(mk, sizeof mk, "[%s]", d->cit[0] ? d->cit : "*");
		out_text(o, mk, (size_t)l);
		return;
	}
	if (d->in_note_body && !strcmp(nm, "note-body")) {
		block_end(o);
		d->in_note_body = 0;
		d->depth_text = d->saved.depth_text, d->list = d->saved.list, d->table = d->saved.table;
		d->first_cell = d->saved.first_cell, d->paras_in_cell = d->saved.paras_in_cell;
		d->cur = NULL;
		return;
	}
	if (!strcmp(nm, "h") || !strcmp(nm, "p")) {
		if (d->depth_text && !--d->depth_text && !d->table)
			block_end(o);
	} else if (!strcmp(nm, "list-item")) {
		if (d->list)
			d->list--;
	} else if (!strcmp(nm, "table")) {
		if (d->table && !--d->table) {
			block_end(o);
			json_t *last = json_array_get(d->sheets, json_array_size(d->sheets) - 1);
			if (d->is_sheet && last)
				json_object_set_new(last, "rows", json_integer(d->rows_in_sheet));
		}
	} else if (!strcmp(nm, "table-row") && d->table == 1) {
		if (o->started)
			d->rows_in_sheet++;
		block_end(o);
	} else if ((!strcmp(nm, "table-cell") || !strcmp(nm, "covered-table-cell")) && d->table == 1) {
		/* a repeated cell with a value is shown once per repeat, bounded */
		if (d->cell_repeat > 1 && d->paras_in_cell == 0)
			o->pending_tabs += (size_t)(d->cell_repeat - 1 > 1000 ? 1000 : d->cell_repeat - 1);
	}
}

static void odf_chars(struct xml_job *j, const char *s, size_t n)
{
	struct odf *d = j->ud;
	if (d->in_cit && !d->skip) {
		size_t l = strlen(d->cit);
		size_t m = n < sizeof d->cit - 1 - l ? n : sizeof d->cit - 1 - l;
		memcpy(d->cit + l, s, m);
		d->cit[l + m] = 0;
		return;
	}
	if (d->depth_text && !d->skip)
		out_text(d->cur ? d->cur : j->o, s, n);
}

/* ---- (X)HTML (EPUB chapters, mail parts) ----------------------------------- */

struct html {
	int skip;   /* inside head, script, style */
	int pre;
	int list;
	int depth;        /* elements open in the current parser */
	long restart_at;  /* >= 0: the parser stopped there (bytes into its input) */
};

/* libxml2 2.9's HTML parser scans its whole stack of open elements for every
 * unmatched end tag, so deep nesting costs quadratic time: past this many open
 * elements the parser stops and a fresh one goes on from that byte. */
#define HTML_MAX_DEPTH 256

static int is_block(const char *nm)
{
	static const char *const b[] = {"p", "div", "section", "article", "blockquote", "pre", "tr", "dt", "dd",
	                                "table", "ul", "ol", "figcaption", "caption", "header", "footer",
	                                "aside", "nav", "address", "hr", "body", NULL};
	for (const char *const *p = b; *p; p++)
		if (!strcasecmp(nm, *p))
			return 1;
	return 0;
}

static void html_start(struct xml_job *j, const char *nm, const xmlChar **a, int n)
{
	(void)a, (void)n;
	struct html *h = j->ud;
	struct out *o = j->o;
	if (!strcasecmp(nm, "head") || !strcasecmp(nm, "script") || !strcasecmp(nm, "style") ||
	    !strcasecmp(nm, "title")) {
		h->skip++;
		return;
	}
	if (h->skip)
		return;
	if ((nm[0] == 'h' || nm[0] == 'H') && nm[1] >= '1' && nm[1] <= '6' && !nm[2]) {
		block_end(o);
		block_begin(o, B_HEAD, nm[1] - '0');
	} else if (!strcasecmp(nm, "li")) {
		h->list++;
		block_end(o);
		block_begin(o, B_LIST, 0);
	} else if (!strcasecmp(nm, "br")) {
		out_newline(o);
	} else if (!strcasecmp(nm, "td") || !strcasecmp(nm, "th")) {
		if (o->in_block && o->started)
			out_raw(o, "\t", 1), o->space_pending = 0;
	} else if (is_block(nm)) {
		block_end(o);
		if (!strcasecmp(nm, "pre"))
			h->pre++, o->collapse = 0;
		block_begin(o, h->list ? B_LIST : B_PARA, 0);
		if (h->list)
			o->started = 1; /* a paragraph inside an item continues it */
	}
}

static void html_end(struct xml_job *j, const char *nm)
{
	struct html *h = j->ud;
	struct out *o = j->o;
	if (!strcasecmp(nm, "head") || !strcasecmp(nm, "script") || !strcasecmp(nm, "style") ||
	    !strcasecmp(nm, "title")) {
		if (h->skip)
			h->skip--;
		return;
	}
	if (h->skip)
		return;
	if (((nm[0] == 'h' || nm[0] == 'H') && nm[1] >= '1' && nm[1] <= '6' && !nm[2]) || is_block(nm)) {
		block_end(o);
		if (!strcasecmp(nm, "pre") && h->pre && !--h->pre)
			o->collapse = 1;
	} else if (!strcasecmp(nm, "li")) {
		if (h->list)
			h->list--;
		block_end(o);
	}
}

static void html_chars(struct xml_job *j, const char *s, size_t n)
{
	if (!((struct html *)j->ud)->skip)
		out_text(j->o, s, n);
}

/* HTML parser callbacks (SAX1 style names) onto the same handlers. */
static void hsax_start(void *ctx, const xmlChar *name, const xmlChar **atts)
{
	(void)atts;
	struct xml_job *j = ctx;
	struct html *h = j->ud;
	if (++h->depth > HTML_MAX_DEPTH && h->restart_at < 0) {
		long at = xmlByteConsumed(j->ctxt);
		h->restart_at = at > 0 ? at : 0;   /* 0 (unknown): the rest is dropped */
		xmlStopParser(j->ctxt);
		return;
	}
	html_start(j, (const char *)name, NULL, 0);
}
static void hsax_end(void *ctx, const xmlChar *name)
{
	struct html *h = ((struct xml_job *)ctx)->ud;
	if (h->depth > 0)
		h->depth--;
	html_end(ctx, (const char *)name);
}

/* One HTML push parser over s[0..n) into j; returns the bytes read when it
 * stopped at HTML_MAX_DEPTH, or n. */
static size_t html_parse_run(htmlSAXHandler *sh, struct xml_job *j, const char *s, size_t n)
{
	struct html *h = j->ud;
	htmlParserCtxtPtr c = htmlCreatePushParserCtxt(sh, j, NULL, 0, NULL, XML_CHAR_ENCODING_UTF8);
	if (!c)
		return n;
	htmlCtxtUseOptions(c, HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_RECOVER |
	                      HTML_PARSE_IGNORE_ENC | HTML_PARSE_NODEFDTD);
	j->ctxt = c;
	h->depth = 0;
	h->restart_at = -1;
	size_t fed = 0;
	while (fed < n && !j->o->truncated && h->restart_at < 0) {
		size_t chunk = n - fed > (1u << 20) ? (1u << 20) : n - fed;
		htmlParseChunk(c, s + fed, (int)chunk, 0);
		fed += chunk;
	}
	if (!j->o->truncated && h->restart_at < 0)
		htmlParseChunk(c, NULL, 0, 1);
	if (c->myDoc)
		xmlFreeDoc(c->myDoc);
	c->myDoc = NULL;
	htmlFreeParserCtxt(c);
	j->ctxt = NULL;
	if (h->restart_at < 0)
		return n;
	size_t at = (size_t)h->restart_at < n ? (size_t)h->restart_at : n;
	while (at < n && s[at] != '>' && s[at] != '<')   /* it stopped inside a start tag */
		at++;
	if (at < n && s[at] == '>')
		at++;
	return at > 0 ? at : n;   /* always progress */
}

void office_process_init(void)
{
	xmlInitParser();
}

int office_html_to_text(const char *html, size_t n, size_t max, char **out, struct err *err)
{
	(void)err;
	struct out o;
	out_init(&o, max ? max : CAP_TEXT);
	o.collapse = 1;
	struct html h = {0};
	struct xml_job j = {.ud = &h, .o = &o};
	htmlSAXHandler sh;
	memset(&sh, 0, sizeof sh);
	sh.startElement = hsax_start;
	sh.endElement = hsax_end;
	sh.characters = (charactersSAXFunc)sax_chars;
	sh.cdataBlock = (cdataBlockSAXFunc)sax_chars;
	sh.warning = sax_quiet;
	sh.error = sax_quiet;
	sh.fatalError = sax_quiet;
	j.chars = html_chars;
	while (n > 0 && !o.truncated) {
		size_t used = html_parse_run(&sh, &j, html, n);
		html += used;
		n -= used;
		h.skip = h.pre = h.list = 0;   /* a fresh parser knows nothing of what was open */
	}
	block_end(&o);
	*out = buf_take(&o.text);
	out_free(&o);
	return 0;
}

/* ---- EPUB ------------------------------------------------------------------ */

struct opf_item {
	char id[128], href[512], type[64];
};
struct opf {
	struct opf_item *items;
	size_t n, cap;
	char (*spine)[128];
	size_t ns, scap;
	char rootfile[512];
};

static void container_start(struct xml_job *j, const char *nm, const xmlChar **a, int n)
{
	struct opf *p = j->ud;
	if (!strcmp(nm, "rootfile") && !p->rootfile[0])
		attr(a, n, "full-path", p->rootfile, sizeof p->rootfile);
}

static void opf_start(struct xml_job *j, const char *nm, const xmlChar **a, int n)
{
	struct opf *p = j->ud;
	if (!strcmp(nm, "item") && p->n < 20000) {
		if (p->n == p->cap) {
			p->cap = p->cap ? p->cap * 2 : 32;
			p->items = xrealloc(p->items, p->cap * sizeof *p->items);
		}
		struct opf_item *it = &p->items[p->n++];
		attr(a, n, "id", it->id, sizeof it->id);
		attr(a, n, "href", it->href, sizeof it->href);
		attr(a, n, "media-type", it->type, sizeof it->type);
	} else if (!strcmp(nm, "itemref") && p->ns < 20000) {
		if (p->ns == p->scap) {
			p->scap = p->scap ? p->scap * 2 : 32;
			p->spine = xrealloc(p->spine, p->scap * sizeof *p->spine);
		}
		attr(a, n, "idref", p->spine[p->ns], sizeof p->spine[p->ns]);
		p->ns++;
	}
}

/* ---- sniffing --------------------------------------------------------------- */

/* 1 if buf holds the UTF-16LE name of a CFB directory entry (32 UTF-16 units at most). */
static int has_utf16_name(const unsigned char *buf, size_t n, const char *name)
{
	size_t l = strlen(name);
	for (size_t i = 0; i + 2 * l <= n; i++) {
		size_t k = 0;
		while (k < l && buf[i + 2 * k] == (unsigned char)name[k] && buf[i + 2 * k + 1] == 0)
			k++;
		if (k == l)
			return 1;
	}
	return 0;
}

/* A password-protected OOXML file (ECMA-376 encryption) is an OLE compound
 * file whose directory holds an "EncryptedPackage" stream (and its
 * "EncryptionInfo"). The directory is looked for in the first 64 kB and in
 * the directory's first sector, which the header names. */
static int ole_encrypted(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	unsigned char buf[65536];
	size_t n = fread(buf, 1, sizeof buf, f);
	static const unsigned char ole[8] = {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1};
	int found = 0;
	if (n >= 512 && !memcmp(buf, ole, 8)) {
		found = has_utf16_name(buf, n, "EncryptedPackage") || has_utf16_name(buf, n, "EncryptionInfo");
		unsigned shift = (unsigned)buf[0x1E] | (unsigned)buf[0x1F] << 8;
		uint32_t dir = (uint32_t)buf[0x30] | (uint32_t)buf[0x31] << 8 | (uint32_t)buf[0x32] << 16 |
		               (uint32_t)buf[0x33] << 24;
		if (!found && (shift == 9 || shift == 12) && dir < 0xFFFFFFFAu) {
			size_t sector = (size_t)1 << shift;
			long off = (long)(((uint64_t)dir + 1) * sector);
			if (off > 0 && fseek(f, off, SEEK_SET) == 0) {
				size_t m = fread(buf, 1, sector, f);
				found = has_utf16_name(buf, m, "EncryptedPackage") || has_utf16_name(buf, m, "EncryptionInfo");
			}
		}
	}
	fclose(f);
	return found;
}

static const char *mimetype_format(const char *m)
{
	if (!strncmp(m, "application/vnd.oasis.opendocument.text", 39))
		return "odt";
	if (!strncmp(m, "application/vnd.oasis.opendocument.spreadsheet", 46))
		return "ods";
	if (!strncmp(m, "application/vnd.oasis.opendocument.presentation", 47))
		return "odp";
	if (!strncmp(m, "application/epub+zip", 20))
		return "epub";
	return NULL;
}

static const char *zip_format(struct zip *z)
{
	if (zip_has(z, "word/document.xml"))
		return "docx";
	if (zip_has(z, "xl/workbook.xml"))
		return "xlsx";
	if (zip_has(z, "ppt/presentation.xml"))
		return "pptx";
	if (zip_has(z, "mimetype")) {
		char *m = NULL;
		const char *f = NULL;
		if (zip_small(z, "mimetype", 256, &m, NULL) == 0) {
			trim(m);
			f = mimetype_format(m);
		}
		free(m);
		if (f)
			return f;
	}
	if (zip_has(z, "META-INF/container.xml"))
		return "epub";
	if (zip_has(z, "content.xml") && zip_has(z, "meta.xml"))
		return "odt";
	return NULL;
}

int office_sniff(const char *path, char *fmt, size_t n)
{
	if (ole_encrypted(path)) {
		snprintf(fmt, n, "encrypted");
		return 0;
	}
	struct zip z = {.path = path};
	limits_fill(&z.lim, NULL);
	z.lim.max_members = 5000;
	const char *f = NULL;
	if (zip_list(&z, NULL) == 0)
		f = zip_format(&z);
	zip_clear(&z);
	if (!f)
		return -1;
	snprintf(fmt, n, "%s", f);
	return 0;
}

/* ---- extraction ------------------------------------------------------------- */

static int cmp_slide_names(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	long nx = atol(x + strcspn(x, "0123456789")), ny = atol(y + strcspn(y, "0123456789"));
	return nx < ny ? -1 : nx > ny;
}

/* A required member's failure: absent is a damaged document. */
static int need(int rc, struct zip *z, const char *member, struct err *err)
{
	if (rc == DOSSIER_ENOTFOUND)
		return err_set(err, DOSSIER_EFORMAT,
		               "%s: the document has no %s part: it is damaged or incomplete (re-save it from its "
		               "application)",
		               z->path, member);
	return rc;
}

/* ---- headers and footers, once each ---------------------------------------- */

#define HF_MAX_TEXT (64u * 1024u) /* one header's or footer's text */
#define ODF_MAX_NOTES (4u * 1024u * 1024u) /* an ODT's notes, kept while its body is read */
#define HF_MAX_SEEN 256           /* distinct ones kept */
#define HF_MAX_PARTS 64           /* DOCX header and footer parts read (each is a pass over the zip) */

struct hf_set {
	uint64_t seen[HF_MAX_SEEN];
	size_t n;
	int head_done;
};

static uint64_t fnv64(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

/* One header's or footer's text (collected in tmp) into o, unless it is empty
 * or the same as one written before: a page header repeats on every page and
 * section, and it is text once. */
static void hf_flush(struct hf_set *h, struct out *o, struct out *tmp)
{
	block_end(tmp);
	const char *t = tmp->text.data ? tmp->text.data : "";
	size_t n = tmp->text.len;
	while (n && isspace((unsigned char)t[n - 1]))
		n--;
	while (n && isspace((unsigned char)*t))
		t++, n--;
	if (!n)
		goto done;
	uint64_t k = fnv64(t, n);
	for (size_t i = 0; i < h->n; i++)
		if (h->seen[i] == k)
			goto done;
	if (h->n == HF_MAX_SEEN)
		goto done;
	h->seen[h->n++] = k;
	block_end(o);
	if (!h->head_done) {
		h->head_done = 1;
		block_begin(o, B_HEAD, 2);
		out_text(o, "Headers and footers", 19);
		block_end(o);
	}
	block_begin(o, B_PARA, 0);
	/* a skipped page number leaves two spaces ("Page  of 3"): one is kept */
	for (size_t i = 0; i < n;) {
		size_t e = i;
		while (e < n && !(t[e] == ' ' && e + 1 < n && t[e + 1] == ' '))
			e++;
		out_text(o, t + i, e - i);
		if (e < n)
			e++;
		i = e;
	}
	block_end(o);
done:
	buf_reset(&tmp->text);
	tmp->truncated = 0;
	tmp->last_kind = B_PARA;
	json_array_clear(tmp->headings);
}

static int cmp_hf_names(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	/* headers before footers, then by number */
	int fx = strstr(x, "footer") != NULL, fy = strstr(y, "footer") != NULL;
	if (fx != fy)
		return fx - fy;
	return cmp_slide_names(a, b);
}

/* ---- DOCX ------------------------------------------------------------------ */

/* A part the text can do without (notes, comments, headers): missing or
 * damaged costs only that part; a zip bomb still stops the document. */
static int optional_part(int rc, struct err *err)
{
	if (rc && rc != DOSSIER_ETOOBIG) {
		err_clear(err);
		return 0;
	}
	return rc;
}

/* word/footnotes.xml or endnotes.xml: the notes the body refers to, in the
 * part's order, each led by its mark. */
static int docx_notes(struct zip *z, struct out *o, const char *member, struct note_marks *m, int *done,
                      struct err *err)
{
	if (!m->n)
		return 0;
	struct docx d = {.part = DP_NOTES, .notes = m, .section_done = done, .section = "Notes"};
	struct xml_job j = {.start = docx_start, .end = docx_end, .chars = docx_chars, .ud = &d, .o = o};
	int rc = optional_part(xml_member(z, member, &j, err), err);
	block_end(o);
	return rc;
}

static int extract_docx(struct zip *z, struct out *o, json_t *r, struct err *err)
{
	struct note_marks fn = {0}, en = {.roman = 1};
	struct docx d = {.fn = &fn, .en = &en};
	struct xml_job j = {.start = docx_start, .end = docx_end, .chars = docx_chars, .ud = &d, .o = o};
	int rc = need(xml_member(z, "word/document.xml", &j, err), z, "word/document.xml", err);
	block_end(o);
	/* after the body: the notes it refers to, the comments, then each
	 * distinct page header and footer */
	int notes_done = 0, comments_done = 0;
	if (!rc && !o->truncated)
		rc = docx_notes(z, o, "word/footnotes.xml", &fn, &notes_done, err);
	if (!rc && !o->truncated)
		rc = docx_notes(z, o, "word/endnotes.xml", &en, &notes_done, err);
	if (!rc && !o->truncated && zip_has(z, "word/comments.xml")) {
		struct docx dc = {.part = DP_COMMENTS, .section_done = &comments_done, .section = "Comments"};
		struct xml_job jc = {.start = docx_start, .end = docx_end, .chars = docx_chars, .ud = &dc, .o = o};
		rc = optional_part(xml_member(z, "word/comments.xml", &jc, err), err);
		block_end(o);
	}
	const char **hf = NULL;
	size_t nhf = 0;
	for (size_t i = 0; i < z->n_names && nhf < HF_MAX_PARTS; i++) {
		const char *nm = z->names[i];
		if ((!strncmp(nm, "word/header", 11) || !strncmp(nm, "word/footer", 11)) && !strchr(nm + 5, '/') &&
		    str_endswith_ci(nm, ".xml")) {
			hf = xrealloc(hf, (nhf + 1) * sizeof *hf);
			hf[nhf++] = nm;
		}
	}
	if (nhf)
		qsort(hf, nhf, sizeof *hf, cmp_hf_names);
	struct hf_set seen = {0};
	struct out tmp;
	out_init(&tmp, HF_MAX_TEXT);
	for (size_t i = 0; i < nhf && !rc && !o->truncated; i++) {
		struct docx dh = {.part = DP_HF};
		struct xml_job jh = {.start = docx_start, .end = docx_end, .chars = docx_chars, .ud = &dh, .o = &tmp};
		rc = optional_part(xml_member(z, hf[i], &jh, err), err);
		hf_flush(&seen, o, &tmp);
	}
	out_free(&tmp);
	free(hf);
	(void)r;
	free(fn.ids);
	free(en.ids);
	free(fn.slots);
	free(en.slots);
	return rc;
}

static void pptx_setup(void *ctx, size_t i, struct xml_job *j)
{
	(void)i;
	memset(ctx, 0, sizeof(struct pptx));
	j->start = pptx_start, j->end = pptx_end, j->chars = pptx_chars, j->ud = ctx;
}

static int extract_pptx(struct zip *z, struct out *o, json_t *r, struct err *err)
{
	struct rels rl = {0};
	struct workbook w = {0};
	read_rels(z, "ppt/_rels/presentation.xml.rels", &rl);
	struct xml_job jw = {.start = wb_start, .ud = &w};
	xml_member(z, "ppt/presentation.xml", &jw, NULL);
	/* presentation order; the slide files by number when the list is missing */
	char **order = NULL;
	size_t n = 0;
	for (size_t i = 0; i < w.n; i++) {
		const char *t = rels_target(&rl, w.v[i].rid);
		if (!t)
			continue;
		char p[1024];
		join_path("ppt/", t, p, sizeof p);
		order = xrealloc(order, (n + 1) * sizeof *order);
		order[n++] = xstrdup(p);
	}
	if (!n) {
		for (size_t i = 0; i < z->n_names; i++)
			if (!strncmp(z->names[i], "ppt/slides/slide", 16) && str_endswith_ci(z->names[i], ".xml")) {
				order = xrealloc(order, (n + 1) * sizeof *order);
				order[n++] = xstrdup(z->names[i]);
			}
		if (n)
			qsort(order, n, sizeof *order, cmp_slide_names);
	}
	struct pptx p;
	struct part_texts t;
	size_t room = o->max > o->text.len ? o->max - o->text.len : 0;
	int rc = zip_parts(z, order, n, room, pptx_setup, &p, &t, err);
	for (size_t i = 0; i < n && !o->truncated; i++) {
		char h[64];
		snprintf(h, sizeof h, "Slide %zu", i + 1);
		block_end(o);
		block_begin(o, B_HEAD, 2);
		out_text(o, h, strlen(h));
		block_end(o);
		if (t.found[i])
			out_part(o, &t.v[i]);
	}
	part_texts_free(&t);
	json_object_set_new(r, "slides", json_integer((json_int_t)n));
	for (size_t i = 0; i < n; i++)
		free(order[i]);
	free(order);
	free(rl.v);
	free(w.v);
	return rc;
}

/* One sheet at a time through the same state; each sheet's row count kept. */
struct sheet_pass {
	struct xlsx_sheet s;
	long *rows;       /* per sheet, the workbook's order */
	size_t cur;
	int started;
};

static void sheet_setup(void *ctx, size_t i, struct xml_job *j)
{
	struct sheet_pass *sp = ctx;
	if (sp->started)
		sp->rows[sp->cur] = sp->s.rows;
	sp->started = 1;
	sp->cur = i;
	struct buf val = sp->s.val;
	const struct xlsx_shared *sst = sp->s.sst;
	memset(&sp->s, 0, sizeof sp->s);
	sp->s.sst = sst;
	sp->s.val = val;
	buf_reset(&sp->s.val);
	j->start = sheet_start, j->end = sheet_end, j->chars = sheet_chars, j->ud = &sp->s;
}

static int extract_xlsx(struct zip *z, struct out *o, json_t *r, struct err *err)
{
	struct rels rl = {0};
	struct workbook w = {0};
	read_rels(z, "xl/_rels/workbook.xml.rels", &rl);
	struct xml_job jw = {.start = wb_start, .ud = &w};
	int rc = need(xml_member(z, "xl/workbook.xml", &jw, err), z, "xl/workbook.xml", err);
	struct xlsx_shared sst = {0};
	buf_init(&sst.cur, 1u << 20);
	if (!rc) {
		struct xml_job js = {.start = sst_start, .end = sst_end, .chars = sst_chars, .ud = &sst};
		rc = xml_member(z, "xl/sharedStrings.xml", &js, err);
		if (rc == DOSSIER_ENOTFOUND)
			err_clear(err), rc = 0;
	}
	json_t *sheets = json_array();
	/* the workbook's sheets, read in one pass, written in the workbook's order */
	char **order = xcalloc(w.n ? w.n : 1, sizeof *order);
	for (size_t i = 0; i < w.n; i++) {
		const char *t = rels_target(&rl, w.v[i].rid);
		char p[1024];
		if (t)
			join_path("xl/", t, p, sizeof p);
		else
			snprintf(p, sizeof p, "xl/worksheets/sheet%zu.xml", i + 1);
		order[i] = xstrdup(p);
	}
	struct sheet_pass sp = {.rows = xcalloc(w.n ? w.n : 1, sizeof *sp.rows)};
	sp.s.sst = &sst;
	buf_init(&sp.s.val, 1u << 20);
	struct part_texts pt = {0};
	if (!rc && w.n) {
		size_t room = o->max > o->text.len ? o->max - o->text.len : 0;
		rc = zip_parts(z, order, w.n, room, sheet_setup, &sp, &pt, err);
		if (sp.started)
			sp.rows[sp.cur] = sp.s.rows;
	}
	for (size_t i = 0; i < w.n && pt.n && !o->truncated; i++) {
		block_end(o);
		block_begin(o, B_HEAD, 2);
		out_text(o, "Sheet: ", 7);
		out_text(o, w.v[i].name, strlen(w.v[i].name));
		block_end(o);
		if (pt.found[i])
			out_part(o, &pt.v[i]);
		json_array_append_new(sheets, json_pack("{s:s,s:I}", "name", w.v[i].name, "rows", (json_int_t)sp.rows[i]));
	}
	part_texts_free(&pt);
	buf_free(&sp.s.val);
	free(sp.rows);
	for (size_t i = 0; i < w.n; i++)
		free(order[i]);
	free(order);
	json_object_set_new(r, "sheets", sheets);
	for (size_t i = 0; i < sst.n; i++)
		free(sst.v[i]);
	free(sst.v);
	buf_free(&sst.cur);
	free(rl.v);
	free(w.v);
	return rc;
}

static int odf_encrypted(struct zip *z)
{
	char *m = NULL;
	int enc = 0;
	if (zip_small(z, "META-INF/manifest.xml", 4u << 20, &m, NULL) == 0)
		enc = strstr(m, "encryption-data") != NULL;
	free(m);
	return enc;
}

static int extract_odf(struct zip *z, const char *fmt, struct out *o, json_t *r, struct err *err)
{
	if (odf_encrypted(z))
		return err_set(err, DOSSIER_EPERM,
		               "%s: the document " MEDIA_ENCRYPTED_WORDS ": " ENCRYPTED_FIX, z->path);
	struct odf d = {0};
	d.is_sheet = !strcmp(fmt, "ods");
	d.is_pres = !strcmp(fmt, "odp");
	d.sheets = json_array();
	struct out notes;
	out_init(&notes, o->max < ODF_MAX_NOTES ? o->max : ODF_MAX_NOTES);
	if (!d.is_sheet && !d.is_pres)
		d.notes = &notes;
	struct xml_job j = {.start = odf_start, .end = odf_end, .chars = odf_chars, .ud = &d, .o = o};
	int rc = need(xml_member(z, "content.xml", &j, err), z, "content.xml", err);
	block_end(o);
	block_end(&notes);
	if (!rc && notes.text.len) {
		/* the notes after the body, each led by its citation */
		block_begin(o, B_HEAD, 2);
		out_text(o, "Notes", 5);
		block_end(o);
		block_begin(o, B_PARA, 0);
		out_text(o, notes.text.data, notes.text.len);
		block_end(o);
		o->truncated |= notes.truncated;
	}
	out_free(&notes);
	if (!rc && !o->truncated && !d.is_sheet && !d.is_pres) {
		/* a text document's page headers and footers, each distinct one once */
		struct hf_set seen = {0};
		struct out tmp;
		out_init(&tmp, HF_MAX_TEXT);
		struct odf ds = {.hf_only = 1, .hf_tmp = &tmp, .hf_seen = &seen};
		struct xml_job js = {.start = odf_start, .end = odf_end, .chars = odf_chars, .ud = &ds, .o = o};
		rc = optional_part(xml_member(z, "styles.xml", &js, err), err);
		block_end(o);
		out_free(&tmp);
	}
	if (d.is_sheet)
		json_object_set(r, "sheets", d.sheets);
	if (d.is_pres)
		json_object_set_new(r, "slides", json_integer(d.slides));
	json_decref(d.sheets);
	return rc;
}

static int cmp_item_id(const void *a, const void *b)
{
	return strcmp(((const struct opf_item *)a)->id, ((const struct opf_item *)b)->id);
}

static void chapter_setup(void *ctx, size_t i, struct xml_job *j)
{
	(void)i;
	memset(ctx, 0, sizeof(struct html));
	j->o->collapse = 1;
	j->start = html_start, j->end = html_end, j->chars = html_chars, j->ud = ctx;
}

static int extract_epub(struct zip *z, struct out *o, json_t *r, struct props *pr, struct err *err)
{
	struct opf p = {0};
	struct xml_job jc = {.start = container_start, .ud = &p};
	int rc = need(xml_member(z, "META-INF/container.xml", &jc, err), z, "META-INF/container.xml", err);
	if (!rc && !p.rootfile[0])
		rc = err_set(err, DOSSIER_EFORMAT, "%s: the EPUB names no package document in META-INF/container.xml: "
		             "it is damaged", z->path);
	if (!rc) {
		read_props(z, p.rootfile, pr);
		struct xml_job jo = {.start = opf_start, .ud = &p};
		rc = need(xml_member(z, p.rootfile, &jo, err), z, p.rootfile, err);
	}
	char dir[512] = "";
	const char *slash = strrchr(p.rootfile, '/');
	if (slash)
		snprintf(dir, sizeof dir, "%.*s/", (int)(slash - p.rootfile), p.rootfile);
	/* the spine's chapters, read in one pass (items looked up by id in a sorted copy) */
	char **order = xcalloc(p.ns ? p.ns : 1, sizeof *order);
	size_t n = 0;
	struct opf_item *byid = p.n ? xcalloc(p.n, sizeof *byid) : NULL;
	if (byid)
		memcpy(byid, p.items, p.n * sizeof *byid);
	if (byid)
		qsort(byid, p.n, sizeof *byid, cmp_item_id);
	for (size_t i = 0; !rc && i < p.ns; i++) {
		struct opf_item key;
		snprintf(key.id, sizeof key.id, "%s", p.spine[i]);
		const struct opf_item *it = byid ? bsearch(&key, byid, p.n, sizeof *byid, cmp_item_id) : NULL;
		if (!it)
			continue;
		char path[1024];
		join_path(dir, it->href, path, sizeof path);
		order[n++] = xstrdup(path);
	}
	free(byid);
	int chapters = 0;
	if (!rc && n) {
		struct html h;
		struct part_texts t;
		size_t room = o->max > o->text.len ? o->max - o->text.len : 0;
		rc = zip_parts(z, order, n, room, chapter_setup, &h, &t, err);
		for (size_t i = 0; i < n && !o->truncated; i++)
			if (t.found[i]) {
				out_part(o, &t.v[i]);
				chapters++;
			}
		part_texts_free(&t);
	}
	for (size_t i = 0; i < n; i++)
		free(order[i]);
	free(order);
	json_object_set_new(r, "chapters", json_integer(chapters));
	free(p.items);
	free(p.spine);
	return rc;
}

int office_extract(const char *path, const struct office_limits *lim, json_t **out, struct err *err)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return err_set(err, DOSSIER_ENOTFOUND, "%s: cannot open the file", path);
	fclose(f);
	if (ole_encrypted(path))
		return err_set(err, DOSSIER_EPERM,
		               "%s: the document " MEDIA_ENCRYPTED_WORDS ": " ENCRYPTED_FIX, path);
	struct zip z = {.path = path};
	limits_fill(&z.lim, lim);
	int rc = zip_list(&z, err);
	if (rc) {
		zip_clear(&z);
		return rc;
	}
	const char *fmt = zip_format(&z);
	if (!fmt) {
		zip_clear(&z);
		return err_set(err, DOSSIER_EFORMAT,
		               "%s: a ZIP file but not an Office, OpenDocument or EPUB document (no word/document.xml, "
		               "content.xml or META-INF/container.xml)",
		               path);
	}
	if (z.encrypted) {
		zip_clear(&z);
		return err_set(err, DOSSIER_EPERM,
		               "%s: the ZIP container " MEDIA_ENCRYPTED_WORDS ": " ENCRYPTED_FIX, path);
	}
	json_t *r = json_object();
	struct out o;
	out_init(&o, z.lim.max_text);
	struct props pr = {0};
	if (!strcmp(fmt, "docx") || !strcmp(fmt, "xlsx") || !strcmp(fmt, "pptx"))
		read_props(&z, "docProps/core.xml", &pr);
	else if (strcmp(fmt, "epub"))
		read_props(&z, "meta.xml", &pr);

	if (!strcmp(fmt, "docx"))
		rc = extract_docx(&z, &o, r, err);
	else if (!strcmp(fmt, "pptx"))
		rc = extract_pptx(&z, &o, r, err);
	else if (!strcmp(fmt, "xlsx"))
		rc = extract_xlsx(&z, &o, r, err);
	else if (!strcmp(fmt, "epub"))
		rc = extract_epub(&z, &o, r, &pr, err);
	else
		rc = extract_odf(&z, fmt, &o, r, err);
	block_end(&o);

	if (rc) {
		json_decref(r);
	} else {
		json_object_set_new(r, "format", json_string(fmt));
		json_object_set_new(r, "text", json_stringn(o.text.data ? o.text.data : "", o.text.len));
		if (pr.title[0])
			json_object_set_new(r, "title", json_string(pr.title));
		if (pr.author[0])
			json_object_set_new(r, "author", json_string(pr.author));
		if (pr.created[0])
			json_object_set_new(r, "created", json_string(pr.created));
		if (pr.modified[0])
			json_object_set_new(r, "modified", json_string(pr.modified));
		if (pr.language[0])
			json_object_set_new(r, "language", json_string(pr.language));
		json_object_set(r, "headings", o.headings);
		json_t *sheets = json_object_get(r, "sheets");
		if (json_is_array(sheets) && json_array_size(sheets)) {
			/* what a workbook holds, for an offline summary that is not made of its numbers */
			struct buf h;
			buf_init(&h, 4096);
			size_t ns = json_array_size(sheets), i;
			json_t *sh;
			buf_appendf(&h, "A workbook of %zu sheet%s: ", ns, ns == 1 ? "" : "s");
			json_array_foreach(sheets, i, sh) {
				if (i == 20) {
					buf_appendf(&h, " and %zu more", ns - 20);
					break;
				}
				json_int_t rows = json_integer_value(json_object_get(sh, "rows"));
				buf_appendf(&h, "%s%s (%lld row%s)", i ? ", " : "", json_string_value(json_object_get(sh, "name")),
				            (long long)rows, rows == 1 ? "" : "s");
			}
			buf_appendc(&h, '.');
			json_object_set_new(r, "summary_hint", json_string(h.data));
			buf_free(&h);
		}
		json_object_set_new(r, "truncated", json_boolean(o.truncated));
		json_object_set_new(r, "expanded_bytes", json_integer((json_int_t)z.expanded));
		json_object_set_new(r, "engine", json_string("dossier:office"));
		*out = r;
	}
	out_free(&o);
	zip_clear(&z);
	return rc;
}
