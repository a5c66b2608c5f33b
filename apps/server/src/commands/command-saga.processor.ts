import { twinSettings } from '@fleetstream/config';
import {
  CommandSagaCommand, commandRequestError, CommandState, connectivityAt, decideCommandSaga, DeviceMessage, deviceMessageFor, deviceRecordFault, dueAt, evolveCommandSaga, isTerminal,
  recordedBySaga, sendableWhenOnline,
} from '@fleetstream/domain';
import { ConfluentKafka, ConsumedRecord, coPartitionCount, fleetGroups, groupMembership, FleetTopics, partitionOf, ProcessorOutput, ProcessorStatus, RecordFault, TransactionalProcessor } from '@fleetstream/kafka';
import {
  CommandAckRecord, CommandEventRecord, fromCommandAckRecord, fromCommandEventRecord, readAvroSchema, RegistryCodec, toCommandEventRecord,
  toCommandStateSnapshot, toDeviceCommandRecord, DeviceCommandRecord,
} from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Kafka, Message } from 'kafkajs';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';
import { CONFLUENT_KAFKA, KAFKA, SCHEMA_REGISTRY, TOPICS } from '../infrastructure/tokens';
import { isTransient } from '../infrastructure/transient-errors';
import { TwinReadModel } from '../twins/twin-read-model';
import { CommandRetentionIndex, EndedCommand, requestOutlivedRetention } from './command-retention';
import { CommandStateReadModel } from './command-state-read-model';

/** What one saga step (or several) must write, in one transaction. */
interface Outputs {
  events: Message[];
  deviceCommands: Message[];
  states: Map<string, CommandState>;
  /** The same states encoded, per command id (the latest wins). */
  encodedStates: Map<string, Message>;
  /** Ended commands past their retention: tombstoned on fleet.command-state. */
  forgotten: EndedCommand[];
}

/** One batch (or timer step) of one partition: a working copy of its open commands, and what to write. */
interface SagaBatch {
  partition: number;
  working: Map<string, readonly CommandState[]>;
  outputs: Outputs;
}

/**
 * Drives every command through its acknowledgment stages, on the processor skeleton. Consumes
 * fleet.commands (intent from the REST API) and fleet.device-acks, co-partitioned by device id, and
 * wakes on a timer for deadlines and devices that came back online. Each step's events
 * (fleet.commands), device messages (fleet.device-commands), new states (fleet.command-state),
 * dead letters and consumed offsets are written in one Kafka transaction, so a crash never repeats
 * or loses a step; deadlines are in the state, so timers survive a restart.
 */
@Injectable()
export class CommandSagaProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(CommandSagaProcessor.name);
  private processor: TransactionalProcessor<SagaBatch> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private readonly eventCodec: RegistryCodec<CommandEventRecord>;
  private readonly ackCodec: RegistryCodec<CommandAckRecord>;
  private readonly deviceCommandCodec: RegistryCodec<DeviceCommandRecord>;
  private schemaIds = { event: 0, state: 0, deviceCommand: 0 };
  /** Per partition this instance owns and restored: the commands of its devices that have not ended, in request order. */
  private owned = new Map<number, Map<string, readonly CommandState[]>>();
  /**
   * Per partition this instance owns: its ended commands by the time they are due to be forgotten
   * (tombstoned on fleet.command-state). Bounded by the commands that ended within COMMAND_RETENTION_S.
   */
  private retention = new Map<number, CommandRetentionIndex>();
  private commandPartitions = 0;
  private commandStatePartitions = 0;
  private readonly silenceMs: number;
  private readonly retentionMs: number;

  constructor(
    @Inject(fleetstreamConfig.KEY) private readonly config: AppConfig,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(CONFLUENT_KAFKA) private readonly confluent: ConfluentKafka,
    @Inject(SCHEMA_REGISTRY) registry: SchemaRegistry,
    @Inject(TOPICS) private readonly topics: FleetTopics,
    private readonly commands: CommandStateReadModel,
    private readonly twins: TwinReadModel,
  ) {
    this.eventCodec = new RegistryCodec<CommandEventRecord>(registry, readAvroSchema('command-event'));
    this.ackCodec = new RegistryCodec<CommandAckRecord>(registry, readAvroSchema('command-ack'));
    this.deviceCommandCodec = new RegistryCodec<DeviceCommandRecord>(registry, readAvroSchema('device-command'));
    this.silenceMs = twinSettings(config).silenceMs;
    this.retentionMs = config.COMMAND_RETENTION_S * 1000;
  }

  onApplicationBootstrap(): void {
    if (!this.config.PROCESSORS.includes('commands')) return;
    this.processor = new TransactionalProcessor<SagaBatch>(this.kafka, this.confluent, {
      name: 'commands',
      groupId: fleetGroups(this.config.TOPIC_PREFIX).commandSaga,
      topics: [this.topics.commands, this.topics.deviceAcks],
      deadLetterTopic: this.topics.telemetryDlq,
      replayBoundsTopic: this.topics.replayBounds,
      membership: groupMembership(this.config),
      maxWaitTimeInMs: 20,
      log: this.logger,
      isTransient,
      logic: {
        restore: (partitions) => this.restore(partitions),
        beginBatch: (partition) => this.begin(partition),
        handle: (record, batch) => this.handle(record, batch),
        endBatch: (batch) => this.outputsOf(batch),
      },
    });
    this.processor.launch(async () => {
      this.schemaIds = {
        event: await this.eventCodec.register(`${this.topics.commands}-value`),
        state: await this.commands.codec.register(`${this.topics.commandState}-value`),
        deviceCommand: await this.deviceCommandCodec.register(`${this.topics.deviceCommands}-value`),
      };
      this.commandPartitions = await coPartitionCount(this.kafka, [this.topics.commands, this.topics.deviceAcks]);
      this.commandStatePartitions = await coPartitionCount(this.kafka, [this.topics.commandState]);
    });
    this.timer = setInterval(() => void this.onTick(), this.config.COMMAND_TICK_MS);
    this.logger.log(`command saga consuming ${this.topics.commands} and ${this.topics.deviceAcks}`);
  }

  /** Whether the saga runs here (undefined when this instance does not run it), and its partitions. */
  status(): ProcessorStatus | undefined {
    return this.processor?.status();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.processor?.stop();
  }

  /**
   * The assigned partitions' commands that have not ended, and the ended ones still to be forgotten,
   * from fleet.command-state (Kafka Streams' restore-before-process).
   */
  private async restore(partitions: readonly number[]): Promise<void> {
    await this.commands.caughtUp();
    const byPartition = new Map(partitions.map((partition) => [partition, new Map<string, CommandState[]>()]));
    const retention = new Map(partitions.map((partition) => [partition, new CommandRetentionIndex(this.retentionMs)]));
    for (const [commandId, state] of this.commands.all()) {
      const { deviceId } = state.request;
      const partition = partitionOf(deviceId, this.commandPartitions);
      const devices = byPartition.get(partition);
      if (!devices) continue;
      if (isTerminal(state.status)) retention.get(partition)!.ended(commandId, state.updatedAt);
      else devices.set(deviceId, [...(devices.get(deviceId) ?? []), state]);
    }
    for (const [partition, devices] of byPartition) {
      for (const states of devices.values()) states.sort((a, b) => a.requestedAt - b.requestedAt);
      this.owned.set(partition, devices);
      this.retention.set(partition, retention.get(partition)!);
      this.logger.log(`partition ${partition}: restored ${devices.size} devices with open commands, ${retention.get(partition)!.size} ended commands to forget`);
    }
  }

  private begin(partition: number): SagaBatch {
    return { partition, working: new Map(this.owned.get(partition)), outputs: emptyOutputs() };
  }

  private async handle(record: ConsumedRecord, batch: SagaBatch): Promise<RecordFault | void> {
    const command = await this.commandFrom(record);
    if (command === null) return;
    if ('fault' in command) return command.fault;
    await this.apply(command, batch);
  }

  /**
   * Deadlines that passed, held commands whose device is back, and ended commands past their
   * retention (tombstoned), on every partition this instance owns.
   */
  private async onTick(): Promise<void> {
    if (this.ticking || !this.processor) return; // the previous tick is still writing; this one would find the same work
    this.ticking = true;
    const now = Date.now();
    const wakes = (deviceId: string, states: readonly CommandState[]) =>
      states.some((state) => (dueAt(state) ?? Infinity) <= now) || (sendableWhenOnline(states, now) && this.isOnline(deviceId, now));
    try {
      await Promise.all(
        this.processor.ownedPartitions().map(async (partition) => {
          const retention = this.retention.get(partition);
          const forgets = retention?.hasDue(now) ?? false;
          if (!forgets && ![...(this.owned.get(partition) ?? [])].some(([deviceId, states]) => wakes(deviceId, states))) return;
          const forgotten: EndedCommand[] = [];
          try {
            await this.processor!.step(partition, async () => {
              const batch = this.begin(partition);
              for (const [deviceId, states] of batch.working) {
                if (wakes(deviceId, states)) await this.apply({ type: 'CheckDeadlines', data: { deviceId }, metadata: this.metadataAt(deviceId, now) }, batch);
              }
              if (forgets) forgotten.push(...retention!.takeDue(now, MAX_TOMBSTONES_PER_STEP));
              batch.outputs.forgotten.push(...forgotten);
              return this.outputsOf(batch);
            });
          } catch (error) {
            // not written: due again on the next tick
            for (const { commandId, endedAt } of forgotten) retention!.ended(commandId, endedAt);
            throw error;
          }
        }),
      );
    } catch (error) {
      this.logger.error(`deadline check failed, retrying on the next tick: ${(error as Error).message}`);
    } finally {
      this.ticking = false;
    }
  }

  /** One saga step for the command's device, on the batch's working copy: decide, then fold; its outputs are added to the batch's. */
  private async apply(command: CommandSagaCommand, { working, outputs }: SagaBatch): Promise<void> {
    const deviceId = command.data.deviceId;
    // known, or ended earlier in this batch: a repeated request never revives a command
    if (command.type === 'StartCommand' && (this.commands.get(command.data.commandId) || outputs.states.has(command.data.commandId))) return;
    if (command.type === 'StartCommand' && requestOutlivedRetention(command.metadata.now, Date.now(), this.retentionMs)) {
      this.logger.warn(`command ${command.data.commandId} of device ${deviceId} not started: requested longer than COMMAND_RETENTION_S ago, so it may have ended and been forgotten`);
      return;
    }
    const before = working.get(deviceId) ?? [];
    const { events: decided } = decideCommandSaga(command, before);
    const after = decided.reduce(evolveCommandSaga, before);
    const previous = (commandId: string) => before.find((state) => state.request.commandId === commandId);
    // everything is encoded before anything joins the batch: a record whose step cannot be encoded is
    // dead-lettered whole, never half-written
    const events: Message[] = [];
    const deviceCommands: Message[] = [];
    for (const event of decided.filter(recordedBySaga)) {
      events.push({ key: deviceId, value: await this.eventCodec.encode(this.schemaIds.event, toCommandEventRecord(event)) });
      const stateAfter = after.find((state) => state.request.commandId === event.data.commandId)!;
      const message = deviceMessageFor(previous(event.data.commandId), event, stateAfter);
      if (message) deviceCommands.push(await this.deviceCommand(message, command.metadata.now));
    }
    const changed = after.filter((state) => state !== previous(state.request.commandId));
    const encodedStates = await Promise.all(changed.map(async (state) => this.stateMessage(state.request.commandId, await this.commands.codec.encode(this.schemaIds.state, toCommandStateSnapshot(state)))));
    outputs.events.push(...events);
    outputs.deviceCommands.push(...deviceCommands);
    changed.forEach((state, i) => {
      outputs.states.set(state.request.commandId, state);
      outputs.encodedStates.set(state.request.commandId, encodedStates[i]!);
    });
    const open = after.filter((state) => !isTerminal(state.status));
    if (open.length > 0) working.set(deviceId, open);
    else working.delete(deviceId);
  }

  private async deviceCommand(message: DeviceMessage, now: number): Promise<Message> {
    return { key: message.deviceId, value: await this.deviceCommandCodec.encode(this.schemaIds.deviceCommand, toDeviceCommandRecord(message, now)) };
  }

  /** The batch's records to write, and once they are committed, its working copy becomes the partition's state. */
  private async outputsOf({ partition, working, outputs }: SagaBatch): Promise<ProcessorOutput> {
    const tombstones = outputs.forgotten.map(({ commandId }) => this.stateMessage(commandId, null));
    return {
      topicMessages: [
        { topic: this.topics.commands, messages: outputs.events },
        { topic: this.topics.deviceCommands, messages: outputs.deviceCommands },
        { topic: this.topics.commandState, messages: [...outputs.encodedStates.values(), ...tombstones] },
      ],
      // the command-state store is the saga's state: a repeated request or a late ack meets the new states at once
      onCommitted: async (written) => {
        this.owned.set(partition, working);
        const retention = this.retention.get(partition);
        for (const state of outputs.states.values()) {
          if (isTerminal(state.status)) retention?.ended(state.request.commandId, state.updatedAt);
          else retention?.reopened(state.request.commandId);
        }
        const changes = new Map<string, CommandState | null>([...outputs.states, ...outputs.forgotten.map(({ commandId }): [string, null] => [commandId, null])]);
        await this.commands.applyCommitted(changes, written.get(this.topics.commandState) ?? new Map());
      },
    };
  }

  /** A fleet.command-state record (null: a tombstone), in the partition its key hashes to, named so the commit tells its offset. */
  private stateMessage(commandId: string, value: Buffer | null): Message {
    return { key: commandId, value, partition: partitionOf(commandId, this.commandStatePartitions) };
  }

  /** A saga command's metadata: the time, and the device's connectivity then (from its twin). */
  private metadataAt(deviceId: string, now: number): CommandSagaCommand['metadata'] {
    return { now, deviceOnline: this.isOnline(deviceId, now) };
  }

  private isOnline(deviceId: string, now: number): boolean {
    const twin = this.twins.get(deviceId);
    return twin !== undefined && connectivityAt(twin, now, this.silenceMs).online;
  }

  /** The saga command a record means; null for records that are the saga's own output; a fault for one that can never be read. */
  private async commandFrom(record: ConsumedRecord): Promise<CommandSagaCommand | { fault: RecordFault } | null> {
    const key = record.key === null ? null : record.key.toString('utf8');
    if (record.topic === this.topics.deviceAcks) {
      // stages are timed by the service's clock: a device's clock may be wrong
      const now = Date.now();
      const decoded = await this.ackCodec.decode(record.value);
      if (!decoded.ok) return { fault: decoded.rejection };
      let ack: ReturnType<typeof fromCommandAckRecord>;
      try {
        ack = fromCommandAckRecord(decoded.value);
      } catch (error) {
        return { fault: { reason: 'invalid-ack', error: `acknowledgment does not read: ${(error as Error).message.slice(0, 200)}` } };
      }
      const fault = ackFault(key, ack.deviceId, this.commands.get(ack.commandId)?.request.deviceId);
      if (fault) return { fault };
      return { type: 'RecordAcknowledgment', data: ack, metadata: this.metadataAt(ack.deviceId, now) };
    }
    // the REST API's timestamp: the time to live runs from the request, however late the saga reads it
    const now = record.timestamp;
    const decoded = await this.eventCodec.decode(record.value);
    if (!decoded.ok) return { fault: decoded.rejection };
    if (decoded.value.type !== 'REQUESTED' && decoded.value.type !== 'CANCELLATION_REQUESTED') return null;
    let event: ReturnType<typeof fromCommandEventRecord>;
    try {
      event = fromCommandEventRecord(decoded.value);
    } catch (error) {
      return { fault: { reason: 'invalid-command-event', error: (error as Error).message } };
    }
    const fault = deviceRecordFault(key, event.data.deviceId, `command event ${decoded.value.type}`);
    if (fault) return { fault };
    const invalid = event.type === 'CommandRequested' ? commandRequestError(event.data) : null;
    if (invalid) return { fault: { reason: 'invalid-command-event', error: `REQUESTED for command ${event.data.commandId.slice(0, 64)}: ${invalid}` } };
    if (event.type === 'CommandRequested') return { type: 'StartCommand', data: event.data, metadata: this.metadataAt(event.data.deviceId, now) };
    if (event.type === 'CommandCancellationRequested') return { type: 'CancelCommand', data: event.data, metadata: this.metadataAt(event.data.deviceId, now) };
    return null;
  }
}

/**
 * An acknowledgment counts only when its record key, its deviceId and the device of the command it
 * names are one device: otherwise one device (or gateway) could move another device's command.
 */
export function ackFault(key: string | null, ackDeviceId: string, commandDeviceId: string | undefined): RecordFault | null {
  const fault = deviceRecordFault(key, ackDeviceId, 'acknowledgment');
  if (fault?.reason === 'invalid-device-id') return fault;
  if (fault) return { reason: 'ack-device-mismatch', error: fault.error };
  if (commandDeviceId !== undefined && commandDeviceId !== ackDeviceId) {
    return { reason: 'ack-device-mismatch', error: `acknowledgment from device "${ackDeviceId}" names a command of another device` };
  }
  return null;
}

/** Most ended commands one timer step forgets: keeps a transaction small when many fall due at once (say, after a restart). */
const MAX_TOMBSTONES_PER_STEP = 5000;

function emptyOutputs(): Outputs {
  return { events: [], deviceCommands: [], states: new Map(), encodedStates: new Map(), forgotten: [] };
}
