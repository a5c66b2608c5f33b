import { ANOMALY_EPISODE, AnomalyEpisodes, SimulatedFleet, simulatedDeviceId } from './simulated-fleet';

const STARTED = 1_800_000_000_000;
const SECOND = 1000;

/** Every `stepMs` over `spanMs` from the start, the device's temperature. */
function temperatures(episodes: AnomalyEpisodes, index: number, normal: number, spanMs: number, stepMs = 500): { at: number; value: number }[] {
  const samples: { at: number; value: number }[] = [];
  for (let t = 0; t <= spanMs; t += stepMs) samples.push({ at: t, value: episodes.temperature(index, normal, STARTED + t) });
  return samples;
}

/** The stretches (start, end) in ms since the start where `hot(value)` holds. */
function stretches(samples: { at: number; value: number }[], hot: (value: number) => boolean): [number, number][] {
  const found: [number, number][] = [];
  for (const { at, value } of samples) {
    const last = found.at(-1);
    if (!hot(value)) continue;
    if (last && last[1] === at - (samples[1]!.at - samples[0]!.at)) last[1] = at;
    else found.push([at, at]);
  }
  return found;
}

describe('AnomalyEpisodes', () => {
  describe('which devices are anomalous', () => {
    it('is that fraction of the fleet, spread evenly over it', () => {
      expect(new AnomalyEpisodes(10_000, 0.01, STARTED).devices).toHaveLength(100);
      expect(new AnomalyEpisodes(100, 0.05, STARTED).devices).toEqual([0, 20, 40, 60, 80]);
    });

    it('is at least one device when the fraction is above 0, and none at 0', () => {
      expect(new AnomalyEpisodes(100, 0.01, STARTED).devices).toEqual([0]);
      expect(new AnomalyEpisodes(10, 0.001, STARTED).devices).toEqual([0]);
      expect(new AnomalyEpisodes(100, 0, STARTED).devices).toEqual([]);
    });

    it('is every device at 1', () => {
      expect(new AnomalyEpisodes(7, 1, STARTED).devices).toEqual([0, 1, 2, 3, 4, 5, 6]);
    });

    it('is the same for the same fleet and fraction', () => {
      expect(new AnomalyEpisodes(5000, 0.03, STARTED).devices).toEqual(new AnomalyEpisodes(5000, 0.03, STARTED + 12_345).devices);
    });
  });

  describe('when the device is not anomalous', () => {
    it('keeps its normal temperature', () => {
      const episodes = new AnomalyEpisodes(100, 0.01, STARTED);
      expect(temperatures(episodes, 1, 21.5, 10 * 60 * SECOND).every(({ value }) => value === 21.5)).toBe(true);
    });
  });

  describe('when the device is anomalous', () => {
    const episodes = new AnomalyEpisodes(100, 0.01, STARTED);
    const samples = temperatures(episodes, 0, 22, 10 * 60 * SECOND);

    it('is above 80 for 30–60 s once per period, the first time from 20 s on', () => {
      const hot = stretches(samples, (value) => value > 80);
      expect(hot.map(([start]) => start)).toEqual([20 * SECOND, 200 * SECOND, 380 * SECOND, 560 * SECOND]);
      for (const [start, end] of hot) {
        expect(end - start).toBeGreaterThanOrEqual(ANOMALY_EPISODE.minHotMs - SECOND);
        expect(end - start).toBeLessThanOrEqual(ANOMALY_EPISODE.maxHotMs);
      }
    });

    it('falls back below 75 after each hot stretch, and stays at most 90', () => {
      const hot = stretches(samples, (value) => value > 80);
      for (const [, end] of hot) {
        const after = samples.filter(({ at }) => at > end && at <= end + 2 * ANOMALY_EPISODE.rampMs);
        expect(after.some(({ value }) => value < 75)).toBe(true);
      }
      expect(Math.max(...samples.map(({ value }) => value))).toBeLessThanOrEqual(90);
    });

    it('is normal before its first episode and between episodes', () => {
      expect(episodes.temperature(0, 22, STARTED + 5 * SECOND)).toBe(22);
      expect(episodes.temperature(0, 22, STARTED + 150 * SECOND)).toBe(22);
    });
  });

  describe('over a large fleet', () => {
    const episodes = new AnomalyEpisodes(10_000, 0.01, STARTED);

    it('gives the devices different hot lengths and starts', () => {
      const hot = episodes.devices.map((index) => stretches(temperatures(episodes, index, 20, ANOMALY_EPISODE.periodMs + 30 * SECOND, SECOND), (v) => v > 80)[0]!);
      expect(new Set(hot.map(([start, end]) => end - start)).size).toBeGreaterThan(3);
      expect(new Set(hot.map(([start]) => start)).size).toBeGreaterThan(50);
    });
  });
});

describe('SimulatedFleet', () => {
  it('never sends a normal temperature above 26, however long it runs', () => {
    const fleet = new SimulatedFleet(50, () => 0.999);
    let highest = -Infinity;
    for (let n = 0; n < 50 * 500; n++) highest = Math.max(highest, fleet.reading(STARTED).metrics.temperature!);
    expect(highest).toBeLessThanOrEqual(26);
  });

  it('sends the anomalous temperature for an anomalous device only', () => {
    const fleet = new SimulatedFleet(100, () => 0.5, new AnomalyEpisodes(100, 0.01, STARTED));
    const readings = Array.from({ length: 100 }, () => fleet.reading(STARTED + 30 * SECOND));
    const hot = readings.filter((reading) => reading.metrics.temperature! > 80).map((reading) => reading.deviceId);
    expect(hot).toEqual([simulatedDeviceId(0)]);
  });
});
