import { DEVICE_ID_RULE } from '@fleetstream/domain';
import { INestApplication } from '@nestjs/common';
import { EventStreamReader } from '../bench/support/event-stream-reader';
import { startTestApp } from './support/test-app';
import { connectedTelemetryProducer, createTestStack, eventually, reading, TestStack } from './support/test-stack';
import { adminHeaders, adminHttp } from './support/http';

/** Digital twins over HTTP: telemetry in through Kafka, twins out of the compacted topic. */
describe('twins API (e2e)', () => {
  let stack: TestStack;
  let app: INestApplication;
  let baseUrl: string;
  const http = () => adminHttp(app);
  const twinOf = (deviceId: string) => http().get(`/devices/${deviceId}/twin`);

  beforeAll(async () => {
    stack = await createTestStack();
    app = await startTestApp(stack);
    await app.listen(0, '127.0.0.1'); // the event streams are read with fetch, as a browser would
    baseUrl = await app.getUrl();
    const producer = await connectedTelemetryProducer(stack);
    const now = Date.now();
    await producer.send([
      reading('pump-1', 1, now - 2000, { pressure: 2.1, battery: 80 }),
      reading('pump-1', 3, now, { pressure: 2.3 }),
      reading('pump-1', 2, now - 1000, { pressure: 2.2, battery: 79 }), // out of order
      reading('pump-2', 1, now, { pressure: 1.0, battery: 15 }),
    ]);
    await producer.disconnect();
    await eventually(async () => (await twinOf('pump-2')).status, (status) => status === 200, 60_000);
    await eventually(async () => (await twinOf('pump-1')).body.reported?.pressure?.value, (value) => value === 2.3);
  });

  afterAll(async () => {
    await app?.close();
  });

  describe('when devices have reported', () => {
    it('GET /devices/:id/twin folds their telemetry, newest value per field', async () => {
      const response = await twinOf('pump-1').expect(200);
      expect(response.body).toMatchObject({
        deviceId: 'pump-1',
        reported: { pressure: { value: 2.3 }, battery: { value: 79 }, firmware: { value: '1.0.0' } },
        connectivity: { online: true, source: 'telemetry' },
      });
      expect(response.headers.etag).toBe(`"${response.body.version}"`);
    });

    it('answers 304 to a matching If-None-Match', async () => {
      const { headers } = await twinOf('pump-1').expect(200);
      await twinOf('pump-1').set('If-None-Match', headers.etag!).expect(304);
    });

    it('GET /devices filters by metric range and pages', async () => {
      const low = await http().get('/devices?metric=battery::20').expect(200);
      expect(low.body.devices.map((d: { deviceId: string }) => d.deviceId)).toEqual(['pump-2']);
      const first = await http().get('/devices?limit=1').expect(200);
      const second = await http().get(`/devices?limit=1&cursor=${first.body.nextCursor}`).expect(200);
      expect([first.body.devices[0].deviceId, second.body.devices[0].deviceId]).toEqual(['pump-1', 'pump-2']);
    });
  });

  describe('when an operator patches desired state', () => {
    it('applies a merge patch with the current version and shows the delta', async () => {
      const { headers } = await twinOf('pump-1').expect(200);
      const response = await http()
        .patch('/devices/pump-1/twin/desired')
        .set('Content-Type', 'application/merge-patch+json')
        .set('If-Match', headers.etag!)
        .send({ pressure: 2.5, mode: 'eco' })
        .expect(200);
      expect(response.body.desired).toEqual({ pressure: 2.5, mode: 'eco' });
      expect(response.body.delta).toEqual({ pressure: 2.5, mode: 'eco' });
      expect(Number(response.headers.etag!.replace(/"/g, ''))).toBeGreaterThan(Number(headers.etag!.replace(/"/g, '')));
    });

    it('refuses a stale version with 412', async () => {
      const response = await http().patch('/devices/pump-1/twin/desired').set('If-Match', '"1"').send({ mode: 'boost' }).expect(412);
      expect(response.body.message).toMatch(/read it again and retry/);
    });

    it.each([
      ['an unknown device', '/devices/nobody/twin/desired', { mode: 'eco' }, 404],
      ['a patch that is not an object', '/devices/pump-1/twin/desired', ['eco'], 400],
      ['a huge patch', '/devices/pump-1/twin/desired', { blob: 'x'.repeat(300 * 1024) }, 413],
    ])('answers %s with a clear 4xx', async (_case, path, body, status) => {
      const response = await http().patch(path).send(body as object).expect(status);
      expect(JSON.stringify(response.body)).toMatch(/.{10,}/);
    });
  });

  describe('when a patch would make the whole desired state larger than TWIN_MAX_DESIRED_BYTES', () => {
    it('answers 413 naming the merged size and the limit, and leaves desired state as it was', async () => {
      const half = 'x'.repeat(40 * 1024); // each patch is under TWIN_MAX_PATCH_BYTES (64 KiB); the two merged are not
      await http().patch('/devices/pump-2/twin/desired').send({ first: half }).expect(200);
      const response = await http().patch('/devices/pump-2/twin/desired').send({ second: half }).expect(413);
      expect(response.body.message).toMatch(/desired state would be \d+ bytes of JSON after this patch; the limit is 65536/);
      expect(Object.keys((await twinOf('pump-2').expect(200)).body.desired)).toEqual(['first']);
      await http().patch('/devices/pump-2/twin/desired').send({ first: null }).expect(200);
    });
  });

  describe('when command params are larger than COMMAND_MAX_PARAMS_BYTES', () => {
    it('POST /devices/:id/commands answers 413 naming the size and the limit', async () => {
      const response = await http().post('/devices/pump-1/commands').send({ name: 'flash', params: { image: 'x'.repeat(70 * 1024) } }).expect(413);
      expect(response.body.message).toMatch(/params are \d+ bytes of JSON; the limit is 65536/);
      await http().post('/devices/pump-1/commands').send({ name: 'flash', params: { image: 'x'.repeat(1024) } }).expect(202);
    });
  });

  describe('when a path names a device id outside the contract', () => {
    const badIds = [
      ['a space', 'pump%201'],
      ['a slash', 'pump%2F1'],
      ['another script', encodeURIComponent('насос-1')],
      ['a control character', 'pump%071'],
      ['129 characters', 'p'.repeat(129)],
    ];
    const routes: [string, (id: string) => ReturnType<ReturnType<typeof http>['get']>][] = [
      ['GET twin', (id) => http().get(`/devices/${id}/twin`)],
      ['GET twin stream', (id) => http().get(`/devices/${id}/twin/stream`)],
      ['PATCH desired', (id) => http().patch(`/devices/${id}/twin/desired`).send({ mode: 'eco' })],
      ['DELETE device', (id) => http().delete(`/devices/${id}`)],
      ['GET telemetry', (id) => http().get(`/devices/${id}/telemetry`)],
      ['GET rollup', (id) => http().get(`/devices/${id}/telemetry/rollup?bucket=1m`)],
      ['POST command', (id) => http().post(`/devices/${id}/commands`).send({ name: 'reboot' })],
      ['GET commands', (id) => http().get(`/devices/${id}/commands`)],
      ['GET alerts', (id) => http().get(`/devices/${id}/alerts`)],
    ];
    it.each(routes.flatMap(([route, call]) => badIds.map(([what, id]) => [route, what, call, id] as const)))(
      '%s with %s answers 400 stating the rule',
      async (_route, _what, call, id) => {
        const response = await call(id!).expect(400);
        expect(response.body.message).toContain(DEVICE_ID_RULE);
      },
    );
    it('documents the rule on every device route in OpenAPI', async () => {
      const { body } = await http().get('/docs/openapi.json').expect(200);
      const deviceRoutes = Object.entries(body.paths as Record<string, Record<string, { parameters?: { name: string; description?: string }[] }>>)
        .filter(([path]) => path.includes('{deviceId}'))
        .flatMap(([, operations]) => Object.values(operations));
      expect(deviceRoutes.length).toBe(routes.length);
      for (const operation of deviceRoutes) expect(operation.parameters?.find((p) => p.name === 'deviceId')?.description).toBe(DEVICE_ID_RULE);
    });
  });

  describe('when a client follows twins over Server-Sent Events', () => {
    const streams: EventStreamReader[] = [];
    const open = async (path: string, headers: Record<string, string> = {}) => {
      const stream = await EventStreamReader.open(`${baseUrl}${path}`, { ...adminHeaders, ...headers });
      streams.push(stream);
      return stream;
    };
    const report = async (deviceId: string, seq: number, metrics: Record<string, number>) => {
      const producer = await connectedTelemetryProducer(stack);
      await producer.send([reading(deviceId, seq, Date.now(), metrics)]);
      await producer.disconnect();
    };

    afterAll(() => streams.forEach((stream) => stream.close()));

    it('a device stream sends the twin now (id = version), then each change', async () => {
      const { body: current } = await twinOf('pump-1').expect(200);
      const stream = await open('/devices/pump-1/twin/stream');
      const first = await stream.next();
      expect(first).toMatchObject({ event: 'twin', id: String(current.version) });
      expect(first.json).toMatchObject({ deviceId: 'pump-1', version: current.version });
      await report('pump-1', 10, { pressure: 3.3 });
      const changed = await stream.next();
      expect(Number(changed.id)).toBeGreaterThan(current.version);
      expect(changed.json).toMatchObject({ deviceId: 'pump-1', reported: { pressure: { value: 3.3 } } });
    });

    it('resumes after Last-Event-ID without repeating the twin the client has', async () => {
      const { body: current } = await twinOf('pump-1').expect(200);
      const stream = await open('/devices/pump-1/twin/stream', { 'Last-Event-ID': String(current.version) });
      await report('pump-1', 11, { pressure: 3.4 });
      const next = await stream.next();
      expect(next).toMatchObject({ event: 'twin', id: String(current.version + 1) });
    });

    it('the fleet stream sends only changes of twins that match its filters', async () => {
      const stream = await open('/devices/twins/stream?metric=battery::20');
      await report('pump-1', 12, { battery: 75 });
      await report('pump-2', 2, { battery: 14 });
      const next = await stream.next();
      expect(next.json).toMatchObject({ deviceId: 'pump-2', reported: { battery: { value: 14 } } });
    });

    it('answers 404 for an unknown device and 400 for a malformed Last-Event-ID', async () => {
      expect((await open('/devices/nobody/twin/stream')).status).toBe(404);
      expect((await open('/devices/pump-1/twin/stream', { 'Last-Event-ID': 'yesterday' })).status).toBe(400);
    });
  });

  describe('when a device is removed', () => {
    it('DELETE leaves no twin behind', async () => {
      await http().delete('/devices/pump-2').expect(204);
      await twinOf('pump-2').expect(404);
    });
  });
});
