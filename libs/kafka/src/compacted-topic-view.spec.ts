import { viewLag } from './compacted-topic-view';

describe('viewLag', () => {
  const ends = [
    { partition: 0, low: '0', high: '100' },
    { partition: 1, low: '0', high: '50' },
    { partition: 2, low: '0', high: '0' },
  ];

  it('sums the end offsets minus the positions over the partitions', () => {
    expect(viewLag(ends, new Map([[0, 90], [1, 50], [2, 0]]))).toBe(10);
  });

  it('counts an unread partition from its low watermark: records below it are gone', () => {
    expect(viewLag([{ partition: 0, low: '70', high: '100' }], new Map())).toBe(30);
    expect(viewLag(ends, new Map())).toBe(150);
  });

  it('is never negative for a position past the end offsets read a moment earlier', () => {
    expect(viewLag(ends, new Map([[0, 105], [1, 50]]))).toBe(0);
  });
});
