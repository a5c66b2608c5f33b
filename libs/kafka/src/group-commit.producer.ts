import { Mutex } from 'async-mutex';
import { Kafka, Message, Producer, RecordMetadata, TopicMessages } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * `partitionsConsumedConcurrently` for a consumer whose batch handlers submit to a GroupCommitProducer:
 * batches of all its partitions at once, so they share transactions (kafkajs caps it at the partitions assigned).
 */
export const GROUP_COMMIT_CONCURRENCY = 64;

/** How long the broker lets a transaction stay open before it aborts it. */
export const TRANSACTION_TIMEOUT_MS = 15_000;

/** A consumed position to commit with the output: the next offset to read. */
export interface ConsumedOffset {
  topic: string;
  partition: number;
  offset: string;
}

/** What one batch handler must write atomically: output records and the offset it consumed up to. */
export interface TransactionalWrite {
  topicMessages: TopicMessages[];
  consumed?: ConsumedOffset;
}

/**
 * Where a committed write's records landed, for the records that named their partition: topic →
 * partition → offsets. A processor hands them to its read model, which then skips reading back what
 * the processor already put in its store.
 */
export type WrittenOffsets = Map<string, Map<number, number[]>>;

interface Pending {
  write: TransactionalWrite;
  resolve: (written: WrittenOffsets) => void;
  reject: (error: unknown) => void;
}

/**
 * One transactional producer for a consumer group's read-process-write, with group commit: writes
 * submitted while a transaction is in flight go into the next one together, so handlers of several
 * partitions share a transaction instead of queueing for one each (each costs five round trips and
 * the coordinator's markers). A write resolves once its transaction committed; if the transaction
 * fails, every write in it fails and its batch is re-delivered.
 */
export class GroupCommitProducer {
  private producer: Producer;
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly transactionalId: string,
    private readonly consumerGroupId: string,
  ) {
    this.producer = this.newProducer();
  }

  private newProducer(): Producer {
    return this.kafka.producer({
      transactionalId: this.transactionalId,
      // a crashed instance's open transaction hides the records after it from every read-committed
      // reader until the broker aborts it at this timeout (kafkajs' default is 60 s); ours take
      // milliseconds, and one that overruns is aborted and retried like any failed transaction
      transactionTimeout: TRANSACTION_TIMEOUT_MS,
      idempotent: true,
      maxInFlightRequests: 1,
      // the coordinator answers CONCURRENT_TRANSACTIONS for a few ms after each commit while it writes
      // the markers; the client-wide 300 ms first retry would add that much to the next transaction
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 10, maxRetryTime: 10_000 },
    });
  }

  /**
   * After a failed transaction the kafkajs producer can be left in a state it never leaves (say
   * COMMITTING after the broker went away mid-commit: "Cannot call beginTransaction in state
   * COMMITTING"). A new producer with the same transactional id bumps the epoch, which fences the
   * old one and aborts whatever it left open, so the next try starts clean.
   */
  private async replaceProducer(): Promise<void> {
    const broken = this.producer;
    this.producer = this.newProducer();
    await broken.disconnect().catch(() => undefined);
    await this.producer.connect();
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async disconnect(): Promise<void> {
    await this.flushing;
    await this.producer.disconnect();
  }

  /** Resolves when the write is committed together with whatever else was waiting. */
  submit(write: TransactionalWrite): Promise<WrittenOffsets> {
    if (write.topicMessages.every(({ messages }) => messages.length === 0) && !write.consumed) return Promise.resolve(new Map());
    return new Promise((resolve, reject) => {
      this.queue.push({ write, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      try {
        const written = await this.commit(group.map(({ write }) => write));
        group.forEach(({ resolve }, index) => resolve(written[index]!));
      } catch (error) {
        for (const { reject } of group) reject(error);
      }
    }
    this.flushing = undefined;
  }

  private async commit(writes: TransactionalWrite[]): Promise<WrittenOffsets[]> {
    const byTopic = new Map<string, TopicMessages['messages']>();
    const writeOf = new Map<Message, number>();
    writes.forEach(({ topicMessages }, index) => {
      for (const { topic, messages } of topicMessages) {
        if (messages.length > 0) byTopic.set(topic, [...(byTopic.get(topic) ?? []), ...messages]);
        for (const message of messages) writeOf.set(message, index);
      }
    });
    const written: WrittenOffsets[] = writes.map(() => new Map());
    const offsets = new Map<string, { topic: string; partitions: { partition: number; offset: string }[] }>();
    for (const { consumed } of writes) {
      if (!consumed) continue;
      const entry = offsets.get(consumed.topic) ?? { topic: consumed.topic, partitions: [] };
      entry.partitions.push({ partition: consumed.partition, offset: consumed.offset });
      offsets.set(consumed.topic, entry);
    }
    try {
      const transaction = await this.producer.transaction();
      try {
        for (const topicMessages of requestsWithin([...byTopic].map(([topic, messages]) => ({ topic, messages })), MAX_REQUEST_BYTES)) {
          const metadata = await transaction.sendBatch({ acks: -1, topicMessages });
          noteOffsets(topicMessages, metadata, (message) => written[writeOf.get(message)!]!);
        }
        if (offsets.size > 0) {
          await whileTransactionsConcurrent(() => transaction.sendOffsets({ consumerGroupId: this.consumerGroupId, topics: [...offsets.values()] }));
        }
        await transaction.commit();
        return written;
      } catch (error) {
        await transaction.abort();
        throw error;
      }
    } catch (error) {
      await this.replaceProducer().catch(() => undefined);
      throw error;
    }
  }
}

/**
 * The offset of each record that named its partition: kafkajs keeps a request's records of one
 * partition in order in one record batch, so the k-th of them is at the batch's base offset + k.
 */
function noteOffsets(topicMessages: TopicMessages[], metadata: RecordMetadata[], writtenBy: (message: Message) => WrittenOffsets): void {
  for (const { topicName, partition, baseOffset } of metadata) {
    const ofTopic = topicMessages.filter(({ topic }) => topic === topicName).flatMap(({ messages }) => messages);
    // a record placed by the partitioner could stand between them: then the positions are unknown
    if (baseOffset === undefined || ofTopic.some((message) => message.partition === undefined)) continue;
    const messages = ofTopic.filter((message) => message.partition === partition);
    messages.forEach((message, k) => {
      const byPartition = writtenBy(message);
      const partitions = byPartition.get(topicName) ?? new Map<number, number[]>();
      byPartition.set(topicName, partitions);
      partitions.set(partition, [...(partitions.get(partition) ?? []), Number(baseOffset) + k]);
    });
  }
}

/**
 * Largest sum of record bytes in one produce request. kafkajs puts every record of a partition into
 * one record batch, and the broker refuses a batch over the topic's max.message.bytes (1 MiB by
 * default): a group commit of thousands of twins of one partition would fail for good.
 */
const MAX_REQUEST_BYTES = 512 * 1024;

/** Splits the messages into produce requests of at most `maxBytes` of keys and values each (a larger single record goes alone). */
export function requestsWithin(topicMessages: TopicMessages[], maxBytes: number): TopicMessages[][] {
  const requests: TopicMessages[][] = [];
  let current: TopicMessages[] = [];
  let bytes = 0;
  for (const { topic, messages } of topicMessages) {
    for (const message of messages) {
      const size = byteLength(message.key) + byteLength(message.value) + 64;
      if (bytes + size > maxBytes && bytes > 0) {
        requests.push(current);
        current = [];
        bytes = 0;
      }
      const last = current[current.length - 1];
      if (last?.topic === topic) last.messages.push(message);
      else current.push({ topic, messages: [message] });
      bytes += size;
    }
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

function byteLength(data: Buffer | string | null | undefined): number {
  if (data === null || data === undefined) return 0;
  return typeof data === 'string' ? Buffer.byteLength(data) : data.length;
}

/**
 * Retries AddOffsetsToTxn while the coordinator still finishes the previous transaction: kafkajs
 * does not retry it, and failing the batch for it would cost a consumer retry (300 ms and more).
 */
async function whileTransactionsConcurrent(send: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      if ((error as { type?: string }).type !== 'CONCURRENT_TRANSACTIONS' || attempt >= 50) throw error;
      await sleep(Math.min(5 * attempt, 50));
    }
  }
}

/**
 * One turn at a time per partition number. Co-partitioned topics (telemetry-p and device-events-p,
 * commands-p and device-acks-p) hold the same devices, and kafkajs may run their batches at once;
 * their handlers take turns so neither folds onto state the other is about to replace.
 */
export class PartitionTurns {
  private readonly locks = new Map<number, Mutex>();

  of(partition: number): Mutex {
    let lock = this.locks.get(partition);
    if (!lock) this.locks.set(partition, (lock = new Mutex()));
    return lock;
  }
}
