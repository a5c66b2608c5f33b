/**
 * Alerts benchmark: what evaluating alert rules costs the ingest, and how soon a breach is an alarm.
 *
 *   npm run bench:alerts                     (bench/alerts.sh: deps, stack, build, then this file)
 *   node dist/bench/alerts.bench.js          (the stack must be running and dist/ built)
 *
 * The built server (dist/) runs on private topic prefixes (`bench.<id>a`, `bench.<id>b`) with its own
 * data directories; topics, groups and data are deleted at the end (BENCH_KEEP=1 keeps them).
 *
 * 1. Evaluation throughput. BENCH_RULES rules (a mix: thresholds on temperature, humidity and battery,
 *    some held for forSeconds, some with a clear (hysteresis), rate-of-change and absence rules; a
 *    third scoped by an attribute or a metric range) are made over REST on prefix b by a server
 *    that runs no processor. Then BENCH_READINGS readings of a BENCH_DEVICES fleet (the simulator's
 *    readings) are produced onto both prefixes' fleet.telemetry, and the server is started twice,
 *    one after the other:
 *      (a) prefix a, the default processors (history, twins, commands, notifications);
 *      (b) prefix b, the same plus `alerts`, with the rules in place.
 *    Each run's rate is the readings over the time from the first committed progress of its consumer
 *    groups on fleet.telemetry to all of them at lag 0 (the server's start-up is not in it; the time
 *    from spawning the process is printed too). Alert evaluations per second: the server's
 *    fleetstream_alert_evaluations_total (readings × rules that apply to them) over the alert
 *    processor's own time to lag 0.
 * 2. Latency, on (b) still running: readings at BENCH_RATE/s for BENCH_SECONDS; a share
 *    BENCH_BREACH_FRACTION of them carry `latencyProbe: 100` on a device whose probe alarm is not
 *    active, which the rule `bench-latency` (latencyProbe > 50, clear < 50, one of the BENCH_RULES)
 *    raises; that device's next reading carries `latencyProbe: 0`, which clears it. Latency is from
 *    the produce call of the breaching reading (TelemetryProducer, the device-side path) to its
 *    RAISED record (readingSeq identifies the reading) arriving on fleet.alerts (read_committed).
 *
 * BENCH_MIX: `watch` (the default) puts the thresholds outside the simulator's normal ranges and gives 1 %
 * of the fleet overheating episodes (simulate --anomaly-rate 0.01), so alarms come from those devices,
 * as on a fleet being watched; `storm` puts half the thresholds inside the normal ranges, so every device
 * raises and clears alarms all the time (a stress case, not a configuration anyone keeps).
 *
 * Settings (env): BENCH_DEVICES (10000), BENCH_RULES (100), BENCH_READINGS (200000), BENCH_RATE
 * (1000), BENCH_SECONDS (60), BENCH_BREACH_FRACTION_PPM (10000, i.e. 1 %), BENCH_PARTITIONS (6),
 * BENCH_PHASE_TIMEOUT_S (600), BENCH_STALL_S (120: a run gives up when its groups commit nothing for that
 * long, and prints the server's failing /ready checks), BENCH_KEEP (0), BENCH_CPU_PROFILE (a file: the
 * server with alerts writes its .cpuprofile there when it stops), KAFKA_BROKERS, SCHEMA_REGISTRY_URL.
 *
 * A benchmark never fails a run: a phase that cannot run prints why, and the others go on.
 */
import { loadConfig } from '@fleetstream/config';
import type { AlertRule, Telemetry } from '@fleetstream/domain';
import { ConsumerGroupAdmin, createKafka, ensureTopics, fleetGroups, fleetTopicDefinitions, fleetTopics, FleetTopics, kafkaSettings, TelemetryProducer } from '@fleetstream/kafka';
import { AlertEventRecord, readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Kafka } from 'kafkajs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AnomalyEpisodes, SimulatedFleet } from '../apps/cli/src/commands/simulated-fleet';
import { describeError, envInt, log, machine, percentile, table } from './support/bench-report';
import { BenchServer } from './support/bench-server';
import { bulkProduce } from './support/bulk-produce';

const settings = {
  devices: Math.max(1, envInt('BENCH_DEVICES', 10_000)),
  rules: Math.max(1, envInt('BENCH_RULES', 100)),
  readings: Math.max(1, envInt('BENCH_READINGS', 200_000)),
  rate: Math.max(1, envInt('BENCH_RATE', 1000)),
  seconds: envInt('BENCH_SECONDS', 60),
  breachFraction: envInt('BENCH_BREACH_FRACTION_PPM', 10_000) / 1e6,
  partitions: Math.max(1, envInt('BENCH_PARTITIONS', 6)),
  phaseTimeoutMs: envInt('BENCH_PHASE_TIMEOUT_S', 600) * 1000,
  stallMs: envInt('BENCH_STALL_S', 120) * 1000,
  keep: process.env.BENCH_KEEP === '1',
  cpuProfile: process.env.BENCH_CPU_PROFILE || undefined,
  mix: process.env.BENCH_MIX === 'storm' ? ('storm' as const) : ('watch' as const),
};
/** In the `watch` mix, the share of the fleet with overheating episodes (the simulator's --anomaly-rate). */
const WATCH_ANOMALY_RATE = 0.01;
const DEFAULT_PROCESSORS = 'history,twins,commands,notifications';
const LATENCY_RULE = 'bench-latency';

// ---------------------------------------------------------------------------------------------
// the rules

/**
 * A realistic mix of `count` rules over the simulator's metrics (temperature 15–26, humidity 35–57,
 * battery slowly falling from 100; attribute firmware 1.4.2 or 1.5.0), the first the latency probe:
 * thresholds (some held for forSeconds, some with a clear), rate of change, absence; a third scoped.
 * `mix` decides whether the thresholds sit inside the normal ranges (storm) or outside them (watch).
 */
export function benchRules(count: number, mix: 'watch' | 'storm' = 'watch'): AlertRule[] {
  // watch: the bounds lie outside the normal ranges, so only the anomalous devices breach (a fleet being
  // watched); storm: half the bounds lie inside them, so every device raises and clears alarms all the time
  const storm = mix === 'storm';
  const rules: AlertRule[] = [
    { name: LATENCY_RULE, severity: 'info', condition: { type: 'threshold', metric: 'latencyProbe', op: '>', value: 50, forSeconds: 0, clear: { op: '<', value: 50 } } },
  ];
  const severities = ['critical', 'major', 'minor', 'warning', 'info'] as const;
  for (let i = 1; i < count; i++) {
    const severity = severities[i % severities.length]!;
    const scope = i % 3 === 0 ? { attribute: 'firmware:1.4.2' } : i % 3 === 1 && i % 2 === 0 ? { metric: 'battery:50:' } : undefined;
    const kind = i % 20;
    let condition: AlertRule['condition'];
    if (kind < 15) {
      const forSeconds = i % 4 === 1 ? 30 : 0;
      switch (i % 3) {
        case 0: {
          const value = (storm ? 23 : 30) + (i % 8); // storm: 23–30, the upper ones never breach; watch: 30–37, only an overheating device
          condition = { type: 'threshold', metric: 'temperature', op: '>', value, forSeconds, ...(i % 2 === 0 && { clear: { op: '<', value: value - 2 } }) };
          break;
        }
        case 1: {
          const value = (storm ? 50 : 60) + (i % 9);
          condition = { type: 'threshold', metric: 'humidity', op: '>=', value, forSeconds, ...(i % 2 === 0 && { clear: { op: '<=', value: value - 3 } }) };
          break;
        }
        default:
          condition = { type: 'threshold', metric: 'battery', op: '<', value: 10 + (i % 40), forSeconds };
      }
    } else if (kind < 18) {
      condition = { type: 'rateOfChange', metric: i % 2 === 0 ? 'temperature' : 'humidity', maxPerSecond: (storm ? 1 : 10) + (i % 5), windowSeconds: 30 };
    } else {
      // an hour of silence: no absence alarm goes off during the run, but each (device, rule) keeps a deadline
      condition = { type: 'absence', forSeconds: 3600, ...(i % 2 === 0 && { metric: 'temperature' }) };
    }
    rules.push({ name: `bench-${String(i).padStart(3, '0')}-${condition.type}`, severity, ...(scope && { scope }), condition });
  }
  return rules;
}

// ---------------------------------------------------------------------------------------------
// phase 1: throughput

interface IngestRun {
  label: string;
  /** From spawning the server to every group at lag 0. */
  wallMs: number;
  /** From the last poll before any group committed progress to every group at lag 0 (polled every 200 ms). */
  consumeMs: number;
  /** Per group, from that same start to the group at lag 0. */
  groups: { group: string; ms: number }[];
  evaluations?: number;
  /** The server's peak resident memory (VmHWM) once all was consumed. */
  peakRss?: number;
}

/** Committed progress of the groups on the telemetry topic, polled until all are at lag 0. */
async function consumeAll(
  admin: ConsumerGroupAdmin, groups: readonly string[], topic: string, spawnedAt: number, total: number, abandoned: AbortSignal,
): Promise<Omit<IngestRun, 'label' | 'evaluations' | 'peakRss'>> {
  /** The last poll that saw nothing consumed: consumption started after it. */
  let startedAfter = spawnedAt;
  let started = false;
  const doneAt = new Map<string, number>();
  const deadline = performance.now() + settings.phaseTimeoutMs;
  let lastLog = performance.now();
  let lastProgress = { at: performance.now(), consumed: 0 };
  while (doneAt.size < groups.length) {
    if (abandoned.aborted) throw new Error('abandoned');
    const now = performance.now();
    const lags = await Promise.all(groups.map(async (group) => ({ group, lag: (await admin.lag(group, [topic])).reduce((sum, p) => sum + p.lag, 0) })));
    const consumed = lags.reduce((sum, { lag }) => sum + (total - lag), 0);
    const lagText = lags.map(({ group, lag }) => `${group.split('.').at(-1)} ${lag.toLocaleString('en-US')}`).join(', ');
    if (consumed > lastProgress.consumed) lastProgress = { at: now, consumed };
    if (now - lastProgress.at > settings.stallMs) throw new Error(`no group committed anything for ${settings.stallMs / 1000} s (lag: ${lagText})`);
    if (now > deadline) throw new Error(`the groups did not catch up within ${settings.phaseTimeoutMs / 1000} s (lag: ${lagText})`);
    if (consumed === 0) startedAfter = now;
    else started = true;
    for (const { group, lag } of lags) if (lag === 0 && !doneAt.has(group) && started) doneAt.set(group, now);
    if (now - lastLog > 5000) {
      log(`  lag: ${lagText}`);
      lastLog = now;
    }
    await sleep(200);
  }
  const end = Math.max(...doneAt.values());
  return { wallMs: end - spawnedAt, consumeMs: end - startedAfter, groups: groups.map((group) => ({ group, ms: doneAt.get(group)! - startedAfter })) };
}

async function ingestRun(label: string, kafka: Kafka, prefix: string, processors: string, dataDir: string, profile: boolean): Promise<{ run: IngestRun; server: BenchServer }> {
  const all = fleetGroups(prefix);
  const groups = [all.history, all.twinProcessor, ...(processors.includes('alerts') ? [all.alertProcessor] : [])];
  const admin = new ConsumerGroupAdmin(kafka);
  const spawnedAt = performance.now();
  const abandon = new AbortController();
  // the server consumes before it reports ready: follow the groups from the spawn on
  const consumption = consumeAll(admin, groups, fleetTopics(prefix).telemetry, spawnedAt, settings.readings, abandon.signal);
  consumption.catch(() => undefined); // awaited below once the server is up; abandoned if it never is
  try {
    const { server } = await BenchServer.start({
      TOPIC_PREFIX: prefix, TELEMETRY_PARTITIONS: String(settings.partitions), FLEETSTREAM_DATA_DIR: dataDir, PROCESSORS: processors, SQL_HTTP_PORT: '0',
      ...(profile && settings.cpuProfile && {
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${join(__dirname, 'support/cpu-profile-on-exit.js')}`.trim(),
        BENCH_CPU_PROFILE_FILE: settings.cpuProfile,
      }),
    }).catch((error: unknown) => {
      abandon.abort();
      throw error;
    });
    try {
      const measured = await consumption;
      const run: IngestRun = { label, ...measured, peakRss: server.memory()?.peak };
      if (processors.includes('alerts')) run.evaluations = await evaluations(server);
      return { run, server };
    } catch (error) {
      const failing = await unhealthy(server);
      await server.stop();
      throw new Error(`${(error as Error).message}${failing ? `; the server's /ready says: ${failing}` : ''}`);
    }
  } finally {
    await admin.close();
  }
}

/** The failing checks of the server's /ready, in short: why a processor does not get on. */
async function unhealthy(server: BenchServer): Promise<string | undefined> {
  try {
    // a server whose event loop is starved answers late or never
    const ready = (await (await server.fetch('/ready', { signal: AbortSignal.timeout(15_000) })).json()) as { error?: Record<string, { message?: string }> };
    const failing = Object.entries(ready.error ?? {}).map(([check, { message }]) => `${check}: ${message ?? 'down'}`);
    return failing.length > 0 ? failing.join('; ') : undefined;
  } catch (error) {
    return `unreadable (${describeError(error)})`;
  }
}

/** fleetstream_alert_evaluations_total from the server's /metrics. */
async function evaluations(server: BenchServer): Promise<number | undefined> {
  const text = await (await server.fetch('/metrics')).text();
  const value = /^fleetstream_alert_evaluations_total (\S+)$/m.exec(text)?.[1];
  return value === undefined ? undefined : Number(value);
}

// ---------------------------------------------------------------------------------------------
// phase 2: latency

interface Latency {
  expected: number;
  raised: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

async function latency(kafka: Kafka, registry: SchemaRegistry, topics: FleetTopics, fleet: SimulatedFleet, ruleId: string): Promise<Latency> {
  const producer = new TelemetryProducer(kafka, new RegistryCodec<Telemetry>(registry, readAvroSchema('telemetry')), topics.telemetry);
  const eventCodec = new RegistryCodec<AlertEventRecord>(registry, readAvroSchema('alert-event'));
  const consumer = kafka.consumer({ groupId: `${topics.alerts}.bench-latency`, maxWaitTimeInMs: 10 });
  /** Breaching readings not raised yet: `<deviceId>/<seq>` → produce time. */
  const waiting = new Map<string, number>();
  const latencies: number[] = [];
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic: topics.alerts, fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: settings.partitions,
    eachMessage: async ({ message }) => {
      const arrivedAt = performance.now();
      const decoded = await eventCodec.decode(message.value);
      if (!decoded.ok || decoded.value.type !== 'RAISED' || decoded.value.ruleId !== ruleId) return;
      const key = `${decoded.value.deviceId}/${decoded.value.readingSeq}`;
      const producedAt = waiting.get(key);
      if (producedAt === undefined) return;
      waiting.delete(key);
      latencies.push(arrivedAt - producedAt);
    },
  });
  // devices whose probe alarm is (about to be) active: their next reading clears it
  const active = new Set<string>();
  let expected = 0;
  let owed = 0;
  const tickMs = 20;
  const perTick = Math.max(1, Math.round((settings.rate * tickMs) / 1000));
  const from = performance.now();
  try {
    await sleep(1000); // the consumer's first fetch
    for (let tick = 0; performance.now() - from < settings.seconds * 1000; tick++) {
      const readings = Array.from({ length: perTick }, () => fleet.reading(Date.now()));
      const breaching: Telemetry[] = [];
      for (const reading of readings) {
        if (active.delete(reading.deviceId)) reading.metrics.latencyProbe = 0;
        else if ((owed += settings.breachFraction) >= 1) {
          owed -= 1;
          reading.metrics.latencyProbe = 100;
          active.add(reading.deviceId);
          breaching.push(reading);
        }
      }
      const producedAt = performance.now();
      for (const { deviceId, seq } of breaching) waiting.set(`${deviceId}/${seq}`, producedAt);
      expected += breaching.length;
      await producer.send(readings);
      await sleep(Math.max(0, from + (tick + 1) * tickMs - performance.now()));
    }
    const deadline = Date.now() + 15_000;
    while (waiting.size > 0 && Date.now() < deadline) await sleep(100);
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
  }
  const at = (q: number) => Math.round(percentile(latencies, q));
  return { expected, raised: latencies.length, p50Ms: at(50), p99Ms: at(99), maxMs: at(100) };
}

// ---------------------------------------------------------------------------------------------

async function makeRules(prefix: string, dataDir: string): Promise<string> {
  // a server that runs no processor: it only takes the rules, as an operator's tool would send them
  const { server } = await BenchServer.start({ TOPIC_PREFIX: prefix, TELEMETRY_PARTITIONS: String(settings.partitions), FLEETSTREAM_DATA_DIR: dataDir, PROCESSORS: '', SQL_HTTP_PORT: '0' });
  try {
    let latencyRuleId = '';
    for (const rule of benchRules(settings.rules, settings.mix)) {
      const response = await server.fetch('/alert-rules', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(rule) });
      if (response.status !== 201) throw new Error(`POST /alert-rules ${rule.name} answered ${response.status}: ${await response.text()}`);
      const made = (await response.json()) as { id: string };
      if (rule.name === LATENCY_RULE) latencyRuleId = made.id;
    }
    return latencyRuleId;
  } finally {
    await server.stop();
  }
}

const fmt = (value: number) => Math.round(value).toLocaleString('en-US');
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main(): Promise<void> {
  const id = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
  const prefixes = { plain: `bench.${id}a`, alerts: `bench.${id}b` };
  const config = loadConfig({ ...process.env, TOPIC_PREFIX: prefixes.plain });
  const kafka = createKafka(kafkaSettings(config, `bench-${id}`));
  const registry = new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL });
  const topics = { plain: fleetTopics(prefixes.plain), alerts: fleetTopics(prefixes.alerts) };
  const definitions = [...fleetTopicDefinitions(topics.plain, settings.partitions), ...fleetTopicDefinitions(topics.alerts, settings.partitions)];
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetstream-bench-alerts-'));
  console.log('fleetstream alerts benchmark');
  console.log(machine());
  log(`topic prefixes ${prefixes.plain} (without alerts) and ${prefixes.alerts} (with), data in ${dataDir}`);
  log(`${settings.devices.toLocaleString('en-US')} devices, ${settings.rules} rules (${settings.mix} mix), ${settings.readings.toLocaleString('en-US')} readings; latency at ${settings.rate}/s for ${settings.seconds} s`);
  await ensureTopics(kafka, definitions);
  const runs: IngestRun[] = [];
  const problems: string[] = [];
  let latencyResult: Latency | undefined;
  let server: BenchServer | undefined;
  try {
    log(`making ${settings.rules} rules over REST on ${prefixes.alerts}`);
    const latencyRuleId = await makeRules(prefixes.alerts, join(dataDir, 'rules'));

    log(`producing ${settings.readings.toLocaleString('en-US')} readings onto ${topics.plain.telemetry} and ${topics.alerts.telemetry}`);
    const codec = new RegistryCodec<Telemetry>(registry, readAvroSchema('telemetry'));
    const schemaIds = [await codec.register(`${topics.plain.telemetry}-value`), await codec.register(`${topics.alerts.telemetry}-value`)];
    if (schemaIds[0] !== schemaIds[1]) throw new Error(`the two telemetry subjects got different schema ids (${schemaIds.join(', ')})`);
    // one fleet for both topics and the latency phase: each device's sequence keeps increasing
    const fleet = new SimulatedFleet(settings.devices, Math.random, settings.mix === 'watch' ? new AnomalyEpisodes(settings.devices, WATCH_ANOMALY_RATE, Date.now()) : undefined);
    const producedFrom = performance.now();
    let lastLog = producedFrom;
    const { bytes } = await bulkProduce(
      kafka,
      [topics.plain.telemetry, topics.alerts.telemetry],
      settings.readings,
      (size) => {
        const now = Date.now();
        return Promise.all(Array.from({ length: size }, async () => {
          const reading = fleet.reading(now);
          return { key: reading.deviceId, value: await codec.encode(schemaIds[0]!, reading), timestamp: String(now) };
        }));
      },
      (sent) => {
        if (performance.now() - lastLog > 5000) (log(`  ${sent.toLocaleString('en-US')} produced`), (lastLog = performance.now()));
      },
    );
    log(`produced in ${secs(performance.now() - producedFrom)}, ${(bytes / settings.readings).toFixed(0)} B/reading`);

    log(`1a. ingest without alerts: the server with PROCESSORS=${DEFAULT_PROCESSORS}`);
    try {
      const plain = await ingestRun('without alerts', kafka, prefixes.plain, DEFAULT_PROCESSORS, join(dataDir, 'plain'), false);
      runs.push(plain.run);
      await plain.server.stop();
      log(`  all consumed ${secs(plain.run.consumeMs)} after the first commit`);
    } catch (error) {
      problems.push(`1a: ${describeError(error)}`);
    }
    log(`1b. ingest with alerts: PROCESSORS=${DEFAULT_PROCESSORS},alerts and ${settings.rules} rules`);
    try {
      const withAlerts = await ingestRun(`with alerts (${settings.rules} rules)`, kafka, prefixes.alerts, `${DEFAULT_PROCESSORS},alerts`, join(dataDir, 'alerts'), true);
      runs.push(withAlerts.run);
      server = withAlerts.server;
      log(`  all consumed ${secs(withAlerts.run.consumeMs)} after the first commit, ${fmt(withAlerts.run.evaluations ?? 0)} evaluations`);
    } catch (error) {
      problems.push(`1b: ${describeError(error)}`);
    }
    if (server && settings.seconds > 0) {
      log(`2. latency: ${settings.rate} readings/s for ${settings.seconds} s, ${(settings.breachFraction * 100).toFixed(2)} % breaching`);
      latencyResult = await latency(kafka, registry, topics.alerts, fleet, latencyRuleId).catch((error: unknown) => {
        problems.push(`2: ${describeError(error)}`);
        return undefined;
      });
    }
  } finally {
    await server?.stop();
    if (!settings.keep) {
      const admin = kafka.admin();
      await admin.connect();
      // every group under the prefixes (the processors', the notifiers', the latency consumer's): deleteGroups fails whole on an unknown one
      const { groups } = await admin.listGroups();
      const ours = groups.map(({ groupId }) => groupId).filter((group) => Object.values(prefixes).some((prefix) => group.startsWith(`${prefix}.`)));
      await admin.deleteGroups(ours).catch((error: unknown) => log(`could not delete the bench groups: ${describeError(error)}`));
      await admin.deleteTopics({ topics: definitions.map((t) => t.topic) }).catch((error: unknown) => log(`could not delete the bench topics: ${describeError(error)}`));
      await admin.disconnect();
      rmSync(dataDir, { recursive: true, force: true });
      log(`deleted the ${prefixes.plain}.* and ${prefixes.alerts}.* topics, their groups and ${dataDir} (BENCH_KEEP=1 keeps them)`);
    }
  }
  report(runs, latencyResult, problems);
}

function report(runs: IngestRun[], latencyResult: Latency | undefined, problems: string[]): void {
  console.log(`\n## Alerts benchmark (${new Date().toISOString()})\n\n${machine()}\n`);
  console.log(`${settings.devices.toLocaleString('en-US')} devices, ${settings.readings.toLocaleString('en-US')} readings, ${settings.rules} rules (${settings.mix} mix), ${settings.partitions} partitions\n`);
  const rows = [['run', 'readings/s', 'consumed in', 'spawn → all consumed', 'server peak RSS', 'per group (from the same start)']];
  for (const run of runs) {
    rows.push([run.label, fmt((settings.readings * 1000) / run.consumeMs), secs(run.consumeMs), secs(run.wallMs), run.peakRss === undefined ? 'n/a' : `${Math.round(run.peakRss / 2 ** 20)} MiB`, run.groups.map(({ group, ms }) => `${group.split('.').at(-1)} ${secs(ms)}`).join(', ')]);
  }
  if (runs.length > 0) console.log(table(rows));
  const [plain, withAlerts] = runs.length === 2 ? runs : [];
  if (plain && withAlerts) {
    console.log(`\nwith alerts / without: ${(plain.consumeMs / withAlerts.consumeMs).toFixed(2)} of the ingest rate`);
    const alertGroup = withAlerts.groups.find(({ group }) => group.endsWith('.alert-processor'));
    if (withAlerts.evaluations !== undefined && alertGroup) {
      console.log(
        `alert evaluations: ${fmt(withAlerts.evaluations)} (${(withAlerts.evaluations / settings.readings).toFixed(1)} rules per reading), ` +
          `${fmt((withAlerts.evaluations * 1000) / alertGroup.ms)}/s over the alert processor's ${secs(alertGroup.ms)}`,
      );
    }
  }
  if (latencyResult) {
    console.log(
      `\n${table([
        ['figure', 'p50', 'p99', 'max', 'raised / expected'],
        [
          `breaching reading produced → RAISED on fleet.alerts, at ${settings.rate}/s (ms)`,
          String(latencyResult.p50Ms), String(latencyResult.p99Ms), String(latencyResult.maxMs), `${latencyResult.raised} / ${latencyResult.expected}`,
        ],
      ])}`,
    );
  }
  for (const problem of problems) console.log(`- could not measure ${problem}`);
  console.log('- Kafka, the registry, the server and this bench share the machine; other load on it lowers every figure');
}

main().catch((error: unknown) => {
  console.error(`alerts benchmark could not finish: ${describeError(error)}`);
  process.exitCode = 0; // a benchmark never fails a run
});
