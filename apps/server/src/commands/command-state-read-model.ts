import { CommandState, CommandStatus } from '@fleetstream/domain';
import { CompactedTopicView, FleetTopics, KeyedChanges } from '@fleetstream/kafka';
import { CommandStateSnapshot, fromCommandStateSnapshot, readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';
import { KAFKA, SCHEMA_REGISTRY, TOPICS } from '../infrastructure/tokens';
import { ViewMonitor } from '../metrics/view.metrics';

/**
 * Every command's current state for REST reads: each instance materializes the compacted topic
 * fleet.command-state. A record without a key or whose value is not a command state is skipped and counted.
 */
@Injectable()
export class CommandStateReadModel implements OnModuleInit, BeforeApplicationShutdown {
  readonly codec: RegistryCodec<CommandStateSnapshot>;
  private readonly view: CompactedTopicView<CommandState>;
  private readonly changes = new KeyedChanges<CommandState>();
  /** Command ids per device, for GET /devices/:id/commands. */
  private readonly byDevice = new Map<string, Set<string>>();
  /** Each command's device: a tombstone (the command was forgotten) has no value to say whose it was. */
  private readonly deviceOf = new Map<string, string>();

  constructor(
    @Inject(fleetstreamConfig.KEY) config: AppConfig,
    @Inject(KAFKA) kafka: Kafka,
    @Inject(SCHEMA_REGISTRY) registry: SchemaRegistry,
    @Inject(TOPICS) topics: FleetTopics,
    monitor: ViewMonitor,
  ) {
    this.codec = new RegistryCodec<CommandStateSnapshot>(registry, readAvroSchema('command-state'));
    this.view = new CompactedTopicView<CommandState>(kafka, {
      name: 'command-state',
      topic: topics.commandState,
      groupPrefix: `${config.TOPIC_PREFIX}.command-state-view`,
      decode: (bytes) => this.codec.decodeOwn(bytes, topics.commandState, fromCommandStateSnapshot),
      onSkip: monitor.skipped,
      logger: new Logger(CommandStateReadModel.name),
      onChange: (commandId, state) => {
        if (state) this.indexDevice(commandId, state.request.deviceId);
        else this.forgetDevice(commandId);
        this.changes.notify(commandId, state);
      },
    });
    monitor.watch(this.view);
  }

  async onModuleInit(): Promise<void> {
    await this.view.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.view.stop();
  }

  get(commandId: string): CommandState | undefined {
    return this.view.get(commandId);
  }

  /** A device's commands in request order, optionally only those in one state. */
  forDevice(deviceId: string, status?: CommandStatus): CommandState[] {
    return [...(this.byDevice.get(deviceId) ?? [])]
      .map((commandId) => this.view.get(commandId))
      .filter((state): state is CommandState => state !== undefined && (status === undefined || state.status === status))
      .sort((a, b) => a.requestedAt - b.requestedAt);
  }

  all(): Iterable<[string, CommandState]> {
    return this.view.entries();
  }

  /**
   * States (null: forgotten) the command saga of this instance just committed to fleet.command-state,
   * with their offsets there: readable, and heard by `waitFor`, when this resolves.
   */
  applyCommitted(states: ReadonlyMap<string, CommandState | null>, offsets: ReadonlyMap<number, readonly number[]>): Promise<void> {
    return this.view.applyOwn([...states], offsets);
  }

  /** Waits until the given partitions (all when omitted) are read up to the topic's current end. */
  caughtUp(partitions?: number[]): Promise<void> {
    return this.view.caughtUp(partitions);
  }

  /** Resolves with the command's state once `accept` holds for it, or undefined at the timeout. */
  waitFor(commandId: string, accept: (state: CommandState | null) => boolean, timeoutMs: number): Promise<CommandState | null | undefined> {
    return this.changes.waitFor(commandId, this.get(commandId) ?? null, accept, timeoutMs);
  }

  private indexDevice(commandId: string, deviceId: string): void {
    let commands = this.byDevice.get(deviceId);
    if (!commands) this.byDevice.set(deviceId, (commands = new Set()));
    commands.add(commandId);
    this.deviceOf.set(commandId, deviceId);
  }

  private forgetDevice(commandId: string): void {
    const deviceId = this.deviceOf.get(commandId);
    if (deviceId === undefined) return;
    this.deviceOf.delete(commandId);
    const commands = this.byDevice.get(deviceId);
    commands?.delete(commandId);
    if (commands?.size === 0) this.byDevice.delete(deviceId);
  }
}
