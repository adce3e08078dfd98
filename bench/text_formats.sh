#!/usr/bin/env bash
# bench/text_formats.sh [MB [REV]] — speed of the HTML and Markdown normaliser
# (text_normalize) on generated inputs of about MB megabytes (default 8): one
# large HTML page, many small pages, a large Markdown file (and the same file
# read as plain text, for scale). With REV (a commit, e.g. the one before a
# change to src/analyze/text.c), the same bench is also built from REV's
# sources and both are printed, then the outputs of a few snippets (entities,
# malformed HTML, CommonMark corners) are diffed, old against new. Both builds
# are compiled here with the same flags (cc -O2) into a temporary directory;
# nothing in the work tree is built or changed. Timings are printed, never
# asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
case ${1:-} in -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
mb=${1:-8}
rev=${2:-}
D=$(mktemp -d "${TMPDIR:-/tmp}/bench-text.XXXXXX")
trap 'rm -rf "$D"' EXIT
libs="$(pkg-config --cflags --libs libxml-2.0 md4c uchardet jansson glib-2.0) -lm -lpthread"

build() { # build OUT SRCDIR: the bench against SRCDIR's analyze and core sources
  # shellcheck disable=SC2086
  cc -std=c11 -O2 -w -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I"$2" -o "$1" bench/text_formats.c \
    "$2"/analyze/*.c "$2"/core/err.c "$2"/core/buf.c "$2"/core/util.c $libs
}

build "$D/new" src
if [ -z "$rev" ]; then
  "$D/new" "$mb"
  exit 0
fi
mkdir -p "$D/old"
git archive "$rev" src | tar -x -C "$D/old"
build "$D/old_bench" "$D/old/src"
echo "== $rev (old)"
"$D/old_bench" "$mb" | tee "$D/old.txt"
echo "== work tree (new)"
"$D/new" "$mb" | tee "$D/new.txt"
echo "== speed new/old"
paste "$D/old.txt" "$D/new.txt" | awk 'NR > 1 { printf "%-18s %8.1f -> %8.1f MB/s  x%.2f  %s\n", $1, $4, $10, $10 / $4, ($6 == $12 ? "same output" : "output differs") }'
echo "== snippets: diff old new"
"$D/old_bench" --samples > "$D/old_samples.txt"
"$D/new" --samples > "$D/new_samples.txt"
diff -u "$D/old_samples.txt" "$D/new_samples.txt" || true
