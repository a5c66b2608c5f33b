import type { CommandRequest, Telemetry } from '@fleetstream/domain';
import type { FleetTopics } from '@fleetstream/kafka';
import {
  CommandAckRecord, CommandEventRecord, DeviceEventRecord, readAvroSchema, RegistryCodec, toCommandEventRecord,
} from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { randomBytes } from 'node:crypto';

/** Confluent wire format: magic byte 0, the schema id (int32 big-endian), then the Avro body. */
export const WIRE_HEADER_BYTES = 5;

export function framed(schemaId: number, body: Buffer): Buffer {
  const header = Buffer.alloc(WIRE_HEADER_BYTES);
  header.writeInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
}

/** Random bytes that are not in the wire format (the first byte is not the magic byte 0). */
export function garbage(length: number): Buffer {
  return Buffer.concat([Buffer.from([0x7b]), randomBytes(Math.max(0, length - 1))]);
}

/** A command request with the service's defaults, as the REST API would record it. */
export function commandRequest(commandId: string, deviceId: string, overrides: Partial<CommandRequest> = {}): CommandRequest {
  return {
    commandId, deviceId, name: 'reboot', params: {}, ttlMs: 3_600_000,
    timeouts: { deliveryMs: 30_000, acceptanceMs: 60_000, executionMs: 600_000 }, maxAttempts: 5,
    backoff: { initialMs: 1000, maxMs: 60_000 }, ordered: false, idempotencyKey: null, bodyHash: 'input-records', requestedBy: null,
    ...overrides,
  };
}

/**
 * Valid values for every topic fleetstream consumes (telemetry, device events, command events,
 * acknowledgments), encoded with the schemas registered under the topics' subjects: the good records
 * of the poison suite and the fuzz, and the material the fuzz mutates.
 */
export class InputRecords {
  private constructor(
    private readonly codecs: {
      telemetry: RegistryCodec<Telemetry>;
      deviceEvent: RegistryCodec<DeviceEventRecord>;
      commandEvent: RegistryCodec<CommandEventRecord>;
      commandAck: RegistryCodec<CommandAckRecord>;
    },
    /** The registered schema id of each input's values. */
    readonly schemaIds: { telemetry: number; deviceEvent: number; commandEvent: number; commandAck: number },
  ) {}

  static async register(registry: SchemaRegistry, topics: FleetTopics): Promise<InputRecords> {
    const codecs = {
      telemetry: new RegistryCodec<Telemetry>(registry, readAvroSchema('telemetry')),
      deviceEvent: new RegistryCodec<DeviceEventRecord>(registry, readAvroSchema('device-event')),
      commandEvent: new RegistryCodec<CommandEventRecord>(registry, readAvroSchema('command-event')),
      commandAck: new RegistryCodec<CommandAckRecord>(registry, readAvroSchema('command-ack')),
    };
    const schemaIds = {
      telemetry: await codecs.telemetry.register(`${topics.telemetry}-value`),
      deviceEvent: await codecs.deviceEvent.register(`${topics.deviceEvents}-value`),
      commandEvent: await codecs.commandEvent.register(`${topics.commands}-value`),
      commandAck: await codecs.commandAck.register(`${topics.deviceAcks}-value`),
    };
    return new InputRecords(codecs, schemaIds);
  }

  telemetry(reading: Telemetry): Promise<Buffer> {
    return this.codecs.telemetry.encode(this.schemaIds.telemetry, reading);
  }

  deviceEvent(event: Partial<DeviceEventRecord> & Pick<DeviceEventRecord, 'deviceId' | 'kind'>): Promise<Buffer> {
    return this.codecs.deviceEvent.encode(this.schemaIds.deviceEvent, {
      requestId: `req-${Date.now()}`, at: Date.now(), patchJson: null, expectedVersion: null, online: null, ...event,
    });
  }

  /** A desired-state patch as the REST API publishes it. */
  desiredPatch(deviceId: string, patchJson: string, expectedVersion: number | null = null): Promise<Buffer> {
    return this.deviceEvent({ deviceId, kind: 'DESIRED_PATCH', patchJson, expectedVersion });
  }

  commandEvent(record: CommandEventRecord): Promise<Buffer> {
    return this.codecs.commandEvent.encode(this.schemaIds.commandEvent, record);
  }

  /** A REQUESTED command event as the REST API records it. */
  commandRequested(request: CommandRequest, at = Date.now()): Promise<Buffer> {
    return this.commandEvent(toCommandEventRecord({ type: 'CommandRequested', data: request, metadata: { at } }));
  }

  commandAck(ack: Partial<CommandAckRecord> & Pick<CommandAckRecord, 'commandId' | 'deviceId'>): Promise<Buffer> {
    return this.codecs.commandAck.encode(this.schemaIds.commandAck, {
      stage: 'SUCCEEDED', attempt: 1, detail: null, resultJson: null, at: Date.now(), ...ack,
    });
  }
}
