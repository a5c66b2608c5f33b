import { Link } from 'wouter-preact';
import { apiFetch, ForbiddenError } from '../api';
import { may } from '../session';

/** An alarm as GET /alerts and the alarm stream show it (apps/server/src/alerts/alerts.service.ts). */
export interface AlarmView {
  id: string;
  ruleId: string;
  ruleName: string;
  severity: string;
  deviceId: string;
  state: 'active' | 'cleared';
  raisedAt: string;
  value: number | null;
  acknowledged: boolean;
  acknowledgement?: { actor: string; at: string };
  clearedAt?: string;
}

export const SEVERITIES = ['critical', 'major', 'minor', 'warning', 'info'] as const;

/** One alarm per (device, rule): a newer state of an alarm takes the place of the one shown for its device and rule. */
export function upsertAlarm(alarms: AlarmView[], alarm: AlarmView): AlarmView[] {
  const index = alarms.findIndex((shown) => shown.deviceId === alarm.deviceId && shown.ruleId === alarm.ruleId);
  return index === -1 ? [alarm, ...alarms] : alarms.map((shown, i) => (i === index ? alarm : shown));
}

/**
 * Acknowledges an alarm; answers the problem to show, or null. The server decides who may (403).
 * Callers read the alarms again after: the acknowledgment's answer shows an alarm in another shape.
 */
export async function acknowledgeAlarm(alarm: AlarmView): Promise<string | null> {
  try {
    await apiFetch(`/alerts/${encodeURIComponent(alarm.id)}/acknowledge`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    return null;
  } catch (error) {
    return error instanceof ForbiddenError ? 'Your role may not acknowledge alarms (an operator or admin may).' : `Could not acknowledge: ${(error as Error).message}`;
  }
}

export function AlarmsTable({ alarms, showDevice, onAcknowledge }: { alarms: AlarmView[]; showDevice: boolean; onAcknowledge(alarm: AlarmView): void }) {
  return (
    <div class="overflow-auto">
      <table data-testid="alarms">
        <thead>
          <tr>
            {showDevice && <th scope="col">Device</th>}
            <th scope="col">Rule</th>
            <th scope="col">Severity</th>
            <th scope="col">State</th>
            <th scope="col">Raised</th>
            <th scope="col">Value</th>
            <th scope="col">Acknowledged</th>
          </tr>
        </thead>
        <tbody>
          {alarms.map((alarm) => (
            <tr key={alarm.id} data-alarm={alarm.id}>
              {showDevice && (
                <td>
                  <Link href={`/fleet/${encodeURIComponent(alarm.deviceId)}`}>{alarm.deviceId}</Link>
                </td>
              )}
              <th scope="row">{alarm.ruleName}</th>
              <td>
                <span class={`severity ${alarm.severity}`}>{alarm.severity}</span>
              </td>
              <td>{alarm.state === 'cleared' && alarm.clearedAt ? `cleared ${new Date(alarm.clearedAt).toLocaleString()}` : alarm.state}</td>
              <td>{new Date(alarm.raisedAt).toLocaleString()}</td>
              <td>{alarm.value ?? '—'}</td>
              <td data-testid="acknowledgement">
                {alarm.acknowledged ? (
                  `by ${alarm.acknowledgement?.actor ?? 'someone'}`
                ) : alarm.state === 'active' && may('alerts:acknowledge') ? (
                  <button type="button" class="outline" onClick={() => onAcknowledge(alarm)}>
                    Acknowledge
                  </button>
                ) : (
                  'no'
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
