import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { EventStreamReader } from '../bench/support/event-stream-reader';
import { startTestApp } from './support/test-app';
import { connectedTelemetryProducer, createTestStack, eventually, reading, TestStack } from './support/test-stack';

/** Digital twins over HTTP: telemetry in through Kafka, twins out of the compacted topic. */
describe('twins API (e2e)', () => {
  let stack: TestStack;
  let app: INestApplication;
  let baseUrl: string;
  const http = () => request(app.getHttpServer());
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

  describe('when a client follows twins over Server-Sent Events', () => {
    const streams: EventStreamReader[] = [];
    const open = async (path: string, headers: Record<string, string> = {}) => {
      const stream = await EventStreamReader.open(`${baseUrl}${path}`, headers);
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
