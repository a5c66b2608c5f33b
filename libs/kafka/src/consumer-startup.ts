import type { Consumer } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';

const RESTART_BACKOFF_MS = [1000, 2000, 5000, 10_000];

/** The wait before start (or restore) attempt `attempt`, 0-based: 1 s, 2 s, 5 s, then 10 s. */
export function restartBackoffMs(attempt: number): number {
  return RESTART_BACKOFF_MS[Math.min(attempt, RESTART_BACKOFF_MS.length - 1)]!;
}

/**
 * Whether a processor's consumer runs, and why not. It starts in the background, retried with backoff
 * until it succeeds: the service listens (and /ready says what the processor waits for) while the
 * registry or the broker is away at boot. Once started, librdkafka reconnects by itself forever;
 * kafkajs restarts a consumer after a retriable crash but not after a non-retriable one, and `watch`
 * restarts it then, forever, with backoff.
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

  /** Follows a kafkajs consumer: down on a crash, up at its next fetch, `restart` (with backoff) after a crash kafkajs gives up on. */
  watch(consumer: Consumer, restart: () => Promise<void>, stopping: () => boolean): void {
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.running = false;
      this.problem = `consumer crashed: ${payload.error.message}`;
      this.log.warn(`[${this.name}] ${this.problem}${payload.restart ? '; kafkajs restarts it' : '; restarting it'}`);
      if (!payload.restart && !stopping()) void this.restartForever(restart, stopping);
    });
    consumer.on(consumer.events.FETCH_START, () => this.up());
  }

  private async restartForever(restart: () => Promise<void>, stopping: () => boolean): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      await sleep(restartBackoffMs(attempt));
      if (stopping()) return;
      try {
        await restart();
        this.log.warn(`[${this.name}] consumer restarted`);
        return;
      } catch (error) {
        this.problem = `consumer restart failed: ${(error as Error).message}`;
        this.log.warn(`[${this.name}] ${this.problem}; trying again`);
      }
    }
  }
}
