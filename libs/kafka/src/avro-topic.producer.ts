import type { RegistryCodec } from '@fleetstream/serde';
import { CompressionTypes, Kafka, Producer } from 'kafkajs';
import { idempotentProducerConfig } from './kafka-client';

/** Publishes records of one Avro schema to one topic: Confluent wire format, idempotent, acks from all in-sync replicas. */
export class AvroTopicProducer<T> {
  private readonly producer: Producer;
  private schemaId = 0;

  constructor(
    kafka: Kafka,
    private readonly codec: RegistryCodec<T>,
    readonly topic: string,
    private readonly keyOf: (value: T) => string,
    /** The record timestamp; the broker's append time when absent. */
    private readonly timestampOf?: (value: T) => number,
  ) {
    this.producer = kafka.producer(idempotentProducerConfig);
  }

  /** Connects and registers the schema under `<topic>-value`; returns the schema id. */
  async connect(): Promise<number> {
    await this.producer.connect();
    this.schemaId = await this.codec.register(`${this.topic}-value`);
    return this.schemaId;
  }

  /** Resolves once every record is durable in Kafka. */
  async send(values: readonly T[]): Promise<void> {
    const messages = await Promise.all(
      values.map(async (value) => ({
        key: this.keyOf(value),
        value: await this.codec.encode(this.schemaId, value),
        timestamp: this.timestampOf ? String(this.timestampOf(value)) : undefined,
      })),
    );
    await this.producer.send({ topic: this.topic, acks: -1, compression: CompressionTypes.None, messages });
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }
}
