#!/usr/bin/env bash
# `dossier watch --offline` on a temp folder with real inotify: a file there
# before, a new file, a half-written one (waited for), a burst of 1,000 notes
# (one ingest; timed against `dossier analyze` of the same folder), a rename
# (same document id), a delete (marked missing), a new subfolder, SIGTERM; then
# --prune forgets a deleted file's document.
. "$(dirname "$0")/lib.bash"
command -v python3 >/dev/null || skip_all "python3 is needed to read the JSON"
[ -r /proc/sys/fs/inotify/max_user_watches ] || skip_all "no inotify on this system"
IN="$T/in"
mkdir -p "$IN"
echo "A note that was there before the watch began, about lighthouses." > "$IN/before.txt"

# doc_field PATH FIELD : a field of the document at PATH in `dossier list --json` ("" if none)
doc_field() { "$DOSSIER" list --json | python3 -c '
import json,sys
for d in json.load(sys.stdin):
    if d["path"] == sys.argv[1]: print(d[sys.argv[2]]); break' "$1" "$2"; }
# wait_for SECONDS COMMAND... : polls until the command succeeds
wait_for() { local end=$((SECONDS + $1)); shift; until "$@"; do [ $SECONDS -ge $end ] && return 1; sleep 0.2; done; }
is_done() { [ "$(doc_field "$1" status)" = done ]; }
n_done_under() { "$DOSSIER" list --json | python3 -c '
import json,sys
print(sum(1 for d in json.load(sys.stdin) if d["path"].startswith(sys.argv[1]) and d["status"]=="done"))' "$1"; }
missing_at() { python3 -c '
import sqlite3,sys
r=sqlite3.connect(sys.argv[1]).execute("SELECT missing_at FROM documents WHERE path=?",(sys.argv[2],)).fetchone()
print("none" if r is None else ("present" if not r[0] else "missing"))' "$DOSSIER_DB" "$1"; }

"$DOSSIER" list >/dev/null # the database exists before two processes open it
"$DOSSIER" watch --offline --settle 0.3 --events "$T/ev.ndjson" "$IN" >"$T/out" 2>"$T/err" &
WPID=$!
on_exit "kill $WPID 2>/dev/null"
sleep 0.5
kill -0 $WPID 2>/dev/null || { cat "$T/err"; bad "dossier watch is running"; done_testing; exit 1; }
check "the file there before is analysed" wait_for 60 is_done "$IN/before.txt"

echo "A new note about the migration of swallows across the sea." > "$IN/new.txt"
check "a new file is analysed as it arrives" wait_for 60 is_done "$IN/new.txt"

# half-written: open, write part, pause longer than --settle, finish
exec 7>"$IN/half.txt"
printf 'The first half of a slow note about harbour cranes, ' >&7
sleep 1.5
check_eq "a file still being written is not taken" "" "$(doc_field "$IN/half.txt" status)"
printf 'and the second half written later.\n' >&7
exec 7>&-
check "the half-written file is analysed once closed" wait_for 60 is_done "$IN/half.txt"
id_half=$(doc_field "$IN/half.txt" id)
"$DOSSIER" show --json "$id_half" > "$T/half.json"
check_contains "its dossier has the whole text" "second half written later" "$(cat "$T/half.json")"
check_eq "it was queued once, not once per write" 1 "$(grep '"event":"document_queued"' "$T/ev.ndjson" | grep -c "half.txt")"

# a burst of 1,000 small notes
mkdir "$IN/burst"
t_last=$(python3 - "$IN/burst" <<'PY'
import os, sys, time
d = sys.argv[1]
for i in range(1000):
    with open(os.path.join(d, "note-%04d.txt" % i), "w") as f:
        f.write("Note %d of the burst: the tide table for day %d, with %d boats in the harbour.\n" % (i, i % 31, i * 7 % 97))
print("%.3f" % time.time())
PY
)
burst_done() { [ "$(n_done_under "$IN/burst/")" = 1000 ]; }
check "all 1,000 notes of the burst are analysed" wait_for 300 burst_done
check_contains "the burst was one ingest" "watch: 1000 queued" "$(cat "$T/err")"
watch_s=$(python3 - "$T/ev.ndjson" "$t_last" <<'PY'
import json, sys, datetime
last = 0.0
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["event"] == "document_done" and "/burst/" in e.get("path", ""):
        t = datetime.datetime.fromisoformat(e["time"].replace("Z", "+00:00")).timestamp()
        last = max(last, t)
print("%.1f" % (last - float(sys.argv[2])))
PY
)

# a rename keeps the document; a delete marks it missing
id_new=$(doc_field "$IN/new.txt" id)
mkdir "$IN/sub"
mv "$IN/new.txt" "$IN/sub/renamed.txt"
renamed_found() { [ -n "$(doc_field "$IN/sub/renamed.txt" id)" ]; }
check "the renamed file is found at its new path" wait_for 30 renamed_found
check_eq "a moved file keeps its document id" "$id_new" "$(doc_field "$IN/sub/renamed.txt" id)"
check_eq "the old path is no document any more" "none" "$(missing_at "$IN/new.txt")"
rm "$IN/before.txt"
before_missing() { [ "$(missing_at "$IN/before.txt")" = missing ]; }
check "a deleted file's document is marked missing" wait_for 30 before_missing
check_contains "a document_missing event says so" '"event":"document_missing"' "$(cat "$T/ev.ndjson")"

# a new subfolder with content, deeper
mkdir -p "$IN/sub/deeper"
echo "A note in a folder made after the watch began, about owls." > "$IN/sub/deeper/owls.txt"
check "a file in a new subfolder is analysed" wait_for 60 is_done "$IN/sub/deeper/owls.txt"

# a folder renamed inside the tree: its documents keep their ids, and it is still watched
id_owls=$(doc_field "$IN/sub/deeper/owls.txt" id)
mv "$IN/sub/deeper" "$IN/sub/renamed-folder"
owls_moved() { [ -n "$(doc_field "$IN/sub/renamed-folder/owls.txt" id)" ]; }
check "a renamed folder's file is found at its new path" wait_for 30 owls_moved
check_eq "and keeps its document id" "$id_owls" "$(doc_field "$IN/sub/renamed-folder/owls.txt" id)"
echo "A note written into the renamed folder, about herons." > "$IN/sub/renamed-folder/herons.txt"
check "the renamed folder is still watched" wait_for 60 is_done "$IN/sub/renamed-folder/herons.txt"
# a folder moved out of the tree: its documents are missing
mv "$IN/sub/renamed-folder" "$T/moved-out"
herons_missing() { [ "$(missing_at "$IN/sub/renamed-folder/herons.txt")" = missing ]; }
check "a folder moved out marks its documents missing" wait_for 30 herons_missing

kill -TERM $WPID
wait $WPID; rc=$?
check_eq "SIGTERM stops the watch with exit 0" 0 "$rc"
check_contains "the summary says what was analysed" "analysed 1005 " "$(cat "$T/out")"

# --prune: a deleted file's document is forgotten
"$DOSSIER" watch --offline --prune --settle 0.3 "$IN" >"$T/out2" 2>"$T/err2" &
WPID=$!
on_exit "kill $WPID 2>/dev/null"
before_forgotten() { [ "$(missing_at "$IN/before.txt")" = none ]; }
wait_for 30 before_forgotten
check_eq "with --prune, the document marked missing before is forgotten on the first scan" "none" "$(missing_at "$IN/before.txt")"
rm "$IN/half.txt"
half_forgotten() { [ "$(missing_at "$IN/half.txt")" = none ]; }
check "with --prune, a deleted file's document is forgotten" wait_for 30 half_forgotten
kill -INT $WPID
wait $WPID; rc=$?
check_eq "SIGINT stops the watch with exit 0" 0 "$rc"
check_eq "the second watch found nothing to analyse again" 0 "$(grep -c '^[0-9:]* queued' "$T/err2")"

# serve --watch: the server's scheduler analyses what arrives
mkdir -p "$T/served"
echo "A note dropped into the served folder, about tugboats." > "$T/served/early.txt"
"$DOSSIER" serve --offline --listen 127.0.0.1:0 --settle 0.3 --watch "$T/served" >"$T/sout" 2>"$T/serr" &
SPID=$!
on_exit "kill $SPID 2>/dev/null"
check "serve --watch takes what is in the folder already" wait_for 60 is_done "$T/served/early.txt"
echo "A note written while the server runs, about ferries." > "$T/served/late.txt"
check "serve --watch analyses a file as it arrives" wait_for 60 is_done "$T/served/late.txt"
kill -TERM $SPID
wait $SPID; rc=$?
check_eq "serve --watch stops with exit 0" 0 "$rc"
"$DOSSIER" serve --watch "$T/nope" >/dev/null 2>"$T/serr2"; rc=$?
check_eq "serve --watch of a missing folder is a usage error" 2 "$rc"
check_contains "and says which folder" "$T/nope" "$(cat "$T/serr2")"

# the same 1,000 notes with analyze, for comparison
export DOSSIER_DB="$T/db2/dossier.db"
t0=$(date +%s.%N)
"$DOSSIER" analyze --offline --quiet "$IN/burst" >/dev/null 2>&1
analyze_s=$(python3 -c "import sys,time; print('%.1f' % (time.time() - float(sys.argv[1])))" "$t0")
echo "# 1,000 notes: watch, last file written to all analysed: ${watch_s} s; analyze --offline of the same folder: ${analyze_s} s"

# with an engine, watch and serve plan memory for whatever may arrive: the
# models that do not fit the budget stop them at the start (--force goes on)
"$OLLAMA_STUB" --listen 127.0.0.1:0 > "$T/stub.out" 2>/dev/null &
stub=$!; on_exit "kill $stub 2>/dev/null"
for _ in $(seq 1 100); do grep -q '^listening' "$T/stub.out" && break; sleep 0.05; done
export OLLAMA_HOST=http://$(sed -n 's/^listening on //p' "$T/stub.out")
mkdir -p "$T/planned"
timeout 60 "$DOSSIER" watch --budget 1G "$T/planned" >/dev/null 2>"$T/plan.err"; rc=$?
check_eq "watch with models that cannot fit the budget: exit 3" 3 "$rc"
check_contains "... saying the planned peak exceeds the budget" "exceeds the budget" "$(cat "$T/plan.err")"
timeout 60 "$DOSSIER" serve --listen 127.0.0.1:0 --budget 1G >/dev/null 2>"$T/plan2.err"; rc=$?
check_eq "serve with models that cannot fit the budget: exit 3" 3 "$rc"
"$DOSSIER" watch --budget 1G --force "$T/planned" >/dev/null 2>"$T/plan3.err" &
fpid=$!; on_exit "kill $fpid 2>/dev/null"
sleep 2
check "watch --force starts anyway" kill -0 "$fpid"
check_contains "... after saying so" "exceeds the budget" "$(cat "$T/plan3.err")"
kill -TERM "$fpid"; wait "$fpid"
unset OLLAMA_HOST
done_testing
