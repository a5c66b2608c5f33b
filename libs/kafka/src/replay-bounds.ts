import { Kafka } from 'kafkajs';
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

/**
 * A group's bounds, read once when its processor starts: bounds change only while the group has no
 * members (a replay refuses an active group), so a running processor never misses one.
 */
export async function loadReplayBounds(kafka: Kafka, boundsTopic: string, group: string): Promise<ReplayBounds> {
  const latest = new Map<string, ReplayBound | null>();
  await readTopicsToEnd(
    kafka,
    [boundsTopic],
    (records) => {
      for (const record of records) {
        const key = record.key?.toString('utf8');
        if (key === undefined || JSON.parse(key)[0] !== group) continue;
        latest.set(key, record.value === null ? null : (JSON.parse(record.value.toString('utf8')) as ReplayBound));
      }
    },
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
