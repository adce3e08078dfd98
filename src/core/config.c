#include "core/config.h"
#include "core/err.h"
#include "core/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const role_names[ROLE_COUNT] = {"none", "asr", "text", "vision"};
static const char *const policy_names[] = {"sequential", "grouped", "budget"};

const char *role_name(enum model_role r)
{
	return (unsigned)r < ROLE_COUNT ? role_names[r] : "none";
}

int role_parse(const char *s, enum model_role *out)
{
	for (int i = 0; i < ROLE_COUNT; i++)
		if (!strcmp(s, role_names[i])) {
			*out = (enum model_role)i;
			return 0;
		}
	return DOSSIER_EINVAL;
}

const char *policy_name(enum policy p)
{
	return (unsigned)p <= POLICY_BUDGET ? policy_names[p] : "grouped";
}

int policy_parse(const char *s, enum policy *out)
{
	for (int i = 0; i <= POLICY_BUDGET; i++)
		if (!strcmp(s, policy_names[i])) {
			*out = (enum policy)i;
			return 0;
		}
	return DOSSIER_EINVAL;
}

#define GB(x) ((uint64_t)((x) * 1e9))

void config_defaults(struct config *c, const char *profile)
{
	int dev = profile && !strcmp(profile, "dev");
	memset(c, 0, sizeof *c);
	snprintf(c->profile, sizeof c->profile, "%s", dev ? "dev" : "prod");
	c->policy = POLICY_GROUPED;
	c->reserve_bytes = GB(2);
	/* The seed's models and nominal sizes (seed.md, "Model Loading Architecture"). */
	snprintf(c->models[ROLE_TEXT].name, sizeof c->models[0].name, "%s", dev ? "llama3.2:3b" : "llama3.1:8b");
	c->models[ROLE_TEXT].nominal_bytes = dev ? GB(2.0) : GB(5.0);
	c->models[ROLE_TEXT].num_ctx = dev ? 4096 : 8192;
	snprintf(c->models[ROLE_VISION].name, sizeof c->models[0].name, "%s", dev ? "llava:latest" : "llava:13b");
	c->models[ROLE_VISION].nominal_bytes = dev ? GB(4.7) : GB(8.0);
	c->models[ROLE_VISION].num_ctx = 4096;
	snprintf(c->models[ROLE_ASR].name, sizeof c->models[0].name, "%s", "pocketsphinx:en-us");
	c->models[ROLE_ASR].nominal_bytes = dev ? GB(0.075) : GB(0.15);
	c->swap_delay_s = -1;
	config_ollama_url(NULL, c->ollama_host, sizeof c->ollama_host);
	config_default_db(c->db_path, sizeof c->db_path);
	c->connect_timeout_ms = 3000;
	c->load_timeout_ms = 5 * 60 * 1000;
	c->idle_timeout_ms = 120 * 1000;
	c->max_attempts = 3;
	c->temperature = 0.2;
	c->seed = 42;
	c->max_image_side_px = 1344;
	c->max_image_pixels = 100u * 1000u * 1000u;
	c->cpu_lanes = 0;
	c->fairness = 16;
	snprintf(c->ocr_lang, sizeof c->ocr_lang, "eng");
	c->frame_interval_s = 5.0;
	c->max_frames = 32;
}

const char *config_pick_profile(const char *explicit_profile)
{
	if (explicit_profile && *explicit_profile)
		return explicit_profile;
	const char *d = getenv("DEV_MODE");
	if (d && *d && strcmp(d, "0") && strcasecmp(d, "false"))
		return "dev";
	return "prod";
}

void config_default_db(char *out, size_t n)
{
	const char *x = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	if (x && *x)
		snprintf(out, n, "%s/dossier/dossier.db", x);
	else
		snprintf(out, n, "%s/.local/share/dossier/dossier.db", home && *home ? home : ".");
}

uint64_t config_budget(const struct config *c)
{
	if (c->budget_bytes)
		return c->budget_bytes;
	uint64_t total = mem_total_bytes();
	return total > c->reserve_bytes ? total - c->reserve_bytes : total;
}

void config_ollama_url(const char *host_env, char *out, size_t n)
{
	char buf[256];
	const char *scheme = "http", *port = "11434";
	snprintf(buf, sizeof buf, "%s", host_env ? host_env : "");
	/* trim spaces and quotes, as Ollama's envconfig does */
	char *s = buf;
	while (*s == ' ' || *s == '"' || *s == '\'')
		s++;
	size_t l = strlen(s);
	while (l && (s[l - 1] == ' ' || s[l - 1] == '"' || s[l - 1] == '\'' || s[l - 1] == '/'))
		s[--l] = '\0';
	char *sep = strstr(s, "://");
	if (sep) {
		*sep = '\0';
		scheme = s;
		port = !strcmp(scheme, "https") ? "443" : "80";
		s = sep + 3;
	}
	char *slash = strchr(s, '/');
	if (slash)
		*slash = '\0';
	const char *host = "127.0.0.1";
	char hostbuf[256];
	char *colon = strrchr(s, ':');
	int bracketed = s[0] == '[';
	if (colon && (!bracketed || colon > strchr(s, ']'))) {
		*colon = '\0';
		if (colon[1])
			port = colon + 1;
		if (*s)
			host = s;
	} else if (*s) {
		host = s;
	}
	snprintf(hostbuf, sizeof hostbuf, "%s", host);
	/* 0.0.0.0 is where a server listens, not an address to connect to */
	if (!strcmp(hostbuf, "0.0.0.0") || !strcmp(hostbuf, "[::]"))
		snprintf(hostbuf, sizeof hostbuf, "127.0.0.1");
	snprintf(out, n, "%s://%s:%s", scheme, hostbuf, port);
}

int config_set(struct config *c, const char *key, const char *value, struct err *err)
{
	uint64_t sz;
	if (!strcmp(key, "text_model"))
		snprintf(c->models[ROLE_TEXT].name, sizeof c->models[0].name, "%s", value);
	else if (!strcmp(key, "vision_model"))
		snprintf(c->models[ROLE_VISION].name, sizeof c->models[0].name, "%s", value);
	else if (!strcmp(key, "text_num_ctx"))
		c->models[ROLE_TEXT].num_ctx = atoi(value);
	else if (!strcmp(key, "vision_num_ctx"))
		c->models[ROLE_VISION].num_ctx = atoi(value);
	else if (!strcmp(key, "policy")) {
		if (policy_parse(value, &c->policy))
			return err_set(err, DOSSIER_EINVAL, "policy '%s' is not one of sequential, grouped, budget", value);
	} else if (!strcmp(key, "budget")) {
		if (size_parse(value, &sz))
			return err_set(err, DOSSIER_EINVAL, "budget '%s' is not a size (try 12G or 16GB)", value);
		c->budget_bytes = sz;
	} else if (!strcmp(key, "ollama_host"))
		config_ollama_url(value, c->ollama_host, sizeof c->ollama_host);
	else if (!strcmp(key, "swap_delay"))
		c->swap_delay_s = atof(value);
	else if (!strcmp(key, "ocr_lang"))
		snprintf(c->ocr_lang, sizeof c->ocr_lang, "%s", value);
	else if (!strcmp(key, "transcriber"))
		snprintf(c->transcriber_url, sizeof c->transcriber_url, "%s", value);
	else if (!strcmp(key, "max_frames"))
		c->max_frames = atoi(value);
	else if (!strcmp(key, "frame_interval"))
		c->frame_interval_s = atof(value);
	else if (!strcmp(key, "max_image_side"))
		c->max_image_side_px = atoi(value);
	else if (!strcmp(key, "db"))
		snprintf(c->db_path, sizeof c->db_path, "%s", value);
	else
		return err_set(err, DOSSIER_EINVAL, "unknown setting '%s'", key);
	return 0;
}

int config_load_file(struct config *c, const char *path, struct err *err)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	int lineno = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		char *s = line, *eq, *k, *v;
		while (isspace((unsigned char)*s))
			s++;
		if (!*s || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			fclose(f);
			return err_set(err, DOSSIER_EINVAL, "%s:%d: expected 'key = value'", path, lineno);
		}
		*eq = '\0';
		k = s;
		v = eq + 1;
		for (char *e = eq - 1; e >= k && isspace((unsigned char)*e); e--)
			*e = '\0';
		while (isspace((unsigned char)*v))
			v++;
		for (char *e = v + strlen(v) - 1; e >= v && isspace((unsigned char)*e); e--)
			*e = '\0';
		if (config_set(c, k, v, err)) {
			err_prefix(err, "%s:%d: ", path, lineno);
			fclose(f);
			return err->code;
		}
	}
	fclose(f);
	return 0;
}

int config_apply_env(struct config *c, struct err *err)
{
	static const struct {
		const char *env, *key;
	} map[] = {
		{"OLLAMA_HOST", "ollama_host"},    {"DOSSIER_DB", "db"},
		{"DOSSIER_TEXT_MODEL", "text_model"}, {"DOSSIER_VISION_MODEL", "vision_model"},
		{"DOSSIER_BUDGET", "budget"},      {"DOSSIER_POLICY", "policy"},
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
		const char *v = getenv(map[i].env);
		if (v && *v && config_set(c, map[i].key, v, err)) {
			err_prefix(err, "environment variable %s: ", map[i].env);
			return err->code;
		}
	}
	return 0;
}
