import type { AckStage, JsonValue } from '@fleetstream/domain';
import { CommandAckRecord, DeviceCommandRecord, readAvroSchema, RegistryCodec, toCommandAckRecord } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Consumer, Kafka } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { AvroTopicProducer } from './avro-topic.producer';
import type { FleetTopics } from './topics';

/** How a device answers one message: not at all (offline, lost), or with acknowledgments of these stages. */
export type DeviceReaction =
  | { answer: false }
  | { answer: true; stages: AckStage[]; detail?: string; result?: JsonValue };

export interface DeviceCommandResponderOptions {
  groupId: string;
  react: (command: DeviceCommandRecord) => DeviceReaction;
  /** Pause before each acknowledgment, as a device takes time to receive, start and finish. */
  stageDelayMs?: number;
}

/**
 * The device side of the command contract, as a gateway implements it: reads fleet.device-commands
 * and answers each EXECUTE on fleet.device-acks, stage by stage. Used by the fleet simulator and the
 * tests; a reference for gateway authors.
 */
export class DeviceCommandResponder {
  /** Every message read, in order. */
  readonly received: DeviceCommandRecord[] = [];
  private readonly consumer: Consumer;
  private readonly acks: AvroTopicProducer<CommandAckRecord>;
  private readonly commandCodec: RegistryCodec<DeviceCommandRecord>;
  private readonly answering = new Set<Promise<void>>();

  constructor(
    kafka: Kafka,
    registry: SchemaRegistry,
    private readonly topics: FleetTopics,
    private readonly options: DeviceCommandResponderOptions,
  ) {
    this.consumer = kafka.consumer({ groupId: options.groupId, maxWaitTimeInMs: 20 });
    this.commandCodec = new RegistryCodec<DeviceCommandRecord>(registry, readAvroSchema('device-command'));
    this.acks = new AvroTopicProducer(kafka, new RegistryCodec<CommandAckRecord>(registry, readAvroSchema('command-ack')), topics.deviceAcks, (ack) => ack.deviceId);
  }

  async start(): Promise<void> {
    await this.acks.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topics.deviceCommands, fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ message }) => {
        const decoded = await this.commandCodec.decode(message.value);
        if (!decoded.ok) throw new Error(`a ${this.topics.deviceCommands} record at offset ${message.offset} does not decode: ${decoded.rejection.error}`);
        const command = decoded.value;
        this.received.push(command);
        if (command.action !== 'EXECUTE') return;
        const reaction = this.options.react(command);
        if (!reaction.answer) return;
        // answer in the background, so one slow device does not hold up the others in its partition
        const answer = this.answer(command, reaction).finally(() => this.answering.delete(answer));
        this.answering.add(answer);
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
    await Promise.allSettled(this.answering);
    await this.acks.disconnect();
  }

  private async answer(command: DeviceCommandRecord, reaction: Extract<DeviceReaction, { answer: true }>): Promise<void> {
    for (const stage of reaction.stages) {
      if (this.options.stageDelayMs) await sleep(this.options.stageDelayMs);
      const ends = stage === 'rejected' || stage === 'succeeded' || stage === 'failed';
      const { commandId, deviceId, attempt } = command;
      const detail = ends ? (reaction.detail ?? null) : null;
      const result = stage === 'succeeded' ? (reaction.result ?? null) : null;
      await this.acks.send([toCommandAckRecord({ commandId, deviceId, stage, attempt, detail, result }, Date.now())]);
    }
  }
}
