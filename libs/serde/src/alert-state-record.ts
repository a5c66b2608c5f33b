import type { AlertClearReason, AlertEvent, AlertSeverity, AlertState, AlertStatus, RateSample, ReadingRef } from '@fleetstream/domain';
import type { AlertEventRecord } from './alert-event-record';

/** A fleet.alert-state record as schemas/alert-state.avsc defines it: one (device, rule) alert's state. */
export interface AlertStateRecord {
  deviceId: string;
  ruleId: string;
  ruleRevision: number;
  status: AlertStatus;
  version: number;
  alarmCount: number;
  alarm: {
    alarmId: string;
    ruleName: string;
    severity: AlertSeverity;
    notify: string[];
    raisedAt: number;
    value: number | null;
    reading: ReadingRef | null;
    acknowledged: { actor: string; note: string | null; at: number } | null;
    cleared: { reason: string; value: number | null; reading: ReadingRef | null; at: number } | null;
  } | null;
  pending: { since: number; until: number; value: number | null; reading: ReadingRef } | null;
  silenceDeadline: number | null;
  lastReading: ReadingRef | null;
  rateSamples: RateSample[];
}

/** One (device, rule) alert as the alert processor holds it. */
export interface KeyedAlertState {
  deviceId: string;
  ruleId: string;
  state: AlertState;
}

/**
 * The fleet.alert-state key of a (device, rule): `<deviceId>/<ruleId>`. A device id never holds a
 * `/`, so the first one splits it back. (Not U+0000: the Confluent client cuts a string key there.)
 * The record goes to the device's partition.
 */
export function alertStateKey(deviceId: string, ruleId: string): string {
  return `${deviceId}/${ruleId}`;
}

export function toAlertStateRecord({ deviceId, ruleId, state }: KeyedAlertState): AlertStateRecord {
  const { alarm } = state;
  return {
    deviceId,
    ruleId,
    ruleRevision: state.ruleRevision,
    status: state.status,
    version: state.version,
    alarmCount: state.alarmCount,
    alarm: alarm && {
      alarmId: alarm.alarmId,
      ruleName: alarm.ruleName,
      severity: alarm.severity,
      notify: alarm.notify,
      raisedAt: alarm.raisedAt,
      value: alarm.value,
      reading: alarm.reading,
      acknowledged: alarm.acknowledged,
      cleared: alarm.cleared,
    },
    pending: state.pending,
    silenceDeadline: state.silenceDeadline,
    lastReading: state.lastReading,
    rateSamples: state.rateSamples,
  };
}

export function fromAlertStateRecord(record: AlertStateRecord): KeyedAlertState {
  const { deviceId, ruleId, alarm } = record;
  return {
    deviceId,
    ruleId,
    state: {
      status: record.status,
      version: record.version,
      alarmCount: record.alarmCount,
      alarm: alarm && { ...alarm, notify: [...alarm.notify], ruleId, deviceId, cleared: alarm.cleared && { ...alarm.cleared, reason: alarm.cleared.reason as AlertClearReason } },
      pending: record.pending,
      silenceDeadline: record.silenceDeadline,
      lastReading: record.lastReading,
      rateSamples: record.rateSamples,
      ruleRevision: record.ruleRevision,
    },
  };
}

type AlarmEvent = Extract<AlertEvent, { type: 'AlertRaised' | 'AlertAcknowledged' | 'AlertCleared' }>;

/**
 * An alarm event as its fleet.alerts record. `alarm` is the alarm as the event leaves it (its name,
 * severity and sinks for an acknowledgment or a clearance); `metric` is the one the rule's condition reads.
 */
export function toAlertEventRecord(event: AlarmEvent, alarm: { ruleName: string; severity: AlertSeverity; notify: readonly string[] }, metric: string | null): AlertEventRecord {
  const { ruleId, deviceId, alarmId } = event.data;
  const common = { alarmId, ruleId, deviceId, ruleName: alarm.ruleName, severity: alarm.severity, notify: [...alarm.notify], at: event.metadata.at };
  const none = { metric: null, value: null, readingEventTime: null, readingSeq: null, reason: null, actor: null, note: null };
  switch (event.type) {
    case 'AlertRaised':
      return { ...none, ...common, type: 'RAISED', metric, value: event.data.value, ...readingOf(event.data.reading) };
    case 'AlertCleared':
      return { ...none, ...common, type: 'CLEARED', metric, value: event.data.value, reason: event.data.reason, ...readingOf(event.data.reading) };
    case 'AlertAcknowledged':
      return { ...none, ...common, type: 'ACKNOWLEDGED', actor: event.data.actor, note: event.data.note };
  }
}

function readingOf(reading: ReadingRef | null): Pick<AlertEventRecord, 'readingEventTime' | 'readingSeq'> {
  return { readingEventTime: reading?.eventTime ?? null, readingSeq: reading?.seq ?? null };
}
