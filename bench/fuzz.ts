/**
 * Fuzz: random and mutated records on every topic fleetstream consumes, interleaved with valid
 * ones, against the built service; then what became of each kind.
 *
 *   npm run fuzz                 (bench/fuzz.sh: deps, stack, build, then this file)
 *   node dist/bench/fuzz.js      (the stack must be running and dist/ built)
 *
 * The built server (dist/) runs every processor on a private `bench.f<id>` topic prefix. The fuzz
 * sends FUZZ_RECORDS records over telemetry, device-events, commands and device-acks: FUZZ_VALID_PERCENT
 * of them valid (their own devices, so each one's effect can be counted), the rest random bytes or
 * mutations of valid Avro records (bit flips, truncation, extension, random, swapped and null keys,
 * 10,000-key maps, non-finite numbers and broken JSON, wrong schema ids, 1 MB values). Then it waits
 * until every consumer group is at the end of its inputs, and prints: dead letters by reason (from
 * the DLQ topic), records the read models skipped (/metrics), valid records processed vs sent, stalls
 * (a partition behind with a record to read and no progress for FUZZ_STALL_S seconds; must be 0), and
 * the time from SIGKILL to GET /ready 200 of a new process.
 *
 * Settings (env): FUZZ_RECORDS (20000), FUZZ_VALID_PERCENT (50), FUZZ_SEED (random; printed, to
 * repeat a run), FUZZ_PARTITIONS (6), FUZZ_DEVICES (40 per input topic), FUZZ_STALL_S (30),
 * KAFKA_BROKERS, SCHEMA_REGISTRY_URL. A benchmark never fails a run: a phase that cannot run prints why.
 */
import { loadConfig } from '@fleetstream/config';
import {
  deleteTopicsIfPresent,
  ConsumedRecord, ConsumerGroupAdmin, createKafka, DLQ_HEADERS, kafkaSettings, ensureTopics, fleetGroups, fleetTopicDefinitions, fleetTopics, lagOf, partitionOf, readTopicsToEnd,
} from '@fleetstream/kafka';
import { CommandAckRecord, toCommandEventRecord } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Kafka, Message, Producer } from 'kafkajs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BenchServer } from './support/bench-server';
import { describeError, envInt, log, machine, table } from './support/bench-report';
import { commandRequest, framed, InputRecords, WIRE_HEADER_BYTES } from './support/input-records';

const settings = {
  records: envInt('FUZZ_RECORDS', 20_000),
  validPercent: Math.min(100, envInt('FUZZ_VALID_PERCENT', 50)),
  seed: envInt('FUZZ_SEED', Math.floor(Math.random() * 2 ** 31)),
  partitions: Math.max(1, envInt('FUZZ_PARTITIONS', 6)),
  devices: Math.max(1, envInt('FUZZ_DEVICES', 40)),
  stallSeconds: envInt('FUZZ_STALL_S', 30),
};
const COMMANDS_PER_ACK_DEVICE = 5;
/** Just under the broker's largest record batch (message.max.bytes, 1 MiB by default). */
const MEGABYTE = 1_000_000;
/** A producer request per topic holds at most this many bytes (kafkajs puts a partition's records in one batch). */
const REQUEST_BYTES = 512 * 1024;
const ACK_STAGES: CommandAckRecord['stage'][] = ['DELIVERED', 'ACCEPTED', 'SUCCEEDED'];

type InputTopic = 'telemetry' | 'deviceEvents' | 'commands' | 'deviceAcks';
const INPUT_TOPICS: InputTopic[] = ['telemetry', 'deviceEvents', 'commands', 'deviceAcks'];

interface Outgoing {
  topic: InputTopic;
  key: Buffer | string | null;
  value: Buffer | null;
  /** What the record is: `valid`, or the mutation that made it (named in a stall report). */
  label?: string;
}

/** mulberry32: a small seeded generator, so a run that found something can be repeated with FUZZ_SEED. */
class Random {
  constructor(private state: number) {}
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = Math.imul(this.state ^ (this.state >>> 15), 1 | this.state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(below: number): number {
    return Math.floor(this.next() * below);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(length: number): Buffer {
    return Buffer.from(Array.from({ length }, () => this.int(256)));
  }
}

const device = (kind: string, topic: InputTopic, n: number) => `fuzz-${kind}-${topic}-${n % settings.devices}`;
const tenThousandKeys = () => Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, i]));

/**
 * The records of the run, in the order they are sent. Valid ones go to `fuzz-ok-*` devices and are
 * counted per device; mutations start from valid records of `fuzz-mut-*` devices, so a mutant that
 * still decodes never lands on a device whose valid records are counted.
 */
class FuzzPlan {
  readonly sent = { valid: new Map<InputTopic, number>(), hostile: new Map<string, number>() };
  /** Valid readings per telemetry device; valid patches per event device (each one changes the twin). */
  readonly validPerDevice = new Map<string, number>();
  readonly validCommandIds: string[] = [];
  /** Acknowledgments that move a command one stage on, per command (at most 3: delivered, accepted, succeeded). */
  readonly progressingAcks = new Map<string, number>();
  private seq = 0;

  constructor(
    private readonly rnd: Random,
    private readonly records: InputRecords,
    /** Per acknowledging device: its commands, sent and waiting. */
    private readonly ackCommands: Map<string, string[]>,
  ) {}

  async next(): Promise<Outgoing> {
    const topic = this.rnd.pick(INPUT_TOPICS);
    if (this.rnd.int(100) < settings.validPercent) {
      this.sent.valid.set(topic, (this.sent.valid.get(topic) ?? 0) + 1);
      return this.valid(topic);
    }
    const [mutation, outgoing] = await this.hostile(topic);
    const name = `${topic} / ${mutation}`;
    this.sent.hostile.set(name, (this.sent.hostile.get(name) ?? 0) + 1);
    return { label: mutation, ...outgoing };
  }

  private async valid(topic: InputTopic): Promise<Outgoing> {
    const n = ++this.seq;
    const count = (deviceId: string) => this.validPerDevice.set(deviceId, (this.validPerDevice.get(deviceId) ?? 0) + 1);
    switch (topic) {
      case 'telemetry': {
        const deviceId = device('ok', topic, this.rnd.int(settings.devices));
        count(deviceId);
        return { topic, key: deviceId, value: await this.template(topic, deviceId, n) };
      }
      case 'deviceEvents': {
        const deviceId = device('ok', topic, this.rnd.int(settings.devices));
        count(deviceId);
        return { topic, key: deviceId, value: await this.template(topic, deviceId, n) };
      }
      case 'commands': {
        const deviceId = device('ok', topic, this.rnd.int(settings.devices));
        const commandId = `fuzz-ok-cmd-${n}`;
        this.validCommandIds.push(commandId);
        return { topic, key: deviceId, value: await this.records.commandRequested(commandRequest(commandId, deviceId)) };
      }
      case 'deviceAcks': {
        const deviceId = this.rnd.pick([...this.ackCommands.keys()]);
        const commandId = this.rnd.pick(this.ackCommands.get(deviceId)!);
        const acked = this.progressingAcks.get(commandId) ?? 0;
        // the stages in order, then repeats of the last one (harmless duplicates)
        this.progressingAcks.set(commandId, Math.min(ACK_STAGES.length, acked + 1));
        const stage = ACK_STAGES[Math.min(acked, ACK_STAGES.length - 1)]!;
        return { topic, key: deviceId, value: await this.records.commandAck({ commandId, deviceId, stage }) };
      }
    }
  }

  /** A valid value for a device of the topic, its JSON field (patch, params, result) set when given. */
  private template(topic: InputTopic, deviceId: string, n: number, json?: string, metrics?: Record<string, number>): Promise<Buffer> {
    const now = Date.now();
    switch (topic) {
      case 'telemetry':
        return this.records.telemetry({ deviceId, eventTime: now, seq: n, metrics: metrics ?? { temperature: n % 40, humidity: n % 100 }, attributes: { firmware: '1.0.0' } });
      case 'deviceEvents':
        return this.records.desiredPatch(deviceId, json ?? JSON.stringify({ n }));
      case 'commands': {
        const record = toCommandEventRecord({ type: 'CommandRequested', data: commandRequest(`fuzz-mut-cmd-${n}`, deviceId), metadata: { at: now } });
        return this.records.commandEvent(json === undefined ? record : { ...record, request: { ...record.request!, paramsJson: json } });
      }
      case 'deviceAcks': {
        // now and then an acknowledgment of a command of another device
        const commandId = this.rnd.int(4) === 0 ? this.rnd.pick([...this.ackCommands.values()].flat()) : `fuzz-mut-cmd-${n}`;
        return this.records.commandAck({ commandId, deviceId, stage: this.rnd.pick(ACK_STAGES), resultJson: json ?? null });
      }
    }
  }

  private async hostile(topic: InputTopic): Promise<[string, Outgoing]> {
    const n = ++this.seq;
    const index = this.rnd.int(settings.devices);
    const deviceId = device('mut', topic, index);
    const valid = () => this.template(topic, deviceId, n);
    const withValue = async (value: Buffer | null, key: Outgoing['key'] = deviceId): Promise<Outgoing> => ({ topic, key, value });
    const mutations: Record<string, () => Promise<Outgoing>> = {
      'random bytes': () => withValue(this.rnd.bytes(this.rnd.int(2048)), this.rnd.bytes(1 + this.rnd.int(32))),
      'empty value': () => withValue(Buffer.alloc(0)),
      'null value': () => withValue(null),
      'bit flips': async () => {
        const value = Buffer.from(await valid());
        for (let flips = 1 + this.rnd.int(8); flips > 0; flips--) {
          const i = this.rnd.int(value.length);
          value[i] = value[i]! ^ (1 << this.rnd.int(8));
        }
        return withValue(value);
      },
      truncation: async () => {
        const value = await valid();
        return withValue(value.subarray(0, this.rnd.int(value.length)));
      },
      extension: async () => withValue(Buffer.concat([await valid(), this.rnd.bytes(1 + this.rnd.int(64))])),
      'random key': async () => withValue(await valid(), this.rnd.bytes(1 + this.rnd.int(300))),
      'swapped key': async () => withValue(await valid(), device('mut', topic, index + 1 + this.rnd.int(Math.max(1, settings.devices - 1)))),
      'null key': async () => withValue(await valid(), null),
      'wrong schema id': async () => {
        const value = Buffer.from(await valid());
        const ids = Object.values(this.records.schemaIds);
        value.writeInt32BE(this.rnd.int(2) === 0 ? this.rnd.pick(ids) : 1 + this.rnd.int(2 ** 31 - 2), 1);
        return withValue(value);
      },
      '10,000-key map': async () => withValue(await this.template(topic, deviceId, n, JSON.stringify(tenThousandKeys()), tenThousandKeys())),
      'non-finite number': async () =>
        withValue(await this.template(topic, deviceId, n, this.rnd.pick(['{"v": NaN}', '{"v": Infinity}', '{"v": -Infinity}']), { v: this.rnd.pick([Number.NaN, Infinity, -Infinity]) })),
      'broken JSON': async () => {
        const json = this.rnd.pick(['{"a": ', '[1, 2]', '"text"', 'null', '{"a": 1}}', 'timeout']);
        return { ...(await withValue(await this.template(topic, deviceId, n, json))), label: `broken JSON ${json}` };
      },
    };
    // telemetry has no JSON field
    if (topic === 'telemetry') delete mutations['broken JSON'];
    // 1 MB values are rare: each costs a record batch of its own
    if (this.rnd.int(400) === 0) {
      const schemaId = this.rnd.pick(Object.values(this.records.schemaIds));
      return ['1 MB value', await withValue(framed(schemaId, this.rnd.bytes(MEGABYTE - WIRE_HEADER_BYTES)))];
    }
    const name = this.rnd.pick(Object.keys(mutations));
    return [name, await mutations[name]!()];
  }
}

/**
 * Sends in the planned order, a request per topic of at most REQUEST_BYTES (a 1 MB record alone), each
 * record to its key's partition (kafkajs' default partitioner; keyless ones spread), so it knows the
 * offset of every record and can name what a stalled partition holds.
 */
class OrderedSender {
  private readonly pending = new Map<InputTopic, { messages: (Message & { partition: number; label: string })[]; bytes: number }>();
  /** `topic/partition@offset` → the record's label. */
  readonly labels = new Map<string, string>();
  private keyless = 0;

  constructor(
    private readonly producer: Producer,
    private readonly topics: ReturnType<typeof fleetTopics>,
  ) {}

  async add({ topic, key, value, label = 'valid' }: Outgoing): Promise<void> {
    const size = (value?.length ?? 0) + (key?.length ?? 0) + 64;
    const buffer = this.pending.get(topic) ?? { messages: [], bytes: 0 };
    if (buffer.bytes + size > REQUEST_BYTES) await this.flush(topic);
    const next = this.pending.get(topic) ?? { messages: [], bytes: 0 };
    const partition = key === null ? this.keyless++ % settings.partitions : partitionOf(typeof key === 'string' ? key : key.toString('latin1'), settings.partitions);
    next.messages.push({ key, value, partition, label });
    next.bytes += size;
    this.pending.set(topic, next);
  }

  async flush(topic?: InputTopic): Promise<void> {
    for (const name of topic ? [topic] : INPUT_TOPICS) {
      const buffer = this.pending.get(name);
      this.pending.delete(name);
      if (!buffer || buffer.messages.length === 0) continue;
      const written = await this.producer.send({ topic: this.topics[name], acks: -1, messages: buffer.messages.map(({ label: _label, ...message }) => message) });
      const next = new Map(written.map(({ partition, baseOffset }) => [partition, BigInt(baseOffset!)]));
      for (const { partition, label } of buffer.messages) {
        const offset = next.get(partition)!;
        this.labels.set(`${this.topics[name]}/${partition}@${offset}`, label);
        next.set(partition, offset + 1n);
      }
    }
  }
}

interface PartitionWatch {
  group: string;
  topic: string;
  partition: number;
  committed: string | null;
  lag: number;
  lastProgressAt: number;
  verdict?: 'caught up' | 'markers only' | 'stalled';
  /** The record a stalled partition does not get past. */
  stuckAt?: ConsumedRecord;
}

/**
 * Waits until every group is at the end of its inputs. A partition behind that makes no progress for
 * FUZZ_STALL_S is read: a record after its committed offset is a stall; none means only transaction
 * markers are left (the saga writes its own events onto fleet.commands in transactions).
 */
async function waitForGroups(kafka: Kafka, id: string, groups: { group: string; topics: string[] }[]): Promise<PartitionWatch[]> {
  const admin = new ConsumerGroupAdmin(kafka);
  const watches = new Map<string, PartitionWatch>();
  const deadline = Date.now() + 15 * 60_000;
  try {
    for (;;) {
      for (const { group, topics } of groups) {
        for (const topic of topics) {
          for (const position of await admin.positions(group, topic)) {
            const key = `${group} ${topic} ${position.partition}`;
            const lag = lagOf(position);
            const watch = watches.get(key) ?? { group, topic, partition: position.partition, committed: null, lag, lastProgressAt: Date.now() };
            if (watch.committed !== position.committed) Object.assign(watch, { committed: position.committed, lastProgressAt: Date.now() });
            watch.lag = lag;
            if (lag === 0) watch.verdict = 'caught up';
            else if (watch.verdict === 'caught up') watch.verdict = undefined;
            if (!watch.verdict && Date.now() - watch.lastProgressAt >= settings.stallSeconds * 1000) {
              watch.stuckAt = await recordAfter(kafka, id, watch);
              watch.verdict = watch.stuckAt ? 'stalled' : 'markers only';
            }
            watches.set(key, watch);
          }
        }
      }
      const open = [...watches.values()].filter((watch) => !watch.verdict);
      if (open.length === 0 || Date.now() > deadline) return [...watches.values()];
      await sleep(1000);
    }
  } finally {
    await admin.close();
  }
}

/** The first committed record of the partition at or after the group's committed offset, if there is one. */
async function recordAfter(kafka: Kafka, id: string, watch: PartitionWatch): Promise<ConsumedRecord | undefined> {
  const from = BigInt(watch.committed ?? '0');
  let found: ConsumedRecord | undefined;
  await readTopicsToEnd(
    kafka,
    [watch.topic],
    (records) => {
      found ??= records.find((record) => record.partition === watch.partition && BigInt(record.offset) >= from);
    },
    { groupPrefix: `${id}.stall-check`, timeoutMs: 120_000 },
  );
  return found;
}

/** The start of a key or value as text, other bytes as dots. */
function preview(bytes: Buffer | null): string {
  if (bytes === null) return 'null';
  const text = bytes.subarray(0, 120).toString('latin1').replace(/[^\x20-\x7e]/g, '.');
  return `${bytes.length} bytes "${text}${bytes.length > 120 ? '…' : ''}"`;
}

async function main(): Promise<void> {
  const id = `bench.f${Date.now().toString(36)}`;
  const config = loadConfig({ ...process.env, TOPIC_PREFIX: id, TELEMETRY_PARTITIONS: String(settings.partitions) });
  const topics = fleetTopics(id);
  const groups = fleetGroups(id);
  const kafka = createKafka(kafkaSettings(config, `${id}-fuzz`));
  const registry = new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL });
  await ensureTopics(kafka, fleetTopicDefinitions(topics, settings.partitions));
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetstream-fuzz-'));
  const env = { TOPIC_PREFIX: id, TELEMETRY_PARTITIONS: String(settings.partitions), FLEETSTREAM_DATA_DIR: dataDir, PROCESSORS: 'history,twins,commands', LOG_LEVEL: 'warn' };
  log(`machine:\n${machine()}`);
  log(`topics under ${id}; ${settings.records} records, ${settings.validPercent}% valid, seed ${settings.seed}; starting the server`);
  let { server } = await BenchServer.start(env);
  const producer = kafka.producer();
  await producer.connect();
  try {
    const records = await InputRecords.register(registry, topics);
    const json = async <T>(path: string): Promise<{ status: number; body: T | undefined }> => {
      const response = await server.fetch(path);
      return { status: response.status, body: response.ok ? ((await response.json()) as T) : undefined };
    };
    const commandState = async (commandId: string) => (await json<{ state: string }>(`/commands/${commandId}`)).body?.state;

    // the acknowledging devices: online, each with commands sent and waiting for their acknowledgments
    const ackDevices = Array.from({ length: settings.devices }, (_, n) => device('ok', 'deviceAcks', n));
    await producer.send({
      topic: topics.deviceEvents,
      messages: await Promise.all(ackDevices.map(async (deviceId) => ({ key: deviceId, value: await records.deviceEvent({ deviceId, kind: 'CONNECTIVITY', online: true }) }))),
    });
    await waitUntil(async () => (await Promise.all(ackDevices.map(async (deviceId) => (await json<{ connectivity: { online: boolean } }>(`/devices/${deviceId}/twin`)).body?.connectivity.online))).every(Boolean), 60_000, 'the acknowledging devices to be online');
    const ackCommands = new Map<string, string[]>();
    for (const deviceId of ackDevices) {
      const ids: string[] = [];
      for (let i = 0; i < COMMANDS_PER_ACK_DEVICE; i++) {
        const response = await server.fetch(`/devices/${deviceId}/commands`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'fuzz', ordered: false, timeouts: { deliverySeconds: 3600 } }),
        });
        ids.push(((await response.json()) as { commandId: string }).commandId);
      }
      ackCommands.set(deviceId, ids);
    }
    const allAckCommands = [...ackCommands.values()].flat();
    await waitUntil(async () => (await Promise.all(allAckCommands.map(commandState))).every((state) => state === 'sent'), 60_000, 'the commands to be sent');

    log(`sending ${settings.records} records`);
    const plan = new FuzzPlan(new Random(settings.seed), records, ackCommands);
    const sender = new OrderedSender(producer, topics);
    const sendStarted = performance.now();
    for (let i = 0; i < settings.records; i++) await sender.add(await plan.next());
    await sender.flush();
    log(`sent in ${((performance.now() - sendStarted) / 1000).toFixed(1)} s; waiting for every group to reach the end of its inputs`);

    const waitStarted = performance.now();
    const watches = await waitForGroups(kafka, id, [
      { group: groups.history, topics: [topics.telemetry] },
      { group: groups.twinProcessor, topics: [topics.telemetry, topics.deviceEvents] },
      { group: groups.commandSaga, topics: [topics.commands, topics.deviceAcks] },
    ]);
    const drainedIn = (performance.now() - waitStarted) / 1000;
    const stalls = watches.filter((watch) => watch.verdict !== 'caught up' && watch.verdict !== 'markers only');

    // what became of the valid records
    const telemetryDevices = [...plan.validPerDevice].filter(([deviceId]) => deviceId.includes('-telemetry-'));
    const eventDevices = [...plan.validPerDevice].filter(([deviceId]) => deviceId.includes('-deviceEvents-'));
    const stored = await Promise.all(telemetryDevices.map(async ([deviceId]) => (await json<{ count: number }>(`/devices/${deviceId}/telemetry?limit=10000`)).body?.count ?? 0));
    const patched = await Promise.all(eventDevices.map(async ([deviceId]) => (await json<{ version: number }>(`/devices/${deviceId}/twin`)).body?.version ?? 0));
    const requested = await Promise.all(plan.validCommandIds.map(async (commandId) => ((await commandState(commandId)) ? 1 : 0)));
    const STAGE_PROGRESS: Record<string, number> = { delivered: 1, accepted: 2, succeeded: 3 };
    const progressed = await Promise.all(allAckCommands.map(async (commandId) => STAGE_PROGRESS[(await commandState(commandId)) ?? ''] ?? 0));
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    const progressing = sum([...plan.progressingAcks.values()]);

    const metrics = await (await server.fetch('/metrics')).text();
    const skipped = metrics.split('\n').filter((line) => line.startsWith('fleetstream_view_skipped_records_total{'));

    const deadLetters = new Map<string, number>();
    await readTopicsToEnd(
      kafka,
      [topics.telemetryDlq],
      (batch) => {
        for (const record of batch) {
          const header = (name: string) => record.headers[name]?.toString() ?? '?';
          const sourceTopic = header(DLQ_HEADERS.sourceTopic).slice(id.length + 1);
          const key = `${sourceTopic} | ${header(DLQ_HEADERS.processor)} | ${header(DLQ_HEADERS.reason)}`;
          deadLetters.set(key, (deadLetters.get(key) ?? 0) + 1);
        }
      },
      { groupPrefix: `${id}.dlq-read`, timeoutMs: 120_000 },
    );

    log('killing the server (SIGKILL) and starting a new one on the same topics and data');
    await server.kill();
    const restarted = await BenchServer.start(env);
    server = restarted.server;

    console.log(`\n## Fuzz (${new Date().toISOString()})\n\n${machine()}\n`);
    console.log(`${settings.records} records (seed ${settings.seed}, ${settings.validPercent}% valid, ${settings.partitions} partitions); every group at the end of its inputs ${drainedIn.toFixed(1)} s after the last send\n`);
    console.log(table([['hostile records sent', 'count'], ...[...plan.sent.hostile].sort().map(([name, count]) => [name, String(count)])]));
    console.log('');
    console.log(table([['dead letters: source topic | processor | reason', 'count'], ...[...deadLetters].sort().map(([key, count]) => [key, String(count)])]));
    console.log('');
    console.log(skipped.length > 0 ? table([['read model skipped (fleetstream_view_skipped_records_total)', 'count'], ...skipped.map((line) => [line.slice(line.indexOf('{'), line.lastIndexOf(' ')), line.split(' ').pop()!])]) : 'read models skipped no record');
    console.log('');
    console.log(
      table([
        ['valid records', 'sent', 'processed', 'seen as'],
        ['telemetry', String(plan.sent.valid.get('telemetry') ?? 0), String(sum(stored)), 'rows in telemetry_raw (GET /devices/:id/telemetry)'],
        ['device events (desired patches)', String(plan.sent.valid.get('deviceEvents') ?? 0), String(sum(patched)), 'twin versions (each patch changes desired)'],
        ['command requests', String(plan.sent.valid.get('commands') ?? 0), String(sum(requested)), 'commands with a state (GET /commands/:id)'],
        ['acknowledgments', `${plan.sent.valid.get('deviceAcks') ?? 0} (${progressing} move a stage)`, String(sum(progressed)), 'stages reached by the acknowledged commands'],
      ]),
    );
    console.log(`\nstalls (behind, a record to read, no progress for ${settings.stallSeconds} s): ${stalls.length}`);
    for (const stall of stalls) {
      console.log(`  ${stall.group} on ${stall.topic}[${stall.partition}] at offset ${stall.committed ?? 'none'} (lag ${stall.lag})${stall.verdict ? '' : ' — gave up waiting'}`);
      if (stall.stuckAt) console.log(`    the batch from offset ${stall.stuckAt.offset} is retried; it starts with key ${preview(stall.stuckAt.key)}, value ${preview(stall.stuckAt.value)}`);
      const from = BigInt(stall.stuckAt?.offset ?? stall.committed ?? '0');
      const suspects = Array.from({ length: 200 }, (_, i) => [from + BigInt(i), sender.labels.get(`${stall.topic}/${stall.partition}@${from + BigInt(i)}`)] as const)
        .filter(([, label]) => label !== undefined && label !== 'valid')
        .slice(0, 8);
      console.log(`    hostile records from there: ${suspects.map(([offset, label]) => `@${offset} ${label}`).join('; ')}`);
    }
    console.log(`restart after SIGKILL: GET /ready 200 after ${(restarted.started.readyMs / 1000).toFixed(1)} s`);
  } finally {
    await producer.disconnect().catch(() => undefined);
    await server.stop();
    await deleteTopicsIfPresent(kafka, Object.values(topics)).catch((error: unknown) => log(`cleanup: ${describeError(error)}`));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${timeoutMs} ms`);
    await sleep(200);
  }
}

main().catch((error: unknown) => {
  console.error(`fuzz could not finish: ${describeError(error)}`);
  process.exitCode = 0; // a benchmark never fails a run
});
