import { loadConfig } from '@fleetstream/config';
import { FleetSummaryService, SUMMARY_REUSED_FOR_MS } from './fleet-summary.service';

describe('fleet summary', () => {
  it('walks the twins once however many consoles ask within SUMMARY_REUSED_FOR_MS, and again after it', async () => {
    let walks = 0;
    const twins = { scan: () => (walks++, new Map().entries()) };
    const service = new FleetSummaryService(
      loadConfig({ PROCESSORS: 'twins' }),
      twins as never,
      { all: () => new Map() } as never,
      {} as never,
      { telemetryLag: async () => [] } as never,
    );
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_000_000);
    try {
      await Promise.all(Array.from({ length: 100 }, () => service.summary()));
      now.mockReturnValue(1_000_000 + SUMMARY_REUSED_FOR_MS - 1);
      await service.summary();
      expect(walks).toBe(1);
      now.mockReturnValue(1_000_000 + SUMMARY_REUSED_FOR_MS);
      await service.summary();
      expect(walks).toBe(2);
    } finally {
      now.mockRestore();
    }
  });
});
