#!/usr/bin/env bash
# Archives inside archives: a member that is an archive by its content (even
# named .bin) is opened (and counted so by the plan), its members are
# grandchildren found by search and by list --parent; nesting stops at max_nesting_depth (3, or as configured) and
# the dossier of the deepest archive says so; the expanded bytes of one
# top-level file are counted across all its levels, so a nested bomb stops
# early with a note while the other documents are done.
. "$(dirname "$0")/lib.bash"
export OMP_THREAD_LIMIT=1
mkdir -p "$T/in" "$T/in2" "$XDG_CONFIG_HOME/dossier"
python3 - "$T" <<'PY'
import io, os, sys, zipfile
T = sys.argv[1]
def zbytes(members, method=zipfile.ZIP_DEFLATED):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", method) as z:
        for n, data in members: z.writestr(n, data)
    return b.getvalue()
# a zip holding a zip named mid.bin holding leaf.txt: leaf.txt is a grandchild
leaf = b"The grandchild note is about the lighthouse keeper's logbook and the winter storms.\n"
mid = zbytes([("leaf.txt", leaf)])
open(os.path.join(T, "in", "top.zip"), "wb").write(zbytes([("mid.bin", mid), ("top-note.txt", b"A note beside the inner archive, about harbour fees.\n")]))
# d1.zip > d2.zip > d3.zip > d4.zip > d5.txt: d4.zip is 3 levels deep
inner = b"The fifth level talks about an abandoned signal station.\n"
for name in ("d5.txt", "d4.zip", "d3.zip", "d2.zip"):
    inner = zbytes([(name, inner)])
open(os.path.join(T, "in", "d1.zip"), "wb").write(inner)
open(os.path.join(T, "in2", "d1.zip"), "wb").write(inner)
# a nested bomb: four inner zips of 1.2 MB of text each, under a 3 MiB budget for the whole file
inners = []
for k in range(4):
    text = "".join("row %d of ledger %d records a shipment of grain and timber\n" % (i, k) for i in range(20000))
    inners.append(("b%d.zip" % k, zbytes([("ledger%d.txt" % k, text.encode())])))
open(os.path.join(T, "in", "nestbomb.zip"), "wb").write(zbytes(inners, zipfile.ZIP_STORED))
open(os.path.join(T, "in", "plain.txt"), "w").write("A plain file next to the archives, about the ferry timetable.\n")
PY
q() { python3 - "$1" "$2" <<'PY'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1]); r = con.execute(sys.argv[2]).fetchall()
print("\n".join("|".join("" if v is None else str(v) for v in row) for row in r))
PY
}
# the plan counts what the run will open: mid.bin as an archive, leaf.txt inside it
mkdir -p "$T/in3" && cp "$T/in/top.zip" "$T/in3/"
"$DOSSIER" plan --offline --json "$T/in3" > "$T/plan.json" 2>"$T/plan.err"
check_eq "the plan counts the nested archive and the grandchild (archive 1, text 2)" "1 2" \
  "$(json 'str(d["children"].get("archive", {}).get("count", 0)) + " " + str(d["children"].get("text", {}).get("count", 0))' "$T/plan.json")"
echo "max_expanded_bytes = 3MiB" > "$XDG_CONFIG_HOME/dossier/config"
"$DOSSIER" analyze --offline --db "$T/d.db" "$T/in" > "$T/out" 2>&1; rc=$?
check "analyze ends (0 or 1), exit $rc" test "$rc" -le 1
D="$T/d.db"
mid=$(q "$D" "SELECT id FROM documents WHERE place='mid.bin'")
check_eq "a member that is a zip by its content (named .bin) is an archive" "archive|done" "$(q "$D" "SELECT kind, status FROM documents WHERE id=$mid")"
check_eq "its member is a grandchild of the top-level zip" "leaf.txt|text|done" "$(q "$D" "SELECT place, kind, status FROM documents WHERE parent_id=$mid")"
check_contains "the grandchild is found by search" "leaf.txt" "$("$DOSSIER" search --db "$D" logbook 2>&1)"
check_contains "and by list --parent" "leaf.txt" "$("$DOSSIER" list --db "$D" --parent "$mid" 2>&1)"
check_eq "three levels are opened: d4.zip is there" "1" "$(q "$D" "SELECT count(*) FROM documents WHERE place='d4.zip'")"
check_eq "its member, a fourth level, is not unpacked" "0" "$(q "$D" "SELECT count(*) FROM documents WHERE place='d5.txt'")"
d4=$(q "$D" "SELECT id FROM documents WHERE place='d4.zip'")
"$DOSSIER" show --db "$D" --json "$d4" > "$T/d4.json"
check_contains "and the dossier of d4.zip says the depth limit was hit" "deeper than 3 levels are not unpacked (max_nesting_depth)" \
  "$(json '[n["message"] if isinstance(n, dict) else n for n in d.get("notes", [])]' "$T/d4.json")"
bomb=$(q "$D" "SELECT id FROM documents WHERE path LIKE '%/in/nestbomb.zip'")
inner_bytes=$(q "$D" "WITH RECURSIVE t(id) AS (SELECT id FROM documents WHERE parent_id=$bomb UNION ALL SELECT d.id FROM documents d JOIN t ON d.parent_id=t.id) SELECT coalesce(sum(bytes),0) FROM documents WHERE id IN (SELECT id FROM t)")
check "the nested bomb expands at most its 3 MiB budget across levels (${inner_bytes} bytes)" test "$inner_bytes" -le 3145728
check "yet some of its ledgers were read" test "$(q "$D" "SELECT count(*) FROM documents WHERE place LIKE 'ledger%.txt' AND status='done'")" -ge 1
check "and not all four" test "$(q "$D" "SELECT count(*) FROM documents WHERE place LIKE 'ledger%.txt'")" -lt 4
notes=$(q "$D" "SELECT x.json FROM dossiers x JOIN documents d ON d.id=x.document_id WHERE d.parent_id=$bomb")
check_contains "an inner archive's dossier says the budget of the whole file stopped it" "the archives of the same top-level file have expanded 3145728 bytes in all, across their levels (max_expanded_bytes" "$notes"
check_eq "the other documents are done" "done|done" "$(q "$D" "SELECT status FROM documents WHERE path LIKE '%/in/plain.txt' OR place='top-note.txt' ORDER BY id" | paste -sd'|')"
# the depth is a setting: with 4 levels, the fifth-level note is read
printf 'max_nesting_depth = 4\n' > "$XDG_CONFIG_HOME/dossier/config"
"$DOSSIER" analyze --offline --db "$T/d2.db" "$T/in2" > "$T/out2" 2>&1
check_eq "max_nesting_depth = 4 opens d4.zip too" "text|done" "$(q "$T/d2.db" "SELECT kind, status FROM documents WHERE place='d5.txt'")"
rm -f "$XDG_CONFIG_HOME/dossier/config"
done_testing
