import { ClickHouseError, ErrorCode } from './clickhouse-error';

/**
 * What an analyst's SQL may do, judged twice before the engine runs it (which is read-only itself,
 * readonly=1 fixed on its connection): here on the text, then on ClickHouse's own parse of it
 * (EXPLAIN AST, see checkAst). Neither judgement alone is trusted: the text check is a guess at
 * ClickHouse's grammar and the parse knows nothing of what a name reaches.
 */

interface Token {
  kind: 'word' | 'quoted' | 'string' | 'symbol';
  text: string;
}

/**
 * ClickHouse's lexer, as far as these checks need it: words, quoted identifiers, string literals
 * (heredocs too) and single symbols; comments and whitespace dropped. Where its grammar is unsure
 * the lexer errs towards seeing code: block comments do not nest and a `#` comments to the end of
 * the line. This is the first of the two judgements only: a probe got a heredoc, a `\x66` escape and
 * U+0085 past an earlier version, which is why checkAst judges the parse's own names again.
 */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  // tags seen without a closing twin after them: none comes later either, so each is looked for once
  const unclosed = new Set<string>();
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (isWhitespace(c)) i++;
    else if (sql.startsWith('--', i) || c === '#') i = lineEnd(sql, i);
    else if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (c === '$' && HEREDOC_OPEN.test(sql.slice(i))) {
      // a heredoc, $$…$$ or $tag$…$tag$ (a tag of any length): a string literal whose quotes inside are plain text
      const open = HEREDOC_OPEN.exec(sql.slice(i))![0];
      const close = unclosed.has(open) ? -1 : sql.indexOf(open, i + open.length);
      if (close < 0) {
        // no closing twin: ClickHouse reads `$a$` as a word, not a heredoc that hides the rest (a probe hid INTO OUTFILE so)
        unclosed.add(open);
        // each distinct one is a search to the end of the text, here and in ClickHouse's lexer: 30,000 of them
        // took 3.6 s here and 14 s in the engine's parse, which holds chdb's lock that REST history reads wait for
        if (unclosed.size > MAX_UNCLOSED_HEREDOC_TAGS) {
          throw new ClickHouseError(ErrorCode.SYNTAX_ERROR, `more than ${MAX_UNCLOSED_HEREDOC_TAGS} different $tag$ words without a closing $tag$: write them as identifiers or strings`);
        }
        tokens.push({ kind: 'word', text: open });
        i += open.length;
        continue;
      }
      tokens.push({ kind: 'string', text: sql.slice(i + open.length, close) });
      i = close + open.length;
    } else if (c === "'" || c === '`' || c === '"') {
      const end = quotedEnd(sql, i);
      tokens.push({ kind: c === "'" ? 'string' : 'quoted', text: unquote(sql.slice(i + 1, end - 1), c) });
      i = end;
    } else if (/[A-Za-z_$]/.test(c)) {
      const match = /^[A-Za-z0-9_$]+/.exec(sql.slice(i))!;
      tokens.push({ kind: 'word', text: match[0] });
      i += match[0].length;
    } else {
      tokens.push({ kind: 'symbol', text: c });
      i++;
    }
  }
  return tokens;
}

const HEREDOC_OPEN = /^\$[A-Za-z0-9_]*\$/;
const MAX_UNCLOSED_HEREDOC_TAGS = 64;

/** JavaScript's whitespace and the characters ClickHouse's lexer also skips (NEL, zero-width space). */
function isWhitespace(c: string): boolean {
  return /\s/.test(c) || c === '\u0085' || c === '\u200b';
}

function lineEnd(sql: string, from: number): number {
  const end = sql.indexOf('\n', from);
  return end < 0 ? sql.length : end + 1;
}

/** The index after the closing quote; a backslash escapes and a doubled quote stands for one. */
function quotedEnd(sql: string, start: number): number {
  const quote = sql[start];
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === '\\') i += 2;
    else if (sql[i] === quote && sql[i + 1] === quote) i += 2;
    else if (sql[i] === quote) return i + 1;
    else i++;
  }
  return sql.length; // unterminated: the parser refuses it, nothing after it is hidden from the checks
}

/** The name or text as ClickHouse reads it: `\xHH` is that byte, another escaped character itself, a doubled quote one. */
function unquote(body: string, quote: string): string {
  return body
    .replace(/\\(?:x([0-9A-Fa-f]{2})|([\s\S]))/g, (_match, hex: string | undefined, char: string) => (hex ? String.fromCharCode(parseInt(hex, 16)) : char))
    .split(quote + quote)
    .join(quote);
}

/** Statements that read: what a readonly=1 ClickHouse user may run, minus SET and USE, which change the session. */
const READING_STATEMENTS = new Set(['SELECT', 'WITH', 'SHOW', 'DESCRIBE', 'DESC', 'EXPLAIN', 'EXISTS']);

/**
 * Functions, table or scalar, that reach outside the fleetstream tables: files, URLs, object
 * stores, other servers, processes, dictionaries and Join tables (which may sit on other
 * databases). Matched without regard to case wherever a name is called, whatever it is called on.
 */
const DENIED_FUNCTIONS = new Set(
  [
    'file', 'fileCluster', 'url', 'urlCluster', 's3', 's3Cluster', 'gcs', 'oss', 'cosn', 'hdfs', 'hdfsCluster',
    'azureBlobStorage', 'azureBlobStorageCluster', 'remote', 'remoteSecure', 'cluster', 'clusterAllReplicas',
    'mysql', 'postgresql', 'sqlite', 'mongodb', 'redis', 'jdbc', 'odbc', 'executable', 'executablePool', 'input',
    'merge', 'dictionary', 'loop', 'ytsaurus', 'arrowFlight', 'arrowflight', 'prometheusQuery', 'prometheusQueryRange',
    'mergeTreeIndex', 'mergeTreeProjection', 'mergeTreeAnalyzeIndexes', 'fuzzJSON', 'fuzzQuery',
    'joinGet', 'joinGetOrNull', 'hasColumnInTable', 'getServerSetting', 'getMacro', 'catboostEvaluate', 'modelEvaluate',
    // introspection (chDB turns allow_introspection_functions on): the process's memory layout
    'addressToLine', 'addressToLineWithInlines', 'addressToSymbol', 'demangle',
  ].map((name) => name.toLowerCase()),
);
/** Families of the above, by prefix: data lakes and object stores (iceberg, icebergS3, deltaLakeAzure, …) and dictionaries. */
const DENIED_PREFIXES = ['iceberg', 'deltalake', 'hudi', 'paimon', 'datalake', 'azure', 's3', 'hdfs', 'dictget', 'dicthas', 'dictisin'];
/** Scalar functions inside a denied family that only compute on their arguments (Iceberg's partition transforms). */
const PURE_DESPITE_PREFIX = new Set(['icebergHash', 'icebergBucket', 'icebergTruncate'].map((name) => name.toLowerCase()));

function deniedFunction(name: string): boolean {
  const lower = name.toLowerCase();
  if (PURE_DESPITE_PREFIX.has(lower)) return false;
  return DENIED_FUNCTIONS.has(lower) || DENIED_PREFIXES.some((prefix) => lower.startsWith(prefix));
}

/** Refuses, before the engine sees it, SQL that is not one reading statement or calls a denied function. */
export function checkStatement(sql: string): void {
  const tokens = tokenize(sql);
  if (tokens.length === 0) throw new ClickHouseError(ErrorCode.SYNTAX_ERROR, 'Empty query');
  const semicolon = tokens.findIndex((token) => token.kind === 'symbol' && token.text === ';');
  if (semicolon >= 0 && tokens.slice(semicolon + 1).some((token) => !(token.kind === 'symbol' && token.text === ';'))) {
    throw new ClickHouseError(ErrorCode.SYNTAX_ERROR, 'Multi-statements are not allowed: send one statement per request');
  }
  const first = tokens.find((token) => !(token.kind === 'symbol' && token.text === '('));
  const keyword = first?.kind === 'word' ? first.text.toUpperCase() : (first?.text ?? '');
  if (!READING_STATEMENTS.has(keyword)) {
    throw new ClickHouseError(
      ErrorCode.READONLY,
      `${keyword} is refused: this interface is read-only and runs SELECT, SHOW, DESCRIBE, EXPLAIN and EXISTS only (settings are fixed by the server)`,
    );
  }
  tokens.forEach((token, index) => {
    const next = tokens[index + 1];
    if ((token.kind === 'word' || token.kind === 'quoted') && next?.text === '(' && next.kind === 'symbol' && deniedFunction(token.text)) {
      throw new ClickHouseError(
        ErrorCode.ACCESS_DENIED,
        `${token.text}() is refused: functions that reach files, URLs, other servers, processes or other tables than the fleetstream database are not allowed here`,
      );
    }
    // after INTO only: a column may be called outfile (the parse judges a real INTO OUTFILE again)
    if (token.kind === 'word' && token.text.toUpperCase() === 'OUTFILE' && tokens[index - 1]?.kind === 'word' && tokens[index - 1]!.text.toUpperCase() === 'INTO') {
      throw new ClickHouseError(ErrorCode.READONLY, 'INTO OUTFILE is refused: this interface writes no files (the result is the response)');
    }
  });
}

/**
 * What the fleetstream database exposes besides its own tables: the parts of `system` that describe
 * the schema and the engine, and the engine's counters and merges that monitoring dashboards read.
 * Not shown: what quotes other sessions' queries (processes, query_log, errors' last messages),
 * users and grants, and what may hold credentials (dictionaries' sources, named_collections).
 */
export const VISIBLE_SYSTEM_TABLES = new Set([
  'one', 'numbers', 'numbers_mt', 'zeros', 'zeros_mt', 'databases', 'tables', 'columns', 'functions', 'table_functions',
  'table_engines', 'data_type_families', 'formats', 'settings', 'time_zones', 'collations', 'aggregate_function_combinators',
  'keywords', 'build_options', 'contributors', 'licenses', 'parts', 'parts_columns', 'data_skipping_indices', 'projections',
  'metrics', 'events', 'merges', 'mutations', 'clusters',
]);
const SCHEMA_DATABASES = new Set(['information_schema', 'INFORMATION_SCHEMA']);
/**
 * Table functions that make rows from their arguments alone (or from a subquery, which is judged on
 * its own), matched without regard to case as ClickHouse resolves some of them (the JDBC driver's
 * getTypeInfo reads `VALUES(…)`). None may take a structure string: ClickHouse parses one as column
 * definitions, whose ALIAS and DEFAULT expressions run, and the parse shows it as a mere literal. A
 * probe read /proc/self/environ with `values('a String, b String ALIAS file(a)', '/proc/self/environ')`:
 * `generateRandom` and `null` are refused, and `values` takes rows only (see checkAst).
 */
const TABLE_FUNCTIONS = new Set(['numbers', 'numbers_mt', 'zeros', 'zeros_mt', 'generate_series', 'generateSeries', 'values', 'view']);
const TABLE_FUNCTIONS_LOWER = new Set([...TABLE_FUNCTIONS].map((name) => name.toLowerCase()));
/** The statement kinds ClickHouse's parser names (the first line of EXPLAIN AST) that only read. */
const READING_ROOTS = new Set([
  'SelectWithUnionQuery', 'SelectIntersectExceptQuery', 'SelectQuery', 'ShowTables', 'ShowColumns', 'ShowFunctions', 'ShowEngineQuery',
  'DescribeQuery', 'Explain', 'ExistsTableQuery', 'ExistsDatabaseQuery', 'ExistsViewQuery', 'ExistsDictionaryQuery',
  'ShowCreateTableQuery', 'ShowCreateViewQuery', 'ShowCreateDatabaseQuery', 'ShowCreateDictionaryQuery',
]);

/**
 * Judges ClickHouse's own parse (EXPLAIN AST, one node a line, indented by depth): the statement
 * kind, every table function, and every qualified name that could name a table in another
 * database (`FROM db.t`, `x IN db.t`). `databases` are those the engine has. A column qualified by
 * an alias that happens to be a database name is refused too; renaming the alias is the way out.
 */
export function checkAst(ast: string, ownDatabase: string, databases: readonly string[]): void {
  const lines = ast.split('\n').filter((line) => line.trim().length > 0);
  const root = /^(\S+)/.exec(lines[0] ?? '')?.[1] ?? '';
  if (!READING_ROOTS.has(root)) {
    throw new ClickHouseError(
      ErrorCode.READONLY,
      `${root || 'this statement'} is refused: this interface is read-only and shows the fleetstream tables only (no users, grants, processes or settings of the session)`,
    );
  }
  const known = new Set(databases);
  lines.forEach((line, index) => {
    const depth = indentOf(line);
    const node = /^\s*(\S+)(?:\s+(\S+))?/.exec(line);
    if (!node) return;
    const [, kind, name = ''] = node as unknown as [string, string, string | undefined];
    // the parse names what the text may hide (a heredoc, `\x66ile`, an odd whitespace): judged here again, anywhere in the tree
    if (kind === 'Function' && deniedFunction(name)) {
      throw new ClickHouseError(ErrorCode.ACCESS_DENIED, `${name}() is refused: functions that reach files, URLs, other servers, processes or other tables than the fleetstream database are not allowed here`);
    }
    // a SETTINGS clause at any depth: chDB 26.7 lets one in a subquery lower readonly (ClickHouse issue
    // 116028); right under EXPLAIN it is the EXPLAIN's own options (indexes=1, graph=1)
    if (kind === 'Set' && !(depth === 1 && root === 'Explain')) throw new ClickHouseError(ErrorCode.READONLY, 'a SETTINGS clause is refused: settings are fixed by the server');
    // a literal right under the statement, whatever its kind (SELECT, DESCRIBE, SHOW, EXISTS…), is its
    // INTO OUTFILE file, which readonly=1 does not stop in chDB
    if (kind === 'Literal' && depth === 1) throw new ClickHouseError(ErrorCode.READONLY, 'INTO OUTFILE is refused: this interface writes no files (the result is the response)');
    // APPLY(f) calls f on every column, and the parse does not name f (APPLY(file) read files)
    if (kind === 'ColumnsApplyTransformer') throw new ClickHouseError(ErrorCode.ACCESS_DENIED, 'APPLY is refused here: the parse does not show which function it calls');
    if (kind === 'Function' && /^\s*TableExpression\b/.test(lines[index - 1] ?? '') && depth > indentOf(lines[index - 1]!) && !TABLE_FUNCTIONS_LOWER.has(name.toLowerCase())) {
      throw new ClickHouseError(ErrorCode.ACCESS_DENIED, `table function ${name}() is refused: only ${[...TABLE_FUNCTIONS].join(', ')} make rows here`);
    }
    // values('<structure>', rows…): ClickHouse takes a first argument that is (or folds to) a string for
    // column definitions, code included; only rows are let through: tuples and numbers
    if (kind === 'Function' && name.toLowerCase() === 'values' && !/^\s*(Literal (Tuple_|U?Int\d+_|Float64_|NULL)|Function tuple\b)/.test(lines[index + 2] ?? '')) {
      throw new ClickHouseError(ErrorCode.ACCESS_DENIED, 'table function values() with a structure string is refused: its column definitions may run code; give the rows alone, as tuples (columns c1, c2, …)');
    }
    if (kind !== 'TableIdentifier' && kind !== 'Identifier') return;
    // SHOW … FROM db, SHOW CREATE db.t and EXISTS db.t name the database on a line of its own
    if (kind === 'Identifier' && depth === 1 && /^(Show|Exists)/.test(root) && known.has(name) && name !== ownDatabase && name !== 'system' && !SCHEMA_DATABASES.has(name)) {
      throw new ClickHouseError(ErrorCode.DATABASE_ACCESS_DENIED, `database ${name} is not visible here: only ${ownDatabase}, information_schema and system are`);
    }
    const dot = name.indexOf('.');
    if (dot < 0) return;
    const database = name.slice(0, dot);
    // a column may name its database and table too (`system.tables.database`, as the JDBC driver's getTables writes it)
    const table = kind === 'Identifier' ? name.split('.')[1]! : name.slice(dot + 1);
    if (database === ownDatabase || SCHEMA_DATABASES.has(database)) return;
    if (database === 'system' && VISIBLE_SYSTEM_TABLES.has(table)) return;
    if (database === 'system' || known.has(database) || kind === 'TableIdentifier') {
      throw new ClickHouseError(
        ErrorCode.DATABASE_ACCESS_DENIED,
        `${name} is not visible here: only the ${ownDatabase} database, information_schema and system.{${[...VISIBLE_SYSTEM_TABLES].join(',')}} are`,
      );
    }
  });
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

/**
 * The database a SHOW COLUMNS or SHOW INDEXES names, from the statement as ClickHouse prints it
 * (`SHOW COLUMNS FROM t FROM db`; `db.t` is printed so too): the parse keeps it out of EXPLAIN AST.
 */
export function shownColumnsDatabase(canonical: string): string | undefined {
  const identifier = '(`(?:[^`\\\\]|\\\\.)*`|[^\\s`]+)';
  const match = new RegExp(`^SHOW (?:FULL |EXTENDED )*(?:COLUMNS|INDEXES|KEYS) FROM ${identifier} FROM ${identifier}`).exec(canonical.trim());
  const quoted = match?.[2];
  if (quoted === undefined) return undefined;
  return quoted.startsWith('`') ? quoted.slice(1, -1).replace(/\\(.)/g, '$1') : quoted;
}

/** Refuses SHOW COLUMNS of another database (see shownColumnsDatabase). */
export function checkShownColumns(canonical: string, ownDatabase: string): void {
  const database = shownColumnsDatabase(canonical);
  if (database === undefined || database === ownDatabase || database === 'system' || SCHEMA_DATABASES.has(database)) return;
  throw new ClickHouseError(ErrorCode.DATABASE_ACCESS_DENIED, `database ${database} is not visible here: only ${ownDatabase}, information_schema and system are`);
}

/** The statement kinds whose result is rows of a SELECT (and so may be wrapped by materializingSelect). */
export function isSelectRoot(ast: string): boolean {
  return /^Select/.test(ast);
}

/**
 * The SELECT of `canonical` (the statement as formatQuerySingleLine prints it) without its FORMAT
 * clause, so that it can stand as a subquery. ClickHouse prints the clause last, as `FORMAT <name>`.
 */
export function withoutFormatClause(canonical: string, format: string | undefined): string {
  const text = canonical.trim();
  if (format === undefined) return text;
  // a format named like a keyword (Null) is printed quoted
  const clause = [` FORMAT ${format}`, ` FORMAT ${quotedIdentifier(format)}`].find((spelling) => text.endsWith(spelling));
  if (!clause) throw new ClickHouseError(ErrorCode.SYNTAX_ERROR, `cannot place the FORMAT clause of this statement (${format}): send the format as default_format instead`);
  return text.slice(0, -clause.length);
}

/** Most bytes of result column names, all columns together. */
export const MAX_COLUMN_NAME_BYTES = 1024;

/**
 * Refuses a result whose column names are long: row formats (JSON, JSONEachRow, XML, Vertical, …)
 * repeat them on every row, outside every engine limit, so a 10 KB name over 100,000 one-byte
 * rows would be a gigabyte of JSON.
 */
export function checkColumnNames(columns: readonly string[]): void {
  const bytes = columns.reduce((sum, name) => sum + Buffer.byteLength(name), 0);
  if (bytes > MAX_COLUMN_NAME_BYTES) {
    throw new ClickHouseError(ErrorCode.BAD_ARGUMENTS, `the result's column names take ${bytes} bytes, more than ${MAX_COLUMN_NAME_BYTES}: give long expressions a short alias (AS x)`);
  }
}

/**
 * `select` with every column of its result materialized. max_result_bytes counts a constant column
 * as one value however many rows it stands for: `SELECT repeat('x', 1000) FROM numbers(100000)
 * FORMAT JSON` passed a 4 MiB cap with 100 MB, and a result made whole grows outside
 * max_memory_usage (a 1.5 GB JSON result under a 1 GiB limit took the process to 4 GB). Materialized,
 * the cap sees the real size. Names, order and totals stay the result's own.
 */
export function materializingSelect(select: string, columns: readonly string[], format: string | undefined): string {
  const projection = columns.map((name) => `materialize(${quotedIdentifier(name)}) AS ${quotedIdentifier(name)}`).join(', ');
  return `SELECT ${projection} FROM (${select})${format === undefined ? '' : ` FORMAT ${quotedIdentifier(format)}`}`;
}

function quotedIdentifier(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}
