#!/usr/bin/env bash
# tests/check_layers.sh — the layer rules, checked on the sources: every
# `#include "x/..."` (and `#include <x/...>` naming one of our layers) in
# src/<layer>/ must name a layer that <layer> may use according to
# cmake/layers.txt, the table CMakeLists.txt links the layers by. src/main.c is
# the layer `main`. It also fails when a directory of src/ is not on the table
# and when docs/architecture.md's copy of the table differs from it.
#
#   tests/check_layers.sh [SOURCE_DIR]   check a tree (default: this script's ..)
#   tests/check_layers.sh --self-test    check the checker on made-up trees
#
# Each problem is one line, file:line first; exit 1 if there is any.
set -u

# check_tree ROOT: prints the problems of the tree at ROOT, returns 1 if any.
check_tree() {
  local root=$1 table=$1/cmake/layers.txt
  if [ ! -r "$table" ]; then
    echo "$table: missing (the table of layers)"
    return 1
  fi
  local -A uses=()
  local layer rest bad=0
  while read -r layer rest; do
    case "$layer" in ''|'#'*) continue ;; esac
    uses[$layer]=" $layer $rest "
  done < "$table"

  local d n
  for d in "$root"/src/*/; do
    [ -d "$d" ] || continue
    n=$(basename "$d")
    if [ -z "${uses[$n]+x}" ]; then
      echo "src/$n/: not a layer in cmake/layers.txt (add its row)"
      bad=1
    fi
  done

  # The table's copy in docs/architecture.md, between the two markers.
  local doc=$root/docs/architecture.md
  if [ ! -r "$doc" ]; then
    echo "docs/architecture.md: missing (it states the layers and repeats cmake/layers.txt)"
    bad=1
  else
    local want got
    want=$(grep -E '^[a-z]' "$table" | tr -s ' \t' ' ' | sed 's/ $//')
    got=$(sed -n '/<!-- layers: begin -->/,/<!-- layers: end -->/p' "$doc" | grep -E '^[a-z]' \
          | tr -s ' \t' ' ' | sed 's/ $//')
    if [ "$want" != "$got" ]; then
      echo "docs/architecture.md: its table of layers differs from cmake/layers.txt (copy it between the <!-- layers: --> markers)"
      bad=1
    fi
  fi

  local f rel line x q allowed may
  local names=" ${!uses[*]} "
  names=${names/ main / }  # src/main.c is a row, not a directory of headers
  while IFS= read -r f; do
    rel=${f#"$root"/}
    case "$rel" in
      src/*/*) layer=${rel#src/}; layer=${layer%%/*} ;;
      *) layer=main ;;
    esac
    [ -n "${uses[$layer]+x}" ] || continue  # reported above
    allowed=${uses[$layer]}
    # file:line:x for every include of the form "x/..." or <x/...>
    while IFS=: read -r line x q; do
      if [ "$q" = '<' ]; then
        case "$names" in *" $x "*) ;; *) continue ;; esac  # a system header
      fi
      case "$allowed" in
        *" $x "*) ;;
        *)
          case "$names" in
            *" $x "*)
              may=${allowed# $layer }; may=${may% }
              echo "$rel:$line: $layer -> $x is a forbidden edge ($layer may use: ${may:-nothing})" ;;
            *) echo "$rel:$line: includes \"$x/...\", which is not a layer" ;;
          esac
          bad=1 ;;
      esac
    done < <(awk '
      match($0, /^[ \t]*#[ \t]*include[ \t]*["<][^">\/]*\//) {
        s = substr($0, RSTART, RLENGTH)
        q = (index(s, "<") ? "<" : "\"")
        sub(/^[ \t]*#[ \t]*include[ \t]*["<]/, "", s)
        sub(/\/$/, "", s)
        print FNR ":" s ":" q
      }' "$f")
  done < <(find "$root/src" \( -name '*.c' -o -name '*.h' \) -type f | LC_ALL=C sort)
  return $bad
}

self_test() {
  local t fails=0 out
  t=$(mktemp -d "${TMPDIR:-/tmp}/check-layers.XXXXXX")
  trap 'rm -rf "$t"' RETURN
  mkdir -p "$t/ok/cmake" "$t/ok/src/core" "$t/ok/src/media" "$t/ok/docs"
  printf '# comment\ncore\nmedia   core\nmain    media core\n' > "$t/ok/cmake/layers.txt"
  printf '#include "core/err.h"\n#include <sys/stat.h>\n#include "internal.h"\n' > "$t/ok/src/media/a.c"
  printf '#include "core/err.h"\n' > "$t/ok/src/core/err.c"
  printf '#include "media/a.h"\n' > "$t/ok/src/main.c"
  printf 'text\n<!-- layers: begin -->\n```\ncore\nmedia core\nmain media core\n```\n<!-- layers: end -->\n' \
    > "$t/ok/docs/architecture.md"
  out=$(check_tree "$t/ok")
  if [ $? -eq 0 ] && [ -z "$out" ]; then echo "ok   - a tree that keeps the rules passes"
  else echo "FAIL - a tree that keeps the rules passes: $out"; fails=$((fails + 1)); fi

  cp -r "$t/ok" "$t/bad"
  mkdir -p "$t/bad/src/extra"
  printf '#include "core/err.h"\n\n  #  include "main/x.h"\n#include <media/b.h>\n#include "../media/c.h"\n' \
    > "$t/bad/src/core/err.c"
  sed -i 's/^media core$/media/' "$t/bad/docs/architecture.md"
  out=$(check_tree "$t/bad")
  local rc=$? want
  want='src/extra/: not a layer in cmake/layers.txt (add its row)
docs/architecture.md: its table of layers differs from cmake/layers.txt (copy it between the <!-- layers: --> markers)
src/core/err.c:3: includes "main/...", which is not a layer
src/core/err.c:4: core -> media is a forbidden edge (core may use: nothing)
src/core/err.c:5: includes "../...", which is not a layer'
  # "main" is a row of the table but not a directory: "main/x.h" is no layer's header
  if [ $rc -ne 0 ] && [ "$out" = "$want" ]; then echo "ok   - forbidden edges are named with file:line"
  else printf 'FAIL - forbidden edges are named with file:line; got (rc %s):\n%s\nwanted:\n%s\n' "$rc" "$out" "$want"; fails=$((fails + 1)); fi
  [ $fails -eq 0 ]
}

if [ "${1:-}" = "--self-test" ]; then
  self_test
  exit $?
fi
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
out=$(check_tree "$root")
rc=$?
if [ $rc -ne 0 ]; then
  echo "$out"
  echo "layer check: $(printf '%s\n' "$out" | grep -c .) problem(s); the rules are in docs/architecture.md"
  exit 1
fi
echo "layer check: every include in src/ keeps the rules of cmake/layers.txt"
