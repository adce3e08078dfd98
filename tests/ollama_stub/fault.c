/*
 * fault.c — injected failures, set through POST /_stub/fault and used up by
 * the requests they match (first added, first used).
 */
#include "stub.h"

#include <stdlib.h>
#include <string.h>

#define FAULT_MAX 256

static pthread_mutex_t fault_mu = PTHREAD_MUTEX_INITIALIZER;
static struct fault faults[FAULT_MAX];
static int n_faults;

static const struct {
	const char *name;
	int kind;
} KINDS[] = {
	{"error_before", FAULT_ERROR_BEFORE}, {"error_midstream", FAULT_ERROR_MIDSTREAM},
	{"cut", FAULT_CUT},                   {"stall", FAULT_STALL},
	{"slow_load", FAULT_SLOW_LOAD},       {"not_found", FAULT_NOT_FOUND},
	{"oom", FAULT_OOM},                   {"busy", FAULT_BUSY},
};

static const char *kind_name(int kind)
{
	for (size_t i = 0; i < sizeof KINDS / sizeof KINDS[0]; i++)
		if (KINDS[i].kind == kind)
			return KINDS[i].name;
	return "?";
}

static int64_t num(const json_t *o, const char *k, int64_t dflt, int *bad)
{
	json_t *v = json_object_get(o, k);
	if (!v || json_is_null(v))
		return dflt;
	if (!json_is_number(v)) {
		*bad = 1;
		return dflt;
	}
	return (int64_t)json_number_value(v);
}

int fault_add(const json_t *body, char *msg, size_t msg_n)
{
	struct fault f;
	int bad = 0;
	memset(&f, 0, sizeof f);
	if (!json_is_object(body)) {
		snprintf(msg, msg_n, "fault body must be a JSON object with \"kind\"");
		return -1;
	}
	const char *k = json_string_value(json_object_get(body, "kind"));
	for (size_t i = 0; k && i < sizeof KINDS / sizeof KINDS[0]; i++)
		if (strcmp(k, KINDS[i].name) == 0)
			f.kind = KINDS[i].kind;
	if (!f.kind) {
		snprintf(msg, msg_n,
		         "unknown fault kind %s%s%s; use error_before, error_midstream, cut, stall, "
		         "slow_load, not_found, oom or busy",
		         k ? "\"" : "", k ? k : "(missing)", k ? "\"" : "");
		return -1;
	}
	const char *model = json_string_value(json_object_get(body, "model"));
	if (model && *model)
		model_name_canon(model, f.model, sizeof f.model);
	f.count = (int)num(body, "count", 1, &bad);
	f.after_chunks = (int)num(body, "after_chunks", 1, &bad);
	f.ms = num(body, "ms", f.kind == FAULT_STALL ? 1000 : f.kind == FAULT_SLOW_LOAD ? 5000 : 0,
	           &bad);
	f.status = (int)num(body, "status", 500, &bad);
	const char *m = json_string_value(json_object_get(body, "message"));
	if (m)
		snprintf(f.message, sizeof f.message, "%s", m);
	f.clean = json_is_true(json_object_get(body, "clean"));
	if (bad || f.count < 1 || f.after_chunks < 0 || f.ms < 0 || f.status < 100 ||
	    f.status > 599) {
		snprintf(msg, msg_n,
		         "fault fields: count >= 1, after_chunks >= 0, ms >= 0 (numbers), status "
		         "100..599");
		return -1;
	}
	pthread_mutex_lock(&fault_mu);
	if (n_faults >= FAULT_MAX) {
		pthread_mutex_unlock(&fault_mu);
		snprintf(msg, msg_n, "too many pending faults (%d); POST /_stub/reset", FAULT_MAX);
		return -1;
	}
	faults[n_faults++] = f;
	pthread_mutex_unlock(&fault_mu);
	stub_log("fault added %s model=%s count=%d after_chunks=%d ms=%lld", kind_name(f.kind),
	         f.model[0] ? f.model : "*", f.count, f.after_chunks, (long long)f.ms);
	return 0;
}

int fault_take(int kinds, const char *model_name, struct fault *out)
{
	char canon[STUB_NAME_MAX + 32] = "";
	if (model_name)
		model_name_canon(model_name, canon, sizeof canon);
	pthread_mutex_lock(&fault_mu);
	for (int i = 0; i < n_faults; i++) {
		struct fault *f = &faults[i];
		if (!(f->kind & kinds))
			continue;
		if (f->model[0] && strcmp(f->model, canon) != 0)
			continue;
		*out = *f;
		if (--f->count <= 0) {
			memmove(&faults[i], &faults[i + 1], (size_t)(n_faults - i - 1) * sizeof faults[0]);
			n_faults--;
		}
		pthread_mutex_unlock(&fault_mu);
		stub_log("fault fired %s model=%s", kind_name(out->kind), canon[0] ? canon : "-");
		return 1;
	}
	pthread_mutex_unlock(&fault_mu);
	return 0;
}

void fault_clear(void)
{
	pthread_mutex_lock(&fault_mu);
	n_faults = 0;
	pthread_mutex_unlock(&fault_mu);
}

json_t *fault_list_json(void)
{
	json_t *a = json_array();
	pthread_mutex_lock(&fault_mu);
	for (int i = 0; i < n_faults; i++) {
		const struct fault *f = &faults[i];
		json_t *o = json_object();
		json_object_set_new(o, "kind", json_string(kind_name(f->kind)));
		if (f->model[0])
			json_object_set_new(o, "model", json_string(f->model));
		json_object_set_new(o, "count", json_integer(f->count));
		json_object_set_new(o, "after_chunks", json_integer(f->after_chunks));
		json_object_set_new(o, "ms", json_integer(f->ms));
		json_array_append_new(a, o);
	}
	pthread_mutex_unlock(&fault_mu);
	return a;
}
