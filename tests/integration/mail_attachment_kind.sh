#!/usr/bin/env bash
# A mail's attachment is told by its content, not only by its name or type:
# one named scan0001.bin and one photo.dat, both typed application/octet-stream,
# that are a PDF and a PNG are planned as a PDF and an image (the planner's
# mail scan) and analysed as such (children of the mail, done).
. "$(dirname "$0")/lib.bash"
export OMP_THREAD_LIMIT=1
S=$SOURCE_DIR/samples
mkdir -p "$T/in"
python3 - "$T/in/scans.eml" "$S/committee-minutes.pdf" "$S/cafe-receipt.png" <<'PY'
import sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "Ana Lima <ana@example.org>"; m["To"] = "bo@example.org"
m["Subject"] = "Scans from the archive"; m["Date"] = "Tue, 03 Mar 2026 10:00:00 +0000"
m.set_content("Here are the scans: the committee minutes and the cafe receipt.\n")
for path, name in ((sys.argv[2], "scan0001.bin"), (sys.argv[3], "photo.dat")):
    m.add_attachment(open(path, "rb").read(), maintype="application", subtype="octet-stream", filename=name)
open(sys.argv[1], "wb").write(bytes(m))
PY
"$DOSSIER" plan --offline --json "$T/in" > "$T/plan.json" 2>"$T/plan.err"
check_eq "the plan counts the .bin attachment as a PDF" "1" "$(json 'd["children"].get("pdf", {}).get("count", 0)' "$T/plan.json")"
check_eq "and photo.dat as an image" "1" "$(json 'd["children"].get("image", {}).get("count", 0)' "$T/plan.json")"
check_eq "and nothing as unsupported" "0" "$(json 'd["children"].get("unsupported", {}).get("count", 0)' "$T/plan.json")"
"$DOSSIER" analyze --offline --db "$T/d.db" "$T/in" > "$T/out" 2>&1; rc=$?
check_eq "analyze succeeds" "0" "$rc"
q() { python3 - "$T/d.db" "$1" <<'PY'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1]); r = con.execute(sys.argv[2]).fetchall()
print("\n".join("|".join("" if v is None else str(v) for v in row) for row in r))
PY
}
mail=$(q "SELECT id FROM documents WHERE path LIKE '%/in/scans.eml'")
check_eq "the .bin attachment is analysed as a PDF" "pdf|done" "$(q "SELECT kind, status FROM documents WHERE parent_id=$mail AND place='scan0001.bin'")"
check_eq "photo.dat as an image" "image|done" "$(q "SELECT kind, status FROM documents WHERE parent_id=$mail AND place='photo.dat'")"
pdf=$(q "SELECT id FROM documents WHERE parent_id=$mail AND place='scan0001.bin'")
check_contains "the PDF's text is read" "ommittee" "$("$DOSSIER" show --db "$T/d.db" "$pdf" 2>&1)"
done_testing
