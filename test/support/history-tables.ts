import type { ClickHouseTransport } from '@fleetstream/history';

/** One row per device, metric and bucket: what a rollup holds, or what the distinct raw readings add up to. */
export interface BucketAggregate {
  device_id: string;
  metric: string;
  bucket: string;
  samples: number;
  sum: number;
  min: number;
  max: number;
}

const BUCKETS = [
  { table: 'telemetry_rollup_1m', start: 'toStartOfMinute' },
  { table: 'telemetry_rollup_1h', start: 'toStartOfHour' },
] as const;

/** The rollup tables against the DISTINCT readings of `telemetry_raw FINAL`, bucket by bucket, for the devices whose id starts with `devicePrefix`. */
export async function rollupsAndDistinctRaw(clickhouse: ClickHouseTransport, database: string, devicePrefix: string) {
  const pairs = [];
  for (const { table, start } of BUCKETS) {
    const rollup = await clickhouse.query<BucketAggregate>(
      `SELECT device_id, metric, toString(bucket) AS bucket, toUInt64(sum(samples)) AS samples, sum(sum_value) AS sum,
              min(min_value) AS min, max(max_value) AS max
       FROM ${database}.${table} WHERE startsWith(device_id, {prefix:String})
       GROUP BY device_id, metric, bucket ORDER BY device_id, metric, bucket`,
      { prefix: devicePrefix },
    );
    const distinctRaw = await clickhouse.query<BucketAggregate>(
      `SELECT device_id, metric, toString(${start}(toDateTime(event_time, 'UTC'))) AS bucket, toUInt64(count()) AS samples,
              sum(value) AS sum, min(value) AS min, max(value) AS max
       FROM (SELECT DISTINCT device_id, event_time, seq, metrics FROM ${database}.telemetry_raw FINAL WHERE startsWith(device_id, {prefix:String}))
       ARRAY JOIN mapKeys(metrics) AS metric, mapValues(metrics) AS value
       GROUP BY device_id, metric, bucket ORDER BY device_id, metric, bucket`,
      { prefix: devicePrefix },
    );
    pairs.push({ table, rollup: rollup.map(normalized), distinctRaw: distinctRaw.map(normalized) });
  }
  return pairs;
}

function normalized(row: BucketAggregate): BucketAggregate {
  return { ...row, samples: Number(row.samples), sum: Number(row.sum), min: Number(row.min), max: Number(row.max) };
}

/** Rows of telemetry_raw for the devices whose id starts with `devicePrefix`; without FINAL, a row stored twice counts twice. */
export async function rawRows(clickhouse: ClickHouseTransport, database: string, devicePrefix: string, final: boolean): Promise<number> {
  const [row] = await clickhouse.query<{ rows: string }>(
    `SELECT toString(count()) AS rows FROM ${database}.telemetry_raw ${final ? 'FINAL' : ''} WHERE startsWith(device_id, {prefix:String})`,
    { prefix: devicePrefix },
  );
  return Number(row!.rows);
}
