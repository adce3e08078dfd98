#!/usr/bin/env bash
# Honest offline output: speech the recogniser is unsure of does not make the
# title, tags or summary when better evidence exists (the text on screen, the
# file's name); unsure transcript lines are marked; a scan's title is its
# heading, not its last line; a German amount is money, not a name.
# Prints the tag precision against what the sample really says and shows.
. "$(dirname "$0")/lib.bash"
command -v espeak-ng >/dev/null || skip_all "espeak-ng is not installed (scripts/setup installs it)"
export OMP_THREAD_LIMIT=1
S=$SOURCE_DIR/samples
mkdir -p "$T/f"
cp "$S/harbour-tour.mp4" "$T/f/"
espeak-ng -v en-us -s 150 -w "$T/f/voice-memo.wav" "please send the quarterly report to the finance team by friday"
ffmpeg -loglevel error -i "$S/cafe-receipt.png" -q:v 2 "$T/receipt.jpg"
python3 "$SOURCE_DIR/tests/fixtures/mkpdf.py" "$T/f/scanned-receipt.pdf" 0 "$T/receipt.jpg" 1
printf 'Die Stadt investiert 2,5 Millionen Euro in die neue Brücke. Der Bau beginnt im März 2027.\n' > "$T/f/bruecke.txt"

"$DOSSIER" analyze --offline --db "$T/d.db" "$T/f" > "$T/a.out" 2>&1
check_eq "offline analysis of the four files: exit 0" 0 $?
show() { "$DOSSIER" show --db "$T/d.db" --json "$T/f/$1" > "$T/$1.json"; }
for f in harbour-tour.mp4 voice-memo.wav scanned-receipt.pdf bruecke.txt; do show "$f"; done

# the video: what the narration and the slides really say (scripts/make-samples)
REF="welcome to the harbour tour the lighthouse was built in eighteen ninety 1890 the fishing boats return every morning with their catch thank you for watching and enjoy the harbour"
precision() { python3 - "$T/$1.json" "$REF" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); ref = set(sys.argv[2].split())
if sys.argv[3] == "tags":
    items = d.get("tags", [])
    good = sum(all(w in ref for w in t.lower().split()) for t in items)
else:
    items = [w.strip(".,;:!?").lower() for w in d.get("summary", "").split()]
    items = [w for w in items if w]
    good = sum(w in ref for w in items)
print("%.2f" % (good / len(items) if items else 0))
PY
}
tp=$(precision harbour-tour.mp4 tags); sp=$(precision harbour-tour.mp4 summary)
echo "harbour video, offline: tag precision $tp, summary word precision $sp (against narration and slides)"
check "the video's tags are words it really says or shows (precision >= 0.75)" python3 -c "import sys; sys.exit(0 if $tp >= 0.75 else 1)"
check "the video's summary is words it really says or shows (precision >= 0.75)" python3 -c "import sys; sys.exit(0 if $sp >= 0.75 else 1)"
check_eq "the video's title is its title slide" "The harbour tour" "$(json 'd["title"]' "$T/harbour-tour.mp4.json")"
check_eq "the video's summary comes from the screen, and says so" "offline:frame-ocr" "$(json 'd["sources"]["summary"]' "$T/harbour-tour.mp4.json")"
check_eq "unsure transcript lines are marked" "True" "$(json 'all(s.get("uncertain") == (s.get("confidence", 1) < 0.55) for s in d["transcript"]["segments"]) and any(s.get("uncertain") for s in d["transcript"]["segments"])' "$T/harbour-tour.mp4.json")"
check "the transcript is kept whole (for search and the page)" test "$(json 'len(d["transcript"]["segments"])' "$T/harbour-tour.mp4.json")" -ge 2

# a recording with nothing on screen: its name is a better title than unsure words
check_eq "an unsure recording is titled by its file name" "Voice memo" "$(json 'd["title"]' "$T/voice-memo.wav.json")"
check_eq "and says where the title came from" "file name" "$(json 'd["sources"]["title"]' "$T/voice-memo.wav.json")"

# a scanned PDF: the heading, not the last line
check_eq "a scanned receipt's title is its heading" "RECEIPT Harbour Cafe" "$(json 'd["title"]' "$T/scanned-receipt.pdf.json")"

# German amounts
check_eq "2,5 Millionen Euro is money" "True" "$(json '{"text":"2,5 Millionen Euro","type":"money"} in d["entities"]' "$T/bruecke.txt.json")"
check_eq "and no name" "False" "$(json 'any(e["type"] == "name" and "Millionen" in e["text"] for e in d["entities"])' "$T/bruecke.txt.json")"

done_testing
