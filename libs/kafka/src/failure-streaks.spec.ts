import { FailureStreaks } from './failure-streaks';

describe('FailureStreaks', () => {
  it('counts a streak from its first failure, with its attempts and last error, until a success', () => {
    const streaks = new FailureStreaks<number>();
    streaks.failed(3, new Error('NOT_LEADER'), 1000);
    streaks.failed(3, new TypeError('broker gone'), 4000);
    expect(streaks.failing(10_000)).toEqual([{ key: 3, failingForMs: 9000, attempts: 2, lastError: 'TypeError: broker gone' }]);
    streaks.succeeded(3);
    expect(streaks.failing(10_000)).toEqual([]);
    // a new streak starts afresh; the retries count keeps growing
    streaks.failed(3, 'refused', 20_000);
    expect(streaks.failing(20_500)).toEqual([{ key: 3, failingForMs: 500, attempts: 1, lastError: 'refused' }]);
    expect(streaks.retries).toBe(3);
  });

  it('keeps each key apart and forgets the keys no longer assigned', () => {
    const streaks = new FailureStreaks<number>();
    streaks.failed(0, new Error('a'), 0);
    streaks.failed(1, new Error('b'), 0);
    streaks.succeeded(0);
    streaks.failed(2, new Error('c'), 0);
    streaks.retain([0, 2]);
    expect(streaks.failing(1).map(({ key }) => key)).toEqual([2]);
  });
});
