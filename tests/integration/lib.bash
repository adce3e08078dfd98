# lib.sh — shared by the integration tests: a private temp dir and database per
# test, checks that print what they assert, and a closing "N passed, N failed".
# Sourced, not run. Needs DOSSIER (the binary) from CTest's environment.
set -u
: "${DOSSIER:?run through ctest (DOSSIER is the binary under test)}"
T=$(mktemp -d "${TMPDIR:-/tmp}/dossier-it.XXXXXX")
export DOSSIER_DB="$T/db/dossier.db"
export XDG_CONFIG_HOME="$T/config" XDG_DATA_HOME="$T/data"
export NO_COLOR=1
unset DEV_MODE OLLAMA_HOST
PASS=0 FAIL=0
_cleanup_hooks=()
on_exit() { _cleanup_hooks+=("$1"); }
_finish() {
  for h in "${_cleanup_hooks[@]}"; do eval "$h" || true; done
  rm -rf "$T"
}
trap _finish EXIT

ok()   { PASS=$((PASS + 1)); echo "ok   - $*"; }
bad()  { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }
# check DESCRIPTION COMMAND... : passes when the command succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1 (expected '$2', got '$3')"; fi; }
# check_contains DESCRIPTION NEEDLE HAYSTACK
check_contains() { case "$3" in *"$2"*) ok "$1";; *) bad "$1 (no '$2' in: $(printf %s "$3" | head -c 600))";; esac; }
check_not_contains() { case "$3" in *"$2"*) bad "$1 (found '$2')";; *) ok "$1";; esac; }
# json EXPR FILE : evaluates a Python expression over the parsed JSON as `d`
json() { python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[2]))
print(eval(sys.argv[1]))
PY
}
# skip_all REASON : the whole test cannot run here; says so loudly and exits 77,
# which CTest counts as skipped (SKIP_RETURN_CODE), never as passed.
skip_all() {
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  echo "!! SKIPPED: $*"
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  exit 77
}
# start_stub NAME [FLAGS...] : starts the LLM test server ($OLLAMA_STUB) on a
# free port with FLAGS; sets URL_<NAME>; stopped when the test exits.
start_stub() { # start_stub NAME [flags] -> sets URL_<NAME>
  local name=$1; shift
  "$OLLAMA_STUB" --listen 127.0.0.1:0 "$@" > "$T/stub-$name.out" 2> "$T/stub-$name.err" &
  local pid=$!
  for _ in $(seq 1 100); do grep -q '^listening on' "$T/stub-$name.out" && break; sleep 0.05; done
  eval "URL_$name=http://$(sed -n 's/^listening on //p' "$T/stub-$name.out")"
  on_exit "kill $pid 2>/dev/null"
}
# data_dir_of [ARGS...] : the data directory dossier uses (frames/, uploads/,
# blobs/, ocr/), as `dossier config` reports it for these arguments.
data_dir_of() {
  "$DOSSIER" config --json "$@" | python3 -c 'import json,sys; print([s for s in json.load(sys.stdin)["settings"] if s["key"]=="data_dir"][0]["value"])'
}
done_testing() {
  echo "$PASS passed, $FAIL failed"
  [ "$FAIL" -eq 0 ]
}
