#!/usr/bin/env bash
# `dossier serve` against a web page on another site and a hostile network
# (issue 11), on loopback only (127.0.0.1), each server on its own free port:
#   - DNS rebinding: a Host that is not the server's own gets a JSON 421,
#     without a token and with one; --allow-host NAME lets a name in
#   - cross-site writes: Origin / Sec-Fetch-Site of another site → 403 on
#     POST and DELETE, nothing stored or deleted; the page's own origin works;
#     JSON, text/plain and unnamed raw bodies are not files
#   - connection exhaustion: 600 slow-loris clients (a header line every 5 s)
#     and 600 idle sockets; the page and the API still answer, and the server
#     closes the slow and the idle ones by itself
#   - stalled uploads (announce 1 MB, send 3 bytes) give their slots back
#   - errors are JSON and say what is wrong: 414, %ff, multipart faults,
#     a long file name; --listen [::ffff:127.0.0.1]:0 listens on 127.0.0.1
# Every loop is bounded; every socket is closed at the end.
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/serve_lib.bash"

port_of() { echo "${1##*:}"; }
# body METHOD URL [CURL ARGS...]: the reply body
body() { local m=$1 u=$2; shift 2; curl -s -X "$m" "$@" "$u"; }
is_json_error() { python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if isinstance(d.get("error"), str) else 1)' 2>/dev/null; }
doc_total() { curl -s "$1/api/documents" "${@:2}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])' 2>/dev/null; }

# ------------------------------------------------------------ DNS rebinding
export DOSSIER_DB="$T/rebind/dossier.db"
start_server rebind --offline || { bad "server starts"; done_testing; exit 1; }
P=$(port_of "$URL")
printf 'Kingfishers nested in the bank below the mill.\n' > "$T/kf.txt"
curl -s -F "file=@$T/kf.txt" "$URL/api/documents" > "$T/kf.json"
kf=$(json 'd["id"]' "$T/kf.json")
check_eq "rebinding: Host evil.example is refused (421)" 421 "$(code GET "$URL/api/documents" -H "Host: evil.example:$P")"
check_eq "rebinding: a dossier is not readable through another name" 421 "$(code GET "$URL/api/documents/$kf" -H "Host: evil.example:$P")"
check_eq "rebinding: DELETE through another name is refused" 421 "$(code DELETE "$URL/api/documents/$kf" -H "Host: evil.example:$P")"
check_eq "rebinding: ... and the document is still there" 200 "$(code GET "$URL/api/documents/$kf")"
check_eq "rebinding: the events stream is refused too" 421 "$(code GET "$URL/api/events" -H "Host: evil.example:$P" --max-time 3)"
out=$(body GET "$URL/api/documents" -H "Host: evil.example:$P")
check "rebinding: the refusal is JSON" is_json_error <<<"$out"
check_contains "rebinding: ... naming the address printed at start" "$URL" "$out"
check_contains "rebinding: ... and --token" "--token" "$out"
check_eq "Host 127.0.0.1:PORT is answered" 200 "$(code GET "$URL/api/documents" -H "Host: 127.0.0.1:$P")"
check_eq "Host localhost:PORT is answered" 200 "$(code GET "$URL/api/documents" -H "Host: localhost:$P")"
check_eq "Host 127.0.0.2:PORT (loopback) is answered" 200 "$(code GET "$URL/api/documents" -H "Host: 127.0.0.2:$P")"
check_eq "Host [::1]:PORT is answered" 200 "$(code GET "$URL/api/documents" -H "Host: [::1]:$P")"
check_eq "Host 127.0.0.1 on another port is refused" 421 "$(code GET "$URL/api/documents" -H "Host: 127.0.0.1:$((P == 65535 ? 1 : P + 1))")"
check_eq "Host localhost.evil.example is refused" 421 "$(code GET "$URL/api/documents" -H "Host: localhost.evil.example:$P")"
check_eq "a LAN address without a token is refused" 421 "$(code GET "$URL/api/documents" -H "Host: 192.168.1.20:$P")"
stop_server "$PID"

export DOSSIER_DB="$T/rebind_tok/dossier.db"
start_server tok --offline --token s3cret || { bad "server with a token starts"; done_testing; exit 1; }
P=$(port_of "$URL")
auth=(-H 'Authorization: Bearer s3cret')
check_eq "with a token: Host evil.example is still refused (421)" 421 "$(code GET "$URL/api/documents" "${auth[@]}" -H "Host: evil.example:$P")"
check_contains "with a token: ... the message names --allow-host" "--allow-host" "$(body GET "$URL/api/documents" "${auth[@]}" -H "Host: evil.example:$P")"
check_eq "with a token: a right Host still needs the token (401)" 401 "$(code GET "$URL/api/documents")"
check_eq "with a token: an IP address Host is answered" 200 "$(code GET "$URL/api/documents" "${auth[@]}" -H "Host: 192.168.1.20:$P")"
stop_server "$PID"
if start_server allow --offline --token s3cret --allow-host dossier.lan --allow-host proxy.lan:443; then
  P=$(port_of "$URL")
  check_eq "--allow-host NAME: that name is answered" 200 "$(code GET "$URL/api/documents" "${auth[@]}" -H "Host: dossier.lan:$P")"
  check_eq "--allow-host NAME: ... on any port" 200 "$(code GET "$URL/api/documents" "${auth[@]}" -H "Host: dossier.lan")"
  check_eq "--allow-host NAME:PORT: that port" 200 "$(code GET "$URL/api/documents" "${auth[@]}" -H "Host: proxy.lan:443")"
  check_eq "--allow-host NAME:PORT: not another" 421 "$(code GET "$URL/api/documents" "${auth[@]}" -H "Host: proxy.lan:8443")"
  check_eq "--allow-host: other names are still refused" 421 "$(code GET "$URL/api/documents" "${auth[@]}" -H "Host: evil.example:$P")"
  check_eq "--allow-host: the token is still required" 401 "$(code GET "$URL/api/documents" -H "Host: dossier.lan:$P")"
  stop_server "$PID"
else
  bad "a server with --allow-host starts"
fi

# ------------------------------------------------------------ cross-site writes
export DOSSIER_DB="$T/xsite/dossier.db"
start_server xsite --offline || { bad "server starts"; done_testing; exit 1; }
P=$(port_of "$URL")
printf 'Otters were seen below the footbridge twice in one week.\n' > "$T/otter.txt"
curl -s -F "file=@$T/otter.txt" "$URL/api/documents" > "$T/otter.json"
otter=$(json 'd["id"]' "$T/otter.json")
n0=$(doc_total "$URL")
printf 'A form post from another site.\n' > "$T/evil.txt"
check_eq "cross-site: a form upload with Origin http://evil.example is 403" 403 \
  "$(code POST "$URL/api/documents" -F "file=@$T/evil.txt" -H 'Origin: http://evil.example')"
check_eq "cross-site: a text/plain POST with a foreign Origin is 403" 403 \
  "$(code POST "$URL/api/documents" --data-binary 'hello from elsewhere' -H 'Content-Type: text/plain' -H 'Origin: http://evil.example')"
check_eq "cross-site: Sec-Fetch-Site: cross-site is 403 (no Origin)" 403 \
  "$(code POST "$URL/api/documents" -F "file=@$T/evil.txt" -H 'Sec-Fetch-Site: cross-site')"
check_eq "cross-site: Sec-Fetch-Site: same-site (another port) is 403" 403 \
  "$(code POST "$URL/api/documents" -F "file=@$T/evil.txt" -H 'Sec-Fetch-Site: same-site' -H "Origin: http://127.0.0.1:1")"
check_eq "cross-site: another port of 127.0.0.1 as Origin is 403" 403 \
  "$(code POST "$URL/api/documents" -F "file=@$T/evil.txt" -H "Origin: http://127.0.0.1:$((P == 65535 ? 1 : P + 1))")"
check_eq "cross-site: Origin null (a sandboxed page) is 403" 403 \
  "$(code POST "$URL/api/documents" -F "file=@$T/evil.txt" -H 'Origin: null')"
check_eq "cross-site: DELETE with a foreign Origin is 403" 403 "$(code DELETE "$URL/api/documents/$otter" -H 'Origin: http://evil.example')"
check_eq "cross-site: POST /api/search with a foreign Origin is 403" 403 \
  "$(code POST "$URL/api/search" -H 'Content-Type: application/json' --data-binary '{"q":"otters"}' -H 'Origin: http://evil.example')"
check "cross-site: the refusal is JSON" is_json_error <<<"$(body POST "$URL/api/documents" -F "file=@$T/evil.txt" -H 'Origin: http://evil.example')"
check_eq "cross-site: nothing was stored" "$n0" "$(doc_total "$URL")"
check_eq "cross-site: nothing was deleted" 200 "$(code GET "$URL/api/documents/$otter")"
check_eq "same origin (the page): an upload with Origin $URL is 201" 201 \
  "$(code POST "$URL/api/documents" -F "file=@$T/evil.txt" -H "Origin: $URL" -H 'Sec-Fetch-Site: same-origin')"
check_eq "same origin: a search POST works" 200 \
  "$(code POST "$URL/api/search" -H 'Content-Type: application/json' --data-binary '{"q":"otters"}' -H "Origin: $URL")"
check_eq "same origin: DELETE works" 204 "$(code DELETE "$URL/api/documents/$otter" -H "Origin: $URL" -H 'Sec-Fetch-Site: same-origin')"
n1=$(doc_total "$URL")
check_eq "a JSON body ({bad) is not a file: 415" 415 \
  "$(code POST "$URL/api/documents" -H 'Content-Type: application/json' --data-binary '{bad')"
check_eq "a text/plain raw body without X-Filename: 415" 415 \
  "$(code POST "$URL/api/documents" -H 'Content-Type: text/plain' --data-binary 'just words')"
check_eq "a raw body without a content type or X-Filename: 415" 415 \
  "$(code POST "$URL/api/documents" -H 'Content-Type:' --data-binary 'just words')"
check_eq "... none of them was stored" "$n1" "$(doc_total "$URL")"
check_eq "a raw body with X-Filename is still a file (201)" 201 \
  "$(code POST "$URL/api/documents" -H 'Content-Type: text/plain' -H 'X-Filename: words.txt' --data-binary 'just some words')"
check_eq "a raw body with a file content type is a file (201)" 201 \
  "$(code POST "$URL/api/documents" -H 'Content-Type: application/octet-stream' --data-binary 'more words, bytes really')"
stop_server "$PID"

# ------------------------------------------------------------ connection exhaustion
export DOSSIER_DB="$T/flood/dossier.db"
start_server flood --offline || { bad "server starts"; done_testing; exit 1; }
python3 - "$URL" > "$T/flood.json" <<'PY'
import http.client, json, select, socket, sys, time
url = sys.argv[1]
port = int(url.rsplit(":", 1)[1])
N_SLOW, N_IDLE, RUN_S = 600, 600, 26
slow, idle = [], []
closed_at = {}  # socket -> seconds after start when the server closed it
t0 = time.monotonic()
def now(): return time.monotonic() - t0
def connect():
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect(("127.0.0.1", port))
    except OSError:
        s.close(); return None
    s.setblocking(False)
    return s
for i in range(N_SLOW):
    s = connect()
    if s:
        try: s.send(f"GET /api/documents HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode())
        except OSError: pass
        slow.append(s)
for i in range(N_IDLE):
    s = connect()
    if s: idle.append(s)
opened = (len(slow), len(idle))

by_fd = {s.fileno(): s for s in slow + idle}
def poll_closed():
    p = select.poll()
    for s in slow + idle:
        if s not in closed_at:
            p.register(s, select.POLLIN)
    for fd, ev in p.poll(0):
        s = by_fd[fd]
        try: d = s.recv(4096)
        except (BlockingIOError, InterruptedError): continue
        except OSError: d = b""
        if not d: closed_at[s] = now()

def normal(path):
    t = time.monotonic()
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", path); r = c.getresponse(); r.read(); c.close()
        return r.status == 200, time.monotonic() - t
    except Exception:
        return False, time.monotonic() - t

rounds = []
next_line = 5.0
while now() < RUN_S:
    if not rounds or now() - rounds[-1]["t"] >= 6:
        res = [normal(p) for p in ["/", "/api/documents"] * 6]
        rounds.append({"t": round(now(), 1), "ok": sum(1 for a, _ in res if a),
                       "max_s": round(max(b for _, b in res), 2)})
    if now() >= next_line:  # one more header line from every slow client still there
        for s in slow:
            if s not in closed_at:
                try: s.send(b"X-Slow: keep-me-open\r\n")
                except OSError: closed_at[s] = now()
        next_line += 5.0
    poll_closed()
    time.sleep(0.2)
poll_closed()
slow_closed = [closed_at[s] for s in slow if s in closed_at]
idle_closed = [closed_at[s] for s in idle if s in closed_at]
for s in slow + idle: s.close()
print(json.dumps({
    "opened_slow": opened[0], "opened_idle": opened[1], "rounds": rounds,
    "normal_ok": sum(r["ok"] for r in rounds), "normal_total": 12 * len(rounds),
    "first_round_ok": rounds[0]["ok"] if rounds else 0,
    "slow_closed": len(slow_closed), "slow_closed_max_s": round(max(slow_closed), 1) if slow_closed else None,
    "idle_closed": len(idle_closed), "idle_closed_max_s": round(max(idle_closed), 1) if idle_closed else None,
}))
PY
cat "$T/flood.json"
check "flood: the flood script ran to its end" test -s "$T/flood.json"
[ -s "$T/flood.json" ] || echo '{"opened_slow":0,"opened_idle":0,"normal_ok":0,"normal_total":-1,"first_round_ok":0,"slow_closed":0,"idle_closed":0}' > "$T/flood.json"
f() { json "d[\"$1\"]" "$T/flood.json"; }
check_eq "flood: 600 slow-loris clients connected" 600 "$(f opened_slow)"
check_eq "flood: 600 idle sockets connected" 600 "$(f opened_idle)"
check_eq "flood: the page and /api/documents answer at once (12 of 12 in 5 s)" 12 "$(f first_round_ok)"
check_eq "flood: every normal request answered while the flood lasts ($(f normal_total))" "$(f normal_total)" "$(f normal_ok)"
check_eq "flood: the server closes every slow-loris client by itself (header deadline)" 600 "$(f slow_closed)"
check_eq "flood: the server closes every idle socket by itself" 600 "$(f idle_closed)"
check_eq "flood: the server still answers afterwards" 200 "$(code GET "$URL/healthz")"
ht=$(curl -s "$URL/metrics" | sed -n 's/^dossier_http_header_timeouts_total //p')
check "flood: /metrics counts the connections cut for slow headers (${ht:-none})" test "${ht:-0}" -ge 600
stop_server "$PID"
check_eq "flood: the server stops cleanly" 0 "$STOP_RC"

# ------------------------------------------------------------ stalled uploads
export DOSSIER_DB="$T/stall/dossier.db"
STALL_UP="$(data_dir_of)/uploads"
start_server stall --offline || { bad "server starts"; done_testing; exit 1; }
python3 - "$URL" > "$T/stall.json" <<'PY'
import http.client, json, socket, sys, time
url = sys.argv[1]
port = int(url.rsplit(":", 1)[1])
stalled = []
for i in range(8):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(f"POST /api/documents HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Filename: stall{i}.bin\r\n"
              f"Content-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\nabc".encode())
    stalled.append(s)
time.sleep(0.5)
def upload(i):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("POST", "/api/documents", f"Sand martins at the quarry, visit {i}.\n".encode(),
              {"X-Filename": f"martins{i}.txt", "Content-Type": "application/octet-stream"})
    r = c.getresponse(); r.read(); c.close()
    return r.status
t0 = time.monotonic()
first = upload(0)
ok_after = None
i = 1
while time.monotonic() - t0 < 40:
    st = upload(i); i += 1
    if st == 201:
        ok_after = round(time.monotonic() - t0, 1); break
    time.sleep(1)
for s in stalled: s.close()
print(json.dumps({"first": first, "ok_after_s": ok_after}))
PY
cat "$T/stall.json"
check_eq "stalled uploads: a 9th upload at once is 429" 429 "$(json 'd["first"]' "$T/stall.json")"
ok_after=$(json 'd["ok_after_s"]' "$T/stall.json")
check "stalled uploads: a normal upload succeeds within 20 s (after $ok_after s)" \
  python3 -c "import sys; v='$ok_after'; sys.exit(0 if v != 'None' and float(v) <= 20 else 1)"
check "stalled uploads: the uploads went to $STALL_UP" test -d "$STALL_UP"
check_eq "stalled uploads: no temp file left behind" "" "$(ls -A "$STALL_UP" | grep '^\.partial-')"
stop_server "$PID"

# ------------------------------------------------------------ errors are JSON and say what is wrong
export DOSSIER_DB="$T/errs/dossier.db"
start_server errs --offline || { bad "server starts"; done_testing; exit 1; }
python3 - "$URL" > "$T/errs.json" <<'PY'
import json, socket, sys
url = sys.argv[1]
port = int(url.rsplit(":", 1)[1])
def req(raw):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.sendall(raw)
    data = b""
    try:
        while True:
            c = s.recv(65536)
            if not c: break
            data += c
    except OSError: pass
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    try: err = json.loads(body).get("error")
    except Exception: err = None
    return {"status": status, "error": err, "body": body[:160].decode("latin-1")}
def get(target):
    return req(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n" % port)
B = b"Xq7boundary"
def form(body):
    return req(b"POST /api/documents HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
               b"Content-Type: multipart/form-data; boundary=%s\r\nContent-Length: %d\r\n\r\n" % (port, B, len(body)) + body)
def part(name, content, filename=None, extra=b""):
    fn = b'; filename="' + filename + b'"' if filename is not None else b""
    return b"--" + B + b'\r\nContent-Disposition: form-data; name="' + name + b'"' + fn + b"\r\n" + extra + b"\r\n" + content + b"\r\n"
end = b"--" + B + b"--\r\n"
out = {
    "q414": get(b"/api/documents?q=" + b"a" * 100000),
    "ff": get(b"/api/nope%ff"),
    "unclosed": form(part(b"file", b"a file that never ends", b"a.txt")[:-2]),
    "bighdr": form(part(b"file", b"hello", b"a.txt", b"X-Pad: " + b"p" * 60000 + b"\r\n") + end),
    "parts": form(b"".join(part(b"f%d" % i, b"v") for i in range(10000)) + part(b"file", b"hello", b"a.txt") + end),
    "longname": form(part(b"file", b"hello", b"n" * 70000 + b".txt") + end),
    "noboundary": req(b"POST /api/documents HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
                      b"Content-Type: multipart/form-data\r\nContent-Length: 5\r\n\r\nhello" % port),
    "good": form(part(b"file", b"Ospreys fished the lake at dawn.\n", b"osprey.txt") + end),
}
print(json.dumps(out))
PY
e() { json "d[\"$1\"][\"$2\"]" "$T/errs.json"; }
check_eq "a 100 KB query string: 414" 414 "$(e q414 status)"
check_contains "... as JSON, saying the URI is too long" "request URI is" "$(e q414 error)"
check_eq "GET /api/nope%ff: 404" 404 "$(e ff status)"
check_contains "... as JSON naming the route, not 'out of memory'" "no route GET /api/nope" "$(e ff error)"
check_eq "an unclosed multipart body: 400" 400 "$(e unclosed status)"
check_contains "... 'ends before its closing boundary'" "ends before its closing boundary" "$(e unclosed error)"
check_eq "60 KB of part headers: 400" 400 "$(e bighdr status)"
check_contains "... 'headers longer than'" "headers longer than" "$(e bighdr error)"
check_eq "10,000 parts: 400" 400 "$(e parts status)"
check_contains "... 'more than 1000 parts'" "more than 1000 parts" "$(e parts error)"
check_eq "a 70 KB file name: 400" 400 "$(e longname status)"
check_contains "... 'file name too long'" "file name too long" "$(e longname error)"
check_contains "a multipart Content-Type without a boundary says so" "no usable boundary" "$(e noboundary error)"
check_eq "a well-formed form is still stored (201)" 201 "$(e good status)"
check_eq "the unclosed upload was not stored (1 document)" 1 "$(doc_total "$URL")"
stop_server "$PID"

export DOSSIER_DB="$T/mapped/dossier.db"
"$DOSSIER" serve --offline --listen '[::ffff:127.0.0.1]:0' >"$T/mapped.out" 2>"$T/mapped.err" &
MPID=$!
on_exit "kill $MPID 2>/dev/null"
MURL=""
for _ in $(seq 100); do
  MURL=$(sed -n 's/^listening on //p' "$T/mapped.out"); [ -n "$MURL" ] && break
  kill -0 "$MPID" 2>/dev/null || break; sleep 0.05
done
if [ -n "$MURL" ]; then
  check_eq "--listen [::ffff:127.0.0.1]:0 listens on 127.0.0.1" "http://127.0.0.1:" "${MURL%:*}:"
  check_eq "... and answers there" 200 "$(code GET "$MURL/api/documents")"
  stop_server "$MPID"
  check_eq "... and stops cleanly" 0 "$STOP_RC"
else
  wait "$MPID"
  bad "--listen [::ffff:127.0.0.1]:0 starts as loopback (it said: $(cat "$T/mapped.err"))"
fi
done_testing
