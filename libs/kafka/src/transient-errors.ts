import { Kafka } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Broker answers that mean "not now" (leadership or a coordinator moving, a topic just created), not "never". */
const TRANSIENT_PROTOCOL_ERRORS: ReadonlySet<string> = new Set([
  'NOT_LEADER_FOR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'NOT_COORDINATOR',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'REQUEST_TIMED_OUT',
  'NETWORK_EXCEPTION',
  'REBALANCE_IN_PROGRESS',
  'OFFSET_NOT_AVAILABLE',
]);

/** kafkajs errors of a broker that is unreachable, slow or not yet known. */
const TRANSIENT_CLIENT_ERRORS: ReadonlySet<string> = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSStaleTopicMetadataAssignment',
]);

const TRANSIENT_SYSTEM_ERRORS: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * True for a Kafka error worth retrying as it is (NOT_LEADER, a coordinator or leader not available,
 * a connection refused or timed out, kafkajs' own retries exhausted), looking through wrapped causes.
 */
export function isTransientKafkaError(error: unknown): boolean {
  for (let cause = error as { name?: string; type?: string; code?: string; retriable?: boolean; cause?: unknown } | undefined, depth = 0; cause && depth < 10; cause = cause.cause as typeof cause, depth++) {
    if (cause.retriable === true) return true;
    if (cause.type !== undefined && TRANSIENT_PROTOCOL_ERRORS.has(cause.type)) return true;
    if (cause.name !== undefined && TRANSIENT_CLIENT_ERRORS.has(cause.name)) return true;
    if (cause.code !== undefined && TRANSIENT_SYSTEM_ERRORS.has(cause.code)) return true;
  }
  return false;
}

/** Waits before retry `attempt` (0-based): 200 ms doubling to 5 s. */
export function retryBackoffMs(attempt: number): number {
  return Math.min(200 * 2 ** Math.min(attempt, 5), 5000);
}

export interface TransientRetryOptions {
  /** Give up (rethrow the last error) after this time; retries forever when not given. */
  deadline?: number;
  /** Stops retrying (rethrowing) once aborted. */
  signal?: AbortSignal;
  /** Told of each transient failure before the wait, with the attempt number (0-based). */
  onRetry?: (error: unknown, attempt: number) => void;
}

/** Runs `run` until it succeeds, retrying transient Kafka errors with backoff; other errors are thrown at once. */
export async function retryTransient<T>(run: () => Promise<T>, options: TransientRetryOptions = {}): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      const wait = retryBackoffMs(attempt);
      if (!isTransientKafkaError(error) || options.signal?.aborted || (options.deadline !== undefined && Date.now() + wait > options.deadline)) throw error;
      options.onRetry?.(error, attempt);
      await sleep(wait);
    }
  }
}

/** High and low watermarks per partition of a topic. */
export interface PartitionEnds {
  partition: number;
  high: string;
  low: string;
}

/**
 * A topic's end offsets, asked with a fresh admin client each attempt: kafkajs' admin gives up at
 * once on NOT_LEADER (as a just-created topic answers for a moment) without refreshing its metadata.
 */
export async function fetchEndOffsets(kafka: Kafka, topic: string, options: TransientRetryOptions = {}): Promise<PartitionEnds[]> {
  return retryTransient(async () => {
    const admin = kafka.admin({ retry: { retries: 1 } });
    await admin.connect();
    try {
      return await admin.fetchTopicOffsets(topic);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }, options);
}
