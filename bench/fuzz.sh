#!/usr/bin/env bash
# The fuzz run on the local stack (npm run fuzz): installs what is missing, starts Kafka + the
# registry if they are not running, then runs dist/bench/fuzz.js. It uses its own topics and data
# directory and deletes them at the end, so it can run beside the tests. Settings: see the header of
# bench/fuzz.ts (FUZZ_RECORDS=20000, FUZZ_VALID_PERCENT=50, FUZZ_SEED, ...). It never fails a run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash infra/local/ensure-deps.sh
bash infra/local/stack.sh start

exec node dist/bench/fuzz.js
