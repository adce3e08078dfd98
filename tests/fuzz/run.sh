#!/usr/bin/env bash
# tests/fuzz/run.sh — build the GGUF reader's libFuzzer target and run it.
#
#   tests/fuzz/run.sh [SECONDS]     default 60; the build goes to build-fuzz/
#
# Needs clang (installs it through apt if missing and running as root). Writes a
# seed corpus of well-formed GGUF files first. Exit status: libFuzzer's (0 = no
# crash, leak or sanitizer report within the time).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
out=${FUZZ_OUT:-build-fuzz}

if ! command -v clang >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y -qq --no-install-recommends clang >/dev/null
  else
    echo "run.sh: clang is not installed (apt-get install clang)" >&2; exit 3
  fi
fi
mkdir -p "$out/corpus" "$out/artifacts"
# the reader needs only core/err: no generated config header, no other library
defs="-D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Isrc"
clang -std=c11 -g -O1 $defs -DFUZZ_GEN_SEEDS -o "$out/gen_seeds" tests/fuzz/fuzz_gguf.c
"$out/gen_seeds" "$out/corpus"
clang -std=c11 -g -O1 $defs -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -o "$out/fuzz_gguf" tests/fuzz/fuzz_gguf.c src/plan/gguf.c src/core/err.c
# -rss_limit_mb catches a lying count that would make the reader allocate a lot
exec "$out/fuzz_gguf" -max_total_time="$secs" -rss_limit_mb=512 -malloc_limit_mb=128 -max_len=65536 \
  -artifact_prefix="$out/artifacts/" -print_final_stats=1 "$out/corpus"
