#!/usr/bin/env bash
# Debian's Chromium, for the console's browser tests (playwright-core drives it; a test tool's own
# browser download cannot work here). Idempotent: when the binary is there it does nothing. Prints
# the binary's path on stdout; progress goes to stderr.
#
# Settings (env): CHROMIUM (/usr/bin/chromium).
set -euo pipefail
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

say() { printf '[chromium] %s\n' "$*" >&2; }
die() { printf '[chromium] error: %s\n' "$*" >&2; exit 1; }

if [ ! -x "$CHROMIUM" ]; then
  command -v apt-get >/dev/null || die "$CHROMIUM not found and no apt-get: install Chromium, or name its binary in CHROMIUM"
  [ "$(id -u)" = 0 ] || die "$CHROMIUM not found: install Debian's package (sudo apt-get install chromium), or name a binary in CHROMIUM"
  say "installing Debian's chromium package"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
  [ -x "$CHROMIUM" ] || die "apt-get installed chromium, but $CHROMIUM is not there"
fi
echo "$CHROMIUM"
