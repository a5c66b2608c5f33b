import { useEffect, useState } from 'preact/hooks';
import { ApiError, ForbiddenError, getJson, ROLE_MAY_NOT } from '../api';
import { openStream } from '../stream';
import { acknowledgeAlarm, AlarmsTable, AlarmView, upsertAlarm } from './alarms-table';

type Load = { state: 'loading' } | { state: 'loaded'; alarms: AlarmView[] } | { state: 'failed'; message: string };

/** The device's alarms (GET /devices/:id/alerts: the active one of each rule, else its last), live from the alarm stream, with Acknowledge. */
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
    const close = openStream('/alerts/stream', { deviceId }, {
      events: { alarm: (data) => current && setLoad((shown) => (shown.state === 'loaded' ? { state: 'loaded', alarms: upsertAlarm(shown.alarms, data as AlarmView) } : shown)) },
      state: () => undefined,
    });
    return () => {
      current = false;
      close();
    };
  }, [deviceId]);

  async function acknowledge(alarm: AlarmView) {
    setProblem(await acknowledgeAlarm(alarm));
    const { alarms } = await read();
    setLoad({ state: 'loaded', alarms });
  }

  return (
    <section aria-labelledby="alarms-heading">
      <h2 id="alarms-heading">Alarms</h2>
      {problem && <p role="alert">{problem}</p>}
      {load.state === 'loading' && <p aria-busy="true">Loading alarms…</p>}
      {load.state === 'failed' && <p role="alert">{load.message}</p>}
      {load.state === 'loaded' && (load.alarms.length === 0 ? <p>No alarm, now or before.</p> : <AlarmsTable alarms={load.alarms} showDevice={false} onAcknowledge={(alarm) => void acknowledge(alarm)} />)}
    </section>
  );
}
