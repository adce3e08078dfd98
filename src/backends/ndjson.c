#include "backends/ndjson.h"
#include "core/err.h"

#include <string.h>

void ndjson_init(struct ndjson *nd, size_t line_cap, ndjson_line_cb on_line, void *user_data)
{
	buf_init(&nd->pending, line_cap);
	nd->on_line = on_line;
	nd->user_data = user_data;
	nd->lines = 0;
	nd->rc = 0;
}

/* Hands one line (without its "\n") to the callback; blank lines are dropped. */
static int deliver(struct ndjson *nd, char *line, size_t len)
{
	if (len && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	size_t i = 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == len)
		return 0;
	nd->lines++;
	return nd->on_line ? nd->on_line(nd->user_data, line, len) : 0;
}

int ndjson_feed(struct ndjson *nd, const char *data, size_t n)
{
	if (nd->rc)
		return nd->rc;
	while (n) {
		const char *nl = memchr(data, '\n', n);
		size_t take = nl ? (size_t)(nl - data) : n;
		/* Lines are gathered in `pending` even when whole inside one chunk, so
		 * the callback always gets a NUL-terminated copy and the cap is checked
		 * in one place. */
		int rc = buf_append(&nd->pending, data, take);
		if (rc)
			return nd->rc = rc;
		if (!nl)
			break;
		rc = deliver(nd, nd->pending.data ? nd->pending.data : (char[1]){0}, nd->pending.len);
		buf_reset(&nd->pending);
		if (rc)
			return nd->rc = rc;
		data = nl + 1;
		n -= take + 1;
	}
	return 0;
}

int ndjson_finish(struct ndjson *nd)
{
	if (nd->rc)
		return nd->rc;
	if (nd->pending.len) {
		int rc = deliver(nd, nd->pending.data, nd->pending.len);
		buf_reset(&nd->pending);
		if (rc)
			return nd->rc = rc;
	}
	return 0;
}

void ndjson_free(struct ndjson *nd)
{
	buf_free(&nd->pending);
}
