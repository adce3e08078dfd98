#!/usr/bin/env bash
# The offline text path end to end, as the README's first command runs it:
# analyze samples/, search, show --json against the schema, a second run that
# does nothing, moved and changed files, and an interrupted run that resumes.
. "$(dirname "$0")/lib.bash"
S="$SOURCE_DIR/samples"
mkdir -p "$T/in"
cp "$S"/field-notes.md "$S"/solar-report.html "$S"/river-article.txt "$S"/committee-minutes.pdf "$T/in/"

out=$("$DOSSIER" analyze --offline --events "$T/ev1.ndjson" "$T/in" 2>"$T/err1"); rc=$?
check_eq "first analyze exits 0" 0 "$rc"
check_contains "summary counts four analysed" "analysed 4" "$out"
n_done=$(grep -c '"event":"document_done"' "$T/ev1.ndjson")
n_q=$(grep -c '"event":"document_queued"' "$T/ev1.ndjson")
check_eq "each queued document ends with one document_done" "$n_q" "$n_done"
check "event seq strictly increases" python3 -c '
import json,sys
seqs=[json.loads(l)["seq"] for l in open(sys.argv[1])]
sys.exit(0 if all(b>a for a,b in zip(seqs,seqs[1:])) else 1)' "$T/ev1.ndjson"
check "every event has seq, time, event, document" python3 -c '
import json,sys
for l in open(sys.argv[1]):
    e=json.loads(l); assert {"seq","time","event","document"} <= e.keys(), e' "$T/ev1.ndjson"

list=$("$DOSSIER" list)
check_contains "list shows the Markdown note as done" "done        text        $T/in/field-notes.md" "$list"
check_contains "list shows the PDF" "committee-minutes.pdf" "$list"

s=$("$DOSSIER" search kingfishers)
check_contains "search finds the river article by a word in its text" "river-article.txt" "$s"
check_not_contains "search does not return the solar report for that word" "solar-report" "$s"
s=$("$DOSSIER" search renovation)
check_contains "search finds the PDF by its text layer" "committee-minutes.pdf" "$s"
s=$("$DOSSIER" search beekeeping queen)
check_contains "search with two words finds the note" "field-notes.md" "$s"
"$DOSSIER" search analytics >/dev/null; check_eq "HTML script contents are not indexed" 1 "$?"

"$DOSSIER" show "$T/in/solar-report.html" --json > "$T/solar.json"
check "show --json validates against docs/dossier.schema.json" python3 -c '
import json,sys,jsonschema
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' "$T/solar.json" "$SOURCE_DIR/docs/dossier.schema.json"
check_eq "HTML title becomes the dossier title" "Rooftop solar: first year results" "$(json 'd["title"]' "$T/solar.json")"
check_eq "language is English" en "$(json 'd["language"]' "$T/solar.json")"
check_eq "summary comes from the offline TextRank" "offline:textrank" "$(json 'd["sources"]["summary"]' "$T/solar.json")"
check_eq "tags come from the offline keyword extractor" "offline:yake" "$(json 'd["sources"]["tags"]' "$T/solar.json")"
check_contains "entities decoded (euro sign in text)" "€1,210" "$(json 'd["text"]' "$T/solar.json")"
md=$("$DOSSIER" show "$T/in/field-notes.md" --md)
check_contains "Markdown rendering has a summary section" "## Summary" "$md"

# a second run does no work
out=$("$DOSSIER" analyze --offline --events "$T/ev2.ndjson" "$T/in" 2>&1)
check_contains "second run reports all four unchanged" "unchanged 4" "$out"
check_eq "second run starts no step" 0 "$(grep -c '"event":"step_started"' "$T/ev2.ndjson")"

# a moved file keeps its dossier; a changed one is analysed again
id_before=$("$DOSSIER" list --json | python3 -c 'import json,sys; print([d["id"] for d in json.load(sys.stdin) if d["path"].endswith("river-article.txt")][0])')
mv "$T/in/river-article.txt" "$T/in/elsbach.txt"
echo "An added closing sentence about otters returning to the Elsbach." >> "$T/in/field-notes.md"
out=$("$DOSSIER" analyze --offline --events "$T/ev3.ndjson" "$T/in" 2>&1)
check_contains "moved file is recognised" "moved 1" "$out"
id_after=$("$DOSSIER" list --json | python3 -c 'import json,sys; print([d["id"] for d in json.load(sys.stdin) if d["path"].endswith("elsbach.txt")][0])')
check_eq "moved file keeps its document id" "$id_before" "$id_after"
check_contains "moved dossier names the new path" "elsbach.txt" "$("$DOSSIER" show "$id_after" --json)"
check_eq "only the changed file is analysed again" 1 "$(grep -c '"event":"document_done"' "$T/ev3.ndjson")"
check_contains "search finds the new text" "field-notes.md" "$("$DOSSIER" search otters)"

# the same file named twice is one document
mkdir -p "$T/dup"; echo "Lighthouse keepers logged every passing ship in the harbour." > "$T/dup/a.txt"
"$DOSSIER" analyze --offline --events "$T/ev4.ndjson" "$T/dup/a.txt" "$T/dup" "$T/dup/./a.txt" >/dev/null 2>&1
check_eq "a file named three times is queued once" 1 "$(grep -c '"event":"document_queued"' "$T/ev4.ndjson")"

# an interrupted run resumes: kill -9 in the middle of a large folder
mkdir -p "$T/many"
python3 - "$T/many" <<'PY'
import sys, random
random.seed(7)
words = "river meadow flood gravel trout kingfisher village engineer channel restoration farmer cattle".split()
for i in range(60):
    with open(f"{sys.argv[1]}/note{i:03d}.txt", "w") as f:
        for s in range(400):
            f.write(" ".join(random.choice(words) for _ in range(12)).capitalize() + ". ")
PY
"$DOSSIER" analyze --offline --events "$T/ev5.ndjson" "$T/many" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q '"event":"document_done"' "$T/ev5.ndjson" 2>/dev/null && break; sleep 0.05; done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
done_first=$(grep -c '"event":"document_done"' "$T/ev5.ndjson")
"$DOSSIER" analyze --offline --events "$T/ev6.ndjson" "$T/many" >/dev/null 2>&1
check_eq "the resumed run exits 0" 0 "$?"
total=$("$DOSSIER" list --json --status done | python3 -c 'import json,sys; print(sum(1 for d in json.load(sys.stdin) if "/many/" in d["path"]))')
check_eq "after the resume all 60 documents are done" 60 "$total"
done_second=$(grep -c '"event":"document_done"' "$T/ev6.ndjson")
check "nothing finished twice across the two runs ($done_first + $done_second <= 60)" test $((done_first + done_second)) -le 60

done_testing
