import { CompactedTopicView, compareUtf8, FleetTopics, KeyedChanges, KeyValueStore, StoreChange } from '@fleetstream/kafka';
import { readAvroSchema, RegistryCodec, TwinPatchOutcomeRecord } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { BeforeApplicationShutdown, HttpStatus, Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';
import { KAFKA, SCHEMA_REGISTRY, TOPICS } from '../infrastructure/tokens';

/** Outcomes kept after they were read: a PATCH listens before it publishes, so only stragglers need them. */
const RECENT_OUTCOMES = 10_000;

/** The HTTP status a PATCH answers with when its patch was refused for this reason (a dead letter's reason). */
export function patchRejectionStatus(reason: string): HttpStatus {
  switch (reason) {
    case 'patch-version-conflict':
      return HttpStatus.PRECONDITION_FAILED;
    case 'desired-too-large':
    case 'twin-too-large':
      return HttpStatus.PAYLOAD_TOO_LARGE;
    case 'unknown-device':
      return HttpStatus.NOT_FOUND;
    default: // invalid-patch, and anything a newer processor may add: the request's fault
      return HttpStatus.BAD_REQUEST;
  }
}

/**
 * What the twin processors did with each desired patch, read from fleet.twin-patch-outcomes by every
 * instance: the one that answers a PATCH is often not the one that owns the device's partition, so
 * the answer travels through Kafka. Records are written in the transaction that wrote the twin, so an
 * APPLIED outcome is never visible before its twin is committed.
 */
@Injectable()
export class TwinPatchOutcomes implements OnModuleInit, BeforeApplicationShutdown {
  private readonly view: CompactedTopicView<TwinPatchOutcomeRecord>;
  private readonly byRequest = new KeyedChanges<TwinPatchOutcomeRecord>();
  readonly codec: RegistryCodec<TwinPatchOutcomeRecord>;

  constructor(
    @Inject(fleetstreamConfig.KEY) config: AppConfig,
    @Inject(KAFKA) kafka: Kafka,
    @Inject(SCHEMA_REGISTRY) registry: SchemaRegistry,
    @Inject(TOPICS) topics: FleetTopics,
  ) {
    this.codec = new RegistryCodec<TwinPatchOutcomeRecord>(registry, readAvroSchema('twin-patch-outcome'));
    const topic = topics.twinPatchOutcomes;
    this.view = new CompactedTopicView<TwinPatchOutcomeRecord>(kafka, {
      name: 'twin-patch-outcomes',
      topic,
      groupPrefix: `${config.TOPIC_PREFIX}.twin-patch-outcomes-view`,
      store: new RecentValues(RECENT_OUTCOMES),
      // avsc decodes records as instances of generated classes: keep a plain object
      decode: (bytes) => this.codec.decodeOwn(bytes, topic, (record) => ({ ...record })),
      logger: new Logger(TwinPatchOutcomes.name),
      onChange: (requestId, outcome) => {
        if (outcome) this.byRequest.notify(requestId, outcome);
      },
    });
  }

  async onModuleInit(): Promise<void> {
    await this.view.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.view.stop();
  }

  /**
   * The outcome of the patch sent with this request id, or undefined at the timeout. Listens from the
   * call on (synchronously), so call it before publishing the patch.
   */
  async waitFor(requestId: string, timeoutMs: number): Promise<TwinPatchOutcomeRecord | undefined> {
    return (await this.byRequest.waitFor(requestId, this.view.get(requestId) ?? null, (outcome) => outcome !== null, timeoutMs)) ?? undefined;
  }
}

/** A store that keeps the newest `capacity` keys (by write order): the outcomes topic only grows, its keys are unique. */
export class RecentValues<V> implements KeyValueStore<V> {
  private readonly values = new Map<string, V>();

  constructor(private readonly capacity: number) {}

  get(key: string): V | undefined {
    return this.values.get(key);
  }

  async write(changes: readonly StoreChange<V>[]): Promise<void> {
    for (const [key, value] of changes) {
      this.values.delete(key);
      if (value !== null) this.values.set(key, value);
    }
    // a Map iterates in insertion order: the first keys are the oldest
    for (const key of this.values.keys()) {
      if (this.values.size <= this.capacity) break;
      this.values.delete(key);
    }
  }

  *entries(afterKey?: string): Iterable<[string, V]> {
    const keys = [...this.values.keys()].filter((key) => afterKey === undefined || compareUtf8(key, afterKey) > 0).sort(compareUtf8);
    for (const key of keys) yield [key, this.values.get(key)!];
  }

  count(): number {
    return this.values.size;
  }

  async close(): Promise<void> {
    this.values.clear();
  }
}
