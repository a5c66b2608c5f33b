import { loadConfig } from '@fleetstream/config';
import { historyReads, mustWriteAlone, settledWriters, splitHistoryProblem } from './history-topology';

const member = (clientHost: string) => ({ memberId: `m-${clientHost}`, clientId: 'fleetstream', clientHost });

describe('history topology', () => {
  describe('historyReads', () => {
    it('answers here with a shared ClickHouse, or where the history processor runs', () => {
      expect(historyReads({ HISTORY_TRANSPORT: 'server', PROCESSORS: [] })).toEqual({ kind: 'local' });
      expect(historyReads({ HISTORY_TRANSPORT: 'chdb', PROCESSORS: ['history', 'twins'] })).toEqual({ kind: 'local' });
    });

    it('forwards to HISTORY_URL (without a trailing slash) from a chdb instance without history, refuses without it', () => {
      expect(historyReads({ HISTORY_TRANSPORT: 'chdb', PROCESSORS: ['twins'], HISTORY_URL: 'http://history:3000/' })).toEqual({ kind: 'forward', url: 'http://history:3000' });
      const refused = historyReads({ HISTORY_TRANSPORT: 'chdb', PROCESSORS: ['twins'] });
      expect(refused).toEqual({ kind: 'refuse', message: expect.stringMatching(/PROCESSORS.*HISTORY_TRANSPORT=chdb.*HISTORY_URL/) });
    });
  });

  it('requires a lone history writer with chdb only', () => {
    expect(mustWriteAlone({ HISTORY_TRANSPORT: 'chdb', PROCESSORS: ['history'] })).toBe(true);
    expect(mustWriteAlone({ HISTORY_TRANSPORT: 'server', PROCESSORS: ['history'] })).toBe(false);
    expect(mustWriteAlone({ HISTORY_TRANSPORT: 'chdb', PROCESSORS: ['twins'] })).toBe(false);
  });

  it('counts the members of a settled group only: a crashed predecessor lingers in a rebalance', () => {
    expect(settledWriters({ state: 'Stable', members: [member('a'), member('b')] })).toBe(2);
    expect(settledWriters({ state: 'Empty', members: [] })).toBe(0);
    expect(settledWriters({ state: 'PreparingRebalance', members: [member('a'), member('a')] })).toBeUndefined();
    expect(settledWriters({ state: 'CompletingRebalance', members: [member('a')] })).toBeUndefined();
  });

  it('names the members and the settings when the group has more than one', () => {
    expect(splitHistoryProblem('fleet.history', { members: [member('a')] })).toBeNull();
    expect(splitHistoryProblem('fleet.history', { members: [member('/10.0.0.1'), member('/10.0.0.2')] })).toMatch(
      /fleet\.history has 2 members \(fleetstream@\/10\.0\.0\.1, fleetstream@\/10\.0\.0\.2\): with HISTORY_TRANSPORT=chdb .*\(PROCESSORS .*HISTORY_URL .*\(HISTORY_TRANSPORT=server\)/,
    );
  });

  it('refuses a HISTORY_URL that would be ignored, naming why', () => {
    const url = 'http://history:3000';
    expect(loadConfig({ PROCESSORS: 'twins', HISTORY_URL: url }).HISTORY_URL).toBe(url);
    expect(loadConfig({ PROCESSORS: 'twins', HISTORY_URL: '' }).HISTORY_URL).toBeUndefined();
    expect(() => loadConfig({ PROCESSORS: 'history', HISTORY_URL: url })).toThrow(/HISTORY_URL: has no effect where PROCESSORS includes history/);
    expect(() => loadConfig({ PROCESSORS: 'twins', HISTORY_TRANSPORT: 'server', HISTORY_URL: url })).toThrow(/HISTORY_URL: has no effect with HISTORY_TRANSPORT=server/);
    expect(() => loadConfig({ PROCESSORS: 'twins', HISTORY_URL: 'history:3000' })).toThrow(/HISTORY_URL/);
  });
});
