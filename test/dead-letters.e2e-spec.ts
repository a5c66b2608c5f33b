import { INestApplication } from '@nestjs/common';
import type { DeadLetterPage } from '../apps/server/src/history/dead-letters.controller';
import { apiKeyFor } from './support/api-keys';
import { adminHeaders } from './support/http';
import { startTestApp } from './support/test-app';
import { createTestStack, eventually, TestStack } from './support/test-stack';

/** Confluent wire-format header for a schema id the registry never gave: magic byte 0, then the id. */
function framedForUnknownSchema(body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeInt32BE(2_000_000_005, 1);
  return Buffer.concat([header, body]);
}

/** GET /dead-letters on the whole service: records the history writer really dead-lettered, read back from chdb. */
describe('dead letters over REST (e2e)', () => {
  let stack: TestStack;
  let app: INestApplication;
  let baseUrl: string;
  const big = Buffer.concat([Buffer.from('{"big":"'), Buffer.alloc(70 * 1024, 'x'), Buffer.from('"}')]);

  beforeAll(async () => {
    stack = await createTestStack();
    app = await startTestApp(stack);
    await app.listen(0, '127.0.0.1');
    baseUrl = await app.getUrl();
    const raw = stack.kafka.producer();
    await raw.connect();
    await raw.send({
      topic: stack.topics.telemetry,
      messages: [
        ...[1, 2, 3].map((n) => ({ key: `dlq-json-${n}`, value: Buffer.from(`{"json":"not avro","n":${n}}`), partition: 0 })),
        { key: 'dlq-unknown-id', value: framedForUnknownSchema(Buffer.from([2, 4, 6])), partition: 0 },
        { key: 'dlq-big', value: big, partition: 0 },
      ],
    });
    await raw.disconnect();
    await eventually(() => get<{ total: number }>('/dead-letters/summary'), (answer) => answer.body.total === 5, 60_000);
  });

  afterAll(async () => {
    await app?.close();
  });

  async function get<T>(path: string, headers: Record<string, string> = adminHeaders): Promise<{ status: number; body: T }> {
    const response = await fetch(`${baseUrl}${path}`, { headers });
    return { status: response.status, body: (await response.json()) as T };
  }

  it('counts dead letters by reason and source topic', async () => {
    const summary = await get<{ total: number; counts: unknown[] }>('/dead-letters/summary');
    expect(summary.body).toEqual({
      total: 5,
      counts: [
        { reason: 'not-confluent-framed', sourceTopic: stack.topics.telemetry, count: 4 },
        { reason: 'unknown-schema-id', sourceTopic: stack.topics.telemetry, count: 1 },
      ],
    });
  });

  it('lists them newest first with their source, key, payload and a text preview when it is UTF-8', async () => {
    const { status, body } = await get<DeadLetterPage>('/dead-letters');
    expect(status).toBe(200);
    // one batch, one time: the newest offset comes first
    expect(body.items.map((item) => item.key)).toEqual(['dlq-big', 'dlq-unknown-id', 'dlq-json-3', 'dlq-json-2', 'dlq-json-1']);
    expect(body.nextCursor).toBeUndefined();
    const [bigItem, unknownId, json3] = body.items;
    expect(json3).toMatchObject({
      reason: 'not-confluent-framed', sourceTopic: stack.topics.telemetry, sourcePartition: 0, truncated: false,
      preview: '{"json":"not avro","n":3}', payloadBytes: 25, payloadBase64: Buffer.from('{"json":"not avro","n":3}').toString('base64'),
    });
    expect(Date.parse(json3!.failedAt)).toBeGreaterThan(Date.now() - 120_000);
    expect(Number(unknownId!.sourceOffset)).toBe(Number(json3!.sourceOffset) + 1);
    expect(unknownId).toMatchObject({ reason: 'unknown-schema-id', preview: null, truncated: false });
    expect(Buffer.from(unknownId!.payloadBase64, 'base64')).toEqual(framedForUnknownSchema(Buffer.from([2, 4, 6])));
    // bounded: the first 64 KiB, flagged as cut off, the whole size reported
    expect(bigItem).toMatchObject({ truncated: true, payloadBytes: big.length });
    expect(Buffer.from(bigItem!.payloadBase64, 'base64')).toEqual(big.subarray(0, 64 * 1024));
    expect(bigItem!.preview).toBe(big.subarray(0, 64 * 1024).toString('utf8'));
  });

  it('filters by reason and source, and pages by cursor without gaps or repeats', async () => {
    const first = await get<DeadLetterPage>('/dead-letters?reason=not-confluent-framed&limit=3');
    expect(first.body.items.map((item) => item.key)).toEqual(['dlq-big', 'dlq-json-3', 'dlq-json-2']);
    const second = await get<DeadLetterPage>(`/dead-letters?reason=not-confluent-framed&limit=3&cursor=${encodeURIComponent(first.body.nextCursor!)}`);
    expect(second.body.items.map((item) => item.key)).toEqual(['dlq-json-1']);
    expect(second.body.nextCursor).toBeUndefined();
    const bySource = await get<DeadLetterPage>(`/dead-letters?source=${stack.topics.telemetry}&reason=unknown-schema-id`);
    expect(bySource.body.items.map((item) => item.key)).toEqual(['dlq-unknown-id']);
    expect((await get<DeadLetterPage>('/dead-letters?source=fleet.no-such-topic')).body.items).toEqual([]);
  });

  it('refuses a bad query with the field named', async () => {
    const badCursor = await get<{ message: string[] }>('/dead-letters?cursor=yesterday');
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.message).toContain('cursor must be a nextCursor value returned by this endpoint');
    const badLimit = await get<{ message: string[] }>('/dead-letters?limit=501');
    expect(badLimit.status).toBe(400);
    expect(JSON.stringify(badLimit.body.message)).toContain('limit');
  });

  it('is for admins only: a viewer and an operator get 403', async () => {
    for (const role of ['viewer', 'operator'] as const) {
      const key = await apiKeyFor(stack, `dlq-${role}`, role);
      // the key is in the read model a moment after it is written
      const refused = await eventually(() => get<{ requiredRoles: string[] }>('/dead-letters', { authorization: `Bearer ${key}` }), (answer) => answer.status !== 401);
      expect(refused.status).toBe(403);
      expect(refused.body.requiredRoles).toEqual(['admin']);
      expect((await get('/dead-letters/summary', { authorization: `Bearer ${key}` })).status).toBe(403);
    }
  });

  it('documents the routes in OpenAPI', async () => {
    const document = (await get<{ paths: Record<string, { get: { parameters: { name: string }[] } }> }>('/docs/openapi.json', {})).body;
    expect(document.paths['/dead-letters']!.get.parameters.map((parameter) => parameter.name).sort()).toEqual(['cursor', 'limit', 'reason', 'source']);
    expect(document.paths['/dead-letters/summary']).toBeDefined();
  });
});
