/*
 * forget.h — forgetting a document: everything dossier made of it and kept
 * for it, never the user's own file.
 *
 *   struct forget_stats fs;
 *   if (pipeline_forget(st, "/home/me/.local/share/dossier", 7, &fs, &err) == 0)
 *       printf("forgot %s (%d frames)\n", fs.path, fs.frame_files);
 *   forget_stats_clear(&fs);
 *
 * The CLI (`dossier rm`, `dossier prune`) and the server (DELETE
 * /api/documents/{id}) both forget through pipeline_forget.
 */
#ifndef DOSSIER_PIPELINE_FORGET_H
#define DOSSIER_PIPELINE_FORGET_H

#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "store/store.h"

struct err;

struct forget_stats {
	int64_t id;            /* the document forgotten */
	char *path;            /* owned; its path as it was */
	char sha256[65];       /* its content hash ("" if never read) */
	int had_dossier;       /* 1 if a dossier was stored */
	int steps;             /* queue rows deleted */
	int frame_files;       /* files removed under <data_dir>/frames/<sha256>/ */
	int ocr_files;         /* files removed under <data_dir>/ocr/<sha256>/ */
	int kept_shared;       /* 1: frames and OCR pages kept, another document has the same content */
	int upload_removed;    /* 1: its file was an upload under <data_dir>/uploads/ (or a child's bytes under
	                          <data_dir>/blobs/) and is deleted */
	int children;          /* documents found inside it (and inside those) forgotten with it */
	uint64_t bytes_freed;  /* bytes of the files removed */
	int file_errors;       /* files that could not be removed (left behind; the record is gone) */
	int copies;            /* records of second copies of its content forgotten with it */
	char *moved_to;        /* owned; FORGET_PATH only: the copy whose path the document took
	                          (its dossier kept, nothing removed); NULL otherwise */
};
void forget_stats_clear(struct forget_stats *s);  /* frees path; NULL is a no-op */
/* What went, for people: "dossier, 5 steps, 12 frame files, the uploaded
 * file; 2.1 MB freed", into out (n bytes). */
void forget_stats_describe(const struct forget_stats *s, char *out, size_t n);

/*
 * Forgets document id: first its children (pipeline/children.h), then its
 * record, steps, dossier and index entry (one transaction); then its frames (<data_dir>/frames/<sha256>/) and OCR pages
 * (<data_dir>/ocr/<sha256>/) unless another document has the same content;
 * and, when its file is an upload (directly under <data_dir>/uploads/), that
 * file. data_dir is the directory holding frames/, ocr/ and uploads/. Files
 * elsewhere are never touched. Returns 0 with *out filled (caller clears with
 * forget_stats_clear), DOSSIER_ENOTFOUND naming the id, or DOSSIER_EDB (then
 * nothing was removed). A file that cannot be removed after the record is
 * gone is counted in out->file_errors, not an error.
 */
int pipeline_forget(store *st, const char *data_dir, int64_t id, struct forget_stats *out, struct err *err);

/* Forget the path rather than the content: a document with a copy elsewhere
 * (ingest_decide.h) moves to the copy's path and keeps its dossier. */
#define FORGET_PATH 1u
/*
 * pipeline_forget, with flags (FORGET_PATH or 0) and, when b is not NULL,
 * the events stored with each change and then published: document_deleted
 * for each record removed (the document, its copies, its children), or
 * document_moved when it moved to a copy. Without FORGET_PATH the records of
 * its copies go with it.
 */
int pipeline_forget_ev(store *st, const char *data_dir, bus *b, int64_t id, unsigned flags,
                       struct forget_stats *out, struct err *err);

/* Document id moves to the path of its oldest copy that is there
 * (FORGET_PATH without the fallback): *out says so (moved_to). With b, the
 * document_moved and the copy row's document_deleted are stored with the
 * change. DOSSIER_ENOTFOUND (nothing changed) when it has no such copy. */
int pipeline_move_to_copy(store *st, bus *b, int64_t id, struct forget_stats *out, struct err *err);

/* 1 if path is an upload: a file directly under <data_dir>/uploads/. */
int pipeline_is_upload(const char *data_dir, const char *path);

#endif
