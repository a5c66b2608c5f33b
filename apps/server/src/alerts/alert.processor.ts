import { telemetryRules } from '@fleetstream/config';
import { AlertCommand, alertDueAt, decideAlert, evolveAlert, initialAlertState, isAlarmEvent, isAtRest, isNewer, leavesAtRest, mustWrite, ReadingRef, restoredAlertState, ruleScopeMatches, Telemetry } from '@fleetstream/domain';
import {
  ConfluentKafka, ConsumedRecord, coPartitionCount, fleetGroups, FleetTopics, groupMembership, misplacedRecordTarget, partitionOf, ProcessorOutput, ProcessorStatus, RecordFault,
  TransactionalProcessor,
} from '@fleetstream/kafka';
import { AlertCommandRecord, AlertEventRecord, alertStateKey, KeyedAlertState, readAvroSchema, readTelemetry, RegistryCodec, TelemetryRules, toAlertEventRecord, toAlertStateRecord } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { setImmediate } from 'node:timers/promises';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';
import { CONFLUENT_KAFKA, KAFKA, SCHEMA_REGISTRY, TOPICS } from '../infrastructure/tokens';
import { isTransient } from '../infrastructure/transient-errors';
import { TwinReadModel } from '../twins/twin-read-model';
import { ALERT_RULE_CATALOG, AlertRuleCatalog, StoredAlertRule } from './alert-rule-catalog';
import { AlertStateReadModel } from './alert-state-read-model';

/** One batch (or timer step) of one partition: what it changed over the partition's alerts, and what to write. */
interface AlertBatch {
  partition: number;
  /** The partition's (device, rule) alerts by fleet.alert-state key, as committed; the batch leaves them alone. */
  committed: Map<string, KeyedAlertState>;
  /** The alerts this batch changed, over `committed` (null: dropped with its deleted rule). */
  changed: Map<string, KeyedAlertState | null>;
  /** The partition's devices' newest readings evaluated, as committed, and this batch's over them. */
  committedReadings: Map<string, ReadingRef>;
  readings: Map<string, ReadingRef>;
  /** The keys whose change goes to fleet.alert-state (more than the last reading seen moved), with their device's partition. */
  toWrite: Map<string, number>;
  /** Alarm events for fleet.alerts, with their device's partition; encoded with the batch's states. */
  alarmEvents: { partition: number; record: AlertEventRecord }[];
  /** Readings evaluated against a rule. */
  evaluations: number;
  /** Telemetry records handled: the batch yields to the event loop every YIELD_EVERY of them. */
  handled: number;
}

/**
 * Readings evaluated between two yields to the event loop: a batch of thousands of readings times
 * the rules would otherwise hold every other processor, REST and /ready of the instance until it ends.
 */
const YIELD_EVERY = 32;

/** A batch's alert for a key: its change, else the committed one. */
function alertOf(batch: AlertBatch, key: string): KeyedAlertState | undefined {
  return batch.changed.has(key) ? (batch.changed.get(key) ?? undefined) : batch.committed.get(key);
}

/**
 * Evaluates every reading against the alert rules, per (device, rule), on the processor skeleton.
 * Consumes telemetry (and its repartition topic), co-partitioned with fleet.alert-state, and wakes on
 * a timer for `forSeconds` and absence deadlines (kept in the state) and for rule changes. Each step's
 * alarm events (fleet.alerts), new states (fleet.alert-state, the last per key), and consumed offsets
 * are written in one Kafka transaction: a crash never repeats or loses an alarm, and a replay of
 * telemetry meets states that already saw those readings. States are restored from fleet.alert-state
 * before a partition is processed, so timers survive a restart.
 */
@Injectable()
export class AlertProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(AlertProcessor.name);
  private processor: TransactionalProcessor<AlertBatch> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  /** A rule changed while a tick was running: tick again right after it. */
  private tickAgain = false;
  private stopListening: (() => void) | undefined;
  private readonly telemetryCodec: RegistryCodec<Telemetry>;
  private readonly eventCodec: RegistryCodec<AlertEventRecord>;
  private readonly commandCodec: RegistryCodec<AlertCommandRecord>;
  private readonly rules: TelemetryRules;
  private schemaIds = { event: 0, state: 0 };
  /**
   * Per partition this instance owns and restored: its (device, rule) alerts by fleet.alert-state key,
   * but for those at rest. A pair at rest is kept nowhere: it is made again from `initialAlertState`
   * when a reading comes, with its device's newest reading as the last one seen, so a fleet's pairs
   * that never breach (most of them) cost no memory and no record.
   */
  private readonly owned = new Map<number, Map<string, KeyedAlertState>>();
  /** Per partition: each device's newest reading evaluated (in memory: a restart starts it empty). */
  private readonly lastReadings = new Map<number, Map<string, ReadingRef>>();
  /** By fleet.alert-state key: the silence deadline of the state last written (see `mustWrite`). */
  private readonly writtenDeadlines = new Map<string, number | null>();
  /**
   * Rules this instance heard deleted: their states are cleared and dropped where owned. A rule the
   * catalog does not know is left alone otherwise (it may be one the catalog has not read yet).
   */
  private readonly deletedRules = new Set<string>();
  private partitions = 0;
  /** Readings evaluated against a rule, committed, not yet taken by the metrics. */
  private uncountedEvaluations = 0;

  constructor(
    @Inject(fleetstreamConfig.KEY) private readonly config: AppConfig,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(CONFLUENT_KAFKA) private readonly confluent: ConfluentKafka,
    @Inject(SCHEMA_REGISTRY) registry: SchemaRegistry,
    @Inject(TOPICS) private readonly topics: FleetTopics,
    @Inject(ALERT_RULE_CATALOG) private readonly catalog: AlertRuleCatalog,
    private readonly states: AlertStateReadModel,
    private readonly twins: TwinReadModel,
  ) {
    this.telemetryCodec = new RegistryCodec<Telemetry>(registry, readAvroSchema('telemetry'));
    this.eventCodec = new RegistryCodec<AlertEventRecord>(registry, readAvroSchema('alert-event'));
    this.commandCodec = new RegistryCodec<AlertCommandRecord>(registry, readAvroSchema('alert-command'));
    this.rules = telemetryRules(config);
  }

  onApplicationBootstrap(): void {
    if (!this.config.PROCESSORS.includes('alerts')) return;
    this.processor = new TransactionalProcessor<AlertBatch>(this.kafka, this.confluent, {
      name: 'alerts',
      groupId: fleetGroups(this.config.TOPIC_PREFIX).alertProcessor,
      topics: this.inputTopics(),
      deadLetterTopic: this.topics.telemetryDlq,
      replayBoundsTopic: this.topics.replayBounds,
      membership: groupMembership(this.config),
      maxWaitTimeInMs: 50,
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
        event: await this.eventCodec.register(`${this.topics.alerts}-value`),
        state: await this.states.codec.register(`${this.topics.alertState}-value`),
      };
      this.partitions = await coPartitionCount(this.kafka, [...this.inputTopics(), this.topics.alertState, this.topics.alerts]);
    });
    this.stopListening = this.catalog.onChange((ruleId, stored) => {
      if (stored) this.deletedRules.delete(ruleId);
      else this.deletedRules.add(ruleId);
      void this.onTick();
    });
    this.timer = setInterval(() => void this.onTick(), this.config.ALERT_TICK_MS);
    this.logger.log(`alert processor consuming ${this.inputTopics().join(', ')}`);
  }

  /** Whether the processor runs here (undefined when this instance does not run it), and its partitions. */
  status(): ProcessorStatus | undefined {
    return this.processor?.status();
  }

  /** Active alarms of the partitions this instance owns, by severity. */
  activeBySeverity(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const partition of this.processor?.ownedPartitions() ?? []) {
      for (const { state } of this.owned.get(partition)?.values() ?? []) {
        if (state.status === 'active' && state.alarm) counts.set(state.alarm.severity, (counts.get(state.alarm.severity) ?? 0) + 1);
      }
    }
    return counts;
  }

  /** Readings evaluated against a rule (one reading, two rules: two), committed since the last call. */
  takeEvaluations(): number {
    const evaluations = this.uncountedEvaluations;
    this.uncountedEvaluations = 0;
    return evaluations;
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.stopListening?.();
    await this.processor?.stop();
  }

  /** Telemetry, the telemetry the twin processor forwarded to its device's partition, and operators' alarm commands. */
  private inputTopics(): string[] {
    return [this.topics.telemetry, this.topics.telemetryRepartition, this.topics.alertCommands];
  }

  /** The rules, then the assigned partitions' alerts from fleet.alert-state (Kafka Streams' restore-before-process). */
  private async restore(partitions: readonly number[]): Promise<void> {
    await this.catalog.caughtUp();
    await this.states.caughtUp([...partitions]);
    const byPartition = new Map(partitions.map((partition) => [partition, new Map<string, KeyedAlertState>()]));
    for (const [key, alert] of this.states.all()) {
      const alerts = byPartition.get(partitionOf(alert.deviceId, this.partitions));
      if (!alerts || isAtRest(alert.state)) continue;
      alerts.set(key, { ...alert, state: restoredAlertState(alert.state, this.catalog.get(alert.ruleId)?.rule) });
      this.writtenDeadlines.set(key, alert.state.silenceDeadline);
    }
    for (const [partition, alerts] of byPartition) {
      this.owned.set(partition, alerts);
      this.lastReadings.set(partition, new Map());
      this.logger.log(`partition ${partition}: restored ${alerts.size} (device, rule) alerts`);
    }
  }

  private begin(partition: number): AlertBatch {
    return {
      partition,
      committed: this.owned.get(partition) ?? new Map(),
      changed: new Map(),
      committedReadings: this.lastReadings.get(partition) ?? new Map(),
      readings: new Map(),
      toWrite: new Map(),
      alarmEvents: [],
      evaluations: 0,
      handled: 0,
    };
  }

  private async handle(record: ConsumedRecord, batch: AlertBatch): Promise<RecordFault | void> {
    if (record.topic === this.topics.alertCommands) return this.handleCommand(record, batch);
    // the twin processor forwards it to its device's partition, where it is evaluated
    if (record.topic === this.topics.telemetry && misplacedRecordTarget(record, this.partitions) !== undefined) return;
    // the record's timestamp, not the clock: a replay decides as the first pass did
    const now = record.timestamp;
    const read = await readTelemetry(this.telemetryCodec, { key: record.key, value: record.value, timestamp: now }, this.rules);
    if (!read.ok) return; // the history writer dead-letters it: one dead letter per record
    const reading = read.value;
    if (++batch.handled % YIELD_EVERY === 0) await setImmediate();
    const reported = this.reportedBy(reading);
    const partition = partitionOf(reading.deviceId, this.partitions);
    const newest = batch.readings.get(reading.deviceId) ?? batch.committedReadings.get(reading.deviceId);
    const ref = { eventTime: reading.eventTime, seq: reading.seq };
    if (!newest || isNewer(ref, newest)) batch.readings.set(reading.deviceId, ref);
    for (const stored of this.catalog.all()) {
      if (!ruleScopeMatches(stored.rule, reported)) continue;
      const key = alertStateKey(reading.deviceId, stored.id);
      const kept = alertOf(batch, key);
      const { metric } = stored.rule.condition;
      // no state for a (device, rule) until the device reports what the rule reads
      if (!kept && metric !== undefined && reading.metrics[metric] === undefined) continue;
      batch.evaluations++;
      // most pairs are thresholds at rest that the reading does not breach: judged without making them again
      if (!kept && leavesAtRest(stored.rule, reading.metrics)) continue;
      this.apply(batch, partition, reading.deviceId, stored.id, stored, newest, [
        // a state that has not seen this revision of the rule yet (new, or changed while nobody owned it) applies it first
        { type: 'ApplyRule', data: { ruleId: stored.id, deviceId: reading.deviceId, rule: stored.rule, revision: stored.revision }, metadata: { now } },
        { type: 'EvaluateReading', data: { ruleId: stored.id, rule: stored.rule, reading }, metadata: { now } },
      ]);
    }
  }

  /**
   * An operator's command for an alarm, applied to its (device, rule) state like a reading. A refusal
   * (the alarm is not active) writes nothing: the REST API reads the outcome from fleet.alert-state.
   */
  private async handleCommand(record: ConsumedRecord, batch: AlertBatch): Promise<RecordFault | void> {
    const decoded = await this.commandCodec.decode(record.value);
    if (!decoded.ok) return decoded.rejection;
    const { alarmId, deviceId, ruleId, actor, note } = decoded.value;
    const stored = this.catalog.get(ruleId);
    // no rule, no state to acknowledge (a deleted rule cleared and dropped its alarm)
    if (!stored || !alertOf(batch, alertStateKey(deviceId, ruleId))) return;
    this.apply(batch, partitionOf(deviceId, this.partitions), deviceId, ruleId, stored, undefined, [{ type: 'AcknowledgeAlert', data: { alarmId, actor, note }, metadata: { now: record.timestamp } }]);
  }

  /**
   * What the rule's scope sees: the device's twin, with this reading's own values over it (the twin
   * may not have folded it yet), so a reading is judged at least by what it says itself.
   */
  private reportedBy(reading: Telemetry): Record<string, { value: number | string } | undefined> {
    const values = (record: Record<string, number | string>) => Object.fromEntries(Object.entries(record).map(([name, value]) => [name, { value }]));
    return { ...this.twins.get(reading.deviceId)?.reported, ...values(reading.attributes), ...values(reading.metrics) };
  }

  /** Rule changes and deletions not yet applied, and deadlines that passed, on every partition this instance owns. */
  private async onTick(): Promise<void> {
    if (!this.processor) return;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = true;
    try {
      do {
        this.tickAgain = false;
        await this.checkOwned(Date.now());
      } while (this.tickAgain);
    } catch (error) {
      this.logger.error(`alert deadline check failed, retrying on the next tick: ${(error as Error).message}`);
    } finally {
      this.ticking = false;
    }
  }

  private async checkOwned(now: number): Promise<void> {
    await Promise.all(
      this.processor!.ownedPartitions().map(async (partition) => {
        if (!this.anyWakes(this.owned.get(partition), now)) return;
        await this.processor!.step(partition, async () => {
          const batch = this.begin(partition);
          // a step changes the batch's overlay only, never the committed alerts it walks
          for (const alert of batch.committed.values()) if (this.wakes(alert, now)) this.wake(alert, now, batch);
          return this.outputsOf(batch);
        });
      }),
    );
  }

  private anyWakes(alerts: ReadonlyMap<string, KeyedAlertState> | undefined, now: number): boolean {
    for (const alert of alerts?.values() ?? []) if (this.wakes(alert, now)) return true;
    return false;
  }

  private wakes({ ruleId, state }: KeyedAlertState, now: number): boolean {
    if (this.deletedRules.has(ruleId)) return true;
    const stored = this.catalog.get(ruleId);
    if (!stored) return false;
    return stored.revision > state.ruleRevision || (alertDueAt(state) ?? Infinity) <= now;
  }

  private wake({ deviceId, ruleId }: KeyedAlertState, now: number, batch: AlertBatch): void {
    const partition = batch.partition;
    const stored = this.catalog.get(ruleId);
    if (this.deletedRules.has(ruleId) || !stored) {
      this.apply(batch, partition, deviceId, ruleId, null, undefined, [{ type: 'ApplyRule', data: { ruleId, deviceId, rule: null, revision: 0 }, metadata: { now } }]);
      return;
    }
    this.apply(batch, partition, deviceId, ruleId, stored, undefined, [
      { type: 'ApplyRule', data: { ruleId, deviceId, rule: stored.rule, revision: stored.revision }, metadata: { now } },
      { type: 'CheckAlertDeadline', data: { ruleId, deviceId, rule: stored.rule }, metadata: { now } },
    ]);
  }

  /**
   * Decides and folds the commands for one (device, rule) over the batch's changes; its alarm events,
   * and its new state (none: the rule was deleted, the state is dropped) when more than the last
   * reading moved, join the batch's outputs.
   */
  private apply(batch: AlertBatch, partition: number, deviceId: string, ruleId: string, stored: StoredAlertRule | null, deviceNewest: ReadingRef | undefined, commands: AlertCommand[]): void {
    const key = alertStateKey(deviceId, ruleId);
    // a pair at rest is kept nowhere: made again, it has seen what its device has
    let state = alertOf(batch, key)?.state ?? { ...initialAlertState(), lastReading: deviceNewest ?? null };
    let changed = false;
    let write = false;
    for (const command of commands) {
      const decision = decideAlert(command, state);
      // only an acknowledgment is ever refused: the REST API sees the alarm unchanged and answers 409
      if ('rejection' in decision) continue;
      for (const event of decision.events) {
        state = evolveAlert(state, event);
        changed = true;
        write ||= mustWrite(event, this.writtenDeadlines.get(key));
        // the alarm as this event leaves it: a clearance names the alarm it cleared, under its rule's name then
        if (isAlarmEvent(event)) batch.alarmEvents.push({ partition, record: toAlertEventRecord(event, state.alarm!, stored?.rule.condition.metric ?? null) });
      }
    }
    if (!changed) return;
    batch.changed.set(key, stored ? { deviceId, ruleId, state } : null);
    if (write) batch.toWrite.set(key, partition);
  }

  /**
   * The batch's records to write: its alarm events, and the last state of each key whose change must
   * be written, unless it is at rest and was before. Once they are committed, the batch's changes join
   * the partition's alerts, a threshold's last reading included: that one goes to fleet.alert-state
   * with the key's next change of state.
   */
  private async outputsOf(batch: AlertBatch): Promise<ProcessorOutput> {
    const { partition, committed, changed, toWrite, alarmEvents, evaluations } = batch;
    const states = new Map(
      [...toWrite.keys()].flatMap((key) => {
        const alert = changed.get(key)!;
        // a state at rest that was at rest (or nowhere) before restores the same from no record
        const before = committed.get(key);
        return alert && isAtRest(alert.state) && (!before || isAtRest(before.state)) ? [] : [[key, alert] as const];
      }),
    );
    const stateMessages = await Promise.all(
      [...states].map(async ([key, alert]) => ({
        key,
        partition: toWrite.get(key)!,
        value: alert && (await this.states.codec.encode(this.schemaIds.state, toAlertStateRecord(alert))),
      })),
    );
    // built by this processor from validated readings and rules: a record that does not encode is a defect, and fails the batch
    const alarmMessages = await Promise.all(alarmEvents.map(async ({ partition, record }) => ({ key: record.deviceId, partition, value: await this.eventCodec.encode(this.schemaIds.event, record) })));
    return {
      topicMessages: [
        { topic: this.topics.alerts, messages: alarmMessages },
        { topic: this.topics.alertState, messages: stateMessages },
      ],
      onCommitted: async (written) => {
        for (const [key, alert] of changed) {
          if (alert && !isAtRest(alert.state)) committed.set(key, alert);
          else committed.delete(key);
        }
        for (const [deviceId, reading] of batch.readings) batch.committedReadings.set(deviceId, reading);
        for (const [key, alert] of states) {
          if (alert && !isAtRest(alert.state)) this.writtenDeadlines.set(key, alert.state.silenceDeadline);
          else this.writtenDeadlines.delete(key);
        }
        this.owned.set(partition, committed);
        this.lastReadings.set(partition, batch.committedReadings);
        this.uncountedEvaluations += evaluations;
        await this.states.applyCommitted(states, written.get(this.topics.alertState) ?? new Map());
      },
    };
  }
}
