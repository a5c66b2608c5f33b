import { specFor } from '../testing/given-when-then';
import type { AlertRule } from './alert-rule';
import type { AlertCommand } from './alert.commands';
import { alarmIdOf, alarmPartsOf, alertDecider, alertDueAt, AlertState, isAlarmEvent, isAtRest } from './alert.decider';
import type { AlertClearReason, AlertEvent, RateSample, ReadingRef } from './alert.events';

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const SECOND = 1000;
const key = { ruleId: 'r1', deviceId: 'dev-1' };
const alarm = (n: number) => `r1:dev-1:${n}`;

const overheat: AlertRule = {
  name: 'overheat',
  severity: 'major',
  condition: { type: 'threshold', metric: 'temperature', op: '>', value: 80, forSeconds: 0, clear: { op: '<', value: 75 } },
};
const overheatHeld: AlertRule = { ...overheat, condition: { type: 'threshold', metric: 'temperature', op: '>', value: 80, forSeconds: 30 } };
const silent: AlertRule = { name: 'silent', severity: 'critical', condition: { type: 'absence', forSeconds: 300 } };
const pressureJump: AlertRule = { name: 'pressure jump', severity: 'warning', condition: { type: 'rateOfChange', metric: 'pressure', maxPerSecond: 1, windowSeconds: 10 } };

// readings: seq n is measured at T0 + n seconds and taken in then, unless said otherwise
const ref = (seq: number, eventTime = T0 + seq * SECOND): ReadingRef => ({ eventTime, seq });

// the commands
const evaluate = (rule: AlertRule, seq: number, metrics: Record<string, number>, options: { eventTime?: number; now?: number } = {}): AlertCommand => {
  const eventTime = options.eventTime ?? T0 + seq * SECOND;
  return { type: 'EvaluateReading', data: { ruleId: 'r1', rule, reading: { deviceId: 'dev-1', eventTime, seq, metrics } }, metadata: { now: options.now ?? eventTime } };
};
const timerFires = (rule: AlertRule, now: number): AlertCommand => ({ type: 'CheckAlertDeadline', data: { ...key, rule }, metadata: { now } });
const acknowledge = (alarmId: string, now: number, note: string | null = 'on it'): AlertCommand => ({ type: 'AcknowledgeAlert', data: { alarmId, actor: 'jwt:alice@example.com', note }, metadata: { now } });
const applyRule = (rule: AlertRule | null, now: number, revision = 2): AlertCommand => ({ type: 'ApplyRule', data: { ...key, rule, revision }, metadata: { now } });

// the events
const evaluated = (reading: ReadingRef, at = reading.eventTime, tracking: { silenceDeadline?: number; rateSamples?: RateSample[] } = {}): AlertEvent => ({
  type: 'ReadingEvaluated', data: { ...key, reading, silenceDeadline: tracking.silenceDeadline ?? null, rateSamples: tracking.rateSamples ?? null }, metadata: { at },
});
const pending = (reading: ReadingRef, value: number, forMs: number, at = reading.eventTime): AlertEvent => ({
  type: 'AlertPending', data: { ...key, since: at, until: at + forMs, value, reading }, metadata: { at },
});
const lapsed = (reading: ReadingRef, value: number, at = reading.eventTime): AlertEvent => ({ type: 'AlertPendingLapsed', data: { ...key, value, reading }, metadata: { at } });
const raised = (n: number, rule: AlertRule, value: number | null, reading: ReadingRef | null, at: number): AlertEvent => ({
  type: 'AlertRaised', data: { ...key, alarmId: alarm(n), ruleName: rule.name, severity: rule.severity, notify: rule.notify ?? [], value, reading }, metadata: { at },
});
const acknowledged = (n: number, at: number, note: string | null = 'on it'): AlertEvent => ({
  type: 'AlertAcknowledged', data: { ...key, alarmId: alarm(n), actor: 'jwt:alice@example.com', note }, metadata: { at },
});
const cleared = (n: number, reason: AlertClearReason, value: number | null, reading: ReadingRef | null, at: number): AlertEvent => ({
  type: 'AlertCleared', data: { ...key, alarmId: alarm(n), reason, value, reading }, metadata: { at },
});
const ruleChanged = (at: number, silenceDeadline: number | null = null, deleted = false, revision = 2): AlertEvent => ({
  type: 'AlertRuleChanged', data: { ...key, deleted, revision, silenceDeadline }, metadata: { at },
});

/** An overheat alarm raised by a reading of 85 at seq 1 (T0 + 1 s). */
const overheated = [evaluated(ref(1)), raised(1, overheat, 85, ref(1), T0 + SECOND)];
/** The same alarm, cleared by a reading of 70 at seq 2. */
const cooledDown = [...overheated, evaluated(ref(2)), cleared(1, 'condition-cleared', 70, ref(2), T0 + 2 * SECOND)];

const given = specFor(alertDecider);

/** Decides and folds each command in turn, from `state`: the events of them all. */
function run(commands: AlertCommand[], state: AlertState = alertDecider.initialState()): { events: AlertEvent[]; state: AlertState } {
  const events: AlertEvent[] = [];
  for (const command of commands) {
    const decision = alertDecider.decide(command, state);
    if ('rejection' in decision) throw new Error(decision.rejection.error);
    events.push(...decision.events);
    state = decision.events.reduce(alertDecider.evolve, state);
  }
  return { events, state };
}

describe('alert decider', () => {
  describe('a threshold with hysteresis (raise above 80, clear below 75)', () => {
    describe('when normal', () => {
      it('records a reading within bounds, and stays normal', () => {
        expect(given().when(evaluate(overheat, 1, { temperature: 70 })).then([evaluated(ref(1))])).toMatchObject({ status: 'normal', alarm: null });
      });
      it('raises the alarm at once on a breach (forSeconds 0), with the value and the reading', () => {
        const state = given().when(evaluate(overheat, 1, { temperature: 85 })).then(overheated);
        expect(state).toMatchObject({ status: 'active', alarmCount: 1, alarm: { alarmId: alarm(1), value: 85, reading: ref(1), raisedAt: T0 + SECOND, acknowledged: null, cleared: null } });
      });
      it('ignores a reading without the rule\'s metric', () => {
        given().when(evaluate(overheat, 1, { humidity: 99 })).then([]);
      });
    });

    describe('when active', () => {
      it('raises nothing more on another breach (no storm)', () => {
        expect(given(...overheated).when(evaluate(overheat, 2, { temperature: 95 })).then([evaluated(ref(2))]).status).toBe('active');
      });
      it('stays active between the clear and raise bounds (no flapping)', () => {
        expect(given(...overheated).when(evaluate(overheat, 2, { temperature: 78 })).then([evaluated(ref(2))]).status).toBe('active');
      });
      it('clears below the clear bound, with the value and the reading', () => {
        const state = given(...overheated).when(evaluate(overheat, 2, { temperature: 70 })).then([evaluated(ref(2)), cleared(1, 'condition-cleared', 70, ref(2), T0 + 2 * SECOND)]);
        expect(state).toMatchObject({ status: 'cleared', alarm: { alarmId: alarm(1), cleared: { reason: 'condition-cleared', value: 70, at: T0 + 2 * SECOND } } });
      });
      it('raises one alarm however many readings breach, and clears it once', () => {
        const breaches = Array.from({ length: 100 }, (_, i) => evaluate(overheat, i + 1, { temperature: 81 + (i % 20) }));
        const { events } = run([...breaches, evaluate(overheat, 101, { temperature: 70 }), evaluate(overheat, 102, { temperature: 60 })]);
        expect(events.filter(isAlarmEvent).map((event) => `${event.type}:${event.data.alarmId}`)).toEqual([`AlertRaised:${alarm(1)}`, `AlertCleared:${alarm(1)}`]);
      });
    });

    describe('when cleared', () => {
      it('opens a new alarm, with the next id, on the next breach', () => {
        const state = given(...cooledDown).when(evaluate(overheat, 3, { temperature: 90 })).then([evaluated(ref(3)), raised(2, overheat, 90, ref(3), T0 + 3 * SECOND)]);
        expect(state).toMatchObject({ status: 'active', alarmCount: 2, alarm: { alarmId: alarm(2), cleared: null } });
      });
    });

    describe('without a clear condition', () => {
      const plain: AlertRule = { ...overheat, condition: { type: 'threshold', metric: 'temperature', op: '>', value: 80 } };
      it('clears as soon as the condition stops holding', () => {
        given(evaluated(ref(1)), raised(1, plain, 85, ref(1), T0 + SECOND)).when(evaluate(plain, 2, { temperature: 80 }))
          .then([evaluated(ref(2)), cleared(1, 'condition-cleared', 80, ref(2), T0 + 2 * SECOND)]);
      });
    });
  });

  describe('a threshold held for forSeconds (30 s)', () => {
    const held = [evaluated(ref(1)), pending(ref(1), 85, 30 * SECOND)];

    describe('when normal', () => {
      it('goes pending on a breach, with its deadline in the state', () => {
        const state = given().when(evaluate(overheatHeld, 1, { temperature: 85 })).then(held);
        expect(state).toMatchObject({ status: 'pending', alarm: null });
        expect(alertDueAt(state)).toBe(T0 + 31 * SECOND);
      });
    });

    describe('when pending', () => {
      it('stays pending while the condition holds and the time has not run out', () => {
        given(...held).when(evaluate(overheatHeld, 10, { temperature: 86 })).then([evaluated(ref(10))]);
      });
      it('raises on a breaching reading once the time ran out', () => {
        given(...held).when(evaluate(overheatHeld, 31, { temperature: 86 })).then([evaluated(ref(31)), raised(1, overheatHeld, 86, ref(31), T0 + 31 * SECOND)]);
      });
      it('lapses, with no alarm, when the condition stops holding in time', () => {
        const state = given(...held).when(evaluate(overheatHeld, 10, { temperature: 70 })).then([evaluated(ref(10)), lapsed(ref(10), 70)]);
        expect(state).toMatchObject({ status: 'normal', pending: null, alarm: null });
        expect(alertDueAt(state)).toBeNull();
      });
      it('raises nothing when the timer fires early', () => {
        given(...held).when(timerFires(overheatHeld, T0 + 30 * SECOND)).then([]);
      });
      it('raises when the timer fires at the deadline, with the reading that began it', () => {
        given(...held).when(timerFires(overheatHeld, T0 + 31 * SECOND)).then([raised(1, overheatHeld, 85, ref(1), T0 + 31 * SECOND)]);
      });
    });

    describe('when the service restarts while pending', () => {
      it('has the deadline in the state folded from the events, and raises when the timer fires', () => {
        const restored = given(...held);
        expect(alertDueAt(restored.state)).toBe(T0 + 31 * SECOND);
        restored.when(timerFires(overheatHeld, T0 + 40 * SECOND)).then([raised(1, overheatHeld, 85, ref(1), T0 + 40 * SECOND)]);
      });
    });
  });

  describe('absence (silent for 300 s)', () => {
    const watched = [ruleChanged(T0, T0 + 300 * SECOND)];
    const heard = [...watched, evaluated(ref(10), T0 + 10 * SECOND, { silenceDeadline: T0 + 310 * SECOND })];
    const gone = [...heard, raised(1, silent, null, ref(10), T0 + 310 * SECOND)];

    it('starts counting the silence when the rule applies, so a device already silent is caught', () => {
      const state = given().when(applyRule(silent, T0)).then(watched);
      expect(alertDueAt(state)).toBe(T0 + 300 * SECOND);
    });
    it('moves the deadline on with every reading', () => {
      expect(alertDueAt(given(...watched).when(evaluate(silent, 10, { temperature: 20 })).then([evaluated(ref(10), T0 + 10 * SECOND, { silenceDeadline: T0 + 310 * SECOND })]))).toBe(T0 + 310 * SECOND);
    });
    it('counts the silence from when the service took the reading in, not the device\'s clock', () => {
      const late = evaluate(silent, 10, { temperature: 20 }, { eventTime: T0 - 3600 * SECOND, now: T0 + 10 * SECOND });
      given(...watched).when(late).then([evaluated(ref(10, T0 - 3600 * SECOND), T0 + 10 * SECOND, { silenceDeadline: T0 + 310 * SECOND })]);
    });
    it('raises nothing while the deadline has not passed', () => {
      given(...heard).when(timerFires(silent, T0 + 309 * SECOND)).then([]);
    });
    it('raises at the deadline, naming the last reading heard', () => {
      const state = given(...heard).when(timerFires(silent, T0 + 310 * SECOND)).then([raised(1, silent, null, ref(10), T0 + 310 * SECOND)]);
      expect(state).toMatchObject({ status: 'active', silenceDeadline: null });
      expect(alertDueAt(state)).toBeNull();
    });
    it('raises once: a later timer changes nothing', () => {
      given(...gone).when(timerFires(silent, T0 + 900 * SECOND)).then([]);
    });
    it('clears when the device is heard again, and counts a new silence', () => {
      const state = given(...gone).when(evaluate(silent, 400, { temperature: 20 })).then([
        evaluated(ref(400), T0 + 400 * SECOND, { silenceDeadline: T0 + 700 * SECOND }),
        cleared(1, 'telemetry-resumed', null, ref(400), T0 + 400 * SECOND),
      ]);
      expect(state).toMatchObject({ status: 'cleared' });
      expect(alertDueAt(state)).toBe(T0 + 700 * SECOND);
    });

    describe('of one metric', () => {
      const noGps: AlertRule = { name: 'no gps', severity: 'minor', condition: { type: 'absence', forSeconds: 60, metric: 'lat' } };
      it('does not count a reading without the metric as heard', () => {
        given(ruleChanged(T0, T0 + 60 * SECOND)).when(evaluate(noGps, 10, { temperature: 20 })).then([]);
      });
      it('counts a reading with it, and clears with its value', () => {
        given(ruleChanged(T0, T0 + 60 * SECOND), raised(1, noGps, null, null, T0 + 60 * SECOND)).when(evaluate(noGps, 70, { lat: 52.1 })).then([
          evaluated(ref(70), T0 + 70 * SECOND, { silenceDeadline: T0 + 130 * SECOND }),
          cleared(1, 'telemetry-resumed', 52.1, ref(70), T0 + 70 * SECOND),
        ]);
      });
    });
  });

  describe('rate of change (|Δpressure| / Δt above 1 per second over 10 s)', () => {
    const first = [evaluated(ref(1), T0 + SECOND, { rateSamples: [{ eventTime: T0 + SECOND, value: 100 }] })];
    const window = (...points: [number, number][]) => points.map(([seconds, value]) => ({ eventTime: T0 + seconds * SECOND, value }));

    it('raises nothing on a first reading (no rate yet)', () => {
      given().when(evaluate(pressureJump, 1, { pressure: 100 })).then(first);
    });
    it('raises nothing for a slow change', () => {
      given(...first).when(evaluate(pressureJump, 6, { pressure: 103 })).then([evaluated(ref(6), T0 + 6 * SECOND, { rateSamples: window([1, 100], [6, 103]) })]);
    });
    it('raises on a fast change, with the rate as the value', () => {
      given(...first).when(evaluate(pressureJump, 3, { pressure: 105 })).then([
        evaluated(ref(3), T0 + 3 * SECOND, { rateSamples: window([1, 100], [3, 105]) }),
        raised(1, pressureJump, 2.5, ref(3), T0 + 3 * SECOND),
      ]);
    });
    it('clears when the rate over the window falls back within the bound', () => {
      const jumped = [...first, evaluated(ref(3), T0 + 3 * SECOND, { rateSamples: window([1, 100], [3, 105]) }), raised(1, pressureJump, 2.5, ref(3), T0 + 3 * SECOND)];
      given(...jumped).when(evaluate(pressureJump, 11, { pressure: 106 })).then([
        evaluated(ref(11), T0 + 11 * SECOND, { rateSamples: window([1, 100], [3, 105], [11, 106]) }),
        cleared(1, 'condition-cleared', 0.6, ref(11), T0 + 11 * SECOND),
      ]);
    });
    it('forgets readings older than the window but the newest of them (the anchor)', () => {
      const older = [...first, evaluated(ref(15), T0 + 15 * SECOND, { rateSamples: window([1, 100], [15, 100]) })];
      given(...older).when(evaluate(pressureJump, 30, { pressure: 101 })).then([evaluated(ref(30), T0 + 30 * SECOND, { rateSamples: window([15, 100], [30, 101]) })]);
    });
    it('raises for a device that reports less often than the window, from the anchor', () => {
      given(...first).when(evaluate(pressureJump, 30, { pressure: 200 })).then([
        evaluated(ref(30), T0 + 30 * SECOND, { rateSamples: window([1, 100], [30, 200]) }),
        raised(1, pressureJump, 100 / 29, ref(30), T0 + 30 * SECOND),
      ]);
    });
    it('keeps an active alarm after a gap longer than the window: the rate is taken from the anchor, never a single sample', () => {
      const jumped = [...first, evaluated(ref(3), T0 + 3 * SECOND, { rateSamples: window([1, 100], [3, 105]) }), raised(1, pressureJump, 2.5, ref(3), T0 + 3 * SECOND)];
      given(...jumped).when(evaluate(pressureJump, 60, { pressure: 200 })).then([evaluated(ref(60), T0 + 60 * SECOND, { rateSamples: window([3, 105], [60, 200]) })]);
    });
    it('neither raises nor clears while the rate is unknown (no time between the samples)', () => {
      const jumpedNoAnchor = [
        evaluated(ref(1), T0 + SECOND, { rateSamples: [] }),
        raised(1, pressureJump, 2.5, ref(1), T0 + SECOND),
      ];
      given(...jumpedNoAnchor).when(evaluate(pressureJump, 2, { pressure: 100 }, { eventTime: T0 + SECOND })).then([
        evaluated(ref(2, T0 + SECOND), T0 + SECOND, { rateSamples: window([1, 100]) }),
      ]);
    });
    it('keeps a bounded window however often the device reports', () => {
      const readings = Array.from({ length: 1000 }, (_, i) => evaluate(pressureJump, i + 1, { pressure: 100 }, { eventTime: T0 + i * 10 }));
      const { rateSamples } = run(readings).state;
      expect(rateSamples.length).toBeLessThanOrEqual(65); // about 60 points over the window
      expect(rateSamples[0]!.eventTime).toBeLessThanOrEqual(T0 + 999 * 10 - 9800); // and it still spans the window
    });
  });

  describe('duplicate and out-of-order readings', () => {
    it('decide nothing when delivered again', () => {
      given(...overheated).when(evaluate(overheat, 1, { temperature: 85 })).then([]);
    });
    it('decide nothing when older, even if they would clear the alarm', () => {
      given(...overheated, evaluated(ref(5))).when(evaluate(overheat, 3, { temperature: 20 })).then([]);
    });
    it('decide nothing with the same event time and a lower seq', () => {
      given(evaluated(ref(2, T0))).when(evaluate(overheat, 1, { temperature: 99 }, { eventTime: T0 })).then([]);
    });
    it('decide nothing when a whole stretch of telemetry is replayed: no duplicate alarms', () => {
      const readings = [85, 90, 70, 95, 60].map((temperature, i) => evaluate(overheat, i + 1, { temperature }));
      const live = run(readings);
      expect(live.events.filter(isAlarmEvent).map((event) => event.type)).toEqual(['AlertRaised', 'AlertCleared', 'AlertRaised', 'AlertCleared']);
      expect(run(readings, live.state).events).toEqual([]);
    });
  });

  describe('acknowledgment', () => {
    it('is recorded, with who and the note, on an active alarm', () => {
      const state = given(...overheated).when(acknowledge(alarm(1), T0 + 5 * SECOND)).then([acknowledged(1, T0 + 5 * SECOND)]);
      expect(state).toMatchObject({ status: 'active', alarm: { acknowledged: { actor: 'jwt:alice@example.com', note: 'on it', at: T0 + 5 * SECOND } } });
    });
    it('changes nothing the second time: the first one stands', () => {
      given(...overheated, acknowledged(1, T0 + 5 * SECOND)).when(acknowledge(alarm(1), T0 + 6 * SECOND, 'me too')).then([]);
    });
    it('leaves an acknowledged alarm active until its condition clears', () => {
      given(...overheated, acknowledged(1, T0 + 5 * SECOND)).when(evaluate(overheat, 6, { temperature: 70 }))
        .then([evaluated(ref(6)), cleared(1, 'condition-cleared', 70, ref(6), T0 + 6 * SECOND)]);
    });
    it('is refused on a cleared alarm, saying it cleared', () => {
      given(...cooledDown).when(acknowledge(alarm(1), T0 + 5 * SECOND)).thenRejects({
        type: 'AlarmNotActive', alarmId: alarm(1), error: `alarm ${alarm(1)} cannot be acknowledged: it cleared (condition-cleared); only an active alarm can`,
      });
    });
    it.each<[string, AlertEvent[], string]>([
      ['no alarm yet', [], alarm(1)],
      ['a pending alert', [evaluated(ref(1)), pending(ref(1), 85, 30 * SECOND)], alarm(1)],
      ['an earlier alarm while a later one is active', [...cooledDown, evaluated(ref(3)), raised(2, overheat, 90, ref(3), T0 + 3 * SECOND)], alarm(1)],
    ])('is refused with %s', (_name, history, alarmId) => {
      given(...history).when(acknowledge(alarmId, T0 + 5 * SECOND)).thenRejects({ type: 'AlarmNotActive', alarmId });
    });
  });

  describe('when the rule changes', () => {
    it('clears an active alarm, with the reason', () => {
      const state = given(...overheated).when(applyRule(overheat, T0 + 5 * SECOND)).then([cleared(1, 'rule-changed', null, null, T0 + 5 * SECOND), ruleChanged(T0 + 5 * SECOND)]);
      expect(state).toMatchObject({ status: 'cleared', alarm: { cleared: { reason: 'rule-changed' } } });
    });
    it('raises a new alarm if the changed rule is still breached', () => {
      given(...overheated, cleared(1, 'rule-changed', null, null, T0 + 5 * SECOND), ruleChanged(T0 + 5 * SECOND))
        .when(evaluate(overheat, 6, { temperature: 90 })).then([evaluated(ref(6)), raised(2, overheat, 90, ref(6), T0 + 6 * SECOND)]);
    });
    it('drops a pending alert and its deadline', () => {
      const state = given(evaluated(ref(1)), pending(ref(1), 85, 30 * SECOND)).when(applyRule(overheatHeld, T0 + 5 * SECOND)).then([ruleChanged(T0 + 5 * SECOND)]);
      expect(state).toMatchObject({ status: 'normal', pending: null });
      expect(alertDueAt(state)).toBeNull();
    });
    it('starts the rate window over', () => {
      const state = given(evaluated(ref(1), T0 + SECOND, { rateSamples: [{ eventTime: T0 + SECOND, value: 100 }] })).when(applyRule(pressureJump, T0 + 2 * SECOND)).then([ruleChanged(T0 + 2 * SECOND)]);
      expect(state.rateSamples).toEqual([]);
    });
  });

  describe('when the same rule revision is applied again (say, at a restart)', () => {
    it('decides nothing: the active alarm is neither cleared nor raised again', () => {
      given(...overheated, ruleChanged(T0 + 2 * SECOND, null, false, 3)).when(applyRule(overheat, T0 + 5 * SECOND, 3)).then([]);
    });
    it('decides nothing for an older revision either', () => {
      given(...overheated, ruleChanged(T0 + 2 * SECOND, null, false, 3)).when(applyRule(overheat, T0 + 5 * SECOND, 2)).then([]);
    });
    it('applies a newer revision', () => {
      given(...overheated, ruleChanged(T0 + 2 * SECOND, null, false, 3)).when(applyRule(overheat, T0 + 5 * SECOND, 4))
        .then([cleared(1, 'rule-changed', null, null, T0 + 5 * SECOND), ruleChanged(T0 + 5 * SECOND, null, false, 4)]);
    });
  });

  describe('when the rule is deleted', () => {
    it('clears an active alarm, with the reason', () => {
      given(...overheated).when(applyRule(null, T0 + 5 * SECOND)).then([cleared(1, 'rule-deleted', null, null, T0 + 5 * SECOND), ruleChanged(T0 + 5 * SECOND, null, true)]);
    });
    it('keeps the sinks the rule named when it raised, so the clearance reaches them', () => {
      const paging: AlertRule = { ...overheat, notify: ['ops-pager'] };
      const raisedEvents = given().when(evaluate(paging, 1, { temperature: 85 })).then([evaluated(ref(1)), raised(1, paging, 85, ref(1), T0 + SECOND)]);
      expect(raisedEvents.alarm?.notify).toEqual(['ops-pager']);
      const state = given(evaluated(ref(1)), raised(1, paging, 85, ref(1), T0 + SECOND)).when(applyRule(null, T0 + 5 * SECOND))
        .then([cleared(1, 'rule-deleted', null, null, T0 + 5 * SECOND), ruleChanged(T0 + 5 * SECOND, null, true)]);
      expect(state.alarm).toMatchObject({ notify: ['ops-pager'], cleared: { reason: 'rule-deleted' } });
    });
  });

  describe('when the events are folded again', () => {
    it('gives the same state, alarm ids included (restart = same alarms)', () => {
      const readings = [85, 90, 70, 95].map((temperature, i) => evaluate(overheat, i + 1, { temperature }));
      const live = run([...readings, acknowledge(alarm(2), T0 + 10 * SECOND)]);
      expect(live.events.reduce(alertDecider.evolve, alertDecider.initialState())).toEqual(live.state);
      expect(live.state.alarm).toMatchObject({ alarmId: alarm(2), acknowledged: { actor: 'jwt:alice@example.com' } });
    });
  });
});

describe('an alarm id', () => {
  it('reads back as the rule, device and count that made it, a device id with colons included', () => {
    const ruleId = '0b5e5a57-8c8e-4c55-a1c4-6c4d8a1f2f10';
    expect(alarmPartsOf(alarmIdOf(ruleId, 'plant:7:pump-2', 12))).toEqual({ ruleId, deviceId: 'plant:7:pump-2', count: 12 });
  });
  it.each(['', 'r1', 'r1:dev-1', 'r1:dev-1:0', 'r1:dev-1:x', ':dev-1:1', 'r1::1'])('is not read from %j', (text) => {
    expect(alarmPartsOf(text)).toBeUndefined();
  });
});

describe('a state at rest', () => {
  const after = (rule: AlertRule, ...metrics: Record<string, number>[]) => run([applyRule(rule, T0), ...metrics.map((values, i) => evaluate(rule, i + 1, values))]).state;
  it('is a threshold that never breached, with its rule applied and readings seen', () => {
    expect(isAtRest(after(overheat, { temperature: 20 }, { temperature: 30 }))).toBe(true);
  });
  it('is not one that is pending, active, or cleared (its alarm count names the next alarm), nor one with a deadline or a window', () => {
    expect(isAtRest(after(overheatHeld, { temperature: 85 }))).toBe(false);
    expect(isAtRest(after(overheat, { temperature: 85 }))).toBe(false);
    expect(isAtRest(after(overheat, { temperature: 85 }, { temperature: 20 }))).toBe(false);
    expect(isAtRest(after(silent, { heartbeat: 1 }))).toBe(false);
    expect(isAtRest(after(pressureJump, { pressure: 1 }))).toBe(false);
  });
  it('is again one whose pending condition lapsed before any alarm', () => {
    expect(isAtRest(after(overheatHeld, { temperature: 85 }, { temperature: 20 }))).toBe(true);
  });
});
