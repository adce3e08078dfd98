#!/usr/bin/env bash
# The library over time, offline: what `list` shows (title, date, size, a
# missing file), filters that refuse unknown values, search filters and the
# query language (phrases, OR, prefixes, -word, hostile input), `rm` (frames
# and all), a file that comes back, `prune` (--dry-run first), and the same
# over HTTP: /api/search and /api/documents filters, DELETE of an upload.
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/serve_lib.bash"
export OMP_THREAD_LIMIT=1
S="$SOURCE_DIR/samples"
DATA=$(data_dir_of)
mkdir -p "$T/in"
cp "$S"/field-notes.md "$S"/river-article.txt "$S"/committee-minutes.pdf "$S"/harbour-tour.mp4 "$T/in/"
"$DOSSIER" analyze --offline "$T/in" > "$T/a1.out" 2>&1
check_eq "analyze exits 0" 0 "$?"
today=$(date +%F)
tomorrow=$(date -d tomorrow +%F)
yesterday=$(date -d yesterday +%F)

# ------------------------------------------------------------------ list
list=$("$DOSSIER" list)
check_contains "list has a header with the new columns" "MODIFIED" "$list"
check_contains "list shows the file's date" "$today" "$list"
check_contains "list shows the size" "1.3 kB" "$list"
check_contains "list shows the dossier's title" "Restoring a river, one meander at a time" "$list"
check_not_contains "no file is missing yet" "missing" "$list"
"$DOSSIER" list --json > "$T/list.json"
check_eq "list --json has the title" "Library renovation committee minutes" \
  "$(json '[x["title"] for x in d if x["kind"]=="pdf"][0]' "$T/list.json")"
check_eq "list --json says no file is missing" "[False, False, False, False]" "$(json '[x["missing"] for x in d]' "$T/list.json")"
out=$("$DOSSIER" list --status bogus 2>&1); rc=$?
check_eq "list --status bogus is a usage error" 2 "$rc"
check_contains "the message lists the statuses" "queued, running, assembling, done, partial, failed, encrypted, unsupported" "$out"
out=$("$DOSSIER" list --kind pfd 2>&1); rc=$?
check_eq "list --kind pfd is a usage error" 2 "$rc"
check_contains "the message lists the kinds from the kind table" "text, pdf, image, audio, video, office" "$out"
check_contains "list --kind pdf keeps the PDF" "committee-minutes.pdf" "$("$DOSSIER" list --kind pdf)"
check_not_contains "list --kind pdf drops the rest" "field-notes" "$("$DOSSIER" list --kind pdf)"
check_contains "a filter keeping nothing says so" "no documents match" "$("$DOSSIER" list --kind image)"

# ------------------------------------------------------------------ search filters
s=$("$DOSSIER" search --kind pdf renovation)
check_contains "search --kind pdf finds the PDF" "committee-minutes.pdf" "$s"
"$DOSSIER" search --kind text renovation >/dev/null; check_eq "search --kind text renovation finds nothing (exit 1)" 1 "$?"
out=$("$DOSSIER" search --kind pfd renovation 2>&1); rc=$?
check_eq "search --kind pfd is a usage error" 2 "$rc"
check_contains "it names the valid kinds" "unsupported" "$out"
check_contains "search --since today finds it" "committee-minutes.pdf" "$("$DOSSIER" search --since "$today" renovation)"
check_contains "search --until today (the whole day) finds it" "committee-minutes.pdf" "$("$DOSSIER" search --until "$today" renovation)"
"$DOSSIER" search --since "$tomorrow" renovation >/dev/null; check_eq "search --since tomorrow finds nothing" 1 "$?"
"$DOSSIER" search --until "$yesterday" renovation >/dev/null; check_eq "search --until yesterday finds nothing" 1 "$?"
out=$("$DOSSIER" search --since 12/05/2026 renovation 2>&1); rc=$?
check_eq "a date that is not ISO is a usage error" 2 "$rc"
check_contains "the message shows the date form" "YYYY-MM-DD" "$out"
"$DOSSIER" show --json "$T/in/field-notes.md" > "$T/notes.json"
tag=$(json 'd["tags"][0]' "$T/notes.json")
lang=$(json 'd["language"]' "$T/notes.json")
check_contains "search --tag keeps the dossier with that tag" "field-notes.md" "$("$DOSSIER" search --tag "${tag^^}" bees OR beekeeping OR hive)"
"$DOSSIER" search --tag no-such-tag beekeeping >/dev/null; check_eq "search --tag of no dossier finds nothing" 1 "$?"
check_contains "search --lang $lang keeps it" "field-notes.md" "$("$DOSSIER" search --lang "$lang" beekeeping)"
"$DOSSIER" search --lang xx beekeeping >/dev/null; check_eq "search --lang xx finds nothing" 1 "$?"
"$DOSSIER" search --json --kind pdf renovation > "$T/s.json"
check_eq "search --json carries the kind" pdf "$(json 'd[0]["kind"]' "$T/s.json")"
check_contains "search --json snippet marks the word" "[renovation]" "$(json 'd[0]["snippet"]' "$T/s.json")"

# ------------------------------------------------------------------ query language
check_contains "a phrase matches" "river-article.txt" "$("$DOSSIER" search '"stone channel"')"
"$DOSSIER" search '"channel stone"' >/dev/null; check_eq "the words in another order are not the phrase" 1 "$?"
s=$("$DOSSIER" search renovation OR kingfishers)
check_contains "OR finds one" "committee-minutes.pdf" "$s"
check_contains "OR finds the other" "river-article.txt" "$s"
check_contains "a prefix matches" "committee-minutes.pdf" "$("$DOSSIER" search renov*)"
"$DOSSIER" search -- renovation -committee >/dev/null; check_eq "-word leaves out a dossier with that word" 1 "$?"
for q in '"' '(' ')' 'NEAR(' 'NEAR(a b' '*' '-' ':' '^' '+' 'OR' 'AND NOT' 'a OR' 'title:x' '{a b}: c' '"unclosed' "'" '\'; do
  out=$("$DOSSIER" search -- "$q" 2>&1); rc=$?
  case $rc in 0|1|2) ok "hostile query '$q' exits $rc" ;; *) bad "hostile query '$q' exits $rc: $out" ;; esac
  check_not_contains "hostile query '$q' shows no FTS5 error" "fts5" "$out"
done
check_contains "help documents the query syntax" '"river warden"' "$("$DOSSIER" search --help)"

# ------------------------------------------------------------------ rm
sha=$("$DOSSIER" show --json "$T/in/harbour-tour.mp4" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sha256"])')
check "the video's frames are kept under the data dir" test -d "$DATA/frames/$sha"
out=$("$DOSSIER" rm "$T/in/harbour-tour.mp4"); rc=$?
check_eq "rm PATH exits 0" 0 "$rc"
check_contains "rm says what it removed" "forgot" "$out"
check_contains "rm counts the frames" "frame file" "$out"
check "the frames are gone" test ! -e "$DATA/frames/$sha"
check "the user's own file stays" test -f "$T/in/harbour-tour.mp4"
"$DOSSIER" show "$T/in/harbour-tour.mp4" >/dev/null 2>&1; check_eq "the video is unknown now" 1 "$?"
"$DOSSIER" search harbour >/dev/null 2>&1; check_eq "and not found by search" 1 "$?"
out=$("$DOSSIER" rm 999 2>&1); rc=$?
check_eq "rm of an unknown id exits 1" 1 "$rc"
check_contains "the message names it" "999" "$out"
id_pdf=$(json '[x["id"] for x in d if x["kind"]=="pdf"][0]' "$T/list.json")
out=$("$DOSSIER" rm /no/such/file "$id_pdf" 2>&1); rc=$?
check_eq "rm with one unknown exits 1" 1 "$rc"
check_contains "the known one is forgotten all the same" "forgot $id_pdf" "$out"
"$DOSSIER" rm >/dev/null 2>&1; check_eq "rm without arguments exits 2" 2 "$?"

# ------------------------------------------------------------------ missing, and back
missing_at() { python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT missing_at IS NOT NULL FROM documents WHERE path=?", (sys.argv[2],)).fetchone()[0])' "$DOSSIER_DB" "$1"; }
mv "$T/in/river-article.txt" "$T/river.bak"
list=$("$DOSSIER" list)
check_contains "list marks the gone file missing" "river-article.txt  (missing since $today)" "$list"
check_eq "list recorded it (missing_at)" 1 "$(missing_at "$T/in/river-article.txt")"
check_contains "list --missing shows it" "river-article.txt" "$("$DOSSIER" list --missing)"
check_not_contains "list --missing shows only it" "field-notes" "$("$DOSSIER" list --missing)"
mv "$T/river.bak" "$T/in/river-article.txt"
"$DOSSIER" analyze --offline "$T/in" > "$T/a2.out" 2>&1
check_eq "analyze seeing the file again clears missing_at" 0 "$(missing_at "$T/in/river-article.txt")"
mv "$T/in/river-article.txt" "$T/river.bak"
"$DOSSIER" list >/dev/null
mv "$T/river.bak" "$T/in/river-article.txt"
check_not_contains "list clears the mark when the file is back" "missing" "$("$DOSSIER" list)"
check_eq "in the database too" 0 "$(missing_at "$T/in/river-article.txt")"

# ------------------------------------------------------------------ prune
rm "$T/in/river-article.txt"
n_before=$("$DOSSIER" list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
out=$("$DOSSIER" prune --dry-run); rc=$?
check_eq "prune --dry-run exits 0" 0 "$rc"
check_contains "prune --dry-run lists the gone file" "would forget" "$out"
check_contains "prune --dry-run names it" "river-article.txt" "$out"
check_eq "prune --dry-run changes nothing" "$n_before" "$("$DOSSIER" list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
out=$("$DOSSIER" prune); rc=$?
check_eq "prune exits 0" 0 "$rc"
check_contains "prune says what it forgot" "forgot 1 document whose file is gone" "$out"
check_not_contains "the pruned document is not listed" "river-article" "$("$DOSSIER" list)"
check_contains "the present ones stay" "field-notes.md" "$("$DOSSIER" list)"
check_contains "a second prune finds nothing" "0 documents whose file is gone" "$("$DOSSIER" prune --dry-run)"
"$DOSSIER" prune extra >/dev/null 2>&1; check_eq "prune with an argument exits 2" 2 "$?"

# ------------------------------------------------------------------ over HTTP
start_server lib --offline || { bad "server starts"; done_testing; exit 1; }
printf 'Otters returned to the Elsbach in the winter of 2025.\n' > "$T/otters.txt"
curl -s -F "file=@$T/otters.txt" "$URL/api/documents" > "$T/up.json"
uid=$(json 'd["id"]' "$T/up.json"); upath=$(json 'd["path"]' "$T/up.json")
wait_doc "$URL" "$uid" >/dev/null
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
check_eq "search with a kind filter answers 200" 200 "$(code "$URL/api/search?q=otters&kind=text")"
check_contains "search with a kind filter finds the upload" "\"id\": $uid" "$(curl -s "$URL/api/search?q=otters&kind=text" | python3 -m json.tool)"
check_contains "search results carry the document's name" '"name": "' "$(curl -s "$URL/api/search?q=otters" | python3 -m json.tool)"
check_eq "a kind filter of the other kind finds nothing" 0 "$(curl -s "$URL/api/search?q=otters&kind=pdf" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["results"]))')"
check_eq "kind=bogus is 400" 400 "$(code "$URL/api/search?q=otters&kind=bogus")"
check_contains "the 400 names the valid kinds" "text, pdf" "$(curl -s "$URL/api/search?q=otters&kind=bogus")"
check_eq "status=bogus is 400" 400 "$(code "$URL/api/search?q=otters&status=bogus")"
check_eq "since=bad is 400" 400 "$(code "$URL/api/search?q=otters&since=yesterday")"
check_eq "an empty range is 400" 400 "$(code "$URL/api/search?q=otters&since=2026-05-12&until=2026-05-01")"
check_eq "lang=en&since=$today answers 200" 200 "$(code "$URL/api/search?q=otters&lang=en&since=$today&until=$today")"
check_eq "POST /api/search takes the filters" 0 "$(curl -s -H 'Content-Type: application/json' -d '{"q":"otters","kind":"pdf"}' "$URL/api/search" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["results"]))')"
check_eq "POST /api/search refuses a bad kind" 400 "$(code -H 'Content-Type: application/json' -d '{"q":"otters","kind":"nope"}' "$URL/api/search")"
for q in '%22' '(' 'NEAR(' '*' '-' ':' '%5E' '%22%22' 'a%20OR'; do
  c=$(code "$URL/api/search?q=$q")
  case $c in 200|400) ok "hostile q=$q answers $c" ;; *) bad "hostile q=$q answers $c" ;; esac
done
check_eq "/api/documents?kind=bogus is 400" 400 "$(code "$URL/api/documents?kind=bogus")"
check_eq "/api/documents?kind=text&status=done counts the text documents" 2 "$(curl -s "$URL/api/documents?kind=text&status=done" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')"
check_contains "/api/documents carries titles" '"title"' "$(curl -s "$URL/api/documents?kind=text")"
check_eq "a cross-site DELETE is refused" 403 "$(code -X DELETE -H 'Origin: http://evil.example' "$URL/api/documents/$uid")"
check "and the upload is still there" test -f "$upath"
check_eq "DELETE answers 204" 204 "$(code -X DELETE "$URL/api/documents/$uid")"
check "the uploaded file is gone" test ! -e "$upath"
check_eq "DELETE again is 404" 404 "$(code -X DELETE "$URL/api/documents/$uid")"
stop_server "$PID"
done_testing
