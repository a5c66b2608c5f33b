/** A command that ended, and when (its terminal state's updatedAt). */
export interface EndedCommand {
  commandId: string;
  endedAt: number;
}

/**
 * The ended commands of one partition, by the time they are due to be forgotten (ended +
 * COMMAND_RETENTION_S): a min-heap on end time, so the timer finds the due ones without scanning.
 * It holds only commands that ended within the retention (plus those due but not yet tombstoned),
 * one small entry each. A command id that starts again (a new request after it was forgotten)
 * is reopened: its older heap entry becomes stale and is skipped, so the new command is never
 * forgotten early.
 */
export class CommandRetentionIndex {
  private readonly heap: EndedCommand[] = [];
  /** The current end time of each ended command: the truth the heap's entries are checked against. */
  private readonly endedAt = new Map<string, number>();

  constructor(private readonly retentionMs: number) {}

  /** How many ended commands wait to be forgotten. */
  get size(): number {
    return this.endedAt.size;
  }

  ended(commandId: string, endedAt: number): void {
    this.endedAt.set(commandId, endedAt);
    this.push({ commandId, endedAt });
  }

  /** The command is open again (its id was requested anew): it must not be forgotten on its old end time. */
  reopened(commandId: string): void {
    this.endedAt.delete(commandId);
  }

  /** Whether any command is due at `now` (a stale entry may make this true once; `takeDue` drops it). */
  hasDue(now: number): boolean {
    return this.heap.length > 0 && this.heap[0]!.endedAt + this.retentionMs <= now;
  }

  /**
   * Removes and returns up to `limit` commands due at `now`, oldest end first. A caller that fails
   * to tombstone them gives them back with `ended` for each.
   */
  takeDue(now: number, limit = Infinity): EndedCommand[] {
    const due: EndedCommand[] = [];
    while (due.length < limit && this.hasDue(now)) {
      const entry = this.pop();
      if (this.endedAt.get(entry.commandId) !== entry.endedAt) continue; // reopened, or ended again later
      this.endedAt.delete(entry.commandId);
      due.push(entry);
    }
    return due;
  }

  private push(entry: EndedCommand): void {
    const heap = this.heap;
    heap.push(entry);
    for (let child = heap.length - 1; child > 0; ) {
      const parent = (child - 1) >> 1;
      if (heap[parent]!.endedAt <= entry.endedAt) break;
      heap[child] = heap[parent]!;
      heap[parent] = entry;
      child = parent;
    }
  }

  private pop(): EndedCommand {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length === 0) return top;
    heap[0] = last;
    for (let parent = 0; ; ) {
      const left = 2 * parent + 1;
      const right = left + 1;
      let smallest = parent;
      if (left < heap.length && heap[left]!.endedAt < heap[smallest]!.endedAt) smallest = left;
      if (right < heap.length && heap[right]!.endedAt < heap[smallest]!.endedAt) smallest = right;
      if (smallest === parent) return top;
      [heap[parent], heap[smallest]] = [heap[smallest]!, heap[parent]!];
      parent = smallest;
    }
  }
}

/**
 * Whether a request read at `now` is older than the retention: a command requested that long ago
 * has either been forgotten already (its tombstone is on fleet.command-state) or was never read in
 * time; starting it now would revive a command whose id the API has already let go of.
 */
export function requestOutlivedRetention(requestedAt: number, now: number, retentionMs: number): boolean {
  return now - requestedAt >= retentionMs;
}
