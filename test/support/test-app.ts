import { INestApplication } from '@nestjs/common';
import { createApp } from '../../apps/server/src/main';
import { stackEnv, TestStack } from './test-stack';

/** The whole service, configured for the test stack's private topics, database and data dir. */
export async function startTestApp(stack: TestStack): Promise<INestApplication> {
  // warnings and errors only: JSON info lines would bury the test report
  Object.assign(process.env, { ...stackEnv(stack), HISTORY_BATCH_MS: '200', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
  const app = await createApp();
  await app.init();
  return app;
}
