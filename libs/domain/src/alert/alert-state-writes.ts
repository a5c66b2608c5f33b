import { AlertRule, compare } from './alert-rule';
import type { AlertState } from './alert.decider';
import type { AlertEvent } from './alert.events';

/**
 * How far, as a share of an absence rule's `forSeconds`, the silence deadline last written may lag
 * the one in memory before the state is written again.
 */
export const SILENCE_DEADLINE_SLACK = 0.1;

/**
 * Whether the state an event leaves must be written to fleet.alert-state now, or may stay in memory
 * until the (device, rule)'s next write. A reading that changes no status moves only what the next
 * decisions read from memory:
 * - a threshold's last reading;
 * - a rate of change's window (after a restart the window goes on from the one last written, so the
 *   rate is taken over a longer span until it fills again);
 * - an absence rule's silence deadline, written again once it moved on by SILENCE_DEADLINE_SLACK of
 *   `forSeconds` (see `restoredAlertState`).
 * Everything else (a status, an alarm, a pending deadline, a rule revision) is written.
 *
 * @param writtenDeadline the silence deadline of the state last written for the pair (undefined: none written)
 */
export function mustWrite(event: AlertEvent, writtenDeadline: number | null | undefined): boolean {
  if (event.type !== 'ReadingEvaluated') return true;
  const { silenceDeadline } = event.data;
  if (silenceDeadline === null) return false;
  if (writtenDeadline === undefined || writtenDeadline === null) return true;
  const forMs = silenceDeadline - event.metadata.at;
  return silenceDeadline - writtenDeadline >= forMs * SILENCE_DEADLINE_SLACK;
}

/**
 * A state as read back from fleet.alert-state by a processor that restarts (or takes the partition
 * over). Its silence deadline may lag the last one in memory by up to SILENCE_DEADLINE_SLACK of
 * `forSeconds`, so it is moved on by that much: across a restart an absence alarm may be raised that
 * much later, never earlier.
 */
export function restoredAlertState(state: AlertState, rule: AlertRule | undefined): AlertState {
  if (state.silenceDeadline === null || rule?.condition.type !== 'absence') return state;
  return { ...state, silenceDeadline: state.silenceDeadline + rule.condition.forSeconds * 1000 * SILENCE_DEADLINE_SLACK };
}

/**
 * Whether a reading leaves a (device, rule) at rest (`isAtRest`) as it was: a threshold that the
 * reading does not breach, or whose metric it does not carry. The decider would decide nothing but
 * the last reading for it, so the processor need not make the pair again to know that.
 */
export function leavesAtRest(rule: AlertRule, metrics: Readonly<Record<string, number>>): boolean {
  const { condition } = rule;
  if (condition.type !== 'threshold') return false;
  const value = metrics[condition.metric];
  return value === undefined || !compare(value, condition.op, condition.value);
}
