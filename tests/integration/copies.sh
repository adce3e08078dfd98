#!/usr/bin/env bash
# Two copies of the same content at two paths are one dossier with two paths:
# one search hit, the list shows the second path under the first, show and the
# API answer for either path; when the original changes or is forgotten by
# path the copy keeps the dossier, and rm/prune store document_deleted events.
# Also the filters by parent (documents inside an archive) and by the
# content's own date (a photo's capture time, a mail's date).
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/serve_lib.bash"
export XDG_DATA_HOME=$T/xdg
DB=$T/d.db
d() { "$DOSSIER" "$@" --db "$DB"; }
mkdir -p "$T/f/old"
echo "The harbour renovation budget was approved by the council in May." > "$T/f/budget.txt"
cp "$T/f/budget.txt" "$T/f/old/budget-copy.txt"
echo "A note about gardening: tomatoes need sun and water." > "$T/f/garden.txt"

d analyze --offline "$T/f" > "$T/a1.out" 2>&1
check_eq "first run: exit 0" 0 $?
check_contains "the summary counts the copy" "1 copy of files already known" "$(tail -1 "$T/a1.out")"
d search harbour --json > "$T/s1.json"
check_eq "one search hit for content at two paths" 1 "$(json 'len(d)' "$T/s1.json")"
d list > "$T/l1.out"
check_contains "list shows the second path under the first" "also at $T/f/old/budget-copy.txt" "$(cat "$T/l1.out")"
check_eq "list has one row per dossier (2)" 2 "$(grep -cE '^ +[0-9]+  ' "$T/l1.out")"
d list --json > "$T/l1.json"
check_eq "list --json: the copy is in the original's copies" "$T/f/old/budget-copy.txt" \
  "$(json '[x for x in d if x.get("copies")][0]["copies"][0]["path"]' "$T/l1.json")"
d list --status duplicate > "$T/l2.out"
check_contains "list --status duplicate lists the copy's own row" "the same content as document" "$(cat "$T/l2.out")"
d show --md "$T/f/old/budget-copy.txt" > "$T/show.md" 2> "$T/show.err"
check_eq "show PATH of the copy: exit 0" 0 $?
check_contains "show of the copy says whose dossier it shows" "same content as document" "$(cat "$T/show.err")"
check_contains "show of the copy: the original's title" "# The harbour renovation budget" "$(cat "$T/show.md")"
check_contains "the dossier names the other path" "**Also at:** $T/f/old/budget-copy.txt" "$(cat "$T/show.md")"

d analyze --offline "$T/f" > "$T/a2.out" 2>&1
check_contains "second run: everything unchanged" "unchanged 3" "$(tail -1 "$T/a2.out")"

# the API: one document in the list, the copy's id answers with the dossier
start_server s --db "$DB" -q
curl -s "$URL/api/documents" > "$T/docs.json"
check_eq "/api/documents lists 2 documents, not 3" 2 "$(json 'd["total"] if isinstance(d, dict) and "total" in d else len(d["documents"] if isinstance(d, dict) else d)' "$T/docs.json")"
d list --status duplicate --json > "$T/l2.json"
copy_id=$(json 'd[0]["id"]' "$T/l2.json")
orig_id=$(json 'd[0]["same_as"]' "$T/l2.json")
curl -s "$URL/api/documents/$copy_id" > "$T/copy.json"
check_eq "GET /api/documents/COPY answers with the original's dossier (same_as)" "$orig_id" "$(json 'd.get("same_as")' "$T/copy.json")"
check_contains "... whose title is the original's" "harbour renovation" "$(json 'd.get("title")' "$T/copy.json")"
stop_server "$PID"

# the original's file changes: the copy keeps the dossier, the new text is new
echo "A diary of the lighthouse keeper, winter 1890." > "$T/f/budget.txt"
d analyze --offline "$T/f" > "$T/a3.out" 2>&1
check_eq "after the original changed: exit 0" 0 $?
check_eq "the old content's dossier now lives at the copy's path" "$T/f/old/budget-copy.txt" \
  "$(d search harbour --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["path"])')"
check_eq "the changed file is a document of its own" "$T/f/budget.txt" \
  "$(d search lighthouse --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["path"])')"

# rm PATH of an original with a copy: the copy takes the dossier
cp "$T/f/garden.txt" "$T/f/old/garden-again.txt"
d analyze --offline "$T/f" > /dev/null 2>&1
d rm "$T/f/garden.txt" > "$T/rm1.out" 2>&1
check_contains "rm PATH of an original: its copy keeps the dossier" "now belongs to the copy at $T/f/old/garden-again.txt" "$(cat "$T/rm1.out")"
check_eq "... and search finds it there" "$T/f/old/garden-again.txt" \
  "$(d search tomatoes --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["path"])')"
moved=$(sqlite3 "$DB" "SELECT count(*) FROM events WHERE event = 'document_moved' AND json LIKE '%garden-again%'")
check_eq "rm stored a document_moved event for the move to the copy" 1 "$moved"

# rm ID: the dossier and every path it has; prune: a document whose file is gone
rm_id=$(d search tomatoes --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
d rm "$rm_id" > "$T/rm2.out" 2>&1
check_eq "rm ID: exit 0" 0 $?
check_eq "rm ID: nothing left to find" 0 "$(d search tomatoes --json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
del=$(sqlite3 "$DB" "SELECT count(*) FROM events WHERE event = 'document_deleted' AND document_id = $rm_id")
check_eq "rm ID stored a document_deleted event" 1 "$del"
rm "$T/f/old/budget-copy.txt"
d prune > "$T/prune.out" 2>&1
check_contains "prune forgets the document whose file is gone" "forgot 1 document whose file is gone" "$(cat "$T/prune.out")"
check_eq "prune stored document_deleted events" 1 "$(sqlite3 "$DB" "SELECT count(*) >= 2 FROM events WHERE event = 'document_deleted'")"

# watch: the original's file deleted while a copy is there: the copy takes the dossier
mkdir -p "$T/w"
echo "Swifts nest under the eaves of the old mill every summer." > "$T/w/swifts.txt"
cp "$T/w/swifts.txt" "$T/w/swifts-copy.txt"
"$DOSSIER" watch --offline --settle 0.2 --db "$DB" "$T/w" > /dev/null 2> "$T/watch.err" &
wpid=$!; on_exit "kill $wpid 2>/dev/null"
hit_path() { d search swifts --json 2>/dev/null | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r[0]["path"] if r else "")'; }
for _ in $(seq 1 150); do [ -n "$(hit_path)" ] && break; sleep 0.2; done
check_eq "watch: the two copies are one search hit" 1 "$(d search swifts --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
orig=$(hit_path); other=$T/w/swifts-copy.txt; [ "$orig" = "$other" ] && other=$T/w/swifts.txt
rm "$orig"
for _ in $(seq 1 150); do [ "$(hit_path)" = "$other" ] && break; sleep 0.2; done
check_eq "watch: the original deleted, the dossier moves to the copy (not marked missing)" "$other" "$(hit_path)"
kill -TERM $wpid; wait $wpid

# filters: --parent (the members of an archive), --taken-since/--taken-until
mkdir -p "$T/g/m"
echo "Minutes of the harbour committee." > "$T/g/m/minutes.txt"
echo "Packing list for the sailing trip." > "$T/g/m/packing.txt"
(cd "$T/g/m" && python3 -c "import zipfile; z=zipfile.ZipFile('../bundle.zip','w'); [z.write(n) for n in ('minutes.txt','packing.txt')]")
rm -r "$T/g/m"
ffmpeg -loglevel error -f lavfi -i testsrc=size=160x120 -frames:v 1 "$T/plain.jpg"
python3 - "$T/plain.jpg" "$T/g/photo-2024.jpg" <<'PY'
import struct, sys
# APP1 Exif: IFD0 {ExifIFD pointer} + Exif IFD {DateTimeOriginal}
date = b"2024:07:14 09:30:00\0"
ifd0 = 8; exif = ifd0 + 2 + 12 + 4; val = exif + 2 + 12 + 4
tiff = b"II*\0" + struct.pack("<I", ifd0)
tiff += struct.pack("<H", 1) + struct.pack("<HHII", 0x8769, 4, 1, exif) + struct.pack("<I", 0)
tiff += struct.pack("<H", 1) + struct.pack("<HHII", 0x9003, 2, len(date), val) + struct.pack("<I", 0)
tiff += date
app1 = b"Exif\0\0" + tiff
jpg = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(jpg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpg[2:])
PY
printf 'From: ann@example.org\nTo: bob@example.org\nSubject: Harbour visit\nDate: Tue, 12 May 2026 10:00:00 +0000\n\nSee you at the harbour.\n' > "$T/g/visit.eml"
d analyze --offline "$T/g" > "$T/a4.out" 2>&1
check_eq "the archive, the photo and the mail: exit 0" 0 $?
zip_id=$(d list --json --kind archive | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
d list --parent "$zip_id" --json > "$T/kids.json"
check_eq "list --parent ZIP: its 2 members" "minutes.txt packing.txt" \
  "$(json '" ".join(sorted(x["path"].rsplit("/",1)[-1] if not x.get("name") else x["name"] for x in d))' "$T/kids.json")"
check_eq "search --parent ZIP finds the member, not the other harbour documents" 1 \
  "$(d search harbour --parent "$zip_id" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
d list --taken-since 2024-07 --taken-until 2024-07 --json > "$T/taken.json"
check_eq "list --taken-since/--taken-until 2024-07: the photo taken then" "photo-2024.jpg" \
  "$(json '" ".join(x["path"].rsplit("/",1)[-1] for x in d)' "$T/taken.json")"
check_eq "search --taken-since 2026: the mail of May 2026" "visit.eml" \
  "$(d search harbour --taken-since 2026 --json | python3 -c 'import json,sys; print(" ".join(x["path"].rsplit("/",1)[-1] for x in json.load(sys.stdin)))')"
d list --taken-since 2024-13 > /dev/null 2> "$T/bad.err"
check_eq "a bad --taken-since is a usage error" 2 $?
check_contains "... that names the value" "2024-13" "$(cat "$T/bad.err")"
d list --parent x > /dev/null 2>&1
check_eq "a bad --parent is a usage error" 2 $?
done_testing
