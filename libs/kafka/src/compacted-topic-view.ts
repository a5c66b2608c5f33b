import { Consumer, Kafka } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { InMemoryStore, KeyValueStore, StoreChange } from './key-value-store';

export interface CompactedTopicViewOptions<V> {
  topic: string;
  /** Group id prefix; each view instance reads the whole topic under its own group and never commits. */
  groupPrefix: string;
  decode: (value: Buffer) => V | Promise<V>;
  /** Called after each change is in the store (a `get` sees it), with null for a tombstone. */
  onChange?: (key: string, value: V | null) => void;
  /**
   * Where the latest value per key lives; a JavaScript Map when not given. It must start empty (the
   * view reads from offset 0) and its owner closes it after `stop`.
   */
  store?: KeyValueStore<V>;
}

/**
 * A compacted topic materialized in a local store, like a Kafka Streams KTable: every instance reads
 * the topic from the beginning, keeps the latest value per key and drops keys on tombstones. Reads
 * are local; `caughtUp` waits until the view has reached the topic's end offsets as of the call.
 */
export class CompactedTopicView<V> {
  private readonly consumer: Consumer;
  private readonly groupId: string;
  private readonly store: KeyValueStore<V>;
  /** Next offset to read per partition, from every fetched batch (control records included). */
  private readonly positions = new Map<number, number>();

  constructor(
    private readonly kafka: Kafka,
    private readonly options: CompactedTopicViewOptions<V>,
  ) {
    this.groupId = `${options.groupPrefix}.${randomUUID()}`;
    this.store = options.store ?? new InMemoryStore<V>();
    // larger fetches than kafkajs' 1 MiB per partition: a restore reads the whole topic
    this.consumer = kafka.consumer({ groupId: this.groupId, maxWaitTimeInMs: 100, maxBytesPerPartition: 8 << 20, maxBytes: 32 << 20 });
    // END_BATCH_PROCESS also fires for batches of only transaction markers, which eachBatch never sees;
    // it fires after eachBatch resolved, so a position never runs ahead of what the store holds
    this.consumer.on(this.consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.topic === options.topic) this.positions.set(payload.partition, Number(payload.lastOffset) + 1);
    });
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.options.topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const changes: StoreChange<V>[] = [];
        for (const message of batch.messages) {
          if (message.key === null) continue;
          changes.push([message.key.toString('utf8'), message.value === null ? null : await this.options.decode(message.value)]);
        }
        if (changes.length === 0) return;
        await this.store.write(changes);
        const onChange = this.options.onChange;
        if (onChange) for (const [key, value] of changes) onChange(key, value);
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
    const admin = this.kafka.admin();
    await admin.connect();
    // the group was this instance's alone; leave no trace of it
    await admin.deleteGroups([this.groupId]).catch(() => undefined);
    await admin.disconnect();
  }

  get(key: string): V | undefined {
    return this.store.get(key);
  }

  /** Entries in key order, after `afterKey` when given. */
  entries(afterKey?: string): Iterable<[string, V]> {
    return this.store.entries(afterKey);
  }

  get size(): number {
    return this.store.count();
  }

  /** Resolves once every partition (or the given ones) is read up to its current end offset. */
  async caughtUp(partitions?: number[], timeoutMs = 60_000): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    let ends: { partition: number; high: string; low: string }[];
    try {
      ends = (await admin.fetchTopicOffsets(this.options.topic)).filter((end) => !partitions || partitions.includes(end.partition));
    } finally {
      await admin.disconnect();
    }
    const deadline = Date.now() + timeoutMs;
    const behind = () => ends.filter(({ partition, high, low }) => Number(high) > Number(low) && (this.positions.get(partition) ?? 0) < Number(high));
    while (behind().length > 0) {
      if (Date.now() > deadline) {
        throw new Error(`${this.options.topic} view still behind after ${timeoutMs} ms on partitions ${behind().map((e) => e.partition).join(', ')}`);
      }
      await sleep(20);
    }
  }
}
