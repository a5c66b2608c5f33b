/**
 * Commands benchmark: how fast intent reaches a device and an acknowledgment reaches the REST API.
 *
 *   npm run bench:commands                   (bench/commands.sh: deps, stack, build, then this file)
 *   node dist/bench/commands.bench.js        (the stack must be running and dist/ built)
 *
 * The built server (dist/) runs with PROCESSORS=twins,commands on a private `bench.<id>` topic
 * prefix; BENCH_DEVICES devices are reported online by a gateway event. The bench itself plays the
 * devices: it reads fleet.device-commands (read_committed, as a gateway would) and answers on
 * fleet.device-acks.
 *
 * 1. intent → device: POST /devices/:id/commands at BENCH_RATE commands/s for BENCH_SECONDS; latency
 *    from just before the POST to the EXECUTE record arriving on fleet.device-commands;
 * 2. ack → state: for each of those commands the device answers SUCCEEDED at once; for every
 *    BENCH_ACK_SAMPLE-th command, latency from just before the ack is produced to GET /commands/:id
 *    showing `succeeded` (polled every 2 ms);
 * 3. throughput: BENCH_BURST commands posted as fast as BENCH_CONCURRENCY connections allow; devices
 *    answer DELIVERED, ACCEPTED, SUCCEEDED at once; commands per second from the first POST until
 *    the last command is `succeeded` on fleet.command-state (four saga steps per command).
 * 4. memory: twice, on fresh topics and a fresh server — with COMMAND_RETENTION_S=BENCH_RETENTION_S
 *    and with the default (7 days) — BENCH_RETENTION_COMMANDS commands are posted for as many invented
 *    device ids (never online, ttlSeconds 0.1: each expires at once); the server's RSS
 *    (/proc/<pid>/status VmRSS) and V8 heap in use after a full GC (/metrics) before, and once every command ended
 *    (plus, with the short retention, was forgotten: GET → 404) and BENCH_RETENTION_S + 5 s passed.
 *
 * Settings (env): BENCH_DEVICES (200), BENCH_RATE (100), BENCH_SECONDS (20), BENCH_BURST (3000),
 * BENCH_CONCURRENCY (32), BENCH_ACK_SAMPLE (10), BENCH_PARTITIONS (6), BENCH_RETENTION_COMMANDS
 * (20000; 0 skips phase 4), BENCH_RETENTION_S (5), BENCH_SKIP_LATENCY (0; 1 runs phase 4 only),
 * KAFKA_BROKERS, SCHEMA_REGISTRY_URL.
 * A benchmark never fails a run: a phase that cannot run prints why.
 */
import { loadConfig } from '@fleetstream/config';
import type { AckStage } from '@fleetstream/domain';
import { AvroTopicProducer, createKafka, deleteTopicsIfPresent, ensureTopics, fleetTopicDefinitions, fleetTopics, kafkaSettings } from '@fleetstream/kafka';
import {
  CommandAckRecord, CommandStateSnapshot, DeviceCommandRecord, DeviceEventRecord, readAvroSchema, RegistryCodec, toCommandAckRecord,
} from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Consumer } from 'kafkajs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BenchServer } from './support/bench-server';
import { describeError, envInt, log, machine, percentile, table } from './support/bench-report';

const settings = {
  devices: envInt('BENCH_DEVICES', 200),
  rate: envInt('BENCH_RATE', 100),
  seconds: envInt('BENCH_SECONDS', 20),
  burst: envInt('BENCH_BURST', 3000),
  concurrency: envInt('BENCH_CONCURRENCY', 32),
  ackSample: Math.max(1, envInt('BENCH_ACK_SAMPLE', 10)),
  partitions: envInt('BENCH_PARTITIONS', 6),
  retentionCommands: envInt('BENCH_RETENTION_COMMANDS', 20_000),
  retentionS: Math.max(1, envInt('BENCH_RETENTION_S', 5)),
  skipLatency: envInt('BENCH_SKIP_LATENCY', 0) === 1,
};
const TARGET_P99_MS = 20;

const deviceId = (n: number) => `bench-dev-${String(n % settings.devices).padStart(5, '0')}`;

/** What the bench's devices do with each EXECUTE, by the bench sequence number in its params. */
type Answer = (command: DeviceCommandRecord, seq: number, arrivedAt: number) => Promise<void>;

async function main(): Promise<void> {
  if (!settings.skipLatency) await latencyAndThroughput();
  if (settings.retentionCommands > 0) await memoryOverRetention();
}

async function latencyAndThroughput(): Promise<void> {
  const id = `bench.c${Date.now().toString(36)}`;
  const config = loadConfig({ ...process.env, TOPIC_PREFIX: id, TELEMETRY_PARTITIONS: String(settings.partitions) });
  const topics = fleetTopics(id);
  const kafka = createKafka(kafkaSettings(config, `${id}-bench`));
  const registry = new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL });
  await ensureTopics(kafka, fleetTopicDefinitions(topics, settings.partitions));
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetstream-bench-commands-'));
  log(`machine:\n${machine()}`);
  log(`topics under ${id}; ${settings.devices} devices; starting the server (PROCESSORS=twins,commands)`);
  const { server } = await BenchServer.start({ TOPIC_PREFIX: id, TELEMETRY_PARTITIONS: String(settings.partitions), FLEETSTREAM_DATA_DIR: dataDir, PROCESSORS: 'twins,commands' });

  const gateway = new AvroTopicProducer(kafka, new RegistryCodec<DeviceEventRecord>(registry, readAvroSchema('device-event')), topics.deviceEvents, (e) => e.deviceId);
  const acks = new AvroTopicProducer(kafka, new RegistryCodec<CommandAckRecord>(registry, readAvroSchema('command-ack')), topics.deviceAcks, (a) => a.deviceId);
  await gateway.connect();
  await acks.connect();
  const consumers: Consumer[] = [];
  try {
    const now = Date.now();
    await gateway.send(Array.from({ length: settings.devices }, (_, n) => ({
      deviceId: deviceId(n), requestId: `bench-${n}`, at: now, kind: 'CONNECTIVITY' as const, patchJson: null, expectedVersion: null, online: true,
    })));
    await waitUntil(async () => (await server.fetch(`/devices/${deviceId(settings.devices - 1)}/twin`)).ok, 60_000, 'the devices to show up online');

    const ack = ({ commandId, deviceId, attempt }: DeviceCommandRecord, stage: AckStage) =>
      acks.send([toCommandAckRecord({ commandId, deviceId, stage, attempt, detail: null, result: null }, Date.now())]);
    let answer: Answer = async () => undefined;
    const devicesConsumer = kafka.consumer({ groupId: `${id}.devices`, maxWaitTimeInMs: 10 });
    consumers.push(devicesConsumer);
    const commandCodec = new RegistryCodec<DeviceCommandRecord>(registry, readAvroSchema('device-command'));
    await devicesConsumer.connect();
    await devicesConsumer.subscribe({ topic: topics.deviceCommands, fromBeginning: true });
    await devicesConsumer.run({
      partitionsConsumedConcurrently: settings.partitions,
      eachMessage: async ({ message }) => {
        const arrivedAt = performance.now();
        const decoded = await commandCodec.decode(message.value);
        if (!decoded.ok || decoded.value.action !== 'EXECUTE') return;
        const seq = (JSON.parse(decoded.value.paramsJson) as { seq: number }).seq;
        void answer(decoded.value, seq, arrivedAt);
      },
    });

    // 1 + 2: latencies at a steady rate
    const total = settings.rate * settings.seconds;
    const postedAt = new Map<number, number>();
    const toDevice: number[] = [];
    const ackToState: number[] = [];
    const visible: Promise<void>[] = [];
    answer = async (command, seq, arrivedAt) => {
      const posted = postedAt.get(seq);
      if (posted !== undefined) toDevice.push(arrivedAt - posted);
      visible.push(
        (async () => {
          const ackedAt = performance.now();
          await ack(command, 'succeeded');
          // polling every command every 2 ms would load the server more than the commands do: a sample
          if (seq % settings.ackSample !== 0) return;
          await waitUntil(async () => (await getState(server, command.commandId)) === 'succeeded', 10_000, `command ${command.commandId} to show succeeded`, 2);
          ackToState.push(performance.now() - ackedAt);
        })().catch((error: unknown) => log(`ack phase: ${describeError(error)}`)),
      );
    };
    log(`phase 1+2: ${total} commands at ${settings.rate}/s`);
    const started = performance.now();
    const posts: Promise<void>[] = [];
    for (let seq = 0; seq < total; seq++) {
      const due = started + (seq * 1000) / settings.rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      postedAt.set(seq, performance.now());
      posts.push(post(server, seq));
    }
    await Promise.all(posts);
    await waitUntil(async () => visible.length >= total, 30_000, 'every command to reach its device');
    await Promise.all(visible);

    // 3: throughput
    log(`phase 3: ${settings.burst} commands, ${settings.concurrency} at a time, full lifecycle`);
    const burstBase = total;
    answer = async (command) => {
      await ack(command, 'delivered');
      await ack(command, 'accepted');
      await ack(command, 'succeeded');
    };
    const stateCodec = new RegistryCodec<CommandStateSnapshot>(registry, readAvroSchema('command-state'));
    const ended = new Set<number>();
    let lastEndedAt = 0;
    const stateConsumer = kafka.consumer({ groupId: `${id}.states`, maxWaitTimeInMs: 10 });
    consumers.push(stateConsumer);
    await stateConsumer.connect();
    await stateConsumer.subscribe({ topic: topics.commandState, fromBeginning: true });
    await stateConsumer.run({
      eachMessage: async ({ message }) => {
        const decoded = await stateCodec.decode(message.value);
        if (!decoded.ok || decoded.value.status !== 'SUCCEEDED') return;
        const seq = (JSON.parse(decoded.value.request.paramsJson) as { seq: number }).seq;
        if (seq >= burstBase && !ended.has(seq)) {
          ended.add(seq);
          lastEndedAt = performance.now();
        }
      },
    });
    const burstStarted = performance.now();
    let next = burstBase;
    await Promise.all(
      Array.from({ length: settings.concurrency }, async () => {
        while (next < burstBase + settings.burst) await post(server, next++);
      }),
    );
    const postedIn = performance.now() - burstStarted;
    await waitUntil(async () => ended.size >= settings.burst, 120_000, 'every burst command to succeed');
    const lifecycleMs = lastEndedAt - burstStarted;

    const p = (values: number[], q: number) => percentile(values, q).toFixed(1);
    console.log(`\n## Commands benchmark (${new Date().toISOString()})\n\n${machine()}\n`);
    console.log(
      table([
        ['figure', 'p50', 'p99', 'max', 'samples', 'target'],
        ['POST → EXECUTE on fleet.device-commands (ms)', p(toDevice, 50), p(toDevice, 99), p(toDevice, 100), String(toDevice.length), `p99 ≤ ${TARGET_P99_MS}`],
        ['device ack → GET /commands/:id shows it (ms)', p(ackToState, 50), p(ackToState, 99), p(ackToState, 100), String(ackToState.length), `p99 ≤ ${TARGET_P99_MS}`],
      ]),
    );
    console.log(
      `\nthroughput: ${settings.burst} commands accepted by REST in ${(postedIn / 1000).toFixed(1)} s (${Math.round((settings.burst * 1000) / postedIn)}/s); ` +
        `all succeeded after ${(lifecycleMs / 1000).toFixed(1)} s → the saga sustained ${Math.round((settings.burst * 1000) / lifecycleMs)} commands/s ` +
        `(each: request, delivered, accepted, succeeded = 4 transactions' worth of steps)`,
    );
  } finally {
    for (const consumer of consumers) await consumer.disconnect().catch(() => undefined);
    await gateway.disconnect().catch(() => undefined);
    await acks.disconnect().catch(() => undefined);
    await server.stop();
    await deleteTopicsIfPresent(kafka, Object.values(topics)).catch((error: unknown) => log(`cleanup: ${describeError(error)}`));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Phase 4: memory after many commands that end, with a short retention and with the default one. */
async function memoryOverRetention(): Promise<void> {
  const rows: string[][] = [['COMMAND_RETENTION_S', 'commands', 'RSS before', 'RSS after', 'heap in use before', 'heap in use after', 'first command after']];
  for (const retentionS of [settings.retentionS, undefined]) {
    try {
      rows.push(await memoryAfterEndedCommands(retentionS));
    } catch (error) {
      log(`phase 4 (COMMAND_RETENTION_S=${retentionS ?? 'default'}): ${describeError(error)}`);
    }
  }
  console.log(`
## Commands memory over retention (${new Date().toISOString()})

${machine()}
`);
  console.log(table(rows));
}

async function memoryAfterEndedCommands(retentionS: number | undefined): Promise<string[]> {
  const id = `bench.m${Date.now().toString(36)}`;
  const config = loadConfig({ ...process.env, TOPIC_PREFIX: id, TELEMETRY_PARTITIONS: String(settings.partitions) });
  const topics = fleetTopics(id);
  const kafka = createKafka(kafkaSettings(config, `${id}-bench`));
  await ensureTopics(kafka, fleetTopicDefinitions(topics, settings.partitions));
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetstream-bench-commands-'));
  const retention = retentionS === undefined ? {} : { COMMAND_RETENTION_S: String(retentionS) };
  log(`phase 4: ${settings.retentionCommands} commands for invented devices, COMMAND_RETENTION_S=${retentionS ?? 'default'}`);
  const { server } = await BenchServer.start({
    TOPIC_PREFIX: id, TELEMETRY_PARTITIONS: String(settings.partitions), FLEETSTREAM_DATA_DIR: dataDir, PROCESSORS: 'twins,commands', ...retention,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc --require ${join(__dirname, 'support/gc-on-signal.js')}`.trim(),
  });
  try {
    await sleep(3000);
    const before = { rss: server.memory()?.rss, heap: await heapInUseAfterFullGc(server) };
    const ids: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: settings.concurrency }, async () => {
        while (next < settings.retentionCommands) {
          const seq = next++;
          ids[seq] = await postFor(server, `ghost-${id}-${seq}`, { name: 'bench', params: { seq }, ttlSeconds: 0.1 });
        }
      }),
    );
    const last = ids.at(-1)!;
    const gone = retentionS !== undefined;
    await waitUntil(async () => (await getState(server, last)) === (gone ? undefined : 'expired'), 300_000, `command ${last} to ${gone ? 'be forgotten' : 'expire'}`, 500);
    if (gone) await waitUntil(async () => (await getState(server, ids[0]!)) === undefined, 60_000, `command ${ids[0]} to be forgotten`, 500);
    await sleep((settings.retentionS + 5) * 1000);
    const after = { rss: server.memory()?.rss, heap: await heapInUseAfterFullGc(server) };
    const first = (await getState(server, ids[0]!)) ?? '404 (forgotten)';
    return [retentionS === undefined ? '604800 (default)' : String(retentionS), String(ids.length), mib(before.rss), mib(after.rss), mib(before.heap), mib(after.heap), first];
  } finally {
    await server.stop();
    await deleteTopicsIfPresent(kafka, Object.values(topics)).catch((error: unknown) => log(`cleanup: ${describeError(error)}`));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** V8 heap in use after a full garbage collection (SIGWINCH, see support/gc-on-signal), from the server's /metrics. */
async function heapInUseAfterFullGc(server: BenchServer): Promise<number | undefined> {
  if (server.pid !== undefined) process.kill(server.pid, 'SIGWINCH');
  await sleep(1000);
  const text = await (await server.fetch('/metrics')).text();
  const value = /^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1];
  return value === undefined ? undefined : Number(value);
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? 'n/a' : `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

async function postFor(server: BenchServer, device: string, body: object): Promise<string> {
  const response = await server.fetch(`/devices/${device}/commands`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (response.status !== 202) throw new Error(`POST for device ${device} answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { commandId: string }).commandId;
}

async function post(server: BenchServer, seq: number): Promise<void> {
  const response = await server.fetch(`/devices/${deviceId(seq)}/commands`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench', params: { seq }, ordered: false }),
  });
  if (response.status !== 202) throw new Error(`POST for command ${seq} answered ${response.status}: ${await response.text()}`);
}

async function getState(server: BenchServer, commandId: string): Promise<string | undefined> {
  const response = await server.fetch(`/commands/${commandId}`);
  return response.ok ? ((await response.json()) as { state: string }).state : undefined;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

main().catch((error: unknown) => {
  console.error(`commands benchmark could not finish: ${describeError(error)}`);
  process.exitCode = 0; // a benchmark never fails a run
});
