#include "core/err.h"
#include "core/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const rc_names[DOSSIER_RC_COUNT] = {
	[DOSSIER_OK] = "ok",
	[DOSSIER_EINVAL] = "invalid",
	[DOSSIER_ENOMEM] = "no_memory",
	[DOSSIER_EIO] = "io",
	[DOSSIER_ENOTFOUND] = "not_found",
	[DOSSIER_EPERM] = "permission",
	[DOSSIER_EFORMAT] = "format",
	[DOSSIER_EUNSUPPORTED] = "unsupported",
	[DOSSIER_ETOOBIG] = "too_big",
	[DOSSIER_EEMPTY] = "empty",
	[DOSSIER_EUNAVAILABLE] = "unavailable",
	[DOSSIER_ETIMEOUT] = "timeout",
	[DOSSIER_EAGAIN] = "again",
	[DOSSIER_EDB] = "database",
	[DOSSIER_ECANCELLED] = "cancelled",
	[DOSSIER_EMODEL] = "model",
	[DOSSIER_ENOSPACE] = "over_budget",
	[DOSSIER_ESTALE] = "stale",
};

const char *dossier_rc_name(int rc)
{
	if (rc < 0 || rc >= DOSSIER_RC_COUNT || !rc_names[rc])
		return "unknown";
	return rc_names[rc];
}

/* A message names files, and file names are bytes: keep it valid UTF-8 (bytes
 * that are not are written \xNN), including where vsnprintf cut a character,
 * and without control characters that would drive a terminal. */
static void err_make_printable(struct err *err)
{
	int plain = utf8_valid(err->msg, strlen(err->msg));
	for (const unsigned char *p = (const unsigned char *)err->msg; plain && *p; p++)
		plain = *p >= 0x20 || *p == '\n' || *p == '\t';
	if (plain)
		return;
	char tmp[ERR_MSG_MAX];
	str_escape_into(err->msg, 1, tmp, sizeof tmp);
	memcpy(err->msg, tmp, sizeof tmp);
}

int err_set(struct err *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
		err_make_printable(err);
	}
	return code;
}

void err_prefix(struct err *err, const char *fmt, ...)
{
	char pre[ERR_MSG_MAX], old[ERR_MSG_MAX];
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof pre, fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof old);
	snprintf(err->msg, sizeof err->msg, "%s%s", pre, old);
	err_make_printable(err);
}

void err_clear(struct err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}
