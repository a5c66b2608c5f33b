import { TelemetryProducer } from '@fleetstream/kafka';
import { INestApplication } from '@nestjs/common';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../bench/support/free-port';
import { createApp } from '../apps/server/src/main';
import { apiKeyFor } from './support/api-keys';
import { connectedTelemetryProducer, createTestStack, eventually, reading, stackEnv, TestStack } from './support/test-stack';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');


/** What test/clients/clickhouse_connect_check.py prints. */
interface PythonReport {
  server_version: string;
  protocol_version: number;
  readings: { columns: string[]; rows: { device_id: string; seq: number; event_time_ms: number; metrics: Record<string, number>; source_topic: string }[] };
  bound: { device_id: string; readings: number; last_seq: number }[];
  injection: { sent: string; returned: string };
  command: number;
  streamed: { rows: number; sum: number };
  dataframe: { skipped?: string; rows?: unknown[] };
  refused: Record<'insert_statement' | 'insert_api' | 'file_function' | 'other_database' | 'setting' | 'setting_sent', Outcome>;
  wrong_password: Outcome;
}
type Outcome = { raised: string | null; code?: number; message?: string };

/**
 * The SQL interface from another ecosystem: Python's clickhouse-connect, unmodified, installed by
 * infra/local/ensure-python-client.sh (a venv in .tools/python-clients), against the real stack and chdb.
 */
describe('SQL interface from Python (clickhouse-connect)', () => {
  const devices = ['py-dev-1', 'py-dev-2'];
  const base = Date.now() - 60_000;
  const readings = devices.flatMap((deviceId, d) => [1, 2, 3].map((seq) => reading(deviceId, seq, base + d * 1000 + seq, { temperature: 20 + d * 10 + seq, humidity: 0.5 })));
  let stack: TestStack;
  let app: INestApplication;
  let producer: TelemetryProducer | undefined;
  let report: PythonReport;

  beforeAll(async () => {
    const python = (await run('bash', [join(ROOT, 'infra/local/ensure-python-client.sh')], { cwd: ROOT })).stdout.trim();
    stack = await createTestStack();
    const analyst = await apiKeyFor(stack, 'py-analyst', 'analyst');
    const port = await freePort();
    Object.assign(process.env, { ...stackEnv(stack), SQL_HTTP_PORT: String(port), LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
    app = await createApp();
    await app.init();

    producer = await connectedTelemetryProducer(stack);
    await producer.send(readings);
    const count = () =>
      fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'SELECT count() FROM telemetry_raw FINAL', headers: { 'X-ClickHouse-Key': analyst } }).then((response) => response.text());
    await eventually(count, (text) => text.trim() === String(readings.length));

    const { stdout } = await run(python, [join(ROOT, 'test/clients/clickhouse_connect_check.py'), '--port', String(port), '--database', stack.config.CLICKHOUSE_DATABASE, '--device', devices[1]!], {
      env: { ...process.env, FLEETSTREAM_SQL_KEY: analyst },
    });
    report = JSON.parse(stdout) as PythonReport;
  });

  afterAll(async () => {
    await producer?.disconnect();
    await app?.close();
  });

  it('connects as the analyst key and reads the stored telemetry back, typed: DateTime64, Map of LowCardinality keys, LowCardinality', () => {
    expect(report.server_version).toMatch(/^\d+\.\d+/);
    expect(report.readings.columns).toEqual(['device_id', 'seq', 'event_time', 'metrics', 'source_topic']);
    expect(report.readings.rows).toEqual(
      readings.map((r) => ({ device_id: r.deviceId, seq: r.seq, event_time_ms: r.eventTime, metrics: r.metrics, source_topic: stack.topics.telemetry })),
    );
  });

  it('binds {name:Type} parameters on the server, and a string parameter stays a value', () => {
    expect(report.bound).toEqual([{ device_id: devices[1], readings: 2, last_seq: 3 }]);
    expect(report.injection.returned).toBe(report.injection.sent);
  });

  it('runs command() and streams a large result block by block', () => {
    expect(report.command).toBe(1);
    expect(report.streamed).toEqual({ rows: 200_000, sum: (199_999 * 200_000) / 2 });
  });

  it('skips query_df without pandas (the test installs clickhouse-connect alone)', () => {
    expect(report.dataframe).toEqual({ skipped: 'pandas is not installed' });
  });

  it('raises the ClickHouse code for what the interface refuses: INSERT (statement and insert()), file(), another database', () => {
    expect(report.refused.insert_statement).toMatchObject({ raised: 'DatabaseError', code: 164, message: expect.stringMatching(/INSERT is refused/) });
    // insert() sends the rows lz4-compressed: refused as a compressed body, with the code a readonly ClickHouse gives an INSERT
    expect(report.refused.insert_api).toMatchObject({ raised: 'DatabaseError', code: 164, message: expect.stringMatching(/request body with Content-Encoding: lz4 is refused/) });
    expect(report.refused.file_function).toMatchObject({ raised: 'DatabaseError', code: 497, message: expect.stringMatching(/file\(\) is refused/) });
    expect(report.refused.other_database).toMatchObject({ raised: 'DatabaseError', code: 291 });
  });

  it('keeps the server\'s settings: the client will not send one (system.settings says readonly), and the server refuses one sent anyway', () => {
    expect(report.refused.setting).toMatchObject({ raised: 'ProgrammingError', message: expect.stringMatching(/max_execution_time is readonly/) });
    expect(report.refused.setting_sent).toMatchObject({ raised: 'DatabaseError', code: 164, message: expect.stringMatching(/Cannot modify 'max_execution_time'/) });
  });

  it('refuses a wrong password (an unknown API key) when the client connects', () => {
    expect(report.wrong_password).toMatchObject({ raised: 'DatabaseError', code: 516, message: expect.stringMatching(/Authentication failed/) });
  });

  it("works at protocol version 0: the server refuses the client's client_protocol_version probe, which chdb cannot honour", () => {
    expect(report.protocol_version).toBe(0);
  });
});
