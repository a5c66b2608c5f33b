import { useEffect, useState } from 'preact/hooks';
import { Link } from 'wouter-preact';
import { may, session } from '../session';
import { openTwinStream, STREAM_STATE_TEXT, StreamState } from '../stream';
import { connectivityOf, TwinView } from '../types';
import { CommandForm } from './command-form';
import { DeviceCommands } from './device-commands';
import { DeviceAlarms } from './device-alarms';
import { DesiredEditor } from './desired-editor';
import { TelemetryChart } from './telemetry-chart';

/** One device: its twin, live from the device's twin stream; its telemetry chart; its alarms; desired-state and command forms; its commands. */
export function DevicePage({ params }: { params: { deviceId: string } }) {
  const deviceId = decodeURIComponent(params.deviceId);
  const [twin, setTwin] = useState<TwinView | null>(null);
  const [stream, setStream] = useState<StreamState>('connecting');
  const [latestCommand, setLatestCommand] = useState<string | null>(null);

  // the device stream sends the current twin first, then every change
  useEffect(() => openTwinStream(`/devices/${encodeURIComponent(deviceId)}/twin/stream`, {}, { twin: setTwin, removed: () => setTwin(null), state: setStream }), [deviceId]);

  return (
    <>
      <nav aria-label="Breadcrumb">
        <ul>
          <li>
            <Link href="/fleet">Fleet</Link>
          </li>
          <li>{deviceId}</li>
        </ul>
      </nav>
      <h1>{deviceId}</h1>
      <p class={`stream ${stream}`} role="status" data-testid="stream-state">
        {STREAM_STATE_TEXT[stream]}
      </p>
      {twin === null ? (
        stream === 'connecting' || stream === 'live' ? <p aria-busy="true">Loading the twin…</p> : null
      ) : (
        <>
          <TwinPanel twin={twin} />
          <TelemetryChart deviceId={deviceId} metrics={Object.entries(twin.reported).filter(([, { value }]) => typeof value === 'number').map(([name]) => name)} />
          <DeviceAlarms deviceId={deviceId} />
          {/* shown by role; the server still refuses (403) what the role may not, and the forms say so */}
          {!may('desired:write') && !may('commands:write') && (
            <p data-testid="read-only">Your role ({session.identity()?.roles.join(', ')}) may read this device, not change its desired state or send it commands.</p>
          )}
          {may('desired:write') && <DesiredEditor twin={twin} />}
          {may('commands:write') && <CommandForm deviceId={deviceId} onSent={setLatestCommand} />}
          <DeviceCommands deviceId={deviceId} latest={latestCommand} />
        </>
      )}
    </>
  );
}

function TwinPanel({ twin }: { twin: TwinView }) {
  const connectivity = connectivityOf(twin);
  const names = [...new Set([...Object.keys(twin.reported), ...Object.keys(twin.desired)])].sort();
  return (
    <section aria-labelledby="twin-heading" data-testid="twin" data-version={twin.version}>
      <h2 id="twin-heading">Twin (version {twin.version})</h2>
      <p>
        <span class={`badge ${connectivity}`}>{connectivity}</span>
        {twin.connectivity.since && ` since ${new Date(twin.connectivity.since).toLocaleString()}`}
        {twin.connectivity.source && ` (from ${twin.connectivity.source})`}
        {twin.lastSeen && ` · last seen ${new Date(twin.lastSeen).toLocaleString()}`}
      </p>
      <div class="overflow-auto">
        <table class="twin">
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">Reported</th>
              <th scope="col">Reported at</th>
              <th scope="col">Desired</th>
            </tr>
          </thead>
          <tbody>
            {names.map((name) => {
              const reported = twin.reported[name];
              const pending = name in twin.delta;
              return (
                <tr key={name} data-field={name} data-delta={pending ? 'true' : undefined}>
                  <th scope="row">{name}</th>
                  <td data-testid="reported-value">{reported ? String(reported.value) : '—'}</td>
                  <td>{reported ? <time dateTime={reported.at}>{new Date(reported.at).toLocaleString()}</time> : '—'}</td>
                  <td>{name in twin.desired ? pending ? <mark title="desired, not yet reported">{JSON.stringify(twin.desired[name])}</mark> : JSON.stringify(twin.desired[name]) : '—'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {Object.keys(twin.delta).length > 0 && (
        <p data-testid="delta">
          Delta (desired, not yet reported): <mark>{Object.keys(twin.delta).join(', ')}</mark>
          {twin.desiredChangedBy && ` · desired last changed by ${twin.desiredChangedBy}`}
        </p>
      )}
    </section>
  );
}
