/*
 * upload_record.c — what the store makes of an upload once its file is in
 * <data dir>/uploads (upload_record in internal.h): ingested like any file
 * the CLI is given, named as the client named it, the scheduler woken. Apart
 * from upload.c, so that a fuzz target can drive the request path without
 * the pipeline behind it.
 */
#include "server/internal.h"
#include "core/err.h"
#include "pipeline/ingest.h"

#include <string.h>

int upload_record(server *s, const char *path, const char *filename, int named, struct doc_rec *d, int *queued,
                  int *unsupported, struct err *err)
{
	struct ingest_stats stats = {0};
	int64_t id = 0;
	memset(d, 0, sizeof *d);
	*queued = *unsupported = 0;
	store *st = pool_get(s, err);
	if (!st)
		return err && err->code ? err->code : DOSSIER_EDB;
	pthread_mutex_lock(&s->ingest_mu);
	int rc = ingest_file(st, s->cls, s->p.bus, path, &stats, &id, err);
	pthread_mutex_unlock(&s->ingest_mu);
	if (rc == 0 && id > 0)
		rc = store_doc_get(st, id, d, err);
	else if (rc == 0) /* recorded without steps (unsupported, failed): found by its path */
		rc = store_doc_by_path(st, path, d, err);
	/* the name the client gave: other browsers show it instead of the hash
	 * path. The first name a content arrived with stays. */
	if (rc == 0 && named && !d->name && store_doc_set_name(st, d->id, filename, NULL) == 0)
		d->name = xstrdup(filename);
	pool_put(s, st);
	if (rc)
		return rc;
	if (s->p.sched)
		sched_notify(s->p.sched);
	*queued = stats.queued > 0;
	*unsupported = stats.unsupported > 0;
	return 0;
}
