/*
 * store_fixture.h — one temporary database per cmocka test, for the store's
 * unit tests: `db` names it. On SQLite (the default) it is a file under
 * $TMPDIR; setup removes what an earlier run left there, teardown removes it
 * with its -wal and -shm files. When DOSSIER_TEST_PG names a PostgreSQL
 * server (CTest's unit/<test>_pg entries, through tests/pg/server.sh run),
 * `db` is the URL of a new database on it, created by setup and dropped by
 * teardown: the same suite runs on both backends.
 *
 *   #define STORE_FIXTURE_NAME "search"
 *   #include "store_fixture.h"
 *   cmocka_unit_test_setup_teardown(a_test, setup, teardown)
 *
 * fixture_is_pg() tells a test which backend it runs on, for the few checks
 * that read SQLite's own files or plans.
 */
#ifndef DOSSIER_TESTS_STORE_FIXTURE_H
#define DOSSIER_TESTS_STORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/db.h"

static char db[512];
static char fixture_pg_db[64];  /* the database setup created on PG, "" on SQLite */

static const char *fixture_pg_url(void)
{
	const char *u = getenv("DOSSIER_TEST_PG");
	return u && *u ? u : NULL;
}

static inline int fixture_is_pg(void)
{
	return fixture_pg_url() != NULL;
}

/* DOSSIER_TEST_PG with its database name replaced by `name`. */
static void fixture_pg_url_for(const char *name, char *out, size_t n)
{
	const char *u = fixture_pg_url(), *q = strchr(u, '?');
	size_t end = q ? (size_t)(q - u) : strlen(u), slash = end;
	while (slash > 0 && u[slash - 1] != '/')
		slash--;
	snprintf(out, n, "%.*s%s%s", (int)slash, u, name, u + end);
}

static void fixture_pg_exec(const char *sql)
{
	struct dbl_conn *c = NULL;
	struct err e = {0};
	if (dbl_open_pg(fixture_pg_url(), &c, &e) || dbl_exec(c, sql, &e)) {
		fprintf(stderr, "store_fixture: %s: %s\n", sql, e.msg);
		dbl_close(c);
		abort();
	}
	dbl_close(c);
}

static void rm_db(void)
{
	char p[600];
	if (fixture_pg_db[0]) {
		snprintf(p, sizeof p, "DROP DATABASE IF EXISTS %s WITH (FORCE)", fixture_pg_db);
		fixture_pg_exec(p);
		return;
	}
	unlink(db);
	snprintf(p, sizeof p, "%s-wal", db);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", db);
	unlink(p);
}

static int setup(void **state)
{
	static int serial;
	if (fixture_is_pg()) {
		char sql[160];
		snprintf(fixture_pg_db, sizeof fixture_pg_db, "t_%s_%d_%d", STORE_FIXTURE_NAME, (int)getpid(), ++serial);
		for (char *p = fixture_pg_db; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
				*p = '_';
		rm_db();
		snprintf(sql, sizeof sql, "CREATE DATABASE %s", fixture_pg_db);
		fixture_pg_exec(sql);
		fixture_pg_url_for(fixture_pg_db, db, sizeof db);
		return 0;
	}
	const char *tmp = getenv("TMPDIR");
	snprintf(db, sizeof db, "%s/%s-%d-%p.db", tmp && *tmp ? tmp : "/tmp", STORE_FIXTURE_NAME, (int)getpid(),
	         (void *)state);
	rm_db();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rm_db();
	fixture_pg_db[0] = '\0';
	return 0;
}

#endif
