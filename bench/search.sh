#!/usr/bin/env bash
# bench/search.sh — search latency on an analysed database: the `dossier
# search` process, GET /api/search on a running `dossier serve`, and the same
# FTS5 query in the sqlite3 shell (the floor), over 50 queries (25 rare words,
# 25 common ones, taken from the index itself).
#
#   bench/search.sh [--build DIR] DB        (e.g. a database bench/scale.sh --keep left)
#
# Prints p50/p95 of wall time and mean CPU per query for each, and the ratios
# to the sqlite3 shell; no pass/fail.
set -euo pipefail
cd "$(dirname "$0")/.."
B=build
while [ $# -gt 0 ]; do
  case "$1" in
    --build) B=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) break ;;
  esac
done
DB=${1:?usage: bench/search.sh [--build DIR] DB}
[ -x "$B/dossier" ] || { echo "build first: cmake --build $B"; exit 2; }
command -v sqlite3 >/dev/null || { echo "needs the sqlite3 shell"; exit 2; }
T=$(mktemp -d "${TMPDIR:-/tmp}/search.XXXXXX")
trap 'kill $SRV 2>/dev/null || true; wait $SRV 2>/dev/null || true; rm -rf "$T"' EXIT
SRV=
# the server reads the same database (a copy, so its start-up recovery changes nothing)
cp "$DB" "$T/db"; [ -f "$DB-wal" ] && cp "$DB-wal" "$T/db-wal"
OMP_THREAD_LIMIT=1 "$B/dossier" serve --offline --db "$T/db" --listen 127.0.0.1:0 >"$T/serve.out" 2>&1 &
SRV=$!
python3 - "$B/dossier" "$T/db" "$T/serve.out" <<'PY'
import os, re, resource, sqlite3, subprocess, sys, time, urllib.request

dossier, db, serve_out = sys.argv[1:4]
con = sqlite3.connect(db)
con.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.v USING fts5vocab(main, dossier_fts, row)")
words = [w for (w,) in con.execute("SELECT term FROM temp.v WHERE term GLOB '[a-z]*' AND length(term) > 3"
                                   " ORDER BY doc DESC LIMIT 25")]
rare = [w for (w,) in con.execute("SELECT term FROM temp.v WHERE doc BETWEEN 2 AND 5 AND term GLOB '[a-z]*'"
                                  " AND length(term) > 4 LIMIT 25")]
con.close()
queries = rare + words
n_docs = sqlite3.connect(db).execute("SELECT count(*) FROM dossiers").fetchone()[0]

def child_cpu():
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime

def timed(run):
    walls, c0 = [], child_cpu()
    for q in queries:
        t = time.monotonic()
        run(q)
        walls.append(time.monotonic() - t)
    return sorted(walls), (child_cpu() - c0) / len(queries)

SQL = ("SELECT d.id, d.path, f.title, snippet(dossier_fts, -1, '[', ']', '…', 12), bm25(dossier_fts)"
       " FROM dossier_fts f JOIN documents d ON d.id = f.rowid WHERE dossier_fts MATCH '\"{}\"'"
       " ORDER BY bm25(dossier_fts) LIMIT 20")
res = {}
res["sqlite3 shell"] = timed(lambda q: subprocess.run(["sqlite3", db, SQL.format(q)], stdout=subprocess.DEVNULL))
res["dossier search"] = timed(lambda q: subprocess.run([dossier, "search", "--db", db, q],
                                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
port = None
for _ in range(100):
    m = re.search(r"127\.0\.0\.1:(\d+)", open(serve_out).read())
    if m:
        port = int(m.group(1))
        break
    time.sleep(0.1)
if port:
    def api(q):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/search?q={q}") as r:
            r.read()
    api(queries[0])
    walls = []
    for q in queries:
        t = time.monotonic()
        api(q)
        walls.append(time.monotonic() - t)
    res["GET /api/search"] = (sorted(walls), None)
else:
    print("(the server did not say its port: no API figures)")

def pct(v, p):
    return v[min(len(v) - 1, int(len(v) * p))]

base = res["sqlite3 shell"]
print(f"{n_docs} dossiers, {len(queries)} queries ({len(rare)} rare, {len(words)} common)")
print(f"{'':<16} {'p50 ms':>8} {'p95 ms':>8} {'CPU/query ms':>13} {'p50 x shell':>12} {'CPU x shell':>12}")
for k, (w, cpu) in res.items():
    cx = f"{cpu / base[1]:.1f}x" if cpu is not None and base[1] > 0 else "-"
    cs = f"{1000 * cpu:.1f}" if cpu is not None else "-"
    print(f"{k:<16} {1000 * pct(w, .5):>8.1f} {1000 * pct(w, .95):>8.1f} {cs:>13} "
          f"{pct(w, .5) / pct(base[0], .5):>11.1f}x {cx:>12}")
PY
