#!/usr/bin/env bash
# The whole test suite on the real local stack: unit, integration (Kafka, registry, chdb), e2e.
# Starts Kafka and the registry when they are not running, and stops what it started.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
bash infra/local/ensure-deps.sh
npm run --silent typecheck
mkdir -p .data
npx jest --selectProjects unit --json --outputFile=.data/jest-unit.json

started_stack=""
if ! bash infra/local/stack.sh status >/dev/null 2>&1; then
  bash infra/local/stack.sh start
  started_stack=1
fi
cleanup() { [ -n "$started_stack" ] && bash infra/local/stack.sh stop || true; }
trap cleanup EXIT
# --forceExit: a Kafka connection a test or service left open must not hold the run until the broker
# drops it as idle (10 min later, and then as an error). One such leak, in the history topology check,
# was found and fixed; the flag keeps CI bounded if another one appears.
npx jest --selectProjects int e2e --runInBand --forceExit --json --outputFile=.data/jest-stack.json

# Kafka 3.9 stays supported: a smoke run of the transactional, saga and SASL tests on a 3.9.1 broker of
# its own (other ports and data dir), beside the default 4.x stack the suite above ran on
k39_env=(KAFKA_VERSION=3.9.1 FLEETSTREAM_DATA_DIR="$ROOT/.data/kafka-3.9" KAFKA_PORT=19192 KAFKA_CONTROLLER_PORT=19193
  KAFKA_SASL_PORT=19194 KAFKA_SASL_SSL_PORT=19195 REGISTRY_PORT=18181)
stop_k39() { env "${k39_env[@]}" bash infra/local/stack.sh stop >/dev/null 2>&1 || true; }
trap 'stop_k39; cleanup' EXIT
env "${k39_env[@]}" bash infra/local/stack.sh start
env "${k39_env[@]}" KAFKA_BROKERS=127.0.0.1:19192 SCHEMA_REGISTRY_URL=http://127.0.0.1:18181/apis/ccompat/v7 \
  npx jest --selectProjects int --runInBand --forceExit --json --outputFile=.data/jest-kafka39.json test/group-commit test/command-saga test/kafka-sasl

# one closing line for the whole suite
node -e 'const r=[".data/jest-unit.json",".data/jest-stack.json",".data/jest-kafka39.json"].map((f)=>require(require("path").resolve(f)));
console.log(`${r.reduce((n,x)=>n+x.numPassedTests,0)} passed, ${r.reduce((n,x)=>n+x.numFailedTests,0)} failed`)'
