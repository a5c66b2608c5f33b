import { DLQ_HEADERS, NOTIFICATION_HEADERS } from '@fleetstream/kafka';
import { AlertEventRecord, readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import type { Producer } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { listDeadLetters, redriveDeadLetters } from '../apps/cli/src/commands/dlq.command';
import type { CliContext } from '../apps/cli/src/cli-context';
import { sinkIdOf } from '../apps/server/src/alerts/notifications/webhook-sinks';
import { adminHeaders } from './support/http';
import { ServerProcess } from './support/server-process';
import { createTestStack, eventually, readTopic, TestStack } from './support/test-stack';
import { ReceivedDelivery, verifySignature, WebhookReceiver } from './support/webhook-receiver';

const SECRETS = { primary: 'primary-secret-0123456789abcdef', secondary: 'secondary-secret-0123456789abcdef' };
const MAX_ATTEMPTS = 4;
const TIMEOUT_MS = 500;

type AlertType = AlertEventRecord['type'];

function alertEvent(deviceId: string, alarmId: string, type: AlertType = 'RAISED'): AlertEventRecord {
  return {
    type, alarmId, ruleId: 'rule-overheat', ruleName: 'overheat', severity: 'major', deviceId, at: Date.now(),
    metric: type === 'ACKNOWLEDGED' ? null : 'temperature', value: type === 'RAISED' ? 81.5 : type === 'CLEARED' ? 74 : null,
    readingEventTime: type === 'ACKNOWLEDGED' ? null : Date.now() - 5, readingSeq: type === 'ACKNOWLEDGED' ? null : 7,
    reason: type === 'CLEARED' ? 'condition-cleared' : null, actor: type === 'ACKNOWLEDGED' ? 'key:ops' : null, note: type === 'ACKNOWLEDGED' ? 'on it' : null, notify: [],
  };
}

const keyOf = (event: Pick<AlertEventRecord, 'alarmId' | 'type'>) => `${event.alarmId}:${event.type.toLowerCase()}`;
const accepted = (delivery: ReceivedDelivery) => typeof delivery.answer === 'number' && delivery.answer < 300;
/** The notifications the receiver accepted (2xx), in the order it first accepted them. */
const acceptedInOrder = (deliveries: readonly ReceivedDelivery[]) => [...new Set(deliveries.filter(accepted).map((d) => d.json.id))];

/**
 * Webhook notifications of fleet.alerts: the built service (PROCESSORS=notifications) with two sinks,
 * real HTTP receivers that fail, hang and recover, and the real Kafka and registry. AlertEvent
 * records are produced with the registry codec, as the alert processor writes them.
 */
describe('alert notifications', () => {
  let stack: TestStack;
  let primary: WebhookReceiver;
  let secondary: WebhookReceiver;
  /** Configured only from the test that adds a sink. */
  let added: WebhookReceiver;
  let server: ServerProcess;
  let producer: Producer;
  let codec: RegistryCodec<AlertEventRecord>;
  let schemaId: number;
  let serverEnv: Record<string, string>;

  /** Produces the events in one request (in order per device); returns when the request started. */
  async function produce(...events: AlertEventRecord[]): Promise<number> {
    const messages = await Promise.all(events.map(async (event) => ({ key: event.deviceId, value: await codec.encode(schemaId, event) })));
    const sentAt = Date.now();
    await producer.send({ topic: stack.topics.alerts, acks: -1, messages });
    return sentAt;
  }

  async function metric(name: string, labels: string): Promise<number> {
    const text = await fetch(`${server.url}/metrics`, { headers: adminHeaders }).then((r) => r.text());
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.split(',').every((label) => l.includes(label)));
    return line ? Number(line.split(' ').pop()) : 0;
  }

  beforeAll(async () => {
    stack = await createTestStack();
    [primary, secondary, added] = await Promise.all([WebhookReceiver.start(), WebhookReceiver.start(), WebhookReceiver.start()]);
    codec = new RegistryCodec<AlertEventRecord>(stack.registry, readAvroSchema('alert-event'));
    schemaId = await codec.register(`${stack.topics.alerts}-value`);
    producer = stack.kafka.producer();
    await producer.connect();
    serverEnv = {
      PROCESSORS: 'notifications',
      ALERT_WEBHOOKS: JSON.stringify([{ url: primary.url, secret: SECRETS.primary }, { url: secondary.url, secret: SECRETS.secondary }]),
      ALERT_WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
      ALERT_WEBHOOK_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
      ALERT_WEBHOOK_BACKOFF_INITIAL_MS: '200',
      ALERT_WEBHOOK_BACKOFF_MAX_MS: '800',
      // the broker's minimum: a killed instance's partitions move within 6 s
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      LOG_LEVEL: 'warn',
    };
    server = await (await ServerProcess.create(stack, serverEnv)).start();
  });

  afterAll(async () => {
    await server?.stop();
    await producer?.disconnect();
    await Promise.all([primary?.close(), secondary?.close(), added?.close()]);
  });

  describe('when a sink fails, then recovers', () => {
    const device = 'dev-order';
    const events = [alertEvent(device, 'ord-1', 'RAISED'), alertEvent(device, 'ord-1', 'ACKNOWLEDGED'), alertEvent(device, 'ord-1', 'CLEARED'), alertEvent(device, 'ord-2', 'RAISED')];
    let deliveries: ReceivedDelivery[];

    beforeAll(async () => {
      let failures = 0;
      primary.answer = (d) => (d.json.deviceId === device && failures++ < 3 ? 500 : 204);
      await produce(...events);
      await eventually(async () => acceptedInOrder(primary.received.filter((d) => d.json.deviceId === device)), (keys) => keys.length === events.length, 30_000);
      deliveries = primary.received.filter((d) => d.json.deviceId === device);
    });

    it('signs every delivery with the sink\'s secret over the timestamp and body', () => {
      expect(deliveries.every((d) => verifySignature(d, SECRETS.primary))).toBe(true);
      expect(secondary.received.filter((d) => d.json.deviceId === device).every((d) => verifySignature(d, SECRETS.secondary))).toBe(true);
      // and not with another secret, nor over another body
      expect(verifySignature(deliveries[0]!, SECRETS.secondary)).toBe(false);
      expect(verifySignature({ ...deliveries[0]!, body: deliveries[0]!.body.replace('ord-1', 'ord-9') }, SECRETS.primary)).toBe(false);
    });

    it('retries the failed notification with the same idempotency key and body', () => {
      const first = primary.deliveriesOf(keyOf(events[0]!));
      expect(first).toHaveLength(4);
      expect(first.map((d) => d.headers['idempotency-key'])).toEqual(Array(4).fill(keyOf(events[0]!)));
      expect(first.map((d) => d.headers['x-fleetstream-attempt'])).toEqual(['1', '2', '3', '4']);
      expect(new Set(first.map((d) => d.body)).size).toBe(1);
      expect(first[0]!.json).toMatchObject({ id: keyOf(events[0]!), type: 'AlertRaised', alarmId: 'ord-1', deviceId: device, severity: 'major', value: 81.5 });
      // exponential backoff between the attempts: 200, 400, 800 ms (at least)
      const gaps = first.slice(1).map((d, i) => d.receivedAt - first[i]!.receivedAt);
      expect(gaps.map((gap, i) => gap >= [200, 400, 800][i]! - 20)).toEqual([true, true, true]);
    });

    it('delivers every event at least once, in order per device', () => {
      expect(acceptedInOrder(deliveries)).toEqual(events.map(keyOf));
      expect(deliveries.filter((d) => d.json.deviceId === device).at(-1)!.headers['x-fleetstream-event']).toBe('AlertRaised');
    });

    it('delivers to the other sink regardless', async () => {
      await eventually(async () => acceptedInOrder(secondary.received.filter((d) => d.json.deviceId === device)), (keys) => keys.length === events.length);
      expect(acceptedInOrder(secondary.received.filter((d) => d.json.deviceId === device))).toEqual(events.map(keyOf));
    });

    it('counts the retries of the sink', async () => {
      expect(await metric('fleetstream_notification_deliveries_total', `sink="${sinkIdOf(primary.url)}",outcome="retried"`)).toBeGreaterThanOrEqual(3);
      expect(await metric('fleetstream_notification_deliveries_total', `sink="${sinkIdOf(primary.url)}",outcome="delivered"`)).toBeGreaterThanOrEqual(events.length);
    });
  });

  describe('when a sink keeps failing one notification', () => {
    const doomed = alertEvent('dev-doomed', 'doomed-1');
    const context = (): CliContext => ({ config: stack.config, kafka: stack.kafka, registry: stack.registry, topics: stack.topics });

    beforeAll(async () => {
      primary.answer = (d) => (d.json.alarmId === doomed.alarmId ? 500 : 204);
      await produce(doomed);
    });

    it(`dead-letters it after ${MAX_ATTEMPTS} attempts, with the reason and the sink, on the notification DLQ topic`, async () => {
      const [deadLetter] = await readTopic(stack, stack.topics.alertNotificationsDlq, 1, 30_000);
      expect(deadLetter).toBeDefined();
      const header = (name: string) => deadLetter!.headers[name]?.toString();
      expect(header(DLQ_HEADERS.reason)).toBe('attempts-exhausted');
      expect(header(DLQ_HEADERS.error)).toMatch(/HTTP 500 \(after 4 attempts/);
      expect(header(DLQ_HEADERS.sourceTopic)).toBe(stack.topics.alerts);
      expect(header(DLQ_HEADERS.processor)).toBe('notifications');
      expect(header(NOTIFICATION_HEADERS.sink)).toBe(sinkIdOf(primary.url));
      expect(header(NOTIFICATION_HEADERS.attempts)).toBe(String(MAX_ATTEMPTS));
      expect(deadLetter!.key?.toString()).toBe('dev-doomed');
      expect((await codec.decode(deadLetter!.value)).ok && (await codec.decode(deadLetter!.value))).toMatchObject({ value: { alarmId: 'doomed-1' } });
      expect(primary.deliveriesOf(keyOf(doomed))).toHaveLength(MAX_ATTEMPTS);
      expect(await metric('fleetstream_notification_deliveries_total', `sink="${sinkIdOf(primary.url)}",outcome="dead_lettered"`)).toBe(1);
    });

    it('has `dlq list --queue notifications` show it, decoded', async () => {
      const views = await listDeadLetters(context(), {}, { queue: 'notifications', json: true });
      expect(views).toHaveLength(1);
      expect(views[0]).toMatchObject({ reason: 'attempts-exhausted', sink: sinkIdOf(primary.url), redriven: false, decoded: { alarmId: 'doomed-1', type: 'RAISED' } });
    });

    it('has `dlq redrive --queue notifications` deliver it again, to that sink only, at most once', async () => {
      primary.answer = () => 204;
      const secondaryBefore = secondary.deliveriesOf(keyOf(doomed)).length;
      expect(secondaryBefore).toBe(1);
      const first = await redriveDeadLetters(context(), { reasons: ['attempts-exhausted'] }, { queue: 'notifications', json: true });
      expect(first).toMatchObject({ selected: 1, redriven: 1, alreadyRedriven: 0 });
      await eventually(async () => primary.deliveriesOf(keyOf(doomed)).length, (n) => n === MAX_ATTEMPTS + 1, 20_000);
      const redriven = primary.deliveriesOf(keyOf(doomed)).at(-1)!;
      expect(verifySignature(redriven, SECRETS.primary)).toBe(true);
      expect(redriven.json.id).toBe(keyOf(doomed));
      const second = await redriveDeadLetters(context(), { reasons: ['attempts-exhausted'] }, { queue: 'notifications', json: true });
      expect(second).toMatchObject({ selected: 1, redriven: 0, alreadyRedriven: 1 });
      await sleep(2000);
      expect(primary.deliveriesOf(keyOf(doomed))).toHaveLength(MAX_ATTEMPTS + 1);
      expect(secondary.deliveriesOf(keyOf(doomed))).toHaveLength(secondaryBefore);
      expect((await listDeadLetters(context(), {}, { queue: 'notifications', json: true }))[0]).toMatchObject({ redriven: true });
      // the telemetry queue is still the default, and holds none of these
      expect(await listDeadLetters(context(), {}, { json: true })).toEqual([]);
    });
  });

  describe('when a sink refuses a notification for good (a 4xx other than 408 and 429)', () => {
    const refused = alertEvent('dev-refused', 'refused-1');

    it('dead-letters it after that one attempt, with reason sink-refused', async () => {
      primary.answer = (d) => (d.json.alarmId === refused.alarmId ? 410 : 204);
      await produce(refused);
      const deadLetter = await eventually(
        async () => (await readTopic(stack, stack.topics.alertNotificationsDlq, 100, 1000)).find((record) => record.key?.toString() === refused.deviceId),
        (found) => found !== undefined,
        30_000,
        200,
      );
      expect(deadLetter!.headers[DLQ_HEADERS.reason]?.toString()).toBe('sink-refused');
      expect(deadLetter!.headers[DLQ_HEADERS.error]?.toString()).toMatch(/^HTTP 410 \(after 1 attempts/);
      expect(deadLetter!.headers[NOTIFICATION_HEADERS.attempts]?.toString()).toBe('1');
      expect(primary.deliveriesOf(keyOf(refused))).toHaveLength(1);
    });
  });

  describe('when a sink hangs', () => {
    const events = ['dev-h1', 'dev-h2', 'dev-h3', 'dev-h4', 'dev-h5'].map((device, i) => alertEvent(device, `hang-${i}`));
    const latencies: number[] = [];

    afterAll(async () => {
      secondary.answer = () => 204;
      // the hung sink settles its backlog (delivered, or dead-lettered when it ran out of attempts) before the next test
      await eventually(() => metric('fleetstream_notification_pending_records', `sink="${sinkIdOf(secondary.url)}"`), (n) => n === 0, 60_000, 500);
    });

    it('does not delay the healthy sink', async () => {
      secondary.answer = () => 'hang';
      primary.answer = () => 204;
      for (const event of events) {
        const producedAt = await produce(event);
        const [delivery] = await eventually(async () => primary.deliveriesOf(keyOf(event)), (found) => found.length > 0, 10_000, 10);
        latencies.push(delivery!.receivedAt - producedAt);
        await sleep(300);
      }
      console.log(`healthy sink's delivery latency while the other hangs (ms): ${latencies.join(', ')}`);
      // while the hung sink still holds its first notification (attempts time out after 500 ms, four of them)
      expect(secondary.received.filter((d) => d.json.alarmId.startsWith('hang-')).length).toBeGreaterThan(0);
      expect(Math.max(...latencies)).toBeLessThan(TIMEOUT_MS);
    });

    it('keeps the service ready and shows the sink\'s backlog', async () => {
      expect((await fetch(`${server.url}/ready`)).status).toBe(200);
      expect(await metric('fleetstream_notification_pending_records', `sink="${sinkIdOf(secondary.url)}"`)).toBeGreaterThan(0);
      expect(await metric('fleetstream_notification_pending_records', `sink="${sinkIdOf(primary.url)}"`)).toBe(0);
    });
  });

  describe('when the service is killed while a notification is being retried', () => {
    const event = alertEvent('dev-restart', 'restart-1');

    it('delivers it after the restart (nothing lost), with the same idempotency key', async () => {
      primary.answer = (d) => (d.json.alarmId === event.alarmId ? 500 : 204);
      await produce(event);
      await eventually(async () => primary.deliveriesOf(keyOf(event)).length, (n) => n >= 2, 20_000, 20);
      await server.kill();
      const beforeRestart = primary.deliveriesOf(keyOf(event)).length;
      expect(beforeRestart).toBeLessThan(MAX_ATTEMPTS);
      primary.answer = () => 204;
      server = await (await ServerProcess.create(stack, serverEnv)).start();
      await eventually(async () => primary.deliveriesOf(keyOf(event)).length, (n) => n > beforeRestart, 40_000);
      const all = primary.deliveriesOf(keyOf(event));
      expect(all.map((d) => d.headers['idempotency-key'])).toEqual(Array(all.length).fill(keyOf(event)));
      expect(accepted(all.at(-1)!)).toBe(true);
      expect(all.every((d) => verifySignature(d, SECRETS.primary))).toBe(true);
      // delivered, not dead-lettered
      const deadLetters = await readTopic(stack, stack.topics.alertNotificationsDlq, 100, 3000);
      expect(deadLetters.filter((record) => record.key?.toString() === event.deviceId)).toEqual([]);
    });
  });

  describe('when a sink is added', () => {
    it('sends it the alerts from then on, not the ones already on the topic', async () => {
      const before = alertEvent('dev-added', 'added-before');
      await produce(before);
      await eventually(async () => primary.deliveriesOf(keyOf(before)).filter(accepted).length, (n) => n === 1, 20_000);
      await server.stop();
      const sinks = [{ url: primary.url, secret: SECRETS.primary }, { url: secondary.url, secret: SECRETS.secondary }, { url: added.url, secret: 'added-secret-0123456789abcdef' }];
      server = await (await ServerProcess.create(stack, { ...serverEnv, ALERT_WEBHOOKS: JSON.stringify(sinks) })).start();
      const after = alertEvent('dev-added', 'added-after');
      await produce(after);
      await eventually(async () => added.deliveriesOf(keyOf(after)).length, (n) => n === 1, 20_000);
      expect(added.received.map((d) => d.json.id)).toEqual([keyOf(after)]);
      expect(verifySignature(added.received[0]!, 'added-secret-0123456789abcdef')).toBe(true);
    });
  });
});
