/** A fleet.alerts record as schemas/alert-event.avsc defines it (timestamps as epoch ms). */
export interface AlertEventRecord {
  type: 'RAISED' | 'ACKNOWLEDGED' | 'CLEARED';
  alarmId: string;
  ruleId: string;
  ruleName: string;
  severity: 'critical' | 'major' | 'minor' | 'warning' | 'info';
  deviceId: string;
  at: number;
  metric: string | null;
  value: number | null;
  readingEventTime: number | null;
  readingSeq: number | null;
  reason: string | null;
  actor: string | null;
  note: string | null;
  /** The sinks the rule named when the alarm was raised ([] in records written before rules named sinks). */
  notify: string[];
}
