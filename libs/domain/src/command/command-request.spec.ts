import { COMMAND_REQUEST_LIMITS, commandRequestError } from './command-request';
import type { CommandRequest } from './command.commands';

const request = (overrides: Partial<CommandRequest> = {}): CommandRequest => ({
  commandId: 'cmd-1',
  deviceId: 'dev-1',
  name: 'reboot',
  params: {},
  ttlMs: 3_600_000,
  timeouts: { deliveryMs: 30_000, acceptanceMs: 60_000, executionMs: 600_000 },
  maxAttempts: 5,
  backoff: { initialMs: 1000, maxMs: 60_000 },
  ordered: true,
  idempotencyKey: null,
  bodyHash: 'h',
  requestedBy: null,
  ...overrides,
});

describe('a command request on fleet.commands', () => {
  describe('when it keeps the bounds', () => {
    it('is accepted', () => expect(commandRequestError(request())).toBeNull());
  });

  describe('when it breaks them', () => {
    it.each([
      ['a time to live past any encodable deadline', { ttlMs: 2 ** 53 - 2 }, /ttlMs/],
      ['a negative timeout', { timeouts: { deliveryMs: -1, acceptanceMs: 1, executionMs: 1 } }, /timeouts.deliveryMs/],
      ['a fractional backoff', { backoff: { initialMs: 0.5, maxMs: 1 } }, /backoff.initialMs/],
      ['no attempts', { maxAttempts: 0 }, /maxAttempts/],
      ['a 2,000-character command id', { commandId: 'c'.repeat(2000) }, /2000 characters/],
      ['params that are an array', { params: [] as unknown as CommandRequest['params'] }, /params/],
    ])('is refused for %s, naming the field', (_, overrides, message) => expect(commandRequestError(request(overrides))).toMatch(message));

    it('keeps the largest deadline a whole number inside the safe range', () =>
      expect(Date.now() + COMMAND_REQUEST_LIMITS.maxDurationMs * 3).toBeLessThan(Number.MAX_SAFE_INTEGER));
  });
});
