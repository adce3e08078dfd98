# pg_lib.bash — for the integration tests on PostgreSQL, sourced after lib.bash.
# The server is the one DOSSIER_TEST_PG names, else the one CTest's fixture `pg`
# started (tests/pg/server.sh keeps its URL in $BUILD_DIR/pg/url); without
# either the test is skipped (77), never passed.
PG_URL=${DOSSIER_TEST_PG:-}
if [ -z "$PG_URL" ] && [ -s "${BUILD_DIR:-}/pg/url" ]; then PG_URL=$(cat "$BUILD_DIR/pg/url"); fi
[ -n "$PG_URL" ] || skip_all "no PostgreSQL server (run through ctest, whose fixture pg starts one; or set DOSSIER_TEST_PG)"
command -v psql >/dev/null || skip_all "no psql (install the Debian package postgresql-client)"
PG_STATE=${BUILD_DIR:-}/pg
# pg_db NAME : creates a new database NAME (dropped when the test exits) and
# prints its URL
pg_db() {
  local name=$1
  psql "$PG_URL" -qAtc "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null 2>&1
  psql "$PG_URL" -qAtc "CREATE DATABASE $name" >/dev/null || return 1
  on_exit "psql '$PG_URL' -qAtc 'DROP DATABASE IF EXISTS $name WITH (FORCE)' >/dev/null 2>&1"
  local base=${PG_URL%%\?*} query=
  case "$PG_URL" in *\?*) query="?${PG_URL#*\?}" ;; esac
  echo "${base%/*}/$name$query"
}
# sql URL QUERY : one value (or rows, |-separated)
sql() { psql "$1" -qAtc "$2"; }
