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
 * Alarm history: every event of fleet.alerts as a row of `alerts`, for analysts. Like the telemetry
 * writer, the offsets it stored are its watermark (a view of the same INSERT), so a replay or a
 * retried batch skips what is stored; a record that does not decode is dead-lettered and noted, and
 * its offset then counts as handled too.
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

  /** Rows to ClickHouse and rejections to the DLQ (Kafka first, then noted), durable when this resolves. */
  async write(batch: PreparedAlertBatch, records: readonly ConsumedRecord[]): Promise<void> {
    await this.repository.insertAlerts(batch.rows);
    if (batch.rejected.length > 0) {
      await this.deadLetters.send(batch.rejected, batch.receivedAt);
      await this.repository.recordDeadLetters(
        batch.rejected.map(({ record, rejection }) => ({
          sourceTopic: record.topic,
          sourcePartition: record.partition,
          sourceOffset: record.offset,
          key: record.key === null ? null : record.key.toString('utf8'),
          reason: rejection.reason,
          error: rejection.error,
          failedAt: batch.receivedAt,
        })),
      );
    }
    for (const record of records) {
      const offset = Number(record.offset);
      if ((this.watermarks?.get(record.partition) ?? -1) < offset) this.watermarks?.set(record.partition, offset);
    }
  }
}
