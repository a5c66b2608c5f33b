import type { Rejection } from '@fleetstream/domain';
import { CompressionTypes, Kafka, Message, Producer } from 'kafkajs';
import { ConsumedRecord } from './batch-consumer';
import { idempotentProducerConfig } from './kafka-client';
import { DLQ_HEADERS } from './topics';

/** Why a record can never be processed: the `fleetstream.dlq.reason` header and a human-readable error. */
export interface RecordFault {
  reason: string;
  error: string;
}

export interface DeadLetter<Fault extends RecordFault = Rejection> {
  record: ConsumedRecord;
  rejection: Fault;
}

/**
 * A rejected record as a dead letter: its key, value and headers byte for byte, plus headers saying
 * why, where it came from and (for records a processor other than the history writer refused) which processor.
 */
export function deadLetterMessage({ record, rejection }: DeadLetter<RecordFault>, failedAt: number, processor?: string): Message {
  return {
    key: record.key,
    value: record.value,
    headers: {
      ...record.headers,
      [DLQ_HEADERS.reason]: rejection.reason,
      [DLQ_HEADERS.error]: rejection.error,
      [DLQ_HEADERS.sourceTopic]: record.topic,
      [DLQ_HEADERS.sourcePartition]: String(record.partition),
      [DLQ_HEADERS.sourceOffset]: record.offset,
      [DLQ_HEADERS.failedAt]: new Date(failedAt).toISOString(),
      ...(processor ? { [DLQ_HEADERS.processor]: processor } : {}),
    },
  };
}

/** Writes rejected records, byte for byte, to a dead-letter topic with headers saying why. */
export class DeadLetterProducer {
  private readonly producer: Producer;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
  ) {
    this.producer = kafka.producer(idempotentProducerConfig);
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  /** Resolves once every dead letter is acknowledged by all in-sync replicas. */
  async send(deadLetters: readonly DeadLetter[], failedAt: number): Promise<void> {
    if (deadLetters.length === 0) return;
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      compression: CompressionTypes.None,
      messages: deadLetters.map((deadLetter) => deadLetterMessage(deadLetter, failedAt, 'history')),
    });
  }
}
