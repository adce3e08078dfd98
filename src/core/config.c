#include "core/config.h"
#include "core/err.h"
#include "core/util.h"

#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	/* 256 MiB: 330,000 chunks of 768 dimensions, inside the 2 GB reserve */
	c->vector_cache_bytes = (uint64_t)256 << 20;
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
	/* the embedding model, both profiles: nomic-embed-text (137M parameters,
	 * f16, ~274 MB); "" = none (search stays full-text) */
	snprintf(c->models[ROLE_EMBED].name, sizeof c->models[0].name, "%s", "nomic-embed-text");
	c->models[ROLE_EMBED].nominal_bytes = GB(0.274);
	c->models[ROLE_EMBED].num_ctx = 2048;
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
	c->max_nesting_depth = 3;
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

/* ------------------------------------------------------------- the keys */

enum key_type {
	T_STR,       /* a char array, copied */
	T_INT,       /* atoi; min..max checked when min <= max */
	T_INT_CLAMP, /* atoi; below min becomes min */
	T_DOUBLE,    /* atof */
	T_DOUBLE_POS,/* atof; negative becomes 0 */
	T_SIZE,      /* size_parse; nonzero when min = 1 */
	T_POLICY,    /* policy_parse */
	T_URL,       /* an OLLAMA_HOST value, normalised */
	T_MS,        /* seconds in the file, milliseconds in the struct; 0 < s <= 86400 */
	T_SECRET,    /* a char array never printed; not from the file */
	T_ROLE_MODEL,/* models[role].name */
	T_ROLE_CTX,  /* models[role].num_ctx */
};

struct key_row {
	struct config_key k;
	enum key_type type;
	size_t off, size;   /* the field in struct config */
	long min, max;      /* T_INT range, T_INT_CLAMP floor, T_SIZE nonzero (min 1) */
	const char *bad;    /* the message for a bad value, after "<key> '<value>' " */
	int role;           /* T_ROLE_*: enum model_role */
};

#define F(field) offsetof(struct config, field), sizeof(((struct config *)0)->field)

/* The settable keys. The role keys (each role's model_key and, for LLM
 * roles, <role>_num_ctx) follow them, made from role.h's table. Defaults
 * stay in config_defaults, the one place that knows each profile. */
static const struct key_row static_keys[] = {
	{{"db", "DOSSIER_DB", "the database file", 1}, T_STR, F(db_path), 0, 0, NULL, 0},
	{{"data_dir", "DOSSIER_DATA_DIR", "where frames, uploads and OCR checkpoints are kept", 1}, T_STR, F(data_dir),
	 0, 0, NULL, 0},
	{{"policy", "DOSSIER_POLICY", "how models share memory: sequential, grouped or budget", 1}, T_POLICY,
	 F(policy), 0, 0, "is not one of sequential, grouped, budget", 0},
	{{"budget", "DOSSIER_BUDGET", "memory budget (0 = total RAM minus 2 GB)", 1}, T_SIZE, F(budget_bytes), 0, 0,
	 "is not a size (try 12G or 16GB)", 0},
	{{"engine", NULL, "the LLM engine: ollama, openai or auto", 1}, T_STR, F(llm_engine), 0, 0, NULL, 0},
	{{"llm_url", NULL, "the LLM engine's base URL (empty = the engine's own default)", 1}, T_STR, F(llm_url), 0, 0,
	 NULL, 0},
	{{"ollama_host", "OLLAMA_HOST", "Ollama's address", 1}, T_URL, F(ollama_host), 0, 0, NULL, 0},
	{{"openai_base_url", "OPENAI_BASE_URL", "an OpenAI-compatible server's base URL", 1}, T_STR,
	 F(openai_base_url), 0, 0, NULL, 0},
	{{"openai_api_key", "OPENAI_API_KEY", "sent as a bearer token; never printed, never stored", 0}, T_SECRET,
	 F(llm_api_key), 0, 0, NULL, 0},
	{{"swap_delay", NULL, "fixed wait after an unload in seconds (-1 = poll the engine)", 1}, T_DOUBLE,
	 F(swap_delay_s), 0, 0, NULL, 0},
	{{"ocr_engine", NULL, "the OCR engine", 1}, T_STR, F(ocr_engine), 0, 0, NULL, 0},
	{{"ocr_lang", NULL, "tesseract languages, e.g. eng+deu", 1}, T_STR, F(ocr_lang), 0, 0, NULL, 0},
	{{"transcriber", NULL, "a Whisper server's URL (empty = the embedded recogniser)", 1}, T_STR,
	 F(transcriber_url), 0, 0, NULL, 0},
	{{"max_frames", NULL, "frames sampled per video at most", 1}, T_INT, F(max_frames), 1, 0, NULL, 0},
	{{"frame_interval", NULL, "at most one sampled frame per this many seconds", 1}, T_DOUBLE,
	 F(frame_interval_s), 0, 0, NULL, 0},
	{{"max_image_side", NULL, "long side in pixels of images sent to the vision model", 1}, T_INT,
	 F(max_image_side_px), 1, 0, NULL, 0},
	{{"max_image_pixels", NULL, "larger images are refused", 1}, T_SIZE, F(max_image_pixels), 1, 0,
	 "is not a number (e.g. 100000000)", 0},
	{{"max_expanded_bytes", NULL, "a zip (office file, EPUB) stops past this many bytes", 1}, T_SIZE,
	 F(max_expanded_bytes), 1, 0, "is not a size (e.g. 1GiB)", 0},
	{{"max_nesting_depth", NULL, "archives and mails inside others are opened this many levels deep", 1}, T_INT,
	 F(max_nesting_depth), 1, 64, "is not a number from 1 to 64", 0},
	{{"vector_cache", NULL, "memory for the vectors serve keeps for semantic search (0 = read them from the "
	  "database per query)", 1}, T_SIZE, F(vector_cache_bytes), 0, 0, "is not a size (e.g. 256M)", 0},
	{{"max_ocr_pages", NULL, "pages without a text layer OCRed per PDF at most", 1}, T_INT, F(max_ocr_pages), 1,
	 INT_MAX, "is not a positive number", 0},
	{{"max_attempts", NULL, "tries per step in one run", 1}, T_INT, F(max_attempts), 1, 100,
	 "is not a number from 1 to 100", 0},
	{{"retry_base_s", NULL, "backoff before the first retry, seconds", 1}, T_DOUBLE_POS, F(retry_base_s), 0, 0,
	 NULL, 0},
	{{"retry_max_s", NULL, "longest backoff between two tries, seconds", 1}, T_DOUBLE_POS, F(retry_max_s), 0, 0,
	 NULL, 0},
	{{"fairness", NULL, "steps of the resident model run before a waiting model gets its turn", 1}, T_INT_CLAMP,
	 F(fairness), 1, 0, NULL, 0},
	{{"connect_timeout_s", NULL, "TCP connect to the engine, seconds", 1}, T_MS, F(connect_timeout_ms), 0, 0,
	 NULL, 0},
	{{"load_timeout_s", NULL, "a model load may take this long, seconds", 1}, T_MS, F(load_timeout_ms), 0, 0,
	 NULL, 0},
	{{"idle_timeout_s", NULL, "longest silence in an LLM stream, seconds", 1}, T_MS, F(idle_timeout_ms), 0, 0,
	 NULL, 0},
};
#define N_STATIC (sizeof static_keys / sizeof static_keys[0])

/* Other spellings a file may use. */
static const struct {
	const char *alias, *name;
} key_aliases[] = {{"llm_engine", "engine"}};

static struct key_row role_keys[2 * ROLE_COUNT];
static char role_names[2 * ROLE_COUNT][48], role_helps[2 * ROLE_COUNT][96];
static size_t n_role_keys;
static pthread_once_t role_keys_once = PTHREAD_ONCE_INIT;

static void role_keys_make(void)
{
	for (int r = 0; r < ROLE_COUNT; r++) {
		const struct role_info *ri = role_info((enum model_role)r);
		if (ri->model_key) {
			struct key_row *k = &role_keys[n_role_keys];
			snprintf(role_names[n_role_keys], sizeof role_names[0], "%s", ri->model_key);
			snprintf(role_helps[n_role_keys], sizeof role_helps[0], "the %s model", ri->name);
			*k = (struct key_row){{role_names[n_role_keys], ri->env_var, role_helps[n_role_keys], 1}, T_ROLE_MODEL,
			                      0, 0, 0, 0, NULL, r};
			n_role_keys++;
		}
		if (ri->is_llm) {
			struct key_row *k = &role_keys[n_role_keys];
			snprintf(role_names[n_role_keys], sizeof role_names[0], "%s_num_ctx", ri->name);
			snprintf(role_helps[n_role_keys], sizeof role_helps[0], "the %s model's context length (0 = the engine's)",
			         ri->name);
			*k = (struct key_row){{role_names[n_role_keys], NULL, role_helps[n_role_keys], 1}, T_ROLE_CTX, 0, 0, 0, 0,
			                      NULL, r};
			n_role_keys++;
		}
	}
}

static const struct key_row *row_at(size_t i)
{
	pthread_once(&role_keys_once, role_keys_make);
	if (i < N_STATIC)
		return &static_keys[i];
	return i - N_STATIC < n_role_keys ? &role_keys[i - N_STATIC] : NULL;
}

size_t config_key_count(void)
{
	pthread_once(&role_keys_once, role_keys_make);
	return N_STATIC + n_role_keys;
}

const struct config_key *config_key_at(size_t i)
{
	const struct key_row *r = row_at(i);
	return r ? &r->k : NULL;
}

int config_key_find(const char *name)
{
	for (size_t i = 0; i < sizeof key_aliases / sizeof key_aliases[0]; i++)
		if (!strcmp(name, key_aliases[i].alias))
			name = key_aliases[i].name;
	for (size_t i = 0; i < config_key_count(); i++)
		if (!strcmp(row_at(i)->k.name, name))
			return (int)i;
	return -1;
}

const char *config_source_name(enum config_source s)
{
	static const char *const names[] = {"default", "file", "env", "flag"};
	return (unsigned)s <= CONFIG_SOURCE_FLAG ? names[s] : "default";
}

/* Parses value into the key's field; 0 or an error naming the key and the value. */
static int row_set(struct config *c, const struct key_row *k, const char *value, struct err *err)
{
	char *field = (char *)c + k->off;
	uint64_t sz;
	switch (k->type) {
	case T_STR:
	case T_SECRET:
		snprintf(field, k->size, "%s", value);
		return 0;
	case T_INT:
		if (k->min <= k->max && (atol(value) < k->min || atol(value) > k->max))
			return err_set(err, DOSSIER_EINVAL, "%s '%s' %s", k->k.name, value, k->bad);
		*(int *)(void *)field = atoi(value);
		return 0;
	case T_INT_CLAMP:
		*(int *)(void *)field = atoi(value) >= k->min ? atoi(value) : (int)k->min;
		return 0;
	case T_DOUBLE:
		*(double *)(void *)field = atof(value);
		return 0;
	case T_DOUBLE_POS:
		*(double *)(void *)field = atof(value) >= 0 ? atof(value) : 0;
		return 0;
	case T_SIZE:
		if (size_parse(value, &sz) || (k->min && !sz))
			return err_set(err, DOSSIER_EINVAL, "%s '%s' %s", k->k.name, value, k->bad);
		*(uint64_t *)(void *)field = sz;
		return 0;
	case T_POLICY:
		if (policy_parse(value, (enum policy *)(void *)field))
			return err_set(err, DOSSIER_EINVAL, "%s '%s' %s", k->k.name, value, k->bad);
		return 0;
	case T_URL:
		config_ollama_url(value, field, k->size);
		return 0;
	case T_MS: {
		double secs = atof(value);
		if (!(secs > 0) || secs > 24 * 3600)
			return err_set(err, DOSSIER_EINVAL, "%s '%s' is not a number of seconds (0 < s <= 86400)", k->k.name,
			               value);
		*(int *)(void *)field = (int)(secs * 1000);
		return 0;
	}
	case T_ROLE_MODEL:
		/* an optional role (embed) may have no model: "none" */
		snprintf(c->models[k->role].name, sizeof c->models[0].name, "%s",
		         role_info((enum model_role)k->role)->optional && !strcmp(value, "none") ? "" : value);
		return 0;
	case T_ROLE_CTX:
		c->models[k->role].num_ctx = atoi(value);
		return 0;
	}
	return DOSSIER_EINVAL;
}

void config_format(const struct config *c, size_t i, char *out, size_t n)
{
	const struct key_row *k = row_at(i);
	if (!k || !n) {
		if (n)
			out[0] = '\0';
		return;
	}
	const char *field = (const char *)c + k->off;
	switch (k->type) {
	case T_STR:
	case T_URL: snprintf(out, n, "%s", field); break;
	case T_SECRET: snprintf(out, n, "%s", *field ? "(set)" : ""); break;
	case T_INT:
	case T_INT_CLAMP: snprintf(out, n, "%d", *(const int *)(const void *)field); break;
	case T_DOUBLE:
	case T_DOUBLE_POS: snprintf(out, n, "%g", *(const double *)(const void *)field); break;
	case T_SIZE: snprintf(out, n, "%llu", (unsigned long long)*(const uint64_t *)(const void *)field); break;
	case T_POLICY: snprintf(out, n, "%s", policy_name(*(const enum policy *)(const void *)field)); break;
	case T_MS: snprintf(out, n, "%g", *(const int *)(const void *)field / 1000.0); break;
	case T_ROLE_MODEL: snprintf(out, n, "%s", c->models[k->role].name); break;
	case T_ROLE_CTX: snprintf(out, n, "%d", c->models[k->role].num_ctx); break;
	}
}

void config_mark(struct config *c, const char *key, enum config_source src, const char *flag)
{
	int i = config_key_find(key);
	if (i < 0)
		return;
	c->origin[i] = (struct config_origin){(unsigned char)src, 0, flag};
}

int config_set_from(struct config *c, const char *key, const char *value, enum config_source src,
                    const char *flag, int line, struct err *err)
{
	int i = config_key_find(key);
	if (i < 0)
		return err_set(err, DOSSIER_EINVAL, "unknown setting '%s'", key);
	const struct key_row *k = row_at((size_t)i);
	if (src == CONFIG_SOURCE_FILE && !k->k.file_ok)
		return err_set(err, DOSSIER_EINVAL, "%s is read from the environment only (%s), never from a file", key,
		               k->k.env ? k->k.env : "");
	int rc = row_set(c, k, value, err);
	if (rc)
		return rc;
	c->origin[i] = (struct config_origin){(unsigned char)src, line, flag};
	return 0;
}

int config_set(struct config *c, const char *key, const char *value, struct err *err)
{
	return config_set_from(c, key, value, CONFIG_SOURCE_FLAG, NULL, 0, err);
}

enum config_data_rule config_data_dir(const struct config *c, char *out, size_t n)
{
	int db = config_key_find("db"), dd = config_key_find("data_dir");
	if (c->data_dir[0] && c->origin[dd].source != CONFIG_SOURCE_DEFAULT) {
		snprintf(out, n, "%s", c->data_dir);
		return CONFIG_DATA_SET;
	}
	char xdg[4096];
	config_default_data_dir(xdg, sizeof xdg);
	int url = !strncmp(c->db_path, "postgresql://", 13) || !strncmp(c->db_path, "postgres://", 11);
	if (c->origin[db].source != CONFIG_SOURCE_DEFAULT && !url) {
		/* the database's directory, made absolute (the file may not exist yet);
		 * a PostgreSQL URL has none: the XDG default below */
		char dir[4096], real[PATH_MAX];
		snprintf(dir, sizeof dir, "%s", c->db_path);
		char *slash = strrchr(dir, '/');
		const char *base = slash ? slash + 1 : c->db_path;
		if (slash && slash != dir)
			*slash = '\0';
		else
			snprintf(dir, sizeof dir, "%s", slash ? "/" : ".");
		char cwd[PATH_MAX];
		if (!realpath(dir, real)) {
			if (dir[0] != '/' && getcwd(cwd, sizeof cwd))
				snprintf(real, sizeof real, "%s/%s", cwd, dir);
			else
				snprintf(real, sizeof real, "%s", dir);
		}
		const char *absdir = real;
		/* a database made before this rule keeps its data beside it */
		static const char *const subdirs[] = {"frames", "uploads", "blobs", "ocr"};
		for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
			char p[PATH_MAX + 16];
			struct stat sb;
			snprintf(p, sizeof p, "%s/%s", absdir, subdirs[i]);
			if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
				snprintf(out, n, "%s", absdir);
				return CONFIG_DATA_BESIDE_DB;
			}
		}
		char full[PATH_MAX + 512];
		snprintf(full, sizeof full, "%s/%s", absdir, base);
		char def[PATH_MAX];
		config_default_db(def, sizeof def);
		if (!strcmp(full, def))
			goto xdg;
		/* one directory per database under the XDG one: its name and a hash of its path */
		uint64_t h = 1469598103934665603ULL;
		for (const unsigned char *q = (const unsigned char *)full; *q; q++)
			h = (h ^ *q) * 1099511628211ULL;
		char name[48];
		size_t k = 0;
		for (const char *q = base; *q && *q != '.' && k < 32; q++)
			name[k++] = isalnum((unsigned char)*q) || *q == '-' || *q == '_' ? *q : '_';
		name[k] = '\0';
		snprintf(out, n, "%s/stores/%s%s%08llx", xdg, name, k ? "-" : "", (unsigned long long)(h & 0xffffffffULL));
		return CONFIG_DATA_STORE;
	}
xdg:
	snprintf(out, n, "%s", xdg);
	return CONFIG_DATA_XDG;
}

void config_default_data_dir(char *out, size_t n)
{
	const char *x = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	if (x && *x)
		snprintf(out, n, "%s/dossier", x);
	else
		snprintf(out, n, "%s/.local/share/dossier", home && *home ? home : ".");
}

void config_default_file(char *out, size_t n)
{
	const char *x = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	if (x && *x)
		snprintf(out, n, "%s/dossier/config", x);
	else
		snprintf(out, n, "%s/.config/dossier/config", home && *home ? home : ".");
}

int config_load_file(struct config *c, const char *path, struct err *err)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	snprintf(c->file, sizeof c->file, "%s", path);
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
		int rc = config_set_from(c, k, v, CONFIG_SOURCE_FILE, NULL, lineno, err);
		if (rc) {
			err_prefix(err, "%s:%d: ", path, lineno);
			return rc;
		}
	}
	return 0;
}

int config_apply_env(struct config *c, struct err *err)
{
	/* As OpenAI's clients read theirs, and as before for ours: an empty value counts as unset. */
	for (size_t i = 0; i < config_key_count(); i++) {
		const struct config_key *k = config_key_at(i);
		const char *v = k->env ? getenv(k->env) : NULL;
		if (v && *v && config_set_from(c, k->name, v, CONFIG_SOURCE_ENV, NULL, 0, err)) {
			err_prefix(err, "environment variable %s: ", k->env);
			return err ? err->code : DOSSIER_EINVAL;
		}
	}
	return 0;
}
