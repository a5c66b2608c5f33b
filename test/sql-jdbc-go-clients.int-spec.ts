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

/** A step of a check program: what the driver returned, or the error it gave (with the ClickHouse code). */
interface Outcome<T = unknown> {
  value?: T;
  error?: string;
  code?: number;
  message?: string;
}
interface Reading {
  device_id: string;
  seq: number;
  event_time_ms: number;
  metrics: Record<string, number>;
  source_topic: string;
}

/** What test/clients/jdbc/JdbcCheck.java prints. */
interface JdbcReport {
  default_compression: Outcome;
  product: Outcome<string>;
  driver: Outcome<string>;
  schemas: Outcome<string[]>;
  tables: Outcome<string[]>;
  columns: Outcome<Record<string, string>>;
  primary_keys: Outcome<string[]>;
  type_info: Outcome<number>;
  dbeaver: Record<'version' | 'databases' | 'table_engines' | 'tables' | 'create_table' | 'set_readonly', Outcome>;
  readings: Outcome<(Reading & { event_time_class: string; metrics_class: string })[]>;
  result_types: Outcome<Record<string, string>>;
  streamed: Outcome<{ rows: number; sum: number }>;
  refused_drop: Outcome;
  refused_setting: Outcome;
  wrong_password: Outcome;
}

/** What test/clients/go-check prints. */
interface GoReport {
  ping: Outcome<boolean>;
  version: Outcome<string>;
  databases: Outcome<string[]>;
  tables: Outcome<string[]>;
  columns: Outcome<Record<string, string>>;
  readings: Outcome<Reading[]>;
  named: Outcome<{ sent: string; returned: string }>;
  time_series: Outcome<number>;
  streamed: Outcome<{ rows: number; sum: number }>;
  refused_drop: Outcome;
  refused_setting: Outcome;
  wrong_password: Outcome;
}

const STREAMED = { rows: 300_000, sum: (299_999 * 300_000) / 2 };

/**
 * The SQL interface through drivers written elsewhere, unmodified, against the real stack and chdb:
 * the ClickHouse JDBC driver as DBeaver uses it (infra/local/ensure-jdbc-client.sh resolves it into
 * .tools/jdbc-client) and clickhouse-go over HTTP as Grafana's ClickHouse data source opens it
 * (infra/local/ensure-go-client.sh builds test/clients/go-check into .tools/go-client).
 */
describe('SQL interface from JDBC (DBeaver) and clickhouse-go (Grafana)', () => {
  const devices = ['jg-dev-1', 'jg-dev-2'];
  const base = Date.now() - 60_000;
  const readings = devices.flatMap((deviceId, d) => [1, 2, 3].map((seq) => reading(deviceId, seq, base + d * 1000 + seq, { temperature: 20 + d * 10 + seq, humidity: 0.5 })));
  let stack: TestStack;
  let app: INestApplication;
  let producer: TelemetryProducer | undefined;
  let jdbc: JdbcReport;
  let go: GoReport;
  let expected: Reading[];

  beforeAll(async () => {
    const jars = (await run('bash', [join(ROOT, 'infra/local/ensure-jdbc-client.sh')], { cwd: ROOT })).stdout.trim();
    const goCheck = (await run('bash', [join(ROOT, 'infra/local/ensure-go-client.sh')], { cwd: ROOT })).stdout.trim();
    stack = await createTestStack();
    const analyst = await apiKeyFor(stack, 'jg-analyst', 'analyst');
    const port = await freePort();
    Object.assign(process.env, { ...stackEnv(stack), SQL_HTTP_PORT: String(port), LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
    app = await createApp();
    await app.init();

    producer = await connectedTelemetryProducer(stack);
    await producer.send(readings);
    const count = () =>
      fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'SELECT count() FROM telemetry_raw FINAL', headers: { 'X-ClickHouse-Key': analyst } }).then((response) => response.text());
    await eventually(count, (text) => text.trim() === String(readings.length));

    const database = stack.config.CLICKHOUSE_DATABASE;
    const env = { ...process.env, FLEETSTREAM_SQL_KEY: analyst };
    const java = await run('java', ['-cp', `${jars}/*`, join(ROOT, 'test/clients/jdbc/JdbcCheck.java'), `jdbc:clickhouse:http://127.0.0.1:${port}/${database}`, devices[1]!], { env, maxBuffer: 1 << 24 });
    jdbc = JSON.parse(java.stdout) as JdbcReport;
    const golang = await run(goCheck, ['-addr', `127.0.0.1:${port}`, '-database', database, '-device', devices[1]!], { env, maxBuffer: 1 << 24 });
    go = JSON.parse(golang.stdout) as GoReport;
    expected = readings
      .filter((r) => r.deviceId === devices[1])
      .map((r) => ({ device_id: r.deviceId, seq: r.seq, event_time_ms: r.eventTime, metrics: r.metrics, source_topic: stack.topics.telemetry }));
  });

  afterAll(async () => {
    await producer?.disconnect();
    await app?.close();
  });

  describe('JDBC (com.clickhouse:clickhouse-jdbc 0.10.0, as DBeaver connects)', () => {
    it("refuses the driver's default compress=1 with a message that says to set compress=false", () => {
      expect(jdbc.default_compression).toMatchObject({ code: 48, message: expect.stringMatching(/compress=false/) });
    });

    it('answers DatabaseMetaData: product, schemas, tables, columns with their ClickHouse and JDBC types, primary key, type info', () => {
      const database = stack.config.CLICKHOUSE_DATABASE;
      expect(jdbc.product.value).toMatch(/^ClickHouse \d+\.\d+/);
      expect(jdbc.driver.value).toBe('ClickHouse JDBC Driver 0.10.0');
      expect(jdbc.schemas.value).toContain(database);
      expect(jdbc.tables.value).toContain('telemetry_raw');
      expect(jdbc.columns.value).toMatchObject({
        device_id: 'String / 12',
        event_time: "DateTime64(3, 'UTC') / 93",
        metrics: 'Map(LowCardinality(String), Float64) / 1111',
        source_topic: 'LowCardinality(String) / 12',
      });
      expect(jdbc.primary_keys.value).toEqual(['device_id', 'event_time', 'seq']);
      expect(jdbc.type_info.value).toBeGreaterThan(10);
    });

    it("runs DBeaver's own browsing statements: version, databases, engines, system.tables by database, SHOW CREATE TABLE", () => {
      expect(jdbc.dbeaver.version.value).toMatch(/^\d+\.\d+/);
      expect(jdbc.dbeaver.databases.value).toContain(stack.config.CLICKHOUSE_DATABASE);
      expect(jdbc.dbeaver.table_engines.value).toBe(true);
      expect(jdbc.dbeaver.tables.value).toContain('telemetry_raw');
      expect(jdbc.dbeaver.create_table.value).toBe(true);
      // DBeaver sends it on a connection marked read-only and only logs the refusal
      expect(jdbc.dbeaver.set_readonly).toMatchObject({ code: 164 });
    });

    it('binds a PreparedStatement parameter and reads DateTime64, Map and LowCardinality values', () => {
      expect(jdbc.readings.value).toEqual(expected.map((r) => ({ ...r, event_time_class: 'java.sql.Timestamp', metrics_class: 'java.util.LinkedHashMap' })));
      expect(jdbc.result_types.value).toMatchObject({ event_time: "DateTime64(3, 'UTC') / java.sql.Timestamp", source_topic: 'LowCardinality(String) / java.lang.String' });
    });

    it('streams a result of several engine blocks through the ResultSet', () => {
      expect(jdbc.streamed.value).toEqual(STREAMED);
    });

    it('throws SQLException with the ClickHouse code: 164 for a write or a setting, 516 for a wrong key', () => {
      expect(jdbc.refused_drop).toMatchObject({ error: 'java.sql.SQLException', code: 164, message: expect.stringMatching(/DROP is refused/) });
      expect(jdbc.refused_setting).toMatchObject({ code: 164 });
      expect(jdbc.wrong_password).toMatchObject({ code: 516, message: expect.stringMatching(/Authentication failed/) });
    });
  });

  describe('clickhouse-go v2.51.0 over HTTP (as Grafana opens it)', () => {
    it("does Grafana's Save & test (ping, version) and its query builder's lists (databases, tables, columns)", () => {
      expect(go.ping.value).toBe(true);
      expect(go.version.value).toMatch(/^\d+\.\d+/);
      expect(go.databases.value).toContain(stack.config.CLICKHOUSE_DATABASE);
      expect(go.tables.value).toContain('telemetry_raw');
      expect(go.columns.value).toMatchObject({ event_time: "DateTime64(3, 'UTC')", metrics: 'Map(LowCardinality(String), Float64)', source_topic: 'LowCardinality(String)' });
    });

    it('binds a {name:Type} parameter on the server and scans DateTime64, Map and LowCardinality into Go values', () => {
      expect(go.readings.value).toEqual(expected);
      expect(go.time_series.value).toBeGreaterThan(0);
    });

    it('binds clickhouse.Named on the client: a quote stays a value', () => {
      expect(go.named.value?.returned).toBe(go.named.value?.sent);
    });

    it('streams a result of several engine blocks', () => {
      expect(go.streamed.value).toEqual(STREAMED);
    });

    it('gives clickhouse.Exception with the ClickHouse code: 164 for a write or a setting (Grafana\'s row limit), 516 for a wrong key', () => {
      expect(go.refused_drop).toMatchObject({ error: 'clickhouse.Exception', code: 164, message: expect.stringMatching(/DROP is refused/) });
      expect(go.refused_setting).toMatchObject({ code: 164, message: expect.stringMatching(/'limit'/) });
      expect(go.wrong_password).toMatchObject({ code: 516 });
    });
  });
});
