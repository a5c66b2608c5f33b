/** A batch that keeps failing: since how long, how many attempts, and the last error. */
export interface FailureStreak {
  failingForMs: number;
  attempts: number;
  lastError: string;
}

/**
 * Consecutive failures per key (a partition, a batch stage), for status and readiness: a streak
 * starts at the first failure after a success and ends at the next success. `failingForMs` counts
 * from that first failure — not from the last success, which may be an hour of quiet earlier.
 */
export class FailureStreaks<Key> {
  private readonly streaks = new Map<Key, { since: number; attempts: number; lastError: string }>();
  /** Every failed attempt since the start (a retry follows each one). */
  retries = 0;

  failed(key: Key, error: unknown, now = Date.now()): void {
    this.retries++;
    const lastError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const streak = this.streaks.get(key);
    if (streak) {
      streak.attempts++;
      streak.lastError = lastError;
    } else {
      this.streaks.set(key, { since: now, attempts: 1, lastError });
    }
  }

  succeeded(key: Key): void {
    this.streaks.delete(key);
  }

  /** Forgets the keys not in `keys` (partitions no longer assigned). */
  retain(keys: readonly Key[]): void {
    for (const key of this.streaks.keys()) if (!keys.includes(key)) this.streaks.delete(key);
  }

  clear(): void {
    this.streaks.clear();
  }

  failing(now = Date.now()): Array<FailureStreak & { key: Key }> {
    return [...this.streaks].map(([key, { since, attempts, lastError }]) => ({ key, failingForMs: now - since, attempts, lastError }));
  }
}
