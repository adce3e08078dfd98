#!/usr/bin/env bash
# The bad-input tally: every kind of broken, hostile or odd file this suite
# knows, in one folder beside three good documents, analysed in one run.
# Counts and prints "bad inputs tried / crashes / hangs / documents lost":
#   crash = the run died of a signal (or a sanitizer report),
#   hang  = it did not finish within its deadline,
#   lost  = a bad file with no record (no document row and no warning naming
#           it), or a good document that did not complete.
# Each must stay 0; a bad file must be recorded failed, encrypted or unsupported (or be
# skipped with a warning naming it) with a message that names it.
. "$(dirname "$0")/lib.bash"
export OMP_THREAD_LIMIT=1
B="$T/in"; mkdir -p "$B"
python3 "$SOURCE_DIR/tests/formats_fixtures.py" "$B" hostile
python3 - "$B" <<'PY'
import os, struct, sys, zipfile, zlib, random
d = sys.argv[1]; r = random.Random(7)
def w(name, data):
    open(os.path.join(d, name), "wb").write(data)
rnd = lambda n: bytes(r.getrandbits(8) for _ in range(n))
# empty and random content under every extension dossier reads
for ext in ["txt", "md", "html", "pdf", "png", "jpg", "gif", "webp", "tiff", "mp3", "wav", "mp4", "mkv", "webm",
            "docx", "odt", "pptx", "xlsx", "epub", "rtf", "eml", "mbox", "csv", "tsv"]:
    w("empty." + ext, b"")
    w("random." + ext, rnd(3000))
# truncated and damaged headers
w("trunc.pdf", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [3 0 R")
w("xref-loop.pdf", b"%PDF-1.4\nxref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 1 /Prev 9 >>\nstartxref\n9\n%%EOF\n")
png_sig = b"\x89PNG\r\n\x1a\n"
def chunk(t, data): return struct.pack(">I", len(data)) + t + data + struct.pack(">I", zlib.crc32(t + data))
w("huge-dims.png", png_sig + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)) + chunk(b"IEND", b""))
w("trunc.png", png_sig + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0))[:10])
w("trunc.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xdb\x00\x43\x00")
w("bad-exif.jpg", b"\xff\xd8\xff\xe1\xff\xf0Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\xff\xff" + rnd(200) + b"\xff\xd9")
w("trunc.wav", b"RIFF\xff\xff\xff\xffWAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x80\x3e\x00\x00")
w("trunc.mp4", b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom\x00\x00\x10\x00moov" + rnd(64))
# text that tries the analysers (all linear now: issue 11)
w("digits.txt", b"1" * 200000 + b"\n")
w("brackets.md", b"[[[(((" * 40000 + b"\n")
w("one-long-line.txt", (b"word " * 120000) + b"\n")
w("nul-bytes.txt", b"text with\x00nul\x00 bytes " * 200)
w("bad-utf8.txt", b"Grenze \xc3\x28 und \xe2\x82 halb \xf0\x9f\x98 Zeichen\n" * 50)
w("bom-only.txt", b"\xef\xbb\xbf")
w("utf16-no-bom.txt", "Ein Text in UTF-16 ohne BOM.".encode("utf-16-le"))
w("deep.html", b"<div>" * 50000 + b"x" + b"</div>" * 50000)
w("script-only.html", b"<html><script>" + b"alert(1);" * 5000 + b"</script></html>")
w("entities.html", b"<p>" + b"&amp;&#x110000;&#99999999;&bogus;" * 2000 + b"</p>")
w("unbalanced.rtf", b"{\\rtf1\\ansi " + b"{" * 5000 + b"text")
w("binary.rtf", b"{\\rtf1 {\\*\\pict " + rnd(4000) + b"}}")
w("quotes.csv", b'a,b\n"unterminated,1\n' + b'"x""y",2\n' * 100)
w("binary.csv", b"a,b,c\n" + rnd(2000))
w("ragged.tsv", b"a\tb\tc\n1\n1\t2\t3\t4\t5\n" * 100)
w("noheaders.eml", b"just a body, no headers at all\n")
w("bad-b64.eml", b"From: a@b.c\nSubject: x\nMIME-Version: 1.0\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n!!!not base64!!!\n")
w("garbage.mbox", b"From nobody\n" + rnd(3000))
# zips that are not what they say
with zipfile.ZipFile(os.path.join(d, "no-document.docx"), "w") as z: z.writestr("hello.txt", "no word/document.xml here")
with zipfile.ZipFile(os.path.join(d, "no-spine.epub"), "w") as z:
    z.writestr("mimetype", "application/epub+zip"); z.writestr("META-INF/container.xml", "<container/>")
w("half.zip.docx", open(os.path.join(d, "truncated.docx"), "rb").read()[:200] if os.path.exists(os.path.join(d, "truncated.docx")) else rnd(200))
# a file name that is not UTF-8, and one with terminal escapes
w(b"caf\xe9-latin1.txt".decode("utf-8", "surrogateescape"), b"Notes from the cafe about the harbour.\n")
w("esc\x1b[2J.txt", b"A name that tries to clear the screen.\n")
PY
# special files and links that leave the folder
mkfifo "$B/fifo.txt"; ln -s /dev/urandom "$B/urandom.txt"; ln -s /etc/passwd "$B/passwd.txt"
ln -s "$B/does-not-exist" "$B/dangling.txt"; mkdir -p "$B/loop"; ln -s .. "$B/loop/up"
# three good documents
printf '# Harbour minutes\n\nThe harbour board met on Monday and agreed the new ferry timetable.\n' > "$B/good-minutes.md"
printf 'The lighthouse keeper logged seven ships before noon and a storm after six.\n' > "$B/good-log.txt"
printf 'name,ships\nMonday,7\nTuesday,9\n' > "$B/good-table.csv"

mapfile -d '' bad < <(cd "$B" && find . -mindepth 1 -maxdepth 1 ! -name 'good-*' ! -name loop -printf '%P\0')
tried=${#bad[@]}

start=$(date +%s)
timeout -s KILL 600 "$DOSSIER" analyze --offline --db "$T/d.db" --events "$T/e.ndjson" "$B" > "$T/out" 2>&1; rc=$?
secs=$(( $(date +%s) - start ))
crashes=0; hangs=0
if [ "$rc" -eq 137 ]; then hangs=1; elif [ "$rc" -ge 128 ] || grep -q "ERROR: AddressSanitizer\|runtime error:" "$T/out"; then crashes=1; fi
check "the run ends with 0 or 1 (some documents failed), not a crash or a hang (exit $rc, ${secs} s)" test "$rc" -le 1

lost=$(python3 - "$T/d.db" "$T/e.ndjson" "$T/out" "$B" "${bad[@]}" <<'PY'
import json, os, sqlite3, sys
db, evf, outf, base, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
con = sqlite3.connect(db); con.text_factory = bytes
by_id = {i: (s.decode(), e) for i, s, e in con.execute("SELECT id, status, error FROM documents")}
# a second copy of content another document holds (an empty file under two names) is that document's
rows = {os.path.basename(p): (by_id.get(o, ("copy of a forgotten document", None)) if s == b"duplicate" else (s.decode(), e))
        for p, s, e, o in con.execute("SELECT path, status, error, same_as FROM documents")}
out = open(outf, "rb").read()
ev = [json.loads(l) for l in open(evf, "rb")]
lost = []
for n in names:
    b = os.fsencode(n)
    if b in rows:
        st, err = rows[b]
        # recorded: done (decoded what it could), failed or unsupported with a message naming it
        if st not in ("done", "partial", "failed", "encrypted", "unsupported"):
            lost.append(f"{n}: left {st}")
        elif st in ("failed", "encrypted", "unsupported") and not err:
            lost.append(f"{n}: {st} without a message")
        continue
    # not a document: skipped with a warning naming it
    warned = any(e.get("event") == "ingest_warning" and n.encode("utf-8", "surrogateescape").decode("utf-8", "replace")[:8] in json.dumps(e, ensure_ascii=False) for e in ev)
    if not warned:
        lost.append(f"{n}: no document and no warning")
for g in ("good-minutes.md", "good-log.txt", "good-table.csv"):
    if rows.get(g.encode(), ("missing",))[0] != "done":
        lost.append(f"{g}: the good document did not complete ({rows.get(g.encode(), ('missing',))[0]})")
print("recorded", sum(os.fsencode(n) in rows for n in names), "warned", len(names) - sum(os.fsencode(n) in rows for n in names), file=sys.stderr)
for l in lost:
    print(l, file=sys.stderr)
print(len(lost))
PY
)
echo "bad inputs tried / crashes / hangs / documents lost: $tried / $crashes / $hangs / $lost (one run, ${secs} s)"
check "at least 60 bad inputs were tried" test "$tried" -ge 60
check_eq "no crash" 0 "$crashes"
check_eq "no hang" 0 "$hangs"
check_eq "no document lost" 0 "$lost"
# every failed or unsupported document's message names its file
unnamed=$(python3 - "$T/d.db" <<'PY'
import os, sqlite3, sys
con = sqlite3.connect(sys.argv[1]); con.text_factory = bytes
n = 0
for p, s, e in con.execute("SELECT path, status, error FROM documents WHERE status IN ('failed','encrypted','unsupported')"):
    base = os.path.basename(p).decode("utf-8", "replace")
    if not e or (base[:6] not in e.decode("utf-8", "replace") and "\\x" not in e.decode("utf-8", "replace")):
        n += 1; print(p, e, file=sys.stderr)
print(n)
PY
)
check_eq "every failed or unsupported document's message names its file" 0 "$unnamed"
check_eq "the other documents still complete" 3 "$("$DOSSIER" list --db "$T/d.db" --json | python3 -c 'import json,sys; print(sum(d["status"]=="done" and d["path"].rsplit("/",1)[1].startswith("good-") for d in json.load(sys.stdin)))')"
done_testing
