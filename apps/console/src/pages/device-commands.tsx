import { useEffect, useState } from 'preact/hooks';
import { apiFetch, ApiError, ForbiddenError, getJson, ROLE_MAY_NOT } from '../api';
import { may } from '../session';

export interface CommandView {
  commandId: string;
  name: string;
  state: string;
  attempts: number;
  requestedBy: string | null;
  requestedAt: string;
  detail: string | null;
  history: { event: string; at: string; attempt: number | null; stage: string | null; detail: string | null }[];
}

export const TERMINAL = new Set(['succeeded', 'failed', 'rejected', 'timed_out', 'expired', 'cancelled']);
/** No stream carries command changes: the list is read again this often while a command has not ended. */
const POLL_MS = 1500;
const SHOWN = 20;

type Load = { state: 'loading' } | { state: 'loaded'; commands: CommandView[] } | { state: 'failed'; message: string };

/** The device's newest commands (GET /devices/:id/commands) with their state and the event history of each, and Cancel for those that have not ended. */
export function DeviceCommands({ deviceId, latest }: { deviceId: string; latest: string | null }) {
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [reads, setReads] = useState(0);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    getJson<{ commands: CommandView[] }>(`/devices/${encodeURIComponent(deviceId)}/commands`, { limit: SHOWN }).then(
      ({ commands }) => current && setLoad({ state: 'loaded', commands }),
      (error: ApiError) => current && setLoad({ state: 'failed', message: error instanceof ForbiddenError ? ROLE_MAY_NOT : `Could not read the commands: ${error.message}` }),
    );
    return () => {
      current = false;
    };
  }, [deviceId, latest, reads]);

  // read again while a command runs, or while the one just sent is not listed yet (the list is read from a view that follows the saga)
  const running = load.state === 'loaded' && (load.commands.some((command) => !TERMINAL.has(command.state)) || (latest !== null && !load.commands.some((command) => command.commandId === latest)));
  useEffect(() => {
    if (!running) return;
    const timer = setTimeout(() => setReads((n) => n + 1), POLL_MS);
    return () => clearTimeout(timer);
  }, [running, load]);

  async function cancel(command: CommandView) {
    setProblem(null);
    try {
      await apiFetch(`/commands/${encodeURIComponent(command.commandId)}/cancel`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    } catch (error) {
      setProblem(
        error instanceof ForbiddenError ? 'Your role may not cancel commands (an operator or admin may).' : error instanceof ApiError && error.status === 409 ? `${command.name} had already ended.` : `Could not cancel: ${(error as Error).message}`,
      );
    }
    setReads((n) => n + 1);
  }

  return (
    <section aria-labelledby="commands-heading">
      <h2 id="commands-heading">Commands</h2>
      {problem && <p role="alert">{problem}</p>}
      {load.state === 'loading' && <p aria-busy="true">Loading commands…</p>}
      {load.state === 'failed' && <p role="alert">{load.message}</p>}
      {load.state === 'loaded' && load.commands.length === 0 && <p>No command sent to this device yet.</p>}
      {load.state === 'loaded' &&
        load.commands.map((command) => (
          <details key={command.commandId} data-command={command.commandId}>
            <summary>
              <code>{command.name}</code> <strong data-testid="command-list-state">{command.state}</strong> · {new Date(command.requestedAt).toLocaleString()}
              {command.requestedBy && ` · by ${command.requestedBy}`} · {command.attempts} attempt{command.attempts === 1 ? '' : 's'}
            </summary>
            {!TERMINAL.has(command.state) && may('commands:write') && (
              <button type="button" class="secondary outline" onClick={() => void cancel(command)}>
                Cancel {command.name}
              </button>
            )}
            <ol data-testid="command-history">
              {command.history.map((entry) => (
                <li>
                  <time dateTime={entry.at}>{new Date(entry.at).toLocaleTimeString()}</time> {entry.event}
                  {entry.stage && ` (${entry.stage})`}
                  {entry.attempt !== null && `, attempt ${entry.attempt}`}
                  {entry.detail && `: ${entry.detail}`}
                </li>
              ))}
            </ol>
          </details>
        ))}
    </section>
  );
}
