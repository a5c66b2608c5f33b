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
npx jest --selectProjects int e2e --runInBand --json --outputFile=.data/jest-stack.json
# one closing line for the whole suite
node -e 'const r=[".data/jest-unit.json",".data/jest-stack.json"].map((f)=>require(require("path").resolve(f)));
console.log(`${r.reduce((n,x)=>n+x.numPassedTests,0)} passed, ${r.reduce((n,x)=>n+x.numFailedTests,0)} failed`)'
