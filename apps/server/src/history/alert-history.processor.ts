import { AlertHistoryWriter, HistoryRepository, PreparedAlertBatch } from '@fleetstream/history';
import { BatchConsumer, BatchConsumerStatus, DeadLetterProducer, fleetGroups, FleetTopics } from '@fleetstream/kafka';
import { AlertEventRecord, readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';
import { KAFKA, SCHEMA_REGISTRY, TOPICS } from '../infrastructure/tokens';

/**
 * Consumes fleet.alerts into the `alerts` table, where the history writer runs (its own consumer
 * group: alarms never wait behind a telemetry backlog, nor telemetry behind them).
 */
@Injectable()
export class AlertHistoryProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(AlertHistoryProcessor.name);
  private consumer: BatchConsumer<PreparedAlertBatch> | undefined;
  private deadLetters: DeadLetterProducer | undefined;

  constructor(
    @Inject(fleetstreamConfig.KEY) private readonly config: AppConfig,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(SCHEMA_REGISTRY) private readonly registry: SchemaRegistry,
    @Inject(TOPICS) private readonly topics: FleetTopics,
    private readonly repository: HistoryRepository,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.PROCESSORS.includes('history')) return;
    this.deadLetters = new DeadLetterProducer(this.kafka, this.topics.alertsDlq);
    const writer = new AlertHistoryWriter(new RegistryCodec<AlertEventRecord>(this.registry, readAvroSchema('alert-event')), this.repository, this.deadLetters, this.topics.alerts);
    this.consumer = new BatchConsumer(this.kafka, {
      groupId: fleetGroups(this.config.TOPIC_PREFIX).alertHistory,
      name: 'alert-history',
      topics: [this.topics.alerts],
      maxRows: this.config.HISTORY_BATCH_ROWS,
      maxWaitMs: this.config.HISTORY_BATCH_MS,
      sessionTimeoutMs: this.config.KAFKA_SESSION_TIMEOUT_MS,
      prepare: (records) => writer.prepare(records),
      write: (batch, records) => writer.write(batch, records),
      onRebalance: () => writer.onRebalance(),
      log: (message) => this.logger.warn(message),
    });
    this.consumer.launch(async () => {
      await this.deadLetters!.connect();
      this.logger.log(`alarm history writer consuming ${this.topics.alerts}`);
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
