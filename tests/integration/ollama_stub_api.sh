#!/usr/bin/env bash
# ollama_stub_api.sh — the Ollama test server speaks Ollama's HTTP API as
# /work/shared/reference/ollama.md describes it.
#
# Covers: liveness (GET/HEAD /), /api/version, /api/tags, /api/show, 404/405,
# request errors (missing body, bad JSON, unknown model, bad keep_alive, option
# types, think, base64 images, invalid format), streaming chat and generate
# shapes (NDJSON, final metrics, context), non-streaming shape (no trailing
# newline), load and unload replies, /api/ps lingering, keep_alive semantics,
# num_ctx reload, schema-conforming and prompt-dependent replies, images,
# thinking, every fault kind, client disconnect during a load, request
# recording and reset.
# Env: OLLAMA_STUB (binary) or BUILD_DIR.
. "$(dirname "$0")/../ollama_stub/testlib.sh"

start_stub api --unload-linger-ms 1000

echo "# liveness and catalogue"
req GET /
check "GET / says Ollama is running" py 'b == "Ollama is running"'
req HEAD /
check "HEAD / answers 200" test "$CODE" = 200
req GET /api/version
check "/api/version has a version" py 'd["version"] == "0.33.0"'
req HEAD /api/tags
check "HEAD /api/tags answers 200 with JSON type" test "$CODE:$CTYPE" = "200:application/json; charset=utf-8"
req GET /api/tags
check "/api/tags lists the five built-in models" py '[m["name"] for m in d["models"]] == ["llama3.2:3b","llama3.1:8b","llava:latest","llava:13b","qwen3:4b"]'
check "/api/tags entries carry size, 64-hex digest, details, capabilities" py 'all(m["size"] > 1e9 and re.fullmatch("[0-9a-f]{64}", m["digest"]) and m["details"]["format"] == "gguf" and "completion" in m["capabilities"] for m in d["models"])'
check "llava:latest is a 4733363377-byte vision model" py '[m for m in d["models"] if m["name"] == "llava:latest"][0]["size"] == 4733363377 and "vision" in [m for m in d["models"] if m["name"] == "llava:latest"][0]["capabilities"]'
req POST /api/show '{"model":"llava"}'
check "/api/show normalises llava to llava:latest and gives architecture keys" py 'd["model_info"]["general.architecture"] == "llama" and d["model_info"]["llama.block_count"] == 32 and d["model_info"]["llama.attention.head_count_kv"] == 32 and d["model_info"]["llama.embedding_length"] == 4096 and d["model_info"]["llama.context_length"] == 32768 and d["model_info"]["general.parameter_count"] > 0'
check "/api/show has details, capabilities, projector_info, modified_at" py 'd["details"]["quantization_level"] == "Q4_0" and d["capabilities"] == ["completion","vision"] and "projector_info" in d and re.match(r"\d{4}-\d\d-\d\dT", d["modified_at"])'
req POST /api/show '{"model":"llama3.1:8b"}'
check "/api/show llama3.1:8b shapes (32 layers, 8 KV heads, 131072 ctx)" py 'd["model_info"]["llama.attention.head_count_kv"] == 8 and d["model_info"]["llama.context_length"] == 131072 and "tools" in d["capabilities"]'
req POST /api/show '{"model":"nope:1b"}'
check "/api/show unknown model: 404 model 'nope:1b' not found" py 'd == {"error": "model '"'"'nope:1b'"'"' not found"}'
[ "$CODE" = 404 ] || check "status 404" false
req POST /api/show '{}'
check "/api/show without model: 400 model is required" test "$CODE:$(cat "$TMP/body")" = '400:{"error":"model is required"}'
req GET /api/nothing
check "unknown path: 404 page not found" test "$CODE:$(cat "$TMP/body")" = "404:404 page not found"
req GET /api/chat
check "wrong method: 405" test "$CODE" = 405
req POST /api/ps '{}'
check "POST /api/ps: 405" test "$CODE" = 405

echo "# request errors"
req POST /api/generate ''
check "empty body: 400 missing request body" test "$CODE:$(cat "$TMP/body")" = '400:{"error":"missing request body"}'
req POST /api/chat '{"model":"llama3.2:3b",'
check "truncated JSON: 400 unexpected EOF" test "$CODE:$(cat "$TMP/body")" = '400:{"error":"unexpected EOF"}'
req POST /api/chat '{model:1}'
check "bad JSON: 400 with Go's decoder message" test "$CODE:$(cat "$TMP/body")" = "400:{\"error\":\"invalid character 'm' looking for beginning of object key string\"}"
req POST /api/generate '{"model":"nope"}'
check "unknown model: 404 model 'nope' not found" test "$CODE:$(cat "$TMP/body")" = "404:{\"error\":\"model 'nope' not found\"}"
req POST /api/chat '{"messages":[]}'
check "chat without model: 400 model is required" test "$CODE" = 400
req POST /api/generate '{"model":"llama3.2:3b","keep_alive":"-1"}'
check "keep_alive string without unit: 400 time: missing unit" test "$CODE:$(cat "$TMP/body")" = '400:{"error":"time: missing unit in duration \"-1\""}'
req POST /api/generate '{"model":"llama3.2:3b","keep_alive":false}'
check "keep_alive bool: 400 Unsupported type: 'bool'" test "$CODE:$(cat "$TMP/body")" = "400:{\"error\":\"Unsupported type: 'bool'\"}"
req POST /api/generate '{"model":"llama3.2:3b","prompt":"x","options":{"num_ctx":"4096"}}'
check "option of the wrong type: 500 option \"num_ctx\" must be of type integer" test "$CODE:$(cat "$TMP/body")" = '500:{"error":"option \"num_ctx\" must be of type integer"}'
req POST /api/generate '{"model":"llama3.2:3b","prompt":"x","stream":false,"options":{"no_such_option":1,"temperature":0}}'
check "unknown option keys are ignored" test "$CODE" = 200
req POST /api/generate '{"model":"llama3.2:3b","prompt":"x","think":true}'
check "think on a non-thinking model: 400 does not support thinking" test "$CODE:$(cat "$TMP/body")" = '400:{"error":"\"llama3.2:3b\" does not support thinking"}'
req POST /api/chat '{"model":"llava","messages":[{"role":"user","content":"x","images":["data:image/png;base64,iVBORw0KGgo="]}]}'
check "data: URI image: 400 illegal base64 data at input byte 4" test "$CODE:$(cat "$TMP/body")" = '400:{"error":"illegal base64 data at input byte 4"}'
req POST /api/generate '{"model":"llama3.2:3b","prompt":"x","format":"yaml"}'
check "invalid format: 500 invalid format" py 'd["error"].startswith("invalid format: ") and d["error"].endswith("expected \"json\" or a valid JSON Schema object")'
[ "$CODE" = 500 ] || check "invalid format status 500" false

echo "# streaming and non-streaming shapes"
req POST /api/chat '{"model":"llama3.2:3b","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"Summarise the quarterly budget review for Acme"}]}'
check "streaming chat: 200 application/x-ndjson" test "$CODE:$CTYPE" = "200:application/x-ndjson"
check "streaming chat: several lines, each ended by a newline, each JSON" py 'len(lines) >= 3 and b.endswith("\n") and None not in lines'
check "streaming chat: only the last line is done, with done_reason stop" py 'all(not l["done"] for l in lines[:-1]) and lines[-1]["done"] is True and lines[-1]["done_reason"] == "stop"'
check "streaming chat: chunks carry message.role assistant and a content delta" py 'all(l["message"]["role"] == "assistant" for l in lines) and all(l["message"]["content"] for l in lines[:-1])'
check "streaming chat: final metrics are positive integers in ns, total >= load" py 'all(isinstance(lines[-1][k], int) and lines[-1][k] > 0 for k in ("total_duration","load_duration","prompt_eval_count","prompt_eval_duration","eval_count","eval_duration")) and lines[-1]["total_duration"] >= lines[-1]["load_duration"]'
check "streaming chat: eval_count equals the number of content chunks" py 'lines[-1]["eval_count"] == len(lines) - 1'
check "streaming chat: answer echoes words of the last user message" py 'all(w in "".join(l["message"]["content"] for l in lines) for w in ("Summarise","quarterly","budget","Acme"))'
check "streaming chat: model echoed, created_at UTC with Z, no context" py 'all(l["model"] == "llama3.2:3b" and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z", l["created_at"]) for l in lines) and "context" not in lines[-1]'
check "streaming chat: intermediate chunks have no metrics" py 'all("eval_count" not in l and "total_duration" not in l for l in lines[:-1])'
req POST /api/generate '{"model":"library/llama3.2:3b","prompt":"Describe the lighthouse keeper diary"}'
check "streaming generate: response deltas, final chunk with context array" py 'all("response" in l for l in lines) and isinstance(lines[-1]["context"], list) and len(lines[-1]["context"]) > 0 and "lighthouse" in "".join(l["response"] for l in lines)'
check "streaming generate: model echoed as sent (library/llama3.2:3b)" py 'lines[0]["model"] == "library/llama3.2:3b"'
req POST /api/generate '{"model":"llama3.2","prompt":"x"}'
check "llama3.2 means llama3.2:latest, which is not pulled: 404" test "$CODE" = 404
req POST /api/generate '{"model":"llama3.2:3b","prompt":"Describe the lighthouse","raw":true,"stream":false}'
check "raw generate: no context" py '"context" not in d and d["done"]'
req POST /api/chat '{"model":"llama3.2:3b","stream":false,"messages":[{"role":"user","content":"Explain tidal energy"}]}'
check "non-streaming: one JSON object, application/json, no trailing newline" py 'd is not None and not b.endswith("\n")'
test "$CTYPE" = "application/json; charset=utf-8" || check "non-streaming content type" false
check "non-streaming: whole content, done true, metrics" py 'd["done"] and d["done_reason"] == "stop" and "tidal" in d["message"]["content"] and d["eval_count"] > 1 and d["total_duration"] > 0'
req POST /api/generate '{"model":"llama3.2:3b","prompt":"one two three four five six seven","stream":false,"options":{"num_predict":2}}'
check "num_predict: done_reason length and eval_count capped" py 'd["done_reason"] == "length" and d["eval_count"] == 2'

echo "# load, unload, /api/ps"
req POST /api/generate '{"model":"llama3.1:8b"}'
check "load request: single object, done_reason load, empty response, no metrics" py 'd is not None and d["done"] and d["done_reason"] == "load" and d["response"] == "" and "total_duration" not in d and "load_duration" not in d'
req POST /api/chat '{"model":"llama3.1:8b","messages":[]}'
check "chat load request: message {role assistant, content empty}, done_reason load" py 'd["message"] == {"role":"assistant","content":""} and d["done_reason"] == "load"'
req GET /api/ps
check "/api/ps shows llama3.1:8b with size = weights + f16 KV(4096) = size_vram, context 4096" py '[m for m in d["models"] if m["name"] == "llama3.1:8b"][0]["size"] == 4920753328 + 536870912 and [m for m in d["models"] if m["name"] == "llama3.1:8b"][0]["size_vram"] == 4920753328 + 536870912 and [m for m in d["models"] if m["name"] == "llama3.1:8b"][0]["context_length"] == 4096'
check "/api/ps: default keep-alive is 5m" py '280 < secs_ahead([m for m in d["models"] if m["name"] == "llama3.1:8b"][0]["expires_at"]) <= 301'
req POST /api/generate '{"model":"llama3.1:8b","keep_alive":0}'
cp "$TMP/body" "$TMP/unload"
req GET /api/ps
check "unloaded model still lingers in /api/ps right after the reply" py '"llama3.1:8b" in [m["name"] for m in d["models"]]'
check "unload request: done_reason unload at once" pyfile "$TMP/unload" 'd["done_reason"] == "unload" and d["done"] and d["response"] == ""'
check "unloaded model leaves /api/ps after the linger time" wait_for /api/ps '"llama3.1:8b" not in [m["name"] for m in d["models"]]' 2
req POST /api/generate '{"model":"llava:13b","keep_alive":0}'
check "unload of a model that is not loaded: 200 unload" test "$CODE:$(py 'd["done_reason"] == "unload"' && echo y)" = "200:y"
req POST /api/generate '{"model":"nope","keep_alive":0}'
check "unload of an unknown model: 404" test "$CODE" = 404

echo "# keep_alive semantics"
req POST /api/generate '{"model":"llama3.2:3b","keep_alive":"10m"}'
req GET /api/ps
check "keep_alive \"10m\" sets expires_at 10 minutes ahead" py '590 < secs_ahead([m for m in d["models"] if m["name"] == "llama3.2:3b"][0]["expires_at"]) <= 601'
req POST /api/generate '{"model":"llama3.2:3b","prompt":"hello there","stream":false}'
req GET /api/ps
check "absent keep_alive keeps the loaded model's 10m (not reset to 5m)" py '590 < secs_ahead([m for m in d["models"] if m["name"] == "llama3.2:3b"][0]["expires_at"]) <= 601'
req POST /api/generate '{"model":"llama3.2:3b","keep_alive":-1}'
req GET /api/ps
check "keep_alive -1 pins the model (expires_at centuries ahead)" py 'years_ahead([m for m in d["models"] if m["name"] == "llama3.2:3b"][0]["expires_at"]) > 200'
req POST /api/generate '{"model":"llama3.2:3b","keep_alive":"-5m"}'
req GET /api/ps
check "negative duration string also pins" py 'years_ahead([m for m in d["models"] if m["name"] == "llama3.2:3b"][0]["expires_at"]) > 200'
req POST /api/generate '{"model":"llama3.2:3b","keep_alive":0.5}'
check "keep_alive 0.5 (seconds): model expires on its own" wait_for /api/ps '"llama3.2:3b" not in [m["name"] for m in d["models"]]' 3
req POST /api/generate '{"model":"llama3.2:3b","prompt":"short lived answer","keep_alive":0,"stream":false}'
check "keep_alive 0 with a prompt: answered, then unloaded when idle" test "$CODE" = 200
check "keep_alive 0 with a prompt: leaves /api/ps" wait_for /api/ps '"llama3.2:3b" not in [m["name"] for m in d["models"]]' 2

echo "# runner options force a reload"
req POST /_stub/reset
req POST /api/generate '{"model":"llama3.2:3b","options":{"num_ctx":4096}}'
req POST /api/generate '{"model":"llama3.2:3b","prompt":"same context","stream":false,"options":{"num_ctx":4096,"temperature":0.1}}'
check "same num_ctx (and a sampling change): no reload" test "$(get /_stub/stats 'd["loads"]["llama3.2:3b"]')" = 1
req POST /api/generate '{"model":"llama3.2:3b","prompt":"more context","stream":false,"options":{"num_ctx":8192}}'
check "num_ctx change: the model is loaded again" test "$(get /_stub/stats 'd["loads"]["llama3.2:3b"]')" = 2
check "num_ctx change: the old instance was unloaded with reason reload" test "$(get /_stub/timeline '[e.get("reason") for e in d if e["event"] == "unload"]')" = "['reload']"
req GET /api/ps
check "/api/ps reports context_length 8192 and the bigger KV" py 'd["models"][0]["context_length"] == 8192 and d["models"][0]["size"] == 2019393189 + 2*28*8*128*8192*2'
req POST /api/generate '{"model":"llama3.2:3b","options":{"num_ctx":1000000}}'
check "num_ctx above the trained length is clamped (131072)" test "$(get /api/ps 'd["models"][0]["context_length"]')" = 131072
req POST /api/generate '{"model":"llava","options":{"num_ctx":512}}'
check "vision model num_ctx raised to at least 2048" test "$(get /api/ps '[m["context_length"] for m in d["models"] if m["name"] == "llava:latest"][0]')" = 2048

echo "# structured output, images, thinking"
req POST /_stub/reset
SCHEMA='{"type":"object","properties":{"title":{"type":"string","maxLength":40},"summary":{"type":"string"},"tags":{"type":"array","items":{"type":"string"}},"score":{"type":"integer","minimum":3,"maximum":9},"ratio":{"type":"number"},"kind":{"type":"string","enum":["memo","letter"]},"draft":{"type":"boolean"},"owner":{"$ref":"#/$defs/person"},"when":{"type":"string","format":"date"},"maybe":{"type":["string","null"]},"entities":{"type":"array","minItems":1,"maxItems":1,"items":{"type":"object","properties":{"name":{"type":"string"},"type":{"type":"string"}},"required":["name","type"]}}},"required":["title","summary","tags","score","kind","entities"],"$defs":{"person":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}}}'
req POST /api/chat "{\"model\":\"llama3.2:3b\",\"stream\":false,\"format\":$SCHEMA,\"messages\":[{\"role\":\"user\",\"content\":\"Analyse this memo: the Zephyr project budget grew in March\"}]}"
cp "$TMP/body" "$TMP/schema_reply"
check "schema reply: content is a JSON document" py 'isinstance(json.loads(d["message"]["content"]), dict)'
check "schema reply: every property present with the right JSON type" py '(lambda v: set(v) == {"title","summary","tags","score","ratio","kind","draft","owner","when","maybe","entities"} and isinstance(v["title"], str) and isinstance(v["tags"], list) and type(v["score"]) is int and isinstance(v["ratio"], (int, float)) and isinstance(v["draft"], bool) and isinstance(v["owner"]["name"], str))(json.loads(d["message"]["content"]))'
check "schema reply: enum takes its first value, integer within bounds, maxLength respected" py '(lambda v: v["kind"] == "memo" and 3 <= v["score"] <= 9 and len(v["title"]) <= 40)(json.loads(d["message"]["content"]))'
check "schema reply: arrays have one or two items, minItems/maxItems respected" py '(lambda v: 1 <= len(v["tags"]) <= 2 and len(v["entities"]) == 1 and set(v["entities"][0]) == {"name","type"})(json.loads(d["message"]["content"]))'
check "schema reply: date format and nullable string" py '(lambda v: re.fullmatch(r"\d{4}-\d\d-\d\d", v["when"]) and isinstance(v["maybe"], str))(json.loads(d["message"]["content"]))'
check "schema reply: strings carry words of the user's message" py '(lambda v: "Zephyr" in v["summary"] and "March" in v["summary"] and all(t in v["summary"] for t in v["tags"]))(json.loads(d["message"]["content"]))'
req POST /api/chat "{\"model\":\"llama3.2:3b\",\"stream\":false,\"format\":$SCHEMA,\"messages\":[{\"role\":\"user\",\"content\":\"Analyse this memo: the Zephyr project budget grew in March\"}]}"
check "schema reply is deterministic" test "$(py 'json.loads(d["message"]["content"])' && "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["message"]["content"])' "$TMP/body")" = "$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["message"]["content"])' "$TMP/schema_reply")"
req POST /api/chat "{\"model\":\"llama3.2:3b\",\"format\":$SCHEMA,\"messages\":[{\"role\":\"user\",\"content\":\"Analyse the Zephyr memo\"}]}"
check "streamed schema reply: concatenated chunks parse as the same kind of document" py 'json.loads("".join(l["message"]["content"] for l in lines))["kind"] == "memo"'
req POST /api/generate '{"model":"llama3.2:3b","prompt":"Give JSON about penguins","format":"json","stream":false}'
check "format json: the reply is a JSON object" py 'isinstance(json.loads(d["response"]), dict) and "penguins" in d["response"]'

"$PY" - "$TMP/img.json" <<'EOF'
import base64, json, struct, sys, zlib
def png(w, h):
    raw = b"".join(b"\x00" + bytes([x % 256, y % 256, 128]) * 1 + bytes(3 * (w - 1)) for y in range(h) for x in [y])
    def chunk(t, data):
        return struct.pack(">I", len(data)) + t + data + struct.pack(">I", zlib.crc32(t + data) & 0xffffffff)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
a, b2 = png(64, 48), png(20, 10)
body = {"model": "llava", "stream": False, "messages": [{"role": "user", "content": "What is in these pictures of harbour cranes?", "images": [base64.b64encode(a).decode(), base64.b64encode(b2).decode()]}]}
json.dump(body, open(sys.argv[1], "w"))
open(sys.argv[1] + ".sizes", "w").write("%d %d" % (len(a), len(b2)))
EOF
read -r S1 S2 <"$TMP/img.json.sizes"
req POST /api/chat "@$TMP/img.json"
check "vision reply names the image count, kinds, dimensions and decoded sizes" py '"2 images: PNG 64x48 '"$S1"' bytes; PNG 20x10 '"$S2"' bytes" in d["message"]["content"] and "cranes" in d["message"]["content"]'
check "each image counts as 768 prompt tokens" py 'd["prompt_eval_count"] >= 2 * 768'
sed 's/"llava"/"llama3.2:3b"/' "$TMP/img.json" >"$TMP/img2.json"
req POST /api/chat "@$TMP/img2.json"
check "images to a non-vision model are accepted (as Ollama HEAD does)" test "$CODE" = 200
req POST /api/chat '{"model":"qwen3:4b","messages":[{"role":"user","content":"Why do owls hoot"}]}'
check "thinking model: thinking chunks before the answer (think absent = true)" py 'any(l["message"].get("thinking") for l in lines) and "owls" in "".join(l["message"]["content"] for l in lines) and lines[0]["message"]["content"] == ""'
req POST /api/generate '{"model":"qwen3:4b","prompt":"Why do owls hoot","think":false,"stream":false}'
check "think false: no thinking" py '"thinking" not in d and "owls" in d["response"]'
req POST /api/generate '{"model":"qwen3:4b","prompt":"Why do owls hoot","think":"high","stream":false}'
check "think level \"high\": whole thinking in a non-streaming reply" py 'd["thinking"].startswith("The user asks about")'

echo "# faults"
req POST /_stub/reset
req POST /api/generate '{"model":"llama3.2:3b"}'
req POST /_stub/fault '{"kind":"error_before","model":"llama3.2:3b"}'
check "fault accepted" test "$CODE" = 200
req POST /api/chat '{"model":"llama3.2:3b","messages":[{"role":"user","content":"hi"}]}'
check "error_before: HTTP 500 JSON error before any chunk" py 'set(d) == {"error"}' 
test "$CODE:$CTYPE" = "500:application/json; charset=utf-8" || check "error_before status/type" false
req POST /api/chat '{"model":"llama3.2:3b","messages":[{"role":"user","content":"hi"}]}'
check "faults are used up (next request fine)" test "$CODE" = 200
req POST /_stub/fault '{"kind":"error_midstream","after_chunks":2}'
req POST /api/chat '{"model":"llama3.2:3b","messages":[{"role":"user","content":"tell me a long story about ships"}]}'
check "error_midstream: HTTP 200, 2 chunks, then an error line and no done" py 'len(lines) == 3 and "error" in lines[2] and not any(l.get("done") for l in lines) and lines[0]["message"]["content"]'
test "$CODE" = 200 || check "error_midstream status 200" false
req POST /_stub/fault '{"kind":"error_midstream","after_chunks":2}'
req POST /api/chat '{"model":"llama3.2:3b","stream":false,"messages":[{"role":"user","content":"story"}]}'
check "error_midstream without streaming: the error replaces the reply (500)" test "$CODE:$(py '"error" in d' && echo y)" = "500:y"
req POST /_stub/fault '{"kind":"cut","after_chunks":3}'
req POST /api/generate '{"model":"llama3.2:3b","prompt":"tell me a long story about ships"}'
check "cut: curl sees a broken transfer" test "$CURL_RC" -ne 0
check "cut: 3 chunks and no done line" py 'len(lines) == 3 and not any(l.get("done") for l in lines if l)'
req POST /_stub/fault '{"kind":"cut","after_chunks":1,"clean":true}'
req POST /api/generate '{"model":"llama3.2:3b","prompt":"tell me a long story about ships"}'
check "cut clean: the stream ends properly but without done" test "$CURL_RC:$(py 'len(lines) == 1 and not lines[0]["done"]' && echo y)" = "0:y"
req POST /_stub/fault '{"kind":"stall","after_chunks":1,"ms":700}'
T=$(curl -s -o "$TMP/body" -w '%{time_starttransfer} %{time_total}' "$B/api/generate" -d '{"model":"llama3.2:3b","prompt":"stall here please"}')
check "stall: the stream pauses 700 ms after its first bytes, then completes with done" py '(lambda a, z: z - a >= 0.65)(*map(float, "'"$T"'".split())) and lines[-1]["done"] and len(lines) > 2'
req POST /_stub/fault '{"kind":"not_found","model":"llama3.2:3b"}'
req POST /api/chat '{"model":"llama3.2:3b","messages":[{"role":"user","content":"hi"}]}'
check "not_found: 404 model 'llama3.2:3b' not found" test "$CODE:$(cat "$TMP/body")" = "404:{\"error\":\"model 'llama3.2:3b' not found\"}"
req POST /_stub/fault '{"kind":"busy","count":2}'
req POST /api/chat '{"model":"llama3.2:3b","messages":[{"role":"user","content":"hi"}]}'
c1=$CODE
req POST /api/chat '{"model":"llama3.2:3b","messages":[{"role":"user","content":"hi"}]}'
check "busy count 2: two 503s with Ollama's message" test "$c1:$CODE:$(cat "$TMP/body")" = '503:503:{"error":"server busy, please try again.  maximum pending requests exceeded"}'
req POST /api/chat '{"model":"llama3.2:3b","messages":[{"role":"user","content":"hi"}]}'
check "busy: third request served" test "$CODE" = 200
req POST /_stub/fault '{"kind":"oom","model":"llava"}'
req POST /api/generate '{"model":"llava"}'
check "oom: 500 model requires more system memory (X GiB) than is available (Y GiB)" py 're.fullmatch(r"model requires more system memory \(\d+\.\d GiB\) than is available \(\d+\.\d GiB\)", d["error"])'
test "$CODE" = 500 || check "oom status 500" false
check "oom: the model did not become resident" test "$(get /api/ps '[m["name"] for m in d["models"]]')" = "['llama3.2:3b']"
req POST /_stub/fault '{"kind":"slow_load","model":"llava:latest","ms":800}'
t0=$(ms_now)
req POST /api/generate '{"model":"llava"}'
t1=$(ms_now)
check "slow_load: the load took at least 800 ms" test $((t1 - t0)) -ge 750
req POST /_stub/fault '{"kind":"bogus"}'
check "unknown fault kind: 400" test "$CODE" = 400

echo "# client disconnect during a load"
req POST /_stub/reset
req POST /_stub/fault '{"kind":"slow_load","model":"llama3.1:8b","ms":3000}'
curl -s --max-time 0.4 "$B/api/generate" -d '{"model":"llama3.1:8b"}' >/dev/null
check "the dropped load leaves /api/ps quickly" wait_for /api/ps '"llama3.1:8b" not in [m["name"] for m in d["models"]]' 1
check "timeline: load_start, then unload (cancelled) and gone" test "$(get /_stub/timeline '[(e["event"], e.get("reason")) for e in d]')" = "[('load_start', None), ('unload', 'cancelled'), ('gone', None)]"

echo "# recording and reset"
req POST /_stub/reset
req POST /api/chat '{"model":"llama3.2:3b","keep_alive":"2m","messages":[{"role":"user","content":"recorded"}],"stream":false}'
req GET /api/tags
req POST /api/generate '{bad'
req GET /_stub/requests
check "/_stub/requests records method, path, parsed body (null if unparsable)" py '[(r["seq"], r["method"], r["path"]) for r in d] == [(1, "POST", "/api/chat"), (2, "GET", "/api/tags"), (3, "POST", "/api/generate")] and d[0]["body"]["keep_alive"] == "2m" and d[2]["body"] is None and all(isinstance(r["t_ms"], int) for r in d)'
req GET '/_stub/requests?since=2'
check "/_stub/requests?since=N returns later requests only" py '[r["seq"] for r in d] == [3]'
req POST /_stub/reset
check "reset: no records, nothing resident, empty timeline" test "$(get /_stub/requests 'len(d)'):$(get /api/ps 'len(d["models"])'):$(get /_stub/timeline 'len(d)')" = "0:0:0"

echo "# shutdown"
stop_stub

echo "# --reply-ms: a fixed time per reply, whatever its length; a load is not a reply"
start_stub reply --reply-ms 400
req POST /api/generate '{"model":"llama3.2:3b"}'
t0=$(ms_now)
req POST /api/generate '{"model":"llama3.2:3b","prompt":"hi","stream":false}'
t1=$(ms_now)
req POST /api/chat '{"model":"llama3.2:3b","messages":[{"role":"user","content":"hello there"}]}'
t2=$(ms_now)
req POST /api/generate '{"model":"llama3.2:3b"}'
t3=$(ms_now)
check "--reply-ms 400: a generate reply took at least 400 ms ($((t1 - t0)) ms)" test $((t1 - t0)) -ge 390
check "--reply-ms 400: a streamed chat reply took at least 400 ms ($((t2 - t1)) ms)" test $((t2 - t1)) -ge 390
check "--reply-ms 400: a load request did not wait ($((t3 - t2)) ms)" test $((t3 - t2)) -lt 300
stop_stub

summary
