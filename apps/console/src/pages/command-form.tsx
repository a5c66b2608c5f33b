import { useEffect, useState } from 'preact/hooks';
import { apiFetch, ApiError, ForbiddenError, getJson } from '../api';
import { TextField } from '../components/text-field';
import { CommandView, TERMINAL } from './device-commands';

const POLL_MS = 1000;

/**
 * Sends a command (POST /devices/:id/commands) and follows its state. Shown only to a role with
 * commands:write, but the server decides: a 403 hides the form and says why.
 */
export function CommandForm({ deviceId, onSent }: { deviceId: string; onSent(commandId: string): void }) {
  const [name, setName] = useState('');
  const [params, setParams] = useState('');
  const [ttlSeconds, setTtlSeconds] = useState('');
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
    if (ttlSeconds) body.ttlSeconds = Number(ttlSeconds);
    setErrors({});
    try {
      const response = await apiFetch(`/devices/${encodeURIComponent(deviceId)}/commands`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      const command = (await response.json()) as CommandView;
      setSent(command);
      onSent(command.commandId);
    } catch (error) {
      if (error instanceof ForbiddenError) setForbidden(true);
      else if (error instanceof ApiError) setErrors({ name: error.about('name').join('; '), params: error.about('params').join('; '), ttlSeconds: error.about('ttlSeconds').join('; '), form: error.message });
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
        <TextField label="TTL (seconds)" name="ttlSeconds" error={errors.ttlSeconds} value={ttlSeconds} onInput={setTtlSeconds} placeholder="3600" type="number" />
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
