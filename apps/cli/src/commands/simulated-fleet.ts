import type { Telemetry } from '@fleetstream/domain';

/** Device ids of a simulated fleet: device-00001 … */
export function simulatedDeviceId(index: number): string {
  return `device-${String(index + 1).padStart(5, '0')}`;
}

/** Deterministic-enough readings for a fleet of N devices, each with its own increasing sequence. */
export class SimulatedFleet {
  private readonly sequences: number[];
  private next = 0;

  constructor(
    readonly size: number,
    private readonly random: () => number = Math.random,
  ) {
    this.sequences = new Array<number>(size).fill(0);
  }

  /** The next reading, round-robin over the devices. */
  reading(eventTime: number): Telemetry {
    const index = this.next;
    this.next = (this.next + 1) % this.size;
    const seq = ++this.sequences[index]!;
    const phase = (seq / 60) * Math.PI;
    return {
      deviceId: simulatedDeviceId(index),
      eventTime,
      seq,
      metrics: {
        temperature: round(20 + 5 * Math.sin(phase + index) + this.random()),
        humidity: round(45 + 10 * Math.cos(phase) + 2 * this.random()),
        battery: round(Math.max(0, 100 - seq * 0.01)),
      },
      attributes: { firmware: index % 3 === 0 ? '1.4.2' : '1.5.0' },
    };
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * Which devices are offline: in each period a random fraction of the fleet drops off, and the
 * rest is online. Offline devices send no telemetry and do not answer commands.
 */
export class OfflinePeriods {
  private period = -1;
  private offline = new Set<string>();

  constructor(
    private readonly size: number,
    private readonly fraction: number,
    private readonly periodMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** The devices that changed connectivity since the last call (empty within a period). */
  advance(now: number): { wentOffline: string[]; cameBack: string[] } {
    const period = Math.floor(now / this.periodMs);
    if (period === this.period || this.fraction === 0) return { wentOffline: [], cameBack: [] };
    this.period = period;
    const next = new Set<string>();
    for (let index = 0; index < this.size; index++) if (this.random() < this.fraction) next.add(simulatedDeviceId(index));
    const wentOffline = [...next].filter((id) => !this.offline.has(id));
    const cameBack = [...this.offline].filter((id) => !next.has(id));
    this.offline = next;
    return { wentOffline, cameBack };
  }

  isOffline(deviceId: string): boolean {
    return this.offline.has(deviceId);
  }
}
