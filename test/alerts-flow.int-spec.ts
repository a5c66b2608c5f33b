import type { ClickHouseTransport } from '@fleetstream/history';
import { TelemetryProducer } from '@fleetstream/kafka';
import { INestApplication } from '@nestjs/common';
import { CLICKHOUSE } from '../apps/server/src/infrastructure/tokens';
import { adminHttp } from './support/http';
import { startTestApp } from './support/test-app';
import { connectedTelemetryProducer, createTestStack, eventually, reading, TestStack } from './support/test-stack';

/**
 * Alerts from end to end, every part real: a rule created through POST /alert-rules (fleet.alert-rules),
 * telemetry produced to Kafka, the alert processor raising and clearing the alarm on fleet.alerts, and
 * the alarm history writer storing both events in ClickHouse.
 */
describe('alerts from a rule made over REST to the alarm history', () => {
  let stack: TestStack;
  let app: INestApplication;
  let producer: TelemetryProducer;
  let clickhouse: ClickHouseTransport;

  beforeAll(async () => {
    stack = await createTestStack();
    process.env.PROCESSORS = 'history,twins,alerts';
    process.env.ALERT_TICK_MS = '200';
    app = await startTestApp(stack);
    clickhouse = app.get<ClickHouseTransport>(CLICKHOUSE);
    producer = await connectedTelemetryProducer(stack);
  });

  afterAll(async () => {
    await producer?.disconnect();
    await app?.close();
    delete process.env.PROCESSORS;
    delete process.env.ALERT_TICK_MS;
  });

  it("raises the issue's overheat example once, clears it below 75, and the alerts table holds both events", async () => {
    const created = await adminHttp(app)
      .post('/alert-rules')
      .send({ name: 'overheat', severity: 'major', condition: { type: 'threshold', metric: 'temperature', op: '>', value: 80, forSeconds: 0, clear: { op: '<', value: 75 } } });
    expect(created.status).toBe(201);
    const ruleId = (created.body as { id: string }).id;

    const now = Date.now();
    // breaching three times, still above the clear bound, then below it
    await producer.send([70, 85, 90, 78, 74].map((temperature, i) => reading('flow-1', i + 1, now + i, { temperature })));
    const rows = () =>
      clickhouse.query<{ type: string; alarm_id: string; value: number }>(
        `SELECT type, alarm_id, value FROM ${stack.config.CLICKHOUSE_DATABASE}.alerts FINAL WHERE rule_id = {ruleId:String} ORDER BY at, type DESC`,
        { ruleId },
      );
    const stored = await eventually(rows, (events) => events.length >= 2, 30_000);
    expect(stored).toEqual([
      { type: 'RAISED', alarm_id: `${ruleId}:flow-1:1`, value: 85 },
      { type: 'CLEARED', alarm_id: `${ruleId}:flow-1:1`, value: 74 },
    ]);
  }, 60_000);
});
