import { registerSchema, RegistryCodec, SchemaRefusedError, SUBJECT_COMPATIBILITY } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Schema as AvroSchemaJson } from 'avsc';
import { createServer, request as httpRequest, Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../bench/support/free-port';
import { ServerProcess } from './support/server-process';
import { createTestStack, TestStack } from './support/test-stack';

const INSTANCES = 5;

/** A schema no one registered before (the registry shares ids by content), v1 or v2 of it. */
function freshSchema(name: string, extraField?: { name: string; type: string; default?: number }): AvroSchemaJson {
  return { type: 'record', name, fields: [{ name: 'deviceId', type: 'string' }, ...(extraField ? [extraField] : [])] } as AvroSchemaJson;
}

/**
 * Forwards to the real registry, but answers nothing until `open()` and then 503 to the first
 * `failFirst` requests: a registry that is down, then overloaded, then fine.
 */
async function flakyRegistryProxy(registryUrl: string, failFirst: number): Promise<{ url: string; open: () => Promise<void>; close: () => void; failed: () => number }> {
  const target = new URL(registryUrl);
  const port = await freePort();
  let failed = 0;
  const server: Server = createServer((req, res) => {
    if (failed < failFirst) {
      failed++;
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'overloaded', error_code: 50300 }));
      return;
    }
    const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(upstream);
  });
  return {
    url: `http://127.0.0.1:${port}${target.pathname}`,
    open: () => new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve())),
    close: () => server.close(),
    failed: () => failed,
  };
}

describe('schema registration on the real registry', () => {
  let stack: TestStack;
  const subject = (name: string) => `${stack.config.TOPIC_PREFIX}.${name}-value`;
  const newClient = () => new SchemaRegistry({ host: stack.config.SCHEMA_REGISTRY_URL });
  const compatibilityOf = async (name: string) =>
    ((await (await fetch(`${stack.config.SCHEMA_REGISTRY_URL}/config/${subject(name)}`)).json()) as { compatibilityLevel: string }).compatibilityLevel;

  beforeAll(async () => {
    stack = await createTestStack();
  });

  describe('when several instances register the same schemas for fresh subjects at once', () => {
    it('all succeed with one id per subject, and the subject gets its compatibility rule', async () => {
      // several rounds, the instances a few milliseconds apart: a race lost once in a few tries must show up here
      const after = <T>(ms: number, register: () => Promise<T>) => sleep(ms).then(register);
      for (let round = 0; round < 10; round++) {
        const name = `race${round}`;
        const schema = freshSchema(`Race${round}_${stack.config.TOPIC_PREFIX.replace(/\W/g, '_')}`);
        const ids = await Promise.all([
          ...Array.from({ length: INSTANCES }, (_, i) => after(i * 3, () => new RegistryCodec(newClient(), schema).register(subject(name)))),
          ...Array.from({ length: INSTANCES }, (_, i) => after(i * 3, () => registerSchema(newClient(), subject(name), JSON.stringify(schema)))),
        ]);
        expect(new Set(ids).size).toBe(1);
        expect(await compatibilityOf(name)).toBe(SUBJECT_COMPATIBILITY);
      }
    });
  });

  describe('when the registry is unreachable, then answers 503', () => {
    it('retries with backoff, logs each retry, and registers once it answers', async () => {
      const proxy = await flakyRegistryProxy(stack.config.SCHEMA_REGISTRY_URL, 2);
      const retries: string[] = [];
      const codec = new RegistryCodec(new SchemaRegistry({ host: proxy.url, retry: { retries: 0 } }), freshSchema('Flaky'), {
        log: (message) => retries.push(message),
        retryDelaysMs: [100, 200],
      });
      try {
        const registering = codec.register(subject('flaky'));
        await new Promise((resolve) => setTimeout(resolve, 700));
        expect(retries.length).toBeGreaterThanOrEqual(2); // refused connections, retried
        await proxy.open();
        const id = await registering;
        expect(id).toBe(await new RegistryCodec(newClient(), freshSchema('Flaky')).register(subject('flaky')));
        expect(proxy.failed()).toBe(2);
        expect(retries.some((line) => line.includes('ECONNREFUSED'))).toBe(true);
        expect(retries.some((line) => line.includes('overloaded'))).toBe(true);
        expect(retries.every((line) => line.includes(subject('flaky')) && !line.includes('\n'))).toBe(true);
      } finally {
        proxy.close();
      }
    });
  });

  describe('when the registry refuses the schema as incompatible', () => {
    it('fails at once with one line naming the subject and what to do', async () => {
      const name = `Evolving_${stack.config.TOPIC_PREFIX.replace(/\W/g, '_')}`;
      await new RegistryCodec(newClient(), freshSchema(name)).register(subject('evolving'));
      // a new field without a default: readers of the new schema cannot read the old records
      const incompatible = new RegistryCodec(newClient(), freshSchema(name, { name: 'rssi', type: 'int' }), { log: () => { throw new Error('an incompatibility must not be retried'); } });
      const error = await incompatible.register(subject('evolving')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SchemaRefusedError);
      const message = (error as Error).message;
      expect(message).toContain(`subject ${subject('evolving')} as incompatible`);
      expect(message).toContain('adding fields with defaults');
      expect(message).not.toContain('\n');
      // the compatible change is accepted
      await expect(new RegistryCodec(newClient(), freshSchema(name, { name: 'rssi', type: 'int', default: 0 })).register(subject('evolving'))).resolves.toBeGreaterThan(0);
    });
  });

  describe('when three service processes start at once on fresh topics', () => {
    const servers: ServerProcess[] = [];
    afterAll(async () => {
      await Promise.all(servers.map((server) => server.stop().catch(() => undefined)));
    });

    it('every one becomes ready', async () => {
      // the stack's topics are fresh: no instance registered their subjects before
      // one history writer, as a chdb deployment must have (a second one fails /ready by design)
      for (let i = 0; i < 3; i++) servers.push(await ServerProcess.create(stack, i === 0 ? {} : { PROCESSORS: 'twins,commands' }));
      await Promise.all(servers.map((server) => server.start()));
      for (const server of servers) expect((await fetch(`${server.url}/ready`)).status).toBe(200);
    });
  });
});
