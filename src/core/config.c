#include "core/config.h"
#include "core/err.h"
#include "core/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const policy_names[] = {"sequential", "grouped", "budget"};

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
	/* llava:13b keeps a KV head per attention head (800 KiB per token): at 2048
	 * tokens the prod peak is the seed's ~11 GB; Ollama gives vision models at
	 * least 2048 anyway. */
	c->models[ROLE_VISION].num_ctx = dev ? 4096 : 2048;
	snprintf(c->models[ROLE_ASR].name, sizeof c->models[0].name, "%s", "pocketsphinx:en-us");
	c->models[ROLE_ASR].nominal_bytes = dev ? GB(0.075) : GB(0.15);
	c->swap_delay_s = -1;
	snprintf(c->llm_engine, sizeof c->llm_engine, "auto");
	/* What Ollama does with num_ctx (its envconfig and server/sched.go): 4096
	 * when nobody sets it; at least 2048 for a model with a vision projector.
	 * The planner and the residency manager size the KV cache with these. */
	c->engine_num_ctx = 4096;
	c->vision_min_num_ctx = 2048;
	config_ollama_url(NULL, c->ollama_host, sizeof c->ollama_host);
	config_default_db(c->db_path, sizeof c->db_path);
	c->connect_timeout_ms = 3000;
	c->load_timeout_ms = 5 * 60 * 1000;
	c->idle_timeout_ms = 120 * 1000;
	c->max_attempts = 3;
	c->retry_base_s = 0.5;
	c->retry_max_s = 30.0;
	c->temperature = 0.2;
	c->seed = 42;
	c->max_image_side_px = 1344;
	c->max_image_pixels = 100u * 1000u * 1000u;
	c->max_expanded_bytes = 1024ull * 1024u * 1024u;
	c->cpu_lanes = 0;
	c->fairness = 64;
	snprintf(c->ocr_engine, sizeof c->ocr_engine, "tesseract");
	snprintf(c->ocr_lang, sizeof c->ocr_lang, "eng");
	c->frame_interval_s = 5.0;
	c->max_frames = 32;
	c->max_ocr_pages = 1000;
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

/*
 * Mirrors Ollama's envconfig.Host(): trim spaces and quotes; "scheme://" is
 * optional (http when absent; an explicit http or https changes the default
 * port to 80 or 443); a path after the host is kept (a reverse proxy prefix);
 * a host without a port, a bare IPv6 address or an unparsable port falls back
 * to the default port; an empty host is 127.0.0.1. A listen-all address
 * (0.0.0.0, ::) is where a server listens, not where a client connects, so it
 * becomes loopback.
 */
void config_ollama_url(const char *host_env, char *out, size_t n)
{
	char buf[256], scheme[16] = "http", host[256], port[16] = "11434", path[256] = "";
	snprintf(buf, sizeof buf, "%s", host_env ? host_env : "");
	char *s = buf;
	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	size_t l = strlen(s);
	while (l && (s[l - 1] == ' ' || s[l - 1] == '\t' || s[l - 1] == '\n'))
		s[--l] = '\0';
	while (*s == '"' || *s == '\'')
		s++;
	l = strlen(s);
	while (l && (s[l - 1] == '"' || s[l - 1] == '\''))
		s[--l] = '\0';

	char *sep = strstr(s, "://");
	if (sep) {
		*sep = '\0';
		snprintf(scheme, sizeof scheme, "%s", s);
		for (char *c = scheme; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		if (!strcmp(scheme, "http"))
			snprintf(port, sizeof port, "80");
		else if (!strcmp(scheme, "https"))
			snprintf(port, sizeof port, "443");
		s = sep + 3;
	}
	char *slash = strchr(s, '/');
	if (slash) {
		/* keep the path without its trailing slashes */
		snprintf(path, sizeof path, "%s", slash);
		size_t pl = strlen(path);
		while (pl && path[pl - 1] == '/')
			path[--pl] = '\0';
		*slash = '\0';
	}

	/* host[:port]: as Go's net.SplitHostPort, which needs brackets around IPv6 */
	char *colon = strrchr(s, ':');
	int split = 0;
	if (s[0] == '[') {
		char *rb = strchr(s, ']');
		split = rb && rb[1] == ':' && colon == rb + 1;
	} else {
		split = colon && strchr(s, ':') == colon; /* exactly one colon */
	}
	if (split) {
		*colon = '\0';
		const char *p = colon + 1;
		char *end = NULL;
		long v = *p ? strtol(p, &end, 10) : -1;
		if (*p && end && !*end && v >= 0 && v <= 65535)
			snprintf(port, sizeof port, "%ld", v);
		snprintf(host, sizeof host, "%s", *s ? s : "127.0.0.1");
	} else {
		snprintf(host, sizeof host, "%s", *s ? s : "127.0.0.1");
	}
	/* strip brackets; they are put back for IPv6 below */
	l = strlen(host);
	if (host[0] == '[' && l >= 2 && host[l - 1] == ']') {
		memmove(host, host + 1, l - 2);
		host[l - 2] = '\0';
	}
	if (!strcmp(host, "0.0.0.0") || !strcmp(host, "::") || !*host)
		snprintf(host, sizeof host, "127.0.0.1");
	if (strchr(host, ':'))
		snprintf(out, n, "%s://[%s]:%s%s", scheme, host, port, path);
	else
		snprintf(out, n, "%s://%s:%s%s", scheme, host, port, path);
}

/* The role whose model (num_ctx = 0) or context (num_ctx = 1) `key` sets, or -1. */
static int role_key(const char *key, int *num_ctx)
{
	for (int r = 0; r < ROLE_COUNT; r++) {
		const struct role_info *ri = role_info((enum model_role)r);
		size_t n = strlen(ri->name);
		if (ri->model_key && !strcmp(key, ri->model_key)) {
			*num_ctx = 0;
			return r;
		}
		if (ri->is_llm && !strncmp(key, ri->name, n) && !strcmp(key + n, "_num_ctx")) {
			*num_ctx = 1;
			return r;
		}
	}
	return -1;
}

int config_set(struct config *c, const char *key, const char *value, struct err *err)
{
	uint64_t sz;
	int num_ctx, r = role_key(key, &num_ctx);
	if (r >= 0 && !num_ctx)
		snprintf(c->models[r].name, sizeof c->models[0].name, "%s", value);
	else if (r >= 0)
		c->models[r].num_ctx = atoi(value);
	else if (!strcmp(key, "llm_engine") || !strcmp(key, "engine")) /* the factory checks the name */
		snprintf(c->llm_engine, sizeof c->llm_engine, "%s", value);
	else if (!strcmp(key, "openai_base_url"))
		snprintf(c->openai_base_url, sizeof c->openai_base_url, "%s", value);
	else if (!strcmp(key, "llm_url"))
		snprintf(c->llm_url, sizeof c->llm_url, "%s", value);
	else if (!strcmp(key, "ocr_engine"))
		snprintf(c->ocr_engine, sizeof c->ocr_engine, "%s", value);
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
	else if (!strcmp(key, "max_image_pixels")) {
		if (size_parse(value, &sz) || !sz)
			return err_set(err, DOSSIER_EINVAL, "max_image_pixels '%s' is not a number (e.g. 100000000)", value);
		c->max_image_pixels = sz;
	} else if (!strcmp(key, "max_expanded_bytes")) {
		if (size_parse(value, &sz) || !sz)
			return err_set(err, DOSSIER_EINVAL, "max_expanded_bytes '%s' is not a size (e.g. 1GiB)", value);
		c->max_expanded_bytes = sz;
	} else if (!strcmp(key, "retry_base_s"))
		c->retry_base_s = atof(value) >= 0 ? atof(value) : 0;
	else if (!strcmp(key, "retry_max_s"))
		c->retry_max_s = atof(value) >= 0 ? atof(value) : 0;
	else if (!strcmp(key, "fairness"))
		c->fairness = atoi(value) > 0 ? atoi(value) : 1;
	else if (!strcmp(key, "idle_timeout_s") || !strcmp(key, "load_timeout_s") || !strcmp(key, "connect_timeout_s")) {
		double secs = atof(value);
		if (!(secs > 0) || secs > 24 * 3600)
			return err_set(err, DOSSIER_EINVAL, "%s '%s' is not a number of seconds (0 < s <= 86400)", key, value);
		int ms = (int)(secs * 1000);
		if (key[0] == 'i')
			c->idle_timeout_ms = ms;
		else if (key[0] == 'l')
			c->load_timeout_ms = ms;
		else
			c->connect_timeout_ms = ms;
	} else if (!strcmp(key, "max_ocr_pages")) {
		if (atoi(value) < 1)
			return err_set(err, DOSSIER_EINVAL, "max_ocr_pages '%s' is not a positive number", value);
		c->max_ocr_pages = atoi(value);
	} else if (!strcmp(key, "max_attempts")) {
		if (atoi(value) < 1 || atoi(value) > 100)
			return err_set(err, DOSSIER_EINVAL, "max_attempts '%s' is not a number from 1 to 100", value);
		c->max_attempts = atoi(value);
	}
	else if (!strcmp(key, "db"))
		snprintf(c->db_path, sizeof c->db_path, "%s", value);
	else
		return err_set(err, DOSSIER_EINVAL, "unknown setting '%s'", key);
	return 0;
}

int config_load_file(struct config *c, const char *path, struct err *err)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	int rc = config_load_stream(c, f, path, err);
	fclose(f);
	return rc;
}

int config_load_stream(struct config *c, FILE *f, const char *name, struct err *err)
{
	const char *path = name;
	char line[1024];
	int lineno = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		char *s = line, *eq, *k, *v;
		while (isspace((unsigned char)*s))
			s++;
		if (!*s || *s == '#')
			continue;
		if (!strchr(line, '\n') && !feof(f))
			return err_set(err, DOSSIER_EINVAL, "%s:%d: line longer than %zu bytes", path, lineno,
			               sizeof line - 2);
		eq = strchr(s, '=');
		if (!eq)
			return err_set(err, DOSSIER_EINVAL, "%s:%d: expected 'key = value'", path, lineno);
		*eq = '\0';
		k = s;
		v = eq + 1;
		for (char *e = eq - 1; e >= k && isspace((unsigned char)*e); e--)
			*e = '\0';
		while (isspace((unsigned char)*v))
			v++;
		for (char *e = v + strlen(v) - 1; e >= v && isspace((unsigned char)*e); e--)
			*e = '\0';
		int rc = config_set(c, k, v, err);
		if (rc) {
			err_prefix(err, "%s:%d: ", path, lineno);
			return rc;
		}
	}
	return 0;
}

int config_apply_env(struct config *c, struct err *err)
{
	static const struct {
		const char *env, *key;
	} map[] = {
		{"OLLAMA_HOST", "ollama_host"}, {"DOSSIER_DB", "db"},
		{"DOSSIER_BUDGET", "budget"},   {"DOSSIER_POLICY", "policy"},
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0] + ROLE_COUNT; i++) {
		const char *env, *key;
		if (i < sizeof map / sizeof map[0]) {
			env = map[i].env;
			key = map[i].key;
		} else {
			const struct role_info *ri = role_info((enum model_role)(i - sizeof map / sizeof map[0]));
			env = ri->env_var;
			key = ri->model_key;
			if (!env || !key)
				continue;
		}
		const char *v = getenv(env);
		if (v && *v && config_set(c, key, v, err)) {
			err_prefix(err, "environment variable %s: ", env);
			return err->code;
		}
	}
	/* As OpenAI's clients read them: an empty value counts as unset. The key
	 * is kept in memory only (no config key sets it, nothing prints it). */
	const char *base = getenv("OPENAI_BASE_URL"), *key = getenv("OPENAI_API_KEY");
	if (base && *base)
		snprintf(c->openai_base_url, sizeof c->openai_base_url, "%s", base);
	if (key && *key)
		snprintf(c->llm_api_key, sizeof c->llm_api_key, "%s", key);
	return 0;
}
