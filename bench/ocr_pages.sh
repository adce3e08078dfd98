#!/usr/bin/env bash
# bench/ocr_pages.sh — OCR of a folder of scanned A4 pages: `dossier analyze
# --offline` (both cpu lanes busy, one page each) against the tesseract command
# line run one page after another and two pages at a time.
#
#   bench/ocr_pages.sh [--build DIR] [--pages N]     (default 8 pages)
#
# The pages are made here: 300 dpi A4 (2480x3508) greyscale PNGs of about 40
# lines of prose each, on off-white paper with scanner noise and a slight skew.
# Prints wall and CPU seconds and the ratios; no pass/fail. Needs ffmpeg (to
# draw the pages) and tesseract (the reference; exits 2 without them).
set -euo pipefail
cd "$(dirname "$0")/.."
B=build N=8
while [ $# -gt 0 ]; do
  case "$1" in
    --build) B=$2; shift 2 ;;
    --pages) N=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/ocr_pages.sh: unknown argument $1 (try --help)"; exit 2 ;;
  esac
done
[ -x "$B/dossier" ] || { echo "build first: cmake --build $B"; exit 2; }
command -v ffmpeg >/dev/null || { echo "needs ffmpeg to draw the pages"; exit 2; }
command -v tesseract >/dev/null || { echo "needs the tesseract command line (apt-get install tesseract-ocr)"; exit 2; }
T=$(mktemp -d "${TMPDIR:-/tmp}/ocrpages.XXXXXX")
trap 'rm -rf "$T"' EXIT
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
mkdir -p "$T/pages"
python3 - "$T" "$N" "$FONT" <<'PY'
import random, subprocess, sys
work, n, font = sys.argv[1], int(sys.argv[2]), sys.argv[3]
words = ("the council met on tuesday to discuss the harbour budget for next year and agreed that the bridge "
         "repairs should start in spring while the school garden project waits for the report on water "
         "quality from the station near the river market").split()
for p in range(n):
    r = random.Random(p)
    with open(f"{work}/page{p}.txt", "w") as f:
        for i in range(40):
            f.write(" ".join(r.choice(words) for _ in range(9)).capitalize() + ".\n")
    draw = (f"drawtext=fontfile={font}:textfile={work}/page{p}.txt:fontsize=42:fontcolor=0x202020:"
            "x=220:y=260:line_spacing=30")
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "color=c=0xf2efe6:s=2480x3508",
                    "-frames:v", "1", "-vf", f"{draw},rotate=0.4*PI/180:fillcolor=0xf2efe6,noise=alls=10,format=gray",
                    f"{work}/pages/page-{p:02d}.png"], check=True)
PY
export OMP_THREAD_LIMIT=1

# cpu: user+system seconds of the children that ran the command
timed() { # timed LABEL CMD...: prints "LABEL wall cpu"
  local label=$1; shift
  python3 - "$label" "$@" <<'PY'
import resource, subprocess, sys, time
t = time.monotonic()
subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(sys.argv[1], f"{time.monotonic() - t:.2f}", f"{u.ru_utime + u.ru_stime:.2f}")
PY
}
{
  timed dossier "$B/dossier" analyze --offline --quiet --db "$T/d.db" "$T/pages"
  timed serial bash -c 'for f in "$1"/pages/*.png; do tesseract "$f" "${f%.png}-s" >/dev/null 2>&1; done' _ "$T"
  timed parallel bash -c 'ls "$1"/pages/*.png | xargs -P 2 -I{} tesseract {} {}-p' _ "$T"
} > "$T/times"
words=$(sqlite3 "$T/d.db" "SELECT sum(length(json) > 0) FROM dossiers" 2>/dev/null || echo "?")
printf '%s scanned A4 pages (300 dpi); dossier made %s dossiers\n' "$N" "$words"
printf '%-34s %8s %8s %10s %10s\n' "" "wall s" "CPU s" "wall x" "CPU x"
awk -v n="$N" '{w[$1]=$2; c[$1]=$3} END {
  split("dossier serial parallel", k, " ");
  name["dossier"]="dossier analyze (2 cpu lanes)"; name["serial"]="tesseract, one after another";
  name["parallel"]="tesseract, two at a time";
  for (i = 1; i <= 3; i++) printf "%-34s %8.2f %8.2f %9.2fx %9.2fx\n", name[k[i]], w[k[i]], c[k[i]],
    w["dossier"] / w[k[i]], c["dossier"] / c[k[i]];
}' "$T/times"
echo "(x: dossier over that row; the machine may be shared: CPU is the steadier figure)"
