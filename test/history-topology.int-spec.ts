import { ConsumerGroupAdmin, fleetGroups } from '@fleetstream/kafka';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { cliContext } from '../apps/cli/src/cli-context';
import { createKey } from '../apps/cli/src/commands/keys.command';
import { adminHeaders } from './support/http';
import { ServerProcess } from './support/server-process';
import { connectedTelemetryProducer, createTestStack, eventually, reading, stackEnv, TestStack } from './support/test-stack';

const DEVICES = 40;
const devices = Array.from({ length: DEVICES }, (_, i) => `topo-${String(i).padStart(3, '0')}`);
/** A fixed range, so that two instances asked at different moments answer for the same one. */
const FROM = new Date(Date.now() - 3_600_000).toISOString();
const TO = new Date(Date.now() + 3_600_000).toISOString();
const readingsPath = (deviceId: string) => `/devices/${deviceId}/telemetry?from=${FROM}&to=${TO}`;
const rollupPath = (deviceId: string) => `/devices/${deviceId}/telemetry/rollup?bucket=1m&from=${FROM}&to=${TO}`;

/** Raw text and status: a forwarded answer must be the history instance's, byte for byte. As the admin unless `headers` say otherwise (an empty value: not sent). */
async function getText(server: ServerProcess, path: string, headers: Record<string, string> = {}) {
  const sent = Object.fromEntries(Object.entries<string>({ ...adminHeaders, ...headers }).filter(([, value]) => value !== ''));
  const response = await fetch(`${server.url}${path}`, { headers: sent });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

async function storedCount(server: ServerProcess, deviceId: string): Promise<number> {
  const { status, body } = await server.get<{ count: number }>(readingsPath(deviceId));
  if (status !== 200) throw new Error(`GET ${readingsPath(deviceId)} on ${server.url}: ${status}`);
  return body.count;
}

async function produceOneReadingPerDevice(stack: TestStack): Promise<void> {
  const producer = await connectedTelemetryProducer(stack);
  await producer.send(devices.map((deviceId, i) => reading(deviceId, 1, Date.now() - 1000 * i)));
  await producer.disconnect();
}

/**
 * History with several instances (built service, real stack, embedded chdb): one chdb per process,
 * so one history instance per deployment; the others forward history reads to it (HISTORY_URL).
 */
describe('History with several instances (HISTORY_TRANSPORT=chdb)', () => {
  const servers: ServerProcess[] = [];
  const start = async (stack: TestStack, env: Record<string, string>) => {
    const server = await ServerProcess.create(stack, env);
    servers.push(server);
    return server.start();
  };

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.stop()));
  });

  describe('when two instances both run the history processor', () => {
    let stack: TestStack;
    let a: ServerProcess;
    let b: ServerProcess;

    beforeAll(async () => {
      stack = await createTestStack({ TELEMETRY_PARTITIONS: '6' });
    });

    it('each stores only the partitions it consumes and misses the devices of the other; /ready fails on both, naming the settings', async () => {
      a = await start(stack, { PROCESSORS: 'history' });
      b = await start(stack, { PROCESSORS: 'history' });
      const admin = new ConsumerGroupAdmin(stack.kafka);
      const group = fleetGroups(stack.config.TOPIC_PREFIX).history;
      await eventually(() => admin.members(group), ({ state, members }) => state === 'Stable' && members.length === 2);
      await admin.close();
      await produceOneReadingPerDevice(stack);

      const seen = await eventually(
        async () => Promise.all(devices.map(async (deviceId) => ({ deviceId, onA: await storedCount(a, deviceId), onB: await storedCount(b, deviceId) }))),
        (rows) => rows.every(({ onA, onB }) => onA + onB >= 1),
      );
      const missingOnA = seen.filter(({ onA }) => onA === 0).length;
      const missingOnB = seen.filter(({ onB }) => onB === 0).length;
      console.log(`${DEVICES} devices over 6 partitions, two chdb history instances: A misses ${missingOnA}, B misses ${missingOnB}, both hold ${seen.filter(({ onA, onB }) => onA && onB).length}`);
      expect(missingOnA).toBeGreaterThan(0);
      expect(missingOnB).toBeGreaterThan(0);

      // the guard: a second chdb history writer does not go unnoticed
      const notReady = await eventually(
        async () => Promise.all([a, b].map(async (server) => (await fetch(`${server.url}/ready`)).json() as Promise<{ status: string; error?: Record<string, { message?: string }> }>)),
        (bodies) => bodies.every((body) => body.error?.['history-topology'] !== undefined),
        30_000,
      );
      for (const body of notReady) expect(body.error!['history-topology']!.message).toMatch(/2 members.*HISTORY_TRANSPORT=chdb.*PROCESSORS/);
      const scrapes = await Promise.all([a, b].map(async (server) => (await getText(server, '/metrics')).text));
      for (const scrape of scrapes) expect(scrape).toMatch(/^fleetstream_history_writers 2$/m);
    });
  });

  describe('when the one history instance crashes and restarts', () => {
    it('is ready again: its predecessor, lingering in the rebalancing group until its session expires, is not a second writer', async () => {
      const stack = await createTestStack();
      const admin = new ConsumerGroupAdmin(stack.kafka);
      const group = fleetGroups(stack.config.TOPIC_PREFIX).history;
      try {
        const first = await start(stack, { PROCESSORS: 'history' });
        const [crashed] = (await eventually(() => admin.members(group), ({ state, members }) => state === 'Stable' && members.length === 1)).members;
        await first.kill();
        const restarted = await ServerProcess.create(stack, { PROCESSORS: 'history' });
        servers.push(restarted);
        const states = new Set<string>();
        const problems: string[] = [];
        // from before the restart until the crashed member's session (30 s) has expired and the group settled with the restarted one
        const watching = eventually(
          async () => {
            const { state, members } = await admin.members(group);
            states.add(`${state}/${members.length}`);
            const ready = await fetch(`${restarted.url}/ready`).then(
              async (response) => ({ ok: response.ok, ...((await response.json()) as { error?: Record<string, { message?: string }> }) }),
              () => ({ ok: false, error: undefined }),
            );
            const problem = ready.error?.['history-topology']?.message;
            if (problem) problems.push(problem);
            const settled = state === 'Stable' && members.length === 1 && members[0]!.memberId !== crashed!.memberId;
            return (settled && ready.ok) || problems.length > 0;
          },
          (settled) => settled,
          90_000,
        );
        await restarted.start();
        await watching;
        console.log(`group states seen after the restart (state/members): ${[...states].join(', ')}`);
        expect(problems).toEqual([]);
        expect([...states]).toContain('PreparingRebalance/2');
      } finally {
        await admin.close();
      }
    });
  });

  describe('when one instance runs history and another forwards to it (HISTORY_URL)', () => {
    let stack: TestStack;
    let a: ServerProcess;
    let b: ServerProcess;
    let viewerKey: string;
    let metricsKey: string;

    beforeAll(async () => {
      stack = await createTestStack({ TELEMETRY_PARTITIONS: '6' });
      const cli = cliContext('test', { ...process.env, ...stackEnv(stack) });
      viewerKey = (await createKey(cli, 'history-viewer', 'viewer')).key;
      metricsKey = (await createKey(cli, 'history-metrics', 'metrics')).key;
    });

    it('answers every history read with the history instance\'s answer, credential passed through; 503 naming HISTORY_URL when that instance is down', async () => {
      a = await start(stack, { PROCESSORS: 'history' });
      b = await start(stack, { PROCESSORS: 'twins,commands', HISTORY_URL: a.url });
      await produceOneReadingPerDevice(stack);
      await eventually(async () => (await Promise.all(devices.map((deviceId) => storedCount(a, deviceId)))).filter((count) => count === 1).length, (n) => n === DEVICES);

      const different: string[] = [];
      for (const deviceId of devices) {
        for (const path of [readingsPath(deviceId), rollupPath(deviceId)]) {
          const [fromA, fromB] = await Promise.all([getText(a, path), getText(b, path)]);
          if (fromB.status !== 200 || fromB.text !== fromA.text || fromB.headers.get('content-type') !== fromA.headers.get('content-type')) {
            different.push(`${path}: A ${fromA.status} ${fromA.text.slice(0, 80)} / B ${fromB.status} ${fromB.text.slice(0, 80)}`);
          }
        }
      }
      expect(different).toEqual([]);

      // B checks the credential itself, then A sees the same one
      const asViewer = await getText(b, readingsPath(devices[0]!), { authorization: '', 'x-api-key': viewerKey });
      expect(asViewer.status).toBe(200);
      expect(JSON.parse(asViewer.text)).toMatchObject({ deviceId: devices[0], count: 1 });
      expect((await getText(b, readingsPath(devices[0]!), { authorization: '' })).status).toBe(401);
      expect((await getText(b, rollupPath(devices[0]!), { authorization: `Bearer ${metricsKey}` })).status).toBe(403);
      // A's refusals come back as they are
      const badQuery = await getText(b, `/devices/${devices[0]}/telemetry/rollup?bucket=5m`);
      expect(badQuery.status).toBe(400);
      expect(badQuery.text).toBe((await getText(a, `/devices/${devices[0]}/telemetry/rollup?bucket=5m`)).text);

      await a.stop();
      const down = await getText(b, readingsPath(devices[0]!));
      expect(down.status).toBe(503);
      expect(down.headers.get('retry-after')).toBe('5');
      expect(JSON.parse(down.text).message).toMatch(new RegExp(`HISTORY_URL \\(${a.url.replace(/[.]/g, '\\.')}\\).*cannot be reached`));
      // auth still first: an anonymous caller learns nothing about the topology
      expect((await getText(b, readingsPath(devices[0]!), { authorization: '' })).status).toBe(401);
    });

    it('answers 504 when the history instance does not answer in HISTORY_FORWARD_TIMEOUT_MS, and 503 naming HISTORY_URL and PROCESSORS without it', async () => {
      const silent: Server = createServer(() => undefined); // accepts, never answers
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      try {
        const silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
        const [hanging, unset] = await Promise.all([
          start(stack, { PROCESSORS: '', HISTORY_URL: silentUrl, HISTORY_FORWARD_TIMEOUT_MS: '1000' }),
          start(stack, { PROCESSORS: '' }),
        ]);
        const started = Date.now();
        const timedOut = await getText(hanging, rollupPath(devices[0]!));
        expect(timedOut.status).toBe(504);
        expect(Date.now() - started).toBeLessThan(5000);
        expect(JSON.parse(timedOut.text).message).toMatch(/HISTORY_URL .* did not answer within 1000 ms \(HISTORY_FORWARD_TIMEOUT_MS\)/);

        const refused = await getText(unset, readingsPath(devices[0]!));
        expect(refused.status).toBe(503);
        expect(JSON.parse(refused.text).message).toMatch(/does not run the history processor \(PROCESSORS\).*HISTORY_URL/);
      } finally {
        silent.closeAllConnections();
        await new Promise((resolve) => silent.close(resolve));
      }
    });
  });
});
