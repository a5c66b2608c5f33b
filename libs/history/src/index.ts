export * from './chdb-transport';
export * from './clickhouse-server-transport';
export * from './clickhouse-transport';
export * from './create-transport';
export * from './history.repository';
export * from './migrations';
export * from './history-writer';
export * from './chdb-read-only-sessions';
