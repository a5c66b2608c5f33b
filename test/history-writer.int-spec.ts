import { ChdbTransport, HistoryRepository, HistoryWriter, migrate } from '@fleetstream/history';
import { BatchConsumer, ConsumedRecord, DeadLetterProducer, DLQ_HEADERS, TelemetryProducer } from '@fleetstream/kafka';
import { chdbPath } from '@fleetstream/config';
import { createTestStack, connectedTelemetryProducer, eventually, reading, TestStack } from './support/test-stack';

/** The history path on the real stack: Kafka → registry decode → chdb, DLQ on Kafka. */
describe('history writer on the real stack', () => {
  let stack: TestStack;
  let transport: ChdbTransport;
  let repository: HistoryRepository;
  let producer: TelemetryProducer;
  let deadLetters: DeadLetterProducer;
  const consumers: BatchConsumer[] = [];

  const startWriter = async (groupId: string) => {
    const writer = new HistoryWriter(stack.telemetryCodec, repository, deadLetters, {
      maxFutureSkewMs: 300_000,
      maxPastAgeMs: 86_400_000 * 30,
      maxRecordBytes: 64 * 1024,
    });
    const consumer = new BatchConsumer(stack.kafka, {
      groupId,
      topics: [stack.topics.telemetry],
      maxRows: 1000,
      maxWaitMs: 200,
      handle: async (records) => void (await writer.handle(records)),
      onRebalance: () => writer.onRebalance(),
    });
    consumers.push(consumer);
    await consumer.start();
    return { writer, consumer };
  };

  const dlqRecords = async (): Promise<ConsumedRecord[]> => {
    const seen: ConsumedRecord[] = [];
    const consumer = stack.kafka.consumer({ groupId: `dlq-reader-${Date.now()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: stack.topics.telemetryDlq, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        seen.push({ topic, partition, offset: message.offset, key: message.key, value: message.value, headers: message.headers ?? {}, timestamp: Number(message.timestamp) });
      },
    });
    await eventually(async () => seen.length, (n) => n > 0, 20_000).catch(() => undefined);
    await consumer.disconnect();
    return seen;
  };

  beforeAll(async () => {
    stack = await createTestStack();
    transport = new ChdbTransport(chdbPath(stack.config));
    await migrate(transport, { database: stack.config.CLICKHOUSE_DATABASE, ttlDays: 365 });
    repository = new HistoryRepository(transport, stack.config.CLICKHOUSE_DATABASE);
    producer = await connectedTelemetryProducer(stack);
    deadLetters = new DeadLetterProducer(stack.kafka, stack.topics.telemetryDlq);
    await deadLetters.connect();
  });

  afterAll(async () => {
    for (const consumer of consumers) await consumer.stop().catch(() => undefined);
    await producer.disconnect();
    await deadLetters.disconnect();
    await transport.close();
  });

  describe('when devices publish valid telemetry', () => {
    it('stores every reading once and serves it by device and time', async () => {
      const base = Date.now() - 60_000;
      const readings = Array.from({ length: 600 }, (_, i) => reading(`dev-${i % 20}`, Math.floor(i / 20) + 1, base + i));
      await producer.send(readings);
      await startWriter('history-a');
      await eventually(() => repository.count(), (n) => n === 600);
      const rows = await repository.readings({ deviceId: 'dev-3', from: base, to: Date.now(), limit: 100 });
      expect(rows).toHaveLength(30);
      expect(rows[0]).toMatchObject({ deviceId: 'dev-3', seq: 30, metrics: { temperature: 50 }, attributes: { firmware: '1.0.0' } });
    });
  });

  describe('when a record is not in the Confluent wire format', () => {
    it('dead-letters it with the reason and keeps the partition flowing', async () => {
      const raw = stack.kafka.producer();
      await raw.connect();
      await raw.send({ topic: stack.topics.telemetry, messages: [{ key: 'dev-bad', value: Buffer.from('{"json":"not avro"}') }] });
      await raw.disconnect();
      await producer.send([reading('dev-after-bad', 1)]);
      await eventually(() => repository.count(), (n) => n === 601);
      const [dead] = await dlqRecords();
      expect(dead?.value?.toString()).toBe('{"json":"not avro"}');
      expect(dead?.key?.toString()).toBe('dev-bad');
      expect(dead?.headers[DLQ_HEADERS.reason]?.toString()).toBe('not-confluent-framed');
      expect(dead?.headers[DLQ_HEADERS.sourceTopic]?.toString()).toBe(stack.topics.telemetry);
    });
  });

  describe('when a second group replays the topic from the beginning', () => {
    it('leaves the stored history unchanged', async () => {
      const replay = await startWriter('history-replay');
      await eventually(async () => replay.writer.stats.skipped, (n) => n >= 602);
      expect(await repository.count()).toBe(601);
      expect(replay.writer.stats.stored).toBe(0);
    });
  });
});
