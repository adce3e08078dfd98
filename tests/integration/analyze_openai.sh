#!/usr/bin/env bash
# analyze against the test server playing llama.cpp's router (OpenAI API,
# /models/load, /models/unload): the same one-model-at-a-time guarantees as
# on Ollama (counting models that are still loading), what goes over the wire
# (SSE chat, json_schema, image_url data URIs, the API key), and the message
# when the engine asked for is not what the server is.
. "$(dirname "$0")/lib.bash"
: "${OLLAMA_STUB:?run through ctest}"

router() { curl -s "$1/_stub/router"; }
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
KEY=sk-itest-0123

mkdir -p "$T/mixed"
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
for i in 1 2 3 4; do
  printf 'Report %d about the harbour. The tides rose and the ships waited for the pilot boat.\nThe lighthouse keeper counted %d vessels before noon.\n' $i $((i*7)) > "$T/mixed/d${i}a.txt"
  ffmpeg -loglevel error -f lavfi -i color=white:s=1200x300 -frames:v 1 \
    -vf "drawtext=fontfile=$FONT:text='Invoice $i total 4$i EUR':fontsize=60:fontcolor=black:x=20:y=100" "$T/mixed/d${i}b.png"
done

run_policy() { # run_policy POLICY DBNAME URL [extra flags]: engine auto, found through OPENAI_BASE_URL
  local policy=$1 db=$2 url=$3; shift 3
  DEV_MODE=1 OLLAMA_HOST=127.0.0.1:$closed OPENAI_BASE_URL=$url/v1 OPENAI_API_KEY=$KEY \
    "$DOSSIER" analyze --db "$T/$db.db" --policy "$policy" --events "$T/$db.ndjson" "$@" "$T/mixed" > "$T/$db.out" 2>&1
}
swaps_ok() {
  python3 - "$1" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
cur, ok, n = None, True, 0
for e in ev:
    if e["event"] == "swapping_model":
        ok &= e["from"] == cur and e["to"] != cur
        n += 1
    if e["event"] == "model_loaded" and e.get("role") != "asr":
        cur = e["model"]
sys.exit(0 if ok else 1)
PY
}
max_resident() { python3 -c 'import json,sys; print(json.load(sys.stdin)["max_resident"])'; }

# --- sequential
start_stub seq --router --load-ms 100 --api-key "$KEY"
run_policy sequential seq "$URL_seq"; rc=$?
check_eq "sequential: exit 0" 0 "$rc"
check_eq "sequential: never two models loaded or loading at once" 1 "$(router "$URL_seq" | max_resident)"
nswap=$(grep -c '"event":"swapping_model"' "$T/seq.ndjson")
check "sequential: a swap at every change of kind (7 for 8 alternating documents, got $nswap)" test "$nswap" -eq 7
check "sequential: each swap names the right from/to" swaps_ok "$T/seq.ndjson"
check_eq "sequential: all 8 documents done" 8 "$(grep -c '"event":"document_done"' "$T/seq.ndjson")"
check_contains "the run says which engine it found" '"engine":"openai"' "$(grep '"event":"llm_backend"' "$T/seq.ndjson")"

# --- load status followed by GET /models/sse: few /v1/models reads; without it, polling
count_reads() { curl -s "$1/_stub/requests" | python3 -c '
import json,sys; rs=json.load(sys.stdin)
print(sum(1 for r in rs if r["path"]=="/v1/models"), sum(1 for r in rs if r["path"]=="/models/sse"))'; }
start_stub sse --router --load-ms 700 --api-key "$KEY"
run_policy sequential sse "$URL_sse"; rc=$?
read -r reads_sse subs_sse <<< "$(count_reads "$URL_sse")"
start_stub poll --router --load-ms 700 --no-sse --api-key "$KEY"
run_policy sequential poll "$URL_poll"; rc2=$?
read -r reads_poll subs_poll <<< "$(count_reads "$URL_poll")"
check_eq "sse: exit 0" 0 "$rc"
check_eq "no sse: exit 0 (falls back to polling)" 0 "$rc2"
check_eq "sse: never two models loaded or loading at once" 1 "$(router "$URL_sse" | max_resident)"
check_eq "no sse: never two models loaded or loading at once" 1 "$(router "$URL_poll" | max_resident)"
check "sse: the load status was followed on /models/sse ($subs_sse subscriptions)" test "$subs_sse" -ge 8
check "sse: at least 3 fewer /v1/models reads per load than polling ($reads_sse against $reads_poll for 8 loads)" \
  test $((reads_poll - reads_sse)) -ge 24
check "no sse: asked for /models/sse once, then polled ($subs_poll)" test "$subs_poll" -le 1

# --- grouped
start_stub grp --router --load-ms 100 --api-key "$KEY"
run_policy grouped grp "$URL_grp"; rc=$?
check_eq "grouped: exit 0" 0 "$rc"
check_eq "grouped: never two models loaded or loading at once" 1 "$(router "$URL_grp" | max_resident)"
check "grouped: each model loaded once" python3 -c '
import json,sys,collections; t=json.loads(sys.argv[1])["timeline"]
c=collections.Counter(e["model"] for e in t if e["event"]=="loading")
assert dict(c)=={"llama3.2:3b":1,"llava:latest":1}, c' "$(router "$URL_grp")"
check_eq "grouped: one swap between the two groups" 1 "$(grep -c '"event":"swapping_model"' "$T/grp.ndjson")"
check "grouped: the swap names the right from/to" swaps_ok "$T/grp.ndjson"
check_eq "grouped: nothing is left loaded after the run" 0 "$(router "$URL_grp" | python3 -c 'import json,sys; print(json.load(sys.stdin)["timeline"][-1]["resident"])')"
curl -s "$URL_grp/_stub/requests" > "$T/reqs.json"
check "every request carried the API key, none went to Ollama's API (OPENAI_BASE_URL is asked as OpenAI first)" python3 - "$T/reqs.json" <<'PY'
import json, sys
rs = json.load(open(sys.argv[1]))
assert rs and all(r["auth"] == "ok" for r in rs), [r for r in rs if r["auth"] != "ok"][:1]
assert not [r for r in rs if r["path"].startswith("/api/")], "an Ollama route was asked"
assert [r for r in rs if r["path"] == "/models/load"], "no explicit load"
PY
check "chats are streamed with usage, schemas go as json_schema, images as JPEG data URIs to the vision model only" python3 - "$T/reqs.json" <<'PY'
import base64, json, sys
schemas = images = 0
for r in json.load(open(sys.argv[1])):
    if r["path"] != "/v1/chat/completions": continue
    b = r["body"]
    assert b["stream"] is True and b["stream_options"]["include_usage"] is True, b
    rf = b.get("response_format")
    if rf:
        assert rf["type"] == "json_schema" and rf["json_schema"]["schema"]["type"] == "object", rf
        schemas += 1
    for m in b["messages"]:
        if isinstance(m["content"], list):
            for p in m["content"]:
                if p["type"] == "image_url":
                    assert b["model"] == "llava:latest", b["model"]
                    u = p["image_url"]["url"]
                    assert u.startswith("data:image/jpeg;base64,"), u[:40]
                    assert base64.b64decode(u.split(",", 1)[1])[:3] == b"\xff\xd8\xff"
                    images += 1
assert schemas >= 4, schemas
assert images == 4, images
PY
"$DOSSIER" show --db "$T/grp.db" "$T/mixed/d1a.txt" --json > "$T/d1a.json"
check_eq "the text dossier's summary comes from the router's text model" "openai:llama3.2:3b" "$(json 'd["sources"]["summary"]' "$T/d1a.json")"
check "the schema reply was parsed into fields" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d.get("summary"), d.keys()' "$T/d1a.json"
check "the token counts reached the dossier's timings" python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["timings"]["analyze_text"]; assert t["eval_count"]>0 and t["prompt_eval_count"]>0, t' "$T/d1a.json"
"$DOSSIER" show --db "$T/grp.db" "$T/mixed/d2b.png" --json > "$T/d2b.json"
check_eq "the image dossier is described by the vision model" "openai:llava:latest" "$(json 'd["sources"]["image.description"]' "$T/d2b.json")"

# --- budget with room for both: each model loaded once, both kept together
start_stub bud --router --load-ms 100 --api-key "$KEY"
run_policy budget bud "$URL_bud" --budget 24G; rc=$?
check_eq "budget: exit 0" 0 "$rc"
check "budget: each model loaded once, none unloaded during the run" python3 -c '
import json,sys,collections; t=json.loads(sys.argv[1])["timeline"]
c=collections.Counter(e["model"] for e in t if e["event"]=="loading")
assert dict(c)=={"llama3.2:3b":1,"llava:latest":1}, c
assert not [e for e in t if e["event"] in ("unloaded","evicted")], t' "$(router "$URL_bud")"
check_eq "budget: both models resident together" 2 "$(router "$URL_bud" | max_resident)"
check_eq "budget: no swap events" 0 "$(grep -c '"event":"swapping_model"' "$T/bud.ndjson")"

# --- a router that evicts on its own (--models-max 1): dossier does not fight it
start_stub max --router --load-ms 50 --models-max 1 --api-key "$KEY"
run_policy budget max "$URL_max" --budget 24G; rc=$?
check_eq "models-max 1 under budget: exit 0" 0 "$rc"
check_eq "models-max 1 under budget: all 8 documents done" 8 "$(grep -c '"event":"document_done"' "$T/max.ndjson")"
check_eq "models-max 1: the router never held two models" 1 "$(router "$URL_max" | max_resident)"
out=$(DEV_MODE=1 OPENAI_API_KEY=$KEY "$DOSSIER" models --llm-url "$URL_max")
check_contains "models-max 1: \`models\` says the router evicts on its own" "keeps at most 1 model(s) loaded (--models-max 1)" "$out"
out=$(DEV_MODE=1 OPENAI_API_KEY=$KEY "$DOSSIER" models --llm-url "$URL_max" --text-model no-such-model 2>&1)
check_contains "models: a model the router lacks is named with the ones it has" "'no-such-model' is not on the server at $URL_max, which has: llama3.2:3b" "$out"

# --- dossier models says what it found and how
out=$(DEV_MODE=1 OPENAI_API_KEY=$KEY "$DOSSIER" models --llm-url "$URL_grp"); rc=$?
check_eq "models: exit 0 against the router" 0 "$rc"
check_contains "models names the kind of server" "llama.cpp router" "$out"
check_contains "models says how it knows" "GET /v1/models" "$out"
check "models never prints the API key" bash -c '! grep -q "$1" <<< "$2"' _ "$KEY" "$out"

# --- the wrong engine: named, exit 3, documents stay queued
mkdir -p "$T/later"; cp "$T/mixed/d1a.txt" "$T/later/"
out=$(DEV_MODE=1 OPENAI_API_KEY=$KEY "$DOSSIER" analyze --engine ollama --llm-url "$URL_grp" --db "$T/later.db" "$T/later" 2>&1); rc=$?
check_eq "wrong engine: exit 3" 3 "$rc"
check_contains "wrong engine: says what the server is" "llama.cpp router" "$out"
check_contains "wrong engine: names the flag that works" "--engine openai" "$out"
check_eq "wrong engine: the document stays queued" queued "$("$DOSSIER" list --db "$T/later.db" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["status"])')"
# --- a plain single-model server (llama-server -m): nothing to load or unload, the
# model is pinned; images go once, the server's "not supported" is remembered
start_stub one --single llama3.2:3b
mkdir -p "$T/plain"; cp "$T/mixed/d1a.txt" "$T/mixed/d2a.txt" "$T/mixed/d1b.png" "$T/mixed/d2b.png" "$T/plain/"
t0=$(date +%s)
DEV_MODE=1 OLLAMA_HOST=127.0.0.1:$closed "$DOSSIER" analyze --llm-url "$URL_one" --policy grouped --db "$T/one.db" \
  --events "$T/one.ndjson" "$T/plain" > "$T/one.out" 2>&1; rc=$?
t1=$(date +%s)
check_eq "plain server: exit 1 (the image documents could not be described)" 1 "$rc"
check "plain server: swaps do not wait for the pinned model (took $((t1 - t0)) s)" test $((t1 - t0)) -lt 20
check_eq "plain server: the text documents are done" 2 "$("$DOSSIER" list --db "$T/one.db" --json | python3 -c 'import json,sys; print(sum(1 for d in json.load(sys.stdin) if d["status"]=="done"))')"
curl -s "$URL_one/_stub/requests" > "$T/one-reqs.json"
check "plain server: no load or unload requests; images sent once, then the refusal is remembered" python3 - "$T/one-reqs.json" <<'PY'
import json, sys
rs = json.load(open(sys.argv[1]))
assert not [r for r in rs if r["path"].startswith("/models/")], "a load/unload went to a plain server"
imgs = [r for r in rs if r["path"] == "/v1/chat/completions" and any(isinstance(m["content"], list) for m in r["body"]["messages"])]
assert len(imgs) == 1, len(imgs)
PY
check_contains "plain server: the image document says the model cannot read images" "cannot read images" "$("$DOSSIER" show --db "$T/one.db" "$T/plain/d2b.png" --json)"
# the server answers every name with its one model: every role is that model,
# so no swap between two names of it, and messages name what really ran
check_eq "plain server: no swap between two names of its one model" 0 "$(grep -c '"event":"swapping_model"' "$T/one.ndjson")"
check_contains "plain server: the image's refusal names the served model" "model 'llama3.2:3b' cannot read images" "$("$DOSSIER" show --db "$T/one.db" "$T/plain/d2b.png" --json)"
check "plain server: the pinned model is measured once, as it runs" python3 - "$T/one.ndjson" <<'PY'
import json, sys
ms = [e for e in map(json.loads, open(sys.argv[1])) if e["event"] == "model_measured"]
assert len(ms) == 1 and ms[0]["model"] == "llama3.2:3b" and ms[0]["resident_bytes"] > 0, ms
PY
out=$(DEV_MODE=1 OLLAMA_HOST=127.0.0.1:$closed "$DOSSIER" plan --llm-url "$URL_one" --db "$T/one.db" 2>&1)
check_contains "plain server: the plan counts one instance, no swap transition" "(only one LLM is used)" "$out"
out=$(DEV_MODE=1 "$DOSSIER" models --llm-url "$URL_one" 2>&1)
check_eq "plain server: \`models\` shows the served model in every LLM role (text, vision, embed)" 3 "$(grep -cE '^(text|vision|embed) +llama3\.2:3b ' <<<"$out")"

check "the key is stored nowhere in the database" bash -c '! grep -aq "$1" "$2"' _ "$KEY" "$T/grp.db"
done_testing
