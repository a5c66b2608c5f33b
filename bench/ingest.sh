#!/usr/bin/env bash
# The ingest benchmark on the local stack (npm run bench:ingest): installs what is missing, starts
# Kafka + the registry if they are not running, makes sure kcat is there for the raw baseline, then
# runs dist/bench/ingest.bench.js. It uses its own topics, groups and chdb data and deletes them at
# the end, so it can run beside the tests. Settings: see the header of bench/ingest.bench.ts
# (BENCH_RECORDS=1000000, BENCH_BATCH_ROWS=10000, ...).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash infra/local/ensure-deps.sh
bash infra/local/stack.sh start

# kcat (librdkafka) is the "physical limit" baseline; the benchmark runs without it and says so.
if ! command -v "${BENCH_KCAT:-kcat}" >/dev/null 2>&1; then
  echo "[bench] kcat not found; installing the Debian package kcat for the raw-consumer baseline"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"
  else SUDO="none"; fi
  if [ "$SUDO" = "none" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "[bench] warning: cannot install kcat here (needs apt-get as root); the raw figure will be unavailable. Install it with: apt-get install kcat" >&2
  elif ! { $SUDO apt-get update -qq >/dev/null 2>&1 && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kcat >/dev/null 2>&1; }; then
    echo "[bench] warning: apt-get install kcat failed; the raw figure will be unavailable. Try: apt-get update && apt-get install kcat" >&2
  fi
fi

exec node dist/bench/ingest.bench.js
