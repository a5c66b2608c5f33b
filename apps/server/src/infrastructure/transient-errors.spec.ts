import { RegistryUnavailableError } from '@fleetstream/serde';
import { KafkaJSNonRetriableError, KafkaJSProtocolError } from 'kafkajs';
import { isTransient } from './transient-errors';

describe('isTransient', () => {
  describe('when Kafka or the registry could not be asked', () => {
    it.each([
      ['the registry unreachable', new RegistryUnavailableError('no answer')],
      ['a Kafka protocol error', new KafkaJSProtocolError('This server is not the leader for that topic-partition')],
      ['a kafkajs transaction state error', new KafkaJSNonRetriableError('Transaction state exception: Cannot call beginTransaction in state COMMITTING')],
      ['a registry 503', Object.assign(new Error('Service Unavailable'), { status: 503 })],
      ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8081'), { code: 'ECONNREFUSED' })],
    ])('retries for %s', (_, error) => expect(isTransient(error)).toBe(true));
  });

  describe('when the record itself is at fault', () => {
    it.each([
      ['broken JSON', new SyntaxError('Unexpected token } in JSON at position 3')],
      ['broken JSON that quotes a record saying "timeout"', new SyntaxError('Unexpected token \'i\', "timeout" is not valid JSON')],
      ['a message that quotes ECONNRESET', new Error('resultJson "ECONNRESET" is not valid JSON')],
      ['a bad shape', new TypeError("Cannot read properties of undefined (reading 'length')")],
      ['a registry 422 (the value does not fit its schema)', Object.assign(new Error('invalid'), { status: 422 })],
    ])('dead-letters for %s', (_, error) => expect(isTransient(error)).toBe(false));
  });
});
