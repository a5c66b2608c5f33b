import { useEffect, useState } from 'preact/hooks';
import { apiFetch, ApiError, ForbiddenError, getJson } from '../api';
import { TextField } from '../components/text-field';
import { CommandView, TERMINAL } from './device-commands';

const POLL_MS = 1000;

/** The optional numbers of a command request (POST body path, label, example): each empty one is left to the service's default. */
const TUNING = [
  { field: 'ttlSeconds', label: 'TTL (seconds)', placeholder: '3600' },
  { field: 'timeouts.deliverySeconds', label: 'Delivery timeout (s)', placeholder: '30' },
  { field: 'timeouts.acceptanceSeconds', label: 'Acceptance timeout (s)', placeholder: '60' },
  { field: 'timeouts.executionSeconds', label: 'Execution timeout (s)', placeholder: '600' },
  { field: 'maxAttempts', label: 'Delivery attempts', placeholder: '5' },
] as const;
type TuningField = (typeof TUNING)[number]['field'];

/**
 * Sends a command (POST /devices/:id/commands) and follows its state. Shown only to a role with
 * commands:write, but the server decides: a 403 hides the form and says why.
 */
export function CommandForm({ deviceId, onSent }: { deviceId: string; onSent(commandId: string): void }) {
  const [name, setName] = useState('');
  const [params, setParams] = useState('');
  const [tuning, setTuning] = useState<Partial<Record<TuningField, string>>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [forbidden, setForbidden] = useState(false);
  const [sent, setSent] = useState<CommandView | null>(null);

  useEffect(() => {
    if (!sent || TERMINAL.has(sent.state)) return;
    const timer = setTimeout(() => void getJson<CommandView>(`/commands/${encodeURIComponent(sent.commandId)}`).then(setSent, () => undefined), POLL_MS);
    return () => clearTimeout(timer);
  }, [sent]);

  async function submit(event: Event) {
    event.preventDefault();
    const body: Record<string, unknown> = { name };
    if (params.trim()) {
      try {
        body.params = JSON.parse(params);
      } catch {
        return setErrors({ params: 'params must be JSON, e.g. {"delaySeconds": 5}' });
      }
    }
    for (const { field } of TUNING) {
      const value = tuning[field];
      if (!value) continue;
      const [outer, inner] = field.split('.') as [string, string | undefined];
      if (inner === undefined) body[outer] = Number(value);
      else body[outer] = { ...(body[outer] as object | undefined), [inner]: Number(value) };
    }
    setErrors({});
    try {
      const response = await apiFetch(`/devices/${encodeURIComponent(deviceId)}/commands`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      const command = (await response.json()) as CommandView;
      setSent(command);
      onSent(command.commandId);
    } catch (error) {
      if (error instanceof ForbiddenError) setForbidden(true);
      else if (error instanceof ApiError) {
        const about = (field: string) => error.about(field).join('; ');
        setErrors({ name: about('name'), params: about('params'), ...Object.fromEntries(TUNING.map(({ field }) => [field, about(field)])), form: error.message });
      }
      else setErrors({ form: (error as Error).message });
    }
  }

  if (forbidden)
    return (
      <p role="alert" data-testid="command-forbidden">
        Your role may not send commands (an operator or admin may).
      </p>
    );
  return (
    <section aria-labelledby="command-heading">
      <h2 id="command-heading">Send a command</h2>
      <form onSubmit={submit} class="command-form" data-testid="command-form">
        <TextField label="Name" name="name" error={errors.name} value={name} onInput={setName} placeholder="reboot" required />
        <TextField label="Params (JSON object)" name="params" error={errors.params} value={params} onInput={setParams} placeholder='{"delaySeconds": 5}' />
        <details open={TUNING.some(({ field }) => errors[field])}>
          <summary>TTL, timeouts and attempts</summary>
          {TUNING.map(({ field, label, placeholder }) => (
            <TextField
              key={field}
              label={label}
              name={field}
              error={errors[field]}
              value={tuning[field] ?? ''}
              onInput={(value) => setTuning((current) => ({ ...current, [field]: value }))}
              placeholder={placeholder}
              type="number"
            />
          ))}
        </details>
        <button type="submit">Send command</button>
      </form>
      {errors.form && <p role="alert">{errors.form}</p>}
      {sent && (
        <p role="status" data-testid="command-state">
          Command <code>{sent.name}</code> ({sent.commandId}): <strong>{sent.state}</strong>
          {sent.detail && ` — ${sent.detail}`}
        </p>
      )}
    </section>
  );
}
