import type { Telemetry } from '@fleetstream/domain';
import type { RegistryCodec } from '@fleetstream/serde';
import { CompressionTypes, Kafka, Producer } from 'kafkajs';
import { idempotentProducerConfig } from './kafka-client';

/** Publishes telemetry as producers should: Avro, Confluent wire format, key = device id. */
export class TelemetryProducer {
  private readonly producer: Producer;
  private schemaId = 0;

  constructor(
    kafka: Kafka,
    private readonly codec: RegistryCodec<Telemetry>,
    private readonly topic: string,
  ) {
    this.producer = kafka.producer(idempotentProducerConfig);
  }

  /** Connects and registers the telemetry schema under `<topic>-value`; returns the schema id. */
  async connect(): Promise<number> {
    await this.producer.connect();
    this.schemaId = await this.codec.register(`${this.topic}-value`);
    return this.schemaId;
  }

  async send(readings: readonly Telemetry[]): Promise<void> {
    const messages = await Promise.all(
      readings.map(async (reading) => ({
        key: reading.deviceId,
        value: await this.codec.encode(this.schemaId, reading),
        timestamp: String(reading.eventTime),
      })),
    );
    await this.producer.send({ topic: this.topic, acks: -1, compression: CompressionTypes.None, messages });
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }
}
