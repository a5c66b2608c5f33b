import { useEffect, useState } from 'preact/hooks';
import { apiFetch, ApiError, ForbiddenError, getJson, ROLE_MAY_NOT } from '../api';
import { openStream } from '../stream';

interface AlarmView {
  id: string;
  ruleId: string;
  ruleName: string;
  severity: string;
  state: 'active' | 'cleared';
  raisedAt: string;
  value: number | null;
  acknowledged: boolean;
  acknowledgement?: { actor: string; at: string };
  clearedAt?: string;
}

type Load = { state: 'loading' } | { state: 'loaded'; alarms: AlarmView[] } | { state: 'failed'; message: string };

/**
 * The device's alarms (GET /devices/:id/alerts: the active one of each rule, else its last), live
 * from the alarm stream, with Acknowledge. The server decides who may acknowledge: a 403 says so.
 */
export function DeviceAlarms({ deviceId }: { deviceId: string }) {
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [problem, setProblem] = useState<string | null>(null);

  const read = () => getJson<{ alarms: AlarmView[] }>(`/devices/${encodeURIComponent(deviceId)}/alerts`, { limit: 100 });

  useEffect(() => {
    let current = true;
    read().then(
      ({ alarms }) => current && setLoad({ state: 'loaded', alarms }),
      (error: ApiError) => current && setLoad({ state: 'failed', message: error instanceof ForbiddenError ? ROLE_MAY_NOT : `Could not read the alarms: ${error.message}` }),
    );
    // one alarm per rule: a newer state of an alarm replaces the one shown for its rule
    const close = openStream('/alerts/stream', { deviceId }, {
      events: { alarm: (data) => current && setLoad((shown) => (shown.state === 'loaded' ? { state: 'loaded', alarms: upsert(shown.alarms, data as AlarmView) } : shown)) },
      state: () => undefined,
    });
    return () => {
      current = false;
      close();
    };
  }, [deviceId]);

  async function acknowledge(alarm: AlarmView) {
    setProblem(null);
    try {
      await apiFetch(`/alerts/${encodeURIComponent(alarm.id)}/acknowledge`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
      // the acknowledgment's answer shows an alarm in another shape than GET …/alerts does: read it again
      const { alarms } = await read();
      setLoad({ state: 'loaded', alarms });
    } catch (error) {
      setProblem(error instanceof ForbiddenError ? 'Your role may not acknowledge alarms (an operator or admin may).' : `Could not acknowledge: ${(error as Error).message}`);
    }
  }

  return (
    <section aria-labelledby="alarms-heading">
      <h2 id="alarms-heading">Alarms</h2>
      {problem && <p role="alert">{problem}</p>}
      {load.state === 'loading' && <p aria-busy="true">Loading alarms…</p>}
      {load.state === 'failed' && <p role="alert">{load.message}</p>}
      {load.state === 'loaded' && load.alarms.length === 0 && <p>No alarm, now or before.</p>}
      {load.state === 'loaded' && load.alarms.length > 0 && (
        <div class="overflow-auto">
          <table data-testid="alarms">
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">Severity</th>
                <th scope="col">State</th>
                <th scope="col">Raised</th>
                <th scope="col">Value</th>
                <th scope="col">Acknowledged</th>
              </tr>
            </thead>
            <tbody>
              {load.alarms.map((alarm) => (
                <tr key={alarm.id} data-alarm={alarm.id}>
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
                    ) : alarm.state === 'active' ? (
                      <button type="button" class="outline" onClick={() => void acknowledge(alarm)}>
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
      )}
    </section>
  );
}

function upsert(alarms: AlarmView[], alarm: AlarmView): AlarmView[] {
  const others = alarms.filter((shown) => shown.id !== alarm.id && shown.ruleId !== alarm.ruleId);
  return [alarm, ...others];
}
