import type { Decider, Decision } from '../decider';
import { exhaustive } from '../exhaustive';
import { AlertRule, compare } from './alert-rule';
import type { AlertCommand, AlertReading } from './alert.commands';
import type { AlertClearReason, AlertEvent, AlertRejection, RateSample, ReadingRef } from './alert.events';

export type AlertStatus = 'normal' | 'pending' | 'active' | 'cleared';

/** One alarm: raised once, acknowledged at most once, cleared once. */
export interface Alarm {
  alarmId: string;
  ruleId: string;
  deviceId: string;
  ruleName: string;
  severity: AlertRule['severity'];
  /** The rule's `notify` when it raised: every event of this alarm goes to these sinks, even after the rule is deleted. */
  notify: string[];
  raisedAt: number;
  /** The value that raised it (for rate of change, the rate per second); null for absence. */
  value: number | null;
  /** The reading that raised it; for absence, the last one heard (null: none). */
  reading: ReadingRef | null;
  acknowledged: { actor: string; note: string | null; at: number } | null;
  cleared: { reason: AlertClearReason; value: number | null; reading: ReadingRef | null; at: number } | null;
}

/**
 * One (device, rule) alert: the fold of its events. Deadlines are data, so the timers that drive
 * `forSeconds` and absence survive a restart (see `alertDueAt`).
 */
export interface AlertState {
  status: AlertStatus;
  /** Increases by one with every event. */
  version: number;
  /** Alarms raised so far: the next one's id ends in alarmCount + 1, so a replay names alarms the same. */
  alarmCount: number;
  /** The active alarm, or the last one. */
  alarm: Alarm | null;
  /** While pending: since when the condition holds, and when it raises if it still does. */
  pending: { since: number; until: number; value: number | null; reading: ReadingRef } | null;
  /** Absence: silence until this time raises the alarm. */
  silenceDeadline: number | null;
  /** The newest reading evaluated: a reading not newer is a duplicate or out of order and changes nothing. */
  lastReading: ReadingRef | null;
  /**
   * Rate of change: the readings of the window, oldest first, after the newest one older than the
   * window (its anchor), so a device that reports less often than the window still has a rate.
   */
  rateSamples: RateSample[];
  /** The revision of the rule last applied (0: none yet): the same revision applied again decides nothing. */
  ruleRevision: number;
}

export function initialAlertState(): AlertState {
  return { status: 'normal', version: 0, alarmCount: 0, alarm: null, pending: null, silenceDeadline: null, lastReading: null, rateSamples: [], ruleRevision: 0 };
}

/** A rate window keeps about this many points: a reading closer than window / RATE_WINDOW_POINTS to the one before replaces the newest. */
const RATE_WINDOW_POINTS = 60;

/** What a command means for one (device, rule) alert. */
export function decideAlert(command: AlertCommand, state: AlertState): Decision<AlertEvent, AlertRejection> {
  const { now } = command.metadata;
  switch (command.type) {
    case 'EvaluateReading':
      return { events: evaluate(command.data.ruleId, command.data.rule, command.data.reading, state, now) };
    case 'CheckAlertDeadline': {
      const { ruleId, rule, deviceId } = command.data;
      if (state.pending && now >= state.pending.until) {
        // the condition has held since, as no newer reading said otherwise
        return { events: [raised(ruleId, deviceId, rule, state, state.pending.value, state.pending.reading, now)] };
      }
      if (state.silenceDeadline !== null && now >= state.silenceDeadline && state.status !== 'active') {
        return { events: [raised(ruleId, deviceId, rule, state, null, state.lastReading, now)] };
      }
      return { events: [] };
    }
    case 'AcknowledgeAlert': {
      const { alarmId, actor, note } = command.data;
      const alarm = state.alarm;
      if (!alarm || alarm.alarmId !== alarmId || state.status !== 'active') {
        const why = alarm?.alarmId === alarmId && alarm.cleared ? `it cleared (${alarm.cleared.reason})` : 'it is not the active alarm';
        return { rejection: { type: 'AlarmNotActive', alarmId, error: `alarm ${alarmId} cannot be acknowledged: ${why}; only an active alarm can` } };
      }
      if (alarm.acknowledged) return { events: [] }; // the first acknowledgment stands; a repeat changes nothing
      return { events: [{ type: 'AlertAcknowledged', data: { ruleId: alarm.ruleId, deviceId: alarm.deviceId, alarmId, actor, note }, metadata: { at: now } }] };
    }
    case 'ApplyRule': {
      const { ruleId, deviceId, rule, revision } = command.data;
      // a revision already applied (say, again at a restart) must not clear and re-raise the alarm
      if (rule !== null && revision <= state.ruleRevision) return { events: [] };
      const events: AlertEvent[] = [];
      if (state.status === 'active' && state.alarm) {
        const reason = rule === null ? 'rule-deleted' : 'rule-changed';
        events.push({ type: 'AlertCleared', data: { ruleId, deviceId, alarmId: state.alarm.alarmId, reason, value: null, reading: null }, metadata: { at: now } });
      }
      // a silence is counted from when the rule applies, so a device already silent is caught too
      const silenceDeadline = rule?.condition.type === 'absence' ? now + rule.condition.forSeconds * 1000 : null;
      events.push({ type: 'AlertRuleChanged', data: { ruleId, deviceId, deleted: rule === null, revision, silenceDeadline }, metadata: { at: now } });
      return { events };
    }
    default:
      return exhaustive(command);
  }
}

function evaluate(ruleId: string, rule: AlertRule, reading: AlertReading, state: AlertState, now: number): AlertEvent[] {
  const ref: ReadingRef = { eventTime: reading.eventTime, seq: reading.seq };
  if (state.lastReading && !isNewer(ref, state.lastReading)) return []; // a duplicate or out of order: decided already
  const { condition } = rule;
  const { deviceId } = reading;
  const key = { ruleId, deviceId };
  const at = { at: now };
  const value = condition.metric === undefined ? null : reading.metrics[condition.metric];
  if (value === undefined) return []; // not a reading of the rule's metric

  switch (condition.type) {
    case 'absence': {
      const silenceDeadline = now + condition.forSeconds * 1000;
      const evaluated: AlertEvent = { type: 'ReadingEvaluated', data: { ...key, reading: ref, silenceDeadline, rateSamples: null }, metadata: at };
      if (state.status !== 'active' || !state.alarm) return [evaluated];
      return [evaluated, cleared(key, state.alarm, 'telemetry-resumed', value, ref, now)];
    }
    case 'threshold': {
      const measured = value!;
      const evaluated: AlertEvent = { type: 'ReadingEvaluated', data: { ...key, reading: ref, silenceDeadline: null, rateSamples: null }, metadata: at };
      const holds = compare(measured, condition.op, condition.value);
      const clears = condition.clear ? compare(measured, condition.clear.op, condition.clear.value) : !holds;
      return [evaluated, ...transition(key, rule, state, { holds, clears, forMs: (condition.forSeconds ?? 0) * 1000, value: measured, reading: ref, now })];
    }
    case 'rateOfChange': {
      const samples = rateWindow(state.rateSamples, { eventTime: reading.eventTime, value: value! }, condition.windowSeconds * 1000);
      const evaluated: AlertEvent = { type: 'ReadingEvaluated', data: { ...key, reading: ref, silenceDeadline: null, rateSamples: samples }, metadata: at };
      const rate = ratePerSecond(samples);
      // no rate yet (one sample): it neither holds nor clears, so an active alarm stays until a rate says otherwise
      if (rate === null) return [evaluated];
      const holds = rate > condition.maxPerSecond;
      return [evaluated, ...transition(key, rule, state, { holds, clears: !holds, forMs: 0, value: rate, reading: ref, now })];
    }
    default:
      return exhaustive(condition);
  }
}

/** The state machine every reading-driven condition shares: normal/cleared → pending → active → cleared. */
function transition(
  key: { ruleId: string; deviceId: string },
  rule: AlertRule,
  state: AlertState,
  reading: { holds: boolean; clears: boolean; forMs: number; value: number | null; reading: ReadingRef; now: number },
): AlertEvent[] {
  const { holds, clears, forMs, value, now } = reading;
  const at = { at: now };
  switch (state.status) {
    case 'active':
      // one alarm while active: a breaching reading changes nothing, however many come
      return clears && state.alarm ? [cleared(key, state.alarm, 'condition-cleared', value, reading.reading, now)] : [];
    case 'pending':
      if (!holds) return [{ type: 'AlertPendingLapsed', data: { ...key, value, reading: reading.reading }, metadata: at }];
      return now >= state.pending!.until ? [raised(key.ruleId, key.deviceId, rule, state, value, reading.reading, now)] : [];
    case 'normal':
    case 'cleared':
      if (!holds) return [];
      if (forMs > 0) return [{ type: 'AlertPending', data: { ...key, since: now, until: now + forMs, value, reading: reading.reading }, metadata: at }];
      return [raised(key.ruleId, key.deviceId, rule, state, value, reading.reading, now)];
    default:
      return exhaustive(state.status);
  }
}

function raised(ruleId: string, deviceId: string, rule: AlertRule, state: AlertState, value: number | null, reading: ReadingRef | null, now: number): AlertEvent {
  const alarmId = alarmIdOf(ruleId, deviceId, state.alarmCount + 1);
  return { type: 'AlertRaised', data: { ruleId, deviceId, alarmId, ruleName: rule.name, severity: rule.severity, notify: rule.notify ?? [], value, reading }, metadata: { at: now } };
}

function cleared(key: { ruleId: string; deviceId: string }, alarm: Alarm, reason: AlertClearReason, value: number | null, reading: ReadingRef | null, now: number): AlertEvent {
  return { type: 'AlertCleared', data: { ...key, alarmId: alarm.alarmId, reason, value, reading }, metadata: { at: now } };
}

/** An alarm's id: the same (device, rule) and count always give the same id, so a replay names alarms the same. */
export function alarmIdOf(ruleId: string, deviceId: string, count: number): string {
  return `${ruleId}:${deviceId}:${count}`;
}

/**
 * The rule and device an alarm id names, or undefined when it is not one. Rule ids hold no colon and
 * the count is the last part, so a device id with colons in it reads back whole.
 */
export function alarmPartsOf(alarmId: string): { ruleId: string; deviceId: string; count: number } | undefined {
  const match = /^([^:]+):(.+):([1-9][0-9]*)$/.exec(alarmId);
  return match ? { ruleId: match[1]!, deviceId: match[2]!, count: Number(match[3]) } : undefined;
}

/**
 * The window after a sample: the samples within `windowMs` of it, oldest first, thinned to about
 * RATE_WINDOW_POINTS, after the newest older sample (the anchor): without it a gap longer than the
 * window would leave one sample and no rate.
 */
function rateWindow(samples: readonly RateSample[], sample: RateSample, windowMs: number): RateSample[] {
  const start = sample.eventTime - windowMs;
  const anchor = samples.filter((point) => point.eventTime < start).at(-1);
  const kept = samples.filter((point) => point.eventTime >= start);
  const beforeNewest = kept.at(-2);
  if (beforeNewest && sample.eventTime - beforeNewest.eventTime < windowMs / RATE_WINDOW_POINTS) kept[kept.length - 1] = sample;
  else kept.push(sample);
  return anchor ? [anchor, ...kept] : kept;
}

/** |Δvalue| / Δt, per second, from the oldest sample of the window to the newest; null with no time between them. */
function ratePerSecond(samples: readonly RateSample[]): number | null {
  const oldest = samples[0]!;
  const newest = samples.at(-1)!;
  const seconds = (newest.eventTime - oldest.eventTime) / 1000;
  return seconds > 0 ? Math.abs(newest.value - oldest.value) / seconds : null;
}

/** Whether a reading comes after another in its device's order. */
export function isNewer(reading: ReadingRef, last: ReadingRef): boolean {
  return reading.eventTime > last.eventTime || (reading.eventTime === last.eventTime && reading.seq > last.seq);
}

/** The alert after one event. Pure: the same events always fold into the same state. */
export function evolveAlert(state: AlertState, event: AlertEvent): AlertState {
  const next: AlertState = { ...state, version: state.version + 1 };
  // where a pending alert goes back to: cleared after an alarm, normal before any
  const resting: AlertStatus = state.alarm ? 'cleared' : 'normal';
  const at = event.metadata.at;
  switch (event.type) {
    case 'ReadingEvaluated':
      return {
        ...next,
        lastReading: event.data.reading,
        silenceDeadline: event.data.silenceDeadline ?? state.silenceDeadline,
        rateSamples: event.data.rateSamples ?? state.rateSamples,
      };
    case 'AlertPending': {
      const { since, until, value, reading } = event.data;
      return { ...next, status: 'pending', pending: { since, until, value, reading } };
    }
    case 'AlertPendingLapsed':
      return { ...next, status: resting, pending: null };
    case 'AlertRaised': {
      const { alarmId, ruleId, deviceId, ruleName, severity, notify, value, reading } = event.data;
      return {
        ...next,
        status: 'active',
        alarmCount: state.alarmCount + 1,
        alarm: { alarmId, ruleId, deviceId, ruleName, severity, notify, raisedAt: at, value, reading, acknowledged: null, cleared: null },
        pending: null,
        silenceDeadline: null,
      };
    }
    case 'AlertAcknowledged':
      if (!state.alarm) return next;
      return { ...next, alarm: { ...state.alarm, acknowledged: { actor: event.data.actor, note: event.data.note, at } } };
    case 'AlertCleared':
      if (!state.alarm) return next;
      return { ...next, status: 'cleared', alarm: { ...state.alarm, cleared: { reason: event.data.reason, value: event.data.value, reading: event.data.reading, at } } };
    case 'AlertRuleChanged':
      return {
        ...next,
        status: state.status === 'pending' ? resting : state.status,
        pending: null,
        rateSamples: [],
        silenceDeadline: event.data.silenceDeadline,
        ruleRevision: event.data.revision,
      };
    default:
      return exhaustive(event);
  }
}

/** When the alert must next be looked at without a reading (a timer), or null. */
export function alertDueAt(state: AlertState): number | null {
  if (state.pending) return state.pending.until;
  return state.status === 'active' ? null : state.silenceDeadline;
}

/** Whether an event is part of an alarm's history (fleet.alerts), not only a move of the state. */
export function isAlarmEvent(event: AlertEvent): event is Extract<AlertEvent, { type: 'AlertRaised' | 'AlertAcknowledged' | 'AlertCleared' }> {
  return event.type === 'AlertRaised' || event.type === 'AlertAcknowledged' || event.type === 'AlertCleared';
}

/**
 * Whether the alert decides as if it had never been: normal, with no alarm so far, nothing pending,
 * no silence deadline and no rate window. Such a state need not be kept anywhere: started again
 * from `initialState` with the rule applied, it makes the same decisions (a threshold that never
 * breached on a device is most of a fleet's (device, rule) pairs).
 */
export function isAtRest(state: AlertState): boolean {
  return state.status === 'normal' && state.alarmCount === 0 && state.pending === null && state.silenceDeadline === null && state.rateSamples.length === 0;
}

/** One (device, rule) alert as a decider. */
export const alertDecider: Decider<AlertCommand, AlertEvent, AlertState, AlertRejection> = {
  initialState: initialAlertState,
  decide: decideAlert,
  evolve: evolveAlert,
};
