import { chdbPath } from '@fleetstream/config';
import { ChdbReadOnlySessions, ReadOnlySession } from '@fleetstream/history';
import { mayExercise } from '@fleetstream/domain';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { Readable, Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { ApiKeysReadModel } from '../auth/api-keys.read-model';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';
import { ClickHouseError, ErrorCode, fromEngineError, httpStatusOf } from './clickhouse-error';
import { nativeForRevision } from './native-revision';
import { HeaderOnce, resultStreaming } from './result-streaming';
import { BodyEncoding, bodyEncodingOf, checkUncompressedResponse, credentialOf, parseSqlRequest } from './sql-request';
import { checkAst, checkColumnNames, checkShownColumns, checkStatement, isSelectRoot, materializingSelect, withoutFormatClause } from './sql-statement';

/** ClickHouse's default max_query_size: a longer query is a syntax error there too. */
const MAX_QUERY_BYTES = 256 * 1024;
const QUERY_ID = /^[\x21-\x7e]{1,128}$/;
const WRITE_SLICE_BYTES = 1024 * 1024;

/** Why this instance does not serve SQL, or null when it does. */
export function sqlInterfaceOff(config: Pick<AppConfig, 'SQL_HTTP_PORT' | 'HISTORY_TRANSPORT' | 'PROCESSORS'>): string | null {
  if (config.SQL_HTTP_PORT === 0) return 'SQL_HTTP_PORT=0';
  if (config.HISTORY_TRANSPORT === 'server') return 'HISTORY_TRANSPORT=server: analysts query that ClickHouse server directly';
  if (!config.PROCESSORS.includes('history')) return 'this instance does not run the history processor (PROCESSORS), so its embedded ClickHouse holds no history: ask the one that does';
  return null;
}

/**
 * ClickHouse's HTTP interface, read-only, over the embedded engine (chdb), on its own port: the
 * protocol that clickhouse-client, clickhouse-connect, @clickhouse/client, JDBC, DBeaver and
 * Grafana speak. Not a Nest route: those clients expect a server of their own, answering at `/`.
 */
@Injectable()
export class SqlHttpServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('sql');
  private server: Server | undefined;
  private sessions: ChdbReadOnlySessions | undefined;
  private timezone = 'UTC';
  private readonly running = new Set<AbortController>();

  constructor(
    @Inject(fleetstreamConfig.KEY) private readonly config: AppConfig,
    private readonly keys: ApiKeysReadModel,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const off = sqlInterfaceOff(this.config);
    if (off) {
      this.logger.log(`SQL interface off: ${off}`);
      return;
    }
    const config = this.config;
    this.sessions = new ChdbReadOnlySessions(chdbPath(config), config.CLICKHOUSE_DATABASE, config.SQL_MAX_CONCURRENT_QUERIES, {
      maxExecutionTimeS: config.SQL_MAX_EXECUTION_TIME_S,
      maxResultRows: config.SQL_MAX_RESULT_ROWS,
      maxResultBytes: config.SQL_MAX_RESULT_BYTES,
      maxWholeResultBytes: config.SQL_MAX_WHOLE_RESULT_BYTES,
      maxWholeResultRows: config.SQL_MAX_WHOLE_RESULT_ROWS,
      maxMemoryBytes: config.SQL_MAX_MEMORY_BYTES,
      maxThreads: config.SQL_MAX_THREADS,
      osThreadPriority: config.SQL_OS_THREAD_PRIORITY,
    });
    const probe = this.sessions.tryAcquire()!;
    this.timezone = await probe.timezone().finally(() => this.sessions!.release(probe));
    // nothing a request does may reject unhandled: in Node 20 that ends the process, REST and processors included
    this.server = createServer((request, response) =>
      this.handle(request, response).catch((error: unknown) => {
        this.logger.error({ msg: 'sql request failed outside its handler', error: String(error) });
        response.destroy();
      }),
    );
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(config.SQL_HTTP_PORT, config.HTTP_HOST, () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    this.logger.log(`SQL (ClickHouse HTTP, read-only) on http://${config.HTTP_HOST}:${port}`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    for (const controller of this.running) controller.abort();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
    this.sessions?.close();
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const requestedId = url.searchParams.get('query_id') || undefined;
    // it goes back in a header: a CR, LF or non-Latin-1 character in it made writeHead throw, which took the process down
    const queryId = requestedId !== undefined && QUERY_ID.test(requestedId) ? requestedId : randomUUID();
    try {
      if (requestedId !== undefined && requestedId !== queryId) throw new ClickHouseError(ErrorCode.BAD_ARGUMENTS, 'query_id must be 1 to 128 printable ASCII characters (no spaces or control characters)');
      if (request.method !== 'GET' && request.method !== 'POST' && request.method !== 'HEAD') throw new ClickHouseError(ErrorCode.SYNTAX_ERROR, `HTTP method ${request.method} is not served`);
      if (url.pathname === '/ping' || (url.pathname === '/' && request.method !== 'POST' && !url.searchParams.has('query'))) {
        response.writeHead(200, { 'Content-Type': 'text/html; charset=UTF-8' }).end('Ok.\n');
        return;
      }
      if (url.pathname !== '/') {
        response.writeHead(404, { 'Content-Type': 'text/plain; charset=UTF-8' }).end(`There is no handle ${url.pathname}: use / or /ping\n`);
        return;
      }
      this.authorize(request, url);
      const encoding = bodyEncodingOf(request.headers, url);
      checkUncompressedResponse(url);
      const body = await readBody(request, encoding);
      const sql = parseSqlRequest(url, body, this.config.CLICKHOUSE_DATABASE, request.headers);
      if (Buffer.byteLength(sql.sql) > MAX_QUERY_BYTES) throw new ClickHouseError(ErrorCode.SYNTAX_ERROR, `Max query size exceeded: ${MAX_QUERY_BYTES} bytes`);
      checkStatement(sql.sql);
      const session = this.sessions!.tryAcquire();
      if (!session) {
        throw new ClickHouseError(ErrorCode.TOO_MANY_SIMULTANEOUS_QUERIES, `Too many simultaneous queries. Maximum: ${this.config.SQL_MAX_CONCURRENT_QUERIES} (SQL_MAX_CONCURRENT_QUERIES); retry later`);
      }
      try {
        await this.run(session, sql, queryId, response);
      } finally {
        this.sessions!.release(session);
      }
    } catch (error) {
      this.fail(response, queryId, fromEngineError(error));
    }
  }

  /** The credential is an API key with the `sql:read` right (roles analyst and admin). */
  private authorize(request: IncomingMessage, url: URL): void {
    const secret = credentialOf(request.headers, url);
    if (!secret) throw new ClickHouseError(ErrorCode.REQUIRED_PASSWORD, 'default: Authentication failed: send an API key as the password (basic auth or X-ClickHouse-Key), with any user name');
    const check = this.keys.check(secret);
    if (!check.ok) throw new ClickHouseError(ErrorCode.AUTHENTICATION_FAILED, `Authentication failed: ${check.problem}`);
    if (!mayExercise(check.principal.roles, 'sql:read')) {
      throw new ClickHouseError(ErrorCode.ACCESS_DENIED, `${check.principal.actor}: Not enough privileges. SQL needs the role analyst or admin; this key has ${check.principal.roles.join(', ')}`);
    }
  }

  private async run(session: ReadOnlySession, sql: ReturnType<typeof parseSqlRequest>, queryId: string, response: ServerResponse): Promise<void> {
    const databases = await session.databases();
    const { ast, canonical } = await session.parse(sql.sql, sql.params);
    checkAst(ast, this.config.CLICKHOUSE_DATABASE, databases);
    checkShownColumns(canonical, this.config.CLICKHOUSE_DATABASE);
    const formatClause = formatClauseOf(ast, canonical);
    const format = formatClause ?? sql.defaultFormat;
    let executed = sql.sql;
    if (isSelectRoot(ast)) {
      const select = withoutFormatClause(canonical, formatClause);
      // the canonical text is judged like the sent one before the engine sees it (DESCRIBE analyses it)
      checkStatement(select);
      checkAst(await session.explainAst(select, sql.params), this.config.CLICKHOUSE_DATABASE, databases);
      const columns = await session.columnNames(select, sql.urlParams);
      checkColumnNames(columns);
      executed = materializingSelect(select, columns, formatClause);
      // what runs is judged, not only what was sent
      checkStatement(executed);
      checkAst(await session.explainAst(executed, sql.params), this.config.CLICKHOUSE_DATABASE, databases);
    }
    const controller = new AbortController();
    this.running.add(controller);
    // a client that hangs up stops the query between chunks
    response.on('close', () => controller.abort());
    const started = process.hrtime.bigint();
    const { streamed, headerLines } = resultStreaming(format);
    const headerOnce = new HeaderOnce(headerLines);
    const forClient = format === 'Native' && sql.nativeRevision > 0 ? nativeForRevision : (bytes: Uint8Array) => bytes;
    let rows = 0;
    let bytes = 0;
    try {
      for await (const chunk of session.query(executed, { bound: sql.params, sent: sql.urlParams }, sql.defaultFormat, controller.signal, streamed && isSelectRoot(ast))) {
        rows += chunk.numRows;
        bytes += chunk.numBytes;
        // rewritten before the headers go, so a type it cannot rewrite is an ordinary error
        const raw = forClient(chunk.raw());
        // the headers go with the first chunk: a whole result's summary is final, a streamed one's says "so far", as ClickHouse's does
        if (!response.headersSent) response.writeHead(200, this.headers(queryId, format, { result_rows: rows, result_bytes: bytes, elapsed_ns: process.hrtime.bigint() - started }));
        const out = headerOnce.pass(asBuffer(raw));
        // in slices, each waited for: a whole result (up to SQL_MAX_WHOLE_RESULT_BYTES) in one write would
        // drain only when all of it was read, and a slow but reading client would count as stalled
        for (let offset = 0; offset < out.length && !controller.signal.aborted; offset += WRITE_SLICE_BYTES) {
          if (response.write(out.subarray(offset, offset + WRITE_SLICE_BYTES))) continue;
          if (!(await drainedOrClosed(response, this.config.SQL_STALLED_CLIENT_TIMEOUT_S * 1000))) {
            // a client that stops reading would hold its slot for good: the engine's clock stops while the stream waits
            if (!controller.signal.aborted) this.logger.warn({ msg: 'sql client stopped reading: cut off', queryId, stalledForS: this.config.SQL_STALLED_CLIENT_TIMEOUT_S });
            controller.abort();
            response.destroy();
          }
        }
        if (controller.signal.aborted) return;
      }
      if (!response.headersSent) response.writeHead(200, this.headers(queryId, format, { result_rows: rows, result_bytes: bytes, elapsed_ns: process.hrtime.bigint() - started }));
      response.end();
    } catch (error) {
      if (!response.headersSent) throw error;
      // the status is gone: ClickHouse writes the error into the body, where clients look for it (the CLI
      // and @clickhouse/client read `Code: N. DB::Exception:` at the end), and breaks the connection
      response.end(fromEngineError(error).body());
      response.destroy();
    } finally {
      this.running.delete(controller);
      this.logger.log({ msg: 'sql query', queryId, rows, bytes, ms: Number((process.hrtime.bigint() - started) / 1_000_000n), query: sql.sql.slice(0, 2000) });
    }
  }

  private headers(queryId: string, format: string, summary: { result_rows: number; result_bytes: number; elapsed_ns: bigint }): Record<string, string> {
    const asStrings = Object.fromEntries(
      Object.entries({ read_rows: 0, read_bytes: 0, written_rows: 0, written_bytes: 0, total_rows_to_read: 0, ...summary }).map(([key, value]) => [key, String(value)]),
    );
    return {
      'Content-Type': contentTypeOf(format),
      'X-ClickHouse-Query-Id': queryId,
      'X-ClickHouse-Format': format,
      'X-ClickHouse-Timezone': this.timezone,
      'X-ClickHouse-Summary': JSON.stringify(asStrings),
    };
  }

  private fail(response: ServerResponse, queryId: string, error: ClickHouseError): void {
    if (response.headersSent) {
      response.destroy();
      return;
    }
    response
      .writeHead(httpStatusOf(error.code), {
        'Content-Type': 'text/plain; charset=UTF-8',
        'X-ClickHouse-Query-Id': queryId,
        'X-ClickHouse-Exception-Code': String(error.code),
        ...(error.code === ErrorCode.REQUIRED_PASSWORD ? { 'WWW-Authenticate': 'Basic realm="fleetstream SQL"' } : {}),
      })
      .end(error.body());
  }
}

/**
 * Whether the response can take more (true), or the client hung up or read nothing for `stalledMs`
 * (false). A closed response never drains: waiting for 'drain' alone kept the query's slot taken for good.
 */
function drainedOrClosed(response: ServerResponse, stalledMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (drained: boolean) => () => {
      clearTimeout(timer);
      response.off('drain', onDrain);
      response.off('close', onClose);
      resolve(drained);
    };
    const onDrain = done(true);
    const onClose = done(false);
    const timer = setTimeout(onClose, stalledMs);
    response.on('drain', onDrain);
    response.on('close', onClose);
  });
}

/** A view of the engine's bytes (no copy). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The FORMAT clause as ClickHouse parsed it: the statement's last direct child, an Identifier, when
 * the statement as ClickHouse prints it back (`canonical`) ends with FORMAT and that name. The
 * identifier alone is not enough: `EXISTS TABLE t` ends with `Identifier t` too (a probe got
 * `X-ClickHouse-Format: telemetry_raw`, and a 500 for a table named in another script).
 */
export function formatClauseOf(ast: string, canonical: string): string | undefined {
  const children = ast.split('\n').filter((line) => /^ \S/.test(line));
  const name = /^ Identifier ([A-Za-z0-9_]+)$/.exec(children[children.length - 1] ?? '')?.[1];
  if (name === undefined) return undefined;
  const text = canonical.trim();
  return text.endsWith(` FORMAT ${name}`) || text.endsWith(` FORMAT \`${name}\``) ? name : undefined;
}

function contentTypeOf(format: string): string {
  if (/^JSON/.test(format)) return 'application/json; charset=UTF-8';
  if (/^(TabSeparated|TSV)/.test(format)) return 'text/tab-separated-values; charset=UTF-8';
  if (/^CSV/.test(format)) return 'text/csv; charset=UTF-8';
  if (/^(Parquet|Arrow|ORC|Native|RowBinary|Avro|MsgPack|Protobuf)/.test(format)) return 'application/octet-stream';
  return 'text/plain; charset=UTF-8';
}

const DECODERS: Record<BodyEncoding, () => Transform> = { gzip: createGunzip, deflate: createInflate, br: createBrotliDecompress };
/** How much of a body past MAX_QUERY_BYTES is read and thrown away so that the client gets the error, not a reset connection. */
const MAX_DISCARDED_BYTES = 64 * 1024 * 1024;

/**
 * The request body as text, decoded from its Content-Encoding. A body (decoded) over
 * MAX_QUERY_BYTES is refused once it has been read to its end: a connection closed with unread
 * bytes is reset, and the client saw the reset instead of the error. Past the refusal the rest is
 * read without decoding it (a compression bomb costs no CPU), and past MAX_DISCARDED_BYTES the
 * connection is cut.
 */
function readBody(request: IncomingMessage, encoding: BodyEncoding | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const decoder = encoding ? DECODERS[encoding]() : undefined;
    const source: Readable = decoder ? request.pipe(decoder) : request;
    const tooLarge = () => new ClickHouseError(ErrorCode.SYNTAX_ERROR, `Max query size exceeded: ${MAX_QUERY_BYTES} bytes${encoding ? ' (decoded)' : ''}`);
    const chunks: Buffer[] = [];
    let size = 0;
    let received = 0;
    let refused = false;
    request.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > MAX_DISCARDED_BYTES) {
        reject(tooLarge());
        request.destroy();
      }
    });
    source.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size <= MAX_QUERY_BYTES) {
        chunks.push(chunk);
        return;
      }
      refused = true;
      chunks.length = 0;
      if (decoder) {
        request.unpipe(decoder);
        decoder.destroy();
        request.resume();
      }
      // a small compressed body may have ended before its decoded bytes overflowed
      if (request.readableEnded) reject(tooLarge());
    });
    request.on('end', () => refused && reject(tooLarge()));
    source.on('end', () => (refused ? reject(tooLarge()) : resolve(Buffer.concat(chunks).toString('utf8'))));
    decoder?.on('error', (error) => reject(new ClickHouseError(ErrorCode.CANNOT_DECOMPRESS, `the ${encoding} request body does not decode: ${error.message}`)));
    request.on('error', reject);
    request.on('close', () => request.complete || reject(new ClickHouseError(ErrorCode.SYNTAX_ERROR, 'the client closed the connection before the query was sent')));
  });
}
