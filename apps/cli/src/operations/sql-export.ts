import { ClickHouseError, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { once } from 'node:events';
import { createWriteStream, WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Transform, TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * The CLI's formats as the server writes them. `headerLines`: how many lines come before the rows
 * where every further line is one row; null where rows cannot be told from the bytes.
 */
export const SQL_FORMATS = {
  table: { clickhouse: 'PrettyCompactMonoBlock', binary: false, headerLines: null },
  csv: { clickhouse: 'CSVWithNames', binary: false, headerLines: 1 },
  json: { clickhouse: 'JSONEachRow', binary: false, headerLines: 0 },
  parquet: { clickhouse: 'Parquet', binary: true, headerLines: null },
} as const satisfies Record<string, { clickhouse: string; binary: boolean; headerLines: number | null }>;
export type SqlFormat = keyof typeof SQL_FORMATS;

export function isSqlFormat(name: string): name is SqlFormat {
  return Object.hasOwn(SQL_FORMATS, name);
}

/** Why the result may not go where it would go, or null: binary output never goes to a terminal. */
export function destinationRefusal(format: SqlFormat, output: string | undefined, stdoutIsTerminal: boolean): string | null {
  if (!SQL_FORMATS[format].binary || output !== undefined || !stdoutIsTerminal) return null;
  return `--format ${format} is binary and stdout is a terminal: give --output FILE or redirect stdout (> result.${format})`;
}

/** The statement with the format appended as @clickhouse/client's query() does it: on a line of its own, after any trailing semicolons. */
export function withFormatClause(sql: string, format: SqlFormat): string {
  return `${sql.replace(/[\s;]+$/, '')}\nFORMAT ${SQL_FORMATS[format].clickhouse}`;
}

/**
 * An error that strikes after the first block cannot change the HTTP status any more: ClickHouse
 * writes it into the body, after what was sent, as `Code: N. DB::Exception: …`. In a text result
 * it is looked for at a line start only, which no JSONEachRow or Pretty row can be (a CSV row
 * could, if its last value held a newline followed by exactly that text); in a binary one anywhere,
 * which is only asked once the result is known to be cut.
 */
export function trailingException(tail: Buffer, binary: boolean): string | undefined {
  let start = -1;
  for (const match of tail.toString('latin1').matchAll(binary ? /Code: \d+\. DB::Exception: /g : /(?:^|\n)Code: \d+\. DB::Exception: /g)) {
    start = match.index + (match[0].startsWith('\n') ? 1 : 0);
  }
  return start < 0 ? undefined : oneLine(tail.subarray(start).toString('utf8'));
}

const PARQUET_MAGIC = Buffer.from('PAR1');
/** What the guard keeps back from the output: longer than any exception ClickHouse appends. */
const HELD_BYTES = 64 * 1024;

/** A result that ended but is not whole: an exception at its end, or a Parquet file without its footer. */
export class CutResultError extends Error {}

/**
 * Passes the result through, keeping its last HELD_BYTES back until the end, so that an exception
 * ClickHouse appends is reported and never lands in the output. Counts bytes and line ends.
 */
export class ResultGuard extends Transform {
  bytes = 0;
  private lineEnds = 0;
  private held = Buffer.alloc(0);

  constructor(private readonly format: SqlFormat) {
    super();
  }

  /** Rows so far, where the format tells them (JSONEachRow: one a line; CSV: after the header). */
  rows(): number | null {
    const header = SQL_FORMATS[this.format].headerLines;
    return header === null ? null : Math.max(0, this.lineEnds - header);
  }

  /** The exception at the end of what arrived, if the result broke off after ClickHouse wrote one. */
  exception(): string | undefined {
    return trailingException(this.held, SQL_FORMATS[this.format].binary);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (!SQL_FORMATS[this.format].binary) for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) this.lineEnds++;
    const all = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : chunk;
    const passed = Math.max(0, all.length - HELD_BYTES);
    this.held = Buffer.from(all.subarray(passed));
    callback(null, passed > 0 ? all.subarray(0, passed) : undefined);
  }

  override _flush(callback: TransformCallback): void {
    // a whole Parquet file ends with its magic; its strings may hold anything, exception text too
    const whole = SQL_FORMATS[this.format].binary ? this.held.subarray(-PARQUET_MAGIC.length).equals(PARQUET_MAGIC) : this.exception() === undefined;
    if (whole) return callback(null, this.held);
    callback(new CutResultError(this.exception() ?? `the ${this.format} result ended without its footer after ${this.bytes} bytes`));
  }
}

export interface SqlExport {
  url: string;
  key: string;
  sql: string;
  format: SqlFormat;
  /** Values for `{name:Type}` placeholders, as typed: the client escapes them for the URL. */
  params: Record<string, string>;
  /** A file to write, else stdout. */
  output?: string;
}

export interface SqlExportSummary {
  rows: number | null;
  bytes: number;
  seconds: number;
}

const PROGRESS_EVERY_MS = 1000;
/** An idle socket's limit: the server ends queries itself (SQL_MAX_EXECUTION_TIME_S), but an aggregation may send nothing for a while first. */
const IDLE_TIMEOUT_MS = 10 * 60_000;

/**
 * Runs one query on the server's read-only ClickHouse HTTP interface and streams the result, in
 * the format the server writes, to a file or stdout; never holds it in memory. A file is written
 * beside its name and renamed into place when the result is whole, so that a failed or interrupted
 * export leaves nothing behind (and no older file at that name is lost).
 */
export async function exportSql(job: SqlExport): Promise<SqlExportSummary> {
  const refusal = destinationRefusal(job.format, job.output, process.stdout.isTTY === true);
  if (refusal) throw new Error(refusal);
  const file = job.output === undefined ? undefined : await openPartial(job.output);
  const client = createClient({
    url: job.url,
    username: 'fleetstream',
    password: job.key,
    application: 'fleetstream-cli',
    request_timeout: IDLE_TIMEOUT_MS,
    // every failure is reported once, as one line, by the caller; the client's own log would repeat it with a stack
    log: { level: ClickHouseLogLevel.OFF },
  });
  const interrupted = new AbortController();
  const interrupt = () => interrupted.abort(new Error('interrupted'));
  process.once('SIGINT', interrupt).once('SIGTERM', interrupt);
  const guard = new ResultGuard(job.format);
  const started = Date.now();
  const summary = (): SqlExportSummary => ({ rows: guard.rows(), bytes: guard.bytes, seconds: (Date.now() - started) / 1000 });
  // progress goes to the terminal only when the result does not: with --output, or stdout redirected
  const stopProgress = file !== undefined || (process.stderr.isTTY && !process.stdout.isTTY) ? showProgress(summary) : () => undefined;
  try {
    // exec, the raw body: query().stream() splits it into rows at newlines (which breaks Parquet, and loses what follows the last one) and refuses Pretty formats
    const { stream } = await client.exec({ query: withFormatClause(job.sql, job.format), query_params: job.params, abort_signal: interrupted.signal });
    await pipeline(stream, guard, file?.stream ?? process.stdout, { signal: interrupted.signal });
    if (file !== undefined) await rename(file.path, job.output!);
    return summary();
  } catch (error) {
    if (file !== undefined) await rm(file.path, { force: true });
    // a reader that stops early (`| head`) is not a failure
    else if ((error as NodeJS.ErrnoException).code === 'EPIPE') return summary();
    throw new Error(failureMessage(error, job.url, guard, interrupted.signal));
  } finally {
    stopProgress();
    process.off('SIGINT', interrupt).off('SIGTERM', interrupt);
    await client.close();
  }
}

/** Where an export is written until it is whole: beside the file asked for, so that the rename stays on one filesystem. */
async function openPartial(output: string): Promise<{ path: string; stream: WriteStream }> {
  const path = `${output}.partial-${process.pid}`;
  const stream = createWriteStream(path);
  try {
    await once(stream, 'open');
  } catch (error) {
    throw new Error(`cannot write ${output}: ${(error as Error).message}`);
  }
  return { path, stream };
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);

/** One line that says what went wrong: ClickHouse's own message where there is one. */
function failureMessage(error: unknown, url: string, guard: ResultGuard, interrupted: AbortSignal): string {
  if (interrupted.aborted) return `interrupted after ${guard.bytes} bytes`;
  if (error instanceof CutResultError) return error.message;
  if (error instanceof ClickHouseError) return oneLine(`Code: ${error.code}. DB::Exception: ${error.message.trim()}${error.type ? ` (${error.type})` : ''}`);
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== undefined && UNREACHABLE.has(code)) return `cannot reach the SQL interface at ${url} (${code}): is the server up, with SQL_HTTP_PORT set? (--url, FLEETSTREAM_SQL_URL)`;
  // the connection broke mid-result: ClickHouse may have written why before it did
  const reason = guard.exception() ?? (error instanceof Error ? error.message : String(error));
  return guard.bytes > 0 ? oneLine(`the result broke off after ${guard.bytes} bytes: ${reason}`) : oneLine(`${url}: ${reason}`);
}

function oneLine(text: string): string {
  return text.trim().replace(/\s*\n\s*/g, ' ');
}

/** A progress line every second: rewritten in place on a terminal, one line each otherwise. */
function showProgress(summary: () => SqlExportSummary): () => void {
  const stderr = process.stderr;
  let shown = false;
  const timer = setInterval(() => {
    shown = true;
    const line = `fleetstream sql: ${describeSummary(summary())}`;
    stderr.write(stderr.isTTY ? `\r${line}\x1b[K` : `${line}\n`);
  }, PROGRESS_EVERY_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    if (shown && stderr.isTTY) stderr.write('\r\x1b[K');
  };
}

/** `2000000 rows, 14.9 MiB in 1.3 s` (no rows where the format does not tell them). */
export function describeSummary({ rows, bytes, seconds }: SqlExportSummary): string {
  return `${rows === null ? '' : `${rows} rows, `}${formatBytes(bytes)} in ${seconds.toFixed(1)} s`;
}

function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}
