#!/usr/bin/env bash
# A Python virtual environment with clickhouse-connect (pinned in test/clients/requirements.txt), for
# the integration test that queries the SQL interface from Python. Idempotent: when the venv already
# holds exactly those pins it does nothing. Prints the venv's python on stdout; progress goes to stderr.
#
# Settings (env): FLEETSTREAM_TOOLS_DIR (.tools), PYTHON (python3; 3.10 or newer, as clickhouse-connect needs).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="${FLEETSTREAM_TOOLS_DIR:-$ROOT/.tools}"
VENV="$TOOLS/python-clients"
REQUIREMENTS="$ROOT/test/clients/requirements.txt"
# a copy of the requirements the venv was built from: equal to the current ones means up to date
INSTALLED="$VENV/installed-requirements.txt"
PYTHON="${PYTHON:-python3}"

say() { printf '[python-client] %s\n' "$*" >&2; }
die() { printf '[python-client] error: %s\n' "$*" >&2; exit 1; }

if [ -x "$VENV/bin/python" ] && cmp -s "$REQUIREMENTS" "$INSTALLED"; then
  echo "$VENV/bin/python"
  exit 0
fi
command -v "$PYTHON" >/dev/null || die "$PYTHON not found; install Python 3.10 or newer (with its venv module), or name one in PYTHON"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || die "$("$PYTHON" --version 2>&1) found; clickhouse-connect needs Python 3.10 or newer (name one in PYTHON)"
say "creating $VENV with $("$PYTHON" --version 2>&1) and installing $(grep -m1 '^clickhouse-connect==' "$REQUIREMENTS")"
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV" || die "$PYTHON -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
# wheels only: nothing is compiled here, and a package without a wheel for this platform fails loudly
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --only-binary=:all: -r "$REQUIREMENTS" >&2
cp "$REQUIREMENTS" "$INSTALLED"
echo "$VENV/bin/python"
