#!/usr/bin/env bash
# ollama_stub_sched.sh — the Ollama test server models Ollama's scheduler and
# memory (reference/ollama.md section 11).
#
# Covers: memory-forced eviction picks the idle model with the shortest
# keep-alive (not the least recently used), the model-count limit, a model
# too big for memory even alone (500 model requires more system memory), a
# busy victim is unloaded only after its stream finishes, one load at a time
# in FIFO order, concurrent requests for a loading model share one load, load
# time scales with --load-ms-per-gb, and /_stub/stats maxima.
# Env: OLLAMA_STUB (binary) or BUILD_DIR.
. "$(dirname "$0")/../ollama_stub/testlib.sh"

# Resident bytes at num_ctx 4096 (weights + f16 KV):
#   llama3.1:8b  4920753328 + 536870912  = 5457624240
#   llama3.2:3b  2019393189 + 469762048  = 2489155237
#   llava:latest 4733363377 + 2147483648 = 6880847025
echo "# memory-forced eviction: shortest keep-alive, not LRU"
start_stub mem --memory 12GiB --max-loaded 3 --unload-linger-ms 100
req POST /api/generate '{"model":"llama3.1:8b","keep_alive":-1}'
req POST /api/generate '{"model":"llama3.2:3b","keep_alive":"5m"}'
req POST /api/chat '{"model":"llama3.2:3b","messages":[{"role":"user","content":"use it last"}],"stream":false}'
check "two models resident (7.9 GB of 12 GiB)" test "$(get /api/ps 'sorted(m["name"] for m in d["models"])')" = "['llama3.1:8b', 'llama3.2:3b']"
req POST /api/generate '{"model":"llava"}'
check "llava loads after an eviction" test "$CODE:$(py 'd["done_reason"] == "load"' && echo y)" = "200:y"
check "the victim is llama3.2:3b (5m keep-alive), though llama3.1:8b was used least recently" \
  test "$(get /_stub/timeline '[(e["model"], e.get("reason")) for e in d if e["event"] == "unload"]')" = "[('llama3.2:3b', 'evicted')]"
check "llama3.1:8b (pinned) and llava stay resident" test "$(get /api/ps 'sorted(m["name"] for m in d["models"])')" = "['llama3.1:8b', 'llava:latest']"
check "the evicted model was gone before llava started loading" \
  test "$(get /_stub/timeline '[e["event"] + ":" + e["model"] for e in d][-4:]')" = "['unload:llama3.2:3b', 'gone:llama3.2:3b', 'load_start:llava:latest', 'loaded:llava:latest']"
check "resident bytes never exceeded the memory (12 GiB)" test "$(get /_stub/stats 'd["max_resident_bytes"] <= 12 * 2**30 and d["max_resident_bytes"] == 5457624240 + 6880847025')" = True
check "/_stub/stats counts loads and unloads per model" test "$(get /_stub/stats '(d["loads"], d["unloads"])')" = "({'llama3.1:8b': 1, 'llama3.2:3b': 1, 'llava:latest': 1}, {'llama3.2:3b': 1})"
req POST /api/generate '{"model":"llava:13b"}'
check "llava:13b (8.0 GB + 3.1 GiB KV) needs both others out" test "$(get /api/ps '[m["name"] for m in d["models"]]')" = "['llava:13b']"
check "eviction order: llava (5m) before llama3.1:8b (forever)" test "$(get /_stub/timeline '[e["model"] for e in d if e["event"] == "unload"]')" = "['llama3.2:3b', 'llava:latest', 'llama3.1:8b']"
stop_stub

echo "# a model that cannot fit even alone"
start_stub small --memory 4GiB
req POST /api/generate '{"model":"llava:13b"}'
check "500 model requires more system memory (10.6 GiB) than is available (4.0 GiB)" test "$CODE:$(cat "$TMP/body")" = '500:{"error":"model requires more system memory (10.6 GiB) than is available (4.0 GiB)"}'
req POST /api/generate '{"model":"llama3.2:3b"}'
check "a model that fits still loads" test "$CODE" = 200
stop_stub

echo "# model-count limit (OLLAMA_MAX_LOADED_MODELS)"
start_stub count --memory 64GiB --max-loaded 2 --unload-linger-ms 0
req POST /api/generate '{"model":"llama3.2:3b","keep_alive":"1h"}'
req POST /api/generate '{"model":"llama3.1:8b","keep_alive":"2m"}'
req POST /api/generate '{"model":"qwen3:4b"}'
check "third model evicts the one with the shortest keep-alive (llama3.1:8b, 2m)" test "$(get /api/ps 'sorted(m["name"] for m in d["models"])')" = "['llama3.2:3b', 'qwen3:4b']"
check "never more than 2 models resident" test "$(get /_stub/stats 'd["max_resident_models"]')" = 2
stop_stub

echo "# a busy victim unloads only after its stream finishes"
start_stub busy --max-loaded 1 --token-delay-ms 60 --unload-linger-ms 50
req POST /api/generate '{"model":"llama3.2:3b"}'
curl -s "$B/api/chat" -d '{"model":"llama3.2:3b","messages":[{"role":"user","content":"a long streamed answer about lighthouses and harbours"}]}' >"$TMP/victim_stream" &
BG_PIDS+=($!)
sleep 0.15
req POST /api/generate '{"model":"qwen3:4b"}'
wait "${BG_PIDS[-1]}"
check "the victim's stream completed with done" pyfile "$TMP/victim_stream" 'lines[-1]["done"] is True and len(lines) > 5'
check "qwen3:4b loaded after the victim's stream ended" test "$(get /_stub/timeline '[e["event"] + ":" + e["model"] + ":" + str(e.get("reason")) for e in d][2:]')" = "['unload:llama3.2:3b:evicted', 'gone:llama3.2:3b:None', 'load_start:qwen3:4b:None', 'loaded:qwen3:4b:None']"
FINAL_AT=$("$PY" -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if l.strip()][-1]["created_at"])' "$TMP/victim_stream")
check "the victim's final chunk was sent before qwen3:4b started loading" test "$(get /_stub/timeline 'epoch([e["time"] for e in d if e["event"] == "load_start"][-1]) >= epoch("'"$FINAL_AT"'")')" = True
stop_stub

echo "# one load at a time, FIFO; concurrent requests share a load"
start_stub fifo --memory 64GiB --load-ms-per-gb 150
t0=$(ms_now)
curl -s "$B/api/generate" -d '{"model":"llama3.1:8b"}' >"$TMP/l1" &
BG_PIDS+=($!)
sleep 0.1
curl -s "$B/api/generate" -d '{"model":"llava"}' >"$TMP/l2" &
BG_PIDS+=($!)
sleep 0.1
curl -s "$B/api/generate" -d '{"model":"llama3.1:8b","prompt":"waits for the load","stream":false}' >"$TMP/l3" &
BG_PIDS+=($!)
wait "${BG_PIDS[@]}"
BG_PIDS=()
t1=$(ms_now)
check "all three requests answered" test "$(pyfile "$TMP/l1" 'd["done_reason"] == "load"' && pyfile "$TMP/l2" 'd["done_reason"] == "load"' && pyfile "$TMP/l3" 'd["done_reason"] == "stop"' && echo y)" = y
check "loads never overlap and run in arrival order" test "$(get /_stub/timeline '[e["event"] + ":" + e["model"] for e in d]')" = "['load_start:llama3.1:8b', 'loaded:llama3.1:8b', 'load_start:llava:latest', 'loaded:llava:latest']"
check "the request for the loading model did not load it again" test "$(get /_stub/stats 'd["loads"]["llama3.1:8b"]')" = 1
check "load time follows --load-ms-per-gb (4.9 GB x 150 ms ~ 738 ms)" test "$(get /_stub/timeline '(lambda t: 650 <= t[1] - t[0] <= 2500)([e["t_ms"] for e in d if e["model"] == "llama3.1:8b"])')" = True
check "the second load waited for the first (total >= 1.4 s)" test $((t1 - t0)) -ge 1400
check "the waiting generate reports the wait in load_duration" pyfile "$TMP/l3" 'd["load_duration"] > 300 * 10**6'
req GET /api/ps
check "/api/ps is ordered by longest remaining time first" py '[m["name"] for m in d["models"]] == ["llava:latest", "llama3.1:8b"]'
stop_stub

echo "# environment: OLLAMA_KEEP_ALIVE, OLLAMA_MAX_QUEUE; --models catalogue"
cat >"$TMP/models.json" <<'EOF'
[{"name":"tiny","family":"llama","parameter_size":"1B","quantization_level":"Q8_0","size":1000000000,
  "context_length":8192,"block_count":16,"head_count":16,"head_count_kv":4,"embedding_length":2048,
  "capabilities":["completion"]}]
EOF
# a 2 s load: the third request must arrive while the first still loads, even on a busy machine
OLLAMA_KEEP_ALIVE=1s OLLAMA_MAX_QUEUE=1 start_stub env --models "$TMP/models.json" --load-ms-per-gb 2000 --unload-linger-ms 0
req GET /api/tags
check "--models replaces the catalogue (tiny:latest only)" py '[m["name"] for m in d["models"]] == ["tiny:latest"] and d["models"][0]["details"]["quantization_level"] == "Q8_0"'
req POST /api/generate '{"model":"llama3.2:3b"}'
check "a built-in model is unknown with --models" test "$CODE" = 404
curl -s "$B/api/generate" -d '{"model":"tiny"}' >"$TMP/q1" &
BG_PIDS+=($!)
sleep 0.15
curl -s "$B/api/generate" -d '{"model":"tiny","options":{"num_ctx":8192}}' >"$TMP/q2" &
BG_PIDS+=($!)
sleep 0.15
req POST /api/generate '{"model":"tiny","options":{"num_ctx":2048}}'
check "OLLAMA_MAX_QUEUE=1: a second waiter gets 503 server busy" test "$CODE:$(cat "$TMP/body")" = '503:{"error":"server busy, please try again.  maximum pending requests exceeded"}'
wait "${BG_PIDS[@]}"
BG_PIDS=()
check "the loading request and the one queued behind it are served" test "$(pyfile "$TMP/q1" 'd["done_reason"] == "load"' && pyfile "$TMP/q2" 'd["done_reason"] == "load"' && echo y)" = y
req GET /api/ps
check "resident size uses the catalogue's shapes (1e9 + 2*16*4*128*8192*2)" py 'd["models"][0]["size"] == 10**9 + 2*16*4*128*8192*2'
check "OLLAMA_KEEP_ALIVE=1s: the model expires after about a second" wait_for /api/ps 'len(d["models"]) == 0' 4
stop_stub

summary
