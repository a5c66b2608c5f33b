import { cliContext } from '../apps/cli/src/cli-context';
import { createKey } from '../apps/cli/src/commands/keys.command';
import { EventStreamReader } from '../bench/support/event-stream-reader';
import { ServerProcess } from './support/server-process';
import { connectedTelemetryProducer, createTestStack, eventually, reading, stackEnv, TestStack } from './support/test-stack';

const DEVICE = 'limits-pump-1';

/** Abuse limits, audit lines and HTTP hardening, on the built service (`npm run build` first) and the real stack. */
describe('abuse limits and audit (e2e)', () => {
  let stack: TestStack;
  let server: ServerProcess;
  const keys: Record<string, string> = {};
  const as = (name: string) => ({ authorization: `Bearer ${keys[name]}` });

  beforeAll(async () => {
    stack = await createTestStack();
    const cli = cliContext('test', { ...process.env, ...stackEnv(stack) });
    for (const [name, role] of [['ops-a', 'operator'], ['ops-b', 'operator'], ['watcher', 'viewer']] as const) keys[name] = (await createKey(cli, name, role)).key;
    server = await (
      await ServerProcess.create(stack, { WRITE_RATE_LIMIT: '5', SSE_MAX_STREAMS_PER_PRINCIPAL: '2', LOG_LEVEL: 'info', CORS_ORIGINS: 'https://console.example.com' })
    ).start();
    const producer = await connectedTelemetryProducer(stack);
    await producer.send([reading(DEVICE, 1)]);
    await producer.disconnect();
    await eventually(() => server.request('GET', `/devices/${DEVICE}/twin`), (response) => response.status === 200, 60_000);
    await eventually(() => server.request('GET', '/devices', undefined, as('watcher')), (response) => response.status === 200);
  });

  afterAll(async () => {
    await server?.stop();
  });

  describe('when one principal writes faster than WRITE_RATE_LIMIT a minute', () => {
    it('answers 429 with Retry-After to that principal only, and never limits reads', async () => {
      const cancel = (name: string) => server.request('POST', '/commands/no-such-command/cancel', {}, as(name));
      for (let i = 0; i < 5; i++) expect((await cancel('ops-a')).status).toBe(404);
      const limited = await cancel('ops-a');
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await cancel('ops-b')).status).toBe(404);
      expect((await server.request('GET', `/devices/${DEVICE}/twin`, undefined, as('ops-a'))).status).toBe(200);
    });
  });

  describe('when one principal opens more than SSE_MAX_STREAMS_PER_PRINCIPAL streams', () => {
    it('refuses the next with 429 until one closes', async () => {
      const open = () => EventStreamReader.open(`${server.url}/devices/${DEVICE}/twin/stream`, as('watcher'));
      const first = await open();
      const second = await open();
      expect([first.status, second.status]).toEqual([200, 200]);
      const third = await open();
      expect(third.status).toBe(429);
      // another principal has streams of its own
      const other = await EventStreamReader.open(`${server.url}/devices/twins/stream`, as('ops-b'));
      expect(other.status).toBe(200);
      first.close();
      const again = await eventually(open, (stream) => stream.status === 200 || (stream.close(), false), 10_000);
      for (const stream of [second, third, other, again]) stream.close();
    });
  });

  describe('when writes are made', () => {
    it('logs one JSON audit line per write, refusals included, and never a credential', async () => {
      const created = await server.request<{ commandId: string }>('POST', `/devices/${DEVICE}/commands`, { name: 'reboot' }, as('ops-b'));
      expect(created.status).toBe(202);
      expect((await server.request('PATCH', `/devices/${DEVICE}/twin/desired`, { mode: 'eco' }, as('watcher'))).status).toBe(403);
      const audit = await eventually(
        // whole JSON lines only: the kept output may start in the middle of one
        async () => server.logs().split('\n').filter((line) => line.startsWith('{') && line.includes('"audit":true')).map((line) => JSON.parse(line) as Record<string, unknown>),
        (lines) => lines.some((line) => line.commandId === created.body.commandId) && lines.some((line) => line.method === 'PATCH'),
        10_000,
      );
      expect(audit).toContainEqual(
        expect.objectContaining({ actor: 'key:ops-b', method: 'POST', route: '/devices/:deviceId/commands', deviceId: DEVICE, commandId: created.body.commandId, status: 202, outcome: 'allowed' }),
      );
      expect(audit).toContainEqual(expect.objectContaining({ actor: 'key:watcher', method: 'PATCH', route: '/devices/:deviceId/twin/desired', deviceId: DEVICE, status: 403, outcome: 'denied' }));
      // pino-http logs every request with its headers: the secrets must be redacted there
      for (const key of Object.values(keys)) expect(server.logs()).not.toContain(key);
      expect(server.logs()).toContain('[redacted]');
    });
  });

  describe('HTTP hardening', () => {
    it('sends helmet headers and allows CORS only from CORS_ORIGINS', async () => {
      const preflight = (origin: string) =>
        fetch(`${server.url}/devices`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
      const allowed = await preflight('https://console.example.com');
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://console.example.com');
      expect(allowed.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
      expect((await preflight('https://evil.example.net')).headers.get('access-control-allow-origin')).toBeNull();
      const response = await fetch(`${server.url}/health`);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-powered-by')).toBeNull();
    });
  });
});
