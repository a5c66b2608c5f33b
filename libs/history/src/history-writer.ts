import { Rejection, RejectionReason, Telemetry } from '@fleetstream/domain';
import type { ConsumedRecord, DeadLetter, DeadLetterProducer } from '@fleetstream/kafka';
import { readTelemetry, RegistryCodec, TelemetryRules } from '@fleetstream/serde';
import { HistoryRepository, TelemetryRow, telemetryRow } from './history.repository';

export interface BatchOutcome {
  stored: number;
  deadLettered: number;
  /** Records at or below the stored watermark: already in ClickHouse from an earlier run. */
  skipped: number;
  deadLetteredByReason: Partial<Record<RejectionReason, number>>;
}

/** A decoded, validated batch waiting to be written. */
export interface PreparedBatch {
  rows: TelemetryRow[];
  rejected: DeadLetter[];
  skipped: number;
  /** Highest offset per topic-partition in the batch, stored or rejected: both count as handled. */
  highOffsets: Map<string, { topic: string; partition: number; offset: number }>;
  /** When the batch was read: the dead letters' failed-at time (the rules use each record's timestamp). */
  receivedAt: number;
}

export interface HistoryWriterStats extends BatchOutcome {
  batches: number;
}

/**
 * The history writer's batch handlers: `prepare` (decode → validate), then `write` (rows and dead
 * letters; the consumer commits after it). It throws when anything could not be made durable, so the batch is
 * retried and no record is lost; records already stored are recognised by offset and skipped,
 * so retries and replays never duplicate rows.
 */
export class HistoryWriter {
  /** topic → partition → highest offset handled; loaded from ClickHouse after each rebalance. */
  private watermarks = new Map<string, Map<number, number>>();
  readonly stats: HistoryWriterStats = { batches: 0, stored: 0, deadLettered: 0, skipped: 0, deadLetteredByReason: {} };

  constructor(
    private readonly codec: RegistryCodec<Telemetry>,
    private readonly repository: HistoryRepository,
    private readonly deadLetters: DeadLetterProducer,
    private readonly rules: TelemetryRules,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Another member may have written our partitions meanwhile: forget what we knew. */
  onRebalance(): void {
    this.watermarks = new Map();
  }

  /**
   * CPU work only (plus a registry call per new schema id): decode and validate into rows and
   * rejections. Separate from `write` so the consumer can prepare the next batch while this one is
   * being written. Offsets are kept as numbers: Kafka offsets stay far below 2^53.
   */
  async prepare(records: readonly ConsumedRecord[]): Promise<PreparedBatch> {
    const receivedAt = this.clock();
    const batch: PreparedBatch = { rows: [], rejected: [], skipped: 0, highOffsets: new Map(), receivedAt };
    for (const topic of new Set(records.map((record) => record.topic))) await this.watermarksOf(topic);
    for (const record of records) {
      const offset = Number(record.offset);
      const watermark = this.watermarks.get(record.topic)!.get(record.partition);
      if (watermark !== undefined && offset <= watermark) {
        batch.skipped++;
        continue;
      }
      const rejection = await this.collect(record, batch.rows);
      if (rejection) batch.rejected.push({ record, rejection });
      const highKey = `${record.topic}\u0000${record.partition}`;
      if ((batch.highOffsets.get(highKey)?.offset ?? -1) < offset) {
        batch.highOffsets.set(highKey, { topic: record.topic, partition: record.partition, offset });
      }
    }
    return batch;
  }

  /** Rows to ClickHouse and rejections to the DLQ, both durable when this resolves. */
  async write(batch: PreparedBatch): Promise<BatchOutcome> {
    await Promise.all([this.repository.insertTelemetry(batch.rows), this.deadLetter(batch.rejected, batch.receivedAt)]);
    for (const { topic, partition, offset } of batch.highOffsets.values()) {
      const known = this.watermarks.get(topic);
      if (known && (known.get(partition) ?? -1) < offset) known.set(partition, offset);
    }
    const outcome: BatchOutcome = { stored: batch.rows.length, deadLettered: batch.rejected.length, skipped: batch.skipped, deadLetteredByReason: {} };
    for (const { rejection } of batch.rejected) {
      outcome.deadLetteredByReason[rejection.reason] = (outcome.deadLetteredByReason[rejection.reason] ?? 0) + 1;
    }
    this.count(outcome);
    return outcome;
  }

  /** Appends the record's row, or returns why it cannot be stored (judged by the record's own timestamp). */
  private async collect(record: ConsumedRecord, rows: TelemetryRow[]): Promise<Rejection | null> {
    // throws RegistryUnavailableError: not the record's fault, the whole batch is retried
    const decoded = await readTelemetry(this.codec, record, this.rules);
    if (!decoded.ok) return decoded.rejection;
    rows.push(telemetryRow(decoded.value, record.topic, record.partition, record.offset));
    return null;
  }

  /** Kafka first: once the DLQ has a record, noting it in ClickHouse marks its offset as handled. */
  private async deadLetter(rejected: readonly DeadLetter[], failedAt: number): Promise<void> {
    if (rejected.length === 0) return;
    await this.deadLetters.send(rejected, failedAt);
    await this.repository.recordDeadLetters(
      rejected.map(({ record, rejection }) => ({
        sourceTopic: record.topic,
        sourcePartition: record.partition,
        sourceOffset: record.offset,
        key: record.key === null ? null : record.key.toString('utf8'),
        reason: rejection.reason,
        error: rejection.error,
        failedAt,
      })),
    );
  }

  private async watermarksOf(topic: string): Promise<Map<number, number>> {
    let known = this.watermarks.get(topic);
    if (!known) {
      known = await this.repository.watermarks(topic);
      this.watermarks.set(topic, known);
    }
    return known;
  }

  private count(outcome: BatchOutcome): void {
    this.stats.batches++;
    this.stats.stored += outcome.stored;
    this.stats.skipped += outcome.skipped;
    this.stats.deadLettered += outcome.deadLettered;
    for (const [reason, count] of Object.entries(outcome.deadLetteredByReason) as [RejectionReason, number][]) {
      this.stats.deadLetteredByReason[reason] = (this.stats.deadLetteredByReason[reason] ?? 0) + count;
    }
  }
}
