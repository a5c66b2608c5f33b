import type { Telemetry } from '@fleetstream/domain';
import type { RegistryCodec } from '@fleetstream/serde';
import { Kafka } from 'kafkajs';
import { AvroTopicProducer } from './avro-topic.producer';

/** Publishes telemetry as producers should: Avro, Confluent wire format, key = device id, timestamp = event time. */
export class TelemetryProducer extends AvroTopicProducer<Telemetry> {
  constructor(kafka: Kafka, codec: RegistryCodec<Telemetry>, topic: string) {
    super(kafka, codec, topic, (reading) => reading.deviceId, (reading) => reading.eventTime);
  }
}
