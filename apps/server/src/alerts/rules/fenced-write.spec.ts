import { KafkaJSAggregateError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { isFenced } from './alert-rules.service';

// kafkajs builds its protocol errors from an entry of its error-code table, which its typings do not declare
const brokerError = (type: string) => new KafkaJSProtocolError({ type, code: 0, retriable: false, message: type } as unknown as Error);

describe('a rule write fenced by another instance is decided again', () => {
  it.each(['INVALID_PRODUCER_EPOCH', 'INVALID_TXN_STATE', 'CONCURRENT_TRANSACTIONS', 'INVALID_PRODUCER_ID_MAPPING', 'TRANSACTION_COORDINATOR_FENCED'])('when the broker answers %s', (type) => {
    expect(isFenced(brokerError(type))).toBe(true);
  });

  it('when kafkajs retried the fence and wraps it, or reports it among the errors of several brokers', () => {
    expect(isFenced(new KafkaJSNumberOfRetriesExceeded(brokerError('CONCURRENT_TRANSACTIONS'), { retryCount: 5, retryTime: 100 }))).toBe(true);
    const fenced = brokerError('INVALID_PRODUCER_EPOCH');
    // as kafkajs' retrier wraps an error it does not retry
    expect(isFenced(Object.assign(new KafkaJSNonRetriableError(fenced), { cause: fenced }))).toBe(true);
    expect(isFenced(new KafkaJSAggregateError('send failed', [new Error('other'), brokerError('INVALID_PRODUCER_EPOCH')]))).toBe(true);
  });

  it('but not for any other failure, which stays an error', () => {
    expect(isFenced(brokerError('TOPIC_AUTHORIZATION_FAILED'))).toBe(false);
    expect(isFenced(new Error('INVALID_PRODUCER_EPOCH'))).toBe(false);
    expect(isFenced(undefined)).toBe(false);
  });
});
