/*
 * multipart.h — a streaming multipart/form-data reader for uploads: fed the
 * body in whatever chunks it arrives in, it calls back at each part's start
 * (its name and file name) and with each part's bytes, and tells exactly what
 * is wrong with a form that cannot be read.
 *
 *   struct mp_callbacks cb = {.part = on_part, .data = on_data};
 *   mp *m;
 *   if (mp_new(content_type, &cb, user, &m)) reply 400 "no usable boundary";
 *   while (chunk) if ((e = mp_feed(m, chunk, n))) ...;   // sticky error
 *   e = mp_end(m);                                       // MP_E_UNCLOSED if cut short
 *   mp_free(m);
 *
 * Not a public header outside src/server/.
 */
#ifndef DOSSIER_SERVER_MULTIPART_H
#define DOSSIER_SERVER_MULTIPART_H

#include <stddef.h>

/* One part's header block, parts in one form, a file name's bytes. */
#define MP_HEADERS_MAX (8u * 1024u)
#define MP_PARTS_MAX 1000
#define MP_NAME_MAX 1024u
/* RFC 2046: a boundary is 1 to 70 characters. */
#define MP_BOUNDARY_MAX 70

enum mp_error {
	MP_OK,
	MP_E_HEADERS,   /* a part's header block passed MP_HEADERS_MAX */
	MP_E_NAME,      /* a file name passed MP_NAME_MAX */
	MP_E_PARTS,     /* more than MP_PARTS_MAX parts */
	MP_E_SYNTAX,    /* something other than a line break or "--" after a boundary */
	MP_E_UNCLOSED,  /* the body ended before the closing boundary */
	MP_E_NOPART,    /* the body never contains its boundary */
	MP_E_NOMEM,     /* out of memory */
	MP_E_CALLBACK,  /* a callback returned non-zero */
};

struct mp_callbacks {
	/* A part begins: its field name ("" if none) and file name (NULL if none;
	 * NUL-terminated, may hold any other byte). Both borrowed for the call.
	 * Non-zero stops the reader (MP_E_CALLBACK). */
	int (*part)(void *user, const char *name, const char *filename);
	/* Bytes of the current part, in order; borrowed. Non-zero stops. */
	int (*data)(void *user, const char *bytes, size_t n);
};

typedef struct mp mp;

/* A reader for a body of this Content-Type. -1 when it has no boundary
 * parameter of 1 to MP_BOUNDARY_MAX characters (or out of memory). cb and
 * user are borrowed and must outlive the reader; free it with mp_free. */
int mp_new(const char *content_type, const struct mp_callbacks *cb, void *user, mp **out);
/* Reads the next n bytes of the body. Returns MP_OK or an enum mp_error; once
 * an error is returned, it is returned again and nothing more is read. */
int mp_feed(mp *m, const char *data, size_t n);
/* The body has ended: MP_OK if the form was complete (closing boundary seen),
 * else the error (MP_E_UNCLOSED, MP_E_NOPART or an earlier one). */
int mp_end(mp *m);
/* A sentence for an error, for a 400 reply. Static. */
const char *mp_message(int error);
/* NULL is a no-op. */
void mp_free(mp *m);

#endif
