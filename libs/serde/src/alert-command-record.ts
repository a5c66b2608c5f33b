/** A fleet.alert-commands record (schemas/alert-command.avsc). */
export interface AlertCommandRecord {
  type: 'ACKNOWLEDGE';
  alarmId: string;
  deviceId: string;
  ruleId: string;
  actor: string;
  note: string | null;
  requestId: string;
  at: number;
}
