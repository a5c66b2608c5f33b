#!/usr/bin/env bash
# The alerts benchmark on the local stack (npm run bench:alerts): installs what is missing, starts
# Kafka + the registry if they are not running, then runs dist/bench/alerts.bench.js. It uses its
# own topics, groups and data directory and deletes them at the end. Settings: see the header of
# bench/alerts.bench.ts (BENCH_READINGS=200000, BENCH_RULES=100, BENCH_DEVICES=10000,
# BENCH_RATE=1000, BENCH_SECONDS=60, ...).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash infra/local/ensure-deps.sh
bash infra/local/stack.sh start

exec node dist/bench/alerts.bench.js
