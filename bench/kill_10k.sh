#!/usr/bin/env bash
# bench/kill_10k.sh — crash safety at scale: `dossier analyze --offline` on
# 10,000 small notes, killed with SIGKILL (kill -9) several times while it
# runs, then resumed to the end. The checks of tests/integration/queue_faults.sh
# and analyze_offline.sh, at 10,000 documents:
#   nothing lost:        every document ends done, with its dossier;
#   nothing done twice:  each document has exactly one document_done or
#                        document_failed stored, and one in the runs' event
#                        streams taken together.
# Also counts the steps run again because a kill cut them short (work redone,
# never recorded twice).
#
#   bench/kill_10k.sh [--build DIR] [--notes N] [--kills K]   (10000 notes, 3 kills)
#
# Prints figures; no pass/fail (the exit status is 0 either way).
set -euo pipefail
cd "$(dirname "$0")/.."
B=build N=10000 K=3
while [ $# -gt 0 ]; do
  case "$1" in
    --build) B=$2; shift 2 ;;
    --notes) N=$2; shift 2 ;;
    --kills) K=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/kill_10k.sh: unknown argument $1 (try --help)"; exit 2 ;;
  esac
done
[ -x "$B/dossier" ] || { echo "build first: cmake --build $B"; exit 2; }
export OMP_THREAD_LIMIT=1
T=$(mktemp -d "${TMPDIR:-/tmp}/kill10k.XXXXXX")
trap 'rm -rf "$T"' EXIT
python3 - "$T/notes" "$N" <<'PY'
import os, random, sys
d, n = sys.argv[1], int(sys.argv[2])
words = "heron reed marsh sluice lock barge towpath willow otter mill meadow flood gravel trout kingfisher".split()
for i in range(n):
    sub = f"{d}/{i // 1000:03d}"
    if i % 1000 == 0:
        os.makedirs(sub, exist_ok=True)
    r = random.Random(i)
    with open(f"{sub}/n{i:05d}.txt", "w") as f:
        f.write(f"Note {i}. " + " ".join(" ".join(r.choice(words) for _ in range(10)).capitalize() + "."
                                        for _ in range(r.randint(5, 20))) + "\n")
PY
done_count() { local c; c=$(grep -c '"event":"document_done"' "$1" 2>/dev/null || true); echo "${c:-0}"; }
for k in $(seq 1 "$K"); do
  before=$(sqlite3 "$T/d.db" "SELECT count(*) FROM dossiers" 2>/dev/null || echo 0)
  target=$(( before + N / (K + 2) ))
  "$B/dossier" analyze --offline --quiet --db "$T/d.db" --events "$T/ev$k.ndjson" "$T/notes" >/dev/null 2>&1 &
  pid=$!
  while kill -0 $pid 2>/dev/null && [ $(( before + $(done_count "$T/ev$k.ndjson") )) -lt $target ]; do sleep 0.2; done
  kill -9 $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
  echo "# kill $k: after $(done_count "$T/ev$k.ndjson") documents finished in this run"
done
"$B/dossier" analyze --offline --quiet --db "$T/d.db" --events "$T/ev-last.ndjson" "$T/notes" >/dev/null 2>&1 \
  && rc=0 || rc=$?
echo "# the resumed run exited $rc"
python3 - "$T" "$N" <<'PY'
import collections, glob, json, sqlite3, sys
work, n = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(f"{work}/d.db")
docs = db.execute("SELECT count(*) FROM documents").fetchone()[0]
done = db.execute("SELECT count(*) FROM documents WHERE status = 'done'").fetchone()[0]
dossiers = db.execute("SELECT count(*) FROM dossiers").fetchone()[0]
stored = collections.Counter(d for (d,) in db.execute(
    "SELECT document_id FROM events WHERE event IN ('document_done','document_failed')"))
streamed, started, finished = collections.Counter(), collections.Counter(), collections.Counter()
for f in glob.glob(f"{work}/ev*.ndjson"):
    for line in open(f):
        try:
            e = json.loads(line)
        except ValueError:
            continue  # the last line of a killed run may be cut short
        if e["event"] in ("document_done", "document_failed"):
            streamed[e["document"]] += 1
        elif e["event"] == "step_started":
            started[e["step_id"]] += 1
ids = [d for (d,) in db.execute("SELECT id FROM documents")]
print(f"{n} notes: {docs} documents, {done} done, {dossiers} dossiers")
print(f"nothing lost:       {'yes' if docs == n and done == n and dossiers == n else 'NO'}")
bad_db = sum(1 for d in ids if stored[d] != 1)
bad_ev = sum(1 for d in ids if streamed[d] > 1)
print(f"nothing done twice: {'yes' if bad_db == 0 and bad_ev == 0 else 'NO'}"
      f" ({bad_db} documents without exactly one finish event stored;"
      f" {bad_ev} finished twice in the event streams)")
again = sum(1 for c in started.values() if c > 1)
print(f"steps started again after a kill (cut short, run again, recorded once): {again}")
PY
