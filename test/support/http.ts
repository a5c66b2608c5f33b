import type { INestApplication } from '@nestjs/common';
import request from 'supertest';

/** The bootstrap admin key every test service gets (ADMIN_API_KEY in stackEnv). */
export const TEST_ADMIN_KEY = 'fleetstream-test-admin-key-000000000000000000';

export const adminHeaders = { authorization: `Bearer ${TEST_ADMIN_KEY}` } as const;

/** supertest on the in-process app, every request sent with the bootstrap admin key. */
export function adminHttp(app: INestApplication) {
  return request.agent(app.getHttpServer()).set(adminHeaders);
}
