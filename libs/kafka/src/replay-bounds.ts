import { Kafka } from 'kafkajs';
import { describeSkip, SkippedRecord, ViewLogger } from './compacted-topic-view';
import type { ConsumedRecord } from './batch-consumer';
import type { OffsetChange } from './consumer-group-admin';
import { idempotentProducerConfig } from './kafka-client';
import { readTopicsToEnd } from './topic-range-reader';

/**
 * The end of a bounded replay on one partition: the group reads its records again up to `skipFrom`,
 * then skips to `resumeAt` — where it was before the replay, so the records in between were
 * processed already.
 */
export interface ReplayBound {
  topic: string;
  partition: number;
  skipFrom: string;
  resumeAt: string;
}

/** A group's replay bounds, as its processors consult them for each record. */
export class ReplayBounds {
  static readonly none = new ReplayBounds([]);
  private readonly byPartition: Map<string, { skipFrom: bigint; resumeAt: bigint }>;

  constructor(bounds: readonly ReplayBound[]) {
    this.byPartition = new Map(bounds.map((b) => [`${b.topic}\u0000${b.partition}`, { skipFrom: BigInt(b.skipFrom), resumeAt: BigInt(b.resumeAt) }]));
  }

  get size(): number {
    return this.byPartition.size;
  }

  /** True for a record past the replay's end that the group had processed before the replay. */
  skips(topic: string, partition: number, offset: string): boolean {
    const bound = this.byPartition.get(`${topic}\u0000${partition}`);
    if (!bound) return false;
    const at = BigInt(offset);
    return at >= bound.skipFrom && at < bound.resumeAt;
  }
}

const boundKey = (group: string, topic: string, partition: number) => JSON.stringify([group, topic, partition]);

/**
 * Sets a group's bounds on a topic: a bound for each partition in `bounds`, none for the others in
 * `partitions` (a replay without an end clears what an earlier bounded replay left).
 */
export async function recordReplayBounds(kafka: Kafka, boundsTopic: string, group: string, topic: string, partitions: readonly number[], bounds: readonly ReplayBound[]): Promise<void> {
  const producer = kafka.producer(idempotentProducerConfig);
  await producer.connect();
  try {
    const bounded = new Map(bounds.map((bound) => [bound.partition, bound]));
    await producer.send({
      topic: boundsTopic,
      acks: -1,
      messages: partitions.map((partition) => {
        const bound = bounded.get(partition);
        return { key: boundKey(group, topic, partition), value: bound ? JSON.stringify(bound) : null };
      }),
    });
  } finally {
    await producer.disconnect();
  }
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}

const isOffset = (value: unknown): value is string => typeof value === 'string' && /^\d+$/.test(value);

/**
 * Folds records of the bounds topic into the latest bound per partition of `group`'s topics (null
 * once cleared). A record that is not a bound as `recordReplayBounds` writes it (no key, a key or
 * value that is not that JSON) is left out and reported to `onSkip`: a bad record must not keep a
 * processor from starting; at worst its group reads the records of that bound again.
 */
export function foldReplayBounds(latest: Map<string, ReplayBound | null>, records: readonly ConsumedRecord[], group: string, onSkip: (skip: SkippedRecord) => void): void {
  for (const record of records) {
    const skip = (reason: SkippedRecord['reason'], error: string) =>
      onSkip({ view: 'replay-bounds', topic: record.topic, partition: record.partition, offset: record.offset, reason, error });
    if (record.key === null) {
      skip('missing-key', 'the record has no key');
      continue;
    }
    const key = parseJson(record.key);
    if (!Array.isArray(key) || key.length !== 3 || typeof key[0] !== 'string' || typeof key[1] !== 'string' || !Number.isInteger(key[2])) {
      skip('invalid-key', `the key is not [group, topic, partition] JSON (starts with ${JSON.stringify(record.key.subarray(0, 40).toString('utf8'))})`);
      continue;
    }
    const [keyGroup, topic, partition] = key as [string, string, number];
    if (keyGroup !== group) continue;
    if (record.value === null) {
      latest.set(boundKey(group, topic, partition), null);
      continue;
    }
    const bound = parseJson(record.value) as Partial<ReplayBound> | undefined;
    if (!bound || bound.topic !== topic || bound.partition !== partition || !isOffset(bound.skipFrom) || !isOffset(bound.resumeAt)) {
      skip('undecodable', `the value is not the replay bound of ${topic} partition ${partition} ({topic, partition, skipFrom, resumeAt} JSON)`);
      continue;
    }
    latest.set(boundKey(group, topic, partition), { topic, partition, skipFrom: bound.skipFrom, resumeAt: bound.resumeAt });
  }
}

export interface LoadReplayBoundsOptions {
  /** Told of each record of the bounds topic that is not a bound (after it was logged). */
  onSkip?: (skip: SkippedRecord) => void;
  logger?: Pick<ViewLogger, 'warn'>;
}

/**
 * A group's bounds, read once when its processor starts: bounds change only while the group has no
 * members (a replay refuses an active group), so a running processor never misses one.
 */
export async function loadReplayBounds(kafka: Kafka, boundsTopic: string, group: string, options: LoadReplayBoundsOptions = {}): Promise<ReplayBounds> {
  const latest = new Map<string, ReplayBound | null>();
  const logger = options.logger ?? console;
  await readTopicsToEnd(
    kafka,
    [boundsTopic],
    (records) =>
      foldReplayBounds(latest, records, group, (skip) => {
        logger.warn(describeSkip(skip));
        options.onSkip?.(skip);
      }),
    { groupPrefix: `${group}.replay-bounds-reader`, timeoutMs: 60_000 },
  );
  return new ReplayBounds([...latest.values()].filter((bound): bound is ReplayBound => bound !== null));
}

/**
 * A replay with an end: per partition the group moves to the start as planned and reads on to the
 * end, where a bound makes it skip to its previous position. A partition whose range is empty does
 * not move; one the group never committed on gets no bound (none of it was processed).
 */
export function boundReplay(changes: readonly OffsetChange[], ends: readonly OffsetChange[]): { changes: OffsetChange[]; bounds: ReplayBound[] } {
  const endOf = new Map(ends.map((end) => [end.partition, BigInt(end.to)]));
  const bounded: OffsetChange[] = [];
  const bounds: ReplayBound[] = [];
  for (const change of changes) {
    const end = endOf.get(change.partition);
    if (end === undefined || change.from === null) {
      bounded.push(change);
      continue;
    }
    const start = BigInt(change.to);
    const previous = BigInt(change.from);
    if (end <= start) continue; // nothing to read again here
    if (end >= previous) {
      bounded.push(change);
      continue;
    }
    bounded.push({ ...change, delta: Number(end - start) });
    bounds.push({ topic: change.topic, partition: change.partition, skipFrom: end.toString(), resumeAt: change.from });
  }
  return { changes: bounded, bounds };
}
