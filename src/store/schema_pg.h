/*
 * schema_pg.h — the store's schema on PostgreSQL (internal to src/store/):
 * the same tables, columns, indexes and trigger effects as SQLite's schema
 * (store.c's migrations[]), so that the same statements run on both
 * backends. docs/schema.md, "On PostgreSQL", says what differs.
 */
#ifndef DOSSIER_STORE_SCHEMA_PG_H
#define DOSSIER_STORE_SCHEMA_PG_H

#include "store/db.h"
/* The PostgreSQL migrations, index-aligned with SQLite's: entry 0 creates the whole schema as SQLite has it at version STORE_PG_BASE_VERSION; entries 1 .. STORE_PG_BASE_VERSION-1 are empty ({NULL, NULL}) so that version numbers mean the same on both backends. */
#define STORE_PG_BASE_VERSION 10
extern const struct dbl_migration store_pg_migrations[STORE_PG_BASE_VERSION];

#endif
