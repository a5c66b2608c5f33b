import { useEffect, useState } from 'preact/hooks';
import { ApiError, ForbiddenError, getJson, ROLE_MAY_NOT } from '../api';
import { FleetSummary as Summary } from '../types';
import { SEVERITIES } from './alarms-table';

const REFRESH_MS = 15_000;

const perSecond = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

/** The telemetry-reading group's name without the topic prefix: `history-writer`, `twin-processor`, … */
const shortGroup = (group: string) => group.slice(group.lastIndexOf('.') + 1);

/** The fleet page's header: exact counts, active alarms and ingest figures from GET /devices/summary. */
export function FleetSummary() {
  const [summary, setSummary] = useState<Summary | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    let stopped = false;
    const refresh = () =>
      getJson<Summary>('/devices/summary').then(
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
  const { devices, activeAlarms, ingest } = summary;
  return (
    <section class="summary" aria-label="Fleet summary">
      {(['online', 'offline', 'silent'] as const).map((state) => (
        <article class={`count ${state}`} data-testid={`count-${state}`}>
          <span class="value">{devices[state]}</span>
          <span class="label">{state}</span>
        </article>
      ))}
      <article class="count alarms" data-testid="active-alarms">
        <span class="label">active alarms</span>
        <ul>
          {SEVERITIES.map((severity) => (
            <li class={`severity ${severity}`}>
              {severity}: <strong>{activeAlarms[severity] ?? 0}</strong>
            </li>
          ))}
        </ul>
      </article>
      <article class="count ingest" data-testid="ingest">
        <span class="label">ingest</span>
        <span data-testid="ingest-rate" title={`measured by ${ingest.measuredBy}, over the last minute`}>
          {ingest.recordsPerSecond === null ? `no history writer on ${ingest.measuredBy}` : `${perSecond.format(ingest.recordsPerSecond)} records/s on ${ingest.measuredBy}`}
        </span>
        {ingest.lag === null ? (
          <span data-testid="ingest-lag">lag unknown: Kafka did not answer</span>
        ) : (
          <ul data-testid="ingest-lag">
            {ingest.lag.map(({ group, records }) => (
              <li>
                {shortGroup(group)} lag: <strong>{records}</strong>
              </li>
            ))}
          </ul>
        )}
      </article>
    </section>
  );
}
