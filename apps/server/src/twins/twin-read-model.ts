import { twinStorePath } from '@fleetstream/config';
import { deviceIdError, DeviceTwin } from '@fleetstream/domain';
import { CompactedTopicView, FleetTopics, KeyedChanges } from '@fleetstream/kafka';
import { fromTwinSnapshot, readAvroSchema, RegistryCodec, toTwinSnapshot, TwinSnapshot } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { Observable, Subject } from 'rxjs';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';
import { LmdbStore } from '../infrastructure/lmdb-store';
import { ViewMonitor } from '../metrics/view.metrics';
import { KAFKA, SCHEMA_REGISTRY, TOPICS } from '../infrastructure/tokens';

/** A twin as it changed on fleet.twins; `twin` is null when the device was removed. */
export interface TwinChange {
  deviceId: string;
  twin: DeviceTwin | null;
}

/**
 * Twins for REST reads: every instance materializes the compacted topic fleet.twins into its own
 * LMDB store (TWIN_STORE_PATH), rebuilt from the topic at every start. A record whose key is not a
 * device id, or whose value is not a twin, is skipped and counted; the restore (in /ready, `views`)
 * waits through transient errors for as long as they last.
 */
@Injectable()
export class TwinReadModel implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  readonly codec: RegistryCodec<TwinSnapshot>;
  private readonly store: LmdbStore<DeviceTwin>;
  private readonly view: CompactedTopicView<DeviceTwin>;
  /** Per device id, for `waitFor`: a listener hears only its own device. */
  private readonly byDevice = new KeyedChanges<DeviceTwin>();
  private readonly allChanges = new Subject<TwinChange>();
  private readonly logger = new Logger(TwinReadModel.name);

  constructor(
    @Inject(fleetstreamConfig.KEY) config: AppConfig,
    @Inject(KAFKA) kafka: Kafka,
    @Inject(SCHEMA_REGISTRY) registry: SchemaRegistry,
    @Inject(TOPICS) topics: FleetTopics,
    monitor: ViewMonitor,
  ) {
    const twinSchema = readAvroSchema('device-twin');
    this.codec = new RegistryCodec<TwinSnapshot>(registry, twinSchema);
    // Avro (schemas/device-twin.avsc, without the wire-format header) instead of msgpack: no field
    // names in every value, less than half the bytes per twin in the memory map
    const snapshotType = avro.Type.forSchema(twinSchema);
    this.store = LmdbStore.openEmpty<DeviceTwin>(twinStorePath(config), {
      encode: (twin) => snapshotType.toBuffer(toTwinSnapshot(twin)),
      decode: (bytes) => fromTwinSnapshot(snapshotType.fromBuffer(bytes) as TwinSnapshot),
    });
    this.view = new CompactedTopicView<DeviceTwin>(kafka, {
      name: 'twins',
      topic: topics.twins,
      groupPrefix: `${config.TOPIC_PREFIX}.twins-view`,
      store: this.store,
      // synchronous for a cached writer schema: a restore decodes every twin on the topic
      decode: (bytes) => this.codec.decodeOwn(bytes, topics.twins, fromTwinSnapshot),
      keyError: deviceIdError,
      onSkip: monitor.skipped,
      logger: this.logger,
      onChange: (deviceId, twin) => {
        this.byDevice.notify(deviceId, twin);
        this.allChanges.next({ deviceId, twin });
      },
    });
    monitor.watch(this.view);
  }

  /** The restore goes on in the background: the app serves (and reports not ready) while a large topic is read. */
  async onModuleInit(): Promise<void> {
    await this.view.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.view.stop();
    this.allChanges.complete();
  }

  /** After every provider's shutdown hook: the twin processor reads the store until its last batch is done. */
  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }

  get(deviceId: string): DeviceTwin | undefined {
    return this.view.get(deviceId);
  }

  /** Twins in device id order, after `afterDeviceId` when given; read lazily from the store. */
  scan(afterDeviceId?: string): Iterable<[string, DeviceTwin]> {
    return this.view.entries(afterDeviceId);
  }

  get count(): number {
    return this.view.size;
  }

  /** Every change from now on, once it is readable with `get`. */
  get changes(): Observable<TwinChange> {
    return this.allChanges.asObservable();
  }

  /**
   * Twins the twin processor of this instance just committed to fleet.twins (null for a removed
   * device), with their offsets there: they are in the store, and streamed, when this resolves.
   */
  applyCommitted(twins: readonly DeviceTwin[], offsets: ReadonlyMap<number, readonly number[]>): Promise<void> {
    return this.view.applyOwn(twins.map((twin) => [twin.deviceId, twin.removed ? null : twin]), offsets);
  }

  /** Waits until the twins of these partitions are read up to the topic's current end. */
  caughtUp(partitions?: number[]): Promise<void> {
    return this.view.caughtUp(partitions);
  }

  /** Resolves with the twin once `accept` holds for it (null when removed), or undefined at the timeout. */
  waitFor(deviceId: string, accept: (twin: DeviceTwin | null) => boolean, timeoutMs: number): Promise<DeviceTwin | null | undefined> {
    return this.byDevice.waitFor(deviceId, this.get(deviceId) ?? null, accept, timeoutMs);
  }
}
