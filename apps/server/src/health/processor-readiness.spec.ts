import type { BatchConsumerStatus, ProcessorStatus } from '@fleetstream/kafka';
import { failingSeconds } from '../metrics/processor.metrics';
import { batchConsumerProblem, processorProblem } from './processor-readiness';

const stuckMs = 30_000;
const healthy: ProcessorStatus = { name: 'twins', running: true, assigned: [0, 1, 2], restored: [0, 1, 2], stalled: [], batchRetries: 0 };
const failing = (failingForMs: number) => ({ failingForMs, attempts: 7, lastError: 'KafkaJSProtocolError: The request included a message larger than the max message size the server will accept' });

describe('processorProblem', () => {
  it('is null for a running, restored processor with no failing partition', () => {
    expect(processorProblem(healthy, stuckMs)).toBeNull();
  });

  it('tolerates a partition failing for less than the stuck setting (a transient fault is retried)', () => {
    expect(processorProblem({ ...healthy, stalled: [{ partition: 1, ...failing(29_999) }] }, stuckMs)).toBeNull();
  });

  it('names the processor, the partition, how long and the last error once a partition failed for the stuck setting', () => {
    const problem = processorProblem({ ...healthy, stalled: [{ partition: 1, ...failing(30_000) }, { partition: 2, ...failing(5000) }] }, stuckMs);
    expect(problem).toBe(
      'twins: the batch of partition 1 has been failing for 30 s (7 attempts; retried with backoff, consumption paused), last error: KafkaJSProtocolError: The request included a message larger than the max message size the server will accept',
    );
  });

  it('says when the consumer is not running or partitions are still being restored', () => {
    expect(processorProblem({ ...healthy, running: false, problem: 'consumer crashed: x' }, stuckMs)).toBe('the twins processor is not running: consumer crashed: x; it is restarted with backoff');
    expect(processorProblem({ ...healthy, restored: [0] }, stuckMs)).toBe('twins: partitions 1, 2 are still being restored');
  });
});

describe('batchConsumerProblem', () => {
  const writer: BatchConsumerStatus = { name: 'history', running: true, batchRetries: 0 };

  it('is down once a stage failed for the stuck setting, naming the stage and the last error', () => {
    expect(batchConsumerProblem({ ...writer, failing: { stage: 'write', ...failing(12_000) } }, stuckMs)).toBeNull();
    expect(batchConsumerProblem({ ...writer, failing: { stage: 'write', ...failing(31_000) } }, stuckMs)).toMatch(/^history: the write of its batch has been failing for 31 s \(7 attempts; .*last error: KafkaJSProtocolError/);
    expect(batchConsumerProblem({ ...writer, running: false }, stuckMs)).toBe('the history consumer is not running: starting; it is restarted with backoff');
  });
});

describe('failingSeconds (the gauge)', () => {
  it('is 0 for every assigned partition but the failing ones; one "all" series for a batch consumer', () => {
    expect(failingSeconds({ ...healthy, stalled: [{ partition: 2, ...failing(1500) }] })).toEqual([
      { partition: '0', seconds: 0 },
      { partition: '1', seconds: 0 },
      { partition: '2', seconds: 1.5 },
    ]);
    expect(failingSeconds({ name: 'history', running: true, batchRetries: 3 })).toEqual([{ partition: 'all', seconds: 0 }]);
  });
});
