/* cmd_plan.c — `dossier plan`: predicts a run's peak memory against the budget
 * before anything is loaded, and says what would fit when it does not. */
#include "cli/cli.h"
#include "cli/common.h"
#include "cli/llm_setup.h"
#include "pipeline/pipeline.h"
#include "pipeline/children.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/util.h"
#include "plan/footprint.h"
#include "plan/planner.h"
#include "store/store.h"

#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int run(int argc, char **argv);

const struct cli_cmd cmd_plan = {
	.name = "plan",
	.summary = "predict the peak memory of a run and check it against the budget",
	.usage = "usage: dossier plan [OPTIONS] [PATH...]\n"
	         "\n"
	         "Reads each model's size and architecture (GGUF metadata from Ollama's model store,\n"
	         "else what the engine says: the GGUF a llama.cpp router's arguments name, its meta, or\n"
	         "Ollama's /api/show; else the profile's nominal sizes), computes weights + KV cache for the context\n"
	         "length + compute buffers, and prints the memory of each scenario (text, image,\n"
	         "video transcription, video frames, swap transition; co-resident under the budget\n"
	         "policy), then the peak against the budget. With PATHs, only the models their\n"
	         "documents need are planned; without, every kind of document is assumed. What the\n"
	         "files hold is counted too (an archive's members, a mail's attachments, an office\n"
	         "document's embedded images), from their headers, \"scanned\", or \"estimated\" from\n"
	         "the first 256 MB (64 MB of a mail) or 2 s of a larger file.\n"
	         "\n"
	         "Options:\n"
	         "  --profile dev|prod    model profile (default: prod, or dev when DEV_MODE=1)\n"
	         "  --budget SIZE         memory budget, e.g. 12G or 14GB (default: RAM minus 2 GB)\n"
	         "  --policy P            sequential, grouped (default) or budget\n"
	         "  --num-ctx N           context length for both LLMs\n"
	         "  --swap-delay S        fixed wait after an unload; negative = wait for Ollama to confirm\n"
	         "  --text-model NAME     text model (default: the profile's)\n"
	         "  --vision-model NAME   vision model (default: the profile's)\n"
	         "  --offline             plan a run without LLMs\n"
	         CLI_ENGINE_HELP
	         "  --db PATH             database whose measured loads correct the prediction\n"
	         "  --json                one JSON object (docs/planner.md) instead of text\n"
	         "  -h, --help            this help\n"
	         "\n"
	         "Environment: OLLAMA_MODELS (model store), OLLAMA_KV_CACHE_TYPE (f16, q8_0, q4_0) and\n"
	         "OLLAMA_NUM_PARALLEL as the Ollama server uses them; DOSSIER_BUDGET, DOSSIER_POLICY.\n"
	         "\n"
	         "Exit status: 0 the run fits the budget, 1 it does not (the output says what would\n"
	         "fit), 2 bad usage or a PATH that does not exist.\n",
	.run = run,
};

/* ---------------------------------------------------------- counting documents */

struct kind_counts {
	struct plan_kind_use k[PLAN_MAX_KINDS]; /* every kind of the registry */
	size_t n;
};

/* Walks path (a file or a directory, recursively; hidden entries and symlinked
 * directories are skipped) and counts documents by kind. */
static void count_path(classifier *cls, const char *path, int depth, struct kind_counts *in, uint64_t *ignored)
{
	struct stat st;
	if (lstat(path, &st))
		return;
	if (S_ISLNK(st.st_mode) && (stat(path, &st) || S_ISDIR(st.st_mode)))
		return;
	if (S_ISREG(st.st_mode)) {
		/* by content, as analyze decides (libmagic) */
		struct file_type ft;
		struct plan_kind_use *k = classify_file(cls, path, &ft, NULL) == 0 ? llm_setup_kind(in->k, in->n, ft.kind) : NULL;
		if (k) {
			k->count++;
			children_plan_scan(path, ft.kind, in->k, in->n); /* what it holds: members, attachments, images */
		} else
			(*ignored)++;
		return;
	}
	if (!S_ISDIR(st.st_mode) || depth > 64)
		return;
	DIR *d = opendir(path);
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *child = path_join(path, de->d_name);
		count_path(cls, child, depth + 1, in, ignored);
		free(child);
	}
	closedir(d);
}

/* ------------------------------------------------------------------ command */

static int env_settings(struct plan_params *pp)
{
	const char *kv = getenv("OLLAMA_KV_CACHE_TYPE"), *par = getenv("OLLAMA_NUM_PARALLEL");
	if (kv && *kv && kv_cache_type_parse(kv, &pp->fp.kv_type)) {
		fprintf(stderr, "dossier plan: OLLAMA_KV_CACHE_TYPE '%s' is not one of f16, q8_0, q4_0\n", kv);
		return EXIT_USAGE;
	}
	if (par && *par) {
		int n = atoi(par);
		if (n > 0 && n <= 64)
			pp->fp.num_parallel = n;
	}
	return 0;
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"profile", required_argument, NULL, OPT_PROFILE},
		{"budget", required_argument, NULL, OPT_BUDGET},
		{"policy", required_argument, NULL, OPT_POLICY},
		{"num-ctx", required_argument, NULL, OPT_NUM_CTX},
		{"swap-delay", required_argument, NULL, OPT_SWAP_DELAY},
		{"text-model", required_argument, NULL, OPT_TEXT_MODEL},
		{"vision-model", required_argument, NULL, OPT_VISION_MODEL},
		{"offline", no_argument, NULL, OPT_OFFLINE},
		{"ollama", required_argument, NULL, OPT_OLLAMA},
		{"engine", required_argument, NULL, OPT_ENGINE},
		{"llm-url", required_argument, NULL, OPT_LLM_URL},
		{"db", required_argument, NULL, OPT_DB},
		{"json", no_argument, NULL, OPT_JSON},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cli_opts o = {0};
	int json = 0, opt, rc;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_opts_take(&o, opt, optarg))
			continue;
		if (opt == OPT_JSON)
			json = 1;
		else if (opt == 'h') {
			fputs(cmd_plan.usage, stdout);
			return 0;
		} else
			return cli_bad_usage("plan");
	}
	struct config cfg;
	if ((rc = cli_config(&o, &cfg)))
		return rc;

	struct plan_params pp;
	plan_params_default(&pp, &cfg);
	struct kind_counts kc;
	kc.n = llm_setup_kinds(kc.k, PLAN_MAX_KINDS);
	pp.inputs.kinds = kc.k;
	pp.inputs.n_kinds = kc.n;
	if ((rc = env_settings(&pp)))
		return rc;
	/* Model facts: Ollama's store when readable, else what Ollama's /api/show
	 * says (Ollama on another host), else the profile's nominal sizes. */
	struct llm_setup llm = {0};
	struct err e = {0};
	if (!cfg.offline && llm_setup_open(&cfg, NULL, &llm, &e) == 0 && !llm.unavailable) {
		pp.api_facts = llm_setup_facts;
		pp.api_user = &llm;
		pp.engine = llm_backend_name(llm.backend);
	}
	/* measured beats predicted: earlier loads of the same model, engine and context */
	struct llm_measured ms;
	llm_measured_load(cfg.db_path, &ms);
	pp.measured = ms.plan;
	pp.n_measured = ms.n;
	uint64_t ignored = 0;
	if (optind < argc) {
		classifier *cls = NULL;
		if (classifier_new(&cls, &e)) {
			fprintf(stderr, "dossier plan: %s\n", e.msg);
			llm_setup_close(&llm);
			llm_measured_free(&ms);
			return EXIT_ENV;
		}
		pp.inputs.assumed = 0;
		for (int i = optind; i < argc; i++) {
			struct stat st;
			if (stat(argv[i], &st)) {
				fprintf(stderr, "dossier plan: %s: no such file or directory\n", argv[i]);
				classifier_free(cls);
				llm_setup_close(&llm);
				llm_measured_free(&ms);
				return EXIT_USAGE;
			}
			count_path(cls, argv[i], 0, &kc, &ignored);
		}
		classifier_free(cls);
	}

	plan *pl;
	rc = plan_build(&pp, &pl, &e);
	llm_setup_close(&llm);
	llm_measured_free(&ms);
	if (rc) {
		fprintf(stderr, "dossier plan: %s\n", e.msg);
		return EXIT_ENV;
	}
	if (json) {
		json_t *j = plan_to_json(pl);
		char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
		if (!s) {
			fprintf(stderr, "dossier plan: out of memory\n");
			json_decref(j);
			plan_free(pl);
			return EXIT_ENV;
		}
		puts(s);
		free(s);
		json_decref(j);
	} else {
		struct buf b;
		buf_init(&b, CAP_TEXT);
		if (plan_render_text(pl, &b) == 0)
			fputs(b.data, stdout);
		if (ignored)
			printf("(%llu file%s of other kinds not counted)\n", (unsigned long long)ignored, ignored == 1 ? "" : "s");
		buf_free(&b);
	}
	rc = plan_fits(pl) ? 0 : EXIT_DOCS_FAILED;
	plan_free(pl);
	return rc;
}
