#!/usr/bin/env bash
# Installs what a fresh clone lacks: npm packages (from the lockfile) and the compiled service.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
command -v node >/dev/null || { echo "[deps] error: node not found; install Node.js 20.19+ (see README)" >&2; exit 1; }
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || { echo "[deps] error: Node.js $(node --version) found; fleetstream needs 20.19 or newer" >&2; exit 1; }
# npm ci when node_modules is missing or older than the lockfile
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[deps] installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "[deps] compiling TypeScript"
npm run --silent build
