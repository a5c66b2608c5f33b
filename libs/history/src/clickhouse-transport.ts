/** Query parameters bound server-side as `{name:Type}`; values never enter the SQL text. */
export type QueryParams = Record<string, string | number | boolean | string[] | number[]>;

/**
 * One ClickHouse SQL dialect over two transports: the embedded engine (chdb) and a server
 * (@clickhouse/client). Everything above this interface is transport-agnostic.
 */
export interface ClickHouseTransport {
  readonly description: string;
  /** DDL and other statements without a result. */
  command(sql: string): Promise<void>;
  /** SELECT; rows as objects (JSONEachRow). */
  query<Row>(sql: string, params?: QueryParams): Promise<Row[]>;
  /** Inserts rows as JSONEachRow into a table, in one INSERT. */
  insert(table: string, rows: readonly object[]): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
