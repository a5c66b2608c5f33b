import { telemetryRules } from '@fleetstream/config';
import { Telemetry } from '@fleetstream/domain';
import { applyRetention, HistoryRepository, HistoryWriter, migrate, PreparedBatch } from '@fleetstream/history';
import { BatchConsumer, BatchConsumerStatus, DeadLetterProducer, fleetGroups, FleetTopics, loadReplayBounds, ReplayBounds } from '@fleetstream/kafka';
import { readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';
import { CLICKHOUSE, KAFKA, SCHEMA_REGISTRY, TOPICS } from '../infrastructure/tokens';
import { IngestMetrics } from '../metrics/ingest.metrics';
import type { ClickHouseTransport } from '@fleetstream/history';

/** Consumes telemetry in batches into ClickHouse history; offsets follow durable inserts. */
@Injectable()
export class HistoryWriterProcessor implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(HistoryWriterProcessor.name);
  private consumer: BatchConsumer<PreparedBatch> | undefined;
  private deadLetters: DeadLetterProducer | undefined;
  writer: HistoryWriter | undefined;

  constructor(
    @Inject(fleetstreamConfig.KEY) private readonly config: AppConfig,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(SCHEMA_REGISTRY) private readonly registry: SchemaRegistry,
    @Inject(TOPICS) private readonly topics: FleetTopics,
    @Inject(CLICKHOUSE) private readonly clickhouse: ClickHouseTransport,
    private readonly repository: HistoryRepository,
    private readonly metrics: IngestMetrics,
  ) {}

  /** Tables first, on every instance: REST reads need them even where the writer is off. */
  async onModuleInit(): Promise<void> {
    const context = { database: this.config.CLICKHOUSE_DATABASE, ttlDays: this.config.HISTORY_TTL_DAYS };
    const applied = await migrate(this.clickhouse, context);
    const retentionChanged = await applyRetention(this.clickhouse, context);
    this.logger.log(
      `history in ${this.clickhouse.description}; migrations applied now: [${applied.join(', ')}]` +
        (retentionChanged.length ? `; TTL set to ${context.ttlDays} days on ${retentionChanged.join(', ')}` : ''),
    );
  }

  /** Starts the writer in the background (retried until the broker and the registry answer); /ready says meanwhile. */
  onApplicationBootstrap(): void {
    if (!this.config.PROCESSORS.includes('history')) return;
    this.deadLetters = new DeadLetterProducer(this.kafka, this.topics.telemetryDlq);
    const writer = new HistoryWriter(
      new RegistryCodec<Telemetry>(this.registry, readAvroSchema('telemetry')),
      this.repository,
      this.deadLetters,
      telemetryRules(this.config),
    );
    this.writer = writer;
    const pattern = this.config.TELEMETRY_TOPIC_PATTERN;
    const groupId = fleetGroups(this.config.TOPIC_PREFIX).history;
    let bounds = ReplayBounds.none;
    this.consumer = new BatchConsumer(this.kafka, {
      groupId,
      name: 'history',
      skip: (record) => bounds.skips(record.topic, record.partition, record.offset),
      topics: pattern ? [this.topics.telemetry, new RegExp(pattern)] : [this.topics.telemetry],
      maxRows: this.config.HISTORY_BATCH_ROWS,
      maxWaitMs: this.config.HISTORY_BATCH_MS,
      sessionTimeoutMs: this.config.KAFKA_SESSION_TIMEOUT_MS,
      prepare: (records) => writer.prepare(records),
      write: async (batch, records) => {
        const started = performance.now();
        try {
          const outcome = await writer.write(batch);
          this.metrics.batchWritten(records.length, (performance.now() - started) / 1000, outcome);
        } catch (error) {
          this.metrics.batchFailed();
          throw error;
        }
      },
      onRebalance: () => writer.onRebalance(),
      log: (message) => this.logger.warn(message),
    });
    this.consumer.launch(async () => {
      await this.deadLetters!.connect();
      bounds = await loadReplayBounds(this.kafka, this.topics.replayBounds, groupId);
      this.logger.log(`history writer consuming ${this.topics.telemetry}${pattern ? ` and the topics matching /${pattern}/` : ''}`);
    });
  }

  /** Undefined where this instance does not run the history writer (PROCESSORS). */
  status(): BatchConsumerStatus | undefined {
    return this.consumer?.status();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer?.stop();
    await this.deadLetters?.disconnect();
  }
}
