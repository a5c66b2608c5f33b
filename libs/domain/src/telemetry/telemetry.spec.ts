import { rejectTelemetry, Telemetry, TelemetryLimits } from './telemetry';

const now = Date.UTC(2026, 10, 23, 12, 0, 0);
const limits: TelemetryLimits = { maxFutureSkewMs: 5 * 60_000, maxPastAgeMs: 30 * 86_400_000 };
const reading = (overrides: Partial<Telemetry> = {}): Telemetry => ({
  deviceId: 'dev-1',
  eventTime: now - 1000,
  seq: 1,
  metrics: { temperature: 21.5 },
  attributes: {},
  ...overrides,
});
const envelope = { key: 'dev-1', receivedAt: now };

describe('rejectTelemetry', () => {
  describe('when the reading is well formed', () => {
    it('accepts it', () => expect(rejectTelemetry(reading(), envelope, limits)).toBeNull());
    it('accepts a record without a key', () =>
      expect(rejectTelemetry(reading(), { key: null, receivedAt: now }, limits)).toBeNull());
  });

  describe('when the reading breaks a rule', () => {
    it.each([
      ['missing-device-id', reading({ deviceId: '  ' }), envelope],
      ['key-mismatch', reading(), { key: 'dev-2', receivedAt: now }],
      ['non-finite-metric', reading({ metrics: { t: Number.NaN } }), envelope],
      ['non-finite-metric', reading({ metrics: { t: Number.POSITIVE_INFINITY } }), envelope],
      ['event-time-out-of-range', reading({ eventTime: now + 10 * 60_000 }), envelope],
      ['event-time-out-of-range', reading({ eventTime: now - 31 * 86_400_000 }), envelope],
    ])('rejects it as %s', (reason, input, env) => {
      expect(rejectTelemetry(input, env, limits)?.reason).toBe(reason);
    });
  });
});
