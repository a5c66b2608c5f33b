import { CommandRetentionIndex, requestOutlivedRetention } from './command-retention';

const RETENTION_MS = 1000;

describe('CommandRetentionIndex', () => {
  it('given commands that ended, when their retention has not passed, then none is due', () => {
    const index = new CommandRetentionIndex(RETENTION_MS);
    index.ended('a', 100);
    expect(index.hasDue(1099)).toBe(false);
    expect(index.takeDue(1099)).toEqual([]);
    expect(index.size).toBe(1);
  });

  it('given commands that ended out of order, when time passes, then they are due oldest end first, each once', () => {
    const index = new CommandRetentionIndex(RETENTION_MS);
    for (const [commandId, endedAt] of [['c', 300], ['a', 100], ['d', 400], ['b', 200]] as const) index.ended(commandId, endedAt);
    expect(index.takeDue(1250).map((e) => e.commandId)).toEqual(['a', 'b']);
    expect(index.takeDue(1250)).toEqual([]);
    expect(index.takeDue(5000)).toEqual([{ commandId: 'c', endedAt: 300 }, { commandId: 'd', endedAt: 400 }]);
    expect(index.size).toBe(0);
  });

  it('given many due commands, when taking with a limit, then at most the limit is taken and the rest stays due', () => {
    const index = new CommandRetentionIndex(RETENTION_MS);
    for (let i = 0; i < 10; i++) index.ended(`c${i}`, i);
    expect(index.takeDue(5000, 4)).toHaveLength(4);
    expect(index.size).toBe(6);
    expect(index.takeDue(5000).map((e) => e.commandId)).toEqual(['c4', 'c5', 'c6', 'c7', 'c8', 'c9']);
  });

  it('given a command id requested anew after it ended, when its old end is due, then it is not forgotten', () => {
    const index = new CommandRetentionIndex(RETENTION_MS);
    index.ended('a', 100);
    index.reopened('a');
    expect(index.takeDue(5000)).toEqual([]);
    expect(index.size).toBe(0);
  });

  it('given a command id that ended again later, when only its first end is due, then it waits for the later end', () => {
    const index = new CommandRetentionIndex(RETENTION_MS);
    index.ended('a', 100);
    index.reopened('a');
    index.ended('a', 2000);
    expect(index.takeDue(1500)).toEqual([]);
    expect(index.takeDue(3000)).toEqual([{ commandId: 'a', endedAt: 2000 }]);
  });

  it('given due commands taken but not tombstoned, when given back, then they are due again', () => {
    const index = new CommandRetentionIndex(RETENTION_MS);
    index.ended('a', 100);
    const taken = index.takeDue(2000);
    for (const { commandId, endedAt } of taken) index.ended(commandId, endedAt);
    expect(index.takeDue(2000)).toEqual(taken);
  });

  it('given a thousand random end times, when all are due, then they come out sorted', () => {
    const index = new CommandRetentionIndex(RETENTION_MS);
    const ends = Array.from({ length: 1000 }, (_, i) => ({ commandId: `c${i}`, endedAt: Math.floor(Math.random() * 10_000) }));
    ends.forEach((e) => index.ended(e.commandId, e.endedAt));
    const out = index.takeDue(20_000).map((e) => e.endedAt);
    expect(out).toEqual([...out].sort((a, b) => a - b));
    expect(out).toHaveLength(1000);
  });
});

describe('requestOutlivedRetention', () => {
  it('given a request read within the retention, then it is started', () => {
    expect(requestOutlivedRetention(1000, 1999, RETENTION_MS)).toBe(false);
  });

  it('given a request read the retention or more after it was made, then it is not', () => {
    expect(requestOutlivedRetention(1000, 2000, RETENTION_MS)).toBe(true);
  });
});
