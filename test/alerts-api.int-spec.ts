import { TelemetryProducer } from '@fleetstream/kafka';
import { INestApplication } from '@nestjs/common';
import { apiKeyFor } from './support/api-keys';
import { adminHeaders, adminHttp } from './support/http';
import { startTestApp } from './support/test-app';
import { connectedTelemetryProducer, createTestStack, eventually, reading, TestStack } from './support/test-stack';

interface Alarm {
  id: string;
  ruleId: string;
  ruleName: string;
  severity: string;
  deviceId: string;
  state: string;
  value: number | null;
  acknowledged: boolean;
  clearReason?: string;
  clearedAt?: string;
}
interface Page {
  count: number;
  alarms: Alarm[];
  nextCursor?: string;
}

/**
 * The alarm read routes on the real stack: rules made over REST, telemetry on Kafka, the alert
 * processor raising and clearing alarms on fleet.alert-state, and GET /alerts, GET
 * /devices/:deviceId/alerts and GET /alerts/stream serving them from the alert-state view.
 */
describe('alarms over REST', () => {
  let stack: TestStack;
  let app: INestApplication;
  let baseUrl: string;
  let producer: TelemetryProducer;
  let viewerKey: string;
  let analystKey: string;
  let overheat: string;
  let lowBattery: string;
  const streamed: string[] = [];
  const closeStream = new AbortController();

  beforeAll(async () => {
    stack = await createTestStack();
    process.env.PROCESSORS = 'twins,alerts';
    process.env.ALERT_TICK_MS = '200';
    app = await startTestApp(stack);
    await app.listen(0, '127.0.0.1');
    baseUrl = await app.getUrl();
    producer = await connectedTelemetryProducer(stack);
    viewerKey = await apiKeyFor(stack, 'alarm-viewer', 'viewer');
    analystKey = await apiKeyFor(stack, 'alarm-analyst', 'analyst');
    await eventually(() => get('/alerts', viewerKey), (response) => response.status === 200);
  }, 90_000);

  afterAll(async () => {
    closeStream.abort();
    await producer?.disconnect();
    await app?.close();
    delete process.env.PROCESSORS;
    delete process.env.ALERT_TICK_MS;
  });

  async function get(path: string, key?: string) {
    const response = await fetch(`${baseUrl}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as Page & { message: string | string[] } };
  }

  /** The list's order: the alert-state key, `<deviceId>/<ruleId>`. */
  const byKey = ({ id, deviceId }: { id: string; deviceId: string }) => `${deviceId}/${id.split(':')[0]}`;

  async function createRule(body: object): Promise<string> {
    const created = await adminHttp(app).post('/alert-rules').send(body);
    expect(created.status).toBe(201);
    return (created.body as { id: string }).id;
  }

  /** Reads the major-alarm stream into `streamed` (one entry per event) until the test ends. */
  async function openMajorStream(): Promise<void> {
    const response = await fetch(`${baseUrl}/alerts/stream?severity=major`, { headers: { ...adminHeaders, accept: 'text/event-stream' }, signal: closeStream.signal });
    expect(response.status).toBe(200);
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of response.body!) {
          buffer += decoder.decode(chunk as Uint8Array, { stream: true });
          const events = buffer.split('\n\n');
          buffer = events.pop()!;
          streamed.push(...events);
        }
      } catch {
        // aborted at the end of the test
      }
    })();
  }

  it('lists raised and cleared alarms with filters and paging, per device, and streams them', async () => {
    overheat = await createRule({ name: 'overheat', severity: 'major', condition: { type: 'threshold', metric: 'temperature', op: '>', value: 80, forSeconds: 0, clear: { op: '<', value: 75 } } });
    lowBattery = await createRule({ name: 'low battery', severity: 'minor', condition: { type: 'threshold', metric: 'battery', op: '<', value: 20, forSeconds: 0, clear: { op: '>', value: 30 } } });
    await openMajorStream();
    // the rules must be in the processor's catalog before the readings arrive
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    const now = Date.now();
    await producer.send([
      reading('alarm-a', 1, now, { temperature: 85, battery: 50 }),
      reading('alarm-a', 2, now + 1, { temperature: 74, battery: 10 }),
      reading('alarm-b', 1, now, { temperature: 90, battery: 60 }),
    ]);

    const all = await eventually(
      () => get('/alerts', viewerKey),
      (response) => response.status === 200 && response.body.count === 3,
      30_000,
    );
    expect(all.body.alarms.map(({ id, deviceId, ruleName, severity, state, value, acknowledged }) => ({ id, deviceId, ruleName, severity, state, value, acknowledged }))).toEqual([
      { id: `${lowBattery}:alarm-a:1`, deviceId: 'alarm-a', ruleName: 'low battery', severity: 'minor', state: 'active', value: 10, acknowledged: false },
      { id: `${overheat}:alarm-a:1`, deviceId: 'alarm-a', ruleName: 'overheat', severity: 'major', state: 'cleared', value: 85, acknowledged: false },
      { id: `${overheat}:alarm-b:1`, deviceId: 'alarm-b', ruleName: 'overheat', severity: 'major', state: 'active', value: 90, acknowledged: false },
    ].sort((x, y) => (byKey(x) < byKey(y) ? -1 : 1)));
    const clearedOne = all.body.alarms.find((alarm) => alarm.state === 'cleared')!;
    expect(clearedOne.clearReason).toBeDefined();
    expect(clearedOne.clearedAt).toEqual(expect.any(String));
    expect(all.body.nextCursor).toBeUndefined();

    const ids = async (query: string) => (await get(`/alerts?${query}`, viewerKey)).body.alarms.map((alarm) => alarm.id).sort();
    expect(await ids('state=active')).toEqual([`${lowBattery}:alarm-a:1`, `${overheat}:alarm-b:1`].sort());
    expect(await ids('state=cleared')).toEqual([`${overheat}:alarm-a:1`]);
    expect(await ids('severity=minor')).toEqual([`${lowBattery}:alarm-a:1`]);
    expect(await ids('deviceId=alarm-b')).toEqual([`${overheat}:alarm-b:1`]);
    expect(await ids(`ruleId=${overheat}`)).toEqual([`${overheat}:alarm-a:1`, `${overheat}:alarm-b:1`].sort());
    expect(await ids('state=active&severity=major&deviceId=alarm-a')).toEqual([]);

    // pages of two, followed by their cursors, give the whole list in its order, each alarm once
    const paged: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 5; pages++) {
      const page = await get(`/alerts?limit=2${cursor ? `&cursor=${cursor}` : ''}`, viewerKey);
      expect(page.status).toBe(200);
      paged.push(...page.body.alarms.map((alarm) => alarm.id));
      cursor = page.body.nextCursor;
      if (!cursor) break;
    }
    expect(paged).toEqual(all.body.alarms.map((alarm) => alarm.id));

    const device = await get('/devices/alarm-a/alerts', viewerKey);
    expect(device.status).toBe(200);
    expect(device.body.alarms.map((alarm) => alarm.id).sort()).toEqual([`${lowBattery}:alarm-a:1`, `${overheat}:alarm-a:1`].sort());
    expect((await get('/devices/alarm-a/alerts?state=active', viewerKey)).body.alarms.map((alarm) => alarm.id)).toEqual([`${lowBattery}:alarm-a:1`]);
    expect((await get('/devices/alarm-a/alerts?limit=1', viewerKey)).body.nextCursor).toEqual(expect.any(String));
    expect((await get('/devices/no-such-device/alerts', viewerKey)).body).toEqual({ count: 0, alarms: [] });

    // the major stream saw both overheat raises and the clearance, and nothing of the minor rule
    const seen = await eventually(
      async () => streamed.filter((event) => event.includes('event: alarm')),
      (events) => events.length >= 3,
      10_000,
    );
    const data = seen.map((event) => JSON.parse(event.split('\n').find((line) => line.startsWith('data: '))!.slice(6)) as Alarm);
    expect(data.map(({ id, state }) => `${id} ${state}`).sort()).toEqual([`${overheat}:alarm-a:1 active`, `${overheat}:alarm-a:1 cleared`, `${overheat}:alarm-b:1 active`].sort());
    expect(data.every((alarm) => alarm.severity === 'major')).toBe(true);
  }, 90_000);

  it.each([
    ['state=open', 'state'],
    ['severity=fatal', 'severity'],
    ['limit=0', 'limit'],
    ['limit=1001', 'limit'],
    ['limit=ten', 'limit'],
    ['cursor=not%20a%20cursor', 'cursor'],
    ['cursor=bm9zbGFzaA', 'cursor'],
    ['colour=red', 'colour'],
  ])('answers GET /alerts?%s with 400 naming %s', async (query, parameter) => {
    const response = await get(`/alerts?${query}`, viewerKey);
    expect(response.status).toBe(400);
    expect(JSON.stringify(response.body.message)).toContain(parameter);
  });

  it('answers 400 for a bad filter on the device route and the stream', async () => {
    expect((await get('/devices/alarm-a/alerts?state=open', viewerKey)).status).toBe(400);
    expect((await get('/alerts/stream?severity=fatal', viewerKey)).status).toBe(400);
  });

  it('lets viewers read, refuses analysts (403) and the unauthenticated (401)', async () => {
    for (const path of ['/alerts', '/devices/alarm-a/alerts']) {
      expect((await get(path, viewerKey)).status).toBe(200);
      expect((await get(path, analystKey)).status).toBe(403);
      expect((await get(path)).status).toBe(401);
    }
  });
});
