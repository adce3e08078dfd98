/*
 * server.c — the HTTP side of the stub: Ollama's routes with Ollama's
 * shapes, status codes and messages; request recording; fault injection;
 * NDJSON streaming; and the /_stub/ control endpoints for tests.
 *
 * libmicrohttpd runs one thread per connection, so a handler may block while
 * its request waits for the scheduler, as Ollama's handlers do.
 */
#include "stub.h"
#include "core/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define CT_JSON "application/json; charset=utf-8"
#define CT_NDJSON "application/x-ndjson"
#define CT_TEXT "text/plain; charset=utf-8"
#define PROMPT_TEMPLATE_TOKENS 10  /* tokens a chat template adds */
#define IMAGE_TOKENS 768           /* tokens one image counts as (server/prompt.go) */

/* ------------------------------------------------------------ recorder */

static pthread_mutex_t rec_mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *rec_list;   /* array of recorded API requests */
static int64_t rec_seq;

static void record(const char *method, const char *path, const char *body, size_t n, const char *auth)
{
	json_t *parsed = NULL;
	if (n > 0) {
		json_error_t je;
		parsed = json_loadb(body, n, JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK | JSON_ALLOW_NUL,
		                    &je);
	}
	json_t *o = json_object();
	pthread_mutex_lock(&rec_mu);
	if (!rec_list)
		rec_list = json_array();
	json_object_set_new(o, "seq", json_integer(++rec_seq));
	json_object_set_new(o, "t_ms", json_integer(stub_t_ms()));
	json_object_set_new(o, "method", json_string(method));
	json_object_set_new(o, "path", json_string(path));
	json_object_set_new(o, "body", parsed ? parsed : json_null());
	json_object_set_new(o, "auth", json_string(auth)); /* none, ok or wrong: never the key */
	if (json_array_size(rec_list) >= STUB_RECORD_CAP)
		json_array_remove(rec_list, 0);
	json_array_append_new(rec_list, o);
	pthread_mutex_unlock(&rec_mu);
}

void recorder_clear(void)
{
	pthread_mutex_lock(&rec_mu);
	if (rec_list)
		json_array_clear(rec_list);
	rec_seq = 0;
	pthread_mutex_unlock(&rec_mu);
}

static json_t *recorder_json(int64_t since)
{
	json_t *out = json_array();
	pthread_mutex_lock(&rec_mu);
	size_t i;
	json_t *o;
	json_array_foreach(rec_list, i, o) {
		if (json_integer_value(json_object_get(o, "seq")) > since)
			json_array_append(out, o);
	}
	pthread_mutex_unlock(&rec_mu);
	return out;
}

/* ------------------------------------------------------------ responses */

struct conn {
	struct buf body;        /* request body so far */
	int too_big;            /* body exceeded CAP_REQUEST_BODY */
	int fd;                 /* client socket, for hang-up detection */
};

static enum MHD_Result send_bytes(struct MHD_Connection *c, unsigned status, const char *ctype,
                                  const char *data, size_t n)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(n, (void *)data, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Consumes v. Non-streaming replies carry no trailing newline, as gin's c.JSON. */
static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *v)
{
	char *s = go_json_dump(v);
	json_decref(v);
	if (!s)
		return MHD_NO;
	enum MHD_Result ret = send_bytes(c, status, CT_JSON, s, strlen(s));
	free(s);
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	stub_log("reply %u error=%s", status, msg);
	json_t *o = json_object();
	json_object_set_new(o, "error", json_string(msg));
	return send_json(c, status, o);
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	return send_bytes(c, status, CT_TEXT, text, strlen(text));
}

static int conn_gone(void *user_data)
{
	const struct conn *cx = user_data;
	char ch;
	if (stub_is_stopping())
		return 1;
	if (cx->fd < 0)
		return 0;
	ssize_t r = recv(cx->fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT);
	if (r == 0)
		return 1;
	if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		return 1;
	return 0;
}

/* Sleeps ms in slices, giving up early when the stub stops. */
static void nap_ms(int64_t ms)
{
	while (ms > 0 && !stub_is_stopping()) {
		int64_t step = ms < 20 ? ms : 20;
		struct timespec ts = {0, (long)step * 1000000L};
		nanosleep(&ts, NULL);
		ms -= step;
	}
}

static void now_created_at(char out[48])
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	go_time_utc(&ts, out);
}

/* ------------------------------------------------------------ request checks */

static const char *json_kind(const json_t *v)
{
	if (json_is_string(v))
		return "string";
	if (json_is_number(v))
		return "number";
	if (json_is_boolean(v))
		return "bool";
	if (json_is_array(v))
		return "array";
	return "object";
}

/* encoding/json's type errors for the request fields we know. */
static int check_field_types(const json_t *root, int chat, char *msg, size_t n)
{
	static const struct {
		const char *key;
		char want;        /* s string, b bool, a array, o object, i int */
		const char *gotype;
		int chat;         /* 0 generate only, 1 chat only, 2 both */
	} F[] = {
		{"model", 's', "string", 2},     {"prompt", 's', "string", 0},
		{"suffix", 's', "string", 0},    {"system", 's', "string", 0},
		{"template", 's', "string", 0},  {"context", 'a', "[]int", 0},
		{"stream", 'b', "bool", 2},      {"raw", 'b', "bool", 0},
		{"images", 'a', "[]api.ImageData", 0},
		{"messages", 'a', "[]api.Message", 1},
		{"tools", 'a', "api.Tools", 1},  {"options", 'o', "map[string]interface {}", 2},
		{"truncate", 'b', "bool", 2},    {"shift", 'b', "bool", 2},
		{"logprobs", 'b', "bool", 2},    {"top_logprobs", 'i', "int", 2},
	};
	const char *sname = chat ? "ChatRequest" : "GenerateRequest";
	for (size_t i = 0; i < sizeof F / sizeof F[0]; i++) {
		if (F[i].chat != 2 && F[i].chat != chat)
			continue;
		json_t *v = json_object_get(root, F[i].key);
		if (!v || json_is_null(v))
			continue;
		int ok = F[i].want == 's'   ? json_is_string(v)
		         : F[i].want == 'b' ? json_is_boolean(v)
		         : F[i].want == 'a' ? json_is_array(v)
		         : F[i].want == 'o' ? json_is_object(v)
		                            : json_is_integer(v);
		if (!ok) {
			if (F[i].want == 'i' && json_is_real(v))
				snprintf(msg, n,
				         "json: cannot unmarshal number %g into Go struct field %s.%s of "
				         "type int",
				         json_real_value(v), sname, F[i].key);
			else
				snprintf(msg, n, "json: cannot unmarshal %s into Go struct field %s.%s of type %s",
				         json_kind(v), sname, F[i].key, F[i].gotype);
			return -1;
		}
	}
	json_t *msgs = json_object_get(root, "messages");
	if (chat && json_is_array(msgs)) {
		size_t i;
		json_t *m;
		json_array_foreach(msgs, i, m) {
			if (json_is_null(m))
				continue;
			if (!json_is_object(m)) {
				snprintf(msg, n, "json: cannot unmarshal %s into Go struct field "
				         "ChatRequest.messages of type api.Message", json_kind(m));
				return -1;
			}
			const char *sk[] = {"role", "content", "thinking", "tool_name"};
			for (int k = 0; k < 4; k++) {
				json_t *v = json_object_get(m, sk[k]);
				if (v && !json_is_null(v) && !json_is_string(v)) {
					snprintf(msg, n, "json: cannot unmarshal %s into Go struct field "
					         "ChatRequest.messages.%s of type string", json_kind(v), sk[k]);
					return -1;
				}
			}
			json_t *im = json_object_get(m, "images");
			if (im && !json_is_null(im) && !json_is_array(im)) {
				snprintf(msg, n, "json: cannot unmarshal %s into Go struct field "
				         "ChatRequest.messages.images of type []api.ImageData", json_kind(im));
				return -1;
			}
		}
	}
	json_t *tl = json_object_get(root, "top_logprobs");
	if (json_is_integer(tl) && (json_integer_value(tl) < 0 || json_integer_value(tl) > 20)) {
		snprintf(msg, n, "top_logprobs must be between 0 and 20");
		return -1;
	}
	return 0;
}

/* api.ThinkValue. *think: -1 absent, 0 false, 1 true or a level. */
static int parse_think(const json_t *v, int *think, char *msg, size_t n)
{
	*think = -1;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_boolean(v)) {
		*think = json_is_true(v);
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (strcmp(s, "high") && strcmp(s, "medium") && strcmp(s, "low") && strcmp(s, "max")) {
			char q[128];
			go_quote(s, strlen(s), q, sizeof q);
			snprintf(msg, n,
			         "invalid think value: %s (must be \"high\", \"medium\", \"low\", "
			         "\"max\", true, or false)", q);
			return -1;
		}
		*think = 1;
		return 0;
	}
	snprintf(msg, n, "think must be a boolean or string (\"high\", \"medium\", \"low\", "
	         "\"max\", true, or false)");
	return -1;
}

/* api.Options.FromMap: type errors (HTTP 500 at HEAD); unknown keys ignored. */
static int parse_options(const json_t *opts, const struct model *m, int64_t default_ctx,
                         struct runner_opts *ro, int64_t *num_predict, char *msg, size_t n)
{
	static const char *ints[] = {"num_ctx", "num_batch", "num_gpu", "main_gpu", "num_thread",
	                             "num_keep", "seed", "num_predict", "top_k", "repeat_last_n",
	                             "draft_num_predict", NULL};
	static const char *floats[] = {"temperature", "top_p", "min_p", "typical_p",
	                               "repeat_penalty", "presence_penalty", "frequency_penalty",
	                               NULL};
	int64_t num_ctx = 0;
	int ctx_set = 0;
	ro->num_batch = 512;
	ro->num_gpu = -1;
	ro->main_gpu = 0;
	ro->use_mmap = -1;
	ro->num_thread = 0;
	ro->draft_num_predict = 4;
	*num_predict = -1;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)opts, k, v) {
		if (json_is_null(v))
			continue;
		int known = 0;
		for (int i = 0; ints[i]; i++) {
			if (strcmp(k, ints[i]) != 0)
				continue;
			known = 1;
			if (!json_is_number(v)) {
				snprintf(msg, n, "option \"%s\" must be of type integer", k);
				return -1;
			}
			int64_t x = (int64_t)json_number_value(v);
			if (!strcmp(k, "num_ctx"))
				num_ctx = x, ctx_set = 1;
			else if (!strcmp(k, "num_batch"))
				ro->num_batch = x;
			else if (!strcmp(k, "num_gpu"))
				ro->num_gpu = x;
			else if (!strcmp(k, "main_gpu"))
				ro->main_gpu = x;
			else if (!strcmp(k, "num_thread"))
				ro->num_thread = x;
			else if (!strcmp(k, "draft_num_predict"))
				ro->draft_num_predict = x;
			else if (!strcmp(k, "num_predict"))
				*num_predict = x;
		}
		for (int i = 0; !known && floats[i]; i++) {
			if (strcmp(k, floats[i]) != 0)
				continue;
			known = 1;
			if (!json_is_number(v)) {
				snprintf(msg, n, "option \"%s\" must be of type float32", k);
				return -1;
			}
		}
		if (!known && !strcmp(k, "use_mmap")) {
			if (!json_is_boolean(v)) {
				snprintf(msg, n, "option \"%s\" must be of type boolean", k);
				return -1;
			}
			ro->use_mmap = json_is_true(v);
		} else if (!known && !strcmp(k, "stop")) {
			if (!json_is_array(v)) {
				snprintf(msg, n, "option \"%s\" must be of type array", k);
				return -1;
			}
			size_t i;
			json_t *e;
			json_array_foreach(v, i, e) {
				if (!json_is_string(e)) {
					snprintf(msg, n, "option \"%s\" must be of an array of strings", k);
					return -1;
				}
			}
		}
	}
	ro->num_ctx = model_effective_ctx(m, ctx_set ? num_ctx : default_ctx);
	return 0;
}

static int count_words(const char *s)
{
	int n = 0, in = 0;
	for (; s && *s; s++) {
		int sp = *s == ' ' || *s == '\n' || *s == '\t' || *s == '\r';
		if (!sp && !in)
			n++;
		in = !sp;
	}
	return n;
}

/* Decodes and inspects a JSON array of base64 images, appending to *list. */
static int take_images(const json_t *arr, struct image_info **list, int *n, char *msg, size_t mn)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v)) {
			snprintf(msg, mn, "json: cannot unmarshal %s into Go value of type []uint8",
			         json_kind(v));
			return -1;
		}
		unsigned char *bytes;
		size_t nb;
		if (go_base64_decode(json_string_value(v), json_string_length(v), &bytes, &nb, msg, mn))
			return -1;
		struct image_info *nl = realloc(*list, (size_t)(*n + 1) * sizeof **list);
		if (!nl) {
			free(bytes);
			snprintf(msg, mn, "out of memory");
			return -1;
		}
		*list = nl;
		image_inspect(bytes, nb, &nl[*n]);
		(*n)++;
		free(bytes);
	}
	return 0;
}

/* ------------------------------------------------------------ streaming */

struct infer {
	struct stub_server *srv;
	struct runner *runner;       /* reference held until the reply is done */
	int chat;
	int stream;
	int raw;
	char *model_echo;            /* request's model string */
	char **pieces;               /* thinking pieces, then answer pieces */
	int n_pieces, n_think;
	int idx;                     /* next piece */
	int final_sent, ended;
	int64_t t_start_ns, t_loaded_ns, t_gen_ns;
	int prompt_tokens;
	const char *done_reason;     /* "stop" or "length" */
	struct fault fault;          /* mid-stream fault, if has_fault */
	int has_fault, fault_done;
	struct buf out;              /* bytes produced, not yet handed to MHD */
	size_t out_off;
	char *single;                /* whole non-streaming body (cut fault) */
	size_t single_len;
};

static void infer_free(struct infer *in)
{
	if (!in)
		return;
	if (in->runner)
		sched_release(in->srv->sched, in->runner);
	for (int i = 0; i < in->n_pieces; i++)
		free(in->pieces[i]);
	free(in->pieces);
	free(in->model_echo);
	buf_free(&in->out);
	free(in->single);
	free(in);
}

static void metrics(json_t *o, const struct infer *in, int eval_count)
{
	int64_t now = stub_mono_ns();
	int64_t total = now - in->t_start_ns;
	int64_t load = in->t_loaded_ns - in->t_start_ns;
	int64_t prompt_ns = (int64_t)in->prompt_tokens * 20000; /* 20 us per prompt token */
	int64_t eval_ns = now - in->t_gen_ns;
#define PUT(k, v) do { if ((v) != 0) json_object_set_new(o, k, json_integer(v)); } while (0)
	PUT("total_duration", total + prompt_ns);
	PUT("load_duration", load > 0 ? load : 1);
	PUT("prompt_eval_count", in->prompt_tokens);
	PUT("prompt_eval_duration", prompt_ns);
	PUT("eval_count", eval_count);
	PUT("eval_duration", eval_count ? (eval_ns > 0 ? eval_ns : 1) : 0);
#undef PUT
}

/* Builds one reply object. text/thinking may be NULL. done adds the metrics. */
static json_t *reply_obj(const struct infer *in, const char *text, const char *thinking,
                         int done)
{
	char ts[48];
	now_created_at(ts);
	json_t *o = json_object();
	json_object_set_new(o, "model", json_string(in->model_echo));
	json_object_set_new(o, "created_at", json_string(ts));
	if (in->chat) {
		json_t *m = json_object();
		json_object_set_new(m, "role", json_string("assistant"));
		json_object_set_new(m, "content", json_string(text ? text : ""));
		if (thinking && *thinking)
			json_object_set_new(m, "thinking", json_string(thinking));
		json_object_set_new(o, "message", m);
		if (done)
			json_object_set_new(o, "done_reason", json_string(in->done_reason));
		json_object_set_new(o, "done", json_boolean(done));
	} else {
		json_object_set_new(o, "response", json_string(text ? text : ""));
		if (thinking && *thinking)
			json_object_set_new(o, "thinking", json_string(thinking));
		json_object_set_new(o, "done", json_boolean(done));
		if (done)
			json_object_set_new(o, "done_reason", json_string(in->done_reason));
		if (done && !in->raw) {
			json_t *ctx = json_array();
			int n = in->prompt_tokens + in->n_pieces;
			for (int i = 0; i < n; i++)
				json_array_append_new(ctx, json_integer((i * 7919 + 128) % 128000));
			json_object_set_new(o, "context", ctx);
		}
	}
	if (done)
		metrics(o, in, in->n_pieces);
	return o;
}

static void emit_line(struct infer *in, json_t *o)
{
	char *s = go_json_dump(o);
	json_decref(o);
	if (s) {
		buf_appends(&in->out, s);
		buf_appendc(&in->out, '\n');
		free(s);
	}
}

static ssize_t stream_cb(void *cls, uint64_t pos, char *dst, size_t max)
{
	struct infer *in = cls;
	(void)pos;
	if (in->out_off >= in->out.len) {
		buf_reset(&in->out);
		in->out_off = 0;
		if (in->ended || stub_is_stopping())
			return MHD_CONTENT_READER_END_OF_STREAM;
		int at = in->fault.after_chunks < in->n_pieces ? in->fault.after_chunks : in->n_pieces;
		if (in->has_fault && !in->fault_done && in->idx == at) {
			in->fault_done = 1;
			if (in->fault.kind == FAULT_STALL) {
				stub_log("stream stall %lld ms after %d chunks", (long long)in->fault.ms, in->idx);
				nap_ms(in->fault.ms);
			} else if (in->fault.kind == FAULT_CUT) {
				stub_log("stream cut after %d chunks", in->idx);
				in->ended = 1;
				return in->fault.clean ? MHD_CONTENT_READER_END_OF_STREAM
				                       : MHD_CONTENT_READER_END_WITH_ERROR;
			} else if (in->fault.kind == FAULT_ERROR_MIDSTREAM) {
				json_t *o = json_object();
				json_object_set_new(
					o, "error",
					json_string(in->fault.message[0]
					                    ? in->fault.message
					                    : "an error was encountered while running the model: "
					                      "unexpected EOF"));
				emit_line(in, o);
				in->ended = 1;
			}
		}
		if (!in->ended) {
			if (in->idx > 0 || in->final_sent)
				nap_ms(in->srv->cfg->token_delay_ms);
			if (in->idx < in->n_pieces) {
				const char *p = in->pieces[in->idx];
				int thinking = in->idx < in->n_think;
				emit_line(in, reply_obj(in, thinking ? "" : p, thinking ? p : NULL, 0));
				in->idx++;
			} else {
				emit_line(in, reply_obj(in, "", NULL, 1));
				in->final_sent = 1;
				in->ended = 1;
			}
		}
		if (in->out.len == 0)
			return MHD_CONTENT_READER_END_OF_STREAM;
	}
	size_t n = in->out.len - in->out_off;
	if (n > max)
		n = max;
	memcpy(dst, in->out.data + in->out_off, n);
	in->out_off += n;
	return (ssize_t)n;
}

/* Non-streaming body that is cut half way (fault "cut" with stream:false). */
static ssize_t single_cb(void *cls, uint64_t pos, char *dst, size_t max)
{
	struct infer *in = cls;
	size_t half = in->single_len / 2;
	if (pos >= half)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	size_t n = half - (size_t)pos;
	if (n > max)
		n = max;
	memcpy(dst, in->single + pos, n);
	return (ssize_t)n;
}

static void infer_free_cb(void *cls)
{
	infer_free(cls);
}

/* ------------------------------------------------------------ generate / chat */

static enum MHD_Result load_reply(struct MHD_Connection *c, int chat, const char *model,
                                  const char *reason)
{
	char ts[48];
	now_created_at(ts);
	json_t *o = json_object();
	json_object_set_new(o, "model", json_string(model));
	json_object_set_new(o, "created_at", json_string(ts));
	if (chat) {
		json_t *m = json_object();
		json_object_set_new(m, "role", json_string("assistant"));
		json_object_set_new(m, "content", json_string(""));
		json_object_set_new(o, "message", m);
		json_object_set_new(o, "done_reason", json_string(reason));
		json_object_set_new(o, "done", json_true());
	} else {
		json_object_set_new(o, "response", json_string(""));
		json_object_set_new(o, "done", json_true());
		json_object_set_new(o, "done_reason", json_string(reason));
	}
	stub_log("reply 200 %s %s", reason, model);
	return send_json(c, 200, o);
}

static enum MHD_Result api_infer(struct stub_server *srv, struct MHD_Connection *c,
                                 struct conn *cx, int chat)
{
	char msg[STUB_MSG_MAX];
	int64_t t_start = stub_mono_ns();
	size_t end = 0;
	int rc = go_json_check(cx->body.data ? cx->body.data : "", cx->body.len, &end, msg,
	                       sizeof msg);
	if (rc == 1)
		return send_error(c, 400, "missing request body");
	if (rc < 0)
		return send_error(c, 400, msg);
	json_error_t je;
	json_t *root = json_loadb(cx->body.data, end, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (!root)
		return send_error(c, 400, je.text);
	if (json_is_null(root)) {
		json_decref(root);
		root = json_object();
	}
	enum MHD_Result ret;
	struct image_info *images = NULL;
	int n_images = 0;
	struct infer *in = NULL;
	char *answer = NULL, *thinking = NULL;
	struct runner *runner = NULL;

	if (!json_is_object(root)) {
		snprintf(msg, sizeof msg, "json: cannot unmarshal %s into Go value of type api.%s",
		         json_kind(root), chat ? "ChatRequest" : "GenerateRequest");
		ret = send_error(c, 400, msg);
		goto out;
	}
	if (check_field_types(root, chat, msg, sizeof msg) != 0) {
		ret = send_error(c, 400, msg);
		goto out;
	}
	int ka_set;
	int64_t ka_ns;
	if (go_keep_alive(json_object_get(root, "keep_alive"), &ka_set, &ka_ns, msg, sizeof msg)) {
		ret = send_error(c, 400, msg);
		goto out;
	}
	int think;
	if (parse_think(json_object_get(root, "think"), &think, msg, sizeof msg)) {
		ret = send_error(c, 400, msg);
		goto out;
	}
	/* images (generate) or messages[].images (chat); base64 errors are decode errors */
	const json_t *msgs = json_object_get(root, "messages");
	if (chat) {
		size_t i;
		json_t *m;
		json_array_foreach(msgs, i, m) {
			json_t *im = json_object_get(m, "images");
			if (json_is_array(im) && take_images(im, &images, &n_images, msg, sizeof msg)) {
				ret = send_error(c, 400, msg);
				goto out;
			}
		}
	} else {
		json_t *im = json_object_get(root, "images");
		if (json_is_array(im) && take_images(im, &images, &n_images, msg, sizeof msg)) {
			ret = send_error(c, 400, msg);
			goto out;
		}
	}

	const char *model_name = json_string_value(json_object_get(root, "model"));
	if (!model_name)
		model_name = "";
	if (chat && !*model_name) {
		ret = send_error(c, 400, "model is required");
		goto out;
	}
	const char *prompt = json_string_value(json_object_get(root, "prompt"));
	int raw = json_is_true(json_object_get(root, "raw"));
	if (!chat && raw &&
	    (json_string_length(json_object_get(root, "template")) ||
	     json_string_length(json_object_get(root, "system")) ||
	     json_array_size(json_object_get(root, "context")))) {
		ret = send_error(c, 400, "raw mode does not support template, system, or context");
		goto out;
	}
	struct fault f;
	const struct model *m = catalog_find(srv->cat, model_name);
	if (m && fault_take(FAULT_NOT_FOUND, model_name, &f))
		m = NULL;
	if (!m) {
		snprintf(msg, sizeof msg, "model '%s' not found", model_name);
		ret = send_error(c, 404, msg);
		goto out;
	}
	int is_load = chat ? json_array_size(msgs) == 0 : (!prompt || !*prompt);
	if (is_load && ka_set && ka_ns == 0) {
		sched_expire(srv->sched, m);
		ret = load_reply(c, chat, model_name, "unload");
		goto out;
	}
	if (!(m->caps & CAP_COMPLETION)) {
		snprintf(msg, sizeof msg, "\"%s\" does not support %s", model_name,
		         chat ? "chat" : "generate");
		ret = send_error(c, 400, msg);
		goto out;
	}
	if (m->caps & CAP_THINKING) {
		if (think < 0)
			think = 1;
	} else if (think == 1) {
		snprintf(msg, sizeof msg, "\"%s\" does not support thinking", model_name);
		ret = send_error(c, 400, msg);
		goto out;
	} else {
		think = 0;
	}
	if (!chat && json_string_length(json_object_get(root, "suffix")) && !(m->caps & CAP_INSERT)) {
		snprintf(msg, sizeof msg, "%s does not support insert", model_name);
		ret = send_error(c, 400, msg);
		goto out;
	}
	if (chat && json_array_size(json_object_get(root, "tools")) && !(m->caps & CAP_TOOLS)) {
		snprintf(msg, sizeof msg, "%s does not support tools", model_name);
		ret = send_error(c, 400, msg);
		goto out;
	}

	struct sched_request rq = {.model = m, .keep_alive_set = ka_set, .keep_alive_ns = ka_ns,
	                           .gone = conn_gone, .gone_data = cx};
	int64_t num_predict;
	json_t *opts = json_object_get(root, "options");
	if (parse_options(json_is_object(opts) ? opts : NULL, m, srv->cfg->default_num_ctx, &rq.opts,
	                  &num_predict, msg, sizeof msg)) {
		ret = send_error(c, 500, msg);
		goto out;
	}
	if (fault_take(FAULT_BUSY, model_name, &f)) {
		ret = send_error(c, 503, f.message[0] ? f.message
		                         : "server busy, please try again.  maximum pending requests "
		                           "exceeded");
		goto out;
	}
	if (fault_take(FAULT_ERROR_BEFORE, model_name, &f)) {
		ret = send_error(c, (unsigned)f.status,
		                 f.message[0] ? f.message
		                              : "an error was encountered while running the model: "
		                                "injected fault");
		goto out;
	}

	rc = sched_acquire(srv->sched, &rq, &runner, msg, sizeof msg);
	switch (rc) {
	case SCHED_OK:
		break;
	case SCHED_OOM:
		ret = send_error(c, 500, msg);
		goto out;
	case SCHED_BUSY:
		ret = send_error(c, 503,
		                 "server busy, please try again.  maximum pending requests exceeded");
		goto out;
	case SCHED_CANCELLED:
		stub_log("request canceled (client gone) %s", model_name);
		ret = send_error(c, 499, "request canceled");
		goto out;
	default:
		ret = send_error(c, 500, "server is shutting down");
		goto out;
	}
	int64_t t_loaded = stub_mono_ns();
	if (is_load) {
		sched_release(srv->sched, runner);
		runner = NULL;
		ret = load_reply(c, chat, model_name, "load");
		goto out;
	}
	json_t *format = json_object_get(root, "format");
	if (!reply_format_valid(format)) {
		char *raw_fmt = go_json_dump(format);
		char q[STUB_MSG_MAX / 2];
		go_quote(raw_fmt ? raw_fmt : "", raw_fmt ? strlen(raw_fmt) : 0, q, sizeof q);
		free(raw_fmt);
		snprintf(msg, sizeof msg,
		         "invalid format: %s; expected \"json\" or a valid JSON Schema object", q);
		ret = send_error(c, 500, msg);
		goto out;
	}

	/* What the user said, and how long the prompt is. */
	const char *user_text = prompt;
	int words = count_words(prompt) + count_words(json_string_value(json_object_get(root, "system")));
	if (chat) {
		size_t i;
		json_t *mm;
		user_text = NULL;
		json_array_foreach(msgs, i, mm) {
			const char *content = json_string_value(json_object_get(mm, "content"));
			const char *role = json_string_value(json_object_get(mm, "role"));
			words += count_words(content);
			if (content && role && strcasecmp(role, "user") == 0)
				user_text = content;
		}
		if (!user_text)
			user_text = json_string_value(
				json_object_get(json_array_get(msgs, json_array_size(msgs) - 1), "content"));
	}
	struct reply_input ri = {.user_text = user_text, .images = images, .n_images = n_images,
	                         .format = format, .think = think};
	reply_make(&ri, &answer, &thinking);

	in = calloc(1, sizeof *in);
	if (!in) {
		ret = send_error(c, 500, "out of memory");
		goto out;
	}
	in->srv = srv;
	in->runner = runner;
	runner = NULL;
	in->chat = chat;
	in->raw = raw;
	in->model_echo = strdup(model_name);
	in->t_start_ns = t_start;
	in->t_loaded_ns = t_loaded;
	in->prompt_tokens = PROMPT_TEMPLATE_TOKENS + words * 4 / 3 + IMAGE_TOKENS * n_images;
	in->done_reason = "stop";
	buf_init(&in->out, CAP_NDJSON_LINE);
	int nt = 0, na = 0;
	char **tp = thinking ? reply_split(thinking, &nt) : NULL;
	char **ap = reply_split(answer, &na);
	if (num_predict > 0 && nt + na > num_predict) {
		/* Hit num_predict: keep the first tokens, done_reason "length". */
		int keep = (int)num_predict;
		for (int i = 0; i < nt + na; i++)
			if (i >= keep)
				free(i < nt ? tp[i] : ap[i - nt]);
		if (keep < nt) {
			nt = keep;
			na = 0;
		} else {
			na = keep - nt;
		}
		in->done_reason = "length";
	}
	in->pieces = calloc((size_t)(nt + na + 1), sizeof *in->pieces);
	for (int i = 0; i < nt; i++)
		in->pieces[in->n_pieces++] = tp[i];
	for (int i = 0; i < na; i++)
		in->pieces[in->n_pieces++] = ap[i];
	in->n_think = nt;
	free(tp);
	free(ap);
	in->has_fault = fault_take(FAULT_ERROR_MIDSTREAM | FAULT_CUT | FAULT_STALL, model_name,
	                           &in->fault);
	in->t_gen_ns = stub_mono_ns();
	nap_ms(srv->cfg->reply_ms); /* --reply-ms: a fixed time per reply, before its first chunk */

	json_t *st = json_object_get(root, "stream");
	in->stream = !(json_is_boolean(st) && !json_is_true(st));
	if (in->stream) {
		struct MHD_Response *r =
			MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_cb, in,
			                                  infer_free_cb);
		if (!r) {
			ret = MHD_NO;
			goto out;
		}
		in = NULL; /* owned by the response now */
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CT_NDJSON);
		ret = MHD_queue_response(c, 200, r);
		MHD_destroy_response(r);
		stub_log("reply 200 stream %s", model_name);
		goto out;
	}

	/* Non-streaming: "generate" for as long as streaming would take, then one object. */
	if (in->has_fault && in->fault.kind == FAULT_STALL)
		nap_ms(in->fault.ms);
	nap_ms(in->srv->cfg->token_delay_ms * in->n_pieces);
	if (in->has_fault && in->fault.kind == FAULT_ERROR_MIDSTREAM) {
		ret = send_error(c, 500, in->fault.message[0]
		                             ? in->fault.message
		                             : "an error was encountered while running the model: "
		                               "unexpected EOF");
		goto out;
	}
	json_t *o = reply_obj(in, answer, thinking, 1);
	if (in->has_fault && in->fault.kind == FAULT_CUT) {
		in->single = go_json_dump(o);
		json_decref(o);
		in->single_len = in->single ? strlen(in->single) : 0;
		struct MHD_Response *r =
			MHD_create_response_from_callback(in->single_len, 64 * 1024, single_cb, in,
			                                  infer_free_cb);
		if (!r) {
			ret = MHD_NO;
			goto out;
		}
		in = NULL;
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CT_JSON);
		ret = MHD_queue_response(c, 200, r);
		MHD_destroy_response(r);
		goto out;
	}
	stub_log("reply 200 single %s", model_name);
	ret = send_json(c, 200, o);

out:
	if (runner)
		sched_release(srv->sched, runner);
	infer_free(in);
	free(answer);
	free(thinking);
	free(images);
	json_decref(root);
	return ret;
}

/* ------------------------------------------------------------ other API */

static json_t *parse_body(struct conn *cx, char *msg, size_t n, int *status)
{
	size_t end = 0;
	int rc = go_json_check(cx->body.data ? cx->body.data : "", cx->body.len, &end, msg, n);
	*status = 400;
	if (rc == 1) {
		snprintf(msg, n, "missing request body");
		return NULL;
	}
	if (rc < 0)
		return NULL;
	json_error_t je;
	json_t *root = json_loadb(cx->body.data, end, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (!root)
		snprintf(msg, n, "%s", je.text);
	return root;
}

static enum MHD_Result api_show(struct stub_server *srv, struct MHD_Connection *c,
                                struct conn *cx)
{
	char msg[STUB_MSG_MAX];
	int status;
	json_t *root = parse_body(cx, msg, sizeof msg, &status);
	if (!root)
		return send_error(c, (unsigned)status, msg);
	if (!json_is_object(root) && !json_is_null(root)) {
		snprintf(msg, sizeof msg,
		         "json: cannot unmarshal %s into Go value of type api.ShowRequest",
		         json_kind(root));
		json_decref(root);
		return send_error(c, 400, msg);
	}
	const char *name = json_string_value(json_object_get(root, "model"));
	if (!name || !*name)
		name = json_string_value(json_object_get(root, "name"));
	if (!name || !*name) {
		json_decref(root);
		return send_error(c, 400, "model is required");
	}
	struct fault f;
	const struct model *m = catalog_find(srv->cat, name);
	if (m && fault_take(FAULT_NOT_FOUND, name, &f))
		m = NULL;
	if (!m) {
		snprintf(msg, sizeof msg, "model '%s' not found", name);
		json_decref(root);
		return send_error(c, 404, msg);
	}
	int verbose = json_is_true(json_object_get(root, "verbose"));
	json_decref(root);
	return send_json(c, 200, model_show_json(m, verbose));
}

/* ------------------------------------------------------------ control */

static enum MHD_Result control(struct stub_server *srv, struct MHD_Connection *c,
                               struct conn *cx, const char *url, const char *method)
{
	int get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
	if (!strcmp(url, "/_stub/requests") && get) {
		const char *since = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "since");
		return send_json(c, 200, recorder_json(since ? strtoll(since, NULL, 10) : 0));
	}
	if (!strcmp(url, "/_stub/timeline") && get)
		return send_json(c, 200, sched_timeline_json(srv->sched));
	if (!strcmp(url, "/_stub/stats") && get)
		return send_json(c, 200, sched_stats_json(srv->sched));
	if (!strcmp(url, "/_stub/router") && get)
		return send_json(c, 200, oai_router_json());
	if (!strcmp(url, "/_stub/faults") && get)
		return send_json(c, 200, fault_list_json());
	if (!strcmp(url, "/_stub/fault") && post) {
		char msg[STUB_MSG_MAX];
		int status;
		json_t *body = parse_body(cx, msg, sizeof msg, &status);
		if (!body)
			return send_error(c, 400, msg);
		int rc = fault_add(body, msg, sizeof msg);
		json_decref(body);
		if (rc)
			return send_error(c, 400, msg);
		return send_json(c, 200, json_pack("{s:b}", "ok", 1));
	}
	if (!strcmp(url, "/_stub/reset") && post) {
		fault_clear();
		recorder_clear();
		sched_reset(srv->sched);
		oai_reset();
		stub_log("reset");
		return send_json(c, 200, json_pack("{s:b}", "ok", 1));
	}
	return send_error(c, 404, "unknown /_stub/ endpoint; see docs/ollama-stub.md");
}

/* ------------------------------------------------------------ /api/embed */

/* POST /api/embed: {model, input: string | [string], keep_alive, options,
 * truncate} -> {model, embeddings, total_duration, load_duration,
 * prompt_eval_count}. The model loads through the scheduler as for chat; an
 * empty input only loads it (keep_alive 0: unloads). Faults: not_found, busy,
 * error_before, oom and slow_load (through the scheduler). */
static enum MHD_Result api_embed(struct stub_server *srv, struct MHD_Connection *c, struct conn *cx)
{
	char msg[STUB_MSG_MAX];
	int64_t t_start = stub_mono_ns();
	json_error_t je;
	json_t *root = cx->body.len ? json_loadb(cx->body.data, cx->body.len, 0, &je) : NULL;
	if (!cx->body.len)
		return send_error(c, 400, "missing request body");
	if (!json_is_object(root)) {
		json_decref(root);
		return send_error(c, 400, root ? "json: cannot unmarshal into Go value of type api.EmbedRequest" : je.text);
	}
	enum MHD_Result ret;
	const char **texts = NULL;
	size_t n = 0;
	struct runner *runner = NULL;
	const char *model_name = json_string_value(json_object_get(root, "model"));
	if (!model_name || !*model_name) {
		ret = send_error(c, 400, "model is required");
		goto out;
	}
	int ka_set;
	int64_t ka_ns;
	if (go_keep_alive(json_object_get(root, "keep_alive"), &ka_set, &ka_ns, msg, sizeof msg) ||
	    embed_inputs(json_object_get(root, "input"), &texts, &n, msg, sizeof msg)) {
		ret = send_error(c, 400, msg);
		goto out;
	}
	struct fault f;
	const struct model *m = catalog_find(srv->cat, model_name);
	if (m && fault_take(FAULT_NOT_FOUND, model_name, &f))
		m = NULL;
	if (!m) {
		snprintf(msg, sizeof msg, "model '%s' not found", model_name);
		ret = send_error(c, 404, msg);
		goto out;
	}
	if (!(m->caps & CAP_EMBEDDING)) {
		snprintf(msg, sizeof msg, "\"%s\" does not support embeddings", model_name);
		ret = send_error(c, 400, msg);
		goto out;
	}
	if (n == 0 && ka_set && ka_ns == 0) {
		sched_expire(srv->sched, m);
		ret = send_json(c, 200, json_pack("{s:s,s:[]}", "model", model_name, "embeddings"));
		goto out;
	}
	struct sched_request rq = {.model = m, .keep_alive_set = ka_set, .keep_alive_ns = ka_ns,
	                           .gone = conn_gone, .gone_data = cx};
	int64_t num_predict;
	json_t *opts = json_object_get(root, "options");
	if (parse_options(json_is_object(opts) ? opts : NULL, m, srv->cfg->default_num_ctx, &rq.opts, &num_predict, msg,
	                  sizeof msg)) {
		ret = send_error(c, 500, msg);
		goto out;
	}
	if (fault_take(FAULT_BUSY, model_name, &f)) {
		ret = send_error(c, 503, f.message[0] ? f.message : "server busy, please try again.  maximum pending requests exceeded");
		goto out;
	}
	if (fault_take(FAULT_ERROR_BEFORE, model_name, &f)) {
		ret = send_error(c, (unsigned)f.status, f.message[0] ? f.message : "an error was encountered while running the model: injected fault");
		goto out;
	}
	int rc = sched_acquire(srv->sched, &rq, &runner, msg, sizeof msg);
	if (rc != SCHED_OK) {
		ret = rc == SCHED_OOM ? send_error(c, 500, msg)
		      : rc == SCHED_BUSY ? send_error(c, 503, "server busy, please try again.  maximum pending requests exceeded")
		      : rc == SCHED_CANCELLED ? send_error(c, 499, "request canceled")
		                              : send_error(c, 500, "server is shutting down");
		runner = NULL;
		goto out;
	}
	int64_t t_loaded = stub_mono_ns();
	int dim = embed_dim(m);
	json_t *vecs = json_array();
	int64_t words = 0;
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(vecs, embed_json(texts[i], dim));
		for (const char *p = texts[i]; *p; p++)
			words += *p == ' ';
		words++;
	}
	int64_t t_end = stub_mono_ns();
	ret = send_json(c, 200, json_pack("{s:s,s:o,s:I,s:I,s:I}", "model", model_name, "embeddings", vecs,
	                                  "total_duration", (json_int_t)(t_end - t_start), "load_duration",
	                                  (json_int_t)(t_loaded - t_start), "prompt_eval_count", (json_int_t)words));
out:
	if (runner)
		sched_release(srv->sched, runner);
	free(texts);
	json_decref(root);
	return ret;
}

/* ------------------------------------------------------------ routing */

enum { M_GET = 1, M_HEAD = 2, M_POST = 4 };

static const struct route {
	const char *path;
	int methods;
} ROUTES[] = {
	{"/", M_GET | M_HEAD},           {"/api/version", M_GET | M_HEAD},
	{"/api/tags", M_GET | M_HEAD},   {"/api/ps", M_GET},
	{"/api/show", M_POST},           {"/api/generate", M_POST},
	{"/api/chat", M_POST},           {"/api/embed", M_POST},
};

static enum MHD_Result route(struct stub_server *srv, struct MHD_Connection *c,
                             struct conn *cx, const char *url, const char *method)
{
	if (!strncmp(url, "/_stub/", 7))
		return control(srv, c, cx, url, method);
	record(method, url, cx->body.data, cx->body.len, oai_auth(srv->cfg, c));
	stub_log("request %s %s (%zu bytes)", method, url, cx->body.len);
	if (cx->too_big)
		return send_error(c, 413, "request body too large");
	if (oai_is_route(url))
		return (enum MHD_Result)oai_route(srv, c, url, method, cx->body.data, cx->body.len, cx->fd);
	if (srv->cfg->oai_mode != OAI_OLLAMA) /* a llama-server has no Ollama API */
		return send_bytes(c, 404, CT_JSON,
		                  "{\"error\":{\"code\":404,\"message\":\"File Not Found\",\"type\":\"not_found_error\"}}",
		                  strlen("{\"error\":{\"code\":404,\"message\":\"File Not Found\",\"type\":\"not_found_error\"}}"));
	int mbit = !strcmp(method, "GET") ? M_GET : !strcmp(method, "HEAD") ? M_HEAD
	           : !strcmp(method, "POST") ? M_POST : 0;
	const struct route *rt = NULL;
	for (size_t i = 0; i < sizeof ROUTES / sizeof ROUTES[0]; i++)
		if (!strcmp(url, ROUTES[i].path))
			rt = &ROUTES[i];
	if (!rt)
		return send_text(c, 404, "404 page not found");
	if (!(rt->methods & mbit)) {
		struct MHD_Response *r = MHD_create_response_from_buffer(
			22, (void *)"405 method not allowed", MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CT_TEXT);
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW,
		                        rt->methods & M_POST ? "POST" : rt->methods & M_HEAD ? "GET, HEAD"
		                                                                               : "GET");
		enum MHD_Result ret = MHD_queue_response(c, 405, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (!strcmp(url, "/"))
		return send_text(c, 200, "Ollama is running");
	if (!strcmp(url, "/api/version"))
		return send_json(c, 200, json_pack("{s:s}", "version", STUB_VERSION));
	if (!strcmp(url, "/api/tags"))
		return send_json(c, 200, catalog_tags_json(srv->cat));
	if (!strcmp(url, "/api/ps"))
		return send_json(c, 200, sched_ps_json(srv->sched));
	if (!strcmp(url, "/api/show"))
		return api_show(srv, c, cx);
	if (!strcmp(url, "/api/embed"))
		return api_embed(srv, c, cx);
	return api_infer(srv, c, cx, !strcmp(url, "/api/chat"));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
	struct conn *cx = *req_cls;
	(void)version;
	if (!cx) {
		cx = calloc(1, sizeof *cx);
		if (!cx)
			return MHD_NO;
		buf_init(&cx->body, CAP_REQUEST_BODY);
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		cx->fd = ci ? ci->connect_fd : -1;
		*req_cls = cx;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (!cx->too_big && buf_append(&cx->body, upload_data, *upload_data_size) != 0)
			cx->too_big = 1;
		*upload_data_size = 0;
		return MHD_YES;
	}
	return route(cls, c, cx, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct conn *cx = *req_cls;
	(void)cls;
	(void)c;
	(void)toe;
	if (!cx)
		return;
	buf_free(&cx->body);
	free(cx);
	*req_cls = NULL;
}

/* libmicrohttpd's own messages (e.g. a "cut" fault closing a stream) go to --log. */
static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	(void)cls;
	vsnprintf(line, sizeof line, fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	stub_log("microhttpd: %s", line);
}

struct MHD_Daemon *server_start(struct stub_server *srv, int listen_fd)
{
	return MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
		NULL, NULL, on_request, srv, MHD_OPTION_LISTEN_SOCKET, listen_fd,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)0, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL, MHD_OPTION_END);
}

void server_stop(struct MHD_Daemon *d)
{
	if (d)
		MHD_stop_daemon(d);
}
