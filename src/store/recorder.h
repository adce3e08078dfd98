/*
 * recorder.h — writes every event published on a bus into the store's events
 * table (for `/api/events` resumption and post-mortems), from its own thread
 * with its own connection, in batches. It never slows a publisher: if it
 * falls behind it is dropped like any subscriber, and says so on stop.
 */
#ifndef DOSSIER_STORE_RECORDER_H
#define DOSSIER_STORE_RECORDER_H

#include "core/event.h"

struct err;
typedef struct recorder recorder;

/* A new event bus whose seq numbers are reserved from the database at db_path
 * in blocks (store_event_reserve), so a CLI run and a server sharing the
 * database never reuse a number. Caller frees with bus_free. */
int event_bus_open(const char *db_path, bus **out, struct err *err);

/* Caller stops and frees with recorder_stop. */
int recorder_start(bus *b, const char *db_path, recorder **out, struct err *err);
/* Drains what was published before the call, then frees. *dropped_out (may be NULL) = 1
 * if the recorder fell behind. NULL is a no-op. */
void recorder_stop(recorder *r, int *dropped_out);

#endif
