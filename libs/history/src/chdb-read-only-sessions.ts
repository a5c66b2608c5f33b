import { mkdirSync } from 'node:fs';
import { ChdbQueryStream, Session, StreamChunk } from 'chdb';

/** The bounds every read-only session runs under, fixed when it connects. */
export interface ReadOnlyLimits {
  maxExecutionTimeS: number;
  maxResultRows: number;
  maxResultBytes: number;
  /** the caps of a result made whole in memory (Parquet, JSON, …): max_memory_usage does not count it */
  maxWholeResultBytes: number;
  maxWholeResultRows: number;
  maxMemoryBytes: number;
  maxThreads: number;
  /** nice value of the query's threads: analysts' queries yield the cores to ingest */
  osThreadPriority: number;
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

  private readonly streamingArgs: string[];
  private readonly wholeArgs: string[];

  constructor(
    private readonly dataPath: string,
    private readonly database: string,
    size: number,
    limits: ReadOnlyLimits,
  ) {
    mkdirSync(dataPath, { recursive: true });
    const common = [
      '--readonly=1',
      `--max_execution_time=${limits.maxExecutionTimeS}`,
      '--result_overflow_mode=throw',
      // the wrapper (materializingSelect) repeats long column names: room for them beyond the 256 KiB a client may send
      '--max_query_size=1048576',
      `--max_memory_usage=${limits.maxMemoryBytes}`,
      `--max_threads=${limits.maxThreads}`,
      `--os_thread_priority=${limits.osThreadPriority}`,
    ];
    this.streamingArgs = [...common, `--max_result_rows=${limits.maxResultRows}`, `--max_result_bytes=${limits.maxResultBytes}`];
    this.wholeArgs = [
      ...common,
      `--max_result_rows=${Math.min(limits.maxResultRows, limits.maxWholeResultRows)}`,
      `--max_result_bytes=${Math.min(limits.maxResultBytes, limits.maxWholeResultBytes)}`,
    ];
    for (let i = 0; i < size; i++) this.open();
  }

  private open(): void {
    const session = new ReadOnlySession(
      new Session(this.dataPath, { connectionArgs: this.streamingArgs }),
      new Session(this.dataPath, { connectionArgs: this.wholeArgs }),
      this.database,
    );
    this.idle.push(session);
    this.all.push(session);
  }

  /** A free session, or undefined when `size` queries already run. Give it back with release(). */
  tryAcquire(): ReadOnlySession | undefined {
    return this.idle.pop();
  }

  /** Gives a session back; one that a failed query left unusable, or that holds a request's parameters, is closed and replaced. */
  release(session: ReadOnlySession): void {
    if (!session.broken && !session.holdsParameters) {
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

/**
 * One query slot: the statement's parse, the engine's databases and its result. A streamed result
 * runs on one connection; a result made whole runs on another whose max_result_bytes is lower, since
 * the whole result is held in memory (twice, briefly: chdb's buffer and its copy), outside
 * max_memory_usage (measured: a 1.5 GB JSON result took the process to 4 GB RSS under a 1 GiB limit).
 */
export class ReadOnlySession {
  private readonly inDatabase = new WeakSet<Session>();
  private stream: ChdbQueryStream | undefined;
  /**
   * A whole (not streamed) query failed: chdb 26.7's session then answers the next query with bytes
   * of the failed one (seen: a failed Parquet export's bytes came back as the next EXPLAIN AST).
   */
  broken = false;
  /** `SET param_…` ran on a connection: its next request must not see this one's values. */
  holdsParameters = false;

  constructor(
    private readonly session: Session,
    private readonly wholeSession: Session,
    private readonly database: string,
  ) {}

  /**
   * ClickHouse's own parse of the statement, one node a line (EXPLAIN AST), with the parameters
   * substituted, and the statement as ClickHouse prints it back on one line (comments gone, every
   * literal and name in one spelling).
   */
  async parse(sql: string, params: Record<string, string | null>): Promise<{ ast: string; canonical: string }> {
    await this.useDatabase(this.session);
    // one statement only, judged as data (formatQuery parses its argument and refuses a second
    // statement with code 62): the EXPLAIN below runs every statement of its text, so `…; USE system`
    // would otherwise have run during the parse
    const canonical = await this.replacedOnFailure(async () =>
      (await this.session.queryBindAsync('SELECT formatQuerySingleLine({statement:String})', { statement: sql }, { format: 'TSVRaw' })).text(),
    );
    return { ast: await this.explainAst(sql, params), canonical };
  }

  /**
   * ClickHouse's parse alone, for a text this server made from a statement `parse` already read (one
   * statement, so its single-statement check need not run again).
   */
  async explainAst(sql: string, params: Record<string, string | null>): Promise<string> {
    await this.useDatabase(this.session);
    return this.replacedOnFailure(async () => (await this.session.queryBindAsync(`EXPLAIN AST ${sql}`, params, { format: 'TSVRaw' })).text());
  }

  /**
   * The names of a SELECT's result columns, in order (DESCRIBE of it as a subquery). Not through
   * the binding: its analysis may run scalar subqueries, for as long as max_execution_time.
   */
  async columnNames(select: string, sentParams: Readonly<Record<string, string>>): Promise<string[]> {
    await this.useDatabase(this.session);
    const described = await this.replacedOnFailure(async () => {
      await this.setParameters(this.session, sentParams);
      return (await this.session.queryAsync(`DESCRIBE (${select})`, { format: 'JSONEachRow' })).text();
    });
    return described.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { name: string }).name);
  }

  /**
   * The request's `param_<name>` values, as the client sent them (ClickHouse's escaped text form),
   * set on the connection: `{name:Type}` then reads them as ClickHouse's HTTP interface does.
   * Instead of chdb's binding, whose calls (queryBindAsync) hold one lock for the whole process while
   * they run: measured, a bound 4 s query on one connection held a bound `SELECT 1` on another for
   * 3.7 s, and a 60 s whole-result export held every history read of the REST API for 60 s.
   */
  private async setParameters(session: Session, sentParams: Readonly<Record<string, string>>): Promise<void> {
    for (const [name, value] of Object.entries(sentParams)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`query parameter name ${JSON.stringify(name)} is not an identifier`);
      this.holdsParameters = true;
      await session.queryAsync(`SET param_${name} = '${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`);
    }
  }

  /** A failed query may leave bytes behind for the connection's next one (see `broken`): the session is then replaced. */
  private async replacedOnFailure<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      this.broken = true;
      throw error;
    }
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
   * `signal` stops a stream between blocks; chdb 26.7 stops no block it is computing (checked: a
   * cancelled count over 10¹⁰ rows ran to max_execution_time), so the slot stays taken until then.
   */
  async *query(
    sql: string,
    params: { bound: Record<string, string | null>; sent: Readonly<Record<string, string>> },
    format: string,
    signal: AbortSignal,
    streamed: boolean,
  ): AsyncGenerator<Pick<StreamChunk, 'numRows' | 'numBytes' | 'raw'>> {
    if (!streamed) {
      await this.useDatabase(this.wholeSession);
      // no signal: chdb cannot stop a query it runs whole, and would answer at once and leave it running,
      // the slot given back while the engine still works (hang-ups would then run queries past the cap);
      // and not bound: see setParameters
      const result = await this.replacedOnFailure(async () => {
        await this.setParameters(this.wholeSession, params.sent);
        return this.wholeSession.queryAsync(sql, { format });
      });
      const bytes = result.bytes();
      yield { numRows: result.rowsRead, numBytes: bytes.length, raw: () => bytes };
      return;
    }
    await this.useDatabase(this.session);
    // a stream holds the binding's lock only while it hands over a block (measured: history reads
    // went on during a 60 s stream), so streams keep chdb's binding
    this.stream = this.session.queryStreamBind(sql, params.bound, { format, signal });
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
    this.wholeSession.close();
  }

  /**
   * Unqualified names mean the fleetstream tables. The database is created by the history writer's
   * migrations, perhaps after this session connected; until then the session stays in `default`.
   */
  private async useDatabase(session: Session): Promise<void> {
    if (this.inDatabase.has(session)) return;
    const exists = (await session.queryBindAsync('SELECT count() FROM system.databases WHERE name = {db:String}', { db: this.database }, { format: 'TSVRaw' })).text().trim();
    if (exists !== '1') return;
    await session.queryAsync(`USE \`${this.database}\``);
    this.inDatabase.add(session);
  }
}
