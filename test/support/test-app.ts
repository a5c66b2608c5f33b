import { INestApplication } from '@nestjs/common';
import { createApp } from '../../apps/server/src/main';
import { TestStack } from './test-stack';

/** The whole service, configured for the test stack's private topics, database and data dir. */
export async function startTestApp(stack: TestStack): Promise<INestApplication> {
  Object.assign(process.env, {
    TOPIC_PREFIX: stack.config.TOPIC_PREFIX,
    FLEETSTREAM_DATA_DIR: stack.config.FLEETSTREAM_DATA_DIR,
    CLICKHOUSE_DATABASE: stack.config.CLICKHOUSE_DATABASE,
    TELEMETRY_PARTITIONS: String(stack.config.TELEMETRY_PARTITIONS),
    HISTORY_BATCH_MS: '200',
  });
  const app = await createApp();
  await app.init();
  return app;
}
