import { deviceRecordFault, JsonObject, Telemetry, TwinCommand } from '@fleetstream/domain';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { RegistryCodec } from './registry-codec';
import { readAvroSchema } from './schema-files';
import { readTelemetry, TelemetryRules } from './telemetry-reader';
import { DeviceEventRecord } from './twin-snapshot';

export type TwinCommandRead = { command: TwinCommand } | { skipped: string };

/** Why a record can never be processed (a dead letter's reason and error). */
export interface ReadFault {
  reason: string;
  error: string;
}

export type DeviceEventRead = { command: TwinCommand } | { fault: ReadFault };

/** A desired-state patch as JSON; anything else (broken JSON, an array, a number) is the record's fault. */
function parsePatch(patchJson: string | null): { value: JsonObject } | { fault: ReadFault } {
  let patch: unknown;
  try {
    patch = JSON.parse(patchJson ?? '{}');
  } catch (error) {
    return { fault: { reason: 'invalid-patch-json', error: `patchJson is not JSON: ${(error as Error).message}` } };
  }
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
    return { fault: { reason: 'invalid-patch-json', error: `patchJson is ${Array.isArray(patch) ? 'an array' : String(patch === null ? 'null' : typeof patch)}, not a JSON object (RFC 7386 merge patch)` } };
  }
  return { value: patch as JsonObject };
}

/**
 * What a telemetry or fleet.device-events record means to a twin, as a decider command: one reading
 * for the twin processor and for a rebuild, so both fold exactly the same commands.
 */
export class TwinCommandReader {
  private readonly telemetryCodec: RegistryCodec<Telemetry>;
  private readonly eventCodec: RegistryCodec<DeviceEventRecord>;

  constructor(
    registry: SchemaRegistry,
    private readonly rules: TelemetryRules,
  ) {
    this.telemetryCodec = new RegistryCodec<Telemetry>(registry, readAvroSchema('telemetry'));
    this.eventCodec = new RegistryCodec<DeviceEventRecord>(registry, readAvroSchema('device-event'));
  }

  /**
   * A device event as a twin command, or why it can never be one: it does not decode, it is not
   * keyed by its device's valid id, or its patch is not a JSON object.
   */
  async deviceEvent(message: { key: Buffer | null; value: Buffer | null }): Promise<DeviceEventRead> {
    const decoded = await this.eventCodec.decode(message.value);
    if (!decoded.ok) return { fault: decoded.rejection };
    const event = decoded.value;
    const keyFault = deviceRecordFault(message.key === null ? null : message.key.toString('utf8'), event.deviceId, `device event ${event.kind}`);
    if (keyFault) return { fault: keyFault };
    switch (event.kind) {
      case 'DESIRED_PATCH': {
        const patch = parsePatch(event.patchJson);
        if ('fault' in patch) return patch;
        return {
          command: {
            type: 'PatchDesired',
            data: { deviceId: event.deviceId, patch: patch.value, expectedVersion: event.expectedVersion ?? undefined, actor: event.actor ?? null },
            metadata: { now: event.at, requestId: event.requestId },
          },
        };
      }
      case 'CONNECTIVITY':
        return { command: { type: 'ReportConnectivity', data: { deviceId: event.deviceId, online: event.online ?? false }, metadata: { now: event.at } } };
      case 'REMOVE':
        return { command: { type: 'RemoveDevice', data: { deviceId: event.deviceId, actor: event.actor ?? null }, metadata: { now: event.at } } };
    }
  }

  /** Malformed telemetry is skipped here: it is the history writer's to dead-letter. */
  async telemetry(message: { key: Buffer | null; value: Buffer | null; timestamp: string | number }): Promise<TwinCommandRead> {
    // the record's own timestamp, not the clock: a replay or rebuild decides exactly as the first pass did
    const now = Number(message.timestamp);
    const decoded = await readTelemetry(this.telemetryCodec, { key: message.key, value: message.value, timestamp: now }, this.rules);
    return decoded.ok ? { command: { type: 'RecordTelemetry', data: decoded.value, metadata: { now } } } : { skipped: decoded.rejection.reason };
  }
}
