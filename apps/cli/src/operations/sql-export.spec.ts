import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CutResultError, describeSummary, destinationRefusal, ResultGuard, SQL_FORMATS, SqlFormat, trailingException, withFormatClause } from './sql-export';

async function through(format: SqlFormat, chunks: string[] | Buffer[]): Promise<{ output: Buffer; guard: ResultGuard }> {
  const guard = new ResultGuard(format);
  const parts: Buffer[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (parts.push(chunk), done()) });
  await pipeline(Readable.from(chunks.map((chunk) => Buffer.from(chunk))), guard, sink);
  return { output: Buffer.concat(parts), guard };
}

const EXCEPTION = "Code: 395. DB::Exception: boom: while executing 'FUNCTION throwIf(…)'. (FUNCTION_THROW_IF_VALUE_IS_NON_ZERO)";

describe('sql export', () => {
  it('maps each format to the ClickHouse format the server writes', () => {
    expect(Object.fromEntries(Object.entries(SQL_FORMATS).map(([name, format]) => [name, format.clickhouse]))).toEqual({
      table: 'PrettyCompactMonoBlock', csv: 'CSVWithNames', json: 'JSONEachRow', parquet: 'Parquet',
    });
  });

  it('appends the FORMAT clause on a line of its own, after trailing semicolons and a trailing comment', () => {
    expect(withFormatClause('SELECT 1;; \n', 'csv')).toBe('SELECT 1\nFORMAT CSVWithNames');
    expect(withFormatClause('SELECT 1 -- why', 'json')).toBe('SELECT 1 -- why\nFORMAT JSONEachRow');
  });

  it('refuses binary to a terminal only', () => {
    expect(destinationRefusal('parquet', undefined, true)).toMatch(/binary and stdout is a terminal: give --output FILE/);
    expect(destinationRefusal('parquet', 'out.parquet', true)).toBeNull();
    expect(destinationRefusal('parquet', undefined, false)).toBeNull();
    expect(destinationRefusal('table', undefined, true)).toBeNull();
    expect(destinationRefusal('csv', undefined, true)).toBeNull();
  });

  it('finds the exception ClickHouse appends after the rows, not a row that mentions one', () => {
    expect(trailingException(Buffer.from(`{"n":1}\n{"n":2}\n${EXCEPTION}\n`), false)).toBe(EXCEPTION);
    expect(trailingException(Buffer.from(`${EXCEPTION}\n`), false)).toBe(EXCEPTION);
    expect(trailingException(Buffer.from(`{"error":"${EXCEPTION}"}\n`), false)).toBeUndefined();
    expect(trailingException(Buffer.concat([Buffer.from([0x50, 0x41, 0x52, 0x31, 0xff, 0x00]), Buffer.from(EXCEPTION)]), true)).toBe(EXCEPTION);
  });

  it('passes a whole result through unchanged and counts its rows', async () => {
    const rows = Array.from({ length: 30_000 }, (_, n) => `{"number":${n}}\n`);
    const chunks = [rows.slice(0, 12_345).join(''), rows.slice(12_345).join('')];
    const { output, guard } = await through('json', chunks);
    expect(output.toString()).toBe(rows.join(''));
    expect(guard.rows()).toBe(30_000);
    expect((await through('csv', ['"n"\n1\n', '2\n'])).guard.rows()).toBe(2);
    expect((await through('table', ['┌─n─┐\n│ 1 │\n└───┘\n'])).guard.rows()).toBeNull();
  });

  it('fails a result that ends in an exception, keeping the exception out of the output', async () => {
    const parts: Buffer[] = [];
    const guard = new ResultGuard('json');
    guard.on('data', (chunk: Buffer) => parts.push(chunk));
    const rows = '{"n":1}\n'.repeat(20_000);
    await expect(pipeline(Readable.from([Buffer.from(rows), Buffer.from(`${EXCEPTION}\n`)]), guard)).rejects.toEqual(new CutResultError(EXCEPTION));
    expect(Buffer.concat(parts).toString()).not.toContain('DB::Exception');
  });

  it('fails a Parquet result without its closing magic', async () => {
    await expect(through('parquet', [Buffer.from('PAR1 some pages, no footer')])).rejects.toThrow(/ended without its footer/);
    await expect(through('parquet', [Buffer.from('PAR1 pages'), Buffer.from(EXCEPTION)])).rejects.toThrow(EXCEPTION);
    expect((await through('parquet', [Buffer.from('PAR1 pages and footer PAR1')])).output.toString()).toBe('PAR1 pages and footer PAR1');
  });

  it('describes progress with rows where the format tells them', () => {
    expect(describeSummary({ rows: 2_000_000, bytes: 15_630_000, seconds: 1.26 })).toBe('2000000 rows, 14.9 MiB in 1.3 s');
    expect(describeSummary({ rows: null, bytes: 516, seconds: 0.04 })).toBe('516 bytes in 0.0 s');
  });
});
