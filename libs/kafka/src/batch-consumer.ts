import { Batch, Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConsumerStartup } from './consumer-startup';
import { FailureStreak, FailureStreaks } from './failure-streaks';

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

/** A fetched message, as kafkajs and the Confluent client's KafkaJS API both give it. */
export type FetchedMessage = Pick<KafkaMessage, 'offset' | 'key' | 'value' | 'headers' | 'timestamp'>;

/** A fetched message as a ConsumedRecord. */
export function consumedRecord(batch: Pick<Batch, 'topic' | 'partition'>, message: FetchedMessage): ConsumedRecord {
  return {
    topic: batch.topic,
    partition: batch.partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    headers: message.headers ?? {},
    timestamp: Number(message.timestamp),
  };
}

export interface BatchConsumerOptions<Prepared> {
  groupId: string;
  /** Short name (history) for the status and logs; default the group id. */
  name?: string;
  topics: (string | RegExp)[];
  /** Write when this many records are buffered... */
  maxRows: number;
  /** ...or when the oldest buffered record has waited this long. */
  maxWaitMs: number;
  /** CPU work on a batch (decode, validate). Runs while the previous batch is being written. */
  prepare: (records: ConsumedRecord[]) => Promise<Prepared>;
  /** Makes a prepared batch durable; throws when it could not (the batch is retried, never skipped). */
  write: (prepared: Prepared, records: ConsumedRecord[]) => Promise<void>;
  /** Called after each rebalance, before records of the new assignment reach the handlers. */
  onRebalance?: () => void;
  /** Records to pass over (their offsets are still committed): the end of a bounded replay. */
  skip?: (record: ConsumedRecord) => boolean;
  fromBeginning?: boolean;
  /** How long the group waits for a silent member before its partitions move (KAFKA_SESSION_TIMEOUT_MS). */
  sessionTimeoutMs: number;
  log?: (message: string) => void;
}

export interface BatchConsumerStats {
  /** Batches written and committed. */
  flushedBatches: number;
  flushedRecords: number;
  /** Failed attempts to prepare, write or commit a batch (each was retried). */
  failedFlushes: number;
}

export type BatchStage = 'prepare' | 'write' | 'commit';

/** The consumer as /ready and /metrics see it. */
export interface BatchConsumerStatus {
  name: string;
  running: boolean;
  /** Why it is not running, when it is not. */
  problem?: string;
  /** The stage that keeps failing (a write while ClickHouse is down): consumption is paused meanwhile. */
  failing?: FailureStreak & { stage: BatchStage };
  /** Failed stage attempts since the start (each one retried). */
  batchRetries: number;
}

interface CommitPoint {
  topic: string;
  partition: number;
  /** The next offset to read: last handled + 1. */
  offset: string;
}

const RETRY_BACKOFF_MS = [200, 500, 1000, 2000, 5000];

/** The batch was read under an older group generation: its partitions may belong to someone else now. */
class StaleGenerationError extends Error {}

/**
 * Buffers records across partitions and hands them over in large batches, in two stages: `prepare`
 * (CPU) for batch N+1 runs while `write` (I/O) of batch N is in flight, at most one write at a time,
 * in order. Offsets are committed only after a write succeeded: a crash re-delivers, it never loses.
 * While a stage fails (say ClickHouse is down) the consumer stops fetching and retries with backoff,
 * heartbeating so the group keeps its partitions: backpressure instead of dropping or crash-looping.
 * It starts in the background (`launch`), and a consumer that kafkajs gives up on is restarted, both
 * with backoff; `status()` says meanwhile.
 *
 * On kafkajs, not the Confluent client: measured with bench:ingest, the Confluent client's consumer
 * took the ingest path from 49k to 28k records/s on two cores (its KafkaJS layer costs CPU per
 * record that the ClickHouse insert needs). Its idempotence comes from the ClickHouse watermarks, so
 * it needs no fencing; the price is dynamic membership (see the README's Deploying).
 */
export class BatchConsumer<Prepared> {
  private consumer: Consumer;
  private buffer: ConsumedRecord[] = [];
  /** Where the buffered records end, per topic-partition: the commit after they are written. */
  private bufferCommits = new Map<string, CommitPoint>();
  private oldestBufferedAt = 0;
  /** Serializes dispatches (size-triggered and timed) so batches are prepared and written in order. */
  private dispatching: Promise<void> = Promise.resolve();
  /** The write in flight (resolved when none). */
  private writing: Promise<void> = Promise.resolve();
  private heartbeat: () => Promise<void> = async () => undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private generation = 0;
  private readonly startup: ConsumerStartup;
  private readonly failures = new FailureStreaks<BatchStage>();
  readonly stats: BatchConsumerStats = { flushedBatches: 0, flushedRecords: 0, failedFlushes: 0 };

  constructor(
    private readonly kafka: Kafka,
    private readonly options: BatchConsumerOptions<Prepared>,
  ) {
    this.startup = new ConsumerStartup(this.name, { warn: (message) => (options.log ?? console.warn)(message) });
    this.consumer = this.createConsumer();
  }

  private get name(): string {
    return this.options.name ?? this.options.groupId;
  }

  status(): BatchConsumerStatus {
    const [failing] = this.failures.failing();
    return {
      name: this.name,
      running: this.startup.running,
      ...(this.startup.problem && { problem: this.startup.problem }),
      ...(failing && { failing: { stage: failing.key, failingForMs: failing.failingForMs, attempts: failing.attempts, lastError: failing.lastError } }),
      batchRetries: this.failures.retries,
    };
  }

  private createConsumer(): Consumer {
    const consumer = this.kafka.consumer({
      groupId: this.options.groupId,
      // big fetches: the handler wants thousands of records per call, not dozens
      maxBytesPerPartition: 1024 * 1024,
      maxBytes: 16 * 1024 * 1024,
      maxWaitTimeInMs: Math.min(this.options.maxWaitMs, 500),
      sessionTimeout: this.options.sessionTimeoutMs,
      heartbeatInterval: this.heartbeatMs,
    });
    // A rebalance may hand our partitions to another member, which re-reads them from the last
    // commit; dropping the uncommitted buffer keeps us from writing records we no longer own.
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.generation++;
      this.buffer = [];
      this.bufferCommits = new Map();
      this.options.onRebalance?.();
    });
    this.startup.watch(
      consumer,
      async () => {
        await this.consumer.disconnect().catch(() => undefined);
        this.consumer = this.createConsumer();
        await this.runConsumer();
      },
      () => this.stopping,
    );
    return consumer;
  }

  /** kafkajs heartbeats only between fetches and when asked: a fifth of the session, as librdkafka does. */
  private get heartbeatMs(): number {
    return Math.max(100, Math.floor(this.options.sessionTimeoutMs / 5));
  }

  /**
   * Starts in the background: `prepare`, then the consumer, retried with backoff until both succeed;
   * the status says meanwhile what it waits for.
   */
  launch(prepare: () => Promise<void>): void {
    this.startup.launch(
      async () => {
        await prepare();
        await this.start();
      },
      () => this.stopping,
      async () => {
        await this.consumer.disconnect();
        this.consumer = this.createConsumer();
      },
    );
  }

  async start(): Promise<void> {
    await this.runConsumer();
    this.timer = setInterval(() => {
      if ((this.buffer.length > 0 || this.bufferCommits.size > 0) && Date.now() - this.oldestBufferedAt >= this.options.maxWaitMs) {
        this.dispatch().catch((error: unknown) => this.log(`timed batch failed: ${String(error)}`));
      }
    }, Math.max(10, Math.floor(this.options.maxWaitMs / 4)));
  }

  private async runConsumer(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.options.topics, fromBeginning: this.options.fromBeginning ?? true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.onBatch(payload),
    });
    this.startup.up();
  }

  /** Writes and commits what is buffered, then leaves the group. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    // Commit while still a group member; what arrives after this is re-read on restart.
    await this.dispatch()
      .then(() => this.writing)
      .catch((error: unknown) => this.log(`could not write the last batch before stopping; it will be re-read on restart: ${String(error)}`));
    await this.consumer.disconnect();
  }

  private async onBatch({ batch, heartbeat, isStale, isRunning, resolveOffset }: EachBatchPayload): Promise<void> {
    if (isStale() || !isRunning() || batch.messages.length === 0) return;
    this.heartbeat = heartbeat;
    if (this.buffer.length === 0) this.oldestBufferedAt = Date.now();
    for (const message of batch.messages) {
      const record = consumedRecord(batch, message);
      if (!this.options.skip?.(record)) this.buffer.push(record);
    }
    const lastOffset = batch.lastOffset();
    this.bufferCommits.set(`${batch.topic}\u0000${batch.partition}`, {
      topic: batch.topic,
      partition: batch.partition,
      offset: (BigInt(lastOffset) + 1n).toString(),
    });
    // Moves the fetch position past the buffered records (autoCommit is off, so nothing is committed
    // yet); without it kafkajs fetches the same records again and again.
    resolveOffset(lastOffset);
    if (this.buffer.length >= this.options.maxRows || Date.now() - this.oldestBufferedAt >= this.options.maxWaitMs) {
      // Holding eachBatch here is the backpressure: kafkajs fetches nothing more until we return, and
      // sends no heartbeat either unless asked (the write runs off the event loop, so the timer fires)
      const keepAlive = setInterval(() => void this.heartbeat().catch(() => undefined), this.heartbeatMs);
      try {
        await this.dispatch();
      } finally {
        clearInterval(keepAlive);
      }
    }
  }

  private dispatch(): Promise<void> {
    const run = this.dispatching.then(() => this.dispatchNow());
    this.dispatching = run.catch(() => undefined);
    return run;
  }

  /** Prepares the buffered batch, waits for the previous write, then starts this one's write. */
  private async dispatchNow(): Promise<void> {
    // a batch of only skipped records still moves the committed offsets on
    if (this.buffer.length === 0 && this.bufferCommits.size === 0) return;
    const records = this.buffer;
    const commits = [...this.bufferCommits.values()];
    const generation = this.generation;
    this.buffer = [];
    this.bufferCommits = new Map();
    this.oldestBufferedAt = Date.now();
    try {
      const prepared = records.length > 0 ? await this.retrying('prepare', generation, () => this.options.prepare(records)) : undefined;
      await this.writing;
      const write = (prepared === undefined ? Promise.resolve() : this.retrying('write', generation, () => this.options.write(prepared, records)))
        .then(() => this.retrying('commit', generation, () => this.consumer.commitOffsets(commits)))
        .then(() => {
          this.stats.flushedBatches++;
          this.stats.flushedRecords += records.length;
        });
      this.writing = write.catch((error: unknown) => {
        if (!(error instanceof StaleGenerationError)) this.log(`batch not written, it will be re-read: ${String(error)}`);
      });
      if (this.stopping) await write;
    } catch (error) {
      if (error instanceof StaleGenerationError) return; // the new owner re-reads these records
      throw error;
    }
  }

  /** Runs a stage until it succeeds, with backoff and heartbeats; gives up on a rebalance or a stop. */
  private async retrying<T>(stage: BatchStage, generation: number, run: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (generation !== this.generation) this.abandon(stage);
      try {
        const result = await run();
        this.failures.succeeded(stage);
        return result;
      } catch (error) {
        this.stats.failedFlushes++;
        if (generation !== this.generation) this.abandon(stage);
        this.failures.failed(stage, error);
        if (this.stopping && attempt >= 2) throw error;
        const backoff = RETRY_BACKOFF_MS[Math.min(attempt, RETRY_BACKOFF_MS.length - 1)]!;
        this.log(`batch ${stage} failed (attempt ${attempt + 1}), consumption paused, retrying in ${backoff} ms: ${String(error)}`);
        await this.heartbeat().catch(() => undefined);
        await sleep(backoff);
      }
    }
  }

  /** The batch's partitions were reassigned: its stage is not failing any more, the new owner re-reads it. */
  private abandon(stage: BatchStage): never {
    this.failures.succeeded(stage);
    throw new StaleGenerationError(`${stage}: partitions were reassigned`);
  }

  private log(message: string): void {
    (this.options.log ?? console.warn)(`[${this.name}] ${message}`);
  }
}
