import { Kafka } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConsumedRecord, consumedRecord } from './batch-consumer';
import { fetchEndOffsets } from './transient-errors';

/** End offset (exclusive) per topic and partition. */
export type EndOffsets = Map<string, Map<number, string>>;

export interface ReadToEndOptions {
  /** Prefix of the throwaway consumer group (deleted afterwards). */
  groupPrefix: string;
  /** Called after each batch with records read so far and the total to read. */
  onProgress?: (read: number, total: number) => void;
  /** Give up when the end is not reached in this time. */
  timeoutMs?: number;
}

/**
 * Reads topics from their first retained record up to their end offsets as of the call (records
 * produced meanwhile are left out, so the result is a consistent cut), committed transactions only.
 * Returns the end offsets it read up to.
 */
export async function readTopicsToEnd(
  kafka: Kafka,
  topics: readonly string[],
  onBatch: (records: ConsumedRecord[]) => Promise<void> | void,
  options: ReadToEndOptions,
): Promise<EndOffsets> {
  const ends: EndOffsets = new Map();
  const starts = new Map<string, number>();
  let total = 0;
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  for (const topic of topics) {
    // retried while transient (NOT_LEADER on a topic created a moment ago, a broker restarting)
    const offsets = await fetchEndOffsets(kafka, topic, { deadline });
    ends.set(topic, new Map(offsets.map(({ partition, high }) => [partition, high])));
    for (const { partition, low, high } of offsets) {
      starts.set(`${topic}\u0000${partition}`, Number(low));
      total += Math.max(0, Number(high) - Number(low));
    }
  }
  if (total === 0) return ends;

  // next offset to read per partition, from every fetched batch (transaction markers included)
  const positions = new Map<string, number>();
  const groupId = `${options.groupPrefix}.${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, maxBytesPerPartition: 4 * 1024 * 1024 });
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    positions.set(`${payload.topic}\u0000${payload.partition}`, Number(payload.lastOffset) + 1);
  });
  const readSoFar = () => {
    let read = 0;
    for (const [key, start] of starts) {
      const [topic, partition] = key.split('\u0000') as [string, string];
      const end = Number(ends.get(topic)!.get(Number(partition)));
      read += Math.max(0, Math.min(positions.get(key) ?? start, end) - start);
    }
    return read;
  };
  const unfinished = () =>
    [...starts].filter(([key, start]) => {
      const [topic, partition] = key.split('\u0000') as [string, string];
      const end = Number(ends.get(topic)!.get(Number(partition)));
      return end > start && (positions.get(key) ?? start) < end;
    });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const end = Number(ends.get(batch.topic)?.get(batch.partition) ?? 0);
        const records = batch.messages
          .filter((message) => Number(message.offset) < end)
          .map((message) => consumedRecord(batch, message));
        if (records.length > 0) await onBatch(records);
        options.onProgress?.(readSoFar() + records.length, total);
      },
    });
    while (unfinished().length > 0) {
      if (Date.now() > deadline) {
        const behind = unfinished().map(([key]) => key.replace('\u0000', '/')).join(', ');
        throw new Error(`reading ${topics.join(', ')} did not reach the end offsets in ${options.timeoutMs ?? 300_000} ms (behind: ${behind}); is the broker reachable?`);
      }
      await sleep(20);
    }
    options.onProgress?.(total, total);
    return ends;
  } finally {
    await consumer.disconnect();
    const cleanup = kafka.admin();
    await cleanup.connect();
    // the group was this read's alone; leave no trace of it
    await cleanup.deleteGroups([groupId]).catch(() => undefined);
    await cleanup.disconnect();
  }
}
