import type { INestApplication } from '@nestjs/common';
import { ConsumedRecord, readTopicsToEnd } from '@fleetstream/kafka';
import { AlertRuleRecord, readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import request from 'supertest';
import { ALERT_RULE_CATALOG, AlertRuleCatalog, StoredAlertRule } from '../apps/server/src/alerts/alert-rule-catalog';
import { apiKeyFor } from './support/api-keys';
import { ServerProcess } from './support/server-process';
import { startTestApp } from './support/test-app';
import { createTestStack, eventually, TestStack } from './support/test-stack';

/** The two examples, exactly as written there. */
const OVERHEAT = { name: 'overheat', severity: 'major', condition: { type: 'threshold', metric: 'temperature', op: '>', value: 80, forSeconds: 0, clear: { op: '<', value: 75 } } };
const SILENT = { name: 'silent', severity: 'warning', condition: { type: 'absence', forSeconds: 300 } };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Alert rules as data on the real stack: the REST routes of an in-process instance (REST only, no
 * processors), the records on fleet.alert-rules decoded with the registry, and a second instance
 * (the built service) that restores the rules from the topic.
 */
describe('alert rules (REST, fleet.alert-rules, real stack)', () => {
  let stack: TestStack;
  let app: INestApplication;
  let operator: string;
  let viewer: string;
  /** What the catalog's onChange told, in order. */
  const changes: [string, number | null][] = [];

  const as = (key: string) => ({ authorization: `Bearer ${key}` });
  const http = () => request(app.getHttpServer());
  const create = (body: unknown) => http().post('/alert-rules').set(as(operator)).send(body as object);

  /** Every record of fleet.alert-rules under `id` up to the topic's end offsets now, decoded (null: a tombstone). */
  async function recordsOf(id: string): Promise<(AlertRuleRecord | null)[]> {
    const codec = new RegistryCodec<AlertRuleRecord>(stack.registry, readAvroSchema('alert-rule'));
    const records: ConsumedRecord[] = [];
    await readTopicsToEnd(stack.kafka, [stack.topics.alertRules], (batch) => void records.push(...batch.filter((record) => record.key?.toString() === id)), { groupPrefix: 'alert-rules-test' });
    return Promise.all(
      records.map(async (record) => {
        if (record.value === null) return null;
        const decoded = await codec.decode(record.value);
        if (!decoded.ok) throw new Error(`offset ${record.offset}: ${decoded.rejection.error}`);
        return decoded.value;
      }),
    );
  }

  beforeAll(async () => {
    stack = await createTestStack();
    // keys first: the instance restores them with the rest of its views
    operator = await apiKeyFor(stack, 'rules-operator', 'operator');
    viewer = await apiKeyFor(stack, 'rules-viewer', 'viewer');
    process.env.PROCESSORS = '';
    app = await startTestApp(stack);
    app.get<AlertRuleCatalog>(ALERT_RULE_CATALOG).onChange((id, rule: StoredAlertRule | null) => changes.push([id, rule?.revision ?? null]));
  });

  afterAll(async () => {
    await app?.close();
    delete process.env.PROCESSORS;
  });

  describe('when an operator creates the issue examples', () => {
    let overheat: request.Response;
    let silent: request.Response;

    beforeAll(async () => {
      overheat = await create(OVERHEAT);
      silent = await create(SILENT);
    });

    it('answers 201 with the rule, its server-made id, revision 1 and the caller', () => {
      expect(overheat.status).toBe(201);
      expect(overheat.body).toEqual({ id: expect.stringMatching(UUID), ...OVERHEAT, revision: 1, updatedAt: expect.any(String), updatedBy: 'key:rules-operator' });
      expect(overheat.headers).toMatchObject({ etag: '"1"', location: `/alert-rules/${overheat.body.id}` });
      expect(silent.status).toBe(201);
      expect(silent.body).toMatchObject({ ...SILENT, revision: 1 });
      expect(silent.body.id).not.toBe(overheat.body.id);
    });

    it('a viewer reads each at once (read-your-writes on this instance)', async () => {
      // no polling: the write answered once this instance's catalog had read it
      const read = await http().get(`/alert-rules/${overheat.body.id}`).set(as(viewer));
      expect(read.status).toBe(200);
      expect(read.body).toEqual(overheat.body);
      expect(read.headers.etag).toBe('"1"');
    });

    it('the catalog told its listeners of its own writes', () => {
      expect(changes).toEqual(expect.arrayContaining([[overheat.body.id, 1], [silent.body.id, 1]]));
    });

    it('the record on fleet.alert-rules is keyed by the id and decodes with the registry', async () => {
      const [record] = await recordsOf(overheat.body.id);
      expect(record).toMatchObject({
        id: overheat.body.id,
        name: 'overheat',
        severity: 'major',
        scope: null,
        condition: { type: 'threshold', metric: 'temperature', op: '>', value: 80, forSeconds: 0, clear: { op: '<', value: 75 }, maxPerSecond: null, windowSeconds: null },
        revision: 1,
        updatedBy: 'key:rules-operator',
        deletedAt: null,
        deletedBy: null,
      });
    });

    it('lists them, a page at a time', async () => {
      const all = await http().get('/alert-rules').set(as(viewer));
      expect(all.status).toBe(200);
      expect(all.body.rules.map((rule: { id: string }) => rule.id).sort()).toEqual([overheat.body.id, silent.body.id].sort());
      expect(all.body.nextCursor).toBeUndefined();
      const first = await http().get('/alert-rules?limit=1').set(as(viewer));
      expect(first.body.rules).toHaveLength(1);
      const second = await http().get(`/alert-rules?limit=1&cursor=${first.body.nextCursor}`).set(as(viewer));
      expect([...first.body.rules, ...second.body.rules]).toEqual(all.body.rules);
      expect(second.body.nextCursor).toBeUndefined();
      expect((await http().get('/alert-rules?limit=0').set(as(viewer))).status).toBe(400);
    });
  });

  describe('when a rule is replaced', () => {
    let id: string;

    beforeAll(async () => {
      id = (await create(OVERHEAT)).body.id;
    });

    it('without If-Match, it takes the next revision', async () => {
      const hotter = { ...OVERHEAT, condition: { ...OVERHEAT.condition, value: 90, clear: { op: '<', value: 85 } } };
      const replaced = await http().put(`/alert-rules/${id}`).set(as(operator)).send(hotter);
      expect(replaced.status).toBe(200);
      expect(replaced.body).toMatchObject({ id, ...hotter, revision: 2, updatedBy: 'key:rules-operator' });
      expect(replaced.headers.etag).toBe('"2"');
      expect((await http().get(`/alert-rules/${id}`).set(as(viewer))).body).toEqual(replaced.body);
    });

    it('with an If-Match the rule moved past, 412 and nothing changes', async () => {
      const stale = await http().put(`/alert-rules/${id}`).set(as(operator)).set('if-match', '"1"').send(SILENT);
      expect(stale.status).toBe(412);
      expect(stale.body).toMatchObject({ revision: 2, message: expect.stringContaining('revision 2, not 1') });
      expect((await http().get(`/alert-rules/${id}`).set(as(viewer))).body).toMatchObject({ name: 'overheat', revision: 2 });
    });

    it('with the current revision in If-Match, it is replaced', async () => {
      const replaced = await http().put(`/alert-rules/${id}`).set(as(operator)).set('if-match', '"2"').send(SILENT);
      expect(replaced.status).toBe(200);
      expect(replaced.body).toMatchObject({ id, ...SILENT, revision: 3 });
      expect((await http().get(`/alert-rules/${id}`).set(as(viewer))).body).toEqual(replaced.body);
    });

    it('in a burst of replacements, each GET right after shows it, and the revisions count up one by one', async () => {
      const { id: burst } = (await create(OVERHEAT)).body;
      const seen: [number, number][] = [];
      for (let value = 81; value <= 100; value++) {
        const replaced = await http().put(`/alert-rules/${burst}`).set(as(operator)).send({ ...OVERHEAT, condition: { ...OVERHEAT.condition, value } });
        const read = await http().get(`/alert-rules/${burst}`).set(as(viewer));
        seen.push([replaced.body.revision, read.body.condition.value]);
      }
      expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => [i + 2, 81 + i]));
    });

    it('a rule read, edited and sent back whole is accepted: the fields the server keeps are ignored, but an id must be the path\'s', async () => {
      const read = (await http().get(`/alert-rules/${id}`).set(as(viewer))).body;
      const edited = { ...read, name: 'read-edit-write', revision: 1, updatedBy: 'someone else' };
      const replaced = await http().put(`/alert-rules/${id}`).set(as(operator)).set('if-match', `"${read.revision}"`).send(edited);
      expect(replaced.status).toBe(200);
      expect(replaced.body).toMatchObject({ id, name: 'read-edit-write', revision: read.revision + 1, updatedBy: 'key:rules-operator' });
      const elsewhere = await http().put(`/alert-rules/${id}`).set(as(operator)).send({ ...edited, id: 'another-rule' });
      expect(elsewhere.status).toBe(400);
      expect(elsewhere.body.errors).toEqual([{ field: 'id', message: expect.stringContaining('the path names rule') }]);
    });

    it('an If-Match that is no revision is a 400; an unknown rule a 404', async () => {
      expect((await http().put(`/alert-rules/${id}`).set(as(operator)).set('if-match', 'yesterday').send(SILENT)).status).toBe(400);
      expect((await http().put('/alert-rules/00000000-0000-4000-8000-000000000000').set(as(operator)).send(SILENT)).status).toBe(404);
    });
  });

  describe('when a rule is deleted', () => {
    let id: string;
    let deleted: request.Response;

    beforeAll(async () => {
      id = (await create(SILENT)).body.id;
      deleted = await http().delete(`/alert-rules/${id}`).set(as(operator));
    });

    it('answers 204, and the rule is gone from GET, the list and the catalog at once', async () => {
      expect(deleted.status).toBe(204);
      expect((await http().get(`/alert-rules/${id}`).set(as(viewer))).status).toBe(404);
      expect((await http().get('/alert-rules').set(as(viewer))).body.rules.map((rule: { id: string }) => rule.id)).not.toContain(id);
      expect((await http().delete(`/alert-rules/${id}`).set(as(operator))).status).toBe(404);
      // one change for the deletion record and its tombstone
      expect(changes.filter(([changed]) => changed === id)).toEqual([[id, 1], [id, null]]);
    });

    it('fleet.alert-rules holds a last record saying who deleted it, then the tombstone', async () => {
      const records = await recordsOf(id);
      expect(records).toEqual([
        expect.objectContaining({ revision: 1, deletedAt: null }),
        expect.objectContaining({ revision: 2, deletedAt: expect.any(Number), deletedBy: 'key:rules-operator', updatedBy: 'key:rules-operator' }),
        null,
      ]);
    });
  });

  describe('when a rule is invalid', () => {
    it.each<[string, object, string]>([
      ['an unknown comparison', { ...OVERHEAT, condition: { ...OVERHEAT.condition, op: '>>' } }, 'condition.op'],
      ['a threshold without its metric', { ...OVERHEAT, condition: { type: 'threshold', op: '>', value: 80 } }, 'condition.metric'],
      ['a field rules do not have', { ...OVERHEAT, colour: 'red' }, 'colour'],
      ['a hysteresis that would flap', { ...OVERHEAT, condition: { ...OVERHEAT.condition, clear: { op: '<', value: 90 } } }, 'condition.clear'],
      ['an unknown severity', { ...OVERHEAT, severity: 'dire' }, 'severity'],
    ])('%s is a 400 that names the field', async (_, body, field) => {
      const refused = await create(body);
      expect(refused.status).toBe(400);
      expect(refused.body.errors).toContainEqual(expect.objectContaining({ field }));
      expect(refused.body.message).toContain(`${field}:`);
    });

    it('a replacement is checked as a creation is', async () => {
      const { id } = (await create(OVERHEAT)).body;
      const refused = await http().put(`/alert-rules/${id}`).set(as(operator)).send({ ...OVERHEAT, condition: { ...OVERHEAT.condition, op: '>>' } });
      expect(refused.status).toBe(400);
      expect(refused.body.errors).toContainEqual(expect.objectContaining({ field: 'condition.op' }));
    });
  });

  describe('roles', () => {
    it('no credential: 401 on reads and writes', async () => {
      expect((await http().get('/alert-rules')).status).toBe(401);
      expect((await http().post('/alert-rules').send(OVERHEAT)).status).toBe(401);
    });

    it('a viewer reads but cannot create, replace or delete (403)', async () => {
      const { id } = (await create(OVERHEAT)).body;
      expect((await http().get('/alert-rules').set(as(viewer))).status).toBe(200);
      expect((await http().post('/alert-rules').set(as(viewer)).send(OVERHEAT)).status).toBe(403);
      expect((await http().put(`/alert-rules/${id}`).set(as(viewer)).send(SILENT)).status).toBe(403);
      expect((await http().delete(`/alert-rules/${id}`).set(as(viewer))).status).toBe(403);
      expect((await http().get(`/alert-rules/${id}`).set(as(viewer))).body).toMatchObject({ name: 'overheat', revision: 1 });
    });

    it('an operator writes (201, 200, 204)', async () => {
      const created = await create(OVERHEAT);
      expect(created.status).toBe(201);
      expect((await http().put(`/alert-rules/${created.body.id}`).set(as(operator)).send(SILENT)).status).toBe(200);
      expect((await http().delete(`/alert-rules/${created.body.id}`).set(as(operator))).status).toBe(204);
    });
  });

  it('documents the five routes in OpenAPI with their roles and the issue example', async () => {
    const { body } = await http().get('/docs/openapi.json').expect(200);
    const paths = body.paths as Record<string, Record<string, { 'x-fleetstream-roles': string[]; requestBody?: { content: Record<string, { schema: { example?: unknown } }> } }>>;
    const roles = Object.fromEntries(['/alert-rules', '/alert-rules/{id}'].flatMap((path) => Object.entries(paths[path] ?? {}).map(([method, operation]) => [`${method} ${path}`, operation['x-fleetstream-roles']])));
    expect(roles).toEqual({
      'post /alert-rules': ['operator', 'admin'],
      'get /alert-rules': ['viewer', 'operator', 'admin'],
      'get /alert-rules/{id}': ['viewer', 'operator', 'admin'],
      'put /alert-rules/{id}': ['operator', 'admin'],
      'delete /alert-rules/{id}': ['operator', 'admin'],
    });
    expect(paths['/alert-rules']!.post!.requestBody!.content['application/json']!.schema.example).toEqual(OVERHEAT);
  });

  describe('when a second instance starts', () => {
    let second: ServerProcess | undefined;

    afterAll(async () => {
      await second?.stop();
    });

    it('it restores every rule, as the first instance holds them, before it is ready', async () => {
      const expected = (await http().get('/alert-rules').set(as(viewer))).body;
      expect(expected.rules.length).toBeGreaterThan(3);
      second = await (await ServerProcess.create(stack, { PROCESSORS: '', LOG_LEVEL: 'info' })).start();
      // start() returned once /ready answered 200: the alert-rules view restored by then
      const ready = await second.request<{ details: { views: Record<string, { restore: string }> } }>('GET', '/ready');
      expect(ready.body.details.views['alert-rules']).toMatchObject({ restore: 'restored' });
      expect((await second.request('GET', '/alert-rules', undefined, as(viewer))).body).toEqual(expected);
    });

    it('a rule it writes reaches the first instance, and the first one answers with it', async () => {
      const created = await second!.request<{ id: string }>('POST', '/alert-rules', SILENT, as(operator));
      expect(created.status).toBe(201);
      await eventually(async () => (await http().get(`/alert-rules/${created.body.id}`).set(as(viewer))).status, (status) => status === 200, 10_000);
      expect((await http().get(`/alert-rules/${created.body.id}`).set(as(viewer))).body).toMatchObject({ ...SILENT, revision: 1 });
      expect(changes).toContainEqual([created.body.id, 1]);
    });

    it('writes racing on both instances each take their own revision, and If-Match lets exactly one through', async () => {
      const { id } = (await create(OVERHEAT)).body;
      const put = (on: 'first' | 'second', value: number, ifMatch?: string) => {
        const body = { ...OVERHEAT, condition: { ...OVERHEAT.condition, value } };
        const headers = { ...as(operator), ...(ifMatch && { 'if-match': ifMatch }) };
        return on === 'first'
          ? http().put(`/alert-rules/${id}`).set(headers).send(body).then((response) => ({ status: response.status, revision: response.body.revision as number }))
          : second!.request<{ revision: number }>('PUT', `/alert-rules/${id}`, body, headers).then((response) => ({ status: response.status, revision: response.body.revision }));
      };
      const revisions: number[] = [];
      for (let round = 0; round < 5; round++) {
        const both = await Promise.all([put('first', 81 + round), put('second', 91 + round)]);
        expect(both.map((answer) => answer.status)).toEqual([200, 200]);
        revisions.push(...both.map((answer) => answer.revision));
      }
      expect(revisions.sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      for (let round = 0; round < 5; round++) {
        // the revision both instances show (the other instance's last write reaches this one within moments)
        const revisionOn = async () => [(await http().get(`/alert-rules/${id}`).set(as(viewer))).body.revision, (await second!.request<{ revision: number }>('GET', `/alert-rules/${id}`, undefined, as(viewer))).body.revision];
        const [revision] = await eventually(revisionOn, ([first, other]) => first === other, 5000);
        const both = await Promise.all([put('first', 81, `"${revision}"`), put('second', 91, `"${revision}"`)]);
        expect(both.map((answer) => answer.status).sort()).toEqual([200, 412]);
      }
      expect((await recordsOf(id)).map((record) => record!.revision)).toEqual([1, ...Array.from({ length: 15 }, (_, i) => i + 2)]);
    });

    it('logs an audit line per write with the caller and the rule, refusals included', async () => {
      const created = await second!.request<{ id: string }>('POST', '/alert-rules', OVERHEAT, as(operator));
      const replaced = await second!.request('PUT', `/alert-rules/${created.body.id}`, SILENT, as(operator));
      const refused = await second!.request('DELETE', `/alert-rules/${created.body.id}`, undefined, as(viewer));
      expect([created.status, replaced.status, refused.status]).toEqual([201, 200, 403]);
      const audit = await eventually(
        // whole JSON lines only: the kept output may start in the middle of one
        async () => second!.logs().split('\n').filter((line) => line.startsWith('{') && line.includes('"audit":true')).map((line) => JSON.parse(line) as Record<string, unknown>),
        (lines) => lines.filter((line) => line.ruleId === created.body.id).length >= 3,
        10_000,
      );
      expect(audit.filter((line) => line.ruleId === created.body.id)).toEqual([
        expect.objectContaining({ actor: 'key:rules-operator', method: 'POST', route: '/alert-rules', status: 201, outcome: 'allowed' }),
        expect.objectContaining({ actor: 'key:rules-operator', method: 'PUT', route: '/alert-rules/:id', status: 200, outcome: 'allowed' }),
        expect.objectContaining({ actor: 'key:rules-viewer', method: 'DELETE', route: '/alert-rules/:id', status: 403, outcome: 'denied' }),
      ]);
    });
  });
});
