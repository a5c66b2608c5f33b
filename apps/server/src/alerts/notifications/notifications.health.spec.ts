import { notifiersProblem } from './notifications.health';
import type { SinkNotifierStatus } from './sink-notifier';

const running: SinkNotifierStatus = { sink: 'a1b2c3d4e5f60718', running: true, retrying: [] };

describe('the notifiers\' readiness', () => {
  it('is ready while a sink keeps failing deliveries: the receiver is not this service', () => {
    const failingSink = { ...running, retrying: [{ partition: 'fleet.alerts/2', failingForMs: 3_600_000, attempts: 40, lastError: 'Error: no answer within 5000 ms' }] };
    expect(notifiersProblem([failingSink])).toBeNull();
  });

  it('is not ready while a sink\'s consumer does not run (Kafka unreachable), and says which and why', () => {
    const down = { ...running, sink: 'ffff000011112222', running: false, problem: 'starting failed, retrying in 5000 ms: Connection error: connect ECONNREFUSED 127.0.0.1:9092' };
    expect(notifiersProblem([running, down])).toBe(
      'the notifier of sink ffff000011112222 is not running: starting failed, retrying in 5000 ms: Connection error: connect ECONNREFUSED 127.0.0.1:9092; it is restarted with backoff',
    );
  });

  it('is ready with no sink configured', () => expect(notifiersProblem([])).toBeNull());
});
