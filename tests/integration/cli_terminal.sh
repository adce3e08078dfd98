#!/usr/bin/env bash
# The terminal: a mistyped command gets "Did you mean"; `dossier help CMD`;
# `dossier config` says where each setting came from (default, file with its
# path and line, environment variable, flag; --json too); frames go under the
# data directory; the live display (through a pty, COLUMNS=60) never draws a
# line wider than the terminal, keeps each document's result line on screen
# and shows steps in plain words; a scanned PDF reports step_progress with
# increasing `done`.
source "$(dirname "$0")/lib.bash"

# ---- commands
out=$("$DOSSIER" anaylze 2>&1); rc=$?
check_eq "a mistyped command is a usage error (2)" 2 "$rc"
check_contains "... that suggests the command" 'Did you mean `analyze`?' "$out"
check_contains "'lsit' suggests list" 'Did you mean `list`?' "$("$DOSSIER" lsit 2>&1)"
check_not_contains "a word far from every command gets no suggestion" "Did you mean" "$("$DOSSIER" xyzzy 2>&1)"
check_eq "dossier help show prints show's help" "$("$DOSSIER" show --help)" "$("$DOSSIER" help show)"
"$DOSSIER" help shwo > /dev/null 2> "$T/help.err"; rc=$?
check_eq "dossier help on an unknown command: 2" 2 "$rc"
check_contains "... with a suggestion" 'Did you mean `show`?' "$(cat "$T/help.err")"
check_contains "dossier --help lists --version" "--version" "$("$DOSSIER" --help)"
check_contains "dossier --help lists config" "config" "$("$DOSSIER" --help)"

# ---- dossier config: sources
mkdir -p "$XDG_CONFIG_HOME/dossier"
printf '# mine\ntext_model = filemodel:1b\nmax_ocr_pages = 7\nvision_model = filevision:2b\n' > "$XDG_CONFIG_HOME/dossier/config"
out=$(DOSSIER_VISION_MODEL=envvision:3b "$DOSSIER" config --budget 12G)
row() { grep -E "^$1 " <<<"$out"; }
check_contains "config: a default says so" "default" "$(row policy)"
check_contains "config: a file value names the file and line" "file $XDG_CONFIG_HOME/dossier/config:2" "$(row text_model)"
check_contains "config: ... and the value" "filemodel:1b" "$(row text_model)"
check_contains "config: the environment beats the file and is named" "env DOSSIER_VISION_MODEL" "$(row vision_model)"
check_contains "config: ... with its value" "envvision:3b" "$(row vision_model)"
check_contains "config: a flag is named" "flag --budget" "$(row budget)"
check_contains "config: DOSSIER_DB from lib.bash is an environment variable" "env DOSSIER_DB" "$(row db)"
check_contains "config: the config file's path is printed" "config file: $XDG_CONFIG_HOME/dossier/config" "$out"
DOSSIER_VISION_MODEL=envvision:3b OPENAI_API_KEY=sekrit "$DOSSIER" config --json --budget 12G > "$T/config.json"
check_eq "config --json: the file's line" 2 "$(json '[s for s in d["settings"] if s["key"]=="text_model"][0]["line"]' "$T/config.json")"
check_eq "config --json: the env source" env "$(json '[s for s in d["settings"] if s["key"]=="vision_model"][0]["source"]' "$T/config.json")"
check_eq "config --json: the flag's name" --budget "$(json '[s for s in d["settings"] if s["key"]=="budget"][0]["flag"]' "$T/config.json")"
check_not_contains "config never prints the API key" "sekrit" "$(cat "$T/config.json")"
printf 'bogus_key = 1\n' > "$XDG_CONFIG_HOME/dossier/config"
"$DOSSIER" config > /dev/null 2> "$T/bad.err"; rc=$?
check_eq "config: an unknown key in the file is a usage error" 2 "$rc"
check_contains "... naming the file, the line and the key" "config:1: unknown setting 'bogus_key'" "$(cat "$T/bad.err")"
rm "$XDG_CONFIG_HOME/dossier/config"

# ---- the data directory
dd_of() { "$@" --json | python3 -c 'import json,sys; print([s for s in json.load(sys.stdin)["settings"] if s["key"]=="data_dir"][0]["value"])'; }
dd_x=$(dd_of "$DOSSIER" config --db "$T/other/x.db")
check "data dir: a database given explicitly has its own under XDG, not beside it ($dd_x)" \
  bash -c "case '$dd_x' in '$XDG_DATA_HOME/dossier/stores/x-'????????) exit 0;; *) exit 1;; esac"
check "data dir: two databases never share one" test "$dd_x" != "$(dd_of "$DOSSIER" config --db "$T/other2/x.db")"
check_eq "data dir: the same database always gets the same one" "$dd_x" "$(cd "$T" && dd_of "$DOSSIER" config --db other/x.db)"
mkdir -p "$T/legacy/frames"
check_eq "data dir: a database that already keeps its data beside it keeps it there" "$T/legacy" "$(dd_of "$DOSSIER" config --db "$T/legacy/x.db")"
check_eq "data dir: XDG when no database is given" "$XDG_DATA_HOME/dossier" "$(env -u DOSSIER_DB "$DOSSIER" config --json | python3 -c 'import json,sys; print([s for s in json.load(sys.stdin)["settings"] if s["key"]=="data_dir"][0]["value"])')"
check_eq "data dir: DOSSIER_DATA_DIR wins" "$T/dd" "$(DOSSIER_DATA_DIR="$T/dd" dd_of "$DOSSIER" config --db "$T/other/x.db")"
check_eq "data dir: --data-dir beats DOSSIER_DATA_DIR" "$T/flag" "$(DOSSIER_DATA_DIR="$T/dd" dd_of "$DOSSIER" config --data-dir "$T/flag")"
mkdir -p "$T/vid"
ffmpeg -loglevel error -y -f lavfi -i testsrc=size=320x240:rate=10 -t 3 -pix_fmt yuv420p "$T/vid/clip.mp4"
"$DOSSIER" analyze --offline --db "$T/vdb/v.db" --data-dir "$T/vdata" "$T/vid" > /dev/null 2>&1
check "frames go under --data-dir" test -n "$(ls "$T"/vdata/frames/*/ 2>/dev/null)"
check "... and not beside the database" test ! -e "$T/vdb/frames"

# ---- step_progress and labels: a scanned PDF of 6 pages
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
ffmpeg -loglevel error -y -f lavfi -i color=white:s=1240x400 -frames:v 1 \
  -vf "drawtext=fontfile=$FONT:text='Harbour survey page':fontsize=64:fontcolor=black:x=40:y=150" "$T/scan.jpg"
mkdir -p "$T/pdf"
python3 "$SOURCE_DIR/tests/fixtures/mkpdf.py" "$T/pdf/survey.pdf" 0 "$T/scan.jpg" 6
"$DOSSIER" analyze --offline --db "$T/p/p.db" --events "$T/ev.ndjson" "$T/pdf" > /dev/null 2>&1
check "a scanned PDF reports step_progress with increasing done, in pages, up to the total" python3 - "$T/ev.ndjson" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
p = [e for e in ev if e["event"] == "step_progress"]
assert len(p) >= 2, p
done = [e["done"] for e in p]
assert done == sorted(done) and len(set(done)) == len(done), done
assert all(e["step"] == "ocr" and e["unit"] == "pages" and e["total"] == 6 and e["document"] for e in p), p
assert done[-1] == 6, done
assert p[0]["label"] == "recognising text in the images", p[0]
PY
check "step_started and step_finished carry a label in plain words" python3 - "$T/ev.ndjson" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
s = [e for e in ev if e["event"] in ("step_started", "step_finished")]
assert s and all(e.get("label") and "_" not in e["label"] for e in s), s
assert any(e["label"] == "reading the text" for e in s), s
PY

# ---- the live display through a pty, 60 columns
if command -v script >/dev/null; then
  cp "$SOURCE_DIR"/samples/*.md "$SOURCE_DIR"/samples/*.txt "$SOURCE_DIR"/samples/*.png "$T/pdf/"
  COLUMNS=60 script -qfec "'$DOSSIER' analyze --offline --db '$T/live/l.db' '$T/pdf'" /dev/null > "$T/live.txt" 2>&1
  check "live display: every drawn row fits 60 columns; result lines stay; steps in plain words" python3 - "$T/live.txt" <<'PY'
import re, sys, unicodedata
raw = open(sys.argv[1], encoding="utf-8", errors="replace").read()
# a small terminal: rows, cursor row; ESC[1A up, ESC[2K clear row, \r, \n
rows, r, widest, seen = [""], 0, 0, set()
for tok in re.findall(r"\x1b\[[0-9;]*[A-Za-z]|\r|\n|[^\x1b\r\n]+", raw):
    if tok == "\n":
        r += 1
        if r == len(rows): rows.append("")
    elif tok == "\r":
        pass
    elif tok == "\x1b[1A":
        r = max(0, r - 1)
    elif tok == "\x1b[2K":
        rows[r] = ""
    elif tok.startswith("\x1b"):
        pass
    else:
        rows[r] += tok
        w = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in rows[r])
        if rows[r].startswith("  ") or rows[r].startswith("["):   # the live area
            widest = max(widest, w)
            seen.add(rows[r])
screen = [x for x in rows if x]
assert widest <= 59, f"a live row is {widest} columns wide"
done = [x for x in screen if x.startswith("done ")]
assert len(done) == 4, screen          # the PDF, the notes, the article, the receipt
assert not any(x.startswith("[") for x in screen[:-1]), screen  # the live area is gone
assert any("recognising text in the images" in x for x in seen), seen
assert not any("extract_text" in x or "ocr" == x.split()[-1] for x in seen), seen
PY
else
  echo "# script(1) is not installed: the live display is not checked"
fi

done_testing
