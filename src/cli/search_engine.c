/*
 * search_engine.c — semantic and hybrid search through the engine: the part
 * of search_modes.h that links the engines (backends/engines.h), so it is in
 * dossier-full only; the lean front hands such a search to dossier-full
 * (CLI_RUN_IN_FULL).
 */
#include "cli/search_modes.h"
#include "cli/cli.h"
#include "backends/engines.h"
#include "backends/http.h"
#include "backends/llm.h"
#include "core/err.h"

#include <stdio.h>

struct llm_backend *search_modes_engine(struct config *cfg)
{
	if (cfg->offline || !cfg->models[ROLE_EMBED].name[0] || http_global_init())
		return NULL;
	llm_backend *b = NULL;
	struct err e = {0};
	char version[64];
	if (llm_backend_from_config(cfg, &b, &e) || llm_backend_check(&b, cfg, version, sizeof version, &e)) {
		llm_backend_free(b);
		return NULL;
	}
	return b;
}

int search_modes_run(const struct search_modes *m, struct config *cfg, store *st, const char *query,
                     const struct doc_filter *f, int limit, int json)
{
	struct err e = {0};
	enum search_mode mode = m->mode;
	struct llm_backend *b = mode == SEARCH_TEXT ? NULL : search_modes_engine(cfg);
	struct search_request rq = {.query = query, .f = f, .limit = limit, .mode = mode};
	struct search_result r;
	int rc = search_run(st, b, cfg, &rq, &r, &e);
	llm_backend_free(b);
	if (rc) {
		fprintf(stderr, "dossier search: %s\n", e.msg);
		return rc == DOSSIER_EINVAL ? EXIT_USAGE : EXIT_ENV;
	}
	if (r.note[0] && (m->mode != SEARCH_AUTO || m->offline || r.vectors))
		fprintf(stderr, "dossier search: %s\n", r.note);
	search_modes_print(&r, json);
	rc = r.n ? 0 : EXIT_DOCS_FAILED;
	if (!r.n && !json)
		printf("no matches for '%s'\n", query);
	search_result_clear(&r);
	return rc;
}

void search_engine_install(void)
{
	search_modes_runner = search_modes_run;
}
