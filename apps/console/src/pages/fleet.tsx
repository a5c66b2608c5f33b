import { useEffect, useState } from 'preact/hooks';
import { ApiError, ForbiddenError, getJson, ROLE_MAY_NOT } from '../api';
import { openTwinStream, STREAM_STATE_TEXT, useStreamState } from '../stream';
import { Link } from 'wouter-preact';
import { connectivityOf, DevicesPage, TwinView } from '../types';
import { CursorPager, useCursorPages } from '../components/cursor-pager';
import { TextField } from '../components/text-field';
import { FleetSummary } from './fleet-summary';

/** The GET /devices filters, as the form holds them (empty: not filtered). */
interface Filters {
  online: '' | 'true' | 'false';
  attribute: string;
  metric: string;
  lastSeenAfter: string;
  lastSeenBefore: string;
}

const NO_FILTERS: Filters = { online: '', attribute: '', metric: '', lastSeenAfter: '', lastSeenBefore: '' };
const PAGE_SIZES = [25, 50, 100] as const;

/** The filters as query parameters: datetime-local values are local times, the API wants ISO 8601. */
function filterQuery(filters: Filters): Record<string, string | undefined> {
  const iso = (local: string) => (local ? new Date(local).toISOString() : undefined);
  return { online: filters.online || undefined, attribute: filters.attribute || undefined, metric: filters.metric || undefined, lastSeenAfter: iso(filters.lastSeenAfter), lastSeenBefore: iso(filters.lastSeenBefore) };
}

type Load = { state: 'loading' } | { state: 'loaded'; page: DevicesPage } | { state: 'failed'; error: ApiError | Error };

export function FleetPage() {
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [limit, setLimit] = useState<number>(PAGE_SIZES[0]);
  const pages = useCursorPages();
  const { cursor } = pages;
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [rows, setRows] = useState<TwinView[]>([]);
  const [updated, setUpdated] = useState<Set<string>>(new Set());
  // back live after a gap: the page is read again (the stream does not replay what it missed)
  const [stream, setStream, resumed] = useStreamState();

  useEffect(() => {
    let current = true;
    setLoad({ state: 'loading' });
    getJson<DevicesPage>('/devices', { ...filterQuery(filters), limit, cursor }).then(
      (page) => current && (setLoad({ state: 'loaded', page }), setRows(page.devices), setUpdated(new Set())),
      (error: Error) => current && setLoad({ state: 'failed', error }),
    );
    return () => {
      current = false;
    };
  }, [filters, limit, cursor, resumed]);

  // rows on this page follow the twin stream; devices elsewhere in the fleet are another page's business
  useEffect(
    () =>
      openTwinStream('/devices/twins/stream', filterQuery(filters), {
        twin: (twin) => {
          setRows((shown) => (shown.some((row) => row.deviceId === twin.deviceId) ? shown.map((row) => (row.deviceId === twin.deviceId && twin.version > row.version ? twin : row)) : shown));
          setUpdated((ids) => new Set(ids).add(twin.deviceId));
        },
        removed: (deviceId) => setRows((shown) => shown.filter((row) => row.deviceId !== deviceId)),
        state: setStream,
      }),
    [filters],
  );

  /** What the API said about a filter, beside its field. */
  const fieldError = (field: keyof Filters) => (load.state === 'failed' && load.error instanceof ApiError ? load.error.about(field).join('; ') || undefined : undefined);
  const apply = (event: Event) => {
    event.preventDefault();
    pages.restart();
    setFilters(draft);
  };
  const page = load.state === 'loaded' ? load.page : undefined;

  return (
    <>
      <h1>Fleet</h1>
      <FleetSummary />
      <form class="filters" onSubmit={apply} aria-label="Device filters">
        <label>
          Connectivity
          <select name="online" value={draft.online} onChange={(event) => setDraft({ ...draft, online: event.currentTarget.value as Filters['online'] })}>
            <option value="">any</option>
            <option value="true">online</option>
            <option value="false">offline or silent</option>
          </select>
        </label>
        <TextField label="Attribute (name:value)" name="attribute" placeholder="firmware:1.5.0" value={draft.attribute} error={fieldError('attribute')} onInput={(attribute) => setDraft({ ...draft, attribute })} />
        <TextField label="Metric range (name:min:max)" name="metric" placeholder="battery::20" value={draft.metric} error={fieldError('metric')} onInput={(metric) => setDraft({ ...draft, metric })} />
        <TextField label="Last seen after" name="lastSeenAfter" type="datetime-local" value={draft.lastSeenAfter} error={fieldError('lastSeenAfter')} onInput={(lastSeenAfter) => setDraft({ ...draft, lastSeenAfter })} />
        <TextField label="Last seen before" name="lastSeenBefore" type="datetime-local" value={draft.lastSeenBefore} error={fieldError('lastSeenBefore')} onInput={(lastSeenBefore) => setDraft({ ...draft, lastSeenBefore })} />
        <div class="actions">
          <button type="submit">Apply filters</button>
          <button type="button" class="secondary outline" onClick={() => (setDraft(NO_FILTERS), pages.restart(), setFilters(NO_FILTERS))}>
            Clear
          </button>
        </div>
      </form>
      <p class={`stream ${stream}`} role="status" data-testid="stream-state">
        {stream === 'live' ? 'Live: rows update as devices report' : STREAM_STATE_TEXT[stream]}
      </p>
      <DeviceTable load={load} rows={rows} updated={updated} />
      <CursorPager pages={pages} nextCursor={page?.nextCursor}>
        <label class="page-size">
          Per page
          <select name="limit" value={limit} onChange={(event) => (pages.restart(), setLimit(Number(event.currentTarget.value)))}>
            {PAGE_SIZES.map((size) => (
              <option value={size}>{size}</option>
            ))}
          </select>
        </label>
      </CursorPager>
    </>
  );
}

function DeviceTable({ load, rows, updated }: { load: Load; rows: TwinView[]; updated: Set<string> }) {
  if (load.state === 'loading') return <p aria-busy="true">Loading devices…</p>;
  if (load.state === 'failed') {
    const { error } = load;
    const message = error instanceof ForbiddenError ? ROLE_MAY_NOT : error instanceof ApiError && error.status === 400 ? `Check the filters: ${error.message}` : `Could not load devices: ${error.message}`;
    return (
      <p role="alert" data-testid="devices-error">
        {message}
      </p>
    );
  }
  if (rows.length === 0)
    return (
      <p data-testid="devices-empty">
        {load.page.nextCursor ? 'No device on this stretch of the fleet matches; Next reads on.' : 'No device matches. Devices appear with their first telemetry.'}
      </p>
    );
  return (
    <div class="overflow-auto">
      <table class="striped devices" data-testid="devices">
        <thead>
          <tr>
            <th scope="col">Device</th>
            <th scope="col">Connectivity</th>
            <th scope="col">Last seen</th>
            <th scope="col">Reported</th>
            <th scope="col">Pending desired</th>
            <th scope="col">Version</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((twin) => {
            const connectivity = connectivityOf(twin);
            const pending = Object.keys(twin.delta);
            return (
              <tr key={twin.deviceId} data-device={twin.deviceId} data-updated={updated.has(twin.deviceId) ? 'true' : undefined}>
                <th scope="row">
                  <Link href={`/fleet/${encodeURIComponent(twin.deviceId)}`}>{twin.deviceId}</Link>
                </th>
                <td>
                  <span class={`badge ${connectivity}`}>{connectivity}</span>
                  {twin.connectivity.source && <small> ({twin.connectivity.source})</small>}
                </td>
                <td>{twin.lastSeen ? <time dateTime={twin.lastSeen}>{new Date(twin.lastSeen).toLocaleString()}</time> : '—'}</td>
                <td class="reported">
                  {Object.entries(twin.reported)
                    .slice(0, 4)
                    .map(([name, { value }]) => `${name}=${typeof value === 'number' ? Number(value.toFixed(2)) : value}`)
                    .join(', ')}
                </td>
                <td>{pending.length === 0 ? 'none' : <mark>{pending.join(', ')}</mark>}</td>
                <td data-testid="version">{twin.version}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
