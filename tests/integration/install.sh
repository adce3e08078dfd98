#!/usr/bin/env bash
# `cmake --install` into a temp prefix: the binary, the man page (generated
# from the help texts; `man -l` renders it), and bash and zsh completions that
# list every command of the table and every option of each command's help,
# and that bash really completes (`dossier an<TAB>` -> analyze).
source "$(dirname "$0")/lib.bash"
command -v cmake >/dev/null || skip_all "cmake is not installed"

P="$T/prefix"
cmake --install "$BUILD_DIR" --prefix "$P" > "$T/install.log" 2>&1
check "cmake --install succeeds" test $? -eq 0
check "the binary is installed (bin/dossier)" test -x "$P/bin/dossier"
check_contains "the installed binary runs" "dossier " "$("$P/bin/dossier" --version)"
check "the full binary is installed (libexec/dossier/dossier-full)" test -x "$P/libexec/dossier/dossier-full"
check_contains "a heavy command runs through the installed front" "usage: dossier analyze" \
  "$("$P/bin/dossier" analyze --help)"
check_eq "the front's --help is dossier-full's" "$("$P/libexec/dossier/dossier-full" --help)" "$("$P/bin/dossier" --help)"
check_eq "the front's 'help analyze' is dossier-full's" "$("$P/libexec/dossier/dossier-full" help analyze)" \
  "$("$P/bin/dossier" help analyze)"
if command -v ldd >/dev/null; then
  libs=$(ldd "$P/bin/dossier")
  check "the front (search, list, show) loads no media, OCR or speech library" \
    bash -c '! grep -qE "libavcodec|libtesseract|libpocketsphinx|libpoppler|libmicrohttpd" <<<"$1"' _ "$libs"
fi
check "the man page is installed (share/man/man1/dossier.1)" test -s "$P/share/man/man1/dossier.1"
BASHC="$P/share/bash-completion/completions/dossier"
ZSHC="$P/share/zsh/site-functions/_dossier"
check "the bash completion is installed" test -s "$BASHC"
check "the zsh completion is installed" test -s "$ZSHC"

# the commands of the table, as `dossier --help` lists them
mapfile -t cmds < <("$DOSSIER" --help | sed -n '/^Commands:/,/^$/p' | awk 'NF && $1 != "Commands:" {print $1}')
check "dossier --help lists commands (${#cmds[@]})" test "${#cmds[@]}" -ge 8
check_contains "dossier --help lists --version" "--version" "$("$DOSSIER" --help)"

if command -v man >/dev/null; then
  page=$(MANWIDTH=80 man -l "$P/share/man/man1/dossier.1" 2>"$T/man.err")
  check "man -l renders the page without warnings" test -z "$(grep -v '^$' "$T/man.err")"
  check_contains "the page has a NAME section" "NAME" "$page"
  for c in "${cmds[@]}"; do
    check_contains "the man page documents '$c'" "dossier $c" "$page"
  done
  check_contains "the man page has analyze's --offline (from its help)" "--offline" "$page"
else
  echo "# man is not installed: the page is not rendered"
fi

# bash: every command completes, and each command's options from its help
complete_words() { # complete_words WORD...: what bash offers for the last word
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _dossier; printf "%s\n" "${COMPREPLY[@]}"' \
    _ "$BASHC" "$@"
}
check_eq "bash completes 'dossier an<TAB>' to analyze" analyze "$(complete_words dossier an)"
check_contains "bash registers the completion for dossier" "_dossier dossier" \
  "$(bash -c "source '$BASHC'; complete -p dossier")"
check_contains "bash completes 'dossier analyze --prof<TAB>'" "--profile" "$(complete_words dossier analyze --prof)"
check_eq "bash completes the choices of --profile" "dev prod" "$(complete_words dossier analyze --profile '' | tr '\n' ' ' | sed 's/ $//')"
check_contains "bash completes 'dossier help se<TAB>'" "serve" "$(complete_words dossier help se)"
all_cmds=$(complete_words dossier '')
missing_c="" missing_o="" missing_z=""
for c in "${cmds[@]}"; do
  grep -qx "$c" <<<"$all_cmds" || missing_c+=" $c"
  grep -q "'$c:" "$ZSHC" || missing_z+=" $c"
  offered=$(complete_words dossier "$c" --)
  zsec=$(sed -n "/^  $c)\$/,/;;\$/p" "$ZSHC")
  for o in $("$DOSSIER" help "$c" | grep -oE '^ {2,4}(-[a-zA-Z], )?--[a-z][a-z0-9-]*' | grep -oE -- '--[a-z][a-z0-9-]*'); do
    grep -qx -- "$o" <<<"$offered" || missing_o+=" $c:$o"
    grep -q -- "'$o\[" <<<"$zsec" || missing_z+=" $c:$o"
  done
done
check_eq "bash completion lists every command of the table" "" "$missing_c"
check_eq "bash completion lists every option of every command's help" "" "$missing_o"
check_eq "zsh completion lists every command and option" "" "$missing_z"

done_testing
