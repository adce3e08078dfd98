/*
 * store_fixture.h — one temporary database per cmocka test, for the store's
 * unit tests: `db` names it (under $TMPDIR), setup removes what an earlier run
 * left there, teardown removes it with its -wal and -shm files.
 *
 *   #define STORE_FIXTURE_NAME "search"
 *   #include "store_fixture.h"
 *   cmocka_unit_test_setup_teardown(a_test, setup, teardown)
 */
#ifndef DOSSIER_TESTS_STORE_FIXTURE_H
#define DOSSIER_TESTS_STORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char db[512];

static void rm_db(void)
{
	char p[600];
	unlink(db);
	snprintf(p, sizeof p, "%s-wal", db);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", db);
	unlink(p);
}

static int setup(void **state)
{
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
	return 0;
}

#endif
