import { useEffect, useState } from 'preact/hooks';
import { ApiError, ForbiddenError, ROLE_MAY_NOT, useGet } from '../api';
import { CursorPager, useCursorPages } from '../components/cursor-pager';
import { openStream, STREAM_STATE_TEXT, useStreamState } from '../stream';
import { acknowledgeAlarm, AlarmsTable, AlarmView, SEVERITIES, upsertAlarm } from './alarms-table';

interface Filters {
  state: '' | 'active' | 'cleared';
  severity: string;
  ruleId: string;
  deviceId: string;
}

const NO_FILTERS: Filters = { state: 'active', severity: '', ruleId: '', deviceId: '' };
const PAGE = 50;


/**
 * Alarms across the fleet (GET /alerts), filtered by state, severity, rule and device, paged by
 * cursor, with Acknowledge. Alarms raised, acknowledged or cleared while the page is open come from
 * the alarm stream (same filters): a new one appears at the top of the first page.
 */
export function AlarmsPage() {
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const pages = useCursorPages();
  const { cursor } = pages;
  // back live after a gap: the page is read again (the stream does not replay what it missed)
  const [stream, setStream, resumed] = useStreamState();
  const [problem, setProblem] = useState<string | null>(null);
  const [reads, setReads] = useState(0);

  const [load, setLoad] = useGet<{ alarms: AlarmView[]; nextCursor?: string }>('/alerts', { ...filters, limit: PAGE, cursor }, [filters, cursor, reads, resumed]);

  useEffect(
    () =>
      openStream('/alerts/stream', { state: filters.state || undefined, severity: filters.severity || undefined, ruleId: filters.ruleId || undefined, deviceId: filters.deviceId || undefined }, {
        events: {
          alarm: (data) =>
            setLoad((shown) => {
              if (shown.state !== 'loaded') return shown;
              const alarm = data as AlarmView;
              const onPage = shown.alarms.some((row) => row.deviceId === alarm.deviceId && row.ruleId === alarm.ruleId);
              return onPage || cursor === undefined ? { ...shown, alarms: upsertAlarm(shown.alarms, alarm) } : shown;
            }),
        },
        state: setStream,
      }),
    [filters, cursor],
  );

  const apply = (event: Event) => {
    event.preventDefault();
    pages.restart();
    setFilters(draft);
  };
  const error = load.state === 'failed' ? load.error : undefined;
  const about = (field: string) => (error instanceof ApiError ? error.about(field).join('; ') : '');

  return (
    <>
      <h1>Alarms</h1>
      <form class="filters" onSubmit={apply} aria-label="Alarm filters">
        <label>
          State
          <select name="state" value={draft.state} onChange={(event) => setDraft({ ...draft, state: event.currentTarget.value as Filters['state'] })}>
            <option value="active">active</option>
            <option value="cleared">cleared (recent)</option>
            <option value="">any</option>
          </select>
        </label>
        <label>
          Severity
          <select name="severity" value={draft.severity} onChange={(event) => setDraft({ ...draft, severity: event.currentTarget.value })}>
            <option value="">any</option>
            {SEVERITIES.map((severity) => (
              <option value={severity}>{severity}</option>
            ))}
          </select>
        </label>
        <label>
          Rule id
          <input name="ruleId" value={draft.ruleId} onInput={(event) => setDraft({ ...draft, ruleId: event.currentTarget.value })} aria-invalid={about('ruleId') ? 'true' : undefined} />
          {about('ruleId') && <small>{about('ruleId')}</small>}
        </label>
        <label>
          Device
          <input name="deviceId" value={draft.deviceId} onInput={(event) => setDraft({ ...draft, deviceId: event.currentTarget.value })} aria-invalid={about('deviceId') ? 'true' : undefined} />
          {about('deviceId') && <small>{about('deviceId')}</small>}
        </label>
        <div class="actions">
          <button type="submit">Apply filters</button>
        </div>
      </form>
      <p class={`stream ${stream}`} role="status" data-testid="stream-state">
        {stream === 'live' ? 'Live: alarms appear as they are raised, acknowledged or cleared' : STREAM_STATE_TEXT[stream]}
      </p>
      {problem && <p role="alert">{problem}</p>}
      {load.state === 'loading' && <p aria-busy="true">Loading alarms…</p>}
      {load.state === 'failed' && <p role="alert">{load.error instanceof ForbiddenError ? ROLE_MAY_NOT : `Could not load alarms: ${load.error.message}`}</p>}
      {load.state === 'loaded' &&
        (load.alarms.length === 0 ? (
          <p data-testid="alarms-empty">No alarm matches.</p>
        ) : (
          <AlarmsTable alarms={load.alarms} showDevice onAcknowledge={(alarm) => void acknowledgeAlarm(alarm).then((outcome) => (setProblem(outcome), setReads((n) => n + 1)))} />
        ))}
      <CursorPager pages={pages} nextCursor={load.state === 'loaded' ? load.nextCursor : undefined} />
    </>
  );
}
