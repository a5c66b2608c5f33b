/**
 * What analysts' heavy SQL does to the rest of the service: REST latency and ingest, with the SQL
 * interface idle and then with SQL_MAX_CONCURRENT_QUERIES heavy queries running back to back.
 *
 *   npm run bench:sql-load                   (bench/sql-load.sh: deps, stack, build, then this file)
 *   node dist/bench/sql-load.bench.js        (the stack must be running and dist/ built)
 *
 * The built server (dist/) runs with every processor and the SQL interface, on its own topics and
 * data directory. BENCH_HISTORY readings are loaded first (the heavy queries' input). Then two
 * phases of BENCH_SECONDS each, `quiet` and `heavy`, both with telemetry at BENCH_RATE readings/s
 * and one REST client that reads a random device's twin and its last 10 readings in turn, as fast
 * as answers come. In `heavy`, every query slot runs a cross join over telemetry_raw (stopped by
 * max_execution_time) or a self join, in turn, through the HTTP interface. A phase reports the REST
 * latencies (p50 / p99 / max) and how far history is behind the readings produced at its end.
 *
 * Settings (env): BENCH_SECONDS (30), BENCH_RATE (500), BENCH_DEVICES (1000), BENCH_HISTORY (300000),
 * KAFKA_BROKERS, SCHEMA_REGISTRY_URL, BENCH_SERVER_MAIN, and the SQL_* settings of the server.
 * A benchmark never fails a run: a phase that cannot run prints why.
 */
import { loadConfig } from '@fleetstream/config';
import type { Telemetry } from '@fleetstream/domain';
import { createKafka, ensureTopics, fleetTopicDefinitions, fleetTopics, kafkaSettings, TelemetryProducer } from '@fleetstream/kafka';
import { readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError, envInt, log, machine, percentile, table } from './support/bench-report';
import { BenchServer } from './support/bench-server';
import { freePort } from './support/free-port';

const settings = {
  seconds: envInt('BENCH_SECONDS', 30),
  rate: envInt('BENCH_RATE', 500),
  devices: envInt('BENCH_DEVICES', 1000),
  history: envInt('BENCH_HISTORY', 300_000),
};

const HEAVY_QUERIES = [
  { name: 'cross join, count()', sql: 'SELECT count() FROM telemetry_raw AS a CROSS JOIN telemetry_raw AS b WHERE a.seq + b.seq = 7 FORMAT Null' },
  { name: 'self join on seq, count()', sql: 'SELECT count() FROM telemetry_raw AS a INNER JOIN telemetry_raw AS b ON a.seq = b.seq FORMAT Null' },
];

interface PhaseResult {
  phase: string;
  twin: number[];
  readings: number[];
  restErrors: number;
  produced: number;
  storedAtEnd: number;
  queries: string[];
}

const deviceId = (n: number) => `sql-load-${String(n).padStart(5, '0')}`;

async function main(): Promise<void> {
  const id = Math.random().toString(36).slice(2, 8);
  const prefix = `bench.sqlload.${id}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetstream-sql-load-'));
  const database = `bench_sqlload_${id}`;
  const config = loadConfig({ ...process.env, TOPIC_PREFIX: prefix });
  const topics = fleetTopics(prefix);
  const kafka = createKafka(kafkaSettings(config, `bench-sql-load-${id}`));
  await ensureTopics(kafka, fleetTopicDefinitions(topics, config.TELEMETRY_PARTITIONS));
  const codec = new RegistryCodec<Telemetry>(new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL }), readAvroSchema('telemetry'));
  const producer = new TelemetryProducer(kafka, codec, topics.telemetry);
  await producer.connect();
  const sqlPort = await freePort();
  const { server } = await BenchServer.start({ TOPIC_PREFIX: prefix, FLEETSTREAM_DATA_DIR: dataDir, CLICKHOUSE_DATABASE: database, SQL_HTTP_PORT: String(sqlPort), LOG_LEVEL: 'warn' });
  const sqlUrl = `http://127.0.0.1:${sqlPort}/`;
  const sql = (query: string) => fetch(sqlUrl, { method: 'POST', body: query, headers: server.headers });
  const stored = async () => Number((await (await sql('SELECT count() FROM telemetry_raw')).text()).trim());
  let seq = 0;
  const readings = (count: number, at: number): Telemetry[] =>
    Array.from({ length: count }, () => {
      seq++;
      return { deviceId: deviceId(seq % settings.devices), eventTime: at, seq, metrics: { temperature: 20 + (seq % 17), battery: seq % 100 }, attributes: { firmware: '1.0.0' } };
    });
  const results: PhaseResult[] = [];
  try {
    log(`loading ${settings.history.toLocaleString('en-US')} readings of ${settings.devices} devices`);
    for (let sent = 0; sent < settings.history; sent += 5000) await producer.send(readings(Math.min(5000, settings.history - sent), Date.now() - 3_600_000));
    while ((await stored()) < settings.history) await sleep(500);
    log('history loaded');
    for (const phase of ['quiet', 'heavy']) {
      results.push(await runPhase(phase, server, sql, producer, readings, stored));
    }
  } catch (error) {
    log(`stopped: ${describeError(error)}`);
  } finally {
    await producer.disconnect();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: Object.values(topics) }).catch((error: unknown) => log(`topics not deleted: ${describeError(error)}`));
    await admin.disconnect();
  }
  report(results);
}

async function runPhase(
  phase: string,
  server: BenchServer,
  sql: (query: string) => Promise<Response>,
  producer: TelemetryProducer,
  readings: (count: number, at: number) => Telemetry[],
  stored: () => Promise<number>,
): Promise<PhaseResult> {
  const result: PhaseResult = { phase, twin: [], readings: [], restErrors: 0, produced: 0, storedAtEnd: 0, queries: [] };
  const before = await stored();
  const end = Date.now() + settings.seconds * 1000;
  const ingest = (async () => {
    // a tenth of the rate every 100 ms
    for (let tick = Date.now(); Date.now() < end; tick += 100) {
      const batch = readings(Math.max(1, Math.round(settings.rate / 10)), Date.now());
      await producer.send(batch);
      result.produced += batch.length;
      await sleep(Math.max(0, tick + 100 - Date.now()));
    }
  })();
  const rest = (async () => {
    for (let i = 0; Date.now() < end; i++) {
      const device = deviceId(Math.floor(Math.random() * settings.devices));
      const path = i % 2 === 0 ? `/devices/${device}/twin` : `/devices/${device}/telemetry?limit=10`;
      const started = performance.now();
      const response = await server.fetch(path).catch(() => undefined);
      await response?.arrayBuffer();
      if (!response?.ok) result.restErrors++;
      const ms = performance.now() - started;
      if (ms > 1000) log(`${phase}: GET ${path} took ${(ms / 1000).toFixed(1)} s`);
      (i % 2 === 0 ? result.twin : result.readings).push(ms);
    }
  })();
  const heavy =
    phase === 'heavy'
      ? Array.from({ length: Number(process.env.SQL_MAX_CONCURRENT_QUERIES ?? 2) }, async (_, slot) => {
          for (let turn = slot; Date.now() < end; turn++) {
            const query = HEAVY_QUERIES[turn % HEAVY_QUERIES.length]!;
            const started = performance.now();
            const response = await sql(query.sql);
            const body = await response.text();
            const outcome = response.ok ? 'finished' : (response.headers.get('x-clickhouse-exception-code') ?? String(response.status));
            result.queries.push(`${query.name}: ${outcome} after ${((performance.now() - started) / 1000).toFixed(1)} s${response.ok ? '' : ` (${body.split('\n')[0]!.slice(0, 100)})`}`);
          }
        })
      : [];
  await Promise.all([ingest, rest, ...heavy]);
  result.storedAtEnd = (await stored()) - before;
  log(`${phase}: ${result.twin.length + result.readings.length} REST requests, ${result.produced} readings produced, ${result.storedAtEnd} stored by the end`);
  return result;
}

function report(results: PhaseResult[]): void {
  const ms = (values: number[]) => (values.length === 0 ? '-' : `${percentile(values, 0.5).toFixed(0)} / ${percentile(values, 0.99).toFixed(0)} / ${Math.max(...values).toFixed(0)}`);
  console.log(`\n${machine()}`);
  console.log(
    table([
      ['phase', 'GET twin p50 / p99 / max ms', 'GET telemetry p50 / p99 / max ms', 'REST errors', 'readings produced', 'stored by the phase end'],
      ...results.map((r) => [r.phase, ms(r.twin), ms(r.readings), String(r.restErrors), String(r.produced), `${r.storedAtEnd} (${((100 * r.storedAtEnd) / Math.max(1, r.produced)).toFixed(0)}%)`]),
    ]),
  );
  for (const r of results.filter((x) => x.queries.length > 0)) console.log(`\nheavy queries in ${r.phase}:\n${r.queries.map((q) => `- ${q}`).join('\n')}`);
}

void main().catch((error: unknown) => {
  log(`benchmark failed: ${describeError(error)}`);
});
