/**
 * Twins benchmark: how fresh, how large and how fast the twin read model is.
 *
 *   npm run bench:twins                      (bench/twins.sh: deps, stack, wrk, build, then this file)
 *   node dist/bench/twins.bench.js           (the stack must be running and dist/ built)
 *
 * 1. baseline: the built server (dist/) on empty topics: time to ready and RSS with no twins;
 * 2. rebuild: BENCH_TWINS twin snapshots produced straight to the bench's fleet.twins with the
 *    registry codec, then the server started on it: time until /ready (the read model restored
 *    every twin into LMDB) and RSS;
 * 3. freshness: telemetry at BENCH_FRESH_RATE readings/s to random devices of that fleet; each
 *    reading carries a sequence number, and its latency is from the produce call to the moment the
 *    server's Server-Sent Events stream (GET /devices/twins/stream) announces the twin holding it —
 *    the stream fires once the change is in the store, i.e. when GET /devices/:id/twin shows it;
 * 4. reads: wrk on loopback, GET /devices/<random device>/twin.
 *
 * Everything lives under a random `bench.<id>` topic prefix with its own data directory; topics,
 * groups and data are deleted at the end (BENCH_KEEP=1 keeps them).
 *
 * Settings (env): BENCH_TWINS (1000000), BENCH_PARTITIONS (6), BENCH_FRESH_RATE (1000),
 * BENCH_FRESH_SECONDS (20), BENCH_WRK_SECONDS (15), BENCH_WRK_CONNECTIONS (32), BENCH_WRK_THREADS (1),
 * BENCH_PHASES (baseline,rebuild,fresh,wrk), BENCH_WRK (wrk), KAFKA_BROKERS, SCHEMA_REGISTRY_URL,
 * BENCH_SERVER_MAIN (the server to measure: another build's dist/apps/server/src/main.js; default
 * this build's). Every request carries the server's bootstrap admin key (support/bench-server.ts).
 *
 * A benchmark never fails a run: a phase that cannot run prints why, and the others go on.
 */
import { loadConfig } from '@fleetstream/config';
import type { Telemetry } from '@fleetstream/domain';
import { createKafka, ensureTopics, fleetGroups, fleetTopicDefinitions, fleetTopics, FleetTopics, kafkaSettings, TelemetryProducer } from '@fleetstream/kafka';
import { readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka } from 'kafkajs';
import { describeError, envInt, log, machine, percentile, table } from './support/bench-report';
import { EventStreamReader } from './support/event-stream-reader';
import { BenchServer, Memory, Started } from './support/bench-server';
import { produceTwinSnapshots } from './support/twin-snapshots';

const settings = {
  twins: envInt('BENCH_TWINS', 1_000_000),
  partitions: envInt('BENCH_PARTITIONS', 6),
  freshRate: envInt('BENCH_FRESH_RATE', 1000),
  freshSeconds: envInt('BENCH_FRESH_SECONDS', 20),
  wrkSeconds: envInt('BENCH_WRK_SECONDS', 15),
  wrkConnections: envInt('BENCH_WRK_CONNECTIONS', 32),
  wrkThreads: envInt('BENCH_WRK_THREADS', 1),
  phases: new Set((process.env.BENCH_PHASES ?? 'baseline,rebuild,fresh,wrk').split(',').map((p) => p.trim())),
  wrk: process.env.BENCH_WRK || 'wrk',
  keep: process.env.BENCH_KEEP === '1',
};

const TARGETS = { freshnessP99Ms: 50, rssBytes: 2 ** 30, rebuildMs: 30_000 };
const MIB = 2 ** 20;


const results: {
  baseline?: Started | { unavailable: string };
  produce?: { ms: number; bytes: number } | { unavailable: string };
  rebuild?: Started | { unavailable: string };
  freshness?: { samples: number; p50Ms: number; p99Ms: number; maxMs: number; missing: number } | { unavailable: string };
  reads?: { rate: number; p50: string; p99: string; errors: number; memoryAfter?: Memory } | { unavailable: string };
} = {};

// ---------------------------------------------------------------------------------------------
// the server under test


// ---------------------------------------------------------------------------------------------
// phases

const deviceId = (n: number) => `dev-${String(n).padStart(7, '0')}`;

/** Readings at a steady rate; each one's latency ends when the twin stream shows its sequence number. */
async function freshness(server: BenchServer, kafka: Kafka, registry: SchemaRegistry, topics: FleetTopics) {
  const codec = new RegistryCodec<Telemetry>(registry, readAvroSchema('telemetry'));
  const producer = new TelemetryProducer(kafka, codec, topics.telemetry); // the device-side path
  await producer.connect();
  /** Per device, readings not yet visible: [benchSeq, produce time]. */
  const pending = new Map<string, [number, number][]>();
  let unseen = 0;
  const latencies: number[] = [];
  const stream = await EventStreamReader.open(`${server.url}/devices/twins/stream`, server.headers);
  if (stream.status !== 200) throw new Error(`GET /devices/twins/stream answered ${stream.status}`);
  stream.onEvent = (event) => {
    if (event.event !== 'twin') return;
    const twin = JSON.parse(event.data) as { deviceId: string; reported: { benchSeq?: { value: number } } };
    const shown = twin.reported.benchSeq?.value ?? -1;
    const waiting = pending.get(twin.deviceId);
    if (!waiting) return;
    // readings of one device in one batch fold into one change: all of them are visible with it
    const now = performance.now();
    const still = waiting.filter(([seq, sent]) => (seq <= shown ? (latencies.push(now - sent), unseen--, false) : true));
    if (still.length > 0) pending.set(twin.deviceId, still);
    else pending.delete(twin.deviceId);
  };
  // 50 ticks a second: a steady stream, not bursts of a second's worth
  const tickMs = 20;
  const perTick = Math.max(1, Math.round((settings.freshRate * tickMs) / 1000));
  const warmUp = 2000;
  const from = performance.now();
  let seq = 0;
  try {
    for (let tick = 0; performance.now() - from < settings.freshSeconds * 1000 + warmUp; tick++) {
      const measured = performance.now() - from >= warmUp;
      const readings = Array.from({ length: perTick }, () => {
        seq++;
        const reading: Telemetry = {
          deviceId: deviceId(Math.floor(Math.random() * settings.twins)),
          eventTime: Date.now(),
          seq,
          metrics: { temperature: 20 + Math.random(), benchSeq: measured ? seq : -1 },
          attributes: {},
        };
        return reading;
      });
      const now = performance.now();
      if (measured) {
        for (const reading of readings) pending.set(reading.deviceId, [...(pending.get(reading.deviceId) ?? []), [reading.seq, now]]);
        unseen += readings.length;
      }
      await producer.send(readings);
      await sleep(Math.max(0, from + (tick + 1) * tickMs - performance.now()));
    }
    const deadline = Date.now() + 10_000;
    while (unseen > 0 && Date.now() < deadline) await sleep(100);
  } finally {
    stream.close();
    await producer.disconnect();
  }
  const at = (q: number) => Math.round(percentile(latencies, q));
  return { samples: latencies.length, p50Ms: at(50), p99Ms: at(99), maxMs: at(100), missing: unseen };
}

/** wrk on loopback: GET /devices/<random device>/twin. */
function reads(server: BenchServer): { rate: number; p50: string; p99: string; errors: number } {
  const script = join(mkdtempSync(join(tmpdir(), 'fleetstream-wrk-')), 'random-twin.lua');
  writeFileSync(
    script,
    `math.randomseed(os.time())
wrk.headers["Authorization"] = "${server.headers.authorization}"
request = function()
  return wrk.format("GET", string.format("/devices/dev-%07d/twin", math.random(0, ${settings.twins - 1})))
end
`,
  );
  const run = spawnSync(
    settings.wrk,
    [`-t${settings.wrkThreads}`, `-c${settings.wrkConnections}`, `-d${settings.wrkSeconds}s`, '--latency', '-s', script, server.url],
    { encoding: 'utf8' },
  );
  rmSync(resolve(script, '..'), { recursive: true, force: true });
  if (run.error) throw new Error(`${settings.wrk} could not run (${run.error.message}); install it with: apt-get install wrk`);
  const out = run.stdout;
  log(`wrk output:\n${out.trim()}`);
  const rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  // the --latency distribution: lines like "     99%   12.34ms"
  const percentile = (p: string) => new RegExp(`\\n\\s+${p}%\\s+(\\S+)`).exec(out)?.[1];
  const errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  if (!Number.isFinite(rate)) throw new Error(`cannot read wrk's output:\n${out}\n${run.stderr}`);
  return { rate, p50: percentile('50') || 'n/a', p99: percentile('99') || 'n/a', errors };
}

// ---------------------------------------------------------------------------------------------
// report

const mib = (bytes: number | undefined) => (bytes === undefined ? 'n/a' : `${Math.round(bytes / MIB)} MiB`);
const secs = (ms: number | undefined) => (ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(1)} s`);
const verdict = (ok: boolean | undefined) => (ok === undefined ? 'n/a' : ok ? 'met' : 'MISSED');

function printReport(): void {
  console.log('\n================ fleetstream twins benchmark ================');
  console.log(machine());
  const rows: string[][] = [['figure', 'measured', 'target', '']];
  const { baseline, rebuild, freshness: fresh, reads: read } = results;
  if (baseline && 'readyMs' in baseline) {
    rows.push(['server with no twins: start → ready, RSS', `${secs(baseline.readyMs)}, ${mib(baseline.memory?.rss)}`, '', '']);
  }
  if (rebuild && 'readyMs' in rebuild) {
    const twins = `${(rebuild.twins ?? settings.twins).toLocaleString('en-US')} twins`;
    rows.push([`rebuild of ${twins} from fleet.twins into LMDB (read model start → restored)`, secs(rebuild.restoredInMs), '≤ 30 s', verdict(rebuild.restoredInMs === undefined ? undefined : rebuild.restoredInMs <= TARGETS.rebuildMs)]);
    rows.push(['process start → /ready (includes Node, Nest and chdb start)', secs(rebuild.readyMs), '', '']);
    const memory = rebuild.memory;
    rows.push([
      `RSS with ${twins}, once restored (anonymous + LMDB file pages)`,
      memory ? `${mib(memory.rss)} (${mib(memory.anon)} + ${mib(memory.file)})` : 'n/a',
      '≤ 1 GiB',
      verdict(memory ? memory.rss <= TARGETS.rssBytes : undefined),
    ]);
    // the high-water mark includes the restore's transient fetch buffers and decode garbage
    rows.push(['peak RSS during the rebuild', memory ? mib(memory.peak) : 'n/a', '≤ 1 GiB', verdict(memory ? memory.peak <= TARGETS.rssBytes : undefined)]);
  } else if (rebuild) rows.push(['rebuild', rebuild.unavailable, '', '']);
  if (fresh && 'p99Ms' in fresh) {
    rows.push([`telemetry produced → visible in the twin at ${settings.freshRate}/s (p50 / p99 / max)`, `${fresh.p50Ms} / ${fresh.p99Ms} / ${fresh.maxMs} ms`, 'p99 ≤ 50 ms', verdict(fresh.p99Ms <= TARGETS.freshnessP99Ms)]);
  } else if (fresh) rows.push(['freshness', fresh.unavailable, '', '']);
  if (read && 'rate' in read) {
    rows.push([`GET /devices/:id/twin with wrk (${settings.wrkConnections} connections, random devices)`, `${Math.round(read.rate).toLocaleString('en-US')} req/s, p50 ${read.p50}, p99 ${read.p99}`, '', '']);
    if (read.memoryAfter) rows.push(['RSS after the wrk run', mib(read.memoryAfter.rss), '', '']);
  } else if (read) rows.push(['wrk', read.unavailable, '', '']);
  console.log(table(rows));
  if (fresh && 'samples' in fresh) {
    console.log(`- freshness: ${fresh.samples} readings measured after a 2 s warm-up, ${fresh.missing} not seen within 10 s`);
  }
  if (read && 'errors' in read && read.errors > 0) console.log(`- wrk: ${read.errors} responses were not 2xx/3xx`);
  console.log('- Kafka, the registry, the server and wrk share the machine; other load on it lowers every figure');
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const id = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const prefix = `bench.${id}`;
  const config = loadConfig({ ...process.env, TOPIC_PREFIX: prefix });
  const topics = fleetTopics(prefix);
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetstream-bench-twins-'));
  const kafka = createKafka(kafkaSettings(config, `bench-${id}`));
  const registry = new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL });
  const serverEnv = (run: string) => ({
    TOPIC_PREFIX: prefix,
    TELEMETRY_PARTITIONS: String(settings.partitions),
    PROCESSORS: 'twins',
    FLEETSTREAM_DATA_DIR: join(dataDir, run),
  });
  console.log('fleetstream twins benchmark');
  console.log(machine());
  log(`topic prefix ${prefix}, data in ${dataDir}, Kafka ${config.KAFKA_BROKERS.join(',')}`);
  const definitions = fleetTopicDefinitions(topics, settings.partitions);
  await ensureTopics(kafka, definitions);
  let server: BenchServer | undefined;
  try {
    if (settings.phases.has('baseline')) {
      log('1. baseline: the server on empty topics');
      try {
        const baseline = await BenchServer.start(serverEnv('baseline'));
        results.baseline = baseline.started;
        await baseline.server.stop();
        log(`baseline: ready in ${secs(baseline.started.readyMs)}, RSS ${mib(baseline.started.memory?.rss)}`);
      } catch (error) {
        results.baseline = { unavailable: describeError(error) };
      }
    }
    log(`2. producing ${settings.twins.toLocaleString('en-US')} twin snapshots into ${topics.twins} (${settings.partitions} partitions)`);
    const produced = await produceTwinSnapshots(kafka, registry, topics, settings.twins, deviceId);
    results.produce = produced;
    log(`produced in ${secs(produced.ms)}, ${mib(produced.bytes)} of Avro`);

    log('2. rebuild: the server restores the twins from fleet.twins');
    try {
      const started = await BenchServer.start(serverEnv('rebuild'));
      server = started.server;
      results.rebuild = started.started;
      log(`rebuild: ${started.started.twins} twins restored in ${secs(started.started.restoredInMs)}, ready after ${secs(started.started.readyMs)}, RSS ${mib(started.started.memory?.rss)}`);
    } catch (error) {
      results.rebuild = { unavailable: describeError(error) };
    }
    if (server && settings.phases.has('fresh')) {
      log(`3. freshness: ${settings.freshRate} readings/s for ${settings.freshSeconds} s`);
      results.freshness = await freshness(server, kafka, registry, topics).catch((error: unknown) => ({ unavailable: describeError(error) }));
    }
    if (server && settings.phases.has('wrk')) {
      log(`4. reads: ${settings.wrk} for ${settings.wrkSeconds} s`);
      try {
        results.reads = { ...reads(server), memoryAfter: server.memory() };
      } catch (error) {
        results.reads = { unavailable: describeError(error) };
      }
    }
  } finally {
    await server?.stop();
    if (!settings.keep) {
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteGroups([fleetGroups(prefix).twinProcessor]).catch(() => undefined);
      await admin.deleteTopics({ topics: definitions.map((t) => t.topic) }).catch((error: unknown) => log(`could not delete the bench topics: ${describeError(error)}`));
      await admin.disconnect();
      rmSync(dataDir, { recursive: true, force: true });
      log(`deleted the ${prefix}.* topics, their consumer groups and ${dataDir} (BENCH_KEEP=1 keeps them)`);
    }
  }
  printReport();
}

main().catch((error: unknown) => {
  console.error(`twins benchmark failed: ${describeError(error)}`);
  process.exit(1);
});
