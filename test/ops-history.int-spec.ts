import type { Telemetry } from '@fleetstream/domain';
import { ActiveGroupError, BatchConsumer, ConsumerGroupAdmin, fleetGroups, TelemetryProducer } from '@fleetstream/kafka';
import type { HistoryWriter, PreparedBatch } from '@fleetstream/history';
import { readAvroSchema } from '@fleetstream/serde';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { setTimeout as sleep } from 'node:timers/promises';
import { listDeadLetters, redriveDeadLetters } from '../apps/cli/src/commands/dlq.command';
import { lag } from '../apps/cli/src/commands/lag.command';
import { replay } from '../apps/cli/src/commands/replay.command';
import { HistoryHarness } from './support/history-harness';
import { connectedTelemetryProducer, createTestStack, eventually, reading, readTopic, TestStack } from './support/test-stack';

/** No progress lines in the test output. */
const quiet = { json: true };

/** Ops on the history writer's group, on the real stack: replay, lag, dead-letter re-drive. */
describe('ops: replay, lag and DLQ re-drive of the history writer', () => {
  let stack: TestStack;
  let history: HistoryHarness;
  let producer: TelemetryProducer;
  let groupId: string;
  let running: { writer: HistoryWriter; consumer: BatchConsumer<PreparedBatch> } | undefined;
  const base = Date.now() - 600_000;
  /** The first reading of the second half: a replay from here re-reads only the second half. */
  const secondHalfAt = base + 300_000;

  const startWriter = async () => {
    running = await history.startWriter(groupId);
    return running.writer;
  };
  const stopWriter = async () => {
    await running?.consumer.stop();
    running = undefined;
  };

  beforeAll(async () => {
    stack = await createTestStack();
    groupId = fleetGroups(stack.config.TOPIC_PREFIX).history;
    history = await new HistoryHarness(stack).open();
    producer = await connectedTelemetryProducer(stack);
    // 150 readings, then 150 more five minutes later; the record timestamp is the event time
    await producer.send(Array.from({ length: 150 }, (_, i) => reading(`dev-${i % 15}`, Math.floor(i / 15) + 1, base + i)));
    await producer.send(Array.from({ length: 150 }, (_, i) => reading(`dev-${i % 15}`, Math.floor(i / 15) + 11, secondHalfAt + i)));
    const writer = await startWriter();
    await eventually(async () => writer.stats.stored, (n) => n === 300);
    await stopWriter();
  });

  afterAll(async () => {
    await stopWriter();
    await producer.disconnect();
    await history.close();
  });

  describe('when the history group is replayed from the beginning twice', () => {
    it('re-reads every record each time and the row count stays the same', async () => {
      for (let pass = 0; pass < 2; pass++) {
        const result = await replay(stack, { group: 'history', topic: stack.topics.telemetry, start: { kind: 'beginning' } });
        expect(result).toMatchObject({ applied: true, toReprocess: 300 });
        const writer = await startWriter();
        await eventually(async () => writer.stats.skipped, (n) => n === 300);
        expect(writer.stats.stored).toBe(0);
        expect(await history.repository.count()).toBe(300);
        await stopWriter();
      }
    });
  });

  describe('when the history group is replayed from a timestamp', () => {
    it('re-reads only the records at or after it', async () => {
      const result = await replay(stack, { group: 'history', topic: stack.topics.telemetry, start: { kind: 'timestamp', at: secondHalfAt } });
      expect(result.toReprocess).toBe(150);
      const writer = await startWriter();
      await eventually(async () => writer.stats.skipped, (n) => n >= 150);
      await sleep(1000); // nothing earlier may follow
      expect(writer.stats.skipped).toBe(150);
      expect(await history.repository.count()).toBe(300);
    });
  });

  describe('when the history group is replayed with an end', () => {
    it('re-reads only the records before the end, then goes on where it was', async () => {
      await stopWriter();
      const result = await replay(stack, {
        group: 'history',
        topic: stack.topics.telemetry,
        start: { kind: 'beginning' },
        end: { kind: 'timestamp', at: secondHalfAt },
      });
      expect(result.toReprocess).toBe(150);
      expect(result.bounds.length).toBeGreaterThan(0);
      const writer = await startWriter();
      await eventually(async () => writer.stats.skipped, (n) => n >= 150);
      const admin = new ConsumerGroupAdmin(stack.kafka);
      try {
        // the records past the end are passed over, and their offsets are committed all the same
        await eventually(async () => (await admin.lag(groupId, [stack.topics.telemetry])).reduce((sum, p) => sum + p.lag, 0), (lagging) => lagging === 0);
      } finally {
        await admin.close();
      }
      expect(writer.stats.skipped).toBe(150);
      expect(await history.repository.count()).toBe(300);
    });

    it('leaves no end behind: the next replay without one reads everything', async () => {
      await stopWriter();
      const result = await replay(stack, { group: 'history', topic: stack.topics.telemetry, start: { kind: 'beginning' } });
      expect(result).toMatchObject({ toReprocess: 300, bounds: [] });
      const writer = await startWriter();
      await eventually(async () => writer.stats.skipped, (n) => n === 300);
    });
  });

  describe('when the group has an active member', () => {
    it('refuses to move it and names the member; a dry run shows the plan and changes nothing', async () => {
      await expect(replay(stack, { group: 'history', topic: stack.topics.telemetry, start: { kind: 'beginning' } })).rejects.toThrow(ActiveGroupError);
      const dryRun = await replay(stack, { group: 'history', topic: stack.topics.telemetry, start: { kind: 'beginning' }, dryRun: true });
      expect(dryRun).toMatchObject({ applied: false, toReprocess: 300 });
      const [groupLag] = await lag(stack, { groups: ['history'] });
      expect(groupLag!.totalLag).toBe(0);
    });
  });

  describe('when the consumer is paused while devices keep publishing', () => {
    it('reports the records waiting per partition, then zero after it resumes', async () => {
      await stopWriter();
      await producer.send(Array.from({ length: 40 }, (_, i) => reading(`dev-${i % 15}`, 100 + i, Date.now() - 1000 + i)));
      const [paused] = await lag(stack, { groups: [groupId] });
      expect(paused).toMatchObject({ group: groupId, state: 'Empty', members: 0, totalLag: 40 });
      expect(paused!.partitions.reduce((sum, p) => sum + Number(p.high) - Number(p.committed), 0)).toBe(40);
      const writer = await startWriter();
      await eventually(async () => writer.stats.stored, (n) => n === 40);
      const admin = new ConsumerGroupAdmin(stack.kafka);
      await eventually(async () => (await admin.lag(groupId, [stack.topics.telemetry])).reduce((sum, p) => sum + p.lag, 0), (n) => n === 0);
      await admin.close();
    });
  });

  describe('when records were dead-lettered for a schema id the registry did not have', () => {
    /** Telemetry as a newer producer writes it: one more field, with a default (BACKWARD compatible). */
    const newerSchema = (marker: string) => {
      const schema = readAvroSchema('telemetry') as { fields: unknown[]; doc: string };
      return { ...schema, doc: `${schema.doc} (${marker})`, fields: [...schema.fields, { name: 'site', type: 'string', default: 'unknown' }] };
    };
    const registerProbe = async (n: number) =>
      (await stack.registry.register(
        { type: SchemaType.AVRO, schema: JSON.stringify({ type: 'record', name: `Probe${n}`, namespace: 'io.fleetstream.test', fields: [{ name: `f${stack.config.TOPIC_PREFIX.replace(/\W/g, '_')}_${n}`, type: 'int' }] }) },
        { subject: `${stack.config.TOPIC_PREFIX}.probe-${n}-value` },
      )).id;

    it('re-drives them after the schema is registered: stored exactly once, a second re-drive sends nothing', async () => {
      if (!running) await startWriter();
      // Registry ids are sequential: frame the records with an id a few ahead, then register up to it.
      const targetId = (await registerProbe(0)) + 3;
      const schema = newerSchema(stack.config.TOPIC_PREFIX);
      const body = (value: Telemetry & { site: string }) => avro.Type.forSchema(schema as avro.Schema).toBuffer(value);
      const header = Buffer.alloc(5);
      header.writeInt32BE(targetId, 1);
      const deviceReadings = Array.from({ length: 12 }, (_, i) => ({ ...reading(`newer-${i % 4}`, Math.floor(i / 4) + 1, Date.now() - 5000 + i), site: 'plant-7' }));
      const raw = stack.kafka.producer();
      await raw.connect();
      await raw.send({ topic: stack.topics.telemetry, messages: deviceReadings.map((r) => ({ key: r.deviceId, value: Buffer.concat([header, body(r)]) })) });
      await raw.disconnect();
      await readTopic(stack, stack.topics.telemetryDlq, 12);
      const before = await listDeadLetters(stack, { reasons: ['unknown-schema-id'] }, quiet);
      expect(before).toHaveLength(12);
      expect(before[0]).toMatchObject({ decoded: null, redriven: false, source: expect.stringContaining(stack.topics.telemetry) });

      for (let n = 1; ; n++) {
        const id = await registerProbe(n);
        if (id >= targetId - 1) {
          if (id !== targetId - 1) throw new Error(`schema id ${targetId} was taken by another registration meanwhile; run the test again`);
          break;
        }
      }
      const registered = await stack.registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject: `${stack.config.TOPIC_PREFIX}.newer-telemetry-value` });
      expect(registered.id).toBe(targetId);
      const decodable = await listDeadLetters(stack, { reasons: ['unknown-schema-id'] }, quiet);
      expect(decodable.every((d) => d.decoded?.deviceId.startsWith('newer-'))).toBe(true);

      const stored = await history.repository.count();
      const first = await redriveDeadLetters(stack, { reasons: ['unknown-schema-id'] }, quiet);
      expect(first).toMatchObject({ selected: 12, redriven: 12, alreadyRedriven: 0 });
      await eventually(() => history.repository.count(), (n) => n === stored + 12);

      const second = await redriveDeadLetters(stack, { reasons: ['unknown-schema-id'] }, quiet);
      expect(second).toMatchObject({ selected: 12, redriven: 0, alreadyRedriven: 12 });
      await sleep(1500);
      expect(await history.repository.count()).toBe(stored + 12);
      const after = await listDeadLetters(stack, { reasons: ['unknown-schema-id'] }, quiet);
      expect(after.every((d) => d.redriven)).toBe(true);
    });
  });
});
