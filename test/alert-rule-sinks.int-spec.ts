import { TelemetryProducer } from '@fleetstream/kafka';
import { readAvroSchema, RegistryCodec, schemaWithout } from '@fleetstream/serde';
import { INestApplication } from '@nestjs/common';
import type { Schema as AvroSchemaJson } from 'avsc';
import { NotificationsProcessor } from '../apps/server/src/alerts/notifications/notifications.processor';
import { sinkIdOf } from '../apps/server/src/alerts/notifications/webhook-sinks';
import { adminHttp } from './support/http';
import { startTestApp } from './support/test-app';
import { connectedTelemetryProducer, createTestStack, eventually, reading, TestStack } from './support/test-stack';
import { ReceivedDelivery, verifySignature, WebhookReceiver } from './support/webhook-receiver';

const SECRETS = { everyone: 'everyone-secret-0123456789abcdef', pager: 'pager-secret-0123456789abcdef' };
const SERVER_ENV = ['PROCESSORS', 'ALERT_TICK_MS', 'ALERT_WEBHOOKS', 'ALERT_WEBHOOK_TIMEOUT_MS', 'ALERT_WEBHOOK_MAX_ATTEMPTS', 'ALERT_WEBHOOK_BACKOFF_INITIAL_MS', 'ALERT_WEBHOOK_BACKOFF_MAX_MS'];

const threshold = (value: number) => ({ type: 'threshold', metric: 'temperature', op: '>', value, clear: { op: '<', value: value - 5 } });
const accepted = (delivery: ReceivedDelivery) => typeof delivery.answer === 'number' && delivery.answer < 300;

/** The schema as it was before rules named sinks: `notify` gone from the record, or from its nested alarm record. */
function withoutNotify(name: string): AvroSchemaJson {
  const schema = schemaWithout(readAvroSchema(name), ['notify']) as { fields: { name: string; type: unknown }[] };
  const fields = schema.fields.map((field) => {
    const union = field.type;
    if (field.name !== 'alarm' || !Array.isArray(union)) return field;
    return { ...field, type: union.map((branch: { fields?: { name: string }[] }) => (branch.fields ? { ...branch, fields: branch.fields.filter((f) => f.name !== 'notify') } : branch)) };
  });
  return { ...schema, fields } as AvroSchemaJson;
}

/**
 * Webhook sinks per rule, from a real raise: the service (alerts and notifications) with a global
 * sink and a sink only rules reach, two real HTTP receivers, rules made over REST, breaching telemetry
 * produced to Kafka in Avro through the real registry, and the alarms' webhooks checked as a receiver would.
 */
describe('webhook sinks named by rules', () => {
  let stack: TestStack;
  let app: INestApplication;
  let producer: TelemetryProducer;
  let everyone: WebhookReceiver;
  let pager: WebhookReceiver;
  let pagedRule: string;
  let plainRule: string;
  const subjects = () => ({ 'alert-rule': `${stack.topics.alertRules}-value`, 'alert-event': `${stack.topics.alerts}-value`, 'alert-state': `${stack.topics.alertState}-value` });

  beforeAll(async () => {
    stack = await createTestStack();
    [everyone, pager] = await Promise.all([WebhookReceiver.start(), WebhookReceiver.start()]);
    // the subjects hold the schemas of before: the service registers the new ones under the registry's compatibility rule
    for (const [name, subject] of Object.entries(subjects())) await new RegistryCodec(stack.registry, withoutNotify(name)).register(subject);
    Object.assign(process.env, {
      PROCESSORS: 'twins,alerts,notifications',
      ALERT_TICK_MS: '200',
      ALERT_WEBHOOKS: JSON.stringify([
        { url: everyone.url, secret: SECRETS.everyone },
        { url: pager.url, secret: SECRETS.pager, name: 'pager', scope: 'rule' },
      ]),
      ALERT_WEBHOOK_TIMEOUT_MS: '1000',
      ALERT_WEBHOOK_MAX_ATTEMPTS: '100',
      ALERT_WEBHOOK_BACKOFF_INITIAL_MS: '200',
      ALERT_WEBHOOK_BACKOFF_MAX_MS: '400',
    });
    app = await startTestApp(stack);
    producer = await connectedTelemetryProducer(stack);
    // each sink's group starts at the end of fleet.alerts once it runs: no alarm before that
    const notifiers = app.get(NotificationsProcessor);
    await eventually(async () => notifiers.status() ?? [], (sinks) => sinks.length === 2 && sinks.every((sink) => sink.running), 30_000);
  }, 90_000);

  afterAll(async () => {
    await producer?.disconnect();
    await app?.close();
    await Promise.all([everyone?.close(), pager?.close()]);
    for (const name of SERVER_ENV) delete process.env[name];
  });

  it('the registry took the new schemas as compatible versions of the old ones', async () => {
    for (const subject of Object.values(subjects())) {
      const versions = (await (await fetch(`${stack.config.SCHEMA_REGISTRY_URL}/subjects/${subject}/versions`)).json()) as number[];
      expect({ subject, versions: versions.length }).toEqual({ subject, versions: 2 });
    }
  });

  it('refuses a rule naming a sink that ALERT_WEBHOOKS does not have, naming the field', async () => {
    const refused = await adminHttp(app).post('/alert-rules').send({ name: 'typo', severity: 'minor', condition: threshold(80), notify: ['pager', 'pagr'] });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ errors: [{ field: 'notify[1]', message: 'no webhook sink named "pagr" (ALERT_WEBHOOKS)' }] });
  });

  it('creates one rule that names the rule sink and one that names none', async () => {
    const paged = await adminHttp(app).post('/alert-rules').send({ name: 'overheat paged', severity: 'critical', condition: threshold(80), notify: ['pager'] });
    const plain = await adminHttp(app).post('/alert-rules').send({ name: 'warm', severity: 'warning', condition: threshold(60) });
    expect([paged.status, plain.status]).toEqual([201, 201]);
    expect(paged.body).toMatchObject({ notify: ['pager'] });
    expect(plain.body).not.toHaveProperty('notify');
    pagedRule = (paged.body as { id: string }).id;
    plainRule = (plain.body as { id: string }).id;
    const refused = await adminHttp(app).put(`/alert-rules/${pagedRule}`).send({ name: 'overheat paged', severity: 'critical', condition: threshold(80), notify: ['nobody'] });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ errors: [{ field: 'notify[0]' }] });
  });

  describe('when a device breaches both rules', () => {
    const device = 'sinks-1';
    const raisedKey = (ruleId: string) => `${ruleId}:${device}:1:raised`;

    beforeAll(async () => {
      await producer.send([reading(device, 1, Date.now(), { temperature: 90 })]);
      await eventually(async () => [everyone.deliveriesOf(raisedKey(pagedRule)), everyone.deliveriesOf(raisedKey(plainRule)), pager.deliveriesOf(raisedKey(pagedRule))], (all) => all.every((d) => d.length > 0), 30_000);
    }, 60_000);

    it('the global sink gets both rules\' RAISED, signed with its secret, each with its idempotency key', () => {
      for (const ruleId of [pagedRule, plainRule]) {
        const [delivery] = everyone.deliveriesOf(raisedKey(ruleId));
        expect(delivery!.json).toMatchObject({ type: 'AlertRaised', ruleId, deviceId: device, value: 90 });
        expect(delivery!.headers['idempotency-key']).toBe(raisedKey(ruleId));
        expect(delivery!.headers['x-fleetstream-sink']).toBe(sinkIdOf(everyone.url));
        expect(verifySignature(delivery!, SECRETS.everyone)).toBe(true);
      }
    });

    it('the rule sink gets the RAISED of the rule that names it, signed with its own secret', () => {
      const [delivery] = pager.deliveriesOf(raisedKey(pagedRule));
      expect(delivery!.json).toMatchObject({ type: 'AlertRaised', ruleId: pagedRule, ruleName: 'overheat paged', severity: 'critical', deviceId: device });
      expect(delivery!.headers['idempotency-key']).toBe(raisedKey(pagedRule));
      expect(delivery!.headers['x-fleetstream-sink']).toBe('pager');
      expect(verifySignature(delivery!, SECRETS.pager)).toBe(true);
      expect(verifySignature(delivery!, SECRETS.everyone)).toBe(false);
    });
  });

  describe('when the rule sink fails for a while, then recovers', () => {
    const device = 'sinks-2';
    const raisedKey = (ruleId: string) => `${ruleId}:${device}:1:raised`;
    let recoveredAt = 0;
    let firstFailureAt = 0;

    beforeAll(async () => {
      let failing = true;
      pager.answer = (delivery) => (delivery.json.deviceId === device && failing ? 500 : 204);
      await producer.send([reading(device, 1, Date.now(), { temperature: 95 })]);
      // failing until it was refused a few times and the global sink has its deliveries
      await eventually(
        async () => ({ refused: pager.deliveriesOf(raisedKey(pagedRule)).length, global: everyone.received.filter((d) => d.json.deviceId === device).length }),
        ({ refused, global }) => refused >= 4 && global >= 2,
        30_000,
      );
      firstFailureAt = pager.deliveriesOf(raisedKey(pagedRule))[0]!.receivedAt;
      recoveredAt = Date.now();
      failing = false;
      await eventually(async () => pager.deliveriesOf(raisedKey(pagedRule)).filter(accepted), (ok) => ok.length > 0, 30_000);
    }, 90_000);

    it('gets the alarm once it recovers, with the same key and body on every attempt, and accepts it once', () => {
      const attempts = pager.deliveriesOf(raisedKey(pagedRule));
      expect(attempts.filter(accepted)).toHaveLength(1);
      expect(attempts.at(-1)!.answer).toBe(204);
      expect(attempts.slice(0, -1).every((d) => d.answer === 500 && d.receivedAt < recoveredAt)).toBe(true);
      expect(new Set(attempts.map((d) => d.headers['idempotency-key']))).toEqual(new Set([raisedKey(pagedRule)]));
      expect(new Set(attempts.map((d) => d.body)).size).toBe(1);
      expect(attempts.every((d) => verifySignature(d, SECRETS.pager))).toBe(true);
    });

    it('did not hold back the global sink: its deliveries arrived while the rule sink was failing', () => {
      for (const ruleId of [pagedRule, plainRule]) {
        const deliveries = everyone.deliveriesOf(raisedKey(ruleId));
        expect(deliveries).toHaveLength(1);
        expect(deliveries[0]!.receivedAt).toBeLessThan(recoveredAt);
      }
      // and the same alarm, on the same partition, reached it no later than a few retries of the rule sink
      expect(everyone.deliveriesOf(raisedKey(pagedRule))[0]!.receivedAt).toBeLessThan(firstFailureAt + 2000);
    });
  });

  describe('when the rule that names the sink is deleted', () => {
    const clearedKey = (device: string) => `${pagedRule}:${device}:1:cleared`;

    beforeAll(async () => {
      expect((await adminHttp(app).delete(`/alert-rules/${pagedRule}`)).status).toBe(204);
      await eventually(async () => ['sinks-1', 'sinks-2'].map((device) => pager.deliveriesOf(clearedKey(device)).filter(accepted).length), (counts) => counts.every((n) => n === 1), 30_000);
    }, 60_000);

    it('its alarms\' CLEARED (rule-deleted) still reach the sink it named, and the global one', () => {
      for (const device of ['sinks-1', 'sinks-2']) {
        const [delivery] = pager.deliveriesOf(clearedKey(device));
        expect(delivery!.json).toMatchObject({ type: 'AlertCleared', ruleId: pagedRule, deviceId: device, reason: 'rule-deleted' });
        expect(verifySignature(delivery!, SECRETS.pager)).toBe(true);
      }
    });

    it('the rule sink never got an alarm of the rule that does not name it', async () => {
      await eventually(async () => everyone.deliveriesOf(clearedKey('sinks-2')).length, (n) => n === 1, 30_000);
      expect(pager.received.filter((d) => d.json.ruleId !== pagedRule)).toEqual([]);
      expect(everyone.received.filter((d) => d.json.ruleId === plainRule).map((d) => d.json.id).sort()).toEqual([`${plainRule}:sinks-1:1:raised`, `${plainRule}:sinks-2:1:raised`]);
    });
  });
});
