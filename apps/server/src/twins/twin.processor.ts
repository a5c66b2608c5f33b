import { telemetryRules } from '@fleetstream/config';
import { decide, DeviceTwin, evolve, initialTwin, Telemetry, TwinCommand, TwinSettings } from '@fleetstream/domain';
import { fleetGroups, FleetTopics } from '@fleetstream/kafka';
import { DeviceEventRecord, readAvroSchema, readTelemetry, RegistryCodec, TelemetryRules, toTwinSnapshot } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
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
  private producer: Producer | undefined;
  private readonly telemetryCodec: RegistryCodec<Telemetry>;
  private readonly eventCodec: RegistryCodec<DeviceEventRecord>;
  /** Twins this instance committed that the read model has not caught up with yet. */
  private readonly written = new Map<string, DeviceTwin>();
  /** Partitions restored since the last rebalance. */
  private restored = new Set<number>();
  private readonly settings: TwinSettings;
  private readonly rules: TelemetryRules;
  private twinSchemaId = 0;

  constructor(
    @Inject(fleetstreamConfig.KEY) private readonly config: AppConfig,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(SCHEMA_REGISTRY) registry: SchemaRegistry,
    @Inject(TOPICS) private readonly topics: FleetTopics,
    private readonly twins: TwinReadModel,
  ) {
    this.telemetryCodec = new RegistryCodec<Telemetry>(registry, readAvroSchema('telemetry'));
    this.eventCodec = new RegistryCodec<DeviceEventRecord>(registry, readAvroSchema('device-event'));
    this.settings = { silenceMs: config.TWIN_SILENCE_S * 1000, maxPatchBytes: config.TWIN_MAX_PATCH_BYTES };
    this.rules = telemetryRules(config);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.PROCESSORS.includes('twins')) return;
    this.twinSchemaId = await this.twins.codec.register(`${this.topics.twins}-value`);
    const groupId = fleetGroups(this.config.TOPIC_PREFIX).twinProcessor;
    this.producer = this.kafka.producer({
      transactionalId: `${groupId}.${hostname()}.${process.pid}`,
      idempotent: true,
      maxInFlightRequests: 1,
      // the coordinator answers CONCURRENT_TRANSACTIONS for a few ms after each commit while it writes
      // the markers; the client-wide 300 ms first retry would add that much to every such batch
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 10, maxRetryTime: 10_000 },
    });
    await this.producer.connect();
    this.consumer = this.kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 50 });
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
      this.restored = new Set();
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.topics.telemetry, this.topics.deviceEvents], fromBeginning: true });
    await this.consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (payload) => this.onBatch(payload, groupId) });
    this.logger.log(`twin processor consuming ${this.topics.telemetry} and ${this.topics.deviceEvents}`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer?.disconnect();
    await this.producer?.disconnect();
  }

  private async onBatch({ batch, isStale, isRunning, resolveOffset }: EachBatchPayload, groupId: string): Promise<void> {
    if (isStale() || !isRunning() || batch.messages.length === 0) return;
    if (!this.restored.has(batch.partition)) {
      await this.twins.caughtUp([batch.partition]);
      this.restored.add(batch.partition);
    }
    // fold the whole batch first; `written` changes only once the transaction committed
    const changed = new Map<string, DeviceTwin>();
    for (const message of batch.messages) {
      const command = await this.commandFrom(batch.topic, message);
      if (!command) continue;
      const deviceId = command.data.deviceId;
      const twin = changed.get(deviceId) ?? this.current(deviceId);
      const decision = decide(command, twin, this.settings);
      if ('rejection' in decision) {
        this.logger.warn(`${command.type} for ${deviceId} refused: ${JSON.stringify(decision.rejection)}`);
        continue;
      }
      if (decision.events.length > 0) changed.set(deviceId, decision.events.reduce(evolve, twin));
    }
    const nextOffset = (BigInt(batch.lastOffset()) + 1n).toString();
    const transaction = await this.producer!.transaction();
    try {
      if (changed.size > 0) {
        await transaction.send({
          topic: this.topics.twins,
          messages: await Promise.all(
            [...changed.values()].map(async (twin) => ({
              key: twin.deviceId,
              value: twin.removed ? null : await this.twins.codec.encode(this.twinSchemaId, toTwinSnapshot(twin)),
            })),
          ),
        });
      }
      await whileTransactionsConcurrent(() =>
        transaction.sendOffsets({
          consumerGroupId: groupId,
          topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: nextOffset }] }],
        }),
      );
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      throw error; // kafkajs re-delivers the batch from the last committed offset
    }
    // without it kafkajs fetches from the batch's first offset again: every batch would be re-read
    // (harmless, the decider drops duplicates) and grow until the lag reaches seconds
    resolveOffset(batch.lastOffset());
    for (const [deviceId, twin] of changed) this.written.set(deviceId, twin);
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
    if (topic === this.topics.deviceEvents) {
      const decoded = await this.eventCodec.decode(message.value);
      if (!decoded.ok) {
        this.logger.warn(`skipping a ${topic} record at offset ${message.offset}: ${decoded.rejection.error}`);
        return null;
      }
      const event = decoded.value;
      switch (event.kind) {
        case 'DESIRED_PATCH':
          return {
            type: 'PatchDesired',
            data: { deviceId: event.deviceId, patch: JSON.parse(event.patchJson ?? '{}'), expectedVersion: event.expectedVersion ?? undefined },
            metadata: { now: event.at, requestId: event.requestId },
          };
        case 'CONNECTIVITY':
          return { type: 'ReportConnectivity', data: { deviceId: event.deviceId, online: event.online ?? false }, metadata: { now: event.at } };
        case 'REMOVE':
          return { type: 'RemoveDevice', data: { deviceId: event.deviceId }, metadata: { now: event.at } };
      }
    }
    // the record's own timestamp, not the clock: a replay decides exactly as the first pass did
    const now = Number(message.timestamp);
    const decoded = await readTelemetry(this.telemetryCodec, message, now, this.rules);
    return decoded.ok ? { type: 'RecordTelemetry', data: decoded.value, metadata: { now } } : null;
  }
}

/**
 * Retries AddOffsetsToTxn while the coordinator still finishes the previous transaction: kafkajs
 * does not retry it, and failing the batch for it would cost a consumer retry (300 ms and more).
 */
async function whileTransactionsConcurrent(send: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      if ((error as { type?: string }).type !== 'CONCURRENT_TRANSACTIONS' || attempt >= 50) throw error;
      await sleep(Math.min(5 * attempt, 50));
    }
  }
}
