#!/usr/bin/env bash
# Archives and child documents: every member of a ZIP or a TAR is a document
# of its own kind with a parent and its place; the same content in two
# archives is one document; nesting stops at 3 levels; a zip bomb stops early;
# member names never choose where bytes go; a damaged archive keeps what came
# before the damage; analysing again queues nothing new.
. "$(dirname "$0")/lib.bash"
export OMP_THREAD_LIMIT=1
S=$SOURCE_DIR/samples
mkdir -p "$T/src/docs" "$T/in"
cp "$S/field-notes.md" "$S/cafe-receipt.png" "$T/src/"
cp "$S/river-article.txt" "$T/src/docs/"
python3 - "$T" <<'PY'
import io, os, sys, tarfile, zipfile
T = sys.argv[1]; src = os.path.join(T, "src"); out = os.path.join(T, "in")
def add_tree(z):
    for root, _, files in os.walk(src):
        for f in files:
            p = os.path.join(root, f); z.write(p, os.path.relpath(p, src))
with zipfile.ZipFile(os.path.join(out, "bundle.zip"), "w", zipfile.ZIP_DEFLATED) as z: add_tree(z)
with tarfile.open(os.path.join(out, "bundle.tar.gz"), "w:gz") as t: t.add(os.path.join(src, "docs"), "docs")
# nesting: level1.zip holds level2.zip holds level3.zip holds level4.zip holds deep.txt
inner = b"The deepest note talks about the harbour at night.\n"
for lvl, name in ((4, "deep.txt"), (3, "level4.zip"), (2, "level3.zip"), (1, "level2.zip")):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z: z.writestr(name, inner)
    inner = b.getvalue()
open(os.path.join(out, "level1.zip"), "wb").write(inner)
# names that try to leave: ../, absolute, NUL-free but odd bytes
with zipfile.ZipFile(os.path.join(out, "escape.zip"), "w") as z:
    z.writestr("../../outside.txt", "A member that wants to be written outside the folder, about ships.\n")
    z.writestr("/etc/evil.txt", "An absolute member name about ferries.\n")
# names that are not UTF-8 (a Windows zip's Latin-1) or hold a NUL: patched into both headers
with zipfile.ZipFile(os.path.join(out, "oddnames.zip"), "w") as z:
    z.writestr("cafX-menu.txt", "A member whose name is Latin-1, about the harbour cafe menu.\n")
    z.writestr("nulYname.txt", "A member whose name holds a NUL byte, about the lighthouse keeper.\n")
b = open(os.path.join(out, "oddnames.zip"), "rb").read()
b = b.replace(b"cafX-menu.txt", b"caf\xe9-menu.txt").replace(b"nulYname.txt", b"nul\x00name.txt")
open(os.path.join(out, "oddnames.zip"), "wb").write(b)
# a zip bomb: 300 MB of zeros in about 300 kB
with zipfile.ZipFile(os.path.join(out, "bomb.zip"), "w", zipfile.ZIP_DEFLATED) as z:
    with z.open("zeros.txt", "w", force_zip64=True) as f:
        chunk = b"\0" * (1 << 20)
        for _ in range(300): f.write(chunk)
# damaged: the first member whole, the rest cut off
with zipfile.ZipFile(os.path.join(T, "whole.zip"), "w") as z:
    z.writestr("first.txt", "The first member survived the damage, it talks about lighthouses.\n")
    z.writestr("second.txt", "x" * 5000)
data = open(os.path.join(T, "whole.zip"), "rb").read()
open(os.path.join(out, "damaged.zip"), "wb").write(data[: data.find(b"second.txt") + 40])
# encrypted members: the "encrypted" flag set on the chosen members' local and central headers
def lock(path, names):
    b = bytearray(open(path, "rb").read())
    for sig, flags, nlen, name in ((b"PK\x03\x04", 6, 26, 30), (b"PK\x01\x02", 8, 28, 46)):
        i = b.find(sig)
        while i >= 0:
            n = int.from_bytes(b[i + nlen:i + nlen + 2], "little")
            if bytes(b[i + name:i + name + n]).decode() in names:
                b[i + flags] |= 1
            i = b.find(sig, i + 4)
    open(path, "wb").write(bytes(b))
def locked_zip(path, members, names):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, t in members: z.writestr(n, t)
    lock(path, names)
locked_zip(os.path.join(out, "locked.zip"), [("open.txt", "The open member talks about tide tables and ferries.\n"),
                                             ("minutes/secret.docx", "x" * 3000)], {"minutes/secret.docx"})
locked_zip(os.path.join(out, "allsecret.zip"), [("a.txt", "alpha " * 100), ("b.pdf", "beta " * 100)], {"a.txt", "b.pdf"})
PY
# a Word document with a photo of a receipt (a child) and a small icon (not one)
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
ffmpeg -loglevel error -f lavfi -i "color=white:s=1600x700,noise=alls=12:allf=t" -frames:v 1 \
  -vf "drawtext=fontfile=$FONT:text='Invoice 4711 total 98 EUR':fontsize=80:fontcolor=black:x=60:y=300" "$T/photo.png"
ffmpeg -loglevel error -f lavfi -i color=red:s=16x16 -frames:v 1 "$T/icon.png"
python3 - "$T" "$SOURCE_DIR/tests" <<'PY'
import os, sys
sys.path.insert(0, sys.argv[2]); import formats_fixtures as ff
T = sys.argv[1]
ff.docx(os.path.join(T, "in", "report.docx"), ff.para("Quarterly report", "Title") + ff.para("The receipt is attached as a photo."),
        extra=[("word/media/image1.png", open(os.path.join(T, "photo.png"), "rb").read()),
               ("word/media/image2.png", open(os.path.join(T, "icon.png"), "rb").read())])
PY
"$DOSSIER" analyze --offline --db "$T/d.db" --events "$T/e.ndjson" "$T/in" > "$T/out" 2>&1; rc=$?
check "analyze ends (0 or 1), exit $rc" test "$rc" -le 1
L="$T/list.json"; "$DOSSIER" list --db "$T/d.db" --json > "$L"
q() { python3 - "$T/d.db" "$1" <<'PY'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1]); r = con.execute(sys.argv[2]).fetchall()
print("\n".join("|".join("" if v is None else str(v) for v in row) for row in r))
PY
}
zip=$(q "SELECT id FROM documents WHERE path LIKE '%/in/bundle.zip'")
check_eq "the zip is an archive" "archive|done" "$(q "SELECT kind, status FROM documents WHERE id=$zip")"
check_eq "each member is a document of its kind" "image|text|text" "$(q "SELECT kind FROM documents WHERE place IN ('cafe-receipt.png','field-notes.md','docs/river-article.txt') ORDER BY kind, id" | head -3 | paste -sd'|')"
check_eq "a member's name is its file name" "river-article.txt" "$(q "SELECT name FROM documents WHERE place='docs/river-article.txt'")"
"$DOSSIER" show --db "$T/d.db" --json "$zip" > "$T/zip.json"
check_eq "the archive's dossier lists its 3 members" "3" "$(json 'len(d["children"])' "$T/zip.json")"
check_contains "and says what it holds" "ZIP archive of 3 files" "$(json 'd["summary"]' "$T/zip.json")"
river=$(q "SELECT id FROM documents WHERE place='docs/river-article.txt'")
check_contains "show lists what is inside the archive" "docs/river-article.txt (text, document $river)" "$("$DOSSIER" show --db "$T/d.db" "$zip")"
check_contains "show says where a member is" "as docs/river-article.txt" "$("$DOSSIER" show --db "$T/d.db" "$river")"
"$DOSSIER" show --db "$T/d.db" --json "$river" > "$T/river.json"
check_eq "a member's dossier names its parent and place" "docs/river-article.txt" "$(json 'd["parent"]["place"]' "$T/river.json")"
check_eq "a member is analysed like a file" "Restoring a river, one meander at a time" "$(json 'd["title"]' "$T/river.json")"
check_eq "the same content in the zip and the tar is one document" "1" "$(q "SELECT count(*) FROM documents WHERE place='docs/river-article.txt'")"
check_contains "members are found by search" "river" "$("$DOSSIER" search --db "$T/d.db" meander 2>&1)"
check_eq "nesting: three levels are unpacked" "1" "$(q "SELECT count(*) FROM documents WHERE place='level4.zip'")"
check_eq "the fourth is recorded, not unpacked" "0" "$(q "SELECT count(*) FROM documents WHERE place='deep.txt'")"
check_contains "and its dossier says why" "deeper than 3 levels" "$(q "SELECT json FROM dossiers d JOIN documents x ON x.id=d.document_id WHERE x.place='level4.zip'")"
check "member names never choose a path: nothing was written outside" test ! -e "$T/outside.txt" -a ! -e /etc/evil.txt
check_eq "the odd names are members like any other" "2" "$(q "SELECT count(*) FROM documents WHERE place IN ('../../outside.txt','/etc/evil.txt')")"
check_eq "a Latin-1 member name: the member is analysed" done "$(q "SELECT status FROM documents WHERE hex(place) = '636166E92D6D656E752E747874'")"
out=$("$DOSSIER" list --db "$T/d.db" 2>&1)
check_contains "a Latin-1 member name is shown escaped, not dropped" 'caf\xe9-menu.txt' "$out"
check_contains "list says a member was found inside another document" "inside document" "$out"
check "list calls no member an upload" test "$(grep -c "uploaded as" <<< "$out")" = 0
check_eq "a member name with a NUL: the member is still a document, done" 1 "$(q "SELECT count(*) FROM documents WHERE status = 'done' AND place LIKE 'nul%'")"
bomb=$(q "SELECT id FROM documents WHERE path LIKE '%/in/bomb.zip'")
"$DOSSIER" show --db "$T/d.db" --json "$bomb" > "$T/bomb.json"
check_contains "the zip bomb stops early and says so" "zip bomb" "$(json '[n["message"] for n in d.get("notes", [])]' "$T/bomb.json")"
used=$(du -sk "$T" | cut -f1)
check "the bomb did not fill the disk (work dir ${used} kB < 200 MB)" test "$used" -lt 204800
dmg=$(q "SELECT id FROM documents WHERE path LIKE '%/in/damaged.zip'")
check_eq "a damaged archive keeps the member before the damage" "1" "$(q "SELECT count(*) FROM documents WHERE place='first.txt' AND parent_id=$dmg")"
check "no unpacked member is left in the work folder" test -z "$(ls "$T/tmp" 2>/dev/null)"
docx=$(q "SELECT id FROM documents WHERE path LIKE '%/in/report.docx'")
check_eq "a Word document is read as one" "office|done" "$(q "SELECT kind, status FROM documents WHERE id=$docx")"
check_eq "its embedded photo is a child image" "image|word/media/image1.png" "$(q "SELECT kind, place FROM documents WHERE parent_id=$docx")"
check_contains "and is read by OCR like any image" "4711" "$(q "SELECT json FROM dossiers d JOIN documents x ON x.id=d.document_id WHERE x.place='word/media/image1.png'")"
check_eq "a small icon is not a document" "0" "$(q "SELECT count(*) FROM documents WHERE place='word/media/image2.png'")"
# encrypted members and an encrypted archive: a status of their own, and what to do
lz=$(q "SELECT id FROM documents WHERE path LIKE '%/in/locked.zip'")
check_eq "a zip with one encrypted member is done" "archive|done" "$(q "SELECT kind, status FROM documents WHERE id=$lz")"
check_eq "its open member is read" "text|done" "$(q "SELECT kind, status FROM documents WHERE parent_id=$lz AND place='open.txt'")"
check_eq "its encrypted member is a child with the status encrypted, of the kind its name says" "office|encrypted" \
  "$(q "SELECT kind, status FROM documents WHERE parent_id=$lz AND place='minutes/secret.docx'")"
msg=$(q "SELECT error FROM documents WHERE parent_id=$lz AND place='minutes/secret.docx'")
check_contains "the member's message says it is password-protected" "password-protected" "$msg"
check_contains "and what to do" "extract it from the archive with its password and analyse the extracted copy" "$msg"
check_contains "and names the archive" "locked.zip" "$msg"
check_contains "show says so" "is encrypted: minutes/secret.docx in $T/in/locked.zip" \
  "$("$DOSSIER" show --db "$T/d.db" "$(q "SELECT id FROM documents WHERE place='minutes/secret.docx'")" 2>&1)"
az=$(q "SELECT id FROM documents WHERE path LIKE '%/in/allsecret.zip'")
check_eq "a zip whose every member is encrypted is encrypted" "archive|encrypted" "$(q "SELECT kind, status FROM documents WHERE id=$az")"
"$DOSSIER" show --db "$T/d.db" --json "$az" > "$T/az.json"
check_contains "its dossier says what to do" "extract it with its password" "$(json 'd["errors"][0]["message"]' "$T/az.json")"
check_eq "its members are listed under it, each encrypted" "a.txt encrypted|b.pdf encrypted" \
  "$(q "SELECT place || ' ' || status FROM documents WHERE parent_id=$az ORDER BY place" | paste -sd'|')"
check_eq "list --status encrypted finds the four (a member, the archive and its two)" "4" "$("$DOSSIER" list --db "$T/d.db" --status encrypted --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
check "an encrypted member is not taken for gone by prune (its record has a file)" test -e "$(q "SELECT path FROM documents WHERE place='minutes/secret.docx'")"
n1=$(q "SELECT count(*) FROM documents")
"$DOSSIER" analyze --offline --db "$T/d.db" "$T/in" > "$T/out2" 2>&1
check_eq "analysing again adds no document" "$n1" "$(q "SELECT count(*) FROM documents")"
check_contains "and everything is unchanged (the encrypted ones are not tried again)" "analysed 0" "$(cat "$T/out2")"
check_eq "the encrypted archive keeps its status" "encrypted" "$(q "SELECT status FROM documents WHERE id=$az")"
# the archive changes (now one member is open): it is tried again
python3 - "$T/in/allsecret.zip" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "a") as z: z.writestr("c.txt", "Now one member is open, about lighthouse keepers.\n")
PY
"$DOSSIER" analyze --offline --db "$T/d.db" "$T/in" > "$T/out3" 2>&1
check_eq "a changed encrypted archive is tried again" "done" "$(q "SELECT status FROM documents WHERE id=$az")"
check_eq "and its open member is read" "text|done" "$(q "SELECT kind, status FROM documents WHERE parent_id=$az AND place='c.txt'")"
done_testing
