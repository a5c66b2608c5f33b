import { decide, DeviceTwin, evolve, initialTwin, TwinCommand } from '@fleetstream/domain';
import { AvroTopicProducer, readTopicsToEnd, TelemetryProducer } from '@fleetstream/kafka';
import { DeviceEventRecord, readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import { setTimeout as sleep } from 'node:timers/promises';
import { ServerProcess } from './support/server-process';
import { connectedTelemetryProducer, createTestStack, eventually, reading, TestStack } from './support/test-stack';

const settings = { silenceMs: 300_000, maxPatchBytes: 65_536, maxDesiredBytes: 65_536, maxReportedFields: 1000 };
const DEVICES = 30;
const GATEWAY_DEVICES = 10;

/**
 * The twin every command folds into, as the processor must compute it: decide + evolve in order.
 * (Telemetry devices and gateway devices are distinct, so each device's commands come from one topic, in order.)
 */
function expectedTwins(commands: TwinCommand[]): Map<string, DeviceTwin> {
  const twins = new Map<string, DeviceTwin>();
  for (const command of commands) {
    const twin = twins.get(command.data.deviceId) ?? initialTwin(command.data.deviceId);
    const decision = decide(command, twin, settings);
    if ('events' in decision) twins.set(command.data.deviceId, decision.events.reduce(evolve, twin));
  }
  return twins;
}

interface TwinBody {
  version: number;
  reported: Record<string, { value: number | string }>;
  connectivity: { online: boolean; since: string | null };
}

async function matchesFold(server: ServerProcess, expected: Map<string, DeviceTwin>): Promise<string[]> {
  const wrong: string[] = [];
  for (const [deviceId, twin] of expected) {
    const { status, body } = await server.get<TwinBody>(`/devices/${deviceId}/twin`);
    // a gateway device's `since` is its last report's time: equal once the last flip is applied (online alone matches every other flip)
    const since = (at: string | number | null | undefined) => (twin.connectivity.source === 'gateway' && at ? ` since ${new Date(at).toISOString()}` : '');
    const got = `${body?.reported.temperature?.value} ${body?.connectivity.online ? 'online' : 'offline'}${since(body?.connectivity.since)}`;
    const want = `${twin.reported.temperature?.value} ${twin.connectivity.online ? 'online' : 'offline'}${since(twin.connectivity.since)}`;
    if (status !== 200 || got !== want) wrong.push(`${deviceId}: got ${got}, want ${want}`);
  }
  return wrong;
}

/**
 * fleet.twins itself, read committed: every device's snapshots in the order written. Each change is
 * written once (versions only go up) and the last one has the fold's version: an event applied twice
 * after a crash (say, offsets committed apart from the transaction) shows as extra versions.
 */
async function snapshotsAgreeWithFold(stack: TestStack, expected: Map<string, DeviceTwin>): Promise<string[]> {
  const codec = new RegistryCodec<{ deviceId: string; version: number }>(stack.registry, readAvroSchema('device-twin'));
  const versions = new Map<string, number[]>();
  await readTopicsToEnd(
    stack.kafka,
    [stack.topics.twins],
    async (records) => {
      for (const record of records) {
        const decoded = await codec.decode(record.value);
        if (!decoded.ok) throw new Error(`${record.topic}/${record.partition}@${record.offset}: ${decoded.rejection.error}`);
        versions.set(decoded.value.deviceId, [...(versions.get(decoded.value.deviceId) ?? []), decoded.value.version]);
      }
    },
    { groupPrefix: `${stack.config.TOPIC_PREFIX}.check`, timeoutMs: 30_000 },
  );
  const wrong: string[] = [];
  for (const [deviceId, twin] of expected) {
    const written = versions.get(deviceId) ?? [];
    if (written.some((version, i) => i > 0 && version <= written[i - 1]!) || written.at(-1) !== twin.version) {
      wrong.push(`${deviceId}: versions written ${written.join(',')}; the fold has ${twin.version} changes`);
    }
  }
  return wrong;
}

/** Crash and rebalance on the real stack: the twins must still equal the fold of all telemetry. */
describe('twin processor', () => {
  let stack: TestStack;
  let producer: TelemetryProducer;
  let gateway: AvroTopicProducer<DeviceEventRecord>;
  const servers: ServerProcess[] = [];
  /** Everything produced, as the commands the processor derives from it. */
  const produced: TwinCommand[] = [];
  let rounds = 0;
  const base = Date.now() - 120_000;

  /**
   * Each round: a reading from every telemetry device, and a connectivity report flipping every
   * gateway device on or off. Readings are idempotent (the decider drops one it has applied); the
   * flips are not: re-applied after a crash, they add versions.
   */
  const produceRounds = async (count: number, pauseMs: number) => {
    for (let i = 0; i < count; i++) {
      const seq = ++rounds;
      const readings = Array.from({ length: DEVICES }, (_, d) => reading(`dev-${d}`, seq, base + seq * 100 + d, { temperature: seq * 10 + d }));
      const reports = Array.from({ length: GATEWAY_DEVICES }, (_, d): DeviceEventRecord => ({
        deviceId: `gw-${d}`, requestId: `gw-${d}-${seq}`, at: base + seq * 100, kind: 'CONNECTIVITY', patchJson: null, expectedVersion: null, online: seq % 2 === 1,
      }));
      await Promise.all([producer.send(readings), gateway.send(reports)]);
      produced.push(
        ...readings.map((data): TwinCommand => ({ type: 'RecordTelemetry', data, metadata: { now: data.eventTime } })),
        ...reports.map((report): TwinCommand => ({ type: 'ReportConnectivity', data: { deviceId: report.deviceId, online: report.online! }, metadata: { now: report.at } })),
      );
      await sleep(pauseMs);
    }
  };

  beforeAll(async () => {
    stack = await createTestStack();
    producer = await connectedTelemetryProducer(stack);
    gateway = new AvroTopicProducer(stack.kafka, new RegistryCodec<DeviceEventRecord>(stack.registry, readAvroSchema('device-event')), stack.topics.deviceEvents, (e) => e.deviceId);
    await gateway.connect();
  });

  afterAll(async () => {
    await producer.disconnect();
    await gateway.disconnect();
    for (const server of servers) await server.stop().catch(() => undefined);
  });

  describe('when the service is killed mid-stream and restarted', () => {
    it('ends with every twin equal to the fold of all its events, each change written once', async () => {
      const first = await (await ServerProcess.create(stack, { PROCESSORS: 'twins' })).start();
      servers.push(first);
      await produceRounds(10, 100);
      // the crash must come after real work (committed twins whose input a wrong restart would read
      // again), and in the middle of a stream the instance is busy with
      await eventually(() => matchesFold(first, expectedTwins(produced)), (wrong) => wrong.length === 0, 60_000);
      const streaming = produceRounds(40, 50);
      await sleep(1500);
      await first.kill();
      await streaming;
      const second = await (await ServerProcess.create(stack, { PROCESSORS: 'twins' })).start();
      servers.push(second);
      const expected = expectedTwins(produced);
      await eventually(() => matchesFold(second, expected), (wrong) => wrong.length === 0, 60_000);
      // the killed instance's open transaction hides later records from read-committed readers until the broker aborts it
      expect(await eventually(() => snapshotsAgreeWithFold(stack, expected), (wrong) => wrong.length === 0, 90_000).catch(() => snapshotsAgreeWithFold(stack, expected))).toEqual([]);
    });
  });

  describe('when a second instance joins the group and the first one dies', () => {
    it('moves the partitions and keeps every twin right', async () => {
      const [running] = servers.slice(-1);
      const joining = await (await ServerProcess.create(stack, { PROCESSORS: 'twins' })).start();
      servers.push(joining);
      await produceRounds(10, 100);
      await running!.kill();
      await produceRounds(10, 50);
      const expected = expectedTwins(produced);
      await eventually(() => matchesFold(joining, expected), (wrong) => wrong.length === 0, 90_000);
      // the killed instance's open transaction hides later records from read-committed readers until the broker aborts it
      expect(await eventually(() => snapshotsAgreeWithFold(stack, expected), (wrong) => wrong.length === 0, 90_000).catch(() => snapshotsAgreeWithFold(stack, expected))).toEqual([]);
    });
  });
});
