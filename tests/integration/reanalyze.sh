#!/usr/bin/env bash
# Re-analysis: results the offline analysers made are asked of the model once
# one is reachable; another model re-runs the model steps of its role only;
# an unchanged configuration asks nothing; a failed re-analysis keeps the
# earlier result; `dossier reanalyze ID|PATH` and `--full`.
. "$(dirname "$0")/lib.bash"
: "${OLLAMA_STUB:?run through ctest}"

"$OLLAMA_STUB" --listen 127.0.0.1:0 > "$T/stub.out" 2> "$T/stub.err" &
STUB=$!
on_exit "kill $STUB 2>/dev/null"
for _ in $(seq 1 100); do grep -q '^listening on' "$T/stub.out" && break; sleep 0.05; done
URL=http://$(sed -n 's/^listening on //p' "$T/stub.out")
export DEV_MODE=1 OMP_THREAD_LIMIT=1
chats() { curl -s "$URL/_stub/requests" | python3 -c 'import json,sys; print(sum(r["path"] == "/api/chat" and bool((r.get("body") or {}).get("messages")) for r in json.load(sys.stdin)))'; }
field() { "$DOSSIER" show --db "$T/d.db" --json "$1" | python3 -c "import json,sys; d=json.load(sys.stdin); print($2)"; }

mkdir -p "$T/f"
for i in 1 2 3; do
  printf '# Harbour note %d\n\nThe pilot boat waited at the pier while the tide rose. The harbour master counted %d ships before noon and wrote the numbers in the log.\n' $i $((i*4)) > "$T/f/note$i.md"
done
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
ffmpeg -loglevel error -f lavfi -i color=white:s=1200x300 -frames:v 1 \
  -vf "drawtext=fontfile=$FONT:text='Invoice 7 total 42 EUR':fontsize=60:fontcolor=black:x=40:y=100" "$T/f/invoice.png"

# and a zip holding a note: its member is a document of its own
mkdir -p "$T/z"
printf '# Ferry log\n\nThe morning ferry left late because of fog over the harbour. The captain waited for the pilot.\n' > "$T/z/ferry.md"
(cd "$T/z" && python3 -c 'import zipfile; z = zipfile.ZipFile("../f/logs.zip", "w"); z.write("ferry.md"); z.close()')

# 1. offline first
"$DOSSIER" analyze --offline --db "$T/d.db" "$T/f" > "$T/o1.out" 2>&1
check_eq "offline run analyses the 4 files and the zip" 0 $?
id1=$("$DOSSIER" list --db "$T/d.db" --json | python3 -c 'import json,sys; print([d["id"] for d in json.load(sys.stdin) if d["path"].endswith("note1.md")][0])')
idimg=$("$DOSSIER" list --db "$T/d.db" --json | python3 -c 'import json,sys; print([d["id"] for d in json.load(sys.stdin) if d["path"].endswith(".png")][0])')
check_eq "offline: the summary is the offline analysers'" "offline:textrank" "$(field "$id1" 'd["sources"]["summary"]')"
check_eq "offline: the step says who made it" "offline" "$(field "$id1" 'd["timings"]["analyze_text"]["made_by"]["engine"]')"

# 2. a model is reachable now: the offline results are due again, and say so
OLLAMA_HOST=$URL "$DOSSIER" analyze --db "$T/d.db" --events "$T/e2.ndjson" "$T/f" > "$T/o2.out" 2>&1
check_eq "with a model: exit 0" 0 $?
check_contains "analyze says how many it analyses again (the zip's member too)" "reanalysed 5" "$(cat "$T/o2.out")"
idz=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT id FROM documents WHERE place = ?", ("ferry.md",)).fetchone()[0])' "$T/d.db")
check_eq "the member's summary is the model's now" "ollama:llama3.2:3b" "$(field "$idz" 'd["sources"]["summary"]')"
check_contains "and why" "analysed by another engine or model, or offline" "$(cat "$T/o2.out")"
check_eq "the summary is the model's now" "ollama:llama3.2:3b" "$(field "$id1" 'd["sources"]["summary"]')"
check_eq "made_by names engine and model" "ollama llama3.2:3b" "$(field "$id1" 'd["timings"]["analyze_text"]["made_by"]["engine"]+" "+d["timings"]["analyze_text"]["made_by"]["model"]')"
check_eq "the image's description is the vision model's" "ollama:llava:latest" "$(field "$idimg" 'd["sources"]["image.description"]')"
steps_run() { python3 -c 'import json,sys; print(",".join(sorted(set(e["step"] for e in map(json.loads, open(sys.argv[1])) if e["event"]=="step_finished"))))' "$1"; }
check_eq "only the model steps ran again (no extraction, no OCR)" "analyze_text,describe_image" "$(steps_run "$T/e2.ndjson")"

# 3. nothing changed: nothing is asked
n0=$(chats)
OLLAMA_HOST=$URL "$DOSSIER" analyze --db "$T/d.db" "$T/f" > "$T/o3.out" 2>&1
check_eq "same configuration: exit 0" 0 $?
check_eq "same configuration: no request to the model" "$n0" "$(chats)"
check_not_contains "same configuration: nothing reanalysed" "reanalysed" "$(cat "$T/o3.out")"
check_contains "same configuration: all unchanged" "unchanged 5" "$(cat "$T/o3.out")"

# 4. another text model: the text documents only
OLLAMA_HOST=$URL "$DOSSIER" analyze --db "$T/d.db" --text-model qwen3:4b "$T/f" > "$T/o4.out" 2>&1
check_eq "another text model: exit 0" 0 $?
check_contains "another text model: the 3 notes and the member, not the image" "reanalysed 4" "$(cat "$T/o4.out")"
check_eq "another text model made the summary" "ollama:qwen3:4b" "$(field "$id1" 'd["sources"]["summary"]')"

# 5. --reanalyze none keeps every result
n0=$(chats)
OLLAMA_HOST=$URL "$DOSSIER" analyze --db "$T/d.db" --reanalyze none "$T/f" > "$T/o5.out" 2>&1
check_eq "--reanalyze none: no request" "$n0" "$(chats)"
check_eq "--reanalyze none: the summary stays qwen3's" "ollama:qwen3:4b" "$(field "$id1" 'd["sources"]["summary"]')"
"$DOSSIER" analyze --db "$T/d.db" --reanalyze sometimes "$T/f" > "$T/o5b.out" 2>&1
check_eq "--reanalyze with a bad value is a usage error" 2 $?

# 6. an offline run never replaces a model's results with the offline analysers'
"$DOSSIER" analyze --offline --db "$T/d.db" "$T/f" > "$T/o6.out" 2>&1
check_eq "offline after a model: the model's summary stays" "ollama:qwen3:4b" "$(field "$id1" 'd["sources"]["summary"]')"

# 7. a re-analysis that fails keeps the earlier result
title_before=$(field "$id1" 'd["title"]')
OLLAMA_HOST=$URL "$DOSSIER" analyze --db "$T/d.db" --text-model notpulled:1b "$T/f/note1.md" > "$T/o7.out" 2>&1
check_eq "failed re-analysis: the document is still done" "done" "$(field "$id1" 'd["status"]')"
check_eq "failed re-analysis: the earlier title is kept" "$title_before" "$(field "$id1" 'd["title"]')"
check_contains "failed re-analysis: the dossier says why" "not pulled" "$(field "$id1" 'd["timings"]["analyze_text"].get("kept","")')"

# 8. dossier reanalyze ID / PATH / --full / unknown
n0=$(chats)
OLLAMA_HOST=$URL "$DOSSIER" reanalyze --db "$T/d.db" --events "$T/e8.ndjson" "$id1" > "$T/o8.out" 2>&1
check_eq "reanalyze ID: exit 0" 0 $?
check_eq "reanalyze ID: one request to the model" "$((n0 + 1))" "$(chats)"
check_eq "reanalyze ID: only the model step ran" "analyze_text" "$(python3 -c 'import json,sys; print(",".join(e["step"] for e in map(json.loads, open(sys.argv[1])) if e["event"]=="step_finished"))' "$T/e8.ndjson")"
check_eq "reanalyze ID: the configured model made it" "ollama:llama3.2:3b" "$(field "$id1" 'd["sources"]["summary"]')"
OLLAMA_HOST=$URL "$DOSSIER" reanalyze --db "$T/d.db" --full --events "$T/e9.ndjson" "$T/f/invoice.png" > "$T/o9.out" 2>&1
check_eq "reanalyze --full PATH: exit 0" 0 $?
check_eq "reanalyze --full: every step ran" "ocr,describe_image" "$(python3 -c 'import json,sys; print(",".join(e["step"] for e in map(json.loads, open(sys.argv[1])) if e["event"]=="step_finished"))' "$T/e9.ndjson")"
OLLAMA_HOST=$URL "$DOSSIER" reanalyze --db "$T/d.db" "$T/f" > "$T/o10.out" 2>&1
check_contains "reanalyze FOLDER: every document under it, and inside them" "reanalysed 5" "$(cat "$T/o10.out")"
OLLAMA_HOST=$URL "$DOSSIER" reanalyze --db "$T/d.db" 99999 > "$T/o11.out" 2>&1
check_eq "reanalyze of an unknown id: exit 1" 1 $?
check_contains "reanalyze of an unknown id names it" "'99999' is no document in the library" "$(cat "$T/o11.out")"
"$DOSSIER" reanalyze --help > "$T/h.out"; check_eq "reanalyze --help: exit 0" 0 $?

done_testing
