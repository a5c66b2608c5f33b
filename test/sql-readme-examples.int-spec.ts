import { TelemetryProducer } from '@fleetstream/kafka';
import { INestApplication } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../bench/support/free-port';
import { createApp } from '../apps/server/src/main';
import { apiKeyFor } from './support/api-keys';
import { connectedTelemetryProducer, createTestStack, eventually, reading, stackEnv, TestStack } from './support/test-stack';

/** The statements of the README's "Example queries" block, by their comment line. */
function readmeExamples(): Map<string, string> {
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('#### Example queries'));
  const block = /```sql\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('README: no ```sql block under "#### Example queries"');
  const examples = new Map<string, string>();
  for (const statement of block.split(/;\s*\n/).map((text) => text.trim()).filter(Boolean)) {
    const [comment, ...sql] = statement.split('\n');
    examples.set(comment!.replace(/^--\s*/, ''), sql.join('\n'));
  }
  return examples;
}

/**
 * The README's example queries, run as written through the SQL interface on telemetry produced to
 * Kafka: an example the interface refuses, or one that reads the wrong table, fails here.
 */
describe("the README's example queries, through the SQL interface", () => {
  const examples = readmeExamples();
  const now = Date.now();
  // device-00001 reads every minute of the last 5 minutes; device-00002 went silent 20 minutes ago
  const recent = [1, 2, 3, 4, 5].map((seq) => ({ ...reading('device-00001', seq, now - (6 - seq) * 60_000, { temperature: 20 + seq, battery: 90 - seq }), attributes: { firmware: '1.5.0' } }));
  const silent = reading('device-00002', 1, now - 20 * 60_000, { temperature: 30, battery: 50 });
  let stack: TestStack;
  let app: INestApplication;
  let producer: TelemetryProducer | undefined;
  let url: string;
  let analyst: string;

  const run = async (sql: string) => {
    const response = await fetch(`${url}/?default_format=JSONEachRow`, { method: 'POST', body: sql, headers: { 'X-ClickHouse-Key': analyst } });
    const body = Buffer.from(await response.arrayBuffer());
    return { status: response.status, body, rows: () => body.toString('utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>) };
  };
  const example = (comment: string) => {
    const sql = examples.get(comment);
    if (!sql) throw new Error(`README: no example "-- ${comment}" (have: ${[...examples.keys()].join(' | ')})`);
    return run(sql);
  };

  beforeAll(async () => {
    stack = await createTestStack();
    analyst = await apiKeyFor(stack, 'readme-analyst', 'analyst');
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    Object.assign(process.env, { ...stackEnv(stack), SQL_HTTP_PORT: String(port), LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
    app = await createApp();
    await app.init();

    producer = await connectedTelemetryProducer(stack);
    await producer.send([...recent, silent]);
    const raw = stack.kafka.producer();
    await raw.connect();
    await raw.send({ topic: stack.topics.telemetry, messages: [{ key: 'device-00003', value: Buffer.from('not avro') }] });
    await raw.disconnect();
    await eventually(
      async () => (await run('SELECT (SELECT count() FROM telemetry_raw) AS readings, (SELECT count() FROM dead_letters) AS dead FORMAT JSONEachRow')).rows()[0],
      (counts) => Number(counts?.readings) === recent.length + 1 && Number(counts?.dead) === 1,
    );
  });

  afterAll(async () => {
    await producer?.disconnect();
    await app?.close();
  });

  it('has the examples the tests below run, and every one of them answers 200', async () => {
    expect(examples.size).toBe(7);
    for (const [comment, sql] of examples) {
      const { status, body } = await run(sql);
      expect({ comment, status, error: status === 200 ? '' : body.toString('utf8').slice(0, 300) }).toEqual({ comment, status: 200, error: '' });
    }
  });

  it('reads the last hour of one device, the per-firmware averages and the silent devices from telemetry_raw', async () => {
    expect((await example('the last hour of one device')).rows().map((row) => row.temperature)).toEqual([21, 22, 23, 24, 25]);
    const firmware = (await example('hourly average temperature per firmware version, last day')).rows();
    expect(firmware.map((row) => row.firmware)).toEqual(expect.arrayContaining(['1.5.0', '1.0.0']));
    expect((await example('devices whose newest reading is more than 10 minutes old')).rows().map((row) => row.device_id)).toEqual(['device-00002']);
  });

  it('aggregates the per-minute rollup to one row a minute, with min, max, average and last', async () => {
    const minutes = (await example('per-minute battery of one device, from the rollup')).rows();
    expect(minutes.map((row) => [row.min, row.max, row.avg, row.last])).toEqual([89, 88, 87, 86, 85].map((battery) => [battery, battery, battery, battery]));
  });

  it('counts the dead letters by reason and shows how far each partition was stored', async () => {
    expect((await example('why records were dead-lettered today')).rows()).toEqual([{ reason: 'not-confluent-framed', records: expect.anything() }]);
    const watermarks = (await example('how far history got, per telemetry partition')).rows();
    expect(watermarks.length).toBeGreaterThan(0);
    expect(watermarks.every((row) => row.source_topic === stack.topics.telemetry)).toBe(true);
  });

  it('exports the month as a Parquet file', async () => {
    const { status, body } = await example("this month's raw history as a Parquet file, for pandas, DuckDB or Spark");
    expect(status).toBe(200);
    expect([body.subarray(0, 4).toString(), body.subarray(-4).toString()]).toEqual(['PAR1', 'PAR1']);
  });
});
