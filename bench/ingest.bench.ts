/**
 * Ingest benchmark: how fast fleetstream moves Avro telemetry from Kafka into ClickHouse history,
 * against the physical limit (kcat), ClickHouse's own Kafka table engine, and a naive consumer.
 *
 *   npm run bench:ingest                     (bench/ingest.sh: deps, stack, kcat, then this file)
 *   node dist/bench/ingest.bench.js          (the stack must be running)
 *
 * Everything lives in a private corner of the running stack: fresh topics under a random
 * `bench.<id>` prefix, a fresh chdb data directory, its own databases and consumer groups; the
 * topics, groups and data are deleted at the end (BENCH_KEEP=1 keeps them).
 *
 * Settings (env): BENCH_RECORDS (1000000), BENCH_DEVICES (10000), BENCH_PARTITIONS (6),
 * BENCH_BATCH_ROWS (10000) / BENCH_BATCH_MS (500): the writer's HISTORY_BATCH_ROWS / _MS,
 * BENCH_NAIVE_RECORDS (20000) / BENCH_NAIVE_SECONDS (20), BENCH_FRESH_RATE (1000/s) /
 * BENCH_FRESH_SECONDS (12), BENCH_ENGINE_CONFIGS (1x65536,2x65536: kafka_num_consumers x
 * kafka_max_block_size, one engine run each), BENCH_PHASE_TIMEOUT_S (240), BENCH_PHASES
 * (raw,engine,ours,fresh,naive; also ours-sql, below), BENCH_KCAT (kcat), BENCH_DATA_DIR (a new temporary directory),
 * BENCH_CPU_PROFILE (write a .cpuprofile of the fleetstream phase there), KAFKA_BROKERS,
 * SCHEMA_REGISTRY_URL.
 *
 * BENCH_PHASES may also name `ours-sql` (not in the default list: it adds a second full ingest of
 * the topic, about as long as `ours`): the same ingest again, into its own database, while heavy
 * analyst queries run back to back on the SQL interface's read-only chdb sessions
 * (ChdbReadOnlySessions, the service's default SQL_MAX_* limits, as many at once as
 * SQL_MAX_CONCURRENT_QUERIES allows) over the same data directory. With `ours` in the same run the
 * queries read the table `ours` filled; the report gives both ingest rates, their ratio and each
 * query's outcome (finished, or which limit refused it); the queries still running when the ingest
 * is done are let end on their own, which can take up to SQL_MAX_EXECUTION_TIME_S more. With `fresh`
 * as well, freshness is measured again with the queries still running.
 *   BENCH_PHASES=ours,ours-sql BENCH_RECORDS=1000000 node dist/bench/ingest.bench.js
 *
 * A benchmark never fails a run: a phase that cannot run prints why, and the others go on.
 */
import { fleetstreamConfigSchema, loadConfig } from '@fleetstream/config';
import type { Telemetry } from '@fleetstream/domain';
import {
  ChdbReadOnlySessions,
  ChdbTransport,
  ClickHouseTransport,
  HistoryRepository,
  HistoryWriter,
  migrate,
  ReadOnlySession,
  telemetryRow,
} from '@fleetstream/history';
import {
  BatchConsumer,
  createKafka,
  DeadLetterProducer,
  ensureTopics,
  fleetGroups,
  fleetTopicDefinitions,
  fleetTopics,
  kafkaSettings,
  TelemetryProducer,
} from '@fleetstream/kafka';
import { readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { Session as InspectorSession } from 'node:inspector/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka } from 'kafkajs';
import { SimulatedFleet } from '../apps/cli/src/commands/simulated-fleet';
import { describeError, envInt, log, machine, percentile, table } from './support/bench-report';
import { bulkProduce } from './support/bulk-produce';

// ---------------------------------------------------------------------------------------------
// settings


const settings = {
  records: envInt('BENCH_RECORDS', 1_000_000),
  devices: envInt('BENCH_DEVICES', 10_000),
  partitions: envInt('BENCH_PARTITIONS', 6),
  batchRows: envInt('BENCH_BATCH_ROWS', 10_000),
  batchMs: envInt('BENCH_BATCH_MS', 500),
  naiveRecords: envInt('BENCH_NAIVE_RECORDS', 20_000),
  naiveSeconds: envInt('BENCH_NAIVE_SECONDS', 20),
  freshRate: envInt('BENCH_FRESH_RATE', 1000),
  freshSeconds: envInt('BENCH_FRESH_SECONDS', 12),
  /** Kafka-engine settings to try, `<kafka_num_consumers>x<kafka_max_block_size>`: ClickHouse's defaults, then tuned for 2 cores. */
  engineConfigs: (process.env.BENCH_ENGINE_CONFIGS ?? '1x65536,2x65536').split(',').map((c) => {
    const [consumers, blockSize] = c.trim().split('x').map(Number);
    if (!consumers || !blockSize) throw new Error(`BENCH_ENGINE_CONFIGS: expected <consumers>x<block size>, got "${c}"`);
    return { consumers, blockSize };
  }),
  phaseTimeoutMs: envInt('BENCH_PHASE_TIMEOUT_S', 240) * 1000,
  phases: new Set((process.env.BENCH_PHASES ?? 'raw,engine,ours,fresh,naive').split(',').map((p) => p.trim())),
  kcat: process.env.BENCH_KCAT || 'kcat',
  cpuProfile: process.env.BENCH_CPU_PROFILE || undefined,
  keep: process.env.BENCH_KEEP === '1',
};

/** A fleet of 10,000 devices sending one reading every 10 s: what real time means below. */
const REAL_TIME_RATE = 1000;
const TARGETS = { oursOverRaw: 0.3, oursOverEngine: 1.0, oursOverNaive: 20, catchUp: 100, freshnessP99Ms: 2000 };

// ---------------------------------------------------------------------------------------------
// results

/** One throughput figure, or why it is missing. */
interface Throughput {
  records?: number;
  seconds?: number;
  /** records/s */
  rate?: number;
  /** Extra facts printed under the table. */
  note?: string;
  /** Why there is no figure. */
  unavailable?: string;
}

interface Freshness {
  samples?: number;
  p50Ms?: number;
  p99Ms?: number;
  maxMs?: number;
  insertP99Ms?: number;
  note?: string;
  unavailable?: string;
}

const results: {
  produce?: Throughput;
  raw?: Throughput;
  engines: { label: string; result: Throughput }[];
  ours?: Throughput;
  oursSteady?: Throughput;
  oursSql?: Throughput;
  oursSqlSteady?: Throughput;
  ingestRuns?: { plain: IngestRun; underSql: IngestRun };
  heavyQueries?: HeavyQueryRun[];
  heavyQueriesUnavailable?: string;
  naive?: Throughput;
  freshness?: Freshness;
  freshnessUnderSql?: Freshness;
} = { engines: [] };

function rate(records: number, ms: number): number {
  return ms > 0 ? records / (ms / 1000) : 0;
}

function fmtRate(value: number | undefined): string {
  return value === undefined ? 'n/a' : `${Math.round(value).toLocaleString('en-US')}`;
}


async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish in ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Profiles this process's JavaScript thread from now until the returned stop is called. */
async function startCpuProfile(path: string): Promise<() => Promise<void>> {
  const session = new InspectorSession();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(path, JSON.stringify(profile));
    session.disconnect();
    log(`CPU profile of the fleetstream phase written to ${path}`);
  };
}

/** CPU time all cores have spent busy since boot, in ms: with this process's own, what else loaded the machine. */
function machineBusyMs(): number {
  return cpus().reduce((sum, { times }) => sum + times.user + times.nice + times.sys + times.irq, 0);
}

/** A transport that times every INSERT: where the writer's time goes. */
class TimedTransport implements ClickHouseTransport {
  readonly description: string;
  insertMs = 0;
  insertRows = 0;
  inserts: { at: number; ms: number; rows: number }[] = [];

  constructor(private readonly inner: ClickHouseTransport) {
    this.description = inner.description;
  }

  command(sql: string): Promise<void> {
    return this.inner.command(sql);
  }

  query<Row>(sql: string, params?: Parameters<ClickHouseTransport['query']>[1]): Promise<Row[]> {
    return this.inner.query<Row>(sql, params);
  }

  async insert(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]): Promise<void> {
    const t0 = performance.now();
    await this.inner.insert(table, columns, rows);
    const ms = performance.now() - t0;
    this.insertMs += ms;
    this.insertRows += rows.length;
    this.inserts.push({ at: Date.now(), ms, rows: rows.length });
  }

  ping(): Promise<boolean> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  reset(): void {
    this.insertMs = 0;
    this.insertRows = 0;
    this.inserts = [];
  }
}

// ---------------------------------------------------------------------------------------------
// phases

interface Context {
  id: string;
  prefix: string;
  topic: string;
  kafka: Kafka;
  brokers: string[];
  registryUrl: string;
  registry: SchemaRegistry;
  fleet: SimulatedFleet;
  dataDir: string;
  chdb?: ChdbTransport;
  groups: string[];
}

/** 1. N readings, Avro in the Confluent wire format, key = device id, in large concurrent batches. */
async function produce(ctx: Context): Promise<void> {
  const codec = new RegistryCodec<Telemetry>(ctx.registry, readAvroSchema('telemetry'));
  const schemaId = await codec.register(`${ctx.topic}-value`);
  let lastReport = Date.now();
  const t0 = Date.now();
  const { bytes } = await bulkProduce(
    ctx.kafka,
    [ctx.topic],
    settings.records,
    (size) => {
      const now = Date.now();
      return Promise.all(
        Array.from({ length: size }, async () => {
          const reading = ctx.fleet.reading(now);
          return { key: reading.deviceId, value: await codec.encode(schemaId, reading), timestamp: String(now) };
        }),
      );
    },
    (sent) => {
      if (Date.now() - lastReport > 5000) {
        log(`produced ${sent.toLocaleString('en-US')} / ${settings.records.toLocaleString('en-US')}`);
        lastReport = Date.now();
      }
    },
  );
  const sent = settings.records;
  const ms = Date.now() - t0;
  results.produce = {
    records: sent,
    seconds: ms / 1000,
    rate: rate(sent, ms),
    note: `schema id ${schemaId}, ${(bytes / sent).toFixed(0)} B/record (key + value), ${(bytes / 1e6).toFixed(1)} MB`,
  };
  log(`produced ${sent.toLocaleString('en-US')} records in ${(ms / 1000).toFixed(1)} s (${fmtRate(results.produce.rate)}/s), ${results.produce.note}`);
}

/** 2a. The physical limit: kcat (librdkafka, C) reading the whole topic to /dev/null. */
async function raw(ctx: Context): Promise<Throughput> {
  const probe = spawnSync(settings.kcat, ['-V'], { stdio: 'ignore' });
  if (probe.error) {
    return { unavailable: `${settings.kcat} not found (${probe.error.message}); install it: apt-get install kcat (bench/ingest.sh does)` };
  }
  const devNull = openSync('/dev/null', 'w');
  try {
    const args = ['-C', '-b', ctx.brokers.join(','), '-t', ctx.topic, '-o', 'beginning', '-e', '-q'];
    const t0 = performance.now();
    const { code, signal, stderr } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
      (resolve, reject) => {
        const child = spawn(settings.kcat, args, { stdio: ['ignore', devNull, 'pipe'] });
        let stderr = '';
        child.stderr!.on('data', (data: Buffer) => (stderr += data.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), settings.phaseTimeoutMs);
        child.on('error', reject);
        child.on('close', (code, signal) => {
          clearTimeout(timer);
          resolve({ code, signal, stderr });
        });
      },
    );
    const ms = performance.now() - t0;
    if (code !== 0) return { unavailable: `kcat exited with ${code ?? signal}: ${stderr.trim().slice(0, 300)}` };
    return { records: settings.records, seconds: ms / 1000, rate: rate(settings.records, ms), note: `kcat ${args.join(' ')} > /dev/null` };
  } finally {
    closeSync(devNull);
  }
}

/**
 * 2b. ClickHouse's Kafka table engine inside chdb, into the same tables as fleetstream (same
 * migrations: raw table + watermark + rollup views). Runs in a child process with its own chdb
 * data directory: chdb holds one session per process, and a native failure of the engine must
 * not take the other figures down with it.
 */
async function engine(ctx: Context, run: number, consumers: number, blockSize: number): Promise<Throughput> {
  const dataDir = join(ctx.dataDir, `engine-${run}`);
  const group = `${ctx.prefix}.ch-kafka-engine-${run}`;
  const params = JSON.stringify({
    dataDir,
    database: `bench_${ctx.id}_engine${run}`,
    topic: ctx.topic,
    brokers: ctx.brokers.join(','),
    registryUrl: ctx.registryUrl,
    group,
    records: settings.records,
    consumers,
    blockSize,
    timeoutMs: settings.phaseTimeoutMs,
  });
  ctx.groups.push(group);
  return new Promise<Throughput>((resolve) => {
    const child = spawn(process.execPath, [__filename, '--engine-worker', params], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => {
      stdout += data.toString();
      for (const line of data.toString().split('\n')) if (line.startsWith('[engine]')) log(line);
    });
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), settings.phaseTimeoutMs + 60_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
      if (line) return resolve(JSON.parse(line.slice('BENCH_RESULT '.length)) as Throughput);
      resolve({
        unavailable: `the Kafka-engine worker died (exit ${code ?? signal}) before reporting: ${(stderr || stdout).trim().split('\n').slice(-5).join(' | ').slice(0, 600)}`,
      });
    });
  });
}

async function engineWorker(paramsJson: string): Promise<void> {
  const p = JSON.parse(paramsJson) as {
    dataDir: string; database: string; topic: string; brokers: string; registryUrl: string; group: string;
    records: number; consumers: number; blockSize: number; timeoutMs: number;
  };
  const report = (result: Throughput) => console.log(`BENCH_RESULT ${JSON.stringify(result)}`);
  mkdirSync(p.dataDir, { recursive: true });
  const chdb = new ChdbTransport(p.dataDir);
  const db = p.database;
  const count = async () => Number((await chdb.query<{ n: string }>(`SELECT toString(count()) AS n FROM ${db}.telemetry_raw`))[0]?.n ?? 0);
  const consumerErrors = async () => {
    try {
      const rows = await chdb.query<{ e: string }>(
        `SELECT toString(exceptions.text) AS e FROM system.kafka_consumers WHERE database = {db:String} AND length(exceptions.text) > 0`,
        { db },
      );
      return rows.map((r) => r.e).join('; ').slice(0, 600);
    } catch (error) {
      return `(system.kafka_consumers not readable: ${describeError(error)})`;
    }
  };
  try {
    await migrate(chdb, { database: db, ttlDays: 365 });
    const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
    const ddl = `CREATE TABLE ${db}.kafka_queue (
        deviceId String, eventTime DateTime64(3, 'UTC'), seq Int64,
        metrics Map(String, Float64), attributes Map(String, String)
      ) ENGINE = Kafka SETTINGS
        kafka_broker_list = ${quote(p.brokers)}, kafka_topic_list = ${quote(p.topic)},
        kafka_group_name = ${quote(p.group)}, kafka_format = 'AvroConfluent',
        format_avro_schema_registry_url = ${quote(p.registryUrl)},
        kafka_num_consumers = ${p.consumers}, kafka_max_block_size = ${p.blockSize}${p.consumers > 1 ? ', kafka_thread_per_consumer = 1' : ''}`;
    const t0 = Date.now();
    try {
      await chdb.command(ddl);
    } catch (error) {
      return report({ unavailable: `CREATE TABLE ... ENGINE = Kafka failed: ${describeError(error)}` });
    }
    // Same rows as fleetstream writes, Kafka coordinates from the engine's virtual columns.
    await chdb.command(`CREATE MATERIALIZED VIEW ${db}.kafka_mv TO ${db}.telemetry_raw AS
      SELECT deviceId AS device_id, eventTime AS event_time, seq, metrics, attributes,
             _topic AS source_topic, _partition AS source_partition, _offset AS source_offset
      FROM ${db}.kafka_queue`);
    console.log(`[engine] Kafka engine table and view created (${p.consumers} consumer(s), block ${p.blockSize}); polling count()`);
    let firstRowsAt = 0;
    let n = 0;
    let lastReport = Date.now();
    while (Date.now() - t0 < p.timeoutMs) {
      n = await count();
      if (n > 0 && !firstRowsAt) firstRowsAt = Date.now();
      if (n >= p.records) break;
      if (Date.now() - lastReport > 5000) {
        console.log(`[engine] ${n.toLocaleString('en-US')} rows after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        lastReport = Date.now();
      }
      await sleep(200);
    }
    const ms = Date.now() - t0;
    const errors = await consumerErrors();
    const distinct = await chdb
      .query<{ n: string }>(`SELECT toString(count()) AS n FROM ${db}.telemetry_raw FINAL`)
      .then(([row]) => row?.n ?? '?', (error: unknown) => `? (${describeError(error)})`);
    await withTimeout(chdb.command(`DROP VIEW ${db}.kafka_mv`), 30_000, 'DROP VIEW').catch(() => undefined);
    await withTimeout(chdb.command(`DROP TABLE ${db}.kafka_queue`), 30_000, 'DROP TABLE').catch(() => undefined);
    if (n < p.records) {
      return report({
        unavailable: `only ${n} of ${p.records} rows after ${(ms / 1000).toFixed(0)} s${errors ? `; consumer errors: ${errors}` : ''}`,
        records: n, seconds: ms / 1000, rate: rate(n, ms),
      });
    }
    const steady = firstRowsAt ? rate(n, Date.now() - firstRowsAt) : undefined;
    report({
      records: n,
      seconds: ms / 1000,
      rate: rate(n, ms),
      note: `first rows after ${((firstRowsAt - t0) / 1000).toFixed(1)} s${steady ? `, ${Math.round(steady)} records/s from then on` : ''}; ${distinct} distinct rows (FINAL)${errors ? `; consumer errors: ${errors}` : ''}`,
    });
  } catch (error) {
    report({ unavailable: `${describeError(error)}; consumer errors: ${await consumerErrors()}` });
  } finally {
    await chdb.close();
  }
}

/** One fleetstream ingest run: its own database and consumer group, its figures. */
interface IngestRun {
  name: string;
  database: string;
  groupId: string;
  result?: Throughput;
  steady?: Throughput;
  /** How long one batch's INSERT took, p50 / p99 ms: the writer's latency. */
  insertP50Ms?: number;
  insertP99Ms?: number;
}

/** 2d. fleetstream: BatchConsumer + HistoryWriter as the service wires them, from a cold start. */
async function ours(ctx: Context, timed: TimedTransport, run: IngestRun): Promise<{ stop: () => Promise<void>; repository: HistoryRepository; database: string } | undefined> {
  const { database, groupId } = run;
  await migrate(timed, { database, ttlDays: 365 });
  const repository = new HistoryRepository(timed, database);
  const topics = fleetTopics(ctx.prefix);
  const deadLetters = new DeadLetterProducer(ctx.kafka, topics.telemetryDlq);
  await deadLetters.connect();
  const writer = new HistoryWriter(new RegistryCodec<Telemetry>(ctx.registry, readAvroSchema('telemetry')), repository, deadLetters, {
    // the service's defaults (TELEMETRY_MAX_FUTURE_SKEW_S, _MAX_AGE_DAYS, _MAX_RECORD_BYTES)
    maxFutureSkewMs: 300_000,
    maxPastAgeMs: 365 * 86_400_000,
    maxRecordBytes: 256 * 1024,
  });
  // prepare (decode + validate) of batch N+1 overlaps the write of batch N, so these add up to more than the wall time
  let prepareMs = 0;
  let writeMs = 0;
  let firstFlushAt = 0;
  ctx.groups.push(groupId);
  const consumer = new BatchConsumer(ctx.kafka, {
    groupId,
    topics: [ctx.topic],
    sessionTimeoutMs: 10_000,
    maxRows: settings.batchRows,
    maxWaitMs: settings.batchMs,
    prepare: async (records) => {
      const t0 = performance.now();
      const batch = await writer.prepare(records);
      prepareMs += performance.now() - t0;
      return batch;
    },
    write: async (batch) => {
      const t0 = performance.now();
      await writer.write(batch);
      writeMs += performance.now() - t0;
      if (!firstFlushAt) firstFlushAt = Date.now();
    },
    onRebalance: () => writer.onRebalance(),
    log: (message) => log(`writer: ${message}`),
  });
  const stop = async () => {
    await consumer.stop().catch((error: unknown) => log(`writer stop: ${describeError(error)}`));
    await deadLetters.disconnect().catch(() => undefined);
  };
  timed.reset();
  const stopProfile = settings.cpuProfile ? await startCpuProfile(settings.cpuProfile) : undefined;
  const cpu0 = process.cpuUsage();
  const machineBusy0 = machineBusyMs();
  const t0 = Date.now();
  try {
    await consumer.start();
    let lastReport = Date.now();
    // committed, not just inserted: the figure includes the offset commit after each batch
    while (consumer.stats.flushedRecords < settings.records && Date.now() - t0 < settings.phaseTimeoutMs) {
      await sleep(20);
      if (Date.now() - lastReport > 5000) {
        log(`${run.name}: ${consumer.stats.flushedRecords.toLocaleString('en-US')} committed`);
        lastReport = Date.now();
      }
    }
  } catch (error) {
    run.result = { unavailable: describeError(error) };
    await stop();
    return undefined;
  }
  const doneAt = Date.now();
  const ms = doneAt - t0;
  const cpu = process.cpuUsage(cpu0);
  const othersCores = (machineBusyMs() - machineBusy0 - (cpu.user + cpu.system) / 1e3) / ms;
  await stopProfile?.();
  const stored = consumer.stats.flushedRecords;
  const clickhouseMs = timed.insertMs;
  const insertMs = timed.inserts.map((i) => i.ms);
  [run.insertP50Ms, run.insertP99Ms] = [percentile(insertMs, 50), percentile(insertMs, 99)];
  const breakdown =
    `${writer.stats.batches} batches (~${Math.round(stored / Math.max(1, writer.stats.batches))} rows), ` +
    `dead-lettered ${writer.stats.deadLettered}; of ${(ms / 1000).toFixed(1)} s: ` +
    `prepare (decode+validate) ${(prepareMs / 1000).toFixed(1)} s overlapping write ${(writeMs / 1000).toFixed(1)} s ` +
    `(ClickHouse INSERT ${(clickhouseMs / 1000).toFixed(1)} s incl. JSON serialization); ` +
    `process CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s = ${((cpu.user + cpu.system) / 1e3 / ms).toFixed(2)} cores on average (JS thread + chdb threads); other processes (Kafka, registry, anything else) ${Math.max(0, othersCores).toFixed(2)} cores`;
  if (stored < settings.records) {
    run.result = { unavailable: `only ${stored} of ${settings.records} committed after ${(ms / 1000).toFixed(0)} s; ${breakdown}`, records: stored, seconds: ms / 1000, rate: rate(stored, ms) };
  } else {
    run.result = { records: stored, seconds: ms / 1000, rate: rate(stored, ms), note: breakdown };
    run.steady = {
      records: stored,
      seconds: (doneAt - firstFlushAt) / 1000,
      rate: rate(stored, doneAt - firstFlushAt),
      note: `from the first committed batch (${((firstFlushAt - t0) / 1000).toFixed(1)} s after start) to the last`,
    };
  }
  log(`${run.name}: ${stored.toLocaleString('en-US')} committed in ${(ms / 1000).toFixed(1)} s (${fmtRate(run.result.rate)}/s); ${breakdown}`);
  const counted = await repository.count().catch(() => -1);
  log(`${run.name}: ${counted.toLocaleString('en-US')} rows in ${database}.telemetry_raw FINAL`);
  return { stop, repository, database };
}

/** Analyst queries that no ingest-minded person would run: what the SQL interface's limits are for. */
const HEAVY_QUERIES = [
  // 10¹² pairs, each compared, in little memory: only max_execution_time ends it
  { name: 'cross join, pairs compared, count()', sql: "SELECT count() FROM telemetry_raw AS a CROSS JOIN telemetry_raw AS b WHERE a.metrics['temperature'] < b.metrics['temperature']" },
  // ClickHouse turns the WHERE into a hash join: ~(rows / devices)² × devices matches to count, on one thread
  { name: 'self join on seq, count()', sql: 'SELECT count() FROM telemetry_raw AS a CROSS JOIN telemetry_raw AS b WHERE a.seq = b.seq' },
  { name: 'quantiles per device', sql: "SELECT device_id, quantiles(0.5, 0.9, 0.99)(metrics['temperature']) FROM telemetry_raw GROUP BY device_id FORMAT Null" },
  // a true cross join that keeps every pair's data: grows until the memory limit stops it
  { name: 'cross join, pairs grouped', sql: 'SELECT a.device_id, groupArray(b.metrics) FROM telemetry_raw AS a CROSS JOIN telemetry_raw AS b GROUP BY a.device_id FORMAT Null' },
] as const;

/** What one heavy query came to. */
interface HeavyQueryRun {
  name: string;
  ms: number;
  /** 'finished', the engine's refusal (`<code> <NAME>`), or 'cancelled' when it outlived its own time limit. */
  outcome: string;
  message?: string;
}

/** ClickHouse error codes a read-only session's limits raise. */
const LIMIT_CODES = new Map([
  [159, 'TIMEOUT_EXCEEDED'],
  [241, 'MEMORY_LIMIT_EXCEEDED'],
  [396, 'TOO_MANY_ROWS_OR_BYTES'],
  [158, 'TOO_MANY_ROWS'],
  [307, 'TOO_MANY_BYTES'],
  [164, 'READONLY'],
]);

function outcomeOf(error: unknown): { outcome: string; message: string } {
  const message = error instanceof Error ? error.message : String(error);
  const code = Number(/Code: (\d+)\./.exec(message)?.[1] ?? NaN);
  const outcome = Number.isNaN(code) ? 'error' : `${code} ${LIMIT_CODES.get(code) ?? 'other'}`;
  return { outcome, message: message.split('\n')[0]!.slice(0, 300) };
}

/**
 * The SQL interface's engine as the service runs it: its read-only session pool on the writer's
 * chdb data directory, with the service's default limits (SQL_MAX_*, read from the config schema),
 * every session kept busy with HEAVY_QUERIES in turn until stop() is called. The queries running
 * then are let finish (or be stopped by their limits), so that each has its real outcome.
 */
function startHeavyQueries(dataPath: string, database: string): { stop: () => Promise<HeavyQueryRun[]>; describe: string } {
  // the service's defaults, or SQL_* from the environment (to compare settings)
  const defaults = fleetstreamConfigSchema.parse(Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('SQL_'))));
  const limits = {
    maxExecutionTimeS: defaults.SQL_MAX_EXECUTION_TIME_S,
    maxResultRows: defaults.SQL_MAX_RESULT_ROWS,
    maxResultBytes: defaults.SQL_MAX_RESULT_BYTES,
    maxWholeResultBytes: defaults.SQL_MAX_WHOLE_RESULT_BYTES,
    maxWholeResultRows: defaults.SQL_MAX_WHOLE_RESULT_ROWS,
    maxMemoryBytes: defaults.SQL_MAX_MEMORY_BYTES,
    maxThreads: defaults.SQL_MAX_THREADS,
    osThreadPriority: defaults.SQL_OS_THREAD_PRIORITY,
  };
  const sessions = new ChdbReadOnlySessions(dataPath, database, defaults.SQL_MAX_CONCURRENT_QUERIES, limits);
  let stopping = false;
  const controller = new AbortController();
  const runs: HeavyQueryRun[] = [];
  const runOne = async (session: ReadOnlySession, query: (typeof HEAVY_QUERIES)[number]): Promise<void> => {
    const t0 = performance.now();
    try {
      // streamed, as the interface runs a SELECT; the rows themselves are dropped
      for await (const _chunk of session.query(query.sql, { bound: {}, sent: {} }, 'TSV', controller.signal, true));
      runs.push({ name: query.name, ms: performance.now() - t0, outcome: controller.signal.aborted ? 'cancelled' : 'finished' });
    } catch (error) {
      const ms = performance.now() - t0;
      runs.push({ name: query.name, ms, ...(controller.signal.aborted ? { outcome: 'cancelled' } : outcomeOf(error)) });
    }
    const last = runs[runs.length - 1]!;
    log(`sql: ${last.name}: ${last.outcome} after ${(last.ms / 1000).toFixed(1)} s${last.message ? ` (${last.message})` : ''}`);
  };
  const worker = async (first: number): Promise<void> => {
    for (let i = first; !stopping; i++) {
      const session = sessions.tryAcquire();
      if (!session) throw new Error('no free read-only session: more workers than SQL_MAX_CONCURRENT_QUERIES');
      try {
        await runOne(session, HEAVY_QUERIES[i % HEAVY_QUERIES.length]!);
      } finally {
        sessions.release(session);
      }
    }
  };
  const workers = Array.from({ length: defaults.SQL_MAX_CONCURRENT_QUERIES }, (_, i) => worker(i).catch((error: unknown) => log(`sql worker: ${describeError(error)}`)));
  return {
    describe:
      `${defaults.SQL_MAX_CONCURRENT_QUERIES} at once on ChdbReadOnlySessions over ${database}, limits max_execution_time ${limits.maxExecutionTimeS} s, ` +
      `max_memory_usage ${(limits.maxMemoryBytes / 2 ** 30).toFixed(1)} GiB, max_threads ${limits.maxThreads}, os_thread_priority ${limits.osThreadPriority}, max_result_rows ${limits.maxResultRows.toLocaleString('en-US')}, ` +
      `max_result_bytes ${(limits.maxResultBytes / 2 ** 30).toFixed(0)} GiB`,
    stop: async () => {
      stopping = true;
      log('sql: no new queries; waiting for the running ones to end');
      await withTimeout(Promise.all(workers), (limits.maxExecutionTimeS + 30) * 1000, 'the heavy queries').catch((error: unknown) => {
        log(`${describeError(error)}: cancelling them`);
        controller.abort();
      });
      sessions.close();
      return runs;
    },
  };
}

/** 2f. Produce → queryable latency while the writer is caught up and idle. */
async function freshness(ctx: Context, timed: TimedTransport, database: string): Promise<Freshness> {
  const codec = new RegistryCodec<Telemetry>(ctx.registry, readAvroSchema('telemetry'));
  const producer = new TelemetryProducer(ctx.kafka, codec, ctx.topic); // the device-side path, as the simulator
  await producer.connect();
  await sleep(1000); // the writer has gone idle
  timed.reset();
  const from = Date.now();
  const perTick = Math.max(1, Math.round(settings.freshRate / 10));
  let sent = 0;
  try {
    for (let tick = 0; Date.now() - from < settings.freshSeconds * 1000; tick++) {
      const now = Date.now();
      await producer.send(Array.from({ length: perTick }, () => ctx.fleet.reading(now)));
      sent += perTick;
      const next = from + (tick + 1) * 100;
      await sleep(Math.max(0, next - Date.now()));
    }
  } finally {
    await producer.disconnect();
  }
  const fresh = async () =>
    Number(
      (
        await timed.query<{ n: string }>(
          `SELECT toString(count()) AS n FROM ${database}.telemetry_raw WHERE event_time >= fromUnixTimestamp64Milli({from:Int64})`,
          { from },
        )
      )[0]?.n ?? 0,
    );
  const deadline = Date.now() + 30_000;
  let seen = 0;
  while ((seen = await fresh()) < sent && Date.now() < deadline) await sleep(100);
  const [row] = await timed.query<{ n: string; p50: number; p99: number; max: number }>(
    `SELECT toString(count()) AS n, quantileExact(0.5)(lat) AS p50, quantileExact(0.99)(lat) AS p99, max(lat) AS max
     FROM (SELECT toUnixTimestamp64Milli(ingested_at) - toUnixTimestamp64Milli(event_time) AS lat
           FROM ${database}.telemetry_raw WHERE event_time >= fromUnixTimestamp64Milli({from:Int64}))`,
    { from },
  );
  const insertMs = timed.inserts.map((i) => i.ms).sort((a, b) => a - b);
  const insertP99 = insertMs.length ? insertMs[Math.min(insertMs.length - 1, Math.floor(insertMs.length * 0.99))]! : undefined;
  const note =
    `${sent} readings at ${settings.freshRate}/s for ${settings.freshSeconds} s via TelemetryProducer; latency = ingested_at - event_time ` +
    `(event_time = produce time); ${timed.inserts.length} inserts, p99 ${insertP99?.toFixed(0) ?? 'n/a'} ms each (add for "queryable")` +
    (seen < sent ? `; only ${seen} of ${sent} arrived within 30 s` : '');
  return { samples: Number(row?.n ?? 0), p50Ms: row?.p50, p99Ms: row?.p99, maxMs: row?.max, insertP99Ms: insertP99, note };
}

/** 2c. The naive baseline: kafkajs eachMessage, one INSERT per record, on a slice of the topic. */
async function naive(ctx: Context, chdb: ChdbTransport): Promise<Throughput> {
  const database = `bench_${ctx.id}_naive`;
  await migrate(chdb, { database, ttlDays: 365 });
  const repository = new HistoryRepository(chdb, database);
  const codec = new RegistryCodec<Telemetry>(ctx.registry, readAvroSchema('telemetry'));
  const groupId = `${ctx.prefix}.naive`;
  ctx.groups.push(groupId);
  const consumer = ctx.kafka.consumer({ groupId });
  let done = 0;
  let firstAt = 0;
  let lastAt = 0;
  let stopped = false;
  let failure: string | undefined;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [ctx.topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        if (stopped) return;
        if (!firstAt) firstAt = Date.now();
        try {
          const decoded = await codec.decode(message.value);
          if (decoded.ok) {
            await repository.insertTelemetry([telemetryRow(decoded.value, topic, partition, message.offset)]);
          }
        } catch (error) {
          failure = describeError(error);
          stopped = true;
          finish();
          return;
        }
        done++;
        lastAt = Date.now();
        if (done >= settings.naiveRecords || lastAt - firstAt >= settings.naiveSeconds * 1000) {
          stopped = true;
          finish();
        }
      },
    });
    await withTimeout(finished, settings.naiveSeconds * 1000 + 60_000, 'the naive consumer').catch((error: unknown) => {
      failure ??= describeError(error);
    });
  } finally {
    stopped = true;
    await consumer.disconnect().catch(() => undefined);
  }
  const ms = lastAt - firstAt;
  const note = `${done} records in ${(ms / 1000).toFixed(1)} s from the first message (group join excluded)${failure ? `; stopped by: ${failure}` : ''}`;
  if (done === 0) return { unavailable: failure ?? 'no record consumed' };
  return { records: done, seconds: ms / 1000, rate: rate(done, ms), note };
}

// ---------------------------------------------------------------------------------------------
// report


function ratioRow(name: string, numerator: number | undefined, denominator: number | undefined, target: number, unit = '×'): string[] {
  if (numerator === undefined || denominator === undefined || denominator === 0) return [name, 'n/a', `≥ ${target}${unit}`, 'n/a'];
  const value = numerator / denominator;
  return [name, `${value >= 10 ? value.toFixed(0) : value.toFixed(2)}${unit}`, `≥ ${target}${unit}`, value >= target ? 'met' : 'MISSED'];
}


function printReport(context: { topic: string }): void {
  const throughputRow = (name: string, t: Throughput | undefined): string[] => {
    if (!t) return [name, 'not run', '', ''];
    if (t.unavailable && t.rate === undefined) return [name, 'unavailable', '', ''];
    return [
      name + (t.unavailable ? ' (incomplete)' : ''),
      fmtRate(t.rate),
      t.records?.toLocaleString('en-US') ?? '',
      t.seconds?.toFixed(2) ?? '',
    ];
  };
  console.log('\n================ ingest benchmark: results ================');
  console.log(machine());
  console.log(`topic ${context.topic}: ${settings.records.toLocaleString('en-US')} records, ${settings.devices.toLocaleString('en-US')} devices, ${settings.partitions} partitions; writer batch ${settings.batchRows} rows / ${settings.batchMs} ms\n`);
  console.log(
    table([
      ['path', 'records/s', 'records', 'seconds'],
      throughputRow('produce (bench loader, kafkajs)', results.produce),
      throughputRow('a. raw: kcat → /dev/null', results.raw),
      ...results.engines.map(({ result }, i) => throughputRow(`b. ClickHouse Kafka engine, config ${i + 1}`, result)),
      throughputRow('c. naive: eachMessage + 1 INSERT/record', results.naive),
      throughputRow('d. fleetstream end to end (cold start)', results.ours),
      throughputRow('d. fleetstream, first→last batch', results.oursSteady),
      ...(settings.phases.has('ours-sql')
        ? [throughputRow('g. fleetstream under heavy SQL (cold start)', results.oursSql), throughputRow('g. fleetstream under heavy SQL, first→last batch', results.oursSqlSteady)]
        : []),
    ]),
  );
  const o = results.ours?.unavailable ? undefined : results.ours?.rate;
  // against ClickHouse at its best on this machine
  const engineRates = results.engines.filter(({ result }) => !result.unavailable && result.rate).map(({ result }) => result.rate!);
  const bestEngine = engineRates.length ? Math.max(...engineRates) : undefined;
  const f = results.freshness;
  console.log('');
  console.log(
    table([
      ['ratio', 'value', 'target', ''],
      ratioRow('fleetstream / raw (kcat)', o, results.raw?.unavailable ? undefined : results.raw?.rate, TARGETS.oursOverRaw),
      ratioRow('fleetstream / ClickHouse Kafka engine (best config)', o, bestEngine, TARGETS.oursOverEngine),
      ratioRow('fleetstream / naive', o, results.naive?.unavailable ? undefined : results.naive?.rate, TARGETS.oursOverNaive),
      ratioRow('catch-up (× real time, 10k devices @ 1/10 s)', o, REAL_TIME_RATE, TARGETS.catchUp),
      f?.p99Ms === undefined
        ? ['freshness p99 (produce → stored)', 'n/a', `≤ ${TARGETS.freshnessP99Ms} ms`, 'n/a']
        : [
            'freshness p50 / p99 / max (produce → stored)',
            `${f.p50Ms} / ${f.p99Ms} / ${f.maxMs} ms`,
            `p99 ≤ ${TARGETS.freshnessP99Ms} ms`,
            f.p99Ms <= TARGETS.freshnessP99Ms ? 'met' : 'MISSED',
          ],
    ]),
  );
  if (settings.phases.has('ours-sql')) printHeavyQueries();
  console.log('\nnotes:');
  const notes: [string, { note?: string; unavailable?: string } | undefined][] = [
    ['produce', results.produce],
    ['raw', results.raw],
    ...results.engines.map(({ label, result }, i): [string, Throughput] => [`engine config ${i + 1} (${label})`, result]),
    ['naive', results.naive],
    ['fleetstream', results.ours],
    ['fleetstream steady', results.oursSteady],
    ['freshness', results.freshness],
    ['fleetstream under SQL', results.oursSql],
    ['freshness under SQL', results.freshnessUnderSql],
  ];
  for (const [name, r] of notes) {
    if (r?.unavailable) console.log(`- ${name}: UNAVAILABLE: ${r.unavailable}`);
    if (r?.note) console.log(`- ${name}: ${r.note}`);
  }
  console.log('- the stack (Kafka, registry) and this process share the machine; other load on it lowers every figure');
}

/** Ingest with and without the heavy queries, and what became of each query. */
function printHeavyQueries(): void {
  const plain = results.ours?.unavailable ? undefined : results.ours?.rate;
  const loaded = results.oursSql?.unavailable ? undefined : results.oursSql?.rate;
  const fresh = (f: Freshness | undefined) => (f?.p99Ms === undefined ? 'n/a' : `${f.p50Ms} / ${f.p99Ms} ms`);
  const insertLatency = (run: IngestRun | undefined) =>
    run?.insertP99Ms === undefined || Number.isNaN(run.insertP99Ms) ? 'n/a' : `${run.insertP50Ms!.toFixed(0)} / ${run.insertP99Ms.toFixed(0)} ms`;
  console.log('');
  console.log(
    table([
      ['ingest under heavy SQL', 'plain', 'with queries', 'ratio'],
      ['records/s (cold start)', fmtRate(plain), fmtRate(loaded), plain && loaded ? (loaded / plain).toFixed(2) : 'n/a'],
      ['records/s (first→last batch)', fmtRate(results.oursSteady?.rate), fmtRate(results.oursSqlSteady?.rate),
        results.oursSteady?.rate && results.oursSqlSteady?.rate ? (results.oursSqlSteady.rate / results.oursSteady.rate).toFixed(2) : 'n/a'],
      ['one batch INSERT p50 / p99', insertLatency(results.ingestRuns?.plain), insertLatency(results.ingestRuns?.underSql), ''],
      ...(results.freshness || results.freshnessUnderSql ? [['freshness p50 / p99 (produce → stored)', fresh(results.freshness), fresh(results.freshnessUnderSql), '']] : []),
    ]),
  );
  if (results.heavyQueriesUnavailable) console.log(`\nheavy queries: UNAVAILABLE: ${results.heavyQueriesUnavailable}`);
  const runs = results.heavyQueries ?? [];
  const groups = new Map<string, number[]>();
  for (const run of runs) {
    const key = `${run.name}\u0000${run.outcome}`;
    groups.set(key, [...(groups.get(key) ?? []), run.ms]);
  }
  console.log('');
  console.log(
    table([
      ['heavy query', 'outcome', 'runs', 'seconds each (min / max)'],
      ...[...groups].map(([key, ms]) => {
        const [name, outcome] = key.split('\u0000');
        return [name!, outcome!, String(ms.length), `${(Math.min(...ms) / 1000).toFixed(1)} / ${(Math.max(...ms) / 1000).toFixed(1)}`];
      }),
    ]),
  );
  const messages = new Map(runs.filter((r) => r.message).map((r) => [r.outcome, r.message!]));
  for (const [outcome, message] of messages) console.log(`- ${outcome}: ${message}`);
  console.log(`- peak resident memory of this process (writer + queries): ${(process.resourceUsage().maxRSS / 2 ** 20).toFixed(2)} GiB`);
}

// ---------------------------------------------------------------------------------------------
// main

async function main(): Promise<void> {
  const id = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const prefix = `bench.${id}`;
  const config = loadConfig({ ...process.env, TOPIC_PREFIX: prefix });
  const topics = fleetTopics(prefix);
  const dataDir = process.env.BENCH_DATA_DIR || mkdtempSync(join(tmpdir(), 'fleetstream-bench-'));
  mkdirSync(dataDir, { recursive: true });
  const kafka = createKafka(kafkaSettings(config, `bench-${id}`));
  const ctx: Context = {
    id,
    prefix,
    topic: topics.telemetry,
    kafka,
    brokers: config.KAFKA_BROKERS,
    registryUrl: config.SCHEMA_REGISTRY_URL,
    registry: new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL }),
    fleet: new SimulatedFleet(settings.devices),
    dataDir,
    groups: [],
  };
  console.log('fleetstream ingest benchmark');
  console.log(machine());
  log(`topic prefix ${prefix}, chdb data in ${dataDir}, Kafka ${config.KAFKA_BROKERS.join(',')}, registry ${config.SCHEMA_REGISTRY_URL}`);

  const needed = new Set([topics.telemetry, topics.telemetryDlq]);
  await ensureTopics(kafka, fleetTopicDefinitions(topics, settings.partitions).filter((t) => needed.has(t.topic)));
  try {
    log(`1. producing ${settings.records.toLocaleString('en-US')} readings of ${settings.devices} devices into ${ctx.topic} (${settings.partitions} partitions)`);
    await produce(ctx);

    if (settings.phases.has('raw')) {
      log('2a. raw: kcat reading the whole topic');
      results.raw = await raw(ctx).catch((error: unknown) => ({ unavailable: describeError(error) }));
      log(`raw: ${results.raw.unavailable ?? `${fmtRate(results.raw.rate)} records/s in ${results.raw.seconds?.toFixed(2)} s`}`);
    }

    if (settings.phases.has('engine')) {
      for (const [run, { consumers, blockSize }] of settings.engineConfigs.entries()) {
        const label = `kafka_num_consumers=${consumers}${consumers > 1 ? ' (thread per consumer)' : ''}, kafka_max_block_size=${blockSize}`;
        log(`2b. ClickHouse Kafka table engine (kafka_format = 'AvroConfluent') in chdb, ${label}`);
        const result = await engine(ctx, run, consumers, blockSize);
        results.engines.push({ label, result });
        log(`engine: ${result.unavailable ?? `${fmtRate(result.rate)} records/s in ${result.seconds?.toFixed(1)} s`}`);
      }
    }

    const chdb = new ChdbTransport(join(dataDir, 'main'));
    ctx.chdb = chdb;
    const timed = new TimedTransport(chdb);
    try {
      const plain: IngestRun = { name: 'fleetstream', database: `bench_${id}_ours`, groupId: fleetGroups(prefix).history };
      if (settings.phases.has('ours')) {
        log(`2d. fleetstream: BatchConsumer + HistoryWriter, batches of ${settings.batchRows} rows / ${settings.batchMs} ms`);
        const running = await ours(ctx, timed, plain).catch((error: unknown) => {
          plain.result = { unavailable: describeError(error) };
          return undefined;
        });
        [results.ours, results.oursSteady] = [plain.result, plain.steady];
        if (running && settings.phases.has('fresh')) {
          log(`2f. freshness: ${settings.freshRate} readings/s for ${settings.freshSeconds} s with the writer caught up`);
          results.freshness = await freshness(ctx, timed, running.database).catch((error: unknown) => ({ unavailable: describeError(error) }));
          log(`freshness: ${results.freshness.unavailable ?? `p50 ${results.freshness.p50Ms} ms, p99 ${results.freshness.p99Ms} ms`}`);
        }
        await running?.stop();
      }
      if (settings.phases.has('ours-sql')) {
        const underSql: IngestRun = { name: 'fleetstream under SQL', database: `bench_${id}_ours_sql`, groupId: `${fleetGroups(prefix).history}-sql` };
        // the queries read the history `ours` loaded, else the table this phase fills as it goes
        const queried = results.ours?.records ? plain.database : underSql.database;
        log(`2g. fleetstream again, into ${underSql.database}, with heavy SQL-interface queries over ${queried}.telemetry_raw`);
        try {
          const heavy = startHeavyQueries(join(dataDir, 'main'), queried);
          log(`sql: ${heavy.describe}`);
          const running = await ours(ctx, timed, underSql).catch((error: unknown) => {
            underSql.result = { unavailable: describeError(error) };
            return undefined;
          });
          [results.oursSql, results.oursSqlSteady] = [underSql.result, underSql.steady];
          results.ingestRuns = { plain, underSql };
          if (running && settings.phases.has('fresh')) {
            log(`2h. freshness with the heavy queries still running`);
            results.freshnessUnderSql = await freshness(ctx, timed, running.database).catch((error: unknown) => ({ unavailable: describeError(error) }));
            log(`freshness under SQL: ${results.freshnessUnderSql.unavailable ?? `p50 ${results.freshnessUnderSql.p50Ms} ms, p99 ${results.freshnessUnderSql.p99Ms} ms`}`);
          }
          results.heavyQueries = await heavy.stop();
          await running?.stop();
        } catch (error) {
          results.heavyQueriesUnavailable = describeError(error);
          log(`ours-sql: ${results.heavyQueriesUnavailable}`);
        }
      }
      if (settings.phases.has('naive')) {
        log(`2c. naive: eachMessage + one INSERT per record, first ${settings.naiveRecords} records or ${settings.naiveSeconds} s`);
        results.naive = await naive(ctx, chdb).catch((error: unknown) => ({ unavailable: describeError(error) }));
        log(`naive: ${results.naive.unavailable ?? `${fmtRate(results.naive.rate)} records/s (${results.naive.note})`}`);
      }
    } finally {
      await chdb.close();
    }
  } finally {
    if (!settings.keep) {
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteGroups(ctx.groups).catch(() => undefined);
      await admin.deleteTopics({ topics: [...needed] }).catch((error: unknown) => log(`could not delete the bench topics: ${describeError(error)}`));
      await admin.disconnect();
      if (!process.env.BENCH_DATA_DIR) rmSync(dataDir, { recursive: true, force: true });
      log(`deleted topics ${[...needed].join(', ')}, their consumer groups and ${dataDir} (BENCH_KEEP=1 keeps them)`);
    }
  }
  printReport(ctx);
}

if (process.argv[2] === '--engine-worker') {
  engineWorker(process.argv[3]!).catch((error: unknown) => {
    console.log(`BENCH_RESULT ${JSON.stringify({ unavailable: describeError(error) })}`);
    process.exitCode = 0;
  });
} else {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(`[bench] error: ${describeError(error)}`);
      console.error('[bench] is the stack running? `bash infra/local/stack.sh start` (bench/ingest.sh does it)');
      process.exit(1);
    },
  );
}
