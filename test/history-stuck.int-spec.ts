import type { ClickHouseTransport } from '@fleetstream/history';
import { TelemetryProducer } from '@fleetstream/kafka';
import { INestApplication } from '@nestjs/common';
import { CLICKHOUSE } from '../apps/server/src/infrastructure/tokens';
import { startTestApp } from './support/test-app';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectedTelemetryProducer, createTestStack, eventually, reading, TestStack } from './support/test-stack';
import { adminHttp } from './support/http';

const STUCK_S = 3;
const DEVICE = 'stuck-writer-1';

interface ReadyBody {
  status: string;
  error?: Record<string, { status: string; message?: string }>;
}

/** A series' value on /metrics, or undefined when it is absent. */
function metric(metrics: string, series: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

/**
 * ClickHouse refusing writes is a transient fault: the history writer retries its batch for as long
 * as it takes — and /ready and /metrics must say so once it lasted PROCESSOR_STUCK_S. The refusal is
 * real: the service's own embedded ClickHouse is told to throw "Too many parts" on any insert into
 * telemetry_raw (parts_to_throw_insert = 1, as an overloaded server does), then told to stop.
 */
describe('history writer while ClickHouse refuses writes (whole service, real stack)', () => {
  let stack: TestStack;
  let app: INestApplication;
  let clickhouse: ClickHouseTransport;
  let producer: TelemetryProducer;
  let table: string;

  const ready = async () => {
    const response = await adminHttp(app).get('/ready');
    return { status: response.status, body: response.body as ReadyBody };
  };
  const metrics = async () => (await adminHttp(app).get('/metrics')).text;
  const storedSeqs = async () => {
    const response = await adminHttp(app).get(`/devices/${DEVICE}/telemetry?limit=1000&from=${new Date(Date.now() - 3_600_000).toISOString()}`);
    return (response.body as { readings: { seq: number }[] }).readings.map((row) => row.seq).sort((a, b) => a - b);
  };

  beforeAll(async () => {
    stack = await createTestStack();
    process.env.PROCESSOR_STUCK_S = String(STUCK_S);
    process.env.PROCESSORS = 'history';
    app = await startTestApp(stack);
    clickhouse = app.get<ClickHouseTransport>(CLICKHOUSE);
    table = `${stack.config.CLICKHOUSE_DATABASE}.telemetry_raw`;
    producer = await connectedTelemetryProducer(stack);
  });

  afterAll(async () => {
    await clickhouse?.command(`ALTER TABLE ${table} RESET SETTING parts_to_throw_insert, parts_to_delay_insert`).catch(() => undefined);
    await producer?.disconnect();
    await app?.close();
    delete process.env.PROCESSOR_STUCK_S;
    delete process.env.PROCESSORS;
  });

  it(`goes down once its write failed for ${STUCK_S} s, naming the history writer and the failing write, and comes back with every reading stored once`, async () => {
    await producer.send([1, 2, 3].map((seq) => reading(DEVICE, seq)));
    await eventually(storedSeqs, (seqs) => seqs.length === 3);
    expect((await ready()).status).toBe(200);

    // one part exists in this month's partition: from now on every insert is refused
    await clickhouse.command(`ALTER TABLE ${table} MODIFY SETTING parts_to_delay_insert = 1, parts_to_throw_insert = 1`);
    await producer.send([4, 5, 6].map((seq) => reading(DEVICE, seq)));
    const refusedAt = Date.now();

    const down = await eventually(ready, (r) => r.status !== 200, (STUCK_S + 10) * 1000);
    const downAfterS = (Date.now() - refusedAt) / 1000;
    expect(down.status).toBe(503);
    expect(down.body.error?.history?.message).toMatch(new RegExp(`^history: the write of its batch has been failing for \\d+ s \\(\\d+ attempts; .*last error: .*Too many parts`, 's'));
    // the writer kept retrying meanwhile and nothing of the refused batch was stored
    expect(downAfterS).toBeGreaterThanOrEqual(STUCK_S);
    const failing = await metrics();
    expect(metric(failing, 'fleetstream_processor_failing_seconds{processor="history",partition="all"}')).toBeGreaterThanOrEqual(STUCK_S);
    expect(metric(failing, 'fleetstream_processor_batch_retries_total{processor="history"}')).toBeGreaterThan(1);
    expect(await storedSeqs()).toEqual([1, 2, 3]);

    await clickhouse.command(`ALTER TABLE ${table} RESET SETTING parts_to_throw_insert, parts_to_delay_insert`);
    await eventually(ready, (r) => r.status === 200, 20_000);
    expect(await eventually(storedSeqs, (seqs) => seqs.length >= 6)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(metric(await metrics(), 'fleetstream_processor_failing_seconds{processor="history",partition="all"}')).toBe(0);
    console.log(`history-stuck: /ready down ${downAfterS.toFixed(1)} s after the refusal began (PROCESSOR_STUCK_S=${STUCK_S})`);
  }, 90_000);

  it('loses no reading when its batch also holds a bad record and the service stops while ClickHouse refuses the readings', async () => {
    // one partition's batch: good readings, then a record that must be dead-lettered (a higher offset)
    const device = 'stuck-writer-2';
    const stored = async () => (await adminHttp(app).get(`/devices/${device}/telemetry?limit=100&from=${new Date(Date.now() - 3_600_000).toISOString()}`)).body as { readings: { seq: number }[] };
    await producer.send([reading(device, 1)]);
    await eventually(async () => (await stored()).readings.length, (n) => n === 1);
    await clickhouse.command(`ALTER TABLE ${table} MODIFY SETTING parts_to_delay_insert = 1, parts_to_throw_insert = 1`);
    await producer.send([reading(device, 2), reading(device, 3)]);
    const raw = stack.kafka.producer();
    await raw.connect();
    await raw.send({ topic: stack.topics.telemetry, messages: [{ key: device, value: Buffer.from('not avro') }] });
    await raw.disconnect();
    // the batch is retried meanwhile; then the service stops (a deploy, a rebalance) before ClickHouse takes the readings
    await sleep(3000);
    await app.close();
    await clickhouse.command(`ALTER TABLE ${table} RESET SETTING parts_to_throw_insert, parts_to_delay_insert`).catch(() => undefined);
    app = await startTestApp(stack);
    clickhouse = app.get<ClickHouseTransport>(CLICKHOUSE);
    await clickhouse.command(`ALTER TABLE ${table} RESET SETTING parts_to_throw_insert, parts_to_delay_insert`);
    // a dead letter recorded before the readings moved the watermark past them: they were skipped for good
    expect((await eventually(async () => (await stored()).readings.map((r) => r.seq).sort(), (seqs) => seqs.length >= 3, 30_000)).sort()).toEqual([1, 2, 3]);
  }, 90_000);
});
