import { thrownCode } from '../../../../test/support/thrown';
import { checkAst, checkStatement, materializingSelect, shownColumnsDatabase, tokenize, withoutFormatClause } from './sql-statement';

const codeOf = thrownCode;

describe('SQL statement guard', () => {
  describe('checkStatement', () => {
    it('lets reading statements through, with comments, parentheses and a trailing semicolon', () => {
      for (const sql of ['SELECT 1', ' with x AS (SELECT 1) SELECT * FROM x', '(SELECT 1) UNION ALL (SELECT 2)', 'SHOW TABLES', 'DESCRIBE TABLE telemetry', 'desc telemetry',
        'EXPLAIN SELECT 1', 'EXISTS TABLE telemetry', '-- why\nSELECT 1;', '/* c */ SELECT format(\'{}\', 1)', "SELECT 'file(' AS s", 'SELECT 1 FORMAT JSONEachRow']) {
        expect(codeOf(() => checkStatement(sql))).toBeUndefined();
      }
    });

    it('refuses every statement that writes or changes the session (READONLY)', () => {
      for (const sql of ['INSERT INTO t VALUES (1)', 'ALTER TABLE t DELETE WHERE 1', 'DROP TABLE t', 'CREATE TABLE x (a UInt8) ENGINE=Memory', 'SYSTEM FLUSH LOGS',
        'KILL QUERY WHERE 1', 'OPTIMIZE TABLE t FINAL', 'SET readonly = 0', 'USE system', 'TRUNCATE TABLE t', 'RENAME TABLE a TO b', 'GRANT ALL ON *.* TO x',
        'DETACH TABLE t', 'ATTACH TABLE t', 'BACKUP TABLE t TO Disk(\'a\', \'b\')', 'UNDROP TABLE t', '/* SELECT */ DROP TABLE t', "SELECT 1 INTO OUTFILE '/tmp/x'"]) {
        expect([sql, codeOf(() => checkStatement(sql))]).toEqual([sql, 164]);
      }
    });

    it('refuses several statements in one request, however the second one hides', () => {
      for (const sql of ['SELECT 1; SELECT 2', 'SELECT 1;DROP TABLE t', "SELECT ';'; SELECT 2", 'SELECT 1 -- x\n; SELECT 2', 'SELECT 1 /* ; */ ; SELECT 2']) {
        expect([sql, codeOf(() => checkStatement(sql))]).toEqual([sql, 62]);
      }
      expect(codeOf(() => checkStatement("SELECT ';' ;;"))).toBeUndefined();
    });

    it('refuses functions that reach files, URLs, servers, processes and other tables, however spelled (ACCESS_DENIED)', () => {
      for (const sql of ["SELECT * FROM file('/etc/passwd', 'LineAsString')", "SELECT file('/etc/passwd')", "SELECT * FROM URL('http://x/')", 'SELECT * FROM `s3`(\'http://x/b/k\')',
        "SELECT * FROM remote ('h', system.one)", "SELECT * FROM remoteSecure('h', system.one)", "SELECT * FROM mysql('h','d','t','u','p')", "SELECT * FROM postgresql('h','d','t','u','p')",
        "SELECT * FROM executable('x.sh', 'CSV', 'a String')", "SELECT * FROM input('a String')", "SELECT * FROM jdbc('x','d','t')", "SELECT * FROM odbc('x','d','t')",
        "SELECT * FROM hdfs('hdfs://h/x')", "SELECT * FROM azureBlobStorage('u','c','b')", "SELECT * FROM gcs('u')", "SELECT * FROM cluster('c', system.one)",
        "SELECT * FROM merge('system', '.*')", "SELECT * FROM icebergS3('u')", "SELECT dictGetString('d', 'a', 1)", "SELECT joinGet(j, 'v', 1)", "SELECT * FROM sqlite('/x.db', 't')",
        'SELECT * FROM "url"(\'http://x/\')', "SELECT * FROM file/* gap */('/etc/passwd')", "SELECT * FROM\nFILE\n('/etc/passwd')"]) {
        expect([sql, codeOf(() => checkStatement(sql))]).toEqual([sql, 497]);
      }
    });

    it('refuses many different unclosed $tag$ words at once, in linear time (each was a search to the end of the text, here and in the engine)', () => {
      const started = performance.now();
      const tags = (count: number) => Array.from({ length: count }, (_, n) => `$t${n}$`).join(' ');
      expect(codeOf(() => checkStatement(`SELECT 1 /* /* */ ${tags(30_000)} */`))).toBe(62);
      expect(codeOf(() => checkStatement(`SELECT 1 ${'$a$ '.repeat(60_000)}`))).toBeUndefined();
      expect(performance.now() - started).toBeLessThan(500);
      expect(codeOf(() => checkStatement(`SELECT ${tags(64)}`))).toBeUndefined();
      expect(codeOf(() => checkStatement(`SELECT ${tags(65)}`))).toBe(62);
    });

    it('lets a column be called outfile (INTO OUTFILE is refused), and refuses the introspection functions', () => {
      expect(codeOf(() => checkStatement('SELECT 1 AS outfile, outfile + 1 FROM (SELECT 2 AS outfile)'))).toBeUndefined();
      expect(codeOf(() => checkStatement("SELECT 1 INTO /* x */ OUTFILE '/tmp/x'"))).toBe(164);
      for (const sql of ['SELECT addressToSymbol(toUInt64(1))', 'SELECT addressToLine(1)', "SELECT demangle('_ZN2DB1fEv')"]) {
        expect([sql, codeOf(() => checkStatement(sql))]).toEqual([sql, 497]);
      }
    });

    it("lets Iceberg's partition transforms run: they only compute on their arguments", () => {
      for (const sql of ['SELECT icebergHash(1)', 'SELECT icebergBucket(8, 1)', "SELECT ICEBERGTRUNCATE(3, 'abcdef')"]) {
        expect([sql, codeOf(() => checkStatement(sql))]).toEqual([sql, undefined]);
      }
    });

    it('tokenizes strings and quoted names with backslash escapes and doubled quotes', () => {
      expect(tokenize("SELECT 'a\\'b', 'c''d', `e``f` -- x").map((token) => token.text)).toEqual(['SELECT', "a'b", ',', "c'd", ',', 'e`f']);
    });

    it('reads heredocs, \\x escapes and ClickHouse whitespace as ClickHouse does', () => {
      expect(tokenize("SELECT $$'$$, $tag$a$$b$tag$, `\\x66ile`").map((token) => token.text)).toEqual(['SELECT', "'", ',', 'a$$b', ',', 'file']);
      for (const hidden of ["SELECT $$'$$, file('/etc/hostname') -- '", 'SELECT `\\x66ile`(1)', 'SELECT file\u0085(1)', 'SELECT file\u200b(1)']) {
        expect([hidden, codeOf(() => checkStatement(hidden))]).toEqual([hidden, 497]);
      }
      expect(codeOf(() => checkStatement("SELECT $$x'$$ INTO OUTFILE '/tmp/x' -- '"))).toBe(164);
      expect(codeOf(() => checkStatement("SELECT $$'$$; USE system -- '"))).toBe(62);
    });
  });

  describe('checkAst', () => {
    const select = (tableLine: string) => `SelectWithUnionQuery (children 1)\n ExpressionList (children 1)\n  SelectQuery (children 2)\n   ExpressionList (children 1)\n    Asterisk\n   TablesInSelectQuery (children 1)\n    TablesInSelectQueryElement (children 1)\n     TableExpression (children 1)\n      ${tableLine}\n`;
    const databases = ['INFORMATION_SCHEMA', 'default', 'fleetstream', 'information_schema', 'system'];

    it('accepts the fleetstream tables, information_schema and the harmless system tables', () => {
      const dashboards = ['metrics', 'events', 'merges', 'mutations', 'clusters'].map((table) => `TableIdentifier system.${table}`);
      for (const line of ['TableIdentifier telemetry', 'TableIdentifier fleetstream.telemetry', 'TableIdentifier system.tables', 'TableIdentifier information_schema.columns', 'Function numbers (alias n) (children 1)', ...dashboards]) {
        expect(codeOf(() => checkAst(select(line), 'fleetstream', databases))).toBeUndefined();
      }
    });

    it('refuses other databases and the system tables that are not on the list (DATABASE_ACCESS_DENIED)', () => {
      const quotingOthers = ['processes', 'query_log', 'errors', 'dictionaries', 'users', 'grants'].map((table) => `TableIdentifier system.${table}`);
      for (const line of ['TableIdentifier system.named_collections', 'TableIdentifier default.t', 'TableIdentifier other.t', ...quotingOthers]) {
        expect([line, codeOf(() => checkAst(select(line), 'fleetstream', databases))]).toEqual([line, 291]);
      }
      const inTable = 'SelectWithUnionQuery (children 1)\n ExpressionList (children 1)\n  SelectQuery (children 1)\n   Function in (children 1)\n    ExpressionList (children 2)\n     Literal UInt64_1\n     Identifier system.users\n';
      expect(codeOf(() => checkAst(inTable, 'fleetstream', databases))).toBe(291);
      const column = 'SelectWithUnionQuery (children 1)\n ExpressionList (children 1)\n  SelectQuery (children 1)\n   ExpressionList (children 1)\n    Identifier t.device_id\n';
      expect(codeOf(() => checkAst(column, 'fleetstream', databases))).toBeUndefined();
    });

    it('refuses SHOW, SHOW CREATE and EXISTS of another database, and lets its own, system and information_schema be shown', () => {
      for (const ast of ['ShowTables (children 1)\n Identifier default\n', 'ShowCreateTableQuery default t (children 2)\n Identifier default\n Identifier t\n', 'ExistsDatabaseQuery default  (children 1)\n Identifier default\n']) {
        expect([ast, codeOf(() => checkAst(ast, 'fleetstream', databases))]).toEqual([ast, 291]);
      }
      for (const ast of ['ShowTables (children 1)\n Identifier fleetstream\n', 'ShowTables (children 1)\n Identifier system\n', 'ShowCreateTableQuery fleetstream telemetry_raw (children 2)\n Identifier fleetstream\n Identifier telemetry_raw\n', 'ShowTables\n']) {
        expect([ast, codeOf(() => checkAst(ast, 'fleetstream', databases))]).toEqual([ast, undefined]);
      }
    });

    it('lets values() take rows as tuples, in any case, and refuses it a structure string, whose column definitions run code', () => {
      const values = (firstArgument: string) => `SelectWithUnionQuery (children 1)\n ExpressionList (children 1)\n  SelectQuery (children 2)\n   ExpressionList (children 1)\n    Asterisk\n   TablesInSelectQuery (children 1)\n    TablesInSelectQueryElement (children 1)\n     TableExpression (children 1)\n      Function VALUES (children 1)\n       ExpressionList (children 2)\n        ${firstArgument}\n        Literal '/proc/self/environ'\n`;
      expect(codeOf(() => checkAst(values("Literal Tuple_('a', UInt64_1)"), 'fleetstream', databases))).toBeUndefined();
      expect(codeOf(() => checkAst(values("Literal 'a String, b String ALIAS file(a)'"), 'fleetstream', databases))).toBe(497);
      // whatever folds to a string is refused too: a function, a cast, a bound parameter
      expect(codeOf(() => checkAst(values('Function concat (children 1)'), 'fleetstream', databases))).toBe(497);
      expect(codeOf(() => checkAst(values('Function _CAST (children 1)'), 'fleetstream', databases))).toBe(497);
      expect(codeOf(() => checkAst(values('Literal UInt64_1'), 'fleetstream', databases))).toBeUndefined();
    });

    it('refuses table functions that are not known to make rows from their arguments', () => {
      for (const name of ['merge', 'format', 'timeSeriesData', 'somethingNew', 'generateRandom', 'null']) {
        expect([name, codeOf(() => checkAst(select(`Function ${name} (children 1)`), 'fleetstream', databases))]).toEqual([name, 497]);
      }
    });

    it('refuses a denied function anywhere in the tree, a SETTINGS clause at any depth and an INTO OUTFILE literal', () => {
      const scalar = 'SelectWithUnionQuery (children 1)\n ExpressionList (children 1)\n  SelectQuery (children 1)\n   ExpressionList (children 1)\n    Function file (children 1)\n';
      expect(codeOf(() => checkAst(scalar, 'fleetstream', databases))).toBe(497);
      const nestedSet = 'SelectWithUnionQuery (children 1)\n ExpressionList (children 1)\n  SelectQuery (children 2)\n   ExpressionList (children 1)\n    Asterisk\n   TablesInSelectQuery (children 1)\n    TablesInSelectQueryElement (children 1)\n     TableExpression (children 1)\n      Subquery (children 1)\n       SelectWithUnionQuery (children 1)\n        ExpressionList (children 1)\n         SelectQuery (children 2)\n          ExpressionList (children 1)\n           Literal UInt64_1\n          Set\n';
      expect(codeOf(() => checkAst(nestedSet, 'fleetstream', databases))).toBe(164);
      const outfile = "SelectWithUnionQuery (children 2)\n ExpressionList (children 1)\n  SelectQuery (children 1)\n   ExpressionList (children 1)\n    Literal UInt64_1\n Literal '/tmp/x'\n";
      expect(codeOf(() => checkAst(outfile, 'fleetstream', databases))).toBe(164);
      const format = 'SelectWithUnionQuery (children 2)\n ExpressionList (children 1)\n  SelectQuery (children 1)\n   ExpressionList (children 1)\n    Literal UInt64_1\n Identifier JSON\n';
      expect(codeOf(() => checkAst(format, 'fleetstream', databases))).toBeUndefined();
      expect(codeOf(() => checkAst("ShowTables (children 1)\n Literal 'x'\n", 'fleetstream', databases))).toBe(164);
      expect(codeOf(() => checkAst('Explain EXPLAIN (children 2)\n Set\n SelectWithUnionQuery (children 1)\n', 'fleetstream', databases))).toBeUndefined();
      expect(codeOf(() => checkAst('SelectWithUnionQuery (children 1)\n ExpressionList (children 1)\n  SelectQuery (children 1)\n   ExpressionList (children 1)\n    Asterisk (children 1)\n     ColumnsTransformerList (children 1)\n      ColumnsApplyTransformer\n', 'fleetstream', databases))).toBe(497);
      // an unclosed heredoc is a word to ClickHouse: what follows is still judged
      expect(codeOf(() => checkStatement("SELECT 1 AS $a$ INTO OUTFILE '/tmp/x'"))).toBe(164);
      expect(codeOf(() => checkStatement("SELECT 1 AS $a$, file('/etc/hostname')"))).toBe(497);
      expect(codeOf(() => checkStatement('SELECT 1 AS $a$; DROP TABLE t'))).toBe(62);
      const long = 'a'.repeat(70);
      expect(tokenize(`SELECT $${long}$'$${long}$, 1`).map((token) => token.text)).toEqual(['SELECT', "'", ',', '1']);
    });

    it("reads what the JDBC driver's metadata queries write: db.table.column names and VALUES() in capitals", () => {
      const column = (name: string) => `SelectWithUnionQuery (children 1)\n ExpressionList (children 1)\n  SelectQuery (children 1)\n   ExpressionList (children 1)\n    Identifier ${name}\n`;
      expect(codeOf(() => checkAst(column('system.tables.database'), 'fleetstream', databases))).toBeUndefined();
      expect(codeOf(() => checkAst(column('system.users.name'), 'fleetstream', databases))).toBe(291);
      expect(codeOf(() => checkAst(select("Function VALUES (children 1)\n       ExpressionList (children 1)\n        Literal Tuple_('a', UInt64_1)"), 'fleetstream', databases))).toBeUndefined();
    });

    it('refuses statements the parser names as writes or session changes', () => {
      for (const ast of ['InsertQuery   (children 1)\n Identifier t\n', 'Set\n', 'ShowProcesslistQuery\n', 'ShowGrantsQuery\n', '']) {
        expect([ast, codeOf(() => checkAst(ast, 'fleetstream', databases))]).toEqual([ast, 164]);
      }
    });
  });

  describe('shownColumnsDatabase', () => {
    it('reads the database of SHOW COLUMNS and SHOW INDEXES as ClickHouse prints them', () => {
      expect(shownColumnsDatabase('SHOW COLUMNS FROM users FROM system')).toBe('system');
      expect(shownColumnsDatabase('SHOW FULL COLUMNS FROM `x y` FROM `de\\`f` LIKE \'%a%\'')).toBe('de`f');
      expect(shownColumnsDatabase('SHOW INDEXES FROM t FROM default')).toBe('default');
      expect(shownColumnsDatabase('SHOW COLUMNS FROM t')).toBeUndefined();
      expect(shownColumnsDatabase('SELECT 1')).toBeUndefined();
    });
  });

  describe('materializingSelect', () => {
    it('takes the FORMAT clause off the canonical text, quoted or not, and puts it back on the wrapper', () => {
      expect(withoutFormatClause('SELECT 1 AS x FORMAT JSON\n', 'JSON')).toBe('SELECT 1 AS x');
      expect(withoutFormatClause('SELECT 1 FORMAT `Null`', 'Null')).toBe('SELECT 1');
      expect(withoutFormatClause("SELECT 'FORMAT JSON' AS f", undefined)).toBe("SELECT 'FORMAT JSON' AS f");
      expect(codeOf(() => withoutFormatClause('SELECT 1 FORMAT CSV', 'JSON'))).toBe(62);
      expect(materializingSelect('SELECT 1 AS x, 2', ['x', '2'], 'Null')).toBe('SELECT materialize(`x`) AS `x`, materialize(`2`) AS `2` FROM (SELECT 1 AS x, 2) FORMAT `Null`');
    });

    it('quotes every column name, backquotes and backslashes included', () => {
      expect(materializingSelect('SELECT 1', ['a`b\\c'], undefined)).toBe('SELECT materialize(`a\\`b\\\\c`) AS `a\\`b\\\\c` FROM (SELECT 1)');
    });
  });
});
