import { Mutex } from 'async-mutex';
import type { Message, TopicMessages } from 'kafkajs';
import { ConfluentConsumer, ConfluentKafka, ConfluentProducer } from './confluent-client';

/**
 * `partitionsConsumedConcurrently` for a consumer whose batch handlers submit to a GroupCommitProducer:
 * batches of all its partitions at once, so they share transactions (the client caps it at the partitions assigned).
 */
export const GROUP_COMMIT_CONCURRENCY = 64;

/** The producer's cap on one record: far above any topic's max.message.bytes, so the broker decides. */
const MAX_RECORD_BYTES = 64 * 1024 * 1024;

/** How long the broker lets a transaction stay open before it aborts it. */
export const TRANSACTION_TIMEOUT_MS = 15_000;

/**
 * A group commit still unsettled after this is given up: the broker has aborted its transaction by
 * then, and a client call that never settles (a broker killed mid-transaction) must not hold every
 * partition's batch for good without an error that /ready would show.
 */
const COMMIT_DEADLINE_MS = 2 * TRANSACTION_TIMEOUT_MS;

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
 *
 * The consumed offsets are committed with the consumer's group metadata (KIP-447: member id and
 * generation): once a rebalance gave the partitions to another member, the broker refuses the commit
 * of a member that stalled meanwhile, and the whole transaction is aborted — a zombie is fenced.
 */
export class GroupCommitProducer {
  private producer: ConfluentProducer;
  /** The current producer's connect (initTransactions). */
  private connecting: Promise<void> = Promise.resolve();
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;

  /**
   * @param transactionalId stable across restarts of one instance where possible: a restarted producer
   *   with the same id aborts what its crashed predecessor left open at once, instead of read-committed
   *   readers waiting for TRANSACTION_TIMEOUT_MS.
   * @param consumer the consumer whose offsets the transactions commit (its group metadata fences).
   */
  constructor(
    private readonly kafka: ConfluentKafka,
    private readonly transactionalId: string,
    private readonly consumer: () => ConfluentConsumer | undefined,
  ) {
    this.producer = this.newProducer();
  }

  private newProducer(): ConfluentProducer {
    return this.kafka.producer({
      kafkaJS: {
        transactionalId: this.transactionalId,
        // a crashed instance's open transaction hides the records after it from every read-committed
        // reader until the broker aborts it at this timeout; ours take milliseconds, and one that
        // overruns is aborted and retried like any failed transaction
        transactionTimeout: TRANSACTION_TIMEOUT_MS,
        idempotent: true,
        acks: -1,
      },
      // the group commit is the batching: a send is flushed at once, not after librdkafka's 5 ms linger
      'linger.ms': 1,
      // a group commit of every partition's batch can hold tens of thousands of records
      'queue.buffering.max.messages': 1_000_000,
      // the topic's max.message.bytes judges a record, as the broker does (1 MiB by default); librdkafka's
      // own cap (1,000,000 bytes) would refuse a dead letter of a record that the broker took, and the
      // transaction would fail on it forever
      'message.max.bytes': MAX_RECORD_BYTES,
    });
  }

  /**
   * After a failed transaction the producer may be fenced or in an error state it does not leave. A
   * new producer with the same transactional id bumps the epoch, which fences the old one and aborts
   * whatever it left open, so the next try starts clean.
   */
  private replaceProducer(broken: ConfluentProducer): void {
    // another failure of the same producer replaced it already
    if (this.producer !== broken) return;
    this.producer = this.newProducer();
    void broken.disconnect().catch(() => undefined);
    // not awaited here: with the broker away it may take long; the next commit waits for it
    this.connecting = this.producer.connect();
    this.connecting.catch(() => undefined);
  }

  connect(): Promise<void> {
    this.connecting = this.producer.connect();
    return this.connecting;
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
        const written = await this.withinDeadline(this.commit(group.map(({ write }) => write)));
        group.forEach(({ resolve }, index) => resolve(written[index]!));
      } catch (error) {
        for (const { reject } of group) reject(error);
      }
    }
    this.flushing = undefined;
  }

  private async commit(writes: TransactionalWrite[]): Promise<WrittenOffsets[]> {
    const written: WrittenOffsets[] = writes.map(() => new Map());
    const offsets = new Map<string, { topic: string; partitions: { partition: number; offset: string }[] }>();
    for (const { consumed } of writes) {
      if (!consumed) continue;
      const entry = offsets.get(consumed.topic) ?? { topic: consumed.topic, partitions: [] };
      entry.partitions.push({ partition: consumed.partition, offset: consumed.offset });
      offsets.set(consumed.topic, entry);
    }
    const producer = this.producer;
    try {
      await this.connecting;
      await producer.transaction();
      try {
        await Promise.all(writes.flatMap(({ topicMessages }, index) => topicMessages.flatMap(({ topic, messages }) =>
          messages.map((message) => this.send(producer, topic, message, written[index]!)))));
        if (offsets.size > 0) {
          const consumer = this.consumer();
          if (!consumer) throw new Error('no consumer to commit the consumed offsets with');
          await producer.sendOffsets({ consumer, topics: [...offsets.values()] });
        }
        await producer.commit();
        return written;
      } catch (error) {
        await producer.abort();
        throw error;
      }
    } catch (error) {
      this.replaceProducer(producer);
      throw error;
    }
  }

  /** The commit, or a failure once COMMIT_DEADLINE_MS passed; then its producer is replaced (which fences it). */
  private async withinDeadline<T>(commit: Promise<T>): Promise<T> {
    const producer = this.producer;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`the transaction did not settle within ${COMMIT_DEADLINE_MS} ms; its producer is replaced`)), COMMIT_DEADLINE_MS);
    });
    try {
      return await Promise.race([commit, deadline]);
    } catch (error) {
      this.replaceProducer(producer);
      throw error;
    } finally {
      clearTimeout(timer);
      commit.catch(() => undefined); // settles later, if ever: already answered
    }
  }

  /**
   * One record, on its own so that its delivery report gives its exact offset (librdkafka batches the
   * records sent together anyway); noted when the record named its partition.
   */
  private async send(producer: ConfluentProducer, topic: string, message: Message, written: WrittenOffsets): Promise<void> {
    const { partition } = message;
    // a copy: the client rewrites the record it is given (partition -1 for "the partitioner's choice", headers)
    const [metadata] = await producer.send({ topic, messages: [{ ...message }] });
    if (partition === undefined || partition === null || metadata?.baseOffset === undefined) return;
    const partitions = written.get(topic) ?? new Map<number, number[]>();
    written.set(topic, partitions);
    // appended in place: a copy per record made a batch of n records on a partition cost n² (the alert
    // processor writes a state per (device, rule), tens of thousands per batch)
    const offsets = partitions.get(partition) ?? [];
    offsets.push(Number(metadata.baseOffset));
    partitions.set(partition, offsets);
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
