/*
 * stub.h — internal header shared by the files of the Ollama test server.
 *
 * The stub is one executable, `ollama-stub`, that speaks Ollama's HTTP API as
 * /work/shared/reference/ollama.md describes it and models Ollama's scheduler
 * (residency, keep_alive, evictions, one load at a time). It is test
 * infrastructure, not product code: it may print to stderr from main.c only.
 *
 * Files, in reading order:
 *   gocompat.c  what Go's standard library would say (durations, times, JSON
 *               syntax errors, base64 errors, JSON output escaping)
 *   catalog.c   the model catalogue (built in or --models FILE.json), name
 *               normalisation, memory arithmetic, /api/tags and /api/show shapes
 *   sched.c     the scheduler and memory model, timeline and stats
 *   reply.c     the fake model: answer text, schema-conforming JSON, thinking
 *   server.c    HTTP routes, request recording, faults, streaming
 *   openai.c    the OpenAI side: /v1/chat/completions (SSE), /v1/models, and
 *               llama.cpp's router (/models/load, /models/unload, statuses)
 *   main.c      flags, listening socket, signals
 *
 * Thread safety: sched_*, fault_* and recorder functions lock internally and
 * may be called from any connection thread. Catalogue entries are immutable
 * after startup.
 */
#ifndef DOSSIER_OLLAMA_STUB_H
#define DOSSIER_OLLAMA_STUB_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define STUB_VERSION "0.33.0"
#define STUB_MAX_MODELS 64            /* catalogue entries */
#define STUB_NAME_MAX 128             /* model name bytes incl. NUL */
#define STUB_MSG_MAX 512              /* one error message */
#define STUB_FOREVER_NS INT64_MAX     /* keep_alive "forever" (Go's max Duration) */
#define STUB_DEFAULT_CTX 4096         /* num_ctx default on a machine under 23 GiB */
#define STUB_MAX_QUEUE_DEFAULT 512    /* OLLAMA_MAX_QUEUE */
#define STUB_RECORD_CAP 100000        /* recorded requests kept (oldest dropped) */
#define STUB_TIMELINE_CAP 100000      /* timeline events kept */

/* ------------------------------------------------------------ configuration */

struct stub_config {
	char listen_host[64];        /* numeric IPv4 address to bind */
	int listen_port;             /* 0 = any free port */
	uint64_t memory_bytes;       /* memory the fake machine has for models */
	int max_loaded;              /* OLLAMA_MAX_LOADED_MODELS; 0 = no limit */
	int64_t load_ms_per_gb;      /* load time per 1e9 bytes of weights */
	int64_t unload_linger_ms;    /* how long an unloaded model stays in /api/ps */
	int64_t token_delay_ms;      /* pause between streamed chunks */
	int64_t reply_ms;            /* --reply-ms: every /api/chat and /api/generate reply takes this long first */
	int64_t default_keep_alive_ns; /* OLLAMA_KEEP_ALIVE, default 5m */
	int64_t default_num_ctx;     /* OLLAMA_CONTEXT_LENGTH or 4096 */
	int max_queue;               /* OLLAMA_MAX_QUEUE */
	int oai_mode;                /* OAI_* : which OpenAI-compatible server it plays */
	char single_model[STUB_NAME_MAX]; /* OAI_SINGLE: the model it serves */
	int models_max;              /* OAI_ROUTER: --models-max (0 = no limit) */
	int embed_batch;             /* --embed-batch: longest input /v1/embeddings takes, in tokens (0 = any) */
	int64_t router_load_ms;      /* OAI_ROUTER: how long a load takes */
	char api_key[128];           /* OpenAI routes want "Authorization: Bearer <key>"; "" = none */
	char swap_groups[4][512];    /* OAI_SWAP: --swap-group "a,b": models llama-swap keeps together */
	int n_swap_groups;
	char models_dir[256];        /* OAI_ROUTER: --models-dir, where the child arguments' GGUF paths point ("/models") */
	int no_sse;                  /* OAI_ROUTER: --no-sse, no GET /models/sse (404) */
	int64_t resident_extra_mib;  /* OAI_ROUTER: --resident-extra, a loaded model's meta.size is this much larger */
};

enum {
	OAI_OLLAMA = 0,  /* Ollama, with its OpenAI compatibility layer (/v1/chat/completions, /v1/models) */
	OAI_ROUTER,      /* llama.cpp's router: OpenAI API + /models/load, /models/unload; no /api/ */
	OAI_SINGLE,      /* a plain llama-server -m MODEL: OpenAI API only */
	OAI_SWAP,        /* llama-swap: OpenAI API + /running, /unload, /api/models/unload/M, /upstream/M/...; groups */
};

/* ------------------------------------------------------------- gocompat.c */

/* Go's time.ParseDuration. 0 and *out_ns, or -1 with Go's message in msg. */
int go_parse_duration(const char *s, int64_t *out_ns, char *msg, size_t msg_n);
/* api.Duration.UnmarshalJSON on a JSON value. v NULL or null: *is_set = 0.
 * Negative values become STUB_FOREVER_NS. -1 with Go's message on a bad value. */
int go_keep_alive(const json_t *v, int *is_set, int64_t *out_ns, char *msg, size_t msg_n);
/* `created_at`: UTC, RFC 3339 with up to 9 fraction digits, trailing zeros dropped. */
void go_time_utc(const struct timespec *ts, char out[48]);
/* `expires_at`/`modified_at`: RFC 3339 with the local offset ("Z" in UTC). */
void go_time_local(const struct timespec *ts, char out[48]);
/* format.HumanBytes2: "7.6 GiB", "512.0 MiB", "12 B". */
void go_human_bytes2(uint64_t b, char *out, size_t n);
/* strconv.Quote-ish: writes "s" with Go escapes into out (truncates). */
void go_quote(const char *s, size_t len, char *out, size_t n);
/*
 * Checks the first JSON value of a body the way encoding/json.Decoder does.
 * Returns 0 if it is complete and well formed (trailing bytes are ignored, as
 * the Decoder ignores them), 1 if the body is empty or only whitespace (io.EOF),
 * -1 with Go's message ("unexpected EOF", "invalid character 'x' looking for
 * beginning of value", ...) otherwise. *value_end gets the end offset.
 */
int go_json_check(const char *s, size_t n, size_t *value_end, char *msg, size_t msg_n);
/*
 * base64.StdEncoding.DecodeString as encoding/json applies it to []byte.
 * On success *out (caller frees) and *out_n; -1 with
 * "illegal base64 data at input byte N" otherwise.
 */
int go_base64_decode(const char *s, size_t n, unsigned char **out, size_t *out_n, char *msg,
                     size_t msg_n);
/* json_dumps with Go's encoding (compact, <>& and U+2028/9 escaped). Caller frees. */
char *go_json_dump(const json_t *v);

/* ------------------------------------------------------------- catalog.c */

struct model {
	char name[STUB_NAME_MAX];     /* display name, e.g. "llava:latest" */
	char family[32];              /* details.family, e.g. "llama" */
	char families[4][32];         /* details.families */
	int n_families;
	char arch[32];                /* general.architecture */
	char parameter_size[16];      /* "8.0B" */
	uint64_t parameter_count;     /* general.parameter_count */
	char quantization[16];        /* "Q4_K_M" */
	int file_type;                /* general.file_type */
	uint64_t size;                /* bytes on disk (weights + projector) */
	uint64_t projector_size;      /* bytes of a separate vision projector, 0 = none */
	int64_t context_length;       /* trained maximum */
	int64_t block_count;
	int64_t head_count;
	int64_t head_count_kv;
	int64_t embedding_length;
	int caps;                     /* CAP_* bits */
	char digest[65];              /* sha256 hex of a synthetic manifest */
	struct timespec modified;     /* modified_at */
};

enum {
	CAP_COMPLETION = 1 << 0,
	CAP_TOOLS = 1 << 1,
	CAP_INSERT = 1 << 2,
	CAP_VISION = 1 << 3,
	CAP_EMBEDDING = 1 << 4,
	CAP_THINKING = 1 << 5,
};

struct catalog {
	struct model models[STUB_MAX_MODELS];
	int n;
};

/* Fills the built-in catalogue (llama3.2:3b, llama3.1:8b, llava:latest, llava:13b, qwen3:4b). */
void catalog_builtin(struct catalog *c);
/* Replaces the catalogue with a JSON file (see docs/ollama-stub.md). -1 + msg on error. */
int catalog_load(struct catalog *c, const char *path, char *msg, size_t msg_n);
/* Canonical spelling for matching: lower case, no "library/" prefix, ":latest" added. */
void model_name_canon(const char *in, char *out, size_t n);
/* Finds a model by any spelling Ollama accepts ("llava", "library/llava:latest"). NULL if absent. */
const struct model *catalog_find(const struct catalog *c, const char *name);
/* f16 KV cache bytes for num_ctx (reference 11.5, v0.30 predictor, num_parallel 1). */
uint64_t model_kv_bytes(const struct model *m, int64_t num_ctx);
/* Clamps a requested num_ctx to what Ollama would run (trained max, >= 4, vision >= 2048). */
int64_t model_effective_ctx(const struct model *m, int64_t requested);
/* Resident bytes = size + KV(num_ctx). */
uint64_t model_resident_bytes(const struct model *m, int64_t num_ctx);
/* New JSON objects (caller decrefs). */
json_t *model_details_json(const struct model *m);
json_t *model_caps_json(const struct model *m);
json_t *catalog_tags_json(const struct catalog *c);
json_t *model_show_json(const struct model *m, int verbose);

/* --------------------------------------------------------------- sched.c */

/* The "runner" option subset that forces a reload when it changes. */
struct runner_opts {
	int64_t num_ctx;             /* effective (clamped) context */
	int64_t num_batch;           /* default 512 */
	int64_t num_gpu;             /* -1 = automatic (matches anything) */
	int64_t main_gpu;            /* default 0 */
	int use_mmap;                /* -1 unset, 0, 1 */
	int64_t num_thread;          /* 0 = automatic */
	int64_t draft_num_predict;   /* default 4 */
};

struct sched;
struct runner;

/* Hook the scheduler calls while it waits; returns 1 if the client went away. */
typedef int (*sched_gone_fn)(void *user_data);

struct sched_request {
	const struct model *model;   /* borrowed catalogue entry */
	struct runner_opts opts;
	int keep_alive_set;          /* 0 = keep the loaded instance's duration */
	int64_t keep_alive_ns;       /* STUB_FOREVER_NS = forever */
	sched_gone_fn gone;          /* may be NULL */
	void *gone_data;
};

enum sched_rc {
	SCHED_OK = 0,
	SCHED_CANCELLED,   /* the client hung up while queued or loading */
	SCHED_OOM,         /* the model cannot fit even alone, or an injected oom fault */
	SCHED_BUSY,        /* queue full */
	SCHED_SHUTDOWN,    /* the server is stopping */
};

/* cfg is borrowed for the scheduler's lifetime. Starts the idle-timer thread. */
struct sched *sched_new(const struct stub_config *cfg);
void sched_free(struct sched *s);            /* NULL is a no-op; stops the timer thread */
void sched_shutdown(struct sched *s);        /* wakes every waiter with SCHED_SHUTDOWN */
/*
 * Returns a ready runner for rq->model with a reference held (release with
 * sched_release). Blocks while queued or loading. On SCHED_OOM msg holds
 * Ollama's message.
 */
int sched_acquire(struct sched *s, const struct sched_request *rq, struct runner **out,
                  char *msg, size_t msg_n);
/* Drops the reference; starts the idle timer or unloads (keep_alive 0). */
void sched_release(struct sched *s, struct runner *r);
/* Unload request (`keep_alive: 0`, empty prompt): expire now or when idle. */
void sched_expire(struct sched *s, const struct model *m);
/* Unloads everything at once and clears the timeline and stats. */
void sched_reset(struct sched *s);
json_t *sched_ps_json(struct sched *s);       /* new object for /api/ps */
json_t *sched_timeline_json(struct sched *s); /* new array */
json_t *sched_stats_json(struct sched *s);    /* new object */
int64_t runner_num_ctx(const struct runner *r);

/* --------------------------------------------------------------- fault.c */

enum fault_kind {
	FAULT_ERROR_BEFORE = 1 << 0,    /* HTTP error before the first byte */
	FAULT_ERROR_MIDSTREAM = 1 << 1, /* {"error":...} line after some chunks, no done */
	FAULT_CUT = 1 << 2,             /* connection closed after some chunks */
	FAULT_STALL = 1 << 3,           /* pause mid-stream */
	FAULT_SLOW_LOAD = 1 << 4,       /* the next load takes ms */
	FAULT_NOT_FOUND = 1 << 5,       /* 404 model not found */
	FAULT_OOM = 1 << 6,             /* 500 model requires more system memory, on load */
	FAULT_BUSY = 1 << 7,            /* 503 server busy */
};

struct fault {
	int kind;                     /* one enum fault_kind value */
	char model[STUB_NAME_MAX];    /* canonical model name; "" = any model */
	int count;                    /* requests left to hit */
	int after_chunks;             /* chunks sent before a mid-stream fault */
	int64_t ms;                   /* stall or load time */
	int status;                   /* HTTP status for error_before (default 500) */
	char message[STUB_MSG_MAX];   /* error text override; "" = the default */
	int clean;                    /* cut: end the chunked body cleanly (no done line) */
};

/* Adds a fault from a /_stub/fault body. -1 + msg if the body is wrong. */
int fault_add(const json_t *body, char *msg, size_t msg_n);
/* If a fault of one of `kinds` matches model_name (NULL = no model), copies it to
 * *out, uses up one count and returns 1; else 0. */
int fault_take(int kinds, const char *model_name, struct fault *out);
void fault_clear(void);
json_t *fault_list_json(void);                /* new array of pending faults */

/* --------------------------------------------------------------- reply.c */

struct image_info {
	char kind[8];                 /* "PNG", "JPEG", "GIF", "WEBP", "other" */
	size_t bytes;                 /* decoded size */
	int width, height;            /* 0 if unknown */
};

struct reply_input {
	const char *user_text;        /* last user message or prompt (borrowed) */
	const struct image_info *images; /* borrowed array */
	int n_images;
	const json_t *format;         /* borrowed: NULL, "json" or a schema object */
	int think;                    /* 1 = produce thinking text */
};

/* Fills *out with the answer text (caller frees) and optional thinking (caller frees). */
void reply_make(const struct reply_input *in, char **answer, char **thinking);
/* Splits text into word chunks (each keeps its leading space). Caller frees
 * each piece and the array. */
char **reply_split(const char *text, int *n);
/* Inspects decoded image bytes. */
void image_inspect(const unsigned char *p, size_t n, struct image_info *out);
/* 1 if format is acceptable (absent, null, "", "json" or an object). */
int reply_format_valid(const json_t *format);

/* --------------------------------------------------------------- embed.c */

/* The fake embedding of text (README.md, "Embeddings"): dim floats into out, unit length. */
void embed_vector(const char *text, int dim, float *out);
/* The model's vector size: its embedding_length, else 64. */
int embed_dim(const struct model *m);
/* "input" (string or array of strings) as borrowed texts; caller frees *texts. -1 + msg if neither. */
int embed_inputs(const json_t *input, const char ***texts, size_t *n, char *msg, size_t msg_n);
/* New JSON array: text's vector. */
json_t *embed_json(const char *text, int dim);

/* -------------------------------------------------------------- server.c */

struct stub_server {
	const struct stub_config *cfg; /* borrowed */
	const struct catalog *cat;     /* borrowed */
	struct sched *sched;           /* borrowed */
};

/* Starts libmicrohttpd (thread per connection) on an already listening
 * socket. Returns the daemon (stop with server_stop), NULL on failure. */
struct MHD_Daemon *server_start(struct stub_server *srv, int listen_fd);
void server_stop(struct MHD_Daemon *d);
void recorder_clear(void);

/* --------------------------------------------------------------- openai.c */

struct MHD_Connection;
/* 1 if url is one of the OpenAI-side routes (/v1/..., /models..., /health). */
int oai_is_route(const char *url);
/* Answers an OpenAI-side request; body/n the request body, fd the client socket
 * (hang-up detection, -1 = none). */
int oai_route(struct stub_server *srv, struct MHD_Connection *c, const char *url, const char *method,
              const char *body, size_t n, int fd);
/* The router's model states and timeline, for GET /_stub/router (new object). */
json_t *oai_router_json(void);
void oai_reset(void);
/* "none", "ok" or "wrong": the request's Authorization against cfg->api_key. */
const char *oai_auth(const struct stub_config *cfg, struct MHD_Connection *c);

/* ------------------------------------------------------------------ log */

/* 1 once SIGTERM/SIGINT arrived: long waits give up. */
int stub_is_stopping(void);
void stub_set_stopping(void);
void stub_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void stub_log_open(const char *path);
int64_t stub_t_ms(void);                      /* ms since the stub started */
int64_t stub_mono_ns(void);

#endif
