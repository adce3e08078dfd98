#!/usr/bin/env bash
# bench/scale.sh — cost per note as the folder grows: `dossier analyze --offline`
# on generated Markdown notes (distinct texts, 1–3 KB each), against the floor
# of "index only" (the same texts bulk-inserted into an FTS5 table with the
# same tokenizer by python3's sqlite3).
#
#   bench/scale.sh [--build DIR] [--keep] [SIZES...]     (default sizes: 1000 10000)
#
# For each size: ingest rate, analysis rate (notes per CPU second and per wall
# second; the split between ingest and analysis is the CPU time of the process
# when its first step starts), claim latency p50/p95 (bench_claim on a queue of
# that many documents, half of their first steps done), peak RSS, database size;
# then the ratio of CPU per note at the largest size to the smallest. Peak
# RSS is the analyze process's own VmHWM (the rusage's maxrss would include
# this script's memory, inherited through fork and exec).
# Prints figures and ratios; no pass/fail.
set -euo pipefail
cd "$(dirname "$0")/.."
B=build KEEP=0 SIZES=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) B=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) SIZES+=("$1"); shift ;;
  esac
done
[ ${#SIZES[@]} -gt 0 ] || SIZES=(1000 10000)
[ -x "$B/dossier" ] || { echo "build first: cmake --build $B"; exit 2; }
export OMP_THREAD_LIMIT=1
T=$(mktemp -d "${TMPDIR:-/tmp}/scale.XXXXXX")
[ "$KEEP" = 1 ] && echo "# work dir: $T (kept)" || trap 'rm -rf "$T"' EXIT

python3 - "$B" "$T" "${SIZES[@]}" <<'PY'
import os, random, sqlite3, subprocess, sys, time

build, work, sizes = sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3:]]
dossier = os.path.join(build, "dossier")
bench_claim = os.path.join(build, "bench_claim")
TICK = os.sysconf("SC_CLK_TCK")

# a vocabulary of plausible words, then notes made of sentences drawn from it
rng = random.Random(20261201)
syll = ["ka", "lo", "mi", "ren", "tor", "va", "sel", "dun", "ar", "bel", "cor", "fen", "gal", "hin", "is",
        "jor", "ket", "lum", "mor", "nes", "ost", "pra", "quin", "ril", "sta", "tem", "ul", "ver", "wen", "yal"]
common = ("the of and to in is that for it as was with be by on not he this are or his from at which but have an "
          "they you were their one all we can her has there been if more when will would who so no garden river "
          "meeting report budget water school project notes weather harvest council bridge station market").split()
vocab = sorted({"".join(rng.choice(syll) for _ in range(rng.randint(2, 4))) for _ in range(30000)})

def note(i, r):
    title = " ".join(r.choice(vocab) for _ in range(r.randint(2, 5))).capitalize()
    target = r.randint(1000, 3000)
    out = [f"# {title}\n\nNote {i}, written on day {r.randint(1, 28)} of month {r.randint(1, 12)}.\n\n"]
    size = len(out[0])
    while size < target:
        words = [r.choice(common) if r.random() < 0.45 else r.choice(vocab) for _ in range(r.randint(8, 22))]
        s = " ".join(words).capitalize() + ". "
        if r.random() < 0.15:
            s += "\n\n"
        out.append(s)
        size += len(s)
    return "".join(out)[:target] + "\n"

def generate(n):
    d = os.path.join(work, f"notes-{n}")
    texts = []
    r = random.Random(n)
    for i in range(n):
        sub = os.path.join(d, f"{i // 1000:03d}")
        if i % 1000 == 0:
            os.makedirs(sub, exist_ok=True)
        t = note(i, r)
        texts.append(t)
        with open(os.path.join(sub, f"note-{i:06d}.md"), "w") as f:
            f.write(t)
    return d, texts

def proc_cpu(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except OSError:
        return None

def proc_hwm_kb(pid):
    """The process's own peak RSS (VmHWM, kB), or 0 if unreadable. Not the
    rusage's ru_maxrss: a child forked (or vforked) by this script and exec'd
    inherits this script's own peak there, which at 100,000 notes holds all
    their texts (about 200 MB)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0

def run_analyze(folder, db, events):
    t0 = time.monotonic()
    p = subprocess.Popen([dossier, "analyze", "--offline", "--quiet", "--db", db, "--events", events, folder],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ingest_cpu = ingest_wall = None
    off = 0
    hwm = 0
    while True:
        r = os.wait4(p.pid, os.WNOHANG)
        if r[0]:
            break
        hwm = max(hwm, proc_hwm_kb(p.pid))
        if ingest_cpu is None and os.path.exists(events):
            with open(events, "rb") as f:
                f.seek(off)
                chunk = f.read()
            cut = chunk.rfind(b"\n") + 1
            off += cut
            if b'"event":"step_started"' in chunk[:cut]:
                ingest_cpu, ingest_wall = proc_cpu(p.pid), time.monotonic() - t0
        time.sleep(0.02)
    u = r[2]  # the child's own rusage (wait4)
    # peak RSS: the VmHWM sampled every 20 ms (it misses at most the last
    # 20 ms); the rusage's figure only when /proc could not be read
    return time.monotonic() - t0, r[1], u.ru_utime + u.ru_stime, hwm or u.ru_maxrss, ingest_cpu, ingest_wall

def fts_floor(texts, db):
    t0, c0 = time.monotonic(), time.process_time()
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE VIRTUAL TABLE f USING fts5(text, tokenize='porter unicode61 remove_diacritics 2')")
    with con:
        con.executemany("INSERT INTO f(rowid, text) VALUES(?, ?)", enumerate(texts, 1))
    con.close()
    return time.monotonic() - t0, time.process_time() - c0

def claim_latency(n):
    if not os.access(bench_claim, os.X_OK):
        return None, None
    db = os.path.join(work, f"claim-{n}.db")
    out = subprocess.run([bench_claim, "--generate", str(n), db, "200"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("claim "):
            f = line.split()
            return float(f[2]), float(f[5])
    return None, None

def dbsize(db):
    return sum(os.path.getsize(db + s) for s in ("", "-wal") if os.path.exists(db + s))

rows = []
for n in sizes:
    folder, texts = generate(n)
    db, ev = os.path.join(work, f"d-{n}.db"), os.path.join(work, f"ev-{n}.ndjson")
    wall, status, cpu, rss, ingest_cpu, ingest_wall = run_analyze(folder, db, ev)
    done = sum(1 for l in open(ev) if '"event":"document_done"' in l)
    fwall, fcpu = fts_floor(texts, os.path.join(work, f"fts-{n}.db"))
    p50, p95 = claim_latency(n)
    ingest_cpu = ingest_cpu if ingest_cpu is not None else cpu
    ingest_wall = ingest_wall if ingest_wall is not None else wall
    rows.append(dict(n=n, done=done, status=status >> 8, wall=wall, cpu=cpu, icpu=ingest_cpu, iwall=ingest_wall,
                     rss=rss / 1024, db=dbsize(db) / 1048576, fwall=fwall, fcpu=fcpu, p50=p50, p95=p95))
    print(f"# {n} notes: {done} done, exit {status >> 8}, {wall:.1f} s wall, {cpu:.1f} s CPU", file=sys.stderr)

def fmt(v, spec):
    return format(v, spec) if v is not None else "-"

print(f"{'notes':>7} {'ingest/s':>9} {'analysis/CPU s':>14} {'analysis/wall s':>15} {'CPU/note ms':>11}"
      f" {'wall/note ms':>12} {'claim p50':>10} {'claim p95':>10} {'peak RSS':>9} {'DB MB':>7}"
      f" {'FTS floor/CPU s':>15} {'x floor':>8}")
for r in rows:
    n = r["n"]
    acpu, awall = max(r["cpu"] - r["icpu"], 1e-9), max(r["wall"] - r["iwall"], 1e-9)
    floor = n / max(r["fcpu"], 1e-9)
    print(f"{n:>7} {n / max(r['iwall'], 1e-9):>9.0f} {n / acpu:>14.0f} {n / awall:>15.0f}"
          f" {1000 * r['cpu'] / n:>11.2f} {1000 * r['wall'] / n:>12.2f} {fmt(r['p50'], '>8.3f')}ms"
          f" {fmt(r['p95'], '>8.3f')}ms {r['rss']:>6.0f} MB {r['db']:>7.1f} {floor:>15.0f}"
          f" {(r['cpu'] / n) / (r['fcpu'] / n):>7.1f}x")
if len(rows) > 1:
    a, z = rows[0], rows[-1]
    print(f"CPU per note at {z['n']} / at {a['n']}: {(z['cpu'] / z['n']) / (a['cpu'] / a['n']):.2f}x;"
          f" wall per note: {(z['wall'] / z['n']) / (a['wall'] / a['n']):.2f}x;"
          f" peak RSS: {z['rss'] / a['rss']:.2f}x")
    if a["p95"] and z["p95"]:
        print(f"claim p95 at {z['n']} / at {a['n']}: {z['p95'] / a['p95']:.2f}x")
print("(ingest/s: notes queued per wall second before the first step starts; analysis: the rest of the run;"
      " CPU/note and wall/note: the whole run; x floor: CPU per note against the FTS5 bulk insert)")
PY
