import { thrownCode } from '../../../../test/support/thrown';
import { bindable, bodyEncodingOf, checkUncompressedResponse, credentialOf, parseSqlRequest, placeholderTypes, unescapeTsv } from './sql-request';

const url = (query: string) => new URL(`http://localhost/?${query}`);
const codeOf = thrownCode;

describe('SQL request', () => {
  it('joins the query parameter and the body with a newline, parameter first, as ClickHouse does', () => {
    expect(parseSqlRequest(url('query=SELECT%201'), '', 'fleetstream').sql).toBe('SELECT 1');
    expect(parseSqlRequest(url(''), 'SELECT 2', 'fleetstream').sql).toBe('SELECT 2');
    expect(parseSqlRequest(url('query=SELECT'), '3', 'fleetstream').sql).toBe('SELECT\n3');
  });

  it('takes param_<name> values TSV-escaped, \\N as NULL, and the format, query id and database', () => {
    const request = parseSqlRequest(url("param_s=a%5Ctb%5C%5Cc%5C'&param_n=%5CN&param_x=1&default_format=JSONEachRow&query_id=q1&database=default"), 'SELECT 1', 'fleetstream');
    expect(request.params).toEqual({ s: "a\tb\\c'", n: null, x: '1' });
    expect(request).toMatchObject({ defaultFormat: 'JSONEachRow', queryId: 'q1' });
    expect(parseSqlRequest(url(''), 'SELECT 1', 'fleetstream').defaultFormat).toBe('TabSeparated');
  });

  it('hands the binding what makes the engine read the value as ClickHouse would: strings unescaped, quotes in arrays doubled', () => {
    expect(bindable("a\\tb\\'", 'LowCardinality(Nullable(String))')).toBe("a\tb'");
    expect(bindable("['p\\'q','r\\\\s']", 'Array(String)')).toBe("['p''q','r\\s']");
    expect(placeholderTypes('SELECT {a:Array(String)}, { n : UInt8 }, {n:String}')).toEqual(new Map([['a', 'Array(String)'], ['n', 'UInt8']]));
    expect(placeholderTypes('SELECT {b:UInt8} /* {a').get('a')).toBeUndefined();
  });

  it('finds the placeholders in linear time, whatever the query holds, once per request however many parameters come (each stopped the event loop for seconds)', () => {
    const started = performance.now();
    expect(placeholderTypes(`SELECT 1 /* {p:${' '.repeat(200_000)} */`).get('p')).toBeUndefined();
    expect(placeholderTypes(`SELECT 1 /* ${'{p:'.repeat(60_000)} */`).get('p')).toBeUndefined();
    expect(placeholderTypes(`SELECT ${'{ '.repeat(100_000)}{p:UInt8}`).get('p')).toBe('UInt8');
    // the probe's request: 800 parameters over 250,000 braces took 4.6 s when each parameter scanned the query
    const many = new URLSearchParams(Array.from({ length: 800 }, (): [string, string] => ['param_a', '1']));
    const parsing = performance.now();
    expect(parseSqlRequest(new URL(`http://localhost/?${many}`), `SELECT 1 /*${'{'.repeat(250_000)}*/`, 'fleetstream').params.a).toBe('1');
    // once: about 2 ms; once per parameter: 0.9 s with this pattern, 4.9 s with the one before
    expect(performance.now() - parsing).toBeLessThan(200);
    expect(bindable('x', `${'Nullable('.repeat(20_000)}String${')'.repeat(20_000)}`)).toBe('x');
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('unescapes what ClickHouse unescapes, a backslash before any other character standing for it', () => {
    expect(unescapeTsv('\\n\\r\\t\\0\\\\\\x')).toBe('\n\r\t\0\\x');
  });

  it('refuses every setting in the URL, readonly below 1 included (READONLY), but transport ones', () => {
    for (const query of ['readonly=0', 'readonly=2', 'max_execution_time=0', 'max_result_rows=0', 'allow_ddl=1', 'max_memory_usage=0']) {
      expect([query, codeOf(() => parseSqlRequest(url(query), 'SELECT 1', 'fleetstream'))]).toEqual([query, 164]);
    }
    expect(codeOf(() => parseSqlRequest(url('readonly=1&enable_http_compression=1&wait_end_of_query=1&session_id=x'), 'SELECT 1', 'fleetstream'))).toBeUndefined();
  });

  it('takes the database and the format from X-ClickHouse-Database and X-ClickHouse-Format, over the URL, as the JDBC driver sends them', () => {
    const headers = { 'x-clickhouse-format': 'RowBinaryWithNamesAndTypes', 'x-clickhouse-database': 'fleetstream' };
    expect(parseSqlRequest(url('default_format=CSV'), 'SELECT 1', 'fleetstream', headers).defaultFormat).toBe('RowBinaryWithNamesAndTypes');
    expect(codeOf(() => parseSqlRequest(url('database=fleetstream'), 'SELECT 1', 'fleetstream', { 'x-clickhouse-database': 'system' }))).toBe(291);
    expect(codeOf(() => parseSqlRequest(url(''), 'SELECT 1', 'fleetstream', { 'x-clickhouse-format': 'JSON SETTINGS readonly=0' }))).toBe(73);
  });

  it('takes client_protocol_version 0 or >= 54454 (Native blocks rewritten for it) and refuses the revisions between', () => {
    expect(parseSqlRequest(url('client_protocol_version=54460'), 'SELECT 1', 'fleetstream').nativeRevision).toBe(54460);
    expect(parseSqlRequest(url('client_protocol_version=0'), 'SELECT 1', 'fleetstream').nativeRevision).toBe(0);
    expect(parseSqlRequest(url(''), 'SELECT 1', 'fleetstream').nativeRevision).toBe(0);
    expect(codeOf(() => parseSqlRequest(url('client_protocol_version=54405'), 'SELECT 1', 'fleetstream'))).toBe(164);
  });

  it("refuses compress=1, ClickHouse's compressed response, which it cannot make, saying how to turn it off", () => {
    expect(codeOf(() => checkUncompressedResponse(url('compress=1')))).toBe(48);
    expect(codeOf(() => checkUncompressedResponse(url('compress=0')))).toBeUndefined();
  });

  it('refuses another database and a format name that is not a name', () => {
    expect(codeOf(() => parseSqlRequest(url('database=system'), 'SELECT 1', 'fleetstream'))).toBe(291);
    expect(codeOf(() => parseSqlRequest(url('default_format=JSON%20SETTINGS%20x%3D1'), 'SELECT 1', 'fleetstream'))).toBe(73);
  });

  it('decodes gzip, deflate and br bodies and refuses other encodings (READONLY: clients compress the rows of an INSERT so)', () => {
    expect(bodyEncodingOf({ 'content-encoding': 'GZIP ' }, url(''))).toBe('gzip');
    expect(bodyEncodingOf({ 'content-encoding': 'br' }, url(''))).toBe('br');
    expect(bodyEncodingOf({ 'content-encoding': 'deflate' }, url(''))).toBe('deflate');
    expect(codeOf(() => bodyEncodingOf({ 'content-encoding': 'lz4' }, url('')))).toBe(164);
    expect(codeOf(() => bodyEncodingOf({ 'content-encoding': 'zstd' }, url('')))).toBe(164);
    expect(codeOf(() => bodyEncodingOf({}, url('decompress=1')))).toBe(164);
    expect(bodyEncodingOf({ 'content-encoding': 'identity' }, url('decompress=0'))).toBeUndefined();
    expect(bodyEncodingOf({}, url(''))).toBeUndefined();
  });

  it('finds the API key in X-ClickHouse-Key, basic auth (any user), a bearer token or the password parameter', () => {
    const basic = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;
    expect(credentialOf({ 'x-clickhouse-key': 'k1', 'x-clickhouse-user': 'default' }, url(''))).toBe('k1');
    expect(credentialOf({ authorization: basic('default:k2') }, url(''))).toBe('k2');
    expect(credentialOf({ authorization: basic('anyone:k:3') }, url(''))).toBe('k:3');
    expect(credentialOf({ authorization: 'Bearer k4' }, url(''))).toBe('k4');
    expect(credentialOf({}, url('user=default&password=k5'))).toBe('k5');
    expect(credentialOf({ authorization: basic('default:') }, url(''))).toBeUndefined();
    expect(credentialOf({}, url(''))).toBeUndefined();
  });
});
