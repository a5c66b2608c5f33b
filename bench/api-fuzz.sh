#!/usr/bin/env bash
# Property-based API fuzzing (npm run fuzz:api): schemathesis generates requests from the service's own
# OpenAPI document (/docs/openapi.json) and reports any request the document calls valid that the
# service refuses, any status the document does not list, and any 5xx. Runs the built server (dist/)
# on its own topics, ClickHouse database and data directory, which it deletes at the end, so it can
# run beside the tests. It prints schemathesis' report and never fails a test run.
# Settings (env): API_FUZZ_MAX_EXAMPLES (30) test cases per operation, API_FUZZ_SEED (random),
# API_FUZZ_PORT (a free port), API_FUZZ_ARGS (more schemathesis options), SCHEMATHESIS_VENV
# (.tools/schemathesis-4.32.5). The SSE routes (…/stream) are left out: their answers never end.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SCHEMATHESIS_VERSION=4.32.5
VENV="${SCHEMATHESIS_VENV:-$ROOT/.tools/schemathesis-$SCHEMATHESIS_VERSION}"
MAX_EXAMPLES="${API_FUZZ_MAX_EXAMPLES:-30}"
log() { echo "[api-fuzz] $*"; }

bash infra/local/ensure-deps.sh && bash infra/local/stack.sh start || { log "the local stack did not start"; exit 0; }
if [ ! -x "$VENV/bin/schemathesis" ]; then
  log "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  python3 -m venv "$VENV" && "$VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION" || { log "could not install schemathesis"; exit 0; }
fi
[ -f dist/apps/server/src/main.js ] || npm run build || { log "build failed"; exit 0; }

ID="apifuzz$(date +%s)$RANDOM"
PORT="${API_FUZZ_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
DATA_DIR="$(mktemp -d "${TMPDIR:-/tmp}/fleetstream-api-fuzz-XXXXXX")"
# an admin credential for the run: once routes need one, every request carries it
KEY="$(openssl rand -base64 36 | tr -d '\n')"
export TOPIC_PREFIX="fuzz.$ID" FLEETSTREAM_DATA_DIR="$DATA_DIR" CLICKHOUSE_DATABASE="$ID" HTTP_HOST=127.0.0.1 HTTP_PORT="$PORT" LOG_LEVEL=warn ADMIN_API_KEY="$KEY"

node dist/apps/server/src/main.js > "$DATA_DIR/server.log" 2>&1 &
SERVER=$!
cleanup() {
  kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  node -e '
    const { Kafka, logLevel } = require("kafkajs");
    const admin = new Kafka({ brokers: (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(","), logLevel: logLevel.NOTHING }).admin();
    (async () => {
      await admin.connect();
      const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(`${process.env.TOPIC_PREFIX}.`));
      if (topics.length > 0) await admin.deleteTopics({ topics });
      await admin.disconnect();
    })().catch((error) => console.error(`[api-fuzz] cleanup: ${error.message}`));
  '
  rm -rf "$DATA_DIR"
}
trap cleanup EXIT

for _ in $(seq 1 120); do
  curl -fsS -o /dev/null -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT/ready" 2>/dev/null && break
  kill -0 "$SERVER" 2>/dev/null || { log "the server exited:"; tail -20 "$DATA_DIR/server.log"; exit 0; }
  sleep 1
done

# a few devices with readings, so that the twin and telemetry routes have something to answer with:
# half of the generated device ids are these (a schemathesis dictionary), the other half random
SEEDED='"device-00001", "device-00002", "device-00003"'
node dist/apps/cli/src/main.js simulate --devices 3 --rate 30 --count 30 --no-commands > "$DATA_DIR/simulate.log" 2>&1 || { log "seeding failed:"; tail -5 "$DATA_DIR/simulate.log"; }
for _ in $(seq 1 30); do
  curl -fsS -o /dev/null -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT/devices/device-00003/twin" 2>/dev/null && break
  sleep 1
done
cat > "$DATA_DIR/schemathesis.toml" <<TOML
[dictionaries.devices]
values = [$SEEDED]

[parameters]
"path.deviceId" = { dictionary = "devices", probability = 0.5 }

# a valid patch meets the twin as it is: If-Match may name an older version (412), and the merged
# desired state may outgrow TWIN_MAX_DESIRED_BYTES (413); like 409, answers about state, not the request
[[operations]]
include-path = "/devices/{deviceId}/twin/desired"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "412", "413", "429", "5xx"]
TOML

log "node $(node --version), $(nproc) cores, $(uname -sm); schemathesis $SCHEMATHESIS_VERSION, ${MAX_EXAMPLES} examples per operation"
# Known and listed (400): GET …/telemetry and …/telemetry/rollup refuse `from` not before `to`, and a rollup of
# more than ROLLUP_MAX_BUCKETS buckets; OpenAPI cannot state a rule across two parameters, so schemathesis
# may report them as ST202 (schema-valid request rejected).
LOGGED_BEFORE=$(wc -l < "$DATA_DIR/server.log")
# shellcheck disable=SC2086 # API_FUZZ_ARGS is a list of options
"$VENV/bin/schemathesis" --config-file "$DATA_DIR/schemathesis.toml" run "http://127.0.0.1:$PORT/docs/openapi.json" \
  --checks all --max-examples "$MAX_EXAMPLES" --exclude-path-regex '/stream$' \
  --header "Authorization: Bearer $KEY" --request-timeout 15 --no-color \
  ${API_FUZZ_SEED:+--seed "$API_FUZZ_SEED"} ${API_FUZZ_ARGS:-}
log "schemathesis exit code $? (reported, not failed on)"
ERRORS=$(tail -n +"$((LOGGED_BEFORE + 1))" "$DATA_DIR/server.log" | grep '"level":50')
[ -z "$ERRORS" ] || { log "server errors during the run:"; echo "$ERRORS" | tail -10; }
exit 0
