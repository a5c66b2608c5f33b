/**
 * The alert processor on the real stack: telemetry on Kafka in, alarm events on fleet.alerts and
 * states on fleet.alert-state out, through the registry, restarted and replayed for real.
 *
 * The rules come from an in-memory AlertRuleCatalog bound to ALERT_RULE_CATALOG, filled with rules
 * checked by validateAlertRule. The catalog is a seam of the service, not Kafka, ClickHouse or the
 * registry: nothing real is faked. (Its Kafka-backed implementation, on fleet.alert-rules, is built
 * with the rules REST API.) The catalog object outlives an app restart, as the topic would.
 */
import { AlertRule, validateAlertRule } from '@fleetstream/domain';
import { ConsumedRecord, fleetGroups, readTopicsToEnd, TelemetryProducer } from '@fleetstream/kafka';
import { AlertEventRecord, AlertStateRecord, alertStateKey, readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ALERT_RULE_CATALOG, AlertRuleCatalog, StoredAlertRule } from '../apps/server/src/alerts/alert-rule-catalog';
import { AppModule } from '../apps/server/src/app.module';
import { adminHttp } from './support/http';
import { connectedTelemetryProducer, createTestStack, eventually, stackEnv, TestStack } from './support/test-stack';

/** Rules by id, each validated, with a revision that grows on every change; listeners hear every change. */
class InMemoryRuleCatalog implements AlertRuleCatalog {
  private readonly rules = new Map<string, StoredAlertRule>();
  private readonly listeners = new Set<(id: string, rule: StoredAlertRule | null) => void>();

  put(id: string, body: unknown): void {
    const validated = validateAlertRule(body);
    if (!validated.ok) throw new Error(`rule ${id} is invalid: ${JSON.stringify(validated.errors)}`);
    const stored = { id, rule: validated.rule, revision: (this.rules.get(id)?.revision ?? 0) + 1, updatedAt: Date.now(), updatedBy: 'key:test' };
    this.rules.set(id, stored);
    this.listeners.forEach((listener) => listener(id, stored));
  }

  delete(id: string): void {
    this.rules.delete(id);
    this.listeners.forEach((listener) => listener(id, null));
  }

  all(): readonly StoredAlertRule[] {
    return [...this.rules.values()];
  }

  get(id: string): StoredAlertRule | undefined {
    return this.rules.get(id);
  }

  onChange(listener: (id: string, rule: StoredAlertRule | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async caughtUp(): Promise<void> {}
}

const overheat: AlertRule = {
  name: 'overheat',
  severity: 'major',
  condition: { type: 'threshold', metric: 'temperature', op: '>', value: 80, forSeconds: 2, clear: { op: '<', value: 75 } },
};
const silent: AlertRule = { name: 'silent', severity: 'critical', scope: { attribute: 'role:beacon' }, condition: { type: 'absence', forSeconds: 8 } };

describe('alert processor on the real stack', () => {
  let stack: TestStack;
  let app: INestApplication | undefined;
  let telemetry: TelemetryProducer;
  const catalog = new InMemoryRuleCatalog();
  let alertCodec: RegistryCodec<AlertEventRecord>;
  let stateCodec: RegistryCodec<AlertStateRecord>;

  async function startApp(): Promise<void> {
    Object.assign(process.env, { ...stackEnv(stack), PROCESSORS: 'alerts', ALERT_TICK_MS: '100', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).overrideProvider(ALERT_RULE_CATALOG).useValue(catalog).compile();
    app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
    await app.init();
  }

  async function stopApp(): Promise<void> {
    await app?.close();
    app = undefined;
  }

  /** Every committed record of a topic up to its end now, by partition and offset. */
  async function recordsOf(topic: string): Promise<ConsumedRecord[]> {
    const records: ConsumedRecord[] = [];
    await readTopicsToEnd(stack.kafka, [topic], (batch) => void records.push(...batch), { groupPrefix: `${stack.config.TOPIC_PREFIX}.test-reader`, timeoutMs: 20_000 });
    // partitions arrive in any order: sorted, two reads of the same records compare equal
    return records.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset));
  }

  /** Every alarm event on fleet.alerts so far, decoded; each one keyed by its device. */
  async function alarms(): Promise<AlertEventRecord[]> {
    return Promise.all(
      (await recordsOf(stack.topics.alerts)).map(async (record) => {
        const value = await alertCodec.decode(record.value);
        if (!value.ok) throw new Error(`fleet.alerts record does not decode: ${value.rejection.error}`);
        expect(record.key?.toString()).toBe(value.value.deviceId);
        return value.value;
      }),
    );
  }
  const alarmsOf = async (deviceId: string) => (await alarms()).filter((event) => event.deviceId === deviceId);
  /** The device's alarm events, once there are `count` of them. */
  const untilAlarmsOf = (deviceId: string, count: number, timeoutMs?: number) => eventually(() => alarmsOf(deviceId), (events) => events.length >= count, timeoutMs);

  /** The last fleet.alert-state value of a (device, rule). */
  async function alertState(deviceId: string, ruleId: string): Promise<AlertStateRecord | null | undefined> {
    let state: AlertStateRecord | null | undefined;
    for (const record of await recordsOf(stack.topics.alertState)) {
      if (record.key?.toString() !== alertStateKey(deviceId, ruleId)) continue;
      const value = record.value === null ? null : await stateCodec.decode(record.value);
      if (value && !value.ok) throw new Error(`fleet.alert-state record does not decode: ${value.rejection.error}`);
      state = value && value.value;
    }
    return state;
  }

  /** Resolves once the alert processor's group has committed every telemetry record written so far. */
  async function consumedAll(): Promise<void> {
    const admin = stack.kafka.admin();
    await admin.connect();
    try {
      const ends = await admin.fetchTopicOffsets(stack.topics.telemetry);
      await eventually(
        async () => (await admin.fetchOffsets({ groupId: fleetGroups(stack.config.TOPIC_PREFIX).alertProcessor, topics: [stack.topics.telemetry] }))[0]!.partitions,
        (committed) => ends.every(({ partition, high }) => Number(high) === 0 || Number(committed.find((p) => p.partition === partition)?.offset ?? -1) >= Number(high)),
      );
    } finally {
      await admin.disconnect();
    }
  }

  const reading = (deviceId: string, seq: number, metrics: Record<string, number>, eventTime = Date.now(), attributes: Record<string, string> = {}) => ({ deviceId, seq, eventTime, metrics, attributes });

  beforeAll(async () => {
    stack = await createTestStack();
    alertCodec = new RegistryCodec<AlertEventRecord>(stack.registry, readAvroSchema('alert-event'));
    stateCodec = new RegistryCodec<AlertStateRecord>(stack.registry, readAvroSchema('alert-state'));
    catalog.put('overheat', overheat);
    catalog.put('silent', silent);
    telemetry = await connectedTelemetryProducer(stack);
    await startApp();
  });

  afterAll(async () => {
    await telemetry?.disconnect();
    await stopApp();
  });

  const hot = 'dev-hot';
  /** A breath for the timer: anything due would be written by now. */
  const settle = () => new Promise((resolve) => setTimeout(resolve, 1000));

  it('raises once after forSeconds however many readings breach, ignores duplicates and late readings, and clears below the clear bound', async () => {
    const t0 = Date.now();
    // breaching from seq 1: pending for 2 s, then raised (by the timer, or by the next breach)
    await telemetry.send([reading(hot, 1, { temperature: 85 }, t0), reading(hot, 2, { temperature: 90 }, t0 + 100), reading(hot, 3, { temperature: 95 }, t0 + 200)]);
    const [raised] = await untilAlarmsOf(hot, 1);
    expect(raised).toMatchObject({ type: 'RAISED', alarmId: `overheat:${hot}:1`, ruleId: 'overheat', ruleName: 'overheat', severity: 'major', metric: 'temperature', value: 85, readingSeq: 1 });
    expect(raised!.at).toBeGreaterThanOrEqual(t0 + 2000);
    // more breaches, a value between the bounds, the raising reading again, and a late reading that would clear
    const now = Date.now();
    await telemetry.send([
      reading(hot, 4, { temperature: 99 }, now),
      reading(hot, 5, { temperature: 88 }, now + 10),
      reading(hot, 6, { temperature: 78 }, now + 20),
      reading(hot, 3, { temperature: 95 }, t0 + 200),
      reading(hot, 2, { temperature: 10 }, t0 + 100),
    ]);
    await consumedAll();
    await settle();
    expect((await alarmsOf(hot)).map(({ type }) => type)).toEqual(['RAISED']);
    // readings that change nothing but the last reading seen are not written: the state on the topic is
    // the timer's raise, which had seen seq 3
    expect(await alertState(hot, 'overheat')).toMatchObject({ status: 'active', lastReading: { seq: 3, eventTime: t0 + 200 } });
    await telemetry.send([reading(hot, 7, { temperature: 70 }, now + 30)]);
    const events = await untilAlarmsOf(hot, 2);
    expect(events.map(({ type }) => type)).toEqual(['RAISED', 'CLEARED']);
    expect(events[1]).toMatchObject({ alarmId: `overheat:${hot}:1`, reason: 'condition-cleared', value: 70, readingSeq: 7, readingEventTime: now + 30 });
    const state = await alertState(hot, 'overheat');
    expect(state).toMatchObject({ deviceId: hot, ruleId: 'overheat', ruleRevision: 1, status: 'cleared', alarmCount: 1, lastReading: { seq: 7, eventTime: now + 30 } });
    expect(state!.alarm).toMatchObject({ alarmId: `overheat:${hot}:1`, cleared: { reason: 'condition-cleared', value: 70 } });
    const metrics = (await adminHttp(app!).get('/metrics')).text;
    expect(metrics).toMatch(/^fleetstream_alerts_active\{severity="major"\} 0$/m);
    expect(metrics).toMatch(/^fleetstream_alert_evaluations_total \d+$/m);
  });

  it("writes a threshold's state to fleet.alert-state only when more than its last reading moves, and never while it is at rest", async () => {
    const calm = 'dev-calm';
    const t0 = Date.now();
    const statesOf = async () => (await recordsOf(stack.topics.alertState)).filter((record) => record.key?.toString() === alertStateKey(calm, 'overheat'));
    await telemetry.send(Array.from({ length: 20 }, (_, i) => reading(calm, i + 1, { temperature: 20 + i }, t0 + i)));
    await consumedAll();
    // normal, never breached: restored from no record, it decides the same, so none is written
    expect(await statesOf()).toHaveLength(0);
    await telemetry.send([reading(calm, 21, { temperature: 85 }, t0 + 21)]);
    await consumedAll();
    expect(await statesOf()).toHaveLength(1);
    expect(await alertState(calm, 'overheat')).toMatchObject({ status: 'pending', lastReading: { seq: 21 } });
    // back at rest: written, since the record says pending; readings after that change nothing again
    await telemetry.send([reading(calm, 22, { temperature: 20 }, t0 + 22)]);
    await eventually(() => alertState(calm, 'overheat'), (state) => state?.status === 'normal');
    await telemetry.send(Array.from({ length: 5 }, (_, i) => reading(calm, 23 + i, { temperature: 30 }, t0 + 23 + i)));
    await consumedAll();
    expect(await statesOf()).toHaveLength(2);
    // a pair at rest is kept nowhere, yet a late reading that would breach is still known for late
    await telemetry.send([reading(calm, 24, { temperature: 99 }, t0 + 24)]);
    await consumedAll();
    await settle();
    expect(await statesOf()).toHaveLength(2);
    expect(await alarmsOf(calm)).toEqual([]);
  });

  it("writes an absence rule's silence deadline again only once it moved on by a tenth of forSeconds", async () => {
    const beacon = 'dev-beacon-busy';
    // two minutes ahead (within the accepted skew): its silence does not fall due while the later tests run
    const t0 = Date.now() + 120_000;
    const statesOf = async () => (await recordsOf(stack.topics.alertState)).filter((record) => record.key?.toString() === alertStateKey(beacon, 'silent'));
    const heard = async (seq: number, at: number) => {
      await telemetry.send([reading(beacon, seq, { heartbeat: 1 }, at, { role: 'beacon' })]);
      await consumedAll();
    };
    await heard(1, t0);
    expect(await alertState(beacon, 'silent')).toMatchObject({ silenceDeadline: t0 + 8000 });
    // forSeconds 8: the deadline written may lag by 0.8 s; readings 0.1 s apart move it by up to 0.5 s
    for (let seq = 2; seq <= 6; seq++) await heard(seq, t0 + (seq - 1) * 100);
    expect(await statesOf()).toHaveLength(1);
    await heard(7, t0 + 900);
    expect(await statesOf()).toHaveLength(2);
    expect(await alertState(beacon, 'silent')).toMatchObject({ silenceDeadline: t0 + 8900 });
  });

  it('clears an active alarm with reason rule-changed when its rule changes, and evaluates by the new revision', async () => {
    await telemetry.send([reading(hot, 8, { temperature: 95 }, Date.now())]);
    await untilAlarmsOf(hot, 3);
    catalog.put('overheat', { ...overheat, condition: { ...overheat.condition, value: 90, clear: { op: '<', value: 85 } } });
    const events = await untilAlarmsOf(hot, 4);
    expect(events.slice(2)).toEqual([
      expect.objectContaining({ type: 'RAISED', alarmId: `overheat:${hot}:2` }),
      expect.objectContaining({ type: 'CLEARED', alarmId: `overheat:${hot}:2`, reason: 'rule-changed', value: null }),
    ]);
    expect(await alertState(hot, 'overheat')).toMatchObject({ ruleRevision: 2, status: 'cleared' });
    // 92 breaches the new bound of 90: alarm 3, active across the restart below
    await telemetry.send([reading(hot, 9, { temperature: 92 }, Date.now())]);
    expect((await untilAlarmsOf(hot, 5))[4]).toMatchObject({ type: 'RAISED', alarmId: `overheat:${hot}:3`, value: 92 });
  });

  it('raises an absence alarm after a restart while it was pending, and re-applies no rule revision at the restart', async () => {
    const beacon = 'dev-beacon';
    const heardAt = Date.now();
    await telemetry.send([reading(beacon, 1, { heartbeat: 1 }, heardAt, { role: 'beacon' })]);
    await eventually(() => alertState(beacon, 'silent'), (state) => state?.silenceDeadline === heardAt + 8000);
    await stopApp();
    expect(Date.now()).toBeLessThan(heardAt + 8000); // still pending when the service went down
    expect(await alarmsOf(beacon)).toEqual([]);
    await startApp();
    const [raised] = await untilAlarmsOf(beacon, 1);
    expect(raised).toMatchObject({ type: 'RAISED', alarmId: `silent:${beacon}:1`, severity: 'critical', value: null, readingSeq: 1, readingEventTime: heardAt });
    expect(raised!.at).toBeGreaterThanOrEqual(heardAt + 8000);
    // readiness and metrics, as the other processors report them
    const ready = await eventually(() => adminHttp(app!).get('/ready'), (response) => response.status === 200);
    expect(ready.body.details.alerts).toMatchObject({ status: 'up', running: true, assigned: [0, 1, 2], restored: [0, 1, 2] });
    await settle();
    // the overheat alarm active over the restart stays as it was: no clear and re-raise
    expect((await alarmsOf(hot)).map(({ type }) => type)).toEqual(['RAISED', 'CLEARED', 'RAISED', 'CLEARED', 'RAISED']);
  });

  it('writes no alarm event again when the telemetry is replayed from the start', async () => {
    const before = await alarms();
    expect(before).toHaveLength(6);
    await stopApp();
    const admin = stack.kafka.admin();
    await admin.connect();
    await admin.resetOffsets({ groupId: fleetGroups(stack.config.TOPIC_PREFIX).alertProcessor, topic: stack.topics.telemetry, earliest: true });
    await admin.disconnect();
    await startApp();
    await consumedAll();
    await settle();
    expect(await alarms()).toEqual(before);
  });

  it('clears an active alarm with reason rule-deleted when its rule is deleted, and drops the state', async () => {
    catalog.delete('overheat');
    const events = await untilAlarmsOf(hot, 6);
    expect(events[5]).toMatchObject({ type: 'CLEARED', alarmId: `overheat:${hot}:3`, reason: 'rule-deleted', value: null });
    expect(await eventually(() => alertState(hot, 'overheat'), (state) => state === null)).toBeNull(); // a tombstone
  });
});
