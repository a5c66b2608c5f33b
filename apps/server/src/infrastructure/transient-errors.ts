import { isTransientKafkaError } from '@fleetstream/kafka';
import { RegistryUnavailableError } from '@fleetstream/serde';
import { KafkaJSError } from 'kafkajs';

/**
 * Whether an error thrown while processing a record is no fault of the record: Kafka or the schema
 * registry could not be asked (unreachable, 5xx, a leader or coordinator moving). The processor
 * retries the batch for those; any other error is the record's, and it is dead-lettered. Judged by
 * the error's class, code and status only, never its message: a message can quote the record
 * (JSON.parse does), and a record that says "timeout" must not pass for a network error.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof RegistryUnavailableError || error instanceof KafkaJSError || isTransientKafkaError(error)) return true;
  const { status } = error as { status?: unknown };
  return typeof status === 'number' && (status === 0 || status >= 500 || status === 429);
}
