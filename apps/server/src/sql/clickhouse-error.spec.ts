import { ClickHouseError, ErrorCode, fromEngineError, httpStatusOf } from './clickhouse-error';
import { formatClauseOf } from './sql-http.server';

describe('ClickHouse errors', () => {
  it('writes the body ClickHouse clients parse, keeping an engine message as it is', () => {
    expect(new ClickHouseError(ErrorCode.READONLY, 'DROP is refused').body()).toBe('Code: 164. DB::Exception: DROP is refused (READONLY)\n');
    const engine = Object.assign(new Error('Code: 60. DB::Exception: Unknown table expression identifier \'x\'. (UNKNOWN_TABLE)'), { clickhouseCode: 60 });
    expect(fromEngineError(engine)).toMatchObject({ code: 60 });
    expect(fromEngineError(engine).body()).toBe(`${engine.message}\n`);
    expect(fromEngineError(new Error('Code: 396. DB::Exception: Limit for result exceeded')).code).toBe(396);
  });

  it('maps codes to the status ClickHouse sends, refusals to 401/403 and the concurrency cap to 429', () => {
    expect([194, 516, 497, 164, 202, 62, 60, 159, 396].map(httpStatusOf)).toEqual([401, 403, 403, 403, 429, 400, 404, 408, 500]);
  });

  it('reads the FORMAT clause from the parse', () => {
    expect(formatClauseOf('SelectWithUnionQuery (children 2)\n ExpressionList (children 1)\n  SelectQuery (children 1)\n   ExpressionList (children 1)\n    Literal UInt64_1\n Identifier JSON\n', 'SELECT 1 FORMAT JSON')).toBe('JSON');
    expect(formatClauseOf('SelectWithUnionQuery (children 1)\n ExpressionList (children 1)\n  SelectQuery (children 1)\n   ExpressionList (children 1)\n    Identifier x\n', 'SELECT x')).toBeUndefined();
    // EXISTS and SHOW CREATE end with the table's Identifier: not a format
    expect(formatClauseOf('ExistsTableQuery telemetry_raw (children 1)\n Identifier telemetry_raw\n', 'EXISTS TABLE telemetry_raw')).toBeUndefined();
    expect(formatClauseOf('ExistsTableQuery t (children 2)\n Identifier t\n Identifier Null\n', 'EXISTS TABLE t FORMAT `Null`')).toBe('Null');
    // the last child of SHOW CREATE TABLE db.t is the table, not a format (the JDBC driver's DDL tab failed on that)
    expect(formatClauseOf('ShowCreateTableQuery db t (children 2)\n Identifier db\n Identifier t\n', 'SHOW CREATE TABLE db.t')).toBeUndefined();
    expect(formatClauseOf('ShowCreateTableQuery  t (children 2)\n Identifier t\n Identifier CSV\n', 'SHOW CREATE TABLE t FORMAT CSV')).toBe('CSV');
  });
});
