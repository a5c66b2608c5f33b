import type { AlertEvent, AlertState } from '@fleetstream/domain';
import avro from 'avsc';
import { alertStateKey, fromAlertStateRecord, toAlertEventRecord, toAlertStateRecord } from './alert-state-record';
import { readAvroSchema } from './schema-files';

const T0 = Date.UTC(2026, 10, 23, 12);
const stateType = avro.Type.forSchema(readAvroSchema('alert-state'));
const eventType = avro.Type.forSchema(readAvroSchema('alert-event'));

describe('alert state records (schemas/alert-state.avsc)', () => {
  it('round-trips a state with every optional part set', () => {
    const state: AlertState = {
      status: 'pending',
      version: 7,
      alarmCount: 2,
      alarm: {
        alarmId: 'r1:dev-1:2', ruleId: 'r1', deviceId: 'dev-1', ruleName: 'overheat', severity: 'major', notify: ['ops-pager', 'site-b'], raisedAt: T0, value: 85, reading: { eventTime: T0, seq: 3 },
        acknowledged: { actor: 'key:ops', note: null, at: T0 + 1 },
        cleared: { reason: 'rule-changed', value: null, reading: null, at: T0 + 2 },
      },
      pending: { since: T0 + 3, until: T0 + 30_003, value: 91.5, reading: { eventTime: T0 + 3, seq: 4 } },
      silenceDeadline: T0 + 300_000,
      lastReading: { eventTime: T0 + 3, seq: 4 },
      rateSamples: [{ eventTime: T0, value: 1 }, { eventTime: T0 + 3, value: 2.5 }],
      ruleRevision: 3,
    };
    const bytes = stateType.toBuffer(toAlertStateRecord({ deviceId: 'dev-1', ruleId: 'r1', state }));
    expect(fromAlertStateRecord(stateType.fromBuffer(bytes))).toEqual({ deviceId: 'dev-1', ruleId: 'r1', state });
  });

  it('round-trips a fresh state', () => {
    const state: AlertState = { status: 'normal', version: 1, alarmCount: 0, alarm: null, pending: null, silenceDeadline: null, lastReading: null, rateSamples: [], ruleRevision: 1 };
    const bytes = stateType.toBuffer(toAlertStateRecord({ deviceId: 'dev-1', ruleId: 'r1', state }));
    expect(fromAlertStateRecord(stateType.fromBuffer(bytes)).state).toEqual(state);
  });

  it('keys a (device, rule) by the device id, a slash and the rule id', () => {
    expect(alertStateKey('dev-1', 'rule/with/slashes')).toBe('dev-1/rule/with/slashes');
  });
});

describe('alarm event records (schemas/alert-event.avsc)', () => {
  const alarm = { ruleName: 'overheat', severity: 'major' as const, notify: ['ops-pager'] };
  const key = { ruleId: 'r1', deviceId: 'dev-1', alarmId: 'r1:dev-1:1' };
  it.each<[string, AlertEvent & { type: 'AlertRaised' | 'AlertAcknowledged' | 'AlertCleared' }, object]>([
    ['RAISED', { type: 'AlertRaised', data: { ...key, ...alarm, value: 85, reading: { eventTime: T0, seq: 1 } }, metadata: { at: T0 } }, { metric: 'temperature', value: 85, readingEventTime: T0, readingSeq: 1 }],
    ['ACKNOWLEDGED', { type: 'AlertAcknowledged', data: { ...key, actor: 'key:ops', note: 'on it' }, metadata: { at: T0 } }, { metric: null, actor: 'key:ops', note: 'on it' }],
    ['CLEARED', { type: 'AlertCleared', data: { ...key, reason: 'rule-changed', value: null, reading: null }, metadata: { at: T0 } }, { metric: 'temperature', reason: 'rule-changed', readingSeq: null }],
  ])('maps %s to a record the schema takes', (type, event, expected) => {
    const record = toAlertEventRecord(event, alarm, 'temperature');
    expect(record).toMatchObject({ type, ...key, ...alarm, at: T0, ...expected });
    expect(eventType.isValid(record)).toBe(true);
  });
});
