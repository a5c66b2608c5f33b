import { loadConfig } from '@fleetstream/config';
import { createKafka, ensureTopics, fleetTopicDefinitions, fleetTopics } from '@fleetstream/kafka';
import { Command } from 'commander';

export const topicsCommand = new Command('topics')
  .description('create the fleetstream topics that are missing, with their partitions and policies')
  .action(async () => {
    const config = loadConfig();
    const definitions = fleetTopicDefinitions(fleetTopics(config.TOPIC_PREFIX), config.TELEMETRY_PARTITIONS);
    const created = await ensureTopics(createKafka({ brokers: config.KAFKA_BROKERS, clientId: config.KAFKA_CLIENT_ID }), definitions);
    for (const definition of definitions) {
      console.log(`${created.includes(definition.topic) ? 'created ' : 'exists  '} ${definition.topic}`);
    }
  });
