#!/usr/bin/env bash
# Several workers on one PostgreSQL library, each with its own Ollama test
# server (three "machines": DOSSIER_HOST names each one's host): every document
# done exactly once, each engine never holding two models, about one load per
# model per worker; a worker killed in the middle of a step, and one that was
# partitioned (its heartbeats stopped) and came back, lose nothing and
# overwrite nothing. Needs the CTest fixture pg (tests/pg/server.sh).
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/pg_lib.bash"
. "$(dirname "$0")/serve_lib.bash"
: "${OLLAMA_STUB:?run through ctest}"
export DEV_MODE=1

start_stub() { # start_stub NAME [flags] -> URL_<NAME>
  local name=$1; shift
  "$OLLAMA_STUB" --listen 127.0.0.1:0 "$@" > "$T/stub-$name.out" 2> "$T/stub-$name.err" &
  local pid=$!
  for _ in $(seq 1 100); do grep -q '^listening on' "$T/stub-$name.out" && break; sleep 0.05; done
  eval "URL_$name=http://$(sed -n 's/^listening on //p' "$T/stub-$name.out")"
  on_exit "kill $pid 2>/dev/null"
}
stat_of() { curl -s "$1/_stub/stats" | python3 -c "import json,sys; d=json.load(sys.stdin); print($2)"; }
# worker NAME HOST DB URL [FLAGS] : a worker in the background; PID_<NAME>
worker() {
  local name=$1 host=$2 db=$3 url=$4; shift 4
  DOSSIER_HOST=$host "$DOSSIER" worker --db "$db" --ollama "$url" --quiet --events "$T/$name.ndjson" "$@" \
    > "$T/$name.out" 2>&1 &
  eval "PID_$name=$!"
  on_exit "kill -9 $! 2>/dev/null"
}
steps_done_of() { sed -n 's/^worker: \([0-9]*\) steps done.*/\1/p' "$T/$1.out"; }

# --- 300 mixed documents, three workers ------------------------------------
mkdir -p "$T/mixed"
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
for i in $(seq 1 270); do
  printf 'Note %d from the harbour office. The tide rose %d cm and the pilot boat %s waited.\n' \
    "$i" "$((i * 7 % 300))" "$(printf '%x' $((i * 2654435761 % 4294967296)))" > "$T/mixed/n$i.txt"
done
for i in $(seq 1 30); do
  ffmpeg -loglevel error -f lavfi -i "color=white:s=320x120" -frames:v 1 \
    -vf "drawtext=fontfile=$FONT:text='Invoice $i':fontsize=32:fontcolor=black:x=10:y=40" "$T/mixed/i$i.png"
done
DB=$(pg_db dossier_it_workers) || skip_all "cannot create a database on $PG_URL"
"$DOSSIER" analyze --no-work --quiet --db "$DB" "$T/mixed" > "$T/ingest.out" 2>&1
check_contains "analyze --no-work queues the documents for the workers" "queued 300 document(s)" "$(cat "$T/ingest.out")"
check_eq "nothing ran at ingest" 0 "$(sql "$DB" "SELECT count(*) FROM steps WHERE state <> 'queued'")"

for n in 1 2 3; do start_stub "m$n" --unload-linger-ms 50 --load-ms-per-gb 20 --token-delay-ms 3; done
worker w1 m1 "$DB" "$URL_m1" --until-idle --lease-ttl 6
worker w2 m2 "$DB" "$URL_m2" --until-idle --lease-ttl 6
worker w3 m3 "$DB" "$URL_m3" --until-idle --lease-ttl 6
# what `dossier workers` says while they run
: > "$T/seen.txt"
while kill -0 "$PID_w1" 2>/dev/null || kill -0 "$PID_w2" 2>/dev/null || kill -0 "$PID_w3" 2>/dev/null; do
  "$DOSSIER" workers --db "$DB" --json 2>/dev/null | python3 -c '
import json, sys
for w in json.load(sys.stdin):
    print(w["host"], "live" if not w["expired"] else "expired", w["models"] or "-", w["running"])' >> "$T/seen.txt"
  sleep 0.3
done
wait "$PID_w1" "$PID_w2" "$PID_w3"
check_eq "all 300 documents done" 300 "$(sql "$DB" "SELECT count(*) FROM documents WHERE status = 'done'")"
check_eq "every step done, each by one worker" 0 "$(sql "$DB" "SELECT count(*) FROM steps WHERE state <> 'done' OR done_by IS NULL")"
total=$(sql "$DB" "SELECT count(*) FROM steps")
sum=$(( $(steps_done_of w1) + $(steps_done_of w2) + $(steps_done_of w3) ))
check_eq "no step ran twice to completion (the workers' done steps add up to the steps, $total)" "$total" "$sum"
for n in 1 2 3; do
  check "worker m$n did part of the work ($(steps_done_of w$n) steps)" test "$(steps_done_of w$n)" -gt 0
  check_eq "m$n's engine never held two models at once" 1 "$(stat_of "$(eval echo \$URL_m$n)" 'd["max_resident_models"]')"
  loads=$(stat_of "$(eval echo \$URL_m$n)" 'sum(d["loads"].values())')
  # 2 models; the fairness bound (64 steps of one model while the other's wait)
  # may give the other model its turn once in a worker's ~90 text steps
  check "m$n: about one load per model (2 models, $loads loads)" test "$loads" -le 4
done
for n in 1 2 3; do
  check "workers listed m$n live while it ran" grep -q "^m$n live" "$T/seen.txt"
done
check "workers named a resident model" grep -Eq "^m[123] live (llama3.2:3b|llava:latest)" "$T/seen.txt"
check "workers showed a running step" grep -Eq "^m[123] live .* [1-9][0-9]*$" "$T/seen.txt"
check_contains "workers --help" "usage: dossier workers" "$("$DOSSIER" workers --help)"
check_contains "a worker that stopped is gone from the list" "no workers" "$("$DOSSIER" workers --db "$DB")"

# --- kill -9 of a worker in the middle of a step ---------------------------
mkdir -p "$T/few"
for i in $(seq 1 12); do printf 'Memo %d about the lighthouse and its keeper.\n' "$i" > "$T/few/m$i.txt"; done
DB2=$(pg_db dossier_it_kill)
"$DOSSIER" analyze --no-work --quiet --db "$DB2" "$T/few" > /dev/null 2>&1
start_stub slow --token-delay-ms 150
start_stub other --token-delay-ms 3
worker ka k1 "$DB2" "$URL_slow" --lease-ttl 3
held=
for _ in $(seq 1 200); do
  held=$(sql "$DB2" "SELECT id FROM steps WHERE state = 'running' AND role = 'text' AND holder LIKE 'k1:%' LIMIT 1")
  [ -n "$held" ] && break
  sleep 0.05
done
check "worker k1 holds a text step" test -n "$held"
kill -9 "$PID_ka"; wait "$PID_ka" 2>/dev/null
by_k1=$(sql "$DB2" "SELECT count(*) FROM steps WHERE done_by LIKE 'k1:%'")
t0=$(date +%s.%N)
worker kb k2 "$DB2" "$URL_other" --until-idle --lease-ttl 3
wait "$PID_kb"; rc=$?
check_eq "the other worker finishes (exit 0)" 0 "$rc"
check_eq "after the kill: all 12 documents done" 12 "$(sql "$DB2" "SELECT count(*) FROM documents WHERE status = 'done'")"
check_eq "after the kill: every step done" 0 "$(sql "$DB2" "SELECT count(*) FROM steps WHERE state <> 'done'")"
check_contains "the killed worker's step was finished by the other" "k2:" "$(sql "$DB2" "SELECT done_by FROM steps WHERE id = $held")"
total2=$(sql "$DB2" "SELECT count(*) FROM steps")
check_eq "after the kill: nothing done twice (k1's $by_k1 + k2's steps = $total2)" "$total2" "$((by_k1 + $(steps_done_of kb)))"
check_contains "the recovery is an event" '"event":"steps_recovered"' "$(cat "$T/kb.ndjson")"

# --- a partitioned worker comes back: it cannot overwrite the new holder's result
DB3=$(pg_db dossier_it_partition)
mkdir -p "$T/part"
for i in 1 2 3; do printf 'Letter %d about the ferry timetable.\n' "$i" > "$T/part/l$i.txt"; done
"$DOSSIER" analyze --no-work --quiet --db "$DB3" "$T/part" > /dev/null 2>&1
start_stub slower --token-delay-ms 120
worker pa p1 "$DB3" "$URL_slower" --until-idle --lease-ttl 3
held=
for _ in $(seq 1 200); do
  held=$(sql "$DB3" "SELECT id FROM steps WHERE state = 'running' AND role = 'text' AND holder LIKE 'p1:%' LIMIT 1")
  [ -n "$held" ] && break
  sleep 0.05
done
check "worker p1 holds a text step" test -n "$held"
kill -STOP "$PID_pa"   # its heartbeats stop: to the others it is gone
# ...and, as when the network is cut, the server drops its connections (and
# rolls back what they had open) once it notices them dead
sql "$DB3" "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = 'dossier_it_partition' AND pid <> pg_backend_pid()" > /dev/null
worker pb p2 "$DB3" "$URL_other" --until-idle --lease-ttl 3
wait "$PID_pb"
check_eq "the second worker took over and finished every document" 3 "$(sql "$DB3" "SELECT count(*) FROM documents WHERE status = 'done'")"
result=$(sql "$DB3" "SELECT md5(result) || ' ' || done_by FROM steps WHERE id = $held")
kill -CONT "$PID_pa"
wait "$PID_pa"
check_contains "p1, back, was refused: the step is another worker's" "no longer held by p1" "$(cat "$T/pa.ndjson")"
check_eq "the new holder's result stands" "$result" "$(sql "$DB3" "SELECT md5(result) || ' ' || done_by FROM steps WHERE id = $held")"
check_contains "p1's summary says a result was refused" "refused" "$(cat "$T/pa.out")"

# --- PostgreSQL stopped for 10 seconds under load -----------------------------
DB4=$(pg_db dossier_it_outage)
mkdir -p "$T/load"
for i in $(seq 1 60); do printf 'Minutes %d of the harbour board: dredging, moorings, fees.\n' "$i" > "$T/load/b$i.txt"; done
"$DOSSIER" analyze --no-work --quiet --db "$DB4" "$T/load" > /dev/null 2>&1
start_stub o1 --token-delay-ms 30
start_stub o2 --token-delay-ms 30
worker oa o1 "$DB4" "$URL_o1" --until-idle
worker ob o2 "$DB4" "$URL_o2" --until-idle
for _ in $(seq 1 300); do
  [ "$(sql "$DB4" "SELECT count(*) FROM steps WHERE state = 'done'")" -ge 20 ] && break
  sleep 0.05
done
before=$(sql "$DB4" "SELECT count(*) FROM steps WHERE state = 'done'")
bash "$SOURCE_DIR/tests/pg/server.sh" down "$PG_STATE"
sleep 10
bash "$SOURCE_DIR/tests/pg/server.sh" up "$PG_STATE"
wait "$PID_oa"; rca=$?
wait "$PID_ob"; rcb=$?
check "the outage came in the middle of the run ($before steps done before it)" test "$before" -lt 180
check_eq "both workers waited for the database and finished (exit 0 0)" "0 0" "$rca $rcb"
check_eq "after the outage: all 60 documents done" 60 "$(sql "$DB4" "SELECT count(*) FROM documents WHERE status = 'done'")"
total4=$(sql "$DB4" "SELECT count(*) FROM steps")
check_eq "after the outage: nothing lost, nothing done twice ($total4 steps)" "$total4" "$(( $(steps_done_of oa) + $(steps_done_of ob) ))"

# --- serve on PostgreSQL: 503 while the database is down, then back ------------
start_server srv --db "$DB4" --offline
check_eq "serve on PostgreSQL: healthy" 200 "$(code GET "$URL/healthz")"
check_contains "search on PostgreSQL finds the minutes" 'b1' "$(curl -s "$URL/api/search?q=dredging&limit=100")"
check_contains "serve lists the workers" '"workers"' "$(curl -s "$URL/api/workers")"
bash "$SOURCE_DIR/tests/pg/server.sh" down "$PG_STATE"
check_eq "serve answers 503 while the database is down" 503 "$(code GET "$URL/healthz")"
bash "$SOURCE_DIR/tests/pg/server.sh" up "$PG_STATE"
ok_after=
for _ in $(seq 1 50); do
  [ "$(code GET "$URL/healthz")" = 200 ] && { ok_after=1; break; }
  sleep 0.2
done
check "serve answers again once the database is back" test -n "$ok_after"
stop_server "$PID_srv"
check_eq "serve stops cleanly" 0 "$STOP_RC"

done_testing
