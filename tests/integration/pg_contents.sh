#!/usr/bin/env bash
# A library on PostgreSQL keeps the documents' bytes: a worker that cannot
# open the paths the files were queued from (another machine) gets them from
# the database, checked against their hash; an archive's members too. And an
# offline run on PostgreSQL finishes every document (two lanes settling a
# document's last steps at once). Needs the CTest fixture pg.
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/pg_lib.bash"

# --- offline on PostgreSQL: every document finished ---------------------------
mkdir -p "$T/notes"
for i in $(seq 1 40); do
  printf '# Note %d\n\nThe ferry to the island leaves at %d:15. Bring the permit number %d.\n' "$i" $((i % 12 + 7)) $((i * 31)) > "$T/notes/n$i.md"
done
DB=$(pg_db dossier_it_offline) || skip_all "cannot create a database on $PG_URL"
"$DOSSIER" analyze --offline --quiet --db "$DB" "$T/notes" > "$T/off.out" 2>&1; rc=$?
check_eq "offline analyze on PostgreSQL: exit 0" 0 "$rc"
check_eq "offline on PostgreSQL: all 40 documents done" 40 "$(sql "$DB" "SELECT count(*) FROM documents WHERE status = 'done'")"
check_contains "search on PostgreSQL: stemmed words find the notes" "n7.md" "$("$DOSSIER" search --db "$DB" --limit 50 permits)"

# --- a worker on "another machine": the files are not where they were queued ---
mkdir -p "$T/inbox/sub"
for i in $(seq 1 6); do printf 'Invoice %d for the harbour crane, %d EUR.\n' "$i" $((i * 120)) > "$T/inbox/i$i.txt"; done
printf 'Inside the archive: the crane was serviced on 3 May.\n' > "$T/inbox/sub/service.txt"
printf 'Inside the archive: the second crane needs new cables.\n' > "$T/inbox/sub/cables.txt"
python3 - "$T/inbox" <<'PY'
import sys, zipfile
d = sys.argv[1]
with zipfile.ZipFile(d + "/crane.zip", "w") as z:
    for n in ("service.txt", "cables.txt"):
        z.write(d + "/sub/" + n, n)
PY
rm -r "$T/inbox/sub"
DB2=$(pg_db dossier_it_contents)
"$DOSSIER" analyze --no-work --quiet --db "$DB2" --data-dir "$T/here" "$T/inbox" > "$T/q.out" 2>&1
check_contains "queued the files" "queued 7 document(s)" "$(cat "$T/q.out")"
check_eq "the database keeps each file's bytes" 7 "$(sql "$DB2" "SELECT count(*) FROM content_files")"
mv "$T/inbox" "$T/gone"
DOSSIER_HOST=elsewhere "$DOSSIER" worker --offline --until-idle --quiet --db "$DB2" --data-dir "$T/there" > "$T/w.out" 2>&1; rc=$?
check_eq "the worker elsewhere: exit 0" 0 "$rc"
check_eq "the worker analysed every file from the database's copy (7 + 2 members)" 9 \
  "$(sql "$DB2" "SELECT count(*) FROM documents WHERE status = 'done'")"
check_contains "a member of the archive is found" "cables" "$("$DOSSIER" search --db "$DB2" cables)"
check_eq "the fetched copies are removed after their steps" "" "$(ls -A "$T/there/fetched" 2>/dev/null)"

# --- damaged bytes in the database: a clear error, the others go on -------------
mv "$T/gone" "$T/inbox2"
printf 'A letter about the lighthouse keeper.\n' > "$T/inbox2/letter.txt"
printf 'A memo about the pilot boat.\n' > "$T/inbox2/memo.txt"
DB3=$(pg_db dossier_it_damaged)
"$DOSSIER" analyze --no-work --quiet --db "$DB3" "$T/inbox2/letter.txt" "$T/inbox2/memo.txt" > /dev/null 2>&1
sha=$(sha256sum "$T/inbox2/letter.txt" | cut -d' ' -f1)
sql "$DB3" "UPDATE contents SET data = convert_to('tampered', 'UTF8') WHERE sha256 = '$sha'" > /dev/null
mv "$T/inbox2" "$T/gone2"
DOSSIER_HOST=elsewhere "$DOSSIER" worker --offline --until-idle --quiet --db "$DB3" --data-dir "$T/there2" \
  --events "$T/d.ndjson" > "$T/d.out" 2>&1
check_contains "the damaged content is named, with what to do" "does not match its checksum" "$(cat "$T/d.ndjson")"
check_eq "the other document is done" done "$(sql "$DB3" "SELECT status FROM documents WHERE path LIKE '%memo.txt'")"
check_eq "the damaged one is not" 0 "$(sql "$DB3" "SELECT count(*) FROM documents WHERE path LIKE '%letter.txt' AND status = 'done'")"

done_testing
