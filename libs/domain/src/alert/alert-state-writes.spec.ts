import type { AlertRule } from './alert-rule';
import type { AlertCommand } from './alert.commands';
import { alertDecider, AlertState, isAtRest } from './alert.decider';
import type { AlertEvent } from './alert.events';
import { leavesAtRest, mustWrite, restoredAlertState, SILENCE_DEADLINE_SLACK } from './alert-state-writes';

const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);
const SECOND = 1000;
const key = { ruleId: 'r1', deviceId: 'dev-1' };

const overheat: AlertRule = { name: 'overheat', severity: 'major', condition: { type: 'threshold', metric: 'temperature', op: '>', value: 80, forSeconds: 0, clear: { op: '<', value: 75 } } };
const heldOverheat: AlertRule = { ...overheat, condition: { type: 'threshold', metric: 'temperature', op: '>=', value: 80, forSeconds: 30 } };
const silent: AlertRule = { name: 'silent', severity: 'critical', condition: { type: 'absence', forSeconds: 300 } };
const jump: AlertRule = { name: 'jump', severity: 'warning', condition: { type: 'rateOfChange', metric: 'pressure', maxPerSecond: 1, windowSeconds: 10 } };

const applyRule = (rule: AlertRule, now = T0): AlertCommand => ({ type: 'ApplyRule', data: { ...key, rule, revision: 1 }, metadata: { now } });
const evaluate = (rule: AlertRule, seq: number, metrics: Record<string, number>): AlertCommand => {
  const eventTime = T0 + seq * SECOND;
  return { type: 'EvaluateReading', data: { ruleId: key.ruleId, rule, reading: { deviceId: key.deviceId, eventTime, seq, metrics } }, metadata: { now: eventTime } };
};

/** Decides and folds each command in turn from a new pair: the events of the last command, and the state. */
function run(commands: AlertCommand[]): { last: AlertEvent[]; state: AlertState } {
  let state = alertDecider.initialState();
  let last: AlertEvent[] = [];
  for (const command of commands) {
    const decision = alertDecider.decide(command, state);
    if ('rejection' in decision) throw new Error(decision.rejection.error);
    last = decision.events;
    state = last.reduce(alertDecider.evolve, state);
  }
  return { last, state };
}

describe('which alert states are written', () => {
  it("not a threshold's or a rate of change's reading that changes no status", () => {
    expect(run([applyRule(overheat), evaluate(overheat, 1, { temperature: 20 }), evaluate(overheat, 2, { temperature: 30 })]).last.map((event) => mustWrite(event, null))).toEqual([false]);
    expect(run([applyRule(jump), evaluate(jump, 1, { pressure: 1 }), evaluate(jump, 2, { pressure: 1.5 })]).last.map((event) => mustWrite(event, null))).toEqual([false]);
  });

  it('every change of status, alarm or rule', () => {
    const raised = run([applyRule(overheat), evaluate(overheat, 1, { temperature: 85 })]).last;
    expect(raised.map((event) => [event.type, mustWrite(event, null)])).toEqual([['ReadingEvaluated', false], ['AlertRaised', true]]);
    expect(run([applyRule(heldOverheat), evaluate(heldOverheat, 1, { temperature: 85 })]).last.some((event) => mustWrite(event, null))).toBe(true);
    expect(run([applyRule(overheat)]).last.every((event) => mustWrite(event, null))).toBe(true);
  });

  it('an absence deadline once it moved on by the slack past the one written, or when none was written', () => {
    const [evaluated] = run([applyRule(silent), evaluate(silent, 1, { heartbeat: 1 })]).last;
    const deadline = T0 + SECOND + 300 * SECOND;
    const slackMs = 300 * SECOND * SILENCE_DEADLINE_SLACK;
    expect(mustWrite(evaluated!, undefined)).toBe(true);
    expect(mustWrite(evaluated!, deadline - slackMs + 1)).toBe(false);
    expect(mustWrite(evaluated!, deadline - slackMs)).toBe(true);
  });
});

describe('a state read back after a restart', () => {
  it('has its silence deadline moved on by the slack it may lag, so a silence is never raised early', () => {
    const { state } = run([applyRule(silent), evaluate(silent, 1, { heartbeat: 1 })]);
    expect(restoredAlertState(state, silent).silenceDeadline).toBe(state.silenceDeadline! + 300 * SECOND * SILENCE_DEADLINE_SLACK);
  });
  it('is unchanged otherwise (no deadline, another kind of rule, or a rule no longer known)', () => {
    const { state } = run([applyRule(overheat), evaluate(overheat, 1, { temperature: 85 })]);
    expect(restoredAlertState(state, overheat)).toBe(state);
    const silence = run([applyRule(silent)]).state;
    expect(restoredAlertState(silence, undefined)).toBe(silence);
  });
});

describe('a reading that leaves a pair at rest', () => {
  // the processor skips the decider for these: each case checks the decider agrees
  it.each([
    [overheat, { temperature: 20 }],
    [overheat, { temperature: 80 }],
    [overheat, { humidity: 99 }],
    [heldOverheat, { temperature: 79.9 }],
  ])('%# is judged at rest without the decider, and the decider leaves the pair at rest', (rule, metrics) => {
    expect(leavesAtRest(rule, metrics)).toBe(true);
    expect(isAtRest(run([applyRule(rule), evaluate(rule, 1, metrics)]).state)).toBe(true);
  });

  it.each([
    [overheat, { temperature: 85 }],
    [heldOverheat, { temperature: 80 }],
    [silent, { heartbeat: 1 }],
    [jump, { pressure: 1 }],
  ])('%# is not, when it breaches or the rule tracks a deadline or a window', (rule, metrics) => {
    expect(leavesAtRest(rule, metrics)).toBe(false);
    expect(isAtRest(run([applyRule(rule), evaluate(rule, 1, metrics)]).state)).toBe(false);
  });
});
