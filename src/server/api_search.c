/*
 * api_search.c — GET /api/search with mode=semantic|hybrid|text: the search
 * of pipeline/semantic.h as JSON (docs/api.md). Without mode, hybrid when
 * vectors of the embedding model are stored and the engine is there; the
 * plain full-text search (api.c) otherwise.
 */
#include "server/internal.h"
#include "core/err.h"
#include "core/util.h"
#include "pipeline/semantic.h"

#include <string.h>

int api_search_wants_modes(server *s, const char *mode)
{
	if (mode && *mode)
		return 1;
	const struct config *cfg = s->p.cfg;
	if (cfg->offline || !cfg->models[ROLE_EMBED].name[0] || !s->p.llm)
		return 0;
	store *st = pool_get(s, NULL);
	if (!st)
		return 0;
	int64_t n = 0;
	int have = store_vectors_count(st, cfg->models[ROLE_EMBED].name, &n, NULL, NULL) == 0 && n > 0;
	pool_put(s, st);
	return have;
}

static json_t *hit_json(const struct search_hit_ex *h, enum search_mode mode)
{
	const char *base = h->path ? strrchr(h->path, '/') : NULL;
	json_t *o = json_pack("{s:I,s:o,s:s,s:s,s:f}", "id", (json_int_t)h->id, "path",
	                      json_string_lossy(h->path ? h->path : ""), "title", h->title ? h->title : "", "snippet",
	                      h->snippet ? h->snippet : "", "rank", -h->score);
	json_object_set_new(o, "name", json_string_lossy(h->name ? h->name : base ? base + 1 : h->path ? h->path : ""));
	json_object_set_new(o, "kind", json_string(h->kind));
	json_object_set_new(o, "status", json_string(h->status));
	json_object_set_new(o, "bytes", json_integer((json_int_t)h->bytes));
	json_object_set_new(o, "mtime", json_integer((json_int_t)h->mtime));
	json_object_set_new(o, "missing", json_boolean(h->missing_at > 0));
	json_object_set_new(o, "score", json_real(h->score));
	json_object_set_new(o, "rank_text", h->rank_text ? json_integer(h->rank_text) : json_null());
	json_object_set_new(o, "rank_semantic", h->rank_semantic ? json_integer(h->rank_semantic) : json_null());
	if (h->chunk.id && mode != SEARCH_TEXT) {
		json_t *c = json_pack("{s:I,s:s,s:o,s:f}", "seq", (json_int_t)h->chunk.seq, "source", h->chunk.source, "text",
		                      json_string_lossy(h->chunk.text ? h->chunk.text : ""), "cosine", h->cosine);
		json_object_set_new(c, "page", h->chunk.page > 0 ? json_integer(h->chunk.page) : json_null());
		json_object_set_new(c, "start", h->chunk.start_s >= 0 ? json_real(h->chunk.start_s) : json_null());
		json_object_set_new(c, "end", h->chunk.end_s >= 0 ? json_real(h->chunk.end_s) : json_null());
		json_object_set_new(o, "chunk", c);
	}
	return o;
}

enum MHD_Result api_search_modes(server *s, struct MHD_Connection *c, const char *q, long limit,
                                 const struct doc_filter *f, const char *mode)
{
	enum search_mode m = SEARCH_AUTO;
	if (mode && *mode && (search_mode_parse(mode, &m) || m == SEARCH_AUTO))
		return reply_error(c, 400, "mode must be one of semantic, hybrid, text (not '%s')", mode);
	const char *bad = search_query_bad(q);
	if (bad)
		return reply_error(c, 400, "%s", bad);
	struct err e = {0};
	store *st = pool_get(s, &e);
	if (!st)
		return reply_error(c, 500, "%s", e.msg);
	struct search_request rq = {.query = q, .f = f, .limit = (int)limit, .mode = m, .cache = s->vcache};
	struct search_result r;
	int rc = search_run(st, s->p.llm, s->p.cfg, &rq, &r, &e);
	pool_put(s, st);
	if (rc)
		return reply_error(c, rc == DOSSIER_EINVAL ? 400 : rc == DOSSIER_EUNAVAILABLE ? 503 : 500, "%s", e.msg);
	json_t *arr = json_array();
	for (size_t i = 0; i < r.n; i++)
		json_array_append_new(arr, hit_json(&r.hits[i], r.mode));
	json_t *body = json_pack("{s:s,s:o,s:s,s:s}", "query", q, "results", arr, "mode", search_mode_name(r.mode),
	                         "model", r.model);
	json_object_set_new(body, "note", r.note[0] ? json_string(r.note) : json_null());
	search_result_clear(&r);
	return reply_json(c, 200, body);
}
