import { KafkaJS } from '@confluentinc/kafka-javascript';
import { KafkaSettings } from './kafka-client';

/** The Confluent client (librdkafka) through its KafkaJS-shaped API: the processors' consumer groups and transactions. */
export type ConfluentKafka = KafkaJS.Kafka;
export type ConfluentConsumer = KafkaJS.Consumer;
export type ConfluentProducer = KafkaJS.Producer;

/**
 * librdkafka's log lines as JSON on stderr, like kafkajs' (kafka-client.ts). Its INFO level is the
 * life of every connection; warnings and errors are what an operator needs.
 */
class JsonLogger implements KafkaJS.Logger {
  private level = KafkaJS.logLevel.WARN;

  constructor(private readonly extra: Record<string, unknown> = {}) {}

  private write(label: string, message: string, extra?: object): void {
    console.error(JSON.stringify({ level: label, logger: 'librdkafka', message, ...this.extra, ...extra }));
  }

  info = (message: string, extra?: object) => this.level >= KafkaJS.logLevel.INFO && this.write('INFO', message, extra);
  error = (message: string, extra?: object) => this.level >= KafkaJS.logLevel.ERROR && this.write('ERROR', message, extra);
  warn = (message: string, extra?: object) => this.level >= KafkaJS.logLevel.WARN && this.write('WARN', message, extra);
  debug = (message: string, extra?: object) => this.level >= KafkaJS.logLevel.DEBUG && this.write('DEBUG', message, extra);

  namespace(namespace: string, logLevel?: KafkaJS.logLevel): KafkaJS.Logger {
    const child = new JsonLogger({ ...this.extra, namespace });
    child.setLogLevel(logLevel ?? this.level);
    return child;
  }

  setLogLevel(logLevel: KafkaJS.logLevel): void {
    this.level = logLevel;
  }
}

/**
 * One Confluent client configured from the same settings as the kafkajs one (KAFKA_BROKERS,
 * KAFKA_SASL_*, KAFKA_SSL_*). The PEMs go to librdkafka as strings (`ssl.*.pem`), so it reads the
 * same files kafka-settings.ts read, once, at start.
 */
export function createConfluentKafka(settings: KafkaSettings): ConfluentKafka {
  const tls = settings.ssl && typeof settings.ssl === 'object' ? settings.ssl : undefined;
  const pem = (value: unknown) => (Array.isArray(value) ? value.map(String).join('\n') : value === undefined ? undefined : String(value));
  const librdkafka: Record<string, string | boolean> = {};
  if (tls?.ca !== undefined) librdkafka['ssl.ca.pem'] = pem(tls.ca)!;
  if (tls?.cert !== undefined) librdkafka['ssl.certificate.pem'] = pem(tls.cert)!;
  if (tls?.key !== undefined) librdkafka['ssl.key.pem'] = pem(tls.key)!;
  if (tls?.rejectUnauthorized === false) librdkafka['enable.ssl.certificate.verification'] = false;
  const sasl = settings.sasl as { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string } | undefined;
  const logger = new JsonLogger();
  return new KafkaJS.Kafka({
    kafkaJS: {
      clientId: settings.clientId,
      brokers: settings.brokers,
      ssl: settings.ssl !== undefined && settings.ssl !== false,
      ...(sasl ? { sasl } : {}),
      logger,
      logLevel: KafkaJS.logLevel.WARN,
    },
    ...librdkafka,
  });
}
