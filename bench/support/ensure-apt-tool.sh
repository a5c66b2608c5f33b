#!/usr/bin/env bash
# ensure-apt-tool.sh <command> <Debian package> <what it is for>: installs the package with apt-get when
# the command is missing. A benchmark runs without it and says so, so this only warns on failure.
set -uo pipefail
COMMAND="$1" PACKAGE="$2" PURPOSE="$3"
command -v "$COMMAND" >/dev/null 2>&1 && exit 0
echo "[bench] $COMMAND not found; installing the Debian package $PACKAGE for $PURPOSE"
if [ "$(id -u)" -eq 0 ]; then SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"
else SUDO="none"; fi
if [ "$SUDO" = "none" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "[bench] warning: cannot install $PACKAGE here (needs apt-get as root); $PURPOSE will be unavailable. Install it with: apt-get install $PACKAGE" >&2
elif ! { $SUDO apt-get update -qq >/dev/null 2>&1 && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$PACKAGE" >/dev/null 2>&1; }; then
  echo "[bench] warning: apt-get install $PACKAGE failed; $PURPOSE will be unavailable. Try: apt-get update && apt-get install $PACKAGE" >&2
fi
exit 0
