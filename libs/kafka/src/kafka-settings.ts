import { FleetstreamConfig } from '@fleetstream/config';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { KafkaSettings } from './kafka-client';
import type { GroupMembership } from './transactional-processor';

/**
 * The Kafka client settings of the configuration (KAFKA_BROKERS, KAFKA_SASL_*, KAFKA_SSL_*), for every
 * client the project makes: the service, the CLI, the benchmarks and the tests. Reads the PEM and password
 * files now, so a missing secret fails at start with the variable named instead of at the first connection.
 */
export function kafkaSettings(config: FleetstreamConfig, clientId: string): KafkaSettings {
  const settings: KafkaSettings = { brokers: config.KAFKA_BROKERS, clientId };
  if (config.KAFKA_SASL_MECHANISM) {
    // the combinations were checked by loadConfig: a mechanism comes with a username and one password source
    const password = config.KAFKA_SASL_PASSWORD_FILE !== undefined
      ? secretFile('KAFKA_SASL_PASSWORD_FILE', config.KAFKA_SASL_PASSWORD_FILE).replace(/\r?\n$/, '')
      : (config.KAFKA_SASL_PASSWORD ?? '');
    settings.sasl = { mechanism: config.KAFKA_SASL_MECHANISM, username: config.KAFKA_SASL_USERNAME ?? '', password };
  }
  if (config.KAFKA_SSL) {
    const tls: ConnectionOptions = { rejectUnauthorized: config.KAFKA_SSL_REJECT_UNAUTHORIZED };
    if (config.KAFKA_SSL_CA_FILE !== undefined) tls.ca = [secretFile('KAFKA_SSL_CA_FILE', config.KAFKA_SSL_CA_FILE)];
    if (config.KAFKA_SSL_CERT_FILE !== undefined) tls.cert = secretFile('KAFKA_SSL_CERT_FILE', config.KAFKA_SSL_CERT_FILE);
    if (config.KAFKA_SSL_KEY_FILE !== undefined) tls.key = secretFile('KAFKA_SSL_KEY_FILE', config.KAFKA_SSL_KEY_FILE);
    settings.ssl = tls;
  }
  return settings;
}

/** How this instance's processors join their consumer groups (INSTANCE_ID, KAFKA_SESSION_TIMEOUT_MS). */
export function groupMembership(config: FleetstreamConfig): GroupMembership {
  return { ...(config.INSTANCE_ID ? { instanceId: config.INSTANCE_ID } : {}), sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS };
}

function secretFile(variable: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`${variable}: cannot read ${path} (${error instanceof Error ? error.message : String(error)})`);
  }
}
