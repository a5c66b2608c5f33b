#!/usr/bin/env bash
# The main job on the local stack: Kafka + schema registry + the service + a simulated fleet, with the
# alert processor and an "overheat" rule, and a share of the fleet (DEMO_ANOMALY_RATE) that overheats.
# Ctrl-C stops the service and the simulator; `npm run stack:stop` stops Kafka and the registry.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
DATA="${FLEETSTREAM_DATA_DIR:-$ROOT/.data}"
PORT="${HTTP_PORT:-3000}"
DEVICES="${DEMO_DEVICES:-100}"
RATE="${DEMO_RATE:-200}"
ANOMALY_RATE="${DEMO_ANOMALY_RATE:-0.01}"
export PROCESSORS="${PROCESSORS:-history,twins,commands,notifications,alerts}"

bash infra/local/ensure-deps.sh
bash infra/local/stack.sh start
mkdir -p "$DATA/logs"
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  echo "[demo] error: port $PORT is already taken; stop what uses it or set HTTP_PORT" >&2; exit 1
fi
# the bootstrap admin key: made on the first run, kept (owner-only) in the data dir, reused after
KEY_FILE="$DATA/admin.key"
if [ -z "${ADMIN_API_KEY:-}" ]; then
  if [ ! -s "$KEY_FILE" ]; then
    (umask 077 && node -e "process.stdout.write('fsk_' + require('node:crypto').randomBytes(32).toString('base64url'))" >"$KEY_FILE")
    echo "[demo] made an admin API key in $KEY_FILE"
  fi
  export ADMIN_API_KEY="$(cat "$KEY_FILE")"
fi
echo "[demo] starting the service on http://127.0.0.1:$PORT (log: $DATA/logs/server.log)"
node dist/apps/server/src/main.js >"$DATA/logs/server.log" 2>&1 &
SERVER=$!
SIMULATOR=""
cleanup() {
  [ -n "$SIMULATOR" ] && kill "$SIMULATOR" 2>/dev/null || true
  kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  echo "[demo] service stopped; Kafka and the registry keep running (npm run stack:stop)"
}
trap cleanup EXIT INT TERM
for _ in $(seq 120); do
  curl -fsS "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1 && break
  kill -0 "$SERVER" 2>/dev/null || { tail -20 "$DATA/logs/server.log" >&2; echo "[demo] error: the service exited; see $DATA/logs/server.log" >&2; exit 1; }
  sleep 0.5
done
# the README's example rule, made on the first run only: a later run finds it by name
node - "http://127.0.0.1:$PORT" <<'JS'
const [base] = process.argv.slice(2);
const headers = { authorization: `Bearer ${process.env.ADMIN_API_KEY}`, 'content-type': 'application/json' };
const overheat = { name: 'overheat', severity: 'major', condition: { type: 'threshold', metric: 'temperature', op: '>', value: 80, forSeconds: 0, clear: { op: '<', value: 75 } } };
async function answer(response) {
  if (!response.ok) throw new Error(`${response.url} answered ${response.status}: ${await response.text()}`);
  return response.json();
}
(async () => {
  let cursor;
  do {
    const page = await answer(await fetch(`${base}/alert-rules?limit=1000${cursor ? `&cursor=${cursor}` : ''}`, { headers }));
    const found = page.rules.find((rule) => rule.name === overheat.name);
    if (found) return console.log(`[demo] the alert rule "overheat" is there already (${found.id})`);
    cursor = page.nextCursor;
  } while (cursor);
  const made = await answer(await fetch(`${base}/alert-rules`, { method: 'POST', headers, body: JSON.stringify(overheat) }));
  console.log(`[demo] made the alert rule "overheat" (${made.id}): temperature > 80 raises an alarm, < 75 clears it`);
})().catch((error) => {
  console.error(`[demo] warning: could not make the alert rule "overheat": ${error.message}`);
});
JS
node dist/apps/cli/src/main.js simulate --devices "$DEVICES" --rate "$RATE" --anomaly-rate "$ANOMALY_RATE" &
SIMULATOR=$!
cat <<MSG

[demo] fleetstream is running with $DEVICES simulated devices at $RATE readings/s; a share of $ANOMALY_RATE of them
overheats (above 80 °C for 30–60 s every 3 minutes, the first about 20 s from now), which the "overheat" rule alarms on.
Every route but /health and /ready needs a credential; the admin key is in $KEY_FILE:
  $ADMIN_API_KEY
The console: open http://127.0.0.1:$PORT/ and sign in with that key.
Look at:
  AUTH="Authorization: Bearer \$(cat $KEY_FILE)"
  curl -H "\$AUTH" '127.0.0.1:$PORT/devices/device-00001/telemetry?limit=5'
  curl -H "\$AUTH" '127.0.0.1:$PORT/devices/device-00001/twin'
  curl -H "\$AUTH" -XPOST 127.0.0.1:$PORT/devices/device-00001/commands -H 'content-type: application/json' -d '{"name":"reboot"}'
  curl -H "\$AUTH" '127.0.0.1:$PORT/devices/device-00001/commands'    (the simulated devices answer commands)
  curl -H "\$AUTH" '127.0.0.1:$PORT/alerts?state=active'              (the alarms now; state=cleared for the past ones)
  curl -NH "\$AUTH" 127.0.0.1:$PORT/alerts/stream                     (alarms raised, acknowledged and cleared, as they happen)
  npm run cli -- keys create --role viewer --name dashboard     (a key per person or tool)
  http://127.0.0.1:$PORT/docs           (OpenAPI)
  http://127.0.0.1:$PORT/ready          (Kafka, registry, ClickHouse)
Ctrl-C stops the demo.

MSG
wait "$SIMULATOR"
