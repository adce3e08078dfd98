#!/usr/bin/env bash
# tests/pg/server.sh — a private PostgreSQL server for the tests.
#
#   tests/pg/server.sh start STATE   initdb + pg_ctl start into a new directory under
#                                    /tmp (or $PG_TEST_TMP), on a Unix socket only;
#                                    prints the connection URL, also kept in STATE/url
#   tests/pg/server.sh stop STATE    stops that server and removes its directory
#   tests/pg/server.sh down STATE    stops that server, keeping its data (a server outage)
#   tests/pg/server.sh up STATE      starts it again, at the same URL
#   tests/pg/server.sh run STATE CMD...
#                                    runs CMD with DOSSIER_TEST_PG set to the URL (and
#                                    DOSSIER_TEST_PG_CTL to "down"/"up" this server);
#                                    exits 77 (skipped) when no server was started
#   tests/pg/server.sh --help
#
# The binaries are the newest /usr/lib/postgresql/*/bin (or $PG_BINDIR); when
# there are none, start and run exit 77, which CTest counts as skipped. Run as
# root (as CI is), the server runs as the user `postgres` (or `nobody`), which
# owns its directory: PostgreSQL refuses to run as root. Authentication is
# `trust` over a socket only that user's directory holds; nothing listens on TCP.
set -euo pipefail

usage() { sed -n '2,20p' "$0"; }

skip() {
  echo "!! SKIPPED: $*" >&2
  exit 77
}

bindir() {
  local d best="" dirs
  if [ -n "${PG_BINDIR:-}" ]; then
    dirs=$PG_BINDIR
  else
    dirs=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V)
  fi
  for d in $dirs; do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ] && best=$d
  done
  echo "$best"
}

# as_owner CMD... : runs CMD as the server's owner (itself unless root)
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    if command -v runuser >/dev/null; then
      runuser -u "$OWNER" -- "$@"
    else
      setpriv --reuid="$OWNER" --regid="$(id -g "$OWNER")" --init-groups -- "$@"
    fi
  else
    "$@"
  fi
}

owner() {
  if [ "$(id -u)" != 0 ]; then
    id -un
  elif id -u postgres >/dev/null 2>&1; then
    echo postgres
  else
    echo nobody
  fi
}

cmd_stop() {
  local state=$1
  [ -f "$state/dir" ] || return 0
  local dir bin
  dir=$(cat "$state/dir")
  bin=$(cat "$state/bindir" 2>/dev/null || bindir)
  OWNER=$(cat "$state/owner" 2>/dev/null || owner)
  if [ -d "$dir/data" ] && [ -n "$bin" ]; then
    (cd / && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1) || true
  fi
  case "$dir" in */dossier-pg.*) rm -rf "$dir" ;; esac
  rm -f "$state/dir" "$state/url" "$state/bindir" "$state/owner"
}

cmd_start() {
  local state=$1 bin dir port=5432
  bin=$(bindir)
  [ -n "$bin" ] || skip "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (install the Debian package postgresql, or set PG_BINDIR)"
  mkdir -p "$state"
  cmd_stop "$state"  # a server an interrupted run left behind
  OWNER=$(owner)
  dir=$(mktemp -d "${PG_TEST_TMP:-/tmp}/dossier-pg.XXXXXX")
  chmod 0700 "$dir"
  [ "$(id -u)" = 0 ] && chown "$OWNER" "$dir"
  echo "$dir" > "$state/dir"
  echo "$bin" > "$state/bindir"
  echo "$OWNER" > "$state/owner"
  # the server's own directory is the working directory: the owner may not reach ours
  if ! (cd "$dir" && as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync \
          > "$dir/initdb.log" 2>&1); then
    echo "tests/pg/server.sh: initdb failed:" >&2
    tail -n 20 "$dir/initdb.log" >&2
    cmd_stop "$state"
    exit 1
  fi
  # a socket in the private directory only; durability is not what the tests are about
  as_owner tee -a "$dir/data/postgresql.conf" >/dev/null <<EOF
listen_addresses = ''
unix_socket_directories = '$dir'
port = $port
max_connections = 40
fsync = off
synchronous_commit = off
full_page_writes = off
deadlock_timeout = 100ms
EOF
  if ! (cd "$dir" && as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start > /dev/null 2>&1); then
    echo "tests/pg/server.sh: the server did not start:" >&2
    tail -n 20 "$dir/server.log" >&2 || true
    cmd_stop "$state"
    exit 1
  fi
  local url="postgresql:///postgres?host=$dir&port=$port&user=postgres"
  echo "$url" > "$state/url"
  echo "$url"
}

# pg_ctl_as_owner STATE ARGS... : pg_ctl on the server STATE names
pg_ctl_as_owner() {
  local state=$1 dir bin
  shift
  [ -f "$state/dir" ] || { echo "tests/pg/server.sh: no server in $state" >&2; exit 1; }
  dir=$(cat "$state/dir")
  bin=$(cat "$state/bindir")
  OWNER=$(cat "$state/owner")
  (cd "$dir" && as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 "$@" > /dev/null)
}

cmd_run() {
  local state=$1
  shift
  [ -n "$(bindir)" ] || skip "no PostgreSQL server binaries (install the Debian package postgresql)"
  [ -s "$state/url" ] || skip "no test server running (tests/pg/server.sh start $state did not run or failed)"
  DOSSIER_TEST_PG=$(cat "$state/url")
  DOSSIER_TEST_PG_CTL="bash $(cd "$(dirname "$0")" && pwd)/$(basename "$0") %s $(cd "$state" && pwd)"
  export DOSSIER_TEST_PG DOSSIER_TEST_PG_CTL
  exec "$@"
}

case "${1:-}" in
  start) [ $# = 2 ] || { usage >&2; exit 2; }; cmd_start "$2" ;;
  stop) [ $# = 2 ] || { usage >&2; exit 2; }; cmd_stop "$2" ;;
  down) [ $# = 2 ] || { usage >&2; exit 2; }; pg_ctl_as_owner "$2" -m fast stop ;;
  up) [ $# = 2 ] || { usage >&2; exit 2; }; pg_ctl_as_owner "$2" start ;;
  run) [ $# -ge 3 ] || { usage >&2; exit 2; }; shift; cmd_run "$@" ;;
  -h|--help) usage ;;
  *) usage >&2; exit 2 ;;
esac
