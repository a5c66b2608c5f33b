import type { Consumer } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';

const RESTART_BACKOFF_MS = [1000, 2000, 5000, 10_000];

/** The wait before restart (or start) attempt `attempt`, 0-based: 1 s, 2 s, 5 s, then 10 s. */
export function restartBackoffMs(attempt: number): number {
  return RESTART_BACKOFF_MS[Math.min(attempt, RESTART_BACKOFF_MS.length - 1)]!;
}

export interface ConsumerLivenessOptions {
  log: { warn(message: string): void; error(message: string): void };
  stopping: () => boolean;
  /** Disconnects the crashed consumer and starts a new one (which the owner `watch`es again). */
  restart: () => Promise<void>;
}

/**
 * Whether a processor's consumer runs, and why not. kafkajs restarts a consumer after a retriable
 * crash but not after a non-retriable one: this restarts it then, forever, with backoff.
 */
export class ConsumerLiveness {
  running = false;
  /** Why it is not running, when it is not. */
  problem: string | undefined;
  private restarts = 0;

  constructor(private readonly options: ConsumerLivenessOptions) {}

  watch(consumer: Consumer): void {
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.running = false;
      this.problem = `consumer crashed: ${payload.error.message}`;
      this.options.log.error(`${this.problem}${payload.restart ? '; kafkajs restarts it' : '; restarting it'}`);
      if (!payload.restart && !this.options.stopping()) void this.restartForever();
    });
    consumer.on(consumer.events.FETCH_START, () => this.up());
  }

  up(): void {
    this.running = true;
    this.problem = undefined;
  }

  private async restartForever(): Promise<void> {
    for (;;) {
      await sleep(restartBackoffMs(this.restarts++));
      if (this.options.stopping()) return;
      try {
        await this.options.restart();
        this.options.log.warn('consumer restarted');
        return;
      } catch (error) {
        this.problem = `consumer restart failed: ${(error as Error).message}`;
        this.options.log.error(`${this.problem}; trying again`);
      }
    }
  }
}
