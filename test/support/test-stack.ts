import { FleetstreamConfig, loadConfig } from '@fleetstream/config';
import type { Telemetry } from '@fleetstream/domain';
import { ConsumedRecord, createKafka, ensureTopics, kafkaSettings, fleetTopicDefinitions, fleetTopics, FleetTopics, TelemetryProducer } from '@fleetstream/kafka';
import { readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Kafka } from 'kafkajs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TEST_ADMIN_KEY } from './http';

// test helpers produce raw records with kafkajs' default (Java-compatible) partitioner on purpose
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

/**
 * A private corner of the real local stack for one test file: its own topic prefix (fresh topics),
 * its own ClickHouse database and data directory. Kafka and the registry are the running ones.
 */
export interface TestStack {
  config: FleetstreamConfig;
  topics: FleetTopics;
  kafka: Kafka;
  registry: SchemaRegistry;
  telemetryCodec: RegistryCodec<Telemetry>;
}

export async function createTestStack(overrides: Record<string, string> = {}): Promise<TestStack> {
  const id = `t${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const config = loadConfig({
    ...process.env,
    TOPIC_PREFIX: `it.${id}`,
    FLEETSTREAM_DATA_DIR: mkdtempSync(join(tmpdir(), 'fleetstream-it-')),
    CLICKHOUSE_DATABASE: `it_${id}`,
    TELEMETRY_PARTITIONS: '3',
    HISTORY_BATCH_MS: '200',
    ...overrides,
  });
  const topics = fleetTopics(config.TOPIC_PREFIX);
  const kafka = createKafka(kafkaSettings(config, `it-${id}`));
  await ensureTopics(kafka, fleetTopicDefinitions(topics, config.TELEMETRY_PARTITIONS));
  const registry = new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL });
  return { config, topics, kafka, registry, telemetryCodec: new RegistryCodec<Telemetry>(registry, readAvroSchema('telemetry')) };
}

/** The environment that points the service at this stack's private topics, database and data dir. */
export function stackEnv(stack: TestStack): Record<string, string> {
  return {
    TOPIC_PREFIX: stack.config.TOPIC_PREFIX,
    FLEETSTREAM_DATA_DIR: stack.config.FLEETSTREAM_DATA_DIR,
    CLICKHOUSE_DATABASE: stack.config.CLICKHOUSE_DATABASE,
    TELEMETRY_PARTITIONS: String(stack.config.TELEMETRY_PARTITIONS),
    ADMIN_API_KEY: TEST_ADMIN_KEY,
    // the SQL interface's port is fixed (8123); a test that wants it asks for a free one
    SQL_HTTP_PORT: '0',
  };
}

export async function connectedTelemetryProducer(stack: TestStack): Promise<TelemetryProducer> {
  const producer = new TelemetryProducer(stack.kafka, stack.telemetryCodec, stack.topics.telemetry);
  await producer.connect();
  return producer;
}

export function reading(deviceId: string, seq: number, eventTime = Date.now(), metrics: Record<string, number> = { temperature: 20 + seq }): Telemetry {
  return { deviceId, eventTime, seq, metrics, attributes: { firmware: '1.0.0' } };
}

/** Polls (every `pollMs`) until the check returns a value that passes `done`; fails with the last value seen. */
export async function eventually<T>(check: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000, pollMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await check();
    if (done(last)) return last;
    await sleep(pollMs);
  }
  throw new Error(`condition not reached in ${timeoutMs} ms; last value: ${JSON.stringify(last)}`);
}

/** Every record on a topic from the beginning, read by a throwaway group. */
export async function readTopic(stack: TestStack, topic: string, expected: number, timeoutMs = 20_000): Promise<ConsumedRecord[]> {
  const seen: ConsumedRecord[] = [];
  const consumer = stack.kafka.consumer({ groupId: `reader-${Date.now()}-${Math.random()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      seen.push({ topic, partition, offset: message.offset, key: message.key, value: message.value, headers: message.headers ?? {}, timestamp: Number(message.timestamp) });
    },
  });
  await eventually(async () => seen.length, (n) => n >= expected, timeoutMs).catch(() => undefined);
  await consumer.disconnect();
  return seen;
}
