import { Kafka, KafkaConfig, logCreator, logLevel, Partitioners, SASLOptions } from 'kafkajs';

/** What createKafka needs; build it from the configuration with kafkaSettings (kafka-settings.ts). */
export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  sasl?: SASLOptions;
  ssl?: KafkaConfig['ssl'];
}

/**
 * Right after a commit the transaction coordinator answers CONCURRENT_TRANSACTIONS for a few ms while
 * it writes the markers; the request is retried (kafkajs, GroupCommitProducer), so it is no error.
 */
const RETRIED_TRANSACTION_ERROR = /another concurrent operation on the same transaction/;

/** kafkajs' log lines as JSON on stderr, without the errors it retries by design. */
const kafkaLog: logCreator = () => ({ namespace, label, log }) => {
  const { message, error, ...extra } = log as { message: string; error?: unknown; [key: string]: unknown };
  if (typeof error === 'string' && RETRIED_TRANSACTION_ERROR.test(error)) return;
  console.error(JSON.stringify({ level: label, logger: 'kafkajs', namespace, message, error, ...extra }));
};

/** One kafkajs client configured the fleetstream way. */
export function createKafka(settings: KafkaSettings): Kafka {
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    sasl: settings.sasl,
    ssl: settings.ssl,
    logLevel: logLevel.WARN,
    logCreator: kafkaLog,
    retry: { retries: 8, initialRetryTime: 300 },
  });
}

/**
 * The Java client's murmur2 partitioner, so telemetry, twins and commands of one device land in the
 * same partition number whichever client produced them (the Kafka Streams co-partitioning rule).
 */
export const javaCompatiblePartitioner = Partitioners.DefaultPartitioner;

/**
 * Options for an idempotent producer: kafkajs keeps exactly-once per partition only with unbounded
 * retries, so a broker outage blocks the send (and with it the batch: backpressure) instead of failing.
 */
export const idempotentProducerConfig = {
  idempotent: true,
  maxInFlightRequests: 1,
  createPartitioner: javaCompatiblePartitioner,
  retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 10_000 },
} as const;

const keyPartitioner = javaCompatiblePartitioner();

/** The partition a producer with the Java-compatible partitioner picks for this key (UTF-8 text or raw bytes) on a topic of `partitions` partitions. */
export function partitionOf(key: string | Buffer, partitions: number): number {
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
  return keyPartitioner({ topic: '', partitionMetadata, message: { key, value: null } });
}
