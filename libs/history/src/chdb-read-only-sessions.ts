import { mkdirSync } from 'node:fs';
import { ChdbQueryStream, Session, StreamChunk } from 'chdb';

/** The bounds every read-only session runs under, fixed when it connects. */
export interface ReadOnlyLimits {
  maxExecutionTimeS: number;
  maxResultRows: number;
  maxResultBytes: number;
  maxMemoryBytes: number;
  maxThreads: number;
}

/**
 * Read-only connections to the process's embedded ClickHouse, for SQL that nobody here wrote.
 *
 * chdb lets several connections share one data directory within the process, each with its own
 * settings, which it takes at connect in `clickhouse local` form. `readonly=1` and the limits are
 * set there, so no query can lower them: under readonly=1 ClickHouse refuses any change of a
 * setting (a SETTINGS clause, SET), and the writer's connection keeps its own, writable, settings.
 * chdb streams one result per connection at a time, so the pool's size is the number of queries
 * that may run at once.
 */
export class ChdbReadOnlySessions {
  private readonly idle: ReadOnlySession[] = [];
  private readonly all: ReadOnlySession[] = [];

  private readonly connectionArgs: string[];

  constructor(
    private readonly dataPath: string,
    private readonly database: string,
    size: number,
    limits: ReadOnlyLimits,
  ) {
    mkdirSync(dataPath, { recursive: true });
    this.connectionArgs = [
      '--readonly=1',
      `--max_execution_time=${limits.maxExecutionTimeS}`,
      `--max_result_rows=${limits.maxResultRows}`,
      `--max_result_bytes=${limits.maxResultBytes}`,
      '--result_overflow_mode=throw',
      `--max_memory_usage=${limits.maxMemoryBytes}`,
      `--max_threads=${limits.maxThreads}`,
    ];
    for (let i = 0; i < size; i++) this.open();
  }

  private open(): void {
    const session = new ReadOnlySession(new Session(this.dataPath, { connectionArgs: this.connectionArgs }), this.database);
    this.idle.push(session);
    this.all.push(session);
  }

  /** A free session, or undefined when `size` queries already run. Give it back with release(). */
  tryAcquire(): ReadOnlySession | undefined {
    return this.idle.pop();
  }

  /** Gives a session back; one that a failed whole query left unusable is closed and replaced. */
  release(session: ReadOnlySession): void {
    if (!session.broken) {
      this.idle.push(session);
      return;
    }
    this.all.splice(this.all.indexOf(session), 1);
    session.close();
    this.open();
  }

  close(): void {
    for (const session of this.all) session.close();
  }
}

/** One read-only connection: the statement's parse, the engine's databases and a streamed result. */
export class ReadOnlySession {
  private inDatabase = false;
  private stream: ChdbQueryStream | undefined;
  /**
   * A whole (not streamed) query failed: chdb 26.7's session then answers the next query with bytes
   * of the failed one (seen: a failed Parquet export's bytes came back as the next EXPLAIN AST).
   */
  broken = false;

  constructor(
    private readonly session: Session,
    private readonly database: string,
  ) {}

  /** ClickHouse's own parse of the statement, one node a line (EXPLAIN AST), with the parameters substituted. */
  async explainAst(sql: string, params: Record<string, string | null>): Promise<string> {
    await this.useDatabase();
    // one statement only, judged as data (formatQuery parses its argument and refuses a second
    // statement with code 62): the EXPLAIN below runs every statement of its text, so `…; USE system`
    // would otherwise have run during the parse
    await this.session.queryBindAsync('SELECT formatQuery({statement:String})', { statement: sql }, { format: 'TSVRaw' });
    return (await this.session.queryBindAsync(`EXPLAIN AST ${sql}`, params, { format: 'TSVRaw' })).text();
  }

  async databases(): Promise<string[]> {
    return (await this.session.queryAsync('SELECT name FROM system.databases', { format: 'TSVRaw' })).text().split('\n').filter(Boolean);
  }

  async timezone(): Promise<string> {
    return (await this.session.queryAsync('SELECT timezone()', { format: 'TSVRaw' })).text().trim();
  }

  /**
   * The result's bytes as the engine formats them, chunk by chunk; a FORMAT clause in the SQL wins
   * over `format`. chdb streams SELECT only: other statements (SHOW, DESCRIBE, …) come whole, and are small.
   */
  async *query(sql: string, params: Record<string, string | null>, format: string, signal: AbortSignal, streamed: boolean): AsyncGenerator<Pick<StreamChunk, 'numRows' | 'numBytes' | 'raw'>> {
    await this.useDatabase();
    if (!streamed) {
      const result = await this.session.queryBindAsync(sql, params, { format, signal }).catch((error: unknown) => {
        this.broken = true;
        throw error;
      });
      const bytes = result.bytes();
      yield { numRows: result.rowsRead, numBytes: bytes.length, raw: () => bytes };
      return;
    }
    this.stream = this.session.queryStreamBind(sql, params, { format, signal });
    try {
      yield* this.stream;
    } finally {
      // an unfinished or failed stream stays active and would refuse the session's next one
      this.stream.cancel();
      this.stream = undefined;
    }
  }

  close(): void {
    this.stream?.cancel();
    this.session.close();
  }

  /**
   * Unqualified names mean the fleetstream tables. The database is created by the history writer's
   * migrations, perhaps after this session connected; until then the session stays in `default`.
   */
  private async useDatabase(): Promise<void> {
    if (this.inDatabase) return;
    const exists = (await this.session.queryBindAsync('SELECT count() FROM system.databases WHERE name = {db:String}', { db: this.database }, { format: 'TSVRaw' })).text().trim();
    if (exists !== '1') return;
    await this.session.queryAsync(`USE \`${this.database}\``);
    this.inDatabase = true;
  }
}
