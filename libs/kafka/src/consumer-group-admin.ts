import { Admin, Kafka } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Where a replay starts, per partition of one topic. */
export type ReplayStart =
  | { kind: 'beginning' }
  /** The first record at or after this time (epoch ms); partitions with none move to their end. */
  | { kind: 'timestamp'; at: number }
  /** Explicit offsets; partitions not listed keep their committed offset. */
  | { kind: 'offsets'; offsets: ReadonlyMap<number, string> };

/** One partition of a group as the broker sees it. */
export interface PartitionPosition {
  topic: string;
  partition: number;
  /** Next offset the group will read; null when the group never committed on this partition. */
  committed: string | null;
  /** First retained offset. */
  low: string;
  /** End offset: the offset the next produced record gets. */
  high: string;
}

export interface PartitionLag extends PartitionPosition {
  /** Records still to read: from the committed offset (or the first retained one) to the end. */
  lag: number;
  /** Records per second the group committed on this partition during the sample; null without a sample. */
  ratePerSecond: number | null;
  /** Seconds to reach the end at that rate; 0 when caught up, null when unknown (no progress seen). */
  catchUpSeconds: number | null;
}

export interface OffsetChange {
  topic: string;
  partition: number;
  from: string | null;
  to: string;
  /** Records the group will read again (or skip, when negative) compared with its committed offset. */
  delta: number;
}

export interface GroupMembers {
  state: string;
  members: { memberId: string; clientId: string; clientHost: string }[];
}

/** Broker group states in which nobody consumes: offsets may be changed from outside. */
const INACTIVE_STATES = ['Empty', 'Dead'];

/** The group has consumers; offsets of a live group cannot be moved from outside it. */
export class ActiveGroupError extends Error {
  override readonly name = 'ActiveGroupError';
}

/** Records still to read on a partition. A group without a commit starts at the first retained record. */
export function lagOf(position: Pick<PartitionPosition, 'committed' | 'low' | 'high'>): number {
  const start = position.committed === null ? BigInt(position.low) : BigInt(position.committed);
  const lag = BigInt(position.high) - start;
  return lag > 0n ? Number(lag) : 0;
}

/** Lag with a rate measured between two samples of the same partitions `seconds` apart. */
export function lagWithRate(before: readonly PartitionPosition[], after: readonly PartitionPosition[], seconds: number | null): PartitionLag[] {
  return after.map((position) => {
    const lag = lagOf(position);
    const earlier = before.find((b) => b.topic === position.topic && b.partition === position.partition);
    if (seconds === null || seconds <= 0 || !earlier) {
      return { ...position, lag, ratePerSecond: null, catchUpSeconds: lag === 0 ? 0 : null };
    }
    const progressed = Number(BigInt(position.committed ?? position.low) - BigInt(earlier.committed ?? earlier.low));
    const ratePerSecond = Math.max(0, progressed) / seconds;
    const catchUpSeconds = lag === 0 ? 0 : ratePerSecond > 0 ? lag / ratePerSecond : null;
    return { ...position, lag, ratePerSecond, catchUpSeconds };
  });
}

/** What a reset would change: the target per partition, clamped into what the partition retains. */
export function planOffsetChanges(positions: readonly PartitionPosition[], targets: ReadonlyMap<number, string>): OffsetChange[] {
  const changes: OffsetChange[] = [];
  for (const position of positions) {
    const target = targets.get(position.partition);
    if (target === undefined) continue;
    const clamped = clamp(BigInt(target), BigInt(position.low), BigInt(position.high));
    const from = position.committed;
    const current = from === null ? BigInt(position.low) : BigInt(from);
    changes.push({ topic: position.topic, partition: position.partition, from, to: clamped.toString(), delta: Number(current - clamped) });
  }
  return changes;
}

function clamp(value: bigint, low: bigint, high: bigint): bigint {
  return value < low ? low : value > high ? high : value;
}

/**
 * Consumer-group mechanics for operations: committed and end offsets, lag, active members, and
 * moving a group's offsets to the beginning, a timestamp or explicit offsets. One admin
 * connection per instance; call `close` when done.
 */
export class ConsumerGroupAdmin {
  private readonly admin: Admin;
  private connected: Promise<void> | undefined;

  constructor(kafka: Kafka) {
    this.admin = kafka.admin();
  }

  async close(): Promise<void> {
    if (this.connected) await this.admin.disconnect();
  }

  /** The group's state and members (an unknown group is 'Dead' with none). */
  async members(groupId: string): Promise<GroupMembers> {
    const { groups } = await (await this.ready()).describeGroups([groupId]);
    const group = groups[0];
    return {
      state: group?.state ?? 'Dead',
      members: (group?.members ?? []).map(({ memberId, clientId, clientHost }) => ({ memberId, clientId, clientHost })),
    };
  }

  /** Committed, first and end offset of every partition of the topic for the group. */
  async positions(groupId: string, topic: string): Promise<PartitionPosition[]> {
    const admin = await this.ready();
    const [ends, committed] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      admin.fetchOffsets({ groupId, topics: [topic] }),
    ]);
    const committedByPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, p.offset]));
    return ends
      .map(({ partition, low, high }) => {
        const offset = committedByPartition.get(partition);
        return { topic, partition, committed: offset === undefined || Number(offset) < 0 ? null : offset, low, high };
      })
      .sort((a, b) => a.partition - b.partition);
  }

  /** Topics the group has committed offsets on. */
  async topicsOf(groupId: string): Promise<string[]> {
    const committed = await (await this.ready()).fetchOffsets({ groupId });
    return committed.filter(({ partitions }) => partitions.some((p) => Number(p.offset) >= 0)).map(({ topic }) => topic).sort();
  }

  /**
   * Lag per partition; with `sampleMs` > 0 the committed offsets are read twice that far apart,
   * which gives the group's rate and an estimated time to catch up.
   */
  async lag(groupId: string, topics: readonly string[], sampleMs = 0): Promise<PartitionLag[]> {
    const read = async () => (await Promise.all(topics.map((topic) => this.positions(groupId, topic)))).flat();
    if (sampleMs <= 0) return lagWithRate([], await read(), null);
    const before = await read();
    const started = performance.now();
    await sleep(sampleMs);
    const after = await read();
    return lagWithRate(before, after, (performance.now() - started) / 1000);
  }

  /** The offsets a replay would move the group to, per partition, without changing anything. */
  async planReset(groupId: string, topic: string, start: ReplayStart): Promise<OffsetChange[]> {
    const positions = await this.positions(groupId, topic);
    return planOffsetChanges(positions, await this.targets(topic, positions, start));
  }

  /**
   * Commits the planned offsets for the group. Refuses while the group has members; with
   * `waitForInactiveMs` it waits that long for them to leave (a crashed member stays listed until
   * its session times out) before giving up.
   */
  async applyReset(groupId: string, changes: readonly OffsetChange[], waitForInactiveMs = 0): Promise<void> {
    if (changes.length === 0) return;
    await this.waitUntilInactive(groupId, waitForInactiveMs);
    const admin = await this.ready();
    for (const topic of new Set(changes.map((change) => change.topic))) {
      const partitions = changes.filter((change) => change.topic === topic).map(({ partition, to }) => ({ partition, offset: to }));
      await admin.setOffsets({ groupId, topic, partitions });
    }
  }

  /** Throws ActiveGroupError naming the members when the group still consumes after `waitMs`. */
  async waitUntilInactive(groupId: string, waitMs = 0): Promise<void> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const group = await this.members(groupId);
      if (INACTIVE_STATES.includes(group.state) && group.members.length === 0) return;
      if (Date.now() >= deadline) {
        const who = group.members.map((m) => `${m.clientId}@${m.clientHost}`).join(', ');
        throw new ActiveGroupError(
          `group ${groupId} is ${group.state} with ${group.members.length} member(s) (${who}); stop those processors ` +
            `(or wait for a crashed one's session to time out, e.g. with --force) and try again`,
        );
      }
      await sleep(1000);
    }
  }

  private async targets(topic: string, positions: readonly PartitionPosition[], start: ReplayStart): Promise<Map<number, string>> {
    switch (start.kind) {
      case 'beginning':
        return new Map(positions.map(({ partition, low }) => [partition, low]));
      case 'timestamp': {
        const found = await (await this.ready()).fetchTopicOffsetsByTimestamp(topic, start.at);
        return new Map(found.map(({ partition, offset }) => [partition, offset]));
      }
      case 'offsets': {
        const unknown = [...start.offsets.keys()].filter((partition) => !positions.some((p) => p.partition === partition));
        if (unknown.length > 0) {
          throw new Error(`${topic} has no partition ${unknown.join(', ')} (it has ${positions.length}: 0–${positions.length - 1})`);
        }
        return new Map(start.offsets);
      }
      default: {
        const exhaustive: never = start;
        throw new Error(`unknown replay start ${JSON.stringify(exhaustive)}`);
      }
    }
  }

  private async ready(): Promise<Admin> {
    this.connected ??= this.admin.connect();
    await this.connected;
    return this.admin;
  }
}
