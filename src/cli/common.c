#include "cli/common.h"
#include "pipeline/filter.h"
#include "cli/cli.h"
#include "core/err.h"
#include "core/util.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_opts_take(struct cli_opts *o, int opt, const char *arg)
{
	switch (opt) {
	case OPT_PROFILE: o->profile = arg; return 1;
	case OPT_POLICY: o->policy = arg; return 1;
	case OPT_BUDGET: o->budget = arg; return 1;
	case OPT_DB: o->db = arg; return 1;
	case OPT_OFFLINE: o->offline = 1; return 1;
	case OPT_SWAP_DELAY: o->swap_delay = arg; return 1;
	case OPT_TEXT_MODEL: o->text_model = arg; return 1;
	case OPT_EMBED_MODEL: o->embed_model = arg; return 1;
	case OPT_VISION_MODEL: o->vision_model = arg; return 1;
	case OPT_NUM_CTX: o->num_ctx = arg; return 1;
	case OPT_TRANSCRIBER: o->transcriber = arg; return 1;
	case OPT_OCR_LANG: o->ocr_lang = arg; return 1;
	case OPT_MAX_FRAMES: o->max_frames = arg; return 1;
	case OPT_OLLAMA: o->ollama = arg; return 1;
	case OPT_IDLE_TIMEOUT: o->idle_timeout = arg; return 1;
	case OPT_ENGINE: o->engine = arg; return 1;
	case OPT_LLM_URL: o->llm_url = arg; return 1;
	case OPT_DATA_DIR: o->data_dir = arg; return 1;
	}
	return 0;
}

int cli_config(const struct cli_opts *o, struct config *cfg)
{
	struct err e = {0};
	const char *profile = config_pick_profile(o->profile);
	if (strcmp(profile, "dev") && strcmp(profile, "prod")) {
		fprintf(stderr, "dossier: profile '%s' is not one of dev, prod\n", profile);
		return EXIT_USAGE;
	}
	config_defaults(cfg, profile);
	char path[4096];
	config_default_file(path, sizeof path);
	if (config_load_file(cfg, path, &e) || config_apply_env(cfg, &e)) {
		fprintf(stderr, "dossier: %s\n", e.msg);
		return EXIT_USAGE;
	}
	static const struct {
		size_t off;
		const char *key, *flag;
	} flags[] = {
		{offsetof(struct cli_opts, policy), "policy", "--policy"},
		{offsetof(struct cli_opts, budget), "budget", "--budget"},
		{offsetof(struct cli_opts, db), "db", "--db"},
		{offsetof(struct cli_opts, data_dir), "data_dir", "--data-dir"},
		{offsetof(struct cli_opts, swap_delay), "swap_delay", "--swap-delay"},
		{offsetof(struct cli_opts, text_model), "text_model", "--text-model"},
		{offsetof(struct cli_opts, vision_model), "vision_model", "--vision-model"},
		{offsetof(struct cli_opts, embed_model), "embed_model", "--embed-model"},
		{offsetof(struct cli_opts, transcriber), "transcriber", "--transcriber"},
		{offsetof(struct cli_opts, ocr_lang), "ocr_lang", "--ocr-lang"},
		{offsetof(struct cli_opts, max_frames), "max_frames", "--max-frames"},
		{offsetof(struct cli_opts, ollama), "ollama_host", "--ollama"},
		{offsetof(struct cli_opts, idle_timeout), "idle_timeout_s", "--idle-timeout"},
		{offsetof(struct cli_opts, engine), "engine", "--engine"},
		{offsetof(struct cli_opts, llm_url), "llm_url", "--llm-url"},
	};
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
		const char *v = *(const char *const *)((const char *)o + flags[i].off);
		if (v && config_set_from(cfg, flags[i].key, v, CONFIG_SOURCE_FLAG, flags[i].flag, 0, &e)) {
			fprintf(stderr, "dossier: --%s: %s\n", flags[i].key, e.msg);
			return EXIT_USAGE;
		}
	}
	if (o->num_ctx) {
		int n = atoi(o->num_ctx);
		if (n < 256) {
			fprintf(stderr, "dossier: --num-ctx %s: give a context length of at least 256 tokens\n", o->num_ctx);
			return EXIT_USAGE;
		}
		for (int r = 0; r < ROLE_COUNT; r++)
			if (role_info((enum model_role)r)->is_llm) {
				char key[64];
				cfg->models[r].num_ctx = n;
				snprintf(key, sizeof key, "%s_num_ctx", role_name((enum model_role)r));
				config_mark(cfg, key, CONFIG_SOURCE_FLAG, "--num-ctx");
			}
	}
	cfg->offline = o->offline;
	return 0;
}

int cli_open_store(const struct config *cfg, store **out)
{
	struct err e = {0};
	if (store_open(cfg->db_path, out, &e)) {
		fprintf(stderr, "dossier: %s\n", e.msg);
		return EXIT_ENV;
	}
	return 0;
}

int cli_bad_usage(const char *cmd)
{
	fprintf(stderr, "run 'dossier %s --help' for its options\n", cmd);
	return EXIT_USAGE;
}

int cli_resolve_doc(store *st, const char *arg, int64_t *id)
{
	struct doc_rec d;
	struct err e = {0};
	char *end;
	long long v = strtoll(arg, &end, 10);
	if (*arg && !*end && v > 0) {
		if (store_doc_get(st, v, &d, &e) == 0) {
			*id = d.id;
			doc_rec_clear(&d);
			return 0;
		}
	}
	char real[4096];
	const char *p = realpath(arg, real) ? real : arg;
	if (store_doc_by_path(st, p, &d, &e) == 0) {
		*id = d.id;
		doc_rec_clear(&d);
		return 0;
	}
	fprintf(stderr, "dossier: no document '%s' (give an id or a path from 'dossier list')\n", arg);
	return EXIT_DOCS_FAILED;
}

int cli_color(FILE *f)
{
	const char *nc = getenv("NO_COLOR");
	return isatty(fileno(f)) && !(nc && *nc);
}

int cli_filter_take(struct doc_filter *f, int opt, const char *arg, const char *cmd)
{
	static const struct {
		int opt;
		const char *key;
	} keys[] = {
		{OPT_STATUS, "status"}, {OPT_KIND, "kind"}, {OPT_SINCE, "since"},
		{OPT_UNTIL, "until"},   {OPT_TAG, "tag"},   {OPT_LANG, "lang"},
		{OPT_TAKEN_SINCE, "taken-since"}, {OPT_TAKEN_UNTIL, "taken-until"}, {OPT_PARENT, "parent"},
	};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		if (keys[i].opt != opt)
			continue;
		struct err e = {0};
		if (doc_filter_set(f, keys[i].key, arg, &e)) {
			fprintf(stderr, "dossier %s: --%s: %s\n", cmd, keys[i].key, e.msg);
			return -1;
		}
		return 1;
	}
	return 0;
}
