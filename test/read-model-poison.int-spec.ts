import { CommandRequest, DeviceTwin, evolveCommand, initialTwin } from '@fleetstream/domain';
import { CommandStateSnapshot, readAvroSchema, RegistryCodec, toCommandStateSnapshot, toTwinSnapshot, TwinSnapshot } from '@fleetstream/serde';
import { randomBytes } from 'node:crypto';
import { Producer } from 'kafkajs';
import { ServerProcess } from './support/server-process';
import { createTestStack, eventually, reading, TestStack } from './support/test-stack';
import { adminHeaders } from './support/http';

/** Confluent wire-format header: magic byte 0, then the schema id. */
function framed(schemaId: number, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
}

/** Bytes that are not in the wire format: the first one is not the magic byte 0. */
const garbage = (length: number) => Buffer.concat([Buffer.from([0x7b]), randomBytes(length - 1)]);

/** The value of `fleetstream_view_skipped_records_total{view,reason}` on /metrics (0 when absent). */
function skipped(metrics: string, view: string, reason: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`fleetstream_view_skipped_records_total{view="${view}",reason="${reason}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

function viewLag(metrics: string, view: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`fleetstream_view_lag_records{view="${view}"}`));
  return line ? Number(line.split(' ').pop()) : undefined;
}

async function metricsOf(server: ServerProcess): Promise<string> {
  return (await fetch(`${server.url}/metrics`, { headers: adminHeaders })).text();
}

/**
 * Read models never stop on a record: hostile records on fleet.twins and fleet.command-state are
 * skipped and counted, the good records after them are served, and a restart comes up ready.
 */
describe('read models with poison records (built service on the real stack)', () => {
  let stack: TestStack;
  let producer: Producer;
  let server: ServerProcess | undefined;
  let twinCodec: RegistryCodec<TwinSnapshot>;
  let twinSchemaId: number;
  const twinValue = (twin: Partial<DeviceTwin> & { deviceId: string }) =>
    twinCodec.encode(twinSchemaId, toTwinSnapshot({ ...initialTwin(twin.deviceId), reported: { temperature: { value: 21, at: Date.now() } }, ...twin }));
  const startReader = async () => (server = await (await ServerProcess.create(stack, { PROCESSORS: '' })).start());

  beforeAll(async () => {
    stack = await createTestStack();
    twinCodec = new RegistryCodec<TwinSnapshot>(stack.registry, readAvroSchema('device-twin'));
    twinSchemaId = await twinCodec.register(`${stack.topics.twins}-value`);
    producer = stack.kafka.producer();
    await producer.connect();
  });

  afterAll(async () => {
    await server?.stop();
    await producer?.disconnect();
  });

  it('cannot get a keyless record onto a compacted topic: the broker refuses it', async () => {
    const send = producer.send({ topic: stack.topics.twins, acks: -1, messages: [{ partition: 0, key: null, value: await twinValue({ deviceId: 'keyless' }) }] });
    await expect(send).rejects.toThrow(/failed the validation on broker/);
  });

  describe('when fleet.twins holds hostile records, each followed by a good twin', () => {
    // all on partition 0, so the good twins share batches with the poison
    const hostile: { name: string; reason: string; key: () => string | null; value: () => Promise<Buffer> }[] = [];
    beforeAll(async () => {
      const longId = 'd'.repeat(2000);
      const telemetrySchemaId = await stack.telemetryCodec.register(`${stack.topics.telemetry}-value`);
      const goodBytes = await twinValue({ deviceId: 'template', version: 3 });
      hostile.push(
        { name: 'a 2,000-byte key (over LMDB\'s limit) with a twin value', reason: 'invalid-key', key: () => longId, value: () => twinValue({ deviceId: longId, version: 1 }) },
        { name: 'a key with a control character', reason: 'invalid-key', key: () => 'dev\u0007bell', value: () => twinValue({ deviceId: 'dev\u0007bell', version: 1 }) },
        { name: 'random bytes', reason: 'not-confluent-framed', key: () => 'poison-random', value: async () => garbage(64) },
        { name: 'an empty value', reason: 'not-confluent-framed', key: () => 'poison-empty', value: async () => Buffer.alloc(0) },
        { name: 'truncated Avro', reason: 'undecodable', key: () => 'poison-truncated', value: async () => goodBytes.subarray(0, 9) },
        { name: 'an unknown schema id', reason: 'unknown-schema-id', key: () => 'poison-unknown-id', value: async () => framed(2_000_000_001, goodBytes.subarray(5)) },
        {
          name: 'a value of another registered schema (telemetry)',
          reason: 'undecodable',
          key: () => 'poison-telemetry',
          value: () => stack.telemetryCodec.encode(telemetrySchemaId, reading('poison-telemetry', 1)),
        },
      );
      const messages = [];
      for (const [index, record] of hostile.entries()) {
        messages.push({ partition: 0, key: record.key(), value: await record.value() });
        messages.push({ partition: 0, key: `good-${index}`, value: await twinValue({ deviceId: `good-${index}`, version: 10 + index }) });
      }
      await producer.send({ topic: stack.topics.twins, acks: -1, messages });
      await startReader();
    });

    it('serves every good twin that follows a hostile record', async () => {
      for (const [index, record] of hostile.entries()) {
        const { status, body } = await eventually(() => server!.get<{ version: number }>(`/devices/good-${index}/twin`), ({ status }) => status === 200, 20_000);
        expect({ after: record.name, status, version: body.version }).toEqual({ after: record.name, status: 200, version: 10 + index });
      }
      expect((await server!.get('/devices/poison-random/twin')).status).toBe(404);
      expect((await server!.get('/devices/poison-telemetry/twin')).status).toBe(404);
    });

    it('counts each skipped record on /metrics by reason, and the view has no lag', async () => {
      const metrics = await metricsOf(server!);
      const expected: Record<string, number> = {};
      for (const { reason } of hostile) expected[reason] = (expected[reason] ?? 0) + 1;
      const counted = Object.fromEntries(Object.keys(expected).map((reason) => [reason, skipped(metrics, 'twins', reason)]));
      expect(counted).toEqual(expected);
      expect(viewLag(metrics, 'twins')).toBe(0);
    });

    it('comes up ready again after a restart, within seconds', async () => {
      await server!.stop();
      const startedAt = Date.now();
      await startReader();
      const readyMs = Date.now() - startedAt;
      console.log(`restart on the poisoned fleet.twins: ready in ${readyMs} ms`);
      expect(readyMs).toBeLessThan(20_000);
      expect((await server!.get<{ version: number }>(`/devices/good-${hostile.length - 1}/twin`)).body.version).toBe(10 + hostile.length - 1);
    });
  });

  describe('when fleet.command-state holds a poison record before a good state', () => {
    it('serves the good command and counts the skipped one', async () => {
      const codec = new RegistryCodec<CommandStateSnapshot>(stack.registry, readAvroSchema('command-state'));
      const schemaId = await codec.register(`${stack.topics.commandState}-value`);
      const request: CommandRequest = {
        commandId: 'cmd-good', deviceId: 'pump-1', name: 'reboot', params: {}, ttlMs: 3_600_000,
        timeouts: { deliveryMs: 30_000, acceptanceMs: 60_000, executionMs: 600_000 }, maxAttempts: 5,
        backoff: { initialMs: 1000, maxMs: 60_000 }, ordered: false, idempotencyKey: null, bodyHash: 'test', requestedBy: null,
      };
      const state = evolveCommand(null, { type: 'CommandRequested', data: request, metadata: { at: Date.now() } });
      await producer.send({
        topic: stack.topics.commandState,
        acks: -1,
        messages: [
          { partition: 0, key: 'cmd-poison', value: garbage(40) },
          { partition: 0, key: 'cmd-good', value: await codec.encode(schemaId, toCommandStateSnapshot(state)) },
        ],
      });
      const { body } = await eventually(() => server!.get<{ commandId: string; state: string }>('/commands/cmd-good'), ({ status }) => status === 200, 20_000);
      expect(body).toMatchObject({ commandId: 'cmd-good', state: 'queued' });
      const metrics = await metricsOf(server!);
      expect(skipped(metrics, 'command-state', 'not-confluent-framed')).toBe(1);
      expect(viewLag(metrics, 'command-state')).toBe(0);
    });
  });
});
