import type { ConsumedRecord } from './batch-consumer';
import type { SkippedRecord } from './compacted-topic-view';
import type { OffsetChange } from './consumer-group-admin';
import { boundReplay, foldReplayBounds, ReplayBound, ReplayBounds } from './replay-bounds';

const change = (partition: number, from: string | null, to: string): OffsetChange => ({
  topic: 't', partition, from, to, delta: Number(BigInt(from ?? '0') - BigInt(to)),
});

describe('a replay with an end', () => {
  it.each<[string, OffsetChange, string, OffsetChange | null, { skipFrom: string; resumeAt: string } | null]>([
    ['reads the range again and skips to where the group was', change(0, '100', '10'), '40', { ...change(0, '100', '10'), delta: 30 }, { skipFrom: '40', resumeAt: '100' }],
    ['needs no bound when the end is at or past where the group was', change(0, '100', '10'), '100', change(0, '100', '10'), null],
    ['does not move a partition whose range is empty', change(0, '100', '50'), '50', null, null],
    ['reads everything where the group never committed', change(0, null, '0'), '40', change(0, null, '0'), null],
  ])('%s', (_name, planned, end, expectedChange, expectedBound) => {
    const { changes, bounds } = boundReplay([planned], [change(0, planned.from, end)]);
    expect(changes).toEqual(expectedChange ? [expectedChange] : []);
    expect(bounds).toEqual(expectedBound ? [{ topic: 't', partition: 0, ...expectedBound }] : []);
  });

  it('skips exactly the records between the end and the previous position', () => {
    const bounds = new ReplayBounds([{ topic: 't', partition: 0, skipFrom: '40', resumeAt: '100' }]);
    expect(['39', '40', '99', '100'].map((offset) => bounds.skips('t', 0, offset))).toEqual([false, true, true, false]);
    expect(bounds.skips('t', 1, '50')).toBe(false);
  });
});

describe('reading the bounds topic', () => {
  const bound: ReplayBound = { topic: 't', partition: 0, skipFrom: '40', resumeAt: '100' };
  const record = (offset: number, key: string | Buffer | null, value: string | Buffer | null): ConsumedRecord => ({
    topic: 'fleet.replay-bounds', partition: 0, offset: String(offset), headers: {}, timestamp: 0,
    key: typeof key === 'string' ? Buffer.from(key) : key,
    value: typeof value === 'string' ? Buffer.from(value) : value,
  });
  const fold = (records: ConsumedRecord[]) => {
    const latest = new Map<string, ReplayBound | null>();
    const skipped: SkippedRecord[] = [];
    foldReplayBounds(latest, records, 'g', (skip) => skipped.push(skip));
    return { bounds: [...latest.values()].filter((b) => b !== null), skipped: skipped.map((s) => [s.offset, s.reason]) };
  };

  it('keeps the latest bound per partition of the group, and a tombstone clears it', () => {
    const key = JSON.stringify(['g', 't', 0]);
    expect(fold([record(0, key, JSON.stringify({ ...bound, skipFrom: '10' })), record(1, key, JSON.stringify(bound))]).bounds).toEqual([bound]);
    expect(fold([record(0, key, JSON.stringify(bound)), record(1, key, null)]).bounds).toEqual([]);
    expect(fold([record(0, JSON.stringify(['other', 't', 0]), 'not even JSON')])).toEqual({ bounds: [], skipped: [] });
  });

  it('skips records that are not bounds, by reason, and still reads the good ones after them', () => {
    const key = JSON.stringify(['g', 't', 0]);
    const { bounds, skipped } = fold([
      record(0, null, JSON.stringify(bound)),
      record(1, 'not json', JSON.stringify(bound)),
      record(2, Buffer.from([0xff, 0x00, 0x12]), JSON.stringify(bound)),
      record(3, JSON.stringify(['g', 't']), JSON.stringify(bound)),
      record(4, key, '{"topic":"t","partition":0'),
      record(5, key, JSON.stringify({ ...bound, partition: 1 })),
      record(6, key, JSON.stringify({ ...bound, skipFrom: -1 })),
      record(7, key, JSON.stringify(bound)),
    ]);
    expect(bounds).toEqual([bound]);
    expect(skipped).toEqual([['0', 'missing-key'], ['1', 'invalid-key'], ['2', 'invalid-key'], ['3', 'invalid-key'], ['4', 'undecodable'], ['5', 'undecodable'], ['6', 'undecodable']]);
  });
});
