import { Role } from '@fleetstream/domain';
import { INestApplication } from '@nestjs/common';
import { createKey, revokeKey } from '../apps/cli/src/commands/keys.command';
import { cliContext } from '../apps/cli/src/cli-context';
import { OidcIssuer } from './support/oidc-issuer';
import { adminHeaders } from './support/http';
import { startTestApp } from './support/test-app';
import { connectedTelemetryProducer, createTestStack, eventually, reading, stackEnv, TestStack } from './support/test-stack';

type Caller = 'anonymous' | Role | 'revoked key' | 'expired JWT' | 'JWT for another audience' | 'operator JWT';

interface Route {
  method: string;
  path: string;
  body?: unknown;
  /** Roles that may call it; null: public. */
  roles: readonly Role[] | null;
  /** The answer to a caller who may: what the route itself says for this request. */
  allowed: number;
  sse?: boolean;
}

const DEVICE = 'access-pump-1';
const READERS: Role[] = ['viewer', 'operator', 'admin'];
const EVERY_ROLE: Role[] = ['viewer', 'operator', 'admin', 'analyst', 'metrics'];
const OVERHEAT_RULE = { name: 'overheat', severity: 'major', condition: { type: 'threshold', metric: 'temperature', op: '>', value: 80 } };
const UNKNOWN_RULE = '00000000-0000-4000-8000-000000000000';

/**
 * Every route against every kind of caller, on the whole service (real Kafka, registry, chdb): keys
 * made and revoked with the CLI's own functions on fleet.api-keys, tokens signed by a key pair made
 * here and checked against its JWKS served over HTTP.
 */
describe('access to every route (e2e)', () => {
  let stack: TestStack;
  let app: INestApplication;
  let baseUrl: string;
  let issuer: OidcIssuer;
  let commandId: string;
  const credentials = new Map<Caller, Record<string, string>>();

  beforeAll(async () => {
    stack = await createTestStack();
    issuer = await new OidcIssuer().start();
    Object.assign(process.env, issuer.env());
    const cli = cliContext('test', { ...process.env, ...stackEnv(stack) });
    for (const role of ['viewer', 'operator', 'admin', 'analyst', 'metrics'] as const) {
      const created = await createKey(cli, `test-${role}`, role);
      // half the keys in X-API-Key, half as bearers: both headers are tried on every route
      credentials.set(role, role === 'viewer' || role === 'metrics' ? { 'x-api-key': created.key } : { authorization: `Bearer ${created.key}` });
    }
    const revoked = await createKey(cli, 'test-revoked', 'admin');
    await revokeKey(cli, 'test-revoked');
    credentials.set('revoked key', { authorization: `Bearer ${revoked.key}` });
    credentials.set('anonymous', {});
    const past = Math.floor(Date.now() / 1000) - 7200;
    credentials.set('expired JWT', { authorization: `Bearer ${issuer.token({ sub: 'alice', roles: ['admin'], iat: past, exp: past + 3600 })}` });
    credentials.set('JWT for another audience', { authorization: `Bearer ${issuer.token({ sub: 'alice', roles: ['admin'], aud: 'another-api' })}` });
    credentials.set('operator JWT', { authorization: `Bearer ${issuer.token({ sub: 'bob@example.com', roles: ['operator'] })}` });

    app = await startTestApp(stack);
    await app.listen(0, '127.0.0.1');
    baseUrl = await app.getUrl();
    const producer = await connectedTelemetryProducer(stack);
    await producer.send([reading(DEVICE, 1)]);
    await producer.disconnect();
    await eventually(() => call('GET', `/devices/${DEVICE}/twin`, adminHeaders), (response) => response.status === 200, 60_000);
    // the revoked key's record must be in the view before the table runs
    await eventually(() => call('GET', '/devices', credentials.get('revoked key')!), (response) => response.status === 401);
    const command = await call('POST', `/devices/${DEVICE}/commands`, adminHeaders, { name: 'reboot' });
    commandId = (command.body as { commandId: string }).commandId;
  });

  afterAll(async () => {
    await app?.close();
    await issuer?.stop();
  });

  async function call(method: string, path: string, headers: Record<string, string>, body?: unknown, sse = false) {
    const abort = new AbortController();
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(sse ? { accept: 'text/event-stream' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: abort.signal,
    });
    // an event stream never ends: its status is all this table needs
    const text = sse && response.status === 200 ? '' : await response.text();
    abort.abort();
    return { status: response.status, body: text && response.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as unknown) : text };
  }

  const routes = (): Route[] => [
    { method: 'GET', path: '/health', roles: null, allowed: 200 },
    { method: 'GET', path: '/ready', roles: null, allowed: 200 },
    { method: 'GET', path: '/metrics', roles: ['metrics', 'admin'], allowed: 200 },
    { method: 'GET', path: '/auth/whoami', roles: EVERY_ROLE, allowed: 200 },
    { method: 'GET', path: '/devices', roles: READERS, allowed: 200 },
    { method: 'GET', path: '/devices/summary', roles: READERS, allowed: 200 },
    { method: 'GET', path: `/devices/${DEVICE}/twin`, roles: READERS, allowed: 200 },
    { method: 'GET', path: '/devices/twins/stream', roles: READERS, allowed: 200, sse: true },
    { method: 'GET', path: `/devices/${DEVICE}/twin/stream`, roles: READERS, allowed: 200, sse: true },
    { method: 'PATCH', path: `/devices/${DEVICE}/twin/desired`, body: { mode: 'eco' }, roles: ['operator', 'admin'], allowed: 200 },
    // an unknown device: the admin passes the guards and gets the route's own 404, and nothing is deleted
    { method: 'DELETE', path: '/devices/no-such-device', roles: ['admin'], allowed: 404 },
    { method: 'GET', path: `/devices/${DEVICE}/telemetry`, roles: [...READERS, 'analyst'], allowed: 200 },
    { method: 'GET', path: `/devices/${DEVICE}/telemetry/rollup?bucket=1m`, roles: [...READERS, 'analyst'], allowed: 200 },
    { method: 'POST', path: `/devices/${DEVICE}/commands`, body: { name: 'reboot' }, roles: ['operator', 'admin'], allowed: 202 },
    { method: 'GET', path: `/devices/${DEVICE}/commands`, roles: READERS, allowed: 200 },
    { method: 'GET', path: `/commands/${commandId}`, roles: READERS, allowed: 200 },
    { method: 'POST', path: '/commands/no-such-command/cancel', body: {}, roles: ['operator', 'admin'], allowed: 404 },
    { method: 'POST', path: '/alert-rules', body: OVERHEAT_RULE, roles: ['operator', 'admin'], allowed: 201 },
    { method: 'GET', path: '/alert-rules', roles: READERS, allowed: 200 },
    { method: 'GET', path: '/alerts', roles: READERS, allowed: 200 },
    { method: 'GET', path: `/devices/${DEVICE}/alerts`, roles: READERS, allowed: 200 },
    { method: 'GET', path: '/alerts/stream', roles: READERS, allowed: 200, sse: true },
    // an unknown rule: callers who may pass the guards get the route's own 404, and nothing changes
    { method: 'GET', path: `/alert-rules/${UNKNOWN_RULE}`, roles: READERS, allowed: 404 },
    { method: 'PUT', path: `/alert-rules/${UNKNOWN_RULE}`, body: OVERHEAT_RULE, roles: ['operator', 'admin'], allowed: 404 },
    { method: 'DELETE', path: `/alert-rules/${UNKNOWN_RULE}`, roles: ['operator', 'admin'], allowed: 404 },
    // an unknown alarm: callers who may acknowledge get the route's own 404
    { method: 'POST', path: `/alerts/${UNKNOWN_RULE}:no-such-device:1/acknowledge`, body: {}, roles: ['operator', 'admin'], allowed: 404 },
    { method: 'GET', path: '/dead-letters', roles: ['admin'], allowed: 200 },
    { method: 'GET', path: '/dead-letters/summary', roles: ['admin'], allowed: 200 },
  ];

  function expected(route: Route, caller: Caller): number {
    if (route.roles === null) return route.allowed;
    if (['anonymous', 'revoked key', 'expired JWT', 'JWT for another audience'].includes(caller)) return 401;
    const roles: Role[] = caller === 'operator JWT' ? ['operator'] : [caller as Role];
    return roles.some((role) => route.roles!.includes(role)) ? route.allowed : 403;
  }

  const callers: Caller[] = ['anonymous', 'viewer', 'operator', 'analyst', 'metrics', 'admin', 'revoked key', 'expired JWT', 'JWT for another audience', 'operator JWT'];

  it('answers every route for every caller with the status its role allows', async () => {
    const table: string[] = [];
    const wrong: string[] = [];
    for (const route of routes()) {
      for (const caller of callers) {
        const response = await call(route.method, route.path, credentials.get(caller)!, route.body, route.sse);
        const want = expected(route, caller);
        table.push(`${route.method} ${route.path} as ${caller}: ${response.status}`);
        if (response.status !== want) wrong.push(`${route.method} ${route.path} as ${caller}: ${response.status}, expected ${want} ${JSON.stringify(response.body).slice(0, 200)}`);
        if (want === 401 || want === 403) {
          // each refusal is JSON that names the roles the route needs
          expect(response.body).toMatchObject({ statusCode: want, requiredRoles: route.roles });
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(table).toHaveLength(routes().length * callers.length);
  });

  it('tells every caller who it is, its roles and its rights, and nothing secret', async () => {
    const whoami = async (headers: Record<string, string>) => {
      const response = await call('GET', '/auth/whoami', headers);
      expect(response.status).toBe(200);
      return response.body as { actor: string; kind: string; roles: string[]; rights: string[] };
    };
    const operator = credentials.get('operator')!;
    expect(await whoami(credentials.get('viewer')!)).toEqual({
      actor: 'key:test-viewer',
      kind: 'api-key',
      roles: ['viewer'],
      rights: ['twins:read', 'history:read', 'commands:read', 'alert-rules:read', 'alerts:read', 'identity:read'],
    });
    expect(await whoami(operator)).toEqual({
      actor: 'key:test-operator',
      kind: 'api-key',
      roles: ['operator'],
      rights: ['twins:read', 'history:read', 'commands:read', 'commands:write', 'desired:write', 'alert-rules:read', 'alert-rules:write', 'alerts:acknowledge', 'alerts:read', 'identity:read'],
    });
    expect(await whoami(credentials.get('metrics')!)).toMatchObject({ actor: 'key:test-metrics', roles: ['metrics'], rights: ['metrics:read', 'identity:read'] });
    expect(await whoami(credentials.get('analyst')!)).toMatchObject({ roles: ['analyst'], rights: ['history:read', 'sql:read', 'identity:read'] });
    expect((await whoami(credentials.get('admin')!)).rights).toContain('devices:delete');
    // the key itself is never echoed
    const operatorKey = operator.authorization!.replace('Bearer ', '');
    expect(JSON.stringify(await whoami(operator))).not.toContain(operatorKey.slice(4, 20));
    expect(await whoami(credentials.get('operator JWT')!)).toMatchObject({ actor: 'oidc:bob@example.com', kind: 'oidc', roles: ['operator'] });
    const twoRoles = await whoami({ authorization: `Bearer ${issuer.token({ sub: 'carol', roles: ['viewer', 'analyst'] })}` });
    expect(twoRoles).toEqual({ actor: 'oidc:carol', kind: 'oidc', roles: ['viewer', 'analyst'], rights: ['twins:read', 'history:read', 'commands:read', 'sql:read', 'alert-rules:read', 'alerts:read', 'identity:read'] });
  });

  it('documents GET /auth/whoami in OpenAPI, for every role', async () => {
    const document = (await call('GET', '/docs/openapi.json', {})).body as { paths: Record<string, Record<string, { 'x-fleetstream-roles': string[]; responses: Record<string, unknown> }>> };
    const operation = document.paths['/auth/whoami']!.get!;
    expect(operation['x-fleetstream-roles']).toEqual(EVERY_ROLE);
    expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['200', '401', '403']));
    expect(JSON.stringify(operation.responses['200'])).toContain('WhoAmIDto');
  });

  it('says why a credential was refused', async () => {
    const message = async (caller: Caller) => ((await call('GET', '/devices', credentials.get(caller)!)).body as { message: string }).message;
    expect(await message('anonymous')).toMatch(/no credential/);
    expect(await message('revoked key')).toMatch(/API key "test-revoked" was revoked/);
    expect(await message('expired JWT')).toMatch(/invalid token: jwt expired/);
    expect(await message('JWT for another audience')).toMatch(/invalid token: jwt audience invalid/);
    expect((await call('GET', '/devices', { authorization: 'Bearer fsk_not-a-key' })).body).toMatchObject({ message: 'unknown API key' });
    const forbidden = await call('POST', `/devices/${DEVICE}/commands`, credentials.get('viewer')!, { name: 'reboot' });
    expect((forbidden.body as { message: string }).message).toMatch(/key:test-viewer \(roles: viewer\) may not do this; it needs the role operator or admin/);
  });

  it('records who asked: the command shows its requester, the twin who changed desired state', async () => {
    const created = await call('POST', `/devices/${DEVICE}/commands`, credentials.get('operator JWT')!, { name: 'open-valve' });
    const id = (created.body as { commandId: string }).commandId;
    // the command is cancellable once the saga has recorded the request (until then: 404)
    const cancelled = await eventually(() => call('POST', `/commands/${id}/cancel`, credentials.get('operator')!, { reason: 'wrong valve' }), (response) => response.status !== 404);
    expect([200, 202]).toContain(cancelled.status);
    const command = await eventually(
      async () => (await call('GET', `/commands/${id}`, credentials.get('viewer')!)).body as { requestedBy: string; cancelledBy: string | null },
      (view) => view.cancelledBy !== null,
    );
    expect(command).toMatchObject({ requestedBy: 'oidc:bob@example.com', cancelledBy: 'key:test-operator' });
    await call('PATCH', `/devices/${DEVICE}/twin/desired`, credentials.get('operator JWT')!, { setpoint: 7 });
    const twin = (await call('GET', `/devices/${DEVICE}/twin`, credentials.get('viewer')!)).body as { desiredChangedBy: string };
    expect(twin.desiredChangedBy).toBe('oidc:bob@example.com');
  });

  describe('when the identity provider cannot give its keys', () => {
    it('answers 503 with Retry-After for a token whose key it must fetch, not 401; API keys still work', async () => {
      issuer.failing = true;
      try {
        // a key id the service has not cached: jwks-rsa must ask the provider
        const token = issuer.token({ sub: 'carol', roles: ['viewer'] }, 'rotated-key-2');
        const response = await fetch(`${baseUrl}/devices`, { headers: { authorization: `Bearer ${token}` } });
        expect(response.status).toBe(503);
        expect(response.headers.get('retry-after')).toBe('5');
        expect(((await response.json()) as { message: string }).message).toMatch(/signing keys \(OIDC_JWKS_URL\) could not be fetched/);
        expect((await call('GET', '/devices', credentials.get('viewer')!)).status).toBe(200);
      } finally {
        issuer.failing = false;
      }
    });
  });

  it('answers 405 with Allow for a method a known path does not serve', async () => {
    const response = await fetch(`${baseUrl}/devices`, { method: 'PUT', headers: { ...adminHeaders, 'content-type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toMatch(/GET/);
  });

  it('refuses a write without a JSON content type (a cross-site simple POST)', async () => {
    const response = await fetch(`${baseUrl}/devices/${DEVICE}/commands`, { method: 'POST', headers: { ...adminHeaders, 'content-type': 'text/plain' }, body: '{"name":"reboot"}' });
    expect(response.status).toBe(415);
  });
});
