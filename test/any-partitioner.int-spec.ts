import { decide, DeviceTwin, evolve, initialTwin, TwinCommand } from '@fleetstream/domain';
import { idempotentProducerConfig, partitionOf, readTopicsToEnd, REPARTITIONED_FROM_HEADER } from '@fleetstream/kafka';
import { DeviceEventRecord, readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import { CompressionTypes, ICustomPartitioner, Message, Producer } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { crc32 } from 'node:zlib';
import { adminHeaders } from './support/http';
import { ServerProcess } from './support/server-process';
import { twinSnapshotsOnTopic } from './support/twin-fold';
import { createTestStack, eventually, reading, TestStack } from './support/test-stack';

const PARTITIONS = 3;
const DEVICES = 60;
/** Devices whose gateway reports their connectivity on fleet.device-events, placed by CRC32 too. */
const GATEWAY_DEVICES = 24;
const ROUNDS = 8;
const PATCHED = 12;
const settings = { silenceMs: 300_000, maxPatchBytes: 65_536, maxDesiredBytes: 65_536, maxReportedFields: 1000 };

/** librdkafka's default partitioner (consistent_random) for a keyed record: CRC32 of the key bytes modulo the partition count. */
const crc32Partitioner: ICustomPartitioner = () => ({ partitionMetadata, message }) => crc32(Buffer.from(message.key!)) % partitionMetadata.length;
const crc32PartitionOf = (key: string) => crc32(Buffer.from(key)) % PARTITIONS;

interface TwinBody {
  version: number;
  reported: Record<string, { value: number | string }>;
  desired: Record<string, unknown>;
  connectivity: { online: boolean };
}


/**
 * Telemetry and gateway device events from a producer that places records as librdkafka does
 * (CRC32), not by murmur2, read by two instances that share the twin processor's partitions: each
 * device must still be folded by the one instance that owns its murmur2 partition, into that
 * partition of fleet.twins, and each misplaced record forwarded exactly once.
 */
describe('telemetry and device events placed by any partitioner (two instances)', () => {
  let stack: TestStack;
  let producer: Producer;
  let telemetrySchemaId: number;
  let eventSchemaId: number;
  let eventCodec: RegistryCodec<DeviceEventRecord>;
  const servers: ServerProcess[] = [];
  const devices = Array.from({ length: DEVICES }, (_, d) => `crc-dev-${d}`);
  const gatewayDevices = Array.from({ length: GATEWAY_DEVICES }, (_, d) => `crc-gw-${d}`);
  /** Per device, in the order sent: what the processor must fold. */
  const produced = new Map<string, TwinCommand[]>();
  /** What must be on the repartition topics: `key in partition from topic/partition`. */
  const mustForward: string[] = [];
  const base = Date.now() - 120_000;

  const send = async (topic: string, records: { key: string; value: Buffer; timestamp: number; command: TwinCommand }[]) => {
    for (const { key, command } of records) {
      produced.set(key, [...(produced.get(key) ?? []), command]);
      if (crc32PartitionOf(key) !== partitionOf(key, PARTITIONS)) mustForward.push(`${key} in ${partitionOf(key, PARTITIONS)} from ${topic}/${crc32PartitionOf(key)}`);
    }
    const messages: Message[] = records.map(({ key, value, timestamp }) => ({ key, value, timestamp: String(timestamp) }));
    await producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages });
  };

  /** A reading from every device and a connectivity report flipping every gateway device on or off. */
  const sendRound = async (seq: number) => {
    const readings = await Promise.all(
      devices.map(async (deviceId, d) => {
        const data = reading(deviceId, seq, base + seq * 100 + d, { temperature: seq * 10 + d });
        const command: TwinCommand = { type: 'RecordTelemetry', data, metadata: { now: data.eventTime } };
        return { key: deviceId, value: await stack.telemetryCodec.encode(telemetrySchemaId, data), timestamp: data.eventTime, command };
      }),
    );
    const reports = await Promise.all(
      gatewayDevices.map(async (deviceId) => {
        const report: DeviceEventRecord = { deviceId, requestId: `${deviceId}-${seq}`, at: base + seq * 100, kind: 'CONNECTIVITY', patchJson: null, expectedVersion: null, online: seq % 2 === 1 };
        const command: TwinCommand = { type: 'ReportConnectivity', data: { deviceId, online: report.online! }, metadata: { now: report.at } };
        return { key: deviceId, value: await eventCodec.encode(eventSchemaId, report), timestamp: report.at, command };
      }),
    );
    await Promise.all([send(stack.topics.telemetry, readings), send(stack.topics.deviceEvents, reports)]);
  };

  const readyTwins = async (server: ServerProcess) => {
    const response = await fetch(`${server.url}/ready`);
    const body = (await response.json()) as { details?: { twins?: { assigned?: number[]; restored?: number[] } } };
    return { ok: response.ok, assigned: body.details?.twins?.assigned ?? [] };
  };

  beforeAll(async () => {
    stack = await createTestStack({ TELEMETRY_PARTITIONS: String(PARTITIONS) });
    producer = stack.kafka.producer({ ...idempotentProducerConfig, createPartitioner: crc32Partitioner });
    await producer.connect();
    telemetrySchemaId = await stack.telemetryCodec.register(`${stack.topics.telemetry}-value`);
    eventCodec = new RegistryCodec<DeviceEventRecord>(stack.registry, readAvroSchema('device-event'));
    eventSchemaId = await eventCodec.register(`${stack.topics.deviceEvents}-value`);
    for (let i = 0; i < 2; i++) servers.push(await (await ServerProcess.create(stack, { PROCESSORS: 'twins' })).start());
    // both own partitions before the first reading: otherwise one instance folds everything and nothing can go wrong
    await eventually(
      () => Promise.all(servers.map(readyTwins)),
      (states) => states.every(({ ok, assigned }) => ok && assigned.length > 0) && new Set(states.flatMap(({ assigned }) => assigned)).size === PARTITIONS,
      60_000,
    );
  }, 180_000);

  afterAll(async () => {
    await producer?.disconnect();
    for (const server of servers) await server.stop().catch(() => undefined);
  });

  it('folds each device once, in its murmur2 partition, and forwards the misplaced records through the repartition topics', async () => {
    const misplaced = [...devices, ...gatewayDevices].filter((deviceId) => crc32PartitionOf(deviceId) !== partitionOf(deviceId, PARTITIONS));
    // the test means something only if CRC32 places many devices elsewhere
    expect(misplaced.length).toBeGreaterThan((DEVICES + GATEWAY_DEVICES) / 3);
    const half = ROUNDS / 2;
    for (let seq = 1; seq <= half; seq++) {
      await sendRound(seq);
      await sleep(100);
    }
    // desired patches go through fleetstream's own device-events (murmur2): with readings folded elsewhere, two instances would write one twin
    const patched = devices.slice(0, PATCHED);
    for (const [i, deviceId] of patched.entries()) {
      const server = servers[i % 2]!;
      await eventually(async () => (await server.get(`/devices/${deviceId}/twin`)).status, (status) => status === 200, 60_000);
      const answer = await server.request('PATCH', `/devices/${deviceId}/twin/desired`, { setpoint: i });
      expect({ deviceId, status: answer.status }).toEqual({ deviceId, status: 200 });
    }
    for (let seq = half + 1; seq <= ROUNDS; seq++) {
      await sendRound(seq);
      await sleep(100);
    }

    // each device's records come from one topic partition, in order: the fold is decide + evolve in that order (a patch only adds a version)
    const expected = new Map<string, DeviceTwin>();
    for (const [deviceId, commands] of produced) {
      let twin = initialTwin(deviceId);
      for (const command of commands) {
        const decision = decide(command, twin, settings);
        if ('events' in decision) twin = decision.events.reduce(evolve, twin);
      }
      expected.set(deviceId, twin);
    }
    const versionOf = (deviceId: string) => expected.get(deviceId)!.version + (patched.includes(deviceId) ? 1 : 0);

    // every instance serves every device's twin as the fold made it
    for (const server of servers) {
      const wrong = await eventually(
        async () => {
          const problems: string[] = [];
          for (const [deviceId, twin] of expected) {
            const { status, body } = await server.get<TwinBody>(`/devices/${deviceId}/twin`);
            const got = `${status} v${body?.version} t=${body?.reported.temperature?.value} ${body?.connectivity.online ? 'online' : 'offline'} desired=${JSON.stringify(body?.desired ?? {})}`;
            const index = patched.indexOf(deviceId);
            const state = `t=${twin.reported.temperature?.value} ${twin.connectivity.online ? 'online' : 'offline'}`;
            const want = `200 v${versionOf(deviceId)} ${state} desired=${JSON.stringify(index >= 0 ? { setpoint: index } : {})}`;
            if (got !== want) problems.push(`${deviceId}: got ${got}, want ${want}`);
          }
          return problems;
        },
        (problems) => problems.length === 0,
        60_000,
      ).catch((error: Error) => [error.message]);
      expect(wrong).toEqual([]);
    }

    // fleet.twins: each device's snapshots all in its murmur2 partition, versions only going up, the last one the fold's
    const records = await twinSnapshotsOnTopic(stack);
    const misfolded: string[] = [];
    for (const deviceId of expected.keys()) {
      const seen = records.get(deviceId);
      const partitions = [...(seen?.partitions ?? [])].sort();
      const versions = seen?.versions ?? [];
      if (partitions.length !== 1 || partitions[0] !== partitionOf(deviceId, PARTITIONS)) {
        misfolded.push(`${deviceId}: twin records in partitions ${partitions.join(',')}; its murmur2 partition is ${partitionOf(deviceId, PARTITIONS)}`);
      }
      if (versions.some((version, i) => i > 0 && version <= versions[i - 1]!) || versions.at(-1) !== versionOf(deviceId)) {
        misfolded.push(`${deviceId}: versions written ${versions.join(',')}; the fold has ${versionOf(deviceId)}`);
      }
    }
    expect(misfolded).toEqual([]);

    // the repartition topics hold exactly the misplaced records, each once, in its key's partition, saying where it came from
    const forwarded: string[] = [];
    await readTopicsToEnd(
      stack.kafka,
      [stack.topics.telemetryRepartition, stack.topics.deviceEventsRepartition],
      async (batch) => {
        for (const record of batch) {
          const from = String(record.headers[REPARTITIONED_FROM_HEADER]);
          forwarded.push(`${record.key!.toString()} in ${record.partition} from ${from.replace(/@\d+$/, '')}`);
        }
      },
      { groupPrefix: `${stack.config.TOPIC_PREFIX}.check-repartition`, timeoutMs: 30_000 },
    );
    expect(forwarded.sort()).toEqual([...mustForward].sort());

    // operators see it: the forwarded records, counted once across both instances
    const counted = await Promise.all(
      servers.map(async (server) => {
        const text = await (await fetch(`${server.url}/metrics`, { headers: adminHeaders })).text();
        return Number(/^fleetstream_processor_forwarded_records_total\{processor="twins"\} (\d+)/m.exec(text)?.[1] ?? NaN);
      }),
    );
    expect(counted.reduce((a, b) => a + b, 0)).toBe(mustForward.length);
  }, 240_000);
});
