#!/usr/bin/env bash
# bench/swaps.sh — what each policy costs in model loads on a mixed folder.
#
# Builds a corpus of 30 text files, 20 images and 5 short videos, interleaved
# by name, runs `dossier analyze` on it through the Ollama test server for each
# policy, and prints loads, swaps, the modelled time, the planned peak and the
# ratio of loads to the minimum (each needed model loaded once).
#
# Load times are modelled from model size and a disk bandwidth (default
# 2 GB/s, an ordinary NVMe laptop disk): --load-ms-per-gb = 1000 / GBps.
#
#   bench/swaps.sh [BUILD_DIR] [DISK_GBPS]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
GBPS=${2:-2}
DOSSIER=$B/dossier STUB=$B/ollama-stub
[ -x "$DOSSIER" ] && [ -x "$STUB" ] || { echo "build first: scripts/setup (needs $DOSSIER and $STUB)"; exit 2; }
export OMP_THREAD_LIMIT=1 NO_COLOR=1
T=${BENCH_DIR:-$(mktemp -d)}; trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
mkdir -p "$T/corpus"
n=0
for i in $(seq 1 30); do
  n=$((n+1)); printf 'Note %d. The harbour master logged %d ships today. Tides were high and the pilot boat was busy.\n' $i $((i*3)) > "$T/corpus/$(printf %03d $n)-note.txt"
  if [ $i -le 20 ]; then
    n=$((n+1)); ffmpeg -loglevel error -f lavfi -i color=white:s=640x160 -frames:v 1 \
      -vf "drawtext=fontfile=$FONT:text='Ticket $i':fontsize=40:fontcolor=black:x=20:y=50" "$T/corpus/$(printf %03d $n)-scan.png"
  fi
  if [ $((i % 6)) -eq 0 ]; then
    n=$((n+1)); ffmpeg -loglevel error -f lavfi -i testsrc=duration=4:size=320x240:rate=10 -f lavfi -i sine=frequency=300:duration=4 \
      -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest "$T/corpus/$(printf %03d $n)-clip.mp4"
  fi
done
ms_per_gb=$(python3 -c "print(int(1000/$GBPS))")
echo "corpus: 30 text, 20 images, 5 videos, interleaved by name; disk ${GBPS} GB/s -> ${ms_per_gb} ms per GB loaded; dev profile"
printf '%-11s %6s %6s %7s %10s %12s %14s\n' policy loads swaps unloads "time (s)" "planned peak" "loads/minimum"
for policy in sequential grouped budget; do
  "$STUB" --listen 127.0.0.1:0 --load-ms-per-gb "$ms_per_gb" --unload-linger-ms 100 --memory 24GiB > "$T/stub.out" &
  spid=$!
  for _ in $(seq 1 100); do grep -q '^listening' "$T/stub.out" && break; sleep 0.05; done
  url=http://$(sed -n 's/^listening on //p' "$T/stub.out")
  extra=(); [ $policy = budget ] && extra=(--budget 24G)
  t0=$(date +%s.%N)
  DEV_MODE=1 OLLAMA_HOST=$url "$DOSSIER" analyze --db "$T/$policy.db" --policy $policy "${extra[@]}" \
    --events "$T/$policy.ndjson" "$T/corpus" > "$T/$policy.out" 2>&1 || true
  t1=$(date +%s.%N)
  curl -s "$url/_stub/stats" > "$T/$policy.stats"
  kill $spid; wait $spid 2>/dev/null || true
  python3 - "$policy" "$T/$policy.stats" "$T/$policy.ndjson" "$t0" "$t1" <<'PY'
import json, sys
policy, stats, events, t0, t1 = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
loads = sum(stats["loads"].values()); unloads = sum(stats["unloads"].values())
ev = [json.loads(l) for l in open(events)]
swaps = sum(1 for e in ev if e["event"] == "swapping_model")
minimum = len(stats["loads"])
peak = max((e["predicted_bytes"] for e in ev if e["event"] == "memory"), default=0)
print(f"{policy:<11} {loads:6d} {swaps:6d} {unloads:7d} {t1 - t0:10.1f} {peak / 1e9:10.1f} GB {loads / max(minimum, 1):11.2f}x")
PY
done
echo "minimum = each needed model (text, vision) loaded once; time includes OCR, speech and frames on 2 cores"
