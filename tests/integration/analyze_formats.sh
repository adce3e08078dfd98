#!/usr/bin/env bash
# Office documents, e-books, RTF, e-mail and tables end to end: every fixture
# is generated here (tests/formats_fixtures.py: the XML zipped with Python's
# zipfile, RTF and e-mail as text), `dossier analyze --offline` runs on the
# folder, and `show --json` is checked for kind, properties and text.
. "$(dirname "$0")/lib.bash"
python3 "$SOURCE_DIR/tests/formats_fixtures.py" "$T/in" office rtf mail table hostile || { bad "fixtures written"; done_testing; exit 1; }
mkdir -p "$T/bomb" && mv "$T/in/zipbomb.docx" "$T/bomb/"
rm -f "$T/in/bigpara.docx" # big: the unit tests' business

# prose that looks a little like a table or a mailbox stays text
printf 'From the desk of the editor, 2024\nDear reader, we walked, talked, and ate.\nThen, later, we slept, dreamt, and woke.\n' > "$T/in/letter.txt"
out=$("$DOSSIER" analyze --offline "$T/in" 2>"$T/err"); rc=$?
check_eq "analyze exits 1 (the encrypted and truncated files fail)" 1 "$rc"
check_contains "every file analysed or failed, none unsupported" "unsupported 0" "$out"
check_contains "four failed: three encrypted, one truncated" "failed 4" "$out"

show() { "$DOSSIER" show "$T/in/$1" --json > "$T/$1.json"; }
for f in report.docx notes.odt deck.pptx sales.xlsx budget.ods book.epub memo.rtf minutes.eml news.eml list.mbox \
         people.csv stock.tsv laughs.docx xxe.docx xxe.epub encrypted.docx protected.docx locked-budget truncated.docx; do show "$f"; done

check "every dossier validates against docs/dossier.schema.json" python3 -c '
import json,sys,jsonschema
s=json.load(open(sys.argv[1]))
for p in sys.argv[2:]:
    jsonschema.validate(json.load(open(p)), s)' "$SOURCE_DIR/docs/dossier.schema.json" "$T"/*.json

J() { json "$1" "$T/$2.json"; }
# kinds
show letter.txt
for pair in letter.txt:text report.docx:office notes.odt:office deck.pptx:office sales.xlsx:office budget.ods:office book.epub:epub \
            memo.rtf:rtf minutes.eml:mail list.mbox:mail people.csv:table stock.tsv:table; do
  check_eq "${pair%%:*} is of kind ${pair##*:}" "${pair##*:}" "$(J 'd["kind"]' "${pair%%:*}")"
done

# DOCX: properties, reading order, headings and list items kept
check_eq "DOCX title from its properties" "Quarterly report" "$(J 'd["title"]' report.docx)"
check_eq "DOCX author" "Ada Lovelace" "$(J 'd["author"]' report.docx)"
check_eq "DOCX created" "2024-03-01T09:00:00Z" "$(J 'd["created"]' report.docx)"
check_eq "DOCX text in reading order, headings and list items kept" True \
  "$(J '(lambda t: t.index("# Introduction") < t.index("harbour") < t.index("- Apples\n- Pears") < t.index("## Results") < t.index("closes the report"))(d["text"])' report.docx)"
check_eq "DOCX headings listed" "['Quarterly report', 'Introduction', 'Results']" "$(J '[h["text"] for h in d["document"]["headings"]]' report.docx)"
check_eq "DOCX text source is ours" "dossier:office" "$(J 'd["sources"]["text"]' report.docx)"
check_contains "search finds the DOCX by a word of its text" "report.docx" "$("$DOSSIER" search harbour)"

# ODT, PPTX, XLSX, ODS
check_eq "ODT heading, paragraph and list" True "$(J '"# Field notes\n\nWe walked along the river bank.\n\n- Herons\n- Kingfishers" in d["text"]' notes.odt)"
check_eq "ODT author from meta.xml" "Grace Hopper" "$(J 'd["author"]' notes.odt)"
check_eq "PPTX slides in presentation order" True "$(J 'd["text"].index("Opening slide") < d["text"].index("Second slide")' deck.pptx)"
check_eq "PPTX slide count" 2 "$(J 'd["document"]["slides"]' deck.pptx)"
check_eq "XLSX sheets in order with cached values" True \
  "$(J '"Region\tTotal\nNorth\t1234.5" in d["text"] and d["text"].index("Sales") < d["text"].index("Costs") and "Rent!\tTRUE" in d["text"]' sales.xlsx)"
check_eq "XLSX never shows a formula" False "$(J '"SUM(" in d["text"] or "CONCAT" in d["text"]' sales.xlsx)"
check_eq "XLSX sheets listed" "['Sales', 'Costs']" "$(J '[s["name"] for s in d["document"]["sheets"]]' sales.xlsx)"
check_eq "XLSX offline summary says what the workbook holds" "A workbook of 2 sheets: Sales (2 rows), Costs (1 row)." "$(J 'd["summary"]' sales.xlsx)"
check_eq "ODS cached value, not its formula" True "$(J '"Paint\t42" in d["text"] and "of:=" not in d["text"]' budget.ods)"

# notes, comments, page headers and footers
show footnotes.docx; show footnotes.odt
check_eq "DOCX footnote and endnote marks kept in the body" True \
  "$(J '"older than thought[1] and needs repair." in d["text"] and "Costs are rising[i]." in d["text"]' footnotes.docx)"
check_eq "DOCX notes after the body under Notes, with their marks" True \
  "$(J 'd["text"].index("A second claim[2]") < d["text"].index("## Notes\n\n[1] Dated by the 1820 harbour map.\n\n[2] See the survey of 1998.\n\n[i] Figures from the council budget.")' footnotes.docx)"
check_eq "DOCX comments after the notes" True "$(J '"## Comments\n\nGrace: Check the date." in d["text"]' footnotes.docx)"
check_eq "DOCX header of three sections appears once" 1 "$(J 'd["text"].count("Port Authority internal")' footnotes.docx)"
check_eq "DOCX footer kept, its cached page number dropped" True "$(J '"Page of the survey" in d["text"] and "7" not in d["text"]' footnotes.docx)"
check_eq "ODT note citations kept in the body, bodies under Notes" True \
  "$(J '"The water rose[1] overnight." in d["text"] and "## Notes\n\n[1] Measured at the old bridge.\n\n[i] By the harbour crew." in d["text"]' footnotes.odt)"
check_eq "ODT header of two master pages once, footer without its page number" True \
  "$(J 'd["text"].count("County water board") == 1 and "Page of the log" in d["text"]' footnotes.odt)"
check_contains "search finds a DOCX by a word of its footnote" "footnotes.docx" "$("$DOSSIER" search 1820 2>&1)"

# EPUB
check_eq "EPUB title and author from the package" "The Lighthouse Keeper / Mary Shelley" "$(J 'd["title"] + " / " + d["author"]' book.epub)"
check_eq "EPUB chapters in spine order" True "$(J 'd["text"].index("Chapter One") < d["text"].index("Chapter Two")' book.epub)"

# RTF
check_eq "RTF title from its info group (not the raw markup)" "Meeting about the budget" "$(J 'd["title"]' memo.rtf)"
check_eq "RTF author" "Ada Lovelace" "$(J 'd["author"]' memo.rtf)"
check_eq "RTF text decoded (code page and \\u)" True "$(J '"café near the station… and €20" in d["text"] and "\\" not in d["text"] and "{" not in d["text"]' memo.rtf)"
check_eq "RTF encoding recorded" "CP1252" "$(J 'd["encoding"]' memo.rtf)"

# e-mail
check_eq "EML subject is the title" "Harbour meeting minutes" "$(J 'd["title"]' minutes.eml)"
check_eq "EML from" "Alice Example <alice@example.org>" "$(J 'd["mail"]["from"]' minutes.eml)"
check_eq "EML date" "2024-03-05T10:00:00+01:00" "$(J 'd["mail"]["date"]' minutes.eml)"
check_eq "EML message id" "minutes-42@example.org" "$(J 'd["mail"]["message_id"]' minutes.eml)"
check_eq "EML plain part decoded" True "$(J '"The meeting at the café is moved to Friday." in d["text"]' minutes.eml)"
check_eq "EML attachment listed" "agenda.txt text/plain 92" "$(J '" ".join(str(d["attachments"][0][k]) for k in ("name","type","size"))' minutes.eml)"
check_eq "the attachment is a child document of the mail" "agenda.txt" "$(J '[c["place"] for c in d["children"]][0]' minutes.eml)"
aid=$(J 'd["children"][0]["id"]' minutes.eml)
"$DOSSIER" show --json "$aid" > "$T/agenda.json"
check_eq "the attachment is analysed by its own kind" "text done" "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["kind"], d["status"])' "$T/agenda.json")"
check_eq "its dossier names the mail it came with" "minutes.eml" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["parent"]["name"])' "$T/agenda.json")"
check_contains "the attachment is found by search" "agenda" "$("$DOSSIER" search ferry timetable 2>&1)"
check_eq "HTML-only mail turned to text" True "$(J '"Tulips are blooming." in d["text"] and "<" not in d["text"]' news.eml)"
check_eq "mbox: three messages" 3 "$(J 'd["document"]["messages"]' list.mbox)"
check_eq "mbox: subjects listed in order" "['Message number 0', 'Message number 1', 'Message number 2']" \
  "$(J '[m["subject"] for m in d["document"]["message_list"]]' list.mbox)"
md=$("$DOSSIER" show "$T/in/minutes.eml" --md)
check_contains "Markdown shows the sender" "- **From:** Alice Example <alice@example.org>" "$md"
check_contains "Markdown lists the attachment" "- agenda.txt (text/plain, 92 bytes)" "$md"
check_contains "Markdown shows a document's author" "- **Author:** Ada Lovelace" "$("$DOSSIER" show "$T/in/report.docx" --md)"
check_contains "search finds the e-mail by a word of its body" "minutes.eml" "$("$DOSSIER" search friday)"

# tables
check_eq "CSV rows and columns" "42 ['name', 'city', 'amount', 'date']" "$(J 'str(d["table"]["rows"]) + " " + str([c["name"] for c in d["table"]["columns"]])' people.csv)"
check_eq "CSV offline summary says what the table holds" True "$(J 'd["summary"].startswith("A table of 42 rows and 4 columns: name, city, amount")' people.csv)"
check_eq "CSV summary source" "dossier:structure" "$(J 'd["sources"]["summary"]' people.csv)"
check_eq "CSV title is its name" "people.csv" "$(J 'd["title"]' people.csv)"
check_eq "TSV rows" 2 "$(J 'd["table"]["rows"]' stock.tsv)"

# hostile files: finished, nothing expanded or read, clear errors
check_eq "billion laughs in a DOCX: done, not expanded" True "$(J 'd["status"] == "done" and len(d["text"]) < 200' laughs.docx)"
check_eq "XXE in a DOCX reads no file" False "$(J '"root:" in d.get("text", "")' xxe.docx)"
check_eq "XXE in an EPUB reads no file" False "$(J '"root:" in d.get("text", "")' xxe.epub)"
check_eq "encrypted ZIP: status encrypted, saying so" True "$(J 'd["status"] == "encrypted" and "password-protected" in d["errors"][0]["message"] and "encrypted.docx" in d["errors"][0]["message"]' encrypted.docx)"
check_eq "password-protected DOCX: status encrypted, saying what to do" True "$(J 'd["status"] == "encrypted" and "save an unencrypted copy and analyse that copy" in d["errors"][0]["message"]' protected.docx)"
check_eq "a password-protected workbook is found by its content, not its name" "office encrypted" "$(J 'd["kind"] + " " + d["status"]' locked-budget)"
check_eq "list --status encrypted lists the three" "encrypted.docx locked-budget protected.docx" \
  "$("$DOSSIER" list --status encrypted --json | python3 -c 'import json,sys,os; print(" ".join(sorted(os.path.basename(d["path"]) for d in json.load(sys.stdin))))')"
check_contains "list shows why" "password-protected" "$("$DOSSIER" list --status encrypted 2>&1)"
out2=$("$DOSSIER" analyze --offline "$T/in" 2>&1)
check_contains "an encrypted file is not tried again while it is unchanged" "analysed 0" "$out2"
check_eq "and keeps its status" "encrypted" "$("$DOSSIER" show "$T/in/protected.docx" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')"
check_eq "truncated archive fails clearly" True "$(J 'd["status"] == "failed" and "truncated or damaged" in d["errors"][0]["message"]' truncated.docx)"
# the expansion cap is a setting
mkdir -p "$XDG_CONFIG_HOME/dossier" && echo "max_expanded_bytes = 4MiB" > "$XDG_CONFIG_HOME/dossier/config"
"$DOSSIER" analyze --offline "$T/bomb" >/dev/null 2>&1
"$DOSSIER" show "$T/bomb/zipbomb.docx" --json > "$T/bomb.json"
check_eq "a zip bomb stops at max_expanded_bytes and says so" True \
  "$(json 'd["status"] == "failed" and "zip bomb" in d["errors"][0]["message"] and "4194304" in d["errors"][0]["message"]' "$T/bomb.json")"
rm -f "$XDG_CONFIG_HOME/dossier/config"
check "no member name became a path" test ! -e /tmp/dossier-escape.txt -a ! -e /tmp/dossier-abs.txt

done_testing
