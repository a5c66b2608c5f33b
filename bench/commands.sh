#!/usr/bin/env bash
# The commands benchmark on the local stack (npm run bench:commands): installs what is missing,
# starts Kafka + the registry if they are not running, then runs dist/bench/commands.bench.js. It
# uses its own topics and data directory and deletes them at the end. Settings: see the header of
# bench/commands.bench.ts (BENCH_RATE=100, BENCH_SECONDS=20, BENCH_BURST=3000, ...).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash infra/local/ensure-deps.sh
bash infra/local/stack.sh start

exec node dist/bench/commands.bench.js
