#!/usr/bin/env bash
# Embeddings and semantic search against the test server (its vectors:
# tests/ollama_stub/README.md, "Embeddings"): a folder's embed steps run
# together, not between the text model's; a document is found by a word it
# does not contain but its neighbour does; `similar`; a changed embedding
# model re-embeds and never mixes vectors; offline, search says it is
# full-text only; an engine without the embedding model keeps documents done;
# serve's vectors in memory follow what another process embeds, and a cache
# too small for them falls back to the database.
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/serve_lib.bash"
: "${OLLAMA_STUB:?run through ctest}"

cat > "$T/models.json" <<'JSON'
[{"name":"llama3.2:3b","family":"llama","parameter_size":"3.2B","size":2019393189,"parameter_count":3212749888,
  "context_length":131072,"block_count":28,"head_count":24,"head_count_kv":8,"embedding_length":3072,
  "capabilities":["completion","tools"]},
 {"name":"nomic-embed-text","family":"nomic-bert","parameter_size":"137M","quantization_level":"F16",
  "size":274302450,"parameter_count":136727040,"context_length":2048,"block_count":12,"head_count":12,
  "head_count_kv":12,"embedding_length":768,"capabilities":["embedding"]},
 {"name":"all-minilm","family":"bert","parameter_size":"23M","quantization_level":"F16","size":45960996,
  "parameter_count":22565760,"context_length":512,"block_count":6,"head_count":12,"head_count_kv":12,
  "embedding_length":384,"capabilities":["embedding"]}]
JSON
start_stub e --models "$T/models.json"
mkdir -p "$T/f"
printf 'My old car broke down on the highway.\nThe mechanic replaced the clutch and the brakes in an hour.\n' > "$T/f/garage.txt"
printf 'Insurance for a motorcar costs less when the vehicle has new brakes and a mechanic checks it.\n' > "$T/f/insurance.txt"
printf 'Our kitten sleeps all day on the sofa and chases mice at night.\n' > "$T/f/pet.txt"
printf 'The quarterly report lists revenue, costs and the budget for next year.\n' > "$T/f/report.txt"
printf 'Waves broke on the reef while the ocean tide rose over the harbour wall.\n' > "$T/f/tide.txt"
grep -qi automobile "$T"/f/* && bad "no document may contain the query word"

D() { DEV_MODE=1 OLLAMA_HOST=$URL_e "$DOSSIER" "$@"; }
doc_id() { D list --db "$T/d.db" --json | python3 -c 'import json,sys; print([d["id"] for d in json.load(sys.stdin) if d["path"].endswith(sys.argv[1])][0])' "$1"; }
embeds() { curl -s "$URL_e/_stub/requests" | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["path"]=="/api/embed" and (r["body"] or {}).get("model","").startswith(sys.argv[1]) and (r["body"] or {}).get("input")))' "$1"; }
models_in_db() { python3 -c 'import sqlite3,sys; print(",".join(r[0] for r in sqlite3.connect(sys.argv[1]).execute("SELECT DISTINCT model FROM chunks ORDER BY 1")))' "$1"; }

# 1. grouped: the embed steps of the folder run together
D analyze --db "$T/d.db" --policy grouped --events "$T/a.ndjson" "$T/f" > "$T/a.out" 2>&1
check_eq "analyze: exit 0" 0 $?
check_eq "analyze: all 5 documents done" 5 "$(grep -c '"event":"document_done"' "$T/a.ndjson")"
order=$(python3 -c '
import json,sys
s=[e["step"] for e in map(json.loads, open(sys.argv[1])) if e["event"]=="step_finished" and e["step"] in ("analyze_text","embed")]
runs=[x for i,x in enumerate(s) if i==0 or s[i-1]!=x]
print(" ".join(sorted(runs)) if len(runs) == 2 else " ".join(runs))' "$T/a.ndjson")
check_eq "grouped: the text model's steps in one group, every embed step in another" "analyze_text embed" "$order"
check_eq "grouped: one swap to the embedding model" 1 "$(grep '"event":"swapping_model"' "$T/a.ndjson" | grep -c '"to":"nomic-embed-text"')"
check "the embed steps batched their texts (fewer requests than documents)" test "$(embeds nomic)" -le 5
check_eq "vectors of one model are stored" "nomic-embed-text" "$(models_in_db "$T/d.db")"

# 2. semantic search finds a document by a word it does not contain
out=$(D search --db "$T/d.db" --text automobile 2>&1); rc=$?
check_eq "full-text search does not find 'automobile'" 1 "$rc"
D search --db "$T/d.db" --semantic --json automobile > "$T/s.json" 2> "$T/s.err"
check_eq "semantic search: exit 0" 0 $?
first=$(json 'd[0]["name"]' "$T/s.json")
case "$first" in garage.txt|insurance.txt) ok "semantic: 'automobile' finds a document about a car ($first)";;
  *) bad "semantic: 'automobile' finds a document about a car (got '$first')";; esac
check_eq "semantic: the hit names the chunk and its source" "text" "$(json 'd[0]["chunk"]["source"]' "$T/s.json")"
check_eq "semantic: documents about other things are not hits" "" "$(json '",".join(h["name"] for h in d if h["name"] in ("report.txt","pet.txt"))' "$T/s.json")"
D search --db "$T/d.db" --json feline > "$T/h.json" 2>&1
check_eq "default search is hybrid when vectors exist" "hybrid" "$(json 'd[0]["mode"]' "$T/h.json")"
check_eq "hybrid: 'feline' finds the kitten" "pet.txt" "$(json 'd[0]["name"]' "$T/h.json")"
out=$(D search --db "$T/d.db" kitten)
check_contains "hybrid text output says which chunk matched by meaning" "matched by meaning: chunk 1 (text)" "$out"
gid=$(doc_id garage.txt)
out=$(D similar --db "$T/d.db" --json "$gid")
check_eq "similar: the other car document is nearest" "insurance.txt" "$(printf %s "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["name"])')"
check_not_contains "similar: never the document itself" "\"id\": $gid," "$out"

# 3. a changed embedding model re-embeds; vectors of two models are never mixed
n_chat_before=$(curl -s "$URL_e/_stub/requests" | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["path"]=="/api/chat" and (r["body"] or {}).get("messages")))')
D analyze --db "$T/d.db" --embed-model all-minilm --events "$T/r.ndjson" "$T/f" > "$T/r.out" 2>&1
check_eq "re-embed: exit 0" 0 $?
check_eq "re-embed: every document's embed step again" 5 "$(python3 -c 'import json,sys; print(sum(1 for e in map(json.loads, open(sys.argv[1])) if e["event"]=="document_reanalyze" and e["steps"]==["embed"]))' "$T/r.ndjson")"
check "re-embed: the new model was asked" test "$(embeds all-minilm)" -ge 1
check_eq "re-embed: the text model was not asked again" "$n_chat_before" "$(curl -s "$URL_e/_stub/requests" | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["path"]=="/api/chat" and (r["body"] or {}).get("messages")))')"
check_eq "re-embed: only the new model's vectors are stored" "all-minilm" "$(models_in_db "$T/d.db")"
D search --db "$T/d.db" --semantic --embed-model all-minilm --json automobile > "$T/s2.json" 2>&1
check_eq "re-embed: search with the new model finds the car" 1 "$(json 'int(d[0]["name"] in ("garage.txt","insurance.txt"))' "$T/s2.json")"
out=$(D search --db "$T/d.db" --semantic automobile 2>&1); rc=$?
check_eq "the old model's search has no vectors: exit 3" 3 "$rc"
check_contains "... and says only another model's vectors are stored" "only of another model" "$out"
out=$(D search --db "$T/d.db" automobile 2>&1); rc=$?
check_eq "default search without the model's vectors is full-text (no match): exit 1" 1 "$rc"

# 4. offline: no vectors, and search says it is full-text only
mkdir -p "$T/g"; cp "$T/f/garage.txt" "$T/g/"
D analyze --db "$T/o.db" --offline "$T/g" > "$T/o.out" 2>&1
check_eq "offline analyze: exit 0" 0 $?
check_eq "offline analyze: no vectors" "" "$(models_in_db "$T/o.db")"
check_contains "offline: the embed step says why" "full-text only" "$(D show --db "$T/o.db" --json "$T/g/garage.txt" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps(d.get("timings",{}).get("embed",{})))')$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT result FROM steps WHERE kind=\"embed\"").fetchone()[0])' "$T/o.db")"
out=$(D search --db "$T/o.db" --offline mechanic 2>&1); rc=$?
check_eq "offline search: exit 0" 0 "$rc"
check_contains "offline search says it is full-text only" "full-text only" "$out"
out=$(D search --db "$T/o.db" --semantic automobile 2>&1); rc=$?
check_eq "semantic search without vectors: exit 3" 3 "$rc"
check_contains "... naming why" "no vectors of the embedding model" "$out"

# 5. an engine without the embedding model: documents done, search full-text
start_stub n
DEV_MODE=1 OLLAMA_HOST=$URL_n "$DOSSIER" analyze --db "$T/n.db" --events "$T/n.ndjson" "$T/g" > "$T/n.out" 2>&1
check_eq "no embedding model on the engine: exit 0" 0 $?
check_eq "... the document is done" 1 "$(grep -c '"event":"document_done"' "$T/n.ndjson")"
check_contains "... the run says why search stays full-text" "nomic-embed-text" "$(grep '"event":"embed_unavailable"' "$T/n.ndjson")"
check_eq "... no swap to an embedding model" 0 "$(grep -c '"event":"swapping_model"' "$T/n.ndjson")"

# 6. the stub's faults reach the embed step: one 500, then the retry embeds
D analyze --db "$T/x.db" --events "$T/x0.ndjson" "$T/g" > /dev/null 2>&1
curl -s -X POST "$URL_e/_stub/fault" -d '{"kind":"error_before","model":"nomic-embed-text","count":1,"status":500}' > /dev/null
D analyze --db "$T/x.db" --embed-model nomic-embed-text --reanalyze all --events "$T/x.ndjson" "$T/g" > "$T/x.out" 2>&1
check_eq "a 500 from the embedding model is retried: exit 0" 0 $?
check_eq "... the embed step failed once and was retried" 1 "$(python3 -c 'import json,sys; print(sum(1 for e in map(json.loads, open(sys.argv[1])) if e["event"]=="step_finished" and e["step"]=="embed" and not e["ok"] and not e.get("final")))' "$T/x.ndjson")"
check_eq "... and the vectors are there" "nomic-embed-text" "$(models_in_db "$T/x.db")"

# 7. the API: GET /api/search?mode=semantic|hybrid|text
DEV_MODE=1 OLLAMA_HOST=$URL_e start_server api --db "$T/d.db" --embed-model all-minilm || bad "the server starts"
curl -s "$URL/api/search?q=automobile&mode=semantic" > "$T/api1.json"
check_eq "api: mode=semantic finds the car" 1 "$(json 'int(d["results"][0]["name"] in ("garage.txt","insurance.txt"))' "$T/api1.json")"
check_eq "api: the hit says which chunk matched" "text" "$(json 'd["results"][0]["chunk"]["source"]' "$T/api1.json")"
check_eq "api: the reply says the mode that ran" "semantic" "$(json 'd["mode"]' "$T/api1.json")"
curl -s "$URL/api/search?q=feline" > "$T/api2.json"
check_eq "api: without mode, hybrid when vectors exist" "hybrid" "$(json 'd["mode"]' "$T/api2.json")"
check_eq "api: hybrid finds the kitten by a word it lacks" "pet.txt" "$(json 'd["results"][0]["name"]' "$T/api2.json")"
curl -s "$URL/api/search?q=feline&mode=text" > "$T/api3.json"
check_eq "api: mode=text finds nothing for a word no document has" 0 "$(json 'len(d["results"])' "$T/api3.json")"
check_eq "api: an unknown mode is 400" 400 "$(code GET "$URL/api/search?q=cat&mode=fuzzy")"
# the server keeps the vectors in memory: loaded once, then kept up to date
# when `dossier analyze` in another process embeds a new document
check_eq "api: the vector cache was loaded once, on the first semantic query" 1 "$(grep -c 'vector cache: .* loaded in' "$T/api.err")"
curl -s "$URL/api/search?q=zeppelin&mode=semantic" > "$T/api5.json"
check_eq "api: no document about a zeppelin yet" 0 "$(json 'sum(1 for h in d["results"] if h["name"]=="airship.txt")' "$T/api5.json")"
mkdir -p "$T/z"; printf 'The zeppelin airship floated slowly above the harbour.\n' > "$T/z/airship.txt"
D analyze --db "$T/d.db" --embed-model all-minilm "$T/z" > "$T/z.out" 2>&1
check_eq "analyze in another process while serve runs: exit 0" 0 $?
curl -s "$URL/api/search?q=zeppelin&mode=semantic" > "$T/api6.json"
check_eq "api: serve's next semantic query finds the new document" "airship.txt" "$(json 'd["results"][0]["name"]' "$T/api6.json")"
curl -s "$URL/api/search?q=zeppelin&mode=semantic&kind=pdf" > "$T/api7.json"
check_eq "api: the cached search keeps the filters (kind=pdf: no text file)" 0 "$(json 'len(d["results"])' "$T/api7.json")"
check_eq "api: the cache was updated, not loaded again" 1 "$(grep -c 'vector cache: .* loaded in' "$T/api.err")"
stop_server "$PID"
# a cache too small for the vectors: the same answers from the database, said once
DEV_MODE=1 OLLAMA_HOST=$URL_e start_server small --db "$T/d.db" --embed-model all-minilm --vector-cache 1K || bad "the server starts"
curl -s "$URL/api/search?q=zeppelin&mode=semantic" > "$T/api8.json"
curl -s "$URL/api/search?q=automobile&mode=semantic" > "$T/api9.json"
check_eq "small cache: the same first hit" "airship.txt" "$(json 'd["results"][0]["name"]' "$T/api8.json")"
check_eq "small cache: the same results as the cached search" "$(json '[h["id"] for h in d["results"]]' "$T/api1.json")" "$(json '[h["id"] for h in d["results"]]' "$T/api9.json")"
check_eq "small cache: the log says once that the vectors do not fit" 1 "$(grep -c 'more than vector_cache' "$T/small.err")"
stop_server "$PID"
DEV_MODE=1 start_server off --db "$T/d.db" --offline || bad "the offline server starts"
check_eq "api offline: mode=semantic is 503" 503 "$(code GET "$URL/api/search?q=automobile&mode=semantic")"
curl -s "$URL/api/search?q=mechanic&mode=hybrid" > "$T/api4.json"
check_eq "api offline: hybrid falls back to text" "text" "$(json 'd["mode"]' "$T/api4.json")"
check_contains "api offline: and says it is full-text only" "full-text only" "$(json 'd["note"]' "$T/api4.json")"
stop_server "$PID"

# 8. an engine that refuses a chunk as too long (llama-server past its physical
# batch size): the chunks are made shorter at once, and the next document
# starts with the bound that worked
start_stub b --router --load-ms 10 --models "$T/models.json" --embed-batch 64
mkdir -p "$T/long"
python3 - "$T/long" <<'PY'
import sys
w = "river meadow heron willow bridge lantern orchard harvest pebble meander".split()
for k in range(2):
    open(f"{sys.argv[1]}/long{k}.txt", "w").write(" ".join(f"The {w[(i+k) % 10]} by the {w[(i*3+k) % 10]} was quiet." for i in range(120)) + "\n")
PY
DEV_MODE=1 "$DOSSIER" analyze --llm-url "$URL_b" --db "$T/b.db" --events "$T/b.ndjson" "$T/long" > "$T/b.out" 2>&1
check_eq "too-long chunks: exit 0" 0 $?
check_eq "... both documents done" 2 "$(grep -c '"event":"document_done"' "$T/b.ndjson")"
check_eq "... the embed steps did not fail: the step made shorter chunks itself" 0 "$(python3 -c 'import json,sys; print(sum(1 for e in map(json.loads, open(sys.argv[1])) if e["event"]=="step_finished" and e["step"]=="embed" and not e["ok"]))' "$T/b.ndjson")"
check "... every stored chunk fits the engine's 64 tokens (128 bytes)" python3 - "$T/b.db" <<'PY'
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT length(text) FROM chunks").fetchall()
assert len(rows) >= 20 and max(r[0] for r in rows) <= 128, (len(rows), max(r[0] for r in rows))
PY
curl -s "$URL_b/_stub/requests" > "$T/b-reqs.json"
check "... refused at most once per lane: the bound is learned, not re-found per document" python3 - "$T/b-reqs.json" <<'PY'
import json, sys
rs = [r for r in json.load(open(sys.argv[1])) if r["path"] == "/v1/embeddings"]
long_ = [r for r in rs if max(len(t) for t in (r["body"]["input"] if isinstance(r["body"]["input"], list) else [r["body"]["input"]])) > 128]
assert 1 <= len(long_) <= 2, len(long_)
PY

done_testing
