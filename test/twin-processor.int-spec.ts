import type { TwinCommand } from '@fleetstream/domain';
import { AvroTopicProducer, TelemetryProducer } from '@fleetstream/kafka';
import { DeviceEventRecord, readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import { setTimeout as sleep } from 'node:timers/promises';
import { ServerProcess } from './support/server-process';
import { connectedTelemetryProducer, createTestStack, eventually, reading, TestStack } from './support/test-stack';
import { expectedTwins, matchesFold, settledSnapshotsAgainstFold } from './support/twin-fold';

const DEVICES = 30;
const GATEWAY_DEVICES = 10;

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
      expect(await settledSnapshotsAgainstFold(stack, expected)).toEqual([]);
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
      expect(await settledSnapshotsAgainstFold(stack, expected)).toEqual([]);
    });
  });
});
