#!/usr/bin/env bash
# A document's own bytes over HTTP: the upload's file name is stored (sanitised)
# and shown to every client; GET /api/documents/{id}/file with Range (206 with
# the right bytes, 416 outside the file), the content types a browser may show
# and the ones it must not run; thumbnails; the dossier as Markdown/SRT/VTT/JSON;
# and serve's request log (quiet with -q).
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/serve_lib.bash"
# PDF thumbnails draw text through fontconfig, which leaks a little at exit
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$SOURCE_DIR/tests/integration/lsan-fontconfig.supp"
S="$SOURCE_DIR/samples"

start_server files --offline || { bad "server starts"; done_testing; exit 1; }

# ---- names
r=$(curl -s -F "file=@$S/river-article.txt;filename=River article (draft).txt" "$URL/api/documents")
check_contains "the upload reply carries the name" '"name":"River article (draft).txt"' "$r"
id=$(printf %s "$r" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
list=$(curl -s "$URL/api/documents")
check_contains "another client lists the document under its upload name" '"name":"River article (draft).txt"' "$list"
# a name with a path, a control character and bytes that are not UTF-8
printf 'Heron counts on the Elsbach, spring survey.\n' > "$T/h.txt"
r=$(curl -s --data-binary @"$T/h.txt" -H $'X-Filename: ../../etc/he\x01ron\xff.txt' "$URL/api/documents")
check_contains "a name keeps only its last component, printable UTF-8" '"name":"heron.txt"' "$r"
long=$(printf 'a%.0s' $(seq 400)).txt
printf 'Long names are cut.\n' > "$T/l.txt"
r=$(curl -s --data-binary @"$T/l.txt" -H "X-Filename: $long" "$URL/api/documents")
n=$(printf %s "$r" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["name"].encode()))')
check "a long name is capped at 255 bytes (got $n)" test "$n" -le 255 -a "$n" -ge 200
# the same content again under another name keeps the first name
r=$(curl -s -F "file=@$S/river-article.txt;filename=copy.txt" "$URL/api/documents")
check_contains "a second upload of the same content keeps the first name" '"name":"River article (draft).txt"' "$r"

# ---- the original, with Range
size=$(stat -c %s "$S/river-article.txt")
curl -s -D "$T/h0" -o "$T/whole" "$URL/api/documents/$id/file"
check "GET /file returns the original bytes" cmp -s "$T/whole" "$S/river-article.txt"
check "…as text/plain" grep -qi '^Content-Type: text/plain' "$T/h0"
check "…saying it takes ranges" grep -qi '^Accept-Ranges: bytes' "$T/h0"
check "…with the upload name in Content-Disposition" grep -qi 'filename\*=UTF-8.*River%20article' "$T/h0"
st=$(curl -s -D "$T/h1" -o "$T/part" -w '%{http_code}' -H 'Range: bytes=10-29' "$URL/api/documents/$id/file")
check_eq "Range: bytes=10-29 gives 206" 206 "$st"
check_eq "…the 20 bytes from offset 10" "$(dd if="$S/river-article.txt" bs=1 skip=10 count=20 2>/dev/null | od -An -tx1)" "$(od -An -tx1 "$T/part")"
check "…and Content-Range bytes 10-29/$size" grep -qi "^Content-Range: bytes 10-29/$size" "$T/h1"
st=$(curl -s -o "$T/tail" -w '%{http_code}' -H 'Range: bytes=-7' "$URL/api/documents/$id/file")
check_eq "a suffix range gives 206" 206 "$st"
check_eq "…the last 7 bytes" "$(tail -c 7 "$S/river-article.txt" | od -An -tx1)" "$(od -An -tx1 "$T/tail")"
st=$(curl -s -o "$T/open" -w '%{http_code}' -H "Range: bytes=$((size - 5))-" "$URL/api/documents/$id/file")
check_eq "an open range gives the rest ($st)" "$(tail -c 5 "$S/river-article.txt" | od -An -tx1)" "$(od -An -tx1 "$T/open")"
st=$(curl -s -D "$T/h2" -o /dev/null -w '%{http_code}' -H "Range: bytes=$size-" "$URL/api/documents/$id/file")
check_eq "a range past the end gives 416" 416 "$st"
check "…with Content-Range bytes */$size" grep -qi "^Content-Range: bytes \*/$size" "$T/h2"
check_eq "a backwards range gives 416" 416 "$(code GET "$URL/api/documents/$id/file" -H 'Range: bytes=9-3')"
check_eq "several ranges get the whole file (200)" 200 "$(code GET "$URL/api/documents/$id/file" -H 'Range: bytes=0-1,5-6')"
check_eq "an unknown document's file is 404" 404 "$(code GET "$URL/api/documents/9999/file")"
check_eq "HEAD /file works" 200 "$(curl -s -o /dev/null -w '%{http_code}' -I "$URL/api/documents/$id/file")"

# video seeks: a range in the middle of the MP4
r=$(curl -s -F "file=@$S/harbour-tour.mp4" "$URL/api/documents")
vid=$(printf %s "$r" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -s -D "$T/hv" -o "$T/vpart" -H 'Range: bytes=100000-100999' "$URL/api/documents/$vid/file"
check "a video is served as video/mp4" grep -qi '^Content-Type: video/mp4' "$T/hv"
check_eq "…and a range of it is the right 1000 bytes" "$(dd if="$S/harbour-tour.mp4" bs=1000 skip=100 count=1 2>/dev/null | sha256sum)" "$(sha256sum < "$T/vpart")"

# an HTML upload never runs as the server's page
r=$(curl -s -F "file=@$S/solar-report.html" "$URL/api/documents")
hid=$(printf %s "$r" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -s -D "$T/hh" -o /dev/null "$URL/api/documents/$hid/file"
check "an HTML document is served as a download, not as a page" grep -qi '^Content-Type: application/octet-stream' "$T/hh"
check "…with Content-Disposition: attachment" grep -qi '^Content-Disposition: attachment' "$T/hh"
check "…and a sandbox CSP" grep -qi '^Content-Security-Policy: sandbox' "$T/hh"

r=$(curl -s -F "file=@$S/field-notes.md" "$URL/api/documents")
mid=$(printf %s "$r" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -s -D "$T/hmd" -o /dev/null "$URL/api/documents/$mid/file"
check "Markdown is shown as plain text" grep -qi '^Content-Type: text/plain; charset=utf-8' "$T/hmd"

# ---- thumbnails
r=$(curl -s -F "file=@$S/cafe-receipt.png" "$URL/api/documents")
iid=$(printf %s "$r" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
r=$(curl -s -F "file=@$S/committee-minutes.pdf" "$URL/api/documents")
pid=$(printf %s "$r" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
st=$(curl -s -D "$T/ht" -o "$T/thumb.jpg" -w '%{http_code}' "$URL/api/documents/$iid/thumbnail")
check_eq "an image has a thumbnail" 200 "$st"
check "…a JPEG" grep -qi '^Content-Type: image/jpeg' "$T/ht"
dims=$(python3 - "$T/thumb.jpg" <<'PY'
import struct, sys
b = open(sys.argv[1], 'rb').read()
i = 2
while i < len(b):
    m, l = b[i + 1], struct.unpack('>H', b[i + 2:i + 4])[0]
    if m in (0xC0, 0xC2):
        h, w = struct.unpack('>HH', b[i + 5:i + 9]); print(max(w, h)); break
    i += 2 + l
PY
)
check "…whose long side is at most 320 px (got $dims)" test "${dims:-9999}" -le 320
THUMBS="$(data_dir_of)/thumbs"
check "…cached under the data dir ($THUMBS)" bash -c "ls '$THUMBS'/*-320.jpg >/dev/null"
check_eq "a PDF's first page is its thumbnail" 200 "$(code GET "$URL/api/documents/$pid/thumbnail")"
check_eq "a text document has none (404)" 404 "$(code GET "$URL/api/documents/$id/thumbnail")"
[ "$(wait_doc "$URL" "$vid")" != "" ] || true
check_eq "a video's thumbnail is one of its frames" 200 "$(code GET "$URL/api/documents/$vid/thumbnail")"

# ---- exports
wait_doc "$URL" "$id" >/dev/null
curl -s -D "$T/hm" -o "$T/doc.md" "$URL/api/documents/$id/export?format=md"
check "the dossier downloads as Markdown" grep -q '^# ' "$T/doc.md"
check "…named after the upload" grep -qi 'filename="River article (draft).md"' "$T/hm"
check_eq "…and as JSON" 1 "$(json 'd["dossier_version"]' <(curl -s "$URL/api/documents/$id/export?format=json") | grep -c .)"
check_eq "a text document has no subtitles (404)" 404 "$(code GET "$URL/api/documents/$id/export?format=srt")"
vtt=$(curl -s "$URL/api/documents/$vid/export?format=vtt")
check_contains "a video's transcript downloads as WebVTT" "WEBVTT" "$vtt"
srt=$(curl -s "$URL/api/documents/$vid/export?format=srt")
check_contains "…and as SubRip" " --> " "$srt"
check_eq "an unknown format is 400" 400 "$(code GET "$URL/api/documents/$id/export?format=doc")"

# ---- the request log
printf '\x00\x01\x02\x03' | curl -s -o /dev/null --data-binary @- -H 'X-Filename: odd.bin' "$URL/api/documents"
sleep 0.3
check "serve logs one line per request (time | status | duration | method path)" \
  grep -qE '^[0-9T:-]{19} \| 206 \| +[0-9.]+ (ms|s ) \| GET +/api/documents/[0-9]+/file$' "$T/files.err"
check "…and a line per finished document" grep -qE '\| done +\| document [0-9]+ River article \(draft\)\.txt' "$T/files.err"
check "…an unsupported upload's line names it" grep -qE '\| unsupported \| document [0-9]+ odd\.bin: ' "$T/files.err"
check "…never the token or query" bash -c "! grep -q '?' '$T/files.err'"
stop_server "$PID"
check_eq "server stops cleanly" 0 "$STOP_RC"

start_server quiet --offline -q --token s3cret || { bad "server starts with -q"; done_testing; exit 1; }
curl -s "$URL/api/documents" >/dev/null
check_eq "with a token, /file needs it" 401 "$(code GET "$URL/api/documents/1/file")"
check_eq "…and ?token= (what <video src> can send) will do" 200 "$(code GET "$URL/api/documents/1/file?token=s3cret")"
check_eq "…as for /export" 401 "$(code GET "$URL/api/documents/1/export?format=md")"
stop_server "$PID"
check "with -q nothing is logged per request" bash -c "! grep -q '| GET' '$T/quiet.err'"
done_testing
