import { CommandEvent, CommandRequest, CommandState, evolveCommand, isTerminal, JsonObject } from '@fleetstream/domain';
import { AvroTopicProducer, FleetTopics } from '@fleetstream/kafka';
import { CommandEventRecord, readAvroSchema, RegistryCodec, toCommandEventRecord } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { BeforeApplicationShutdown, ConflictException, Inject, Injectable, NotFoundException, OnModuleInit, PayloadTooLargeException } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { createHash, randomUUID } from 'node:crypto';
import stableStringify from 'safe-stable-stringify';
import { v5 as uuidV5 } from 'uuid';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';
import { KAFKA, SCHEMA_REGISTRY, TOPICS } from '../infrastructure/tokens';
import { CommandStateReadModel } from './command-state-read-model';
import { CreateCommandDto } from './command.dto';

/** Namespace of command ids derived from (device id, Idempotency-Key): the same key always names the same command. */
const IDEMPOTENT_COMMAND_NAMESPACE = '0f6d1a52-7f3e-4c1b-9b8e-2d4f6a8c0e13';
/** How long a request waits to read its own command back, to catch a concurrent request with the same key. */
const READ_YOUR_WRITE_MS = 2000;
/** How long a cancellation waits for the saga's verdict before answering 202. */
const CANCEL_WAIT_MS = 5000;

export type CancelOutcome = { settled: true; state: CommandState } | { settled: false; state: CommandState };

/** Records operator intent on fleet.commands and reads commands back from the command-state read model. */
@Injectable()
export class CommandsService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly intents: AvroTopicProducer<CommandEventRecord>;

  constructor(
    @Inject(fleetstreamConfig.KEY) private readonly config: AppConfig,
    @Inject(KAFKA) kafka: Kafka,
    @Inject(SCHEMA_REGISTRY) registry: SchemaRegistry,
    @Inject(TOPICS) topics: FleetTopics,
    private readonly commands: CommandStateReadModel,
  ) {
    const codec = new RegistryCodec<CommandEventRecord>(registry, readAvroSchema('command-event'));
    this.intents = new AvroTopicProducer(kafka, codec, topics.commands, (record) => record.deviceId, (record) => record.at);
  }

  async onModuleInit(): Promise<void> {
    await this.intents.connect();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.intents.disconnect();
  }

  /**
   * Records a command request; with an idempotency key, a repeat returns the first command (and who
   * first asked) and a different body is a conflict. `actor` is the authenticated caller.
   */
  async request(deviceId: string, body: CreateCommandDto, idempotencyKey: string | undefined, actor?: string): Promise<{ state: CommandState; replayed: boolean }> {
    this.checkParamsSize(body.params);
    const request = this.requestFrom(deviceId, body, idempotencyKey ?? null, actor ?? null);
    const existing = this.commands.get(request.commandId);
    if (existing) return { state: this.sameBody(existing, request), replayed: true };
    const requested: CommandEvent = { type: 'CommandRequested', data: request, metadata: { at: Date.now() } };
    await this.intents.send([toCommandEventRecord(requested)]);
    const recorded = evolveCommand(null, requested);
    if (idempotencyKey === undefined) return { state: recorded, replayed: false };
    // two requests with one key may race past the check above; the saga keeps the first, so read it back
    const seen = await this.commands.waitFor(request.commandId, (state) => state !== null, READ_YOUR_WRITE_MS);
    return { state: seen ? this.sameBody(seen, request) : recorded, replayed: false };
  }

  get(commandId: string): CommandState {
    const state = this.commands.get(commandId);
    if (!state) throw new NotFoundException(`command ${commandId} is not known`);
    return state;
  }

  forDevice(deviceId: string, status: CommandState['status'] | undefined, limit: number): CommandState[] {
    return this.commands.forDevice(deviceId, status).reverse().slice(0, limit);
  }

  /** Asks the saga to cancel; settled when the command ended (cancelled, or finished first). `actor` is the authenticated caller. */
  async cancel(commandId: string, reason: string | undefined, actor?: string): Promise<CancelOutcome> {
    const state = this.get(commandId);
    if (isTerminal(state.status)) throw this.alreadyEnded(state);
    const { deviceId } = state.request;
    await this.intents.send([
      toCommandEventRecord({ type: 'CommandCancellationRequested', data: { commandId, deviceId, reason: reason ?? null, cancelledBy: actor ?? null }, metadata: { at: Date.now() } }),
    ]);
    const ended = await this.commands.waitFor(commandId, (current) => current !== null && isTerminal(current.status), CANCEL_WAIT_MS);
    if (!ended) return { settled: false, state: this.get(commandId) };
    if (ended.status !== 'cancelled') throw this.alreadyEnded(ended);
    return { settled: true, state: ended };
  }

  /** 413 past COMMAND_MAX_PARAMS_BYTES: params travel in every command event, state and device message. */
  private checkParamsSize(params: CreateCommandDto['params']): void {
    if (params === undefined) return;
    const bytes = Buffer.byteLength(JSON.stringify(params));
    if (bytes > this.config.COMMAND_MAX_PARAMS_BYTES) {
      throw new PayloadTooLargeException(`params are ${bytes} bytes of JSON; the limit is ${this.config.COMMAND_MAX_PARAMS_BYTES} (COMMAND_MAX_PARAMS_BYTES): send less, or a reference the device can fetch`);
    }
  }

  private alreadyEnded(state: CommandState): ConflictException {
    return new ConflictException(`command ${state.request.commandId} already ended: ${state.status}; it cannot be cancelled`);
  }

  private sameBody(state: CommandState, request: CommandRequest): CommandState {
    if (state.request.bodyHash !== request.bodyHash || state.request.deviceId !== request.deviceId) {
      throw new ConflictException(
        `Idempotency-Key ${request.idempotencyKey} was used for command ${state.request.commandId} with a different body; use a new key for a new command`,
      );
    }
    return state;
  }

  private requestFrom(deviceId: string, body: CreateCommandDto, idempotencyKey: string | null, requestedBy: string | null): CommandRequest {
    const seconds = (value: number | undefined, fallback: number) => Math.round((value ?? fallback) * 1000);
    const config = this.config;
    return {
      commandId: idempotencyKey === null ? randomUUID() : uuidV5(`${deviceId}\n${idempotencyKey}`, IDEMPOTENT_COMMAND_NAMESPACE),
      deviceId,
      name: body.name,
      params: (body.params ?? {}) as JsonObject,
      ttlMs: seconds(body.ttlSeconds, config.COMMAND_TTL_S),
      timeouts: {
        deliveryMs: seconds(body.timeouts?.deliverySeconds, config.COMMAND_DELIVERY_TIMEOUT_S),
        acceptanceMs: seconds(body.timeouts?.acceptanceSeconds, config.COMMAND_ACCEPTANCE_TIMEOUT_S),
        executionMs: seconds(body.timeouts?.executionSeconds, config.COMMAND_EXECUTION_TIMEOUT_S),
      },
      maxAttempts: body.maxAttempts ?? config.COMMAND_MAX_ATTEMPTS,
      backoff: { initialMs: config.COMMAND_BACKOFF_INITIAL_MS, maxMs: config.COMMAND_BACKOFF_MAX_MS },
      ordered: body.ordered ?? true,
      idempotencyKey,
      // the body as sent (before defaults), so a repeat is recognised even after a settings change
      bodyHash: createHash('sha256').update(stableStringify(body) ?? '').digest('hex'),
      requestedBy,
    };
  }
}
