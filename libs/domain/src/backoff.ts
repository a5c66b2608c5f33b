/** The wait after failed attempt `attempt` (1-based): `initialMs`, doubled after each failure, capped at `maxMs`. */
export function exponentialBackoffMs(backoff: { initialMs: number; maxMs: number }, attempt: number): number {
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** (attempt - 1));
}
