import { deviceIdError, idPreview } from '../device/device-id';

/** A device reading as producers publish it (schemas/telemetry.avsc). */
export interface Telemetry {
  deviceId: string;
  /** Epoch milliseconds when the device measured. */
  eventTime: number;
  seq: number;
  metrics: Record<string, number>;
  attributes: Record<string, string>;
}

/**
 * Every reason a telemetry record is dead-lettered, in the order the checks run; also the value of
 * the `reason` DLQ header and a metrics label. `twin-too-large` is the twin decider's (a reading
 * that would give a twin too many reported fields); the others are `readTelemetry`'s.
 */
export const TELEMETRY_REJECTION_REASONS = [
  'oversized',
  'not-confluent-framed',
  'unknown-schema-id',
  'undecodable',
  'missing-device-id',
  'invalid-device-id',
  'missing-key',
  'key-mismatch',
  'non-finite-metric',
  'event-time-out-of-range',
  'twin-too-large',
] as const;

/** Why a record was dead-lettered: one of TELEMETRY_REJECTION_REASONS. */
export type RejectionReason = (typeof TELEMETRY_REJECTION_REASONS)[number];

export interface Rejection {
  reason: RejectionReason;
  /** Human-readable: what is wrong with which value. */
  error: string;
}

export interface TelemetryLimits {
  /** Largest accepted distance of eventTime into the future, ms. */
  maxFutureSkewMs: number;
  /** Largest accepted age of eventTime, ms. */
  maxPastAgeMs: number;
}

export interface TelemetryEnvelope {
  /** The Kafka record key as text, or null when the record had none. */
  key: string | null;
  /**
   * The record's Kafka timestamp (epoch ms): CreateTime, or the broker's LogAppendTime when the topic
   * is configured so. The one time reference of every telemetry check, never the clock at receipt,
   * so the history writer, the twin processor and a replay a year later all decide alike.
   */
  timestamp: number;
}

/** Checks a decoded reading against the rules every stored reading obeys; null when it is fine. */
export function rejectTelemetry(
  reading: Telemetry,
  envelope: TelemetryEnvelope,
  limits: TelemetryLimits,
): Rejection | null {
  if (reading.deviceId.trim().length === 0) {
    return { reason: 'missing-device-id', error: 'deviceId is empty' };
  }
  const invalidId = deviceIdError(reading.deviceId);
  if (invalidId !== null) return { reason: 'invalid-device-id', error: `deviceId breaks the contract: ${invalidId}` };
  if (envelope.key === null || envelope.key.length === 0) {
    return {
      reason: 'missing-key',
      error: `record has ${envelope.key === null ? 'no' : 'an empty'} key; producers must key telemetry by device id ("${reading.deviceId}"), which places a device's readings in one partition`,
    };
  }
  if (envelope.key !== reading.deviceId) {
    return {
      reason: 'key-mismatch',
      error: `record key "${idPreview(envelope.key)}" differs from deviceId "${reading.deviceId}"; producers must key telemetry by device id`,
    };
  }
  for (const name in reading.metrics) {
    const value = reading.metrics[name]!;
    if (!Number.isFinite(value)) {
      return { reason: 'non-finite-metric', error: `metric "${name}" is ${value}` };
    }
  }
  const skew = reading.eventTime - envelope.timestamp;
  if (skew > limits.maxFutureSkewMs || -skew > limits.maxPastAgeMs) {
    return {
      reason: 'event-time-out-of-range',
      error: `eventTime ${new Date(reading.eventTime).toISOString()} is ${Math.round(skew / 1000)} s from the record's timestamp ${new Date(envelope.timestamp).toISOString()}; accepted: ${limits.maxPastAgeMs / 1000} s before it to ${limits.maxFutureSkewMs / 1000} s after it`,
    };
  }
  return null;
}
