import { useState } from 'preact/hooks';
import { apiFetch, ApiError, ForbiddenError } from '../api';
import type { TwinView } from '../types';

type Outcome = { state: 'idle' } | { state: 'sending' } | { state: 'sent'; version: number } | { state: 'conflict'; sentAgainst: number } | { state: 'error'; message: string };

/**
 * Changes desired state with a JSON merge patch (PATCH …/twin/desired) sent with If-Match: the twin
 * version the operator was looking at when they started editing. When the twin moved on meanwhile
 * the server answers 412: the editor shows the current twin (the page follows it live) and offers
 * to send the same patch against it. A 403 hides the editor and says why.
 */
export function DesiredEditor({ twin }: { twin: TwinView }) {
  const [patch, setPatch] = useState('');
  // the version the edit is based on: fixed at the first keystroke, moved on only when the operator says so
  const [baseVersion, setBaseVersion] = useState<number | null>(null);
  const [outcome, setOutcome] = useState<Outcome>({ state: 'idle' });
  const [forbidden, setForbidden] = useState(false);

  async function send(against: number) {
    let body: unknown;
    try {
      body = JSON.parse(patch);
    } catch {
      return setOutcome({ state: 'error', message: 'The patch must be JSON, e.g. {"setpoint": 21} (null removes a key)' });
    }
    setOutcome({ state: 'sending' });
    try {
      const response = await apiFetch(`/devices/${encodeURIComponent(twin.deviceId)}/twin/desired`, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/merge-patch+json', 'If-Match': `"${against}"` },
        body: JSON.stringify(body),
      });
      const answer = (await response.json()) as Partial<TwinView>;
      setOutcome({ state: 'sent', version: answer.version ?? against });
      setPatch('');
      setBaseVersion(null);
    } catch (error) {
      if (error instanceof ForbiddenError) setForbidden(true);
      else if (error instanceof ApiError && error.status === 412) setOutcome({ state: 'conflict', sentAgainst: against });
      else setOutcome({ state: 'error', message: (error as Error).message });
    }
  }

  if (forbidden)
    return (
      <p role="alert" data-testid="desired-forbidden">
        Your role may not change desired state (an operator or admin may).
      </p>
    );
  const against = baseVersion ?? twin.version;
  return (
    <section aria-labelledby="desired-heading">
      <h2 id="desired-heading">Change desired state</h2>
      <form
        data-testid="desired-editor"
        onSubmit={(event) => {
          event.preventDefault();
          void send(against);
        }}
      >
        <label for="desired-patch">
          JSON merge patch (a key set to null is removed)
          <textarea
            id="desired-patch"
            name="patch"
            rows={4}
            placeholder='{"setpoint": 21}'
            value={patch}
            onInput={(event) => {
              if (baseVersion === null) setBaseVersion(twin.version);
              setPatch(event.currentTarget.value);
            }}
            aria-invalid={outcome.state === 'error' ? 'true' : undefined}
            aria-describedby="desired-help"
          />
          <small id="desired-help">{outcome.state === 'error' ? outcome.message : `Sent with If-Match: version ${against}, the twin you are looking at.`}</small>
        </label>
        <button type="submit" aria-busy={outcome.state === 'sending'} disabled={outcome.state === 'sending' || patch.trim() === ''}>
          Send patch
        </button>
      </form>
      {outcome.state === 'conflict' && (
        <div role="alert" data-testid="desired-conflict" class="conflict">
          <p>
            The twin changed since version {outcome.sentAgainst} (it is at version {twin.version} now): nothing was applied. Check the desired state above, then send your patch against
            the current version, or change it first.
          </p>
          <button type="button" onClick={() => (setBaseVersion(twin.version), void send(twin.version))}>
            Send against version {twin.version}
          </button>
        </div>
      )}
      {outcome.state === 'sent' && (
        <p role="status" data-testid="desired-sent">
          Applied: the twin is at version {outcome.version}.
        </p>
      )}
    </section>
  );
}
