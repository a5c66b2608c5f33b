import { Alarm } from '@fleetstream/domain';
import { KeyedAlertState } from '@fleetstream/serde';
import { BadRequestException, Injectable, MessageEvent } from '@nestjs/common';
import { filter, map, Observable } from 'rxjs';
import { AlarmFilterDto, AlarmState, FleetAlarmFilterDto, FleetAlarmsPageQueryDto } from './alarms-query.dto';
import { AlertStateReadModel } from './alert-state-read-model';

const DEFAULT_LIMIT = 100;

/** One alarm as the API shows it; times are ISO 8601. */
export interface AlarmView {
  id: string;
  ruleId: string;
  /** The rule's name and severity as the alarm was raised with them. */
  ruleName: string;
  severity: Alarm['severity'];
  deviceId: string;
  state: AlarmState;
  raisedAt: string;
  /** The value that raised it (for rate of change, the rate per second); null for absence. */
  value: number | null;
  acknowledged: boolean;
  acknowledgement?: { actor: string; at: string; note: string | null };
  clearedAt?: string;
  clearReason?: string;
  clearValue?: number | null;
}

export interface AlarmsPage {
  count: number;
  alarms: AlarmView[];
  /** Present when more alarms may follow: pass it as `cursor`. */
  nextCursor?: string;
}

/**
 * Alarms from the alert-state view: one per (device, rule) that has or had an alarm, its current
 * one while active, else the last one, cleared.
 */
@Injectable()
export class AlertsService {
  constructor(private readonly states: AlertStateReadModel) {}

  /** A page in (device id, rule id) order, a stable order that a cursor resumes after. */
  list(query: FleetAlarmsPageQueryDto): AlarmsPage {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const matches = alarmFilter(query);
    const alarms: AlarmView[] = [];
    let lastKey: string | undefined;
    let more = false;
    // one device's states are contiguous in key order: start at them and stop after them
    const devicePrefix = query.deviceId === undefined ? undefined : `${query.deviceId}/`;
    const after = query.cursor === undefined ? devicePrefix : decodeCursor(query.cursor);
    for (const [key, keyed] of this.states.all(after)) {
      if (devicePrefix !== undefined && !key.startsWith(devicePrefix)) {
        if (key > devicePrefix) break;
        continue;
      }
      const alarm = alarmView(keyed);
      if (!alarm || !matches(alarm)) continue;
      if (alarms.length === limit) {
        more = true;
        break;
      }
      alarms.push(alarm);
      lastKey = key;
    }
    return { count: alarms.length, alarms, nextCursor: more && lastKey !== undefined ? Buffer.from(lastKey).toString('base64url') : undefined };
  }

  /** Every alarm raised, acknowledged or cleared from now on that matches the filters. Event `alarm`, id: the alarm id. */
  stream(query: FleetAlarmFilterDto): Observable<MessageEvent> {
    const matches = alarmFilter(query);
    return this.states.changedAlarms.pipe(
      map(alarmView),
      filter((alarm): alarm is AlarmView => alarm !== undefined && matches(alarm)),
      map((alarm) => ({ type: 'alarm', id: alarm.id, data: alarm })),
    );
  }
}

function alarmFilter(query: FleetAlarmFilterDto & AlarmFilterDto): (alarm: AlarmView) => boolean {
  return (alarm) =>
    (query.state === undefined || alarm.state === query.state) &&
    (query.severity === undefined || alarm.severity === query.severity) &&
    (query.deviceId === undefined || alarm.deviceId === query.deviceId) &&
    (query.ruleId === undefined || alarm.ruleId === query.ruleId);
}

function decodeCursor(cursor: string): string {
  const key = Buffer.from(cursor, 'base64url').toString();
  if (!key.includes('/')) throw new BadRequestException('cursor must be the nextCursor of a previous page');
  return key;
}

export function alarmView({ deviceId, ruleId, state }: KeyedAlertState): AlarmView | undefined {
  const { alarm } = state;
  if (!alarm) return undefined;
  const { acknowledged, cleared } = alarm;
  return {
    id: alarm.alarmId,
    ruleId,
    ruleName: alarm.ruleName,
    severity: alarm.severity,
    deviceId,
    state: cleared ? 'cleared' : 'active',
    raisedAt: new Date(alarm.raisedAt).toISOString(),
    value: alarm.value,
    acknowledged: acknowledged !== null,
    ...(acknowledged && { acknowledgement: { actor: acknowledged.actor, at: new Date(acknowledged.at).toISOString(), note: acknowledged.note } }),
    ...(cleared && { clearedAt: new Date(cleared.at).toISOString(), clearReason: cleared.reason, clearValue: cleared.value }),
  };
}
