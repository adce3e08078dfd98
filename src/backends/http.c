/*
 * http.c — one HTTP request over libcurl with dossier's deadlines (see http.h).
 *
 * The deadlines are watched from libcurl's progress callback, which runs at
 * least once a second even while nothing arrives: before the first body byte
 * against first_byte_ms, afterwards against idle_ms between bytes.
 */
#include "backends/http.h"
#include "core/err.h"
#include "core/util.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_ERROR_CAP (64u * 1024u) /* default: an error body is kept for its message */

void http_request_default(struct http_request *rq)
{
	memset(rq, 0, sizeof *rq);
	rq->content_type = "application/json";
	rq->body_cap = CAP_NDJSON_LINE;
	rq->error_cap = HTTP_ERROR_CAP;
}

struct xfer {
	const struct http_request *rq;
	struct http_result *res;
	CURL *h;
	int streaming;         /* 1 once the status is 2xx and bytes go to on_data */
	int cb_rc;             /* code that stopped the write callback */
	int64_t start_ms;      /* transfer start (monotonic) */
	int64_t last_rx_ms;    /* last body byte (monotonic); 0 = none yet */
	curl_off_t seen;       /* body bytes counted by the progress callback */
	enum http_fail why;    /* set by the progress callback when it aborts */
};

static int is_2xx(long status)
{
	return status >= 200 && status < 300;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;
	if (!x->res->status) {
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->res->status);
		x->streaming = x->rq->on_data && is_2xx(x->res->status);
		buf_init(&x->res->body, is_2xx(x->res->status) ? x->rq->body_cap : x->rq->error_cap);
	}
	x->last_rx_ms = clock_mono_ms();
	int rc;
	if (x->streaming) {
		rc = x->rq->on_data(x->rq->user_data, data, n);
	} else if (!is_2xx(x->res->status)) {
		/* An error body only matters for its message: keep its start, drop the rest. */
		struct buf *b = &x->res->body;
		size_t room = !b->cap ? n : b->cap > b->len ? b->cap - b->len : 0;
		rc = buf_append(b, data, n < room ? n : room);
	} else {
		rc = buf_append(&x->res->body, data, n);
	}
	if (rc) {
		x->cb_rc = rc;
		return 0;
	}
	return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct xfer *x = ud;
	int64_t now = clock_mono_ms();
	if (x->rq->cancel && *x->rq->cancel) {
		x->why = HTTP_FAIL_CANCEL;
		return 1;
	}
	if (dlnow > x->seen) {
		x->seen = dlnow;
		x->last_rx_ms = now;
	}
	if (!x->last_rx_ms) {
		if (x->rq->first_byte_ms > 0 && now - x->start_ms > x->rq->first_byte_ms) {
			x->why = HTTP_FAIL_FIRST_BYTE;
			return 1;
		}
	} else if (x->rq->idle_ms > 0 && now - x->last_rx_ms > x->rq->idle_ms) {
		x->why = HTTP_FAIL_IDLE;
		return 1;
	}
	return 0;
}

/* The code and sentence for a transfer that did not complete. */
static int failed(struct xfer *x, CURLcode cc, curl_off_t connect_us, const char *errbuf, struct err *err)
{
	const struct http_request *rq = x->rq;
	struct http_result *res = x->res;
	snprintf(res->detail, sizeof res->detail, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		res->fail = HTTP_FAIL_CONNECT;
		return err_set(err, DOSSIER_EUNAVAILABLE, "cannot connect to %s (%s)", rq->url, res->detail);
	case CURLE_OPERATION_TIMEDOUT:
		if (!connect_us) {
			res->fail = HTTP_FAIL_CONNECT;
			return err_set(err, DOSSIER_EUNAVAILABLE, "cannot connect to %s (%s)", rq->url, res->detail);
		}
		res->fail = HTTP_FAIL_TIMEOUT;
		return err_set(err, DOSSIER_ETIMEOUT, "%s timed out (%s)", rq->url, res->detail);
	case CURLE_ABORTED_BY_CALLBACK:
		res->fail = x->why ? x->why : HTTP_FAIL_CANCEL;
		if (res->fail == HTTP_FAIL_CANCEL)
			return err_set(err, DOSSIER_ECANCELLED, "the request to %s was cancelled", rq->url);
		if (res->fail == HTTP_FAIL_FIRST_BYTE)
			return err_set(err, DOSSIER_ETIMEOUT, "%s did not start answering within %d s", rq->url,
			               rq->first_byte_ms / 1000);
		return err_set(err, DOSSIER_ETIMEOUT, "%s went silent for %d s in the middle of its reply", rq->url,
		               rq->idle_ms / 1000);
	case CURLE_WRITE_ERROR: {
		res->fail = HTTP_FAIL_CALLBACK;
		int rc = x->cb_rc ? x->cb_rc : DOSSIER_EIO;
		if (err && err->code)
			return rc; /* the callback said why */
		if (rc == DOSSIER_ETOOBIG)
			return err_set(err, rc, "the reply of %s passed the %zu-byte cap", rq->url, rq->body_cap);
		return err_set(err, rc, "reading the reply of %s failed (%s)", rq->url, dossier_rc_name(rc));
	}
	default:
		res->fail = HTTP_FAIL_BROKEN;
		return err_set(err, DOSSIER_EAGAIN, "the connection to %s broke (%s)", rq->url, res->detail);
	}
}

int http_run(const struct http_request *rq, struct http_result *out, struct err *err)
{
	memset(out, 0, sizeof *out);
	buf_init(&out->body, rq->error_cap);
	struct xfer x = {.rq = rq, .res = out};
	x.h = curl_easy_init();
	if (!x.h) {
		out->fail = HTTP_FAIL_SETUP;
		return err_set(err, DOSSIER_ENOMEM, "cannot create an HTTP handle for %s", rq->url);
	}
	char ctype[160], errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdr = NULL;
	curl_mime *mime = NULL;
	if (rq->n_form) {
		/* libcurl writes the multipart Content-Type with its boundary */
		mime = curl_mime_init(x.h);
		for (size_t i = 0; i < rq->n_form; i++) {
			const struct http_form_part *fp = &rq->form[i];
			curl_mimepart *part = curl_mime_addpart(mime);
			curl_mime_name(part, fp->name);
			if (fp->file)
				curl_mime_filedata(part, fp->file);
			else
				curl_mime_data(part, fp->value ? fp->value : "", CURL_ZERO_TERMINATED);
			if (fp->filename)
				curl_mime_filename(part, fp->filename);
			if (fp->type)
				curl_mime_type(part, fp->type);
		}
		curl_easy_setopt(x.h, CURLOPT_MIMEPOST, mime);
	} else {
		snprintf(ctype, sizeof ctype, "Content-Type: %s", rq->content_type ? rq->content_type : "application/json");
		hdr = curl_slist_append(hdr, ctype);
	}
	hdr = curl_slist_append(hdr, "Expect:");
	if (rq->bearer && *rq->bearer) {
		char *auth = malloc(strlen(rq->bearer) + 32);
		if (auth) {
			sprintf(auth, "Authorization: Bearer %s", rq->bearer);
			hdr = curl_slist_append(hdr, auth); /* libcurl copies it */
			explicit_bzero(auth, strlen(auth));
			free(auth);
		}
	}
	curl_easy_setopt(x.h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(x.h, CURLOPT_URL, rq->url);
	curl_easy_setopt(x.h, CURLOPT_NOSIGNAL, 1L);
	if (rq->connect_timeout_ms > 0)
		curl_easy_setopt(x.h, CURLOPT_CONNECTTIMEOUT_MS, (long)rq->connect_timeout_ms);
	curl_easy_setopt(x.h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(x.h, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(x.h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(x.h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(x.h, CURLOPT_XFERINFODATA, &x);
	curl_easy_setopt(x.h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(x.h, CURLOPT_USERAGENT, "dossier");
	if (!rq->use_proxy)
		curl_easy_setopt(x.h, CURLOPT_NOPROXY, "*");
	if (rq->body && !rq->n_form) {
		curl_easy_setopt(x.h, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(x.h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
	}
	x.start_ms = clock_mono_ms();

	CURLcode cc = curl_easy_perform(x.h);
	if (!out->status)
		curl_easy_getinfo(x.h, CURLINFO_RESPONSE_CODE, &out->status);
	curl_off_t connect_us = 0;
	curl_easy_getinfo(x.h, CURLINFO_CONNECT_TIME_T, &connect_us);
	int rc = cc == CURLE_OK ? 0 : failed(&x, cc, connect_us, errbuf, err);
	curl_mime_free(mime);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(x.h);
	return rc;
}

void http_result_free(struct http_result *r)
{
	buf_free(&r->body);
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_rc;

static void global_init_once(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : DOSSIER_EUNAVAILABLE;
}

int http_global_init(void)
{
	pthread_once(&global_once, global_init_once);
	return global_rc;
}
