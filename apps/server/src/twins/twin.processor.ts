import { telemetryRules, twinSettings } from '@fleetstream/config';
import { applyCommand, desiredStateDue, DeviceTwin, initialTwin, rejectionReason, TwinCommand, TwinSettings } from '@fleetstream/domain';
import { ConfluentKafka, ConsumedRecord, coPartitionCount, fleetGroups, groupMembership, topicMaxMessageBytes, FleetTopics, ProcessorOutput, ProcessorStatus, RecordFault, RepartitionForwarder, TransactionalProcessor } from '@fleetstream/kafka';
import { DeviceCommandRecord, readAvroSchema, RegistryCodec, toDesiredStateRecord, toTwinSnapshot, TwinCommandReader, TwinPatchOutcomeRecord } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Kafka, Message } from 'kafkajs';
import { isTransient } from '../infrastructure/transient-errors';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';
import { CONFLUENT_KAFKA, KAFKA, SCHEMA_REGISTRY, TOPICS } from '../infrastructure/tokens';
import { ProcessorMonitor } from '../metrics/processor.metrics';
import { TwinPatchOutcomes } from './twin-patch-outcomes';
import { TwinReadModel } from './twin-read-model';

/** Room left under the topic's max.message.bytes for the record batch's own header, key and wire-format header. */
const SNAPSHOT_HEADROOM_BYTES = 4096;

/** One batch's work: the twins it changed, the devices whose desired state must be sent, what became of each desired patch. */
interface TwinBatch {
  /** The input partition: the twins of its devices live in the same partition of fleet.twins. */
  partition: number;
  changed: Map<string, DeviceTwin>;
  /** Each changed twin's snapshot, Avro-encoded once for the size check and then written as it is. */
  snapshots: Map<string, Buffer>;
  desiredDue: Set<string>;
  patchOutcomes: TwinPatchOutcomeRecord[];
  /** Telemetry and device events read here that belong to another partition, by repartition topic: forwarded there instead of folded. */
  forwarded: Map<string, Message[]>;
}

/**
 * Folds telemetry and device events into twins and writes each new snapshot to the compacted topic
 * fleet.twins, on the processor skeleton: read-process-write in one Kafka transaction with the
 * consumed offsets, so a crash or rebalance never applies an event twice nor loses one, and a
 * record that can never be folded is dead-lettered in that same transaction. Before it processes a
 * partition it waits until the read model has restored that partition's twins (Kafka Streams' rule).
 * Telemetry or a device event that a producer placed on another partition than its device's (any
 * partitioner but murmur2) is forwarded through its repartition topic to the device's partition, in
 * that same transaction, and folded there: each device is folded by the one instance that owns it.
 */
@Injectable()
export class TwinProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(TwinProcessor.name);
  private processor: TransactionalProcessor<TwinBatch> | undefined;
  private readonly commands: TwinCommandReader;
  private readonly settings: TwinSettings;
  private twinSchemaId = 0;
  private maxSnapshotBytes: number;
  private readonly deviceCommandCodec: RegistryCodec<DeviceCommandRecord>;
  private deviceCommandSchemaId = 0;
  private patchOutcomeSchemaId = 0;
  /** Telemetry and device events each through their own repartition topic (Kafka Streams' layout). */
  private readonly forwarders: RepartitionForwarder[];
  /** The co-partitioned topics' partition count, known once the processor started. */
  private partitions = 0;

  constructor(
    @Inject(fleetstreamConfig.KEY) private readonly config: AppConfig,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(CONFLUENT_KAFKA) private readonly confluent: ConfluentKafka,
    @Inject(SCHEMA_REGISTRY) registry: SchemaRegistry,
    @Inject(TOPICS) private readonly topics: FleetTopics,
    private readonly twins: TwinReadModel,
    private readonly patchOutcomes: TwinPatchOutcomes,
    private readonly monitor: ProcessorMonitor,
  ) {
    this.commands = new TwinCommandReader(registry, telemetryRules(config));
    this.settings = twinSettings(config);
    this.maxSnapshotBytes = config.TWIN_MAX_SNAPSHOT_BYTES;
    this.deviceCommandCodec = new RegistryCodec<DeviceCommandRecord>(registry, readAvroSchema('device-command'));
    this.forwarders = [
      new RepartitionForwarder(topics.telemetry, topics.telemetryRepartition),
      new RepartitionForwarder(topics.deviceEvents, topics.deviceEventsRepartition),
    ];
  }

  onApplicationBootstrap(): void {
    if (!this.config.PROCESSORS.includes('twins')) return;
    this.processor = new TransactionalProcessor<TwinBatch>(this.kafka, this.confluent, {
      name: 'twins',
      groupId: fleetGroups(this.config.TOPIC_PREFIX).twinProcessor,
      // partition p of each holds the same devices: one member gets all four
      topics: this.inputTopics(),
      deadLetterTopic: this.topics.telemetryDlq,
      replayBoundsTopic: this.topics.replayBounds,
      membership: groupMembership(this.config),
      maxWaitTimeInMs: 50,
      log: this.logger,
      isTransient,
      logic: {
        restore: (partitions) => this.twins.caughtUp([...partitions]),
        beginBatch: (partition) => ({ partition, changed: new Map(), snapshots: new Map(), desiredDue: new Set(), patchOutcomes: [], forwarded: new Map() }),
        handle: (record, batch) => this.handle(record, batch),
        endBatch: (batch) => this.outputs(batch),
      },
    });
    this.processor.launch(async () => {
      this.twinSchemaId = await this.twins.codec.register(`${this.topics.twins}-value`);
      this.deviceCommandSchemaId = await this.deviceCommandCodec.register(`${this.topics.deviceCommands}-value`);
      this.patchOutcomeSchemaId = await this.patchOutcomes.codec.register(`${this.topics.twinPatchOutcomes}-value`);
      this.partitions = await coPartitionCount(this.kafka, [...this.inputTopics(), this.topics.twins]);
      this.maxSnapshotBytes = Math.min(this.config.TWIN_MAX_SNAPSHOT_BYTES, (await topicMaxMessageBytes(this.kafka, this.topics.twins)) - SNAPSHOT_HEADROOM_BYTES);
      this.monitor.forwarded('twins', 0);
      this.logger.log(`twin processor consuming ${this.inputTopics().join(', ')}`);
    });
  }

  /** What the processor consumes: telemetry and device events, each with its repartition topic. */
  private inputTopics(): string[] {
    return this.forwarders.flatMap(({ sourceTopic, repartitionTopic }) => [sourceTopic, repartitionTopic]);
  }

  /** Whether the processor runs here (undefined when this instance does not process twins), and its partitions. */
  status(): ProcessorStatus | undefined {
    return this.processor?.status();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.processor?.stop();
  }

  private async handle(record: ConsumedRecord, batch: TwinBatch): Promise<RecordFault | void> {
    // folding it here would race the instance that owns its device's partition
    for (const forwarder of this.forwarders) {
      const forward = forwarder.forward(record, this.partitions);
      if (forward) {
        const pending = batch.forwarded.get(forwarder.repartitionTopic) ?? [];
        pending.push(forward);
        batch.forwarded.set(forwarder.repartitionTopic, pending);
        return;
      }
    }
    const command = await this.commandFrom(record);
    if (!command) return;
    if ('fault' in command) return command.fault;
    const deviceId = command.data.deviceId;
    const twin = batch.changed.get(deviceId) ?? this.current(deviceId);
    const applied = applyCommand(twin, command, this.settings);
    if ('rejection' in applied) return this.refuse(command, twin, rejectionReason(applied.rejection), batch);
    if (!applied.changed) return this.recordPatchOutcome(command, 'UNCHANGED', twin.version, batch);
    const snapshot = applied.twin.removed ? null : this.twins.codec.body(toTwinSnapshot(applied.twin));
    const bytes = snapshot?.length ?? 0;
    if (bytes > this.maxSnapshotBytes) {
      const error = `the twin of ${deviceId} would be ${bytes} bytes on ${this.topics.twins}; the limit is ${this.maxSnapshotBytes} (TWIN_MAX_SNAPSHOT_BYTES, below the topic's max.message.bytes)`;
      return this.refuse(command, twin, { reason: 'twin-too-large', error }, batch);
    }
    batch.changed.set(deviceId, applied.twin);
    if (snapshot) batch.snapshots.set(deviceId, snapshot);
    this.recordPatchOutcome(command, 'APPLIED', applied.twin.version, batch);
    if (desiredStateDue(twin, applied.twin, command.metadata.now, this.settings.silenceMs)) batch.desiredDue.add(deviceId);
  }

  /** A refused command is dead-lettered; a refused desired patch's outcome also goes to the PATCH waiting for it. */
  private refuse(command: TwinCommand, twin: DeviceTwin, fault: RecordFault, batch: TwinBatch): RecordFault {
    this.recordPatchOutcome(command, 'REJECTED', twin.version, batch, fault);
    return fault;
  }

  /** What became of a desired patch, keyed by its request id: the REST instance answering it may be another one. */
  private recordPatchOutcome(command: TwinCommand, outcome: TwinPatchOutcomeRecord['outcome'], version: number, batch: TwinBatch, fault?: RecordFault): void {
    if (command.type !== 'PatchDesired') return;
    const { requestId } = command.metadata;
    batch.patchOutcomes.push({ requestId, deviceId: command.data.deviceId, outcome, version, reason: fault?.reason ?? null, error: fault?.error ?? null, at: Date.now() });
  }

  private async outputs({ partition, changed, snapshots, desiredDue, patchOutcomes, forwarded }: TwinBatch): Promise<ProcessorOutput> {
    const messages = [...changed.values()].map((twin) => ({
      key: twin.deviceId,
      // named, so the commit tells where each landed (the read model then skips reading it back)
      partition,
      value: twin.removed ? null : this.twins.codec.frame(this.twinSchemaId, snapshots.get(twin.deviceId)!),
    }));
    // in the same transaction as the twin: a desired change reaches the device exactly when it is recorded
    const desiredStates = await Promise.all(
      [...desiredDue].map(async (deviceId) => {
        const twin = changed.get(deviceId)!;
        const record = toDesiredStateRecord(deviceId, twin.desired, twin.version, Date.now());
        return { key: deviceId, value: await this.deviceCommandCodec.encode(this.deviceCommandSchemaId, record) };
      }),
    );
    const outcomes = await Promise.all(
      patchOutcomes.map(async (outcome) => ({ key: outcome.requestId, value: await this.patchOutcomes.codec.encode(this.patchOutcomeSchemaId, outcome) })),
    );
    return {
      topicMessages: [
        { topic: this.topics.twins, messages },
        { topic: this.topics.deviceCommands, messages: desiredStates },
        // in the same transaction as the twin: an APPLIED outcome is never read before its twin can be
        { topic: this.topics.twinPatchOutcomes, messages: outcomes },
        // in the same transaction as the consumed offsets: each misplaced record is forwarded exactly once
        ...[...forwarded].map(([topic, records]) => ({ topic, messages: records })),
      ],
      onCommitted: async (written) => {
        const forwards = [...forwarded.values()].reduce((sum, records) => sum + records.length, 0);
        if (forwards > 0) this.monitor.forwarded('twins', forwards);
        // the store is the processor's state: the next batch folds onto these twins at once
        await this.twins.applyCommitted([...changed.values()], written.get(this.topics.twins) ?? new Map());
      },
    };
  }

  private current(deviceId: string): DeviceTwin {
    return this.twins.get(deviceId) ?? initialTwin(deviceId);
  }

  /**
   * The twin command a record means; a fault for a device event that can never be one; null for
   * telemetry the twin passes over (malformed readings are the history writer's to dead-letter, so a
   * record gets one dead letter, not two).
   */
  private async commandFrom(record: ConsumedRecord): Promise<TwinCommand | { fault: RecordFault } | null> {
    if (record.topic === this.topics.deviceEvents || record.topic === this.topics.deviceEventsRepartition) {
      const read = await this.commands.deviceEvent(record);
      return 'fault' in read ? read : read.command;
    }
    const read = await this.commands.telemetry(record);
    return 'command' in read ? read.command : null;
  }
}
