#!/usr/bin/env bash
# bench/semantic.sh — semantic search at 100,000 chunks of 768 dimensions
# (bench/semantic.c): exact float32 against int8 + float32 re-rank, query
# p50/p95 on one core, memory, recall@10; the same through the SQLite store
# (the CLI's one-shot search) and through the vector cache (serve): its load
# time, memory per chunk, latency and ratio to the memory-bandwidth floor.
#   bench/semantic.sh [BUILD_DIR] [extra bench_semantic flags]
set -e
build=${1:-build}; shift || true
cmake --build "$build" --target bench_semantic >/dev/null
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
taskset -c 0 nice -n 10 "$build/bench_semantic" --chunks 100000 --dim 768 --queries 200 --store "$tmp/v.db" "$@"
