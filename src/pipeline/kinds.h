/*
 * kinds.h — the kind registry: the one table of document kinds. A row says
 * what the kind is called, how a file is recognised as one, which steps its
 * pipeline declares, and (from the roles of those steps) which models its
 * documents need, which is the planning scenario `dossier plan` uses.
 *
 *   for (size_t i = 0; i < kind_count(); i++) {
 *       const struct kind_def *k = kind_at(i);
 *       printf("%s needs roles %#x\n", k->name, kind_role_mask(k));
 *   }
 *
 * Adding a kind is one new file (pipeline/kind_<name>.c defining its
 * `const struct kind_def kind_<name>`) and one row in kinds.c. Nothing else
 * spells a kind's name. The table is static and read-only: thread safe.
 */
#ifndef DOSSIER_PIPELINE_KINDS_H
#define DOSSIER_PIPELINE_KINDS_H

#include <stddef.h>

#include "pipeline/pipeline.h"
#include "store/store.h"

/* Runs one step of a document (see pipeline_run_step for the contract). */
typedef int (*step_fn)(struct step_env *env, const struct doc_rec *doc, const struct step_rec *step,
                       const struct step_rec *steps, size_t n, json_t **result, struct err *err);

/* How strongly a kind claims a file. */
enum kind_match {
	KIND_MATCH_NO = 0,       /* not this kind */
	KIND_MATCH_NAME = 1,     /* only its name says so (e.g. notes.txt that is not text by content) */
	KIND_MATCH_CONTENT = 2,  /* its content says so */
};

struct kind_def {
	const char *name;              /* stored in documents.kind: "text", "pdf", ... */
	const char *plural;            /* for people: "text files", "PDFs" */
	/* How well a file whose content-detected type is `mime` (path for
	 * extension tie-breaks) fits this kind; on a match it may refine out->mime
	 * and set out->format. The strongest match wins; on a tie, the earlier row. */
	enum kind_match (*recognise)(const char *mime, const char *path, struct file_type *out);
	const struct step_decl *steps; /* the pipeline, static storage */
	const step_fn *run;            /* run[i] executes steps[i]; static storage */
	size_t n_steps;
	uint64_t lane_bytes;           /* working memory of one document on a cpu lane, for
	                                  the planner; 0 = the default for its roles */
};

/* Rows in table order; kind_at(i) for i < kind_count() is never NULL. */
size_t kind_count(void);
const struct kind_def *kind_at(size_t i);
/* The row named `name`, or NULL (e.g. "unsupported"). */
const struct kind_def *kind_find(const char *name);
/* Bit (1u << role) for every role a step of k needs: its planning scenario. */
unsigned kind_role_mask(const struct kind_def *k);

/* A step kind in a person's words ("ocr" -> "recognising text in the images"):
 * the one table of step labels, shown by the live display, the page and the
 * events' "label". Static storage; never NULL (an unknown kind is returned
 * as it is, NULL gives ""). */
const char *step_label(const char *step_kind);
/* The labelled step kinds, in table order (for tests and docs): the i-th kind,
 * or NULL past the end. Static storage. */
const char *step_label_kind_at(size_t i);

#endif
