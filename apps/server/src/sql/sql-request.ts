import { ClickHouseError, ErrorCode } from './clickhouse-error';
import { MIN_REVISION_WITH_CUSTOM_SERIALIZATION } from './native-revision';

/** One query as ClickHouse's HTTP interface receives it, read from the URL and the body. */
export interface SqlRequest {
  sql: string;
  /** `param_<name>` values for `{name:Type}` placeholders, unescaped (null for `\N`); the engine parses them as their declared type. */
  params: Record<string, string | null>;
  /** The same values as the client sent them (ClickHouse's escaped text form), for `SET param_<name>`. */
  urlParams: Record<string, string>;
  /** The output format unless the query has a FORMAT clause. */
  defaultFormat: string;
  queryId: string | undefined;
  /** The protocol revision the client reads Native blocks in (`client_protocol_version`): 0, or at least MIN_REVISION_WITH_CUSTOM_SERIALIZATION. */
  nativeRevision: number;
}

/**
 * URL parameters that are not settings, or settings that change only the transport, which this
 * interface serves its own way (no compression, no progress headers, always streamed). Any other
 * parameter is a setting, which a readonly=1 user may not change, as ClickHouse says.
 */
const TRANSPORT_PARAMETERS = new Set([
  'query', 'database', 'default_format', 'query_id', 'user', 'password', 'quota_key', 'session_id', 'session_timeout', 'session_check',
  'compress', 'decompress', 'buffer_size', 'wait_end_of_query', 'enable_http_compression', 'http_zlib_compression_level',
  'send_progress_in_http_headers', 'http_headers_progress_interval_ms', 'http_wait_end_of_query', 'readonly',
]);

/**
 * The query (the `query` parameter, then the body after a newline, as ClickHouse joins them) and its
 * parameters. The database and the format may come as headers too (`X-ClickHouse-Database`,
 * `X-ClickHouse-Format`, which win over the URL as in ClickHouse): the JDBC driver sends them so.
 */
export function parseSqlRequest(url: URL, body: string, ownDatabase: string, headers: Record<string, string | string[] | undefined> = {}): SqlRequest {
  const fromUrl = url.searchParams.get('query') ?? '';
  const sql = fromUrl.length > 0 && body.length > 0 ? `${fromUrl}\n${body}` : fromUrl + body;
  const params: Record<string, string | null> = {};
  const urlParams: Record<string, string> = {};
  let types: Map<string, string> | undefined;
  for (const [name, value] of url.searchParams) {
    if (name.startsWith('param_')) {
      const param = name.slice('param_'.length);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(param)) throw new ClickHouseError(ErrorCode.BAD_QUERY_PARAMETER, `Query parameter name ${JSON.stringify(param)} is not an identifier`);
      params[param] = value === '\\N' ? null : bindable(value, (types ??= placeholderTypes(sql)).get(param));
      urlParams[param] = value;
      continue;
    }
    if (name === 'client_protocol_version') continue; // judged by nativeRevisionOf
    if (name === 'readonly' && value !== '1') throw new ClickHouseError(ErrorCode.READONLY, "Cannot modify 'readonly' setting in readonly mode");
    if (!TRANSPORT_PARAMETERS.has(name)) {
      throw new ClickHouseError(ErrorCode.READONLY, `Cannot modify '${name}' setting in readonly mode: the server fixes every setting of this interface`);
    }
  }
  const database = first(headers['x-clickhouse-database']) ?? url.searchParams.get('database');
  // clients send `default` when no database is configured; the fleetstream one stands in for it
  if (database !== null && database !== '' && database !== 'default' && database !== ownDatabase) {
    throw new ClickHouseError(ErrorCode.DATABASE_ACCESS_DENIED, `database ${database} is not visible here: only ${ownDatabase} is (name its tables, or leave the database unset)`);
  }
  const defaultFormat = first(headers['x-clickhouse-format']) || url.searchParams.get('default_format') || 'TabSeparated';
  if (!/^[A-Za-z0-9_]+$/.test(defaultFormat)) throw new ClickHouseError(73, `Unknown format ${defaultFormat}`);
  return { sql, params, urlParams, defaultFormat, queryId: url.searchParams.get('query_id') || undefined, nativeRevision: nativeRevisionOf(url) };
}

/**
 * `client_protocol_version`, which changes only how Native blocks are laid out. The engine writes
 * them for revision 0, and the interface rewrites them for 54454 and later (nativeForRevision), the
 * layout clickhouse-go reads (Grafana's driver, which always sends 54460). The revisions between,
 * which clickhouse-connect tries first, are refused: it then goes on at 0.
 */
function nativeRevisionOf(url: URL): number {
  const value = url.searchParams.get('client_protocol_version');
  if (value === null || value === '0') return 0;
  const revision = Number(value);
  if (!Number.isSafeInteger(revision) || revision < MIN_REVISION_WITH_CUSTOM_SERIALIZATION) {
    throw new ClickHouseError(ErrorCode.READONLY, `client_protocol_version ${value} is not served: this interface writes Native blocks for revision 0 or ${MIN_REVISION_WITH_CUSTOM_SERIALIZATION} and later`);
  }
  return revision;
}

/**
 * The type of each `{name:Type}` placeholder in `sql` (the first, for a name used twice), found in one
 * pass: once per request, not once per parameter (800 parameters over a 250 KB query stopped the
 * event loop for 4.6 s), and with a pattern that cannot backtrack (one did, for seconds).
 */
export function placeholderTypes(sql: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const [, name, type] of sql.matchAll(/\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:([^{}]*)\}/g)) {
    const trimmed = type!.trim();
    if (trimmed && !types.has(name!)) types.set(name!, trimmed);
  }
  return types;
}

/**
 * The value to hand the engine binding so that the engine reads what ClickHouse's HTTP interface
 * would read from the URL. The binding TSV-escapes strings (\\, tab, newline, …) before the engine
 * parses them as their type, so those escapes are undone first. A string type's text form is
 * TSV-escaped as a whole; in other types (Array(String), Tuple, Map) strings sit inside quotes,
 * where ClickHouse reads \\' as a quote: that becomes '' (the same quote, which the binding keeps).
 */
export function bindable(value: string, type: string | undefined): string {
  let bare = type ?? 'String';
  // LowCardinality(Nullable(T)) is the deepest a real type nests them: a bounded unwrap, not one per level of a crafted type
  for (let depth = 0; depth < 2; depth++) bare = /^(?:Nullable|LowCardinality)\((.*)\)$/.exec(bare)?.[1] ?? bare;
  if (/^(String|FixedString\(\d+\))$/.test(bare)) return unescapeTsv(value);
  return value.replace(/\\([\s\S])/g, (_match, char: string) => (char === "'" ? "''" : (TSV_ESCAPES[char] ?? `\\${char}`)));
}

const TSV_ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', '0': '\0', '\\': '\\' };

/**
 * A parameter value as ClickHouse reads it from the URL: TSV-escaped, where `\t` is a tab and a
 * backslash before any other character stands for that character. The engine binding (chdb)
 * escapes values again before the engine parses them, so the value arrives as the client meant it.
 */
export function unescapeTsv(value: string): string {
  return value.replace(/\\([\s\S])/g, (_match, char: string) => TSV_ESCAPES[char] ?? char);
}

/** Request encodings decoded here, as ClickHouse decodes them (`@clickhouse/client` sends gzip with `compression: { request: true }`). */
export type BodyEncoding = 'gzip' | 'deflate' | 'br';
const DECODED_ENCODINGS = new Set<string>(['gzip', 'deflate', 'br']);

/**
 * The Content-Encoding of the request body when it is one decoded here. Other encodings (lz4, zstd,
 * ClickHouse's own `decompress=1` blocks) are refused rather than judged as SQL: clients use them
 * for the rows of an INSERT (clickhouse-connect sends those lz4), which a readonly=1 ClickHouse
 * refuses with READONLY too. The code says that, the message why.
 */
export function bodyEncodingOf(headers: Record<string, string | string[] | undefined>, url: URL): BodyEncoding | undefined {
  const encoding = first(headers['content-encoding'])?.trim().toLowerCase();
  if (url.searchParams.get('decompress') === '1') {
    throw new ClickHouseError(ErrorCode.READONLY, 'a compressed request body (decompress=1) is refused: clients compress the rows of an INSERT so, and this interface is read-only; send the query uncompressed or with Content-Encoding gzip');
  }
  if (!encoding || encoding === 'identity') return undefined;
  if (DECODED_ENCODINGS.has(encoding)) return encoding as BodyEncoding;
  throw new ClickHouseError(
    ErrorCode.READONLY,
    `a request body with Content-Encoding: ${encoding} is refused: queries are decoded from gzip, deflate or br; clients use other encodings for the rows of an INSERT, and this interface is read-only`,
  );
}

/**
 * Refuses `compress=1`, ClickHouse's own compressed response (LZ4 blocks under a CityHash128
 * checksum), which this interface cannot make: ignoring it left the JDBC driver, which asks for it by
 * default, failing on "Invalid LZ4 magic byte". The message says how to turn it off.
 */
export function checkUncompressedResponse(url: URL): void {
  if (url.searchParams.get('compress') === '1') {
    throw new ClickHouseError(
      ErrorCode.NOT_IMPLEMENTED,
      "compress=1 (ClickHouse's compressed response) is not served here: turn the client's compression off (JDBC and DBeaver: the driver property compress=false)",
    );
  }
}

/** A credential as ClickHouse clients send it: X-ClickHouse-Key, the password of HTTP basic auth, a bearer token, or `password` in the URL. */
export function credentialOf(headers: Record<string, string | string[] | undefined>, url: URL): string | undefined {
  const key = first(headers['x-clickhouse-key']);
  if (key) return key;
  const authorization = first(headers.authorization) ?? '';
  const basic = /^Basic\s+(\S+)$/i.exec(authorization);
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    // the user name is anything (clients send `default` when none is set): the password is the API key
    return colon >= 0 && colon < decoded.length - 1 ? decoded.slice(colon + 1) : undefined;
  }
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization);
  if (bearer) return bearer[1];
  return url.searchParams.get('password') || undefined;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
