import { RejectionReason, rejectTelemetry, Telemetry, TelemetryLimits } from '@fleetstream/domain';
import type { ConsumedRecord, DeadLetter, DeadLetterProducer } from '@fleetstream/kafka';
import type { RegistryCodec } from '@fleetstream/serde';
import { HistoryRepository, TelemetryRow } from './history.repository';

export interface HistoryWriterLimits extends TelemetryLimits {
  /** Larger records are dead-lettered undecoded. */
  maxRecordBytes: number;
}

export interface BatchOutcome {
  stored: number;
  deadLettered: number;
  /** Records at or below the stored watermark: already in ClickHouse from an earlier run. */
  skipped: number;
  deadLetteredByReason: Partial<Record<RejectionReason, number>>;
}

export interface HistoryWriterStats extends BatchOutcome {
  batches: number;
}

/**
 * The history writer's batch handler: decode → validate → write rows and dead letters → (the
 * consumer then commits). It throws when anything could not be made durable, so the batch is
 * retried and no record is lost; records already stored are recognised by offset and skipped,
 * so retries and replays never duplicate rows.
 */
export class HistoryWriter {
  /** topic → partition → highest offset stored; loaded from ClickHouse after each rebalance. */
  private watermarks = new Map<string, Map<number, bigint>>();
  readonly stats: HistoryWriterStats = { batches: 0, stored: 0, deadLettered: 0, skipped: 0, deadLetteredByReason: {} };

  constructor(
    private readonly codec: RegistryCodec<Telemetry>,
    private readonly repository: HistoryRepository,
    private readonly deadLetters: DeadLetterProducer,
    private readonly limits: HistoryWriterLimits,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Another member may have written our partitions meanwhile: forget what we knew. */
  onRebalance(): void {
    this.watermarks = new Map();
  }

  async handle(records: readonly ConsumedRecord[]): Promise<BatchOutcome> {
    const receivedAt = this.clock();
    const rows: TelemetryRow[] = [];
    const rejected: DeadLetter[] = [];
    let skipped = 0;
    for (const record of records) {
      const watermark = (await this.watermarksOf(record.topic)).get(record.partition);
      if (watermark !== undefined && BigInt(record.offset) <= watermark) {
        skipped++;
        continue;
      }
      const outcome = await this.decode(record, receivedAt);
      if ('rejection' in outcome) rejected.push({ record, rejection: outcome.rejection });
      else rows.push(outcome.row);
    }
    await Promise.all([this.repository.insertTelemetry(rows), this.deadLetter(rejected, receivedAt)]);
    this.advanceWatermarks(records);
    const outcome: BatchOutcome = { stored: rows.length, deadLettered: rejected.length, skipped, deadLetteredByReason: {} };
    for (const { rejection } of rejected) {
      outcome.deadLetteredByReason[rejection.reason] = (outcome.deadLetteredByReason[rejection.reason] ?? 0) + 1;
    }
    this.count(outcome);
    return outcome;
  }

  private async decode(record: ConsumedRecord, receivedAt: number): Promise<{ row: TelemetryRow } | Pick<DeadLetter, 'rejection'>> {
    if (record.value !== null && record.value.length > this.limits.maxRecordBytes) {
      return {
        rejection: {
          reason: 'oversized',
          error: `record is ${record.value.length} bytes; the limit is ${this.limits.maxRecordBytes}`,
        },
      };
    }
    // throws RegistryUnavailableError: not the record's fault, the whole batch is retried
    const decoded = await this.codec.decode(record.value);
    if (!decoded.ok) return { rejection: decoded.rejection };
    const key = record.key === null ? null : record.key.toString('utf8');
    const rejection = rejectTelemetry(decoded.value, { key, receivedAt }, this.limits);
    if (rejection) return { rejection };
    return {
      row: {
        ...decoded.value,
        sourceTopic: record.topic,
        sourcePartition: record.partition,
        sourceOffset: record.offset,
      },
    };
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

  private async watermarksOf(topic: string): Promise<Map<number, bigint>> {
    let known = this.watermarks.get(topic);
    if (!known) {
      known = await this.repository.watermarks(topic);
      this.watermarks.set(topic, known);
    }
    return known;
  }

  /** Dead-lettered records count too: they are in the DLQ and must not be sent twice. */
  private advanceWatermarks(records: readonly ConsumedRecord[]): void {
    for (const record of records) {
      const known = this.watermarks.get(record.topic);
      const offset = BigInt(record.offset);
      if (known && (known.get(record.partition) ?? -1n) < offset) known.set(record.partition, offset);
    }
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
