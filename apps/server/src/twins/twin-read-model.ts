import type { DeviceTwin } from '@fleetstream/domain';
import { CompactedTopicView, FleetTopics } from '@fleetstream/kafka';
import { fromTwinSnapshot, readAvroSchema, RegistryCodec, TwinSnapshot } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { BeforeApplicationShutdown, Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { EventEmitter, once } from 'node:events';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';
import { KAFKA, SCHEMA_REGISTRY, TOPICS } from '../infrastructure/tokens';

const RESTORE_CHECK_MS = 10_000;

/** Twins for REST reads: every instance materializes the compacted topic fleet.twins. */
@Injectable()
export class TwinReadModel implements OnModuleInit, BeforeApplicationShutdown {
  readonly codec: RegistryCodec<TwinSnapshot>;
  private readonly view: CompactedTopicView<DeviceTwin>;
  private readonly changes = new EventEmitter().setMaxListeners(0);
  /** Set once the view has read fleet.twins up to its end offsets as of startup. */
  private restoredAtStart = false;
  private stopping = false;

  constructor(
    @Inject(fleetstreamConfig.KEY) config: AppConfig,
    @Inject(KAFKA) kafka: Kafka,
    @Inject(SCHEMA_REGISTRY) registry: SchemaRegistry,
    @Inject(TOPICS) topics: FleetTopics,
  ) {
    this.codec = new RegistryCodec<TwinSnapshot>(registry, readAvroSchema('device-twin'));
    this.view = new CompactedTopicView<DeviceTwin>(kafka, {
      topic: topics.twins,
      groupPrefix: `${config.TOPIC_PREFIX}.twins-view`,
      decode: async (bytes) => {
        const decoded = await this.codec.decode(bytes);
        if (!decoded.ok) throw new Error(`fleet.twins holds a record that does not decode: ${decoded.rejection.error}`);
        return fromTwinSnapshot(decoded.value);
      },
      onChange: (deviceId, twin) => this.changes.emit(deviceId, twin),
    });
  }

  async onModuleInit(): Promise<void> {
    await this.view.start();
    // in the background: the app starts serving while the view restores, /ready says when it is done
    void this.restoreInBackground();
  }

  private async restoreInBackground(): Promise<void> {
    while (!this.stopping && !this.restoredAtStart) {
      await this.view.caughtUp(undefined, RESTORE_CHECK_MS).then(
        () => (this.restoredAtStart = true),
        () => undefined, // still behind (a large topic): keep waiting; /ready stays down meanwhile
      );
    }
  }

  /** The view has caught up with fleet.twins as it was when the service started. */
  get restored(): boolean {
    return this.restoredAtStart;
  }

  get size(): number {
    return this.view.size;
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.view.stop();
  }

  get(deviceId: string): DeviceTwin | undefined {
    return this.view.get(deviceId);
  }

  all(): IterableIterator<[string, DeviceTwin]> {
    return this.view.entries();
  }

  /** Waits until the twins of these partitions are read up to the topic's current end. */
  caughtUp(partitions?: number[]): Promise<void> {
    return this.view.caughtUp(partitions);
  }

  /** Resolves with the twin once `accept` holds for it (null when removed), or undefined at the timeout. */
  async waitFor(deviceId: string, accept: (twin: DeviceTwin | null) => boolean, timeoutMs: number): Promise<DeviceTwin | null | undefined> {
    const current = this.get(deviceId) ?? null;
    if (accept(current)) return current;
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      for (;;) {
        const [twin] = (await once(this.changes, deviceId, { signal })) as [DeviceTwin | null];
        if (accept(twin)) return twin;
      }
    } catch {
      return undefined;
    }
  }
}
