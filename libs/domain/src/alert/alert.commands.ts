import type { AlertRule } from './alert-rule';

/** What an alert evaluates: a device's reading, with its place in the device's order. */
export interface AlertReading {
  deviceId: string;
  /** Epoch milliseconds when the device measured. */
  eventTime: number;
  seq: number;
  metrics: Record<string, number>;
}

/** The rule as it stands when the command is given (the processor holds the rules). */
type RuleAt = { ruleId: string; rule: AlertRule };

/**
 * What one (device, rule) alert is asked to do. Time arrives in `metadata.now` (for a reading, the
 * time the service took it in, e.g. its record's timestamp, so a replay decides the same); the
 * decider never reads the clock.
 */
export type AlertCommand =
  | { type: 'EvaluateReading'; data: RuleAt & { reading: AlertReading }; metadata: { now: number } }
  /** A timer fired: a `forSeconds` or silence deadline in the state may have passed. */
  | { type: 'CheckAlertDeadline'; data: RuleAt & { deviceId: string }; metadata: { now: number } }
  | { type: 'AcknowledgeAlert'; data: { alarmId: string; actor: string; note: string | null }; metadata: { now: number } }
  /**
   * The rule was created or changed (`rule` set) or deleted (`rule` null), at this revision of the
   * catalog: a revision not newer than the one the state applied last decides nothing.
   */
  | { type: 'ApplyRule'; data: { ruleId: string; deviceId: string; rule: AlertRule | null; revision: number }; metadata: { now: number } };
