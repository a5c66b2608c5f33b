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
    private readonly anomalies?: AnomalyEpisodes,
  ) {
    this.sequences = new Array<number>(size).fill(0);
  }

  /** The next reading, round-robin over the devices. */
  reading(eventTime: number): Telemetry {
    const index = this.next;
    this.next = (this.next + 1) % this.size;
    const seq = ++this.sequences[index]!;
    const phase = (seq / 60) * Math.PI;
    // normal devices stay within 15–26 °C
    const temperature = 20 + 5 * Math.sin(phase + index) + this.random();
    return {
      deviceId: simulatedDeviceId(index),
      eventTime,
      seq,
      metrics: {
        temperature: round(this.anomalies ? this.anomalies.temperature(index, temperature, eventTime) : temperature),
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

/** How an anomaly episode runs: it repeats every `periodMs`; the temperature ramps up, stays hot, ramps down. */
export const ANOMALY_EPISODE = {
  periodMs: 180_000,
  /** The first anomalous device's first episode starts this long after the simulation started. */
  firstStartMs: 10_000,
  rampMs: 10_000,
  /** Each anomalous device stays above ANOMALY_HOT_FLOOR for 30–60 s, its own length. */
  minHotMs: 30_000,
  maxHotMs: 60_000,
} as const;
/** Every hot reading is above this, and every ramp reading at or below it: `temperature > 80` holds exactly while hot. */
export const ANOMALY_HOT_FLOOR = 80;
const ANOMALY_HOT_SPREAD = 10;

/**
 * Anomaly episodes for `simulate --anomaly-rate`: a fraction of the fleet (at least one device when the
 * fraction is above 0), spread evenly over the device indexes, overheats once per period. The episode
 * starts are spread over the period so the fleet has about the same number of hot devices at any time.
 * Which devices, when and how long depend only on the fleet size, the fraction and the start: the same
 * command line gives the same episodes.
 */
export class AnomalyEpisodes {
  /** Device index → its start offset within the period and how long it stays hot. */
  private readonly episodes = new Map<number, { offsetMs: number; hotMs: number }>();

  constructor(
    size: number,
    fraction: number,
    private readonly startedAt: number,
  ) {
    const count = fraction === 0 ? 0 : Math.min(size, Math.ceil(size * fraction));
    const { periodMs, firstStartMs, minHotMs, maxHotMs } = ANOMALY_EPISODE;
    for (let k = 0; k < count; k++) {
      const index = Math.floor((k * size) / count);
      const offsetMs = firstStartMs + Math.floor((k * periodMs) / count);
      // a length per device that is not the same for neighbours: 30 s, 37 s, 44 s, … wrapping at 60 s
      const hotMs = minHotMs + ((k * 7_000) % (maxHotMs - minHotMs + 1_000));
      this.episodes.set(index, { offsetMs, hotMs });
    }
  }

  /** The indexes of the anomalous devices, in order. */
  get devices(): number[] {
    return [...this.episodes.keys()];
  }

  /** The device's temperature at `at`: `normal`, or during an episode a ramp to the hot floor, a hot plateau above it, and a ramp back. */
  temperature(index: number, normal: number, at: number): number {
    const episode = this.episodes.get(index);
    if (!episode) return normal;
    const { periodMs, rampMs } = ANOMALY_EPISODE;
    const sinceStart = at - this.startedAt - episode.offsetMs;
    if (sinceStart < 0) return normal;
    const t = sinceStart % periodMs;
    const hotEnd = rampMs + episode.hotMs;
    if (t < rampMs) return normal + (ANOMALY_HOT_FLOOR - normal) * (t / rampMs);
    if (t < hotEnd) {
      // a bump above the floor, never touching it: 80 < value ≤ 90
      const progress = (t - rampMs + 1) / (episode.hotMs + 1);
      return ANOMALY_HOT_FLOOR + 1 + (ANOMALY_HOT_SPREAD - 1) * Math.sin(progress * Math.PI);
    }
    if (t < hotEnd + rampMs) return ANOMALY_HOT_FLOOR + (normal - ANOMALY_HOT_FLOOR) * ((t - hotEnd) / rampMs);
    return normal;
  }
}
