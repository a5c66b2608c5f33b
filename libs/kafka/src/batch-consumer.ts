import { Consumer, ConsumerConfig, EachBatchPayload, IHeaders, Kafka } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';

/** One Kafka record as the batch handlers see it. */
export interface ConsumedRecord {
  topic: string;
  partition: number;
  /** Kafka offsets are 64-bit; kept as the decimal string kafkajs gives. */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
  /** Broker or producer timestamp, epoch ms. */
  timestamp: number;
}

/** Writes a batch durably; throws when it could not (the batch is then retried, never skipped). */
export type BatchHandler = (records: ConsumedRecord[]) => Promise<void>;

export interface BatchConsumerOptions {
  groupId: string;
  topics: (string | RegExp)[];
  /** Flush when this many records are buffered... */
  maxRows: number;
  /** ...or when the oldest buffered record has waited this long. */
  maxWaitMs: number;
  handle: BatchHandler;
  /** Called after each rebalance, before records of the new assignment reach the handler. */
  onRebalance?: () => void;
  fromBeginning?: boolean;
  consumerConfig?: Partial<ConsumerConfig>;
  log?: (message: string) => void;
}

export interface BatchConsumerStats {
  flushedBatches: number;
  flushedRecords: number;
  failedFlushes: number;
}

const RETRY_BACKOFF_MS = [200, 500, 1000, 2000, 5000];

/**
 * Buffers records across partitions, hands them to the handler in large batches, and commits the
 * offsets only after the handler succeeded: a crash re-delivers, it never loses. While the handler
 * fails (say ClickHouse is down) the consumer stops fetching and retries with backoff, heartbeating
 * so the group keeps its partitions: backpressure instead of dropping or crash-looping.
 */
export class BatchConsumer {
  private readonly consumer: Consumer;
  private buffer: ConsumedRecord[] = [];
  private oldestBufferedAt = 0;
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private generation = 0;
  readonly stats: BatchConsumerStats = { flushedBatches: 0, flushedRecords: 0, failedFlushes: 0 };

  constructor(
    kafka: Kafka,
    private readonly options: BatchConsumerOptions,
  ) {
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      // big fetches: the handler wants thousands of records per call, not dozens
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxBytes: 32 * 1024 * 1024,
      maxWaitTimeInMs: Math.min(options.maxWaitMs, 500),
      ...options.consumerConfig,
    });
    // A rebalance may hand our partitions to another member, which re-reads them from the last
    // commit; dropping the uncommitted buffer keeps us from writing records we no longer own.
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
      this.generation++;
      this.buffer = [];
      this.options.onRebalance?.();
    });
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.options.topics, fromBeginning: this.options.fromBeginning ?? true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.onBatch(payload),
    });
    this.timer = setInterval(() => {
      if (this.buffer.length > 0 && Date.now() - this.oldestBufferedAt >= this.options.maxWaitMs) {
        // A failed timed flush keeps its records buffered; the next batch or tick retries them.
        this.flush().catch(() => undefined);
      }
    }, Math.max(10, Math.floor(this.options.maxWaitMs / 4)));
  }

  /** Writes and commits what is buffered, then leaves the group. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    // Commit while still a group member; what arrives after this is re-read on restart.
    await this.flushWithRetry(async () => undefined, 3).catch((error: unknown) => {
      this.log(`could not write the last batch before stopping; it will be re-read on restart: ${String(error)}`);
    });
    await this.consumer.disconnect();
  }

  private async onBatch({ batch, heartbeat, isStale, isRunning, resolveOffset }: EachBatchPayload): Promise<void> {
    if (isStale() || !isRunning()) return;
    if (this.buffer.length === 0) this.oldestBufferedAt = Date.now();
    for (const message of batch.messages) {
      this.buffer.push({
        topic: batch.topic,
        partition: batch.partition,
        offset: message.offset,
        key: message.key,
        value: message.value,
        headers: message.headers ?? {},
        timestamp: Number(message.timestamp),
      });
    }
    // Moves the fetch position past the buffered records (autoCommit is off, so nothing is committed
    // yet); without it kafkajs fetches the same records again and again.
    resolveOffset(batch.lastOffset());
    if (this.buffer.length >= this.options.maxRows || Date.now() - this.oldestBufferedAt >= this.options.maxWaitMs) {
      await this.flushWithRetry(heartbeat);
    }
  }

  private async flushWithRetry(heartbeat: () => Promise<void>, maxAttempts = Number.POSITIVE_INFINITY): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.flush();
        return;
      } catch (error) {
        if (attempt + 1 >= maxAttempts || (this.stopping && maxAttempts === Number.POSITIVE_INFINITY)) throw error;
        const backoff = RETRY_BACKOFF_MS[Math.min(attempt, RETRY_BACKOFF_MS.length - 1)]!;
        this.log(`batch write failed (attempt ${attempt + 1}), consumption paused, retrying in ${backoff} ms: ${String(error)}`);
        await heartbeat();
        await sleep(backoff);
      }
    }
  }

  /** Serialized: a timed flush and a size-triggered flush never run at once. */
  private flush(): Promise<void> {
    const run = this.flushing.then(() => this.flushNow());
    this.flushing = run.catch(() => undefined);
    return run;
  }

  private async flushNow(): Promise<void> {
    if (this.buffer.length === 0) return;
    // Take the buffer: records fetched while the handler runs start the next batch.
    const records = this.buffer;
    const generation = this.generation;
    this.buffer = [];
    try {
      await this.options.handle(records);
    } catch (error) {
      this.stats.failedFlushes++;
      if (generation === this.generation) this.buffer = records.concat(this.buffer);
      throw error;
    }
    // Only now is the batch durable downstream, so only now may the group move past it.
    const next = new Map<string, { topic: string; partition: number; offset: string }>();
    for (const record of records) {
      next.set(`${record.topic}\u0000${record.partition}`, {
        topic: record.topic,
        partition: record.partition,
        offset: (BigInt(record.offset) + 1n).toString(),
      });
    }
    await this.consumer.commitOffsets([...next.values()]);
    this.oldestBufferedAt = Date.now();
    this.stats.flushedBatches++;
    this.stats.flushedRecords += records.length;
  }

  private log(message: string): void {
    (this.options.log ?? console.warn)(`[${this.options.groupId}] ${message}`);
  }
}
