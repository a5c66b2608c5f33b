#!/usr/bin/env bash
# The twins benchmark on the local stack (npm run bench:twins): installs what is missing, starts
# Kafka + the registry if they are not running, makes sure wrk is there for the read figure, then
# runs dist/bench/twins.bench.js. It uses its own topics, groups and data directory and deletes
# them at the end, so it can run beside the tests. Settings: see the header of bench/twins.bench.ts
# (BENCH_TWINS=1000000, BENCH_FRESH_RATE=1000, ...).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# wrk is the HTTP load tool for the read figure; the benchmark runs without it and says so.
bash bench/support/prepare-stack.sh "${BENCH_WRK:-wrk}" wrk "the read benchmark"

exec node dist/bench/twins.bench.js
