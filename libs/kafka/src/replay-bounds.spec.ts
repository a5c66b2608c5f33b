import type { OffsetChange } from './consumer-group-admin';
import { boundReplay, ReplayBounds } from './replay-bounds';

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
