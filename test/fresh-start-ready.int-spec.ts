import { ServerProcess } from './support/server-process';
import { createTestStack, TestStack } from './support/test-stack';

const STARTS = 10;
const READY_WITHIN_MS = 60_000;

/**
 * Starting on brand-new topics (the service creates them a moment before its read models and
 * processors read them, while partition leaders are still being elected) must reach /ready every
 * time: a NOT_LEADER or coordinator-not-available answer is retried, never a permanent failure.
 */
describe('fresh starts on topics the service has just created', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await createTestStack();
  });

  it(`reach /ready ${STARTS} times in a row, each within ${READY_WITHIN_MS / 1000} s`, async () => {
    const times: number[] = [];
    for (let start = 0; start < STARTS; start++) {
      const id = `${Date.now().toString(36)}${start}`;
      // a prefix and database no one used: TopicsBootstrap creates every topic at start
      const server = await ServerProcess.create(stack, { TOPIC_PREFIX: `it.fresh.${id}`, CLICKHOUSE_DATABASE: `it_fresh_${id}` });
      const startedAt = Date.now();
      try {
        await server.start(); // polls /ready; throws with the server's output after 60 s
        times.push(Date.now() - startedAt);
      } finally {
        await server.stop();
      }
    }
    console.log(`process start → /ready 200 on fresh topics, ${STARTS} starts (ms): ${times.join(', ')}`);
    expect(times).toHaveLength(STARTS);
    expect(Math.max(...times)).toBeLessThan(READY_WITHIN_MS);
  }, STARTS * (READY_WITHIN_MS + 20_000));
});
