#!/usr/bin/env bash
# The ingest benchmark on the local stack (npm run bench:ingest): installs what is missing, starts
# Kafka + the registry if they are not running, makes sure kcat is there for the raw baseline, then
# runs dist/bench/ingest.bench.js. It uses its own topics, groups and chdb data and deletes them at
# the end, so it can run beside the tests. Settings: see the header of bench/ingest.bench.ts
# (BENCH_RECORDS=1000000, BENCH_BATCH_ROWS=10000, ...).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# kcat (librdkafka) is the "physical limit" baseline; the benchmark runs without it and says so.
bash bench/support/prepare-stack.sh "${BENCH_KCAT:-kcat}" kcat "the raw-consumer baseline"

exec node dist/bench/ingest.bench.js
