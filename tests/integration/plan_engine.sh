#!/usr/bin/env bash
# dossier plan against the test server playing llama.cpp's router: the GGUF
# the router's child arguments name is read when it is on this machine (the
# same facts as Ollama's store), else the router's meta; the router's -c fixes
# the context (not clamped to the trained length, as llama-server allocates it
# all); flash attention and the engine's overhead shape the compute buffer.
. "$(dirname "$0")/lib.bash"
: "${OLLAMA_STUB:?run through ctest}"
export OLLAMA_MODELS="$T/empty-store"; mkdir -p "$OLLAMA_MODELS" "$T/gguf"
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')

# a GGUF for the text model where the router's arguments will point: 16 layers,
# 16 KV heads of 128, vocabulary 32000, trained for 2048 tokens, 1.35 GB of f16
python3 - "$T/gguf/llama3.2:3b.gguf" <<'PY'
import struct, sys
def s(x): b = x.encode(); return struct.pack("<Q", len(b)) + b
def kv_u32(k, v): return s(k) + struct.pack("<I", 4) + struct.pack("<I", v)
def kv_str(k, v): return s(k) + struct.pack("<I", 8) + s(v)
kvs = [kv_str("general.architecture", "llama"), kv_u32("llama.block_count", 16), kv_u32("llama.attention.head_count", 16),
       kv_u32("llama.attention.head_count_kv", 16), kv_u32("llama.embedding_length", 2048),
       kv_u32("llama.context_length", 2048), kv_u32("llama.vocab_size", 32000)]
data = 1_350_000_000
t = s("token_embd.weight") + struct.pack("<I", 1) + struct.pack("<Q", data // 2) + struct.pack("<I", 1) + struct.pack("<Q", 0)
hdr = b"GGUF" + struct.pack("<IQQ", 3, 1, len(kvs)) + b"".join(kvs) + t
hdr += b"\0" * (-len(hdr) % 32)
with open(sys.argv[1], "wb") as f:
    f.write(hdr); f.truncate(len(hdr) + data)   # sparse
PY

"$OLLAMA_STUB" --listen 127.0.0.1:0 --router --models-dir "$T/gguf" --load-ms 50 > "$T/stub.out" 2> "$T/stub.err" &
spid=$!; on_exit "kill $spid 2>/dev/null"
for _ in $(seq 1 100); do grep -q '^listening' "$T/stub.out" && break; sleep 0.05; done
URL=http://$(sed -n 's/^listening on //p' "$T/stub.out")

j=$(DEV_MODE=1 OLLAMA_HOST=127.0.0.1:$closed "$DOSSIER" plan --llm-url "$URL" --json); rc=$?
check_eq "plan against the router: exit 0" 0 "$rc"
check "the GGUF the router names is read: weights, and KV for the router's -c 4096 beyond the trained 2048 (16 x 16 x 256 x 4096 x 2 = 512 MiB)" python3 -c '
import json,sys; d=json.loads(sys.argv[1]); m=[x for x in d["models"] if x["role"]=="text"][0]
assert m["weights"]["source"] == "gguf:" + sys.argv[2], m["weights"]
assert m["weights"]["bytes"] == 1350000000, m["weights"]
assert m["num_ctx"] == 4096 and m["num_ctx_source"].startswith("engine arguments"), m
assert "above the trained 2048" in m["num_ctx_source"], m["num_ctx_source"]
assert m["kv_cache"]["bytes"] == 512 * 2**20, m["kv_cache"]' "$j" "$T/gguf/llama3.2:3b.gguf"
check "flash attention: the compute buffer has no context x context term (73.9 MB + 50 MiB overhead)" python3 -c '
import json,sys; d=json.loads(sys.argv[1]); m=[x for x in d["models"] if x["role"]=="text"][0]
c=m["compute"]; assert "flash-attn" in c["source"] and "engine overhead" in c["source"], c
b=512; exp=max(4*b*(1+4*2048), 4*b*(2048+32000)) + 2*b*4096 + 50*2**20
assert c["bytes"] == exp, (c["bytes"], exp)' "$j"
check "the vision model has no GGUF here: the router's meta gives its size, and the plan says why" python3 -c '
import json,sys; d=json.loads(sys.argv[1]); m=[x for x in d["models"] if x["role"]=="vision"][0]
assert m["weights"]["source"] == "engine:meta", m["weights"]
assert m["weights"]["bytes"] > 0, m' "$j"
out=$(DEV_MODE=1 OLLAMA_HOST=127.0.0.1:$closed "$DOSSIER" plan --llm-url "$URL")
check_contains "plan (text) shows the GGUF source" "gguf:$T/gguf/llama3.2:3b.gguf" "$out"
check_contains "plan (text) says why the vision model's GGUF was not read" "is not on this machine" "$out"

# --- measured beats predicted: a router whose loaded model reports 700 MiB more
# than the plan predicts; after one run, plan uses the measurement and warns
"$OLLAMA_STUB" --listen 127.0.0.1:0 --router --models-dir "$T/gguf" --load-ms 50 --resident-extra 700 \
  > "$T/stub2.out" 2> "$T/stub2.err" &
spid2=$!; on_exit "kill $spid2 2>/dev/null"
for _ in $(seq 1 100); do grep -q '^listening' "$T/stub2.out" && break; sleep 0.05; done
URL2=http://$(sed -n 's/^listening on //p' "$T/stub2.out")
mkdir -p "$T/docs"; echo "Report about the harbour. The ships waited for the pilot boat at noon." > "$T/docs/a.txt"
j0=$(DEV_MODE=1 OLLAMA_HOST=127.0.0.1:$closed "$DOSSIER" plan --llm-url "$URL2" --db "$T/m.db" --json "$T/docs")
check "before any run: predicted, nothing measured" python3 -c '
import json,sys; d=json.loads(sys.argv[1]); m=[x for x in d["models"] if x["role"]=="text"][0]
assert "measured" not in m and m["total_bytes"] == m["predicted_bytes"], m' "$j0"
DEV_MODE=1 OLLAMA_HOST=127.0.0.1:$closed "$DOSSIER" analyze --llm-url "$URL2" --db "$T/m.db" --events "$T/m.ndjson" \
  "$T/docs" > "$T/m.out" 2>&1; rc=$?
check_eq "a run against it: exit 0" 0 "$rc"
check "the load was measured (model_measured with engine, context, load time, resident size and source)" python3 - "$T/m.ndjson" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
m = [e for e in ev if e["event"] == "model_measured"]
assert len(m) == 1, m
m = m[0]
assert m["engine"] == "openai" and m["model"] == "llama3.2:3b" and m["num_ctx"] == 4096, m
assert m["resident_bytes"] == 2019393189 + 700 * 2**20 and m["resident_source"] == "engine:meta.size", m
assert m["load_ms"] >= 50 and m["predicted_bytes"] > 0, m
off = [e for e in ev if e["event"] == "prediction_off"]
assert len(off) == 1 and off[0]["off_pct"] > 15, off
PY
j=$(DEV_MODE=1 OLLAMA_HOST=127.0.0.1:$closed "$DOSSIER" plan --llm-url "$URL2" --db "$T/m.db" --json "$T/docs")
check "after one run: plan plans with the measurement (source measured), the prediction beside it" python3 -c '
import json,sys; d=json.loads(sys.argv[1]); m=[x for x in d["models"] if x["role"]=="text"][0]
assert m["measured"]["source"] == "measured" and m["measured"]["bytes"] == 2019393189 + 700 * 2**20, m
assert m["total_bytes"] == m["measured"]["bytes"] and m["predicted_bytes"] < m["total_bytes"], m
assert any("more than 15 % off" in w for w in d["warnings"]), d["warnings"]' "$j"
out=$(DEV_MODE=1 OLLAMA_HOST=127.0.0.1:$closed "$DOSSIER" plan --llm-url "$URL2" --db "$T/m.db" "$T/docs")
check_contains "plan (text) shows measured beside predicted" "measured (engine:meta.size, 1 load); predicted" "$out"
check_contains "plan (text) reports the prediction more than 15 % off" "more than 15 % off" "$out"
out=$(DEV_MODE=1 OLLAMA_HOST=127.0.0.1:$closed "$DOSSIER" models --llm-url "$URL2" --db "$T/m.db")
check_contains "models lists the measured load" "Measured loads" "$out"
check_contains "models shows the 15 % warning" "the prediction is more than 15 % off" "$out"
j=$(DEV_MODE=1 OLLAMA_HOST=127.0.0.1:$closed "$DOSSIER" models --llm-url "$URL2" --db "$T/m.db" --json)
check "models --json lists measured and predicted" python3 -c '
import json,sys; d=json.loads(sys.argv[1]); m=d["measured"]
assert len(m) == 1 and m[0]["off"] is True and m[0]["measured_bytes"] > m[0]["predicted_bytes"] > 0, m' "$j"
j=$(DEV_MODE=1 OLLAMA_HOST=127.0.0.1:$closed "$DOSSIER" plan --llm-url "$URL2" --db "$T/m.db" --num-ctx 2048 --json "$T/docs")
check "the router's -c fixes the context whatever --num-ctx asks, so the measurement still applies" python3 -c '
import json,sys; d=json.loads(sys.argv[1]); m=[x for x in d["models"] if x["role"]=="text"][0]
assert m["num_ctx"] == 4096 and "measured" in m, m' "$j"

# --- the serving process runs here: its VmRSS is the measurement (found by
# the GGUF path in its arguments, as a router's child is)
python3 -c 'import sys, time; b = bytearray(64 << 20); time.sleep(120)' "$T/gguf/llama3.2:3b.gguf" &
cpid=$!; on_exit "kill $cpid 2>/dev/null"
sleep 0.5
DEV_MODE=1 OLLAMA_HOST=127.0.0.1:$closed "$DOSSIER" analyze --llm-url "$URL2" --db "$T/rss.db" --events "$T/rss.ndjson" \
  "$T/docs" > "$T/rss.out" 2>&1; rc=$?
check_eq "a run with the child process here: exit 0" 0 "$rc"
check "the measurement is the child's VmRSS from /proc (about 64 MiB here), not meta.size" python3 - "$T/rss.ndjson" $cpid <<'PY'
import json, sys
m = [json.loads(l) for l in open(sys.argv[1]) if '"model_measured"' in l][0]
rss = [int(l.split()[1]) * 1024 for l in open(f"/proc/{sys.argv[2]}/status") if l.startswith("VmRSS:")][0]
assert m["resident_source"] == "rss:/proc", m
assert 60 << 20 < m["resident_bytes"] < 200 << 20 and abs(m["resident_bytes"] - rss) < 16 << 20, (m, rss)
PY

# --- Ollama: the runner that serves the model runs here (`ollama runner --model
# <blob>`, the blob its /api/show modelfile names): its VmRSS is the measurement
start_stub ol
blob=$(curl -s "$URL_ol/api/show" -d '{"model":"llama3.2:3b"}' | python3 -c 'import json,sys; print([l[5:] for l in json.load(sys.stdin)["modelfile"].splitlines() if l.startswith("FROM /")][0])')
printf 'import time\nb = bytearray(96 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1\ntime.sleep(120)\n' > "$T/runner"
py=$(command -v /usr/bin/python3 || command -v python3)  # a real binary: a shim would exec again and lose argv[0]
(cd "$T" && exec -a ollama "$py" runner --model "$blob") &
rpid=$!; on_exit "kill $rpid 2>/dev/null"
sleep 0.5
mkdir -p "$T/one"; printf 'A short note about the river.\n' > "$T/one/n.txt"
DEV_MODE=1 OLLAMA_HOST=$URL_ol "$DOSSIER" analyze --embed-model none --db "$T/ol.db" --events "$T/ol.ndjson" "$T/one" > "$T/ol.out" 2>&1
check_eq "Ollama with its runner here: exit 0" 0 $?
check "Ollama: the measurement is the runner's VmRSS from /proc (about 96 MiB), not /api/ps's size" python3 - "$T/ol.ndjson" $rpid <<'PY'
import json, sys
m = [json.loads(l) for l in open(sys.argv[1]) if '"model_measured"' in l][0]
rss = [int(l.split()[1]) * 1024 for l in open(f"/proc/{sys.argv[2]}/status") if l.startswith("VmRSS:")][0]
assert m["resident_source"] == "rss:/proc", m
assert 90 << 20 < m["resident_bytes"] < 200 << 20 and abs(m["resident_bytes"] - rss) < 16 << 20, (m, rss)
PY
done_testing
