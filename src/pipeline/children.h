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

#define CHILD_MAX_DEPTH 3  /* a child of a child of a child is the deepest unpacked */

struct children {
	struct step_env *env;        /* borrowed */
	const struct doc_rec *doc;   /* the parent, borrowed */
	int depth;                   /* the parent's depth: 0 = a file the user named */
	json_t *list;                /* [{"id","place","name"}] of the children added (owned) */
	int64_t *before;             /* ids of the children an earlier run recorded (owned) */
	size_t n_before;
	char tmp_dir[4096];          /* <data_dir>/tmp, where members are unpacked first */
};

/* Prepares to add children to doc (creating <data_dir>/tmp). A document
 * already CHILD_MAX_DEPTH deep gets DOSSIER_ETOOBIG with a message saying so. */
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
 * an encrypted member through children_add_encrypted).
 * *summary as archive_unpack gives it (may be NULL). */
struct archive_limits;
int children_unpack(struct children *c, const char *path, const struct archive_limits *lim, json_t **summary,
                    struct err *err);
/* Forgets the children of an earlier version of the parent that were not
 * added again, and gives the list of children (caller decrefs; may be NULL).
 * Frees what begin allocated. */
void children_end(struct children *c, json_t **list);

#endif
