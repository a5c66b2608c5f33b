import { DLQ_HEADERS, TelemetryProducer } from '@fleetstream/kafka';
import { HistoryHarness } from './support/history-harness';
import { connectedTelemetryProducer, createTestStack, eventually, reading, readTopic, TestStack } from './support/test-stack';

/** The history path on the real stack: Kafka → registry decode → chdb, DLQ on Kafka. */
describe('history writer on the real stack', () => {
  let stack: TestStack;
  let history: HistoryHarness;
  let producer: TelemetryProducer;
  const base = Date.now() - 60_000;

  beforeAll(async () => {
    stack = await createTestStack();
    history = await new HistoryHarness(stack).open();
    producer = await connectedTelemetryProducer(stack);
  });

  afterAll(async () => {
    await producer.disconnect();
    await history.close();
  });

  describe('when devices publish valid telemetry', () => {
    it('stores every reading once and serves it by device and time', async () => {
      const readings = Array.from({ length: 600 }, (_, i) => reading(`dev-${i % 20}`, Math.floor(i / 20) + 1, base + i));
      await producer.send(readings);
      await history.startWriter('history-a');
      await eventually(() => history.repository.count(), (n) => n === 600);
      const rows = await history.repository.readings({ deviceId: 'dev-3', from: base, to: Date.now(), limit: 100 });
      expect(rows).toHaveLength(30);
      expect(rows[0]).toMatchObject({ deviceId: 'dev-3', seq: 30, metrics: { temperature: 50 }, attributes: { firmware: '1.0.0' } });
    });

    it('pages by cursor and filters metrics', async () => {
      const first = await history.repository.readings({ deviceId: 'dev-3', from: base, to: Date.now(), limit: 20, metrics: ['temperature'] });
      const last = first.at(-1)!;
      const second = await history.repository.readings({
        deviceId: 'dev-3', from: base, to: Date.now(), limit: 20, after: { eventTime: Number(last.eventTimeMs), seq: Number(last.seq) },
      });
      expect(first.map((r) => r.seq)).toEqual(Array.from({ length: 20 }, (_, i) => 30 - i));
      expect(second.map((r) => r.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 10 - i));
      const none = await history.repository.readings({ deviceId: 'dev-3', from: base, to: Date.now(), limit: 20, metrics: ['pressure'] });
      expect(none).toHaveLength(0);
    });

    it('maintains per-minute rollups: min, max, avg, count, last', async () => {
      const points = await history.repository.rollup({ deviceId: 'dev-3', bucket: '1m', from: base - 60_000, to: Date.now(), metrics: ['temperature'] });
      const total = points.reduce((sum, point) => sum + Number(point.count), 0);
      expect(total).toBe(30);
      expect(Math.min(...points.map((p) => p.min))).toBe(21);
      expect(Math.max(...points.map((p) => p.max))).toBe(50);
    });
  });

  describe('when a record is not in the Confluent wire format', () => {
    it('dead-letters it with the reason and keeps the partition flowing', async () => {
      const raw = stack.kafka.producer();
      await raw.connect();
      await raw.send({ topic: stack.topics.telemetry, messages: [{ key: 'dev-bad', value: Buffer.from('{"json":"not avro"}') }] });
      await raw.disconnect();
      await producer.send([reading('dev-after-bad', 1)]);
      await eventually(() => history.repository.count(), (n) => n === 601);
      const [dead] = await readTopic(stack, stack.topics.telemetryDlq, 1);
      expect(dead?.value?.toString()).toBe('{"json":"not avro"}');
      expect(dead?.key?.toString()).toBe('dev-bad');
      expect(dead?.headers[DLQ_HEADERS.reason]?.toString()).toBe('not-confluent-framed');
      expect(dead?.headers[DLQ_HEADERS.sourceTopic]?.toString()).toBe(stack.topics.telemetry);
    });
  });

  describe('when a second group replays the topic from the beginning', () => {
    it('leaves the stored history and the rollups unchanged', async () => {
      const replay = await history.startWriter('history-replay');
      await eventually(async () => replay.writer.stats.skipped, (n) => n >= 602);
      expect(await history.repository.count()).toBe(601);
      expect(replay.writer.stats.stored).toBe(0);
      const points = await history.repository.rollup({ deviceId: 'dev-3', bucket: '1h', from: base - 3_600_000, to: Date.now(), metrics: ['temperature'] });
      expect(points.reduce((sum, point) => sum + Number(point.count), 0)).toBe(30);
    });
  });
});
