#!/usr/bin/env bash
# The console benchmark on the local stack (npm run bench:console): installs what is missing, starts
# Kafka + the registry if they are not running and Debian's Chromium if it is missing, then runs
# dist/bench/console.bench.js. Its own topics and data directory, deleted at the end. Settings: see
# the header of bench/console.bench.ts (BENCH_CONSOLE_TWINS=100000, BENCH_CONSOLE_LOADS=5).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash infra/local/ensure-deps.sh
bash infra/local/stack.sh start
bash infra/local/ensure-chromium.sh >/dev/null
exec node dist/bench/console.bench.js
