import { ClickHouseClient, createClient } from '@clickhouse/client';
import { ClickHouseTransport, QueryParams } from './clickhouse-transport';

export interface ClickHouseServerSettings {
  url: string;
  username: string;
  password: string;
}

/** A ClickHouse server over HTTP with the official client. */
export class ClickHouseServerTransport implements ClickHouseTransport {
  readonly description: string;
  private readonly client: ClickHouseClient;

  constructor(settings: ClickHouseServerSettings) {
    this.client = createClient({
      url: settings.url,
      username: settings.username,
      password: settings.password,
      // the insert returns once the data is written, so offsets may be committed after it
      clickhouse_settings: { wait_end_of_query: 1, async_insert: 0 },
    });
    this.description = `ClickHouse server at ${settings.url}`;
  }

  async command(sql: string): Promise<void> {
    await this.client.command({ query: sql });
  }

  async query<Row>(sql: string, params: QueryParams = {}): Promise<Row[]> {
    const result = await this.client.query({ query: sql, query_params: params, format: 'JSONEachRow' });
    return result.json<Row>();
  }

  async insert(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]): Promise<void> {
    if (rows.length === 0) return;
    await this.client.insert({ table, columns: [...columns] as [string, ...string[]], values: rows as unknown[][], format: 'JSONCompactEachRow' });
  }

  async ping(): Promise<boolean> {
    return (await this.client.ping()).success;
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
