import { alarmPartsOf } from '@fleetstream/domain';
import { CompactedTopicView, FleetTopics, KeyedChanges } from '@fleetstream/kafka';
import { alertStateKey, AlertStateRecord, fromAlertStateRecord, KeyedAlertState, readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { Observable, Subject } from 'rxjs';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';
import { KAFKA, SCHEMA_REGISTRY, TOPICS } from '../infrastructure/tokens';
import { ViewMonitor } from '../metrics/view.metrics';

/**
 * Every (device, rule) alert state, as each instance materializes the compacted topic
 * fleet.alert-state: the alert processor restores its partitions from it, and it is the place to
 * read active alarms from. A record whose value is not an alert state is skipped and counted.
 */
@Injectable()
export class AlertStateReadModel implements OnModuleInit, BeforeApplicationShutdown {
  readonly codec: RegistryCodec<AlertStateRecord>;
  private readonly view: CompactedTopicView<KeyedAlertState>;
  private readonly changes = new KeyedChanges<KeyedAlertState>();
  private readonly alarmChanges = new Subject<KeyedAlertState>();
  /** Per key, what of its alarm was last announced: most state changes (samples, pending) leave the alarm as it was. */
  private readonly announced = new Map<string, string>();

  constructor(
    @Inject(fleetstreamConfig.KEY) config: AppConfig,
    @Inject(KAFKA) kafka: Kafka,
    @Inject(SCHEMA_REGISTRY) registry: SchemaRegistry,
    @Inject(TOPICS) topics: FleetTopics,
    monitor: ViewMonitor,
  ) {
    this.codec = new RegistryCodec<AlertStateRecord>(registry, readAvroSchema('alert-state'));
    this.view = new CompactedTopicView<KeyedAlertState>(kafka, {
      name: 'alert-state',
      topic: topics.alertState,
      groupPrefix: `${config.TOPIC_PREFIX}.alert-state-view`,
      decode: (bytes) => this.codec.decodeOwn(bytes, topics.alertState, fromAlertStateRecord),
      onSkip: monitor.skipped,
      logger: new Logger(AlertStateReadModel.name),
      onChange: (key, value) => {
        this.changes.notify(key, value);
        this.announce(key, value);
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

  /** States in key order (`<deviceId>/<ruleId>`), after `afterKey` when given. */
  all(afterKey?: string): Iterable<[string, KeyedAlertState]> {
    return this.view.entries(afterKey);
  }

  /** Each state whose alarm was raised, acknowledged or cleared, from now on. */
  get changedAlarms(): Observable<KeyedAlertState> {
    return this.alarmChanges.asObservable();
  }

  private announce(key: string, value: KeyedAlertState | null): void {
    const alarm = value?.state.alarm;
    if (!value || !alarm) {
      this.announced.delete(key);
      return;
    }
    const signature = `${alarm.alarmId}|${alarm.acknowledged?.at ?? ''}|${alarm.cleared?.at ?? ''}`;
    if (this.announced.get(key) === signature) return;
    this.announced.set(key, signature);
    this.alarmChanges.next(value);
  }

  /**
   * States (null: dropped with their rule) the alert processor of this instance just committed to
   * fleet.alert-state, with their offsets there.
   */
  applyCommitted(states: ReadonlyMap<string, KeyedAlertState | null>, offsets: ReadonlyMap<number, readonly number[]>): Promise<void> {
    return this.view.applyOwn([...states], offsets);
  }

  /**
   * The (device, rule) state whose active or last alarm is `alarmId`, looked up by the device and rule
   * the id names (rule ids hold no ':', so a device id with ':' in it reads back whole).
   */
  findAlarm(alarmId: string): KeyedAlertState | undefined {
    const parts = alarmPartsOf(alarmId);
    const alert = parts && this.view.get(alertStateKey(parts.deviceId, parts.ruleId));
    return alert?.state.alarm?.alarmId === alarmId ? alert : undefined;
  }

  /** Resolves with the (device, rule) state once `accept` holds for it, or undefined at the timeout. */
  waitFor(deviceId: string, ruleId: string, accept: (alert: KeyedAlertState | null) => boolean, timeoutMs: number): Promise<KeyedAlertState | null | undefined> {
    const key = alertStateKey(deviceId, ruleId);
    return this.changes.waitFor(key, this.view.get(key) ?? null, accept, timeoutMs);
  }

  /** Waits until the given partitions are read up to the topic's current end. */
  caughtUp(partitions?: number[]): Promise<void> {
    return this.view.caughtUp(partitions);
  }
}
