import { AlertRule } from '@fleetstream/domain';
import avro from 'avsc';
import { AlertRuleRecord, fromAlertRuleRecord, toAlertRuleRecord } from './alert-rule-record';
import { readAvroSchema } from './schema-files';

const type = avro.Type.forSchema(readAvroSchema('alert-rule'));
const revision = { revision: 3, updatedAt: Date.UTC(2026, 10, 26, 12), updatedBy: 'key:ops-bot' };

/** Through Avro bytes and back, as the catalog reads what the API wrote. */
const roundTrip = (rule: AlertRule) => fromAlertRuleRecord(type.fromBuffer(type.toBuffer(toAlertRuleRecord('r-1', rule, revision))) as AlertRuleRecord);

describe('an alert rule as a fleet.alert-rules record', () => {
  it.each<[string, AlertRule]>([
    ['the issue example (threshold with hysteresis)', { name: 'overheat', severity: 'major', condition: { type: 'threshold', metric: 'temperature', op: '>', value: 80, forSeconds: 0, clear: { op: '<', value: 75 } } }],
    ['the absence example', { name: 'silent', severity: 'warning', condition: { type: 'absence', forSeconds: 300 } }],
    ['an absence of one metric, scoped', { name: 'no battery', severity: 'info', scope: { attribute: 'site:north' }, condition: { type: 'absence', forSeconds: 60, metric: 'battery' } }],
    ['a rate of change', { name: 'spike', severity: 'critical', scope: { metric: 'battery::20' }, condition: { type: 'rateOfChange', metric: 'pressure', maxPerSecond: 2.5, windowSeconds: 30 } }],
    ['a rule naming webhook sinks', { name: 'silent', severity: 'warning', condition: { type: 'absence', forSeconds: 300 }, notify: ['ops-pager', 'site-b'] }],
  ])('%s reads back as the same rule', (_, rule) => {
    expect(roundTrip(rule)).toEqual({ ok: true, rule });
  });

  it('carries the revision, who wrote it and, on the last record, who deleted it', () => {
    const rule: AlertRule = { name: 'silent', severity: 'warning', condition: { type: 'absence', forSeconds: 300 } };
    expect(toAlertRuleRecord('r-1', rule, revision, { at: 5, by: 'oidc:alice' })).toMatchObject({ id: 'r-1', revision: 3, updatedBy: 'key:ops-bot', deletedAt: 5, deletedBy: 'oidc:alice' });
  });

  it('refuses a record whose rule does not validate, naming the field', () => {
    const record = toAlertRuleRecord('r-1', { name: 'overheat', severity: 'major', condition: { type: 'threshold', metric: 'temperature', op: '>', value: 80 } }, revision);
    expect(fromAlertRuleRecord({ ...record, condition: { ...record.condition, op: null } })).toMatchObject({ ok: false, errors: [{ field: 'condition.op' }] });
  });
});
