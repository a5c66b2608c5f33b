import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { createApp } from '../apps/server/src/main';
import { connectedTelemetryProducer, createTestStack, eventually, reading, TestStack } from './support/test-stack';

/** The whole service over HTTP, fed through the real Kafka, registry and embedded ClickHouse. */
describe('telemetry API (e2e)', () => {
  let stack: TestStack;
  let app: INestApplication;

  beforeAll(async () => {
    stack = await createTestStack();
    Object.assign(process.env, {
      TOPIC_PREFIX: stack.config.TOPIC_PREFIX,
      FLEETSTREAM_DATA_DIR: stack.config.FLEETSTREAM_DATA_DIR,
      CLICKHOUSE_DATABASE: stack.config.CLICKHOUSE_DATABASE,
      TELEMETRY_PARTITIONS: String(stack.config.TELEMETRY_PARTITIONS),
      HISTORY_BATCH_MS: '200',
    });
    app = await createApp();
    await app.init();
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
        async () => (await request(app.getHttpServer()).get('/devices/thermo-1/telemetry').expect(200)).body as { count: number; readings: { seq: number }[] },
        (page) => page.count === 3,
      );
      expect(body.readings.map((r) => r.seq)).toEqual([3, 2, 1]);
    });
  });

  describe('when the query is malformed', () => {
    it('answers 400 and names the parameter', async () => {
      const response = await request(app.getHttpServer()).get('/devices/thermo-1/telemetry?from=yesterday&limit=0').expect(400);
      expect(JSON.stringify(response.body.message)).toMatch(/from must be an ISO 8601 date-time/);
      expect(JSON.stringify(response.body.message)).toMatch(/limit must not be less than 1/);
    });
  });

  describe('when asked for health', () => {
    it('reports Kafka, the registry and ClickHouse ready', async () => {
      const response = await request(app.getHttpServer()).get('/ready').expect(200);
      expect(response.body.status).toBe('ok');
    });
  });
});
