/*
 * err.h — dossier's one error vocabulary.
 *
 * Every function that can fail returns an int: 0 (DOSSIER_OK) on success, or one
 * of the DOSSIER_E* codes below. Where the file and the fix are known, it also
 * writes a human sentence into a caller-provided `struct err` (never allocates).
 *
 *   struct err e = {0};
 *   if (store_open(path, &st, &e) != 0)
 *       fprintf(stderr, "dossier: %s\n", e.msg);
 */
#ifndef DOSSIER_CORE_ERR_H
#define DOSSIER_CORE_ERR_H

#include <stddef.h>

enum dossier_rc {
	DOSSIER_OK = 0,
	DOSSIER_EINVAL,       /* bad argument or usage */
	DOSSIER_ENOMEM,       /* allocation failed */
	DOSSIER_EIO,          /* read/write failed (errno in the message) */
	DOSSIER_ENOTFOUND,    /* file, document, model or route does not exist */
	DOSSIER_EPERM,        /* permission denied */
	DOSSIER_EFORMAT,      /* input is malformed (corrupt file, bad JSON, bad GGUF) */
	DOSSIER_EUNSUPPORTED, /* a kind of input dossier does not handle */
	DOSSIER_ETOOBIG,      /* a named cap was exceeded */
	DOSSIER_EEMPTY,       /* input has no content (zero bytes, no text) */
	DOSSIER_EUNAVAILABLE, /* a service is unreachable: retry on a later run */
	DOSSIER_ETIMEOUT,     /* a deadline passed */
	DOSSIER_EAGAIN,       /* transient failure: the same call may succeed if retried */
	DOSSIER_EDB,          /* the database failed */
	DOSSIER_ECANCELLED,   /* aborted by the caller */
	DOSSIER_EMODEL,       /* the model is missing or cannot run (not pulled, OOM) */
	DOSSIER_ENOSPACE,     /* predicted memory exceeds the budget */
	DOSSIER_ESTALE,       /* a claim or lease is no longer ours (it expired; another worker took over) */
	DOSSIER_RC_COUNT
};

#define ERR_MSG_MAX 512

struct err {
	int code;               /* one of enum dossier_rc; 0 = no error */
	char msg[ERR_MSG_MAX];  /* human sentence naming the file and the fix */
};

/* Returns a stable lower-case name for a code ("io", "not_found", ...). Never NULL. */
const char *dossier_rc_name(int rc);

/*
 * Records code and a printf-style message in *err (err may be NULL) and returns
 * code, so a caller can write `return err_set(err, DOSSIER_EIO, "...")`.
 */
int err_set(struct err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefixes the existing message with a printf-style context ("a.txt: " + msg). */
void err_prefix(struct err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Clears *err (NULL is a no-op). */
void err_clear(struct err *err);

#endif
