#!/usr/bin/env bash
# A bounded load test of `dossier serve` on loopback: 200 concurrent SSE
# clients stay connected while 1,000 API requests (uploads, lists, gets,
# searches, metrics, health) run 16 at a time. Checks: no failed request,
# every SSE client sees the uploads' events, the server's RSS returns near its
# baseline once the clients are gone. Prints the figures.
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/serve_lib.bash"
start_server load --offline --heartbeat 1 || { bad "server starts"; done_testing; exit 1; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$PID/status"; }
threads() { awk '/^Threads/ {print $2}' "/proc/$PID/status"; }

# warm up: one of each request, so caches and the store pool exist
printf 'Warm-up note about lapwings.\n' > "$T/warm.txt"
curl -s -F "file=@$T/warm.txt" "$URL/api/documents" >/dev/null
wait_doc "$URL" 1 >/dev/null
for p in /healthz /metrics /api/documents /api/documents/1 "/api/search?q=lapwings" /api/models; do curl -s "$URL$p" >/dev/null; done
sleep 1
base=$(rss_kb); base_threads=$(threads)

python3 - "$URL" "$T" "$PID" > "$T/load.txt" <<'PY'
import http.client, json, os, socket, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
url, tmp, pid = sys.argv[1], sys.argv[2], sys.argv[3]
host, port = url[len("http://"):].split(":")
port = int(port)
N_SSE, N_REQ = 200, 1000

def rss():
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS"):
            return int(l.split()[1])

# ---- 200 SSE clients, each on its own socket, counting the documents done
stop = threading.Event()
seen_done = [set() for _ in range(N_SSE)]
opened = [False] * N_SSE
errors = []
def sse(i):
    try:
        s = socket.create_connection((host, port), timeout=30)
        s.sendall(f"GET /api/events HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
        buf = b""
        s.settimeout(0.5)
        while not stop.is_set():
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                errors.append(f"sse {i}: closed by the server")
                break
            buf += chunk
            if b" 200 " in buf.split(b"\r\n", 1)[0]:
                opened[i] = True
            while b"\n\n" in buf:
                ev, buf = buf.split(b"\n\n", 1)
                for line in ev.split(b"\n"):
                    if line.startswith(b"data: ") and b'"event":"document_done"' in line:
                        seen_done[i].add(json.loads(line[6:])["document"])
        s.close()
    except Exception as e:
        errors.append(f"sse {i}: {e}")
ths = [threading.Thread(target=sse, args=(i,)) for i in range(N_SSE)]
t0 = time.monotonic()
for t in ths:
    t.start()
for _ in range(100):
    if all(opened):
        break
    time.sleep(0.1)
t_open = time.monotonic() - t0

# ---- 1,000 API requests, 16 at a time: a mix a page would make
def request(i):
    c = http.client.HTTPConnection(host, port, timeout=30)
    kind = i % 10
    try:
        if kind == 0:  # upload a new small note
            body = f"Field note {i}: whimbrels and godwits on the mudflats, count {i}.\n".encode()
            c.request("POST", "/api/documents", body, {"X-Filename": f"note{i}.txt", "Content-Type": "application/octet-stream"})
            want = (201,)
        elif kind == 1:
            c.request("GET", "/api/documents?limit=20&offset=0"); want = (200,)
        elif kind == 2:
            c.request("GET", "/api/documents/1"); want = (200,)
        elif kind == 3:
            c.request("GET", "/api/search?q=godwits&limit=10"); want = (200,)
        elif kind == 4:
            c.request("GET", "/metrics"); want = (200,)
        elif kind == 5:
            c.request("GET", "/api/models"); want = (200,)
        elif kind == 6:
            c.request("GET", "/"); want = (200,)
        elif kind == 7:
            c.request("GET", "/api/documents/999999"); want = (404,)
        else:
            c.request("GET", "/healthz"); want = (200,)
        r = c.getresponse()
        data = r.read()
        return (r.status in want, r.status, kind, data[:200])
    except Exception as e:
        return (False, str(e), kind, b"")
    finally:
        c.close()

peak = rss()
t1 = time.monotonic()
lat = []
with ThreadPoolExecutor(16) as ex:
    futs = [ex.submit(request, i) for i in range(N_REQ)]
    results = []
    for f in futs:
        results.append(f.result())
        peak = max(peak, rss())
t_req = time.monotonic() - t1
failed = [r for r in results if not r[0]]
uploads = sum(1 for r in results if r[2] == 0 and r[0])

# wait until every upload is done and every client saw it
t2 = time.monotonic()
while time.monotonic() - t2 < 60:
    if all(len(s) >= uploads for s in seen_done):
        break
    peak = max(peak, rss())
    time.sleep(0.2)
t_done = time.monotonic() - t2
peak = max(peak, rss())
stop.set()
for t in ths:
    t.join()
print(json.dumps({
    "sse_clients": N_SSE, "sse_opened": sum(opened), "sse_open_s": round(t_open, 2),
    "requests": N_REQ, "failed": len(failed), "failed_examples": [str(f[:2]) for f in failed[:5]],
    "requests_s": round(t_req, 2), "req_per_s": round(N_REQ / t_req, 1), "uploads": uploads,
    "clients_saw_all_done": sum(1 for s in seen_done if len(s) >= uploads), "settle_s": round(t_done, 2),
    "sse_errors": errors[:5], "n_sse_errors": len(errors), "peak_rss_kb": peak,
}))
PY
cat "$T/load.txt"
r() { json "d[\"$1\"]" "$T/load.txt"; }
check_eq "all 200 SSE clients connected" 200 "$(r sse_opened)"
check_eq "no failed API request (of 1000)" 0 "$(r failed)"
check_eq "no SSE client was cut off" 0 "$(r n_sse_errors)"
check_eq "every SSE client saw every upload's document_done" 200 "$(r clients_saw_all_done)"

# after the clients leave: their threads end (the heartbeat notices closed
# sockets within a second) and memory comes back
for _ in $(seq 50); do [ "$(threads)" -le $((base_threads + 2)) ] && break; sleep 0.2; done
sleep 1
after=$(rss_kb); after_threads=$(threads)
peak=$(r peak_rss_kb)
echo "figures: baseline RSS ${base} kB, peak ${peak} kB, after ${after} kB; threads ${base_threads} -> ${after_threads};" \
     "$(r requests) requests in $(r requests_s) s ($(r req_per_s)/s) with $(r sse_clients) SSE clients open;" \
     "$(r uploads) uploads done and seen by every client $(r settle_s) s later"
check "connection threads end when the clients leave ($base_threads -> $after_threads)" test "$after_threads" -le $((base_threads + 2))
if ldd "$DOSSIER" 2>/dev/null | grep -q libasan; then
  # AddressSanitizer keeps freed memory in quarantine (256 MB): RSS says nothing here
  echo "note: sanitizer build: RSS not compared with the baseline"
else
  check "RSS back near its baseline (${base} kB -> ${after} kB, peak ${peak} kB; allowed +24 MB)" test "$after" -le $((base + 24 * 1024))
fi
check_eq "the server still answers" 200 "$(code GET "$URL/healthz")"
stop_server "$PID"
check_eq "server stops cleanly after the load" 0 "$STOP_RC"
done_testing
