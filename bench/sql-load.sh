#!/usr/bin/env bash
# REST latency and ingest while analysts run heavy SQL (npm run bench:sql-load): installs what is
# missing and builds (ensure-deps), starts Kafka + the registry if they are not running, then runs
# dist/bench/sql-load.bench.js. Settings: see the header of bench/sql-load.bench.ts.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash infra/local/ensure-deps.sh
bash infra/local/stack.sh start
exec node dist/bench/sql-load.bench.js
