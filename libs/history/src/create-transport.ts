import { chdbPath, FleetstreamConfig } from '@fleetstream/config';
import { ChdbTransport } from './chdb-transport';
import { ClickHouseServerTransport } from './clickhouse-server-transport';
import { ClickHouseTransport } from './clickhouse-transport';

/** The transport the configuration asks for (HISTORY_TRANSPORT). */
export function createTransport(config: FleetstreamConfig): ClickHouseTransport {
  return config.HISTORY_TRANSPORT === 'server'
    ? new ClickHouseServerTransport({
        url: config.CLICKHOUSE_URL,
        username: config.CLICKHOUSE_USER,
        password: config.CLICKHOUSE_PASSWORD,
      })
    : new ChdbTransport(chdbPath(config));
}
