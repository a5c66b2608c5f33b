import { InvalidArgumentError } from 'commander';
import { parseFormat, parseParam } from './sql.command';

describe('sql arguments', () => {
  it('reads name=value, the value being everything after the first =', () => {
    expect(parseParam('filter=a=b==c')).toEqual({ filter: 'a=b==c' });
    expect(parseParam('empty=')).toEqual({ empty: '' });
  });

  it('collects repeated --param options', () => expect(parseParam('b=2', parseParam('a=1'))).toEqual({ a: '1', b: '2' }));

  it('refuses a missing =, a bad name and a name given twice', () => {
    expect(() => parseParam('device')).toThrow(InvalidArgumentError);
    expect(() => parseParam('=x')).toThrow(/got "=x"/);
    expect(() => parseParam('1st=x')).toThrow(InvalidArgumentError);
    expect(() => parseParam('a=2', { a: '1' })).toThrow(/given twice/);
  });

  it('knows the four formats only', () => {
    expect(['table', 'csv', 'json', 'parquet'].map(parseFormat)).toEqual(['table', 'csv', 'json', 'parquet']);
    expect(() => parseFormat('xml')).toThrow(/table, csv, json, parquet/);
  });
});
