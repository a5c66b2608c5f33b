import { telemetryRules, twinSettings } from '@fleetstream/config';
import { applyCommand, desiredStateDue, DeviceTwin, initialTwin, TwinCommand, TwinSettings } from '@fleetstream/domain';
import { coPartitionedAssigner, fleetGroups, FleetTopics, GROUP_COMMIT_CONCURRENCY, GroupCommitProducer, loadReplayBounds, PartitionTurns, ReplayBounds } from '@fleetstream/kafka';
import { DeviceCommandRecord, readAvroSchema, RegistryCodec, toDesiredStateRecord, toTwinSnapshot, TwinCommandReader } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { hostname } from 'node:os';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';
import { KAFKA, SCHEMA_REGISTRY, TOPICS } from '../infrastructure/tokens';
import { TwinReadModel } from './twin-read-model';

/**
 * Most twins this instance keeps after committing them, waiting for the read model to read them back.
 * Past it the processor waits for the read model to catch up: memory is bounded by this, not by how
 * far the read model lags during a large catch-up.
 */
const MAX_UNCONFIRMED_TWINS = 10_000;

/**
 * Folds telemetry and device events into twins and writes each new snapshot to the compacted topic
 * fleet.twins, read-process-write in one Kafka transaction with the consumed offsets: a crash or
 * rebalance never applies an event twice nor loses one. Before it processes a partition it waits
 * until the read model has restored that partition's twins from fleet.twins (Kafka Streams' rule).
 */
@Injectable()
export class TwinProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(TwinProcessor.name);
  private consumer: Consumer | undefined;
  private committer: GroupCommitProducer | undefined;
  private readonly turns = new PartitionTurns();
  private replayBounds = ReplayBounds.none;
  private readonly commands: TwinCommandReader;
  /** Twins this instance committed that the read model has not caught up with yet. */
  private readonly written = new Map<string, DeviceTwin>();
  /** Partitions restored since the last rebalance. */
  private restored = new Set<number>();
  /** Partitions assigned at the last rebalance (telemetry and device events share partition numbers). */
  private assigned: number[] = [];
  private generation = 0;
  private readonly settings: TwinSettings;
  private twinSchemaId = 0;
  private readonly deviceCommandCodec: RegistryCodec<DeviceCommandRecord>;
  private deviceCommandSchemaId = 0;

  constructor(
    @Inject(fleetstreamConfig.KEY) private readonly config: AppConfig,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(SCHEMA_REGISTRY) registry: SchemaRegistry,
    @Inject(TOPICS) private readonly topics: FleetTopics,
    private readonly twins: TwinReadModel,
  ) {
    this.commands = new TwinCommandReader(registry, telemetryRules(config));
    this.settings = twinSettings(config);
    this.deviceCommandCodec = new RegistryCodec<DeviceCommandRecord>(registry, readAvroSchema('device-command'));
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.PROCESSORS.includes('twins')) return;
    this.twinSchemaId = await this.twins.codec.register(`${this.topics.twins}-value`);
    this.deviceCommandSchemaId = await this.deviceCommandCodec.register(`${this.topics.deviceCommands}-value`);
    const groupId = fleetGroups(this.config.TOPIC_PREFIX).twinProcessor;
    this.replayBounds = await loadReplayBounds(this.kafka, this.topics.replayBounds, groupId);
    this.committer = new GroupCommitProducer(this.kafka, `${groupId}.${hostname()}.${process.pid}`, groupId);
    await this.committer.connect();
    // partition p of telemetry and of device-events hold the same devices: one member gets both
    this.consumer = this.kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 50, partitionAssigners: [coPartitionedAssigner] });
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      this.restored = new Set();
      this.assigned = [...new Set(Object.values(payload.memberAssignment).flat())].sort((a, b) => a - b);
      // restore right away rather than at each partition's first batch, so readiness does not wait for traffic
      const generation = ++this.generation;
      const assigned = this.assigned;
      this.twins.caughtUp(assigned).then(
        () => generation === this.generation && assigned.forEach((partition) => this.restored.add(partition)),
        (error: unknown) => this.logger.warn(`restoring twins of partitions ${assigned.join(', ')} failed; retried at their first batch: ${String(error)}`),
      );
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.topics.telemetry, this.topics.deviceEvents], fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: GROUP_COMMIT_CONCURRENCY,
      eachBatch: (payload) => this.onBatch(payload),
    });
    this.logger.log(`twin processor consuming ${this.topics.telemetry} and ${this.topics.deviceEvents}`);
  }

  /** Whether this instance processes twins, and which of its assigned partitions are restored. */
  restoration(): { running: boolean; assigned: number[]; restored: number[] } {
    return { running: this.consumer !== undefined, assigned: this.assigned, restored: this.assigned.filter((p) => this.restored.has(p)) };
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer?.disconnect();
    await this.committer?.disconnect();
  }

  private async onBatch({ batch, isStale, isRunning, resolveOffset }: EachBatchPayload): Promise<void> {
    if (isStale() || !isRunning() || batch.messages.length === 0) return;
    if (!this.restored.has(batch.partition)) {
      await this.twins.caughtUp([batch.partition]);
      this.restored.add(batch.partition);
    }
    await this.turns.of(batch.partition).runExclusive(async () => {
      // fold the whole batch first; `written` changes only once the transaction committed
      const changed = new Map<string, DeviceTwin>();
      const desiredDue = new Set<string>();
      for (const message of batch.messages) {
        if (this.replayBounds.skips(batch.topic, batch.partition, message.offset)) continue;
        const command = await this.commandFrom(batch.topic, message);
        if (!command) continue;
        const deviceId = command.data.deviceId;
        const twin = changed.get(deviceId) ?? this.current(deviceId);
        const applied = applyCommand(twin, command, this.settings);
        if ('rejection' in applied) {
          this.logger.warn(`${command.type} for ${deviceId} refused: ${JSON.stringify(applied.rejection)}`);
          continue;
        }
        if (!applied.changed) continue;
        changed.set(deviceId, applied.twin);
        if (desiredStateDue(twin, applied.twin, command.metadata.now, this.settings.silenceMs)) desiredDue.add(deviceId);
      }
      const messages = await Promise.all(
        [...changed.values()].map(async (twin) => ({
          key: twin.deviceId,
          value: twin.removed ? null : await this.twins.codec.encode(this.twinSchemaId, toTwinSnapshot(twin)),
        })),
      );
      // in the same transaction as the twin: a desired change reaches the device exactly when it is recorded
      const desiredStates = await Promise.all(
        [...desiredDue].map(async (deviceId) => {
          const twin = changed.get(deviceId)!;
          const record = toDesiredStateRecord(deviceId, twin.desired, twin.version, Date.now());
          return { key: deviceId, value: await this.deviceCommandCodec.encode(this.deviceCommandSchemaId, record) };
        }),
      );
      const offset = (BigInt(batch.lastOffset()) + 1n).toString();
      // on failure kafkajs re-delivers the batch from the last committed offset
      await this.committer!.submit({
        topicMessages: [
          { topic: this.topics.twins, messages },
          { topic: this.topics.deviceCommands, messages: desiredStates },
        ],
        consumed: { topic: batch.topic, partition: batch.partition, offset },
      });
      for (const [deviceId, twin] of changed) this.written.set(deviceId, twin);
    });
    // without it kafkajs fetches from the batch's first offset again: every batch would be re-read
    // (harmless, the decider drops duplicates) and grow until the lag reaches seconds
    resolveOffset(batch.lastOffset());
    if (this.written.size > MAX_UNCONFIRMED_TWINS) await this.twins.caughtUp();
    this.forgetWhatTheReadModelHas();
  }

  private current(deviceId: string): DeviceTwin {
    const mine = this.written.get(deviceId);
    const seen = this.twins.get(deviceId);
    if (mine && (!seen || seen.version < mine.version)) return mine;
    return seen ?? (mine?.removed ? mine : initialTwin(deviceId));
  }

  private forgetWhatTheReadModelHas(): void {
    for (const [deviceId, twin] of this.written) {
      const seen = this.twins.get(deviceId);
      if ((seen && seen.version >= twin.version) || (twin.removed && !seen)) this.written.delete(deviceId);
    }
  }

  /** The twin command a record means; null for records the twin ignores (malformed ones are the history writer's DLQ). */
  private async commandFrom(topic: string, message: KafkaMessage): Promise<TwinCommand | null> {
    const read = topic === this.topics.deviceEvents ? await this.commands.deviceEvent(message) : await this.commands.telemetry(message);
    if ('command' in read) return read.command;
    if (topic === this.topics.deviceEvents) this.logger.warn(`skipping a ${topic} record: ${read.skipped}`);
    return null;
  }
}
