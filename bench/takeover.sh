#!/usr/bin/env bash
# The takeover benchmark on the local stack (npm run bench:takeover): installs what is missing,
# starts Kafka + the registry if they are not running, then runs dist/bench/takeover.bench.js. It
# uses its own topics and data directory and deletes them at the end. Settings: see the header of
# bench/takeover.bench.ts (BENCH_KILLS=5, BENCH_STAY_DEAD_KILLS=1, BENCH_RATE=200, ...).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash infra/local/ensure-deps.sh
bash infra/local/stack.sh start

exec node dist/bench/takeover.bench.js
