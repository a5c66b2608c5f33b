import { fleetGroups } from '@fleetstream/kafka';
import { processorGroups } from './consumer-lag.metrics';

describe('processorGroups', () => {
  const groups = fleetGroups('fleet');

  it('maps each processor to its own consumer group', () => {
    expect(processorGroups('fleet', ['history', 'twins', 'commands'])).toEqual([groups.history, groups.twinProcessor, groups.commandSaga]);
  });

  it('exports the command saga\'s group when only the saga runs', () => {
    expect(processorGroups('fleet', ['commands'])).toEqual(['fleet.command-saga']);
  });

  it('leaves the notifiers to their own per-sink gauge', () => {
    expect(processorGroups('fleet', ['twins', 'notifications'])).toEqual([groups.twinProcessor]);
  });

  it('has no group for an instance that serves REST only', () => {
    expect(processorGroups('fleet', [])).toEqual([]);
  });
});
