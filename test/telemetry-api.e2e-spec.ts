import { INestApplication } from '@nestjs/common';
import { startTestApp } from './support/test-app';
import { connectedTelemetryProducer, createTestStack, eventually, reading, TestStack } from './support/test-stack';
import { adminHttp } from './support/http';

/** The whole service over HTTP, fed through the real Kafka, registry and embedded ClickHouse. */
describe('telemetry API (e2e)', () => {
  let stack: TestStack;
  let app: INestApplication;

  beforeAll(async () => {
    stack = await createTestStack();
    app = await startTestApp(stack);
  });

  afterAll(async () => {
    await app?.close();
  });

  describe('when a device has published readings', () => {
    it('GET /devices/:id/telemetry returns them, newest first', async () => {
      const producer = await connectedTelemetryProducer(stack);
      const now = Date.now();
      await producer.send([1, 2, 3].map((seq) => reading('thermo-1', seq, now - 3000 + seq * 1000)));
      await producer.disconnect();
      const body = await eventually(
        async () => (await adminHttp(app).get('/devices/thermo-1/telemetry').expect(200)).body as { count: number; readings: { seq: number }[] },
        (page) => page.count === 3,
      );
      expect(body.readings.map((r) => r.seq)).toEqual([3, 2, 1]);
    });

    it('pages with nextCursor', async () => {
      const first = await adminHttp(app).get('/devices/thermo-1/telemetry?limit=2').expect(200);
      expect(first.body.readings.map((r: { seq: number }) => r.seq)).toEqual([3, 2]);
      const second = await adminHttp(app).get(`/devices/thermo-1/telemetry?limit=2&cursor=${first.body.nextCursor}`).expect(200);
      expect(second.body.readings.map((r: { seq: number }) => r.seq)).toEqual([1]);
      expect(second.body.nextCursor).toBeUndefined();
    });

    it('GET /devices/:id/telemetry/rollup aggregates per minute', async () => {
      const response = await adminHttp(app).get('/devices/thermo-1/telemetry/rollup?bucket=1m&metrics=temperature').expect(200);
      const points = response.body.points as { count: number; min: number; max: number }[];
      expect(points.reduce((sum, p) => sum + p.count, 0)).toBe(3);
      expect(Math.min(...points.map((p) => p.min))).toBe(21);
      expect(Math.max(...points.map((p) => p.max))).toBe(23);
    });
  });

  describe('when the query is malformed', () => {
    it('answers 400 and names the parameter', async () => {
      const response = await adminHttp(app).get('/devices/thermo-1/telemetry?from=yesterday&limit=0').expect(400);
      expect(JSON.stringify(response.body.message)).toMatch(/from must be an ISO 8601 date-time/);
      expect(JSON.stringify(response.body.message)).toMatch(/limit must not be less than 1/);
    });

    it('rejects an unknown rollup bucket and a forged cursor', async () => {
      const bucket = await adminHttp(app).get('/devices/thermo-1/telemetry/rollup?bucket=5m').expect(400);
      expect(JSON.stringify(bucket.body.message)).toMatch(/bucket must be 1m or 1h/);
      const cursor = await adminHttp(app).get('/devices/thermo-1/telemetry?cursor=bm9wZQ').expect(400);
      expect(cursor.body.message).toMatch(/cursor must be a nextCursor value/);
    });
  });

  describe('when a rollup would span more than ROLLUP_MAX_BUCKETS buckets', () => {
    it('answers 400 naming the maximum and the bucket count asked for', async () => {
      const range = 'from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z'; // 31 days: 44,640 minutes, 744 hours
      const response = await adminHttp(app).get(`/devices/thermo-1/telemetry/rollup?bucket=1m&${range}`).expect(400);
      expect(response.body.message).toMatch(/spans 44640 buckets of 1m; at most 10000 \(ROLLUP_MAX_BUCKETS\)/);
      await adminHttp(app).get(`/devices/thermo-1/telemetry/rollup?bucket=1h&${range}`).expect(200);
    });
  });

  describe('when Prometheus scrapes', () => {
    it('GET /metrics counts stored records and batches', async () => {
      const response = await adminHttp(app).get('/metrics').expect(200);
      expect(response.text).toMatch(/fleetstream_telemetry_records_total\{outcome="stored"\} 3/);
      expect(response.text).toMatch(/fleetstream_history_batch_seconds_count/);
    });
  });

  describe('when asked for health', () => {
    it('reports Kafka, the registry and ClickHouse ready', async () => {
      const response = await adminHttp(app).get('/ready').expect(200);
      expect(response.body.status).toBe('ok');
    });
  });
});
