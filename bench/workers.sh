#!/usr/bin/env bash
# bench/workers.sh — several `dossier worker`s on one PostgreSQL library, each
# with its own Ollama test server whose every reply takes a fixed time (so the
# LLM, not this machine's cores, is the bottleneck), and the store itself on
# PostgreSQL against SQLite.
#
#   bench/workers.sh [--build DIR] [--docs N] [--reply-ms MS] [--notes M] [--keep]
#        (defaults: 300 documents for the workers, 200 ms per reply, 10000 notes offline;
#         a quick run: --docs 60 --notes 1000)
#
# In one run, on a private PostgreSQL server (tests/pg/server.sh, stopped at exit):
#  1. 1, 2 and 3 workers (DOSSIER_HOST=m1..m3, each with its own ollama-stub
#     --reply-ms MS) on a fresh database holding N short notes queued with
#     `analyze --no-work`, timed from the first worker's start to the last one's
#     exit: documents per second, the speed-up against one worker, the floor
#     (the LLM requests x MS / workers) as the reference, loads and requests per
#     stub, steps per worker, the workers' and the server's CPU, the server's
#     deadlocks, each worker's first step and idle tail (from its --events);
#  2. claims per second the store sustains: bench_claim (lease, claim, release)
#     on PostgreSQL and on SQLite, one client and three at once;
#  3. the same M short notes analysed offline (`analyze --offline`) on SQLite and
#     on PostgreSQL: wall and CPU of dossier, CPU of the PostgreSQL server (its
#     processes' /proc times), documents done, deadlocks, ratio PG / SQLite.
# The load average (uptime) is printed before and after. Figures and ratios; no pass/fail.
set -euo pipefail
cd "$(dirname "$0")/.."
B=build DOCS=300 REPLY=200 NOTES=10000 KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build) B=$2; shift 2 ;;
    --docs) DOCS=$2; shift 2 ;;
    --reply-ms) REPLY=$2; shift 2 ;;
    --notes) NOTES=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/workers.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
for x in dossier ollama-stub bench_claim; do
  [ -x "$B/$x" ] || { echo "build first: cmake --build $B --target dossier ollama-stub bench_claim"; exit 2; }
done
"$B/ollama-stub" --help | grep -q -- --reply-ms || { echo "$B/ollama-stub has no --reply-ms: rebuild it"; exit 2; }
command -v psql >/dev/null || { echo "!! SKIPPED: no psql (install the Debian package postgresql-client)"; exit 77; }
export OMP_THREAD_LIMIT=1 DEV_MODE=1
T=$(mktemp -d "${TMPDIR:-/tmp}/workers.XXXXXX")
chmod 0755 "$T"
cleanup() {
  bash tests/pg/server.sh stop "$T/pg" >/dev/null 2>&1 || true
  [ "$KEEP" = 1 ] && echo "# work dir: $T (kept)" || rm -rf "$T"
}
trap cleanup EXIT
rc=0
PG_URL=$(bash tests/pg/server.sh start "$T/pg" 2>"$T/pg.err") || rc=$?
if [ "$rc" = 77 ]; then
  echo "!! SKIPPED: $(sed 's/^!! SKIPPED: //' "$T/pg.err")"
  exit 77
elif [ "$rc" != 0 ]; then
  echo "bench/workers.sh: could not start a PostgreSQL server:"; cat "$T/pg.err"; exit 1
fi
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(getconf _NPROCESSORS_ONLN) cores; before: $(uptime | sed 's/.*load average/load average/')"
python3 - "$B" "$T" "$PG_URL" "$(cat "$T/pg/dir")" "$DOCS" "$REPLY" "$NOTES" <<'PY'
import json, os, re, sqlite3, subprocess, sys, time, urllib.request

build, work, pg_url, pg_dir = sys.argv[1:5]
docs, reply_ms, notes = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
dossier, stub, bench_claim = (os.path.abspath(os.path.join(build, x)) for x in ("dossier", "ollama-stub", "bench_claim"))
TICK = os.sysconf("SC_CLK_TCK")

def log(msg):
    print("# " + msg, file=sys.stderr, flush=True)

def psql(url, q):
    return subprocess.run(["psql", url, "-qAtc", q], check=True, capture_output=True, text=True).stdout.strip()

def pg_db(name):
    psql(pg_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    psql(pg_url, f"CREATE DATABASE {name}")
    base, _, query = pg_url.partition("?")
    return base.rsplit("/", 1)[0] + "/" + name + ("?" + query if query else "")

def pg_cpu():
    """CPU seconds of the whole server so far: the postmaster, its live children,
    and the children it has reaped (a backend that ended counts in cutime)."""
    with open(os.path.join(pg_dir, "data", "postmaster.pid")) as f:
        pm = int(f.readline())
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fl = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(pid) == pm:
            total += sum(int(x) for x in fl[11:15])
        elif int(fl[1]) == pm:
            total += int(fl[11]) + int(fl[12])
    return total / TICK

def deadlocks():
    """'deadlock detected' errors in the server's log so far."""
    try:
        with open(os.path.join(pg_dir, "server.log"), errors="replace") as f:
            return sum(1 for l in f if "ERROR:  deadlock detected" in l)
    except OSError:
        return 0

def iso_s(t):
    """Seconds since the epoch of an event's "time" (2026-12-02T01:02:03.456Z)."""
    import calendar
    base, _, frac = t.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) + float("0." + (frac or "0"))

def gen_notes(d, n, seed):
    os.makedirs(d, exist_ok=True)
    for i in range(n):
        sub = os.path.join(d, f"{i // 1000:03d}")
        if i % 1000 == 0:
            os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, f"n{i:06d}.txt"), "w") as f:
            f.write(f"Note {i} from the harbour office, series {seed}. The tide rose {i * 7 % 300} cm and the"
                    f" pilot boat {(i * 2654435761) % 4294967296:x} waited by pier {i % 17}.\n")
    return d

def run(cmd, env=None, out=None):
    """Runs cmd; returns (wall, exit status, CPU of the child)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, env=env, stdout=out or subprocess.DEVNULL, stderr=subprocess.STDOUT)
    _, status, ru = os.wait4(p.pid, 0)
    return time.monotonic() - t0, status >> 8, ru.ru_utime + ru.ru_stime

def start_stub(name):
    out = open(os.path.join(work, f"stub-{name}.out"), "w+")
    p = subprocess.Popen([stub, "--listen", "127.0.0.1:0", "--reply-ms", str(reply_ms), "--unload-linger-ms", "50"],
                         stdout=out, stderr=subprocess.STDOUT)
    for _ in range(200):
        out.seek(0)
        m = re.search(r"^listening on (\S+)", out.read(), re.M)
        if m:
            return p, "http://" + m.group(1)
        time.sleep(0.05)
    raise SystemExit(f"bench/workers.sh: ollama-stub {name} did not start (see {out.name})")

def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)

# --- 1. workers -------------------------------------------------------------
folder = gen_notes(os.path.join(work, "queue"), docs, "w")
rows = []
for k in (1, 2, 3):
    db = pg_db(f"bench_workers_{k}")
    wall, st, _ = run([dossier, "analyze", "--no-work", "--quiet", "--db", db, folder],
                      out=open(os.path.join(work, f"ingest-{k}.out"), "w"))
    queued = int(psql(db, "SELECT count(*) FROM steps WHERE state = 'queued'"))
    log(f"{k} worker(s): {docs} notes queued ({queued} steps) in {wall:.1f} s, exit {st}")
    stubs = [start_stub(f"{k}-{i}") for i in range(1, k + 1)]
    c0, dl0 = pg_cpu(), deadlocks()
    procs = []
    t0, e0 = time.monotonic(), time.time()
    for i, (_, url) in enumerate(stubs, 1):
        env = dict(os.environ, DOSSIER_HOST=f"m{i}")
        out = open(os.path.join(work, f"worker-{k}-{i}.out"), "w")
        ev = os.path.join(work, f"worker-{k}-{i}.ndjson")
        procs.append((subprocess.Popen([dossier, "worker", "--until-idle", "--quiet", "--db", db, "--ollama", url,
                                        "--events", ev],
                                       env=env, stdout=out, stderr=subprocess.STDOUT), out.name))
    left, wcpu, statuses = {p.pid: (i, name) for i, (p, name) in enumerate(procs)}, 0.0, {}
    while left:
        pid, status, ru = os.wait4(-1, 0)
        if pid in left:
            statuses[left.pop(pid)[0]] = status >> 8
            wcpu += ru.ru_utime + ru.ru_stime
    wall, e1 = time.monotonic() - t0, time.time()
    time.sleep(0.3)  # the backends that ended are reaped by the postmaster
    pcpu, dls = pg_cpu() - c0, deadlocks() - dl0
    per, first, tail = [], [], []
    for i in range(1, k + 1):
        ts = []
        with open(os.path.join(work, f"worker-{k}-{i}.ndjson"), errors="replace") as f:
            for line in f:
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                if e.get("event") in ("step_started", "step_finished") and e.get("time"):
                    ts.append(iso_s(e["time"]))
        first.append(min(ts) - e0 if ts else None)
        tail.append(e1 - max(ts) if ts else None)
    for i, (_, name) in enumerate(procs):
        text = open(name).read()
        m = re.search(r"worker: (\d+) steps done", text)
        per.append(int(m.group(1)) if m else -1)
        if statuses[i] != 0 or not m:
            log(f"worker m{i + 1} exited {statuses[i]}: " + text.strip().replace("\n", " | ")[-300:])
    loads, reqs = [], []
    for p, url in stubs:
        s = get_json(url + "/_stub/stats")
        loads.append(sum(s["loads"].values()))
        reqs.append(sum(1 for r in get_json(url + "/_stub/requests")
                        if r["path"] in ("/api/chat", "/api/generate") and r.get("body")
                        and (r["body"].get("prompt") or r["body"].get("messages"))))
        p.terminate()
        p.wait()
    done = int(psql(db, "SELECT count(*) FROM documents WHERE status = 'done'"))
    rows.append(dict(k=k, wall=wall, done=done, per=per, loads=loads, reqs=reqs, wcpu=wcpu, pcpu=pcpu, dls=dls,
                     first=first, tail=tail))
    log(f"{k} worker(s): {done} of {docs} done in {wall:.1f} s; steps per worker {per}; LLM requests {reqs}")

print(f"\n== {docs} notes queued on PostgreSQL, 1-3 workers, each stub replying in {reply_ms} ms ==")
print(f"{'workers':>7} {'done':>5} {'wall s':>7} {'docs/s':>7} {'speed-up':>8} {'floor s':>7} {'x floor':>7}"
      f" {'LLM req':>8} {'loads/stub':>10} {'steps/worker':>14} {'worker CPU s':>12} {'PG CPU s':>8}"
      f" {'deadlocks':>9} {'1st step s':>14} {'idle tail s':>14}")
sec = lambda v: "/".join("-" if x is None else f"{x:.1f}" for x in v)
base = rows[0]["done"] / rows[0]["wall"] if rows[0]["wall"] else 0
for r in rows:
    rate = r["done"] / r["wall"] if r["wall"] else 0
    floor = sum(r["reqs"]) * reply_ms / 1000 / r["k"]
    print(f"{r['k']:>7} {r['done']:>5} {r['wall']:>7.1f} {rate:>7.2f} {rate / base if base else 0:>7.2f}x"
          f" {floor:>7.1f} {r['wall'] / floor if floor else 0:>6.2f}x {sum(r['reqs']):>8}"
          f" {'/'.join(map(str, r['loads'])):>10} {'/'.join(map(str, r['per'])):>14} {r['wcpu']:>12.1f}"
          f" {r['pcpu']:>8.1f} {r['dls']:>9} {sec(r['first']):>14} {sec(r['tail']):>14}")
print(f"(speed-up: docs/s against one worker, the goal is 2.7x or more with 3; floor: the LLM requests"
      f" x {reply_ms} ms / workers, the time the stubs alone need; theoretical floor N x reply / workers ="
      f" {docs * reply_ms / 1000:.1f} / {docs * reply_ms / 2000:.1f} / {docs * reply_ms / 3000:.1f} s;"
      f" deadlocks: 'deadlock detected' in the server's log; 1st step: from the first worker's start to each"
      f" worker's first step event; idle tail: from each worker's last step event to the last exit)")

# --- 2. claims per second -----------------------------------------------------
CLAIMS, QDOCS = min(1000, max(200, 3 * docs)), 2000
def claim_rate(db, clients):
    """(claims per second over all clients, p50 ms of one claim, claims that found a step, errors)."""
    t0 = time.monotonic()
    ps = [subprocess.Popen([bench_claim, db, str(CLAIMS)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
          for _ in range(clients)]
    outs = [p.communicate()[0] for p in ps]
    wall = time.monotonic() - t0
    p50s, found, errs = [], 0, []
    for p, o in zip(ps, outs):
        m = re.search(r"^claim\s+p50\s+([\d.]+) ms", o, re.M)
        f = re.search(r"found a step: (\d+)", o)
        if p.returncode or not m:
            errs.append(o.strip()[-200:])
            continue
        p50s.append(float(m.group(1)))
        found += int(f.group(1)) if f else 0
    done = CLAIMS * len(p50s)
    return done / wall, (sum(p50s) / len(p50s) if p50s else 0), found, errs

print(f"\n== claims per second: bench_claim ({CLAIMS} rounds of lease + pending + claim + release per client,"
      f" on a queue of {QDOCS} notes, half their first steps done) ==")
sq = os.path.join(work, "claim.db")
pgc = pg_db("bench_claim")
claims = {}
for name, db in (("SQLite", sq), ("PostgreSQL", pgc)):
    subprocess.run([bench_claim, "--generate", str(QDOCS), db, "1"], check=True, capture_output=True)
    for clients in (1, 3):
        d0 = deadlocks()
        claims[(name, clients)] = claim_rate(db, clients) + ((deadlocks() - d0) if name == "PostgreSQL" else 0,)
print(f"{'store':>10} {'clients':>7} {'rounds/s':>9} {'claim p50 ms':>12} {'found':>7} {'deadlocks':>9}")
for (name, clients), (rate, p50, found, errs, dls) in claims.items():
    print(f"{name:>10} {clients:>7} {rate:>9.0f} {p50:>12.3f} {found:>7} {dls:>9}" + (f"  errors: {errs}" if errs else ""))
for c in (1, 3):
    a, b = claims[("SQLite", c)][0], claims[("PostgreSQL", c)][0]
    if a and b:
        print(f"{c} client(s): PostgreSQL / SQLite rounds per second {b / a:.2f}x")
print("(a round is what a worker does to start a step, without its work: rounds/s is wall-clock over all clients;"
      " the claim's own latency is p50, the rest is the lease and the pending count)")

# --- 3. offline on SQLite and PostgreSQL -----------------------------------
folder = gen_notes(os.path.join(work, "offline"), notes, "o")
res = {}
for name in ("SQLite", "PostgreSQL"):
    db = os.path.join(work, "offline.db") if name == "SQLite" else pg_db("bench_offline")
    c0, d0 = pg_cpu(), deadlocks()
    wall, st, cpu = run([dossier, "analyze", "--offline", "--quiet", "--db", db, folder],
                        out=open(os.path.join(work, f"offline-{name}.out"), "w"))
    time.sleep(0.3)
    pcpu, dls = pg_cpu() - c0, deadlocks() - d0
    if name == "SQLite":
        con = sqlite3.connect(db)
        done = con.execute("SELECT count(*) FROM documents WHERE status = 'done'").fetchone()[0]
        con.close()
        pcpu = 0.0  # the server had nothing to do
    else:
        done = int(psql(db, "SELECT count(*) FROM documents WHERE status = 'done'"))
    res[name] = dict(wall=wall, st=st, cpu=cpu, pcpu=pcpu, done=done, dls=dls if name == "PostgreSQL" else 0)
    log(f"offline {name}: {done} of {notes} done, exit {st}, {wall:.1f} s")
print(f"\n== {notes} short notes, `analyze --offline`, SQLite and PostgreSQL ==")
print(f"{'store':>10} {'exit':>4} {'done':>6} {'wall s':>7} {'notes/s':>8} {'dossier CPU s':>13} {'PG CPU s':>8}"
      f" {'total CPU ms/note':>17} {'deadlocks':>9}")
for name, r in res.items():
    print(f"{name:>10} {r['st']:>4} {r['done']:>6} {r['wall']:>7.1f} {notes / r['wall']:>8.0f} {r['cpu']:>13.1f}"
          f" {r['pcpu']:>8.1f} {1000 * (r['cpu'] + r['pcpu']) / notes:>17.2f} {r['dls']:>9}")
a, b = res["SQLite"], res["PostgreSQL"]
print(f"PostgreSQL / SQLite: wall {b['wall'] / a['wall']:.2f}x, dossier CPU {b['cpu'] / a['cpu']:.2f}x,"
      f" dossier + server CPU {(b['cpu'] + b['pcpu']) / a['cpu']:.2f}x")
print("(done: documents whose status is done at the end, of those analysed; the server's deadlock_timeout is"
      " 100 ms (tests/pg/server.sh), PostgreSQL's default is 1 s)")
PY
echo "# after: $(uptime | sed 's/.*load average/load average/')"
