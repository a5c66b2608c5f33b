import { Admin, ConfigResourceTypes, ConfigSource, Kafka } from 'kafkajs';
import { TopicDefinition } from './topics';
import { retryTransient } from './transient-errors';

/** Runs `use` with a connected admin client, and disconnects it whatever happens. */
export async function withAdmin<T>(kafka: Kafka, use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Creates the topics that are missing; returns the names it created. Safe to call on every start. */
export async function ensureTopics(kafka: Kafka, definitions: TopicDefinition[]): Promise<string[]> {
  return withAdmin(kafka, async (admin) => {
    const existing = new Set(await admin.listTopics());
    const missing = definitions.filter((definition) => !existing.has(definition.topic));
    if (missing.length > 0) {
      await admin.createTopics({ topics: missing, waitForLeaders: false });
      // kafkajs' own wait for leaders gives up on UNKNOWN_TOPIC_OR_PARTITION, which a broker answers
      // while a topic created a moment ago is not yet in its metadata cache
      await retryTransient(
        async () => {
          const { topics } = await admin.fetchTopicMetadata({ topics: missing.map((definition) => definition.topic) });
          const leaderless = topics.filter((topic) => topic.partitions.some((partition) => partition.leader < 0)).map((topic) => topic.name);
          if (leaderless.length > 0) throw Object.assign(new Error(`no leader yet for ${leaderless.join(', ')}`), { retriable: true });
        },
        { deadline: Date.now() + 60_000 },
      );
    }
    return missing.map((definition) => definition.topic);
  });
}

/** How an existing topic differs from its definition. */
export interface TopicDrift {
  topic: string;
  missing: boolean;
  partitions: { expected: number; actual: number } | null;
  configs: { name: string; expected: string; actual: string | null }[];
}

/** Compares the topics on the cluster with their definitions: partition counts and configured policies. */
export async function topicDrift(kafka: Kafka, definitions: TopicDefinition[]): Promise<TopicDrift[]> {
  return withAdmin(kafka, async (admin) => {
    const existing = new Set(await admin.listTopics());
    const present = definitions.filter((definition) => existing.has(definition.topic));
    const metadata = present.length > 0 ? (await admin.fetchTopicMetadata({ topics: present.map((d) => d.topic) })).topics : [];
    const described =
      present.length > 0
        ? await admin.describeConfigs({
            includeSynonyms: false,
            resources: present.map((d) => ({ type: ConfigResourceTypes.TOPIC, name: d.topic, configNames: d.configEntries.map((e) => e.name) })),
          })
        : { resources: [] };
    return definitions.map((definition) => {
      if (!existing.has(definition.topic)) return { topic: definition.topic, missing: true, partitions: null, configs: [] };
      const actualPartitions = metadata.find((t) => t.name === definition.topic)?.partitions.length ?? 0;
      const entries = described.resources.find((r) => r.resourceName === definition.topic)?.configEntries ?? [];
      const configs = definition.configEntries
        .map(({ name, value }) => ({ name, expected: value, actual: entries.find((e) => e.configName === name)?.configValue ?? null }))
        .filter(({ expected, actual }) => expected !== actual);
      return {
        topic: definition.topic,
        missing: false,
        partitions: actualPartitions === definition.numPartitions ? null : { expected: definition.numPartitions, actual: actualPartitions },
        configs,
      };
    });
  });
}

/** Sets drifted configs back to their definitions. Partition counts are never changed: that would move keys between partitions. */
export async function repairTopicConfigs(kafka: Kafka, drift: readonly TopicDrift[]): Promise<void> {
  const resources = drift
    .filter((d) => d.configs.length > 0)
    .map((d) => ({ type: ConfigResourceTypes.TOPIC, name: d.topic, configEntries: d.configs.map(({ name, expected }) => ({ name, value: expected })) }));
  if (resources.length === 0) return;
  return withAdmin(kafka, async (admin) => {
    // AlterConfigs replaces the topic's whole dynamic config, so keep the settings that are not drifted
    const current = await admin.describeConfigs({ includeSynonyms: false, resources: resources.map(({ type, name }) => ({ type, name })) });
    await admin.alterConfigs({
      validateOnly: false,
      resources: resources.map((resource) => {
        const kept = (current.resources.find((r) => r.resourceName === resource.name)?.configEntries ?? [])
          .filter((e) => e.configSource === ConfigSource.TOPIC_CONFIG && !resource.configEntries.some((c) => c.name === e.configName))
          .map((e) => ({ name: e.configName, value: e.configValue }));
        return { ...resource, configEntries: [...kept, ...resource.configEntries] };
      }),
    });
  });
}

/** The topic's effective max.message.bytes (its own setting, or the broker's default): the largest record batch it accepts. */
export async function topicMaxMessageBytes(kafka: Kafka, topic: string): Promise<number> {
  return withAdmin(kafka, async (admin) => {
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] }],
    });
    const value = described.resources[0]?.configEntries.find((entry) => entry.configName === 'max.message.bytes')?.configValue;
    return value ? Number(value) : 1_048_588;
  });
}

/**
 * The partition count the co-partitioned topics share; throws, naming each count, when they differ:
 * partition p of each must hold the same keys (Kafka Streams' rule), or one device's state splits.
 */
export async function coPartitionCount(kafka: Kafka, topics: readonly string[]): Promise<number> {
  return withAdmin(kafka, async (admin) => {
    const metadata = (await admin.fetchTopicMetadata({ topics: [...topics] })).topics;
    const counts = metadata.map(({ name, partitions }) => `${name}: ${partitions.length}`);
    const distinct = new Set(metadata.map(({ partitions }) => partitions.length));
    if (distinct.size !== 1) throw new Error(`co-partitioned topics must have one partition count, they have ${counts.join(', ')}; recreate the odd one out with the same count`);
    return [...distinct][0]!;
  });
}

/** Deletes those of the topics that exist (say, a benchmark's own topics when it ends). */
export async function deleteTopicsIfPresent(kafka: Kafka, names: readonly string[]): Promise<void> {
  return withAdmin(kafka, async (admin) => {
    const existing = new Set(await admin.listTopics());
    await admin.deleteTopics({ topics: names.filter((name) => existing.has(name)) });
  });
}
