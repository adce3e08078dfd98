/*
 * cmd_config.c — `dossier config`: the settings a run would use, and where
 * each came from (the profile's default, the config file and its line, an
 * environment variable, a flag). It walks config.h's one table of keys.
 */
#include "cli/cli.h"
#include "cli/common.h"
#include "core/err.h"
#include "core/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: dossier config [OPTIONS]\n"
	"\n"
	"Shows the effective settings and where each came from: the profile's default,\n"
	"the config file (with its path and line), an environment variable (with its\n"
	"name) or a flag. Lowest precedence first: default, file, environment, flag.\n"
	"The config file is $XDG_CONFIG_HOME/dossier/config (default ~/.config/dossier/config),\n"
	"one 'key = value' per line, # for comments.\n"
	"\n"
	"The data directory (frames, uploads, OCR checkpoints) is data_dir when set;\n"
	"else the directory of the database when the database is given explicitly\n"
	"(--db, DOSSIER_DB or the db key), so a database and its files stay together;\n"
	"else $XDG_DATA_HOME/dossier (default ~/.local/share/dossier).\n"
	"\n"
	"Options:\n"
	"  --json                one JSON object: profile, config_file, settings[]\n"
	CLI_SHARED_CONFIG_HELP
	CLI_DATA_DIR_HELP
	"  --policy P            sequential | grouped | budget\n"
	"  --budget SIZE         memory budget, e.g. 12G\n"
	"  --offline             never call an LLM engine\n"
	"  --swap-delay SECONDS  fixed wait after unloading a model\n"
	"  --text-model NAME     text model\n"
	"  --vision-model NAME   vision model\n"
	"  --num-ctx N           context length of every LLM model\n"
	"  --ollama URL          Ollama's address\n"
	CLI_ENGINE_HELP
	"  --transcriber URL     a Whisper server\n"
	"  --ocr-lang LANGS      tesseract languages, e.g. eng+deu\n"
	"  --max-frames N        frames sampled per video at most\n"
	"  --idle-timeout S      longest silence in an LLM stream\n"
	"  -h, --help            this help\n"
	"\n"
	"Each flag is shown as it would act on 'dossier analyze' or 'dossier serve'.\n";

/* "file /home/me/.config/dossier/config:3", "env OLLAMA_HOST", "flag --db", "default". */
static void source_text(const struct config *cfg, size_t i, char *out, size_t n)
{
	const struct config_origin *o = &cfg->origin[i];
	const struct config_key *k = config_key_at(i);
	switch ((enum config_source)o->source) {
	case CONFIG_SOURCE_FILE: snprintf(out, n, "file %s:%d", cfg->file, o->line); return;
	case CONFIG_SOURCE_ENV: snprintf(out, n, "env %s", k->env ? k->env : "?"); return;
	case CONFIG_SOURCE_FLAG: snprintf(out, n, "flag %s", o->flag ? o->flag : "?"); return;
	case CONFIG_SOURCE_DEFAULT: break;
	}
	snprintf(out, n, "default");
}

/* The data directory's value and the words on its rule. */
static void data_dir_text(const struct config *cfg, char *value, size_t vn, char *source, size_t sn)
{
	int db = config_key_find("db");
	enum config_data_rule rule = config_data_dir(cfg, value, vn);
	if (rule == CONFIG_DATA_BESIDE_DB) {
		char dbsrc[PATH_MAX + 32];
		source_text(cfg, (size_t)db, dbsrc, sizeof dbsrc);
		snprintf(source, sn, "default: the database's directory (db from %s)", dbsrc);
	} else if (rule == CONFIG_DATA_XDG) {
		snprintf(source, sn, "default: $XDG_DATA_HOME/dossier");
	} else if (rule == CONFIG_DATA_STORE) {
		char dbsrc[PATH_MAX + 32];
		source_text(cfg, (size_t)db, dbsrc, sizeof dbsrc);
		snprintf(source, sn, "default: one directory per database under $XDG_DATA_HOME/dossier/stores (db from %s)",
		         dbsrc);
	}
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_ANALYSIS_LONGOPTS,
		{"json", no_argument, NULL, OPT_JSON},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cli_opts o = {0};
	int json = 0, opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_opts_take(&o, opt, optarg))
			continue;
		switch (opt) {
		case OPT_JSON: json = 1; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return cli_bad_usage("config");
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dossier config: takes no arguments ('%s')\n", argv[optind]);
		return cli_bad_usage("config");
	}
	struct config *cfg = xcalloc(1, sizeof *cfg);
	int rc = cli_config(&o, cfg);
	if (rc) {
		free(cfg);
		return rc;
	}

	char file[PATH_MAX];
	config_default_file(file, sizeof file);
	const char *profile_src = o.profile ? "flag --profile" : strcmp(cfg->profile, "dev") ? "default" : "env DEV_MODE";
	size_t n = config_key_count();
	int dd = config_key_find("data_dir");

	if (json) {
		json_t *set = json_array();
		for (size_t i = 0; i < n; i++) {
			const struct config_key *k = config_key_at(i);
			const struct config_origin *org = &cfg->origin[i];
			char value[PATH_MAX], source[PATH_MAX + 64];
			config_format(cfg, i, value, sizeof value);
			source_text(cfg, i, source, sizeof source);
			json_t *row = json_pack("{s:s,s:o,s:s,s:s}", "key", k->name, "value", json_string_lossy(value),
			                        "source", config_source_name((enum config_source)org->source), "help", k->help);
			if (k->env)
				json_object_set_new(row, "env", json_string(k->env));
			if (org->source == CONFIG_SOURCE_FILE) {
				json_object_set_new(row, "file", json_string_lossy(cfg->file));
				json_object_set_new(row, "line", json_integer(org->line));
			} else if (org->source == CONFIG_SOURCE_FLAG && org->flag) {
				json_object_set_new(row, "flag", json_string(org->flag));
			}
			if ((int)i == dd && org->source == CONFIG_SOURCE_DEFAULT) {
				char sw[PATH_MAX + 96] = "";
				data_dir_text(cfg, value, sizeof value, sw, sizeof sw);
				json_object_set_new(row, "value", json_string_lossy(value));
				enum config_data_rule r = config_data_dir(cfg, value, sizeof value);
				json_object_set_new(row, "rule", json_string(r == CONFIG_DATA_BESIDE_DB ? "beside_db"
				                                             : r == CONFIG_DATA_STORE    ? "per_database"
				                                                                         : "xdg"));
			}
			json_array_append_new(set, row);
		}
		json_t *root = json_pack("{s:{s:s,s:s},s:{s:o,s:b},s:o}", "profile", "value", cfg->profile, "source",
		                         profile_src, "config_file", "path", json_string_lossy(file), "exists",
		                         cfg->file[0] != '\0', "settings", set);
		char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		puts(s ? s : "{}");
		free(s);
		json_decref(root);
		free(cfg);
		return 0;
	}

	char *fe = str_escape(file, 1);
	printf("config file: %s%s\n\n", fe, cfg->file[0] ? "" : " (not found; the defaults apply)");
	free(fe);
	printf("%-20s %-40s %s\n", "profile", cfg->profile, profile_src);
	for (size_t i = 0; i < n; i++) {
		const struct config_key *k = config_key_at(i);
		char value[PATH_MAX], source[PATH_MAX + 96];
		config_format(cfg, i, value, sizeof value);
		source_text(cfg, i, source, sizeof source);
		if ((int)i == dd && cfg->origin[i].source == CONFIG_SOURCE_DEFAULT)
			data_dir_text(cfg, value, sizeof value, source, sizeof source);
		char *ve = str_escape(value, 1), *se = str_escape(source, 1);
		printf("%-20s %-40s %s\n", k->name, *ve ? ve : "\"\"", se);
		free(ve);
		free(se);
	}
	free(cfg);
	return 0;
}

const struct cli_cmd cmd_config = {
	.name = "config",
	.summary = "show the settings in effect and where each came from",
	.usage = usage,
	.run = run,
};
