import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { ApiError, ForbiddenError, getJson, ROLE_MAY_NOT } from '../api';

interface RollupPoint {
  metric: string;
  start: string;
  min: number;
  max: number;
  avg: number;
}

interface Reading {
  eventTime: string;
  metrics: Record<string, number>;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Spans up to this long are drawn from the raw readings (at most RAW_LIMIT of them), longer ones from rollups. */
const RAW_SPAN_MS = 15 * MINUTE;
const RAW_LIMIT = 10_000;
/** Per-minute rollups up to this span (ROLLUP_MAX_BUCKETS is 10,000 buckets by default), per-hour beyond. */
const MINUTE_BUCKETS_SPAN_MS = 5000 * MINUTE;

const PRESETS = { hour: { label: 'Last hour', ms: HOUR }, day: { label: 'Last day', ms: 24 * HOUR }, week: { label: 'Last week', ms: 7 * 24 * HOUR } } as const;
type RangeChoice = keyof typeof PRESETS | 'custom';

/** What the chart shows: a span of time, drawn from rollups or raw readings by its length. */
interface Span {
  from: number;
  to: number;
}

type Series = { kind: 'raw' | '1m' | '1h'; times: number[]; values: number[][] };
type Load = { state: 'loading' } | { state: 'loaded'; series: Series } | { state: 'failed'; message: string };

/** A local datetime-local value for a time (the input has no time zone). */
const localInput = (ms: number) => new Date(ms - new Date(ms).getTimezoneOffset() * MINUTE).toISOString().slice(0, 16);

async function readSpan(deviceId: string, metric: string, { from, to }: Span): Promise<Series> {
  const path = `/devices/${encodeURIComponent(deviceId)}/telemetry`;
  const range = { metrics: metric, from: new Date(from).toISOString(), to: new Date(to).toISOString() };
  if (to - from <= RAW_SPAN_MS) {
    const { readings } = await getJson<{ readings: Reading[] }>(path, { ...range, limit: RAW_LIMIT });
    const points = readings.filter((reading) => reading.metrics[metric] !== undefined).reverse(); // newest first → oldest first
    return { kind: 'raw', times: points.map((reading) => Date.parse(reading.eventTime) / 1000), values: [points.map((reading) => reading.metrics[metric]!)] };
  }
  const bucket = to - from <= MINUTE_BUCKETS_SPAN_MS ? '1m' : '1h';
  const { points } = await getJson<{ points: RollupPoint[] }>(`${path}/rollup`, { ...range, bucket });
  const mine = points.filter((point) => point.metric === metric);
  return { kind: bucket, times: mine.map((point) => Date.parse(point.start) / 1000), values: [mine.map((point) => point.avg), mine.map((point) => point.min), mine.map((point) => point.max)] };
}

/**
 * A metric over time: per-minute or per-hour rollups (GET …/telemetry/rollup: average, min, max) for
 * the range picked; drag across the chart to zoom, and a span of 15 minutes or less is drawn from the
 * raw readings (GET …/telemetry).
 */
export function TelemetryChart({ deviceId, metrics }: { deviceId: string; metrics: string[] }) {
  const [metric, setMetric] = useState(metrics[0] ?? '');
  const [choice, setChoice] = useState<RangeChoice>('hour');
  const [custom, setCustom] = useState(() => ({ from: localInput(Date.now() - HOUR), to: localInput(Date.now()) }));
  const [span, setSpan] = useState<Span>(() => ({ from: Date.now() - HOUR, to: Date.now() }));
  const [zoomed, setZoomed] = useState(false);
  const [load, setLoad] = useState<Load>({ state: 'loading' });

  const pick = (next: RangeChoice) => {
    setChoice(next);
    setZoomed(false);
    if (next !== 'custom') setSpan({ from: Date.now() - PRESETS[next].ms, to: Date.now() });
  };

  useEffect(() => {
    if (!metric) return;
    let current = true;
    setLoad({ state: 'loading' });
    readSpan(deviceId, metric, span).then(
      (series) => current && setLoad({ state: 'loaded', series }),
      (error: ApiError) => current && setLoad({ state: 'failed', message: error instanceof ForbiddenError ? ROLE_MAY_NOT : `Could not read the history: ${error.message}` }),
    );
    return () => {
      current = false;
    };
  }, [deviceId, metric, span]);

  if (metrics.length === 0) return <p>This device reports no numeric metric to chart.</p>;
  return (
    <section aria-labelledby="chart-heading">
      <h2 id="chart-heading">Telemetry</h2>
      <div class="chart-controls">
        <label>
          Metric
          <select name="metric" value={metric} onChange={(event) => setMetric(event.currentTarget.value)}>
            {metrics.map((name) => (
              <option value={name}>{name}</option>
            ))}
          </select>
        </label>
        <label>
          Time range
          <select name="range" value={choice} onChange={(event) => pick(event.currentTarget.value as RangeChoice)}>
            {Object.entries(PRESETS).map(([name, { label }]) => (
              <option value={name}>{label}</option>
            ))}
            <option value="custom">Custom…</option>
          </select>
        </label>
        {choice === 'custom' && (
          <form
            class="custom-range"
            onSubmit={(event) => {
              event.preventDefault();
              setZoomed(false);
              setSpan({ from: new Date(custom.from).getTime(), to: new Date(custom.to).getTime() });
            }}
          >
            <label>
              From
              <input type="datetime-local" name="from" value={custom.from} onInput={(event) => setCustom({ ...custom, from: event.currentTarget.value })} />
            </label>
            <label>
              To
              <input type="datetime-local" name="to" value={custom.to} onInput={(event) => setCustom({ ...custom, to: event.currentTarget.value })} />
            </label>
            <button type="submit">Show</button>
          </form>
        )}
        {zoomed && (
          <button type="button" class="secondary outline" onClick={() => (choice === 'custom' ? (setZoomed(false), setSpan({ from: new Date(custom.from).getTime(), to: new Date(custom.to).getTime() })) : pick(choice))}>
            Reset zoom
          </button>
        )}
      </div>
      {load.state === 'loading' && <p aria-busy="true">Loading the history…</p>}
      {load.state === 'failed' && <p role="alert">{load.message}</p>}
      {load.state === 'loaded' &&
        (load.series.times.length === 0 ? (
          <p data-testid="chart-empty">No readings of {metric} in this range.</p>
        ) : (
          <Plot
            metric={metric}
            series={load.series}
            span={span}
            onZoom={(next) => {
              setZoomed(true);
              setSpan(next);
            }}
          />
        ))}
    </section>
  );
}

const TITLES = { raw: 'raw readings', '1m': 'per minute', '1h': 'per hour' } as const;

/** The chart spans the whole range asked for, so a device that reported for five minutes shows as five minutes of an hour. */
function Plot({ metric, series, span, onZoom }: { metric: string; series: Series; span: Span; onZoom(span: Span): void }) {
  const container = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = container.current!;
    const lines: uPlot.Series[] =
      series.kind === 'raw'
        ? [{}, { label: metric, stroke: '#1d4ed8', width: 1, points: { show: true, size: 4 } }]
        : [{}, { label: 'avg', stroke: '#1d4ed8', width: 2 }, { label: 'min', stroke: '#15803d', dash: [4, 4] }, { label: 'max', stroke: '#b91c1c', dash: [4, 4] }];
    const plot = new uPlot(
      {
        title: `${metric}, ${TITLES[series.kind]}`,
        width: element.clientWidth || 800,
        height: 300,
        scales: { x: { time: true, range: () => [span.from / 1000, span.to / 1000] } },
        series: lines,
        // a drag across the chart selects a span: it is read again, from raw readings when short enough
        cursor: { drag: { x: true, y: false, setScale: false } },
        hooks: {
          setSelect: [
            (chart) => {
              if (chart.select.width < 2) return;
              const from = chart.posToVal(chart.select.left, 'x') * 1000;
              const to = chart.posToVal(chart.select.left + chart.select.width, 'x') * 1000;
              onZoom({ from: Math.floor(from), to: Math.ceil(to) });
            },
          ],
        },
      },
      [series.times, ...series.values],
      element,
    );
    const resize = () => plot.setSize({ width: element.clientWidth, height: 300 });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [metric, series, span]);
  return <div ref={container} class="chart" data-testid="chart" data-kind={series.kind} data-points={series.times.length} role="img" aria-label={`${metric} over time (${TITLES[series.kind]}): ${series.times.length} points; drag across it to zoom`} />;
}
