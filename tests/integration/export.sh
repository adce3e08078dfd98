#!/usr/bin/env bash
# `dossier export`: json (a file per dossier and index.json), md (as `show`
# prints it), csv (RFC 4180, read back by Python's csv module), a query and
# filters, --originals (byte-identical copies), file names that stay inside
# DIR, what DIR held before left alone, a link planted in DIR not followed.
. "$(dirname "$0")/lib.bash"
command -v python3 >/dev/null || skip_all "python3 is needed to read the exports"
S="$SOURCE_DIR/samples"
IN="$T/in"
mkdir -p "$IN"
cp "$S"/field-notes.md "$S"/river-article.txt "$S"/committee-minutes.pdf "$IN/"
# a title that tries to climb out of the folder, with CSV's special characters
printf '# ../../escape "quoted", with commas\n\nA note whose title has slashes, quotes and commas,\nand a second line.\n' > "$IN/tricky.md"
printf 'not a document\0\1\2' > "$IN/blob.bin"
"$DOSSIER" analyze --offline --quiet "$IN" >/dev/null 2>&1
n_docs=$("$DOSSIER" list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
check_eq "five documents recorded" 5 "$n_docs"

# json
OUT="$T/out-json"
mkdir -p "$OUT"
echo "mine" > "$OUT/keep-me.txt"
echo "outside" > "$T/outside.txt"
id_notes=$("$DOSSIER" list --json | python3 -c 'import json,sys; print([d["id"] for d in json.load(sys.stdin) if d["path"].endswith("field-notes.md")][0])')
title_notes=$("$DOSSIER" show --json "$id_notes" | python3 -c 'import json,sys; print(json.load(sys.stdin)["title"])')
# a link where an export file will go: it is replaced, its target untouched
"$DOSSIER" export --format json "$OUT" >/dev/null
planted=$(cd "$OUT" && ls "$id_notes"-*.json)
rm "$OUT/$planted"
ln -s "$T/outside.txt" "$OUT/$planted"
before=$(ls -A "$T")
out=$("$DOSSIER" export --format json "$OUT"); rc=$?
check_eq "export --format json exits 0" 0 "$rc"
check_eq "nothing was written beside DIR" "$before" "$(ls -A "$T")"
check_contains "it says how many" "exported 5 documents" "$out"
check_eq "what DIR held stays" "mine" "$(cat "$OUT/keep-me.txt")"
check_eq "a link planted in DIR is not written through" "outside" "$(cat "$T/outside.txt")"
check "the planted link became a file" test -f "$OUT/$planted" -a ! -L "$OUT/$planted"
check_eq "index.json lists every document" 5 "$(json 'len(d)' "$OUT/index.json")"
check_eq "one JSON file per dossier (the binary file has none)" 4 "$(ls "$OUT"/[0-9]*.json | wc -l)"
check "each file is the stored dossier JSON" python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
idx = json.load(open(os.path.join(out, "index.json")))
for e in idx:
    if "file" not in e:
        assert e["kind"] == "unsupported", e
        continue
    d = json.load(open(os.path.join(out, e["file"])))
    assert d["id"] == e["id"] and d["path"] == e["path"] and d["dossier_version"] == 1, e
PY
check "file names are id plus safe words, inside DIR" python3 - "$OUT" <<'PY'
import os, re, sys
for n in os.listdir(sys.argv[1]):
    if n in ("index.json", "keep-me.txt"): continue
    assert re.fullmatch(r"[0-9]+(-[a-z0-9._-]+)?\.json", n), n
PY
check "the climbing title became a plain name" test -n "$(ls "$OUT" | grep -E '^[0-9]+-escape-quoted-with-commas\.json$')"
check "the dossier's file is named after its title" test -n "$(ls "$OUT" | grep "^$id_notes-")"

# md: the same Markdown as `show`
OUT="$T/out-md"
"$DOSSIER" export --format md "$OUT" >/dev/null; rc=$?
check_eq "export --format md exits 0" 0 "$rc"
f=$(ls "$OUT" | grep "^$id_notes-.*\.md$")
"$DOSSIER" show --md "$id_notes" > "$T/show.md"
check "the Markdown file is what 'dossier show --md' prints" cmp -s "$T/show.md" "$OUT/$f"
check_contains "it has the title" "$title_notes" "$(cat "$OUT/$f")"

# csv
OUT="$T/out-csv"
"$DOSSIER" export --format csv "$OUT" >/dev/null; rc=$?
check_eq "export --format csv exits 0" 0 "$rc"
check "index.csv reads back as RFC 4180 with the nine columns" python3 - "$OUT/index.csv" <<'PY'
import csv, sys
raw = open(sys.argv[1], newline="").read()
assert "\r\n" in raw
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0] == ["id", "path", "kind", "status", "title", "date", "size", "tags", "summary"], rows[0]
assert len(rows) == 6, len(rows)
assert all(len(r) == 9 for r in rows)
tricky = [r for r in rows if r[1].endswith("tricky.md")][0]
assert '"quoted", with commas' in tricky[4], tricky[4]
assert int(tricky[6]) > 0 and tricky[5][:4].isdigit(), tricky
PY

# a query and filters
OUT="$T/out-q"
out=$("$DOSSIER" export --format json "$OUT" kingfishers); rc=$?
check_eq "export with a query exits 0" 0 "$rc"
check_eq "a query exports only what it finds" '["river-article.txt"]' \
  "$(json '[e["path"].rsplit("/",1)[1] for e in d]' "$OUT/index.json" | tr "'" '"')"
OUT="$T/out-k"
"$DOSSIER" export --format json --kind pdf "$OUT" >/dev/null
check_eq "--kind pdf exports the PDF only" '["pdf"]' "$(json '[e["kind"] for e in d]' "$OUT/index.json" | tr "'" '"')"
OUT="$T/out-s"
"$DOSSIER" export --format csv --status unsupported "$OUT" >/dev/null
check_eq "--status unsupported exports the binary file only" 2 "$(python3 -c 'import csv,sys; print(len(list(csv.reader(open(sys.argv[1], newline="")))))' "$OUT/index.csv")"
"$DOSSIER" export --format json --kind spreadsheet "$T/x" >/dev/null 2>"$T/err"; rc=$?
check_eq "an unknown --kind is a usage error" 2 "$rc"
"$DOSSIER" export "$T/x" >/dev/null 2>&1; rc=$?
check_eq "no --format is a usage error" 2 "$rc"
"$DOSSIER" export --format yaml "$T/x" >/dev/null 2>&1; rc=$?
check_eq "an unknown --format is a usage error" 2 "$rc"

# --originals: streamed byte-identical copies in DIR/files/
OUT="$T/out-o"
"$DOSSIER" export --format json --originals "$OUT" >/dev/null; rc=$?
check_eq "export --originals exits 0" 0 "$rc"
check "each original is copied byte for byte" python3 - "$OUT" <<'PY'
import filecmp, json, os, sys
out = sys.argv[1]
idx = json.load(open(os.path.join(out, "index.json")))
assert len(idx) == 5
for e in idx:
    assert e["original"].startswith("files/"), e
    assert filecmp.cmp(e["path"], os.path.join(out, e["original"]), shallow=False), e
PY
check "the copies keep their extension" test -n "$(ls "$OUT/files" | grep '\.pdf$')"
rm "$IN/river-article.txt"
OUT="$T/out-o2"
"$DOSSIER" export --format csv --originals "$OUT" >/dev/null 2>"$T/err"; rc=$?
check_eq "an original that is gone makes exit 1" 1 "$rc"
check_contains "and is named" "river-article.txt" "$(cat "$T/err")"
check_eq "the others are still copied" 4 "$(ls "$OUT/files" | wc -l)"
done_testing
