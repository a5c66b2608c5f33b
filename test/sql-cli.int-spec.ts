import { query as chdbQuery } from 'chdb';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../bench/support/free-port';
import { apiKeyFor } from './support/api-keys';
import { ServerProcess } from './support/server-process';
import { connectedTelemetryProducer, createTestStack, eventually, reading, TestStack } from './support/test-stack';

const CLI_MAIN = resolve(__dirname, '../dist/apps/cli/src/main.js');
/** Prints the child's peak resident memory on exit, to see that a large export is streamed, not held. */
const REPORT_MAX_RSS = resolve(__dirname, 'support/report-max-rss.js');

interface CliRun {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** The built CLI (`npm run build`) as a user runs it: its own process, stdout and stderr pipes, exit code. */
function runCli(args: string[], env: Record<string, string>, nodeOptions: string[] = []): Promise<CliRun> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [...nodeOptions, CLI_MAIN, 'sql', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, stdout: Buffer.concat(stdout), stderr }));
  });
}

/** The CLI with stdout on a terminal (a pseudo-terminal from util-linux `script`); stdout and stderr both land in `output`. */
function runOnTerminal(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const quoted = [process.execPath, CLI_MAIN, 'sql', ...args].map((arg) => `'${arg.replace(/'/g, "'\\''")}'`).join(' ');
  return new Promise((resolveRun, reject) => {
    const child = spawn('script', ['-qec', quoted, '/dev/null'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('latin1')));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, output }));
  });
}

/** `fleetstream sql` against the server's read-only ClickHouse HTTP interface, the real stack and chdb behind it. */
describe('fleetstream sql (CLI over the SQL interface)', () => {
  let stack: TestStack;
  let server: ServerProcess;
  let sqlUrl: string;
  let analyst: string;
  let viewer: string;
  let dir: string;
  const devices = ['cli-sql-a', 'cli-sql-b', 'cli-sql-c'];
  const sql = (args: string[], key = analyst, nodeOptions: string[] = []) => runCli(args, { FLEETSTREAM_SQL_URL: sqlUrl, FLEETSTREAM_API_KEY: key }, nodeOptions);

  beforeAll(async () => {
    stack = await createTestStack();
    analyst = await apiKeyFor(stack, 'analyst-1', 'analyst');
    viewer = await apiKeyFor(stack, 'viewer-1', 'viewer');
    const port = await freePort();
    sqlUrl = `http://127.0.0.1:${port}`;
    server = await ServerProcess.create(stack, { SQL_HTTP_PORT: String(port), LOG_LEVEL: 'warn' });
    await server.start();
    const producer = await connectedTelemetryProducer(stack);
    try {
      await producer.send(devices.flatMap((deviceId) => [1, 2, 3, 4].map((seq) => reading(deviceId, seq))));
    } finally {
      await producer.disconnect();
    }
    dir = mkdtempSync(join(tmpdir(), 'fleetstream-sql-cli-'));
    // the history processor writes telemetry_raw in batches: wait for all twelve readings
    await eventually(
      async () => (await sql(['SELECT count() AS n FROM telemetry_raw FINAL WHERE startsWith(device_id, {prefix:String})', '-f', 'json', '-p', 'prefix=cli-sql-'])).stdout.toString(),
      (out) => out === '{"n":12}\n',
      60_000,
      500,
    );
  });

  afterAll(async () => {
    await server?.stop();
    // the large exports are hundreds of MiB
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const perDevice = 'SELECT device_id, count() AS readings, sum(seq) AS seqs FROM telemetry_raw FINAL WHERE startsWith(device_id, {prefix:String}) GROUP BY device_id ORDER BY device_id';

  it('prints a table by default, CSV with names, and JSON one object a line', async () => {
    const table = await sql([perDevice, '--param', 'prefix=cli-sql-']);
    expect(table).toMatchObject({ code: 0, stderr: '' });
    const lines = table.stdout.toString().split('\n');
    expect(lines[0]).toMatch(/^\s*┌─device_id─┬─readings─┬─seqs─┐$/);
    expect(lines.slice(1, 4).map((line) => line.replace(/\s+/g, ' ').trim())).toEqual(devices.map((device, i) => `${i + 1}. │ ${device} │ 4 │ 10 │`));

    const csv = await sql([perDevice, '--param', 'prefix=cli-sql-', '--format', 'csv']);
    expect(csv).toMatchObject({ code: 0, stderr: '' });
    expect(csv.stdout.toString()).toBe(['"device_id","readings","seqs"', ...devices.map((device) => `"${device}",4,10`), ''].join('\n'));

    const json = await sql([perDevice, '--param', 'prefix=cli-sql-', '--format', 'json']);
    expect(json).toMatchObject({ code: 0, stderr: '' });
    expect(json.stdout.toString().trimEnd().split('\n').map((line) => JSON.parse(line))).toEqual(devices.map((device) => ({ device_id: device, readings: 4, seqs: 10 })));
  });

  it('binds every --param as typed: a String verbatim (=, quotes, backslashes), others as their literal', async () => {
    const run = await sql([
      "SELECT {text:String} AS text, {n:UInt8} + 1 AS next, {ids:Array(UInt16)} AS ids, {since:DateTime64(3, 'UTC')} AS since",
      '-f', 'json', '-p', "text=a=b'c\\d\tOR 1=1", '-p', 'n=41', '-p', 'ids=[1,2,3]', '-p', 'since=2026-11-26 00:00:00.250',
    ]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(run.stdout.toString())).toEqual({ text: "a=b'c\\d\tOR 1=1", next: 42, ids: [1, 2, 3], since: '2026-11-26 00:00:00.250' });
  });

  it('writes Parquet to --output, whole (ClickHouse reads it back), with a summary line; to a pipe too, never to a terminal', async () => {
    const file = join(dir, 'per-device.parquet');
    const run = await sql([perDevice, '-p', 'prefix=cli-sql-', '-f', 'parquet', '-o', file]);
    expect(run.code).toBe(0);
    expect(run.stdout.length).toBe(0);
    expect(run.stderr).toMatch(new RegExp(`^fleetstream sql: [\\d.]+ (bytes|KiB) in \\d+\\.\\d s to ${file}\\n$`));
    const bytes = readFileSync(file);
    expect(bytes.subarray(0, 4).toString()).toBe('PAR1');
    expect(chdbQuery(`SELECT device_id, readings, seqs FROM file('${file}', Parquet) ORDER BY device_id`, 'CSV')).toBe(devices.map((device) => `"${device}",4,10`).join('\n') + '\n');
    // stdout a pipe (not a terminal): binary may go there
    const piped = await sql(['SELECT 1 AS one', '-f', 'parquet']);
    expect(piped.code).toBe(0);
    expect(piped.stdout.subarray(0, 4).toString()).toBe('PAR1');
    const onTerminal = await runOnTerminal(['SELECT 1 AS one', '-f', 'parquet'], { FLEETSTREAM_SQL_URL: sqlUrl, FLEETSTREAM_API_KEY: analyst });
    expect(onTerminal).toMatchObject({ code: 1, output: expect.stringMatching(/^fleetstream: --format parquet is binary and stdout is a terminal: give --output FILE/) });
    expect(onTerminal.output).not.toContain('PAR1');
  });

  it('exits 1 with the ClickHouse message on one line for a refused statement, a denied function and bad SQL', async () => {
    const cases: [string, RegExp][] = [
      ['INSERT INTO telemetry_raw SELECT * FROM telemetry_raw', /^fleetstream: Code: 164\. DB::Exception: INSERT is refused: this interface is read-only.* \(READONLY\)\n$/],
      ["SELECT * FROM file('/etc/hostname', 'LineAsString')", /^fleetstream: Code: 497\. DB::Exception: file\(\) is refused.*\n$/],
      ['SELECT * FROM no_such_table', /^fleetstream: Code: 60\. DB::Exception: .*no_such_table.* \(UNKNOWN_TABLE\)\n$/],
      ['SELECT FROM WHERE', /^fleetstream: Code: 62\. DB::Exception: Syntax error.*\n$/],
    ];
    for (const [statement, message] of cases) {
      const run = await sql([statement, '-f', 'csv']);
      expect([statement, run.code, run.stdout.toString(), run.stderr]).toEqual([statement, 1, '', expect.stringMatching(message)]);
    }
  });

  it('exits 1 for an unknown key, a viewer key, no key and an unreachable server, saying which', async () => {
    expect(await sql(['SELECT 1'], 'fsk_not_a_key')).toMatchObject({ code: 1, stderr: expect.stringMatching(/^fleetstream: Code: 516\. DB::Exception: Authentication failed.*\n$/) });
    expect(await sql(['SELECT 1'], viewer)).toMatchObject({ code: 1, stderr: expect.stringMatching(/^fleetstream: Code: 497\. .*analyst or admin.*\n$/) });
    expect(await sql(['SELECT 1'], '')).toMatchObject({ code: 1, stderr: expect.stringMatching(/no API key: set FLEETSTREAM_API_KEY/) });
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    expect(await sql(['SELECT 1', '--url', nowhere])).toMatchObject({ code: 1, stderr: `fleetstream: cannot reach the SQL interface at ${nowhere} (ECONNREFUSED): is the server up, with SQL_HTTP_PORT set? (--url, FLEETSTREAM_SQL_URL)\n` });
  });

  it('streams a large result to --output: every row there, a summary, bounded memory', async () => {
    const file = join(dir, 'numbers.json');
    const run = await sql(['SELECT number FROM system.numbers LIMIT 10000000', '-f', 'json', '-o', file], analyst, ['--require', REPORT_MAX_RSS]);
    expect(run.code).toBe(0);
    const lines = readFileSync(file, 'latin1').split('\n');
    expect(lines.length).toBe(10_000_001);
    expect([lines[0], lines[9_999_999], lines[10_000_000]]).toEqual(['{"number":0}', '{"number":9999999}', '']);
    expect(run.stderr).toMatch(/fleetstream sql: 10000000 rows, \d+\.\d MiB in \d+\.\d s to .*numbers\.json\n/);
    // the result is about 190 MiB; streamed, the CLI grows far less than that over its own size for one row
    const maxRssMiB = (stderr: string) => Number(/max-rss-kib (\d+)/.exec(stderr)?.[1]) / 1024;
    const one = await sql(['SELECT 1', '-f', 'json', '-o', join(dir, 'one.json')], analyst, ['--require', REPORT_MAX_RSS]);
    expect(maxRssMiB(run.stderr) - maxRssMiB(one.stderr)).toBeLessThan(64);
  });

  it('shows progress a second while a long export runs to --output, and none when the result goes to stdout', async () => {
    const slow = 'SELECT number, sleepEachRow(0.5) AS slept FROM numbers(5)';
    const toFile = await sql([slow, '-f', 'csv', '-o', join(dir, 'slow.csv')]);
    expect(toFile.code).toBe(0);
    const lines = toFile.stderr.trimEnd().split('\n');
    expect(lines.slice(0, -1)).toEqual([expect.stringMatching(/^fleetstream sql: \d+ rows, [\d.]+ \w+ in 1\.\d s$/), expect.stringMatching(/^fleetstream sql: \d+ rows, [\d.]+ \w+ in 2\.\d s$/)]);
    expect(lines.at(-1)).toMatch(/^fleetstream sql: 5 rows, 37 bytes in 2\.\d s to .*slow\.csv$/);
    // stdout and stderr both pipes: the result is the output, nothing else is said
    expect(await sql([slow, '-f', 'csv'])).toMatchObject({ code: 0, stderr: '' });
  });

  it('leaves no file when the query fails mid-result, and keeps an older file at that name', async () => {
    const failing = "SELECT number, throwIf(number = 300000, 'boom') AS x FROM numbers(1000000)";
    for (const format of ['json', 'csv', 'parquet']) {
      const file = join(dir, `failed.${format}`);
      writeFileSync(file, 'an older export');
      const run = await sql([failing, '-f', format, '-o', file]);
      expect([format, run.code, run.stderr]).toEqual([format, 1, expect.stringMatching(/^fleetstream: Code: 395\. DB::Exception: boom: .*\n$/)]);
      expect(readFileSync(file, 'utf8')).toBe('an older export');
    }
    expect(readdirSync(dir).filter((name) => name.includes('.partial-'))).toEqual([]);
    // to stdout: the rows sent before the error, never the exception as if it were a row
    const piped = await sql([failing, '-f', 'json']);
    expect(piped.code).toBe(1);
    expect(piped.stdout.toString()).toMatch(/^\{"number":0,"x":0\}\n/);
    expect(piped.stdout.toString()).not.toContain('DB::Exception');
  });

  // chdb formats each streamed block on its own: the server streams only formats that concatenate
  // (a header kept once), and makes the others (Parquet) whole first.
  it('a large CSV export has one header', async () => {
    const file = join(dir, 'numbers.csv');
    expect((await sql(['SELECT number FROM numbers(200000)', '-f', 'csv', '-o', file])).code).toBe(0);
    expect(readFileSync(file, 'latin1').split('\n').filter((line) => line === '"number"')).toHaveLength(1);
  });

  it('a large Parquet export is one file with every row', async () => {
    const file = join(dir, 'numbers.parquet');
    expect((await sql(['SELECT number FROM numbers(200000)', '-f', 'parquet', '-o', file])).code).toBe(0);
    expect(chdbQuery(`SELECT count() FROM file('${file}', Parquet)`, 'CSV')).toBe('200000\n');
  });

  // Last: each of these hangs up mid-result, which once kept the query's slot taken (the server
  // waited for a 'drain' that a closed response never emits).
  it('removes the file it was writing when interrupted (Ctrl-C)', async () => {
    const file = join(dir, 'interrupted.json');
    const child = spawn(process.execPath, [CLI_MAIN, 'sql', 'SELECT number FROM system.numbers LIMIT 100000000', '-f', 'json', '-o', file], {
      env: { ...process.env, FLEETSTREAM_SQL_URL: sqlUrl, FLEETSTREAM_API_KEY: analyst },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    // the first progress line: the export is under way
    await new Promise<void>((resolveStarted) => child.stderr.on('data', (chunk: Buffer) => ((stderr += chunk.toString()), resolveStarted())));
    child.kill('SIGINT');
    const code = await new Promise((resolveExit) => child.on('close', resolveExit));
    expect([code, stderr.trimEnd().split('\n').at(-1)]).toEqual([1, expect.stringMatching(/^fleetstream: interrupted after \d+ bytes$/)]);
    expect(readdirSync(dir).filter((name) => name.startsWith('interrupted.json'))).toEqual([]);
  });

  it('stops quietly when its reader goes away (| head)', async () => {
    const command = [process.execPath, CLI_MAIN, 'sql', 'SELECT number FROM system.numbers LIMIT 50000000', '-f', 'csv'].map((arg) => `'${arg}'`).join(' ');
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolveRun, reject) => {
      const child = spawn('bash', ['-o', 'pipefail', '-c', `${command} | head -n 3`], { env: { ...process.env, FLEETSTREAM_SQL_URL: sqlUrl, FLEETSTREAM_API_KEY: analyst } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolveRun({ code, stdout, stderr }));
    });
    expect(run).toEqual({ code: 0, stdout: '"number"\n0\n1\n', stderr: '' });
  });

  it('a client that hangs up mid-result frees its query slot', async () => {
    await eventually(async () => (await sql(['SELECT 1'])).code, (code) => code === 0, 10_000, 500);
  });
});
