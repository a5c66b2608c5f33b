import { Session } from 'chdb';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { thrownCode } from '../../../../test/support/thrown';
import { nativeForRevision, parseType } from './native-revision';

describe('Native blocks for client_protocol_version >= 54454', () => {
  let session: Session;
  beforeAll(() => (session = new Session(mkdtempSync(join(tmpdir(), 'native-revision-')))));
  afterAll(() => session.close());
  const native = async (sql: string) => Buffer.from((await session.queryAsync(sql, { format: 'Native' })).bytes());

  it('puts BlockInfo before each block and a zero custom-serialization byte after each column type, data untouched', async () => {
    const sql =
      "SELECT NULL AS n, toLowCardinality(toString(number % 3)) AS l, map(toLowCardinality('k'), 1.5) AS m, [[1, 2], []] AS a, ('x', toDateTime64(0, 3, 'UTC')) AS t, toDecimal64(1, 2) AS d, toFixedString('ab', 2) AS f FROM numbers(5)";
    const before = await native(sql);
    const after = nativeForRevision(before);
    expect(after.subarray(0, 8)).toEqual(Buffer.from([0x01, 0x00, 0x02, 0xff, 0xff, 0xff, 0xff, 0x00]));
    expect(after.length).toBe(before.length + 8 + 7);
    // the first column: name "n", type "Nullable(Nothing)", the custom byte 0, then 5 null flags and 5 Nothing bytes
    const header = Buffer.concat([Buffer.from([7, 5, 1]), Buffer.from('n'), Buffer.from([17]), Buffer.from('Nullable(Nothing)'), Buffer.from([0])]);
    expect(after.subarray(8, 8 + header.length)).toEqual(header);
  });

  it('rewrites every block of a result made of several', async () => {
    const before = Buffer.concat([await native('SELECT 1 AS x'), await native("SELECT 'a' AS s, [1] AS a")]);
    expect(nativeForRevision(before).length).toBe(before.length + 2 * 8 + 3);
  });

  it('refuses a type whose data it does not know rather than sending blocks the client misreads', async () => {
    const variant = await native('SELECT 1::Variant(UInt8, String) AS v');
    expect(thrownCode(() => nativeForRevision(variant))).toBe(48);
  });

  it('reads type names, named tuple elements and quoted arguments', () => {
    expect(parseType("Tuple(a String, `b c` Array(DateTime64(3, 'UTC')))")).toEqual({ name: 'Tuple', args: ['String', "Array(DateTime64(3, 'UTC'))"] });
    expect(parseType("Enum8('a,b' = 1, 'c' = 2)")).toEqual({ name: 'Enum8', args: ["'a,b' = 1", "'c' = 2"] });
  });
});
