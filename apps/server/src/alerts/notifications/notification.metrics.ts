import { alertNotifierGroup, ConsumerGroupAdmin, FleetTopics } from '@fleetstream/kafka';
import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { InjectMetric, makeCounterProvider, makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import { Kafka } from 'kafkajs';
import type { Counter, Gauge } from 'prom-client';
import { AppConfig, fleetstreamConfig } from '../../infrastructure/fleetstream.config';
import { KAFKA, TOPICS } from '../../infrastructure/tokens';
import { NOTIFICATION_SINKS } from './notification-sinks.token';
import type { NotificationSinks } from './webhook-sinks';

const DELIVERIES = 'fleetstream_notification_deliveries_total';
const PENDING = 'fleetstream_notification_pending_records';

export type DeliveryOutcome = 'delivered' | 'retried' | 'dead_lettered';

/** Notification figures: each attempt's outcome per sink. */
@Injectable()
export class NotificationMetrics {
  constructor(@InjectMetric(DELIVERIES) private readonly deliveries: Counter<'sink' | 'outcome'>) {}

  counted(sink: string, outcome: DeliveryOutcome): void {
    this.deliveries.inc({ sink, outcome });
  }
}

/** Records each sink's notifier has still to settle: its group's lag on fleet.alerts and the re-drive topic, read at scrape time. */
@Injectable()
export class NotificationBacklog implements BeforeApplicationShutdown {
  private readonly logger = new Logger(NotificationBacklog.name);
  private readonly admin: ConsumerGroupAdmin;

  constructor(
    @Inject(fleetstreamConfig.KEY) private readonly config: AppConfig,
    @Inject(KAFKA) kafka: Kafka,
    @Inject(TOPICS) private readonly topics: FleetTopics,
    @Inject(NOTIFICATION_SINKS) private readonly sinks: NotificationSinks,
  ) {
    this.admin = new ConsumerGroupAdmin(kafka);
  }

  async collectInto(gauge: Gauge<'sink'>): Promise<void> {
    if (!this.config.PROCESSORS.includes('notifications')) return;
    try {
      for (const sink of this.sinks.all()) {
        const lag = await this.admin.lag(alertNotifierGroup(this.config.TOPIC_PREFIX, sink.id), [this.topics.alerts, this.topics.alertNotificationsRedrive]);
        gauge.set({ sink: sink.id }, lag.reduce((sum, partition) => sum + partition.lag, 0));
      }
    } catch (error) {
      // a scrape must still answer when Kafka does not; the last values stay
      this.logger.warn(`notification backlog not read: ${(error as Error).message}`);
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.admin.close();
  }
}

export const notificationMetricProviders = [
  makeCounterProvider({ name: DELIVERIES, help: 'Alert notification delivery attempts per webhook sink, by outcome (delivered, retried, dead_lettered)', labelNames: ['sink', 'outcome'] }),
  makeGaugeProvider({
    name: PENDING,
    help: "Alert events a webhook sink's notifier has not settled yet (delivered or dead-lettered): its consumer group's lag",
    labelNames: ['sink'],
    inject: [NotificationBacklog],
    async collect(this: Gauge<'sink'>, backlog: unknown) {
      await (backlog as NotificationBacklog).collectInto(this);
    },
  }),
];
