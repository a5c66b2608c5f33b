import { IHeaders, Kafka, Message } from 'kafkajs';
import { ConsumedRecord } from './batch-consumer';
import { describeSkip, SkippedRecord } from './compacted-topic-view';
import { idempotentProducerConfig } from './kafka-client';
import { readTopicsToEnd } from './topic-range-reader';
import { DLQ_HEADERS } from './topics';

/** A record on the dead-letter topic with what its headers say about it. */
export interface DeadLetteredRecord {
  dlqPartition: number;
  dlqOffset: string;
  key: Buffer | null;
  value: Buffer | null;
  reason: string;
  error: string;
  /** Where it was read from; null when the headers do not say (it cannot be re-driven). */
  source: { topic: string; partition: number; offset: string } | null;
  failedAt: string | null;
  /** The producer's own headers, without the ones the DLQ added: what a re-drive sends again. */
  originalHeaders: IHeaders;
  /** Already re-driven (recorded in the ledger). */
  redriven: boolean;
}

/** Which dead letters an operator means; every given criterion must hold. */
export interface DeadLetterSelection {
  reasons?: readonly string[];
  sourceTopic?: string;
  /** "partition:offset" positions on the dead-letter topic. */
  positions?: readonly string[];
}

export interface RedriveOutcome {
  redriven: number;
  /** Selected but already re-driven by an earlier run: skipped. */
  alreadyRedriven: number;
  /** Selected but without source headers: cannot be re-driven. */
  withoutSource: number;
}

const DLQ_OWN_HEADERS: ReadonlySet<string> = new Set(Object.values(DLQ_HEADERS));
/** Records per re-drive transaction. */
const REDRIVE_CHUNK = 500;

function header(headers: IHeaders, name: string): string | null {
  const value = headers[name];
  if (value === undefined) return null;
  return (Array.isArray(value) ? value[0] : value)?.toString('utf8') ?? null;
}

export function deadLetterPosition(record: Pick<DeadLetteredRecord, 'dlqPartition' | 'dlqOffset'>): string {
  return `${record.dlqPartition}:${record.dlqOffset}`;
}

/** Reads the DLQ headers of a consumed dead-letter record. */
export function deadLetteredRecord(record: ConsumedRecord, redriven: boolean): DeadLetteredRecord {
  const sourceTopic = header(record.headers, DLQ_HEADERS.sourceTopic);
  const sourcePartition = header(record.headers, DLQ_HEADERS.sourcePartition);
  const sourceOffset = header(record.headers, DLQ_HEADERS.sourceOffset);
  const originalHeaders: IHeaders = {};
  for (const [name, value] of Object.entries(record.headers)) if (!DLQ_OWN_HEADERS.has(name)) originalHeaders[name] = value;
  return {
    dlqPartition: record.partition,
    dlqOffset: record.offset,
    key: record.key,
    value: record.value,
    reason: header(record.headers, DLQ_HEADERS.reason) ?? 'unknown',
    error: header(record.headers, DLQ_HEADERS.error) ?? '',
    source:
      sourceTopic !== null && sourcePartition !== null && sourceOffset !== null
        ? { topic: sourceTopic, partition: Number(sourcePartition), offset: sourceOffset }
        : null,
    failedAt: header(record.headers, DLQ_HEADERS.failedAt),
    originalHeaders,
    redriven,
  };
}

const LEDGER_KEY = /^\d+:\d+$/;

/**
 * Adds the DLQ positions the ledger records hold to `positions`. A record without a "partition:offset"
 * key is not a ledger entry: it is left out and reported to `onSkip` rather than stopping the read.
 */
export function foldRedriveLedger(positions: Set<string>, records: readonly ConsumedRecord[], onSkip: (skip: SkippedRecord) => void): void {
  for (const record of records) {
    const key = record.key?.toString('utf8');
    if (key !== undefined && LEDGER_KEY.test(key)) {
      positions.add(key);
      continue;
    }
    onSkip({
      view: 'dlq-redrive-ledger',
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      reason: key === undefined ? 'missing-key' : 'invalid-key',
      error: key === undefined ? 'the record has no key' : `the key is not a DLQ "partition:offset" (${JSON.stringify(key.slice(0, 40))})`,
    });
  }
}

export function selectDeadLetters(records: readonly DeadLetteredRecord[], selection: DeadLetterSelection): DeadLetteredRecord[] {
  const positions = selection.positions ? new Set(selection.positions) : null;
  return records.filter(
    (record) =>
      (!selection.reasons?.length || selection.reasons.includes(record.reason)) &&
      (selection.sourceTopic === undefined || record.source?.topic === selection.sourceTopic) &&
      (!positions || positions.has(deadLetterPosition(record))),
  );
}

/**
 * The dead-letter topic for operators: list what is there and re-drive a selection to its source
 * topic. Each record is re-driven at most once: the re-sent record and its entry in a compacted
 * ledger topic (key = DLQ partition:offset) are written in one Kafka transaction, and the ledger is
 * read after the run's transactional producer fenced any earlier or concurrent run, so a record is
 * either in the ledger and re-sent, or neither, and a second run skips it.
 */
export class DeadLetterQueue {
  constructor(
    private readonly kafka: Kafka,
    /** `redrive`: where re-driven records go, same partition; default each record's source topic. */
    private readonly topics: { dlq: string; ledger: string; redrive?: string },
    /** Prefix of the throwaway groups that read the topics, and of the re-drive transactional id. */
    private readonly idPrefix: string,
  ) {}

  /** Every retained dead letter, oldest first per partition, marked when already re-driven. */
  async list(onProgress?: (read: number, total: number) => void): Promise<DeadLetteredRecord[]> {
    const ledger = await this.redrivenPositions();
    const records: DeadLetteredRecord[] = [];
    await readTopicsToEnd(
      this.kafka,
      [this.topics.dlq],
      (batch) => void records.push(...batch.map((record) => deadLetteredRecord(record, ledger.has(`${record.partition}:${record.offset}`)))),
      { groupPrefix: `${this.idPrefix}.dlq-reader`, onProgress },
    );
    return records.sort((a, b) => a.dlqPartition - b.dlqPartition || Number(a.dlqOffset) - Number(b.dlqOffset));
  }

  /** Sends the selected dead letters back to their source topic (or the re-drive topic) and partition, each at most once. */
  async redrive(selected: readonly DeadLetteredRecord[], onProgress?: (done: number, total: number) => void): Promise<RedriveOutcome> {
    const producer = this.kafka.producer({ ...idempotentProducerConfig, transactionalId: `${this.idPrefix}.dlq-redrive` });
    await producer.connect();
    try {
      // Opening a transaction registers this run's producer epoch: an earlier or concurrent run is
      // fenced and its open transaction aborted before the ledger is read below.
      let transaction = await producer.transaction();
      const ledger = await this.redrivenPositions();
      const withSource = selected.filter((record) => record.source !== null);
      const due = withSource.filter((record) => !ledger.has(deadLetterPosition(record)));
      const outcome: RedriveOutcome = { redriven: 0, alreadyRedriven: withSource.length - due.length, withoutSource: selected.length - withSource.length };
      if (due.length === 0) {
        await transaction.abort();
        return outcome;
      }
      for (let start = 0; start < due.length; start += REDRIVE_CHUNK) {
        if (start > 0) transaction = await producer.transaction();
        const chunk = due.slice(start, start + REDRIVE_CHUNK);
        try {
          await transaction.sendBatch({ acks: -1, topicMessages: [...this.redriveMessages(chunk), this.ledgerMessages(chunk)] });
          await transaction.commit();
        } catch (error) {
          await transaction.abort().catch(() => undefined);
          throw new Error(
            `re-drive stopped after ${outcome.redriven} of ${due.length} records (the rest are not re-driven; run the same re-drive again): ${(error as Error).message}`,
          );
        }
        outcome.redriven += chunk.length;
        onProgress?.(outcome.redriven, due.length);
      }
      return outcome;
    } finally {
      await producer.disconnect();
    }
  }

  private redriveMessages(records: readonly DeadLetteredRecord[]): { topic: string; messages: Message[] }[] {
    const byTopic = new Map<string, Message[]>();
    for (const record of records) {
      const source = record.source!;
      const topic = this.topics.redrive ?? source.topic;
      const messages = byTopic.get(topic) ?? [];
      messages.push({
        key: record.key,
        value: record.value,
        // the source partition keeps the device's records where its processors expect them
        partition: source.partition,
        headers: { ...record.originalHeaders, [DLQ_HEADERS.redrivenFrom]: deadLetterPosition(record) },
      });
      byTopic.set(topic, messages);
    }
    return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
  }

  private ledgerMessages(records: readonly DeadLetteredRecord[]): { topic: string; messages: Message[] } {
    const redrivenAt = new Date().toISOString();
    return {
      topic: this.topics.ledger,
      messages: records.map((record) => ({
        key: deadLetterPosition(record),
        value: JSON.stringify({ dlqTopic: this.topics.dlq, source: record.source, redrivenTo: this.topics.redrive ?? record.source!.topic, redrivenAt }),
      })),
    };
  }

  /** DLQ positions ("partition:offset") already re-driven, from the ledger (committed transactions only). */
  private async redrivenPositions(): Promise<Set<string>> {
    const positions = new Set<string>();
    await readTopicsToEnd(
      this.kafka,
      [this.topics.ledger],
      (batch) => foldRedriveLedger(positions, batch, (skip) => console.warn(describeSkip(skip))),
      { groupPrefix: `${this.idPrefix}.dlq-ledger-reader` },
    );
    return positions;
  }
}
