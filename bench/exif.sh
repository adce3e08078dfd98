#!/usr/bin/env bash
# bench/exif.sh — bench/exif.c built against the hand-written EXIF reader (src/media/exif.c
# at OLD, default d301ee6, the last commit before libexif) and against the current
# one (libexif), run one after the other.
#   bench/exif.sh [N]      N calls per case (default 20000)
set -euo pipefail
cd "$(dirname "$0")/.."
old=${OLD:-d301ee6}
out=${TMPDIR:-/tmp}/bench-exif.$$
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT
mkdir -p "$out/old/media"
git show "$old:src/media/exif.c" > "$out/old/exif.c"
git show "$old:src/media/exif.h" > "$out/old/media/exif.h"
defs="-std=c11 -O2 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE"
# shellcheck disable=SC2086
cc $defs -I"$out/old" -Isrc -o "$out/old_bench" bench/exif.c "$out/old/exif.c"
# shellcheck disable=SC2086
cc $defs -DBENCH_NEW -Isrc -o "$out/new_bench" bench/exif.c src/media/exif.c $(pkg-config --cflags --libs libexif)
echo "== hand-written reader ($old)"; "$out/old_bench" "$out" "${1:-20000}"
echo "== libexif $(pkg-config --modversion libexif)"; "$out/new_bench" "$out" "${1:-20000}"
