/*
 * sse.c — Server-Sent Events splitting (see sse.h).
 */
#include "backends/sse.h"
#include "core/err.h"

#include <stdio.h>
#include <string.h>

void sse_init(struct sse *s, size_t line_cap, size_t data_cap, sse_event_cb on_event, void *user_data)
{
	memset(s, 0, sizeof *s);
	buf_init(&s->line, line_cap);
	buf_init(&s->data, data_cap);
	s->on_event = on_event;
	s->user_data = user_data;
}

/* A blank line: deliver the event if it has data, then start a new one. */
static int dispatch(struct sse *s)
{
	int rc = 0;
	if (s->data.len) {
		s->data.data[--s->data.len] = '\0'; /* the "\n" after the last data line */
		struct sse_event ev = {.event = s->event[0] ? s->event : "message", .data = s->data.data,
		                       .len = s->data.len, .done = !strcmp(s->data.data, "[DONE]")};
		s->events++;
		rc = s->on_event ? s->on_event(s->user_data, &ev) : 0;
	}
	buf_reset(&s->data);
	s->event[0] = '\0';
	return rc;
}

/* One complete line (without its end). */
static int line(struct sse *s, const char *l, size_t len)
{
	if (!len)
		return dispatch(s);
	if (l[0] == ':')
		return 0; /* comment */
	const char *colon = memchr(l, ':', len);
	size_t flen = colon ? (size_t)(colon - l) : len;
	const char *v = colon ? colon + 1 : l + len;
	size_t vlen = (size_t)(l + len - v);
	if (vlen && *v == ' ') {
		v++;
		vlen--;
	}
	if (flen == 4 && !memcmp(l, "data", 4)) {
		int rc = buf_append(&s->data, v, vlen);
		if (!rc)
			rc = buf_append(&s->data, "\n", 1);
		return rc;
	}
	if (flen == 5 && !memcmp(l, "event", 5)) {
		snprintf(s->event, sizeof s->event, "%.*s", (int)vlen, v);
		return 0;
	}
	return 0; /* id, retry, unknown fields */
}

int sse_feed(struct sse *s, const char *data, size_t n)
{
	if (s->rc)
		return s->rc;
	for (size_t i = 0; i < n;) {
		if (s->after_cr) {
			s->after_cr = 0;
			if (data[i] == '\n') {
				i++;
				continue;
			}
		}
		size_t j = i;
		while (j < n && data[j] != '\n' && data[j] != '\r')
			j++;
		int rc = buf_append(&s->line, data + i, j - i);
		if (rc)
			return s->rc = rc;
		if (j == n)
			break;
		s->after_cr = data[j] == '\r';
		rc = line(s, s->line.data ? s->line.data : "", s->line.len);
		buf_reset(&s->line);
		if (rc)
			return s->rc = rc;
		i = j + 1;
	}
	return 0;
}

int sse_finish(struct sse *s)
{
	if (s->rc)
		return s->rc;
	buf_reset(&s->line);
	buf_reset(&s->data);
	s->event[0] = '\0';
	return 0;
}

void sse_free(struct sse *s)
{
	buf_free(&s->line);
	buf_free(&s->data);
}
