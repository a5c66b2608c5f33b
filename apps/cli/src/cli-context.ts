import { FleetstreamConfig, loadConfig } from '@fleetstream/config';
import { createKafka, fleetTopics, FleetTopics, kafkaSettings } from '@fleetstream/kafka';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Kafka } from 'kafkajs';

/** What every ops command talks to, from the same settings as the service. */
export interface CliContext {
  config: FleetstreamConfig;
  kafka: Kafka;
  registry: SchemaRegistry;
  topics: FleetTopics;
}

/** `role` names the Kafka client (`<KAFKA_CLIENT_ID>-<role>`), so the broker's logs tell the CLI's jobs apart. */
export function cliContext(role = 'cli', env: Record<string, string | undefined> = process.env): CliContext {
  const config = loadConfig(env);
  return {
    config,
    kafka: createKafka(kafkaSettings(config, `${config.KAFKA_CLIENT_ID}-${role}`)),
    registry: new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL }),
    topics: fleetTopics(config.TOPIC_PREFIX),
  };
}
