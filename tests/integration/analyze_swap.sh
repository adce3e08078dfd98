#!/usr/bin/env bash
# analyze against the test server playing llama-swap (OpenAI API, GET /running,
# POST /api/models/unload/M, /upstream/M/..., a model loads on its first
# request; --swap-group keeps models loaded together): the policies keep their
# meaning, and a llama-swap that swaps on its own is followed, not fought.
. "$(dirname "$0")/lib.bash"
: "${OLLAMA_STUB:?run through ctest}"

router() { curl -s "$1/_stub/router"; }
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')

mkdir -p "$T/mixed"
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
for i in 1 2 3 4; do
  printf 'Report %d about the harbour. The tides rose and the ships waited for the pilot boat.\nThe lighthouse keeper counted %d vessels before noon.\n' $i $((i*7)) > "$T/mixed/d${i}a.txt"
  ffmpeg -loglevel error -f lavfi -i color=white:s=1200x300 -frames:v 1 \
    -vf "drawtext=fontfile=$FONT:text='Invoice $i total 4$i EUR':fontsize=60:fontcolor=black:x=20:y=100" "$T/mixed/d${i}b.png"
done

run_policy() { # run_policy POLICY DBNAME URL [extra flags]: engine auto through --llm-url
  local policy=$1 db=$2 url=$3; shift 3
  DEV_MODE=1 OLLAMA_HOST=127.0.0.1:$closed "$DOSSIER" analyze --llm-url "$url" --db "$T/$db.db" --policy "$policy" \
    --events "$T/$db.ndjson" "$@" "$T/mixed" > "$T/$db.out" 2>&1
}
swaps_ok() {
  python3 - "$1" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
cur, ok = None, True
for e in ev:
    if e["event"] == "swapping_model":
        ok &= e["from"] == cur and e["to"] != cur
    if e["event"] == "model_loaded" and e.get("role") != "asr":
        cur = e["model"]
sys.exit(0 if ok else 1)
PY
}
max_resident() { python3 -c 'import json,sys; print(json.load(sys.stdin)["max_resident"])'; }
loads_once() { python3 -c '
import json,sys,collections; t=json.loads(sys.argv[1])["timeline"]
c=collections.Counter(e["model"] for e in t if e["event"]=="loading")
assert dict(c)=={"llama3.2:3b":1,"llava:latest":1}, c' "$1"; }

# --- sequential: dossier unloads through llama-swap's per-model unload
start_stub seq --swap --load-ms 100
run_policy sequential seq "$URL_seq"; rc=$?
check_eq "swap sequential: exit 0" 0 "$rc"
check_eq "swap sequential: never two models running at once" 1 "$(router "$URL_seq" | max_resident)"
nswap=$(grep -c '"event":"swapping_model"' "$T/seq.ndjson")
check "swap sequential: a swap at every change of kind (7 for 8 alternating documents, got $nswap)" test "$nswap" -eq 7
check "swap sequential: each swap names the right from/to" swaps_ok "$T/seq.ndjson"
check_eq "swap sequential: all 8 documents done" 8 "$(grep -c '"event":"document_done"' "$T/seq.ndjson")"
check_eq "swap sequential: llama-swap never evicted a model on its own" 0 "$(router "$URL_seq" | python3 -c 'import json,sys; print(json.load(sys.stdin)["evictions"])')"
curl -s "$URL_seq/_stub/requests" > "$T/seq-reqs.json"
check "swap: loads go through /upstream/M/health, unloads through /api/models/unload/M, no router calls" python3 - "$T/seq-reqs.json" <<'PY'
import json, sys
rs = json.load(open(sys.argv[1]))
paths = [r["path"] for r in rs]
assert not [p for p in paths if p.startswith("/models/")], "a router call went to llama-swap"
ups = [p for p in paths if p.startswith("/upstream/") and p.endswith("/health")]
uls = [p for p in paths if p.startswith("/api/models/unload/")]
assert len(ups) == 8, ups
assert len(uls) >= 7, uls
assert "/running" in paths
PY

# --- grouped, with both models in one llama-swap group: dossier's policy still holds one
start_stub grp --swap --load-ms 100 --swap-group llama3.2:3b,llava:latest
run_policy grouped grp "$URL_grp"; rc=$?
check_eq "swap grouped: exit 0" 0 "$rc"
check_eq "swap grouped: never two models running at once" 1 "$(router "$URL_grp" | max_resident)"
check "swap grouped: each model loaded once" loads_once "$(router "$URL_grp")"
check_eq "swap grouped: one swap between the two groups" 1 "$(grep -c '"event":"swapping_model"' "$T/grp.ndjson")"
check "swap grouped: the swap names the right from/to" swaps_ok "$T/grp.ndjson"
check_eq "swap grouped: nothing left running after the run" 0 "$(router "$URL_grp" | python3 -c 'import json,sys; print(json.load(sys.stdin)["timeline"][-1]["resident"])')"

# --- budget, both models in a group: resident together, each loaded once
start_stub bud --swap --load-ms 100 --swap-group llama3.2:3b,llava:latest
run_policy budget bud "$URL_bud" --budget 24G; rc=$?
check_eq "swap budget in a group: exit 0" 0 "$rc"
check "swap budget in a group: each model loaded once" loads_once "$(router "$URL_bud")"
check_eq "swap budget in a group: both resident together" 2 "$(router "$URL_bud" | max_resident)"
check_eq "swap budget in a group: no swap events" 0 "$(grep -c '"event":"swapping_model"' "$T/bud.ndjson")"
check_eq "swap budget in a group: nothing evicted" 0 "$(grep -c '"event":"model_evicted"' "$T/bud.ndjson")"

# --- budget, no group: llama-swap swaps on its own; dossier follows it
start_stub own --swap --load-ms 50
run_policy budget own "$URL_own" --budget 24G; rc=$?
check_eq "swap budget, no group: exit 0" 0 "$rc"
check_eq "swap budget, no group: all 8 documents done" 8 "$(grep -c '"event":"document_done"' "$T/own.ndjson")"
check_eq "swap budget, no group: llama-swap held one model at a time" 1 "$(router "$URL_own" | max_resident)"
check "swap budget, no group: dossier saw the engine evict (model_evicted by engine)" \
  grep -q '"event":"model_evicted".*"by":"engine"' "$T/own.ndjson"

# --- dossier models names llama-swap and how it knows
out=$(DEV_MODE=1 OLLAMA_HOST=127.0.0.1:$closed "$DOSSIER" models --llm-url "$URL_grp"); rc=$?
check_eq "models: exit 0 against llama-swap" 0 "$rc"
check_contains "models names llama-swap" "llama-swap" "$out"
check_contains "models says how it knows" "GET /running" "$out"
done_testing
