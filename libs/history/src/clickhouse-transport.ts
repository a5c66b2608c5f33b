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
  /**
   * Inserts rows into a table in one INSERT, as JSONCompactEachRow: one array per row in the order of
   * `columns`, half the bytes of JSONEachRow and less for ClickHouse to parse.
   */
  insert(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
