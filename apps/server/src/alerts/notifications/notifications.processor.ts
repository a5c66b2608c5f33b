import { webhookDeliveryPolicy } from '@fleetstream/config';
import { FleetTopics, idempotentProducerConfig } from '@fleetstream/kafka';
import { AlertEventRecord, readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Kafka, Producer } from 'kafkajs';
import { AppConfig, fleetstreamConfig } from '../../infrastructure/fleetstream.config';
import { KAFKA, SCHEMA_REGISTRY, TOPICS } from '../../infrastructure/tokens';
import { NotificationMetrics } from './notification.metrics';
import { NOTIFICATION_SINKS } from './notification-sinks.token';
import { SinkNotifier, SinkNotifierStatus } from './sink-notifier';
import type { NotificationSinks } from './webhook-sinks';

/**
 * Alert notifications (PROCESSORS includes notifications): one SinkNotifier per webhook sink, each
 * its own consumer group on fleet.alerts, so sinks never wait for each other nor for evaluation.
 */
@Injectable()
export class NotificationsProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(NotificationsProcessor.name);
  private notifiers: SinkNotifier[] = [];
  private deadLetters: Producer | undefined;
  private deadLettersConnected: Promise<Producer> | undefined;

  constructor(
    @Inject(fleetstreamConfig.KEY) private readonly config: AppConfig,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(SCHEMA_REGISTRY) private readonly registry: SchemaRegistry,
    @Inject(TOPICS) private readonly topics: FleetTopics,
    @Inject(NOTIFICATION_SINKS) private readonly sinks: NotificationSinks,
    private readonly metrics: NotificationMetrics,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.PROCESSORS.includes('notifications')) return;
    const sinks = this.sinks.all();
    if (sinks.length === 0) {
      this.logger.log('no alert webhooks configured (ALERT_WEBHOOKS): no notifications are sent');
      return;
    }
    this.deadLetters = this.kafka.producer(idempotentProducerConfig);
    const codec = new RegistryCodec<AlertEventRecord>(this.registry, readAvroSchema('alert-event'));
    const log = { log: (message: string) => this.logger.log(message), warn: (message: string) => this.logger.warn(message) };
    this.notifiers = sinks.map(
      (sink) =>
        new SinkNotifier(
          sink,
          {
            prefix: this.config.TOPIC_PREFIX,
            topics: this.topics,
            policy: webhookDeliveryPolicy(this.config),
            timeoutMs: this.config.ALERT_WEBHOOK_TIMEOUT_MS,
            sessionTimeoutMs: this.config.KAFKA_SESSION_TIMEOUT_MS,
            // fleet.alerts and the re-drive topic, created with TELEMETRY_PARTITIONS each
            partitions: 2 * this.config.TELEMETRY_PARTITIONS,
          },
          { kafka: this.kafka, codec, sinks: this.sinks, deadLetters: () => this.connectedDeadLetters(), counted: (id, outcome) => this.metrics.counted(id, outcome), log },
        ),
    );
    for (const notifier of this.notifiers) notifier.launch();
    this.logger.log(`notifying ${sinks.length} webhook sink(s) of ${this.topics.alerts}: ${sinks.map((sink) => sink.id).join(', ')}`);
  }

  /** One status per sink; undefined where this instance does not send notifications. */
  status(): SinkNotifierStatus[] | undefined {
    return this.config.PROCESSORS.includes('notifications') ? this.notifiers.map((notifier) => notifier.status()) : undefined;
  }

  /** Connected once, by the first notifier that starts (in the background, retried while Kafka is away); kafkajs reconnects it after that. */
  private connectedDeadLetters(): Promise<Producer> {
    const producer = this.deadLetters!;
    this.deadLettersConnected ??= producer.connect().then(
      () => producer,
      (error: unknown) => {
        this.deadLettersConnected = undefined;
        throw error;
      },
    );
    return this.deadLettersConnected;
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.notifiers.map((notifier) => notifier.stop()));
    await this.deadLetters?.disconnect();
  }
}
