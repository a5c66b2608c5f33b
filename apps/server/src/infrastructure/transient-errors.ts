import { RegistryUnavailableError } from '@fleetstream/serde';
import { KafkaJSError } from 'kafkajs';

const NETWORK_ERROR = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EAI_AGAIN|socket hang up|fetch failed|timed? ?out/i;

/**
 * Whether an error thrown while processing a record is no fault of the record: Kafka or the schema
 * registry could not be asked (unreachable, 5xx, a leader or coordinator moving). The processor
 * retries the batch for those; any other error is the record's, and it is dead-lettered.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof RegistryUnavailableError || error instanceof KafkaJSError) return true;
  const { status, message, code } = error as { status?: unknown; message?: unknown; code?: unknown };
  if (typeof status === 'number' && (status === 0 || status >= 500 || status === 429)) return true;
  return NETWORK_ERROR.test(`${String(code ?? '')} ${String(message ?? '')}`);
}
