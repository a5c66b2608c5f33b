import type { AttemptOutcome, NotificationDeliveryCommand } from './notification-delivery.commands';
import { outcomeOfStatus } from './notification-delivery.commands';
import { decideDelivery, DeliveryPolicy, evolveDelivery, initialDeliveryState, NotificationDeliveryState } from './notification-delivery.decider';

const T0 = Date.UTC(2026, 0, 1);
const policy: DeliveryPolicy = { maxAttempts: 4, backoff: { initialMs: 1000, maxMs: 3000 } };
const decide = decideDelivery(policy);

const attempt = (outcome: AttemptOutcome, at = T0): NotificationDeliveryCommand => ({ type: 'RecordAttempt', data: { outcome }, metadata: { at } });
const failed = (at = T0) => attempt({ kind: 'failed', error: 'HTTP 500' }, at);
const accepted = (at = T0) => attempt({ kind: 'accepted', status: 204 }, at);

/** given(the attempts so far).when(the next one) → the events it records and the state after them. */
function given(...history: NotificationDeliveryCommand[]) {
  const state = history.reduce<NotificationDeliveryState>((current, command) => decide(command, current).reduce(evolveDelivery, current), initialDeliveryState);
  return {
    when(command: NotificationDeliveryCommand) {
      const events = decide(command, state);
      return {
        then: (expected: object[]) => expect(events).toMatchObject(expected),
        state: () => events.reduce(evolveDelivery, state),
      };
    },
  };
}

describe('notification delivery', () => {
  describe('when nothing was tried yet', () => {
    it('records a 2xx answer as delivered on the first attempt', () =>
      given().when(accepted()).then([{ type: 'NotificationDelivered', data: { attempt: 1, status: 204 } }]));
    it('schedules a retry after the initial backoff when the attempt failed', () =>
      given().when(failed(T0)).then([{ type: 'NotificationRetryScheduled', data: { attempt: 1, error: 'HTTP 500', retryAt: T0 + 1000 } }]));
    it('dead-letters at once what the receiver refused for good', () =>
      given().when(attempt({ kind: 'refused', status: 400, error: 'HTTP 400' })).then([{ type: 'NotificationDeadLettered', data: { attempts: 1, reason: 'sink-refused' } }]));
  });

  describe('when attempts keep failing', () => {
    it('doubles the wait up to the maximum', () => {
      const retryAts = [1, 2, 3].map((n) => {
        const [event] = decide(failed(T0), replay(n - 1));
        return event?.type === 'NotificationRetryScheduled' ? event.data.retryAt - T0 : null;
      });
      expect(retryAts).toEqual([1000, 2000, 3000]);
    });
    it('dead-letters after the last attempt, with the last error', () =>
      given(failed(), failed(), failed()).when(attempt({ kind: 'failed', error: 'timeout after 5000 ms' })).then([
        { type: 'NotificationDeadLettered', data: { attempts: 4, reason: 'attempts-exhausted', error: 'timeout after 5000 ms' } },
      ]));
    it('still delivers on the last attempt', () =>
      given(failed(), failed(), failed()).when(accepted()).then([{ type: 'NotificationDelivered', data: { attempt: 4 } }]));
  });

  describe('when the notification is settled', () => {
    it('takes no attempt after it was delivered', () => given(accepted()).when(failed()).then([]));
    it('takes no attempt after it was dead-lettered', () => given(failed(), failed(), failed(), failed()).when(accepted()).then([]));
    it('folds the dead letter into its state', () =>
      expect(given(failed(), failed(), failed()).when(failed()).state()).toEqual({ status: 'dead-lettered', attempts: 4, lastError: 'HTTP 500' }));
  });

  describe('what an HTTP answer means', () => {
    it.each([
      [200, 'accepted'], [204, 'accepted'], [500, 'failed'], [503, 'failed'], [408, 'failed'], [429, 'failed'],
      [400, 'refused'], [401, 'refused'], [404, 'refused'], [302, 'refused'],
    ])('HTTP %i is %s', (status, kind) => expect(outcomeOfStatus(status).kind).toBe(kind));
  });
});

/** The state after `failures` failed attempts. */
function replay(failures: number): NotificationDeliveryState {
  return Array.from({ length: failures }, () => failed()).reduce<NotificationDeliveryState>(
    (state, command) => decide(command, state).reduce(evolveDelivery, state),
    initialDeliveryState,
  );
}
