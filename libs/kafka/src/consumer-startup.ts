import { setTimeout as sleep } from 'node:timers/promises';

const RESTART_BACKOFF_MS = [1000, 2000, 5000, 10_000];

/** The wait before start (or restore) attempt `attempt`, 0-based: 1 s, 2 s, 5 s, then 10 s. */
export function restartBackoffMs(attempt: number): number {
  return RESTART_BACKOFF_MS[Math.min(attempt, RESTART_BACKOFF_MS.length - 1)]!;
}

/**
 * Whether a processor's consumer runs, and why not. It starts in the background, retried with backoff
 * until it succeeds: the service listens (and /ready says what the processor waits for) while the
 * registry or the broker is away at boot. Once started, librdkafka reconnects by itself forever.
 */
export class ConsumerStartup {
  running = false;
  /** Why it is not running, when it is not. */
  problem: string | undefined = 'starting';

  constructor(
    private readonly name: string,
    private readonly log: { warn(message: string): void },
  ) {}

  /**
   * Runs `start` until it succeeds or `stopping()`; `cleanUp` after each failed attempt (a half-made
   * connection). Returns at once.
   */
  launch(start: () => Promise<void>, stopping: () => boolean, cleanUp: () => Promise<void> = async () => undefined): void {
    void (async () => {
      for (let attempt = 0; !stopping(); attempt++) {
        try {
          await start();
          this.up();
          return;
        } catch (error) {
          const backoff = restartBackoffMs(attempt);
          this.problem = `starting failed, retrying in ${backoff} ms: ${(error as Error).message}`;
          this.log.warn(`[${this.name}] ${this.problem}`);
          await cleanUp().catch(() => undefined);
          await sleep(backoff);
        }
      }
    })();
  }

  up(): void {
    this.running = true;
    this.problem = undefined;
  }
}
