import { specFor } from '../testing/given-when-then';
import type { AttemptOutcome, NotificationDeliveryCommand } from './notification-delivery.commands';
import { outcomeOfStatus } from './notification-delivery.commands';
import { DeliveryPolicy, notificationDeliveryDecider } from './notification-delivery.decider';
import type { NotificationDeliveryEvent } from './notification-delivery.events';

const T0 = Date.UTC(2026, 0, 1);
const policy: DeliveryPolicy = { maxAttempts: 4, backoff: { initialMs: 1000, maxMs: 3000 } };
const given = specFor(notificationDeliveryDecider(policy));

const attempt = (outcome: AttemptOutcome, at = T0): NotificationDeliveryCommand => ({ type: 'RecordAttempt', data: { outcome }, metadata: { at } });
const failed = (at = T0) => attempt({ kind: 'failed', error: 'HTTP 500' }, at);
const accepted = (at = T0) => attempt({ kind: 'accepted', status: 204 }, at);

/** The events of `failures` failed attempts at T0. */
const retried = (failures: number): NotificationDeliveryEvent[] =>
  Array.from({ length: failures }, (_, i) => ({
    type: 'NotificationRetryScheduled' as const,
    data: { attempt: i + 1, error: 'HTTP 500', retryAt: T0 + Math.min(3000, 1000 * 2 ** i) },
    metadata: { at: T0 },
  }));

describe('notification delivery', () => {
  describe('when nothing was tried yet', () => {
    it('records a 2xx answer as delivered on the first attempt', () => {
      given().when(accepted()).then([{ type: 'NotificationDelivered', data: { attempt: 1, status: 204 }, metadata: { at: T0 } }]);
    });
    it('schedules a retry after the initial backoff when the attempt failed', () => {
      given().when(failed(T0)).then([{ type: 'NotificationRetryScheduled', data: { attempt: 1, error: 'HTTP 500', retryAt: T0 + 1000 }, metadata: { at: T0 } }]);
    });
    it('dead-letters at once what the receiver refused for good', () => {
      given()
        .when(attempt({ kind: 'refused', status: 400, error: 'HTTP 400' }))
        .then([{ type: 'NotificationDeadLettered', data: { attempts: 1, reason: 'sink-refused', error: 'HTTP 400' }, metadata: { at: T0 } }]);
    });
  });

  describe('when attempts keep failing', () => {
    it('doubles the wait up to the maximum', () => {
      const waits = [0, 1, 2].map((before) => {
        const [event] = given(...retried(before)).when(failed(T0)).events ?? [];
        return event?.type === 'NotificationRetryScheduled' ? event.data.retryAt - T0 : null;
      });
      expect(waits).toEqual([1000, 2000, 3000]);
    });
    it('dead-letters after the last attempt, with the last error', () => {
      given(...retried(3))
        .when(attempt({ kind: 'failed', error: 'timeout after 5000 ms' }))
        .then([{ type: 'NotificationDeadLettered', data: { attempts: 4, reason: 'attempts-exhausted', error: 'timeout after 5000 ms' }, metadata: { at: T0 } }]);
    });
    it('still delivers on the last attempt', () => {
      given(...retried(3)).when(accepted()).then([{ type: 'NotificationDelivered', data: { attempt: 4, status: 204 }, metadata: { at: T0 } }]);
    });
  });

  describe('when the notification is settled', () => {
    it('takes no attempt after it was delivered', () => {
      given({ type: 'NotificationDelivered', data: { attempt: 1, status: 204 }, metadata: { at: T0 } }).when(failed()).then([]);
    });
    it('takes no attempt after it was dead-lettered, and folds the dead letter into its state', () => {
      const state = given(...retried(3), { type: 'NotificationDeadLettered', data: { attempts: 4, reason: 'attempts-exhausted', error: 'HTTP 500' }, metadata: { at: T0 } })
        .when(accepted())
        .then([]);
      expect(state).toEqual({ status: 'dead-lettered', attempts: 4, lastError: 'HTTP 500' });
    });
  });

  describe('what an HTTP answer means', () => {
    it.each([
      [200, 'accepted'], [204, 'accepted'], [500, 'failed'], [503, 'failed'], [408, 'failed'], [429, 'failed'],
      [400, 'refused'], [401, 'refused'], [404, 'refused'], [302, 'refused'],
    ])('HTTP %i is %s', (status, kind) => expect(outcomeOfStatus(status).kind).toBe(kind));
  });
});
