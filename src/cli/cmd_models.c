/* cmd_models.c — `dossier models`: which engine answers (and how dossier knows),
 * the model of each role, whether the engine has it, its size and capabilities,
 * and what the engine holds in memory now. */
#include "backends/engines.h"
#include "backends/http.h"
#include "backends/llm.h"
#include "cli/cli.h"
#include "cli/common.h"
#include "core/err.h"
#include "core/util.h"
#include "plan/footprint.h"
#include "store/store.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int run(int argc, char **argv);

const struct cli_cmd cmd_models = {
	.name = "models",
	.summary = "show the models of the profile, whether they are pulled, and what is resident",
	.usage = "usage: dossier models [OPTIONS]\n"
	         "\n"
	         "For each role (text, vision, speech) shows the model the profile chooses, whether\n"
	         "Ollama has it pulled, its size, context length and capabilities, then the models\n"
	         "Ollama holds in memory now (its /api/ps), then what earlier loads measured (the\n"
	         "database's measures) beside what the planner predicted.\n"
	         "\n"
	         "Options:\n"
	         "  --json                one JSON object instead of the table\n"
	         "  --offline             do not contact Ollama (reports it as not reachable)\n"
	         "  --ollama URL          Ollama's address (default: $OLLAMA_HOST or http://127.0.0.1:11434)\n"
	         CLI_ENGINE_HELP
	         "  --profile dev|prod    model profile (default: prod, or dev when DEV_MODE=1)\n"
	         "  --text-model NAME, --vision-model NAME, --embed-model NAME\n"
	         "                        the models a run with the same flags would use (default: the profile's)\n"
	         "  --db PATH             database with the measured loads (default: $DOSSIER_DB or the data dir's)\n"
	         "  -h, --help            this help\n"
	         "\n"
	         "Exit status: 0 when Ollama answered (a missing model shows as PULLED NO),\n"
	         "3 when Ollama is not reachable.\n",
	.run = run,
};

/* ------------------------------------------------------- measured loads */

struct measured_out {
	json_t *list;   /* JSON rows, or NULL for text */
	int n;
};

static double measure_error(const struct store_measure *m)
{
	return m->predicted_bytes ? ((double)m->resident_bytes - (double)m->predicted_bytes) / (double)m->predicted_bytes
	                          : 0;
}

static int print_measure(const struct store_measure *m, void *user)
{
	struct measured_out *mo = user;
	double off = measure_error(m);
	int far = off > FOOTPRINT_TOLERANCE || off < -FOOTPRINT_TOLERANCE;
	mo->n++;
	if (mo->list) {
		json_array_append_new(mo->list,
		                      json_pack("{s:s,s:s,s:i,s:I,s:s,s:I,s:f,s:b,s:f,s:i}", "engine", m->engine, "model",
		                                m->model, "num_ctx", m->num_ctx, "measured_bytes",
		                                (json_int_t)m->resident_bytes, "source", m->source, "predicted_bytes",
		                                (json_int_t)m->predicted_bytes, "error", off, "off", far, "load_s", m->load_s,
		                                "loads", m->loads));
		return 0;
	}
	char a[32], b[32] = "-";
	size_format(m->resident_bytes, a, sizeof a);
	if (m->predicted_bytes)
		size_format(m->predicted_bytes, b, sizeof b);
	if (mo->n == 1)
		printf("\nMeasured loads (measured beats predicted in `dossier plan`):\n  %-7s %-22s %6s %9s %9s %6s %6s  %s\n",
		       "ENGINE", "MODEL", "CTX", "MEASURED", "PREDICTED", "ERROR", "LOAD", "SOURCE");
	printf("  %-7s %-22s %6d %9s %9s %+5.0f%% %5.1fs  %s, %d load%s%s\n", m->engine, m->model, m->num_ctx, a, b,
	       off * 100.0, m->load_s, m->source, m->loads, m->loads == 1 ? "" : "s",
	       far ? "  <- the prediction is more than 15 % off" : "");
	return 0;
}

/* The measures in the database, when it exists (never created here). */
static void show_measures(const char *db_path, json_t *top)
{
	struct stat st;
	store *s;
	struct err e = {0};
	struct measured_out mo = {.list = top ? json_array() : NULL};
	if (db_path && *db_path && (store_is_server(db_path) || !stat(db_path, &st)) && !store_open(db_path, &s, &e)) {
		store_measures_each(s, NULL, print_measure, &mo, &e);
		store_close(s);
	}
	if (top)
		json_object_set_new(top, "measured", mo.list);
}

struct role_row {
	enum model_role role;
	int pulled;                  /* 1 pulled, 0 not, -1 could not tell */
	struct llm_model_info info;  /* when pulled */
	char problem[ERR_MSG_MAX];   /* why not pulled / unknown */
};

static json_t *caps_json(const struct llm_model_info *in)
{
	json_t *a = json_array();
	if (in->completion)
		json_array_append_new(a, json_string("completion"));
	if (in->vision)
		json_array_append_new(a, json_string("vision"));
	if (in->thinking)
		json_array_append_new(a, json_string("thinking"));
	return a;
}

static void caps_text(const struct llm_model_info *in, char *out, size_t n)
{
	snprintf(out, n, "%s%s%s", in->completion ? "completion " : "", in->vision ? "vision " : "",
	         in->thinking ? "thinking " : "");
	size_t l = strlen(out);
	if (l)
		out[l - 1] = '\0';
	else
		snprintf(out, n, "-");
}

static int print_unreachable(const struct config *cfg, const char *msg, int json)
{
	if (json) {
		json_t *o = json_pack("{s:s,s:b,s:s}", "ollama", cfg->ollama_host, "reachable", 0, "error", msg);
		char *s = json_dumps(o, JSON_INDENT(2));
		puts(s);
		free(s);
		json_decref(o);
	}
	fprintf(stderr, "dossier models: %s\n", msg);
	return EXIT_ENV;
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, OPT_JSON},
		{"offline", no_argument, NULL, OPT_OFFLINE},
		{"ollama", required_argument, NULL, OPT_OLLAMA},
		{"engine", required_argument, NULL, OPT_ENGINE},
		{"llm-url", required_argument, NULL, OPT_LLM_URL},
		{"profile", required_argument, NULL, OPT_PROFILE},
		{"db", required_argument, NULL, OPT_DB},
		{"text-model", required_argument, NULL, OPT_TEXT_MODEL},
		{"vision-model", required_argument, NULL, OPT_VISION_MODEL},
		{"embed-model", required_argument, NULL, OPT_EMBED_MODEL},
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
			fputs(cmd_models.usage, stdout);
			return 0;
		} else
			return cli_bad_usage("models");
	}
	if (optind < argc)
		return cli_bad_usage("models");
	struct config cfg;
	if ((rc = cli_config(&o, &cfg)))
		return rc;

	if (cfg.offline || o.offline) {
		char msg[512];
		snprintf(msg, sizeof msg, "Ollama is not reachable at %s: this is an --offline run (drop --offline, "
		         "and start Ollama with `ollama serve`)", cfg.ollama_host);
		return print_unreachable(&cfg, msg, json);
	}

	struct err e = {0};
	llm_backend *b = NULL;
	struct llm_engine_found found;
	if (http_global_init() || llm_engine_resolve(&cfg, &found, &e) || llm_backend_from_found(&cfg, &found, &b, &e)) {
		fprintf(stderr, "dossier models: %s\n", e.msg[0] ? e.msg : "cannot start the HTTP client");
		return EXIT_ENV;
	}
	char version[64];
	if (llm_backend_check(&b, &cfg, version, sizeof version, &e)) {
		rc = print_unreachable(&cfg, e.msg, json);
		llm_backend_free(b);
		return rc;
	}

	struct role_row rows[ROLE_COUNT];
	int nrows = 0, missing = 0;
	for (int r = 0; r < ROLE_COUNT; r++)
		if (role_info((enum model_role)r)->is_llm)
			rows[nrows++] = (struct role_row){.role = (enum model_role)r};
	for (int i = 0; i < nrows; i++) {
		struct err ei = {0};
		const char *name = cfg.models[rows[i].role].name;
		if (!name[0]) { /* an optional role with no model (embed_model = none) */
			rows[i].pulled = -1;
			snprintf(rows[i].problem, sizeof rows[i].problem, "no model configured: search is full-text only");
			continue;
		}
		int r = llm_show(b, name, &rows[i].info, &ei);
		rows[i].pulled = r == 0 ? 1 : r == DOSSIER_EMODEL ? 0 : -1;
		if (r)
			snprintf(rows[i].problem, sizeof rows[i].problem, "%s", ei.msg);
		if (rows[i].pulled != 1 && !role_info(rows[i].role)->optional)
			missing = 1;  /* an optional role's model (embed) missing only keeps search full-text */
		if (r == 0 && role_info(rows[i].role)->reads_images && !rows[i].info.vision) {
			snprintf(rows[i].problem, sizeof rows[i].problem,
			         "'%s' has no \"vision\" capability: images cannot be described with it", name);
			missing = 1;
		}
	}
	struct llm_resident *res = NULL;
	size_t nres = 0;
	struct err eps = {0};
	int ps_rc = llm_ps(b, &res, &nres, &eps);

	if (json) {
		json_t *roles = json_object();
		for (int i = 0; i < nrows; i++) {
			const struct role_row *r = &rows[i];
			const struct model_spec *ms = &cfg.models[r->role];
			json_t *jr = json_pack("{s:s,s:O,s:i,s:I}", "model", ms->name,
			                       "pulled", r->pulled < 0 ? json_null() : json_boolean(r->pulled),
			                       "num_ctx", ms->num_ctx, "nominal_bytes", (json_int_t)ms->nominal_bytes);
			if (r->pulled == 1) {
				json_object_set_new(jr, "size_bytes", json_integer((json_int_t)r->info.size_bytes));
				json_object_set_new(jr, "capabilities", caps_json(&r->info));
				json_object_set_new(jr, "family", json_string(r->info.family));
				json_object_set_new(jr, "parameter_size", json_string(r->info.parameter_size));
				json_object_set_new(jr, "quantization", json_string(r->info.quantization));
				json_object_set_new(jr, "context_length", json_integer(r->info.context_length));
			}
			if (r->problem[0])
				json_object_set_new(jr, "problem", json_string(r->problem));
			json_object_set_new(roles, role_name(r->role), jr);
		}
		json_object_set_new(roles, "asr", json_pack("{s:s,s:s,s:I}", "model", cfg.models[ROLE_ASR].name, "engine",
		                                            "in-process", "nominal_bytes",
		                                            (json_int_t)cfg.models[ROLE_ASR].nominal_bytes));
		json_t *jres = json_array();
		for (size_t i = 0; i < nres; i++)
			json_array_append_new(jres, json_pack("{s:s,s:I,s:I,s:s,s:i}", "model", res[i].name, "size_bytes",
			                                      (json_int_t)res[i].size_bytes, "size_vram",
			                                      (json_int_t)res[i].size_vram, "expires_at", res[i].expires_at,
			                                      "context_length", res[i].context_length));
		json_t *top = json_pack("{s:s,s:b,s:s,s:s,s:o,s:o}", "ollama", cfg.ollama_host, "reachable", 1, "version",
		                        version, "profile", cfg.profile, "roles", roles, "resident",
		                        ps_rc ? json_null() : jres);
		json_object_set_new(top, "engine", json_pack("{s:s,s:s,s:s,s:s}", "name", llm_backend_name(b), "kind",
		                                             found.kind, "url", llm_backend_url(b), "how", found.how));
		if (ps_rc)
			json_decref(jres);
		show_measures(cfg.db_path, top);
		char *s = json_dumps(top, JSON_INDENT(2));
		puts(s);
		free(s);
		json_decref(top);
	} else {
		if (!strcmp(llm_backend_name(b), "ollama"))
			printf("Ollama %s at %s, profile %s\n", version, llm_backend_url(b), cfg.profile);
		else
			printf("%s at %s, profile %s\n", found.kind[0] ? found.kind : version, llm_backend_url(b), cfg.profile);
		printf("Engine %s (%s)\n", llm_backend_name(b), found.how);
		const char *mm = strstr(version, "--models-max ");
		if (mm)
			printf("The router keeps at most %d model(s) loaded (%s) and evicts the least recently used on its own:\n"
			       "dossier follows its evictions and does not load against them.\n",
			       atoi(mm + 13), mm);
		printf("\n");
		printf("%-7s %-22s %-7s %9s %8s  %s\n", "ROLE", "MODEL", "PULLED", "SIZE", "NUM_CTX", "CAPABILITIES");
		for (int i = 0; i < nrows; i++) {
			const struct role_row *r = &rows[i];
			char size[32] = "-", caps[64] = "-";
			if (r->pulled == 1) {
				if (r->info.size_bytes)
					size_format(r->info.size_bytes, size, sizeof size);
				caps_text(&r->info, caps, sizeof caps);
			}
			printf("%-7s %-22s %-7s %9s %8d  %s\n", role_name(r->role), cfg.models[r->role].name,
			       r->pulled == 1 ? "yes" : r->pulled == 0 ? "NO" : "?", size, cfg.models[r->role].num_ctx, caps);
		}
		char asr[32];
		size_format(cfg.models[ROLE_ASR].nominal_bytes, asr, sizeof asr);
		printf("%-7s %-22s %-7s %9s %8s  %s\n", "speech", cfg.models[ROLE_ASR].name, "-", asr, "-",
		       "in-process, loaded on the first recording");
		for (int i = 0; i < nrows; i++)
			if (rows[i].problem[0])
				printf("\n%s: %s", role_name(rows[i].role), rows[i].problem);
		printf("%s\nResident in the engine now:", missing ? "\n" : "");
		if (ps_rc)
			printf(" unknown (%s)\n", eps.msg);
		else if (!nres)
			printf(" none\n");
		else {
			printf("\n");
			for (size_t i = 0; i < nres; i++) {
				char size[32];
				size_format(res[i].size_bytes, size, sizeof size);
				printf("  %-22s %9s  ctx %-6d until %s\n", res[i].name, size, res[i].context_length,
				       res[i].expires_at);
			}
		}
		show_measures(cfg.db_path, NULL);
	}
	free(res);
	llm_backend_free(b);
	return 0;
}
