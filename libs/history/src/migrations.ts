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
];

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
    await transport.insert(`${database}.schema_migrations`, [
      { version: migration.version, description: migration.description },
    ]);
  }
  return pending.map((migration) => migration.version);
}
