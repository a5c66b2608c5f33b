/** How long a view has been behind without moving, and whether that makes it stuck. */
export interface Stall {
  stalledForMs: number;
  stuck: boolean;
}

/**
 * Tells a stuck view from a busy one, from samples of its lag and position (the sum of its partitions'
 * next offsets): stuck when it has been behind (lag > 0) with the same position for `stuckMs`, counted
 * from the last sample that saw it caught up or moving (or the first sample: never stuck at once).
 */
export class StallWatch {
  private lastPosition: number | undefined;
  private movedAt = 0;

  constructor(private readonly stuckMs: number) {}

  observe(lag: number, position: number, now = Date.now()): Stall {
    if (lag <= 0 || position !== this.lastPosition) {
      this.lastPosition = position;
      this.movedAt = now;
    }
    const stalledForMs = lag > 0 ? now - this.movedAt : 0;
    return { stalledForMs, stuck: lag > 0 && stalledForMs >= this.stuckMs };
  }
}
