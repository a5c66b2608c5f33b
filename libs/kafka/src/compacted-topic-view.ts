import { RegistryUnavailableError } from '@fleetstream/serde';
import { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { InMemoryStore, KeyValueStore, StoreChange } from './key-value-store';
import { fetchEndOffsets, PartitionEnds, retryBackoffMs } from './transient-errors';

/**
 * Why a view left a record out: a record fault, never a transient one. The decode reasons are the
 * registry codec's (`not-confluent-framed`, `unknown-schema-id`, `undecodable`).
 */
export type ViewSkipReason = 'missing-key' | 'invalid-key' | 'not-confluent-framed' | 'unknown-schema-id' | 'undecodable' | 'store-refused';

/** A record a view skipped, where it is and why. */
export interface SkippedRecord {
  view: string;
  topic: string;
  partition: number;
  offset: string;
  reason: ViewSkipReason;
  error: string;
}

/** One log line for a skipped record: where it is, why, and what was wrong. */
export function describeSkip(skip: SkippedRecord): string {
  return `${skip.view}: skipped ${skip.topic}[${skip.partition}]@${skip.offset} (${skip.reason}): ${skip.error}`;
}

/** How far the view is from the topic's end offsets as of its start. */
export type ViewRestore = { state: 'restoring'; waitingFor: string } | { state: 'restored'; ms: number };

export interface ViewLogger {
  log(message: string): void;
  warn(message: string): void;
}

export interface CompactedTopicViewOptions<V> {
  /** Short name in logs and metrics (say `twins`). */
  name: string;
  topic: string;
  /** Group id prefix; each view instance reads the whole topic under its own group and never commits. */
  groupPrefix: string;
  /**
   * The value of a record; throws for one that does not decode (a record fault: skipped; a `reason`
   * property on the error names the skip reason) or RegistryUnavailableError (transient: retried).
   */
  decode: (value: Buffer) => V | Promise<V>;
  /** Why a key breaks the view's key contract, or null when it keeps it; such records are skipped. */
  keyError?: (key: string) => string | null;
  /** Called after each change is in the store (a `get` sees it), with null for a tombstone. */
  onChange?: (key: string, value: V | null) => void;
  /** Called once per skipped record, after it was logged. */
  onSkip?: (skip: SkippedRecord) => void;
  /**
   * Where the latest value per key lives; a JavaScript Map when not given. It must start empty (the
   * view reads from offset 0) and its owner closes it after `stop`.
   */
  store?: KeyValueStore<V>;
  logger?: ViewLogger;
}

const DECODE_SKIP_REASONS: ReadonlySet<string> = new Set<ViewSkipReason>(['not-confluent-framed', 'unknown-schema-id', 'undecodable']);

/** Records between the end offsets and the view's positions (the next offset it reads), over all partitions. */
export function viewLag(ends: readonly PartitionEnds[], positions: ReadonlyMap<number, number>): number {
  let lag = 0;
  for (const { partition, high, low } of ends) {
    // records below the low watermark are gone: a view that has not read the partition starts there
    lag += Math.max(0, Number(high) - Math.max(positions.get(partition) ?? 0, Number(low)));
  }
  return lag;
}

/**
 * A compacted topic materialized in a local store, like a Kafka Streams KTable: every instance reads
 * the topic from the beginning, keeps the latest value per key and drops keys on tombstones. Reads
 * are local; `caughtUp` waits until the view has reached the topic's end offsets as of the call.
 *
 * No record stops it: one without a key, with a key that breaks the contract, a value that does not
 * decode or one the store refuses is skipped (logged once, reported to `onSkip`) and the rest of its
 * batch applied. A transient failure (the registry unreachable) retries the batch with backoff, as
 * long as it takes, and shows in `status().retrying`.
 */
export class CompactedTopicView<V> {
  readonly name: string;
  private readonly consumer: Consumer;
  private readonly groupId: string;
  private readonly store: KeyValueStore<V>;
  private readonly logger: ViewLogger;
  /** Next offset to read per partition, from every fetched batch (control records included). */
  private readonly positions = new Map<number, number>();
  /** Per partition: offsets of records this instance's own processor wrote and already put in the store. */
  private readonly own = new Map<number, Set<number>>();
  private readonly stopped = new AbortController();
  private restoreState: ViewRestore = { state: 'restoring', waitingFor: 'the consumer to start' };
  /** The batch failing transiently right now, and why. */
  private retrying: string | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: CompactedTopicViewOptions<V>,
  ) {
    this.name = options.name;
    this.groupId = `${options.groupPrefix}.${randomUUID()}`;
    this.store = options.store ?? new InMemoryStore<V>();
    this.logger = options.logger ?? { log: console.log, warn: console.warn };
    // larger fetches than kafkajs' 1 MiB per partition: a restore reads the whole topic
    this.consumer = kafka.consumer({ groupId: this.groupId, maxWaitTimeInMs: 100, maxBytesPerPartition: 8 << 20, maxBytes: 32 << 20 });
    // END_BATCH_PROCESS also fires for batches of only transaction markers, which eachBatch never sees;
    // it fires after eachBatch resolved, so a position never runs ahead of what the store holds
    this.consumer.on(this.consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.topic !== options.topic) return;
      // max: after a restart the consumer reads earlier batches again (left out in eachBatch)
      this.positions.set(payload.partition, Math.max(this.positions.get(payload.partition) ?? 0, Number(payload.lastOffset) + 1));
      const own = this.own.get(payload.partition);
      if (own) for (const offset of own) if (offset <= Number(payload.lastOffset)) own.delete(offset);
    });
    // kafkajs restarts a consumer after a retriable crash by itself, but not after any other
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      if (payload.restart || this.stopped.signal.aborted) return;
      this.logger.warn(`${this.name} view: consumer of ${options.topic} crashed (${payload.error.message}); restarting it`);
      void this.runUntilStarted();
    });
  }

  /** Starts reading; the restore to the end offsets as of now goes on in the background (see `status`). */
  async start(): Promise<void> {
    const startedAt = Date.now();
    await this.run();
    this.waitUntilCaughtUp(undefined, undefined, (waitingFor) => (this.restoreState = { state: 'restoring', waitingFor })).then(
      () => {
        this.restoreState = { state: 'restored', ms: Date.now() - startedAt };
        this.logger.log(`${this.name} view: restored ${this.store.count()} keys from ${this.options.topic} in ${Date.now() - startedAt} ms`);
      },
      () => undefined, // only a stop ends it
    );
  }

  async stop(): Promise<void> {
    this.stopped.abort();
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

  /** The restore, the records read so far (the sum of the positions) and the batch failing transiently, if any. */
  status(): { restore: ViewRestore; position: number; retrying: string | undefined } {
    let position = 0;
    for (const next of this.positions.values()) position += next;
    return { restore: this.restoreState, position, retrying: this.retrying };
  }

  /** Records between the topic's end offsets now and the view's positions; asks the broker once (throws when it does not answer). */
  async lag(): Promise<number> {
    return viewLag(await fetchEndOffsets(this.kafka, this.options.topic, { deadline: Date.now() }), this.positions);
  }

  /**
   * Resolves once every partition (or the given ones) is read up to its current end offset. Transient
   * broker errors while asking for the end offsets (NOT_LEADER on a new topic, a coordinator moving,
   * a connection refused) are retried until the timeout; Infinity waits as long as it takes.
   */
  async caughtUp(partitions?: number[], timeoutMs = 60_000): Promise<void> {
    await this.waitUntilCaughtUp(partitions, Number.isFinite(timeoutMs) ? Date.now() + timeoutMs : undefined);
  }

  /**
   * Resolves once the view has read the partition past `offset` (a record this instance wrote is in
   * the store): unlike `caughtUp`, this waits for a transactional record whose commit marker the
   * broker has yet to write, which the read-committed end offsets do not count yet. False on timeout.
   */
  async readPast(partition: number, offset: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while ((this.positions.get(partition) ?? 0) <= offset) {
      if (this.stopped.signal.aborted || Date.now() > deadline) return false;
      await sleep(5);
    }
    return true;
  }

  private async waitUntilCaughtUp(partitions: number[] | undefined, deadline: number | undefined, report?: (waitingFor: string) => void): Promise<void> {
    const topic = this.options.topic;
    const startedAt = Date.now();
    report?.(`the end offsets of ${topic}`);
    const ends = (
      await fetchEndOffsets(this.kafka, topic, {
        deadline,
        signal: this.stopped.signal,
        onRetry: (error, attempt) => {
          const waitingFor = `the end offsets of ${topic}, which the broker did not give yet (${(error as Error).message}; retry ${attempt + 1})`;
          report?.(waitingFor);
          if (attempt === 0) this.logger.warn(`${this.name} view: waiting for ${waitingFor}; retrying with backoff until it answers`);
        },
      })
    ).filter((end) => !partitions || partitions.includes(end.partition));
    const behind = () => ends.filter(({ partition, high, low }) => Number(high) > Number(low) && (this.positions.get(partition) ?? 0) < Number(high));
    for (let polls = 0; behind().length > 0; polls++) {
      if (this.stopped.signal.aborted) throw new Error(`${this.name} view stopped before it caught up with ${topic}`);
      if (deadline !== undefined && Date.now() > deadline) {
        throw new Error(`${topic} view still behind after ${Date.now() - startedAt} ms on partitions ${behind().map((e) => e.partition).join(', ')}`);
      }
      // every 20 polls (~0.4 s): what is left, and why it is not moving when a batch keeps failing
      if (report && polls % 20 === 0) {
        const left = viewLag(behind(), this.positions);
        report(`${left} records of ${topic} up to its end offsets as of start${this.retrying ? `; ${this.retrying}` : ''}`);
      }
      await sleep(20);
    }
  }

  private async run(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.options.topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale }) => {
        const from = this.positions.get(batch.partition) ?? 0;
        // after a consumer restart the group (it never commits) reads from offset 0 again
        const messages = batch.messages.filter((message) => Number(message.offset) >= from);
        for (let attempt = 0; ; attempt++) {
          try {
            await this.apply(batch.partition, messages);
            this.retrying = undefined;
            return;
          } catch (error) {
            if (!isRunning() || isStale()) throw error; // stopping or rebalanced: kafkajs drops the batch
            const wait = retryBackoffMs(attempt);
            this.retrying = `the batch at ${this.options.topic}[${batch.partition}]@${messages[0]?.offset} failed ${attempt + 1} time(s): ${(error as Error).message}`;
            if (attempt % 10 === 0) this.logger.warn(`${this.name} view: ${this.retrying}; retrying in ${wait} ms (not a record fault: nothing is skipped)`);
            // heartbeats keep the partitions assigned while the batch waits
            await heartbeat().catch(() => undefined);
            await sleep(wait);
          }
        }
      },
    });
  }

  /** After a crash kafkajs does not restart: connect and run again, with backoff, until it works or the view stops. */
  private async runUntilStarted(): Promise<void> {
    for (let attempt = 0; !this.stopped.signal.aborted; attempt++) {
      await sleep(retryBackoffMs(attempt));
      try {
        await this.consumer.disconnect().catch(() => undefined);
        if (this.stopped.signal.aborted) return;
        await this.run();
        return;
      } catch (error) {
        this.logger.warn(`${this.name} view: restarting the consumer of ${this.options.topic} failed (attempt ${attempt + 1}), retrying: ${(error as Error).message}`);
      }
    }
  }

  /**
   * Applies one batch: every record that can be applied is, in one store write; the others are
   * skipped, and only once the write succeeded are they logged and reported (a retried batch does
   * not report them twice). Throws only for a transient failure.
   */
  private async apply(partition: number, messages: readonly KafkaMessage[]): Promise<void> {
    const changes: StoreChange<V>[] = [];
    const offsets: string[] = [];
    const skips: SkippedRecord[] = [];
    const skip = (offset: string, reason: ViewSkipReason, error: string) =>
      skips.push({ view: this.name, topic: this.options.topic, partition, offset, reason, error });
    const own = this.own.get(partition);
    for (const message of messages) {
      // the processor that wrote it put it in the store when it committed (it may be newer there already)
      if (own?.delete(Number(message.offset))) continue;
      const key = this.keyOf(message.key);
      if (typeof key !== 'string') {
        skip(message.offset, key.reason, key.error);
        continue;
      }
      let value: V | null = null;
      if (message.value !== null) {
        try {
          value = await this.options.decode(message.value);
        } catch (error) {
          if (error instanceof RegistryUnavailableError) throw error;
          const reason = (error as { reason?: unknown }).reason;
          skip(message.offset, typeof reason === 'string' && DECODE_SKIP_REASONS.has(reason) ? (reason as ViewSkipReason) : 'undecodable', (error as Error).message);
          continue;
        }
      }
      changes.push([key, value]);
      offsets.push(message.offset);
    }
    const refused = await this.write(changes);
    for (const [index, error] of refused) skip(offsets[index]!, 'store-refused', `the store refused the value of key ${JSON.stringify(changes[index]![0].slice(0, 40))}: ${error}`);
    for (const skipped of skips.sort((a, b) => Number(a.offset) - Number(b.offset))) {
      this.logger.warn(describeSkip(skipped));
      this.options.onSkip?.(skipped);
    }
    changes.forEach(([key, value], index) => refused.has(index) || this.notify(key, value));
  }

  /**
   * A processor of this instance committed these changes to the topic: they go into the store now,
   * with their change events, instead of when the view reads them back (the processor folds its next
   * records onto them at once), and the view passes over those offsets when it reaches them.
   */
  async applyOwn(changes: readonly StoreChange<V>[], offsets: ReadonlyMap<number, readonly number[]>): Promise<void> {
    const refused = await this.write(changes);
    // with any change refused, the view reads them all back (applying one twice changes nothing)
    for (const [partition, written] of refused.size === 0 ? offsets : new Map<number, number[]>()) {
      const position = this.positions.get(partition) ?? 0;
      const own = this.own.get(partition) ?? new Set<number>();
      this.own.set(partition, own);
      for (const offset of written) if (offset >= position) own.add(offset);
    }
    changes.forEach(([key, value], index) => {
      if (refused.has(index)) this.logger.warn(`${this.name} view: the store refused the processor's value of key ${JSON.stringify(key.slice(0, 40))}: ${refused.get(index)}; it is read back from the topic`);
      else this.notify(key, value);
    });
  }

  private notify(key: string, value: V | null): void {
    try {
      this.options.onChange?.(key, value);
    } catch (error) {
      this.logger.warn(`${this.name} view: a change listener failed on key ${JSON.stringify(key.slice(0, 40))}: ${(error as Error).message}`);
    }
  }

  /** The key as a string, or why the record has no usable key. */
  private keyOf(key: Buffer | null): string | { reason: ViewSkipReason; error: string } {
    if (key === null) return { reason: 'missing-key', error: 'the record has no key' };
    if (!isUtf8(key)) return { reason: 'invalid-key', error: `the key is not UTF-8 (starts with 0x${key.subarray(0, 8).toString('hex')})` };
    const text = key.toString('utf8');
    const problem = this.options.keyError?.(text) ?? this.store.keyError?.(text) ?? null;
    return problem === null ? text : { reason: 'invalid-key', error: problem };
  }

  /**
   * Writes the changes; when the store refuses the batch (one key or value it cannot hold fails the
   * whole transaction), writes them one at a time to find those it refuses. Returns them by index.
   */
  private async write(changes: readonly StoreChange<V>[]): Promise<Map<number, string>> {
    const refused = new Map<number, string>();
    if (changes.length === 0) return refused;
    try {
      await this.store.write(changes);
      return refused;
    } catch (error) {
      if (changes.length === 1) return refused.set(0, (error as Error).message);
    }
    for (const [index, change] of changes.entries()) {
      await this.store.write([change]).catch((error: Error) => refused.set(index, error.message));
    }
    return refused;
  }
}
