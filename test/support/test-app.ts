import { INestApplication } from '@nestjs/common';
import { createApp } from '../../apps/server/src/main';
import { stackEnv, TestStack } from './test-stack';

/** The whole service, configured for the test stack's private topics, database and data dir. */
export async function startTestApp(stack: TestStack): Promise<INestApplication> {
  Object.assign(process.env, { ...stackEnv(stack), HISTORY_BATCH_MS: '200' });
  const app = await createApp();
  await app.init();
  return app;
}
