import { DEVICE_ID_RULE } from '../device/device-id';
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
const envelope = { key: 'dev-1', timestamp: now };
const keyed = (deviceId: string) => ({ key: deviceId, timestamp: now });

describe('rejectTelemetry', () => {
  describe('when the reading is well formed and keyed by its device id', () => {
    it('accepts it', () => expect(rejectTelemetry(reading(), envelope, limits)).toBeNull());
  });

  describe('when the reading breaks a rule', () => {
    it.each([
      ['missing-device-id', reading({ deviceId: '  ' }), envelope],
      ['invalid-device-id', reading({ deviceId: 'd'.repeat(2000) }), keyed('d'.repeat(2000))],
      ['invalid-device-id', reading({ deviceId: 'dev\u00011' }), keyed('dev\u00011')],
      ['invalid-device-id', reading({ deviceId: 'датчик-1' }), keyed('датчик-1')],
      ['missing-key', reading(), { key: null, timestamp: now }],
      ['missing-key', reading(), { key: '', timestamp: now }],
      ['key-mismatch', reading(), { key: 'dev-2', timestamp: now }],
      ['non-finite-metric', reading({ metrics: { t: Number.NaN } }), envelope],
      ['non-finite-metric', reading({ metrics: { t: Number.POSITIVE_INFINITY } }), envelope],
      ['event-time-out-of-range', reading({ eventTime: now + 10 * 60_000 }), envelope],
      ['event-time-out-of-range', reading({ eventTime: now - 31 * 86_400_000 }), envelope],
    ])('rejects it as %s', (reason, input, env) => {
      expect(rejectTelemetry(input, env, limits)?.reason).toBe(reason);
    });

    it('says the device-id rule when the id breaks it', () => {
      expect(rejectTelemetry(reading({ deviceId: 'dev 1' }), keyed('dev 1'), limits)?.error).toContain(DEVICE_ID_RULE);
    });

    it('checks the device id before the key, so a bad id is named as such whatever the key', () => {
      expect(rejectTelemetry(reading({ deviceId: 'dev/1' }), { key: null, timestamp: now }, limits)?.reason).toBe('invalid-device-id');
      expect(rejectTelemetry(reading({ deviceId: 'dev/1' }), { key: 'other', timestamp: now }, limits)?.reason).toBe('invalid-device-id');
    });
  });

  describe("time policy: eventTime is judged against the record's Kafka timestamp, never the clock", () => {
    const yearAgo = now - 365 * 86_400_000;
    it('accepts a reading as old as its record, however long ago it was produced (a replay decides as the first pass did)', () => {
      expect(rejectTelemetry(reading({ eventTime: yearAgo - 1000 }), { key: 'dev-1', timestamp: yearAgo }, limits)).toBeNull();
    });
    it('rejects a reading far older than its record, even when the clock is near it', () => {
      const rejection = rejectTelemetry(reading({ eventTime: yearAgo }), { key: 'dev-1', timestamp: now }, limits);
      expect(rejection).toMatchObject({ reason: 'event-time-out-of-range' });
      expect(rejection?.error).toContain(new Date(now).toISOString());
    });
    it('rejects a reading too far ahead of its record', () => {
      expect(rejectTelemetry(reading({ eventTime: yearAgo + 6 * 60_000 }), { key: 'dev-1', timestamp: yearAgo }, limits)?.reason).toBe('event-time-out-of-range');
    });
  });
});
