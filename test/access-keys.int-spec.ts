import { cliContext } from '../apps/cli/src/cli-context';
import { createKey, listKeys, revokeKey } from '../apps/cli/src/commands/keys.command';
import { readTopic, createTestStack, eventually, stackEnv, TestStack } from './support/test-stack';
import { ServerProcess } from './support/server-process';

/** API keys on fleet.api-keys, across running instances of the built service (`npm run build` first). */
describe('API keys on a running fleet (built service, real stack)', () => {
  let stack: TestStack;
  const servers: ServerProcess[] = [];
  const cli = () => cliContext('test', { ...process.env, ...stackEnv(stack) });

  beforeAll(async () => {
    stack = await createTestStack();
  });

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.stop()));
  });

  const devicesStatus = async (server: ServerProcess, key: string) => (await server.request('GET', '/devices', undefined, { authorization: `Bearer ${key}` })).status;

  describe('when neither ADMIN_API_KEY nor a key on the topic exists', () => {
    it('refuses to start with one line that says how to create a key', async () => {
      // a stack of its own: no other test's key is on its fleet.api-keys
      const server = await ServerProcess.create(await createTestStack(), { ADMIN_API_KEY: '', PROCESSORS: '' });
      servers.push(server);
      await expect(server.start()).rejects.toThrow(/fleetstream failed to start: no credential could call this service: set ADMIN_API_KEY.*fleetstream keys create --role admin --name <name>/);
    });
  });

  describe('when a key is created and then revoked', () => {
    it('a second running instance refuses it within 5 s; the topic holds only its hash', async () => {
      const created = await createKey(cli(), 'ops-bot', 'viewer');
      // no ADMIN_API_KEY: the key on the topic is what lets them start
      for (let i = 0; i < 2; i++) servers.push(await (await ServerProcess.create(stack, { ADMIN_API_KEY: '', PROCESSORS: '' })).start());
      for (const server of servers) await eventually(() => devicesStatus(server, created.key), (status) => status === 200);

      const revokedAt = Date.now();
      await revokeKey(cli(), 'ops-bot');
      const refusedAfter = await Promise.all(
        servers.map(async (server) => {
          await eventually(() => devicesStatus(server, created.key), (status) => status === 401, 10_000);
          return Date.now() - revokedAt;
        }),
      );
      expect(Math.max(...refusedAfter)).toBeLessThan(5000);
      expect(await listKeys(cli())).toEqual([expect.objectContaining({ name: 'ops-bot', role: 'viewer', revokedAt: expect.any(String) })]);

      const records = await readTopic(stack, stack.topics.apiKeys, 2);
      const raw = Buffer.concat(records.map((record) => record.value!)).toString('latin1');
      expect(raw).not.toContain(created.key);
      expect(raw).not.toContain(created.key.slice(4));
    });
  });

  describe('when keys are managed with the CLI', () => {
    it('refuses a second live key of the same name and an unknown role', async () => {
      await createKey(cli(), 'dashboard', 'viewer');
      await expect(createKey(cli(), 'dashboard', 'admin')).rejects.toThrow(/a key named "dashboard" exists/);
      await expect(createKey(cli(), 'root', 'superuser')).rejects.toThrow(/role "superuser": one of viewer, operator, admin, analyst, metrics/);
      await expect(revokeKey(cli(), 'nobody')).rejects.toThrow(/no key named "nobody"/);
    });
  });
});
