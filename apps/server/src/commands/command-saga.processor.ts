import { twinSettings } from '@fleetstream/config';
import {
  CommandSagaInput, commandSagaStep, CommandState, connectivityAt, DeviceMessage, deviceMessageFor, dueAt, isTerminal, sendableWhenOnline,
} from '@fleetstream/domain';
import { ConsumedOffset, coPartitionedAssigner, fleetGroups, FleetTopics, GROUP_COMMIT_CONCURRENCY, GroupCommitProducer, loadReplayBounds, PartitionTurns, partitionOf, ReplayBounds, TransactionalWrite } from '@fleetstream/kafka';
import {
  CommandAckRecord, CommandEventRecord, fromCommandAckRecord, fromCommandEventRecord, readAvroSchema, RegistryCodec, toCommandEventRecord,
  toCommandStateSnapshot, toDeviceCommandRecord, DeviceCommandRecord,
} from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Consumer, EachBatchPayload, Kafka, KafkaMessage, Message } from 'kafkajs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';
import { KAFKA, SCHEMA_REGISTRY, TOPICS } from '../infrastructure/tokens';
import { TwinReadModel } from '../twins/twin-read-model';
import { CommandStateReadModel } from './command-state-read-model';

/** What one saga step (or several) must write, in one transaction. */
interface Outputs {
  events: Message[];
  deviceCommands: Message[];
  states: Map<string, CommandState>;
}

/**
 * Drives every command through its acknowledgment stages. Consumes fleet.commands (intent from the
 * REST API) and fleet.device-acks, co-partitioned by device id, and wakes on a timer for deadlines
 * and devices that came back online. Each step's events (fleet.commands), device messages
 * (fleet.device-commands), new states (fleet.command-state) and consumed offsets are written in one
 * Kafka transaction, so a crash never repeats or loses a step; deadlines are in the state, so timers
 * survive a restart.
 */
@Injectable()
export class CommandSagaProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(CommandSagaProcessor.name);
  private consumer: Consumer | undefined;
  private committer: GroupCommitProducer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private replayBounds = ReplayBounds.none;
  /** A partition's batches (commands-p, device-acks-p) and its timer ticks take turns on its state. */
  private readonly turns = new PartitionTurns();
  private readonly eventCodec: RegistryCodec<CommandEventRecord>;
  private readonly ackCodec: RegistryCodec<CommandAckRecord>;
  private readonly deviceCommandCodec: RegistryCodec<DeviceCommandRecord>;
  private schemaIds = { event: 0, state: 0, deviceCommand: 0 };
  /** Per partition this instance owns: the commands of its devices that have not ended, in request order. */
  private owned = new Map<number, Promise<Map<string, readonly CommandState[]>>>();
  /** Commands that ended here and that the read model may not show yet: a repeated request must not revive them. */
  private readonly ended = new Map<string, number>();
  private commandPartitions = 0;
  private readonly silenceMs: number;

  constructor(
    @Inject(fleetstreamConfig.KEY) private readonly config: AppConfig,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(SCHEMA_REGISTRY) registry: SchemaRegistry,
    @Inject(TOPICS) private readonly topics: FleetTopics,
    private readonly commands: CommandStateReadModel,
    private readonly twins: TwinReadModel,
  ) {
    this.eventCodec = new RegistryCodec<CommandEventRecord>(registry, readAvroSchema('command-event'));
    this.ackCodec = new RegistryCodec<CommandAckRecord>(registry, readAvroSchema('command-ack'));
    this.deviceCommandCodec = new RegistryCodec<DeviceCommandRecord>(registry, readAvroSchema('device-command'));
    this.silenceMs = twinSettings(config).silenceMs;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.PROCESSORS.includes('commands')) return;
    this.schemaIds = {
      event: await this.eventCodec.register(`${this.topics.commands}-value`),
      state: await this.commands.codec.register(`${this.topics.commandState}-value`),
      deviceCommand: await this.deviceCommandCodec.register(`${this.topics.deviceCommands}-value`),
    };
    const groupId = fleetGroups(this.config.TOPIC_PREFIX).commandSaga;
    this.replayBounds = await loadReplayBounds(this.kafka, this.topics.replayBounds, groupId);
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const [metadata] = (await admin.fetchTopicMetadata({ topics: [this.topics.commands] })).topics;
      this.commandPartitions = metadata!.partitions.length;
    } finally {
      await admin.disconnect();
    }
    this.committer = new GroupCommitProducer(this.kafka, `${groupId}.${hostname()}.${process.pid}`, groupId);
    await this.committer.connect();
    this.consumer = this.kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 20, partitionAssigners: [coPartitionedAssigner] });
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      const partitions = payload.memberAssignment[this.topics.commands] ?? [];
      const restored = this.restore(partitions);
      this.owned = new Map(partitions.map((partition) => [partition, restored.then((byPartition) => byPartition.get(partition)!)]));
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.topics.commands, this.topics.deviceAcks], fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: GROUP_COMMIT_CONCURRENCY,
      eachBatch: (payload) => this.onBatch(payload),
    });
    this.timer = setInterval(() => void this.onTick(), this.config.COMMAND_TICK_MS);
    this.logger.log(`command saga consuming ${this.topics.commands} and ${this.topics.deviceAcks}`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.consumer?.disconnect();
    await this.committer?.disconnect();
  }

  /** The assigned partitions' commands that have not ended, from fleet.command-state (Kafka Streams' restore-before-process). */
  private async restore(partitions: readonly number[]): Promise<Map<number, Map<string, readonly CommandState[]>>> {
    for (;;) {
      try {
        return await this.restoreOnce(partitions);
      } catch (error) {
        // Kafka unreachable during a rebalance: the partitions' batches and timers wait for this
        this.logger.warn(`restoring commands of partitions ${partitions.join(', ')} failed, retrying in 1 s: ${(error as Error).message}`);
        await sleep(1000);
      }
    }
  }

  /** One wait for the read model and one pass over it for all the partitions. */
  private async restoreOnce(partitions: readonly number[]): Promise<Map<number, Map<string, readonly CommandState[]>>> {
    await this.commands.caughtUp();
    const byPartition = new Map(partitions.map((partition) => [partition, new Map<string, CommandState[]>()]));
    for (const [, state] of this.commands.all()) {
      const { deviceId } = state.request;
      const devices = byPartition.get(partitionOf(deviceId, this.commandPartitions));
      if (!devices || isTerminal(state.status)) continue;
      devices.set(deviceId, [...(devices.get(deviceId) ?? []), state]);
    }
    for (const [partition, devices] of byPartition) {
      for (const states of devices.values()) states.sort((a, b) => a.requestedAt - b.requestedAt);
      this.logger.log(`partition ${partition}: restored ${devices.size} devices with open commands`);
    }
    return byPartition;
  }

  private async onBatch({ batch, isStale, isRunning, resolveOffset }: EachBatchPayload): Promise<void> {
    if (isStale() || !isRunning() || batch.messages.length === 0) return;
    const owned = await this.owned.get(batch.partition);
    if (!owned) throw new Error(`a batch for ${batch.topic}[${batch.partition}] arrived before its assignment`);
    const offset = (BigInt(batch.lastOffset()) + 1n).toString();
    await this.turns.of(batch.partition).runExclusive(async () => {
      const working = new Map(owned);
      const outputs = emptyOutputs();
      for (const message of batch.messages) {
        if (this.replayBounds.skips(batch.topic, batch.partition, message.offset)) continue;
        const input = await this.inputFrom(batch.topic, message);
        if (input) await this.apply(input, working, outputs);
      }
      await this.commit(outputs, owned, working, { topic: batch.topic, partition: batch.partition, offset });
    });
    resolveOffset(batch.lastOffset());
  }

  /** Deadlines that passed and held commands whose device is back, on every partition this instance owns. */
  private async onTick(): Promise<void> {
    if (this.ticking) return; // the previous tick is still writing; this one would find the same work
    this.ticking = true;
    const now = Date.now();
    try {
      await Promise.all(
        [...this.owned].map(async ([partition, pending]) => {
          const owned = await pending;
          const wakes = (deviceId: string, states: readonly CommandState[]) =>
            states.some((state) => (dueAt(state) ?? Infinity) <= now) || (sendableWhenOnline(states, now) && this.isOnline(deviceId, now));
          if (![...owned].some(([deviceId, states]) => wakes(deviceId, states))) return;
          await this.turns.of(partition).runExclusive(async () => {
            const working = new Map(owned);
            const outputs = emptyOutputs();
            for (const [deviceId, states] of owned) {
              if (wakes(deviceId, states)) await this.apply({ type: 'TimePassed', data: { deviceId }, metadata: { now } }, working, outputs);
            }
            await this.commit(outputs, owned, working);
          });
        }),
      );
    } catch (error) {
      this.logger.error(`deadline check failed, retrying on the next tick: ${(error as Error).message}`);
    } finally {
      this.ticking = false;
    }
  }

  /** One saga step for the input's device, on the working copy; its outputs are added to `outputs`. */
  private async apply(input: CommandSagaInput, working: Map<string, readonly CommandState[]>, outputs: Outputs): Promise<void> {
    const deviceId = input.data.deviceId;
    if (input.type === 'CommandRequested' && (this.commands.get(input.data.commandId) || this.ended.has(input.data.commandId))) return;
    const before = working.get(deviceId) ?? [];
    const result = commandSagaStep(input, before, this.isOnline(deviceId, input.metadata.now));
    const previous = (commandId: string) => before.find((state) => state.request.commandId === commandId);
    for (const event of result.events) {
      outputs.events.push({ key: deviceId, value: await this.eventCodec.encode(this.schemaIds.event, toCommandEventRecord(event)) });
      const after = result.commands.find((state) => state.request.commandId === event.data.commandId)!;
      const message = deviceMessageFor(previous(event.data.commandId), event, after);
      if (message) outputs.deviceCommands.push(await this.deviceCommand(message, input.metadata.now));
    }
    for (const state of result.commands) {
      if (state !== previous(state.request.commandId)) outputs.states.set(state.request.commandId, state);
    }
    const open = result.commands.filter((state) => !isTerminal(state.status));
    if (open.length > 0) working.set(deviceId, open);
    else working.delete(deviceId);
  }

  private async deviceCommand(message: DeviceMessage, now: number): Promise<Message> {
    return { key: message.deviceId, value: await this.deviceCommandCodec.encode(this.schemaIds.deviceCommand, toDeviceCommandRecord(message, now)) };
  }

  /** Writes the outputs (and the consumed offset, for a batch) in a transaction, then makes the working copy the partition's state. */
  private async commit(
    outputs: Outputs,
    owned: Map<string, readonly CommandState[]>,
    working: Map<string, readonly CommandState[]>,
    consumed?: ConsumedOffset,
  ): Promise<void> {
    await this.committer!.submit(await this.transactionalWrite(outputs, consumed));
    owned.clear();
    for (const [deviceId, states] of working) owned.set(deviceId, states);
    for (const state of outputs.states.values()) {
      if (isTerminal(state.status)) this.ended.set(state.request.commandId, state.version);
    }
    for (const [commandId, version] of this.ended) {
      if ((this.commands.get(commandId)?.version ?? 0) >= version) this.ended.delete(commandId);
    }
  }

  private async transactionalWrite(outputs: Outputs, consumed?: ConsumedOffset): Promise<TransactionalWrite> {
    const states = await Promise.all(
      [...outputs.states.values()].map(async (state) => ({
        key: state.request.commandId,
        value: await this.commands.codec.encode(this.schemaIds.state, toCommandStateSnapshot(state)),
      })),
    );
    return {
      topicMessages: [
        { topic: this.topics.commands, messages: outputs.events },
        { topic: this.topics.deviceCommands, messages: outputs.deviceCommands },
        { topic: this.topics.commandState, messages: states },
      ],
      consumed,
    };
  }

  private isOnline(deviceId: string, now: number): boolean {
    const twin = this.twins.get(deviceId);
    return twin !== undefined && connectivityAt(twin, now, this.silenceMs).online;
  }

  /** The saga input a record means; null for records that are the saga's own output or cannot be read. */
  private async inputFrom(topic: string, message: KafkaMessage): Promise<CommandSagaInput | null> {
    if (topic === this.topics.deviceAcks) {
      // stages are timed by the service's clock: a device's clock may be wrong
      const now = Date.now();
      const decoded = await this.ackCodec.decode(message.value);
      if (!decoded.ok) {
        this.logger.warn(`skipping ${topic} offset ${message.offset}: ${decoded.rejection.error}`);
        return null;
      }
      return { type: 'DeviceAcknowledged', data: fromCommandAckRecord(decoded.value), metadata: { now } };
    }
    // the REST API's timestamp: the time to live runs from the request, however late the saga reads it
    const now = Number(message.timestamp);
    const decoded = await this.eventCodec.decode(message.value);
    if (!decoded.ok) {
      this.logger.warn(`skipping ${topic} offset ${message.offset}: ${decoded.rejection.error}`);
      return null;
    }
    if (decoded.value.type !== 'REQUESTED' && decoded.value.type !== 'CANCELLATION_REQUESTED') return null;
    try {
      const event = fromCommandEventRecord(decoded.value);
      if (event.type === 'CommandRequested') return { type: 'CommandRequested', data: event.data, metadata: { now } };
      if (event.type === 'CommandCancellationRequested') return { type: 'CommandCancellationRequested', data: event.data, metadata: { now } };
    } catch (error) {
      this.logger.warn(`skipping ${topic} offset ${message.offset}: ${(error as Error).message}`);
    }
    return null;
  }
}

function emptyOutputs(): Outputs {
  return { events: [], deviceCommands: [], states: new Map() };
}
