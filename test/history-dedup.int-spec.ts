import type { Telemetry } from '@fleetstream/domain';
import { HISTORY_MIGRATIONS, HistoryRepository, HistoryWriter, migrate, telemetryRow } from '@fleetstream/history';
import { TelemetryProducer } from '@fleetstream/kafka';
import { HistoryHarness } from './support/history-harness';
import { rawRows, rollupsAndDistinctRaw } from './support/history-tables';
import { connectedTelemetryProducer, createTestStack, eventually, reading, TestStack } from './support/test-stack';

/**
 * Rollups agree with raw: a reading that reaches the topic twice under two offsets (a producer retry
 * without idempotence, a re-drive) is counted once, in the same batch, in a later batch and after a
 * restart of the writer; the first copy stored wins, whatever the values of the others.
 */
describe('history rollups on the real stack when readings arrive twice', () => {
  let stack: TestStack;
  let history: HistoryHarness;
  let producer: TelemetryProducer;
  let database: string;
  const base = Date.now() - 10 * 60_000;
  const devices = Array.from({ length: 6 }, (_, i) => `dedup-${i}`);
  /** 20 readings per device, 15 s apart: several minute buckets. */
  const originals = devices.flatMap((deviceId) =>
    Array.from({ length: 20 }, (_, i) => reading(deviceId, i + 1, base + i * 15_000, { temperature: 20 + i, battery: 100 - i })),
  );
  const changed = (original: Telemetry): Telemetry => ({ ...original, metrics: { temperature: 1000, battery: -1000 } });
  let sent = 0;

  async function send(readings: Telemetry[]): Promise<void> {
    await producer.send(readings);
    sent += readings.length;
  }

  async function allHandled(writer: HistoryWriter, expected: number): Promise<void> {
    await eventually(async () => writer.stats.stored + writer.stats.skipped, (handled) => handled === expected);
  }

  beforeAll(async () => {
    stack = await createTestStack();
    database = stack.config.CLICKHOUSE_DATABASE;
    history = await new HistoryHarness(stack).open();
    producer = await connectedTelemetryProducer(stack);
  });

  afterAll(async () => {
    await producer.disconnect();
    await history.close();
  });

  it('counts a reading sent twice in one batch once, and keeps the first copy', async () => {
    // every third reading right behind itself (same partition, next offset); one copy with other values
    const withCopies = originals.flatMap((original, i) => (i % 3 === 0 ? [original, i === 0 ? changed(original) : original] : [original]));
    await send(withCopies);
    const { writer, consumer } = await history.startWriter('dedup');
    await allHandled(writer, sent);
    expect(writer.stats.duplicates).toBe(withCopies.length - originals.length);
    expect(await rawRows(history.chdb, database, 'dedup-', false)).toBe(originals.length);
    const [first] = await history.repository.readings({ deviceId: 'dedup-0', from: base, to: base + 1, limit: 1 });
    expect(first?.metrics).toEqual({ temperature: 20, battery: 100 });

    // a later batch of the same run: copies (some with other values) and new readings, one of them
    // older than its device's newest stored reading (looked up, found new, stored)
    const late = [...originals.slice(0, 10), ...originals.slice(30, 35).map(changed), reading('dedup-0', 100, base + 1_000), reading('dedup-1', 21, base + 20 * 15_000)];
    await send(late);
    await allHandled(writer, sent);
    expect(writer.stats.duplicates).toBe(withCopies.length - originals.length + 15);
    await consumer.stop();
  });

  it('counts copies read after a restart of the writer once', async () => {
    // a fresh writer knows nothing in memory: what is stored comes from ClickHouse
    await send([...originals.slice(40, 60).map(changed), reading('dedup-0', 100, base + 1_000), reading('dedup-2', 21, base + 20 * 15_000)]);
    const { writer } = await history.startWriter('dedup');
    await allHandled(writer, 22);
    expect(writer.stats).toMatchObject({ stored: 1, duplicates: 21 });
    const distinct = originals.length + 3;
    expect(await rawRows(history.chdb, database, 'dedup-', false)).toBe(distinct);
    expect(await rawRows(history.chdb, database, 'dedup-', true)).toBe(distinct);
  });

  it('leaves every rollup equal to the aggregation of the distinct raw readings', async () => {
    for (const { table, rollup, distinctRaw } of await rollupsAndDistinctRaw(history.chdb, database, 'dedup-')) {
      expect({ table, rollup }).toEqual({ table, rollup: distinctRaw });
    }
    // as the API serves it (the readings may straddle an hour)
    const battery = await history.repository.rollup({ deviceId: 'dedup-0', bucket: '1h', from: base - 3_600_000, to: Date.now(), metrics: ['battery'] });
    expect({
      count: battery.reduce((sum, point) => sum + Number(point.count), 0),
      min: Math.min(...battery.map((point) => point.min)),
      max: Math.max(...battery.map((point) => point.max)),
    }).toEqual({ count: 20, min: 81, max: 100 }); // not the copy's -1000
  });

  describe('when a database written before this version upgrades', () => {
    it('rebuilds its rollups from the distinct readings and answers the newest reading per device', async () => {
      const upgraded = `${database}_upgrade`;
      const context = { database: upgraded, ttlDays: 365 };
      await migrate(history.chdb, context, HISTORY_MIGRATIONS.filter((migration) => migration.version < 4));
      const repository = new HistoryRepository(history.chdb, upgraded);
      const stored = originals.slice(0, 20).map((original, i) => telemetryRow(original, 'old.telemetry', 0, String(i)));
      const storedAgain = originals.slice(0, 5).map((original, i) => telemetryRow(original, 'old.telemetry', 0, String(100 + i)));
      await repository.insertTelemetry(stored);
      await repository.insertTelemetry(storedAgain);
      const before = await rollupsAndDistinctRaw(history.chdb, upgraded, 'dedup-');
      expect(before[0]!.rollup).not.toEqual(before[0]!.distinctRaw); // the old views counted the copies

      // migration 4, and every later one
      expect(await migrate(history.chdb, context)).toEqual(HISTORY_MIGRATIONS.map((migration) => migration.version).filter((version) => version >= 4));
      for (const { table, rollup, distinctRaw } of await rollupsAndDistinctRaw(history.chdb, upgraded, 'dedup-')) {
        expect({ table, rollup }).toEqual({ table, rollup: distinctRaw });
      }
      const latest = await repository.latestReadings(['dedup-0', 'dedup-9']);
      expect([...latest]).toEqual([['dedup-0', { eventTime: base + 19 * 15_000, seq: 20 }]]);
    });
  });
});
