/** A device reading as producers publish it (schemas/telemetry.avsc). */
export interface Telemetry {
  deviceId: string;
  /** Epoch milliseconds when the device measured. */
  eventTime: number;
  seq: number;
  metrics: Record<string, number>;
  attributes: Record<string, string>;
}

/** Why a record was dead-lettered; also the value of the `reason` DLQ header and a metrics label. */
export type RejectionReason =
  | 'not-confluent-framed'
  | 'unknown-schema-id'
  | 'undecodable'
  | 'missing-device-id'
  | 'key-mismatch'
  | 'non-finite-metric'
  | 'event-time-out-of-range'
  | 'oversized';

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
  /** When the service saw the record (epoch ms); passed in so validation never reads the clock. */
  receivedAt: number;
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
  if (envelope.key !== null && envelope.key !== reading.deviceId) {
    return {
      reason: 'key-mismatch',
      error: `record key "${envelope.key}" differs from deviceId "${reading.deviceId}"; producers must key telemetry by device id`,
    };
  }
  for (const name in reading.metrics) {
    const value = reading.metrics[name]!;
    if (!Number.isFinite(value)) {
      return { reason: 'non-finite-metric', error: `metric "${name}" is ${value}` };
    }
  }
  const skew = reading.eventTime - envelope.receivedAt;
  if (skew > limits.maxFutureSkewMs || -skew > limits.maxPastAgeMs) {
    return {
      reason: 'event-time-out-of-range',
      error: `eventTime ${new Date(reading.eventTime).toISOString()} is ${Math.round(skew / 1000)} s from now; accepted: ${limits.maxPastAgeMs / 1000} s past to ${limits.maxFutureSkewMs / 1000} s future`,
    };
  }
  return null;
}
