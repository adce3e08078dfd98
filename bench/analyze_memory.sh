#!/usr/bin/env bash
# bench/analyze_memory.sh — peak memory of `dossier analyze --offline` on a
# 30-minute recording, against the theoretical minimum the planner names for
# the speech model, and against the size of the file itself.
#
# Media are streamed in fixed blocks, so the peak must not grow with the length:
# the 30-minute run is compared with a 1-minute run of the same kind.
#
#   bench/analyze_memory.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
[ -x "$B/dossier" ] || { echo "build first: scripts/setup"; exit 2; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
export OMP_THREAD_LIMIT=1
# speech-like input: espeak-ng sentences with pauses, repeated to the length
espeak-ng -v en-us -s 150 -w "$T/s.wav" "The harbour master logged every ship that passed the lighthouse. The tide was high and the pilots were busy until the evening."
ffmpeg -loglevel error -i "$T/s.wav" -af "apad=pad_dur=2" -ar 16000 -ac 1 "$T/one.wav"
make() { # make SECONDS OUT
  ffmpeg -loglevel error -stream_loop -1 -i "$T/one.wav" -t "$1" -c:a libopus -b:a 24k "$2"
}
make 60 "$T/short.opus"
make 1800 "$T/long.opus"
peak() { # peak FILE -> "max_rss_kb seconds"
  python3 - "$B/dossier" "$1" "$T/db-$(basename "$1").db" <<'PY'
import resource, subprocess, sys, time
t = time.time()
subprocess.run([sys.argv[1], "analyze", "--offline", "--quiet", "--db", sys.argv[3], sys.argv[2]],
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, round(time.time() - t, 1))
PY
}
read s_kb s_t < <(peak "$T/short.opus")
read l_kb l_t < <(peak "$T/long.opus")
python3 - "$s_kb" "$s_t" "$l_kb" "$l_t" "$(stat -c %s "$T/short.opus")" "$(stat -c %s "$T/long.opus")" <<'PY'
import sys
s_kb, s_t, l_kb, l_t, s_sz, l_sz = map(float, sys.argv[1:])
print(f"{'input':<22} {'peak RSS':>10} {'time':>9} {'file size':>11}")
print(f"{'1 min speech (opus)':<22} {s_kb/1024:7.1f} MB {s_t:7.1f} s {s_sz/1048576:8.1f} MB")
print(f"{'30 min speech (opus)':<22} {l_kb/1024:7.1f} MB {l_t:7.1f} s {l_sz/1048576:8.1f} MB")
print(f"ratio peak(30 min) / peak(1 min): {l_kb/s_kb:.2f} (1.00 = constant memory)")
print("reference: the pocketsphinx model itself adds ~94 MB when loaded (docs/speech.md)")
PY
