import type { AlertSeverity } from './alert-rule';

/** A reading's place in its device's order: later event time, or the same with a higher seq, is newer. */
export interface ReadingRef {
  eventTime: number;
  seq: number;
}

/** One point of a rate-of-change window. */
export interface RateSample {
  eventTime: number;
  value: number;
}

export type AlertClearReason = 'condition-cleared' | 'telemetry-resumed' | 'rule-changed' | 'rule-deleted';

type Key = { ruleId: string; deviceId: string };
type At = { at: number };

/**
 * What happened to one (device, rule) alert, past tense; its state is the fold of these.
 * AlertRaised, AlertAcknowledged and AlertCleared are the alarm's history (fleet.alerts); the others
 * only move the state (fleet.alert-state): see `isAlarmEvent`.
 */
export type AlertEvent =
  /** A newer reading was evaluated: the last reading, and what absence and rate of change track, move on. */
  | { type: 'ReadingEvaluated'; data: Key & { reading: ReadingRef; silenceDeadline: number | null; rateSamples: RateSample[] | null }; metadata: At }
  /** The condition holds, and must go on holding until `until` (`forSeconds`) before the alarm is raised. */
  | { type: 'AlertPending'; data: Key & { since: number; until: number; value: number | null; reading: ReadingRef }; metadata: At }
  /** The condition stopped holding before `forSeconds` ran out: no alarm. */
  | { type: 'AlertPendingLapsed'; data: Key & { value: number | null; reading: ReadingRef }; metadata: At }
  | {
      type: 'AlertRaised';
      data: Key & { alarmId: string; ruleName: string; severity: AlertSeverity; notify: string[]; value: number | null; reading: ReadingRef | null };
      metadata: At;
    }
  | { type: 'AlertAcknowledged'; data: Key & { alarmId: string; actor: string; note: string | null }; metadata: At }
  | { type: 'AlertCleared'; data: Key & { alarmId: string; reason: AlertClearReason; value: number | null; reading: ReadingRef | null }; metadata: At }
  /** The rule was created, changed or deleted (its revision, from the catalog): pending, window and silence deadline start over. */
  | { type: 'AlertRuleChanged'; data: Key & { deleted: boolean; revision: number; silenceDeadline: number | null }; metadata: At };

export type AlertEventType = AlertEvent['type'];

/** Why an alert command was refused; the caller turns it into a 4xx. */
export type AlertRejection = { type: 'AlarmNotActive'; alarmId: string; error: string };
