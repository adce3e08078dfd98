#!/usr/bin/env bash
# The queue's promises under faults: a transient engine failure is retried
# with backoff, in the same run and in later runs, until the LLM has analysed
# every document; `kill -9` in the middle of a run loses no event (every
# finished document has exactly one document_done or document_failed in the
# database, before and after the resumed run).
. "$(dirname "$0")/lib.bash"
: "${OLLAMA_STUB:?run through ctest}"

fault() { curl -s -X POST -d "$2" "$1/_stub/fault" >/dev/null; }
# llm_count DB : documents whose summary the LLM wrote
llm_count() { python3 - "$1" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = 0
for (j,) in db.execute("SELECT json FROM dossiers"):
    d = json.loads(j)
    n += str(d.get("sources", {}).get("summary", "")).startswith("ollama:")
print(n)
PY
}
# finish_events_ok DB : every document with a dossier has exactly one
# document_done/document_failed event stored; prints the offenders' count
finish_events_ok() { python3 - "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
finished = [r[0] for r in db.execute("SELECT document_id FROM dossiers")]
bad = 0
for d in finished:
    (n,) = db.execute("SELECT count(*) FROM events WHERE document_id = ? AND event IN ('document_done','document_failed')", (d,)).fetchone()
    bad += n != 1
print(f"{bad} of {len(finished)}")
PY
}

mkdir -p "$T/notes" "$XDG_CONFIG_HOME/dossier"
for i in 1 2 3; do
  printf 'Minutes %d of the allotment society. The water butts were shared and the compost rota changed.\n' $i > "$T/notes/m$i.txt"
done
# short backoff so the test is quick; the defaults are 0.5 s doubling to 30 s
printf 'retry_base_s = 0.05\nretry_max_s = 0.2\n' > "$XDG_CONFIG_HOME/dossier/config"

# --- a transient fault (HTTP 500 twice) inside one run: retried, then analysed by the LLM
start_stub a
fault "$URL_a" '{"kind":"error_before","status":500,"count":2,"model":"llama3.2:3b"}'
DEV_MODE=1 OLLAMA_HOST=$URL_a "$DOSSIER" analyze --db "$T/a.db" --events "$T/a.ndjson" "$T/notes" > "$T/a.out" 2>&1
check_eq "two HTTP 500s: the run exits 0" 0 "$?"
check_eq "two HTTP 500s: all 3 documents analysed by the LLM" 3 "$(llm_count "$T/a.db")"
check "two HTTP 500s: the failed attempts were retried (step_finished with final:false)" \
  grep -q '"final":false' "$T/a.ndjson"

# --- a longer outage than one run's attempts: the documents wait, a later run finishes them
start_stub b
fault "$URL_b" '{"kind":"error_before","status":500,"count":40,"model":"llama3.2:3b"}'
DEV_MODE=1 OLLAMA_HOST=$URL_b "$DOSSIER" analyze --db "$T/b.db" "$T/notes" > "$T/b.out" 2>&1
rc=$?
check "a long outage: the run does not claim success (exit $rc)" test "$rc" -ne 0
check_contains "a long outage: the summary says documents wait" "waiting 3" "$(cat "$T/b.out")"
check_contains "a long outage: the message says they will be retried" "retried" "$(cat "$T/b.out")"
check_eq "a long outage: no document was given an offline analysis for good" 0 "$(llm_count "$T/b.db")"
"$DOSSIER" list --db "$T/b.db" > "$T/b.list" 2>&1
check_not_contains "a long outage: no document is listed partial" "partial" "$(cat "$T/b.list")"
curl -s -X POST "$URL_b/_stub/reset" >/dev/null
DEV_MODE=1 OLLAMA_HOST=$URL_b "$DOSSIER" analyze --db "$T/b.db" "$T/notes" > "$T/b2.out" 2>&1
check_eq "the engine is healthy again: the next run exits 0" 0 "$?"
check_eq "the engine is healthy again: all 3 documents analysed by the LLM" 3 "$(llm_count "$T/b.db")"

# --- kill -9 mid-run loses no event
mkdir -p "$T/many"
python3 - "$T/many" <<'PY'
import sys, random
random.seed(11)
words = "heron reed marsh sluice lock barge towpath willow otter mill".split()
for i in range(300):
    with open(f"{sys.argv[1]}/n{i:03d}.txt", "w") as f:
        for s in range(5):
            f.write(" ".join(random.choice(words) for _ in range(10)).capitalize() + ". ")
PY
# many small notes offline: documents finish every few milliseconds
"$DOSSIER" analyze --offline --db "$T/k.db" --events "$T/k.ndjson" "$T/many" > /dev/null 2>&1 &
pid=$!
for _ in $(seq 1 400); do [ "$(grep -c '"event":"document_done"' "$T/k.ndjson" 2>/dev/null || echo 0)" -ge 60 ] && break; sleep 0.02; done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
check_eq "after kill -9: every finished document has exactly one finish event stored" "0 of" \
  "$(finish_events_ok "$T/k.db" | cut -d' ' -f1-2)"
"$DOSSIER" analyze --offline --db "$T/k.db" "$T/many" > "$T/k2.out" 2>&1
check_eq "the resumed run exits 0" 0 "$?"
check_eq "after the resume: 300 documents, each with exactly one finish event" "0 of 300" "$(finish_events_ok "$T/k.db")"

done_testing
