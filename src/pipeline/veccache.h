/*
 * veccache.h — the int8 vectors of one embedding model in memory, for
 * processes that answer many semantic queries (`dossier serve`): one
 * contiguous array of dim bytes per chunk (plus its scale, chunk id and
 * document id: dim + 20 bytes a chunk), scanned per query instead of reading
 * chunk_q8 through SQLite.
 *
 * Loaded on the first query. Kept coherent with the store across processes:
 * every query reads the vectors' generation (store_vectors_gen, one indexed
 * read); when another connection or process has changed vectors since, the
 * documents that changed (store_vectors_changed) are dropped from the array
 * and read again before the scan. Bounded: when the model's chunks would
 * take more than the limit, the cache holds nothing and veccache_topk answers
 * DOSSIER_EUNAVAILABLE (the caller scans through SQLite); the log callback
 * hears that once. Thread safe (a read-write lock: queries scan together).
 *
 *   veccache *c; veccache_new(256 << 20, log, user, &c);
 *   rc = veccache_topk(c, st, "nomic-embed-text", 768, qq, qscale, &top, &e);
 *   if (rc == DOSSIER_EUNAVAILABLE) store_vectors_scan(...);
 *   veccache_free(c);
 */
#ifndef DOSSIER_PIPELINE_VECCACHE_H
#define DOSSIER_PIPELINE_VECCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "analyze/vecsearch.h"
#include "store/store.h"

struct err;
typedef struct veccache veccache;

/* Bytes the cache takes per chunk of dim dimensions. */
#define VECCACHE_ROW_BYTES(dim) ((size_t)(dim) + sizeof(float) + 2 * sizeof(int64_t))

/* A cache of at most limit_bytes (0 = never holds anything: every query
 * falls back). log (may be NULL) gets one line, without a newline, when the
 * cache first cannot hold the vectors, and after each load; log_user is
 * borrowed. *out: free with veccache_free. DOSSIER_ENOMEM. */
int veccache_new(size_t limit_bytes, void (*log)(void *user, const char *line), void *log_user, veccache **out);
void veccache_free(veccache *c);

/*
 * Pushes every chunk of model (dimension dim) into top with its approximate
 * cosine: dot_q8(q, v) * qscale * v's scale; ids are chunk ids, groups
 * document ids (as store_vectors_scan gives them). Loads or updates the cache
 * from st first when needed. DOSSIER_EUNAVAILABLE when the chunks do not fit
 * the limit (top untouched: scan the store instead), DOSSIER_EDB.
 */
int veccache_topk(veccache *c, store *st, const char *model, int dim, const signed char *q, float qscale,
                  struct vec_topk *top, struct err *err);

struct veccache_stats {
	size_t limit;        /* bytes allowed */
	size_t bytes;        /* bytes held by the arrays now */
	int64_t chunks;      /* chunks held */
	int dim;
	int64_t gen;         /* the store's vectors' generation the cache reflects */
	int over_limit;      /* 1 = the vectors do not fit: queries use the store */
	uint64_t loads;      /* full loads */
	uint64_t updates;    /* incremental updates (documents re-read) */
	double last_load_s;  /* wall seconds the last full load took */
};
void veccache_stats(veccache *c, struct veccache_stats *out);

#endif
