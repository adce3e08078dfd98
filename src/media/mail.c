/*
 * mail.c — EML and mbox through GMime 3 (mail.h). The MIME tree is walked
 * with a depth bound; text parts are decoded (transfer encoding, then charset
 * to UTF-8) and attachments are only measured.
 */
#include "media/mail.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "core/buf.h"
#include "core/err.h"
#include "media/office.h"

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;
static void gmime_boot(void)
{
	g_mime_init();
}

int mail_is_mbox(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	char b[4096];
	size_t n = fread(b, 1, sizeof b - 1, f);
	fclose(f);
	b[n] = 0;
	if (n < 5 || memcmp(b, "From ", 5))
		return 0;
	/* "From sender Mon Jan  1 00:00:00 2024" then a header line: not prose
	 * that happens to start with "From " */
	char *eol = strchr(b, '\n');
	if (!eol)
		return 0;
	char *end = eol;
	while (end > b && (end[-1] == '\r' || end[-1] == ' '))
		end--;
	int digits = 0;
	for (char *p = end; p > b && p[-1] >= '0' && p[-1] <= '9' && digits < 5; p--)
		digits++;
	char *z = end; /* a trailing zone ("+0000") may follow the year */
	if (digits != 4) {
		while (z > b && z[-1] != ' ')
			z--;
		digits = 0;
		for (char *p = z - 1; p > b && p[-1] >= '0' && p[-1] <= '9' && digits < 5; p--)
			digits++;
	}
	if (digits != 4)
		return 0;
	const char *h = eol + 1;
	size_t k = 0;
	while (h[k] && (g_ascii_isalnum(h[k]) || h[k] == '-'))
		k++;
	return k > 0 && h[k] == ':';
}

struct walk {
	struct mail_limits lim;
	struct buf *text;
	json_t *attachments;
	json_t *notes;
	int deep_noted;
	size_t msg_index;
	char *plain;        /* the first text/plain body (owned, g_free) */
	char *html;         /* the first text/html body */
	int truncated;
	int save_stopped;   /* on_attachment asked to stop saving */
};

static void note(struct walk *w, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(w->notes, i, v)
		if (!strcmp(json_string_value(v), s))
			return;
	json_array_append_new(w->notes, json_string(s));
}

/* The decoded content of a part (transfer encoding undone, charset converted
 * to valid UTF-8), at most cap bytes; caller g_frees. */
static char *part_text(GMimePart *part, size_t cap, int *cut)
{
	GMimeDataWrapper *dw = g_mime_part_get_content(part);
	if (!dw)
		return g_strdup("");
	GMimeStream *mem = g_mime_stream_mem_new();
	GMimeStream *fs = g_mime_stream_filter_new(mem);
	const char *cs = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
	if (cs && g_ascii_strcasecmp(cs, "utf-8") && g_ascii_strcasecmp(cs, "us-ascii")) {
		GMimeFilter *f = g_mime_filter_charset_new(cs, "UTF-8");
		if (f) {
			g_mime_stream_filter_add(GMIME_STREAM_FILTER(fs), f);
			g_object_unref(f);
		}
	}
	g_mime_data_wrapper_write_to_stream(dw, fs);
	g_mime_stream_flush(fs);
	GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	size_t n = ba ? ba->len : 0;
	if (n > cap) {
		n = cap;
		*cut = 1;
	}
	char *s = g_utf8_make_valid(ba && ba->data ? (const char *)ba->data : "", (gssize)n);
	g_object_unref(fs);
	g_object_unref(mem);
	return s;
}

/* The decoded size of an attachment, counted without keeping it. */
static gint64 part_size(GMimePart *part)
{
	GMimeDataWrapper *dw = g_mime_part_get_content(part);
	if (!dw)
		return 0;
	GMimeStream *null = g_mime_stream_null_new();
	g_mime_data_wrapper_write_to_stream(dw, null);
	gint64 n = (gint64)GMIME_STREAM_NULL(null)->written;
	g_object_unref(null);
	return n;
}

/* Decodes an attachment in memory and hands its first bytes to on_head; its size. */
static gint64 part_head(struct walk *w, GMimePart *part, const char *name, const char *type)
{
	GMimeDataWrapper *dw = g_mime_part_get_content(part);
	if (!dw)
		return 0;
	GMimeStream *mem = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(dw, mem);
	GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	size_t n = ba ? ba->len : 0, cap = w->lim.head_bytes ? w->lim.head_bytes : 65536;
	w->lim.on_head(name, type, ba && ba->data ? ba->data : (const guint8 *)"", n < cap ? n : cap, w->lim.user);
	g_object_unref(mem);
	return (gint64)n;
}

static void walk_object(struct walk *w, GMimeObject *o, int depth);

/* Decodes attachment o into a new file of save_dir and hands it to
 * on_attachment; -1 if it could not be written, else its size. */
static gint64 save_attachment(struct walk *w, GMimeObject *o, const char *name)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/attachment-XXXXXX", w->lim.save_dir);
	int fd = mkstemp(path);
	if (fd < 0) {
		note(w, "attachments could not be saved (the data folder is not writable)");
		return -1;
	}
	GMimeStream *fs = g_mime_stream_fs_new(fd);  /* owns fd */
	gint64 n = -1;
	if (GMIME_IS_PART(o)) {
		GMimeDataWrapper *dw = g_mime_part_get_content(GMIME_PART(o));
		n = dw ? (gint64)g_mime_data_wrapper_write_to_stream(dw, fs) : 0;
	} else if (GMIME_IS_MESSAGE_PART(o)) {
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
		n = m ? (gint64)g_mime_object_write_to_stream(GMIME_OBJECT(m), NULL, fs) : 0;
	}
	g_mime_stream_flush(fs);
	g_object_unref(fs);
	if (n < 0) {
		unlink(path);
		note(w, "an attachment could not be decoded and was not saved");
		return -1;
	}
	if (w->lim.on_attachment(name, path, (unsigned long long)n, w->lim.user))
		w->save_stopped = 1;
	return n;
}

static void list_attachment(struct walk *w, GMimeObject *o, const char *name)
{
	if (json_array_size(w->attachments) >= w->lim.max_attachments) {
		note(w, "more attachments than the listing limit; the rest are not listed");
		return;
	}
	GMimeContentType *ct = g_mime_object_get_content_type(o);
	char *type = ct ? g_mime_content_type_get_mime_type(ct) : g_strdup("application/octet-stream");
	char *vname = g_utf8_make_valid(name ? name : "", -1);
	gint64 size = -1;
	if (w->lim.save_dir && w->lim.on_attachment && !w->save_stopped) {
		char fallback[64];
		snprintf(fallback, sizeof fallback, GMIME_IS_MESSAGE_PART(o) ? "message-%zu.eml" : "attachment-%zu",
		         json_array_size(w->attachments) + 1);
		char *save_name = *vname ? g_strdup(vname) : g_strdup(fallback);
		if (GMIME_IS_MESSAGE_PART(o) && !g_str_has_suffix(save_name, ".eml")) {
			char *t = g_strconcat(save_name, ".eml", NULL);
			g_free(save_name);
			save_name = t;
		}
		size = save_attachment(w, o, save_name);
		g_free(save_name);
	} else if (GMIME_IS_PART(o) && w->lim.on_head) {
		size = part_head(w, GMIME_PART(o), vname, type ? type : "");
	} else if (GMIME_IS_PART(o)) {
		size = part_size(GMIME_PART(o));
	}
	json_t *a = json_pack("{s:s,s:s}", "name", vname, "type", type ? type : "");
	if (size >= 0)
		json_object_set_new(a, "size", json_integer(size));
	json_object_set_new(a, "message", json_integer((json_int_t)w->msg_index));
	json_array_append_new(w->attachments, a);
	g_free(vname);
	g_free(type);
}

static void walk_object(struct walk *w, GMimeObject *o, int depth)
{
	if (!o)
		return;
	if (depth > w->lim.max_depth) {
		note(w, "MIME parts nested deeper than the depth limit were not read");
		return;
	}
	if (GMIME_IS_MULTIPART(o)) {
		int n = g_mime_multipart_get_count(GMIME_MULTIPART(o));
		const char *pro = g_mime_multipart_get_prologue(GMIME_MULTIPART(o));
		if (n == 0 && pro && *pro && !w->plain) {
			/* no boundary found: the body is all prologue; keep it as the text */
			w->plain = g_utf8_make_valid(pro, -1);
			note(w, "a multipart body without its boundary was read as plain text");
		}
		for (int i = 0; i < n && i < 10000; i++)
			walk_object(w, g_mime_multipart_get_part(GMIME_MULTIPART(o), i), depth + 1);
		return;
	}
	if (GMIME_IS_MESSAGE_PART(o)) {
		/* a forwarded message: an attachment */
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
		const char *subj = m ? g_mime_message_get_subject(m) : NULL;
		list_attachment(w, o, subj ? subj : "message.eml");
		return;
	}
	if (!GMIME_IS_PART(o))
		return;
	GMimePart *p = GMIME_PART(o);
	GMimeContentType *ct = g_mime_object_get_content_type(o);
	const char *fname = g_mime_part_get_filename(p);
	int is_att = g_mime_part_is_attachment(p) || (fname && *fname);
	int plain = ct && g_mime_content_type_is_type(ct, "text", "plain");
	int html = ct && g_mime_content_type_is_type(ct, "text", "html");
	if (!is_att && plain && !w->plain) {
		int cut = 0;
		w->plain = part_text(p, w->lim.max_text, &cut);
		w->truncated |= cut;
	} else if (!is_att && html && !w->html) {
		int cut = 0;
		w->html = part_text(p, w->lim.max_text * 4, &cut);
		w->truncated |= cut;
	} else if (is_att || !(plain || html)) {
		list_attachment(w, o, fname ? fname : "");
	}
}

static char *addr_list(InternetAddressList *l)
{
	if (!l || internet_address_list_length(l) == 0)
		return NULL;
	char *s = internet_address_list_to_string(l, NULL, FALSE);
	char *v = g_utf8_make_valid(s ? s : "", -1);
	g_free(s);
	return v;
}

static void set_str(json_t *o, const char *key, const char *v)
{
	if (v && *v) {
		char *s = g_utf8_make_valid(v, -1);
		json_object_set_new(o, key, json_string(s));
		g_free(s);
	}
}

/* Headers of m as an object {from,to,cc,date,subject,message_id}. */
static json_t *headers(GMimeMessage *m)
{
	json_t *h = json_object();
	char *from = addr_list(g_mime_message_get_from(m));
	char *to = addr_list(g_mime_message_get_to(m));
	char *cc = addr_list(g_mime_message_get_cc(m));
	set_str(h, "from", from);
	set_str(h, "to", to);
	set_str(h, "cc", cc);
	g_free(from), g_free(to), g_free(cc);
	GDateTime *dt = g_mime_message_get_date(m);
	if (dt) {
		char *iso = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S%:z");
		set_str(h, "date", iso);
		g_free(iso);
	}
	set_str(h, "subject", g_mime_message_get_subject(m));
	set_str(h, "message_id", g_mime_message_get_message_id(m));
	return h;
}

static void append_capped(struct walk *w, const char *in)
{
	/* CRLF line ends become LF */
	char *s = g_strdup(in), *d = s;
	for (const char *p = in; *p; p++)
		if (!(*p == '\r' && p[1] == '\n'))
			*d++ = *p;
	*d = 0;
	if (w->truncated && w->text->len >= w->lim.max_text) {
		g_free(s);
		return;
	}
	size_t n = strlen(s);
	if (buf_append(w->text, s, n)) {
		size_t room = w->lim.max_text > w->text->len ? w->lim.max_text - w->text->len : 0;
		while (room && ((unsigned char)s[room] & 0xC0) == 0x80)
			room--;
		buf_append(w->text, s, room);
		w->truncated = 1;
	}
	g_free(s);
}

static void message_text(struct walk *w, GMimeMessage *m, json_t *h, int with_subject)
{
	static const struct {
		const char *key, *label;
	} show[] = {{"from", "From"}, {"to", "To"}, {"cc", "Cc"}, {"date", "Date"}, {"subject", "Subject"}};
	if (w->text->len)
		append_capped(w, "\n\n");
	for (size_t i = 0; i < sizeof show / sizeof show[0]; i++) {
		const char *v = json_string_value(json_object_get(h, show[i].key));
		if (v && (with_subject || strcmp(show[i].key, "subject"))) {
			char line[1200];
			snprintf(line, sizeof line, "%s: %.1000s\n", show[i].label, v);
			append_capped(w, line);
		}
	}
	walk_object(w, g_mime_message_get_mime_part(m), 0);
	const char *body = w->plain;
	char *conv = NULL;
	if ((!body || !*body) && w->html) {
		office_html_to_text(w->html, strlen(w->html), w->lim.max_text, &conv, NULL);
		body = conv;
	}
	if (body && *body) {
		append_capped(w, "\n");
		append_capped(w, body);
	}
	free(conv);
	g_free(w->plain);
	g_free(w->html);
	w->plain = w->html = NULL;
}

int mail_extract(const char *path, const struct mail_limits *lim, json_t **out, struct err *err)
{
	*out = NULL;
	pthread_once(&gmime_once, gmime_boot);
	struct walk w = {0};
	if (lim)
		w.lim = *lim;
	if (!w.lim.max_text)
		w.lim.max_text = CAP_TEXT;
	if (!w.lim.max_messages)
		w.lim.max_messages = 100000;
	if (!w.lim.max_depth)
		w.lim.max_depth = 32;
	if (!w.lim.max_attachments)
		w.lim.max_attachments = 10000;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno == EACCES ? DOSSIER_EPERM : DOSSIER_ENOTFOUND, "%s: cannot open the file (%s)%s",
		               path, strerror(errno), errno == EACCES ? ": check its permissions" : "");
	int mbox = mail_is_mbox(path);
	GMimeStream *st = g_mime_stream_fs_new(fd); /* owns fd */
	GMimeParser *parser = g_mime_parser_new_with_stream(st);
	g_mime_parser_set_format(parser, mbox ? GMIME_FORMAT_MBOX : GMIME_FORMAT_MESSAGE);
	struct buf text;
	buf_init(&text, w.lim.max_text);
	w.text = &text;
	w.attachments = json_array();
	w.notes = json_array();
	json_t *first = NULL, *list = mbox ? json_array() : NULL;
	size_t n = 0;
	while (n < w.lim.max_messages && !(w.truncated && text.len >= w.lim.max_text)) {
		if (mbox && g_mime_parser_eos(parser))
			break;
		GMimeMessage *m = g_mime_parser_construct_message(parser, NULL);
		if (!m)
			break;
		w.msg_index = n;
		json_t *h = headers(m);
		message_text(&w, m, h, mbox); /* one message's subject is its title */
		if (!first)
			first = json_incref(h);
		if (list && json_array_size(list) < 10000)
			json_array_append(list, h);
		json_decref(h);
		g_object_unref(m);
		n++;
		if (!mbox)
			break;
	}
	if (mbox && n == w.lim.max_messages && !g_mime_parser_eos(parser))
		note(&w, "the mailbox has more messages than the limit; the rest were not read");
	g_object_unref(parser);
	g_object_unref(st);
	if (n == 0) {
		buf_free(&text);
		json_decref(w.attachments);
		json_decref(w.notes);
		json_decref(list);
		return err_set(err, DOSSIER_EFORMAT, "%s: no e-mail message could be read (%s): is it an e-mail file?",
		               path, mbox ? "an mbox without a readable message" : "no headers");
	}
	json_t *r = json_object();
	json_object_set_new(r, "format", json_string(mbox ? "mbox" : "eml"));
	char *t = buf_take(&text);
	json_t *js = json_string(t);
	json_object_set_new(r, "text", js ? js : json_string(""));
	free(t);
	if (!mbox && json_object_get(first, "subject"))
		json_object_set(r, "title", json_object_get(first, "subject"));
	if (!mbox)
		json_object_set(r, "mail", first);
	json_decref(first);
	json_object_set_new(r, "messages", json_integer((json_int_t)n));
	if (list)
		json_object_set_new(r, "message_list", list);
	json_object_set_new(r, "attachments", w.attachments);
	json_object_set_new(r, "truncated", json_boolean(w.truncated));
	if (json_array_size(w.notes))
		json_object_set_new(r, "notes", w.notes);
	else
		json_decref(w.notes);
	json_object_set_new(r, "engine", json_string("gmime"));
	*out = r;
	return 0;
}
