import { ConsumerGroupAdmin, fleetGroups, FleetTopics, resolveGroupId } from '@fleetstream/kafka';
import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import { Kafka } from 'kafkajs';
import type { Gauge } from 'prom-client';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';
import { KAFKA, TOPICS } from '../infrastructure/tokens';

const CONSUMER_LAG = 'fleetstream_consumer_lag_records';

/**
 * The consumer group of each processor this instance runs (history → history writer, twins → twin
 * processor, commands → command saga). Notifications have a group per sink, with a gauge of their own.
 */
export function processorGroups(prefix: string, processors: readonly AppConfig['PROCESSORS'][number][]): string[] {
  return processors.filter((processor) => processor !== 'notifications').map((processor) => resolveGroupId(prefix, processor));
}

/** Committed-offset lag of the groups this instance's processors belong to, read from the broker at scrape time. */
@Injectable()
export class ConsumerLagReader implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ConsumerLagReader.name);
  private readonly admin: ConsumerGroupAdmin;
  private readonly groups: string[];
  /** The groups that read fleet.telemetry, whichever instances run them. */
  private readonly telemetryGroups: string[];

  constructor(@Inject(fleetstreamConfig.KEY) config: AppConfig, @Inject(KAFKA) kafka: Kafka, @Inject(TOPICS) private readonly topics: FleetTopics) {
    this.admin = new ConsumerGroupAdmin(kafka);
    this.groups = processorGroups(config.TOPIC_PREFIX, config.PROCESSORS);
    const { history, twinProcessor, alertProcessor } = fleetGroups(config.TOPIC_PREFIX);
    this.telemetryGroups = [history, twinProcessor, alertProcessor];
  }

  /** Each telemetry-reading group's lag on fleet.telemetry, summed over partitions: the broker's committed offsets, the same from every instance. */
  async telemetryLag(): Promise<{ group: string; lag: number }[]> {
    return Promise.all(
      this.telemetryGroups.map(async (group) => ({ group, lag: (await this.admin.lag(group, [this.topics.telemetry])).reduce((sum, p) => sum + p.lag, 0) })),
    );
  }

  async collectInto(gauge: Gauge<'group' | 'topic' | 'partition'>): Promise<void> {
    try {
      for (const group of this.groups) {
        for (const p of await this.admin.lag(group, await this.admin.topicsOf(group))) {
          gauge.set({ group, topic: p.topic, partition: String(p.partition) }, p.lag);
        }
      }
    } catch (error) {
      // a scrape must still answer when Kafka does not; the last values stay
      this.logger.warn(`consumer lag not read: ${(error as Error).message}`);
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.admin.close();
  }
}

export const consumerLagGauge = makeGaugeProvider({
  name: CONSUMER_LAG,
  help: 'Records between a processor group\'s committed offset and the end of the partition',
  labelNames: ['group', 'topic', 'partition'],
  inject: [ConsumerLagReader],
  async collect(this: Gauge<'group' | 'topic' | 'partition'>, reader: unknown) {
    await (reader as ConsumerLagReader).collectInto(this);
  },
});
