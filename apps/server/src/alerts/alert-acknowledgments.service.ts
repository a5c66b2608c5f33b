import { AvroTopicProducer, FleetTopics } from '@fleetstream/kafka';
import { AlertCommandRecord, KeyedAlertState, readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { BeforeApplicationShutdown, ConflictException, Inject, Injectable, NotFoundException, OnModuleInit } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { KAFKA, SCHEMA_REGISTRY, TOPICS } from '../infrastructure/tokens';
import { AlertStateReadModel } from './alert-state-read-model';
import { AlarmView, alarmView } from './alerts.service';

/** How long an acknowledgment waits for the alert processor's verdict before answering 202. */
const ACKNOWLEDGE_WAIT_MS = 5000;

/** The alarm as GET /alerts shows it, and whether the alert processor has decided the acknowledgment yet. */
export type AcknowledgeOutcome = { settled: boolean; alarm: AlarmView };

/**
 * Records an acknowledgment on fleet.alert-commands, where the alert processor decides it in the
 * transaction of the alarm's (device, rule) state, and reads the verdict back from fleet.alert-state.
 */
@Injectable()
export class AlertAcknowledgmentsService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly commands: AvroTopicProducer<AlertCommandRecord>;

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    @Inject(SCHEMA_REGISTRY) registry: SchemaRegistry,
    @Inject(TOPICS) topics: FleetTopics,
    private readonly states: AlertStateReadModel,
  ) {
    const codec = new RegistryCodec<AlertCommandRecord>(registry, readAvroSchema('alert-command'));
    this.commands = new AvroTopicProducer(kafka, codec, topics.alertCommands, (record) => record.deviceId, (record) => record.at);
  }

  async onModuleInit(): Promise<void> {
    await this.commands.connect();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.commands.disconnect();
  }

  /** Settled when the processor acknowledged it (now or before); 409 when the alarm is not active. `actor` is the authenticated caller. */
  async acknowledge(alarmId: string, note: string | null, actor: string): Promise<AcknowledgeOutcome> {
    const found = this.states.findAlarm(alarmId);
    if (!found) throw new NotFoundException(`no alarm ${alarmId}`);
    if (!isActive(found, alarmId)) throw notActive(found, alarmId);
    const { deviceId, ruleId } = found;
    await this.commands.send([{ type: 'ACKNOWLEDGE', alarmId, deviceId, ruleId, actor, note, requestId: randomUUID(), at: Date.now() }]);
    const decided = await this.states.waitFor(deviceId, ruleId, (alert) => !alert || !isActive(alert, alarmId) || alert.state.alarm!.acknowledged !== null, ACKNOWLEDGE_WAIT_MS);
    if (decided === undefined) return { settled: false, alarm: alarmView(found)! };
    if (!decided || !isActive(decided, alarmId)) throw notActive(decided ?? found, alarmId);
    return { settled: true, alarm: alarmView(decided)! };
  }
}

function isActive({ state }: KeyedAlertState, alarmId: string): boolean {
  return state.status === 'active' && state.alarm?.alarmId === alarmId;
}

function notActive({ state }: KeyedAlertState, alarmId: string): ConflictException {
  const cleared = state.alarm?.alarmId === alarmId ? state.alarm.cleared : null;
  const why = cleared ? `it cleared (${cleared.reason})` : 'it is no longer active';
  return new ConflictException(`alarm ${alarmId} cannot be acknowledged: ${why}; only an active alarm can`);
}
