import { Rejection, RejectionReason, Telemetry } from '@fleetstream/domain';
import type { ConsumedRecord, DeadLetter, DeadLetterProducer } from '@fleetstream/kafka';
import { readTelemetry, RegistryCodec, TelemetryRules } from '@fleetstream/serde';
import { HistoryRepository, ReadingKey, ReadingPosition, TelemetryRow, telemetryRow } from './history.repository';

export interface BatchOutcome {
  stored: number;
  deadLettered: number;
  /**
   * Records already in ClickHouse: at or below the stored watermark (an earlier run wrote them), or
   * `duplicates`.
   */
  skipped: number;
  /** Of `skipped`: readings whose (device_id, event_time, seq) was already stored under another offset. */
  duplicates: number;
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
  /** device → newest reading stored (null: none); loaded from ClickHouse after each rebalance. */
  private latest = new Map<string, ReadingPosition | null>();
  readonly stats: HistoryWriterStats = { batches: 0, stored: 0, deadLettered: 0, skipped: 0, duplicates: 0, deadLetteredByReason: {} };

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
    this.latest = new Map();
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

  /**
   * Rows to ClickHouse and rejections to the DLQ, both durable when this resolves. Duplicates are
   * dropped here, not in `prepare`: only now is the previous batch stored.
   *
   * In this order, because each ClickHouse insert moves the watermark (its views) past its own
   * offsets, and a restart skips what the watermark covers: the dead letters to Kafka first, then the
   * rows, then the dead letters' rows. Noting a dead letter before the rows were stored moved the
   * watermark past them, and a restart then skipped them for good (test/history-stuck.int-spec.ts).
   */
  async write(batch: PreparedBatch): Promise<BatchOutcome> {
    const { rows, newest } = await this.withoutStoredReadings(batch.rows);
    if (batch.rejected.length > 0) await this.deadLetters.send(batch.rejected, batch.receivedAt);
    await this.repository.insertTelemetry(rows);
    await this.noteDeadLetters(batch.rejected, batch.receivedAt);
    for (const [deviceId, position] of newest) this.latest.set(deviceId, position);
    for (const { topic, partition, offset } of batch.highOffsets.values()) {
      const known = this.watermarks.get(topic);
      if (known && (known.get(partition) ?? -1) < offset) known.set(partition, offset);
    }
    const duplicates = batch.rows.length - rows.length;
    const outcome: BatchOutcome = {
      stored: rows.length,
      deadLettered: batch.rejected.length,
      skipped: batch.skipped + duplicates,
      duplicates,
      deadLetteredByReason: {},
    };
    for (const { rejection } of batch.rejected) {
      outcome.deadLetteredByReason[rejection.reason] = (outcome.deadLetteredByReason[rejection.reason] ?? 0) + 1;
    }
    this.count(outcome);
    return outcome;
  }

  /**
   * The rows whose reading is not stored yet, each once: the first copy of a reading wins, in raw and
   * in the rollups alike, whatever the later copies' values. In batch order, a reading newer than its
   * device's newest so far (stored, or earlier in the batch) is new, at the cost of a map lookup; only
   * the others are checked. Also returns the newest reading per device among the rows kept.
   */
  private async withoutStoredReadings(rows: readonly TelemetryRow[]): Promise<{ rows: readonly TelemetryRow[]; newest: Map<string, ReadingPosition> }> {
    await this.loadLatest(rows);
    const newest = new Map<string, ReadingPosition>();
    const older: TelemetryRow[] = [];
    for (const row of rows) {
      const [deviceId, eventTime, seq] = row;
      const before = newest.get(deviceId) ?? this.latest.get(deviceId);
      if (before && !isAfter(eventTime, seq, before)) older.push(row);
      else newest.set(deviceId, { eventTime, seq });
    }
    if (older.length === 0) return { rows, newest };
    const duplicates = await this.duplicatesAmong(rows, older);
    return { rows: rows.filter((row) => !duplicates.has(row)), newest };
  }

  /**
   * Which rows repeat an earlier row of the batch or a reading stored from another record, among the
   * rows of the devices that have `older` ones. A reading stored from this very record is kept: that
   * earlier write did not finish (its watermark did not move), so it is written again.
   */
  private async duplicatesAmong(rows: readonly TelemetryRow[], older: readonly TelemetryRow[]): Promise<Set<TelemetryRow>> {
    const duplicates = new Set<TelemetryRow>();
    const olderRows = new Set(older);
    const devices = new Set(older.map(([deviceId]) => deviceId));
    const seen = new Set<string>();
    const toLookUp = new Map<string, TelemetryRow>();
    for (const row of rows) {
      if (!devices.has(row[0])) continue;
      const key = readingKeyOf(row);
      if (seen.has(key)) duplicates.add(row);
      else if (olderRows.has(row)) toLookUp.set(key, row);
      seen.add(key);
    }
    const keys: ReadingKey[] = [...toLookUp.values()].map(([deviceId, eventTime, seq]) => ({ deviceId, eventTime, seq }));
    for (const stored of await this.repository.storedReadingKeys(keys)) {
      const row = toLookUp.get(readingKeyOf([stored.deviceId, stored.eventTime, stored.seq]));
      const sameRecord = row !== undefined && row[5] === stored.sourceTopic && row[6] === stored.sourcePartition && row[7] === stored.sourceOffset;
      if (row && !sameRecord) duplicates.add(row);
    }
    return duplicates;
  }

  /** The newest stored reading of the batch's devices not known yet. */
  private async loadLatest(rows: readonly TelemetryRow[]): Promise<void> {
    const unknown = new Set<string>();
    for (const [deviceId] of rows) if (!this.latest.has(deviceId)) unknown.add(deviceId);
    if (unknown.size === 0) return;
    const stored = await this.repository.latestReadings([...unknown]);
    for (const deviceId of unknown) this.latest.set(deviceId, stored.get(deviceId) ?? null);
  }

  /** Appends the record's row, or returns why it cannot be stored (judged by the record's own timestamp). */
  private async collect(record: ConsumedRecord, rows: TelemetryRow[]): Promise<Rejection | null> {
    // throws RegistryUnavailableError: not the record's fault, the whole batch is retried
    const decoded = await readTelemetry(this.codec, record, this.rules);
    if (!decoded.ok) return decoded.rejection;
    rows.push(telemetryRow(decoded.value, record.topic, record.partition, record.offset));
    return null;
  }

  /** Once the DLQ has them (and the batch's rows are stored): noting them in ClickHouse marks their offsets as handled. */
  private async noteDeadLetters(rejected: readonly DeadLetter[], failedAt: number): Promise<void> {
    if (rejected.length === 0) return;
    await this.repository.recordDeadLetters(
      rejected.map(({ record, rejection }) => ({
        sourceTopic: record.topic,
        sourcePartition: record.partition,
        sourceOffset: record.offset,
        key: record.key === null ? null : record.key.toString('utf8'),
        reason: rejection.reason,
        error: rejection.error,
        failedAt,
        payload: record.value,
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
    this.stats.duplicates += outcome.duplicates;
    this.stats.deadLettered += outcome.deadLettered;
    for (const [reason, count] of Object.entries(outcome.deadLetteredByReason) as [RejectionReason, number][]) {
      this.stats.deadLetteredByReason[reason] = (this.stats.deadLetteredByReason[reason] ?? 0) + count;
    }
  }
}

/** (device_id, event_time, seq) as one string, for sets. */
function readingKeyOf([deviceId, eventTime, seq]: readonly [string, number, number, ...unknown[]]): string {
  return `${deviceId}\u0000${eventTime}\u0000${seq}`;
}

function isAfter(eventTime: number, seq: number, than: ReadingPosition): boolean {
  return eventTime > than.eventTime || (eventTime === than.eventTime && seq > than.seq);
}
