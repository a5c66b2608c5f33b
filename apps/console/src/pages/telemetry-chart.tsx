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
  count: number;
  last: number;
}

/** The time ranges offered, each with the rollup bucket that keeps it within a few thousand points. */
const RANGES = {
  hour: { label: 'Last hour', ms: 3_600_000, bucket: '1m' },
  day: { label: 'Last day', ms: 86_400_000, bucket: '1m' },
  week: { label: 'Last week', ms: 7 * 86_400_000, bucket: '1h' },
} as const;
type RangeName = keyof typeof RANGES;

type Load = { state: 'loading' } | { state: 'loaded'; points: RollupPoint[]; from: number; to: number } | { state: 'failed'; message: string };

/** A metric's per-minute or per-hour rollups (GET …/telemetry/rollup): average, with min and max. */
export function TelemetryChart({ deviceId, metrics }: { deviceId: string; metrics: string[] }) {
  const [metric, setMetric] = useState(metrics[0] ?? '');
  const [range, setRange] = useState<RangeName>('hour');
  const [load, setLoad] = useState<Load>({ state: 'loading' });

  useEffect(() => {
    if (!metric) return;
    let current = true;
    setLoad({ state: 'loading' });
    const to = Date.now();
    const { ms, bucket } = RANGES[range];
    getJson<{ points: RollupPoint[] }>(`/devices/${encodeURIComponent(deviceId)}/telemetry/rollup`, { bucket, metrics: metric, from: new Date(to - ms).toISOString(), to: new Date(to).toISOString() }).then(
      ({ points }) => current && setLoad({ state: 'loaded', points: points.filter((point) => point.metric === metric), from: to - ms, to }),
      (error: ApiError) => current && setLoad({ state: 'failed', message: error instanceof ForbiddenError ? ROLE_MAY_NOT : `Could not read the history: ${error.message}` }),
    );
    return () => {
      current = false;
    };
  }, [deviceId, metric, range]);

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
          <select name="range" value={range} onChange={(event) => setRange(event.currentTarget.value as RangeName)}>
            {Object.entries(RANGES).map(([name, { label }]) => (
              <option value={name}>{label}</option>
            ))}
          </select>
        </label>
      </div>
      {load.state === 'loading' && <p aria-busy="true">Loading the history…</p>}
      {load.state === 'failed' && <p role="alert">{load.message}</p>}
      {load.state === 'loaded' && (load.points.length === 0 ? <p data-testid="chart-empty">No readings of {metric} in this range yet.</p> : <Plot metric={metric} points={load.points} bucket={RANGES[range].bucket} from={load.from} to={load.to} />)}
    </section>
  );
}

/** The chart spans the whole range asked for, so a device that reported for five minutes shows as five minutes of an hour. */
function Plot({ metric, points, bucket, from, to }: { metric: string; points: RollupPoint[]; bucket: string; from: number; to: number }) {
  const container = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = container.current!;
    const data: uPlot.AlignedData = [points.map((point) => Date.parse(point.start) / 1000), points.map((point) => point.avg), points.map((point) => point.min), points.map((point) => point.max)];
    const plot = new uPlot(
      {
        title: `${metric}, per ${bucket === '1m' ? 'minute' : 'hour'}`,
        width: element.clientWidth || 800,
        height: 300,
        scales: { x: { time: true, range: () => [from / 1000, to / 1000] } },
        series: [{}, { label: 'avg', stroke: '#1d4ed8', width: 2 }, { label: 'min', stroke: '#15803d', dash: [4, 4] }, { label: 'max', stroke: '#b91c1c', dash: [4, 4] }],
      },
      data,
      element,
    );
    const resize = () => plot.setSize({ width: element.clientWidth, height: 300 });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [metric, points, bucket, from, to]);
  return <div ref={container} class="chart" data-testid="chart" data-points={points.length} role="img" aria-label={`${metric} over time: ${points.length} points`} />;
}
