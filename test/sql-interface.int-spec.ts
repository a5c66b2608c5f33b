import { createClient } from '@clickhouse/client';
import { INestApplication } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { freePort } from '../bench/support/free-port';
import { createApp } from '../apps/server/src/main';
import { apiKeyFor } from './support/api-keys';
import { adminHttp, TEST_ADMIN_KEY } from './support/http';
import { createTestStack, eventually, stackEnv, TestStack } from './support/test-stack';


/** The read-only ClickHouse HTTP interface over the embedded history (SQL_HTTP_PORT), with the real stack and chdb. */
describe('SQL interface (ClickHouse HTTP over chdb)', () => {
  let stack: TestStack;
  let app: INestApplication;
  let url: string;
  let analyst: string;
  let viewer: string;

  beforeAll(async () => {
    stack = await createTestStack();
    analyst = await apiKeyFor(stack, 'analyst-1', 'analyst');
    viewer = await apiKeyFor(stack, 'viewer-1', 'viewer');
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    Object.assign(process.env, { ...stackEnv(stack), SQL_HTTP_PORT: String(port), SQL_MAX_CONCURRENT_QUERIES: '1', SQL_MAX_WHOLE_RESULT_BYTES: String(4 * 1024 ** 2), SQL_STALLED_CLIENT_TIMEOUT_S: '2', SQL_MAX_EXECUTION_TIME_S: '6', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
    app = await createApp();
    await app.init();
  });

  afterAll(async () => {
    await app?.close();
  });

  const sql = (query: string, key: string | null = analyst, params = '') =>
    fetch(`${url}/?${params}`, { method: 'POST', body: query, headers: key ? { 'X-ClickHouse-User': 'default', 'X-ClickHouse-Key': key } : {} });
  const refusal = async (response: Response) => ({ status: response.status, code: response.headers.get('x-clickhouse-exception-code'), body: (await response.text()).slice(0, 300) });

  it('answers /ping and / with Ok.', async () => {
    expect(await (await fetch(`${url}/ping`)).text()).toBe('Ok.\n');
    expect(await (await fetch(`${url}/`)).text()).toBe('Ok.\n');
  });

  describe('with @clickhouse/client and an analyst key', () => {
    const client = () => createClient({ url, username: 'default', password: analyst, database: stack.config.CLICKHOUSE_DATABASE });

    it('selects, binds {name:Type} parameters as values (an injection attempt stays a string) and streams a large result', async () => {
      const ch = client();
      try {
        const rows = await (await ch.query({ query: 'SELECT {n:UInt32} * 2 AS v, {s:String} AS s, {a:Array(String)} AS a', query_params: { n: 21, s: "x' OR 1=1; DROP TABLE t --\\", a: ["p'q", 'r'] }, format: 'JSONEachRow' })).json();
        expect(rows).toEqual([{ v: 42, s: "x' OR 1=1; DROP TABLE t --\\", a: ["p'q", 'r'] }]);
        const tables = await (await ch.query({ query: 'SHOW TABLES', format: 'JSONEachRow' })).json<{ name: string }>();
        expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['telemetry_raw']));
        let count = 0;
        const stream = (await ch.query({ query: 'SELECT number FROM numbers(2000000)', format: 'JSONEachRow' })).stream();
        for await (const batch of stream) count += batch.length;
        expect(count).toBe(2_000_000);
      } finally {
        await ch.close();
      }
    });

    it('passes an engine error on with its code', async () => {
      const ch = client();
      try {
        await expect(ch.query({ query: 'SELECT * FROM no_such_table', format: 'JSONEachRow' })).rejects.toMatchObject({ code: '60', message: expect.stringMatching(/no_such_table/) });
      } finally {
        await ch.close();
      }
    });
  });

  it('honours a FORMAT clause and sends the ClickHouse headers', async () => {
    const response = await fetch(`${url}/?query_id=q-1&query=${encodeURIComponent('SELECT 1 AS x FORMAT JSONEachRow')}`, { headers: { authorization: `Basic ${Buffer.from(`anyone:${analyst}`).toString('base64')}` } });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('{"x":1}\n');
    expect(response.headers.get('x-clickhouse-query-id')).toBe('q-1');
    expect(response.headers.get('x-clickhouse-format')).toBe('JSONEachRow');
    expect(response.headers.get('x-clickhouse-timezone')).toBeTruthy();
    expect(JSON.parse(response.headers.get('x-clickhouse-summary')!)).toHaveProperty('read_rows');
    // a result made whole (JSON) is sent with its final size
    const whole = await fetch(`${url}/?query=${encodeURIComponent('SELECT number FROM numbers(5) FORMAT JSON')}`, { headers: { 'x-clickhouse-key': analyst } });
    const body = await whole.text();
    expect(JSON.parse(whole.headers.get('x-clickhouse-summary')!)).toMatchObject({ result_bytes: String(Buffer.byteLength(body)) });
  });

  it('refuses a missing, an unknown and a viewer key; the bootstrap admin may query', async () => {
    expect(await refusal(await sql('SELECT 1', null))).toMatchObject({ status: 401, code: '194' });
    expect(await refusal(await sql('SELECT 1', 'fsk_not_a_key'))).toMatchObject({ status: 403, code: '516', body: expect.stringMatching(/^Code: 516\. DB::Exception: /) });
    expect(await refusal(await sql('SELECT 1', viewer))).toMatchObject({ status: 403, code: '497' });
    expect(await (await sql('SELECT 1', TEST_ADMIN_KEY)).text()).toBe('1\n');
  });

  it('refuses every statement that writes or changes the session', async () => {
    for (const query of ['INSERT INTO telemetry_raw SELECT * FROM telemetry_raw', 'ALTER TABLE telemetry_raw DELETE WHERE 1', 'DROP TABLE telemetry_raw', 'CREATE TABLE x (a UInt8) ENGINE = Memory',
      'SYSTEM DROP DNS CACHE', 'KILL QUERY WHERE 1', 'OPTIMIZE TABLE telemetry_raw FINAL', 'SET readonly = 0', 'TRUNCATE TABLE telemetry_raw', "SELECT 1 INTO OUTFILE '/tmp/fleetstream-sql-outfile'"]) {
      expect([query, await refusal(await sql(query))]).toEqual([query, expect.objectContaining({ code: '164' })]);
    }
    expect(await refusal(await sql('SELECT 1; DROP TABLE telemetry_raw'))).toMatchObject({ code: '62', body: expect.stringMatching(/Multi-statements/) });
    expect(await (await sql('SELECT count() >= 0 FROM telemetry_raw')).text()).toBe('1\n');
  });

  it('refuses every function that reaches files, URLs, servers or processes', async () => {
    const reaching = ["file('/etc/hostname', 'LineAsString')", "url('http://127.0.0.1:1/', 'CSV', 'a String')", "s3('http://127.0.0.1:1/bucket/k.csv', 'CSV', 'a String')",
      "hdfs('hdfs://127.0.0.1:1/x', 'CSV', 'a String')", "remote('127.0.0.1:1', system.one)", "remoteSecure('127.0.0.1:1', system.one)", "mysql('127.0.0.1:1', 'd', 't', 'u', 'p')",
      "postgresql('127.0.0.1:1', 'd', 't', 'u', 'p')", "executable('x.sh', 'CSV', 'a String')", "input('a String')", "jdbc('x', 'd', 't')", "odbc('x', 'd', 't')",
      "azureBlobStorage('http://127.0.0.1:1', 'c', 'b', 'CSV')", "gcs('http://127.0.0.1:1/bucket/k.csv', 'CSV', 'a String')", "cluster('default', system.one)", "merge('system', '^processes$')",
      "sqlite('/tmp/x.db', 't')", "icebergS3('http://127.0.0.1:1/bucket/x')", "format(CSV, 'a String', 'x')"];
    for (const call of reaching) {
      expect([call, await refusal(await sql(`SELECT * FROM ${call}`))]).toEqual([call, expect.objectContaining({ code: expect.stringMatching(/^(497|164)$/) })]);
    }
    // the scalar file() reads a file even under readonly=1: only the name check stops it
    expect(await refusal(await sql("SELECT file('/etc/hostname')"))).toMatchObject({ code: '497' });
    // a third probe: a structure string is code (ALIAS, DEFAULT), which the parse shows as a literal; these read /proc/self/environ
    for (const query of ["SELECT b FROM values('a String, b String ALIAS file(a)', '/proc/self/environ')", "SELECT b FROM generateRandom('a UInt8, b String ALIAS file(''/etc/hostname'')') LIMIT 1",
      "SELECT b FROM values('a String, b String ALIAS getServerSetting(''path'')', 'x')", "SELECT * FROM null('a String DEFAULT file(''/etc/hostname'')')"]) {
      expect([query, await refusal(await sql(query))]).toEqual([query, expect.objectContaining({ code: '497', body: expect.stringMatching(/table function/) })]);
    }
    // the structure as a bound parameter, or as a function's result
    expect(await refusal(await sql("SELECT * FROM values({s:String}, '/etc/hostname')", analyst, `param_s=${encodeURIComponent('a String, b String ALIAS file(a)')}`))).toMatchObject({ code: '497' });
    expect(await refusal(await sql("SELECT * FROM values(concat('a String, b String ALIAS fi', 'le(a)'), '/etc/hostname')"))).toMatchObject({ code: '497' });
    expect(await (await sql("SELECT * FROM VALUES (('a', 1), ('b', 2)) FORMAT CSV")).text()).toBe('"a",1\n"b",2\n');
    // a fourth probe: introspection (chDB turns it on) is refused; a column called outfile is not INTO OUTFILE
    expect(await refusal(await sql('SELECT addressToSymbol(toUInt64(1))'))).toMatchObject({ code: '497' });
    expect(await (await sql('SELECT 1 AS outfile')).text()).toBe('1\n');
  });

  it('answers at once, and keeps REST history reads answering, when a query is made to be slow to read (a fourth probe)', async () => {
    // 30,000 different unclosed $tag$ words: a search to the end of the text for each, 14 s in the engine's parse under chdb's lock
    const tags = Array.from({ length: 30_000 }, (_, n) => `$t${n}$`).join(' ');
    const started = Date.now();
    expect(await refusal(await fetch(url, { method: 'POST', body: gzipSync(`SELECT 1 /* /* */ ${tags} */`), headers: { 'x-clickhouse-key': analyst, 'content-encoding': 'gzip' } }))).toMatchObject({ status: 400, code: '62' });
    // 800 parameters over 250,000 braces: each parameter looked for its placeholder over the whole text (4.6 s)
    const many = Array.from({ length: 800 }, () => 'param_a=1').join('&');
    expect(await (await sql(`SELECT 1 /*${'{'.repeat(250_000)}*/`, analyst, many)).text()).toBe('1\n');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('judges what ClickHouse parses, not how the text spells it: heredocs, escapes, odd whitespace, nested SETTINGS, a second statement', async () => {
    // each of these read /proc/self/environ, wrote a file or lowered readonly in a probe of the first version
    const outfile = join(tmpdir(), `fleetstream-sql-probe-${Date.now()}`);
    const escapes: [string, string][] = [
      ["SELECT $$'$$, file('/etc/hostname') -- '", '497'],
      ["SELECT `\\x66ile`('/etc/hostname')", '497'],
      ["SELECT \"\\x66ile\"('/etc/hostname')", '497'],
      ["SELECT file\u0085('/etc/hostname')", '497'],
      ["SELECT file\u200b('/etc/hostname')", '497'],
      [`SELECT $$pwned'$$ INTO OUTFILE '${outfile}' FORMAT TSVRaw -- '`, '164'],
      ["SELECT * FROM (SELECT getSetting('readonly') SETTINGS readonly = 0)", '164'],
      ["SELECT * FROM (SELECT 1 SETTINGS max_threads = 16)", '164'],
      ["SELECT $$'$$; USE system -- '", '62'],
      // a second probe, of the fixed version: APPLY hides the function from the parse; a long heredoc tag, and OUTFILE under DESCRIBE and SHOW
      ["SELECT * APPLY(file) FROM (SELECT '/etc/hostname' AS p)", '497'],
      [`DESCRIBE (SELECT $${'a'.repeat(70)}$'$${'a'.repeat(70)}$ AS x) INTO OUTFILE '${outfile}' APPEND FORMAT TSVRaw -- '`, '164'],
      [`SHOW TABLES INTO OUTFILE '${outfile}'`, '164'],
    ];
    for (const [query, code] of escapes) {
      expect([query, await refusal(await sql(query))]).toEqual([query, expect.objectContaining({ code })]);
    }
    expect(existsSync(outfile)).toBe(false);
    // EXPLAIN's own options are not settings
    const explained = await sql('EXPLAIN indexes = 1 SELECT count() FROM telemetry_raw');
    expect([explained.status, (await explained.text()).length > 0]).toEqual([200, true]);
    // the second statement did not run during the parse: every session still reads the fleetstream database
    for (let i = 0; i < 3; i++) expect(await (await sql('SELECT currentDatabase()')).text()).toBe(`${stack.config.CLICKHOUSE_DATABASE}\n`);
  });

  it('keeps readonly=1 and the limits whatever the client sends: URL settings, a SETTINGS clause, SET', async () => {
    const readFile = "SELECT * FROM file('/etc/hostname', 'LineAsString')";
    for (const params of ['readonly=0', 'readonly=2', 'max_execution_time=0', 'max_result_rows=0']) {
      expect([params, await refusal(await sql('SELECT 1', analyst, params))]).toEqual([params, expect.objectContaining({ code: '164' })]);
    }
    expect(await refusal(await sql('SELECT 1 SETTINGS readonly = 0'))).toMatchObject({ code: '164', body: expect.stringMatching(/Cannot modify 'readonly'/) });
    expect(await refusal(await sql('SELECT 1 SETTINGS readonly = 2'))).toMatchObject({ code: '164' });
    expect(await refusal(await sql('SELECT count() FROM numbers(10) SETTINGS max_result_rows = 0'))).toMatchObject({ code: '164' });
    expect(await refusal(await sql(`${readFile} SETTINGS readonly = 2`))).toMatchObject({ code: expect.stringMatching(/^(497|164)$/) });
    expect(await refusal(await sql('SET readonly = 2'))).toMatchObject({ code: '164' });
    expect(await (await sql("SELECT getSetting('readonly'), getSetting('max_threads') FORMAT CSV")).text()).toBe('1,1\n');
  });

  it('shows the fleetstream database and the harmless system tables only', async () => {
    // the body is read: the query holds its slot until its response ends (the cap here is 1)
    const tables = await sql('SELECT count() FROM system.tables');
    expect([tables.status, Number(await tables.text()) > 0]).toEqual([200, true]);
    // what monitoring dashboards read, and Iceberg's partition transforms (pure functions under a denied prefix)
    for (const query of ['SELECT count() > 0 FROM system.metrics', 'SELECT count() > 0 FROM system.events', 'SELECT count() >= 0 FROM system.clusters', 'SELECT count() >= 0 FROM system.merges', 'SELECT count() >= 0 FROM system.mutations', 'SELECT icebergBucket(8, 1) < 8']) {
      const answer = await sql(query);
      expect([query, answer.status, await answer.text()]).toEqual([query, 200, '1\n']);
    }
    for (const query of ['SELECT * FROM system.processes', 'SELECT * FROM system.errors', 'SELECT * FROM system.query_log', 'SELECT 1 WHERE 1 IN system.users', 'SELECT * FROM default.x', 'SELECT * FROM system.named_collections', 'SHOW TABLES FROM default', 'SHOW CREATE TABLE default.x', 'EXISTS DATABASE default', 'SHOW COLUMNS FROM x FROM default', 'SHOW INDEX FROM default.x']) {
      expect([query, await refusal(await sql(query))]).toEqual([query, expect.objectContaining({ code: '291' })]);
    }
    expect(await refusal(await sql('SELECT 1', analyst, 'database=system'))).toMatchObject({ code: '291' });
  });

  it('decodes a gzip or br query body (@clickhouse/client compression.request), and says so when one does not decode', async () => {
    const ch = createClient({ url, username: 'default', password: analyst, database: stack.config.CLICKHOUSE_DATABASE, compression: { request: true } });
    try {
      expect(await (await ch.query({ query: 'SELECT {n:UInt8} + 1 AS v', query_params: { n: 41 }, format: 'JSONEachRow' })).json()).toEqual([{ v: 42 }]);
    } finally {
      await ch.close();
    }
    const brotli = await fetch(url, { method: 'POST', body: brotliCompressSync('SELECT 7'), headers: { 'x-clickhouse-key': analyst, 'content-encoding': 'br' } });
    expect(await brotli.text()).toBe('7\n');
    const broken = await fetch(url, { method: 'POST', body: 'SELECT 1', headers: { 'x-clickhouse-key': analyst, 'content-encoding': 'gzip' } });
    expect(await refusal(broken)).toMatchObject({ status: 400, code: '271', body: expect.stringMatching(/gzip request body does not decode/) });
    // a bomb: 1 MiB of spaces before SELECT, 1 KiB compressed, is refused by its decoded size
    const bomb = await fetch(url, { method: 'POST', body: gzipSync(' '.repeat(1024 ** 2) + 'SELECT 1'), headers: { 'x-clickhouse-key': analyst, 'content-encoding': 'gzip' } });
    expect(await refusal(bomb)).toMatchObject({ status: 400, code: '62', body: expect.stringMatching(/Max query size exceeded: 262144 bytes \(decoded\)/) });
  });

  it('answers a body over the query size with the error, not a reset connection', async () => {
    const long = await fetch(url, { method: 'POST', body: `SELECT 1 -- ${'x'.repeat(2 * 1024 ** 2)}`, headers: { 'x-clickhouse-key': analyst } });
    expect(await refusal(long)).toMatchObject({ status: 400, code: '62', body: expect.stringMatching(/Max query size exceeded/) });
    expect(await (await sql('SELECT 2')).text()).toBe('2\n');
  });

  it('caps a result made whole in memory (Parquet, JSON) lower than a streamed one, which holds nothing', async () => {
    // about 10 MB: over SQL_MAX_WHOLE_RESULT_BYTES (4 MiB here) as JSON or Parquet, fine as streamed CSV
    const big = "SELECT repeat('x', 1000 + number % 2) AS s FROM numbers(10000)";
    for (const format of ['JSON', 'Parquet']) {
      expect([format, await refusal(await sql(`${big} FORMAT ${format}`))]).toEqual([format, expect.objectContaining({ code: '396', body: expect.stringMatching(/Limit for result exceeded/) })]);
    }
    const streamed = await sql(`${big} FORMAT CSV`);
    expect([streamed.status, (await streamed.arrayBuffer()).byteLength]).toEqual([200, 10_000 * 1_003 + 5_000]);
  });

  it('refuses a result whose column names are long, as row formats repeat them on every row', async () => {
    expect(await refusal(await sql(`SELECT number AS \`${'x'.repeat(2000)}\` FROM numbers(100000) FORMAT JSON`))).toMatchObject({ status: 400, code: '36', body: expect.stringMatching(/short alias/) });
  });

  it('counts a constant column at its real size: a constant string repeated over rows is not a way past the limits', async () => {
    // unmaterialized, this JSON result (100 MB) went past the 4 MiB max_result_bytes: the limit counted each block's constant as one value
    expect(await refusal(await sql("SELECT repeat('x', 1000) AS s FROM numbers(100000) FORMAT JSON"))).toMatchObject({ code: '396', body: expect.stringMatching(/Limit for result exceeded/) });
    // the result is the query's own: names, order, a FORMAT clause, totals, parameters
    const own = await sql("SELECT {n:UInt8} AS `odd \\`name`, 'c' AS c, number FROM numbers(3) ORDER BY number DESC FORMAT JSONCompactEachRowWithNames", analyst, 'param_n=7');
    expect(await own.text()).toBe('["odd `name", "c", "number"]\n[7, "c", 2]\n[7, "c", 1]\n[7, "c", 0]\n');
    const totals = await sql('SELECT number % 2 AS odd, count() AS n FROM numbers(5) GROUP BY odd WITH TOTALS ORDER BY odd FORMAT JSONCompact');
    expect(JSON.parse(await totals.text())).toMatchObject({ data: [[0, 3], [1, 2]], totals: [0, 5] });
  });

  it('answers a query_id that cannot go in a header with 400, key or not, and stays up (it used to end the process)', async () => {
    for (const [queryId, key] of [['a%0d%0aX:%20y', null], ['a%0d%0aX:%20y', analyst], ['%E2%82%AC', analyst], ['a%00b', null]] as const) {
      const response = await fetch(`${url}/?query_id=${queryId}&query=SELECT%201`, { headers: key ? { 'X-ClickHouse-Key': key } : {} });
      expect([queryId, response.status, response.headers.get('x-clickhouse-exception-code')]).toEqual([queryId, 400, '36']);
    }
    expect(await (await fetch(`${url}/ping`)).text()).toBe('Ok.\n');
    // a statement that ends with a table's name has no FORMAT clause: the format is the default one
    const exists = await sql('EXISTS TABLE telemetry_raw');
    expect([exists.status, exists.headers.get('x-clickhouse-format'), await exists.text()]).toEqual([200, 'TabSeparated', '1\n']);
  });

  it('cuts off a client that stops reading its result, and frees its slot (SQL_STALLED_CLIENT_TIMEOUT_S, 2 s here)', async () => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const body = 'SELECT number, repeat(\'x\', 100) FROM numbers(100000000) FORMAT TSV';
    socket.write(`POST / HTTP/1.1\r\nHost: x\r\nX-ClickHouse-Key: ${analyst}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    socket.pause(); // reads nothing: the server's writes back up
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await refusal(await sql('SELECT 1'))).toMatchObject({ status: 429 });
    const started = Date.now();
    await eventually(async () => (await sql('SELECT 1')).status, (status) => status === 200, 15_000, 250);
    expect(Date.now() - started).toBeLessThan(10_000);
    socket.resume();
    await closed;
  });

  it('keeps REST history reads answering while a heavy query runs whole (chdb binding holds one lock for the process)', async () => {
    // a result made whole (JSON) of a query that runs until SQL_MAX_EXECUTION_TIME_S (6 s here), with a parameter
    const heavy = sql('SELECT count() FROM numbers(10000000000) WHERE sipHash64(number) % {m:UInt8} = 1 FORMAT JSON', analyst, 'param_m=7');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const started = Date.now();
    const read = await adminHttp(app).get(`/devices/sql-lock-1/telemetry?limit=10&from=${new Date(Date.now() - 3_600_000).toISOString()}`);
    const readMs = Date.now() - started;
    expect(await refusal(await heavy)).toMatchObject({ code: '159' });
    // bound through chdb's binding, the read waited for the whole query (5 s here; 60 s in bench:sql-load)
    expect([read.status, readMs < 2_000]).toEqual([200, true]);
  });

  it('refuses a query over the concurrency cap with 429, and a too long one with its limit', async () => {
    const slow = sql('SELECT sleepEachRow(0.5) FROM numbers(4) FORMAT Null');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await refusal(await sql('SELECT 1'))).toMatchObject({ status: 429, code: '202' });
    expect((await slow).status).toBe(200);
  });
});
