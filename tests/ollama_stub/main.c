/*
 * main.c — ollama-stub: a protocol-faithful Ollama test server.
 *
 *   ollama-stub [--listen 127.0.0.1:0] [--models FILE.json] [--memory BYTES]
 *               [--max-loaded N] [--load-ms-per-gb MS] [--unload-linger-ms MS]
 *               [--token-delay-ms MS] [--reply-ms MS] [--log FILE] [--help]
 *
 * Prints one line "listening on 127.0.0.1:PORT" once ready, then serves until
 * SIGTERM or SIGINT. See docs/ollama-stub.md.
 */
#include "stub.h"
#include "core/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ------------------------------------------------------------ clock and log */

static int64_t t0_ns;
static int stopping;
static FILE *log_fp;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

int64_t stub_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t stub_t_ms(void)
{
	return (stub_mono_ns() - t0_ns) / 1000000;
}

int stub_is_stopping(void)
{
	return __atomic_load_n(&stopping, __ATOMIC_SEQ_CST);
}

void stub_set_stopping(void)
{
	__atomic_store_n(&stopping, 1, __ATOMIC_SEQ_CST);
}

void stub_log_open(const char *path)
{
	log_fp = fopen(path, "a");
	if (!log_fp)
		fprintf(stderr, "ollama-stub: cannot open log %s: %s (continuing without a log)\n",
		        path, strerror(errno));
}

void stub_log(const char *fmt, ...)
{
	if (!log_fp)
		return;
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&log_mu);
	fprintf(log_fp, "%8lld ms ", (long long)stub_t_ms());
	vfprintf(log_fp, fmt, ap);
	fputc('\n', log_fp);
	fflush(log_fp);
	pthread_mutex_unlock(&log_mu);
	va_end(ap);
}

/* ------------------------------------------------------------ flags */

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: ollama-stub [options]\n"
	        "A protocol-faithful Ollama test server (see docs/ollama-stub.md).\n\n"
	        "  --listen HOST:PORT       address to bind (default 127.0.0.1:0 = any free port)\n"
	        "  --models FILE.json       model catalogue instead of the built-in one\n"
	        "  --memory BYTES           memory for models, e.g. 16GiB (default 16 GiB)\n"
	        "  --max-loaded N           OLLAMA_MAX_LOADED_MODELS (default 3; 0 = no limit)\n"
	        "  --load-ms-per-gb MS      load time per GB of weights (default 0)\n"
	        "  --unload-linger-ms MS    time an unloaded model stays in /api/ps (default 50)\n"
	        "  --token-delay-ms MS      pause between streamed chunks (default 0)\n"
	        "  --reply-ms MS            every /api/chat and /api/generate reply takes MS more, before\n"
	        "                           its first chunk (a fixed time per request; default 0)\n"
	        "  --log FILE               append a log of requests and scheduler events\n"
	        "  --router                 play llama.cpp's router (OpenAI API, /models/load, no /api/)\n"
	        "  --single MODEL           play a plain llama-server -m MODEL (OpenAI API only)\n"
	        "  --models-max N           router: keep at most N models, evicting the least recently used\n"
	        "  --embed-batch N          /v1/embeddings refuses an input over N tokens (one per 2 bytes) as\n"
	        "                           llama-server does past its physical batch size (default: no limit)\n"
	        "  --load-ms MS             router: how long a load takes (default 200)\n"
	        "  --models-dir DIR         router: the child arguments name DIR/MODEL.gguf (default /models)\n"
	        "  --resident-extra MIB     router: a loaded model's meta.size is MIB larger (a resident size that\n"
	        "                           differs from the prediction)\n"
	        "  --no-sse                 router: no GET /models/sse (clients poll /v1/models)\n"
	        "  --swap                   play llama-swap (OpenAI API, /running, /unload, /api/models/unload/M,\n"
	        "                           /upstream/M/...; a model loads on its first request)\n"
	        "  --swap-group A,B         swap: a group whose members stay loaded together (repeatable, 4 at most);\n"
	        "                           loading a model unloads every model outside its group\n"
	        "  --api-key KEY            OpenAI routes want Authorization: Bearer KEY\n"
	        "  --help                   this text\n\n"
	        "Environment: OLLAMA_KEEP_ALIVE (default 5m), OLLAMA_CONTEXT_LENGTH (default 4096),\n"
	        "OLLAMA_MAX_LOADED_MODELS, OLLAMA_MAX_QUEUE (default 512).\n"
	        "Prints \"listening on HOST:PORT\" once ready; stops on SIGTERM/SIGINT.\n");
}

static int parse_i64(const char *flag, const char *v, int64_t *out)
{
	char *end;
	errno = 0;
	long long x = strtoll(v ? v : "", &end, 10);
	if (!v || !*v || *end || errno || x < 0) {
		fprintf(stderr, "ollama-stub: %s needs a non-negative integer, got '%s'\n", flag,
		        v ? v : "");
		return -1;
	}
	*out = x;
	return 0;
}

static int parse_listen(const char *v, struct stub_config *cfg)
{
	const char *colon = v ? strrchr(v, ':') : NULL;
	int64_t port;
	if (!colon || colon == v || (size_t)(colon - v) >= sizeof cfg->listen_host ||
	    parse_i64("--listen port", colon + 1, &port) || port > 65535) {
		fprintf(stderr, "ollama-stub: --listen wants HOST:PORT, e.g. 127.0.0.1:0\n");
		return -1;
	}
	memcpy(cfg->listen_host, v, (size_t)(colon - v));
	cfg->listen_host[colon - v] = '\0';
	if (!strcmp(cfg->listen_host, "localhost"))
		strcpy(cfg->listen_host, "127.0.0.1");
	cfg->listen_port = (int)port;
	return 0;
}

/* Environment values are trimmed of spaces and quotes, as envconfig does. */
static const char *env_trim(const char *name, char *buf, size_t n)
{
	const char *v = getenv(name);
	if (!v)
		return NULL;
	while (*v == ' ' || *v == '"' || *v == '\'')
		v++;
	snprintf(buf, n, "%s", v);
	size_t len = strlen(buf);
	while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '"' || buf[len - 1] == '\''))
		buf[--len] = '\0';
	return *buf ? buf : NULL;
}

static void env_defaults(struct stub_config *cfg)
{
	char b[128], msg[256];
	const char *v;
	cfg->default_keep_alive_ns = 5LL * 60 * 1000000000LL;
	if ((v = env_trim("OLLAMA_KEEP_ALIVE", b, sizeof b))) {
		int64_t d;
		char *end;
		long long secs = strtoll(v, &end, 10);
		if (*end == '\0')
			cfg->default_keep_alive_ns = secs < 0 ? STUB_FOREVER_NS : secs * 1000000000LL;
		else if (go_parse_duration(v, &d, msg, sizeof msg) == 0)
			cfg->default_keep_alive_ns = d < 0 ? STUB_FOREVER_NS : d;
	}
	cfg->default_num_ctx = STUB_DEFAULT_CTX;
	if ((v = env_trim("OLLAMA_CONTEXT_LENGTH", b, sizeof b)) && atoll(v) > 0)
		cfg->default_num_ctx = atoll(v);
	cfg->max_loaded = 3;
	if ((v = env_trim("OLLAMA_MAX_LOADED_MODELS", b, sizeof b)) && atoi(v) > 0)
		cfg->max_loaded = atoi(v);
	cfg->max_queue = STUB_MAX_QUEUE_DEFAULT;
	if ((v = env_trim("OLLAMA_MAX_QUEUE", b, sizeof b)) && atoi(v) > 0)
		cfg->max_queue = atoi(v);
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
	struct stub_config cfg;
	static struct catalog cat;
	const char *models_path = NULL, *log_path = NULL;
	memset(&cfg, 0, sizeof cfg);
	strcpy(cfg.listen_host, "127.0.0.1");
	cfg.memory_bytes = 16ull << 30;
	cfg.unload_linger_ms = 50;
	cfg.router_load_ms = 200;
	env_defaults(&cfg);
	t0_ns = stub_mono_ns();

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int64_t x;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--listen")) {
			if (parse_listen(v, &cfg))
				return 2;
			i++;
		} else if (!strcmp(a, "--models")) {
			if (!v) {
				fprintf(stderr, "ollama-stub: --models needs a file\n");
				return 2;
			}
			models_path = v;
			i++;
		} else if (!strcmp(a, "--memory")) {
			if (!v || size_parse(v, &cfg.memory_bytes) != 0 || cfg.memory_bytes == 0) {
				fprintf(stderr, "ollama-stub: --memory wants a size such as 16GiB or "
				                "17179869184, got '%s'\n", v ? v : "");
				return 2;
			}
			i++;
		} else if (!strcmp(a, "--max-loaded")) {
			if (parse_i64(a, v, &x))
				return 2;
			cfg.max_loaded = (int)x;
			i++;
		} else if (!strcmp(a, "--load-ms-per-gb")) {
			if (parse_i64(a, v, &cfg.load_ms_per_gb))
				return 2;
			i++;
		} else if (!strcmp(a, "--unload-linger-ms")) {
			if (parse_i64(a, v, &cfg.unload_linger_ms))
				return 2;
			i++;
		} else if (!strcmp(a, "--token-delay-ms")) {
			if (parse_i64(a, v, &cfg.token_delay_ms))
				return 2;
			i++;
		} else if (!strcmp(a, "--reply-ms")) {
			if (parse_i64(a, v, &cfg.reply_ms))
				return 2;
			i++;
		} else if (!strcmp(a, "--router")) {
			cfg.oai_mode = OAI_ROUTER;
		} else if (!strcmp(a, "--single") && v) {
			cfg.oai_mode = OAI_SINGLE;
			snprintf(cfg.single_model, sizeof cfg.single_model, "%s", v);
			i++;
		} else if (!strcmp(a, "--models-dir") && v) {
			snprintf(cfg.models_dir, sizeof cfg.models_dir, "%s", v);
			i++;
		} else if (!strcmp(a, "--resident-extra")) {
			if (parse_i64(a, v, &cfg.resident_extra_mib))
				return 2;
			i++;
		} else if (!strcmp(a, "--no-sse")) {
			cfg.no_sse = 1;
		} else if (!strcmp(a, "--swap")) {
			cfg.oai_mode = OAI_SWAP;
		} else if (!strcmp(a, "--swap-group") && v) {
			if (cfg.n_swap_groups >= 4) {
				fprintf(stderr, "ollama-stub: at most 4 --swap-group\n");
				return 2;
			}
			snprintf(cfg.swap_groups[cfg.n_swap_groups++], sizeof cfg.swap_groups[0], "%s", v);
			i++;
		} else if (!strcmp(a, "--embed-batch")) {
			if (parse_i64(a, v, &x))
				return 2;
			cfg.embed_batch = (int)x;
			i++;
		} else if (!strcmp(a, "--models-max")) {
			if (parse_i64(a, v, &x))
				return 2;
			cfg.models_max = (int)x;
			i++;
		} else if (!strcmp(a, "--load-ms")) {
			if (parse_i64(a, v, &cfg.router_load_ms))
				return 2;
			i++;
		} else if (!strcmp(a, "--api-key") && v) {
			snprintf(cfg.api_key, sizeof cfg.api_key, "%s", v);
			i++;
		} else if (!strcmp(a, "--log")) {
			if (!v) {
				fprintf(stderr, "ollama-stub: --log needs a file\n");
				return 2;
			}
			log_path = v;
			i++;
		} else {
			fprintf(stderr, "ollama-stub: unknown option '%s' (try --help)\n", a);
			return 2;
		}
	}

	catalog_builtin(&cat);
	if (models_path) {
		char msg[STUB_MSG_MAX];
		if (catalog_load(&cat, models_path, msg, sizeof msg) != 0) {
			fprintf(stderr, "ollama-stub: %s\n", msg);
			return 2;
		}
	}
	if (log_path)
		stub_log_open(log_path);

	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg.listen_port)};
	int one = 1;
	if (fd < 0 || inet_pton(AF_INET, cfg.listen_host, &sa.sin_addr) != 1) {
		fprintf(stderr, "ollama-stub: cannot use address '%s' (numeric IPv4 expected)\n",
		        cfg.listen_host);
		return 3;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 128) != 0) {
		fprintf(stderr, "ollama-stub: bind %s:%d: %s\n", cfg.listen_host, cfg.listen_port,
		        strerror(errno));
		return 3;
	}
	socklen_t sl = sizeof sa;
	getsockname(fd, (struct sockaddr *)&sa, &sl);

	/* Signals go to sigwait below, not to the server's threads. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct sched *sched = sched_new(&cfg);
	struct stub_server srv = {.cfg = &cfg, .cat = &cat, .sched = sched};
	struct MHD_Daemon *d = sched ? server_start(&srv, fd) : NULL;
	if (!d) {
		fprintf(stderr, "ollama-stub: cannot start the HTTP server\n");
		sched_free(sched);
		return 3;
	}
	printf("listening on %s:%d\n", cfg.listen_host, ntohs(sa.sin_port));
	fflush(stdout);
	stub_log("listening on %s:%d memory=%llu max_loaded=%d", cfg.listen_host,
	         ntohs(sa.sin_port), (unsigned long long)cfg.memory_bytes, cfg.max_loaded);

	int sig = 0;
	sigwait(&set, &sig);
	stub_log("signal %d: stopping", sig);
	stub_set_stopping();
	sched_shutdown(sched);
	server_stop(d);
	sched_free(sched);
	close(fd);
	recorder_clear();
	if (log_fp)
		fclose(log_fp);
	return 0;
}
