import { lagOf, lagWithRate, planOffsetChanges, PartitionPosition } from './consumer-group-admin';

const position = (partition: number, committed: string | null, low = '0', high = '100'): PartitionPosition => ({ topic: 't', partition, committed, low, high });

describe('consumer group arithmetic', () => {
  describe('when the group never committed on a partition', () => {
    it('counts everything retained as lag', () => expect(lagOf(position(0, null, '40', '100'))).toBe(60));
  });

  describe('when the rate is sampled', () => {
    it('estimates the time to catch up from the committed progress', () => {
      const [lag] = lagWithRate([position(0, '20')], [position(0, '60')], 2);
      expect(lag).toMatchObject({ lag: 40, ratePerSecond: 20, catchUpSeconds: 2 });
    });
    it('says unknown when the group made no progress, and zero when caught up', () => {
      expect(lagWithRate([position(0, '20')], [position(0, '20')], 2)[0]!.catchUpSeconds).toBeNull();
      expect(lagWithRate([position(0, '100')], [position(0, '100')], 2)[0]!.catchUpSeconds).toBe(0);
    });
  });

  describe('when a reset is planned', () => {
    it('clamps targets into what the partition retains and counts the records read again', () => {
      const changes = planOffsetChanges([position(0, '80', '10'), position(1, '50'), position(2, '5')], new Map([[0, '0'], [1, '500']]));
      expect(changes).toEqual([
        { topic: 't', partition: 0, from: '80', to: '10', delta: 70 },
        { topic: 't', partition: 1, from: '50', to: '100', delta: -50 },
      ]);
    });
  });
});
