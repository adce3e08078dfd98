#!/usr/bin/env bash
# Bad input: each gets one clear message naming the file, is recorded as failed
# or unsupported, the other documents still complete, and the exit code is 1.
. "$(dirname "$0")/lib.bash"
D="$T/bad"; mkdir -p "$D"
echo "Good documents still complete when their neighbours are broken." > "$D/good.txt"
: > "$D/empty.txt"
head -c 4096 /dev/urandom > "$D/random.txt"
printf 'Caf\xe9 cr\xe8me: the menu costs 5 \x80 and the r\xe9sum\xe9 is attached.\n' > "$D/latin1.txt"
head -c 3000 /dev/urandom > "$D/blob.bin"
printf '%%PDF-1.4\n1 0 obj\n<< /Type /Catalog' > "$D/corrupt.pdf"
mkdir -p "$D/loop"; ln -s .. "$D/loop/up"

out=$("$DOSSIER" analyze --offline "$D" "$T/does-not-exist" 2>&1); rc=$?
check_eq "exit code is 1 when some documents failed" 1 "$rc"
check_contains "zero-byte file: says it is empty" "empty.txt: the file is empty (0 bytes)" "$out"
check_contains "binary data named .txt: says it looks binary" "random.txt" "$out"
check_contains "missing path is named" "does-not-exist" "$out"
check_contains "corrupt PDF is named" "corrupt.pdf" "$out"
st() { "$DOSSIER" list --json | python3 -c 'import json,sys; print({d["path"].rsplit("/",1)[1]: d["status"] for d in json.load(sys.stdin)}.get(sys.argv[1]))' "$1"; }
check_eq "the good document completes" done "$(st good.txt)"
check_eq "the empty file is failed" failed "$(st empty.txt)"
check_eq "random bytes named .txt are failed" failed "$(st random.txt)"
check_eq "an unknown binary is unsupported, not an error" unsupported "$(st blob.bin)"
check_eq "the corrupt PDF is failed" failed "$(st corrupt.pdf)"
check_eq "invalid UTF-8 falls back to Windows-1252 and completes" done "$(st latin1.txt)"
"$DOSSIER" show "$D/latin1.txt" --json > "$T/l1.json"
check_eq "the fallback encoding is recorded" windows-1252 "$(json 'd.get("encoding")' "$T/l1.json")"
check_contains "Windows-1252 bytes decoded (é, €)" "Café crème: the menu costs 5 €" "$(json 'd["text"]' "$T/l1.json")"
check_contains "the directory loop is reported, not followed" "loop" "$out"
n=$("$DOSSIER" list --json | python3 -c 'import json,sys; print(sum(1 for d in json.load(sys.stdin) if d["path"].endswith("good.txt")))')
check_eq "the loop did not create duplicate documents" 1 "$n"
err=$("$DOSSIER" list --json | python3 -c 'import json,sys; print([d for d in json.load(sys.stdin) if d["path"].endswith("random.txt")][0]["error"])')
check_contains "the stored error explains the binary file" "binary" "$err"

# unreadable file: root reads everything, so run this part as an unprivileged user
if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null; then
  P="$T/perm"; mkdir -p "$P/db"; echo "Readable neighbour text about tides and harbours." > "$P/ok.txt"
  echo "secret" > "$P/locked.txt"; chmod 000 "$P/locked.txt"; chmod 777 "$P" "$P/db"; chmod 755 "$T"
  mkdir -p "$P/sealed"; echo "hidden" > "$P/sealed/x.txt"; chmod 000 "$P/sealed"
  out=$(runuser -u nobody -- env HOME="$P" "$DOSSIER" analyze --offline --db "$P/db/d.db" "$P" 2>&1); rc=$?
  check_contains "an unreadable folder is named, with the fix" "sealed: cannot read the folder" "$out"
  check_eq "unreadable file: exit code 1" 1 "$rc"
  check_contains "unreadable file: message names it and the fix" "locked.txt" "$out"
  check_contains "unreadable file: message suggests fixing permissions" "permission" "$out"
else
  P="$T/perm"; mkdir -p "$P"; echo "secret" > "$P/locked.txt"; chmod 000 "$P/locked.txt"
  out=$("$DOSSIER" analyze --offline "$P" 2>&1); rc=$?
  check_eq "unreadable file: exit code 1" 1 "$rc"
  check_contains "unreadable file: message names it" "locked.txt" "$out"
fi

# --- names and files that are not what they seem (issue 11)
mkdir -p "$T/odd" "$T/outside"
printf 'Caf\xe9 notes about the harbour and the boats leaving at nine.\n' > "$T/odd/caf$(printf '\xe9').txt"
printf 'The ferry timetable changed in May, the harbour master said.\n' > "$T/odd/evil$(printf '\033')[2Jname.txt"
printf 'A private diary outside the analysed folder: lighthouse.\n' > "$T/outside/diary.txt"
mkfifo "$T/odd/pipe.txt"
ln -s /dev/zero "$T/odd/zero.txt"
ln -s /proc/self/mem "$T/odd/mem.txt"
ln -s "$T/outside/diary.txt" "$T/odd/link-out.txt"
ln -s "$T/outside" "$T/odd/dir-out"
out=$(timeout 60 "$DOSSIER" analyze --offline --db "$T/odd.db" "$T/odd" 2>&1); rc=$?
check "odd names: analyze finishes without crashing (exit $rc)" test "$rc" -le 1
check_contains "a Latin-1 file name is shown escaped" 'caf\xe9.txt' "$out"
check_not_contains "no raw escape character reaches the terminal" "$(printf '\033')[2J" "$out"
check_contains "an escape character in a name is shown as \\x1b" 'evil\x1b[2Jname.txt' "$out"
check_contains "a FIFO is named and skipped" "pipe.txt: a named pipe (FIFO); skipped" "$out"
check_contains "a link to /dev/zero is named and skipped" "zero.txt" "$out"
check_contains "a link to /proc/self/mem is not read" "mem.txt" "$out"
check_contains "a link out of the folder is not followed, and says so" "link-out.txt: a symbolic link to" "$out"
check_contains "a folder link out of the folder is not followed" "dir-out: a symbolic link to" "$out"
"$DOSSIER" list --db "$T/odd.db" --json > "$T/odd.json"
check_eq "list --json keeps the document with the Latin-1 name" 1 \
  "$(json 'sum(1 for x in d if x["path"].endswith("caf\\xe9.txt"))' "$T/odd.json")"
check_eq "nothing outside the folder was recorded" 0 "$(json 'sum(1 for x in d if "/outside/" in x["path"] or "diary" in x["path"] or x["path"].startswith("/proc") or x["path"].startswith("/dev"))' "$T/odd.json")"
check_eq "the two real notes are done" 2 "$(json 'sum(1 for x in d if x["status"] == "done")' "$T/odd.json")"
check_contains "search finds the Latin-1-named note" 'caf\xe9.txt' "$("$DOSSIER" search --db "$T/odd.db" boats 2>&1)"
check_not_contains "search output carries no raw escape" "$(printf '\033')" "$("$DOSSIER" search --db "$T/odd.db" ferry 2>&1)"
mkdir -p "$T/selfdb"; echo "Tide tables for the harbour, spring and neap." > "$T/selfdb/tides.txt"
"$DOSSIER" analyze --offline --db "$T/selfdb/d.db" "$T/selfdb" >/dev/null 2>&1
out=$("$DOSSIER" analyze --offline --db "$T/selfdb/d.db" "$T/selfdb" 2>&1)
check_contains "a database inside the analysed folder is not ingested (second run: all unchanged)" "unchanged 1, failed 0, unsupported 0" "$out"
check_not_contains "the database's own files are never listed" "d.db" "$("$DOSSIER" list --db "$T/selfdb/d.db" 2>&1)"
check_not_contains "list output carries no raw escape" "$(printf '\033')" "$("$DOSSIER" list --db "$T/odd.db" 2>&1)"

# --- text in any encoding (issue 13): detected (uchardet) and converted (iconv)
mkdir -p "$T/enc"
python3 - "$T/enc" <<'PY'
import sys
d = sys.argv[1]
ru = "Москва — столица России. Город стоит на реке Москве. В городе много музеев, театров и парков. Зимой здесь холодно, а летом тепло."
cz = "Žluťoučký kůň úpěl ďábelské ódy. Příliš žluťoučký kůň se napil studené vody z řeky. Praha je hlavní město České republiky a leží na řece Vltavě."
samples = {
    "cp1251": (ru, "windows-1251"), "koi8r": (ru.replace("—", "-"), "koi8-r"),
    "sjis": ("東京は日本の首都です。東京には多くの美術館や公園があります。春には桜が咲き、多くの人が花見を楽しみます。", "shift_jis"),
    "gb18030": ("北京是中国的首都。北京有很多博物馆和公园。春天的时候，很多人去公园散步和看花。", "gb18030"),
    "latin2": (cz, "iso-8859-2"), "cp1250": (cz, "windows-1250"),
    "cp1252": ("Café crème: the menu costs 5 € and the naïve waiter said “bonjour” twice.", "windows-1252"),
}
for k, (t, enc) in samples.items():
    open(f"{d}/{k}.txt", "wb").write(t.encode(enc))
    open(f"{d}/{k}.expect", "w").write(t[:40])
open(f"{d}/mixed.txt", "wb").write("Grüße aus Köln — ".encode() + "Café crème".encode("latin-1") + " und schönes Wetter.".encode())
open(f"{d}/mixed.expect", "w").write("Grüße aus Köln — Café crème und schönes")
PY
"$DOSSIER" analyze --offline --db "$T/enc.db" "$T/enc" >/dev/null 2>&1
for f in cp1251:windows-1251 koi8r:koi8-r sjis:shift_jis gb18030:gb18030 latin2:iso-8859-2 cp1250:windows-1250 cp1252:windows-1252 mixed:utf-8/cp1252; do
  name=${f%%:*}; want=${f#*:}
  "$DOSSIER" show --db "$T/enc.db" "$T/enc/$name.txt" --json > "$T/enc-$name.json" 2>/dev/null
  check_eq "$name: the encoding is recorded as $want" "$want" "$(json 'd.get("encoding")' "$T/enc-$name.json")"
  check_contains "$name: the text comes out right" "$(cat "$T/enc/$name.expect")" "$(json 'd.get("text", "")' "$T/enc-$name.json")"
done

# an unusable database path is an environment problem: exit 3
echo x > "$T/afile"
out=$("$DOSSIER" analyze --offline --db "$T/afile/sub/d.db" "$D/good.txt" 2>&1); rc=$?
check_eq "unusable database path exits 3" 3 "$rc"
check_contains "the message names the database path" "$T/afile/sub/d.db" "$out"
out=$("$DOSSIER" list --db "$T/afile/sub/d.db" 2>&1); rc=$?
check_eq "list with an unusable database exits 3" 3 "$rc"

# usage errors exit 2, --help everywhere exits 0
"$DOSSIER" analyze >/dev/null 2>&1; check_eq "analyze without paths exits 2" 2 "$?"
"$DOSSIER" frobnicate >/dev/null 2>&1; check_eq "an unknown command exits 2" 2 "$?"
"$DOSSIER" analyze --no-such-flag x >/dev/null 2>&1; check_eq "an unknown flag exits 2" 2 "$?"
for c in analyze list show search; do
  h=$("$DOSSIER" $c --help); check_contains "$c --help prints its usage" "usage: dossier $c" "$h"
done
check_contains "--version prints the version" "dossier " "$("$DOSSIER" --version)"
done_testing
