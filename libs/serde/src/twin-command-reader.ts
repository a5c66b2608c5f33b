import type { Telemetry, TwinCommand } from '@fleetstream/domain';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { RegistryCodec } from './registry-codec';
import { readAvroSchema } from './schema-files';
import { readTelemetry, TelemetryRules } from './telemetry-reader';
import { DeviceEventRecord } from './twin-snapshot';

export type TwinCommandRead = { command: TwinCommand } | { skipped: string };

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

  async deviceEvent(message: { offset: string; value: Buffer | null }): Promise<TwinCommandRead> {
    const decoded = await this.eventCodec.decode(message.value);
    if (!decoded.ok) return { skipped: `device event at offset ${message.offset} does not decode: ${decoded.rejection.error}` };
    const event = decoded.value;
    switch (event.kind) {
      case 'DESIRED_PATCH':
        return {
          command: {
            type: 'PatchDesired',
            data: { deviceId: event.deviceId, patch: JSON.parse(event.patchJson ?? '{}'), expectedVersion: event.expectedVersion ?? undefined },
            metadata: { now: event.at, requestId: event.requestId },
          },
        };
      case 'CONNECTIVITY':
        return { command: { type: 'ReportConnectivity', data: { deviceId: event.deviceId, online: event.online ?? false }, metadata: { now: event.at } } };
      case 'REMOVE':
        return { command: { type: 'RemoveDevice', data: { deviceId: event.deviceId }, metadata: { now: event.at } } };
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
