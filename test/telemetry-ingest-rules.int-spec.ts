import { DEVICE_ID_RULE } from '@fleetstream/domain';
import type { ClickHouseTransport } from '@fleetstream/history';
import { DLQ_HEADERS, TelemetryProducer } from '@fleetstream/kafka';
import { readAvroSchema, RegistryCodec, RegistryUnavailableError } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { HistoryHarness } from './support/history-harness';
import { connectedTelemetryProducer, createTestStack, eventually, reading, readTopic, TestStack } from './support/test-stack';

/** Lets the real engine fail inserts for a while, as a ClickHouse outage would. */
class OutageSwitch {
  down = false;
  failedInserts = 0;
  wrap(real: ClickHouseTransport): ClickHouseTransport {
    return Object.assign(Object.create(real) as ClickHouseTransport, {
      insert: async (table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]) => {
        if (this.down) {
          this.failedInserts++;
          throw new Error('ClickHouse unavailable (test outage)');
        }
        return real.insert(table, columns, rows);
      },
    });
  }
}

describe('telemetry ingest rules on the real stack', () => {
  let stack: TestStack;
  let history: HistoryHarness;
  let producer: TelemetryProducer;
  const outage = new OutageSwitch();

  beforeAll(async () => {
    stack = await createTestStack();
    history = await new HistoryHarness(stack, (real) => outage.wrap(real)).open();
    producer = await connectedTelemetryProducer(stack);
  });

  afterAll(async () => {
    await producer.disconnect();
    await history.close();
  });

  describe('when records break each rule', () => {
    it('dead-letters every one with its reason, source and original bytes, and stores the good ones', async () => {
      const schemaId = await stack.telemetryCodec.register(`${stack.topics.telemetry}-value`);
      const encode = (value: ReturnType<typeof reading>) => stack.telemetryCodec.encode(schemaId, value);
      const wire = (id: number, body: Buffer) => {
        const header = Buffer.alloc(5);
        header.writeInt32BE(id, 1);
        return Buffer.concat([header, body]);
      };
      const now = Date.now();
      const bad: { key: string; value: Buffer }[] = [
        { key: 'not-confluent-framed', value: Buffer.from('plain text') },
        { key: 'unknown-schema-id', value: wire(987654, Buffer.from([2, 3])) },
        { key: 'undecodable', value: wire(schemaId, Buffer.from([0xff, 0xff, 0xff])) },
        { key: 'key-mismatch', value: await encode(reading('someone-else', 1, now)) },
        { key: '', value: await encode(reading('', 1, now)) },
        { key: 'non-finite-metric', value: await encode(reading('non-finite-metric', 1, now, { t: Number.NaN })) },
        { key: 'event-time-out-of-range', value: await encode(reading('event-time-out-of-range', 1, now + 86_400_000)) },
        { key: 'oversized', value: await encode({ ...reading('oversized', 1, now), attributes: { blob: 'x'.repeat(70 * 1024) } }) },
      ];
      const raw = stack.kafka.producer();
      await raw.connect();
      await raw.send({ topic: stack.topics.telemetry, messages: bad });
      await raw.disconnect();
      await producer.send([reading('good-1', 1, now), reading('good-2', 1, now)]);

      await history.startWriter('rules');
      await eventually(() => history.repository.count(), (n) => n === 2);
      const dead = await readTopic(stack, stack.topics.telemetryDlq, bad.length);
      const reasons = Object.fromEntries(dead.map((r) => [r.key?.toString() ?? '', r.headers[DLQ_HEADERS.reason]?.toString()]));
      expect(reasons).toEqual({
        'not-confluent-framed': 'not-confluent-framed',
        'unknown-schema-id': 'unknown-schema-id',
        undecodable: 'undecodable',
        'key-mismatch': 'key-mismatch',
        '': 'missing-device-id',
        'non-finite-metric': 'non-finite-metric',
        'event-time-out-of-range': 'event-time-out-of-range',
        oversized: 'oversized',
      });
      for (const record of dead) {
        const original = bad.find((b) => b.key === record.key?.toString())!;
        expect(record.value?.equals(original.value)).toBe(true);
        expect(record.headers[DLQ_HEADERS.sourceTopic]?.toString()).toBe(stack.topics.telemetry);
        expect(record.headers[DLQ_HEADERS.sourceOffset]).toBeDefined();
        expect(record.headers[DLQ_HEADERS.error]?.toString().length).toBeGreaterThan(5);
      }
    });
  });

  describe('when producers on an older and a newer schema version share the topic', () => {
    it('decodes both into the current reading type', async () => {
      const current = readAvroSchema('telemetry') as avro.schema.RecordType;
      const older = { ...current, fields: current.fields.filter((field) => field.name !== 'attributes') };
      const newer = { ...current, fields: [...current.fields, { name: 'location', type: ['null', 'string'], default: null }] };
      const subject = `${stack.topics.telemetry}-value`;
      const olderCodec = new RegistryCodec<object>(stack.registry, older);
      const newerCodec = new RegistryCodec<object>(stack.registry, newer);
      const olderId = await olderCodec.register(subject);
      const newerId = await newerCodec.register(subject);
      expect(new Set([olderId, newerId]).size).toBe(2);
      const t = Date.now();
      const raw = stack.kafka.producer();
      await raw.connect();
      await raw.send({
        topic: stack.topics.telemetry,
        messages: [
          { key: 'old-fw', value: await olderCodec.encode(olderId, { deviceId: 'old-fw', eventTime: t, seq: 1, metrics: { v: 1 } }) },
          { key: 'new-fw', value: await newerCodec.encode(newerId, { ...reading('new-fw', 1, t), location: 'dock 4' }) },
        ],
      });
      await raw.disconnect();
      await eventually(() => history.repository.count(), (n) => n === 4);
      const [old] = await history.repository.readings({ deviceId: 'old-fw', from: t - 1, to: t + 1, limit: 1 });
      const [fresh] = await history.repository.readings({ deviceId: 'new-fw', from: t - 1, to: t + 1, limit: 1 });
      expect(old).toMatchObject({ metrics: { v: 1 }, attributes: {} });
      expect(fresh).toMatchObject({ metrics: { temperature: 21 }, attributes: { firmware: '1.0.0' } });
    });
  });

  describe('when ClickHouse is down mid-stream', () => {
    it('pauses, retries and stores every reading exactly once after it returns', async () => {
      const before = await history.repository.count();
      outage.down = true;
      const t = Date.now();
      for (let batch = 0; batch < 5; batch++) {
        await producer.send(Array.from({ length: 100 }, (_, i) => reading(`outage-${i % 10}`, batch * 100 + i + 1, t + batch * 100 + i)));
      }
      await eventually(async () => outage.failedInserts, (n) => n >= 2);
      expect(await history.repository.count()).toBe(before);
      outage.down = false;
      await eventually(() => history.repository.count(), (n) => n === before + 500);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(await history.repository.count()).toBe(before + 500);
    });
  });

  describe('when records break the key or device-id contract, or their time is judged', () => {
    it("dead-letters each with its reason, stores the good record after each, and judges eventTime by the record's timestamp", async () => {
      const schemaId = await stack.telemetryCodec.register(`${stack.topics.telemetry}-value`);
      const now = Date.now();
      const longAgo = now - 60 * 86_400_000; // past the writer's 30-day age limit
      const message = (label: string, key: string | null, deviceId: string, timestamps: { event?: number; record?: number } = {}) =>
        stack.telemetryCodec.encode(schemaId, reading(deviceId, 1, timestamps.event ?? now)).then((value) => ({
          key,
          value,
          partition: 0,
          headers: { case: label },
          ...(timestamps.record === undefined ? {} : { timestamp: String(timestamps.record) }),
        }));
      const bad = [
        { label: 'null key', expected: 'missing-key', message: message('null key', null, 'no-key-1') },
        { label: 'empty key', expected: 'missing-key', message: message('empty key', '', 'no-key-2') },
        { label: '2,000-byte id', expected: 'invalid-device-id', message: message('2,000-byte id', 'd'.repeat(2000), 'd'.repeat(2000)) },
        { label: 'control character', expected: 'invalid-device-id', message: message('control character', 'dev\u00071', 'dev\u00071') },
        { label: 'another script', expected: 'invalid-device-id', message: message('another script', 'датчик-1', 'датчик-1') },
        // produced 60 days ago by its timestamp, yet claiming to be measured now
        { label: 'ahead of its record', expected: 'event-time-out-of-range', message: message('ahead of its record', 'ahead-1', 'ahead-1', { record: longAgo }) },
      ];
      const goodIds = bad.map((_, i) => `after-bad-${i}`);
      const messages = [];
      for (const [i, { message: pending }] of bad.entries()) messages.push(await pending, await message(`good ${i}`, goodIds[i]!, goodIds[i]!));
      // measured and produced 60 days ago: judged by its record's timestamp it is fresh (a replay or a late ingest must store it)
      messages.push(await message('old but consistent', 'old-1', 'old-1', { event: longAgo, record: longAgo }));
      const before = await history.repository.count();
      const dlqBefore = (await readTopic(stack, stack.topics.telemetryDlq, 8)).length;
      const raw = stack.kafka.producer();
      await raw.connect();
      await raw.send({ topic: stack.topics.telemetry, messages });
      await raw.disconnect();

      await eventually(() => history.repository.count(), (n) => n === before + goodIds.length + 1);
      const stored = await Promise.all(
        [...goodIds, 'old-1'].map((deviceId) => history.repository.readings({ deviceId, from: longAgo - 1, to: now + 1, limit: 1 })),
      );
      expect(stored.map((rows) => rows.length)).toEqual([...goodIds, 'old-1'].map(() => 1));
      const dead = (await readTopic(stack, stack.topics.telemetryDlq, dlqBefore + bad.length)).filter((record) => record.headers.case !== undefined);
      const reasons = Object.fromEntries(dead.map((record) => [record.headers.case!.toString(), record.headers[DLQ_HEADERS.reason]?.toString()]));
      expect(reasons).toEqual(Object.fromEntries(bad.map(({ label, expected }) => [label, expected])));
      const errors = Object.fromEntries(dead.map((record) => [record.headers.case!.toString(), record.headers[DLQ_HEADERS.error]?.toString()]));
      for (const label of ['2,000-byte id', 'control character', 'another script']) expect(errors[label]).toContain(DEVICE_ID_RULE);
      expect(errors['null key']).toContain('key telemetry by device id');
    });
  });

  describe('when the schema registry cannot be reached', () => {
    it('raises a retryable error instead of dead-lettering the record', async () => {
      const unreachable = new RegistryCodec(new SchemaRegistry({ host: 'http://127.0.0.1:1', retry: { retries: 0 } }), readAvroSchema('telemetry'));
      const header = Buffer.alloc(5);
      header.writeInt32BE(42, 1);
      await expect(unreachable.decode(Buffer.concat([header, Buffer.from([2])]))).rejects.toBeInstanceOf(RegistryUnavailableError);
    });
  });
});
