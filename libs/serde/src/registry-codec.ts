import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Rejection } from '@fleetstream/domain';
import avro, { Schema as AvroSchemaJson, Type } from 'avsc';
import { registerSchema, SchemaRegistrationOptions } from './schema-registration';

/** The registry could not be asked; not the record's fault, so callers retry instead of dead-lettering. */
export class RegistryUnavailableError extends Error {
  override readonly name = 'RegistryUnavailableError';
}

/** A record that does not decode, with the rejection's reason (not-confluent-framed, unknown-schema-id, undecodable). */
export class UndecodableRecordError extends Error {
  override readonly name = 'UndecodableRecordError';
  readonly reason: Rejection['reason'];

  constructor(topic: string, rejection: Rejection) {
    super(`${topic} holds a record that does not decode: ${rejection.error}`);
    this.reason = rejection.reason;
  }
}

export type DecodeResult<T> = { ok: true; value: T; schemaId: number } | { ok: false; rejection: Rejection };

/** Confluent wire format: magic byte 0, then the schema id as a big-endian int32, then the Avro body. */
const WIRE_HEADER_BYTES = 5;

/**
 * Avro in the Confluent wire format against a Confluent-compatible registry. Decoding resolves every
 * writer schema into one reader schema (older and newer producers both decode), with the writer
 * schemas and resolvers cached per schema id: the registry is asked once per id, not per record.
 */
export class RegistryCodec<T> {
  private readonly readerType: Type;
  /** Per writer schema id: its resolver, or why its records cannot be read as the reader type. */
  private readonly resolvers = new Map<number, Resolver | IncompatibleSchema>();

  constructor(
    private readonly registry: SchemaRegistry,
    private readonly readerSchema: AvroSchemaJson,
    private readonly registration: SchemaRegistrationOptions = {},
  ) {
    this.readerType = avro.Type.forSchema(readerSchema);
  }

  /**
   * Registers the reader schema under the subject (TopicNameStrategy: `<topic>-value`); returns its id.
   * Idempotent across instances; retries an unreachable registry forever (see registerSchema).
   */
  register(subject: string, schema: AvroSchemaJson = this.readerSchema): Promise<number> {
    return registerSchema(this.registry, subject, JSON.stringify(schema), this.registration);
  }

  async encode(schemaId: number, value: T): Promise<Buffer> {
    return this.registry.encode(schemaId, value);
  }

  /** A value as the reader schema's Avro body, without the wire-format header (throws when it does not fit the schema). */
  body(value: T): Buffer {
    return this.readerType.toBuffer(value);
  }

  /** A body from `body` in the Confluent wire format, under the id the reader schema was registered with. */
  frame(schemaId: number, body: Buffer): Buffer {
    const header = Buffer.alloc(WIRE_HEADER_BYTES);
    header.writeInt32BE(schemaId, 1);
    return Buffer.concat([header, body]);
  }

  async decode(bytes: Buffer | null): Promise<DecodeResult<T>> {
    if (!isFramed(bytes)) return notFramed(bytes);
    const schemaId = bytes.readInt32BE(1);
    return this.decodeWith(schemaId, this.resolvers.get(schemaId) ?? (await this.resolverFor(schemaId)), bytes);
  }

  /**
   * The same as `decode`, without a promise, when the record's writer schema is already cached
   * (nearly always: one registry call per schema id); undefined when `decode` must fetch it first.
   */
  decodeIfCached(bytes: Buffer | null): DecodeResult<T> | undefined {
    if (!isFramed(bytes)) return notFramed(bytes);
    const schemaId = bytes.readInt32BE(1);
    const resolver = this.resolvers.get(schemaId);
    return resolver === undefined ? undefined : this.decodeWith(schemaId, resolver, bytes);
  }

  /**
   * Decodes a record the service wrote itself (say, of a compacted topic it materializes), mapped to
   * `V`: synchronously when the writer schema is cached, and a record that does not decode is an
   * UndecodableRecordError rather than a rejection (RegistryUnavailableError when the registry cannot say).
   */
  decodeOwn<V>(bytes: Buffer, topic: string, map: (value: T) => V): V | Promise<V> {
    const read = (decoded: DecodeResult<T>) => {
      if (!decoded.ok) throw new UndecodableRecordError(topic, decoded.rejection);
      return map(decoded.value);
    };
    const cached = this.decodeIfCached(bytes);
    return cached ? read(cached) : this.decode(bytes).then(read);
  }

  private decodeWith(schemaId: number, resolver: Resolver | IncompatibleSchema | null, bytes: Buffer): DecodeResult<T> {
    if (resolver === null) {
      return reject('unknown-schema-id', `schema id ${schemaId} is not in the registry; register it, then re-drive this record`);
    }
    if (resolver instanceof IncompatibleSchema) return reject('undecodable', resolver.message);
    try {
      const value = this.readerType.fromBuffer(bytes.subarray(WIRE_HEADER_BYTES), resolver) as T;
      return { ok: true, value, schemaId };
    } catch (error) {
      return reject('undecodable', `Avro body does not decode with schema id ${schemaId}: ${(error as Error).message}`);
    }
  }

  /** null when the registry says the id does not exist; throws RegistryUnavailableError when it cannot say. */
  private async resolverFor(schemaId: number): Promise<Resolver | IncompatibleSchema | null> {
    const cached = this.resolvers.get(schemaId);
    if (cached !== undefined) return cached;
    let writerType: Type;
    try {
      writerType = (await this.registry.getSchema(schemaId)) as Type;
    } catch (error) {
      const status = (error as { status?: number }).status;
      if (status === 404) {
        // not cached: the schema may be registered later and the record re-driven
        return null;
      }
      throw new RegistryUnavailableError(`schema registry did not answer for schema id ${schemaId}: ${(error as Error).message}`);
    }
    let resolver: Resolver | IncompatibleSchema;
    try {
      resolver = this.readerType.createResolver(writerType);
    } catch (error) {
      resolver = new IncompatibleSchema(`schema id ${schemaId} cannot be read as ${this.readerType.name}: ${(error as Error).message}`);
    }
    this.resolvers.set(schemaId, resolver);
    return resolver;
  }
}

type Resolver = ReturnType<Type['createResolver']>;
class IncompatibleSchema {
  constructor(readonly message: string) {}
}

function isFramed(bytes: Buffer | null): bytes is Buffer {
  return bytes !== null && bytes.length >= WIRE_HEADER_BYTES && bytes[0] === 0;
}

function notFramed<T>(bytes: Buffer | null): DecodeResult<T> {
  return reject('not-confluent-framed', `value is not in the Confluent wire format (${describeStart(bytes)})`);
}

function reject<T>(reason: Rejection['reason'], error: string): DecodeResult<T> {
  return { ok: false, rejection: { reason, error } };
}

function describeStart(bytes: Buffer | null): string {
  if (bytes === null) return 'no value';
  if (bytes.length === 0) return 'empty value';
  return `starts with 0x${bytes.subarray(0, WIRE_HEADER_BYTES).toString('hex')}`;
}
