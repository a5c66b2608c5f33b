#!/usr/bin/env bash
# Installs what a fresh clone lacks: npm packages (from the lockfiles), the compiled service and the built console.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
command -v node >/dev/null || { echo "[deps] error: node not found; install Node.js 20.19+ (see README)" >&2; exit 1; }
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || { echo "[deps] error: Node.js $(node --version) found; fleetstream needs 20.19 or newer" >&2; exit 1; }
# Install when node_modules is missing or older than the lockfile. `npm install`, not `npm ci`: the
# lockfile holds the exact versions, but only this platform's native packages (chdb, swc), and
# `npm ci` refuses a lockfile without the other platforms' optional packages.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[deps] installing npm packages (versions pinned by package-lock.json)"
  # @confluentinc/kafka-javascript: CKJS_LINKING=dynamic builds its bundled librdkafka here (about
  # 1.5 min, against the system's OpenSSL and zlib) instead of downloading a prebuilt binary from
  # GitHub, which is not always reachable; a variable set by the caller wins
  CKJS_LINKING="${CKJS_LINKING:-dynamic}" npm install --no-audit --no-fund --loglevel=error
fi
# the console (apps/console) is a package of its own, bundled by Vite: `npm ci`, as its lockfile holds
# every platform's optional packages
if [ ! -f apps/console/node_modules/.package-lock.json ] || [ apps/console/package-lock.json -nt apps/console/node_modules/.package-lock.json ]; then
  echo "[deps] installing the console's npm packages (apps/console/package-lock.json)"
  npm ci --prefix apps/console --no-audit --no-fund --loglevel=error
fi
echo "[deps] compiling TypeScript and building the console"
npm run --silent build
