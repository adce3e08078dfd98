/*
 * mail.h — e-mail: one message (EML, message/rfc822) or a mailbox (mbox),
 * through GMime 3. A mailbox is streamed: GMime's parser reads one message at
 * a time from a file stream and each is released before the next.
 *
 *   json_t *r;
 *   if (mail_extract("minutes.eml", NULL, &r, &err) == 0) { ...; json_decref(r); }
 *
 * Thread safe (GMime is initialised once, on first use).
 */
#ifndef DOSSIER_MEDIA_MAIL_H
#define DOSSIER_MEDIA_MAIL_H

#include <stddef.h>

#include <jansson.h>

struct err;

struct mail_limits {
	size_t max_text;        /* text of all messages, bytes; 0 = CAP_TEXT */
	size_t max_messages;    /* messages read from a mailbox; 0 = 100000 */
	int max_depth;          /* MIME nesting followed; 0 = 32 */
	size_t max_attachments; /* attachments listed; 0 = 10000 */
	/* When save_dir and on_attachment are set, each attachment (and each
	 * forwarded message, as .eml) is decoded into a new file in save_dir and
	 * on_attachment is called with its name, that file (the callee's to keep
	 * or remove) and its size. A non-zero return stops the saving. */
	const char *save_dir;
	int (*on_attachment)(const char *name, const char *file, unsigned long long bytes, void *user);
	void *user;
	/* Without saving: when on_head is set, each attachment part is decoded
	 * (in memory, one at a time) and on_head is called with its name, its
	 * declared type and its first head_bytes (0 = 64 KiB) decoded bytes, so
	 * the caller can tell its kind by its content. */
	void (*on_head)(const char *name, const char *type, const void *head, size_t n, void *user);
	size_t head_bytes;
};

/* 1 if the file starts like an mbox: a "From sender date" line whose date
 * ends in a year, then a header line ("From:", "Subject:", ...). */
int mail_is_mbox(const char *path);

/*
 * Reads path (an mbox when mail_is_mbox says so, else one message). *out is
 * a new object (caller decrefs):
 *   {"format": "eml"|"mbox", "text": "...", "title"?: subject,
 *    "mail": {"from","to","cc","date","subject","message_id"} (the first message),
 *    "messages": n, "message_list"?: [{"subject","from","date","message_id"}] (mbox),
 *    "attachments": [{"name","size","type","message"}], "truncated": bool,
 *    "notes"?: ["MIME nesting deeper than 32 levels was not followed", ...],
 *    "engine": "gmime"}
 * The text of a message is its headers (From, To, Cc, Date; Subject only in
 * a mailbox, where it is not the title) and its
 * text/plain part, or its HTML part turned to text. Attachments are listed,
 * never decoded into the text. A malformed MIME tree gives what could be
 * read. Errors: DOSSIER_ENOTFOUND / DOSSIER_EPERM (cannot open),
 * DOSSIER_EFORMAT (no message could be read). lim may be NULL (defaults).
 */
int mail_extract(const char *path, const struct mail_limits *lim, json_t **out, struct err *err);

#endif
