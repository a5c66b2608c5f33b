import { exponentialBackoffMs } from '../backoff';
import type { Decider } from '../decider';
import { exhaustive } from '../exhaustive';
import type { NotificationDeliveryCommand } from './notification-delivery.commands';
import type { NotificationDeliveryEvent } from './notification-delivery.events';

/** How hard a sink is tried: attempts before the dead letter, and the exponential wait between them. */
export interface DeliveryPolicy {
  maxAttempts: number;
  backoff: { initialMs: number; maxMs: number };
}

/** One notification on one sink: attempts so far, and whether it is settled. */
export type NotificationDeliveryState =
  | { status: 'pending'; attempts: number; retryAt: number | null; lastError: string | null }
  | { status: 'delivered'; attempts: number }
  | { status: 'dead-lettered'; attempts: number; lastError: string };

export const initialDeliveryState: NotificationDeliveryState = { status: 'pending', attempts: 0, retryAt: null, lastError: null };

/**
 * Decides what an attempt's outcome means for the notification: delivered, tried again after a
 * backoff, or dead-lettered after the last attempt (or at once when the receiver refused it for good).
 * A settled notification takes no more attempts.
 */
export function decideDelivery(policy: DeliveryPolicy) {
  return (command: NotificationDeliveryCommand, state: NotificationDeliveryState): NotificationDeliveryEvent[] => {
    if (state.status !== 'pending') return [];
    const { outcome } = command.data;
    const { at } = command.metadata;
    const attempt = state.attempts + 1;
    switch (outcome.kind) {
      case 'accepted':
        return [{ type: 'NotificationDelivered', data: { attempt, status: outcome.status }, metadata: { at } }];
      case 'refused':
        return [{ type: 'NotificationDeadLettered', data: { attempts: attempt, reason: 'sink-refused', error: outcome.error }, metadata: { at } }];
      case 'failed':
        if (attempt >= policy.maxAttempts) {
          return [{ type: 'NotificationDeadLettered', data: { attempts: attempt, reason: 'attempts-exhausted', error: outcome.error }, metadata: { at } }];
        }
        return [{ type: 'NotificationRetryScheduled', data: { attempt, error: outcome.error, retryAt: at + exponentialBackoffMs(policy.backoff, attempt) }, metadata: { at } }];
      default:
        return exhaustive(outcome);
    }
  };
}

/** The state after an event; it never depends on the state before, every event says it all (emmett evolve shape). */
export function evolveDelivery(_state: NotificationDeliveryState, event: NotificationDeliveryEvent): NotificationDeliveryState {
  switch (event.type) {
    case 'NotificationDelivered':
      return { status: 'delivered', attempts: event.data.attempt };
    case 'NotificationRetryScheduled':
      return { status: 'pending', attempts: event.data.attempt, retryAt: event.data.retryAt, lastError: event.data.error };
    case 'NotificationDeadLettered':
      return { status: 'dead-lettered', attempts: event.data.attempts, lastError: event.data.error };
    default:
      return exhaustive(event);
  }
}

/** One notification on one sink as a decider of the domain's one shape. */
export function notificationDeliveryDecider(policy: DeliveryPolicy): Decider<NotificationDeliveryCommand, NotificationDeliveryEvent, NotificationDeliveryState> {
  const decide = decideDelivery(policy);
  return { initialState: () => initialDeliveryState, decide: (command, state) => ({ events: decide(command, state) }), evolve: evolveDelivery };
}
