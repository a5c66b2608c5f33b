import { Command, InvalidArgumentError, Option } from 'commander';
import { describeSummary, exportSql, isSqlFormat, SQL_FORMATS, SqlFormat } from '../operations/sql-export';

export const DEFAULT_SQL_URL = 'http://127.0.0.1:8123';

/** `name=value` for a `{name:Type}` placeholder; the value is everything after the first `=`. */
export function parseParam(text: string, previous: Record<string, string> = {}): Record<string, string> {
  const equals = text.indexOf('=');
  const name = text.slice(0, Math.max(equals, 0));
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new InvalidArgumentError(`expected name=value, the name letters, digits and _, got "${text}"`);
  if (Object.hasOwn(previous, name)) throw new InvalidArgumentError(`--param ${name} is given twice`);
  return { ...previous, [name]: text.slice(equals + 1) };
}

export function parseFormat(name: string): SqlFormat {
  if (!isSqlFormat(name)) throw new InvalidArgumentError(`expected one of ${Object.keys(SQL_FORMATS).join(', ')}, got "${name}"`);
  return name;
}

export const sqlCommand = new Command('sql')
  .description("run one read-only query on the server's SQL interface (ClickHouse HTTP) and stream the result")
  .argument('<query>', 'SELECT, SHOW, DESCRIBE, EXPLAIN or EXISTS; {name:Type} placeholders take --param values')
  .addOption(new Option('-f, --format <format>', `${Object.keys(SQL_FORMATS).join(', ')} (parquet: to a file or a pipe only)`).argParser(parseFormat).default('table'))
  .option('-o, --output <file>', 'write the result to this file, streamed; it is replaced only by a whole result')
  .option('-p, --param <name=value>', 'value for the {name:Type} placeholder (repeatable)', parseParam)
  .addOption(new Option('--url <url>', 'the SQL interface').env('FLEETSTREAM_SQL_URL').default(DEFAULT_SQL_URL))
  .addOption(new Option('--key <key>', 'an analyst or admin API key').env('FLEETSTREAM_API_KEY'))
  .action(async (sql: string, options: { format: SqlFormat; output?: string; param?: Record<string, string>; url: string; key?: string }) => {
    if (!options.key) throw new Error('no API key: set FLEETSTREAM_API_KEY (or give --key) to an analyst or admin key');
    const summary = await exportSql({ url: options.url, key: options.key, sql, format: options.format, params: options.param ?? {}, output: options.output });
    if (options.output !== undefined) console.error(`fleetstream sql: ${describeSummary(summary)} to ${options.output}`);
  });
