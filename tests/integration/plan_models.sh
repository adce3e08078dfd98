#!/usr/bin/env bash
# dossier plan and dossier models: the seed's scenarios and peaks for each
# profile, facts from a model store laid out here (GGUF files with known
# shapes) and from the Ollama test server, the refusal path, and models.
. "$(dirname "$0")/lib.bash"
: "${OLLAMA_STUB:?run through ctest}"
export OLLAMA_MODELS="$T/empty-store"; mkdir -p "$OLLAMA_MODELS"

out=$("$DOSSIER" plan --profile dev); rc=$?
check_eq "plan (dev) fits on this machine: exit 0" 0 "$rc"
for sc in "text" "image" "video transcription" "video frames" "swap transition"; do
  check_contains "plan lists the '$sc' scenario" "$sc" "$out"
done
peak() { "$DOSSIER" plan --json "$@" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["peak"]["bytes"]/1e9,1))'; }
dev=$(peak --profile dev --policy grouped); prod=$(peak --profile prod --policy grouped)
check "dev peak lands in the seed's range, about 6 GB (got $dev)" python3 -c "import sys; sys.exit(0 if 5.5 <= $dev <= 6.5 else 1)"
check "prod peak lands in the seed's range, about 11 GB (got $prod)" python3 -c "import sys; sys.exit(0 if 10 <= $prod <= 11.5 else 1)"

out=$("$DOSSIER" plan --profile prod --budget 8G 2>&1); rc=$?
check_eq "a budget too small: plan exits 1" 1 "$rc"
check_contains "a budget too small: it says what would fit" "dev profile" "$out"
check_contains "a budget too small: the peak line names the budget" "peak:" "$out"

# only the models the documents need are planned
mkdir -p "$T/txt"; echo "Plain notes about the harbour and its ships." > "$T/txt/a.md"
j=$("$DOSSIER" plan --profile dev --json "$T/txt")
check "a folder of text plans the text model only" python3 -c '
import json,sys; d=json.loads(sys.argv[1]); assert d["inputs"]["text"] == 1 and d["inputs"]["image"] == 0, d["inputs"]
assert d["peak"]["bytes"] < 4e9 and not any(m["role"] == "vision" for m in d["models"]), d["peak"]' "$j"

# what the files hold is counted before the run: a zip of images, a mail's attachment, a DOCX's photo
mkdir -p "$T/mixed"
python3 - "$T/mixed" "$SOURCE_DIR/tests" <<'PY'
import base64, os, sys, zipfile
d = sys.argv[1]; sys.path.insert(0, sys.argv[2]); import formats_fixtures as ff
png = b"\x89PNG\r\n\x1a\n" + os.urandom(40000)
with zipfile.ZipFile(os.path.join(d, "photos.zip"), "w") as z:
    for i in range(3): z.writestr(f"holiday/img{i}.png", png)
    z.writestr("holiday/notes.txt", "Notes about the beach.\n")
open(os.path.join(d, "mail.eml"), "w").write(
    "From: a@example.org\nSubject: Scan\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n"
    "--b\nContent-Type: text/plain\n\nThe scan is attached.\n--b\nContent-Type: image/jpeg; name=\"scan.jpg\"\n"
    "Content-Disposition: attachment; filename=\"scan.jpg\"\nContent-Transfer-Encoding: base64\n\n"
    + base64.encodebytes(os.urandom(3000)).decode() + "--b--\n")
ff.docx(os.path.join(d, "report.docx"), ff.para("The photo of the receipt."),
        extra=[("word/media/image1.png", png), ("word/media/image2.png", png[:2000])])
PY
j=$("$DOSSIER" plan --profile dev --json "$T/mixed")
check "the children inside are counted by kind, with their source" python3 -c '
import json,sys; d=json.loads(sys.argv[1])
assert d["inputs"]["archive"] == 1 and d["inputs"]["mail"] == 1 and d["inputs"]["office"] == 1 and d["inputs"]["image"] == 0, d["inputs"]
assert d["children"] == {"image": {"count": 5, "source": "scanned"}, "text": {"count": 1, "source": "scanned"}}, d["children"]' "$j"
check "and their images plan the vision model" python3 -c '
import json,sys; d=json.loads(sys.argv[1]); assert any(m["role"] == "vision" for m in d["models"]), d["models"]' "$j"
out=$("$DOSSIER" plan --profile dev "$T/mixed")
check_contains "the text says what is inside and how it was counted" "inside them: 1 text (scanned), 5 image (scanned)" "$out"
# a mail larger than the scan's bound: its first 64 MiB are read and the count is an estimate
python3 - "$T/big/huge.eml" <<'PY'
import os, sys
os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True)
with open(sys.argv[1], "w") as f:
    f.write("From: a@example.org\nSubject: Huge\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n")
    for i in range(2):
        f.write(f"--b\nContent-Type: application/octet-stream\nContent-Disposition: attachment;\n filename=\"photo{i}.jpg\"\n\n")
        f.write(("A" * 76 + "\n") * 10)
    f.write("--b\nContent-Type: text/plain\n\n")
    line = "filler text of a very long mail body about nothing in particular at all\n"
    f.write(line * (70 * 1024 * 1024 // len(line)))
    f.write("--b--\n")
PY
t0=$(date +%s.%N)
j=$("$DOSSIER" plan --profile dev --json "$T/big")
t1=$(date +%s.%N)
check "a mail over the bound: its attachments are estimated" python3 -c '
import json,sys; d=json.loads(sys.argv[1]); c=d["children"]["image"]
assert c["source"] == "estimated" and 2 <= c["count"] <= 3, c' "$j"
check "and the scan is bounded in time (took $(python3 -c "print(round($t1-$t0,2))") s)" python3 -c "import sys; sys.exit(0 if $t1 - $t0 < 20 else 1)"
rm -rf "$T/big"

# facts from Ollama's model store, laid out here with generated GGUF files
python3 - "$T/store" <<'PY'
import hashlib, json, os, struct, sys
root = sys.argv[1]
def s(x): b = x.encode(); return struct.pack("<Q", len(b)) + b
def kv_u32(k, v): return s(k) + struct.pack("<I", 4) + struct.pack("<I", v)
def kv_str(k, v): return s(k) + struct.pack("<I", 8) + s(v)
def gguf(path, layers, heads, kv_heads, embd, data_bytes):
    kvs = [kv_str("general.architecture", "llama"), kv_u32("llama.block_count", layers),
           kv_u32("llama.attention.head_count", heads), kv_u32("llama.attention.head_count_kv", kv_heads),
           kv_u32("llama.embedding_length", embd), kv_u32("llama.context_length", 131072)]
    # one F16 tensor of data_bytes/2 elements
    tensors = s("token_embd.weight") + struct.pack("<I", 1) + struct.pack("<Q", data_bytes // 2) + struct.pack("<I", 1) + struct.pack("<Q", 0)
    hdr = b"GGUF" + struct.pack("<IQQ", 3, 1, len(kvs)) + b"".join(kvs) + tensors
    hdr += b"\0" * (-len(hdr) % 32)
    with open(path, "wb") as f:
        f.write(hdr); f.truncate(len(hdr) + data_bytes)   # sparse: no real weights on disk
os.makedirs(f"{root}/blobs", exist_ok=True)
blob = f"{root}/blobs/tmp"
gguf(blob, 28, 24, 8, 3072, 1_000_000_000)
h = hashlib.sha256(open(blob, "rb").read(4096)).hexdigest()
os.rename(blob, f"{root}/blobs/sha256-{h}")
man = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
       "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": "sha256:" + "0"*64, "size": 2},
       "layers": [{"mediaType": "application/vnd.ollama.image.model", "digest": "sha256:" + h, "size": os.path.getsize(f"{root}/blobs/sha256-{h}")}]}
os.makedirs(f"{root}/manifests/registry.ollama.ai/library/tiny", exist_ok=True)
json.dump(man, open(f"{root}/manifests/registry.ollama.ai/library/tiny/3b", "w"))
PY
j=$(OLLAMA_MODELS="$T/store" "$DOSSIER" plan --profile dev --text-model tiny:3b --json "$T/txt")
check "the store's GGUF gives the weights and the KV cache (28 layers x 8 KV heads x 128 x 4096 x 2 x 2 = 448 MiB)" python3 -c '
import json,sys; d=json.loads(sys.argv[1])
m=[x for x in d["models"] if x["role"]=="text"][0]
assert m["weights"]["source"].startswith("gguf:"), m
assert abs(m["weights"]["bytes"] - 1_000_000_000) < 1_000_000, m
assert m["kv_cache"]["bytes"] == 448*1024*1024, m' "$j"

# facts from the Ollama test server's /api/show when the store is not readable
"$OLLAMA_STUB" --listen 127.0.0.1:0 > "$T/stub.out" 2>/dev/null &
spid=$!; on_exit "kill $spid 2>/dev/null"
for _ in $(seq 1 100); do grep -q '^listening' "$T/stub.out" && break; sleep 0.05; done
URL=http://$(sed -n 's/^listening on //p' "$T/stub.out")
j=$(OLLAMA_HOST=$URL "$DOSSIER" plan --profile dev --json "$T/txt")
check "without a readable store the facts come from /api/show" python3 -c '
import json,sys; d=json.loads(sys.argv[1])
m=[x for x in d["models"] if x["role"]=="text"][0]
assert m["weights"]["source"] == "api/show" and m["weights"]["bytes"] == 2019393189, m' "$j"

out=$(OLLAMA_HOST=$URL DEV_MODE=1 "$DOSSIER" models); rc=$?
check_eq "models: exit 0 with Ollama up" 0 "$rc"
check_contains "models lists the text model" "llama3.2:3b" "$out"
check_contains "models lists the vision model" "llava:latest" "$out"
out=$(OLLAMA_HOST=$URL DEV_MODE=1 "$DOSSIER" models --json)
check "models --json says the vision model can read images and the text model cannot" python3 -c '
import json,sys; r=json.loads(sys.argv[1])["roles"]
assert "vision" in r["vision"]["capabilities"] and "vision" not in r["text"]["capabilities"], r' "$out"
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
out=$(OLLAMA_HOST=127.0.0.1:$closed "$DOSSIER" models 2>&1); rc=$?
check_eq "models with Ollama down: exit 3" 3 "$rc"
check_contains "models with Ollama down: names the address" "127.0.0.1:$closed" "$out"

# analyze refuses a run that cannot fit, unless --force
mkdir -p "$T/imgs"; cp "$SOURCE_DIR/samples/cafe-receipt.png" "$T/imgs/"
out=$(OLLAMA_HOST=$URL "$DOSSIER" analyze --profile prod --budget 4G --db "$T/r.db" "$T/imgs" 2>&1); rc=$?
check_eq "analyze over budget: refused with exit 3" 3 "$rc"
check_contains "analyze over budget: says so and how to proceed" "--force" "$out"
check_eq "analyze over budget: the document stays queued" queued "$("$DOSSIER" list --db "$T/r.db" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["status"])')"
OLLAMA_HOST=$URL "$DOSSIER" analyze --profile prod --budget 4G --force --db "$T/r.db" "$T/imgs" >/dev/null 2>&1
check_eq "analyze --force runs it anyway" done "$("$DOSSIER" list --db "$T/r.db" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["status"])')"
# the plan analyze checks counts what the files hold: images inside a zip need the vision model
mkdir -p "$T/zimg" "$T/ztxt"
python3 - "$T" "$SOURCE_DIR" <<'PY'
import os, sys, zipfile
t = sys.argv[1]
png = open(os.path.join(sys.argv[2], "samples", "cafe-receipt.png"), "rb").read()
with zipfile.ZipFile(os.path.join(t, "zimg", "scans.zip"), "w") as z:
    for i in range(2): z.writestr(f"scan{i}.png", png)
with zipfile.ZipFile(os.path.join(t, "ztxt", "notes.zip"), "w") as z:
    z.writestr("a.txt", "Notes about the harbour and its ships.\n")
PY
out=$(OLLAMA_HOST=$URL "$DOSSIER" analyze --profile dev --budget 4.5G --db "$T/z.db" "$T/ztxt" 2>&1); rc=$?
check_eq "analyze: a zip of text fits a 4.5 GB budget (dev)" 0 "$rc"
out=$(OLLAMA_HOST=$URL "$DOSSIER" analyze --profile dev --budget 4.5G --db "$T/z2.db" "$T/zimg" 2>&1); rc=$?
check_eq "analyze: a zip of scans over the same budget is refused (the images inside are planned)" 3 "$rc"
check_contains "analyze: the refusal says how to proceed" "--force" "$out"
done_testing
