/*
 * children.h — child documents: a file found inside another (an archive's
 * member, a mail's attachment) becomes a document of its own, analysed by its
 * kind, with a parent and its place there. Its bytes are kept
 * content-addressed under <data_dir>/blobs/ (like uploads), so it can be read
 * again without its parent; the same content in two parents is one document
 * (the first parent keeps it).
 *
 *   struct children kids;
 *   children_begin(env, doc, &kids);
 *   children_add(&kids, "docs/report.docx", "/data/tmp/member-abc123", &id, &err);  // moves the file
 *   children_end(&kids, &listing);   // forgets children of an earlier version that are gone
 */
#ifndef DOSSIER_PIPELINE_CHILDREN_H
#define DOSSIER_PIPELINE_CHILDREN_H

#include <jansson.h>
#include <stdint.h>

#include "pipeline/pipeline.h"

#define CHILD_MAX_DEPTH 3  /* default of max_nesting_depth: a child of a child of a child is the deepest unpacked */

struct children {
	struct step_env *env;        /* borrowed */
	const struct doc_rec *doc;   /* the parent, borrowed */
	int depth;                   /* the parent's depth: 0 = a file the user named */
	int max_depth;               /* max_nesting_depth (config), else CHILD_MAX_DEPTH */
	int64_t root;                /* the top-level file doc is inside (doc itself at depth 0) */
	uint64_t expanded_before;    /* bytes of the other documents inside root, counted against
	                                max_expanded_bytes by children_unpack */
	json_t *list;                /* [{"id","place","name"}] of the children added (owned) */
	int64_t *before;             /* ids of the children an earlier run recorded (owned) */
	size_t n_before;
	char tmp_dir[4096];          /* <data_dir>/tmp, where members are unpacked first */
};

/* Prepares to add children to doc (creating <data_dir>/tmp). A document
 * already max_nesting_depth deep (config; CHILD_MAX_DEPTH without one) gets
 * DOSSIER_ETOOBIG with a message saying so. Sums the bytes of the documents
 * already inside doc's top-level file (doc's own earlier children aside)
 * into out->expanded_before. */
int children_begin(struct step_env *env, const struct doc_rec *doc, struct children *out, struct err *err);
/* Moves file (in out->tmp_dir) to the blob store and ingests it as a child at
 * place (its path or name in the parent). *id_out (may be NULL) = the child.
 * Errors are the store's; a file that cannot be classified is recorded as
 * failed, as ingest does. */
int children_add(struct children *c, const char *place, const char *file, int64_t *id_out, struct err *err);
/* Records an encrypted member, which cannot be unpacked, as a child at place
 * with the status "encrypted" and a message saying what to do (no steps: it
 * is not tried again until its parent changes). size and mtime as the archive
 * states them (-1, 0 if not) tell one version of the member from another.
 * *id_out (may be NULL) = the child. */
int children_add_encrypted(struct children *c, const char *place, int64_t size, int64_t mtime, int64_t *id_out,
                           struct err *err);
/* Unpacks the members of the archive at path that lim (may be NULL) lets
 * through, each a child (media/archive.h: archive_unpack with children_add;
 * an encrypted member through children_add_encrypted). Archives nested in
 * one top-level file share one budget of lim->max_expanded: the bytes kept
 * inside it before (c->expanded_before) and those the unpacks under it in
 * this process write, concurrent ones included, count against it.
 * *summary as archive_unpack gives it (may be NULL). */
struct archive_limits;
int children_unpack(struct children *c, const char *path, const struct archive_limits *lim, json_t **summary,
                    struct err *err);
/* Forgets the children of an earlier version of the parent that were not
 * added again, and gives the list of children (caller decrefs; may be NULL).
 * Frees what begin allocated. */
void children_end(struct children *c, json_t **list);

/* 1 if an office document's zip member becomes a child document: an image
 * in its media folders of at least 32 kB (size -1: unknown, taken). */
int office_child_wanted(const char *name, int64_t size, void *user);

/* The kind a member or an attachment would be given, judged before it is
 * unpacked by its name and MIME type (mime NULL or generic: by the name's
 * extension), into kind ("image", ..., or "unsupported"). */
void children_kind_of(const char *name, const char *mime, char *kind, size_t n);

/* A mail or mailbox larger than this is not parsed by the planner's scan:
 * its attachments are estimated from the attachment headers in its first
 * CHILD_SCAN_MAX_MAIL bytes. */
#define CHILD_SCAN_MAX_MAIL (64ull << 20)

/*
 * Counts, before a run, what the file at path (of kind `kind`) holds that
 * would become child documents, and adds it to kinds[i].children of the kind
 * each would have (children_kind_of): an archive's regular members (from its
 * headers through archive_list, nothing unpacked; encrypted ones need no model
 * and are not counted), a mail's attachments (its MIME structure through
 * GMime, nothing decoded) and an office document's embedded images (zip
 * entries by name and size). kinds[i].children_src is "scanned", or
 * "estimated" when a bound stopped the scan and the count was extrapolated
 * from the share read. Bounds per file: archive_list's (256 MiB consumed,
 * 2 s, 100,000 members) and CHILD_SCAN_MAX_MAIL; memory stays that of
 * libarchive's or GMime's state (and a nested archive's bytes, at most 64 MiB
 * each: an archive inside an archive is opened in memory and its members
 * counted too, down to CHILD_MAX_DEPTH levels, as the run does). Returns the children counted; never
 * fails (a file that cannot be scanned adds nothing).
 */
struct plan_kind_use;
uint64_t children_plan_scan(const char *path, const char *kind, struct plan_kind_use *kinds, size_t n);

#endif
