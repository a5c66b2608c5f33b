import type { Telemetry } from '@fleetstream/domain';
import type { AlertEventRecord } from '@fleetstream/serde';
import { ClickHouseTransport } from './clickhouse-transport';
import { ROLLUPS, RollupBucket } from './migrations';

const TELEMETRY_COLUMNS = [
  'device_id', 'event_time', 'seq', 'metrics', 'attributes', 'source_topic', 'source_partition', 'source_offset',
] as const;

/** A reading with the Kafka coordinates it was read from, as a `telemetry_raw` row (built once, serialized once). */
export type TelemetryRow = readonly [
  deviceId: string,
  /** integer epoch ms: DateTime64(3) reads it as milliseconds */
  eventTime: number,
  seq: number,
  metrics: Record<string, number>,
  attributes: Record<string, string>,
  sourceTopic: string,
  sourcePartition: number,
  sourceOffset: string,
];

export function telemetryRow(reading: Telemetry, topic: string, partition: number, offset: string): TelemetryRow {
  return [reading.deviceId, reading.eventTime, reading.seq, reading.metrics, reading.attributes, topic, partition, offset];
}

const ALERT_COLUMNS = [
  'device_id', 'alarm_id', 'type', 'at', 'rule_id', 'rule_name', 'severity', 'metric', 'value', 'reading_event_time', 'reading_seq', 'reason', 'actor', 'note',
  'source_topic', 'source_partition', 'source_offset',
] as const;

/** A fleet.alerts event with the Kafka coordinates it was read from, as an `alerts` row. */
export function alertRow(event: AlertEventRecord, topic: string, partition: number, offset: string): AlertRow {
  return [
    event.deviceId, event.alarmId, event.type, event.at, event.ruleId, event.ruleName, event.severity, event.metric, event.value, event.readingEventTime, event.readingSeq,
    event.reason, event.actor, event.note, topic, partition, offset,
  ];
}

export type AlertRow = readonly unknown[];

const DEAD_LETTER_COLUMNS = ['source_topic', 'source_partition', 'source_offset', 'record_key', 'reason', 'error', 'failed_at', 'payload_base64', 'payload_bytes'] as const;

/** How much of a dead letter's payload is kept for inspection; the whole record is on the DLQ topic. */
export const DEAD_LETTER_PAYLOAD_MAX_BYTES = 64 * 1024;

export interface DeadLetterRow {
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: string;
  key: string | null;
  reason: string;
  error: string;
  /** Epoch ms. */
  failedAt: number;
  payload: Buffer | null;
}

/** Where a page of dead letters ended (newest first): the last one's time (epoch ms) and source coordinates. */
export interface DeadLetterPosition {
  failedAt: number;
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: string;
}

export interface DeadLetterQuery {
  reason?: string;
  sourceTopic?: string;
  limit: number;
  after?: DeadLetterPosition;
}

export interface StoredDeadLetter {
  reason: string;
  error: string;
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: string;
  /** ISO 8601 UTC. */
  failedAt: string;
  failedAtMs: number;
  /** Empty when the record had none. */
  key: string;
  /** The first DEAD_LETTER_PAYLOAD_MAX_BYTES of the payload. */
  payloadBase64: string;
  /** The whole payload's size. */
  payloadBytes: number;
}

export interface DeadLetterCount {
  reason: string;
  sourceTopic: string;
  count: number;
}

export interface TelemetryQuery {
  deviceId: string;
  /** Epoch ms, inclusive. */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
  limit: number;
  /** Only these metrics (all when empty or absent); readings without any of them are left out. */
  metrics?: string[];
  /** Continue after this reading (newest first): keyset paging, stable while new data arrives. */
  after?: ReadingPosition;
}

/** Where a page of readings ended: the last reading's event time (epoch ms) and sequence. */
export interface ReadingPosition {
  eventTime: number;
  seq: number;
}

/** A reading's identity: `telemetry_raw` keeps one row per key, and so do the rollups. */
export interface ReadingKey {
  deviceId: string;
  /** Epoch ms. */
  eventTime: number;
  seq: number;
}

/** A stored reading's key with the Kafka coordinates its row was read from. */
export interface StoredReadingKey extends ReadingKey {
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: string;
}

export interface RollupQuery {
  deviceId: string;
  bucket: RollupBucket;
  from: number;
  to: number;
  metrics?: string[];
}

export interface RollupPoint {
  metric: string;
  /** Start of the bucket, ISO 8601 UTC. */
  start: string;
  min: number;
  max: number;
  avg: number;
  count: number;
  last: number;
}

export interface StoredReading {
  deviceId: string;
  eventTime: string;
  eventTimeMs: number;
  seq: number;
  metrics: Record<string, number>;
  attributes: Record<string, string>;
}

/** Telemetry history in ClickHouse: the only code that knows its tables. */
export class HistoryRepository {
  constructor(
    private readonly transport: ClickHouseTransport,
    private readonly database: string,
  ) {}

  async insertTelemetry(rows: readonly TelemetryRow[]): Promise<void> {
    await this.transport.insert(`${this.database}.telemetry_raw`, TELEMETRY_COLUMNS, rows);
  }

  async insertAlerts(rows: readonly AlertRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.transport.insert(`${this.database}.alerts`, ALERT_COLUMNS, rows);
  }

  /** Marks offsets as handled up to `highOffset` per partition (what `watermarks` reads back). */
  async recordWatermarks(topic: string, highOffsets: ReadonlyMap<number, number>): Promise<void> {
    if (highOffsets.size === 0) return;
    await this.transport.insert(`${this.database}.ingest_watermarks`, ['source_topic', 'source_partition', 'high_offset'], [...highOffsets].map(([partition, offset]) => [topic, partition, offset]));
  }

  /** Records that went to the dead-letter topic, so SQL sees them and replays skip them. */
  async recordDeadLetters(deadLetters: readonly DeadLetterRow[]): Promise<void> {
    await this.transport.insert(
      `${this.database}.dead_letters`,
      DEAD_LETTER_COLUMNS,
      deadLetters.map((row) => [
        row.sourceTopic, row.sourcePartition, row.sourceOffset, row.key ?? '', row.reason, row.error, row.failedAt,
        row.payload === null ? '' : row.payload.subarray(0, DEAD_LETTER_PAYLOAD_MAX_BYTES).toString('base64'), row.payload?.length ?? 0,
      ]),
    );
  }

  /** Dead letters newest first, optionally of one reason and one source topic, paged by keyset. */
  async deadLetters(query: DeadLetterQuery): Promise<StoredDeadLetter[]> {
    const after = query.after;
    const rows = await this.transport.query<StoredDeadLetter>(
      `SELECT reason, error, source_topic AS sourceTopic, source_partition AS sourcePartition, toString(source_offset) AS sourceOffset,
              concat(replaceOne(toString(failed_at), ' ', 'T'), 'Z') AS failedAt, toUnixTimestamp64Milli(failed_at) AS failedAtMs,
              record_key AS key, payload_base64 AS payloadBase64, payload_bytes AS payloadBytes
       FROM ${this.database}.dead_letters FINAL
       WHERE ({reason:String} = '' OR reason = {reason:String})
         AND ({topic:String} = '' OR source_topic = {topic:String})
         AND ({hasAfter:UInt8} = 0
              OR (failed_at, source_topic, source_partition, source_offset)
                 < (fromUnixTimestamp64Milli({afterTime:Int64}), {afterTopic:String}, {afterPartition:UInt16}, {afterOffset:UInt64}))
       ORDER BY failed_at DESC, source_topic DESC, source_partition DESC, source_offset DESC
       LIMIT {limit:UInt32}`,
      {
        reason: query.reason ?? '',
        topic: query.sourceTopic ?? '',
        hasAfter: after ? 1 : 0,
        afterTime: after?.failedAt ?? 0,
        afterTopic: after?.sourceTopic ?? '',
        afterPartition: after?.sourcePartition ?? 0,
        afterOffset: after?.sourceOffset ?? '0',
        limit: query.limit,
      },
    );
    return rows.map((row) => ({ ...row, sourcePartition: Number(row.sourcePartition), failedAtMs: Number(row.failedAtMs), payloadBytes: Number(row.payloadBytes) }));
  }

  /** How many dead letters there are of each reason and source topic. */
  async deadLetterCounts(): Promise<DeadLetterCount[]> {
    const rows = await this.transport.query<{ reason: string; sourceTopic: string; count: string }>(
      `SELECT reason, source_topic AS sourceTopic, toString(count()) AS count
       FROM ${this.database}.dead_letters FINAL
       GROUP BY reason, source_topic
       ORDER BY reason, source_topic`,
    );
    return rows.map((row) => ({ ...row, count: Number(row.count) }));
  }

  /** Highest stored offset per partition of a topic (absent: nothing stored yet). */
  async watermarks(topic: string): Promise<Map<number, number>> {
    const rows = await this.transport.query<{ source_partition: number; high_offset: string }>(
      `SELECT source_partition, toString(max(high_offset)) AS high_offset
       FROM ${this.database}.ingest_watermarks WHERE source_topic = {topic:String} GROUP BY source_partition`,
      { topic },
    );
    return new Map(rows.map((row) => [Number(row.source_partition), Number(row.high_offset)]));
  }

  /** The newest stored reading of each of these devices (absent: none stored). */
  async latestReadings(deviceIds: readonly string[]): Promise<Map<string, ReadingPosition>> {
    if (deviceIds.length === 0) return new Map();
    const rows = await this.transport.query<{ device_id: string; event_time: number | string; seq: number | string }>(
      // answered by the latest_per_device projection, not by scanning raw
      `SELECT device_id, toUnixTimestamp64Milli(latest.1) AS event_time, latest.2 AS seq
       FROM (SELECT device_id, max((event_time, seq)) AS latest FROM ${this.database}.telemetry_raw
             WHERE has({devices:Array(String)}, device_id) GROUP BY device_id)`,
      { devices: [...deviceIds] },
    );
    return new Map(rows.map((row) => [row.device_id, { eventTime: Number(row.event_time), seq: Number(row.seq) }]));
  }

  /** Which of these readings are stored, and from where (a key stored twice before dedup existed has two rows). */
  async storedReadingKeys(keys: readonly ReadingKey[]): Promise<StoredReadingKey[]> {
    if (keys.length === 0) return [];
    // aliases must not shadow the columns the WHERE compares
    const rows = await this.transport.query<{ device_id: string; event_time_ms: number | string; seq: number | string; source_topic: string; source_partition: number; offset: string }>(
      `SELECT device_id, toUnixTimestamp64Milli(event_time) AS event_time_ms, seq, source_topic, source_partition, toString(source_offset) AS offset
       FROM ${this.database}.telemetry_raw
       WHERE has({devices:Array(String)}, device_id)
         AND (device_id, event_time, seq) IN (
           SELECT key.1, fromUnixTimestamp64Milli(key.2, 'UTC'), key.3
           FROM (SELECT arrayJoin(arrayZip({devices:Array(String)}, {times:Array(Int64)}, {seqs:Array(Int64)})) AS key))`,
      { devices: keys.map((key) => key.deviceId), times: keys.map((key) => key.eventTime), seqs: keys.map((key) => key.seq) },
    );
    return rows.map((row) => ({
      deviceId: row.device_id,
      eventTime: Number(row.event_time_ms),
      seq: Number(row.seq),
      sourceTopic: row.source_topic,
      sourcePartition: Number(row.source_partition),
      sourceOffset: row.offset,
    }));
  }

  async readings(query: TelemetryQuery): Promise<StoredReading[]> {
    const metrics = query.metrics ?? [];
    const after = query.after ?? { eventTime: query.to, seq: 0 };
    return this.transport.query<StoredReading>(
      `SELECT device_id AS deviceId,
              concat(replaceOne(toString(event_time), ' ', 'T'), 'Z') AS eventTime,
              toUnixTimestamp64Milli(event_time) AS eventTimeMs,
              seq,
              if(empty({metrics:Array(String)}), metrics, mapFilter((k, v) -> has({metrics:Array(String)}, k), metrics)) AS metrics,
              attributes
       FROM ${this.database}.telemetry_raw FINAL
       WHERE device_id = {deviceId:String}
         AND event_time >= fromUnixTimestamp64Milli({from:Int64})
         AND event_time < fromUnixTimestamp64Milli({to:Int64})
         AND (event_time, seq) < (fromUnixTimestamp64Milli({afterTime:Int64}), {afterSeq:Int64})
         AND (empty({metrics:Array(String)}) OR hasAny(mapKeys(metrics), {metrics:Array(String)}))
       ORDER BY event_time DESC, seq DESC
       LIMIT {limit:UInt32}`,
      {
        deviceId: query.deviceId,
        from: query.from,
        to: query.to,
        limit: query.limit,
        metrics,
        afterTime: after.eventTime,
        // no cursor: everything before `to` (any seq at `to` is excluded by the range anyway)
        afterSeq: query.after ? after.seq : Number.MAX_SAFE_INTEGER,
      },
    );
  }

  /** Aggregates per bucket from the rollup tables: min, max, avg, count and the last value. */
  async rollup(query: RollupQuery): Promise<RollupPoint[]> {
    const table = ROLLUPS.find((rollup) => rollup.bucket === query.bucket)!.table;
    return this.transport.query<RollupPoint>(
      `SELECT metric,
              concat(replaceOne(toString(bucket), ' ', 'T'), 'Z') AS start,
              min(min_value) AS min, max(max_value) AS max,
              sum(sum_value) / sum(samples) AS avg, toUInt32(sum(samples)) AS count,
              argMaxMerge(last_value) AS last
       FROM ${this.database}.${table}
       WHERE device_id = {deviceId:String}
         AND bucket >= toDateTime(intDiv({from:Int64}, 1000), 'UTC')
         AND bucket < toDateTime(intDiv({to:Int64}, 1000), 'UTC')
         AND (empty({metrics:Array(String)}) OR has({metrics:Array(String)}, metric))
       GROUP BY metric, bucket
       ORDER BY bucket, metric`,
      { deviceId: query.deviceId, from: query.from, to: query.to, metrics: query.metrics ?? [] },
    );
  }

  async count(): Promise<number> {
    const [row] = await this.transport.query<{ rows: string }>(
      `SELECT toString(count()) AS rows FROM ${this.database}.telemetry_raw FINAL`,
    );
    return Number(row?.rows ?? 0);
  }
}
