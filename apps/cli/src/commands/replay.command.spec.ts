import { InvalidArgumentError } from 'commander';
import { parsePartitionOffsets, parseTimestamp } from './replay.command';

describe('replay arguments', () => {
  it('reads partition=offset pairs', () => expect([...parsePartitionOffsets('0=120, 2:80')]).toEqual([[0, '120'], [2, '80']]));
  it('refuses a malformed pair, naming it', () => expect(() => parsePartitionOffsets('0=120,x')).toThrow(/got "x"/));
  it('reads ISO 8601 and epoch milliseconds', () => {
    expect(parseTimestamp('2026-11-23T10:00:00Z')).toBe(Date.UTC(2026, 10, 23, 10));
    expect(parseTimestamp('1795473587901')).toBe(1795473587901);
    expect(() => parseTimestamp('yesterday')).toThrow(InvalidArgumentError);
  });
});
