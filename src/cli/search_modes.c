/*
 * search_modes.c — see search_modes.h.
 */
#include "cli/search_modes.h"
#include "cli/cli.h"

/* set by dossier-full (search_engine.c); NULL in the lean front */
search_modes_run_fn search_modes_runner;
#include "core/err.h"
#include "core/util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int search_modes_take(struct search_modes *m, int opt, const char *arg)
{
	switch (opt) {
	case OPT_SM_SEMANTIC: m->mode = SEARCH_SEMANTIC; return 1;
	case OPT_SM_HYBRID: m->mode = SEARCH_HYBRID; return 1;
	case OPT_SM_TEXT: m->mode = SEARCH_TEXT; return 1;
	case OPT_SM_OFFLINE: m->offline = 1; return 1;
	case OPT_SM_EMBED_MODEL: m->embed_model = arg; return 1;
	default: return 0;
	}
}

int search_modes_wanted(const struct search_modes *m, struct config *cfg, store *st)
{
	struct err e = {0};
	if (m->embed_model && config_set_from(cfg, "embed_model", m->embed_model, CONFIG_SOURCE_FLAG, "--embed-model", 0,
	                                      &e)) {
		fprintf(stderr, "dossier: --embed-model: %s\n", e.msg);
		return -1;
	}
	if (m->offline)
		cfg->offline = 1;
	if (m->offline || m->mode == SEARCH_SEMANTIC || m->mode == SEARCH_HYBRID)
		return 1;
	if (m->mode == SEARCH_TEXT || cfg->offline || !cfg->models[ROLE_EMBED].name[0])
		return 0;
	int64_t n = 0;
	return store_vectors_count(st, cfg->models[ROLE_EMBED].name, &n, NULL, NULL) == 0 && n > 0;
}

static void print_where(const struct vec_chunk_info *c, char *out, size_t n)
{
	if (c->start_s >= 0)
		snprintf(out, n, "%s %d:%02d-%d:%02d", c->source, (int)c->start_s / 60, (int)c->start_s % 60,
		         (int)c->end_s / 60, (int)c->end_s % 60);
	else if (c->page > 0)
		snprintf(out, n, "%s, page %d", c->source, c->page);
	else
		snprintf(out, n, "%s", c->source);
}

void search_modes_print(const struct search_result *r, int json)
{
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < r->n; i++) {
			const struct search_hit_ex *h = &r->hits[i];
			const char *base = h->path ? strrchr(h->path, '/') : NULL;
			json_t *o = json_pack("{s:I,s:o,s:s,s:s,s:f}", "id", (json_int_t)h->id, "path", json_string_lossy(h->path),
			                      "title", h->title ? h->title : "", "snippet", h->snippet ? h->snippet : "", "rank",
			                      -h->score);
			json_object_set_new(o, "name", json_string_lossy(h->name ? h->name : base ? base + 1 : h->path));
			json_object_set_new(o, "kind", json_string(h->kind));
			json_object_set_new(o, "status", json_string(h->status));
			json_object_set_new(o, "bytes", json_integer((json_int_t)h->bytes));
			json_object_set_new(o, "mtime", json_integer((json_int_t)h->mtime));
			json_object_set_new(o, "missing", json_boolean(h->missing_at > 0));
			json_object_set_new(o, "mode", json_string(search_mode_name(r->mode)));
			json_object_set_new(o, "score", json_real(h->score));
			json_object_set_new(o, "rank_text", h->rank_text ? json_integer(h->rank_text) : json_null());
			json_object_set_new(o, "rank_semantic", h->rank_semantic ? json_integer(h->rank_semantic) : json_null());
			if (h->chunk.id) {
				json_t *c = json_pack("{s:I,s:s,s:o,s:f}", "seq", (json_int_t)h->chunk.seq, "source", h->chunk.source,
				                      "text", json_string_lossy(h->chunk.text ? h->chunk.text : ""), "cosine",
				                      h->cosine);
				if (h->chunk.page > 0)
					json_object_set_new(c, "page", json_integer(h->chunk.page));
				if (h->chunk.start_s >= 0) {
					json_object_set_new(c, "start", json_real(h->chunk.start_s));
					json_object_set_new(c, "end", json_real(h->chunk.end_s));
				}
				json_object_set_new(o, "chunk", c);
			}
			json_array_append_new(arr, o);
		}
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(arr);
		return;
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct search_hit_ex *h = &r->hits[i];
		char *path = str_escape(h->name ? h->name : h->path, 1);
		printf("%5lld  %s\n", (long long)h->id, path);
		free(path);
		if (h->title && *h->title) {
			char *t = str_escape(h->title, 1);
			printf("       %s\n", t);
			free(t);
		}
		if (h->snippet && *h->snippet) {
			char *t = str_escape(h->snippet, 1);
			for (char *p = t; *p; p++)
				if (*p == '\n')
					*p = ' ';
			printf("       %s\n", t);
			free(t);
		}
		if (h->chunk.id) {
			char where[96];
			print_where(&h->chunk, where, sizeof where);
			printf("       matched by meaning: chunk %d (%s), similarity %.2f\n", h->chunk.seq + 1, where, h->cosine);
		}
	}
}
