#!/usr/bin/env bash
# `dossier serve` over real HTTP on loopback (curl), offline, each server on its
# own free port with this test's own database:
#   - every `sh test` example of docs/api.md, run in order against a fresh server
#   - upload (multipart and raw) → done, watched through SSE; GET; re-upload → 200
#   - search; list paging and filters; DELETE (and the uploaded copy goes)
#   - frames: 404 without frames, a video's frame as JPEG; unsupported → 415, still recorded
#   - bad requests: malformed JSON, wrong method, unknown id/route, bad params
#   - --max-upload → 413; --token → 401 without it, even on 127.0.0.1
#   - a non-loopback address without a token is refused
#   - a client cut off mid-upload leaves no temp file and the server keeps serving
#   - Last-Event-ID / ?after= replay from the events table
#   - `dossier analyze` against the same database while the server runs
#   - SIGTERM: streams get `closing`, exit 0
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/serve_lib.bash"

# ---------------------------------------------------------------- docs/api.md
export DOSSIER_DB="$T/docs/dossier.db"
start_server docs --offline || { bad "server starts"; done_testing; exit 1; }
mkdir -p "$T/docex"
python3 - "$SOURCE_DIR/docs/api.md" "$T/docex" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
blocks = re.findall(r"```sh test\n(.*?)```", text, re.S)
for i, b in enumerate(blocks):
    open(f"{sys.argv[2]}/block{i:02d}.sh", "w").write(b)
print(len(blocks), file=open(f"{sys.argv[2]}/count", "w"))
PY
n_blocks=$(cat "$T/docex/count")
check "docs/api.md has at least 10 tested examples ($n_blocks)" test "$n_blocks" -ge 10
for f in "$T"/docex/block*.sh; do
  first=$(grep -v '^#' "$f" | grep -m1 'curl' | sed -E 's/.*(https?:\/\/[^ ]*).*/\1/' | head -c 80)
  out=$(cd "$T/docex" && sed "s#http://127.0.0.1:8080#$URL#g" "$f" | bash 2>&1)
  while IFS= read -r want; do
    check_contains "docs example $(basename "$f" .sh) ($first): $want" "$want" "$out"
  done < <(sed -n 's/^# expect: //p' "$f")
done
stop_server "$PID"
check_eq "docs server stops cleanly on SIGTERM" 0 "$STOP_RC"

# ---------------------------------------------------------------- main server
export DOSSIER_DB="$T/main/dossier.db"
UP="$(data_dir_of)/uploads"
start_server main --offline --heartbeat 1 || { bad "server starts"; done_testing; exit 1; }

curl -s -N "$URL/api/events" > "$T/sse_live.txt" &
SSE_PID=$!
on_exit "kill $SSE_PID 2>/dev/null"
sleep 0.3

cat > "$T/heron.md" <<'EOF'
# Heron survey

Grey herons were counted at the Elsbach weir on a cold March morning. Eleven
herons stood in the shallows; two carried nesting material towards the alders.
EOF
curl -s -D "$T/h1" -F "file=@$T/heron.md" "$URL/api/documents" > "$T/up1.json"
check_contains "multipart upload answers 201" " 201" "$(head -1 "$T/h1")"
id1=$(json 'd["id"]' "$T/up1.json")
check_eq "upload reply says queued" queued "$(json 'd["status"]' "$T/up1.json")"
check_eq "upload reply names the kind by content" text "$(json 'd["kind"]' "$T/up1.json")"
sha=$(sha256sum "$T/heron.md" | cut -d' ' -f1)
check_eq "upload reply has the content's sha256" "$sha" "$(json 'd["sha256"]' "$T/up1.json")"
check_eq "stored under <data dir>/uploads/<sha256>.md" "$UP/$sha.md" "$(json 'd["path"]' "$T/up1.json")"
check "the stored copy is byte-identical" cmp -s "$T/heron.md" "$UP/$sha.md"
check_eq "document reaches done" done "$(wait_doc "$URL" "$id1")"
sleep 0.5
sse=$(cat "$T/sse_live.txt")
check_contains "SSE stream saw the upload queued" "event: document_queued" "$sse"
check_contains "SSE stream saw a step start" "event: step_started" "$sse"
check_contains "SSE stream saw the document done" "\"event\":\"document_done\",\"document\":$id1" "$sse"
check_contains "SSE events carry id: lines" "id: " "$sse"
check_contains "SSE heartbeat comment after silence (--heartbeat 1)" ": ping" "$sse"

curl -s "$URL/api/documents/$id1" > "$T/d1.json"
check_eq "GET returns the dossier with its title" "Heron survey" "$(json 'd["title"]' "$T/d1.json")"
check_eq "GET dossier carries the live document status" done "$(json 'd["document_status"]' "$T/d1.json")"
check "the dossier validates against docs/dossier.schema.json" python3 -c '
import json,sys,jsonschema
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' "$T/d1.json" "$SOURCE_DIR/docs/dossier.schema.json"

# an identical re-upload (another name, another extension) is the same document
cp "$T/heron.md" "$T/copy-of-heron.txt"
curl -s -D "$T/h2" -F "file=@$T/copy-of-heron.txt" "$URL/api/documents" > "$T/up2.json"
check_contains "identical re-upload answers 200" " 200" "$(head -1 "$T/h2")"
check_eq "identical re-upload returns the existing id" "$id1" "$(json 'd["id"]' "$T/up2.json")"
check_eq "... and says so" True "$(json 'd["existing"]' "$T/up2.json")"
check_eq "only one stored copy of that content" 1 "$(ls "$UP" | grep -c "^$sha")"

# raw body with X-Filename; a hostile name never becomes a path
printf 'Swifts arrived over the old mill on the ninth of May.\n' > "$T/swifts.txt"
curl -s -D "$T/h3" --data-binary "@$T/swifts.txt" -H 'X-Filename: ../../etc/evil.TXT' "$URL/api/documents" > "$T/up3.json"
check_contains "raw upload answers 201" " 201" "$(head -1 "$T/h3")"
id3=$(json 'd["id"]' "$T/up3.json")
p3=$(json 'd["path"]' "$T/up3.json")
check_eq "a client's path is ignored, only a safe extension kept (lower-cased)" "$UP/$(sha256sum "$T/swifts.txt" | cut -d' ' -f1).txt" "$p3"
check_eq "the display name drops the directories" evil.TXT "$(json 'd["filename"]' "$T/up3.json")"
printf 'Notes about a weird extension.\n' > "$T/weird"
curl -s --data-binary "@$T/weird" -H 'X-Filename: a.t$x;rm' "$URL/api/documents" > "$T/up4.json"
check_eq "an unsafe extension is dropped" "$UP/$(sha256sum "$T/weird" | cut -d' ' -f1)" "$(json 'd["path"]' "$T/up4.json")"
id4=$(json 'd["id"]' "$T/up4.json")
wait_doc "$URL" "$id3" >/dev/null; wait_doc "$URL" "$id4" >/dev/null

# unsupported content: recorded, not analysed, and the reply says so
head -c 4096 /dev/urandom > "$T/blob.bin"
curl -s -D "$T/h5" -F "file=@$T/blob.bin" "$URL/api/documents" > "$T/up5.json"
check_contains "unsupported content answers 415" " 415" "$(head -1 "$T/h5")"
check_eq "... recorded as unsupported" unsupported "$(json 'd["status"]' "$T/up5.json")"
check_contains "... with a message" "not supported" "$(json 'd["error"]' "$T/up5.json")"
id5=$(json 'd["id"]' "$T/up5.json")

# empty file, no file field, urlencoded form
: > "$T/empty.txt"
check_eq "an empty file is refused with 400" 400 "$(code POST "$URL/api/documents" -F "file=@$T/empty.txt")"
check_eq "a form without 'file' is refused with 400" 400 "$(code POST "$URL/api/documents" -F "other=@$T/heron.md")"
check_eq "an urlencoded form is refused with 415" 415 "$(code POST "$URL/api/documents" -d 'file=abc')"

# search
s=$(curl -s "$URL/api/search?q=herons")
check_contains "search finds the document" "\"id\":$id1" "$s"
check_contains "search marks the matched word in the snippet" "[herons]" "$s"
check_not_contains "search does not return the swifts note" "\"id\":$id3," "$s"
check_eq "search without q is 400" 400 "$(code GET "$URL/api/search")"
check_eq "search with a bad limit is 400" 400 "$(code GET "$URL/api/search?q=x&limit=zero")"
check_eq "POST search with malformed JSON is 400" 400 "$(code POST "$URL/api/search" -H 'Content-Type: application/json' -d '{"q":')"
check_eq "POST search without the JSON content type is 415" 415 "$(code POST "$URL/api/search" -d '{"q":"x"}')"
check_eq "POST search with a wrong field type is 400" 400 "$(code POST "$URL/api/search" -H 'Content-Type: application/json' -d '{"q":5}')"
head -c 1100000 /dev/zero | tr '\0' ' ' > "$T/big.json"
check_eq "a JSON body over 1 MiB is 413" 413 "$(code POST "$URL/api/search" -H 'Content-Type: application/json' --data-binary "@$T/big.json")"

# list, paging, filters (documents so far: id1 heron, id3 swifts, id4 weird, id5 blob)
curl -s "$URL/api/documents?limit=2" > "$T/l1.json"
check_eq "list: total counts all documents" 4 "$(json 'd["total"]' "$T/l1.json")"
check_eq "list: limit=2 gives two" 2 "$(json 'len(d["documents"])' "$T/l1.json")"
curl -s "$URL/api/documents?limit=2&offset=2" > "$T/l2.json"
check_eq "list: offset=2 gives the other two" "[$id4, $id5]" "$(json '[x["id"] for x in d["documents"]]' "$T/l2.json")"
curl -s "$URL/api/documents?status=unsupported" > "$T/l3.json"
check_eq "list: status filter" "[$id5]" "$(json '[x["id"] for x in d["documents"]]' "$T/l3.json")"
curl -s "$URL/api/documents?kind=text&status=done" > "$T/l4.json"
check_eq "list: kind and status filters together" 3 "$(json 'd["total"]' "$T/l4.json")"
check_eq "list: kind=video is empty" 0 "$(curl -s "$URL/api/documents?kind=video" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')"
check_eq "list: a bad status is 400" 400 "$(code GET "$URL/api/documents?status=sleeping")"
check_eq "list: a bad limit is 400" 400 "$(code GET "$URL/api/documents?limit=-1")"

# frames, ids, routes, methods
check_eq "frames of a document without frames: 404" 404 "$(code GET "$URL/api/documents/$id1/frames/0")"
check_contains "... says it has no frames" "has no frames" "$(curl -s "$URL/api/documents/$id1/frames/0")"
check_eq "unknown id: 404" 404 "$(code GET "$URL/api/documents/999999")"
check_eq "non-numeric id: 400" 400 "$(code GET "$URL/api/documents/abc")"
check_eq "unknown API route: 404" 404 "$(code GET "$URL/api/whatever")"
check_eq "wrong method: 405" 405 "$(code PATCH "$URL/api/documents/$id1")"
check_contains "405 names the allowed methods" "Allow: GET, HEAD, DELETE" "$(curl -s -D - -o /dev/null -X PATCH "$URL/api/documents/$id1" | tr -d '\r')"
check_contains "errors are JSON" '{"error":' "$(curl -s "$URL/api/documents/999999")"

# the page
check_contains "/ is the page (text/html)" "text/html" "$(curl -s -D - -o /dev/null "$URL/" | tr -d '\r' | grep -i '^content-type')"
check_contains "/app.js is JavaScript" "text/javascript" "$(curl -s -D - -o /dev/null "$URL/app.js" | tr -d '\r' | grep -i '^content-type')"
check_contains "/style.css is CSS" "text/css" "$(curl -s -D - -o /dev/null "$URL/style.css" | tr -d '\r' | grep -i '^content-type')"
check_contains "the page sets a Content-Security-Policy without CDNs" "default-src 'self'" "$(curl -s -D - -o /dev/null "$URL/" | tr -d '\r')"

# metrics and models
m=$(curl -s "$URL/metrics")
check_contains "metrics: documents by status" 'dossier_documents{status="done"} 3' "$m"
check_contains "metrics: step outcomes" 'dossier_steps_total{step="extract_text",outcome="done"} 3' "$m"
check_contains "metrics: step duration histogram" 'dossier_step_duration_seconds_bucket{step="analyze_text",le="+Inf"} 3' "$m"
check_contains "metrics: model swaps" 'dossier_model_swaps_total 0' "$m"
check_contains "metrics: budget" 'dossier_memory_budget_bytes ' "$m"
check_contains "models: offline says so" '"offline":true' "$(curl -s "$URL/api/models")"

# Last-Event-ID and ?after= replay from the events table
ev=$(curl -s -N --max-time 1 -H 'Last-Event-ID: 0' "$URL/api/events")
check_contains "replay from 0 starts with event 1" $'id: 1\nevent: document_queued' "$ev"
check_contains "replay includes the first document's done" "\"event\":\"document_done\",\"document\":$id1" "$ev"
last=$(printf '%s\n' "$ev" | sed -n 's/^id: //p' | tail -1)
mid=$((last / 2))
ev2=$(curl -s -N --max-time 1 "$URL/api/events?after=$mid")
first2=$(printf '%s\n' "$ev2" | sed -n 's/^id: //p' | head -1)
check_eq "?after=N replays from N+1" $((mid + 1)) "$first2"
check_eq "replay sends each event once" "$(printf '%s\n' "$ev2" | sed -n 's/^id: //p' | sort | uniq -d | wc -l)" 0
check "replayed ids increase" python3 -c '
import sys
ids=[int(l[4:]) for l in sys.stdin.read().splitlines() if l.startswith("id: ")]
sys.exit(0 if ids and all(b>a for a,b in zip(ids,ids[1:])) else 1)' <<<"$ev"
check_eq "a bad Last-Event-ID is 400" 400 "$(code GET "$URL/api/events" -H 'Last-Event-ID: x')"

# DELETE
check_eq "DELETE answers 204" 204 "$(code DELETE "$URL/api/documents/$id3")"
check_eq "the deleted document is gone" 404 "$(code GET "$URL/api/documents/$id3")"
check "its uploaded copy is gone" test ! -e "$p3"
check_eq "DELETE again is 404" 404 "$(code DELETE "$URL/api/documents/$id3")"
check_not_contains "search no longer finds it" "\"id\":$id3," "$(curl -s "$URL/api/search?q=swifts")"

# a video's frames (fixture made here with ffmpeg's test source)
ffmpeg -loglevel error -y -f lavfi -i testsrc=duration=4:size=320x240:rate=10 -f lavfi -i sine=frequency=440:duration=4 \
  -shortest -c:v libx264 -pix_fmt yuv420p -c:a aac "$T/clip.mp4"
curl -s -F "file=@$T/clip.mp4" "$URL/api/documents" > "$T/upv.json"
idv=$(json 'd["id"]' "$T/upv.json")
check_eq "an uploaded video is analysed" done "$(wait_doc "$URL" "$idv")"
curl -s -o "$T/f0.jpg" -D "$T/hf" "$URL/api/documents/$idv/frames/0"
check_contains "frame 0 is served as image/jpeg" "image/jpeg" "$(tr -d '\r' < "$T/hf" | grep -i '^content-type')"
check_eq "frame 0 is a JPEG" ffd8 "$(head -c 2 "$T/f0.jpg" | od -An -tx1 | tr -d ' \n')"
check_eq "a frame past the last one is 404" 404 "$(code GET "$URL/api/documents/$idv/frames/99")"
check_eq "list: kind=video finds it" 1 "$(curl -s "$URL/api/documents?kind=video" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')"

# a client cut off in the middle of an upload
head -c 3000000 /dev/urandom > "$T/slow.bin"
curl -s --limit-rate 200k --max-time 1 -F "file=@$T/slow.bin" "$URL/api/documents" >/dev/null 2>&1
rc=$?
check_eq "the slow upload was cut off by the client (curl timeout)" 28 "$rc"
for _ in $(seq 50); do ls -A "$UP" | grep -q '^\.partial-' || break; sleep 0.1; done
check_eq "no temp file is left after the disconnect" "" "$(ls -A "$UP" | grep '^\.partial-')"
check_eq "the server keeps serving" 200 "$(code GET "$URL/healthz")"

# the CLI against the same database while the server runs
mkdir -p "$T/cli"
printf 'Dragonflies patrolled the pond by the orchard in late July.\n' > "$T/cli/dragonflies.txt"
"$DOSSIER" analyze --offline --quiet "$T/cli" > "$T/cli.out" 2>&1
check_eq "dossier analyze on the server's database exits 0" 0 "$?"
check_contains "the server finds the CLI's document" "dragonflies.txt" "$(curl -s "$URL/api/search?q=dragonflies")"
check_contains "the server lists it" "dragonflies.txt" "$(curl -s "$URL/api/documents?limit=100")"
printf 'Bats hunted over the weir at dusk.\n' > "$T/bats.txt"
curl -s -F "file=@$T/bats.txt" "$URL/api/documents" > "$T/up6.json"
check_eq "uploads still work after the CLI ran" done "$(wait_doc "$URL" "$(json 'd["id"]' "$T/up6.json")")"

kill "$SSE_PID" 2>/dev/null
curl -s -N "$URL/api/events" > "$T/sse_end.txt" &
SSE2=$!
sleep 0.3
stop_server "$PID"
check_eq "server exits 0 on SIGTERM" 0 "$STOP_RC"
wait "$SSE2" 2>/dev/null
check_contains "an open stream is told the server is closing" "event: closing" "$(cat "$T/sse_end.txt")"

# ------------------------------------------------------------ limits and tokens
export DOSSIER_DB="$T/small/dossier.db"
SMALL_UP="$(data_dir_of)/uploads"
start_server small --offline --max-upload 1KB --token s3cret || { bad "server starts"; done_testing; exit 1; }
head -c 10000 /dev/urandom > "$T/10k.bin"
head -c 200000 /dev/urandom > "$T/200k.bin"
auth=(-H 'Authorization: Bearer s3cret')
check_eq "an upload over --max-upload is 413" 413 "$(code POST "$URL/api/documents" "${auth[@]}" -F "file=@$T/10k.bin")"
check_eq "a raw upload whose Content-Length is over the limit is 413 before the body" 413 "$(code POST "$URL/api/documents" "${auth[@]}" --data-binary "@$T/200k.bin" -H 'X-Filename: a.bin')"
check_eq "a chunked upload (no Content-Length) over --max-upload is 413" 413 \
  "$(code POST "$URL/api/documents" "${auth[@]}" --data-binary "@$T/10k.bin" -H 'X-Filename: a.bin' -H 'Transfer-Encoding: chunked')"
# a refused upload's connection may still be closing: its temp file goes with it
for _ in $(seq 1 50); do [ -z "$(ls -A "$SMALL_UP" 2>/dev/null | grep '^\.partial-')" ] && break; sleep 0.1; done
check "the refused uploads were written to $SMALL_UP" test -d "$SMALL_UP"
check_eq "no temp file left by refused uploads" "" "$(ls -A "$SMALL_UP" | grep '^\.partial-')"
check_eq "no token: 401" 401 "$(code GET "$URL/api/documents")"
check_eq "wrong token: 401" 401 "$(code GET "$URL/api/documents" -H 'Authorization: Bearer nope')"
check_eq "upload without the token: 401" 401 "$(code POST "$URL/api/documents" -F "file=@$T/heron.md")"
check_eq "metrics need the token: 401" 401 "$(code GET "$URL/metrics")"
check_eq "events need the token: 401" 401 "$(code GET "$URL/api/events")"
check_eq "right token: 200" 200 "$(code GET "$URL/api/documents" "${auth[@]}")"
check_eq "?token= works for EventSource and the page" 200 "$(code GET "$URL/api/documents?token=s3cret")"
check_eq "the page itself is public" 200 "$(code GET "$URL/")"
check_eq "/healthz is public" 200 "$(code GET "$URL/healthz")"
check_contains "401 says how to authenticate" "Authorization: Bearer" "$(curl -s "$URL/api/documents")"
check_eq "a small upload with the token is accepted" 201 "$(code POST "$URL/api/documents" "${auth[@]}" -F "file=@$T/swifts.txt")"
stop_server "$PID"

out=$("$DOSSIER" serve --offline --listen 0.0.0.0:0 2>&1); rc=$?
check_eq "a non-loopback address without a token is refused (exit 2)" 2 "$rc"
check_contains "... with a message naming the fix" "DOSSIER_TOKEN" "$out"
out=$("$DOSSIER" serve --offline --listen 127.0.0.1:99999 2>&1); rc=$?
check_eq "a bad port is a usage error" 2 "$rc"
start_server busy --offline || true
out=$("$DOSSIER" serve --offline --listen "${URL#http://}" 2>&1); rc=$?
check_eq "a port in use is an environment error (exit 3)" 3 "$rc"
check_contains "... naming the address" "cannot listen on" "$out"
stop_server "$PID"

done_testing
