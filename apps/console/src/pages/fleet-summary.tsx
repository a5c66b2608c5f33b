import { useEffect, useState } from 'preact/hooks';
import { ApiError, ForbiddenError, getJson, ROLE_MAY_NOT } from '../api';
import { AlarmsPage, connectivityOf, Connectivity, DevicesPage } from '../types';

/** Counts read from one page of at most this many: bounded work per refresh on any fleet size. */
const COUNT_PAGE = 1000;
const REFRESH_MS = 15_000;
const SEVERITIES = ['critical', 'major', 'minor', 'warning', 'info'] as const;

/** A count, and whether more exist than the page held ("1000+"). */
interface Count {
  value: number;
  atLeast: boolean;
}

interface Summary {
  devices: Record<Connectivity, Count>;
  alarms: Record<(typeof SEVERITIES)[number], Count> | 'forbidden';
}

async function readSummary(): Promise<Summary> {
  const [online, notOnline] = await Promise.all([
    getJson<DevicesPage>('/devices', { online: 'true', limit: COUNT_PAGE }),
    getJson<DevicesPage>('/devices', { online: 'false', limit: COUNT_PAGE }),
  ]);
  const silent = notOnline.devices.filter((twin) => connectivityOf(twin) === 'silent').length;
  const more = notOnline.nextCursor !== undefined;
  const devices = {
    online: { value: online.count, atLeast: online.nextCursor !== undefined },
    offline: { value: notOnline.count - silent, atLeast: more },
    silent: { value: silent, atLeast: more },
  };
  try {
    const active = await getJson<AlarmsPage>('/alerts', { state: 'active', limit: COUNT_PAGE });
    const alarms = Object.fromEntries(SEVERITIES.map((severity) => [severity, { value: active.alarms.filter((alarm) => alarm.severity === severity).length, atLeast: active.nextCursor !== undefined }]));
    return { devices, alarms: alarms as Summary['alarms'] };
  } catch (error) {
    if (error instanceof ForbiddenError) return { devices, alarms: 'forbidden' };
    throw error;
  }
}

const shown = ({ value, atLeast }: Count) => (atLeast ? `${value}+` : String(value));

export function FleetSummary() {
  const [summary, setSummary] = useState<Summary | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    let stopped = false;
    const refresh = () =>
      readSummary().then(
        (next) => !stopped && (setSummary(next), setProblem(null)),
        (error: unknown) => !stopped && setProblem(error instanceof ForbiddenError ? ROLE_MAY_NOT : `Could not read the counts: ${(error as ApiError).message}`),
      );
    void refresh();
    const timer = setInterval(refresh, REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);

  if (problem) return <p role="alert">{problem}</p>;
  if (!summary) return <p aria-busy="true">Counting devices and alarms…</p>;
  return (
    <section class="summary" aria-label="Fleet summary">
      {(['online', 'offline', 'silent'] as const).map((state) => (
        <article class={`count ${state}`} data-testid={`count-${state}`}>
          <span class="value">{shown(summary.devices[state])}</span>
          <span class="label">{state}</span>
        </article>
      ))}
      <article class="count alarms" data-testid="active-alarms">
        <span class="label">active alarms</span>
        {summary.alarms === 'forbidden' ? (
          <span>{ROLE_MAY_NOT}</span>
        ) : (
          <ul>
            {SEVERITIES.map((severity) => (
              <li class={`severity ${severity}`}>
                {severity}: <strong>{shown((summary.alarms as Exclude<Summary['alarms'], 'forbidden'>)[severity])}</strong>
              </li>
            ))}
          </ul>
        )}
      </article>
    </section>
  );
}
