import { createConfluentKafka, createKafka, fleetTopics, kafkaSettings } from '@fleetstream/kafka';
import { createTransport, HistoryRepository } from '@fleetstream/history';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { AppConfig, fleetstreamConfig } from './fleetstream.config';
import { CLICKHOUSE, CONFLUENT_KAFKA, KAFKA, SCHEMA_REGISTRY, TOPICS } from './tokens';
import { TopicsBootstrap } from './topics.bootstrap';
import type { ClickHouseTransport } from '@fleetstream/history';

/** The adapters at the edge — Kafka, the schema registry, ClickHouse — one instance each per process. */
@Global()
@Module({
  imports: [ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [fleetstreamConfig] })],
  providers: [
    TopicsBootstrap,
    { provide: KAFKA, inject: [fleetstreamConfig.KEY], useFactory: (config: AppConfig) => createKafka(kafkaSettings(config, config.KAFKA_CLIENT_ID)) },
    { provide: CONFLUENT_KAFKA, inject: [fleetstreamConfig.KEY], useFactory: (config: AppConfig) => createConfluentKafka(kafkaSettings(config, config.KAFKA_CLIENT_ID)) },
    { provide: SCHEMA_REGISTRY, inject: [fleetstreamConfig.KEY], useFactory: (config: AppConfig) => new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL, clientId: config.KAFKA_CLIENT_ID }) },
    { provide: TOPICS, inject: [fleetstreamConfig.KEY], useFactory: (config: AppConfig) => fleetTopics(config.TOPIC_PREFIX) },
    { provide: CLICKHOUSE, inject: [fleetstreamConfig.KEY], useFactory: (config: AppConfig) => createTransport(config) },
    {
      provide: HistoryRepository,
      inject: [CLICKHOUSE, fleetstreamConfig.KEY],
      useFactory: (transport: ClickHouseTransport, config: AppConfig) => new HistoryRepository(transport, config.CLICKHOUSE_DATABASE),
    },
  ],
  exports: [KAFKA, CONFLUENT_KAFKA, SCHEMA_REGISTRY, TOPICS, CLICKHOUSE, HistoryRepository],
})
export class InfrastructureModule implements OnApplicationShutdown {
  constructor(@Inject(CLICKHOUSE) private readonly clickhouse: ClickHouseTransport) {}

  async onApplicationShutdown(): Promise<void> {
    await this.clickhouse.close();
  }
}

