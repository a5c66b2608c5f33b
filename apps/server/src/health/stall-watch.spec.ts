import { StallWatch } from './stall-watch';

describe('StallWatch', () => {
  const stuckMs = 30_000;

  describe('when a view is behind and its position does not move', () => {
    it('is stuck once that lasted stuckMs, counted from the first sample', () => {
      const watch = new StallWatch(stuckMs);
      expect(watch.observe(5, 100, 0)).toEqual({ stalledForMs: 0, stuck: false });
      expect(watch.observe(5, 100, 29_999)).toEqual({ stalledForMs: 29_999, stuck: false });
      expect(watch.observe(7, 100, 30_000)).toEqual({ stalledForMs: 30_000, stuck: true });
    });
  });

  describe('when the view moves while behind', () => {
    it('restarts the clock at each move: a busy view is never stuck', () => {
      const watch = new StallWatch(stuckMs);
      watch.observe(1000, 0, 0);
      for (let t = 20_000; t <= 200_000; t += 20_000) expect(watch.observe(1000, t, t).stuck).toBe(false);
      expect(watch.observe(1000, 200_000, 229_000)).toEqual({ stalledForMs: 29_000, stuck: false });
    });
  });

  describe('when the view caught up', () => {
    it('is not stuck however long it stays at the same position, and a new record starts a fresh clock', () => {
      const watch = new StallWatch(stuckMs);
      watch.observe(3, 10, 0);
      expect(watch.observe(0, 13, 60_000)).toEqual({ stalledForMs: 0, stuck: false });
      expect(watch.observe(0, 13, 3_600_000)).toEqual({ stalledForMs: 0, stuck: false });
      // a record arrives after an hour of quiet: behind only since the last sample that saw it caught up
      expect(watch.observe(1, 13, 3_600_001)).toEqual({ stalledForMs: 1, stuck: false });
      expect(watch.observe(1, 13, 3_630_000).stuck).toBe(true);
    });
  });
});
