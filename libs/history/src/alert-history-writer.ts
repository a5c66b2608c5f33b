import type { ConsumedRecord, DeadLetter, DeadLetterProducer } from '@fleetstream/kafka';
import { AlertEventRecord, RegistryCodec } from '@fleetstream/serde';
import { AlertRow, alertRow, HistoryRepository } from './history.repository';

/** A decoded batch of fleet.alerts waiting to be written. */
export interface PreparedAlertBatch {
  rows: AlertRow[];
  rejected: DeadLetter[];
  skipped: number;
  receivedAt: number;
}

/**
 * Alarm history: every event of fleet.alerts as a row of `alerts`, for analysts. Its watermark (the
 * highest offset handled per partition, in ingest_watermarks) is written last, once the batch's rows
 * are stored and its dead letters sent, so a replay or a retried batch skips only what is durable; a
 * crash before it means the batch is handled again (its rows collapse in the ReplacingMergeTree, a
 * dead letter may repeat). A record that does not decode is dead-lettered to the alerts DLQ.
 */
export class AlertHistoryWriter {
  /** partition → highest offset handled, of the alerts topic; loaded from ClickHouse after each rebalance. */
  private watermarks: Map<number, number> | undefined;

  constructor(
    private readonly codec: RegistryCodec<AlertEventRecord>,
    private readonly repository: HistoryRepository,
    private readonly deadLetters: DeadLetterProducer,
    private readonly topic: string,
    private readonly clock: () => number = Date.now,
  ) {}

  onRebalance(): void {
    this.watermarks = undefined;
  }

  async prepare(records: readonly ConsumedRecord[]): Promise<PreparedAlertBatch> {
    this.watermarks ??= await this.repository.watermarks(this.topic);
    const batch: PreparedAlertBatch = { rows: [], rejected: [], skipped: 0, receivedAt: this.clock() };
    for (const record of records) {
      const watermark = this.watermarks.get(record.partition);
      if (watermark !== undefined && Number(record.offset) <= watermark) {
        batch.skipped++;
        continue;
      }
      // throws RegistryUnavailableError: not the record's fault, the whole batch is retried
      const decoded = await this.codec.decode(record.value);
      if (decoded.ok) batch.rows.push(alertRow(decoded.value, record.topic, record.partition, record.offset));
      else batch.rejected.push({ record, rejection: decoded.rejection });
    }
    return batch;
  }

  /** Rows to ClickHouse and rejections to the DLQ, then the watermark: durable when this resolves. */
  async write(batch: PreparedAlertBatch, records: readonly ConsumedRecord[]): Promise<void> {
    await this.repository.insertAlerts(batch.rows);
    if (batch.rejected.length > 0) await this.deadLetters.send(batch.rejected, batch.receivedAt);
    const highOffsets = new Map<number, number>();
    for (const record of records) highOffsets.set(record.partition, Math.max(highOffsets.get(record.partition) ?? -1, Number(record.offset)));
    await this.repository.recordWatermarks(this.topic, highOffsets);
    for (const [partition, offset] of highOffsets) {
      if ((this.watermarks?.get(partition) ?? -1) < offset) this.watermarks?.set(partition, offset);
    }
  }
}
