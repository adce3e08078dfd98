#!/usr/bin/env bash
# Media end to end: the sample video offline (transcript segments, frames with
# OCR, a summary), subtitles, an image's OCR and EXIF, bad media; and against
# the Ollama test server, each video's steps in the seed's order with the
# speech model loaded once and kept while the LLMs swap.
. "$(dirname "$0")/lib.bash"
S="$SOURCE_DIR/samples"
mkdir -p "$T/m"
cp "$S/harbour-tour.mp4" "$S/cafe-receipt.png" "$T/m/"

out=$("$DOSSIER" analyze --offline --events "$T/off.ndjson" "$T/m" 2>&1); rc=$?
check_eq "offline media run exits 0" 0 "$rc"
"$DOSSIER" show "$T/m/harbour-tour.mp4" --json > "$T/v.json"
check "the video has transcript segments with start < end" python3 -c '
import json,sys; s=json.load(open(sys.argv[1]))["transcript"]["segments"]
assert len(s) >= 2 and all(0 <= x["start"] < x["end"] for x in s), s' "$T/v.json"
check_eq "the transcript comes from the embedded recogniser" "pocketsphinx:en-us" "$(json 'd["sources"]["transcript"]' "$T/v.json")"
check "speech is recognised (at least two of: harbour, lighthouse, morning, boats, watching)" python3 -c '
import json,sys; t=json.load(open(sys.argv[1]))["transcript"]["text"].lower()
assert sum(w in t for w in ["harbour","harbor","lighthouse","morning","boats","watching"]) >= 2, t' "$T/v.json"
check "frames carry their real times and the slides' OCR text" python3 -c '
import json,sys; f=json.load(open(sys.argv[1]))["frames"]
o=" ".join(x.get("ocr_text","") for x in f)
assert 2 <= len(f) <= 32 and all("time" in x for x in f), f
assert "harbour tour" in o.lower() and "1890" in o, o' "$T/v.json"
check "the video has a summary and a title" python3 -c '
import json,sys; d=json.load(open(sys.argv[1])); assert d["summary"] and d["title"], d' "$T/v.json"
check "frame files exist on disk" python3 -c '
import json,os,sys; assert all(os.path.getsize(x["file"]) > 1000 for x in json.load(open(sys.argv[1]))["frames"])' "$T/v.json"
srt=$("$DOSSIER" show "$T/m/harbour-tour.mp4" --srt)
check_contains "SubRip export has numbered cues" "1
00:00:" "$srt"
check_contains "SubRip uses a comma before milliseconds" " --> " "$srt"
vtt=$("$DOSSIER" show "$T/m/harbour-tour.mp4" --vtt)
check_contains "WebVTT export starts with its header" "WEBVTT" "$vtt"
"$DOSSIER" show "$T/m/cafe-receipt.png" --json > "$T/i.json"
check_contains "the image's OCR reads the receipt" "Total 9.30 EUR" "$(json 'd["image"]["ocr"]["text"]' "$T/i.json")"
check_eq "the image's size is recorded" "900x360" "$(json 'str(d["image"]["width"])+"x"+str(d["image"]["height"])' "$T/i.json")"
check_contains "search finds the image by its OCR text" "cafe-receipt.png" "$("$DOSSIER" search espresso)"
check_contains "search finds the video by a slide's text" "harbour-tour.mp4" "$("$DOSSIER" search lighthouse)"

# bad media: each a clear error or a correct partial dossier
B="$T/bad"; mkdir -p "$B"
head -c 20000 "$S/harbour-tour.mp4" > "$B/truncated.mp4"
ffmpeg -loglevel error -f lavfi -i testsrc=duration=3:size=320x240:rate=10 -c:v libx264 -pix_fmt yuv420p "$B/silent-video.mp4"
ffmpeg -loglevel error -f lavfi -i anullsrc=r=16000:cl=mono -t 5 "$B/silence.wav"
python3 - "$B" <<'PY'
import struct, sys, zlib
d = sys.argv[1]
def chunk(t, data, crc=None):
    c = zlib.crc32(t + data) if crc is None else crc
    return struct.pack(">I", len(data)) + t + data + struct.pack(">I", c & 0xffffffff)
sig = b"\x89PNG\r\n\x1a\n"
ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
open(f"{d}/huge.png", "wb").write(sig + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b""))
ihdr = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
raw = b"".join(b"\0" + b"\x80" * 12 for _ in range(4))
open(f"{d}/badcrc.png", "wb").write(sig + chunk(b"IHDR", ihdr, crc=0x12345678) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PY
out=$("$DOSSIER" analyze --offline "$B" 2>&1); rc=$?
check_eq "bad media: exit 1" 1 "$rc"
st() { "$DOSSIER" list --json | python3 -c 'import json,sys; print({d["path"].rsplit("/",1)[1]: d["status"] for d in json.load(sys.stdin)}.get(sys.argv[1]))' "$1"; }
check_contains "truncated MP4: named in a message" "truncated.mp4" "$out"
check_eq "truncated MP4: failed, not hung" failed "$(st truncated.mp4)"
check_eq "a video without sound still gets its frames (done)" done "$(st silent-video.mp4)"
check "a video without sound: frames present, transcript empty" python3 -c '
import json,subprocess,sys
d=json.loads(subprocess.run([sys.argv[1],"show",sys.argv[2],"--json"],capture_output=True,text=True).stdout)
assert d["frames"] and d["transcript"]["segments"] == [], d' "$DOSSIER" "$B/silent-video.mp4"
check_eq "a recording of silence is done (no speech, no error)" done "$(st silence.wav)"
check_contains "a 60000x60000 PNG is refused with a message" "huge.png" "$out"
check_eq "the huge PNG is failed" failed "$(st huge.png)"
check_eq "a PNG with a broken CRC still decodes (pixels intact): done" done "$(st badcrc.png)"
"$DOSSIER" show "$B/badcrc.png" --json > "$T/crc.json"
check_eq "... at its real size" "4x4" "$(json 'str(d["image"]["width"])+"x"+str(d["image"]["height"])' "$T/crc.json")"

# against the Ollama test server: the seed's order per video, the speech model kept
"$OLLAMA_STUB" --listen 127.0.0.1:0 --unload-linger-ms 50 > "$T/stub.out" 2>"$T/stub.err" &
spid=$!; on_exit "kill $spid 2>/dev/null"
for _ in $(seq 1 100); do grep -q '^listening' "$T/stub.out" && break; sleep 0.05; done
URL=http://$(sed -n 's/^listening on //p' "$T/stub.out")
mkdir -p "$T/mix"
cp "$S/harbour-tour.mp4" "$T/mix/a-tour.mp4"; cp "$S/cafe-receipt.png" "$T/mix/b-receipt.png"
cp "$B/silent-video.mp4" "$T/mix/c-clip.mp4"; cp "$S/river-article.txt" "$T/mix/d-river.txt"
DEV_MODE=1 OLLAMA_HOST=$URL "$DOSSIER" analyze --db "$T/llm.db" --events "$T/llm.ndjson" "$T/mix" > "$T/llm.out" 2>&1; rc=$?
check_eq "mixed media with LLMs: exit 0" 0 "$rc"
check "each video's steps run in the seed's order" python3 - "$T/llm.ndjson" <<'PY'
import json, sys
order = {}
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["event"] == "step_started":
        order.setdefault(e["document"], []).append(e["step"])
vids = [s for s in order.values() if "transcribe" in s and "synthesize" in s]
assert len(vids) == 2, order
for s in vids:
    seq = [x for x in s if x in ("transcribe", "analyze_text", "describe_frames", "synthesize")]
    assert seq == ["transcribe", "analyze_text", "describe_frames", "synthesize"], s
PY
check_eq "the speech model is loaded once and stays across videos" 1 "$(grep '"event":"model_loaded"' "$T/llm.ndjson" | grep -c '"role":"asr"')"
check "the LLMs swapped while the speech model stayed" test "$(grep -c '"event":"swapping_model"' "$T/llm.ndjson")" -ge 1
check_eq "never two LLMs resident" 1 "$(curl -s "$URL/_stub/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["max_resident_models"])')"
"$DOSSIER" show --db "$T/llm.db" "$T/mix/a-tour.mp4" --json > "$T/lv.json"
check_eq "the video's summary is the synthesis by the text model" "ollama:llama3.2:3b" "$(json 'd["sources"]["summary"]' "$T/lv.json")"
check "frames are described by the vision model" python3 -c '
import json,sys; d=json.load(open(sys.argv[1])); assert all(f.get("description") for f in d["frames"]), d["frames"]' "$T/lv.json"
# --- a transcription server that is down, or answers on the wrong path (issue 11)
mkdir -p "$T/asr"; cp "$SOURCE_DIR/samples/harbour-tour.mp4" "$T/asr/tour.mp4"
t0=$(date +%s)
out=$(timeout 120 "$DOSSIER" analyze --offline --db "$T/asr-down.db" --transcriber http://127.0.0.1:1/v1/audio/transcriptions "$T/asr" 2>&1); rc=$?
check_eq "transcription server down: exit 3, the document waits" 3 "$rc"
check "transcription server down: the run ends promptly ($(( $(date +%s) - t0 )) s)" test $(( $(date +%s) - t0 )) -lt 60
check_contains "transcription server down: the message names the server" "127.0.0.1:1" "$out"
check_eq "transcription server down: the video stays queued" queued \
  "$("$DOSSIER" list --db "$T/asr-down.db" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["status"])')"
python3 - "$T/port404" <<'PY' &
import http.server, sys, threading
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        while n > 0:
            n -= len(self.rfile.read(min(n, 65536)))
        self.send_response(404); self.send_header("Content-Type", "application/json"); self.end_headers()
        self.wfile.write(b'{"error":"no such route"}')
    def log_message(self, *a): pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(srv.server_address[1]))
threading.Timer(100, srv.shutdown).start()
srv.serve_forever()
PY
pypid=$!; on_exit "kill $pypid 2>/dev/null"
for _ in $(seq 1 50); do [ -s "$T/port404" ] && break; sleep 0.1; done
out=$(timeout 120 "$DOSSIER" analyze --offline --db "$T/asr-404.db" --transcriber "http://127.0.0.1:$(cat "$T/port404")/wrong/path" "$T/asr" 2>&1); rc=$?
check_eq "transcriber on a wrong path: exit 3, not a silent success" 3 "$rc"
check_contains "transcriber on a wrong path: the message says how to fix the URL" "/v1/audio/transcriptions" "$out"
check_eq "transcriber on a wrong path: the video is not taken for a silent one" queued \
  "$("$DOSSIER" list --db "$T/asr-404.db" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["status"])')"
kill $pypid 2>/dev/null

FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
st_in() { "$DOSSIER" list --db "$1" --json | python3 -c 'import json,sys; print({d["path"]: d["status"] for d in json.load(sys.stdin)}.get(sys.argv[1]))' "$2"; }
# --- scanned PDFs: blank pages skipped cheaply, a page cap, a checkpoint across kill -9 (issue 11)
ffmpeg -loglevel error -y -f lavfi -i color=white:s=1240x400 -frames:v 1 \
  -vf "drawtext=fontfile=$FONT:text='Harbour survey page':fontsize=64:fontcolor=black:x=40:y=150" "$T/scan.jpg"
mkdir -p "$T/pdfs" "$T/pdfcap" "$T/pdfck"
python3 "$SOURCE_DIR/tests/fixtures/mkpdf.py" "$T/pdfs/blanks.pdf" 300 "$T/scan.jpg" 2
"$DOSSIER" analyze --offline --db "$T/pdfs.db" "$T/pdfs" >/dev/null 2>&1
check_eq "300 blank pages and 2 scans: done" done "$(st_in "$T/pdfs.db" "$T/pdfs/blanks.pdf")"
"$DOSSIER" show --db "$T/pdfs.db" "$T/pdfs/blanks.pdf" --json > "$T/blanks.json"
check_eq "blank pages are skipped without OCR" 300 "$(json 'd["timings"]["ocr"]["pages_blank"]' "$T/blanks.json")"
check_contains "the scanned pages are read" "Harbour survey page" "$(json 'd["text"]' "$T/blanks.json")"
python3 "$SOURCE_DIR/tests/fixtures/mkpdf.py" "$T/pdfcap/long.pdf" 0 "$T/scan.jpg" 12
mkdir -p "$XDG_CONFIG_HOME/dossier"; printf 'max_ocr_pages = 5\n' > "$XDG_CONFIG_HOME/dossier/config"
"$DOSSIER" analyze --offline --db "$T/cap.db" "$T/pdfcap" >/dev/null 2>&1
rm "$XDG_CONFIG_HOME/dossier/config"
"$DOSSIER" show --db "$T/cap.db" "$T/pdfcap/long.pdf" --json > "$T/cap.json"
check_eq "the page cap is kept (5 of 12 pages OCRed)" 5 "$(json 'd["timings"]["ocr"]["pages_ocr"]' "$T/cap.json")"
check_contains "the dossier says the cap was hit and how to raise it" "first 5 of 12 pages" "$(json 'd["notes"][0]["message"]' "$T/cap.json")"
python3 "$SOURCE_DIR/tests/fixtures/mkpdf.py" "$T/pdfck/survey.pdf" 0 "$T/scan.jpg" 16
OCRD=$(data_dir_of --db "$T/ck.db")/ocr
"$DOSSIER" analyze --offline --db "$T/ck.db" "$T/pdfck" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 300); do [ "$(ls "$OCRD"/*/ 2>/dev/null | wc -l)" -ge 4 ] && break; sleep 0.05; done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
done_before=$(ls "$OCRD"/*/ 2>/dev/null | wc -l)
"$DOSSIER" analyze --offline --db "$T/ck.db" "$T/pdfck" >/dev/null 2>&1
"$DOSSIER" show --db "$T/ck.db" "$T/pdfck/survey.pdf" --json > "$T/ck.json"
check "a kill -9 during OCR left recognised pages behind ($done_before)" test "$done_before" -ge 1
check "the resumed run did not OCR them again ($(json 'd["timings"]["ocr"]["pages_resumed"]' "$T/ck.json") resumed)" \
  test "$(json 'd["timings"]["ocr"]["pages_resumed"]' "$T/ck.json")" -ge 1
check_eq "after the resume all 16 pages are there" 16 "$(json 'd["timings"]["ocr"]["pages_ocr"]' "$T/ck.json")"
check "the checkpoint files are gone once the step is done" test ! -d "$OCRD/$(json 'd["sha256"]' "$T/ck.json")"

done_testing
