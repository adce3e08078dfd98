# testlib.sh — helpers sourced by tests/integration/ollama_stub_*.sh.
#
#   start_stub NAME [flags...]   start ollama-stub, set $B (base URL) and $STUB_PID
#   stop_stub                    SIGTERM the last stub, wait, check exit 0 + empty stderr
#   req METHOD PATH [BODY|@FILE] one request: body in $TMP/body, $CODE, $CTYPE, $CURL_RC
#   py 'EXPR'                    python truth test on the last body:
#                                b = text, d = parsed JSON or None, lines = NDJSON objects
#   get PATH 'EXPR'              GET PATH and print the value of EXPR
#   check 'what' cmd...          count a pass/fail and print it
#   summary                      print "N passed, M failed" and exit non-zero on failures
set -u

STUB=${OLLAMA_STUB:-${BUILD_DIR:-build}/ollama-stub}
if [ ! -x "$STUB" ]; then
  echo "ollama-stub not found at $STUB (set OLLAMA_STUB or BUILD_DIR)" >&2
  exit 1
fi
# The distribution's python starts in a fraction of the time a pyenv shim takes.
PY=${PYTHON:-python3}
[ -x /usr/bin/python3 ] && [ -z "${PYTHON:-}" ] && PY=/usr/bin/python3
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ollama-stub-test.XXXXXX")
STUB_PIDS=()
BG_PIDS=()
cleanup() {
  for p in "${BG_PIDS[@]}" "${STUB_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

PASS=0
FAIL=0
check() {
  local what=$1
  shift
  if "$@"; then
    PASS=$((PASS + 1))
    echo "ok   - $what"
  else
    FAIL=$((FAIL + 1))
    echo "FAIL - $what (HTTP $CODE; body: $(head -c 300 "$TMP/body" 2>/dev/null))"
  fi
}
summary() {
  echo "$PASS passed, $FAIL failed"
  [ "$FAIL" -eq 0 ]
  exit $?
}

start_stub() {
  local name=$1
  shift
  STUB_NAME=$name
  "$STUB" "$@" --log "$TMP/$name.log" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  STUB_PID=$!
  STUB_PIDS+=("$STUB_PID")
  for _ in $(seq 200); do
    grep -q '^listening on ' "$TMP/$name.out" && break
    sleep 0.05
  done
  local line
  line=$(head -1 "$TMP/$name.out")
  case "$line" in
    "listening on 127.0.0.1:"[0-9]*) ;;
    *) echo "stub $name did not start: '$line' $(cat "$TMP/$name.err")" >&2; exit 1 ;;
  esac
  B="http://${line#listening on }"
}

# Also checks that the stub exits 0 on SIGTERM with nothing on stderr (so a
# sanitizer build's reports fail the test).
stop_stub() {
  kill "$STUB_PID" 2>/dev/null
  wait "$STUB_PID" 2>/dev/null
  STUB_RC=$?
  check "stub '$STUB_NAME' stopped on SIGTERM with exit 0 and an empty stderr" \
    test "$STUB_RC:$(head -c 2000 "$TMP/$STUB_NAME.err")" = "0:"
  [ -s "$TMP/$STUB_NAME.err" ] && head -40 "$TMP/$STUB_NAME.err"
  return 0
}

CODE=0
CTYPE=
CURL_RC=0
req() {
  local m=$1 p=$2
  shift 2
  local args=(-s -o "$TMP/body" -D "$TMP/hdr" -w '%{http_code}')
  if [ "$m" = HEAD ]; then args+=(-I); else args+=(-X "$m"); fi
  if [ $# -gt 0 ]; then args+=(--data-binary "$1"); fi
  CODE=$(curl "${args[@]}" "$B$p")
  CURL_RC=$?
  CTYPE=$(grep -i '^content-type:' "$TMP/hdr" | tail -1 | tr -d '\r' | cut -d' ' -f2-)
}

PY_PRELUDE='
import json, sys, re, time, datetime
b = open(sys.argv[1], encoding="utf-8", errors="replace").read()
try:
    d = json.loads(b)
except Exception:
    d = None
lines = []
for l in b.split("\n"):
    if l.strip():
        try:
            lines.append(json.loads(l))
        except Exception:
            lines.append(None)
def years_ahead(ts):
    return int(ts[:4]) - datetime.datetime.utcnow().year
def epoch(ts):
    t = re.sub(r"(\.\d{1,6})\d*", r"\1", ts).replace("Z", "+00:00")
    return datetime.datetime.fromisoformat(t).timestamp()
def secs_ahead(ts):
    return epoch(ts) - time.time()
'
py() {
  "$PY" -c "$PY_PRELUDE
sys.exit(0 if ($1) else 1)" "$TMP/body"
}
pyfile() { # FILE EXPR
  "$PY" -c "$PY_PRELUDE
sys.exit(0 if ($2) else 1)" "$1"
}
get() {
  curl -s "$B$1" >"$TMP/get"
  "$PY" -c "$PY_PRELUDE
print($2)" "$TMP/get"
}
# wait_for 'EXPR on GET PATH' PATH TIMEOUT_S: polls until the expression is true
wait_for() {
  local path=$1 expr=$2 secs=${3:-3}
  local end=$(($(date +%s%N) + secs * 1000000000))
  while [ "$(date +%s%N)" -lt "$end" ]; do
    curl -s "$B$path" >"$TMP/get"
    if pyfile "$TMP/get" "$expr"; then return 0; fi
    sleep 0.02
  done
  return 1
}
ms_now() { echo $(($(date +%s%N) / 1000000)); }
