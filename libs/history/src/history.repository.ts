import type { Telemetry } from '@fleetstream/domain';
import { ClickHouseTransport } from './clickhouse-transport';

/** A reading with the Kafka coordinates it was read from. */
export interface TelemetryRow extends Telemetry {
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: string;
}

export interface TelemetryQuery {
  deviceId: string;
  /** Epoch ms, inclusive. */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
  limit: number;
}

export interface StoredReading {
  deviceId: string;
  eventTime: string;
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
    await this.transport.insert(
      `${this.database}.telemetry_raw`,
      rows.map((row) => ({
        device_id: row.deviceId,
        event_time: row.eventTime, // integer epoch ms: DateTime64(3) reads it as milliseconds
        seq: row.seq,
        metrics: row.metrics,
        attributes: row.attributes,
        source_topic: row.sourceTopic,
        source_partition: row.sourcePartition,
        source_offset: row.sourceOffset,
      })),
    );
  }

  /** Highest stored offset per partition of a topic (absent: nothing stored yet). */
  async watermarks(topic: string): Promise<Map<number, bigint>> {
    const rows = await this.transport.query<{ source_partition: number; high_offset: string }>(
      `SELECT source_partition, toString(max(high_offset)) AS high_offset
       FROM ${this.database}.ingest_watermarks WHERE source_topic = {topic:String} GROUP BY source_partition`,
      { topic },
    );
    return new Map(rows.map((row) => [Number(row.source_partition), BigInt(row.high_offset)]));
  }

  async readings(query: TelemetryQuery): Promise<StoredReading[]> {
    return this.transport.query<StoredReading>(
      `SELECT device_id AS deviceId,
              concat(replaceOne(toString(event_time), ' ', 'T'), 'Z') AS eventTime,
              seq, metrics, attributes
       FROM ${this.database}.telemetry_raw FINAL
       WHERE device_id = {deviceId:String}
         AND event_time >= fromUnixTimestamp64Milli({from:Int64})
         AND event_time < fromUnixTimestamp64Milli({to:Int64})
       ORDER BY event_time DESC, seq DESC
       LIMIT {limit:UInt32}`,
      { deviceId: query.deviceId, from: query.from, to: query.to, limit: query.limit },
    );
  }

  async count(): Promise<number> {
    const [row] = await this.transport.query<{ rows: string }>(
      `SELECT toString(count()) AS rows FROM ${this.database}.telemetry_raw FINAL`,
    );
    return Number(row?.rows ?? 0);
  }
}
