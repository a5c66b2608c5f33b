import { ClickHouseTransport } from './clickhouse-transport';

export interface MigrationContext {
  /** Database name, validated as an identifier by the config schema. */
  database: string;
  ttlDays: number;
}

export interface Migration {
  version: number;
  description: string;
  statements: (context: MigrationContext) => string[];
}

/** Append-only: a released migration is never edited, a change is a new version. */
export const HISTORY_MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'raw telemetry and per-partition ingest watermarks',
    statements: ({ database, ttlDays }) => [
      // ReplacingMergeTree on the reading's identity (device, event time, sequence): a reading that
      // arrives twice (producer retry, offset rewind) collapses into one row; queries use FINAL.
      `CREATE TABLE IF NOT EXISTS ${database}.telemetry_raw (
        device_id String CODEC(ZSTD(1)),
        event_time DateTime64(3, 'UTC') CODEC(DoubleDelta, ZSTD(1)),
        seq Int64 CODEC(Delta, ZSTD(1)),
        metrics Map(LowCardinality(String), Float64) CODEC(ZSTD(1)),
        attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
        source_topic LowCardinality(String),
        source_partition UInt16,
        source_offset UInt64 CODEC(Delta, ZSTD(1)),
        ingested_at DateTime64(3, 'UTC') DEFAULT now64(3) CODEC(DoubleDelta, ZSTD(1))
      ) ENGINE = ReplacingMergeTree
      PARTITION BY toYYYYMM(event_time)
      ORDER BY (device_id, event_time, seq)
      TTL toDateTime(event_time) + INTERVAL ${ttlDays} DAY`,
      // The highest offset written per source partition, maintained by the same INSERT that writes
      // the rows: after a crash or replay the writer skips what is already stored.
      `CREATE TABLE IF NOT EXISTS ${database}.ingest_watermarks (
        source_topic String,
        source_partition UInt16,
        high_offset UInt64
      ) ENGINE = ReplacingMergeTree(high_offset)
      ORDER BY (source_topic, source_partition)`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.ingest_watermarks_mv TO ${database}.ingest_watermarks AS
        SELECT source_topic, source_partition, max(source_offset) AS high_offset
        FROM ${database}.telemetry_raw GROUP BY source_topic, source_partition`,
    ],
  },
  {
    version: 2,
    description: 'per-minute and per-hour rollups maintained by materialized views',
    statements: ({ database, ttlDays }) => {
      const [minute, hour] = ROLLUPS;
      return [
        ...ROLLUPS.map(
          ({ table }) =>
            // SimpleAggregateFunction columns merge by themselves; avg = sum_value / samples at query time.
            `CREATE TABLE IF NOT EXISTS ${database}.${table} (
              device_id String CODEC(ZSTD(1)),
              metric LowCardinality(String),
              bucket DateTime('UTC') CODEC(DoubleDelta, ZSTD(1)),
              min_value SimpleAggregateFunction(min, Float64),
              max_value SimpleAggregateFunction(max, Float64),
              sum_value SimpleAggregateFunction(sum, Float64),
              samples SimpleAggregateFunction(sum, UInt64),
              last_value AggregateFunction(argMax, Float64, DateTime64(3, 'UTC'))
            ) ENGINE = AggregatingMergeTree
            PARTITION BY toYYYYMM(bucket)
            ORDER BY (device_id, metric, bucket)
            TTL bucket + INTERVAL ${ttlDays} DAY`,
        ),
        `CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.${minute.table}_mv TO ${database}.${minute.table} AS
          ${minuteRollupOf(`${database}.telemetry_raw`)}`,
        // Hours from the minute blocks, not from raw rows: each insert explodes its readings into
        // metrics once, and the hour view reads the already-aggregated minutes.
        `CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.${hour.table}_mv TO ${database}.${hour.table} AS
          SELECT device_id, metric, hour AS bucket,
                 min(min_value) AS min_value, max(max_value) AS max_value, sum(sum_value) AS sum_value,
                 sum(samples) AS samples, argMaxMergeState(last_value) AS last_value
          FROM (SELECT *, toStartOfHour(bucket) AS hour FROM ${database}.${minute.table})
          GROUP BY device_id, metric, hour`,
      ];
    },
  },
  {
    version: 3,
    description: 'dead-lettered records, and their offsets in the ingest watermarks',
    statements: ({ database, ttlDays }) => [
      // What went to the DLQ and why, queryable with SQL; its offsets count as handled, so a replay
      // does not dead-letter the same record again.
      `CREATE TABLE IF NOT EXISTS ${database}.dead_letters (
        source_topic LowCardinality(String),
        source_partition UInt16,
        source_offset UInt64,
        record_key String,
        reason LowCardinality(String),
        error String,
        failed_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree
      ORDER BY (source_topic, source_partition, source_offset)
      TTL toDateTime(failed_at) + INTERVAL ${ttlDays} DAY`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.dead_letters_watermarks_mv TO ${database}.ingest_watermarks AS
        SELECT source_topic, source_partition, max(source_offset) AS high_offset
        FROM ${database}.dead_letters GROUP BY source_topic, source_partition`,
    ],
  },
  {
    version: 4,
    description: 'newest reading per device as a projection of raw (duplicate check), rollups rebuilt from distinct readings',
    statements: ({ database }) => {
      const [minute, hour] = ROLLUPS;
      return [
        // The writer drops a reading whose (device_id, event_time, seq) is already stored; one newer
        // than its device's newest stored reading cannot be, so only older ones are looked up. A
        // projection is written in the same part as the rows: it never lags raw, even after a crash.
        `ALTER TABLE ${database}.telemetry_raw MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild'`,
        `ALTER TABLE ${database}.telemetry_raw ADD PROJECTION IF NOT EXISTS latest_per_device (
          SELECT device_id, max((event_time, seq)) GROUP BY device_id
        )`,
        `ALTER TABLE ${database}.telemetry_raw MATERIALIZE PROJECTION latest_per_device SETTINGS mutations_sync = 1`,
        // Rollups written before this version counted a reading stored twice twice: rebuilt once from
        // the readings raw keeps (the hour view refills the hours from the minutes). Rerunnable.
        `TRUNCATE TABLE ${database}.${hour.table}`,
        `TRUNCATE TABLE ${database}.${minute.table}`,
        `INSERT INTO ${database}.${minute.table} ${minuteRollupOf(`${database}.telemetry_raw FINAL`)}`,
      ];
    },
  },
  {
    version: 5,
    description: 'alarm history: every event of fleet.alerts, with its watermark',
    statements: ({ database, ttlDays }) => [
      // an alarm has one event of each type: a record written twice collapses on (device_id, alarm_id, type)
      `CREATE TABLE IF NOT EXISTS ${database}.alerts (
        device_id String CODEC(ZSTD(1)),
        alarm_id String CODEC(ZSTD(1)),
        type LowCardinality(String),
        at DateTime64(3, 'UTC') CODEC(DoubleDelta, ZSTD(1)),
        rule_id String CODEC(ZSTD(1)),
        rule_name String CODEC(ZSTD(1)),
        severity LowCardinality(String),
        metric Nullable(String),
        value Nullable(Float64),
        reading_event_time Nullable(DateTime64(3, 'UTC')),
        reading_seq Nullable(Int64),
        reason Nullable(String),
        actor Nullable(String),
        note Nullable(String),
        source_topic LowCardinality(String),
        source_partition UInt16,
        source_offset UInt64,
        ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
      ) ENGINE = ReplacingMergeTree
      PARTITION BY toYYYYMM(at)
      ORDER BY (device_id, alarm_id, type)
      TTL toDateTime(at) + INTERVAL ${ttlDays} DAY`,
      // no view feeds ingest_watermarks from alerts: the alarm writer writes its watermark itself, once
      // the batch's rows and dead letters are both durable (a view would move it past a dead letter not sent yet)
    ],
  },
  {
    version: 6,
    description: "dead letters keep the record's payload (its first bytes) for inspection",
    statements: ({ database }) => [
      // base64, not raw bytes: rows are sent as JSON, and a payload need not be UTF-8; rows written before hold none (0 bytes)
      `ALTER TABLE ${database}.dead_letters
        ADD COLUMN IF NOT EXISTS payload_base64 String CODEC(ZSTD(1)),
        ADD COLUMN IF NOT EXISTS payload_bytes UInt32`,
    ],
  },
];

/** Per-minute aggregates of every metric of the readings in `source` (raw rows). */
function minuteRollupOf(source: string): string {
  return `SELECT device_id, metric, toStartOfMinute(toDateTime(event_time, 'UTC')) AS bucket,
                 min(value) AS min_value, max(value) AS max_value, sum(value) AS sum_value,
                 count() AS samples, argMaxState(value, event_time) AS last_value
          FROM ${source}
          ARRAY JOIN mapKeys(metrics) AS metric, mapValues(metrics) AS value
          GROUP BY device_id, metric, bucket`;
}

/** Rollup tables by bucket name as the API spells it. */
export const ROLLUPS = [
  { bucket: '1m', table: 'telemetry_rollup_1m' },
  { bucket: '1h', table: 'telemetry_rollup_1h' },
] as const;
export type RollupBucket = (typeof ROLLUPS)[number]['bucket'];

/** Tables whose TTL follows HISTORY_TTL_DAYS, with the TTL expression of each. */
const RETENTION = [
  { table: 'telemetry_raw', ttl: (days: number) => `toDateTime(event_time) + INTERVAL ${days} DAY` },
  ...ROLLUPS.map(({ table }) => ({ table, ttl: (days: number) => `bucket + INTERVAL ${days} DAY` })),
  { table: 'alerts', ttl: (days: number) => `toDateTime(at) + INTERVAL ${days} DAY` },
];

/**
 * Brings the tables' TTL in line with the configured retention. Changing HISTORY_TTL_DAYS must not
 * need a migration; old parts are not rewritten at once (materialize_ttl_after_modify = 0), merges
 * apply the new TTL as they go.
 */
export async function applyRetention(transport: ClickHouseTransport, { database, ttlDays }: MigrationContext): Promise<string[]> {
  const rows = await transport.query<{ name: string; engine_full: string }>(
    `SELECT name, engine_full FROM system.tables WHERE database = {database:String}`,
    { database },
  );
  const changed: string[] = [];
  for (const { table, ttl } of RETENTION) {
    const current = rows.find((row) => row.name === table);
    if (!current || current.engine_full.includes(`toIntervalDay(${ttlDays})`)) continue;
    await transport.command(
      `ALTER TABLE ${database}.${table} MODIFY TTL ${ttl(ttlDays)} SETTINGS materialize_ttl_after_modify = 0`,
    );
    changed.push(table);
  }
  return changed;
}

/** Applies the migrations the database has not seen, in order; returns the versions applied. */
export async function migrate(
  transport: ClickHouseTransport,
  context: MigrationContext,
  migrations: Migration[] = HISTORY_MIGRATIONS,
): Promise<number[]> {
  const { database } = context;
  await transport.command(`CREATE DATABASE IF NOT EXISTS ${database}`);
  await transport.command(
    `CREATE TABLE IF NOT EXISTS ${database}.schema_migrations (
      version UInt32, description String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = MergeTree ORDER BY version`,
  );
  const rows = await transport.query<{ version: number }>(`SELECT version FROM ${database}.schema_migrations`);
  const applied = new Set(rows.map((row) => Number(row.version)));
  const pending = migrations.filter((migration) => !applied.has(migration.version)).sort((a, b) => a.version - b.version);
  for (const migration of pending) {
    for (const statement of migration.statements(context)) {
      await transport.command(statement);
    }
    await transport.insert(`${database}.schema_migrations`, ['version', 'description'], [[migration.version, migration.description]]);
  }
  return pending.map((migration) => migration.version);
}
