import { Kafka } from 'kafkajs';
import { TopicDefinition } from './topics';

/** Creates the topics that are missing; returns the names it created. Safe to call on every start. */
export async function ensureTopics(kafka: Kafka, definitions: TopicDefinition[]): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = definitions.filter((definition) => !existing.has(definition.topic));
    if (missing.length > 0) {
      await admin.createTopics({ topics: missing, waitForLeaders: true });
    }
    return missing.map((definition) => definition.topic);
  } finally {
    await admin.disconnect();
  }
}
