#!/usr/bin/env bash
# prepare-stack.sh <command> <Debian package> <what it is for>: what every benchmark needs first —
# dependencies installed and built, Kafka + the registry running, and one load tool from Debian.
set -euo pipefail
bash infra/local/ensure-deps.sh
bash infra/local/stack.sh start
bash bench/support/ensure-apt-tool.sh "$@"
