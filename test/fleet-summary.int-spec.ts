import { AvroTopicProducer, fleetGroups, TelemetryProducer } from '@fleetstream/kafka';
import { DeviceEventRecord, readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import { INestApplication } from '@nestjs/common';
import type { FleetSummary } from '../apps/server/src/fleet/fleet-summary.service';
import { apiKeyFor } from './support/api-keys';
import { adminHttp } from './support/http';
import { startTestApp } from './support/test-app';
import { connectedTelemetryProducer, createTestStack, eventually, reading, TestStack } from './support/test-stack';

/**
 * GET /devices/summary on the real stack: telemetry and a gateway report on Kafka, the twin and
 * alert processors folding them, and the summary counting the read models and the ingest metrics.
 */
describe('fleet summary (GET /devices/summary)', () => {
  let stack: TestStack;
  let app: INestApplication;
  let baseUrl: string;
  let producer: TelemetryProducer;
  let gateway: AvroTopicProducer<DeviceEventRecord>;
  let viewerKey: string;

  beforeAll(async () => {
    stack = await createTestStack();
    process.env.PROCESSORS = 'history,twins,alerts';
    process.env.ALERT_TICK_MS = '200';
    app = await startTestApp(stack);
    await app.listen(0, '127.0.0.1');
    baseUrl = await app.getUrl();
    producer = await connectedTelemetryProducer(stack);
    gateway = new AvroTopicProducer(stack.kafka, new RegistryCodec<DeviceEventRecord>(stack.registry, readAvroSchema('device-event')), stack.topics.deviceEvents, (e) => e.deviceId);
    await gateway.connect();
    viewerKey = await apiKeyFor(stack, 'summary-viewer', 'viewer');
  }, 90_000);

  afterAll(async () => {
    await producer?.disconnect();
    await gateway?.disconnect();
    await app?.close();
    delete process.env.PROCESSORS;
    delete process.env.ALERT_TICK_MS;
  });

  async function get<T>(path: string): Promise<{ status: number; body: T }> {
    const response = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${viewerKey}` } });
    return { status: response.status, body: (await response.json()) as T };
  }

  it('counts the twins by connectivity, active alarms by severity, and the ingest rate and lag', async () => {
    const rule = await adminHttp(app)
      .post('/alert-rules')
      .send({ name: 'overheat', severity: 'major', condition: { type: 'threshold', metric: 'temperature', op: '>', value: 80, forSeconds: 0 } });
    expect(rule.status).toBe(201);
    // the rule must be in the processor's catalog before the readings arrive
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    const now = Date.now();
    await producer.send([
      reading('summary-hot', 1, now, { temperature: 85 }),
      reading('summary-ok', 1, now, { temperature: 20 }),
      reading('summary-gateway', 1, now, { temperature: 20 }),
      // last heard from ten minutes ago: silent (TWIN_SILENCE_S is 300)
      reading('summary-asleep', 1, now - 600_000, { temperature: 20 }),
    ]);
    await eventually(() => get<{ count: number }>('/devices'), (response) => response.body.count === 4, 60_000);
    await gateway.send([{ deviceId: 'summary-gateway', requestId: `gw-${Date.now()}`, at: Date.now(), kind: 'CONNECTIVITY', patchJson: null, expectedVersion: null, online: false }]);
    await eventually(() => get<{ connectivity: { online: boolean } }>('/devices/summary-gateway/twin'), (twin) => twin.body.connectivity?.online === false);

    const summary = await eventually(
      () => get<FleetSummary>('/devices/summary'),
      ({ body }) => body.activeAlarms?.major === 1 && (body.ingest?.recordsPerSecond ?? 0) > 0,
      30_000,
    );
    expect(summary.status).toBe(200);
    expect(summary.body.devices).toEqual({ total: 4, online: 2, offline: 1, silent: 1 });
    expect(summary.body.activeAlarms).toEqual({ critical: 0, major: 1, minor: 0, warning: 0, info: 0 });
    expect(summary.body.ingest.measuredBy).toMatch(/:\d+$/);

    // the same counts as the twins themselves say
    const { body: page } = await get<{ devices: { connectivity: { online: boolean; source: string } }[] }>('/devices?limit=100');
    const kinds = page.devices.map(({ connectivity }) => (connectivity.online ? 'online' : connectivity.source === 'silence' ? 'silent' : 'offline'));
    for (const kind of ['online', 'offline', 'silent'] as const) expect(summary.body.devices[kind]).toBe(kinds.filter((k) => k === kind).length);

    // every telemetry-reading group, caught up once the readings are folded
    const groups = fleetGroups(stack.config.TOPIC_PREFIX);
    const lag = await eventually(
      async () => (await get<FleetSummary>('/devices/summary')).body.ingest.lag,
      (groupsLag) => groupsLag !== null && groupsLag.every(({ records }) => records === 0),
    );
    expect(lag!.map(({ group }) => group).sort()).toEqual([groups.history, groups.twinProcessor, groups.alertProcessor].sort());
  }, 120_000);
});
