import { ensureTopics, fleetTopicDefinitions, FleetTopics } from '@fleetstream/kafka';
import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { AppConfig, fleetstreamConfig } from './fleetstream.config';
import { KAFKA, TOPICS } from './tokens';

/** Creates missing fleetstream topics before any processor subscribes (the broker does not auto-create). */
@Injectable()
export class TopicsBootstrap implements OnModuleInit {
  private readonly logger = new Logger(TopicsBootstrap.name);

  constructor(
    @Inject(fleetstreamConfig.KEY) private readonly config: AppConfig,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(TOPICS) private readonly topics: FleetTopics,
  ) {}

  async onModuleInit(): Promise<void> {
    const created = await ensureTopics(this.kafka, fleetTopicDefinitions(this.topics, this.config.TELEMETRY_PARTITIONS));
    if (created.length > 0) this.logger.log(`created topics: ${created.join(', ')}`);
  }
}
