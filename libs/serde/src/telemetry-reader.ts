import { rejectTelemetry, Telemetry, TelemetryLimits } from '@fleetstream/domain';
import { DecodeResult, RegistryCodec } from './registry-codec';

/** Every rule a telemetry record must pass to be stored or folded into a twin. */
export interface TelemetryRules extends TelemetryLimits {
  /** Larger records are refused undecoded. */
  maxRecordBytes: number;
}

/** A telemetry record as Kafka delivered it; `timestamp` is its Kafka timestamp (epoch ms). */
export interface TelemetryRecord {
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
}

/**
 * Size check → decode (synchronous when the schema is cached) → reading rules: one path for the
 * history writer, the twin processor and `dlq list`, so what one dead-letters the other never folds.
 * Time is judged against the record's own Kafka timestamp, never the clock, so all of them (and a
 * replay) decide the same record the same way.
 * Throws RegistryUnavailableError when the registry cannot be asked (not the record's fault).
 */
export async function readTelemetry(
  codec: RegistryCodec<Telemetry>,
  record: TelemetryRecord,
  rules: TelemetryRules,
): Promise<DecodeResult<Telemetry>> {
  if (record.value !== null && record.value.length > rules.maxRecordBytes) {
    return { ok: false, rejection: { reason: 'oversized', error: `record is ${record.value.length} bytes; the limit is ${rules.maxRecordBytes}` } };
  }
  const decoded = codec.decodeIfCached(record.value) ?? (await codec.decode(record.value));
  if (!decoded.ok) return decoded;
  const key = record.key === null ? null : record.key.toString('utf8');
  const rejection = rejectTelemetry(decoded.value, { key, timestamp: record.timestamp }, rules);
  return rejection ? { ok: false, rejection } : decoded;
}
