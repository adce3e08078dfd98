#!/usr/bin/env bash
# analyze against the Ollama test server: the seed's one-model-at-a-time
# behaviour under each policy, what goes over the wire, and every way Ollama
# can fail (not running, model not pulled, cut stream, error line, OOM).
. "$(dirname "$0")/lib.bash"
: "${OLLAMA_STUB:?run through ctest}"

start_stub() { # start_stub NAME [flags] -> sets URL_<NAME>, PID_<NAME>
  local name=$1; shift
  "$OLLAMA_STUB" --listen 127.0.0.1:0 "$@" > "$T/stub-$name.out" 2> "$T/stub-$name.err" &
  local pid=$!
  for _ in $(seq 1 100); do grep -q '^listening on' "$T/stub-$name.out" && break; sleep 0.05; done
  eval "PID_$name=$pid URL_$name=http://$(sed -n 's/^listening on //p' "$T/stub-$name.out")"
  on_exit "kill $pid 2>/dev/null"
}
stats() { curl -s "$1/_stub/stats"; }
reqs()  { curl -s "$1/_stub/requests" > "$T/reqs.json"; }

# a folder of interleaved text files and images
mkdir -p "$T/mixed"
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
for i in 1 2 3 4; do
  printf 'Report %d about the harbour. The tides rose and the ships waited for the pilot boat.\nThe lighthouse keeper counted %d vessels before noon.\n' $i $((i*7)) > "$T/mixed/d${i}a.txt"
  ffmpeg -loglevel error -f lavfi -i color=white:s=2400x600 -frames:v 1 \
    -vf "drawtext=fontfile=$FONT:text='Invoice $i total 4$i EUR':fontsize=90:fontcolor=black:x=40:y=200" "$T/mixed/d${i}b.png"
done

run_policy() { # run_policy POLICY DBNAME [extra flags]
  local policy=$1 db=$2; shift 2
  DEV_MODE=1 "$DOSSIER" analyze --db "$T/$db.db" --policy "$policy" --events "$T/$db.ndjson" "$@" "$T/mixed" > "$T/$db.out" 2>&1
}
swaps_ok() { # every swapping_model names the model before and after, in the order loads happened
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

# --- sequential: the seed's order, a swap whenever the next document needs the other model
start_stub seq --unload-linger-ms 100 --load-ms-per-gb 20
OLLAMA_HOST=$URL_seq run_policy sequential seq; rc=$?
check_eq "sequential: exit 0" 0 "$rc"
st=$(stats "$URL_seq")
check_eq "sequential: never two models resident (counting lingering ones)" 1 "$(echo "$st" | python3 -c 'import json,sys; print(json.load(sys.stdin)["max_resident_models"])')"
nswap=$(grep -c '"event":"swapping_model"' "$T/seq.ndjson")
check "sequential: the seed's order swaps at every change of kind (7 for 8 alternating documents)" test "$nswap" -eq 7
check "sequential: each swap names the right from/to" swaps_ok "$T/seq.ndjson"
check_eq "sequential: all 8 documents got LLM fields" 8 "$(grep -c '"event":"document_done"' "$T/seq.ndjson")"
check_contains "the swap is shown to people as Swapping Model" "Swapping Model: llama3.2:3b -> llava:latest" "$(cat "$T/seq.out")"

# --- grouped (the default): one model resident, steps grouped by model
start_stub grp --unload-linger-ms 100 --load-ms-per-gb 20
OLLAMA_HOST=$URL_grp run_policy grouped grp; rc=$?
check_eq "grouped: exit 0" 0 "$rc"
st=$(stats "$URL_grp")
check_eq "grouped: never two models resident" 1 "$(echo "$st" | python3 -c 'import json,sys; print(json.load(sys.stdin)["max_resident_models"])')"
loads=$(echo "$st" | python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["loads"].values()))')
check "grouped: within one load of the minimum (2 models -> at most 3 loads, got $loads)" test "$loads" -le 3
check "grouped: each swap names the right from/to" swaps_ok "$T/grp.ndjson"
reqs "$URL_grp"
check "every chat request carries keep_alive and one num_ctx per model" python3 - "$T/reqs.json" <<'PY'
import json, sys
ctx = {}
for r in json.load(open(sys.argv[1])):
    if r["path"] != "/api/chat" or not r["body"] or not r["body"].get("messages"): continue
    b = r["body"]
    assert "keep_alive" in b, b
    n = b.get("options", {}).get("num_ctx")
    assert n, b
    assert ctx.setdefault(b["model"], n) == n, (b["model"], n, ctx)
assert len(ctx) == 2, ctx
PY
check "images arrive as plain base64 JPEG, within the 1344-px limit, only to the vision model" python3 - "$T/reqs.json" <<'PY'
import base64, json, struct, sys
seen = 0
for r in json.load(open(sys.argv[1])):
    b = r["body"] or {}
    for m in b.get("messages", []):
        for im in m.get("images", []) or []:
            assert b["model"].startswith("llava"), b["model"]
            raw = base64.b64decode(im, validate=True)
            assert raw[:3] == b"\xff\xd8\xff", raw[:4]
            i = 2
            while i < len(raw):               # find the SOF marker for the size
                mk, ln = raw[i + 1], struct.unpack(">H", raw[i + 2:i + 4])[0]
                if mk in (0xC0, 0xC1, 0xC2):
                    h, w = struct.unpack(">HH", raw[i + 5:i + 9]); break
                i += 2 + ln
            assert max(w, h) <= 1344 and (w, h) == (1344, 336), (w, h)
            seen += 1
assert seen == 4, seen
PY
"$DOSSIER" show --db "$T/grp.db" "$T/mixed/d1a.txt" --json > "$T/d1a.json"
check_eq "text dossier's summary comes from the text model" "ollama:llama3.2:3b" "$(json 'd["sources"]["summary"]' "$T/d1a.json")"
check "text dossier keeps Ollama's metrics in timings" python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["timings"]["analyze_text"]; assert t["eval_count"]>0 and t["total_ns"]>0, t' "$T/d1a.json"
"$DOSSIER" show --db "$T/grp.db" "$T/mixed/d2b.png" --json > "$T/d2b.json"
check_eq "image dossier is described by the vision model" "ollama:llava:latest" "$(json 'd["sources"]["image.description"]' "$T/d2b.json")"
check_contains "the vision model got the OCR text as context" "Invoice" "$(json 'd["image"]["description"]' "$T/d2b.json")"
check_contains "OCR text of the image is in the dossier" "Invoice 2 total 42 EUR" "$(json 'd["image"]["ocr"]["text"]' "$T/d2b.json")"

# --- budget with room for both: each model loaded once, never unloaded during the run
start_stub bud --unload-linger-ms 100 --memory 24GiB
OLLAMA_HOST=$URL_bud run_policy budget bud --budget 24G; rc=$?
check_eq "budget: exit 0" 0 "$rc"
st=$(stats "$URL_bud")
check_eq "budget: each model loaded exactly once" "{'llama3.2:3b': 1, 'llava:latest': 1}" "$(echo "$st" | python3 -c 'import json,sys; print(dict(sorted(json.load(sys.stdin)["loads"].items())))')"
check_eq "budget: nothing unloaded (models left at Ollama's default keep_alive)" 0 "$(echo "$st" | python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["unloads"].values()))')"
check_eq "budget: no swap events" 0 "$(grep -c '"event":"swapping_model"' "$T/bud.ndjson")"

# --- Ollama not running: documents stay queued, the message says where and what to do
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
mkdir -p "$T/later"; cp "$T/mixed/d1a.txt" "$T/later/"
out=$(DEV_MODE=1 OLLAMA_HOST=127.0.0.1:$closed "$DOSSIER" analyze --db "$T/later.db" "$T/later" 2>&1); rc=$?
check_eq "Ollama down: exit 3 (environment)" 3 "$rc"
check_contains "Ollama down: the message names the address tried" "127.0.0.1:$closed" "$out"
check_contains "Ollama down: the message says how to start it" "ollama serve" "$out"
check_eq "Ollama down: the document stays queued" queued "$("$DOSSIER" list --db "$T/later.db" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["status"])')"
start_stub later
DEV_MODE=1 OLLAMA_HOST=$URL_later "$DOSSIER" analyze --db "$T/later.db" "$T/later" > /dev/null 2>&1
check_eq "a later run with Ollama up completes it" done "$("$DOSSIER" list --db "$T/later.db" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["status"])')"
DEV_MODE=1 OLLAMA_HOST=127.0.0.1:$closed "$DOSSIER" analyze --offline --db "$T/off.db" "$T/later" > /dev/null 2>&1
check_eq "--offline makes an offline dossier instead" "offline:textrank" "$("$DOSSIER" show --db "$T/off.db" "$T/later/d1a.txt" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["sources"]["summary"])')"

# --- model not pulled
out=$(DEV_MODE=1 OLLAMA_HOST=$URL_later "$DOSSIER" analyze --db "$T/np.db" --text-model nosuch:1b "$T/later" 2>&1); rc=$?
check_eq "model not pulled: exit 1 (the document failed)" 1 "$rc"
check_contains "model not pulled: the message names ollama pull" "ollama pull nosuch:1b" "$out"

# --- a stream cut mid-way and an error line are retried, never stored as complete
start_stub flt
curl -s "$URL_flt/_stub/fault" -d '{"kind":"cut","model":"llama3.2:3b","count":1,"after_chunks":2}' >/dev/null
curl -s "$URL_flt/_stub/fault" -d '{"kind":"error_midstream","model":"llama3.2:3b","count":1,"after_chunks":1}' >/dev/null
DEV_MODE=1 OLLAMA_HOST=$URL_flt "$DOSSIER" analyze --db "$T/flt.db" --events "$T/flt.ndjson" "$T/later" > "$T/flt.out" 2>&1; rc=$?
check_eq "cut stream + error line: the run still succeeds" 0 "$rc"
check_eq "both failed attempts were retried (2 non-final step failures)" 2 "$(grep '"step":"analyze_text"' "$T/flt.ndjson" | grep -c '"final":false')"
check_eq "the stored analysis is the model's, not a partial stream" "ollama:llama3.2:3b" "$("$DOSSIER" show --db "$T/flt.db" "$T/later/d1a.txt" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["sources"]["summary"])')"

# --- out of memory: a message suggesting the dev profile or a smaller num_ctx; others continue
start_stub oom
curl -s "$URL_oom/_stub/fault" -d '{"kind":"oom","model":"llava:latest","count":10}' >/dev/null
out=$(DEV_MODE=1 OLLAMA_HOST=$URL_oom "$DOSSIER" analyze --db "$T/oom.db" "$T/mixed" 2>&1); rc=$?
check_eq "OOM: exit 1" 1 "$rc"
check_contains "OOM: the message suggests a smaller context or the dev profile" "num_ctx" "$out"
st=$("$DOSSIER" list --db "$T/oom.db" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sorted(set((x["kind"], x["status"]) for x in d)))')
check_eq "OOM: text documents complete, images keep their OCR as partial dossiers" "[('image', 'partial'), ('text', 'done')]" "$st"
done_testing
