import { FleetTopics, idempotentProducerConfig } from '@fleetstream/kafka';
import { DeviceEventRecord, readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { BeforeApplicationShutdown, Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { Kafka, Producer } from 'kafkajs';
import { KAFKA, SCHEMA_REGISTRY, TOPICS } from '../infrastructure/tokens';

/** Records operator intent (desired patches, removals) on fleet.device-events for the twin processor. */
@Injectable()
export class DeviceEventsPublisher implements OnModuleInit, BeforeApplicationShutdown {
  private readonly producer: Producer;
  private readonly codec: RegistryCodec<DeviceEventRecord>;
  private schemaId = 0;

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    @Inject(SCHEMA_REGISTRY) registry: SchemaRegistry,
    @Inject(TOPICS) private readonly topics: FleetTopics,
  ) {
    this.producer = kafka.producer(idempotentProducerConfig);
    this.codec = new RegistryCodec<DeviceEventRecord>(registry, readAvroSchema('device-event'));
  }

  async onModuleInit(): Promise<void> {
    await this.producer.connect();
    this.schemaId = await this.codec.register(`${this.topics.deviceEvents}-value`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.producer.disconnect();
  }

  /** Resolves once the event is durable in Kafka (acks from all in-sync replicas). `actor`: the authenticated caller who caused it. */
  async publish(event: DeviceEventRecord): Promise<void> {
    await this.producer.send({
      topic: this.topics.deviceEvents,
      acks: -1,
      messages: [{ key: event.deviceId, value: await this.codec.encode(this.schemaId, event) }],
    });
  }
}
