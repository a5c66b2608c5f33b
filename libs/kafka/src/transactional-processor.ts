import { KafkaJS } from '@confluentinc/kafka-javascript';
import type { Kafka, Message, TopicMessages } from 'kafkajs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConsumedRecord, consumedRecord, FetchedMessage } from './batch-consumer';
import { ConfluentConsumer, ConfluentKafka } from './confluent-client';
import { ConsumerStartup, restartBackoffMs } from './consumer-startup';
import { deadLetterMessage, RecordFault } from './dead-letter.producer';
import { FailureStreak, FailureStreaks } from './failure-streaks';
import { ConsumedOffset, GROUP_COMMIT_CONCURRENCY, GroupCommitProducer, PartitionTurns, WrittenOffsets } from './group-commit.producer';
import { loadReplayBounds, ReplayBounds } from './replay-bounds';

/** What a processor wants written, atomically with the consumed offsets, for one batch or one timer step. */
export interface ProcessorOutput {
  topicMessages: TopicMessages[];
  /**
   * Runs once the transaction committed, with where the records that named their partition landed:
   * the processor makes its new state current here (in its store, which its read model shares).
   */
  onCommitted?: (written: WrittenOffsets) => void | Promise<void>;
}

/**
 * A processor's logic for the skeleton: decode → decide → encode, per partition. Everything else —
 * subscription, co-partitioned assignment, restore before processing, group commit, replay bounds,
 * offsets, dead letters and restarts — is the skeleton's.
 */
export interface ProcessorLogic<BatchState> {
  /** Loads the state of newly assigned partitions before any of their records is processed. */
  restore(partitions: readonly number[]): Promise<void>;
  /** A fresh working state for one batch of one partition. */
  beginBatch(partition: number): BatchState;
  /**
   * Folds one record into the batch state. Returns a record fault when the record itself can never
   * be processed; throws only for a transient fault (the whole batch is then retried).
   */
  handle(record: ConsumedRecord, state: BatchState): Promise<RecordFault | void>;
  /** The outputs of the batch, encoded. */
  endBatch(state: BatchState): Promise<ProcessorOutput>;
}

export interface TransactionalProcessorOptions<BatchState> {
  /** Short name (twins, commands): the `fleetstream.dlq.processor` header and log prefix. */
  name: string;
  groupId: string;
  /** Co-partitioned input topics: partition p of each holds the same keys and goes to one member. */
  topics: string[];
  deadLetterTopic: string;
  replayBoundsTopic: string;
  maxWaitTimeInMs: number;
  membership: GroupMembership;
  logic: ProcessorLogic<BatchState>;
  log: { warn(message: string): void; error(message: string): void; log(message: string): void };
  /**
   * Decides whether an error thrown while handling one record is transient (retry the batch) or the
   * record's own fault (dead-letter it as `processing-failed`). Unknown errors are the record's:
   * otherwise one record with an unforeseen shape would stop its partition for good.
   */
  isTransient: (error: unknown) => boolean;
}

/** How the processor's consumer is a member of its group (INSTANCE_ID, KAFKA_SESSION_TIMEOUT_MS). */
export interface GroupMembership {
  /**
   * Static membership (`group.instance.id`, KIP-345) when set: a restarted instance gets its own
   * partitions back at once, without a rebalance, instead of after the session timeout. Also names the
   * transactional id, so the restarted producer aborts what the dead one left open.
   */
  instanceId?: string;
  /** How long the group waits for a silent member (a static one that does not come back) before its partitions move. */
  sessionTimeoutMs: number;
}

/** Whether a processor runs, what it owns, and what keeps failing. */
export interface ProcessorStatus {
  name: string;
  running: boolean;
  /** Why it is not running, when it is not. */
  problem?: string;
  assigned: number[];
  restored: number[];
  /** Assigned partitions whose batch keeps failing (a transient fault, retried with backoff). */
  stalled: StalledPartition[];
  /** Failed batch attempts since the start (each one retried). */
  batchRetries: number;
}

export interface StalledPartition extends FailureStreak {
  partition: number;
}

/** Records per eachBatch call; the client's default of 32 would cost a transaction share per 32 records. */
const MAX_BATCH_RECORDS = 2000;

/** The wait before a failed batch is fetched and tried again, by failed attempt (1-based): 100 ms doubling to 5 s. */
function batchRetryBackoffMs(attempts: number): number {
  return Math.min(5000, 100 * 2 ** Math.max(0, attempts - 1));
}

/**
 * The stateful-processor skeleton (Kafka Streams' loop): partitions are assigned co-partitioned,
 * their state is restored before their first record, and each batch is decided and written —
 * outputs, dead letters and consumed offsets — in one Kafka transaction shared with the batches
 * of every other partition in flight (group commit). A record fault goes to the dead-letter topic in
 * that same transaction, so the partition moves on exactly when the dead letter is durable. A
 * transient fault retries the batch with backoff, and the status says so meanwhile (/ready).
 *
 * The consumer and the transactions run on the Confluent client (librdkafka): the offsets are
 * committed with the group generation (KIP-447), so a member that stalled past its session and lost
 * its partitions cannot commit for them any more; and with INSTANCE_ID the member is static, so a
 * restart gets its partitions back in about a second. Replay bounds still come through kafkajs.
 */
export class TransactionalProcessor<BatchState> {
  private consumer: ConfluentConsumer | undefined;
  private committer: GroupCommitProducer | undefined;
  private readonly turns = new PartitionTurns();
  private replayBounds = ReplayBounds.none;
  private assigned: number[] = [];
  private restored = new Set<number>();
  /** Per assigned partition: resolves when its state is restored (retried until it is). */
  private restoring = new Map<number, Promise<void>>();
  private generation = 0;
  private stopping = false;
  private readonly startup: ConsumerStartup;
  private readonly failures = new FailureStreaks<number>();

  constructor(
    private readonly kafka: Kafka,
    private readonly confluent: ConfluentKafka,
    private readonly options: TransactionalProcessorOptions<BatchState>,
  ) {
    this.startup = new ConsumerStartup(options.name, options.log);
  }

  /**
   * Starts in the background: `prepare` (say, registering the processor's schemas), then the
   * consumer, retried with backoff until both succeed. Meanwhile the status says what it waits for,
   * so /ready is served — and down — while the registry or the broker is away at boot, instead of
   * the whole service waiting to listen.
   */
  launch(prepare: () => Promise<void>): void {
    this.startup.launch(
      async () => {
        await prepare();
        await this.start();
      },
      () => this.stopping,
      async () => {
        await this.consumer?.disconnect();
        await this.committer?.disconnect();
      },
    );
  }

  private async start(): Promise<void> {
    const { groupId, replayBoundsTopic } = this.options;
    this.replayBounds = await loadReplayBounds(this.kafka, replayBoundsTopic, groupId);
    const { instanceId } = this.options.membership;
    this.committer = new GroupCommitProducer(this.confluent, `${groupId}.${instanceId ?? `${hostname()}.${process.pid}`}`, () => this.consumer);
    await this.committer.connect();
    await this.startConsumer();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.consumer?.disconnect();
    await this.committer?.disconnect();
  }

  status(): ProcessorStatus {
    return {
      name: this.options.name,
      running: this.startup.running,
      ...(this.startup.problem ? { problem: this.startup.problem } : {}),
      assigned: this.assigned,
      restored: this.assigned.filter((partition) => this.restored.has(partition)),
      stalled: this.failures.failing().map(({ key, ...streak }) => ({ partition: key, ...streak })),
      batchRetries: this.failures.retries,
    };
  }

  /** Partitions this instance owns and has restored (a timer works only on those). */
  ownedPartitions(): number[] {
    return this.assigned.filter((partition) => this.restored.has(partition));
  }

  /**
   * Runs a step outside any batch (a timer) on one owned partition, in its turn, and writes its
   * output in a transaction. Returns false when the partition is not (or no longer) owned.
   */
  async step(partition: number, decide: () => Promise<ProcessorOutput | undefined>): Promise<boolean> {
    if (!this.restored.has(partition)) return false;
    const generation = this.generation;
    await this.turns.of(partition).runExclusive(async () => {
      if (generation !== this.generation) return;
      const output = await decide();
      if (output) await this.commit(output);
    });
    return true;
  }

  private async startConsumer(): Promise<void> {
    const { groupId, topics, maxWaitTimeInMs, membership } = this.options;
    const consumer = this.confluent.consumer({
      kafkaJS: {
        groupId,
        fromBeginning: true,
        autoCommit: false,
        maxWaitTimeInMs,
        sessionTimeout: membership.sessionTimeoutMs,
        heartbeatInterval: Math.max(100, Math.floor(membership.sessionTimeoutMs / 5)),
        // the range assignor gives partition p of every input topic to one member (equal partition
        // counts, checked at start): the co-partitioning that Kafka Streams relies on too
        partitionAssigners: [KafkaJS.PartitionAssigners.range],
      },
      'isolation.level': 'read_committed',
      'js.consumer.max.batch.size': MAX_BATCH_RECORDS,
      ...(membership.instanceId ? { 'group.instance.id': membership.instanceId } : {}),
      // eager rebalance: every partition is revoked, then the new assignment arrives
      rebalance_cb: (error: { code: number }, assignment: { partition: number }[]) => {
        if (error.code === KafkaJS.ErrorCodes.ERR__ASSIGN_PARTITIONS) this.onAssigned([...new Set(assignment.map(({ partition }) => partition))]);
        else this.onAssigned([]);
      },
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics });
    await consumer.run({
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: GROUP_COMMIT_CONCURRENCY,
      eachBatch: (payload) => this.onBatch(payload),
    });
  }

  private onAssigned(partitions: number[]): void {
    const generation = ++this.generation;
    this.assigned = partitions.sort((a, b) => a - b);
    this.restored = new Set();
    this.failures.retain(this.assigned);
    // right away rather than at each partition's first batch, so readiness does not wait for traffic
    const restoring = this.restoreUntilDone(this.assigned, generation);
    this.restoring = new Map(this.assigned.map((partition) => [partition, restoring]));
  }

  /** Restores the partitions, retrying transient failures with backoff for as long as they stay assigned. */
  private async restoreUntilDone(partitions: readonly number[], generation: number): Promise<void> {
    for (let attempt = 0; generation === this.generation; attempt++) {
      try {
        await this.options.logic.restore(partitions);
        if (generation === this.generation) partitions.forEach((partition) => this.restored.add(partition));
        return;
      } catch (error) {
        const backoff = restartBackoffMs(attempt);
        this.options.log.warn(`[${this.options.name}] restoring partitions ${partitions.join(', ')} failed, retrying in ${backoff} ms: ${(error as Error).message}`);
        await sleep(backoff);
      }
    }
  }

  private async onBatch({ batch, isStale, isRunning, resolveOffset }: KafkaJS.EachBatchPayload): Promise<void> {
    if (isStale() || !isRunning() || batch.messages.length === 0) return;
    await (this.restoring.get(batch.partition) ?? this.restoreUntilDone([batch.partition], this.generation));
    const { logic, name } = this.options;
    try {
      await this.turns.of(batch.partition).runExclusive(async () => {
        const state = logic.beginBatch(batch.partition);
        const deadLetters: Message[] = [];
        for (const message of batch.messages) {
          if (this.replayBounds.skips(batch.topic, batch.partition, message.offset)) continue;
          const record = consumedRecord(batch, message as FetchedMessage);
          const fault = await this.handleIsolated(record, state);
          if (fault) deadLetters.push(deadLetterMessage({ record, rejection: fault }, Date.now(), name));
        }
        const output = await logic.endBatch(state);
        const consumed: ConsumedOffset = { topic: batch.topic, partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() };
        await this.commit({ ...output, topicMessages: [...output.topicMessages, { topic: this.options.deadLetterTopic, messages: deadLetters }] }, consumed);
        if (deadLetters.length > 0) this.options.log.warn(`[${name}] dead-lettered ${deadLetters.length} record(s) of ${batch.topic}[${batch.partition}]`);
      });
    } catch (error) {
      this.failures.failed(batch.partition, error);
      const [streak] = this.failures.failing().filter(({ key }) => key === batch.partition);
      const backoff = batchRetryBackoffMs(streak?.attempts ?? 1);
      this.options.log.warn(`[${name}] batch of ${batch.topic}[${batch.partition}] at ${batch.firstOffset()} failed, retrying in ${backoff} ms: ${(error as Error).message}`);
      await sleep(backoff);
      // not resolved: the client seeks back and fetches the batch again from its first offset
      return;
    }
    this.failures.succeeded(batch.partition);
    // without it the client seeks back and fetches from the batch's first offset again
    resolveOffset(batch.lastOffset());
  }

  private async handleIsolated(record: ConsumedRecord, state: BatchState): Promise<RecordFault | void> {
    try {
      return await this.options.logic.handle(record, state);
    } catch (error) {
      if (this.options.isTransient(error)) throw error;
      return { reason: 'processing-failed', error: `${(error as Error).name}: ${(error as Error).message}` };
    }
  }

  private async commit(output: ProcessorOutput, consumed?: ConsumedOffset): Promise<void> {
    const written = await this.committer!.submit({ topicMessages: output.topicMessages, consumed });
    // still in the partition's turn: its next batch folds onto the state made current here
    await output.onCommitted?.(written);
  }
}
