# serve_lib.bash — starting and stopping `dossier serve` for the serve_*.sh
# tests. Sourced after lib.bash. Each server listens on 127.0.0.1 port 0 (a free
# port the kernel picks; the server prints which), so tests never race for one.

# start_server NAME [ARGS...]: starts a server, sets URL and PID (and
# URL_<NAME>, PID_<NAME>); its output goes to $T/NAME.out and $T/NAME.err.
start_server() {
  local name=$1; shift
  "$DOSSIER" serve --listen 127.0.0.1:0 "$@" >"$T/$name.out" 2>"$T/$name.err" &
  PID=$!
  on_exit "kill $PID 2>/dev/null; wait $PID 2>/dev/null"
  URL=""
  for _ in $(seq 200); do
    URL=$(sed -n 's/^listening on //p' "$T/$name.out")
    [ -n "$URL" ] && break
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$URL" ]; then
    echo "server $name did not start:"; cat "$T/$name.err"
    return 1
  fi
  printf -v "URL_$name" %s "$URL"
  printf -v "PID_$name" %s "$PID"
}

# stop_server PID: SIGTERM, then waits; sets STOP_RC to the exit status.
# (Not in $(...): a subshell cannot wait for the server.)
# A server still running 30 s later is shown (gdb backtraces when gdb is
# installed) and killed, and STOP_RC is then 137.
stop_server() {
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq 300); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$1" 2>/dev/null; then
    echo "server $1 did not stop within 30 s of SIGTERM"
    command -v gdb >/dev/null && gdb -p "$1" -batch -ex 'thread apply all bt 12' 2>/dev/null | grep -E '^Thread|^#'
    kill -KILL "$1" 2>/dev/null
  fi
  wait "$1"
  STOP_RC=$?
}

# wait_doc URL ID: waits (30 s at most) until the document has a dossier;
# prints its status.
wait_doc() {
  local st=""
  for _ in $(seq 300); do
    st=$(curl -s "$1/api/documents/$2" | python3 -c '
import json,sys
d=json.load(sys.stdin)
print(d["status"] if "dossier_version" in d else "")' 2>/dev/null)
    [ -n "$st" ] && break
    sleep 0.1
  done
  echo "$st"
}

# code METHOD URL [CURL ARGS...]: prints the HTTP status only.
code() { local m=$1 u=$2; shift 2; curl -s -o /dev/null -w '%{http_code}' -X "$m" "$@" "$u"; }
