import { chdbPath } from '@fleetstream/config';
import { ChdbTransport, ClickHouseTransport, HistoryRepository, HistoryWriter, migrate, PreparedBatch } from '@fleetstream/history';
import { BatchConsumer, DeadLetterProducer, loadReplayBounds } from '@fleetstream/kafka';
import { TestStack } from './test-stack';

/** The history writer wired to the real stack the way the service wires it, for one test file. */
export class HistoryHarness {
  readonly chdb: ChdbTransport;
  readonly repository: HistoryRepository;
  readonly deadLetters: DeadLetterProducer;
  private readonly consumers: BatchConsumer<PreparedBatch>[] = [];

  constructor(
    private readonly stack: TestStack,
    /** Wraps the real engine, e.g. to make it unavailable for a while. */
    transport: (real: ChdbTransport) => ClickHouseTransport = (real) => real,
  ) {
    this.chdb = new ChdbTransport(chdbPath(stack.config));
    this.repository = new HistoryRepository(transport(this.chdb), stack.config.CLICKHOUSE_DATABASE);
    this.deadLetters = new DeadLetterProducer(stack.kafka, stack.topics.telemetryDlq);
  }

  async open(): Promise<this> {
    await migrate(this.chdb, { database: this.stack.config.CLICKHOUSE_DATABASE, ttlDays: 365 });
    await this.deadLetters.connect();
    return this;
  }

  async startWriter(groupId: string, maxRecordBytes = 64 * 1024): Promise<{ writer: HistoryWriter; consumer: BatchConsumer<PreparedBatch> }> {
    const writer = new HistoryWriter(this.stack.telemetryCodec, this.repository, this.deadLetters, {
      maxFutureSkewMs: 300_000,
      maxPastAgeMs: 30 * 86_400_000,
      maxRecordBytes,
    });
    const bounds = await loadReplayBounds(this.stack.kafka, this.stack.topics.replayBounds, groupId);
    const consumer = new BatchConsumer(this.stack.kafka, {
      groupId,
      sessionTimeoutMs: 10_000,
      skip: (record) => bounds.skips(record.topic, record.partition, record.offset),
      topics: [this.stack.topics.telemetry],
      maxRows: 1000,
      maxWaitMs: 200,
      prepare: (records) => writer.prepare(records),
      write: async (batch) => void (await writer.write(batch)),
      onRebalance: () => writer.onRebalance(),
      log: () => undefined,
    });
    this.consumers.push(consumer);
    await consumer.start();
    return { writer, consumer };
  }

  async close(): Promise<void> {
    for (const consumer of this.consumers) await consumer.stop().catch(() => undefined);
    await this.deadLetters.disconnect();
    await this.chdb.close();
  }
}
