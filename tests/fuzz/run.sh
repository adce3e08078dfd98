#!/usr/bin/env bash
# tests/fuzz/run.sh — build dossier's libFuzzer targets and run them.
#
#   tests/fuzz/run.sh [SECONDS [TARGET...]]   default 60 s each, every target
#   tests/fuzz/run.sh 5                       the short run the suite does
#
# Targets: gguf (the GGUF reader), splitters (NDJSON and SSE, whole against
# chunked), text (normaliser, sentence splitter, offline analysis and entity
# matcher), config (the config file and EXIF), multipart (the server's upload
# form reader, whole against chunked), upload (POST /api/documents through the
# server's request path: the Host/Origin/token guards, the limits, the form
# or raw body, the temp file and the stored file in a real temp directory,
# the reply; whole against chunked). Each is built with ASan, UBSan
# and libFuzzer from the sources it needs (no generated header, no other
# library) into build-fuzz/ (FUZZ_OUT). FUZZ_SEED fixes libFuzzer's seed (the
# suite uses 1, so a run on the same machine explores the same inputs in the
# same order and a red run is reproducible; unset, every run explores anew).
# FUZZ_RUNS=N stops each target after N executions (or SECONDS, whichever is
# first): `FUZZ_RUNS=10000000 tests/fuzz/run.sh 7200` is the long run. FUZZ_MAX_LEN
# caps an input's size (default 65536 bytes).
# The inputs under tests/fuzz/regress/TARGET/ (each one a crash found once)
# are run first, every time. Needs clang (installed through apt when
# missing and running as root). Prints each target's executions and time.
# Exit status: 0 when no target found a crash, leak or sanitizer report.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(gguf splitters text config multipart upload)
out=${FUZZ_OUT:-build-fuzz}

if ! command -v clang >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y -qq --no-install-recommends clang >/dev/null
  else
    echo "run.sh: SKIPPED: clang is not installed (scripts/setup installs it)" >&2; exit 77
  fi
fi
defs="-D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Isrc"
san="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
jansson="$(pkg-config --cflags --libs jansson)"
glib="$(pkg-config --cflags --libs glib-2.0)"
core="src/core/err.c src/core/buf.c src/core/util.c"

build() { # build NAME SOURCES... [-- LIBS]
  local name=$1; shift
  # shellcheck disable=SC2086
  clang -std=c11 -g -O1 $defs $san -o "$out/fuzz_$name" "$@"
}

status=0
for t in "${targets[@]}"; do
  mkdir -p "$out/corpus-$t" "$out/artifacts-$t"
  case $t in
    gguf)
      clang -std=c11 -g -O1 $defs -DFUZZ_GEN_SEEDS -o "$out/gen_seeds" tests/fuzz/fuzz_gguf.c
      "$out/gen_seeds" "$out/corpus-$t"
      # shellcheck disable=SC2086
      build gguf tests/fuzz/fuzz_gguf.c src/plan/gguf.c $core $jansson $glib ;;
    splitters)
      printf '\001{"a":1}\n{"b":2}\n' > "$out/corpus-$t/ndjson"
      printf '\010data: {"x":1}\n\ndata: [DONE]\n\n' > "$out/corpus-$t/sse"
      # shellcheck disable=SC2086
      build splitters tests/fuzz/fuzz_splitters.c src/backends/ndjson.c src/backends/sse.c $core $jansson $glib ;;
    text)
      printf '\000The ferry leaves at 9:30 on 12 March 2024. Call +44 20 7946 0958 or mail a@b.org.' > "$out/corpus-$t/plain"
      printf '\001# Title\n\n*Some* [link](http://x.y) and `code`.\n' > "$out/corpus-$t/md"
      printf '\002<html><title>T</title><p>Caf&eacute; &amp; tea</p><script>x</script></html>' > "$out/corpus-$t/html"
      # shellcheck disable=SC2086
      build text tests/fuzz/fuzz_text.c src/analyze/*.c $core $jansson $glib \
        $(pkg-config --cflags --libs uchardet libxml-2.0 md4c libexttextcat) -lstemmer -lm ;;
    config)
      printf '\000profile = dev\ntext_model = llama3.2:3b\nbudget = 8G\n' > "$out/corpus-$t/conf"
      printf '\001MM\000\052\000\000\000\010\000\001\001\022\000\003\000\000\000\001\000\006\000\000' > "$out/corpus-$t/exif"
      # shellcheck disable=SC2086
      build config tests/fuzz/fuzz_config.c src/core/config.c src/core/role.c src/media/exif.c $core $jansson $glib \
        $(pkg-config --cflags --libs libexif) -lm ;;
    multipart)
      printf '\003multipart/form-data; boundary=XyZ\n--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n' > "$out/corpus-$t/form"
      build multipart tests/fuzz/fuzz_multipart.c src/server/multipart.c ;;
    upload)
      printf '\003\000Host: 127.0.0.1:8080\nContent-Type: multipart/form-data; boundary=XyZ\nContent-Length: 120\n\n--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n' > "$out/corpus-$t/form"
      printf '\007\001Host: 192.168.1.5:8080\nAuthorization: Bearer t0k3n\nX-Filename: notes.md\nContent-Type: application/octet-stream\n\n# notes\nsome text\n' > "$out/corpus-$t/raw"
      printf '\001\000Host: localhost:8080\nOrigin: http://evil.example\nSec-Fetch-Site: cross-site\nContent-Type: text/plain\n\nx' > "$out/corpus-$t/cross"
      printf '\020\006Host: files.lan\nX-Filename: big.bin\n\n%0400d' 0 > "$out/corpus-$t/big"
      # shellcheck disable=SC2086
      build upload tests/fuzz/fuzz_upload.c src/server/request.c src/server/upload.c src/server/multipart.c $core \
        $jansson $glib -lpthread ;;
    *) echo "run.sh: no target '$t' (gguf splitters text config multipart upload)" >&2; exit 2 ;;
  esac
  echo "== fuzz_$t: $secs s"
  # -rss_limit_mb catches an input that makes a reader allocate a lot
  seed=()
  [ -z "${FUZZ_SEED:-}" ] || seed=(-seed="$FUZZ_SEED")
  [ -z "${FUZZ_RUNS:-}" ] || seed+=(-runs="$FUZZ_RUNS")
  regress=()
  [ ! -d "tests/fuzz/regress/$t" ] || regress=("tests/fuzz/regress/$t")
  if ! "$out/fuzz_$t" "${seed[@]}" -max_total_time="$secs" -rss_limit_mb=1024 -malloc_limit_mb=256 -max_len="${FUZZ_MAX_LEN:-65536}" \
       -timeout=10 -artifact_prefix="$out/artifacts-$t/" -print_final_stats=1 "$out/corpus-$t" "${regress[@]}" \
       2> "$out/fuzz_$t.log"; then
    status=1
    tail -40 "$out/fuzz_$t.log"
  fi
  grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb" "$out/fuzz_$t.log" | sed "s/^/fuzz_$t: /"
done
exit $status
