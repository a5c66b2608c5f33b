import { ConsumedRecord, fleetGroups, readTopicsToEnd, TelemetryProducer } from '@fleetstream/kafka';
import { AlertEventRecord, readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { apiKeyFor } from './support/api-keys';
import { adminHttp } from './support/http';
import { startTestApp } from './support/test-app';
import { connectedTelemetryProducer, createTestStack, eventually, reading, TestStack } from './support/test-stack';

/**
 * POST /alerts/:id/acknowledge on the real stack: the acknowledgment goes through fleet.alert-commands
 * to the alert processor, which records ACKNOWLEDGED on fleet.alerts (with who and why) in the
 * transaction of the alarm's state; a repeat writes nothing; a cleared alarm is refused.
 */
describe('acknowledging an alarm', () => {
  let stack: TestStack;
  let app: INestApplication;
  let producer: TelemetryProducer;
  let alertCodec: RegistryCodec<AlertEventRecord>;
  let operatorKey: string;
  let viewerKey: string;

  beforeAll(async () => {
    stack = await createTestStack();
    operatorKey = await apiKeyFor(stack, 'ack-operator', 'operator');
    viewerKey = await apiKeyFor(stack, 'ack-viewer', 'viewer');
    process.env.PROCESSORS = 'twins,alerts';
    process.env.ALERT_TICK_MS = '200';
    app = await startTestApp(stack);
    producer = await connectedTelemetryProducer(stack);
    alertCodec = new RegistryCodec<AlertEventRecord>(stack.registry, readAvroSchema('alert-event'));
  });

  afterAll(async () => {
    await producer?.disconnect();
    await app?.close();
    delete process.env.PROCESSORS;
    delete process.env.ALERT_TICK_MS;
  });

  const acknowledge = (alarmId: string, key: string, body: object = {}) =>
    request(app.getHttpServer()).post(`/alerts/${encodeURIComponent(alarmId)}/acknowledge`).set('authorization', `Bearer ${key}`).send(body);

  /** The device's alarm events on fleet.alerts, decoded, in order. */
  async function alarmsOf(deviceId: string): Promise<AlertEventRecord[]> {
    const records: ConsumedRecord[] = [];
    await readTopicsToEnd(stack.kafka, [stack.topics.alerts], (batch) => void records.push(...batch), { groupPrefix: `${stack.config.TOPIC_PREFIX}.test-reader`, timeoutMs: 20_000 });
    const events = await Promise.all(
      records
        .filter((record) => record.key?.toString() === deviceId)
        .sort((a, b) => Number(a.offset) - Number(b.offset))
        .map(async (record) => {
          const decoded = await alertCodec.decode(record.value);
          if (!decoded.ok) throw new Error(`fleet.alerts record does not decode: ${decoded.rejection.error}`);
          return decoded.value;
        }),
    );
    return events;
  }

  /** Resolves once the alert processor committed every fleet.alert-commands record written so far. */
  async function commandsConsumed(): Promise<void> {
    const admin = stack.kafka.admin();
    await admin.connect();
    try {
      const ends = await admin.fetchTopicOffsets(stack.topics.alertCommands);
      await eventually(
        async () => (await admin.fetchOffsets({ groupId: fleetGroups(stack.config.TOPIC_PREFIX).alertProcessor, topics: [stack.topics.alertCommands] }))[0]!.partitions,
        // a partition that never held a command has nothing committed (-1) and ends at 0
        (committed) => ends.every((end) => end.offset === '0' || committed.find((c) => c.partition === end.partition)?.offset === end.offset),
        20_000,
      );
    } finally {
      await admin.disconnect();
    }
  }

  it('records the acknowledgment with its actor and note once, refuses a cleared alarm, 404s an unknown one, 403s a viewer', async () => {
    const created = await adminHttp(app)
      .post('/alert-rules')
      .send({ name: 'overheat', severity: 'major', condition: { type: 'threshold', metric: 'temperature', op: '>', value: 80, forSeconds: 0, clear: { op: '<', value: 75 } } });
    expect(created.status).toBe(201);
    const ruleId = (created.body as { id: string }).id;
    // a device id with ':' in it: the alarm id is found, not parsed
    const deviceId = 'ack:pump-1';
    const alarmId = `${ruleId}:${deviceId}:1`;
    const now = Date.now();
    await producer.send([reading(deviceId, 1, now, { temperature: 90 })]);
    await eventually(() => alarmsOf(deviceId), (events) => events.some((event) => event.type === 'RAISED'), 30_000);

    expect((await acknowledge(alarmId, viewerKey, { note: 'mine' })).status).toBe(403);
    expect((await acknowledge(`${ruleId}:no-such-device:1`, operatorKey)).status).toBe(404);
    expect((await acknowledge(alarmId, operatorKey, { note: 'x'.repeat(1001) })).status).toBe(400);

    const acknowledged = await acknowledge(alarmId, operatorKey, { note: 'crew on site' });
    expect(acknowledged.status).toBe(200);
    // the alarm as GET /alerts shows it
    expect(acknowledged.body).toMatchObject({ id: alarmId, ruleId, deviceId, state: 'active', acknowledged: true, acknowledgement: { actor: 'key:ack-operator', note: 'crew on site' } });
    const listed = await adminHttp(app).get(`/alerts?deviceId=${encodeURIComponent(deviceId)}`);
    expect(listed.body.alarms).toEqual([acknowledged.body]);
    const afterFirst = await eventually(() => alarmsOf(deviceId), (events) => events.length >= 2, 20_000);
    expect(afterFirst.map((event) => event.type)).toEqual(['RAISED', 'ACKNOWLEDGED']);
    expect(afterFirst[1]).toMatchObject({ alarmId, ruleId, deviceId, actor: 'key:ack-operator', note: 'crew on site' });

    // a second acknowledgment (another note) answers the first one and writes nothing
    const again = await acknowledge(alarmId, operatorKey, { note: 'again' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ acknowledged: true, acknowledgement: { actor: 'key:ack-operator', note: 'crew on site' } });
    await commandsConsumed();
    expect((await alarmsOf(deviceId)).map((event) => event.type)).toEqual(['RAISED', 'ACKNOWLEDGED']);

    await producer.send([reading(deviceId, 2, now + 1, { temperature: 70 })]);
    await eventually(() => alarmsOf(deviceId), (events) => events.some((event) => event.type === 'CLEARED'), 20_000);
    await eventually(async () => (await acknowledge(alarmId, operatorKey)).status, (status) => status === 409, 10_000);
    const refused = await acknowledge(alarmId, operatorKey);
    expect(refused.status).toBe(409);
    expect(JSON.stringify(refused.body)).toContain('cleared');
  }, 90_000);
});
