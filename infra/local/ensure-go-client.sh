#!/usr/bin/env bash
# test/clients/go-check built against clickhouse-go (pinned in its go.mod and go.sum; the driver of
# Grafana's ClickHouse data source), for the integration test that queries the SQL interface from Go.
# Idempotent: when the binary was built from exactly these sources it does nothing. Prints the
# binary's path on stdout; progress goes to stderr.
#
# Settings (env): FLEETSTREAM_TOOLS_DIR (.tools). Needs the Go toolchain that go.mod names, or newer
# (GOTOOLCHAIN=local: it is never downloaded).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="${FLEETSTREAM_TOOLS_DIR:-$ROOT/.tools}"
SOURCE="$ROOT/test/clients/go-check"
OUT="$TOOLS/go-client"
BINARY="$OUT/go-check"
# the checksum of the sources the binary was built from: equal to the current one means up to date
SUM="$(cat "$SOURCE/go.mod" "$SOURCE/go.sum" "$SOURCE"/*.go | sha256sum | cut -d' ' -f1)"

say() { printf '[go-client] %s\n' "$*" >&2; }
die() { printf '[go-client] error: %s\n' "$*" >&2; exit 1; }

if [ -x "$BINARY" ] && [ "$(cat "$OUT/installed-sources.sha256" 2>/dev/null)" = "$SUM" ]; then
  echo "$BINARY"
  exit 0
fi
command -v go >/dev/null || die "go not found: install Go $(awk '/^go /{print $2}' "$SOURCE/go.mod") or newer (https://go.dev/doc/install, or Debian's golang package when it is that new)"
say "building $SOURCE with $(go version | cut -d' ' -f3) and $(awk '/clickhouse-go/{print $1, $2; exit}' "$SOURCE/go.mod")"
mkdir -p "$OUT"
(cd "$SOURCE" && GOTOOLCHAIN=local GOFLAGS=-mod=readonly go build -o "$BINARY" .) >&2 \
  || die "go build failed (above); the module needs Go $(awk '/^go /{print $2}' "$SOURCE/go.mod") or newer and the Go module proxy"
echo "$SUM" > "$OUT/installed-sources.sha256"
echo "$BINARY"
