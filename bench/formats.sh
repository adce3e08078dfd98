#!/usr/bin/env bash
# bench/formats.sh [MB] — text-extraction speed of dossier's readers (DOCX, ODT,
# RTF, EML, EPUB, PPTX, XLSX, ODS, CSV, mbox) on generated inputs of about MB
# megabytes of text (default 10), next to Debian's reference tools where
# installed (pandoc for DOCX, EPUB and CSV, odt2txt for ODT and ODS, unrtf for
# RTF; Debian has none for PPTX, XLSX, EML or mbox). Speeds are MB of extracted text per second
# (the zipped inputs are small: their text repeats), and the ratio
# ours/reference on the same input. Timings are printed, never asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${1:-10}
B=${BUILD_DIR:-build}
[ -x "$B/bench_formats" ] || { echo "build first: cmake --build $B --target bench_formats" >&2; exit 2; }
D=$(mktemp -d "${TMPDIR:-/tmp}/bench-formats.XXXXXX")
trap 'rm -rf "$D"' EXIT
python3 tests/formats_fixtures.py "$D" --big "$mb"

best_of3() { # seconds of the fastest of three runs of "$@" (output discarded)
  python3 -c '
import subprocess, sys, time
best = 1e9
for _ in range(3):
    t0 = time.perf_counter()
    subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    best = min(best, time.perf_counter() - t0)
print(best)' "$@"
}

printf '%-6s %8s %8s %10s %10s %12s %10s %10s %8s\n' format file_MB text_MB ours_s ours_MB/s reference ref_s ref_MB/s ratio
for f in docx odt rtf eml epub pptx xlsx ods csv mbox; do
  in="$D/big.$f"
  size=$(stat -c %s "$in")
  read -r _ _ ours _ tbytes < <("$B/bench_formats" "$in")
  ref="" ; rs=""
  case $f in
    docx) command -v pandoc >/dev/null && { ref=pandoc; rs=$(best_of3 pandoc -f docx -t plain "$in"); } ;;
    odt)  command -v odt2txt >/dev/null && { ref=odt2txt; rs=$(best_of3 odt2txt "$in"); } ;;
    rtf)  command -v unrtf >/dev/null && { ref=unrtf; rs=$(best_of3 unrtf --text "$in"); } ;;
    epub) command -v pandoc >/dev/null && { ref=pandoc; rs=$(best_of3 pandoc -f epub -t plain "$in"); } ;;
    csv)  command -v pandoc >/dev/null && { ref=pandoc; rs=$(best_of3 pandoc -f csv -t plain "$in"); } ;;
    ods)  command -v odt2txt >/dev/null && { ref=odt2txt; rs=$(best_of3 odt2txt "$in"); } ;;
  esac
  python3 - "$f" "$size" "$tbytes" "$ours" "${ref:--}" "${rs:-}" <<'PY'
import sys
f, size, tb, ours, ref, rs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6]
mb, tmb = size / 1e6, tb / 1e6
o = tmb / max(ours, 1e-6)
if rs:
    r = tmb / max(float(rs), 1e-6)
    print(f"{f:<6} {mb:8.2f} {tmb:8.2f} {ours:10.3f} {o:10.1f} {ref:>12} {float(rs):10.3f} {r:10.1f} {o / r:8.1f}")
else:
    print(f"{f:<6} {mb:8.2f} {tmb:8.2f} {ours:10.3f} {o:10.1f} {'-':>12} {'-':>10} {'-':>10} {'-':>8}")
PY
done
