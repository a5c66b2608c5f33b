import { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { isTransientKafkaError, retryBackoffMs, retryTransient } from './transient-errors';

const protocolError = (type: string, retriable: boolean) => Object.assign(new KafkaJSProtocolError(type), { type, retriable });

describe('isTransientKafkaError', () => {
  it.each([
    ['NOT_LEADER (a topic created a moment ago)', protocolError('NOT_LEADER_FOR_PARTITION', false)],
    ['a coordinator not available', protocolError('COORDINATOR_NOT_AVAILABLE', false)],
    ['a leader not available', protocolError('LEADER_NOT_AVAILABLE', true)],
    ['a refused connection', new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092')],
    ['kafkajs retries exhausted', new KafkaJSNumberOfRetriesExceeded(new Error('timeout'), { retryCount: 8, retryTime: 1000 })],
    ['a wrapped NOT_LEADER', Object.assign(new KafkaJSNonRetriableError('wrapped'), { cause: protocolError('NOT_LEADER_FOR_PARTITION', false) })],
    ['a socket error', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
  ])('retries %s', (_name, error) => expect(isTransientKafkaError(error)).toBe(true));

  it.each([
    ['an authorization failure', protocolError('TOPIC_AUTHORIZATION_FAILED', false)],
    ['a bug', new TypeError('x is undefined')],
    ['no error at all', undefined],
  ])('does not retry %s', (_name, error) => expect(isTransientKafkaError(error)).toBe(false));
});

describe('retryTransient', () => {
  it('retries a transient error until the call succeeds', async () => {
    let calls = 0;
    const seen: number[] = [];
    const result = await retryTransient(
      async () => {
        if (++calls < 3) throw protocolError('NOT_LEADER_FOR_PARTITION', false);
        return 'ends';
      },
      { onRetry: (_error, attempt) => seen.push(attempt) },
    );
    expect(result).toBe('ends');
    expect(seen).toEqual([0, 1]);
  });

  it('throws any other error at once, and a transient one past the deadline', async () => {
    await expect(retryTransient(async () => Promise.reject(new TypeError('bug')))).rejects.toThrow('bug');
    await expect(retryTransient(async () => Promise.reject(protocolError('NOT_LEADER_FOR_PARTITION', false)), { deadline: Date.now() })).rejects.toThrow('NOT_LEADER');
  });

  it('backs off from 200 ms to at most 5 s', () => {
    expect([0, 1, 2, 3, 4, 5, 10].map(retryBackoffMs)).toEqual([200, 400, 800, 1600, 3200, 5000, 5000]);
  });
});
